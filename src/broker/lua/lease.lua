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
-- Reply: { next_eta_ms | -1, control, raws, lease, id1, rec1, id2, ... }
--   control: flat array of control messages for this worker (task ids to
--            cancel), read and cleared atomically
--   raws:    flat array {queue, bytes, ...} of list entries that were not
--            task ids (foreign or poison messages) for the client to
--            decode or dead-letter; they are already off the queue
--   lease:   {now_ms, worker, start_now, first_token}: what this lease
--            wrote into every task it leased. The i-th task (from 1) got
--            token first_token + i - 1, state STARTED (and st = now_ms)
--            when i <= start_now, else RECEIVED, lease = its token,
--            worker = ran_by = worker, lt = now_ms, attempt = its record's
--            attempt + 1, and pst = 0 when its record has a pst. The
--            client lays these over the record (broker_lease.c): sending
--            them back per task cost Redis more than the rest of the
--            reply (every reply string is converted from Lua).
--   id_i, rec_i: each leased task's id and its HGETALL as read
-- Tasks found REVOKED are dropped from the queue; tasks whose `exp` has
-- passed end EXPIRED and are never handed out.

local worker = ARGV[2]
local lease_ms = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local start_now = tonumber(ARGV[5])
local nq = tonumber(ARGV[6])

stats_begin()
events_begin()
promote_due(1000)
requeue_expired(100)

-- Pass 1: pop and look at candidates (one HGETALL each: its fields both
-- decide and become the reply). Pass 2 writes the leases with one INCRBY
-- for all tokens and one ZADD for the active set.
-- took[i]: {id, rec (flat HGETALL), q, attempt, batch, since, has pst,
--           record key}
local took = {}
local raws = {}
local function look(q, id)
    local k = tkey(id)
    local rec = redis.pcall('HGETALL', k)
    if rec.err then
        -- its key is no hash (WRONGTYPE): not a task of ours. Handed to
        -- the client like any foreign entry (it dead-letters it), so the
        -- tasks popped with it are not lost with a failed call.
        raws[#raws + 1] = q
        raws[#raws + 1] = id
        return
    end
    -- one pass over the fields for the few this script decides on
    local state, exp, revoke, attempt, batch, ct, eta, pst
    for i = 1, #rec, 2 do
        local f = rec[i]
        if f == 'state' then state = rec[i + 1]
        elseif f == 'exp' then exp = rec[i + 1]
        elseif f == 'revoke' then revoke = rec[i + 1]
        elseif f == 'attempt' then attempt = rec[i + 1]
        elseif f == 'batch' then batch = rec[i + 1]
        elseif f == 'ct' then ct = rec[i + 1]
        elseif f == 'eta' then eta = rec[i + 1]
        elseif f == 'pst' then pst = true end
    end
    if not state then
        -- Not a task id: someone pushed raw bytes (C36) or a foreign
        -- (Celery-style) message. The client decides.
        raws[#raws + 1] = q
        raws[#raws + 1] = id
        return
    end
    exp = tonumber(exp or '')
    if revoke == '1' or FINAL[state] then
        -- revoked while queued: dropped, never started
    elseif exp and exp > 0 and exp <= NOW then
        finish(id, 'EXPIRED', {'err_class', 'expired',
               'err_msg', 'expired before a worker took it'})
    else
        local since = ct and tonumber(ct) or NOW
        if eta then since = math.max(since, tonumber(eta) or 0) end
        took[#took + 1] = {id, rec, q, tonumber(attempt) or 0, batch, since,
                           pst, k}
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

local got = #took
-- the reply is built as the leases are written, flat (every nested
-- table of a reply costs Redis a conversion of its own)
local reply = {0, 0, raws, 0}
local active = {}
local base = got > 0 and redis.call('INCRBY', P .. 'seq', got) - got or 0
local deadline = ints(NOW + lease_ms)
for i = 1, got do
    local t = took[i]
    local id, rec, q, batch = t[1], t[2], t[3], t[5]
    local token = ints(base + i)
    local attempt = t[4] == 0 and '1' or ints(t[4] + 1)
    -- ran_by: who ran it, kept after the end (worker: who holds it now).
    -- The fields go to HSET as arguments, not through a table (a table
    -- made and unpacked per task costs more than the call's arguments).
    if i <= start_now then
        redis.call('HSET', t[8], 'state', 'STARTED', 'lease', token,
                   'worker', worker, 'ran_by', worker, 'lt', NOWS,
                   'attempt', attempt, 'st', NOWS)
        event_grouped('task-started', id, 'w', worker)
    else
        redis.call('HSET', t[8], 'state', 'RECEIVED', 'lease', token,
                   'worker', worker, 'ran_by', worker, 'lt', NOWS,
                   'attempt', attempt)
        event_grouped('task-received', id, 'w', worker)
    end
    if t[7] then
        -- pst = 0 when an earlier attempt reported progress: none
        -- reported yet in this one (progress.lua reads a missing pst as
        -- 0, so a task never reporting progress is spared the field)
        redis.call('HSET', t[8], 'pst', '0')
    end
    active[#active + 1] = deadline
    active[#active + 1] = id
    if #active >= 1000 then
        redis.call('ZADD', P .. 'active', unpack(active))
        active = {}
    end
    if batch and batch ~= '' then
        -- the batch's first chunk to start stamps it (once); a batch
        -- record already gone is not recreated
        local bk = P .. 'b:' .. batch
        if redis.call('HSETNX', bk, 'started_at', NOWS) == 1 and
           redis.call('HEXISTS', bk, 'total') == 0 then
            redis.call('DEL', bk)
        end
    end
    observe('wait', q, '*', NOW - t[6])
    reply[3 + 2 * i] = id
    reply[4 + 2 * i] = rec
end
if #active > 0 then redis.call('ZADD', P .. 'active', unpack(active)) end

reply[2] = take_control(worker)
reply[1] = first_score(P .. 'delayed')
reply[4] = {NOWS, worker, ARGV[5], ints(base + 1)}
events_flush()
stats_flush()
return reply
