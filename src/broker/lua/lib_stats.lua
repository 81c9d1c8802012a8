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
        redis.call('HINCRBY', P .. 'stats', f, n)
    end
    local mk = P .. 'm:' .. MINUTE
    local new_key = false
    for f, n in pairs(acc.minute) do
        if redis.call('HINCRBY', mk, f, n) == n then new_key = true end
    end
    if new_key then redis.call('PEXPIRE', mk, 7200000) end
end

local function stat(kind, q, name, n)
    bump(kind .. '|' .. q .. '|' .. name, n or 1, true)
end

-- Lifetime counter only (hot paths where per-minute rates are not used).
local function stat_total(kind, q, name)
    bump(kind .. '|' .. q .. '|' .. name, 1, false)
end

local function bucket_of(ms)
    for _, le in ipairs(BUCKETS) do
        if ms <= le then return tostring(le) end
    end
    return 'inf'
end

-- Record a duration sample (runtime or wait) into the histogram counters.
local function observe(kind, q, name, ms)
    if ms < 0 then ms = 0 end
    local base = kind .. '|' .. q .. '|' .. name
    bump(base .. '|sum', ms, true)
    bump(base .. '|count', 1, true)
    bump(base .. '|le|' .. bucket_of(ms), 1, false)
end

