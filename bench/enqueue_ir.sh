#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/enqueue_ir.sh BUILD [BUILD...]: what an enqueued task costs Redis
# and the producer, counted in machine instructions under valgrind's
# callgrind instead of time, so the figures hold on a loaded machine (the
# enqueue rates of bench/enqueue.sh swing by 3x there; instruction and
# command counts do not depend on the load).
# Per build and mode (single: one syncq_task_create per task; pipelined:
# syncq/pipeline.h, 256 in flight; bulk: syncq_task_create_many, 1,000
# tasks per call): a private redis-server on a free loopback port runs
# under callgrind; `bench_enqueue MODE N` is counted from after a warm-up
# (which loads the library) to its end. Prints per task: the
# instructions of the whole Redis process (reading, parsing, the call,
# the reply, the event loop), the part inside FCALL (the enqueue
# function and the commands it runs), the part in redis.call (those
# commands and their dispatch: scriptCall), the Redis commands run per
# task (INFO commandstats, FCALL itself not counted), and the producer's
# instructions per task (bench_enqueue under callgrind against a native
# Redis: preparing, encoding, sending, reading replies; its start-up is
# included and is small beside N tasks). VERBOSE=1 adds the commands by
# name; MODES="single bulk" runs only those; KEEP=FILE keeps the Redis
# dumps (FILE.<mode>, for callgrind_annotate). A build directory holds bench_enqueue. Needs valgrind. About a
# minute per build on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
IR_NEED=bench_enqueue bench_ir_check enqueue_ir "$@"
NS=${NS:-2000}    # single: tasks
NP=${NP:-5000}    # pipelined
NB=${NB:-20000}   # bulk
# Redis runs ~50x slower under callgrind: a bulk call outlasts the
# default 5 s reply timeout
export SYNCQ_REDIS_TIMEOUT=${SYNCQ_REDIS_TIMEOUT:-120}

vp=
w=$(mktemp -d)
cleanup() {
  [ -n "$vp" ] && kill "$vp" 2>/dev/null && wait "$vp" 2>/dev/null
  rm -rf "$w"
  return 0
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_ping() {
  for _ in $(seq 300); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "enqueue_ir: Redis on port $1 did not start" >&2
  exit 1
}
# inclusive instructions of the first function matching $2 in dump $1
incl() {
  callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
    awk -v f="$2" '$0 ~ f && !s {gsub(",", "", $1); print $1; s = 1}'
}
# Redis commands per task from INFO commandstats (FCALL not counted)
commands() {
  redis-cli -p "$1" info commandstats | tr -d '\r' |
    sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\),.*/\1 \2/p' |
    grep -v -E '^(fcall|info|config\|.*|flushall|ping|function\|.*|client\|.*|hello|select) ' |
    sort -k2,2nr || true
}

# one BUILD MODE N: Redis under callgrind, the counted run, then the
# producer under callgrind against a native Redis
one() {
  local b=$1 mode=$2 n=$3 port dump tot fc sc cmds per cl
  port=$(free_port)
  rm -f "$w"/cg.*
  valgrind --tool=callgrind --callgrind-out-file="$w/cg.out" redis-server \
    --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$w" \
    >"$w/vg.log" 2>&1 &
  vp=$!
  wait_ping "$port"
  export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0"
  "$b/bench_enqueue" single 10 >/dev/null # loads the library
  redis-cli -p "$port" flushall >/dev/null
  redis-cli -p "$port" config resetstat >/dev/null
  callgrind_control -z "$vp" >/dev/null 2>&1
  "$b/bench_enqueue" "$mode" "$n" >/dev/null ||
    { echo "enqueue_ir: $b: bench_enqueue $mode failed" >&2; exit 1; }
  callgrind_control -d "$vp" >/dev/null 2>&1
  cmds=$(commands "$port")
  kill "$vp"; wait "$vp" 2>/dev/null || true
  vp=
  dump=$(ls -t "$w"/cg.out.* | head -1)
  tot=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  fc=$(incl "$dump" ':fcallCommand ')
  sc=$(incl "$dump" ':scriptCall ')
  per=$(echo "$cmds" | awk -v n="$n" '{s += $2} END {printf "%.2f", s / n}')
  # the producer, Redis native
  bench_redis_start
  SYNCQ_BROKER_URL=$url "$b/bench_enqueue" single 10 >/dev/null
  SYNCQ_BROKER_URL=$url valgrind --tool=callgrind \
    --callgrind-out-file="$w/cl.out" "$b/bench_enqueue" "$mode" "$n" \
    >/dev/null 2>&1 || { echo "enqueue_ir: $b: producer run failed" >&2; exit 1; }
  bench_redis_stop
  cl=$(callgrind_annotate "$w/cl.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  rm -f "$w/cl.out"
  printf '%-26s %-9s %9d %9d %9d %7s %9d\n' "$b" "$mode" $((tot / n)) \
    $((${fc:-0} / n)) $((${sc:-0} / n)) "$per" $((cl / n))
  if [ -n "${VERBOSE:-}" ]; then
    echo "$cmds" | awk -v n="$n" '{printf "    %-14s %6.3f per task\n", $1, $2 / n}'
  fi
  [ -n "${KEEP:-}" ] && cp "$dump" "$KEEP.$mode" 2>/dev/null
  rm -f "$w"/cg.*
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/'); tasks: single $NS, pipelined $NP, bulk $NB"
printf '%-26s %-9s %9s %9s %9s %7s %9s\n' build mode "Redis Ir" "in FCALL" commands "cmds" "client Ir"
for b in "$@"; do
  for m in ${MODES:-single pipelined bulk}; do
    case $m in
      single) one "$b" single "$NS" ;;
      pipelined) one "$b" pipelined "$NP" ;;
      bulk) one "$b" bulk "$NB" ;;
      *) echo "enqueue_ir: unknown mode $m" >&2; exit 2 ;;
    esac
  done
done
