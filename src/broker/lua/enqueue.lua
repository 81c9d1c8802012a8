-- SPDX-License-Identifier: MIT
--
-- enqueue.lua: create one or many tasks atomically (DESIGN contract 1).
-- Either every task of the call exists completely (record + queue entry,
-- or delayed-set entry) or, if the script errors, none does.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  n: number of tasks in this call
-- ARGV[3]  k: how many of them carry an id the caller chose
--          (syncq_task_options.task_id), then k arguments: their
--          positions in the call, 1..n. Only those ids are looked up: an
--          id the client library drew itself (a UUID v4 of 122 random
--          bits from getrandom) is new, and looking it up cost Redis a
--          command per task.
-- then, per task, a run of arguments:
--   id         task id (UUID)
--   queue      queue name (validated by the client)
--   pri        priority 0..10
--   eta        0 = run now; "+<ms>" = countdown from Redis time; else the
--              absolute ETA in epoch ms
--   exp        0 = never expires; "+<ms>" relative; else absolute epoch ms
--   uniq       unique key, or "" (deduplication window)
--   uniq_ms    window of the unique key in ms
--   nf         number of field/value pairs that follow
--   f1 v1 ...  record fields (name, args, kwargs, maxr, tl, stl, batch, ...)
-- Reply: a flat array, per task: id, status ("new" | "dup" | "expired").
--   "dup": the unique key was taken, or (one task per call) the task id
--   the caller chose already exists; id is the first task's id. A task id
--   is never re-used: the existing record, queue entry and running copy
--   stay untouched.
-- Errors: "ERR syncq: ..." on malformed arguments, or an existing or
--   repeated caller-chosen id in a call of several tasks (nothing is
--   written: arguments are checked before the first write).
-- Events: one task-sent per task; a call of several tasks writes them as
--   one grouped entry (lib.lua, event_grouped) and trims the stream once.

local n, k = tonumber(ARGV[2]), tonumber(ARGV[3])
if not n or not k or k < 0 or k > n then
    return redis.error_reply('ERR syncq: bad task count')
end
local first = 4 + k
if k > 0 then
    local chosen, ids = {}, {}
    for j = 1, k do chosen[tonumber(ARGV[3 + j]) or 0] = true end
    local pos = first
    for t = 1, n do
        local id, nf = ARGV[pos], tonumber(ARGV[pos + 7])
        if not id or not nf then break end -- enqueue_runs reports it
        if chosen[t] then
            if ids[id] or redis.call('EXISTS', P .. 't:' .. id) == 1 then
                if n == 1 then return {id, 'dup'} end
                return redis.error_reply('ERR syncq: task id ' .. id ..
                    ' already exists; an id is never re-used')
            end
            ids[id] = true
        end
        pos = pos + 8 + 2 * nf
    end
end
if n > 1 then events_begin() end
local reply = enqueue_runs(first, n)
events_flush()
return reply
