#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_browser_ops.sh: the operator's dashboard in a real browser
# (tests/browser/operator.test.js: playwright-core driving Debian's
# /usr/bin/chromium). Starts a real `syncq worker` (2 children, name
# ops-%i) and `syncq monitor serve` with a write and a read token, makes
# a failed task, a dead one with checkpoints and a running one, and lets
# the browser sign in, search, open task pages, retry, resume with
# RESUME, cancel, grow and shrink the worker's pool, set a task's rate
# limit, open the Catalog page and pause a queue.
# Screenshots of every page at 1400x1000 are kept in
# $SYNCQ_BUILD_DIR/artifacts/dashboard-*.png.
# TEST_TIMEOUT: 300
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
: "${SYNCQ_SOURCE_DIR:?}"
. "$(dirname "$0")/browser_lib.sh"
trap cleanup EXIT
cd "$T" || exit 1
state() { "$S" task info "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
wait_state() { # id state seconds
  for _ in $(seq $(( $3 * 10 ))); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.1; done
  echo "task $1 is $(state "$1"), not $2" >&2; return 1
}

export SYNCQ_API_TOKEN=w-tok SYNCQ_MONITOR_TOKEN=r-tok
SYNCQ_HEARTBEAT_INTERVAL=1 SYNCQ_CANCEL_GRACE=2 "$S" worker -Q ops,other -c 2 -n 'ops-%i' --logfile "$T/worker.log" &
pids+=("$!")
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$T/serve.log" &
pids+=("$!")
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$T/port")"
api() { curl -s -H 'Authorization: Bearer w-tok' -H 'Content-Type: application/json' "$@"; }

FAILED=$("$S" task create syncq.fail --queue ops -k '{"class": "validation", "message": "bad sku 42"}')
wait_state "$FAILED" FAILURE 20 || exit 1
# a dead letter with checkpoints: steps, cancelled mid-way, parked (MANUAL)
DEAD=$("$S" task create syncq.steps --queue ops -k '{"total": 2000, "step_ms": 20}')
for _ in $(seq 100); do
  n=$(api "$B/api/tasks/$DEAD/checkpoints" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("checkpoints", [])))')
  [ "$n" -ge 1 ] && break; sleep 0.1
done
api -X POST "$B/api/tasks/$DEAD/cancel" >/dev/null
wait_state "$DEAD" REVOKED 20 || exit 1
api -X POST -d '{"strategy": "manual"}' "$B/api/tasks/$DEAD/resume" >/dev/null
wait_state "$DEAD" DEAD 10 || exit 1
RUNNING=$("$S" task create syncq.sleep --queue ops -k '{"seconds": 120, "tick_ms": 250}')
wait_state "$RUNNING" PROGRESS 20 || wait_state "$RUNNING" STARTED 5 || exit 1

# two "catalog" summaries as the data_sync pack writes them
# (syncq/summary.h; it_monitor_catalog.sh makes them with a real sync)
for c in 1031910:女装:17:2 1031911:男装:9:0; do
  IFS=: read -r id name offers broken <<< "$c"
  redis-cli -s "$SYNCQ_REDIS_SOCK" HSET '{syncq}:summary:catalog' "$id" \
    "{\"category_id\":$id,\"name\":\"$name\",\"offers\":$offers,\"duplicates_merged\":1,\"offers_synced_at\":\"2026-12-07T08:00:00.000Z\",\"images_stored\":$((offers * 5)),\"images_broken\":$broken,\"last_sync_at\":\"2026-12-07T08:00:01.000Z\",\"last_sync_outcome\":\"ok\",\"records_failed\":0,\"root_id\":\"$FAILED\",\"task_id\":\"$FAILED\",\"published_at\":\"2026-12-07T08:00:02.000Z\"}" > /dev/null
done

cd "$BR" || exit 1
timeout 240 node operator.test.js "$B" "$FAILED" "$DEAD" "$RUNNING" ops-1 "$ART"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "--- worker.log" >&2; tail -30 "$T/worker.log" >&2
  echo "--- serve.log" >&2; tail -30 "$T/serve.log" >&2
fi
[ "$rc" -eq 0 ] && echo "1 passed, 0 failed"
exit "$rc"
