-- SPDX-License-Identifier: MIT
--
-- promote.lua: housekeeping without leasing: promote due delayed tasks
-- and requeue lapsed leases. Run by the beat and by idle workers (through
-- lease.lua), so delayed tasks run even with no beat.
--
-- KEYS[1]  <prefix>meta
-- ARGV[1]  config (see lib.lua)
-- ARGV[2]  max delayed tasks to promote in this call
-- ARGV[3]  max lapsed leases to requeue in this call
-- Reply: { promoted, requeued, next_eta_ms | -1 }

local promoted = promote_due(tonumber(ARGV[2]) or 1000)
local requeued = requeue_expired(tonumber(ARGV[3]) or 100)
return {promoted, requeued, first_score(P .. 'delayed')}
