#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/api.sh [RUNS]: tasks created per second by the producers other
# than C: the HTTP task API (`syncq monitor serve`, POST /api/tasks one
# task per request on one keep-alive connection, and POST /api/tasks/bulk
# with 1,000 a request), the Python client (create_task, create_tasks of
# 1,000) and, for comparison from the same Python, Celery's apply_async
# (send_task; Debian's python3-celery), beside the C calls
# (build/bench_enqueue) in the same run. Private redis-server on loopback
# TCP with AOF off (as bench/enqueue.sh), medians of RUNS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BUILD=${BUILD:-build}
S=$BUILD/syncq
[ -x "$S" ] && [ -f "$BUILD/libsyncq.so" ] ||
  { echo "build first: cmake --build $BUILD" >&2; exit 1; }
d=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
  --pidfile "$d/r.pid" --logfile "$d/r.log" --dir "$d"
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  local p; p=$(cat "$d/r.pid" 2>/dev/null) || true
  if [ -n "$p" ]; then
    kill "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  fi
  rm -rf "$d"
}
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
URL="redis://127.0.0.1:$port/0"
export SYNCQ_BROKER_URL="$URL" SYNCQ_LIBRARY="$PWD/$BUILD/libsyncq.so"
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$d/port" --no-alerts --logfile "$d/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [ -s "$d/port" ] && break; sleep 0.05; done
BASE="http://127.0.0.1:$(cat "$d/port")"
PY="/usr/bin/python3 bench/api_bench.py"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed 's/.*"tasks_per_s": *\([0-9.]*\).*/\1/'; }
run() { # label command...
  local label=$1 r=(); shift
  for _ in $(seq "$RUNS"); do
    redis-cli -p "$port" flushall >/dev/null
    r+=("$("$@" | field)")
  done
  printf '%-44s %8s tasks/s (runs: %s)\n' "$label" "$(printf '%s\n' "${r[@]}" | median)" "${r[*]}"
}
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); Redis $(redis-server --version | sed 's/.*v=\([0-9.]*\).*/\1/') loopback TCP; median of $RUNS"
if [ -x "$BUILD/bench_enqueue" ]; then  # the C figures, same Redis, same load
  run "C syncq_task_create" "$BUILD/bench_enqueue" single 20000
  run "C syncq_task_create_many, bulk" "$BUILD/bench_enqueue" bulk 200000
fi
run "HTTP POST /api/tasks, 1 per request" $PY http_single "$BASE" 5000
run "HTTP POST /api/tasks/bulk, 1,000 per request" $PY http_bulk "$BASE" 100000 1000
run "Python create_task" $PY py_single 20000
run "Python create_tasks, 1,000 per call" $PY py_bulk 200000 1000
if /usr/bin/python3 -c 'import celery, redis' 2>/dev/null; then
  run "Celery apply_async (send_task)" $PY celery "$URL" 5000
else
  echo "Celery: not installed (apt-get install python3-celery python3-redis)"
fi
