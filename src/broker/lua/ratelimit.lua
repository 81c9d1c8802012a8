-- SPDX-License-Identifier: MIT
--
-- ratelimit.lua: per-host politeness of the crawler, shared by every
-- worker on every machine (known-failures C44): a token bucket in its
-- GCRA form (one "theoretical arrival time" per host, Redis TIME in
-- microseconds), a cap on requests in flight per host, and a cool-down
-- that pauses a host after a captcha page or a 429. Used by the crawler
-- pack; C side: src/broker/broker_ratelimit.c (syncq/ratelimit.h).
--
-- The bucket hands out *reservations*: a granted caller is told how long
-- to wait for its slot and sends then, without asking again, so slots
-- are never lost to polling races and the limit is used in full. With
-- burst 1, grants are at least `interval` apart, hence at most
-- `limit` grants in any window of `period`. A caller that will not wait
-- that long in place may pass a ticket (its task id): the slot is then
-- booked for the ticket ("later"), the task retries just before it, and
-- its next acquire with the same ticket gets that very slot. A backlog
-- therefore costs each task one deferral, not one per poll. A ticket
-- that comes back after its slot has passed lost it (sending late could
-- put limit+1 requests in one window) and books a new one; the reply
-- then says how late it came, as the lost slot costs throughput.
--
-- Keys (derived from KEYS[1], same hash tag):
--   <prefix>rl:<host>   hash  tat (us), cool (ms), why      TTL: refreshed
--   <prefix>rlc:<host>  zset  holder -> lease deadline (ms) TTL: refreshed
--   <prefix>rlr:<host>  hash  ticket -> booked slot (us)    TTL: refreshed
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  op: "acquire" | "release" | "cool" | "peek"
-- ARGV[3]  host key ("gw.open.1688.com", "127.0.0.1:8080")
-- acquire: ARGV[4] interval (us, > 0), ARGV[5] burst (>= 1),
--          ARGV[6] concurrency cap (0: none), ARGV[7] holder id,
--          ARGV[8] slot lease (ms), ARGV[9] longest wait accepted (ms),
--          ARGV[10] ticket ("" for none)
--   reply {"ok", wait_ms, slot_ms} granted: sleep wait_ms, then send at
--                                  slot_ms (epoch ms, Redis time); the
--                                  holder keeps a slot until release
--         {"wait", wait_ms}        nothing taken: the next slot is further
--                                  away than the caller accepts
--         {"later", wait_ms}       (with a ticket) a slot wait_ms away is
--                                  booked for the ticket
--         {"busy", wait_ms}        the cap is reached; ask again later
--         {"cool", wait_ms, why}   the host is cooling down
--   after a ticket came back past its booked slot, every reply but
--   "cool" carries a 4th element: how late it came (ms; the slot went
--   unused)
-- release: ARGV[4] holder                 reply {"ok", 0}
-- cool:    ARGV[4] pause (ms), ARGV[5] why reply {"ok", until_ms}; a
--          pause never shortens a longer one already running
-- peek:    reply {tat_us, cool_until_ms, why, in_flight}
-- Errors: "ERR ratelimit: <what>" for bad arguments.

local op, host = ARGV[2], ARGV[3]
if host == nil or host == '' then
    return redis.error_reply('ERR ratelimit: empty host')
end
local k = P .. 'rl:' .. host
local kc = P .. 'rlc:' .. host
local kr = P .. 'rlr:' .. host
local NOW_US
do
    local t = redis.call('TIME')
    NOW_US = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Keep both keys as long as they matter, and no longer.
local function keep(ms)
    if ms < 60000 then ms = 60000 end
    ms = math.floor(ms) + 60000
    redis.call('PEXPIRE', k, ms)
    if redis.call('EXISTS', kc) == 1 then
        redis.call('PEXPIRE', kc, ms)
    end
    if redis.call('EXISTS', kr) == 1 then
        redis.call('PEXPIRE', kr, ms)
    end
end

