#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/failover_sentinel.sh: what a Sentinel failover costs, measured.
# 1 master + 1 replica + 3 sentinels on free loopback ports, 2 workers
# (-c 2) and a beat on sentinel://, a producer enqueueing syncq.echo one
# CLI call at a time. The master is SIGKILLed after --before seconds; once
# the sentinels promoted the replica, the old master is started again as
# a replica of the new one (as a supervisor should restart it). After --after seconds
# the producer stops, the workers drain, and the run prints:
#   acked        enqueues acknowledged (exit 0, id printed)
#   refused      enqueues that failed (not acknowledged: the caller knows)
#   lost_enq     acknowledged ids with no task record at the end
#   lost_out     acknowledged tasks not SUCCESS at the end (after drain)
#   dup_exec     tasks started more than once (worker task.start lines)
#   failover_s   kill -> sentinels name the new master
#   enq_gap_s    longest time without an acknowledged enqueue
#   run_gap_s    longest time without a task starting on a worker
#   acked_after  acknowledged enqueues after the failover
# --graceful: SENTINEL FAILOVER instead of the kill: the old master is
# demoted while clients stay connected, so they meet READONLY replies.
# usage: bench/failover_sentinel.sh [--min-replicas N] [--before S]
#        [--after S] [--graceful] [--lag S] [--keep]   (SYNCQ_BIN: ...)
# --lag S: the replication link is cut for the S seconds before the kill
# (link killed, a wrong masterauth keeps it down): the writes of those seconds
# exist on the master only, the window asynchronous replication always
# has, here made wide enough to be hit every time.
# Exit 0 when it ran; the figures are for the reader (tests assert them).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
S=${SYNCQ_BIN:-$here/build/syncq}
MINR=0 BEFORE=4 AFTER=8 KEEP=0 GRACEFUL=0 LAG=0
while [ $# -gt 0 ]; do
  case "$1" in
  --min-replicas) MINR=$2; shift 2 ;;
  --before) BEFORE=$2; shift 2 ;;
  --after) AFTER=$2; shift 2 ;;
  --keep) KEEP=1; shift ;;
  --graceful) GRACEFUL=1; shift ;;
  --lag) LAG=$2; shift 2 ;;
  *) echo "usage: $0 [--min-replicas N] [--before S] [--after S] [--graceful] [--lag S] [--keep]" >&2; exit 2 ;;
  esac
done
D=$(mktemp -d "${TMPDIR:-/tmp}/syncq-failover.XXXXXX")
export SYNCQ_TEST_DIR=$D   # run-with-redis's cleanup finds our children by it
pids=()
cleanup() {
  touch "$D/stop"
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -f "$D/m.pid" ] && kill -9 "$(cat "$D/m.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  [ "$KEEP" = 1 ] && echo "kept $D" >&2 || rm -rf "$D"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
now() { date +%s.%N; }
MP=$(free_port) RP=$(free_port)
SP=("$(free_port)" "$(free_port)" "$(free_port)")
start_master() {
  redis-server --port "$MP" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$D" --dbfilename m.rdb --logfile "$D/m.log" \
    --repl-diskless-sync-delay 0 "$@" &
  echo $! >"$D/m.pid"
}
start_master
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$D" --dbfilename r.rdb --logfile "$D/r.log" --replicaof 127.0.0.1 "$MP" \
  --repl-diskless-sync-delay 0 &
pids+=($!)
for i in 0 1 2; do
  cat >"$D/s$i.conf" <<CONF
port ${SP[$i]}
bind 127.0.0.1
dir $D
logfile $D/s$i.log
sentinel monitor mymaster 127.0.0.1 $MP 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 10000
sentinel parallel-syncs mymaster 1
CONF
  redis-server "$D/s$i.conf" --sentinel &
  pids+=($!)
done
sinfo() { redis-cli -p "${SP[0]}" SENTINEL master mymaster 2>/dev/null | paste - - | awk -v k="$1" '$1==k{print $2}'; }
for _ in $(seq 200); do
  [ "$(sinfo num-slaves)" = 1 ] && [ "$(sinfo num-other-sentinels)" = 2 ] && break
  sleep 0.1
done
[ "$(sinfo num-other-sentinels)" = 2 ] || { echo "failover: sentinels did not settle" >&2; exit 1; }
for _ in $(seq 200); do
  redis-cli -p "$MP" INFO replication | grep -q 'slave0:.*state=online' && break
  sleep 0.1
done
master_port() { redis-cli -p "${SP[1]}" SENTINEL get-master-addr-by-name mymaster 2>/dev/null | tail -1; }

