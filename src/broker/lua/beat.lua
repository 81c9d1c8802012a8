-- SPDX-License-Identifier: MIT
--
-- beat.lua: one poll of a beat process (syncq beat), in one round trip.
-- Takes, renews or just checks the leader lock, and for the leader:
-- promotes due delayed tasks and requeues lapsed leases (lib_task.lua, as
-- promote.lua does), dispatches due batch waves, and lists the schedules
-- that are due. Every beat also records its status (docs/beat.md).
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  beat id
-- ARGV[3]  lock token: "<beat id>/<random hex>", unique per process
-- ARGV[4]  lock ttl in ms
-- ARGV[5]  mode: "renew"  take the lock if it is free, extend it if ours
--                "check"  only tell whether it is ours (no extension)
--                "follow" never take it
-- ARGV[6]  max delayed tasks to promote (0: leave them to the workers)
-- ARGV[7]  max lapsed leases to requeue
-- ARGV[8]  max due schedule names to return
-- ARGV[9]  max due batch waves to dispatch
-- ARGV[10] status JSON of this beat ("": do not write it)
-- ARGV[11] status ttl in ms
-- Reply: { now_ms, leader (1|0), promoted, requeued, next_eta_ms | -1,
--          next_due_ms | -1, next_wave_ms | -1, chunks dispatched,
--          lock holder token | "", due schedule names... }
-- The leader flag is decided here, atomically with the work it guards:
-- a beat whose lock lapsed (frozen, partitioned) does nothing (C10).

local id, token = ARGV[2], ARGV[3]
local ttl = tonumber(ARGV[4])
local mode = ARGV[5]
local lk = P .. 'beat:lock'

local cur = redis.call('GET', lk)
local leader = 0
if cur == token then
    if mode == 'renew' then redis.call('PEXPIRE', lk, ttl) end
    leader = 1
elseif not cur and mode == 'renew' then
    redis.call('SET', lk, token, 'PX', ttl)
    cur = token
    leader = 1
    event('beat-leader', id, 'token', token)
end

local promoted, requeued, dispatched = 0, 0, 0
local due = {}
if leader == 1 then
    local np = tonumber(ARGV[6]) or 0
    if np > 0 then
        promoted = promote_due(np)
        requeued = requeue_expired(tonumber(ARGV[7]) or 100)
    end
    local waves = redis.call('ZRANGEBYSCORE', P .. 'bwaves', '-inf', NOW,
                             'LIMIT', 0, tonumber(ARGV[9]) or 16)
    for _, b in ipairs(waves) do
        dispatched = dispatched + batch_dispatch(b, 1000)
    end
    due = redis.call('ZRANGEBYSCORE', P .. 'schedules', '-inf', NOW,
                     'LIMIT', 0, tonumber(ARGV[8]) or 100)
end

if ARGV[10] ~= '' then
    local sk = P .. 'beat:node:' .. id
    redis.call('HSET', sk, 'info', ARGV[10], 'leader', leader, 'seen', NOW)
    redis.call('PEXPIRE', sk, tonumber(ARGV[11]) or ttl)
    redis.call('ZADD', P .. 'beat:nodes', NOW, id)
    redis.call('ZREMRANGEBYSCORE', P .. 'beat:nodes', '-inf', NOW - 86400000)
end

local reply = {NOW, leader, promoted, requeued, first_score(P .. 'delayed'),
               first_score(P .. 'schedules'), first_score(P .. 'bwaves'),
               dispatched, cur or ''}
for i = 1, #due do reply[#reply + 1] = due[i] end
return reply
