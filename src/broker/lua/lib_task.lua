-- SPDX-License-Identifier: MIT
--
-- lib_task.lua: prelude part 3 (after lib_stats.lua): the task lifecycle.
-- Creating tasks, ending them (finish, to_dead), their error history
-- (push_error), a lost delivery (lose: back to the front of its queue,
-- or to the dead-letter queue once lost MAX_DELIVERIES times), due
-- delayed tasks and lapsed leases. States: docs/redis-keys.md.

-- Finish a task record: terminal state, TTL, recent list, counters,
-- batch bookkeeping. `extra` is a flat list of field/value pairs.
local batch_done -- forward declaration (defined below)

local EVENT_OF = {SUCCESS = 'task-succeeded', FAILURE = 'task-failed',
                  REVOKED = 'task-revoked', EXPIRED = 'task-expired',
                  SKIPPED = 'task-skipped'}
local STAT_OF = {SUCCESS = 'succeeded', FAILURE = 'failed',
                 REVOKED = 'revoked', EXPIRED = 'expired', SKIPPED = 'skipped'}

-- A hot script (settle) calls fin_begin() first and fin_flush() before
-- returning: the tasks it finishes then leave the active set with one
-- ZREM and join the recent list with one LPUSH per call, not per task.
-- Nothing in between reads either for a task already finished.
local FIN = nil
local function fin_begin() FIN = {} end

local function recent_push(ids, i, j)
    if redis.call('LPUSH', P .. 'recent', unpack(ids, i, j)) >
       RECENT_MAX + 100 and RECENT_MAX > 0 then
        redis.call('LTRIM', P .. 'recent', 0, RECENT_MAX - 1)
    end
end

