-- SPDX-License-Identifier: MIT
--
-- beat_lock.lua: the beat leader lock on its own (beat.lua takes and
-- renews it as part of a poll; this script serves shutdown, tools and
-- tests). The lock is a string {ns}:beat:lock holding the leader's token
-- with a TTL. Renew and release compare the token and act in one step,
-- so a beat whose lock lapsed and was taken by another can never extend
-- or delete the new holder's lock (C10).
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  op: "acquire" | "renew" | "release" | "holder"
-- ARGV[3]  token (acquire, renew, release)
-- ARGV[4]  ttl in ms (acquire, renew)
-- ARGV[5]  beat id (release: its status record says leader=0)
-- Reply: { 1 | 0 (done | not ours or taken), holder token | "", pttl ms }
-- Errors: "ERR syncq: unknown beat_lock op".

local op, token = ARGV[2], ARGV[3]
local lk = P .. 'beat:lock'
local cur = redis.call('GET', lk)
local ok = 0

if op == 'acquire' then
    if not cur then
        redis.call('SET', lk, token, 'PX', tonumber(ARGV[4]))
        cur = token
        ok = 1
    elseif cur == token then
        redis.call('PEXPIRE', lk, tonumber(ARGV[4]))
        ok = 1
    end
elseif op == 'renew' then
    if cur == token then
        redis.call('PEXPIRE', lk, tonumber(ARGV[4]))
        ok = 1
    end
elseif op == 'release' then
    if cur == token then
        redis.call('DEL', lk)
        cur = nil
        ok = 1
    end
    if ARGV[5] and ARGV[5] ~= '' then
        local sk = P .. 'beat:node:' .. ARGV[5]
        if redis.call('EXISTS', sk) == 1 then
            redis.call('HSET', sk, 'leader', 0, 'seen', NOW)
        end
    end
elseif op ~= 'holder' then
    return redis.error_reply('ERR syncq: unknown beat_lock op')
end
return {ok, cur or '', redis.call('PTTL', lk)}
