-- SPDX-License-Identifier: MIT
--
-- checkpoint_save.lua: store one checkpoint of a task, fenced by its lease
-- (a worker whose lease was taken over must not overwrite the state the
-- new holder resumes from). The entry is an envelope
--   "SQCP1 <seq> <at_ms> <size> <sha256hex>\n" .. data
-- pushed at the head of {ns}:cp:<id> (newest first), trimmed to the
-- history length and given the checkpoint TTL. The SHA-256 is computed by
-- the client (Redis Lua has none); the client verifies it on every load.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  task id
-- ARGV[3]  lease token, or "" for an unfenced save (local runs, tools)
-- ARGV[4]  seq: the task's step number (decimal integer >= 0)
-- ARGV[5]  sha256 of the data, 64 lowercase hex digits
-- ARGV[6]  history: entries kept (>= 1)
-- ARGV[7]  ttl in ms (> 0)
-- ARGV[8]  the data (bytes)
-- Reply: { status, at_ms } with status
--   "ok"     stored (a call re-sent after a lost reply finds its entry at
--            the head, same seq and SHA-256, and answers it again with
--            the first call's at_ms: nothing is stored twice)
--   "stale"  a token was given and it is not the task's current lease
--            (lease lost, task finished, or no such task): nothing stored
-- Errors: "ERR syncq: ..." on malformed arguments.

local id, token, seq, sha = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local hist, ttl, data = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
if not string.match(seq, '^%d+$') or not string.match(sha, '^%x+$') or
   #sha ~= 64 or not hist or hist < 1 or not ttl or ttl <= 0 or not data then
    return redis.error_reply('ERR syncq: malformed checkpoint_save call')
end
local k = tkey(id)
if token ~= '' then
    -- a final record keeps the lease that ended it (finish): not held
    local cur = redis.call('HMGET', k, 'lease', 'state')
    if cur[1] ~= token or FINAL[cur[2]] then
        local h = redis.call('HMGET', k, 'queue', 'name')
        if h[1] then stat('lease_lost', h[1], h[2] or '?', 1) end
        return {'stale', NOW}
    end
end
local ck = P .. 'cp:' .. id
local head = redis.call('LINDEX', ck, 0)
if head then
    local hseq, hat, hsize, hsha =
        string.match(head, '^SQCP1 (%d+) (%d+) (%d+) (%x+)\n')
    if hseq == seq and hsha == sha and tonumber(hsize) == #data then
        return {'ok', tonumber(hat)}
    end
end
redis.call('LPUSH', ck, 'SQCP1 ' .. seq .. ' ' .. NOW .. ' ' .. #data ..
           ' ' .. sha .. '\n' .. data)
redis.call('LTRIM', ck, 0, hist - 1)
redis.call('PEXPIRE', ck, ttl)
if redis.call('EXISTS', k) == 1 then
    -- a reference on the record for task info and the monitor
    redis.call('HSET', k, 'cp_seq', seq, 'cp_at', NOW)
end
return {'ok', NOW}
