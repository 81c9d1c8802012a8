#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_beat_script.sh: scripts/start_beat, as an operator uses it: detached
# with a pid file and a log file, firing a schedule, the log reopened on
# SIGHUP (logrotate), a clean stop on SIGTERM that hands the lead over, a
# bad schedule file reported at once with a non-zero exit.
# TEST_TIMEOUT: 60
set -euo pipefail

: "${SYNCQ_BIN:?}" "${SYNCQ_SOURCE_DIR:?}" "${SYNCQ_TEST_DIR:?}"
export SYNCQ_LOG_DIR="$SYNCQ_TEST_DIR/logs"
S="$SYNCQ_SOURCE_DIR/scripts/start_beat"
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() { for _ in $(seq 100); do eval "$1" && return 0; sleep 0.05; done; return 1; }

R FLUSHALL >/dev/null
cat >"$SYNCQ_TEST_DIR/sched.json" <<'JSON'
{"schedules": [{"name": "tick", "task": "crawler.fetch_products", "interval": 1, "kwargs": {"category_id": "7"}}]}
JSON
"$S" -d -s "$SYNCQ_TEST_DIR/sched.json" -- --lock-ttl 2 >"$SYNCQ_TEST_DIR/start.out"
pid=$(cat "$SYNCQ_LOG_DIR/beat.pid")
echo "$pid" >>"$SYNCQ_TEST_DIR/pids"
grep -q "start_beat: beat pid $pid, log $SYNCQ_LOG_DIR/beat.log" "$SYNCQ_TEST_DIR/start.out" || fail "start message"
wait_for '[ "$(R HGET "{syncq}:sched:tick" runs)" -ge 2 ] 2>/dev/null' || fail "no ticks"
grep -q "event=beat.start" "$SYNCQ_LOG_DIR/beat.log" || fail "beat.start not logged"
grep -q "event=beat.leader leader=true" "$SYNCQ_LOG_DIR/beat.log" || fail "leader not logged"
grep -q "event=beat.schedule_file path=$SYNCQ_TEST_DIR/sched.json created=1" "$SYNCQ_LOG_DIR/beat.log" || fail "file not logged"
"$SYNCQ_BIN" --json beat status >"$SYNCQ_TEST_DIR/status.json"
python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))
assert len(l) == 1 and l[0]["leader"] and l[0]["alive"] and l[0]["pid"] == int(sys.argv[2]), l' \
  "$SYNCQ_TEST_DIR/status.json" "$pid" || fail "beat status"
"$SYNCQ_BIN" beat status | grep -q "yes  *yes" || fail "beat status text"
# logrotate: move the file away, HUP, the beat writes a new one
mv "$SYNCQ_LOG_DIR/beat.log" "$SYNCQ_LOG_DIR/beat.log.1"
kill -HUP "$pid"
wait_for '[ -s "$SYNCQ_LOG_DIR/beat.log" ]' || fail "log not reopened"
grep -q "event=beat.tick" "$SYNCQ_LOG_DIR/beat.log" || fail "ticks not in the new log"
kill -0 "$pid" || fail "HUP stopped the beat"
# SIGTERM: clean exit, lock released
kill -TERM "$pid"
wait_for '! kill -0 "$pid" 2>/dev/null' || fail "did not stop"
[ "$(R EXISTS '{syncq}:beat:lock')" = 0 ] || fail "lock not released"
grep -q "event=beat.stop" "$SYNCQ_LOG_DIR/beat.log" || fail "beat.stop not logged"
if cat "$SYNCQ_LOG_DIR"/beat.* | grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:"; then
  fail "sanitizer report from the beat"
fi
# a bad schedule file: start_beat -d says so and exits 1
echo '{"schedules": [{"name": "x", "task": "t.y", "cron": "0 0 31 2 *"}]}' >"$SYNCQ_TEST_DIR/bad.json"
rc=0
"$S" -d -s "$SYNCQ_TEST_DIR/bad.json" >"$SYNCQ_TEST_DIR/start.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "bad file: exit $rc"
grep -q "the beat exited at once" "$SYNCQ_TEST_DIR/start.out" || fail "no 'exited at once'"
grep -q "never fires" "$SYNCQ_TEST_DIR/start.out" || fail "reason not shown"
rc=0
"$S" -x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown option: exit $rc"
echo "it_beat_script: ok"
