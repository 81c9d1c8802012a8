-- SPDX-License-Identifier: MIT
--
-- lease.lua: lease up to N ready tasks to one worker (DESIGN contract 2-5).
-- On the way it promotes due delayed tasks and requeues lapsed leases, so
-- delayed tasks run and lost tasks come back even when no beat runs.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  worker id (hostname:pid)
-- ARGV[3]  lease length in ms (the deadline is Redis time + this)
-- ARGV[4]  max tasks to lease (0: only housekeeping)
-- ARGV[5]  how many of them start at once (STARTED); the rest are
--          prefetched (RECEIVED) and reported started later by settle.lua
-- ARGV[6]  number of queues, then the queue names in order of preference.
--          Inside a queue priorities are strict: 10 before 8 before 5 ...
-- Reply: { next_eta_ms | -1, control, raws, t1, t2, ... }
--   control: flat array of control messages for this worker (task ids to
--            cancel), read and cleared atomically
--   raws:    flat array {queue, bytes, ...} of list entries that were not
--            task ids (foreign or poison messages) for the client to
--            decode or dead-letter; they are already off the queue
--   t_i:     {id, token, HGETALL fields...} of each leased task
-- Tasks found REVOKED are dropped from the queue; tasks whose `exp` has
-- passed end EXPIRED and are never handed out.

local worker = ARGV[2]
local lease_ms = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local start_now = tonumber(ARGV[5])
local nq = tonumber(ARGV[6])

stats_begin()
promote_due(1000)
requeue_expired(100)

local out = {}
local raws = {}
local got = 0
for qi = 1, nq do
    local q = ARGV[6 + qi]
    local pri = 10
    while got < want and pri >= 0 do
        local id = redis.call('RPOP', qkey(q, pri))
        if not id then
            pri = pri - 1
        else
            local k = tkey(id)
            local h = redis.call('HMGET', k, 'state', 'exp', 'ct', 'eta',
                                 'name', 'revoke', 'attempt', 'batch')
            if not h[1] then
                -- Not a task id: someone pushed raw bytes (C36) or a
                -- foreign (Celery-style) message. The client decides.
                raws[#raws + 1] = q
                raws[#raws + 1] = id
            elseif h[6] == '1' or FINAL[h[1]] then
                -- revoked while queued: dropped, never started
            elseif h[2] and tonumber(h[2]) > 0 and tonumber(h[2]) <= NOW then
                finish(id, 'EXPIRED', {'err_class', 'expired',
                       'err_msg', 'expired before a worker took it'})
            else
                got = got + 1
                local token = tostring(redis.call('INCR', P .. 'seq'))
                local state = (got <= start_now) and 'STARTED' or 'RECEIVED'
                -- pst = 0: no progress reported yet in this attempt
                local f = {'state', state, 'lease', token, 'worker', worker,
                           'lt', NOW, 'attempt', (tonumber(h[7]) or 0) + 1,
                           'pst', 0}
                if state == 'STARTED' then
                    f[#f + 1] = 'st'
                    f[#f + 1] = NOW
                end
                redis.call('HSET', k, unpack(f))
                redis.call('ZADD', P .. 'active', NOW + lease_ms, id)
                if h[8] and h[8] ~= '' then
                    -- the batch's first chunk to start stamps it (once);
                    -- a batch record already gone is not recreated
                    local bk = P .. 'b:' .. h[8]
                    if redis.call('HSETNX', bk, 'started_at', NOW) == 1 and
                       redis.call('HEXISTS', bk, 'total') == 0 then
                        redis.call('DEL', bk)
                    end
                end
                local since = math.max(tonumber(h[3]) or NOW, tonumber(h[4]) or 0)
                observe('wait', q, '*', NOW - since)
                event(state == 'STARTED' and 'task-started' or 'task-received',
                      id, 'w', worker)
                local rec = record(id)
                table.insert(rec, 1, token)
                table.insert(rec, 1, id)
                out[#out + 1] = rec
            end
        end
    end
end

local control = take_control(worker)
local next_eta = first_score(P .. 'delayed')
stats_flush()
local reply = {next_eta, control, raws}
for i = 1, #out do reply[#reply + 1] = out[i] end
return reply