if op == 'acquire' then
    local interval = tonumber(ARGV[4])
    local burst = tonumber(ARGV[5])
    local cap = tonumber(ARGV[6])
    local holder = ARGV[7]
    local lease = tonumber(ARGV[8])
    local max_wait = tonumber(ARGV[9])
    if not interval or interval <= 0 or not burst or burst < 1 or
       not cap or cap < 0 or not lease or lease <= 0 or not max_wait or
       max_wait < 0 or holder == nil or holder == '' then
        return redis.error_reply('ERR ratelimit: bad acquire arguments')
    end
    local ticket = ARGV[10] or ''
    local h = redis.call('HMGET', k, 'tat', 'cool', 'why')
    local cool = tonumber(h[2]) or 0
    if cool > NOW then
        return {'cool', cool - NOW, h[3] or ''}
    end
    -- A booked slot: used at its time, kept while early, lost when late.
    local booked, missed = nil, 0
    local function reply(t)
        if missed > 0 then
            t[3] = t[3] or ''
            t[4] = missed
        end
        return t
    end
    if ticket ~= '' then
        booked = tonumber(redis.call('HGET', kr, ticket))
        if booked and booked < NOW_US - 1000 then
            redis.call('HDEL', kr, ticket)
            missed = math.ceil((NOW_US - booked) / 1000)
            booked = nil
        end
        if booked then
            local w = math.ceil((booked - NOW_US) / 1000)
            if w < 0 then w = 0 end
            if w > max_wait then
                return {'later', w}
            end
        end
    end
    if cap > 0 then
        -- Holders whose lease lapsed (a killed worker) free their slot.
        redis.call('ZREMRANGEBYSCORE', kc, '-inf', NOW)
        if redis.call('ZCARD', kc) >= cap then
            local first = redis.call('ZRANGE', kc, 0, 0, 'WITHSCORES')
            local hint = 20
            if first[2] and tonumber(first[2]) - NOW < hint then
                hint = math.max(1, tonumber(first[2]) - NOW)
            end
            return reply({'busy', hint})
        end
    end
    local wait_us
    if booked then
        redis.call('HDEL', kr, ticket)
        wait_us = booked - NOW_US
    else
        local tat = tonumber(h[1]) or NOW_US
        if tat < NOW_US then tat = NOW_US end
        local allow = tat - (burst - 1) * interval
        wait_us = allow - NOW_US
        if wait_us < 0 then wait_us = 0 end
        if math.ceil(wait_us / 1000) > max_wait then
            if ticket == '' then
                return reply({'wait', math.ceil(wait_us / 1000)})
            end
            -- Book the slot for the ticket; the bucket moves on.
            redis.call('HSET', kr, ticket, string.format('%.0f', allow))
            redis.call('HSET', k, 'tat', string.format('%.0f', tat + interval))
            keep((tat + interval - NOW_US) / 1000 + lease)
            return reply({'later', math.ceil(wait_us / 1000)})
        end
        -- Store as an integer string: no float formatting in the hash.
        redis.call('HSET', k, 'tat', string.format('%.0f', tat + interval))
        keep((tat + interval - NOW_US) / 1000 + lease)
    end
    if wait_us < 0 then wait_us = 0 end
    local wait_ms = math.ceil(wait_us / 1000)
    if cap > 0 then
        redis.call('ZADD', kc, NOW + wait_ms + lease, holder)
        keep(wait_ms + lease)
    end
    return reply({'ok', wait_ms, math.floor((NOW_US + wait_us) / 1000)})
elseif op == 'release' then
    local holder = ARGV[4]
    if holder == nil or holder == '' then
        return redis.error_reply('ERR ratelimit: release needs a holder')
    end
    redis.call('ZREM', kc, holder)
    return {'ok', 0}
elseif op == 'cool' then
    local ms = tonumber(ARGV[4])
    if not ms or ms <= 0 then
        return redis.error_reply('ERR ratelimit: bad pause')
    end
    local cur = tonumber(redis.call('HGET', k, 'cool') or '0') or 0
    local untl = NOW + math.floor(ms)
    if untl > cur then
        redis.call('HSET', k, 'cool', untl, 'why', ARGV[5] or '')
        cur = untl
    end
    keep(cur - NOW)
    return {'ok', cur}
elseif op == 'peek' then
    local h = redis.call('HMGET', k, 'tat', 'cool', 'why')
    redis.call('ZREMRANGEBYSCORE', kc, '-inf', NOW)
    return {h[1] or '0', tonumber(h[2]) or 0, h[3] or '',
            redis.call('ZCARD', kc)}
end
return redis.error_reply('ERR ratelimit: unknown op ' .. tostring(op))
