#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/enqueue.sh [RUNS]: enqueue throughput (single call and bulk) and
# Redis memory per queued no-op task, against a private redis-server on
# loopback TCP (AOF off, as a throughput baseline), median of RUNS (5).
# Beside the single-call rate, the PING ceiling of the same run: what one
# synchronous client gets from this Redis for the cheapest command
# (redis-benchmark -t ping, 1 client, no pipeline): a single enqueue is one
# round trip too, so this is its bound on this machine at this moment.
# Then the pipelined producer (syncq/pipeline.h: one task per call, 256
# calls in flight on one connection).
# With python3-celery installed, also times Celery's apply_async (send_task)
# against the same Redis for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
B=build/bench_enqueue
[ -x "$B" ] || { cmake -S . -B build >/dev/null && cmake --build build -j2 --target bench_enqueue syncq_cli >/dev/null; }
. bench/lib.sh
bench_redis_start
export SYNCQ_BROKER_URL=$url
single=(); piped=(); bulkr=(); mem=(); memne=(); ping=()
for i in $(seq "$RUNS"); do
  ping+=("$(redis-benchmark -p "$port" -t ping -c 1 -P 1 -n 50000 -q 2>/dev/null | tr "\r" "\n" |
    sed -n 's/^PING_MBULK: \([0-9.]*\) requests per second.*/\1/p' | cut -d. -f1)")
  redis-cli -p "$port" flushall >/dev/null
  single+=("$($B single 50000 | field tasks_per_s)")
  redis-cli -p "$port" flushall >/dev/null
  piped+=("$($B pipelined 200000 | field tasks_per_s)")
  redis-cli -p "$port" flushall >/dev/null
  bulkr+=("$($B bulk 200000 | field tasks_per_s)")
  m=$($B memory 100000)
  mem+=("$(echo "$m" | field bytes_per_task)")
  memne+=("$(echo "$m" | field bytes_per_task_without_events)")
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') on loopback TCP"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PING ceiling:        $(printf '%s\n' "${ping[@]}" | median) PINGs/s (redis-benchmark -t ping -c 1 -P 1; runs: ${ping[*]})"
echo "single-call enqueue: $(printf '%s\n' "${single[@]}" | median) tasks/s (median of $RUNS; runs: ${single[*]})"
echo "pipelined enqueue:   $(printf '%s\n' "${piped[@]}" | median) tasks/s (syncq/pipeline.h, 256 in flight, one task per call; runs: ${piped[*]})"
echo "bulk enqueue:        $(printf '%s\n' "${bulkr[@]}" | median) tasks/s (median of $RUNS; runs: ${bulkr[*]})"
echo "memory per queued no-op task: $(printf '%s\n' "${mem[@]}" | median) bytes incl. the capped events stream, $(printf '%s\n' "${memne[@]}" | median) bytes without it"
if /usr/bin/python3 -c 'import celery, redis' 2>/dev/null && [ -f tools/celery_peer.py ]; then
  redis-cli -p "$port" flushall >/dev/null
  n=5000
  t0=$(date +%s.%N)
  /usr/bin/python3 tools/celery_peer.py send "redis://127.0.0.1:$port/0" src.queue.tasks.crawler.noop --count $n >/dev/null
  t1=$(date +%s.%N)
  echo "celery send_task (same Redis, $n tasks, one process): $(echo "$n / ($t1 - $t0)" | bc -l | xargs printf '%.0f') tasks/s (includes interpreter start)"
fi
