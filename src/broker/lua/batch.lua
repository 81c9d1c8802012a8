-- SPDX-License-Identifier: MIT
--
-- batch.lua: create a batch record and (some of) its chunk tasks in one
-- atomic call. The record holds the full chunk count up front, so the
-- batch can only finish once every chunk has ended, however the chunks
-- are spread over calls.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  batch id
-- ARGV[3]  task name of the chunks
-- ARGV[4]  total number of chunks
-- ARGV[5]  total number of items
-- ARGV[6]  completion task id ("" for none)
-- ARGV[7]  completion task name
-- ARGV[8]  completion task queue
-- ARGV[9]  completion task extra kwargs (JSON object text or "")
-- ARGV[10] number of chunk task runs that follow (enqueue.lua layout)
-- Reply: as enqueue.lua.
-- Errors: "ERR syncq: batch exists" if the id is taken.

local bk = P .. 'b:' .. ARGV[2]
if redis.call('EXISTS', bk) == 1 then
    return redis.error_reply('ERR syncq: batch exists')
end
redis.call('HSET', bk, 'task', ARGV[3], 'total', ARGV[4], 'items', ARGV[5],
           'done', 0, 'failed', 0, 'created_at', NOW)
if ARGV[6] ~= '' then
    redis.call('HSET', bk, 'cb_id', ARGV[6], 'cb_name', ARGV[7],
               'cb_queue', ARGV[8], 'cb_kwargs', ARGV[9])
end
redis.call('ZADD', P .. 'batches', NOW, ARGV[2])
event('batch-created', ARGV[2], 'total', ARGV[4])
if tonumber(ARGV[4]) == 0 then
    -- an empty batch is finished at once (and runs its callback, C38)
    batch_check(ARGV[2])
end
return enqueue_runs(11, tonumber(ARGV[10]))
