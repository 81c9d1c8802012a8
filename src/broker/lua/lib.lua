-- SPDX-License-Identifier: MIT
--
-- lib.lua: prelude prepended to every broker script at load time (it is
-- not a script of its own). Redis scripts cannot share functions, so the
-- runner (broker_script.c) sends "lib.lua .. <op>.lua" as one script.
--
-- Calling convention of every script:
--   KEYS[1]  "<prefix>meta", e.g. "{syncq}:meta". Every other key is
--            "<prefix>..." and so shares the namespace's hash tag: one
--            Redis Cluster slot per namespace (docs/redis-keys.md).
--   ARGV[1]  config "events_maxlen|result_expires_ms|max_deliveries|
--            recent_max", sent by the client on every call so clients
--            with different settings never fight over a stored copy.
-- Time comes from the Redis server (TIME), so every machine agrees on
-- ETAs and lease deadlines whatever its own clock says.

local P = string.sub(KEYS[1], 1, -5)
local EVMAX, RESULT_TTL, MAX_DELIVERIES, RECENT_MAX
do
    local a, b, c, d = string.match(ARGV[1], '^(%d+)|(%d+)|(%d+)|(%d+)$')
    EVMAX = tonumber(a) or 100000
    RESULT_TTL = tonumber(b) or 86400000
    MAX_DELIVERIES = tonumber(c) or 5
    RECENT_MAX = tonumber(d) or 100000
end

local NOW
do
    local t = redis.call('TIME')
    NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local MINUTE = math.floor(NOW / 60000)

local TERMINAL = {SUCCESS = true, FAILURE = true, REVOKED = true,
                  EXPIRED = true, SKIPPED = true}
-- Runtime and wait histograms: upper bounds in ms (Prometheus "le").
local BUCKETS = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
                 30000, 60000, 300000, 1800000}

local function tkey(id) return P .. 't:' .. id end
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

local function event(kind, id, ...)
    if EVMAX > 0 then
        redis.call('XADD', P .. 'events', 'MAXLEN', '~', EVMAX, '*',
                   'e', kind, 'id', id, 't', NOW, ...)
    end
end

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

local function wake(q, n)
    if n <= 0 then return end
    if n > 64 then n = 64 end
    local wk = P .. 'wake:' .. q
    local toks = {}
    for i = 1, n do toks[i] = '1' end
    if redis.call('LPUSH', wk, unpack(toks)) > 64 then
        redis.call('LTRIM', wk, 0, 63)
    end
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
    redis.call('PEXPIRE', rk, RESULT_TTL)
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

-- Finish a task record: terminal state, TTL, recent list, counters,
-- batch bookkeeping. `extra` is a flat list of field/value pairs.
local batch_done -- forward declaration (defined below)

local EVENT_OF = {SUCCESS = 'task-succeeded', FAILURE = 'task-failed',
                  REVOKED = 'task-revoked', EXPIRED = 'task-expired',
                  SKIPPED = 'task-skipped'}
local STAT_OF = {SUCCESS = 'succeeded', FAILURE = 'failed',
                 REVOKED = 'revoked', EXPIRED = 'expired', SKIPPED = 'skipped'}

-- `evf` is a flat list of extra event fields (may be nil). `pre` (may be
-- nil) is {queue, name, batch, root, rexp} already read by the caller.
local function finish(id, state, extra, evf, pre)
    local k = tkey(id)
    local h = pre or redis.call('HMGET', k, 'queue', 'name', 'batch', 'root',
                                'rexp')
    local q, name, batch = h[1] or '?', h[2] or '?', h[3]
    local fields = {'state', state, 'dt', NOW}
    for i = 1, #extra do fields[#fields + 1] = extra[i] end
    redis.call('HSET', k, unpack(fields))
    redis.call('HDEL', k, 'lease', 'worker', 'revoke')
    redis.call('ZREM', P .. 'active', id)
    redis.call('PEXPIRE', k, tonumber(h[5] or '') or RESULT_TTL)
    if redis.call('LPUSH', P .. 'recent', id) > RECENT_MAX + 100 and
       RECENT_MAX > 0 then
        redis.call('LTRIM', P .. 'recent', 0, RECENT_MAX - 1)
    end
    stat(STAT_OF[state] or 'finished', q, name, 1)
    root_count(h[4], name, (state == 'SUCCESS' or state == 'SKIPPED')
               and 'done' or 'failed')
    event(EVENT_OF[state] or 'task-finished', id, 'name', name, 'q', q,
          unpack(evf or {}))
    if batch and batch ~= '' then
        batch_done(batch, state == 'SUCCESS' or state == 'SKIPPED')
    end
