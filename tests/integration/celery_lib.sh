# SPDX-License-Identifier: MIT
#
# celery_lib.sh: shared by the it_celery_*.sh tests (sourced after
# checks.sh): the real-Celery peer (tools/celery_peer.py under Debian's
# /usr/bin/python3 with python3-celery and python3-redis), the Celery URL
# of the test's private Redis, and helpers to start and stop workers.
# Python workers run -P solo (one process, so a kill hits the task).
PY=/usr/bin/python3
PEER=$SYNCQ_SOURCE_DIR/tools/celery_peer.py
CURL="redis+socket://${SYNCQ_REDIS_SOCK:?}"
if ! "$PY" -c 'import celery, redis' 2>/dev/null; then
  echo "FAIL: python3-celery / python3-redis missing (scripts/bootstrap test)" >&2
  exit 1
fi
peer() { "$PY" "$PEER" "$1" "$CURL" "${@:2}"; }
rcli() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
# start_syncq LOG ARGS...: a syncq worker with --celery; sets SPID.
start_syncq() {
  local log=$1
  shift
  "${SYNCQ_BIN:?}" worker --celery "$@" > "$log" 2>&1 &
  SPID=$!
  echo "$SPID" >> "$SYNCQ_TEST_DIR/pids"
  for _ in $(seq 200); do grep -q 'event=celery.ready' "$log" && return 0; sleep 0.05; done
  echo "FAIL: syncq worker --celery did not get ready" >&2
  cat "$log" >&2
  return 1
}
# start_py LOG ARGS...: a Python celery worker; sets PPID_PY. Ready once
# its node answers a ping.
start_py() {
  local log=$1
  shift
  "$PY" "$PEER" worker "$CURL" "$@" > "$log" 2>&1 &
  PPID_PY=$!
  echo "$PPID_PY" >> "$SYNCQ_TEST_DIR/pids"
  for _ in $(seq 120); do grep -q 'ready\.' "$log" && return 0; sleep 0.25; done
  echo "FAIL: Python celery worker did not get ready" >&2
  cat "$log" >&2
  return 1
}
stop_pid() { kill -TERM "$1" 2>/dev/null; for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; kill -KILL "$1" 2>/dev/null; }
# result ID [TIMEOUT]: celery_peer's AsyncResult.get() JSON
result() { peer result "$1" --timeout "${2:-20}"; }
jget() { "$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1"; }
# no_sanitizer_reports: under an ASan/UBSan build, no report in any log
# of this test (workers keep running after a UBSan/ASan message would).
no_sanitizer_reports() {
  local hits
  hits=$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' ./*.log 2>/dev/null | tr '\n' ' ')
  check "no sanitizer reports in the logs" "" "$hits"
}
# saw_status ID WANT: 1 when celery-task-meta-ID showed status WANT before
# it became ready (SUCCESS, FAILURE, REVOKED), else 0; waits up to 30 s.
saw_status() {
  local seen=0 st
  for _ in $(seq 600); do
    st=$(rcli GET "celery-task-meta-$1" | jget 'd["status"]' 2>/dev/null)
    [ "$st" = "$2" ] && seen=1
    case $st in SUCCESS | FAILURE | REVOKED) break ;; esac
    sleep 0.05
  done
  echo "$seen"
}
