#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/redis_ir.sh BUILD [BUILD...]: what the broker's Lua costs Redis,
# counted in machine instructions instead of time, so the figure holds on
# a loaded machine (times there swing by a third from run to run; the
# instruction counts of two runs of one build differ by about 1 %).
# Per build: a private redis-server on a free loopback port runs under
# valgrind's callgrind, counting only inside FCALL (the broker's functions
# and the Redis commands they run); bench_worker drains N (default 3,000)
# no-op tasks with -c 2 --prefetch 32 (after a 200-task warm-up that loads
# the library). Prints per drained task: the instructions of all FCALLs
# (lease, settle, and the bulk enqueue that created the tasks), the part
# spent in redis.call (the commands and their dispatch: scriptCall) and
# the rest (the Lua interpreter and the conversion of arguments and
# replies). Each build directory holds `syncq` and `bench_worker`.
# Needs valgrind (callgrind_control, callgrind_annotate). Slow: about
# 40 s per build for 3,000 tasks.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/redis_ir.sh BUILD [BUILD...]" >&2; exit 2; }
N=${N:-3000}
for b in "$@"; do
  for f in syncq bench_worker; do
    [ -x "$b/$f" ] || { echo "redis_ir: $b/$f: not built" >&2; exit 2; }
  done
done
command -v valgrind >/dev/null || { echo "redis_ir: valgrind not found" >&2; exit 2; }
. bench/lib.sh

one() {
  local b=$1 w vp port out tot sc
  w=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --toggle-collect=fcallCommand \
    --callgrind-out-file="$w/cg.out" redis-server --bind 127.0.0.1 \
    --port "$port" --save '' --appendonly no --dir "$w" >"$w/vg.log" 2>&1 &
  vp=$!
  for _ in $(seq 300); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0"
  SYNCQ_BIN=$b/syncq "$b/bench_worker" drain 200 2 32 >/dev/null
  callgrind_control -z "$vp" >/dev/null 2>&1
  out=$(SYNCQ_BIN=$b/syncq "$b/bench_worker" drain "$N" 2 32)
  callgrind_control -d "$vp" >/dev/null 2>&1
  kill "$vp"; wait "$vp" 2>/dev/null || true
  tot=$(callgrind_annotate --inclusive=yes "$w"/cg.out.*1 2>/dev/null |
        awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  sc=$(callgrind_annotate --inclusive=yes "$w"/cg.out.*1 2>/dev/null |
       awk '/:scriptCall / && !s {gsub(",", "", $1); print $1; s = 1}')
  [ -n "${KEEP:-}" ] && echo "kept $w" >&2 || rm -rf "$w"
  printf '%-28s %10d %10d %10d %8s\n' "$b" $((tot / N)) $((sc / N)) \
    $(((tot - sc) / N)) "$(echo "$out" | field done)"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $N tasks, -c 2, --prefetch 32"
printf '%-28s %10s %10s %10s %8s\n' build "Ir/task" "commands" "Lua+glue" done
for b in "$@"; do one "$b"; done
