-- SPDX-License-Identifier: MIT
--
-- settle.lua: record outcomes of leased tasks, many per call (DESIGN
-- contract 3). Every op carries the lease token it was given; an op whose
-- token is not the task's current one changes nothing and is answered
-- "stale" (fencing: a slow worker whose lease was taken over cannot
-- overwrite the outcome) and counted as a lost lease. An op re-sent by
-- the lease that already recorded the outcome (its first reply was lost;
-- the record keeps that token in `slease`) changes nothing and is
-- answered "already": that lease was not lost.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  number of ops; then per op: kind, id, token, and by kind:
--   ok       result_json runtime_ms              -> SUCCESS
--   okp      as ok, from a worker that saw in the lease reply that the
--            record has no `batch`, `root` nor `rexp` (written at its
--            creation, never after): they are not read (each field
--            missing from a record is a scan of it in HMGET)
--   fail     class message runtime_ms dead(0|1)  -> FAILURE (+ DLQ if dead)
--   retry    class message runtime_ms delay_ms   -> RETRY, delayed set
--   defer    class message runtime_ms delay_ms   -> as retry, but counted
--            in `deferrals`, not `retries` (a wait the task did not
--            cause: its retry budget is not used)
--   requeue  reason(shutdown|worker_lost|timeout) -> back to its queue
--            (worker_lost/timeout count as a lost delivery; DLQ at max)
--   start    -                                   -> STARTED (prefetched)
--   revoked  message runtime_ms                  -> REVOKED
-- An outcome of a run (ok, fail, retry, defer) for a task still RECEIVED
-- (prefetched, and its start never sent because the outcome came in the
-- same round: the worker sends no separate start then) records the start
-- time too, as its end minus its runtime.
-- Reply: flat array, one status per op: "ok" | "already" | "stale" |
-- "gone".

local nops = tonumber(ARGV[2])
local NARGS = {ok = 2, okp = 2, fail = 4, retry = 4, requeue = 1, start = 0,
               revoked = 2, defer = 4}
local pos = 3
local ops = {}
for i = 1, nops do
    local kind = ARGV[pos]
    local na = NARGS[kind]
    if not na or pos + 2 + na > #ARGV then
        return redis.error_reply('ERR syncq: malformed settle op ' .. i)
    end
    ops[i] = pos
    pos = pos + 3 + na
end

stats_begin()
events_begin()
fin_begin()

-- A run of successes of one (queue, task name) in the first histogram
-- bucket is counted here in locals (rn, rsum) and added to its counter
-- entries once (run_end): two calls and their table look-ups less per
-- task (stat, observe; 7,700 instructions of a drained task). The
-- run's first task is counted as any other (stat, observe), so the
-- entries join the call's sums in the same order and `succeeded`,
-- `runtime` sum, count and first bucket come out the same.
local rq, rname, rsucc, rrt, rn, rsum = nil, nil, nil, nil, 0, 0
local function run_end()
    if rn > 0 then
        rsucc.n = rsucc.n + rn
        rrt.sum, rrt.cnt = rrt.sum + rsum, rrt.cnt + rn
        rrt.lec[1] = rrt.lec[1] + rn
    end
    rq, rn, rsum = nil, 0, 0