end

-- Park task `id` in the dead-letter queue with `reason`. Dead records
-- never expire: nothing leaves the DLQ without a command. `state` is
-- 'DEAD' (lost too often, poison, parked by hand) or 'FAILURE' (it failed
-- for good, retries exhausted, and its policy dead-letters it: the issue's
-- "state FAILURE, and the task goes to the dead-letter queue"); either
-- way the DLQ holds it until requeued or purged.
local function to_dead(id, reason, extra, state)
    local k = tkey(id)
    local h = redis.call('HMGET', k, 'queue', 'name', 'batch', 'root')
    state = state or 'DEAD'
    local fields = {'state', state, 'dead_reason', reason, 'dead_at', NOW,
                    'dt', NOW}
    for i = 1, #(extra or {}) do fields[#fields + 1] = extra[i] end
    redis.call('HSET', k, unpack(fields))
    redis.call('HDEL', k, 'lease', 'worker', 'revoke')
    redis.call('ZREM', P .. 'active', id)
    redis.call('PERSIST', k)
    dlq_add(id, h[1])
    stat('dead', h[1] or '?', h[2] or '?', 1)
    root_count(h[4], h[2] or '?', 'failed')
    if state == 'FAILURE' then
        -- one final event, as for any failure (its consumers, Sentry and
        -- progress callbacks, must not see the end twice)
        event('task-failed', id, 'name', h[2] or '?', 'q', h[1] or '?',
              'class', reason, 'dead', 1)
    else
        event('task-dead', id, 'reason', reason)
    end
    if h[3] and h[3] ~= '' then batch_done(h[3], false) end
end

