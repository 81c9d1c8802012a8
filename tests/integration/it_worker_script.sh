#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_worker_script.sh: scripts/start_worker starts a real worker (detached,
# log file, pid file) that runs a task, stops warmly on SIGTERM with exit
# status 0, and refuses bad options with a message and a non-zero status.
# TEST_TIMEOUT: 60
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
export SYNCQ_LOG_DIR=$SYNCQ_TEST_DIR/logs
script=$SYNCQ_SOURCE_DIR/scripts/start_worker

"$script" -d -Q default -c 1 -n it-script || fail "start_worker -d"
pid=$(cat "$SYNCQ_LOG_DIR/worker.pid")
echo "$pid" >>"$SYNCQ_TEST_DIR/pids"
kill -0 "$pid" || fail "worker not running"
for _ in $(seq 100); do
  grep -q worker.ready "$SYNCQ_LOG_DIR/worker.log" 2>/dev/null && break
  sleep 0.05
done
grep -q 'event=worker.ready worker=it-script' "$SYNCQ_LOG_DIR/worker.log" \
  || fail "no worker.ready line in the log file"
id=$("$SYNCQ_BIN" task create syncq.echo -k '{"via":"start_worker"}')
out=$("$SYNCQ_BIN" task wait "$id" --timeout 10 --json)
echo "$out" | grep -q '"state":"SUCCESS"' || fail "task not SUCCESS: $out"
echo "$out" | grep -q '"via":"start_worker"' || fail "wrong result: $out"
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "worker still running after SIGTERM"
grep -q "event=worker.stopped" "$SYNCQ_LOG_DIR/worker.log" \
  || fail "no clean stop"

# bad options: usage status from the script, the worker's own message
set +e
"$script" -x >/dev/null 2>&1; [ $? -eq 2 ] || fail "-x should exit 2"
msg=$("$script" -d -c 0 2>&1); rc=$?
set -e
[ "$rc" -ne 0 ] || fail "-c 0 should fail"
echo "$msg" | grep -q "out of range 1..1024" || fail "no reason given: $msg"
echo "ok"
