#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/enqueue.sh [RUNS] [BUILD...]: enqueue throughput (one task per
# call, pipelined, bulk) and Redis memory per queued no-op task, against
# a private redis-server on loopback TCP (AOF off, as a throughput
# baseline), medians of RUNS (5). Beside each rate, Redis's main-thread
# CPU per task (INFO cpu delta over the run): on a loaded machine the
# rates swing with the load, the CPU per task much less. Beside the
# single-call rate, the PING ceiling of the same run: what one
# synchronous client gets from this Redis for the cheapest command
# (redis-benchmark -t ping, 1 client, no pipeline): a single enqueue is
# one round trip too, so this is its bound on this machine at this
# moment. The pipelined producer is syncq/pipeline.h with 256 creates in
# flight (sharing calls of up to 64); bulk is syncq_task_create_many in
# calls of 10,000 tasks (1,000 per script call).
# Several BUILDs (directories holding bench_enqueue; default build) are
# alternated in each run on the same Redis, so an old and a new build
# see the same load. With python3-celery installed, also times Celery's
# apply_async (send_task) against the same Redis for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
[ $# -gt 0 ] && shift
BUILDS=("$@")
[ ${#BUILDS[@]} -gt 0 ] || BUILDS=(build)
if [ ! -x build/bench_enqueue ] && [ "${BUILDS[*]}" = build ]; then
  cmake -S . -B build >/dev/null && cmake --build build -j2 --target bench_enqueue syncq_cli >/dev/null
fi
for b in "${BUILDS[@]}"; do
  [ -x "$b/bench_enqueue" ] || { echo "enqueue.sh: $b/bench_enqueue: not built" >&2; exit 2; }
done
. bench/lib.sh
bench_redis_start
export SYNCQ_BROKER_URL=$url
# Redis main-thread CPU so far, µs
cpu_us() {
  redis-cli -p "$port" info cpu | tr -d '\r' |
    awk -F: '/^used_cpu_(sys|user)_main_thread:/ {s += $2} END {printf "%.0f", s * 1e6}'
}
declare -A rate cpu
ping=()
loads=()
# one BUILD MODE N [ARGS]: "tasks/s Redis-µs-per-task" of one run
one() {
  local b=$1 mode=$2 n=$3 c0 c1 r
  redis-cli -p "$port" flushall >/dev/null
  c0=$(cpu_us)
  r=$("$b/bench_enqueue" "$mode" "$n" | field tasks_per_s)
  c1=$(cpu_us)
  rate[$b.$mode]+="$r "
  cpu[$b.$mode]+="$(echo "($c1 - $c0) / $n" | bc -l | xargs printf '%.1f') "
}
for i in $(seq "$RUNS"); do
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  ping+=("$(redis-benchmark -p "$port" -t ping -c 1 -P 1 -n 50000 -q 2>/dev/null | tr "\r" "\n" |
    sed -n 's/^PING_MBULK: \([0-9.]*\) requests per second.*/\1/p' | cut -d. -f1)")
  for b in "${BUILDS[@]}"; do
    one "$b" single 20000
    one "$b" pipelined 100000
    one "$b" bulk 200000
    m=$("$b/bench_enqueue" memory 100000)
    rate[$b.mem]+="$(echo "$m" | field bytes_per_task) "
    rate[$b.memne]+="$(echo "$m" | field bytes_per_task_without_events) "
  done
done
med() { tr ' ' '\n' | grep -v '^$' | median; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') on loopback TCP"
echo "load average (1 min) at each run: ${loads[*]}; now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PING ceiling: $(printf '%s\n' "${ping[@]}" | median) PINGs/s (redis-benchmark -t ping -c 1 -P 1; runs: ${ping[*]})"
for b in "${BUILDS[@]}"; do
  echo "== $b (medians of $RUNS; tasks/s, then Redis CPU µs per task)"
  for mode in single pipelined bulk; do
    printf '%-10s %8s tasks/s  %6s µs  (runs: %s/ %s)\n' "$mode" \
      "$(echo "${rate[$b.$mode]}" | med)" "$(echo "${cpu[$b.$mode]}" | med)" \
      "${rate[$b.$mode]}" "${cpu[$b.$mode]}"
  done
  echo "memory per queued no-op task: $(echo "${rate[$b.mem]}" | med) bytes incl. the capped events stream, $(echo "${rate[$b.memne]}" | med) bytes without it"
done
if /usr/bin/python3 -c 'import celery, redis' 2>/dev/null && [ -f tools/celery_peer.py ]; then
  redis-cli -p "$port" flushall >/dev/null
  n=5000
  t0=$(date +%s.%N)
  /usr/bin/python3 tools/celery_peer.py send "redis://127.0.0.1:$port/0" src.queue.tasks.crawler.noop --count $n >/dev/null
  t1=$(date +%s.%N)
  echo "celery send_task (same Redis, $n tasks, one process): $(echo "$n / ($t1 - $t0)" | bc -l | xargs printf '%.0f') tasks/s (includes interpreter start)"
fi
