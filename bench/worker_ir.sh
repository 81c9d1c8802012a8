#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/worker_ir.sh BUILD [BUILD...]: what a drained no-op task costs the
# worker (supervisor and children), counted in machine instructions under
# valgrind's callgrind instead of CPU time, so the figure holds on a
# loaded machine. Per build: a private Redis (bench/lib.sh), then
# `bench_worker drain N 2 32` (default N 3,000) with `syncq worker` run
# under callgrind (the children are forks: each gets its own count).
# Prints per task the instructions of the supervisor, of the children,
# and both. Round sizes follow the timing, so two runs of one build
# differ by a few per cent (the Redis side, bench/redis_ir.sh, has fixed
# batches and does not). Needs valgrind. About 15 s per build.
# CG_KEEP=DIR keeps each build's callgrind files in DIR/<n>/ (for
# callgrind_annotate; the supervisor's is the largest).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_ir_check worker_ir "$@"
N=${N:-3000}
bench_redis_start
export SYNCQ_BROKER_URL=$url
# the worker runs ~50x slower under callgrind
export SYNCQ_REDIS_TIMEOUT=${SYNCQ_REDIS_TIMEOUT:-60}
w=$(mktemp -d)
trap 'rm -rf "$w"; bench_redis_stop' EXIT

one() {
  local b sup=0 kids=0 t f
  b=$(cd "$1" && pwd)
  rm -f "$w"/cg.* "$w"/run
  printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/cg.%%p %s/syncq "$@" 2>/dev/null\n' \
    "$w" "$b" >"$w/run"
  chmod +x "$w/run"
  redis-cli -p "$port" flushall >/dev/null
  SYNCQ_BIN=$w/run "$b/bench_worker" drain "$N" 2 32 >"$w/out"
  # the supervisor is the process that ran longest: the largest count
  for f in "$w"/cg.*; do
    t=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    if [ "$t" -gt "$sup" ]; then kids=$((kids + sup)); sup=$t; else kids=$((kids + t)); fi
  done
  if [ -n "${CG_KEEP:-}" ]; then
    mkdir -p "$CG_KEEP/$2" && cp "$w"/cg.* "$CG_KEEP/$2/"
  fi
  printf '%-28s %10d %10d %10d %8s\n' "$1" $((sup / N)) $((kids / N)) \
    $(((sup + kids) / N)) "$(field done <"$w/out")"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); drain $N no-op tasks, -c 2 --prefetch 32"
printf '%-28s %10s %10s %10s %8s\n' build "sup Ir/task" "kids" "worker" done
i=0
for b in "$@"; do i=$((i + 1)); one "$b" "$i"; done
