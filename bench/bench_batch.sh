#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/bench_batch.sh [RUNS]: time to create a batch of 100,000 items in
# chunks of 100 (docs/beat.md "Performance"): the library call
# (syncq_batch_create, and syncq_batch_submit with waves) and the whole
# `syncq batch create --items-file` command (process start, file parse,
# chunking, Redis), against a private redis-server on loopback TCP with
# AOF off, median of RUNS (default 5).
# BUILD=dir picks the build (default build/; use a Release build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BUILD=${BUILD:-build}
N=${N:-100000}
SIZE=${SIZE:-100}
[ -x "$BUILD/bench_batch" ] || { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build "$BUILD" -j2 --target bench_batch syncq_cli >/dev/null; }
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
export SYNCQ_BROKER_URL="redis://127.0.0.1:$port/0"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed "s/.*\"$1\":\([0-9.]*\).*/\1/"; }
python3 -c "
import json
with open('$d/items.json', 'w') as f:
    json.dump([{'offer_id': '6%011d' % i, 'price': '%d.90' % (i % 500)} for i in range($N)], f)
with open('$d/items.txt', 'w') as f:
    f.write(''.join('6%011d\n' % i for i in range($N)))"
create=(); waves=(); cli=(); clilines=()
for _ in $(seq "$RUNS"); do
  redis-cli -p "$port" flushall >/dev/null
  create+=("$("$BUILD/bench_batch" create "$N" "$SIZE" | field ms)")
  redis-cli -p "$port" flushall >/dev/null
  waves+=("$("$BUILD/bench_batch" waves "$N" "$SIZE" | field ms)")
  redis-cli -p "$port" flushall >/dev/null
  t0=$(date +%s%N); "$BUILD/syncq" batch create data_sync.sync_products --items-file "$d/items.json" -b "$SIZE" >/dev/null; t1=$(date +%s%N)
  cli+=("$(( (t1 - t0) / 1000000 ))")
  redis-cli -p "$port" flushall >/dev/null
  t0=$(date +%s%N); "$BUILD/syncq" batch create data_sync.sync_products --items-file "$d/items.txt" -b "$SIZE" --max-in-flight 100 >/dev/null; t1=$(date +%s%N)
  clilines+=("$(( (t1 - t0) / 1000000 ))")
done
echo "$N items in chunks of $SIZE ($(( (N + SIZE - 1) / SIZE )) chunk tasks), median of $RUNS:"
echo "  syncq_batch_create (all at once):        $(printf '%s\n' "${create[@]}" | median) ms (runs: ${create[*]})"
echo "  syncq_batch_submit (waves, in flight 100): $(printf '%s\n' "${waves[@]}" | median) ms (runs: ${waves[*]})"
echo "  syncq batch create, JSON array file:     $(printf '%s\n' "${cli[@]}" | median) ms (runs: ${cli[*]})"
echo "  syncq batch create, id-per-line file, waves: $(printf '%s\n' "${clilines[@]}" | median) ms (runs: ${clilines[*]})"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') on loopback TCP"
