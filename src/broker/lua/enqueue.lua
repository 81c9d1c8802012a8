-- SPDX-License-Identifier: MIT
--
-- enqueue.lua: create one or many tasks atomically (DESIGN contract 1).
-- Either every task of the call exists completely (record + queue entry,
-- or delayed-set entry) or, if the script errors, none does.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  n: number of tasks in this call
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
--   already exists; id is the first task's id. A task id is never re-used:
--   the existing record, queue entry and running copy stay untouched.
-- Errors: "ERR syncq: ..." on malformed arguments, or an existing or
--   repeated id in a call of several tasks (nothing is written:
--   arguments are checked before the first write).

local n = tonumber(ARGV[2])
local pos, ids = 3, {}
for t = 1, (n or 0) do
    local id, nf = ARGV[pos], tonumber(ARGV[pos + 7])
    if not id or not nf then break end -- enqueue_runs reports it
    if ids[id] or redis.call('EXISTS', P .. 't:' .. id) == 1 then
        if n == 1 then return {id, 'dup'} end
        return redis.error_reply('ERR syncq: task id ' .. id ..
            ' already exists; an id is never re-used')
    end
    ids[id] = true
    pos = pos + 8 + 2 * nf
end
-- a bulk call trims the events stream once, not on every task-sent
-- (lib.lua, event); a single task keeps the one XADD with its trim
if n and n > 1 then events_begin() end
local reply = enqueue_runs(3, n)
events_flush()
return reply
