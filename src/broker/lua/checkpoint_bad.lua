-- SPDX-License-Identifier: MIT
--
-- checkpoint_bad.lua: quarantine a checkpoint whose checksum failed. It
-- leaves the task's history (so it is never offered again and is counted
-- once) for {ns}:cpbad:<id>, where `syncq recovery checkpoints ID` still
-- shows it; the event and the counter make the corruption visible.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  task id
-- ARGV[3]  the entry exactly as read (LREM matches it byte for byte)
-- ARGV[4]  ttl in ms of the quarantine list
-- ARGV[5]  seq announced by the entry ("?" if unreadable), for the event
-- ARGV[6]  reason text, for the event
-- Reply: 1 if the entry was found and moved, 0 if it was already gone.

local id, entry = ARGV[2], ARGV[3]
local ttl = tonumber(ARGV[4]) or 604800000
local removed = redis.call('LREM', P .. 'cp:' .. id, 1, entry)
if removed == 0 then
    return 0
end
local bk = P .. 'cpbad:' .. id
redis.call('LPUSH', bk, entry)
redis.call('LTRIM', bk, 0, 9)
redis.call('PEXPIRE', bk, ttl)
redis.call('HINCRBY', P .. 'stats', 'checkpoint_corrupt_total', 1)
event('checkpoint-corrupt', id, 'seq', ARGV[5], 'reason', ARGV[6])
return 1