local function fin_flush()
    local ids = FIN
    FIN = nil
    if not ids then return end
    -- unpack takes a bounded argument list: at most 1000 per command
    for i = 1, #ids, 1000 do
        local j = math.min(i + 999, #ids)
        redis.call('ZREM', P .. 'active', unpack(ids, i, j))
        recent_push(ids, i, j)
    end
end

-- `evf` is a flat list of extra event fields (may be nil). `pre` (may be
-- nil) is {queue, name, revoke, lease, state, batch, root, rexp} already
-- read by the caller (settle's order; finish uses all but lease and
-- state), `k` (may be nil) the record's key, tkey(id).
-- `lease` and `worker` stay on the record: in a final state they name
-- the lease that ended it and hold nothing (every reader checks the
-- state: settle, extend, checkpoint_save, progress, revoke, and the
-- client's record decoder leaves them out), which spares a finished
-- task an HDEL (4.5 % of what a drained task costs Redis).
local function finish(id, state, extra, evf, pre, k)
    k = k or tkey(id)
    local h = pre or redis.call('HMGET', k, 'queue', 'name', 'revoke',
                                'lease', 'state', 'batch', 'root', 'rexp')
    local q, name, batch = h[1] or '?', h[2] or '?', h[6]
    redis.call('HSET', k, 'state', state, 'dt', NOWS, unpack(extra))
    if h[3] then redis.call('HDEL', k, 'revoke') end
    redis.call('PEXPIRE', k, tonumber(h[8] or '') and h[8] or RESULT_TTLS)
    if FIN then
        FIN[#FIN + 1] = id
    else
        redis.call('ZREM', P .. 'active', id)
        recent_push({id}, 1, 1)
    end
    stat(STAT_OF[state] or 'finished', q, name, 1)
    if h[7] then
        root_count(h[7], name, (state == 'SUCCESS' or state == 'SKIPPED')
                   and 'done' or 'failed')
    end
    if state == 'SUCCESS' and evf then
        -- a hot script's successes share one entry (lib.lua)
        event_grouped('task-succeeded', id, 'name', name, 'q', q, evf[1],
                      evf[2])
    elseif evf then
        event(EVENT_OF[state] or 'task-finished', id, 'name', name, 'q', q,
              unpack(evf))
    else
        event(EVENT_OF[state] or 'task-finished', id, 'name', name, 'q', q)
    end
    if batch and batch ~= '' then
        batch_done(batch, state == 'SUCCESS' or state == 'SKIPPED')
    end
end

-- finish(id, 'SUCCESS', ...) in a hot call (FIN set) of a success its
-- caller counted, of a record `h` (settle's fields, finish's `pre`)
-- without batch, root or rexp: the same writes in the same order, from
-- arguments instead of tables (`...`: the extra fields, rt first).
local function succeed_plain(id, k, h, rts, ...)
    redis.call('HSET', k, 'state', 'SUCCESS', 'dt', NOWS, ...)
    if h[3] then redis.call('HDEL', k, 'revoke') end
    redis.call('PEXPIRE', k, RESULT_TTLS)
    FIN[#FIN + 1] = id
    event_grouped('task-succeeded', id, 'name', h[2] or '?', 'q',
                  h[1] or '?', 'rt', rts)
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

-- Append an error to the task's history ({class, message, at, attempt},
-- the last ERRORS_MAX kept): every failure, retry and lost delivery.
local ERRORS_MAX = 20
local function push_error(k, class, msg)
    local h = redis.call('HMGET', k, 'errors', 'attempt')
    local errs = h[1] and cjson.decode(h[1]) or {}
    errs[#errs + 1] = {class = class, message = msg, at = NOW,
                       attempt = tonumber(h[2] or '0') or 0}
    while #errs > ERRORS_MAX do table.remove(errs, 1) end
    redis.call('HSET', k, 'errors', cjson.encode(errs))
end

-- A lost delivery of leased task `id`: the lease ends, lost+1, the error
-- goes to the history (`class`, `msg`); the task goes back to the front
-- of its queue, or to the dead-letter queue with reason `class` once lost
-- MAX_DELIVERIES times (a poison task). `reason` is the cause, one name
-- each (docs/redis-keys.md): 'lease_expired' (the holder stopped
-- heartbeating), 'worker_lost' or 'timeout' (the worker's child died or
-- was killed). It goes on the task-lost event and in the dead letter's
-- message; every lost delivery counts `lost`, a lapsed lease also
-- `lease_expired`.
local function lose(id, q, name, pri, class, msg, reason)
    local k = tkey(id)
    redis.call('ZREM', P .. 'active', id)
    redis.call('HDEL', k, 'lease', 'worker')
    local lost = redis.call('HINCRBY', k, 'lost', 1)
    push_error(k, class, msg)
    stat('lost', q, name, 1)
    if reason == 'lease_expired' then stat('lease_expired', q, name, 1) end
    if lost >= MAX_DELIVERIES then
        -- an unsuccessful end: counted as failed like a FAILURE, so the
        -- error rate sees it
        stat('failed', q, name, 1)
        local why = reason == 'lease_expired' and 'lease expired' or reason
        to_dead(id, class, {'err_class', class, 'err_msg',
                'lost ' .. lost .. ' times (' .. why .. ')'})
    else
        redis.call('HSET', k, 'state', 'PENDING')
        push_ready(id, q, pri or '5', true)
        wake(q, 1)
        event('task-lost', id, 'lost', lost, 'reason', reason)
    end
end

-- Create a task record and queue it (shared by enqueue and by the batch
-- completion callback). Returns the state it was created in.
-- `acc` (optional, new_acc) collects ready-list pushes and "sent" counts
-- so a bulk call issues one LPUSH per list and one HINCRBY per task name
-- instead of one per task (flush_acc); order inside a list is kept. It
-- keys them by queue, then name or priority (no string made per task).
-- `fields` (flat field/value list, must include 'name') is extended in
-- place and written as the record; `nf` (optional): how many of its
-- entries are the task's (the enqueue loop reuses one table, entries
-- past them are stale), else #fields.
local function create_task(id, q, pri, eta, exp, fields, acc, nf)
    local k = tkey(id)
    local f = fields
    local name, root = '?', nil
    local n = nf or #f
    for i = 1, n, 2 do
        local fk = f[i]
        if fk == 'name' then name = f[i + 1]
        elseif fk == 'root' then root = f[i + 1] end
    end
    if root then root_count(root, name, 'total') end
    local state = 'PENDING'
    if exp > 0 and exp <= NOW then
        state = 'EXPIRED'
    end
    f[n + 1] = 'queue'
    f[n + 2] = q
    f[n + 3] = 'pri'
    f[n + 4] = pri
    f[n + 5] = 'ct'
    f[n + 6] = NOWS
    f[n + 7] = 'state'
    f[n + 8] = state
    n = n + 8
    if eta > NOW then
        f[n + 1], f[n + 2], n = 'eta', eta, n + 2
    end
    if exp > 0 then
        f[n + 1], f[n + 2], n = 'exp', exp, n + 2
    end
    redis.call('HSET', k, unpack(f, 1, n))
    if state == 'EXPIRED' then
        -- its task-expired follows at once: the sent event goes first
        event('task-sent', id, 'name', name, 'q', q, 'pri', pri)
    else
        -- a bulk call's tasks share one entry (lib.lua, event_grouped)
        event_grouped('task-sent', id, 'name', name, 'q', q, 'pri', pri)
    end
    if acc then
        local byq = acc.sent[q]
        if not byq then
            byq = {}
            acc.sent[q] = byq
        end
        byq[name] = (byq[name] or 0) + 1
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
        local byq = acc.push[q]
        if not byq then
            byq = {}
            acc.push[q] = byq
        end
        local l = byq[pri]
        if not l then
            l = {n = 0, q = q, pri = pri}
            byq[pri] = l
            acc.order[#acc.order + 1] = l
        end
        local n = l.n + 1
        l.n, l[n] = n, id
    else
        push_ready(id, q, pri, false)
    end
    return state
end

-- sent[q][name]: tasks counted sent; push[q][pri]: a ready list's new
-- ids (with n, q, pri); order: those lists in the order of their first.
local function new_acc()
    return {sent = {}, push = {}, order = {}}
end

local function flush_acc(acc)
    for _, l in ipairs(acc.order) do
        local lk = qkey(l.q, l.pri)
        -- LPUSH takes many values; keep each call's argument list bounded
        for i = 1, l.n, 1000 do
            local m = math.min(i + 999, l.n)
            -- A list that was empty may belong to a new queue: register it
            -- (a non-empty list's queue is registered already).
            if redis.call('LPUSH', lk, unpack(l, i, m)) == m - i + 1 then
                redis.call('SADD', P .. 'queues', l.q)
            end
        end
    end
    for q, byq in pairs(acc.sent) do
        for name, n in pairs(byq) do
            redis.call('HINCRBY', P .. 'stats', names_of('sent', q, name).base,
                       n)
        end
    end
end

-- Move due delayed tasks (ETA reached) to their ready lists.
-- Returns how many were promoted.
local function promote_due(limit)
    local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', NOW,
                           'LIMIT', 0, limit)
    local woke = {}
    for _, id in ipairs(due) do
        redis.call('ZREM', P .. 'delayed', id)
        -- a key of another type (record_fields) is dropped from the set
        local h = record_fields(tkey(id), 'queue', 'pri', 'state') or {}
        if h[1] and h[3] and not FINAL[h[3]] then
            redis.call('HSET', tkey(id), 'state', 'PENDING')
            push_ready(id, h[1], h[2] or '5', false)
            woke[h[1]] = (woke[h[1]] or 0) + 1
        end
    end
    for q, n in pairs(woke) do wake(q, n) end
    return #due
end

-- Leases whose deadline passed: the holder died or stalled. A task
-- whose cancel was requested ends REVOKED; any other is a lost delivery
-- (lose).
local function requeue_expired(limit)
    local gone = redis.call('ZRANGEBYSCORE', P .. 'active', '-inf', NOW,
                            'LIMIT', 0, limit)
    for _, id in ipairs(gone) do
        local h = record_fields(tkey(id), 'queue', 'pri', 'name', 'revoke',
                                'worker') or {}
        redis.call('ZREM', P .. 'active', id)
        if not h[1] then
            -- record vanished or of another type (should not happen):
            -- nothing to requeue
        elseif h[4] == '1' then
            finish(id, 'REVOKED', {'err_class', 'revoked',
                   'err_msg', 'cancelled while its worker was lost'})
        else
            lose(id, h[1], h[3] or '?', h[2], 'worker_lost',
                 'lease expired (worker ' .. (h[5] or '?') ..
                 ' stopped heartbeating)', 'lease_expired')
        end
    end
    return #gone
end

-- An ETA or expiry argument as epoch ms: 0 none, "+<ms>" from NOW.
local function abs_ms(v)
    if v == '0' or v == '' then return 0 end
    if string.byte(v, 1) == 43 then -- '+'
        return NOW + (tonumber(string.sub(v, 2)) or 0)
    end
    return tonumber(v) or 0
end

-- The record being written by the enqueue loop: one table reused for
-- every task (a function library keeps it between calls), so a task
-- costs no table of its own, nor the garbage collector's work for it.
-- create_task is told how many entries are the task's. The last task's
-- strings stay referenced until a later task overwrites them (at most
-- one task's fields): clearing them cost a single create 2,800
-- instructions (bench/enqueue_ir.sh).
local REC = {}

-- The task run at ARGV[p] (layout: enqueue.lua header): its id, queue,
-- priority (q0, pri0 when the call gives them once, else the run's),
-- the number of its fields after the name, the index of its "when" and
-- the index of the next run. nx is nil for a malformed run.
local function run_at(p, q0, pri0)
    local id, q, pri = ARGV[p], q0, pri0
    if not q0 then
        q, pri, p = ARGV[p + 1], ARGV[p + 2], p + 2
    end
    local nx = tonumber(ARGV[p + 2])
    return id, q, pri, nx, (nx and p + 4 + 2 * nx), p + 1
end

-- The enqueue loop shared by enqueue.lua and batch.lua. Reads `n` task
-- runs from ARGV starting at index `pos` (layout: enqueue.lua header;
-- q0, pri0: the call's queue and priority, nil when each run gives its
-- own). Checks every run before writing anything. `taken` (optional):
-- task number -> its status ("dup": its id exists), answered with its
-- id and that status, nothing written. Returns the reply array, or with
-- `compact` the number n when every task was created "new" (the caller
-- knows the ids it sent), or an error reply.
local function enqueue_runs(pos, n, taken, compact, q0, pri0)
    if not n or n < 0 then
        return redis.error_reply('ERR syncq: bad task count')
    end
    local first, whens, nargs = pos, nil, #ARGV
    -- run_at, inlined in the loops that run per task: d is how far the
    -- run's "when" is behind its id less one (its own queue, priority)
    local d = q0 and 0 or 2
    for t = 1, n do
        local wi = pos + 1 + d
        local nx = tonumber(ARGV[wi + 1])
        if not nx or nx < 0 or wi + 2 + 2 * nx > nargs or
           (d == 0 and not pri0) then
            return redis.error_reply('ERR syncq: malformed task ' .. t)
        end
        local w = ARGV[wi]
        if w ~= '' then
            -- eta|exp|uniq_ms|uniq (enqueue.lua header)
            local e, x, ums, u = string.match(w,
                                              '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
            if not e then
                return redis.error_reply('ERR syncq: malformed task ' .. t)
            end
            whens = whens or {}
            whens[t] = {e, x, ums, u}
        end
        pos = wi + 3 + 2 * nx
    end
    -- one task: written at once (no sums to gather, no table for them)
    local odd = nil -- task number -> {id, status} of the tasks not "new"
    local woke = n > 1 and {} or nil
    local seen_queues = nil
    local acc = n > 1 and new_acc() or nil
    local rec = REC
    rec[1] = 'name'
    local p = first
    for t = 1, n do
        local id, q, pri, wi = ARGV[p], q0, pri0, p + 1 + d
        if d ~= 0 then q, pri = ARGV[p + 1], ARGV[p + 2] end
        local nx = tonumber(ARGV[wi + 1])
        local eta, exp, uniq, uniq_ms = 0, 0, '', nil
        local w = whens and whens[t]
        if w then
            eta, exp, uniq_ms, uniq = abs_ms(w[1]), abs_ms(w[2]), w[3], w[4]
        end
        local dup, status = nil, taken and taken[t]
        if status then
            dup = id
        elseif uniq ~= '' then
            local uk = P .. 'u:' .. uniq
            if not redis.call('SET', uk, id, 'NX', 'PX',
                              tonumber(uniq_ms) or 3600000) then
                dup = redis.call('GET', uk)
            end
        end
        if dup then
            odd = odd or {}
            odd[t] = {dup, status or 'dup'}
        else
            -- the name, then the other fields (ARGV[wi + 2 ..])
            local m = 2 + 2 * nx
            for i = 2, m do rec[i] = ARGV[wi + i] end
            if uniq ~= '' then
                rec[m + 1], rec[m + 2], m = 'uniq', uniq, m + 2
            end
            local state = create_task(id, q, pri, eta, exp, rec, acc, m)
            if eta > NOW then
                seen_queues = seen_queues or {}
                if not seen_queues[q] then
                    seen_queues[q] = true
                    redis.call('SADD', P .. 'queues', q)
                end
            end
            if state == 'PENDING' and eta <= NOW then
                if woke then
                    woke[q] = (woke[q] or 0) + 1
                else
                    wake(q, 1)
                end
            end
            if state == 'EXPIRED' then
                odd = odd or {}
                odd[t] = {id, 'expired'}
            end
        end
        p = wi + 3 + 2 * nx
    end
    if acc then flush_acc(acc) end
    if woke then
        for q, c in pairs(woke) do wake(q, c) end
    end
    if compact and not odd then return n end
    local reply = {}
    p = first
    for t = 1, n do
        local o = odd and odd[t]
        local id, _, _, _, nxt = run_at(p, q0, pri0)
        if o then
            reply[2 * t - 1], reply[2 * t] = o[1], o[2]
        else
            reply[2 * t - 1], reply[2 * t] = id, 'new'
        end
        p = nxt
    end
    return reply
end
