#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_worker_defer_bound.sh: deferrals are bounded (issue 20). A task that
# defers for ever (rtest.defer: a host that never ends its cool-down),
# run by a real worker with SYNCQ_TASK_MAX_DEFERRALS=3, is deferred 3
# times (RETRY, retries untouched, `deferrals` counted) and its 4th
# deferral ends it FAILURE in the dead-letter queue with the reason and
# the class it deferred with: 4 runs, never a 5th.
# TEST_TIMEOUT: 90
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
B=${SYNCQ_BUILD_DIR:?}
. "$(dirname "$0")/checks.sh"
cd "$T" || exit 1
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
P=$B/tests/plugins/plugin_recovery.so
[ -r "$P" ] || { echo "FAIL: test plugin $P missing"; exit 1; }

SYNCQ_TASK_MAX_DEFERRALS=3 SYNCQ_HEARTBEAT_INTERVAL=500ms \
  setsid "$S" worker -Q recovery_test -c 1 --plugin "$P" \
  --logfile "$T/w.log" >"$T/w.err" 2>&1 &
WPID=$!
echo "$WPID" >>"$T/pids"
trap 'kill -TERM -- -"$WPID" 2>/dev/null' EXIT

id=$("$S" task create rtest.defer --queue recovery_test --max-retries 0 \
  -k "{\"delay_ms\":100,\"dir\":\"$T\"}")
check "created" 36 "${#id}"
for _ in $(seq 300); do
  [ "$(R hget "{syncq}:t:$id" state)" = FAILURE ] && break
  sleep 0.1
done
check "ends FAILURE" FAILURE "$(R hget "{syncq}:t:$id" state)"
check "deferred 3 times" 3 "$(R hget "{syncq}:t:$id" deferrals)"
r=$(R hget "{syncq}:t:$id" retries)
check "no retry used" 0 "${r:-0}"
check "in the dead-letter queue" yes "$([ -n "$(R zscore "{syncq}:dlq" "$id")" ] && echo yes)"
check "class kept" rate_limited "$(R hget "{syncq}:t:$id" err_class)"
check "dead reason" rate_limited "$(R hget "{syncq}:t:$id" dead_reason)"
check "reason" "deferred 3 times, the limit (SYNCQ_TASK_MAX_DEFERRALS); last wait: host h is cooling down" \
  "$(R hget "{syncq}:t:$id" err_msg)"
sleep 0.5
check "ran 4 times, never a 5th" 4 "$(wc -l <"$T/$id.attempts" | tr -d ' ')"
"$S" task info "$id" --json >info.json
check "task info: state" FAILURE "$(json 'd["state"]' <info.json)"
check "task info: deferrals" 3 "$(json 'd.get("deferrals")' <info.json)"
finish it_worker_defer_bound
