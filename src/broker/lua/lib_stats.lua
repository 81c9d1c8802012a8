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
-- at once. The sums live in the field-name entries (names_of below), one
-- entry per (kind, queue, task): counting a task is a few additions on a
-- table already at hand, not a table look-up per field. An entry's sums
-- belong to the call numbered e.call; an entry left over from a call that
-- failed half-way has another number and starts again from zero.
local ACC = nil -- entries summed by this call (hot scripts), else nil
local CALL = 0
local function stats_begin()
    CALL = CALL + 1
    ACC = {}
end

local function hincr(f, n, minute)
    redis.call('HINCRBY', P .. 'stats', f, n)
    if minute then
        local mk = P .. 'm:' .. MINUTE
        if redis.call('HINCRBY', mk, f, n) == n then
            redis.call('PEXPIRE', mk, 7200000)
        end
    end
end

-- The entry `e` as summed by this call (zeroed on its first use in it).
local function acc_of(e)
    if e.call ~= CALL then
        e.call = CALL
        e.n, e.nt, e.sum, e.cnt, e.lec = 0, 0, 0, 0, {}
        ACC[#ACC + 1] = e
    end
    return e
end

-- Counter field names "<kind>|<queue>|<task>[|sum|count|le|<b>]", made
-- once per (kind, queue, task) and reused: hot paths count several per
-- task, and building and interning the strings each time costs more than
-- the counting. A function library keeps them between calls; at most
-- NAMES_MAX sets are kept (task names come from users).
-- LAST: kind -> the entry found last for it. A hot call counts the same
-- few (kind, queue, task) over and over (a worker's batch is mostly one
-- task), so one look-up and two comparisons usually find the entry.
local NAMES, NNAMES, NAMES_MAX, LAST = {}, 0, 10000, {}
local function names_of(kind, q, name)
    local e = LAST[kind]
    if e and e.q == q and e.name == name then return e end
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
    e = byname[name]
    if not e then
        if NNAMES >= NAMES_MAX then
            NAMES, NNAMES, LAST = {}, 0, {}
            return names_of(kind, q, name)
        end
        local base = kind .. '|' .. q .. '|' .. name
        e = {base = base, sum_f = base .. '|sum', count_f = base .. '|count',
             le = {}, q = q, name = name}
        byname[name] = e
        NNAMES = NNAMES + 1
    end
    LAST[kind] = e
    return e
end

local function stat(kind, q, name, n)
    local e = LAST[kind] -- names_of's memo, checked here: a call less
    if not e or e.q ~= q or e.name ~= name then
        e = names_of(kind, q, name)
    end
    if ACC then
        if e.call ~= CALL then acc_of(e) end
        e.n = e.n + (n or 1)
    else
        hincr(e.base, n or 1, true)
    end
end

-- Lifetime counter only (hot paths where per-minute rates are not used).
local function stat_total(kind, q, name)
    local e = names_of(kind, q, name)
    if ACC then
        if e.call ~= CALL then acc_of(e) end
        e.nt = e.nt + 1
    else
        hincr(e.base, 1, false)
    end
end

-- BUCKETS as field text (written out: a library's load may call nothing)
local BUCKET_NAMES = {'5', '10', '25', '50', '100', '250', '500', '1000',
                      '2500', '5000', '10000', '30000', '60000', '300000',
                      '1800000', 'inf'}
local NBUCKETS, BUCKET1 = #BUCKETS, BUCKETS[1]

-- Index into BUCKET_NAMES of the histogram bucket of `ms`.
local function bucket_of(ms)
    for i = 1, NBUCKETS do
        if ms <= BUCKETS[i] then return i end
    end
    return NBUCKETS + 1
end

local function le_field(e, b)
    local le = e.le[b]
    if not le then
        le = e.base .. '|le|' .. BUCKET_NAMES[b]
        e.le[b] = le
    end
    return le
end

-- Record a duration sample (runtime or wait) into the histogram counters:
-- sum and count (lifetime and per minute), its bucket (lifetime).
local function observe(kind, q, name, ms)
    if ms < 0 then ms = 0 end
    local e = LAST[kind] -- names_of's memo, checked here: a call less
    if not e or e.q ~= q or e.name ~= name then
        e = names_of(kind, q, name)
    end
    -- most samples of a no-op or short task fall in the first bucket
    local b = ms <= BUCKET1 and 1 or bucket_of(ms)
    if ACC then
        if e.call ~= CALL then acc_of(e) end
        e.sum = e.sum + ms
        e.cnt = e.cnt + 1
        local lec = e.lec
        lec[b] = (lec[b] or 0) + 1
        return
    end
    hincr(e.sum_f, ms, true)
    hincr(e.count_f, 1, true)
    hincr(le_field(e, b), 1, false)
end

-- Write the sums of this call (one HINCRBY per field and key) and leave
-- the write-at-once mode.
local function stats_flush()
    local acc = ACC
    ACC = nil
    if not acc then return end
    local sk, mk = P .. 'stats', P .. 'm:' .. MINUTE
    local total, minute = {}, {}
    for _, e in ipairs(acc) do
        local n = e.n + e.nt
        if n > 0 then
            total[#total + 1] = e.base
            total[#total + 1] = n
        end
        if e.n > 0 then
            minute[#minute + 1] = e.base
            minute[#minute + 1] = e.n
        end
        if e.cnt > 0 then
            total[#total + 1] = e.sum_f
            total[#total + 1] = e.sum
            total[#total + 1] = e.count_f
            total[#total + 1] = e.cnt
            minute[#minute + 1] = e.sum_f
            minute[#minute + 1] = e.sum
            minute[#minute + 1] = e.count_f
            minute[#minute + 1] = e.cnt
            for b, c in pairs(e.lec) do
                total[#total + 1] = le_field(e, b)
                total[#total + 1] = c
            end
        end
        e.call = nil
    end
    for i = 1, #total, 2 do
        redis.call('HINCRBY', sk, total[i], ints(total[i + 1]))
    end
    local new_key = false
    for i = 1, #minute, 2 do
        local n = minute[i + 1]
        if redis.call('HINCRBY', mk, minute[i], ints(n)) == n then
            new_key = true
        end
    end
    if new_key then redis.call('PEXPIRE', mk, 7200000) end
end
