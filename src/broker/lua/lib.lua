-- SPDX-License-Identifier: MIT
--
-- lib.lua: the first part of the prelude of every broker call (it is
-- not a script of its own): calling convention, configuration, time, key
-- names, events and wake-ups. The runner (broker_script.c) composes the
-- state table generated from src/core/sq_task.c (FINAL, the final
-- states), lib.lua, lib_stats.lua (counters), lib_task.lua (the task
-- lifecycle), lib_batch.lua (batches) and lib_call.lua (sq_begin), then
-- the ops (<op>.lua), in one of two ways:
--   functions (Redis >= 7): one library, loaded once per server with
--            FUNCTION LOAD; each op is a function of it (FCALL), so the
--            prelude is compiled and run once per load, not per call;
--   scripts  (older Redis, or SYNCQ_BROKER_FUNCTIONS=0): one script per
--            op, prelude + op (EVALSHA), the prelude run by every call.
-- Either way the op's body runs after sq_begin() has set the per-call
-- state below from KEYS and ARGV (locals the runner declares in front).
--
-- Calling convention of every call:
--   KEYS[1]  "<prefix>meta", e.g. "{syncq}:meta". Every other key is
--            "<prefix>..." and so shares the namespace's hash tag: one
--            Redis Cluster slot per namespace (docs/redis-keys.md).
--   ARGV[1]  config "events_maxlen|result_expires_ms|max_deliveries|
--            recent_max", sent by the client on every call so clients
--            with different settings never fight over a stored copy.
-- Time comes from the Redis server (TIME), so every machine agrees on
-- ETAs and lease deadlines whatever its own clock says.

-- Per-call state, set by sq_begin() (lib_call.lua): the key prefix, the
-- configuration, Redis time in ms (NOW), its minute and NOW as a string
-- (formatted once per call; hot paths write it per task).
-- RPOP_COUNT: RPOP takes a count (Redis >= 6.2; the version is known to
-- scripts from Redis 7.0, so 6.2 pops one at a time as 5 and 6.0 must).
-- Nothing here may call a function at load: a library's load sees no
-- globals but the registration API.
local P, EVMAX, RESULT_TTL, MAX_DELIVERIES, RECENT_MAX
local NOW, MINUTE, NOWS, RPOP_COUNT
-- EVMAX and RESULT_TTL as text, and NOWS: numbers given to redis.call
-- are formatted per argument (as floats, "%.17g"); the hot paths hand it
-- text made once per call instead (ints(): integers as text, cheaply).
local EVMAXS, RESULT_TTLS
local function ints(v) return string.format('%d', v) end

local function tkey(id) return P .. 't:' .. id end
-- HMGET of a task record, or nil when its key holds another type
-- (WRONGTYPE: written by hand or by another program). A script must not
-- fail there: Redis keeps the writes it made before the error, so the
-- entries it had popped or removed would be lost. The caller sets that
-- one entry aside and goes on.
local function record_fields(k, ...)
    local h = redis.pcall('HMGET', k, ...)
    if h.err then return nil end
    return h
end
local function in_dlq(id) return redis.call('ZSCORE', P .. 'dlq', id) ~= false end

-- The dead-letter queue and its count per queue ({ns}:dlqn, a hash
-- queue -> tasks), kept together on every way in and out so the monitor
-- reads per-queue dead letters in one command.
local function dlq_add(id, q)
    if redis.call('ZADD', P .. 'dlq', NOW, id) == 1 then
        redis.call('HINCRBY', P .. 'dlqn', q or '?', 1)
    end
end
local function dlq_remove(id, q)
    if redis.call('ZREM', P .. 'dlq', id) == 1 and
       redis.call('HINCRBY', P .. 'dlqn', q or '?', -1) <= 0 then
        redis.call('HDEL', P .. 'dlqn', q or '?')
    end
end
local function qkey(q, pri) return P .. 'q:' .. q .. ':' .. pri end

-- Append an event to the stream, trimmed to about EVMAX entries. Hot
-- scripts (lease, settle) call events_begin() first and events_flush()
-- before returning: their events are then appended untrimmed and the
-- stream is trimmed once per call (XTRIM), which is the same "~" trim
-- with three arguments less per event. EVN counts them (nil: trim at once).
local EVN = nil
local EVG, EVGO -- (below) events of many tasks per entry
local function events_begin() EVN, EVG, EVGO = 0, {}, {} end

local function event(kind, id, ...)
    if EVMAX <= 0 then return end
    if EVN then
        EVN = EVN + 1
        redis.call('XADD', P .. 'events', '*', 'e', kind, 'id', id,
                   't', NOWS, ...)
    else
        redis.call('XADD', P .. 'events', 'MAXLEN', '~', EVMAXS, '*',
                   'e', kind, 'id', id, 't', NOWS, ...)
    end
end

-- Events of many tasks in one entry (hot scripts, between events_begin
-- and events_flush): the tasks a lease started or received, the tasks a
-- settle call ended SUCCESS. One XADD per call and kind instead of one
-- per task. The entry reads as a single task's event for its first task
-- ("e", kind, "id", id, "t", time, fields...); each later task follows
-- from its own "id" field with only the fields whose value differs from
-- the first task's (the readers take the others from the first task:
-- sq_event_first in broker_event.c). Failures, retries, lost leases and
-- revokes stay one entry each. EVG: kind -> entry being built; EVGO:
-- the kinds in the order their first event came.
local EVG_MAX = 1000 -- arguments per entry (unpack takes a bounded list)

