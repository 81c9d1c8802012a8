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
. bench/lib.sh
bench_redis_start
echo "before: $(uptime)"
bin=$(cd "$BUILD" && pwd)/syncq
out=$(cd bench && PYTHONUNBUFFERED=1 /usr/bin/python3 celery_drain.py "$url" "$N" "$bin")
echo "after:  $(uptime)"
echo "$out"
