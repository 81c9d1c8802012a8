#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_ratelimit.sh: a task's rate limit in a real worker (Celery's
# task rate_limit, per worker): the limit declared at registration (a
# test plugin: rtest.tick 5/s) spaces the starts period/N apart; tasks
# over it wait in the worker and succeed (no retry, no failure) while a
# task of another name passes them; `syncq worker control rate-limit`
# and the dashboard's control API change it at run time, acknowledged;
# "0" removes it; bad rates are refused with a one-line error, at the
# door (CLI, API) and at registration.
# TEST_TIMEOUT: 240
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/monitor_lib.sh"
cd "$T" || exit 1
PLUGIN=$SYNCQ_BUILD_DIR/tests/plugins/plugin_ratelimit.so
wait_for() { # seconds command...: poll until the command succeeds
  local n=$(( $1 * 10 )); shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# a bad declared rate stops the worker at start, saying why
RTEST_BAD_RATE=5/fortnight "$S" worker -Q rl -c 1 --plugin "$PLUGIN" > bad.txt 2>&1
check "bad registered rate: the worker does not start" 1 "$?"
contains "bad registered rate said" 'rtest.free: rate_limit: .*fortnight|rtest.free: rate_limit' bad.txt

SYNCQ_WORKER_PREFETCH=4 SYNCQ_HEARTBEAT_INTERVAL=1 "$S" worker -Q rl -c 4 -n 'rl-%i' --plugin "$PLUGIN" --logfile "$T/worker.log" &
pids+=("$!")
wait_for 20 grep -q 'event=worker.ready\|event=worker.started' "$T/worker.log"

# run N tasks of NAME made while the queue is paused (so all are there at
# once), wait for them; print the span of their starts in ms, or a reason
burst() { # NAME N -> ids in ids.txt; span printed
  "$S" worker control pause rl > /dev/null
  sleep 1.5 # the worker reads the paused set once a second
  : > ids.txt
  for _ in $(seq "$2"); do "$S" task create "$1" --queue rl 2>/dev/null >> ids.txt; done
  "$S" worker control resume rl > /dev/null
  while read -r id; do "$S" task wait "$id" --timeout 60 > /dev/null 2>&1; done < ids.txt
  while read -r id; do "$S" task info "$id" --json; echo; done < ids.txt > infos.jsonl
  python3 - <<'PY'
import json
rows = [json.loads(l) for l in open('infos.jsonl') if l.strip()]
bad = [r['id'] for r in rows if r['state'] != 'SUCCESS' or r.get('retries', 0)]
if bad:
    print('not SUCCESS or retried:', bad)
else:
    at = sorted(r['result']['at_ms'] for r in rows)
    print(at[-1] - at[0])
PY
}
in_range() { [ "$1" -ge "$2" ] 2>/dev/null && [ "$1" -le "$3" ]; }

# the registered 5/s: 11 starts span 10 steps of 200 ms (2,000 ms; a
# start is never early, the worker's wake-up adds a little)
SPAN=$(burst rtest.tick 11)
echo "figure: 5/s, 11 starts over $SPAN ms (ideal 2000)"
check "5/s: 11 tasks succeed, starts spread over >= 1950 ms (got $SPAN)" yes "$(in_range "$SPAN" 1950 6000 && echo yes)"
# a task of another name is not held back by the waiting ones
"$S" worker control pause rl > /dev/null; sleep 1.5
: > mix.txt
for _ in $(seq 10); do "$S" task create rtest.tick --queue rl 2>/dev/null >> mix.txt; done
FREE=$("$S" task create rtest.free --queue rl 2>/dev/null)
"$S" worker control resume rl > /dev/null
"$S" task wait "$FREE" --timeout 30 > /dev/null 2>&1
check "the free task succeeded" SUCCESS "$("$S" task info "$FREE" --json | json 'd["state"]')"
while read -r id; do "$S" task wait "$id" --timeout 60 > /dev/null 2>&1; done < mix.txt
# the 10 ticks' starts span 1,800 ms; the free task started before the
# last of them by more than 1 s (it did not queue behind them)
FREE_AT=$("$S" task info "$FREE" --json | json 'd["result"]["at_ms"]')
LAST_AT=$(while read -r id; do "$S" task info "$id" --json | json 'd["result"]["at_ms"]'; done < mix.txt | sort -n | tail -1)
check "the free task passed the waiting ticks ($((LAST_AT - FREE_AT)) ms before the last)" yes "$([ $((LAST_AT - FREE_AT)) -ge 1000 ] && echo yes)"

# run-time change through the CLI, acknowledged
"$S" worker control rate-limit rtest.tick 40/s -d rl-1 > c1.txt
check "cli rate-limit exit" 0 "$?"
contains "cli rate-limit acknowledged" '^rl-1: ok rtest.tick: rate limit 40/s \(one start every 0.025 s\)$' c1.txt
SPAN=$(burst rtest.tick 41)
echo "figure: 40/s, 41 starts over $SPAN ms (ideal 1000)"
# 40 steps of 25 ms: 1,000 ms (at the old 5/s it would be 8,000 ms)
check "40/s: 41 starts over 975..4000 ms (got $SPAN)" yes "$(in_range "$SPAN" 975 4000 && echo yes)"
"$S" worker control rate-limit rtest.tick 0 -d rl-1 --json > c2.json
check "no limit: acknowledged" "rtest.tick: no rate limit" "$(json 'd[0]["message"]' < c2.json)"
check "no limit: the ack lists none" "{}" "$(json 'd[0]["rate_limits"]' < c2.json)"
SPAN=$(burst rtest.tick 11)
echo "figure: no limit, 11 starts over $SPAN ms"
check "no limit: 11 starts within 1500 ms, not the 2000 of 5/s (got $SPAN)" yes "$(in_range "$SPAN" 0 1500 && echo yes)"

# bad rates: a usage error (exit 2) whose message is one line naming
# the rate, refused before anything is sent
for bad in 10/fortnight 0/s abc 5/-1s 2000000/s; do
  "$S" worker control rate-limit rtest.tick "$bad" -d rl-1 > b.txt 2>&1
  check "bad rate $bad: refused" 2 "$?"
  check "bad rate $bad: the error is one line" "syncq: worker control: rate '$bad'" "$(head -1 b.txt | cut -d: -f1-3)"
  check "bad rate $bad: then the help hint" "Try 'syncq worker control --help'." "$(sed -n 2p b.txt)"
done
"$S" worker control rate-limit rtest.tick -d rl-1 > b2.txt 2>&1
check "rate-limit without RATE: usage" 2 "$?"

# the dashboard's control API: 202 + ack; a bad rate a 400 naming it
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$T/serve.log" --no-alerts &
pids+=("$!")
wait_for 10 test -s "$T/port"
B="http://127.0.0.1:$(cat "$T/port")"
curl -s -H 'Content-Type: application/json' -d '{"command": "rate_limit", "task": "rtest.tick", "rate": "100/m"}' "$B/api/workers/rl-1/control" > r.json
CID=$(json 'd["id"]' < r.json)
acked() { curl -s "$B/api/control/$CID" > a.json; [ "$(json 'd["acked"]' < a.json)" = True ]; }
wait_for 10 acked
check "api rate-limit acknowledged" "True rtest.tick: rate limit 100/m (one start every 0.600 s)" "$(json 'str(d["ack"]["ok"]) + " " + d["ack"]["message"]' < a.json)"
check "api ack carries the limits" "{'rtest.tick': '100/m'}" "$(json 'd["ack"]["rate_limits"]' < a.json)"
hb() { [ "$(curl -s "$B/api/workers/rl-1" | json 'd["info"].get("rate_limits")')" = "{'rtest.tick': '100/m'}" ]; }
wait_for 10 hb
check "heartbeat shows the limit" "{'rtest.tick': '100/m'}" "$(curl -s "$B/api/workers/rl-1" | json 'd["info"].get("rate_limits")')"
curl -s -o e.json -w '%{http_code}' -H 'Content-Type: application/json' -d '{"command": "rate_limit", "task": "rtest.tick", "rate": "9/fortnight"}' "$B/api/workers/rl-1/control" > code.txt
check "api bad rate: 400" 400 "$(cat code.txt)"
contains "api bad rate: said" 'rate' e.json

finish it_monitor_ratelimit
