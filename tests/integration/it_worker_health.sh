#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_worker_health.sh: known-failures C43 with `syncq worker health`, the
# health check answered from the worker's --status-file alone:
#  - both children busy with long tasks: live=ok ready=ok every time,
#    exit 0, each answer well under a second;
#  - Redis stopped: live=ok ready=fail reason=broker, exit 0 (a liveness
#    probe does not restart it), exit 1 with --ready;
#  - the supervisor stopped (SIGSTOP, its loop stalls): live=fail within
#    --stale, exit 1; it recovers after SIGCONT;
#  - a clean stop removes the file: live=fail "no status file", exit 1;
#  - usage errors;
#  - --json makes the worker log JSON lines;
#  - C34 at start-up: with maxmemory-policy allkeys-lru the worker and the
#    beat log broker.eviction_unsafe; with noeviction they do not.
# TEST_TIMEOUT: 120
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
cd "$T" || exit 1
SF=$T/worker.status
H() { "$S" worker health --status-file "$SF" "$@"; }

# usage
env -u SYNCQ_WORKER_STATUS_FILE "$S" worker health > /dev/null 2> e.txt
check "no status file configured" 2 "$?"
contains "no status file message" "pass --status-file PATH" e.txt
H --stale 0 > /dev/null 2>&1
check "bad --stale" 2 "$?"
SYNCQ_TASK_TIME_LIMIT=10 SYNCQ_TASK_SOFT_TIME_LIMIT=20 "$S" worker -c 1 > /dev/null 2> e2.txt
check "soft limit above hard refused" 1 "$?"
contains "soft limit message" "SYNCQ_TASK_SOFT_TIME_LIMIT \(20000 ms\) must be below SYNCQ_TASK_TIME_LIMIT \(10000 ms\)" e2.txt
"$S" worker -c 1 --status-file "$T/no/such/dir/st" > /dev/null 2> e3.txt
check "status file in a missing directory refused" 2 "$?"
contains "status file directory message" "SYNCQ_WORKER_STATUS_FILE $T/no/such/dir/st: directory $T/no/such/dir: No such file or directory" e3.txt
H > h0.txt
check "not started: exit" 1 "$?"
contains "not started: reason" '^live=fail ready=fail reason="no status file' h0.txt

SYNCQ_HEARTBEAT_INTERVAL=1 "$S" worker -Q hq -c 2 --status-file "$SF" --logfile "$T/w.log" &
WPID=$!
echo "$WPID" >> "$T/pids"
for _ in $(seq 100); do [ -s "$SF" ] && break; sleep 0.05; done
for _ in 1 2; do "$S" task create syncq.sleep --queue hq -k '{"seconds": 60}' > /dev/null; done
for _ in $(seq 100); do grep -q '"busy":2' "$SF" && break; sleep 0.1; done

# busy: live and ready every time, fast
slow=0
for i in 1 2 3 4 5; do
  t0=$(date +%s%N)
  H > "hb$i.txt"
  rc=$?
  t1=$(date +%s%N)
  check "busy $i: exit" 0 "$rc"
  contains "busy $i: live and ready" "^live=ok ready=ok worker=[^ ]+ state=[a-z]+ busy=2/2$" "hb$i.txt"
  [ $(((t1 - t0) / 1000000)) -lt 1000 ] || slow=$((slow + 1))
  sleep 0.3
done
check "busy answers under 1 s" 0 "$slow"
H --json > hb.json
check "json live" True "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["live"] and d["ready"] and d["status"]["busy"] == 2)' hb.json)"

# Redis down: live, not ready
"$SQ_REDISCTL" stop
for _ in $(seq 50); do grep -q '"broker":"down"' "$SF" && break; sleep 0.1; done
H > hd.txt
check "broker down: liveness exit" 0 "$?"
contains "broker down: reason" '^live=ok ready=fail reason="broker"' hd.txt
H --ready > /dev/null
check "broker down: --ready exit" 1 "$?"
"$SQ_REDISCTL" start
for _ in $(seq 100); do grep -q '"broker":"up"' "$SF" && break; sleep 0.1; done
H --ready > hu.txt
check "broker back: --ready exit" 0 "$?"

# a stalled loop: not live
kill -STOP "$WPID"
sleep 2.5
H --stale 2 > hs.txt
check "stalled: exit" 1 "$?"
contains "stalled: reason" '^live=fail ready=fail reason="event loop stalled: status written [0-9.]+ s ago"' hs.txt
kill -CONT "$WPID"
for _ in $(seq 30); do H --stale 2 > /dev/null && break; sleep 0.1; done
H --stale 2 > hc.txt
check "resumed: exit" 0 "$?"

# a clean stop removes the file (cold: the sleeps are long)
kill -TERM "$WPID"; sleep 0.3; kill -QUIT "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
H > hx.txt
check "stopped: exit" 1 "$?"
contains "stopped: reason" 'no status file' hx.txt

# C34: an evicting policy is called out at start-up, a safe one is not
eviction_warned() { # WHO LOG CMD...
  local who=$1 log=$2
  shift 2
  "$S" "$@" --logfile "$log" &
  local p=$!
  echo "$p" >> "$T/pids"
  for _ in $(seq 100); do grep -qE "worker.ready|beat\." "$log" 2>/dev/null && break; sleep 0.05; done
  sleep 0.3
  kill -TERM "$p"; wait "$p" 2>/dev/null
  grep -c "event=broker.eviction_unsafe who=$who maxmemory_policy=allkeys-lru" "$log"
}
redis-cli -s "$SYNCQ_REDIS_SOCK" config set maxmemory-policy allkeys-lru > /dev/null
check "worker warns of allkeys-lru" 1 "$(eviction_warned worker "$T/ev-w.log" worker -Q evq -c 1)"
check "beat warns of allkeys-lru" 1 "$(eviction_warned beat "$T/ev-b.log" beat)"
redis-cli -s "$SYNCQ_REDIS_SOCK" config set maxmemory-policy noeviction > /dev/null
check "no warning with noeviction" 0 "$(eviction_warned worker "$T/ev-w2.log" worker -Q evq -c 1)"

# --json on a daemon: its log is JSON lines
"$S" worker --json -Q evq -c 1 --logfile "$T/wj.log" &
p=$!
echo "$p" >> "$T/pids"
for _ in $(seq 100); do grep -q "worker.ready" "$T/wj.log" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$p"; wait "$p" 2>/dev/null
check "worker --json logs JSON lines" ok "$(python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("ok" if any(l.get("event") == "worker.ready" for l in lines) else "no worker.ready")' "$T/wj.log" 2>&1 | tail -1)"

# no -Q: default, then the queues the packs route to, in the packs' order;
# an empty SYNCQ_WORKER_QUEUES means the same, a lone comma is refused
"$S" worker -c 1 --logfile "$T/wq.log" &
p=$!
echo "$p" >> "$T/pids"
for _ in $(seq 100); do grep -q "worker.ready" "$T/wq.log" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$p"; wait "$p" 2>/dev/null
contains "no -Q: default and the routed queues" "worker.ready .*queues=default,crawler,image_processing,data_sync,batch_processing " "$T/wq.log"
SYNCQ_WORKER_QUEUES=, "$S" worker -c 1 > /dev/null 2> eq.txt
check "SYNCQ_WORKER_QUEUES=, refused" 2 "$?"
contains "SYNCQ_WORKER_QUEUES=, message" "SYNCQ_WORKER_QUEUES: empty or over-long queue name in ','" eq.txt

finish it_worker_health
