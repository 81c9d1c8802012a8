#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_sentinel.sh: sentinel:// against real servers (1 master,
# 1 replica, 3 sentinels on free loopback ports, bench/failover_sentinel.sh)
# with two workers, a beat and a producer running:
#   - the master SIGKILLed mid-load with SYNCQ_BROKER_MIN_REPLICAS=1: no
#     acknowledged enqueue and no outcome lost, enqueues acknowledged
#     again after the failover, workers and beat followed the new master;
#   - a graceful SENTINEL FAILOVER (clients meet READONLY on the demoted
#     master), also with MIN_REPLICAS=1: nothing lost either (with 0, the
#     writes taken by the old master between the promotion and its
#     demotion are lost: docs/deployment.md has the figures).
# Plus the URL-level errors: no sentinel reachable, unknown master name.
# TEST_TIMEOUT: 240
# TEST_LABELS: slow
set -euo pipefail
: "${SYNCQ_BIN:?}" "${SYNCQ_SOURCE_DIR:?}" "${SYNCQ_TEST_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
B=$SYNCQ_SOURCE_DIR/bench/failover_sentinel.sh
# field NAME LINE: the value of NAME=... in a figures line
field() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k{print $2}'; }
check_run() { # LABEL LINE
  local l=$1 line=$2
  echo "$l: $line"
  [ "$(field lost_enq "$line")" = 0 ] || fail "$l: acknowledged enqueues lost: $line"
  [ "$(field lost_out "$line")" = 0 ] || fail "$l: outcomes lost: $line"
  [ "$(field acked "$line")" -gt 20 ] || fail "$l: too few enqueues: $line"
  [ "$(field acked_after "$line")" -gt 5 ] || fail "$l: no enqueue after the failover: $line"
}
out=$(SYNCQ_BIN=$SYNCQ_BIN "$B" --min-replicas 1 --before 3 --after 8 2>"$SYNCQ_TEST_DIR/kill.err") \
  || fail "kill run: $(tail -3 "$SYNCQ_TEST_DIR/kill.err")"
check_run kill "$(echo "$out" | grep '^min_replicas=')"
grep -q "event=broker.failover master=mymaster" "$SYNCQ_TEST_DIR/kill.err" || fail "no broker.failover logged"
# status after the failover: the new master, its replica (the old master)
grep -qE "^redis    master 127\.0\.0\.1:[0-9]+ \(sentinel mymaster, 0 failover\(s\) seen\), no TLS, replicas 1: 127\.0\.0\.1:[0-9]+ online lag [0-9]+ s, min_replicas 1$" \
  "$SYNCQ_TEST_DIR/kill.err" || fail "status topology: $(grep '^redis ' "$SYNCQ_TEST_DIR/kill.err")"
out=$(SYNCQ_BIN=$SYNCQ_BIN "$B" --graceful --min-replicas 1 --before 3 --after 14 2>"$SYNCQ_TEST_DIR/graceful.err") \
  || fail "graceful run: $(tail -3 "$SYNCQ_TEST_DIR/graceful.err")"
check_run graceful "$(echo "$out" | grep '^min_replicas=')"

# errors: one line, exit 1
P1=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
set +e
msg=$("$SYNCQ_BIN" --broker "sentinel://127.0.0.1:$P1,127.0.0.1:$P1/mymaster" status 2>&1); rc=$?
set -e
[ "$rc" = 1 ] || fail "no sentinel: exit $rc"
echo "$msg" | grep -q "no sentinel of 2 could name master 'mymaster' (last: sentinel 127.0.0.1:$P1 unreachable" \
  || fail "no sentinel: $msg"
set +e
msg=$("$SYNCQ_BIN" --broker "sentinel://127.0.0.1:1/" status 2>&1); rc=$?
set -e
[ "$rc" = 1 ] || fail "bad URL: exit $rc"
echo "$msg" | grep -q "needs a master name" || fail "bad URL: $msg"
echo ok