local function event_entry_flush(g)
    EVN = EVN + 1
    redis.call('XADD', P .. 'events', '*', unpack(g, 1, g.n))
end

-- `kind` about task `id` with up to three extra fields (k1 v1 ...).
local function event_grouped(kind, id, k1, v1, k2, v2, k3, v3)
    if EVMAX <= 0 then return end
    if not EVG then
        if k3 then return event(kind, id, k1, v1, k2, v2, k3, v3) end
        if k2 then return event(kind, id, k1, v1, k2, v2) end
        if k1 then return event(kind, id, k1, v1) end
        return event(kind, id)
    end
    -- g.n: its length (kept, not counted with #); g.v1..v3: the first
    -- task's values, compared with each later task's
    local g = EVG[kind]
    if g and g.n >= EVG_MAX then
        event_entry_flush(g)
        g = nil
    end
    if not g then
        g = {'e', kind, 'id', id, 't', NOWS, n = 6}
        if k1 then g[7], g[8], g.v1, g.n = k1, v1, v1, 8 end
        if k2 then g[9], g[10], g.v2, g.n = k2, v2, v2, 10 end
        if k3 then g[11], g[12], g.v3, g.n = k3, v3, v3, 12 end
        if not EVG[kind] then EVGO[#EVGO + 1] = kind end
        EVG[kind] = g
        return
    end
    local n = g.n
    g[n + 1], g[n + 2] = 'id', id
    n = n + 2
    if k1 and g.v1 ~= v1 then g[n + 1], g[n + 2], n = k1, v1, n + 2 end
    if k2 and g.v2 ~= v2 then g[n + 1], g[n + 2], n = k2, v2, n + 2 end
    if k3 and g.v3 ~= v3 then g[n + 1], g[n + 2], n = k3, v3, n + 2 end
    g.n = n
end

local function events_flush()
    if EVG then
        for _, kind in ipairs(EVGO) do event_entry_flush(EVG[kind]) end
        EVG, EVGO = nil, nil
    end
    if EVN and EVN > 0 then
        redis.call('XTRIM', P .. 'events', 'MAXLEN', '~', EVMAXS)
    end
    EVN = nil
end

-- Wake-up tokens for the workers waiting on queue q (BRPOP on its wake
-- list): n more, the list holding at most WAKE_MAX. Tokens that wait
-- mean no worker waits (a waiting one takes a token at once), so once
-- WAKE_MAX wait nothing is pushed: one LLEN instead of a push and a
-- trim, the list left as the push and trim would leave it (all tokens
-- are alike). A queue without idle workers fills its list and stays
-- there, which is the case of a producer running ahead of the workers.
local WAKE_MAX = 64
local WAKE_TOKENS = {}
for i = 1, WAKE_MAX do WAKE_TOKENS[i] = '1' end

local function wake(q, n)
    if n <= 0 then return end
    local wk = P .. 'wake:' .. q
    local room = WAKE_MAX - redis.call('LLEN', wk)
    if n > room then n = room end
    if n > 0 then redis.call('LPUSH', wk, unpack(WAKE_TOKENS, 1, n)) end
end

-- Workflow counters: every task created with a root (fan-out from a root
-- task) counts under {ns}:r:<root> (total/done/failed, also per task
-- name), so a caller can tell when a whole tree has ended and show
-- per-stage progress. `field` is 'total', 'done' or 'failed'.
local function root_count(root, name, field)
    if not root or root == '' then return end
    local rk = P .. 'r:' .. root
    redis.call('HINCRBY', rk, field, 1)
    redis.call('HINCRBY', rk, field .. '|' .. name, 1)
    redis.call('PEXPIRE', rk, RESULT_TTLS)
end

-- Push task `id` onto its ready list. front=true puts it next in line
-- (redelivery keeps its place); otherwise it joins the back (FIFO).
local function push_ready(id, q, pri, front)
    local n
    if front then
        n = redis.call('RPUSH', qkey(q, pri), id)
    else
        n = redis.call('LPUSH', qkey(q, pri), id)
    end
    if n == 1 then
        redis.call('SADD', P .. 'queues', q) -- maybe a new queue
    end
end

-- Flat HGETALL of a task as a Lua table of pairs (for replies).
local function record(id)
    return redis.call('HGETALL', tkey(id))
end

-- Control messages for `worker` (task ids to cancel, revoke.lua), read
-- and cleared at once. Returns them as an array (empty when none).
local function take_control(worker)
    local ck = P .. 'ctl:' .. worker
    if redis.call('EXISTS', ck) == 0 then return {} end
    local control = redis.call('LRANGE', ck, 0, -1)
    redis.call('DEL', ck)
    return control
end

-- Lowest score of sorted set `key` (the next ETA of the delayed set, the
-- next due schedule, the next batch wave), or -1 when it is empty.
local function first_score(key)
    local r = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if r[2] and r[2] ~= 'inf' then return tonumber(r[2]) end
    return -1
end
