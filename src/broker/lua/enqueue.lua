-- SPDX-License-Identifier: MIT
--
-- enqueue.lua: create one or many tasks atomically (DESIGN contract 1).
-- Either every task of the call exists completely (record + queue entry,
-- or delayed-set entry) or, if the script errors, none does.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  n: number of tasks in this call
-- ARGV[3]  each: "1" when every task stands for a call of its own (the
--          pipelined producer groups its creates into calls): an existing
--          or repeated id the caller chose is answered "dup" for that task
--          alone, as a call of one task answers it; "0": all or nothing
--          (syncq_task_create_many), such an id fails the whole call
-- ARGV[4]  queue of every task of the call, or "" when each run names
--          its own (then ARGV[5] is "" too)
-- ARGV[5]  priority of every task of the call (0..10), or ""
-- ARGV[6]  k: how many of the tasks carry an id the caller chose
--          (syncq_task_options.task_id), then k arguments: their
--          positions in the call, 1..n. Only those ids are looked up: an
--          id the client library drew itself (a UUID v4 of 122 random
--          bits from getrandom) is new, and looking it up cost Redis a
--          command per task.
-- then, per task, a run of arguments (lib_task.lua, run_at):
--   id         task id (UUID)
--   queue      queue name (validated by the client)  } only when ARGV[4]
--   pri        priority 0..10                        } is ""
--   when       "" (run now, never expires, no unique key: the common case
--              in one short argument), else "eta|exp|uniq_ms|uniq":
--                eta      0 = run now; "+<ms>" = countdown from Redis
--                         time; else the absolute ETA in epoch ms
--                exp      0 = never expires; "+<ms>" relative; else
--                         absolute epoch ms
--                uniq_ms  window of the unique key in ms
--                uniq     unique key, or "" (deduplication window; last,
--                         it may hold "|")
--   nx         number of field/value pairs after the name
--   name       task name (the record's "name")
--   f1 v1 ...  other record fields (args, kwargs, maxr, tl, stl, batch, ...)
-- A queue and priority given once per call, and the name field implied,
-- spare Redis three strings per task of a bulk call.
-- Reply: the number n when every task was created "new" (the client
--   knows the ids it sent: no string per task), else a flat array, per
--   task: id, status ("new" | "dup" | "expired", or in an "each" call
--   "ERR syncq: ..." for a task refused alone).
--   "dup": the unique key was taken (id: the task holding it), or (one
--   task per call, or "each") the id the caller chose exists already. A
--   task id is never re-used: the existing record, queue entry and
--   running copy stay untouched.
-- Errors: "ERR syncq: ..." on malformed arguments, or an existing or
--   repeated caller-chosen id in an all-or-nothing call of several tasks
--   (nothing is written: arguments are checked before the first write).
-- Events: one task-sent per task; a call of several tasks writes them as
--   one grouped entry (lib.lua, event_grouped) and trims the stream once.

local n, k = tonumber(ARGV[2]), tonumber(ARGV[6])
local each = ARGV[3] == '1' and n and n > 1
if not n or not k or k < 0 or k > n then
    return redis.error_reply('ERR syncq: bad task count')
end
local q0, pri0 = ARGV[4], ARGV[5]
if q0 == '' then q0, pri0 = nil, nil end
local first = 7 + k
-- taken[t]: the answer of task t, written nothing: "dup" (its id exists)
-- or, in an "each" call, the error its own call would have failed with
local taken = nil
local lists = each and {} or nil -- ready list -> its type (each)
if k > 0 or lists then
    local chosen, ids = {}, {}
    for j = 1, k do chosen[tonumber(ARGV[6 + j]) or 0] = true end
    local pos = first
    for t = 1, n do
        local id, q, pri, nx, nxt = run_at(pos, q0, pri0)
        if not id or not nx then break end -- enqueue_runs reports it
        if chosen[t] then
            if ids[id] or redis.call('EXISTS', P .. 't:' .. id) == 1 then
                if n == 1 then return {id, 'dup'} end
                if not each then
                    return redis.error_reply('ERR syncq: task id ' .. id ..
                        ' already exists; an id is never re-used')
                end
                taken = taken or {}
                taken[t] = 'dup'
            end
            ids[id] = true
        end
        if lists then
            -- a ready list of another type would fail the whole call at
            -- its push: its tasks are refused alone, before any write
            local lk = qkey(q, pri)
            local ty = lists[lk]
            if not ty then
                ty = redis.call('TYPE', lk).ok
                lists[lk] = ty
            end
            if ty ~= 'none' and ty ~= 'list' then
                taken = taken or {}
                taken[t] = taken[t] or ('ERR syncq: ready list ' .. lk ..
                                        ' holds a ' .. ty .. ', not a list')
            end
        end
        pos = nxt
    end
end
if n > 1 then events_begin() end
local reply = enqueue_runs(first, n, taken, true, q0, pri0)
events_flush()
return reply
