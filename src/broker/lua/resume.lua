-- SPDX-License-Identifier: MIT
--
-- resume.lua: resume strategies and dead-letter requeue (issue 5), for
-- one or many tasks in one atomic call. The client chooses the strategy
-- ("auto" is resolved client-side, where checkpoints are verified).
--
--   retry    run again as it was (checkpoints kept, untouched)
--   resume   run again from the last good checkpoint (kept; its step is
--            recorded in `resume_seq`)
--   restart  delete its checkpoints and progress, run from zero
--   skip     mark it done without running: SKIPPED, with who and when
--   manual   park it in the dead-letter queue for a person
--
-- The run strategies put the task back to PENDING at the back of its
-- queue (or the given one), out of the DLQ / delayed set, its record made
-- permanent again, with `lost` and `retries` reset so the retry policy
-- and the poison limit start afresh; `attempt` and the `errors` history
-- are kept, and the decision is appended to `rhist`.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  strategy: retry | resume | restart | skip | manual
-- ARGV[3]  who asked (recorded)
-- ARGV[4]  queue to run in, or "" for the task's own
-- ARGV[5]  "1": only tasks in the dead-letter queue (dead requeue)
-- ARGV[6]  resume: the checkpoint step it resumes from, or ""
-- ARGV[7]  number of ids, then the ids
-- Reply: flat array, per id: status, state before the call. Status:
--   "ok"         done
--   "unknown"    no such task (or its record expired)
--   "running"    leased to a worker (RECEIVED STARTED PROGRESS): refused
--   "succeeded"  SUCCESS: refused
--   "skipped"    already SKIPPED: refused
--   "waiting"    PENDING or RETRY and a run strategy: refused (it will
--                run anyway)
--   "not_dead"   ARGV[5] is "1" and the task is not in the dead-letter
--                queue (DEAD, or FAILURE dead-lettered by its policy)
--   "poison"     a poison entry (not a task) cannot run: refused
-- Errors: "ERR syncq: ..." on malformed arguments (nothing written).

local strategy, who, newq = ARGV[2], ARGV[3], ARGV[4]
local only_dead, rseq = ARGV[5] == '1', ARGV[6]
local n = tonumber(ARGV[7])
local RUNS = {retry = true, resume = true, restart = true}
if not (RUNS[strategy] or strategy == 'skip' or strategy == 'manual') then
    return redis.error_reply('ERR syncq: unknown strategy ' .. strategy)
end
if not n or 7 + n ~= #ARGV then
    return redis.error_reply('ERR syncq: malformed resume call')
end

local RUNNING = {RECEIVED = true, STARTED = true, PROGRESS = true}
-- states whose end was counted as a failure in their batch
local COUNTED_FAILED = {FAILURE = true, DEAD = true, REVOKED = true,
                        EXPIRED = true}

local function remember(k, from)
    local hist = redis.call('HGET', k, 'rhist')
    local ok, h = pcall(cjson.decode, hist or '[]')
    if not ok or type(h) ~= 'table' then h = {} end
    h[#h + 1] = {strategy = strategy, by = who, at = NOW, from = from}
    while #h > 20 do table.remove(h, 1) end
    redis.call('HSET', k, 'rhist', cjson.encode(h), 'resume', strategy,
               'resume_by', who, 'resume_at', NOW)
end

local function resume_one(id)
    local k = tkey(id)
    local h = redis.call('HMGET', k, 'state', 'queue', 'pri', 'name', 'batch')
    local state, q, pri, name, batch = h[1], h[2], h[3] or '5', h[4], h[5]
    if not state then return 'unknown', '' end
    local dead = in_dlq(id)
    if only_dead and not dead then return 'not_dead', state end
    if RUNNING[state] then return 'running', state end
    if state == 'SUCCESS' then return 'succeeded', state end
    if state == 'SKIPPED' then return 'skipped', state end
    local waiting = state == 'PENDING' or state == 'RETRY'
    if waiting and RUNS[strategy] then return 'waiting', state end
    if name == '(poison)' and RUNS[strategy] then return 'poison', state end
    if dead and strategy == 'manual' then
        -- already parked: record the decision only
        remember(k, state)
        redis.call('HSET', k, 'dead_reason', 'manual')
        return 'ok', state
    end

    -- Take it out of wherever it waits.
    if state == 'PENDING' and q then
        redis.call('LREM', qkey(q, pri), 0, id)
    end
    redis.call('ZREM', P .. 'delayed', id)
    dlq_remove(id, q)
    if FINAL[state] and state ~= 'DEAD' then
        -- it is listed among the recently finished; it will be again
        redis.call('LREM', P .. 'recent', 0, id)
    end
    if COUNTED_FAILED[state] and batch and batch ~= '' and
       redis.call('EXISTS', P .. 'b:' .. batch) == 1 then
        -- its earlier end counted as failed; the new end counts again
        redis.call('HINCRBY', P .. 'b:' .. batch, 'failed', -1)
    end
    remember(k, state)

    if strategy == 'skip' then
        finish(id, 'SKIPPED', {'skip_by', who, 'skip_at', NOW}, {'by', who})
        return 'ok', state
    end
    if strategy == 'manual' then
        to_dead(id, 'manual', {'resume', 'manual'})
        return 'ok', state
    end

    if strategy == 'restart' then
        redis.call('DEL', P .. 'cp:' .. id, P .. 'cpbad:' .. id)
        redis.call('HDEL', k, 'progress', 'cp_seq', 'cp_at')
    end
    if newq ~= '' then
        q = newq
    end
    q = q or 'default'
    redis.call('SADD', P .. 'queues', q)
    redis.call('HSET', k, 'state', 'PENDING', 'queue', q, 'lost', 0,
               'retries', 0)
    if strategy == 'resume' and rseq ~= '' then
        redis.call('HSET', k, 'resume_seq', rseq)
    else
        redis.call('HDEL', k, 'resume_seq')
    end
    redis.call('HDEL', k, 'dt', 'dead_reason', 'dead_at', 'revoke',
               'revoke_by', 'revoke_at', 'lease', 'worker', 'eta', 'result',
               'pst', 'skip_by', 'skip_at')
    if state == 'EXPIRED' then
        -- an operator asked for it to run: its old deadline no longer holds
        redis.call('HDEL', k, 'exp')
    end
    redis.call('PERSIST', k)
    push_ready(id, q, pri, false)
    wake(q, 1)
    stat('resumed', q, name or '?', 1)
    event('task-requeued', id, 'reason', 'resume:' .. strategy, 'by', who)
    return 'ok', state
end

local reply = {}
for i = 1, n do
    local s, st = resume_one(ARGV[7 + i])
    reply[#reply + 1] = s
    reply[#reply + 1] = st
end
return reply
