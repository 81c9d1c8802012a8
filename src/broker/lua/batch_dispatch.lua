-- SPDX-License-Identifier: MIT
--
-- batch_dispatch.lua: batches whose chunks are dispatched in waves
-- (syncq batch create --max-in-flight/--rate, syncq_batch_submit). The
-- batch record {ns}:b:<id> is the engine's (batch.lua fields) plus
-- waves=1, state, dispatched, max_inflight, rate_n, rate_ms, tokens,
-- tok_at, cq, cpri, cfields, fail_fast. Chunks not yet dispatched wait in
-- the list {ns}:bq:<id> as "<task id>|<kwargs JSON>"; lib.lua's
-- batch_dispatch sends them out as the limits allow, and batch_done (a
-- chunk ended) frees a slot at once.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  op, then by op:
--   create    batch id, task name, total chunks, total items,
--             completion task id ("" none), its name, its queue, its
--             extra kwargs (JSON or ""), chunk queue, chunk priority,
--             chunk record fields (JSON array of field/value strings),
--             max in flight (0: none), rate count (0: none), rate period
--             ms, fail fast (1|0), seal (1|0), n chunk specs, specs...
--   append    batch id, seal (1|0), n chunk specs, specs...
--   dispatch  batch id
--   Sealing marks the batch "running" (before that nothing is
--   dispatched: a batch is sent whole or, if its creator died midway,
--   stays "creating"), fires the completion of an empty batch (C38) and
--   dispatches the first wave.
-- Reply: { chunks dispatched, chunks waiting, next dispatch ms | -1 }
-- Errors: "ERR syncq: batch exists" (create), "ERR syncq: no batch"
--   (append, dispatch), "ERR syncq: ..." on malformed arguments.

local op = ARGV[2]

-- The spec count at ARGV[pos], if the specs that follow match it.
local function specs_at(pos)
    local n = tonumber(ARGV[pos])
    if not n or n < 0 or #ARGV ~= pos + n then
        return nil
    end
    return n
end

local function push_specs(batch, pos, n)
    local qk = P .. 'bq:' .. batch
    for i = 1, n, 1000 do
        local m = math.min(i + 999, n)
        redis.call('RPUSH', qk, unpack(ARGV, pos + i, pos + m))
    end
end

local function seal_and_go(batch)
    local bk = P .. 'b:' .. batch
    redis.call('HSET', bk, 'state', 'running')
    if tonumber(redis.call('HGET', bk, 'total')) == 0 then
        batch_check(batch)
    end
    return batch_dispatch(batch, 1000)
end

local function result(batch, dispatched)
    local nxt = redis.call('ZSCORE', P .. 'bwaves', batch)
    return {dispatched, redis.call('LLEN', P .. 'bq:' .. batch),
            nxt and tonumber(nxt) or -1}
end

if op == 'create' then
    local batch = ARGV[3]
    local n = specs_at(19)
    if not n then
        return redis.error_reply('ERR syncq: malformed batch create')
    end
    local bk = P .. 'b:' .. batch
    if redis.call('EXISTS', bk) == 1 then
        return redis.error_reply('ERR syncq: batch exists')
    end
    redis.call('HSET', bk, 'task', ARGV[4], 'total', ARGV[5],
               'items', ARGV[6], 'done', 0, 'failed', 0, 'created_at', NOW,
               'waves', 1, 'state', 'creating', 'dispatched', 0,
               'cq', ARGV[11], 'cpri', ARGV[12], 'cfields', ARGV[13],
               'max_inflight', ARGV[14], 'rate_n', ARGV[15],
               'rate_ms', ARGV[16], 'tokens', ARGV[15], 'tok_at', NOW,
               'fail_fast', ARGV[17])
    if ARGV[7] ~= '' then
        redis.call('HSET', bk, 'cb_id', ARGV[7], 'cb_name', ARGV[8],
                   'cb_queue', ARGV[9], 'cb_kwargs', ARGV[10])
    end
    redis.call('ZADD', P .. 'batches', NOW, batch)
    event('batch-created', batch, 'total', ARGV[5])
    push_specs(batch, 19, n)
    local d = 0
    if ARGV[18] == '1' then d = seal_and_go(batch) end
    return result(batch, d)
elseif op == 'append' then
    local batch = ARGV[3]
    local n = specs_at(5)
    if not n then
        return redis.error_reply('ERR syncq: malformed batch append')
    end
    local st = redis.call('HGET', P .. 'b:' .. batch, 'state')
    if st ~= 'creating' then
        return redis.error_reply('ERR syncq: no batch being created')
    end
    push_specs(batch, 5, n)
    local d = 0
    if ARGV[4] == '1' then d = seal_and_go(batch) end
    return result(batch, d)
elseif op == 'dispatch' then
    local batch = ARGV[3]
    if redis.call('EXISTS', P .. 'b:' .. batch) == 0 then
        return redis.error_reply('ERR syncq: no batch')
    end
    return result(batch, batch_dispatch(batch, 1000))
end
return redis.error_reply('ERR syncq: unknown batch op')
