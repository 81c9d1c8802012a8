#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/celery_drain.sh [N]: Celery wire drain, one run (issue 17). N
# (default 5,000) Python app.send_task() messages drained per second by
# `syncq worker --celery -c 2` and by a Python `celery worker -c 2`
# (prefork) from the same queue of the same private Redis (loopback TCP,
# AOF off), one after the other (bench/celery_drain.py). Prints the load
# average before and after: figures taken on a loaded machine say so.
# Needs python3-celery and python3-redis (scripts/bootstrap test).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
BUILD=${BUILD:-build-bench}
/usr/bin/python3 -c 'import celery, redis' 2>/dev/null ||
  { echo "celery_drain: python3-celery and python3-redis are needed (scripts/bootstrap test)" >&2; exit 1; }
if [ ! -x "$BUILD/syncq" ]; then # BUILD=build reuses a developer build
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target syncq_cli >/dev/null
fi
d=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
  --pidfile "$d/r.pid" --logfile "$d/r.log" --dir "$d"
stop_redis() {
  local p; p=$(cat "$d/r.pid" 2>/dev/null) || true
  [ -n "$p" ] && { kill "$p" 2>/dev/null; for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done; }
  rm -rf "$d"
}
trap stop_redis EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
echo "before: $(uptime)"
bin=$(cd "$BUILD" && pwd)/syncq
out=$(cd bench && PYTHONUNBUFFERED=1 /usr/bin/python3 celery_drain.py "redis://127.0.0.1:$port/0" "$N" "$bin")
echo "after:  $(uptime)"
echo "$out"
