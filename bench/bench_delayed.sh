#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/bench_delayed.sh [RUNS]: lateness of delayed tasks (docs/beat.md
# "Performance"), against a private redis-server on loopback TCP (AOF off),
# median of RUNS (default 3) of each run's percentiles:
#   promote  N=100,000 delayed tasks, ETAs spread over W=20 s, promoted by
#            a beat alone; lateness = popped from the ready list - ETA
#   worker   NW=20,000 delayed syncq.noop tasks over 20 s run by
#            `syncq worker -c 2` with `syncq beat`; lateness = started_at
#            - ETA
# BUILD=dir picks the build (default build/; use a Release build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BUILD=${BUILD:-build}
N=${N:-100000}
NW=${NW:-20000}
W=${W:-20}
[ -x "$BUILD/bench_delayed" ] || { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build "$BUILD" -j2 --target bench_delayed syncq_cli >/dev/null; }
export SYNCQ_BIN=$PWD/$BUILD/syncq
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
export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0" SYNCQ_EVENTS_MAXLEN=10000
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed "s/.*\"$1\":\([-0-9.]*\).*/\1/"; }
for mode in promote worker; do
  n=$N; [ "$mode" = worker ] && n=$NW
  p50=(); p99=(); p999=(); mx=(); early=()
  for _ in $(seq "$RUNS"); do
    redis-cli -p "$port" flushall >/dev/null
    out=$("$BUILD/bench_delayed" "$mode" "$n" "$W")
    p50+=("$(echo "$out" | field p50_ms)"); p99+=("$(echo "$out" | field p99_ms)")
    p999+=("$(echo "$out" | field p999_ms)"); mx+=("$(echo "$out" | field max_ms)")
    early+=("$(echo "$out" | field early)")
  done
  echo "$mode: $n tasks over ${W}s: lateness p50 $(printf '%s\n' "${p50[@]}" | median) ms, p99 $(printf '%s\n' "${p99[@]}" | median) ms, p99.9 $(printf '%s\n' "${p999[@]}" | median) ms, max $(printf '%s\n' "${mx[@]}" | median) ms (medians of $RUNS; p99 runs: ${p99[*]}; early: ${early[*]})"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') on loopback TCP"
