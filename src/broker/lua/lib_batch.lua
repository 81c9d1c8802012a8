-- SPDX-License-Identifier: MIT
--
-- lib_batch.lua: prelude part 4 (after lib_task.lua): batches, their
-- completion callback and their waves (docs/beat.md). batch_done is
-- declared in lib_task.lua, which ends tasks, and defined here.

-- Fire the batch's completion once every chunk has ended.
local function batch_check(batch)
    local bk = P .. 'b:' .. batch
    local b = redis.call('HMGET', bk, 'total', 'done', 'failed', 'cb_id',
                         'cb_name', 'cb_queue', 'cb_kwargs')
    local total = tonumber(b[1]) or 0
    local finished = (tonumber(b[2]) or 0) + (tonumber(b[3]) or 0)
    -- fail_fast (beat's batch waves): the first failed chunk ends it
    local ff = (tonumber(b[3]) or 0) > 0 and
               redis.call('HGET', bk, 'fail_fast') == '1'
    if (finished >= total or ff) and redis.call('HSETNX', bk, 'finished_at', NOW) == 1 then
        if finished < total then
            -- undispatched chunks of a fail_fast batch never run
            redis.call('HSET', bk, 'cancelled',
                       redis.call('LLEN', P .. 'bq:' .. batch))
            redis.call('DEL', P .. 'bq:' .. batch)
            redis.call('ZREM', P .. 'bwaves', batch)
        end
        event('batch-finished', batch, 'total', total, 'done', b[2] or 0,
              'failed', b[3] or 0)
        if b[4] and b[4] ~= '' then
            -- The completion callback: created exactly once (HSETNX above)
            -- even when the last two chunks finish in parallel.
            local kw = {}
            if b[7] and b[7] ~= '' then kw = cjson.decode(b[7]) end
            kw['batch_id'] = batch
            kw['total'] = total
            kw['succeeded'] = tonumber(b[2]) or 0
            kw['failed'] = tonumber(b[3]) or 0
            create_task(b[4], b[6] or 'default', 5, 0, 0,
                        {'name', b[5], 'kwargs', cjson.encode(kw),
                         'parent', batch})
            wake(b[6] or 'default', 1)
        end
    end
end

-- Batches dispatched in waves (beat: batch_dispatch.lua, docs/beat.md).
-- Undispatched chunks wait in {ns}:bq:<batch> as "<task id>|<kwargs>"
-- and go out while the batch's max_inflight and token-bucket rate allow;
-- {ns}:bwaves holds batches with waiting chunks scored by when the next
-- may go. At most `limit` per call (0: no extra limit), so one call never
-- holds Redis long. Returns how many were dispatched.
local function batch_dispatch(batch, limit)
    local bk = P .. 'b:' .. batch
    local qk = P .. 'bq:' .. batch
    local h = redis.call('HMGET', bk, 'task', 'done', 'failed', 'dispatched',
                         'max_inflight', 'rate_n', 'rate_ms', 'tokens',
                         'tok_at', 'cq', 'cpri', 'cfields', 'finished_at',
                         'state')
    if not h[1] or h[13] or h[14] ~= 'running' then
        if not h[1] or h[13] then
            redis.call('ZREM', P .. 'bwaves', batch)
        end
        return 0
    end
    local waiting = redis.call('LLEN', qk)
    if waiting == 0 then
        redis.call('ZREM', P .. 'bwaves', batch)
        return 0
    end
    local dispatched = tonumber(h[4]) or 0
    local inflight = dispatched - (tonumber(h[2]) or 0) - (tonumber(h[3]) or 0)
    local maxin = tonumber(h[5]) or 0
    local rate_n, rate_ms = tonumber(h[6]) or 0, tonumber(h[7]) or 1000
    local n = waiting
    if maxin > 0 and maxin - inflight < n then n = maxin - inflight end
    local tokens = 0
    if rate_n > 0 then
        tokens = (tonumber(h[8]) or rate_n) +
                 (NOW - (tonumber(h[9]) or NOW)) * rate_n / rate_ms
        if tokens > rate_n then tokens = rate_n end
        if math.floor(tokens) < n then n = math.floor(tokens) end
    end
    if limit and limit > 0 and limit < n then n = limit end
    if n < 0 then n = 0 end
    local q, pri = h[10] or 'default', tonumber(h[11]) or 5
    local cf = cjson.decode(h[12] or '[]')
    for _ = 1, n do
        local spec = redis.call('LPOP', qk)
        local f = {'name', h[1], 'batch', batch}
        local kw = string.sub(spec, 38)
        if kw ~= '' and kw ~= '{}' then
            f[#f + 1] = 'kwargs'
            f[#f + 1] = kw
        end
        for j = 1, #cf do f[#f + 1] = cf[j] end
        create_task(string.sub(spec, 1, 36), q, pri, 0, 0, f)
    end
    if n > 0 then
        redis.call('HINCRBY', bk, 'dispatched', n)
        wake(q, n)
    end
    if rate_n > 0 then
        tokens = tokens - n
        redis.call('HSET', bk, 'tokens', tostring(tokens), 'tok_at', NOW)
    end
    if waiting > n then
        -- When may the next chunk go? A freed slot dispatches at once (from
        -- batch_done); the beat re-checks rate-limited batches when a token
        -- is due, and every batch every 5 s as a safety net.
        local at = NOW + 5000
        if maxin > 0 and inflight + n >= maxin then
            at = NOW + 5000
        elseif rate_n > 0 then
            at = NOW + math.max(1, math.ceil((1 - tokens) * rate_ms / rate_n))
        else
            at = NOW -- only `limit` held the rest back
        end
        redis.call('ZADD', P .. 'bwaves', at, batch)
    else
        redis.call('ZREM', P .. 'bwaves', batch)
    end
    return n
end

batch_done = function(batch, ok)
    local bk = P .. 'b:' .. batch
    if redis.call('EXISTS', bk) == 0 then return end
    redis.call('HINCRBY', bk, ok and 'done' or 'failed', 1)
    batch_check(batch)
    if redis.call('HGET', bk, 'waves') == '1' then batch_dispatch(batch, 1000) end
end

