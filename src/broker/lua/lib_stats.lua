-- SPDX-License-Identifier: MIT
--
-- lib_stats.lua: prelude part 2 (after lib.lua): counters and duration
-- histograms ({ns}:stats, {ns}:m:<minute>; docs/redis-keys.md).

-- Runtime and wait histograms: upper bounds in ms (Prometheus "le").
local BUCKETS = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
                 30000, 60000, 300000, 1800000}

-- Counters: lifetime ({ns}:stats) and per-minute buckets kept two hours.
-- Hot scripts (lease, settle) call stats_begin() first and stats_flush()
-- before returning: counters are then summed in Lua and written once per
-- distinct field per call instead of once per task. Other scripts write
-- at once.
local ACC = nil
local function stats_begin() ACC = {total = {}, minute = {}} end

local function bump(f, n, minute)
    if ACC then
        ACC.total[f] = (ACC.total[f] or 0) + n
        if minute then ACC.minute[f] = (ACC.minute[f] or 0) + n end
        return
    end
    redis.call('HINCRBY', P .. 'stats', f, n)
    if minute then
        local mk = P .. 'm:' .. MINUTE
        if redis.call('HINCRBY', mk, f, n) == n then
            redis.call('PEXPIRE', mk, 7200000)
        end
    end
end

local function stats_flush()
    if not ACC then return end
    local acc = ACC
    ACC = nil
    for f, n in pairs(acc.total) do
        redis.call('HINCRBY', P .. 'stats', f, ints(n))
    end
    local mk = P .. 'm:' .. MINUTE
    local new_key = false
    for f, n in pairs(acc.minute) do
        if redis.call('HINCRBY', mk, f, ints(n)) == n then new_key = true end
    end
    if new_key then redis.call('PEXPIRE', mk, 7200000) end
end

-- Counter field names "<kind>|<queue>|<task>[|sum|count|le|<b>]", made
-- once per (kind, queue, task) and reused: hot paths count several per
-- task, and building and interning the strings each time costs more than
-- the counting. A function library keeps them between calls; at most
-- NAMES_MAX sets are kept (task names come from users).
local NAMES, NNAMES, NAMES_MAX = {}, 0, 10000
local function names_of(kind, q, name)
    local byq = NAMES[kind]
    if not byq then
        byq = {}
        NAMES[kind] = byq
    end
    local byname = byq[q]
    if not byname then
        byname = {}
        byq[q] = byname
    end
    local e = byname[name]
    if not e then
        if NNAMES >= NAMES_MAX then
            NAMES, NNAMES = {}, 0
            return names_of(kind, q, name)
        end
        local base = kind .. '|' .. q .. '|' .. name
        e = {base = base, sum = base .. '|sum', count = base .. '|count',
             le = {}}
        byname[name] = e
        NNAMES = NNAMES + 1
    end
    return e
end

local function stat(kind, q, name, n)
    bump(names_of(kind, q, name).base, n or 1, true)
end

-- Lifetime counter only (hot paths where per-minute rates are not used).
local function stat_total(kind, q, name)
    bump(names_of(kind, q, name).base, 1, false)
end

-- BUCKETS as field text (written out: a library's load may call nothing)
local BUCKET_NAMES = {'5', '10', '25', '50', '100', '250', '500', '1000',
                      '2500', '5000', '10000', '30000', '60000', '300000',
                      '1800000'}

local function bucket_of(ms)
    for i, le in ipairs(BUCKETS) do
        if ms <= le then return BUCKET_NAMES[i] end
    end
    return 'inf'
end

-- Record a duration sample (runtime or wait) into the histogram counters.
local function observe(kind, q, name, ms)
    if ms < 0 then ms = 0 end
    local e = names_of(kind, q, name)
    local b = bucket_of(ms)
    local le = e.le[b]
    if not le then
        le = e.base .. '|le|' .. b
        e.le[b] = le
    end
    bump(e.sum, ms, true)
    bump(e.count, 1, true)
    bump(le, 1, false)
end
