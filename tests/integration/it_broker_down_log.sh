#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_down_log.sh: a beat and a monitor started while Redis is down
# log one broker.down line each, not one per attempt (they open a new
# client every attempt), and one broker.up when Redis comes: one log line
# per state change (issue 12, no floods). Then the beat ticks. Then a
# worker's Redis dies under a running task: its supervisor and its child
# each log broker.down with the reason.
# TEST_TIMEOUT: 60
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
cd "$T" || exit 1
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
export SYNCQ_BROKER_URL="redis://127.0.0.1:$P/0"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
echo '{"schedules": [{"name": "t", "task": "syncq.noop", "interval": 1}]}' > sched.json
"$S" beat -s sched.json --lock-ttl 2 --logfile "$T/beat.log" &
pids+=($!)
"$S" monitor serve --listen 127.0.0.1:0 --logfile "$T/mon.log" &
pids+=($!)
sleep 6   # the beat tries every second, the monitor every 5 s
check "beat: one broker.down in 6 s" 1 "$(grep -c 'event=broker.down' beat.log)"
# stopped before Redis ever came: a clean stop (0), as a worker's, with
# no error line on stderr
SYNCQ_BROKER_URL="redis://127.0.0.1:$P/0" "$S" beat -s sched.json --logfile "$T/beat2.log" 2>beat2.err &
B2=$!
sleep 1
kill "$B2"; wait "$B2"
check "beat stopped while waiting: exit 0" 0 "$?"
check "beat stopped while waiting: nothing on stderr" "" "$(cat beat2.err)"
contains "beat stopped while waiting: says so" 'event=beat.stop reason="stopped before Redis was reachable"' beat2.log
check "monitor: one broker.down in 6 s" 1 "$(grep -c 'event=broker.down' mon.log)"
redis-server --bind 127.0.0.1 --port "$P" --save '' --appendonly no --dir "$T" --logfile "$T/r.log" &
pids+=($!)
for _ in $(seq 200); do
  grep -qs 'event=broker.up' beat.log && grep -qs 'event=broker.up' mon.log && break
  sleep 0.05
done
check "beat: one broker.up" 1 "$(grep -c 'event=broker.up' beat.log)"
check "monitor: one broker.up" 1 "$(grep -c 'event=broker.up' mon.log)"
for _ in $(seq 100); do grep -qs 'event=beat.tick' beat.log && break; sleep 0.1; done
contains "beat ticks after Redis came" 'event=beat.tick' beat.log
check "still one broker.down (beat)" 1 "$(grep -c 'event=broker.down' beat.log)"

# A worker whose Redis dies while a child runs a task that reports
# progress: the supervisor and the child each say why, never err=""
# (a child's calls pass no error struct of their own).
RPID=${pids[-1]}
"$S" task create syncq.sleep --kwargs '{"seconds":4,"tick_ms":100}' >/dev/null
"$S" worker -c 1 -l debug --logfile "$T/worker.log" &
WPID=$!
pids+=($WPID)
for _ in $(seq 100); do grep -qs 'event=task.start' worker.log && break; sleep 0.05; done
kill "$RPID"; wait "$RPID" 2>/dev/null
for _ in $(seq 100); do
  [ "$(grep -c 'event=broker.down' worker.log)" -ge 2 ] && break
  sleep 0.05
done
contains "worker: broker.down of the supervisor" 'proc=worker pid=[0-9]+ event=broker.down' worker.log
contains "worker: broker.down of the child" 'proc=worker-child pid=[0-9]+ event=broker.down' worker.log
check "worker: every broker.down says why" 0 "$(grep 'event=broker.down' worker.log | grep -c 'err=""')"
kill "$WPID"
finish it_broker_down_log
