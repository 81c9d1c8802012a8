-- SPDX-License-Identifier: MIT
--
-- lib_call.lua: the last part of the prelude (lib.lua says how it is
-- composed): sq_begin(), run at the start of every call before the op's
-- body. It sets the per-call state of lib.lua from KEYS and ARGV and
-- clears the accumulators of lib_stats.lua and lib_task.lua: a function
-- library keeps its state between calls, and a call that failed half-way
-- must not hand its sums to the next.

-- The meta key and config of the last call, and what was parsed from
-- them: a library keeps them between calls, and a client sends the same
-- two strings on every call, so they are parsed once per change, not on
-- every call (Lua strings are interned: comparing them is one pointer
-- comparison). Scripts (no library) start from nil on every call.
local BEGUN_KEY, BEGUN_CFG

local function sq_begin()
    if KEYS[1] ~= BEGUN_KEY or ARGV[1] ~= BEGUN_CFG then
        BEGUN_KEY, BEGUN_CFG = nil, nil
        P = string.sub(KEYS[1], 1, -5)
        local a, b, c, d = string.match(ARGV[1],
                                        '^(%d+)|(%d+)|(%d+)|(%d+)$')
        EVMAX = tonumber(a) or 100000
        RESULT_TTL = tonumber(b) or 86400000
        MAX_DELIVERIES = tonumber(c) or 5
        RECENT_MAX = tonumber(d) or 100000
        EVMAXS = ints(EVMAX)
        RESULT_TTLS = ints(RESULT_TTL)
        RPOP_COUNT = (tonumber(redis.REDIS_VERSION_NUM) or 0) >= 0x060200
        BEGUN_KEY, BEGUN_CFG = KEYS[1], ARGV[1]
    end
    local t = redis.call('TIME')
    NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    MINUTE = math.floor(NOW / 60000)
    NOWS = ints(NOW)
    ACC = nil -- write-at-once unless the op calls stats_begin()
    EVN = nil -- trim at once unless the op calls events_begin()
    EVG, EVGO = nil, nil
    FIN = nil
end
