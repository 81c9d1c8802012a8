#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/ab.sh BUILD_A BUILD_B [RUNS]: two builds of syncq (say, before and
# after a change), drained in alternation on one private Redis, so that
# whatever load the machine has falls on both alike. Each build directory
# holds `syncq` and `bench_worker` (Release: `cmake -DCMAKE_BUILD_TYPE=Release
# && cmake --build . --target syncq_cli bench_worker`). Per run and build:
# drain N (default 20,000) no-op tasks with -c 2 --prefetch 32, then with
# --prefetch 4, then 1,000 enqueue-to-start samples. Prints medians of
# tasks/s, Redis CPU us per task (INFO cpu delta) and worker CPU us per task
# (supervisor and children, getrusage), and the latency p50/p99.
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?usage: bench/ab.sh BUILD_A BUILD_B [RUNS]}
B=${2:?usage: bench/ab.sh BUILD_A BUILD_B [RUNS]}
RUNS=${3:-5}
N=${N:-20000}
for b in "$A" "$B"; do
  for f in syncq bench_worker; do
    [ -x "$b/$f" ] || { echo "ab: $b/$f: not built" >&2; exit 2; }
  done
done
. bench/lib.sh
bench_redis_start
export SYNCQ_BROKER_URL=$url
declare -A v
for i in $(seq "$RUNS"); do
  for side in A B; do
    b=${!side}
    o32=$(SYNCQ_BIN=$b/syncq "$b/bench_worker" drain "$N" 2 32)
    o4=$(SYNCQ_BIN=$b/syncq "$b/bench_worker" drain "$N" 2 4)
    l=$(SYNCQ_BIN=$b/syncq "$b/bench_worker" latency 1000)
    v[$side,tps32]+="$(echo "$o32" | field tasks_per_s) "
    v[$side,rcpu]+="$(echo "$o32" | field redis_cpu_us_per_task) "
    v[$side,wcpu]+="$(echo "$o32" | field worker_cpu_us_per_task) "
    v[$side,tps4]+="$(echo "$o4" | field tasks_per_s) "
    v[$side,p50]+="$(echo "$l" | field p50_ms) "
    v[$side,p99]+="$(echo "$l" | field p99_ms) "
  done
done
m() { printf '%s\n' $1 | median; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $N tasks, -c 2, median of $RUNS alternated runs"
echo "A = $A: $(build_commit "$A")"
echo "B = $B: $(build_commit "$B")"
printf '%-36s %12s %12s\n' "" A B
for k in "tps32:no-op tasks/s, prefetch 32" "rcpu:  Redis CPU us per task" \
         "wcpu:  worker CPU us per task" "tps4:no-op tasks/s, prefetch 4" \
         "p50:enqueue-to-start p50 ms" "p99:enqueue-to-start p99 ms"; do
  key=${k%%:*}; label=${k#*:}
  printf '%-36s %12s %12s\n' "$label" "$(m "${v[A,$key]}")" "$(m "${v[B,$key]}")"
done
echo "runs:"
for key in tps32 rcpu wcpu tps4 p50 p99; do
  echo "  $key  A: ${v[A,$key]}| B: ${v[B,$key]}"
done
