#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_cli_up.sh: `syncq up` and `syncq demo`, the two commands a newcomer
# runs first.
#  - up refuses bad -Q names, a non-loopback --listen without a token, a
#    port already taken and a host name, with exit status 2 and nothing
#    started (no var/ directory, no Redis);
#  - up with no broker configured starts a private Redis under --var,
#    prints the export line for other shells, serves tasks and the
#    dashboard; a SIGKILLed worker is restarted; Ctrl-C stops everything
#    (exit 0, no process left); a delayed task survives the restart
#    (AOF on);
#  - up keeps the database and the worker's liveness file under --var
#    (worker health answers from it);
#  - demo refuses a bad --faults or --timeout at once;
#  - demo on a small catalog: exit 0, every offer in SQLite, nothing
#    dead-lettered; the second run is incremental (all unchanged).
# TEST_TIMEOUT: 420
# TEST_LABELS: slow
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for FILE REGEX SECONDS
wait_for() {
  for _ in $(seq $(($3 * 10))); do grep -qE -- "$2" "$1" && return 0; sleep 0.1; done
  return 1
}
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }
cd "$T" || exit 1

# --- preflight: refused before anything starts
expect_usage() { # NAME MESSAGE ARGS...
  local name=$1 msg=$2
  shift 2
  env -u SYNCQ_BROKER_URL "$S" up --var "$T/pf" "$@" > pf.out 2>&1
  check "$name: exit" 2 "$?"
  contains "$name: message" "$msg" pf.out
  check "$name: nothing started" no "$([ -e "$T/pf" ] && echo yes || echo no)"
}
expect_usage "non-ASCII queue" "queue name '队列' has byte 0xe9" -Q 队列
expect_usage "empty queue" "empty or over-long queue name in 'a,,b'" -Q a,,b
expect_usage "public listen" "refusing to listen on 0.0.0.0:5999 without a token: it is not loopback" --listen 0.0.0.0:5999
expect_usage "host name" "not an IPv4 address" --listen nowhere:1
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(30)' "$T/busy.port" &
HOLD=$!
for _ in $(seq 50); do [ -s "$T/busy.port" ] && break; sleep 0.1; done
expect_usage "port taken" "cannot listen on 127.0.0.1:$(cat "$T/busy.port"): Address already in use" --listen "127.0.0.1:$(cat "$T/busy.port")"
kill "$HOLD"; wait "$HOLD" 2>/dev/null

# --- a real stack on a private Redis
PORT=$(free_port)
start_up() { # LOG
  env -u SYNCQ_BROKER_URL SYNCQ_HEARTBEAT_INTERVAL=1 "$S" up --var "$T/up" --listen "127.0.0.1:$PORT" --workers 2 > "$1" 2>&1 &
  UPID=$!
  wait_for "$1" "export SYNCQ_BROKER_URL=" 20
}
start_up up1.log
check "up prints the export line" 0 "$?"
B=$(sed -n 's/.*export SYNCQ_BROKER_URL=//p' up1.log)
check "private broker under --var" "unix://$(realpath "$T/up")/redis.sock" "$B"
contains "dashboard url" "dashboard http://127.0.0.1:$PORT" up1.log
UPV=$(realpath "$T/up")
contains "data under --var" "^syncq up: database $UPV/1688sync.db$" up1.log
contains "liveness file under --var" "^syncq up: worker liveness: syncq worker health --status-file $UPV/worker.status$" up1.log
for _ in $(seq 50); do [ -s "$UPV/worker.status" ] && break; sleep 0.1; done
"$S" worker health --status-file "$UPV/worker.status" > wh.txt
check "worker health of up's worker" 0 "$?"
contains "worker health live" "^live=ok ready=ok " wh.txt
export SYNCQ_BROKER_URL=$B
ID=$("$S" task create syncq.echo -k '{"hello": "up"}')
"$S" task wait "$ID" --timeout 30 --json > w1.json
check "task served" SUCCESS "$(json 'd["state"]' < w1.json)"
check "task result" up "$(json 'd["result"]["hello"]' < w1.json)"
wait_for up1.log "monitor" 10
code=""
for _ in $(seq 50); do
  code=$(curl -s -o health.json -w '%{http_code}' "http://127.0.0.1:$PORT/api/health") && [ "$code" = 200 ] && break
  sleep 0.2
