#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_worker_faults.sh: issue 12 items 1, 2 and 6 in a running worker. A
# 4 s MISCONF period while tasks finish: the worker keeps every finished
# outcome and records it once Redis accepts writes again (no
# outcome_refused, every task SUCCESS after one delivery), does not hammer
# Redis (few script calls, EVALSHA or FCALL, during the period), logs the
# error state once
# per process when it starts and once when it ends, and /metrics-bound
# counters (broker_errors in the worker's info, and in a beat's status
# record) count the errors; /metrics exports both. SQ_FAULT=aof-full makes
# the MISCONF period a full AOF disk instead of a failed snapshot
# (it_worker_aof_full.sh).
# TEST_TIMEOUT: 90
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
S=$SYNCQ_BIN
T=$SYNCQ_TEST_DIR
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
# script calls: EVALSHA, or FCALL when the broker's Lua runs as functions
evalsha() { R info commandstats | sed -n 's/^cmdstat_\(evalsha\|fcall\):calls=\([0-9]*\),.*/\2/p' | awk '{n+=$1} END {print n+0}'; }
export SYNCQ_RECONNECT_MAX_DELAY=2
"$S" worker -Q wf -c 2 -n it-wf --logfile "$T/w.log" &
w=$!
echo "$w" >>"$T/pids"
for _ in $(seq 200); do grep -q worker.ready "$T/w.log" 2>/dev/null && break; sleep 0.05; done
"$S" beat --id it-wf-beat --logfile "$T/b.log" &
b=$!
echo "$b" >>"$T/pids"
ids=()
for i in $(seq 20); do
  ids+=("$("$S" task create syncq.sleep -q wf -k '{"seconds":0.4}')")
done
sleep 0.5
fault=${SQ_FAULT:-misconf}
"$SYNCQ_SOURCE_DIR/tests/integration/faultctl.sh" "$fault-on"
l0=$(wc -l <"$T/w.log"); c0=$(evalsha)
sleep 4
c1=$(evalsha); l1=$(wc -l <"$T/w.log")
"$SYNCQ_SOURCE_DIR/tests/integration/faultctl.sh" "$fault-off"
for id in "${ids[@]}"; do
  "$S" task wait "$id" --timeout 30 >/dev/null || fail "task $id did not finish"
  st=$(R hget "{syncq}:t:$id" state); [ "$st" = SUCCESS ] || fail "task $id $st"
  a=$(R hget "{syncq}:t:$id" attempt); [ "$a" = 1 ] || fail "task $id delivered $a times"
done
grep -q 'event=worker.outcome_refused' "$T/w.log" && fail "an outcome was refused"
grep -q 'event=worker.settle_refused' "$T/w.log" && fail "an outcome was dropped"
calls=$((c1 - c0)); lines=$((l1 - l0))
echo "info: MISCONF 4 s: $calls script calls, $lines log lines"
# 4 processes (supervisor, 2 children, the beat), each backing off from
# 100 ms to 2 s: a few calls each (the hot loop was thousands a second)
[ "$calls" -le 48 ] || fail "$calls calls reached Redis in 4 s of MISCONF"
# one broker.error per process that met it (the supervisor and up to 2
# children), and no other broker lines in between
errs=$(grep -c 'event=broker.error .*code=MISCONF' "$T/w.log")
[ "$errs" -ge 1 ] && [ "$errs" -le 3 ] || fail "$errs broker.error lines"
[ "$lines" -le 8 ] || fail "$lines log lines during 4 s of MISCONF"
grep -q 'event=broker.recovered .*code=MISCONF errors=[0-9]' "$T/w.log" \
  || fail "no broker.recovered line with a count"
info=$(R get "{syncq}:w:it-wf")
echo "$info" | grep -q '"broker_errors":[1-9]' || fail "broker_errors not counted: $info"
# ... and /metrics exports it per worker
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$T/serve.log" &
m=$!
echo "$m" >>"$T/pids"
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
metrics=$(curl -s "http://127.0.0.1:$(cat "$T/port")/metrics")
echo "$metrics" | grep -Eq '^syncq_worker_broker_errors_total\{worker="it-wf"\} [1-9]' \
  || fail "no broker errors in /metrics: $(echo "$metrics" | grep broker_)"
echo "$metrics" | grep -q '^syncq_worker_outcomes_refused_total{worker="it-wf"} 0' \
  || fail "outcomes_refused not exported"
echo "$metrics" | grep -Eq '^syncq_monitor_broker_reconnects_total [0-9]' \
  || fail "the monitor's own counters not exported"
# the beat met MISCONF too (its poll writes): counted in its status record
# and exported per beat
echo "$metrics" | grep -Eq '^syncq_beat_broker_errors_total\{beat="it-wf-beat"\} [1-9]' \
  || fail "no beat broker errors in /metrics: $(echo "$metrics" | grep beat_)"
echo "$metrics" | grep -q '^syncq_beat_up{beat="it-wf-beat"} 1' \
  || fail "the beat is not up in /metrics"
kill -TERM "$m" "$w" "$b"; wait "$w" || true
echo "ok"
