#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_task_recovering.sh: a task whose worker was SIGKILLed shows as
# `recovering` in `task info` and `task list` once two heartbeats are
# missed (the monitor's liveness rule), while its lease runs out; a task
# of a live worker shows its recorded state (issue 20).
# TEST_TIMEOUT: 120
set -euo pipefail

: "${SYNCQ_BIN:?}" "${SYNCQ_TEST_DIR:?}"
S=$SYNCQ_BIN
W="$SYNCQ_TEST_DIR/recovering"
mkdir -p "$W"
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
export SYNCQ_BROKER_URL="unix://$SYNCQ_REDIS_SOCK" SYNCQ_HEARTBEAT_INTERVAL=1 SYNCQ_LEASE_TIMEOUT=60
R FLUSHALL >/dev/null

"$S" worker -Q recq -c 1 >"$W/worker.log" 2>&1 &
wpid=$!
echo "$wpid" >>"$SYNCQ_TEST_DIR/pids"
id=$("$S" task create syncq.sleep -q recq -k '{"seconds": 60}')
for _ in $(seq 200); do
  st=$(R HGET "{syncq}:t:$id" state)
  [ "$st" = STARTED ] || [ "$st" = PROGRESS ] && break
  sleep 0.05
done
case "$st" in STARTED|PROGRESS) ;; *) fail "the task did not start ($st)";; esac
# alive: the recorded state
st=$("$S" --json task info "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
case "$st" in STARTED|PROGRESS) ;; *) fail "a live worker's task shows $st";; esac

# the worker dies without a word; its children with it
children=$(pgrep -P "$wpid" || true)
kill -9 "$wpid" $children 2>/dev/null || true
wait "$wpid" 2>/dev/null || true
sleep 3 # two heartbeats of 1 s (+250 ms) missed
st=$("$S" --json task info "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
[ "$st" = recovering ] || fail "task info: $st, want recovering"
"$S" task info "$id" >"$W/info.txt"
grep -qE '^state +recovering$' "$W/info.txt" || { cat "$W/info.txt"; fail "task info text"; }
"$S" task list --queue recq >"$W/list.txt"
grep -qE "^$id +recovering " "$W/list.txt" || { cat "$W/list.txt"; fail "task list"; }
# the record itself is untouched: the lease still runs out
st=$(R HGET "{syncq}:t:$id" state)
case "$st" in STARTED|PROGRESS) ;; *) fail "the record was changed to $st";; esac
echo "it_task_recovering: ok"
