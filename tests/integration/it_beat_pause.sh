#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_beat_pause.sh: issue 12 item 4. A 3 s Redis stall (CLIENT PAUSE, far
# below the lock TTL and the missed-tick grace) is not a clock jump: the
# beat logs no beat.clock_jump, the ticks due during the stall fire late,
# once each, and the every-1 s grid stays on whole seconds.
# TEST_TIMEOUT: 90
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
S=$SYNCQ_BIN
T=$SYNCQ_TEST_DIR
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
"$S" schedule add every1 syncq.noop -i 1 -q bp >/dev/null
"$S" beat --id bp1 --logfile "$T/beat.log" &
beat=$!
echo "$beat" >>"$T/pids"
ticks() { grep -c 'event=beat.tick ' "$T/beat.log" 2>/dev/null || true; }
for _ in $(seq 200); do [ "$(ticks)" -ge 3 ] && break; sleep 0.05; done
[ "$(ticks)" -ge 3 ] || fail "no ticks before the pause"
R client pause 3000 >/dev/null
sleep 6
kill -TERM "$beat"; wait "$beat" || true
grep 'event=beat.clock_jump' "$T/beat.log" && fail "a stall was taken for a clock jump"
grep -o 'tick=[^ ]*' "$T/beat.log" >"$T/ticks"
n=$(wc -l <"$T/ticks")
[ "$n" -ge 8 ] || fail "only $n ticks"
# every tick on the grid, none twice, none missing between first and last
grep -vq '\.000Z$' "$T/ticks" && fail "grid moved: $(grep -v '\.000Z$' "$T/ticks" | head -3)"
[ "$(sort "$T/ticks" | uniq -d | wc -l)" = 0 ] || fail "a tick fired twice"
first=$(head -1 "$T/ticks" | sed 's/tick=//'); last=$(tail -1 "$T/ticks" | sed 's/tick=//')
span=$(( $(date -d "$last" +%s) - $(date -d "$first" +%s) + 1 ))
[ "$span" = "$n" ] || fail "$n ticks over $span seconds: some were skipped"
# the stall made some late: they fired late (not skipped)
grep -q 'late_ms=[1-9][0-9][0-9][0-9]' "$T/beat.log" || fail "no late tick fired"
grep -q 'event=beat.missed' "$T/beat.log" && fail "ticks skipped as missed"
echo "ok: $n ticks, none twice, none skipped, grid kept"
