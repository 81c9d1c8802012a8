#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_cli_task_wait_outage.sh: `syncq task wait` outlives a Redis outage, as
# its --help says: Redis is stopped for longer than one of its polling
# slices (5 s when stderr is not a terminal) while it waits, then started
# again (AOF keeps the task) and a worker runs the task: the wait prints
# SUCCESS and exits 0. It used to exit 1 at the end of the first slice
# with Redis away. Also with --json (no slices) and with a --timeout that
# ends during the outage (exit 1, after that timeout, not before). And a
# stalled Redis: one line that says the reply timed out.
# TEST_TIMEOUT: 90
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
S=$SYNCQ_BIN
T=$SYNCQ_TEST_DIR
RC=$SQ_REDISCTL
a=$("$S" task create syncq.noop -q wo)
b=$("$S" task create syncq.noop -q wo)
c=$("$S" task create syncq.noop -q wo)
"$S" task wait "$a" >"$T/a.out" 2>"$T/a.err" &
wa=$!
"$S" task wait "$b" --json >"$T/b.out" 2>"$T/b.err" &
wb=$!
t0=$(date +%s)
"$S" task wait "$c" --timeout 4 >"$T/c.out" 2>"$T/c.err" &
wc=$!
echo "$wa $wb $wc" >>"$T/pids"
sleep 0.5
"$RC" stop >/dev/null
sleep 7 # longer than one 5 s slice
kill -0 "$wa" 2>/dev/null || fail "task wait ended during the outage: $(cat "$T/a.err")"
kill -0 "$wb" 2>/dev/null || fail "task wait --json ended during the outage: $(cat "$T/b.err")"
set +e
wait "$wc"; st=$?
set -e
t1=$(date +%s)
[ "$st" = 1 ] || fail "--timeout 4 during the outage: exit $st"
[ $((t1 - t0)) -ge 4 ] || fail "--timeout 4 gave up after $((t1 - t0)) s"
"$RC" start >/dev/null
"$S" worker -Q wo -c 1 -n it-wo --logfile "$T/w.log" &
echo $! >>"$T/pids"
set +e
wait "$wa"; sa=$?
wait "$wb"; sb=$?
set -e
[ "$sa" = 0 ] || fail "task wait exit $sa: $(cat "$T/a.err")"
[ "$sb" = 0 ] || fail "task wait --json exit $sb: $(cat "$T/b.err")"
grep -q SUCCESS "$T/a.out" || fail "no SUCCESS in: $(cat "$T/a.out")"
grep -q '"state": *"SUCCESS"' "$T/b.out" || fail "no SUCCESS in: $(cat "$T/b.out")"
# A stalled (SIGSTOPped) Redis: a command gives up after
# SYNCQ_REDIS_TIMEOUT with one line saying so, not hiredis's "Resource
# temporarily unavailable"; it works again once Redis runs.
"$RC" pause >/dev/null
set +e
SYNCQ_REDIS_TIMEOUT=1s "$S" task list -q wo >"$T/st.out" 2>"$T/st.err"; ss=$?
set -e
"$RC" resume >/dev/null
[ "$ss" = 1 ] || fail "task list against a stalled Redis: exit $ss"
[ "$(wc -l <"$T/st.err")" = 1 ] || fail "stalled Redis: not one line: $(cat "$T/st.err")"
grep -q 'no reply within 1000 ms (SYNCQ_REDIS_TIMEOUT' "$T/st.err" || fail "stalled Redis: $(cat "$T/st.err")"
"$S" task list -q wo >/dev/null || fail "task list after the resume"
echo "ok: task wait outlived a 7 s outage (exit 0, SUCCESS), --timeout 4 ended at $((t1 - t0)) s; a stalled Redis said so in one line"
