-- SPDX-License-Identifier: MIT
--
-- dead_purge.lua: delete dead-letter records for good (the only way, with
-- requeue and revoke, that anything leaves the DLQ). Removes the record,
-- its DLQ entry and its checkpoints.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  mode: "older" | "ids"
--   older: ARGV[3] age in ms (records dead longer ago than this go),
--          ARGV[4] at most this many per call (the client loops)
--   ids:   ARGV[3] count, then the ids; ids not in the DLQ are left alone
-- Reply: { purged, skipped } (skipped: ids given that were not in the DLQ)

local mode = ARGV[2]
local ids = {}
local skipped = 0
if mode == 'older' then
    local age, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
    if not age or age < 0 or not limit or limit < 1 then
        return redis.error_reply('ERR syncq: malformed dead_purge call')
    end
    ids = redis.call('ZRANGEBYSCORE', P .. 'dlq', '-inf', '(' .. (NOW - age),
                     'LIMIT', 0, limit)
elseif mode == 'ids' then
    local n = tonumber(ARGV[3])
    if not n or 3 + n ~= #ARGV then
        return redis.error_reply('ERR syncq: malformed dead_purge call')
    end
    for i = 1, n do
        local id = ARGV[3 + i]
        if redis.call('ZSCORE', P .. 'dlq', id) then
            ids[#ids + 1] = id
        else
            skipped = skipped + 1
        end
    end
else
    return redis.error_reply('ERR syncq: unknown dead_purge mode')
end
for _, id in ipairs(ids) do
    dlq_remove(id, redis.call('HGET', tkey(id), 'queue') or nil)
    redis.call('DEL', tkey(id), P .. 'cp:' .. id, P .. 'cpbad:' .. id)
    event('task-purged', id)
end
if #ids > 0 then
    redis.call('HINCRBY', P .. 'stats', 'dead_purged_total', #ids)
end
return {#ids, skipped}
