#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_browser.sh: the dashboard in a real browser. Starts a real
# `syncq worker` (one child) and `syncq monitor serve` on loopback, creates
# a syncq.sleep task that reports progress, and runs
# tests/browser/dashboard.test.js (playwright-core driving Debian's
# /usr/bin/chromium; installs its one npm package with `npm ci` when
# node_modules is missing). The screenshot is kept as an artifact in
# $SYNCQ_BUILD_DIR/artifacts/dashboard.png.
# TEST_TIMEOUT: 240
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
: "${SYNCQ_SOURCE_DIR:?}"
. "$(dirname "$0")/browser_lib.sh"
trap cleanup EXIT
cd "$T" || exit 1

SYNCQ_HEARTBEAT_INTERVAL=1 SYNCQ_CANCEL_GRACE=2 "$S" worker -Q browser -c 1 --logfile "$T/worker.log" &
pids+=("$!")
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$T/serve.log" &
pids+=("$!")
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
PORT=$(cat "$T/port")
ID=$("$S" task create syncq.sleep --queue browser -k '{"seconds": 60, "tick_ms": 250}')
[ -n "$ID" ] || { echo "task create failed" >&2; exit 1; }

cd "$BR" || exit 1
timeout 180 node dashboard.test.js "http://127.0.0.1:$PORT" "$ID" "$ART/dashboard.png"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "--- worker.log" >&2; tail -20 "$T/worker.log" >&2
  echo "--- serve.log" >&2; tail -20 "$T/serve.log" >&2
fi
state=$("$S" task info "$ID" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
echo "final state: $state"
[ "$rc" -eq 0 ] && [ "$state" = REVOKED ] && echo "1 passed, 0 failed"
[ "$rc" -eq 0 ] && [ "$state" = REVOKED ]