end
-- After a counted success: its entries start the next run, if its
-- sample fell in the first bucket and both entries are this call's
-- (a batch's callback may have made new entries since: then no run).
local function run_start(q, name, rt)
    if rt >= 0 and rt <= BUCKET1 then
        local s, r = names_of('succeeded', q, name),
                     names_of('runtime', q, name)
        if s.call == CALL and r.call == CALL and r.lec[1] then
            rq, rname, rsucc, rrt = q, name, s, r
        end
    end
end

local reply = {}
for i = 1, nops do
    local p = ops[i]
    local kind, id, token = ARGV[p], ARGV[p + 1], ARGV[p + 2]
    local k = tkey(id)
    -- the fields every outcome needs (fewer fields, a cheaper call);
    -- `slease` and `pri` are read on the rare paths that need them.
    -- h[1..3] and h[6..8] are the fields finish() needs, in its order
    -- (`pre`), so it does not read them again; "okp" leaves out the last
    -- three (nil in h: none)
    local h
    if kind == 'okp' then
        kind = 'ok'
        h = record_fields(k, 'queue', 'name', 'revoke', 'lease', 'state')
    else
        h = record_fields(k, 'queue', 'name', 'revoke', 'lease', 'state',
                          'batch', 'root', 'rexp')
    end
    h = h or {}
    local pre, lease, state = h, h[4], h[5]
    -- a final record keeps the lease that ended it (finish): not held
    local held = lease == token and not FINAL[state]
    if not state then
        reply[i] = 'gone'
    elseif not held and redis.call('HGET', k, 'slease') == token then
        reply[i] = 'already'
    elseif not held then
        reply[i] = 'stale'
        stat('lease_lost', h[1] or '?', h[2] or '?', 1)
    else
        local q, name = h[1], h[2]
        -- the start of a prefetched task whose start op was folded into
        -- this outcome (see above); the runtime is its 5th or 6th arg
        local st = nil
        if state == 'RECEIVED' and kind ~= 'requeue' and kind ~= 'start' and
           kind ~= 'revoked' then
            local rt = tonumber(ARGV[p + (kind == 'ok' and 4 or 5)]) or 0
            st = rt == 0 and NOWS or ints(NOW - rt)
        end
        reply[i] = 'ok'
        if kind == 'ok' then
            -- the runtime goes on as the text it came as (see ints())
            local rt = tonumber(ARGV[p + 4])
            local rts = rt and ARGV[p + 4] or '0'
            rt = rt or 0
            local res = ARGV[p + 3]
            if q == rq and name == rname and rt >= 0 and rt <= BUCKET1 and
               not (h[6] or h[7] or h[8]) then
                -- the run's next success (run_end counts it), of a
                -- record without batch, root or rexp: finish()'s writes
                -- without its tables (the same fields in the same order)
                rn, rsum = rn + 1, rsum + rt
                if st and res ~= '' then
                    succeed_plain(id, k, h, rts, 'rt', rts, 'slease', token,
                                  'st', st, 'result', res)
                elseif st then
                    succeed_plain(id, k, h, rts, 'rt', rts, 'slease', token,
                                  'st', st)
                elseif res ~= '' then
                    succeed_plain(id, k, h, rts, 'rt', rts, 'slease', token,
                                  'result', res)
                else
                    succeed_plain(id, k, h, rts, 'rt', rts, 'slease', token)
                end
            else
                -- built whole (a table grown field by field costs more)
                local f
                if st and res ~= '' then
                    f = {'rt', rts, 'slease', token, 'st', st, 'result', res}
                elseif st then
                    f = {'rt', rts, 'slease', token, 'st', st}
                elseif res ~= '' then
                    f = {'rt', rts, 'slease', token, 'result', res}
                else
                    f = {'rt', rts, 'slease', token}
                end
                run_end()
                observe('runtime', q, name, rt)
                finish(id, 'SUCCESS', f, {'rt', rts}, pre, k)
                run_start(q, name, rt)
            end
        elseif kind == 'fail' then
            local rt = tonumber(ARGV[p + 5]) or 0
            push_error(k, ARGV[p + 3], ARGV[p + 4])
            observe('runtime', q, name, rt)
            if st then redis.call('HSET', k, 'st', st) end
            if ARGV[p + 6] == '1' then
                stat('failed', q, name, 1)
                to_dead(id, ARGV[p + 3], {'err_class', ARGV[p + 3],
                        'err_msg', ARGV[p + 4], 'rt', rt, 'slease', token},
                        'FAILURE')
            else
                finish(id, 'FAILURE', {'err_class', ARGV[p + 3],
                       'err_msg', ARGV[p + 4], 'rt', rt, 'slease', token},
                       {'class', ARGV[p + 3]}, pre)
            end
        elseif kind == 'retry' or kind == 'defer' then
            local rt = tonumber(ARGV[p + 5]) or 0
            local delay = tonumber(ARGV[p + 6]) or 0
            push_error(k, ARGV[p + 3], ARGV[p + 4])
            observe('runtime', q, name, rt)
            local eta = NOW + delay
            redis.call('HSET', k, 'state', 'RETRY', 'eta', eta,
                       'err_class', ARGV[p + 3], 'err_msg', ARGV[p + 4],
                       'rt', rt, 'slease', token)
            if st then redis.call('HSET', k, 'st', st) end
            if kind == 'retry' then
                redis.call('HINCRBY', k, 'retries', 1)
            else
                redis.call('HINCRBY', k, 'deferrals', 1)
            end
            redis.call('HDEL', k, 'lease', 'worker')
            redis.call('ZREM', P .. 'active', id)
            redis.call('ZADD', P .. 'delayed', eta, id)
            stat('retried', q, name, 1)
            event('task-retried', id, 'class', ARGV[p + 3], 'eta', eta,
                  'deferred', kind == 'defer' and '1' or '0')
        elseif kind == 'requeue' then
            local reason = ARGV[p + 3]
            if reason == 'shutdown' then
                -- handed back unstarted or interrupted by a warm shutdown:
                -- not the task's fault, not counted
                redis.call('ZREM', P .. 'active', id)
                redis.call('HDEL', k, 'lease', 'worker')
                redis.call('HSET', k, 'state', 'PENDING', 'slease', token)
                push_ready(id, q, redis.call('HGET', k, 'pri') or '5', true)
                wake(q, 1)
                event('task-requeued', id, 'reason', reason)
            else
                lose(id, q, name, redis.call('HGET', k, 'pri'), reason,
                     'worker child died while running it', reason)
                redis.call('HSET', k, 'slease', token)
            end
        elseif kind == 'start' then
            redis.call('HSET', k, 'state', 'STARTED', 'st', NOW)
            event('task-started', id)
        elseif kind == 'revoked' then
            local rt = tonumber(ARGV[p + 4]) or 0
            finish(id, 'REVOKED', {'err_class', 'revoked',
                   'err_msg', ARGV[p + 3], 'rt', rt, 'slease', token}, nil,
                   pre)
        end
    end
end
run_end()
fin_flush()
events_flush()
stats_flush()
return reply