export SYNCQ_BROKER_URL="sentinel://127.0.0.1:${SP[0]},127.0.0.1:${SP[1]},127.0.0.1:${SP[2]}/mymaster"
export SYNCQ_BROKER_MIN_REPLICAS=$MINR SYNCQ_LEASE_TIMEOUT=3 SYNCQ_HEARTBEAT_INTERVAL=1
export SYNCQ_RECONNECT_MAX_DELAY=1 SYNCQ_REDIS_TIMEOUT=2
for w in 1 2; do
  "$S" worker -c 2 -n "w$w" -l debug --logfile "$D/w$w.log" &
  pids+=($!)
done
"$S" beat --lock-ttl 3 --logfile "$D/beat.log" &
pids+=($!)
(
  while [ ! -e "$D/stop" ]; do
    if id=$("$S" task create syncq.echo -k '{"f":1}' 2>>"$D/producer.err"); then
      echo "$(now) $id" >>"$D/acked"
    else
      echo "$(now)" >>"$D/refused"
      sleep 0.05
    fi
  done
) &
ppid=$!
sleep "$BEFORE"
# cut the replication link for LAG seconds: the replica cannot log in
# again (a wrong masterauth), its link is killed on the master
if [ "$LAG" != 0 ]; then
  redis-cli -p "$RP" CONFIG SET masterauth not-the-password >/dev/null
  redis-cli -p "$MP" CLIENT KILL TYPE replica >/dev/null
  sleep "$LAG"
fi
old=$(master_port)
t_kill=$(now)
if [ "$GRACEFUL" = 1 ]; then
  redis-cli -p "${SP[0]}" SENTINEL FAILOVER mymaster >/dev/null
else
  kill -9 "$(cat "$D/m.pid")"
fi
# A vote the sentinels split is tried again after twice failover-timeout
# (20 s here): wait for that second election too, not only the first.
for _ in $(seq 1200); do
  [ "$(master_port)" != "$old" ] && break
  sleep 0.05
done
t_fo=$(now)
[ "$LAG" = 0 ] || redis-cli -p "$RP" CONFIG SET masterauth "" >/dev/null
[ "$(master_port)" != "$old" ] || { echo "failover: no new master after 60 s" >&2; exit 1; }
# the supervisor's restart, as a replica of the new master (a killed
# master must never come back as an empty master)
[ "$GRACEFUL" = 1 ] || start_master --replicaof 127.0.0.1 "$(master_port)"
sleep "$AFTER"
touch "$D/stop"
wait "$ppid" || true
NP=$(master_port)
# states of every acknowledged id, one pipelined redis-cli call
states() {
  awk '{print "HGET {syncq}:t:" $2 " state"}' "$D/acked" | redis-cli -p "$NP" >"$D/states"
}
# drain: every acknowledged task final, 60 s at most
for _ in $(seq 120); do
  states
  grep -qvx 'SUCCESS\|' "$D/states" || break
  sleep 0.5
done
acked=$(wc -l <"$D/acked")
refused=$( [ -f "$D/refused" ] && wc -l <"$D/refused" || echo 0)
lost_enq=$(grep -cx '' "$D/states" || true)
lost_out=$(grep -cvx 'SUCCESS\|' "$D/states" || true)
dup=$(cat "$D"/w*.log | grep -o 'event=task.start task_id=[^ ]*' | sort | uniq -d | wc -l)
# longest time without progress: the largest gap between consecutive
# acknowledged enqueues / task starts (the outage the failover caused)
gap() { sort -n | awk 'NR>1 && $1-p>g{g=$1-p} {p=$1} END{printf "%.1f", g}'; }
acked_after=$(awk -v k="$t_fo" '$1>k' "$D/acked" | wc -l)
enq_gap=$(awk '{print $1}' "$D/acked" | gap)
run_gap=$(cat "$D"/w*.log | grep -o '^ts=[^ ]* .*event=task.start' | cut -d' ' -f1 | cut -c4- \
  | while read -r t; do date -d "$t" +%s.%N; done | gap)
printf 'min_replicas=%s lag=%s acked=%s refused=%s lost_enq=%s lost_out=%s dup_exec=%s failover_s=%.1f enq_gap_s=%s run_gap_s=%s acked_after=%s\n' \
  "$MINR" "$LAG" "$acked" "$refused" "$lost_enq" "$lost_out" "$dup" \
  "$(awk -v a="$t_fo" -v b="$t_kill" 'BEGIN{print a - b}')" "$enq_gap" "$run_gap" "$acked_after"
grep -h "event=broker.failover" "$D"/w*.log "$D/beat.log" | head -3 >&2 || true
# the topology as `syncq status` shows it, once the old master (restarted
# as a replica) has caught up: on a loaded machine its first sync can
# still be running here, and the line would show no replica (30 s at most)
for _ in $(seq 60); do
  redis-cli -p "$NP" INFO replication | grep -q '^slave0:.*state=online' && break
  sleep 0.5
done
"$S" status 2>&1 | grep '^redis ' >&2 || true
