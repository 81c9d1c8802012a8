#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/checkpoint.sh [RUNS]: recovery hot paths against a private
# redis-server on loopback TCP (AOF off), median of RUNS (5):
#   checkpoint saves/s and loads/s (SHA-256 verified) at 1 KiB and 64 KiB,
#   retry-policy lookups/s (policy file + task + call documents).
# BUILD selects the build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BUILD=${BUILD:-build}
B=$BUILD/bench_checkpoint
[ -x "$B" ] || { cmake -S . -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j2 --target bench_checkpoint >/dev/null; }
d=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
  --pidfile "$d/r.pid" --logfile "$d/r.log" --dir "$d"
trap 'kill "$(cat "$d/r.pid")" 2>/dev/null; rm -rf "$d"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed "s/.*\"$1\":\([0-9.]*\).*/\1/"; }
run() { # run LABEL ARGS...
  local label=$1; shift
  local r=()
  for _ in $(seq "$RUNS"); do
    redis-cli -p "$port" flushall >/dev/null
    r+=("$($B "$@" | field ops_per_s)")
  done
  echo "$label: $(printf '%s\n' "${r[@]}" | median) ops/s (median of $RUNS; runs: ${r[*]})"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') on loopback TCP"
run "checkpoint save 1 KiB " save 20000 1024
run "checkpoint load 1 KiB " load 20000 1024
run "checkpoint save 64 KiB" save 3000 65536
run "checkpoint load 64 KiB" load 3000 65536
run "retry policy lookup   " policy 200000
