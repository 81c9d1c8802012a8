-- SPDX-License-Identifier: MIT
--
-- schedule_tick.lua: fire schedule ticks (DESIGN contract 8). Each entry
-- is one tick of one schedule, planned by the leader beat in C (cron and
-- time zones live there). In one atomic step per call:
--   * fencing: the caller must hold the leader lock (its token), so a
--     beat whose lock lapsed can fire nothing (C10);
--   * compare-and-set: the schedule's generation and next run must be the
--     ones the plan was made from, so a tick can only move forward;
--   * dedupe: the task takes the unique key beat:<name>:<tick ms> (a tick
--     fires once even if two plans raced), then the task record is
--     created (lib.lua create_task) and the schedule's state advances
--     (last run, next run, total runs, last task id).
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  lock token ("": no fencing; only the "run" action allows it)
-- ARGV[3]  dedupe window in ms
-- ARGV[4]  n entries, then 8 arguments per entry:
--   name, generation, expected next ms ("" none), action, tick ms,
--   new next ms (-1: none left), task id, extra
--   action "fire":  fire the tick and advance
--          "skip":  advance without firing; extra = ticks skipped
--          "run":   fire now outside the ticks (syncq schedule run): no
--                   compare-and-set, the next run does not move
--          "error": mark the schedule invalid (extra = reason) and park
--                   it (score +inf) until its definition changes;
--                   generation "*" matches any
-- Reply: flat array, two per entry: status, task id ("" if none)
--   status: "fired" | "dup" (the tick's key was taken; the id is the
--   first task's) | "skipped" | "marked" | "stale" | "paused" | "gone"
--   | "notleader" | "invalid" (run of a record without a task)
--   | "badtype" (the key is not a hash: dropped from the index)

local token = ARGV[2]
local dedupe_ms = tonumber(ARGV[3]) or 120000
local n = tonumber(ARGV[4])
if not n or #ARGV ~= 4 + 8 * n then
    return redis.error_reply('ERR syncq: malformed schedule tick')
end
local leader = token ~= '' and redis.call('GET', P .. 'beat:lock') == token

local woke = {}
local function fire(sk, name, h, tick, id)
    -- h: gen next enabled task queue pri args kwargs expires maxr
    local q, pri = h[5] or 'default', tonumber(h[6]) or 5
    local f = {'name', h[4], 'sched', name}
    if tick ~= '' then
        f[#f + 1] = 'tick'
        f[#f + 1] = tick
    end
    if h[7] and h[7] ~= '' then
        f[#f + 1] = 'args'
        f[#f + 1] = h[7]
    end
    if h[8] and h[8] ~= '' then
        f[#f + 1] = 'kwargs'
        f[#f + 1] = h[8]
    end
    if h[10] and h[10] ~= '' then
        f[#f + 1] = 'maxr'
        f[#f + 1] = h[10]
    end
    local exp = 0
    local expires = tonumber(h[9] or '') or 0
    if expires > 0 then
        -- a catch-up run already past it is recorded EXPIRED, not run
        exp = (tonumber(tick) or NOW) + expires
    end
    local state = create_task(id, q, pri, 0, exp, f)
    if state == 'PENDING' then woke[q] = (woke[q] or 0) + 1 end
    event('schedule-fired', id, 'sched', name, 'tick', tick)
end

local out = {}
local pos = 5
for _ = 1, n do
    local name, gen, want = ARGV[pos], ARGV[pos + 1], ARGV[pos + 2]
    local action, tick, nnext = ARGV[pos + 3], ARGV[pos + 4], ARGV[pos + 5]
    local id, extra = ARGV[pos + 6], ARGV[pos + 7]
    pos = pos + 8
    local sk = P .. 'sched:' .. name
    local kt = redis.call('TYPE', sk)['ok']
    local h = {}
    if kt == 'hash' then
        h = redis.call('HMGET', sk, 'gen', 'next', 'enabled', 'task',
                       'queue', 'pri', 'args', 'kwargs', 'expires', 'maxr')
    end
    local st, tid = 'gone', ''
    if kt ~= 'hash' and kt ~= 'none' then
        -- someone else's key under our name: leave it, drop the index
        if leader then redis.call('ZREM', P .. 'schedules', name) end
        st = 'badtype'
    elseif kt == 'none' then
        -- an index entry without its schedule: drop it (leader only)
        if leader then redis.call('ZREM', P .. 'schedules', name) end
        st = 'gone'
    elseif action == 'run' and not h[4] then
        st = 'invalid'
    elseif action == 'run' then
        fire(sk, name, h, '', id)
        redis.call('HINCRBY', sk, 'manual_runs', 1)
        redis.call('HSET', sk, 'last_id', id, 'last_at', NOW)
        st, tid = 'fired', id
    elseif not leader then
        st = 'notleader'
    elseif action == 'error' then
        -- gen "*": the record is too broken to read its generation
        if gen == '*' or h[1] == gen then
            redis.call('HSET', sk, 'error', extra)
            redis.call('ZADD', P .. 'schedules', '+inf', name)
            st = 'marked'
        else
            st = 'stale'
        end
    elseif h[1] ~= gen then
        st = 'stale'
    elseif h[3] ~= '1' then
        redis.call('ZADD', P .. 'schedules', '+inf', name)
        st = 'paused'
    elseif (h[2] or '') ~= want then
        st = 'stale'
    else
        if action == 'fire' then
            local uk = P .. 'u:beat:' .. name .. ':' .. tick
            if redis.call('SET', uk, id, 'NX', 'PX', dedupe_ms) then
                fire(sk, name, h, tick, id)
                redis.call('HINCRBY', sk, 'runs', 1)
                redis.call('HSET', sk, 'last', tick, 'last_at', NOW,
                           'last_id', id)
                st, tid = 'fired', id
            else
                st, tid = 'dup', redis.call('GET', uk) or ''
            end
        else
            redis.call('HINCRBY', sk, 'missed_runs', tonumber(extra) or 0)
            st = 'skipped'
        end
        if tonumber(nnext) and tonumber(nnext) >= 0 then
            redis.call('HSET', sk, 'next', nnext)
            redis.call('ZADD', P .. 'schedules', nnext, name)
        else
            redis.call('HDEL', sk, 'next')
            redis.call('HSET', sk, 'finished', 1)
            redis.call('ZADD', P .. 'schedules', '+inf', name)
        end
    end
    out[#out + 1] = st
    out[#out + 1] = tid
end
for q, c in pairs(woke) do wake(q, c) end
return out
