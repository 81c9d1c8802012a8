#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/bench_beat.sh [RUNS]: a leader beat firing N=1,000 (and 10,000)
# interval schedules of 1 s that all tick on the same second, for 10 s
# (docs/beat.md "Performance"): ticks per second, lateness of the tasks
# created (created - tick), against a private redis-server on loopback
# TCP with AOF off, median of RUNS (default 3).
# BUILD=dir picks the build (default build/; use a Release build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BUILD=${BUILD:-build}
S=${S:-10}
[ -x "$BUILD/bench_beat" ] || { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build "$BUILD" -j2 --target bench_beat >/dev/null; }
d=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
  --pidfile "$d/r.pid" --logfile "$d/r.log" --dir "$d"
cleanup() {
  local p
  p=$(cat "$d/r.pid" 2>/dev/null || true)
  if [ -n "$p" ]; then
    kill "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$d"
}
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0" SYNCQ_EVENTS_MAXLEN=10000 SYNCQ_LOG_LEVEL=error
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed "s/.*\"$1\":\([-0-9.]*\).*/\1/"; }
for n in ${NS:-1000 10000}; do
  tps=(); p50=(); p99=(); mx=(); dup=()
  for _ in $(seq "$RUNS"); do
    redis-cli -p "$port" flushall >/dev/null
    out=$("$BUILD/bench_beat" "$n" "$S")
    tps+=("$(echo "$out" | field ticks_per_s)"); p50+=("$(echo "$out" | field p50_ms)")
    p99+=("$(echo "$out" | field p99_ms)"); mx+=("$(echo "$out" | field max_ms)")
    dup+=("$(echo "$out" | field runs_minus_tasks)")
  done
  echo "$n schedules x 1 s for ${S}s: $(printf '%s\n' "${tps[@]}" | median) ticks/s, lateness p50 $(printf '%s\n' "${p50[@]}" | median) ms, p99 $(printf '%s\n' "${p99[@]}" | median) ms, max $(printf '%s\n' "${mx[@]}" | median) ms (medians of $RUNS; p99 runs: ${p99[*]}; runs-tasks: ${dup[*]})"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') on loopback TCP"
