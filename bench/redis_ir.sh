#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/redis_ir.sh BUILD [BUILD...]: what the broker's lease and settle
# calls cost Redis, counted in machine instructions instead of time, so the
# figure holds on a loaded machine (times there swing by a third from run
# to run; instruction counts do not depend on the load).
# Per build: a private redis-server on a free loopback port runs under
# valgrind's callgrind, counting only inside FCALL (the broker's functions
# and the Redis commands they run). `bench_worker calls N B` enqueues N
# (default 3,000) no-op tasks (not counted), then leases B (default 32)
# at a time, settling each batch ok in the same pipelined round as the
# next lease, as a worker's round does, without a worker: fixed batches,
# so two runs of one build count nearly the same. Prints per task: the
# instructions of lease + settle, the part in redis.call (the commands
# and their dispatch: scriptCall) and the rest (the Lua interpreter and
# the conversion of arguments and replies). A build directory holds
# `syncq` and `bench_worker`. Needs valgrind (callgrind_control,
# callgrind_annotate). Slow: about a minute per build on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_ir_check redis_ir "$@"
N=${N:-3000}
B=${B:-32}
# Redis runs ~50x slower under callgrind: a bulk enqueue call outlasts
# the default 5 s reply timeout
export SYNCQ_REDIS_TIMEOUT=${SYNCQ_REDIS_TIMEOUT:-120}

vp=
w=
cleanup() {
  [ -n "$vp" ] && kill "$vp" 2>/dev/null && wait "$vp" 2>/dev/null
  [ -n "$w" ] && rm -rf "$w"
  return 0
}
trap cleanup EXIT

one() {
  local b=$1 port out tot sc bp
  w=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --toggle-collect=fcallCommand \
    --callgrind-out-file="$w/cg.out" redis-server --bind 127.0.0.1 \
    --port "$port" --save '' --appendonly no --dir "$w" >"$w/vg.log" 2>&1 &
  vp=$!
  for _ in $(seq 300); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0"
  # warm-up: loads the library; then the counted run, counted from the
  # moment its tasks are enqueued (it waits for its ready file to go)
  "$b/bench_worker" calls 100 "$B" >/dev/null
  SYNCQ_BENCH_READY_FILE=$w/ready "$b/bench_worker" calls "$N" "$B" \
    >"$w/out" &
  bp=$!
  while [ ! -e "$w/ready" ] && kill -0 "$bp" 2>/dev/null; do sleep 0.1; done
  callgrind_control -z "$vp" >/dev/null 2>&1
  rm -f "$w/ready"
  wait "$bp" || { echo "redis_ir: $b: bench_worker calls failed" >&2; exit 1; }
  out=$(cat "$w/out")
  callgrind_control -d "$vp" >/dev/null 2>&1
  kill "$vp"; wait "$vp" 2>/dev/null || true
  vp=
  tot=$(callgrind_annotate --inclusive=yes "$w"/cg.out.*1 2>/dev/null |
        awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  sc=$(callgrind_annotate --inclusive=yes "$w"/cg.out.*1 2>/dev/null |
       awk '/:scriptCall / && !s {gsub(",", "", $1); print $1; s = 1}')
  [ -n "${KEEP:-}" ] && cp "$w"/cg.out.*1 "$KEEP" 2>/dev/null; rm -rf "$w"
  w=
  printf '%-28s %10d %10d %10d %8s\n' "$b" $((tot / N)) $((sc / N)) \
    $(((tot - sc) / N)) "$(echo "$out" | field done)"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $N tasks, lease + settle $B at a time"
printf '%-28s %10s %10s %10s %8s\n' build "Ir/task" "commands" "Lua+glue" done
for b in "$@"; do one "$b"; done
