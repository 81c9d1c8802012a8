-- SPDX-License-Identifier: MIT
--
-- progress.lua: record a running task's progress (fenced by its lease).
-- Terminal states are sticky: an update that arrives after the task
-- finished is dropped (C40). In "inc" mode current grows atomically and
-- is capped at total, so parallel sub-steps never make it go down.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  task id
-- ARGV[3]  lease token
-- ARGV[4]  mode: "set" | "inc"
-- ARGV[5]  current (set) or increment (inc)
-- ARGV[6]  total (0: unknown)
-- ARGV[7]  message ("" keeps the previous message)
-- Reply: { status, current } with status "ok" | "stale" | "final".

local id, token, mode = ARGV[2], ARGV[3], ARGV[4]
local k = tkey(id)
local h = redis.call('HMGET', k, 'lease', 'state', 'progress', 'pst')
if not h[2] or FINAL[h[2]] then
    return {'final', 0}
end
if h[1] ~= token then
    return {'stale', 0}
end
local prev = h[3] and cjson.decode(h[3]) or {current = 0, total = 0}
local cur = tonumber(ARGV[5]) or 0
local total = tonumber(ARGV[6]) or 0
if total <= 0 then total = prev.total or 0 end
if mode == 'inc' then
    cur = (prev.current or 0) + cur
else
    -- never go down inside one attempt
    if cur < (prev.current or 0) and (prev.attempt or 0) == (tonumber(redis.call('HGET', k, 'attempt') or '0') or 0) then
        cur = prev.current
    end
end
if total > 0 and cur > total then cur = total end
local msg = ARGV[7]
if msg == '' then msg = prev.message or '' end
-- rate: units per second since the first progress report of this attempt
local first = tonumber(h[4]) or 0
if first <= 0 then
    first = NOW
    redis.call('HSET', k, 'pst', NOW)
end
local rate = 0
if NOW > first then rate = cur * 1000.0 / (NOW - first) end
local pr = {current = cur, total = total, message = msg, at = NOW,
            rate = rate,
            attempt = tonumber(redis.call('HGET', k, 'attempt') or '0')}
redis.call('HSET', k, 'progress', cjson.encode(pr), 'state', 'PROGRESS')
event('task-progress', id, 'current', cur, 'total', total)
return {'ok', cur}
