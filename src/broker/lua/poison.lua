-- SPDX-License-Identifier: MIT
--
-- poison.lua: a queue entry that is not a task (C36: raw bytes, bad
-- JSON, an envelope naming an unknown task) becomes a dead-letter record
-- of its own, so it is never lost and never crashes a consumer.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  new record id
-- ARGV[3]  queue it was found in
-- ARGV[4]  the raw bytes (truncated by the client to 64 KiB)
-- ARGV[5]  reason code (empty, not_json, bad_envelope, not_registered,
--          invalid_utf8, unknown_id)
-- Reply: "OK" (also when the record exists: a call re-sent after a lost
-- reply counts nothing twice)

local id = ARGV[2]
if redis.call('EXISTS', tkey(id)) == 1 then
    return 'OK'
end
redis.call('HSET', tkey(id), 'name', '(poison)', 'queue', ARGV[3],
           'pri', 0, 'ct', NOW, 'raw', ARGV[4])
redis.call('HINCRBY', P .. 'stats', 'poison_messages_total', 1)
stat('failed', ARGV[3], '(poison)', 1)
to_dead(id, 'poison:' .. ARGV[5], {'err_class', 'poison',
        'err_msg', 'queue entry is not a task (' .. ARGV[5] .. ')'})
return 'OK'