done
check "dashboard answers" 200 "$code"

# a worker killed outright is restarted and serves again
WPID=""
for c in $(children "$UPID"); do
  tr '\0' ' ' < "/proc/$c/cmdline" | grep -q ' worker' && WPID=$c
done
check "worker child found" yes "$([ -n "$WPID" ] && echo yes || echo no)"
kill -9 "$WPID"
wait_for up1.log "worker +\| \(restarting, attempt 1\)" 15
check "worker restarted" 0 "$?"
ID2=$("$S" task create syncq.echo -k '{"n": 2}')
"$S" task wait "$ID2" --timeout 30 > /dev/null
check "task served after the restart" 0 "$?"

# a delayed task, then Ctrl-C: everything stops
LATE=$("$S" task create syncq.echo --countdown 3600 -k '{"late": true}')
state_late=$("$S" task info "$LATE" --json | json 'd["state"]')
kids=$(children "$UPID")
kill -INT "$UPID"
wait "$UPID"
check "up exit after Ctrl-C" 0 "$?"
contains "up says stopped" "^syncq up: stopped" up1.log
left=0
for c in $kids; do kill -0 "$c" 2>/dev/null && left=$((left + 1)); done
check "no child left" 0 "$left"
check "socket removed or dead" no "$("$S" status > /dev/null 2>&1 && echo yes || echo no)"

# restart: the delayed task is still there (AOF)
start_up up2.log
check "up restarts" 0 "$?"
check "delayed task kept across restart" "$state_late" "$("$S" task info "$LATE" --json | json 'd["state"]')"
kill -INT "$UPID"
wait "$UPID"
check "second up exit" 0 "$?"
unset SYNCQ_BROKER_URL

# --listen with port 0: the address printed is the one the monitor bound
env -u SYNCQ_BROKER_URL "$S" up --var "$T/up0" --listen 127.0.0.1:0 --no-beat > up0.log 2>&1 &
UPID=$!
wait_for up0.log "export SYNCQ_BROKER_URL=" 20
P0=$(sed -n 's/.*dashboard http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' up0.log | head -1)
check "port 0: a real port printed" 1 "$([ "${P0:-0}" -gt 0 ] && echo 1 || echo 0)"
check "port 0: that port answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${P0:-1}/api/health")"
kill -INT "$UPID"
wait "$UPID"
check "port 0: up exit" 0 "$?"

# --- demo usage errors: refused at once, nothing started
"$S" demo --faults bogus --var "$T/dbad" > dbad.txt 2>&1
check "demo bad faults exit" 2 "$?"
contains "demo bad faults message" "^syncq: demo: --faults: fault 'bogus'" dbad.txt
"$S" demo --timeout 0 --var "$T/dbad" > dbad2.txt 2>&1
check "demo bad timeout exit" 2 "$?"
check "demo usage errors start nothing" no "$([ -e "$T/dbad" ] && echo yes || echo no)"

# --- the demo, small: every offer stored, then incremental
"$S" demo --products 40 --var "$T/demo" --timeout 300 > demo1.out 2>&1
check "demo exit" 0 "$?"
contains "demo products" "products +40 in the database \(40 offers in the catalog\)" demo1.out
contains "demo dead letters" "dead letters +0$" demo1.out
contains "demo inserted" "sync_products +inserted 40, updated 0, unchanged 0" demo1.out
check "demo rows" 40 "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from product").fetchone()[0])' "$T/demo/1688sync.db")"
"$S" demo --products 40 --var "$T/demo" --timeout 300 > demo2.out 2>&1
check "demo again exit" 0 "$?"
contains "demo again incremental" "sync_products +inserted 0, updated 0, unchanged 40" demo2.out
check "demo again rows" 40 "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from product").fetchone()[0])' "$T/demo/1688sync.db")"

finish it_cli_up
