-- SPDX-License-Identifier: MIT
--
-- schedule_put.lua: change a schedule's definition or state atomically.
-- A schedule is a hash {ns}:sched:<name> (definition + kept state, see
-- docs/beat.md) and a member of the zset {ns}:schedules scored by its
-- next run in ms ("+inf" when paused, finished or invalid), which is all
-- a beat reads to find due work. Every definition change takes a new
-- generation from {ns}:sched:seq; ticks computed from an older
-- generation are refused by schedule_tick.lua (compare-and-set).
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  op, then by op:
--   put     name, mode ("create" | "replace"), expected generation ("":
--           any; replace of a missing schedule then creates it), next run
--           ms (-1: none), n pairs, field value ...
--           Replace keeps the kept state (runs, last run, counters,
--           created) and the interval anchor unless the pairs set one.
--           Reply {"created" | "replaced" | "exists" | "conflict", gen}
--   remove  name, expected generation ("": any)
--           Reply {"removed" | "gone" | "conflict", gen}
--   pause   name
--           Reply {"paused" | "already" | "gone", gen}
--   resume  name, expected generation, next run ms (-1: none)
--           Reply {"resumed" | "already" | "gone" | "conflict", gen}
--   renext  lock token, name, generation, expected next, new next,
--           new anchor ("": keep) - the leader re-basing a schedule after
--           a wall-clock jump. Reply {"ok" | "stale" | "notleader", gen}
-- Errors: "ERR syncq: ..." on malformed arguments.

local op = ARGV[2]

local function skey(name) return P .. 'sched:' .. name end
local function score(nxt)
    if tonumber(nxt) and tonumber(nxt) >= 0 then return nxt end
    return '+inf'
end

if op == 'put' then
    local name, mode, want = ARGV[3], ARGV[4], ARGV[5]
    local nxt, n = ARGV[6], tonumber(ARGV[7])
    if not n or #ARGV ~= 7 + 2 * n then
        return redis.error_reply('ERR syncq: malformed schedule put')
    end
    local k = skey(name)
    local old = redis.call('HMGET', k, 'gen', 'runs', 'last', 'last_at',
                           'last_id', 'missed_runs', 'manual_runs',
                           'created', 'anchor')
    local status = 'created'
    if old[1] then
        if mode == 'create' then return {'exists', old[1]} end
        if want ~= '' and want ~= old[1] then return {'conflict', old[1]} end
        status = 'replaced'
    elseif want ~= '' then
        return {'conflict', ''}
    end
    local gen = redis.call('INCR', P .. 'sched:seq')
    redis.call('DEL', k)
    local f = {}
    local has_anchor = false
    for i = 0, n - 1 do
        f[#f + 1] = ARGV[8 + 2 * i]
        f[#f + 1] = ARGV[9 + 2 * i]
        if ARGV[8 + 2 * i] == 'anchor' then has_anchor = true end
    end
    local keep = {'runs', 'last', 'last_at', 'last_id', 'missed_runs',
                  'manual_runs', 'created'}
    for i = 1, #keep do
        if old[i + 1] then
            f[#f + 1] = keep[i]
            f[#f + 1] = old[i + 1]
        end
    end
    if old[9] and not has_anchor then
        f[#f + 1] = 'anchor'
        f[#f + 1] = old[9]
    end
    if not old[8] then
        f[#f + 1] = 'created'
        f[#f + 1] = NOW
    end
    f[#f + 1] = 'gen'
    f[#f + 1] = gen
    f[#f + 1] = 'updated'
    f[#f + 1] = NOW
    if tonumber(nxt) and tonumber(nxt) >= 0 then
        f[#f + 1] = 'next'
        f[#f + 1] = nxt
    else
        f[#f + 1] = 'finished'
        f[#f + 1] = 1
    end
    redis.call('HSET', k, unpack(f))
    local enabled = redis.call('HGET', k, 'enabled')
    redis.call('ZADD', P .. 'schedules',
               enabled == '1' and score(nxt) or '+inf', name)
    event('schedule-' .. status, name, 'gen', gen)
    return {status, gen}
elseif op == 'remove' then
    local name, want = ARGV[3], ARGV[4]
    local k = skey(name)
    local g = redis.call('HGET', k, 'gen')
    if not g then
        redis.call('ZREM', P .. 'schedules', name)
        return {'gone', ''}
    end
    if want and want ~= '' and want ~= g then return {'conflict', g} end
    redis.call('DEL', k)
    redis.call('ZREM', P .. 'schedules', name)
    event('schedule-removed', name, 'gen', g)
    return {'removed', g}
elseif op == 'pause' then
    local name = ARGV[3]
    local k = skey(name)
    local h = redis.call('HMGET', k, 'gen', 'enabled')
    if not h[1] then return {'gone', ''} end
    if h[2] ~= '1' then return {'already', h[1]} end
    local gen = redis.call('INCR', P .. 'sched:seq')
    redis.call('HSET', k, 'enabled', 0, 'gen', gen, 'updated', NOW)
    redis.call('ZADD', P .. 'schedules', '+inf', name)
    event('schedule-paused', name, 'gen', gen)
    return {'paused', gen}
elseif op == 'resume' then
    local name, want, nxt = ARGV[3], ARGV[4], ARGV[5]
    local k = skey(name)
    local h = redis.call('HMGET', k, 'gen', 'enabled')
    if not h[1] then return {'gone', ''} end
    if h[2] == '1' then return {'already', h[1]} end
    if want ~= '' and want ~= h[1] then return {'conflict', h[1]} end
    local gen = redis.call('INCR', P .. 'sched:seq')
    redis.call('HSET', k, 'enabled', 1, 'gen', gen, 'updated', NOW)
    if tonumber(nxt) and tonumber(nxt) >= 0 then
        redis.call('HSET', k, 'next', nxt)
        redis.call('HDEL', k, 'finished')
    else
        redis.call('HDEL', k, 'next')
        redis.call('HSET', k, 'finished', 1)
    end
    redis.call('ZADD', P .. 'schedules', score(nxt), name)
    event('schedule-resumed', name, 'gen', gen)
    return {'resumed', gen}
elseif op == 'renext' then
    local token, name, gen = ARGV[3], ARGV[4], ARGV[5]
    local want, nxt, anchor = ARGV[6], ARGV[7], ARGV[8]
    if redis.call('GET', P .. 'beat:lock') ~= token then
        return {'notleader', ''}
    end
    local k = skey(name)
    local h = redis.call('HMGET', k, 'gen', 'next', 'enabled')
    if h[1] ~= gen or (h[2] or '') ~= want or h[3] ~= '1' then
        return {'stale', h[1] or ''}
    end
    redis.call('HSET', k, 'next', nxt)
    if anchor ~= '' then redis.call('HSET', k, 'anchor', anchor) end
    redis.call('ZADD', P .. 'schedules', score(nxt), name)
    return {'ok', gen}
end
return redis.error_reply('ERR syncq: unknown schedule op')
