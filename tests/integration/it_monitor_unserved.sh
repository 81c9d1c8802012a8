#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_unserved.sh: the queue_unserved alert (issue 20: a queue with
# ready tasks and no live consumer alerts) with a real worker and a real
# `syncq monitor serve` evaluating the shipped rule (its `for 1m` cut to
# 2 s so the test is short) and a per-queue one:
#   - a queue with ready tasks and a live worker consuming it (busy with
#     a long task, the others waiting): both rules inactive, value 0,
#     and health does not name the queue;
#   - the worker SIGKILLed (its heartbeat stops; after two missed beats
#     it is not live): both fire (value 1), critical, /metrics says 2,
#     and health calls the queue unhealthy;
#   - a new worker on the queue: both resolve.
# TEST_TIMEOUT: 150
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
SRC=${SYNCQ_SOURCE_DIR:?}
. "$SRC/tests/integration/checks.sh"
cd "$T" || exit 1
export SYNCQ_HEARTBEAT_INTERVAL=500ms
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL -- -"$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT

start_worker() { # name
  setsid "$S" worker -Q uq -c 1 -n "$1" --logfile "$T/$1.log" >"$T/$1.err" 2>&1 &
  WPID=$!
  pids+=("$WPID")
  for _ in $(seq 100); do grep -q worker.ready "$T/$1.log" 2>/dev/null && break; sleep 0.05; done
}
# state and value of rule $1 from /api/alerts
alert() {
  curl -s "$B/api/alerts" | python3 -c '
import json, sys
a = {x["name"]: x for x in json.load(sys.stdin)["alerts"]}.get(sys.argv[1], {})
print(a.get("state"), a.get("value"))' "$1"
}
# wait up to $3 s for rule $1 to reach state $2
wait_alert() {
  for _ in $(seq $(($3 * 5))); do
    case "$(alert "$1")" in "$2 "*) return 0 ;; esac
    sleep 0.2
  done
  return 1
}

grep '^queue_unserved:' "$SRC/deploy/alerts.default.rules" | sed 's/ for 1m / for 2s /' >rules.txt
echo 'uq_unserved: unserved_queues{queue=uq} > 0 severity warning' >>rules.txt
check "shipped rule found" 2 "$(grep -c unserved_queues rules.txt)"
contains "for cut to 2 s" "unserved_queues > 0 for 2s severity critical" rules.txt

start_worker w1
W1=$WPID
for _ in 1 2 3; do "$S" task create syncq.sleep --queue uq -k '{"seconds": 60}' >/dev/null; done
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --rules rules.txt \
  --logfile "$T/serve.log" &
pids+=("$!")
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$T/port")"

# consumed: one task running, two ready, a live worker on the queue
for _ in $(seq 100); do [ "$(redis-cli -s "$SYNCQ_REDIS_SOCK" zcard '{syncq}:active')" = 1 ] && break; sleep 0.1; done
sleep 6 # at least one evaluation (every 5 s) with the worker live
check "consumed: shipped rule" "inactive 0.0" "$(alert queue_unserved)"
check "consumed: per-queue rule" "inactive 0.0" "$(alert uq_unserved)"
curl -s "$B/api/health" >h1.json
check "consumed: health does not name uq" 0 "$(grep -c 'queue uq' h1.json)"

# the worker is gone: ready tasks, nobody consuming them
kill -KILL -- -"$W1"
wait_alert queue_unserved firing 30
check "gone: shipped rule fires" "firing 1.0" "$(alert queue_unserved)"
wait_alert uq_unserved firing 15
check "gone: per-queue rule fires" "firing 1.0" "$(alert uq_unserved)"
curl -s "$B/api/alerts" >a.json
check "gone: severity" critical "$(json '[x for x in d["alerts"] if x["name"] == "queue_unserved"][0]["severity"]' <a.json)"
check "gone: one firing transition logged" 1 "$(json 'len([x for x in d["recent"] if x["name"] == "queue_unserved" and x["state"] == "firing"])' <a.json)"
curl -s "$B/metrics" >m.txt
contains "gone: /metrics firing" '^syncq_alert_state\{alert="queue_unserved",severity="critical"\} 2$' m.txt
curl -s "$B/api/health" >h2.json
check "gone: health unhealthy" unhealthy "$(json 'd["status"]' <h2.json)"
contains "gone: health names the queue" "no worker alive for queue uq" h2.json
contains "gone: logged" "event=alert.firing alert=queue_unserved severity=critical value=1 .* ns=syncq$" serve.log

# a worker again: resolved
start_worker w2
wait_alert queue_unserved resolved 30
check "back: shipped rule resolved" "resolved 0.0" "$(alert queue_unserved)"
wait_alert uq_unserved resolved 15
check "back: per-queue rule resolved" "resolved 0.0" "$(alert uq_unserved)"
finish it_monitor_unserved
