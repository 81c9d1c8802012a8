-- SPDX-License-Identifier: MIT
--
-- revoke.lua: cancel a task at whatever stage it is (DESIGN contract 6).
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  task id
-- ARGV[3]  who asked (recorded in the record and the event)
-- Reply: { outcome, state }
--   "revoked"    it was queued, delayed or retrying: removed atomically,
--                state REVOKED, it will never start
--   "requested"  it is leased (running or prefetched): the holder is told
--                through its control list; the worker stops it (soft, then
--                kill after the grace period) and records REVOKED. If the
--                worker is gone, the lapsed lease ends it REVOKED.
--   "final"      already finished; state is the final state (unchanged)
--   "dead"       in the dead-letter queue: removed from it, REVOKED
--   "unknown"    no such task (or its record expired)

local id = ARGV[2]
local who = ARGV[3]
local k = tkey(id)
local h = redis.call('HMGET', k, 'state', 'queue', 'pri', 'worker')
local state = h[1]
if not state then
    return {'unknown', ''}
end
if FINAL[state] and state ~= 'DEAD' then
    return {'final', state}
end
local extra = {'err_class', 'revoked', 'err_msg', 'cancelled by ' .. who}
if state == 'PENDING' then
    local removed = redis.call('LREM', qkey(h[2], h[3] or '5'), 1, id)
    redis.call('ZREM', P .. 'delayed', id)
    finish(id, 'REVOKED', extra, {'by', who})
    return {'revoked', 'REVOKED'}
end
if state == 'RETRY' then
    redis.call('ZREM', P .. 'delayed', id)
    finish(id, 'REVOKED', extra, {'by', who})
    return {'revoked', 'REVOKED'}
end
if state == 'DEAD' then
    dlq_remove(id, h[2])
    finish(id, 'REVOKED', extra, {'by', who})
    return {'dead', 'REVOKED'}
end
-- RECEIVED, STARTED, PROGRESS: leased to a worker.
redis.call('HSET', k, 'revoke', '1', 'revoke_by', who, 'revoke_at', NOW)
if h[4] then
    redis.call('RPUSH', P .. 'ctl:' .. h[4], id)
    redis.call('PEXPIRE', P .. 'ctl:' .. h[4], 86400000)
end
event('task-revoke-requested', id, 'by', who)
return {'requested', state}
