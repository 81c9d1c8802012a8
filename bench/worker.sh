#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/worker.sh [RUNS]: what `syncq worker` delivers on this machine,
# against a private redis-server on loopback TCP (AOF off, as the engine's
# enqueue bench), median of RUNS (default 5):
#   drain    20,000 syncq.noop tasks queued first, then `syncq worker -c 2`
#            started; time from the start until all are SUCCESS (results
#            stored); with --prefetch 32 (batched leases, the throughput
#            setting) and with the default --prefetch 1
#   latency  enqueue-to-start of syncq.stamp on an idle worker (-c 2),
#            1,000 samples one at a time: p50, p99
#   rss      VmRSS of the idle supervisor and its children
# With python3-celery installed (/usr/bin/python3), the same drain on a
# Celery prefork worker (-c 2, Redis broker + result backend) through
# tools/celery_peer.py, and the ratio.
# BUILD=dir picks the build (default build/; use a Release build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BUILD=${BUILD:-build}
N=${N:-20000}
[ -x "$BUILD/bench_worker" ] || { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build "$BUILD" -j2 --target bench_worker syncq_cli >/dev/null; }
export SYNCQ_BIN=$PWD/$BUILD/syncq
B=$BUILD/bench_worker
d=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
  --pidfile "$d/r.pid" --logfile "$d/r.log" --dir "$d"
cpid=""
cleanup() {
  [ -n "$cpid" ] && kill -9 -- -"$cpid" 2>/dev/null
  kill "$(cat "$d/r.pid")" 2>/dev/null; rm -rf "$d"
}
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed "s/.*\"$1\":\([0-9.]*\).*/\1/"; }

p32=(); p1=(); l50=(); l99=()
for i in $(seq "$RUNS"); do
  p32+=("$($B drain "$N" 2 32 | field tasks_per_s)")
  p1+=("$($B drain "$N" 2 1 | field tasks_per_s)")
  l=$($B latency 1000)
  l50+=("$(echo "$l" | field p50_ms)"); l99+=("$(echo "$l" | field p99_ms)")
done
rss=$($B rss)
echo "load before: $(cut -d" " -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') on loopback TCP, build $BUILD"
m32=$(printf '%s\n' "${p32[@]}" | median)
echo "drain $N syncq.noop, syncq worker -c 2 --prefetch 32: $m32 tasks/s (median of $RUNS; runs: ${p32[*]})"
echo "drain $N syncq.noop, syncq worker -c 2 (prefetch 1): $(printf '%s\n' "${p1[@]}" | median) tasks/s (runs: ${p1[*]})"
echo "enqueue-to-start, idle worker -c 2: p50 $(printf '%s\n' "${l50[@]}" | median) ms, p99 $(printf '%s\n' "${l99[@]}" | median) ms (1,000 samples per run; p50 runs: ${l50[*]}; p99 runs: ${l99[*]})"
echo "idle RSS: $rss"

if /usr/bin/python3 -c 'import celery, redis' 2>/dev/null && [ -f tools/celery_peer.py ]; then
  peer=tools/celery_peer.py
  url="redis://127.0.0.1:$port/0"
  cr=()
  for i in $(seq "$RUNS"); do
    redis-cli -p "$port" flushall >/dev/null
    /usr/bin/python3 "$peer" send "$url" syncq.noop --count "$N" >/dev/null
    setsid /usr/bin/python3 "$peer" worker "$url" --task syncq.noop=noop \
      --pool prefork --concurrency 2 --loglevel WARNING >"$d/celery.log" 2>&1 &
    cpid=$!
    t0=""; done_n=0
    while [ "$done_n" -lt "$N" ]; do
      done_n=$(redis-cli -p "$port" eval "return #redis.call('keys','celery-task-meta-*')" 0)
      if [ -z "$t0" ] && [ "$done_n" -gt 0 ]; then t0=$(date +%s.%N); n0=$done_n; fi
      sleep 0.05
    done
    t1=$(date +%s.%N)
    cr+=("$(echo "($N - $n0) / ($t1 - $t0)" | bc -l | xargs printf '%.0f')")
    if [ "$i" = 1 ]; then
      crss="supervisor_kb=$(awk '/VmRSS/{print $2}' /proc/$cpid/status)"
      for k in $(cat /proc/$cpid/task/$cpid/children 2>/dev/null); do
        crss="$crss child_kb=$(awk '/VmRSS/{print $2}' /proc/$k/status)"
      done
    fi
    kill -TERM -- -"$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null || true; cpid=""
  done
  mc=$(printf '%s\n' "${cr[@]}" | median)
  echo "celery $(/usr/bin/python3 -c 'import celery; print(celery.__version__)') prefork -c 2, same drain (timed from its first result): $mc tasks/s (runs: ${cr[*]}); RSS under load: $crss"
  echo "ratio syncq (--prefetch 32) / celery: $(echo "$m32 / $mc" | bc -l | xargs printf '%.1f')x"
else
  echo "celery: python3-celery not installed; no comparison"
fi
