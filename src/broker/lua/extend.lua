-- SPDX-License-Identifier: MIT
--
-- extend.lua: a worker's heartbeat. Registers the worker, renews the
-- leases it holds (only those whose token still matches: a lease taken
-- over is reported, never silently renewed) and hands it its control
-- messages.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  worker id
-- ARGV[3]  lease length in ms
-- ARGV[4]  worker info JSON (hostname, pid, queues, concurrency, children
--          with rss/cpu, running tasks, done count), stored as-is
-- ARGV[5]  info TTL in ms (the worker counts as offline after it)
-- ARGV[6]  number of leases, then id token pairs
-- Reply: { lost_ids, control }
--   lost_ids: ids whose lease is no longer this worker's (expired and
--             requeued, or revoked and finished): stop and do not settle
--   control:  control messages (ids to cancel), read and cleared, plus
--             every lease given whose task is marked revoked: a cancel
--             taken by a call whose reply was lost is asked again, so a
--             re-sent (or next) heartbeat delivers it (cancel is
--             idempotent on the worker)

local worker = ARGV[2]
local lease_ms = tonumber(ARGV[3])
local ttl = tonumber(ARGV[5])
local n = tonumber(ARGV[6])

local wk = P .. 'w:' .. worker
redis.call('SET', wk, ARGV[4], 'PX', ttl)
redis.call('ZADD', P .. 'workers', NOW, worker)
-- forget workers silent for a day
redis.call('ZREMRANGEBYSCORE', P .. 'workers', '-inf', NOW - 86400000)

local lost = {}
local control = take_control(worker)
local asked = {}
for _, id in ipairs(control) do asked[id] = true end
for i = 0, n - 1 do
    local id, token = ARGV[7 + 2 * i], ARGV[8 + 2 * i]
    local cur = redis.call('HMGET', tkey(id), 'lease', 'revoke', 'state')
    -- a final record keeps the lease that ended it (finish): not held
    if cur[1] == token and not FINAL[cur[3]] then
        redis.call('ZADD', P .. 'active', 'XX', NOW + lease_ms, id)
        if cur[2] == '1' and not asked[id] then
            control[#control + 1] = id
            asked[id] = true
        end
    else
        lost[#lost + 1] = id
    end
end

return {lost, control}
