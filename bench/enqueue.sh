#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/enqueue.sh [RUNS]: enqueue throughput (single call and bulk) and
# Redis memory per queued no-op task, against a private redis-server on
# loopback TCP (AOF off, as a throughput baseline), median of RUNS (5).
# With python3-celery installed, also times Celery's apply_async (send_task)
# against the same Redis for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
B=build/bench_enqueue
[ -x "$B" ] || { cmake -S . -B build >/dev/null && cmake --build build -j2 --target bench_enqueue syncq_cli >/dev/null; }
d=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
  --pidfile "$d/r.pid" --logfile "$d/r.log" --dir "$d"
stop_redis() {
  local p; p=$(cat "$d/r.pid" 2>/dev/null) || true
  if [ -n "$p" ]; then
    kill "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  fi
  rm -rf "$d"
}
trap stop_redis EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed "s/.*\"$1\":\([0-9.]*\).*/\1/"; }
single=(); bulkr=(); mem=(); memne=()
for i in $(seq "$RUNS"); do
  redis-cli -p "$port" flushall >/dev/null
  single+=("$($B single 50000 | field tasks_per_s)")
  redis-cli -p "$port" flushall >/dev/null
  bulkr+=("$($B bulk 200000 | field tasks_per_s)")
  m=$($B memory 100000)
  mem+=("$(echo "$m" | field bytes_per_task)")
  memne+=("$(echo "$m" | field bytes_per_task_without_events)")
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') on loopback TCP"
echo "single-call enqueue: $(printf '%s\n' "${single[@]}" | median) tasks/s (median of $RUNS; runs: ${single[*]})"
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
