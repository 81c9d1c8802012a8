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

-- Pass 1: pop and look at candidates (one HGETALL each: its fields both
-- decide and become the reply). Pass 2 writes the leases with one INCRBY
-- for all tokens and one ZADD for the active set.
local took = {}  -- {id, rec (flat HGETALL), at (field -> value index), q}
local raws = {}
local function fget(rec, at, name)
    local i = at[name]
    return i and rec[i]
end
local function fput(rec, at, name, v)
    local i = at[name]
    if i then
        rec[i] = v
    else
        rec[#rec + 1] = name
        rec[#rec + 1] = v
    end
end
local function look(q, id)
    local rec = redis.call('HGETALL', tkey(id))
    local at = {}
    for i = 1, #rec, 2 do at[rec[i]] = i + 1 end
    if not at.state then
        -- Not a task id: someone pushed raw bytes (C36) or a foreign
        -- (Celery-style) message. The client decides.
        raws[#raws + 1] = q
        raws[#raws + 1] = id
        return
    end
    local exp = tonumber(fget(rec, at, 'exp') or '')
    if fget(rec, at, 'revoke') == '1' or FINAL[fget(rec, at, 'state')] then
        -- revoked while queued: dropped, never started
    elseif exp and exp > 0 and exp <= NOW then
        finish(id, 'EXPIRED', {'err_class', 'expired',
               'err_msg', 'expired before a worker took it'})
    else
        took[#took + 1] = {id, rec, at, q}
    end
end
for qi = 1, nq do
    local q = ARGV[6 + qi]
    local pri = 10
    while #took < want and pri >= 0 do
        local ids
        if RPOP_COUNT then
            ids = redis.call('RPOP', qkey(q, pri), want - #took)
        else
            local id = redis.call('RPOP', qkey(q, pri))
            ids = id and {id}
        end
        if not ids then
            pri = pri - 1
        else
            for _, id in ipairs(ids) do look(q, id) end
        end
    end
end

local out = {}
local got = #took
local active = {}
local base = got > 0 and redis.call('INCRBY', P .. 'seq', got) - got or 0
local deadline = ints(NOW + lease_ms)
for i = 1, got do
    local id, rec, at, q = took[i][1], took[i][2], took[i][3], took[i][4]
    local token = ints(base + i)
    local state = (i <= start_now) and 'STARTED' or 'RECEIVED'
    -- pst = 0: no progress reported yet in this attempt
    local attempt = (tonumber(fget(rec, at, 'attempt')) or 0) + 1
    -- ran_by: who ran it, kept after the end (worker: who holds it now)
    local fl = {'state', state, 'lease', token, 'worker', worker,
                'ran_by', worker, 'lt', NOWS, 'attempt', ints(attempt),
                'pst', '0'}
    if state == 'STARTED' then
        fl[#fl + 1] = 'st'
        fl[#fl + 1] = NOWS
    end
    redis.call('HSET', tkey(id), unpack(fl))
    for j = 1, #fl, 2 do fput(rec, at, fl[j], fl[j + 1]) end
    active[#active + 1] = deadline
    active[#active + 1] = id
    if #active >= 1000 then
        redis.call('ZADD', P .. 'active', unpack(active))
        active = {}
    end
    local batch = fget(rec, at, 'batch')
    if batch and batch ~= '' then
        -- the batch's first chunk to start stamps it (once); a batch
        -- record already gone is not recreated
        local bk = P .. 'b:' .. batch
        if redis.call('HSETNX', bk, 'started_at', NOWS) == 1 and
           redis.call('HEXISTS', bk, 'total') == 0 then
            redis.call('DEL', bk)
        end
    end
    local since = math.max(tonumber(fget(rec, at, 'ct') or '') or NOW,
                           tonumber(fget(rec, at, 'eta') or '') or 0)
    observe('wait', q, '*', NOW - since)
    event(state == 'STARTED' and 'task-started' or 'task-received',
          id, 'w', worker)
    table.insert(rec, 1, token)
    table.insert(rec, 1, id)
    out[i] = rec
end
if #active > 0 then redis.call('ZADD', P .. 'active', unpack(active)) end

local control = take_control(worker)
local next_eta = first_score(P .. 'delayed')
stats_flush()
local reply = {next_eta, control, raws}
for i = 1, #out do reply[#reply + 1] = out[i] end
return reply