-- Create a task record and queue it (shared by enqueue and by the batch
-- completion callback). Returns the state it was created in.
-- `acc` (optional) collects ready-list pushes and "sent" counts so a bulk
-- call issues one LPUSH per list and one HINCRBY per task name instead of
-- one per task (flush_acc); order inside a list is kept.
-- `fields` (flat field/value list, must include 'name') is extended in
-- place and written as the record.
local function create_task(id, q, pri, eta, exp, fields, acc)
    local k = tkey(id)
    local f = fields
    local name, root = '?', nil
    for i = 1, #f, 2 do
        if f[i] == 'name' then name = f[i + 1]
        elseif f[i] == 'root' then root = f[i + 1] end
    end
    root_count(root, name, 'total')
    local state = 'PENDING'
    if exp > 0 and exp <= NOW then
        state = 'EXPIRED'
    end
    local n = #f
    f[n + 1] = 'queue'
    f[n + 2] = q
    f[n + 3] = 'pri'
    f[n + 4] = pri
    f[n + 5] = 'ct'
    f[n + 6] = NOW
    f[n + 7] = 'state'
    f[n + 8] = state
    if eta > NOW then
        f[#f + 1] = 'eta'
        f[#f + 1] = eta
    end
    if exp > 0 then
        f[#f + 1] = 'exp'
        f[#f + 1] = exp
    end
    redis.call('HSET', k, unpack(f))
    event('task-sent', id, 'name', name, 'q', q, 'pri', pri)
    if acc then
        local sk = q .. '|' .. name
        acc.sent[sk] = (acc.sent[sk] or 0) + 1
    else
        stat_total('sent', q, name)
    end
    if state == 'EXPIRED' then
        finish(id, 'EXPIRED', {'err_class', 'expired',
                               'err_msg', 'expired before it was sent'})
        return state
    end
    if eta > NOW then
        redis.call('ZADD', P .. 'delayed', eta, id)
    elseif acc then
        local lk = qkey(q, pri)
        local l = acc.push[lk]
        if not l then
            l = {}
            acc.push[lk] = l
            acc.queue_of[lk] = q
            acc.order[#acc.order + 1] = lk
        end
        l[#l + 1] = id
    else
        push_ready(id, q, pri, false)
    end
    return state
end

local function new_acc()
    return {sent = {}, push = {}, order = {}, queue_of = {}}
end

local function flush_acc(acc)
    for _, lk in ipairs(acc.order) do
        local l = acc.push[lk]
        -- LPUSH takes many values; keep each call's argument list bounded
        for i = 1, #l, 1000 do
            local m = math.min(i + 999, #l)
            -- A list that was empty may belong to a new queue: register it
            -- (a non-empty list's queue is registered already).
            if redis.call('LPUSH', lk, unpack(l, i, m)) == m - i + 1 then
                redis.call('SADD', P .. 'queues', acc.queue_of[lk])
            end
        end
    end
    for sk, n in pairs(acc.sent) do
        redis.call('HINCRBY', P .. 'stats', 'sent|' .. sk, n)
    end
end

-- Fire the batch's completion once every chunk has ended.
local function batch_check(batch)
    local bk = P .. 'b:' .. batch
    local b = redis.call('HMGET', bk, 'total', 'done', 'failed', 'cb_id',
                         'cb_name', 'cb_queue', 'cb_kwargs')
    local total = tonumber(b[1]) or 0
    local finished = (tonumber(b[2]) or 0) + (tonumber(b[3]) or 0)
    -- fail_fast (beat's batch waves): the first failed chunk ends it
    local ff = (tonumber(b[3]) or 0) > 0 and
               redis.call('HGET', bk, 'fail_fast') == '1'
    if (finished >= total or ff) and redis.call('HSETNX', bk, 'finished_at', NOW) == 1 then
        if finished < total then
            -- undispatched chunks of a fail_fast batch never run
            redis.call('HSET', bk, 'cancelled',
                       redis.call('LLEN', P .. 'bq:' .. batch))
            redis.call('DEL', P .. 'bq:' .. batch)
            redis.call('ZREM', P .. 'bwaves', batch)
        end
        event('batch-finished', batch, 'total', total, 'done', b[2] or 0,
              'failed', b[3] or 0)
        if b[4] and b[4] ~= '' then
            -- The completion callback: created exactly once (HSETNX above)
            -- even when the last two chunks finish in parallel.
            local kw = {}
            if b[7] and b[7] ~= '' then kw = cjson.decode(b[7]) end
            kw['batch_id'] = batch
            kw['total'] = total
            kw['succeeded'] = tonumber(b[2]) or 0
            kw['failed'] = tonumber(b[3]) or 0
            create_task(b[4], b[6] or 'default', 5, 0, 0,
                        {'name', b[5], 'kwargs', cjson.encode(kw),
                         'parent', batch})
            wake(b[6] or 'default', 1)
        end
    end
end

-- Batches dispatched in waves (beat: batch_dispatch.lua, docs/beat.md).
-- Undispatched chunks wait in {ns}:bq:<batch> as "<task id>|<kwargs>"
-- and go out while the batch's max_inflight and token-bucket rate allow;
-- {ns}:bwaves holds batches with waiting chunks scored by when the next
-- may go. At most `limit` per call (0: no extra limit), so one call never
-- holds Redis long. Returns how many were dispatched.
local function batch_dispatch(batch, limit)
    local bk = P .. 'b:' .. batch
    local qk = P .. 'bq:' .. batch
    local h = redis.call('HMGET', bk, 'task', 'done', 'failed', 'dispatched',
                         'max_inflight', 'rate_n', 'rate_ms', 'tokens',
                         'tok_at', 'cq', 'cpri', 'cfields', 'finished_at',
                         'state')
    if not h[1] or h[13] or h[14] ~= 'running' then
        if not h[1] or h[13] then
            redis.call('ZREM', P .. 'bwaves', batch)
        end
        return 0
    end
    local waiting = redis.call('LLEN', qk)
    if waiting == 0 then
        redis.call('ZREM', P .. 'bwaves', batch)
        return 0
    end
    local dispatched = tonumber(h[4]) or 0
    local inflight = dispatched - (tonumber(h[2]) or 0) - (tonumber(h[3]) or 0)
    local maxin = tonumber(h[5]) or 0
    local rate_n, rate_ms = tonumber(h[6]) or 0, tonumber(h[7]) or 1000
    local n = waiting
    if maxin > 0 and maxin - inflight < n then n = maxin - inflight end
    local tokens = 0
    if rate_n > 0 then
        tokens = (tonumber(h[8]) or rate_n) +
                 (NOW - (tonumber(h[9]) or NOW)) * rate_n / rate_ms
        if tokens > rate_n then tokens = rate_n end
        if math.floor(tokens) < n then n = math.floor(tokens) end
    end
    if limit and limit > 0 and limit < n then n = limit end
    if n < 0 then n = 0 end
    local q, pri = h[10] or 'default', tonumber(h[11]) or 5
    local cf = cjson.decode(h[12] or '[]')
    for _ = 1, n do
        local spec = redis.call('LPOP', qk)
        local f = {'name', h[1], 'batch', batch}
        local kw = string.sub(spec, 38)
        if kw ~= '' and kw ~= '{}' then
            f[#f + 1] = 'kwargs'
            f[#f + 1] = kw
        end
        for j = 1, #cf do f[#f + 1] = cf[j] end
        create_task(string.sub(spec, 1, 36), q, pri, 0, 0, f)
    end
    if n > 0 then
        redis.call('HINCRBY', bk, 'dispatched', n)
        wake(q, n)
    end
    if rate_n > 0 then
        tokens = tokens - n
        redis.call('HSET', bk, 'tokens', tostring(tokens), 'tok_at', NOW)
    end
    if waiting > n then
        -- When may the next chunk go? A freed slot dispatches at once (from
        -- batch_done); the beat re-checks rate-limited batches when a token
        -- is due, and every batch every 5 s as a safety net.
        local at = NOW + 5000
        if maxin > 0 and inflight + n >= maxin then
            at = NOW + 5000
        elseif rate_n > 0 then
            at = NOW + math.max(1, math.ceil((1 - tokens) * rate_ms / rate_n))
        else
            at = NOW -- only `limit` held the rest back
        end
        redis.call('ZADD', P .. 'bwaves', at, batch)
    else
        redis.call('ZREM', P .. 'bwaves', batch)
    end
    return n
end

batch_done = function(batch, ok)
    local bk = P .. 'b:' .. batch
    if redis.call('EXISTS', bk) == 0 then return end
    redis.call('HINCRBY', bk, ok and 'done' or 'failed', 1)
    batch_check(batch)
    if redis.call('HGET', bk, 'waves') == '1' then batch_dispatch(batch, 1000) end
end

-- Move due delayed tasks (ETA reached) to their ready lists.
-- Returns how many were promoted.
local function promote_due(limit)
    local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', NOW,
                           'LIMIT', 0, limit)
    local woke = {}
    for _, id in ipairs(due) do
        redis.call('ZREM', P .. 'delayed', id)
        local h = redis.call('HMGET', tkey(id), 'queue', 'pri', 'state')
        if h[1] and h[3] and not TERMINAL[h[3]] and h[3] ~= 'DEAD' then
            redis.call('HSET', tkey(id), 'state', 'PENDING')
            push_ready(id, h[1], h[2] or '5', false)
            woke[h[1]] = (woke[h[1]] or 0) + 1
        end
    end
    for q, n in pairs(woke) do wake(q, n) end
    return #due
end

-- Leases whose deadline passed: the holder died or stalled. The task
-- goes back to the front of its queue with lost+1, or to the dead-letter
-- queue once it was lost MAX_DELIVERIES times (a poison task).
local function requeue_expired(limit)
    local gone = redis.call('ZRANGEBYSCORE', P .. 'active', '-inf', NOW,
                            'LIMIT', 0, limit)
    for _, id in ipairs(gone) do
        local k = tkey(id)
        local h = redis.call('HMGET', k, 'queue', 'pri', 'name', 'revoke',
                             'state', 'worker')
        redis.call('ZREM', P .. 'active', id)
        if not h[1] then
            -- record vanished (should not happen): nothing to requeue
        elseif h[4] == '1' then
            finish(id, 'REVOKED', {'err_class', 'revoked',
                   'err_msg', 'cancelled while its worker was lost'})
        else
            local lost = redis.call('HINCRBY', k, 'lost', 1)
            stat('lease_expired', h[1], h[3] or '?', 1)
            local hist = redis.call('HGET', k, 'errors')
            local errs = hist and cjson.decode(hist) or {}
            errs[#errs + 1] = {class = 'worker_lost', message =
                'lease expired (worker ' .. (h[6] or '?') .. ' stopped heartbeating)',
                at = NOW}
            redis.call('HSET', k, 'errors', cjson.encode(errs))
            if lost >= MAX_DELIVERIES then
                -- an unsuccessful end: counted as failed like a FAILURE,
                -- so the error rate sees it
                stat('failed', h[1], h[3] or '?', 1)
                to_dead(id, 'worker_lost', {'err_class', 'worker_lost',
                    'err_msg', 'lost ' .. lost .. ' times (lease expired)'})
            else
                redis.call('HSET', k, 'state', 'PENDING')
                redis.call('HDEL', k, 'lease', 'worker')
                push_ready(id, h[1], h[2] or '5', true)
                wake(h[1], 1)
                event('task-lost', id, 'lost', lost)
            end
        end
    end
    return #gone
end

-- Flat HGETALL of a task as a Lua table of pairs (for replies).
local function record(id)
    return redis.call('HGETALL', tkey(id))
end

-- The enqueue loop shared by enqueue.lua and batch.lua. Reads `n` task
-- runs from ARGV starting at index `pos` (layout: enqueue.lua header).
-- Checks every run before writing anything. Returns the reply array or
-- an error reply.
local function enqueue_runs(pos, n)
    if not n or n < 0 then
        return redis.error_reply('ERR syncq: bad task count')
    end
    local runs = {}
    for t = 1, n do
        local nf = tonumber(ARGV[pos + 7])
        if not nf or pos + 7 + 2 * nf > #ARGV then
            return redis.error_reply('ERR syncq: malformed task ' .. t)
        end
        runs[t] = pos
        pos = pos + 8 + 2 * nf
    end
    local function abs_ms(v)
        if v == '0' or v == '' then return 0 end
        if string.sub(v, 1, 1) == '+' then
            return NOW + (tonumber(string.sub(v, 2)) or 0)
        end
        return tonumber(v) or 0
    end
    local reply = {}
    local woke = {}
    local seen_queues = {}
    local acc = new_acc()
    for t = 1, n do
        local p = runs[t]
        local id, q, pri = ARGV[p], ARGV[p + 1], ARGV[p + 2]
        local eta, exp = abs_ms(ARGV[p + 3]), abs_ms(ARGV[p + 4])
        local uniq, uniq_ms = ARGV[p + 5], tonumber(ARGV[p + 6]) or 3600000
        local nf = tonumber(ARGV[p + 7])
        local dup = nil
        if uniq ~= '' then
            local uk = P .. 'u:' .. uniq
            if not redis.call('SET', uk, id, 'NX', 'PX', uniq_ms) then
                dup = redis.call('GET', uk)
            end
        end
        if dup then
            reply[#reply + 1] = dup
            reply[#reply + 1] = 'dup'
        else
            local fields = {}
            for i = 0, nf - 1 do
                fields[#fields + 1] = ARGV[p + 8 + 2 * i]
                fields[#fields + 1] = ARGV[p + 9 + 2 * i]
            end
            if uniq ~= '' then
                fields[#fields + 1] = 'uniq'
                fields[#fields + 1] = uniq
            end
            local state = create_task(id, q, pri, eta, exp, fields, acc)
            if eta > NOW and not seen_queues[q] then
                seen_queues[q] = true
                redis.call('SADD', P .. 'queues', q)
            end
            if state == 'PENDING' and eta <= NOW then
                woke[q] = (woke[q] or 0) + 1
            end
            reply[#reply + 1] = id
            reply[#reply + 1] = (state == 'EXPIRED') and 'expired' or 'new'
        end
    end
    flush_acc(acc)
    for q, c in pairs(woke) do wake(q, c) end
    return reply
end
