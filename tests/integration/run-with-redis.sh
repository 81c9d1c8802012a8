#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run-with-redis.sh CMD...: run CMD against a private redis-server.
# Makes a temp dir, starts redis-server on a unix socket there (no TCP
# port, AOF on, appendfsync everysec unless SQ_REDIS_FSYNC=always), waits
# for PING with a time limit, exports
#   SYNCQ_BROKER_URL=unix://$dir/redis.sock  SYNCQ_TEST_DIR=$dir
#   SYNCQ_REDIS_SOCK  SYNCQ_REDIS_DIR  SQ_REDISCTL (start|stop|kill|
#   restart|pause|resume|pid, see redisctl.sh)
# runs CMD, and in a trap stops redis and removes the dir (kept when the
# test fails and SQ_KEEP_FAILED=1). Never touches port 6379. A missing
# redis-server is a failure, not a skip.
set -u
here=$(cd "$(dirname "$0")" && pwd)
command -v redis-server >/dev/null || { echo "run-with-redis: redis-server not installed (scripts/bootstrap)" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/syncq-test.XXXXXX")
export SYNCQ_TEST_DIR=$dir SYNCQ_REDIS_DIR=$dir SYNCQ_REDIS_SOCK=$dir/redis.sock
export SYNCQ_BROKER_URL="unix://$dir/redis.sock"
export SQ_REDISCTL="$here/redisctl.sh"
# Isolate from a developer's .env and environment.
export SYNCQ_NAMESPACE=${SYNCQ_NAMESPACE:-syncq}
unset CELERY_BROKER_URL SYNCQ_RESULT_BACKEND CELERY_RESULT_BACKEND
cleanup() {
  rc=$?
  "$SQ_REDISCTL" stop >/dev/null 2>&1
  # Kill whatever the test left behind: every process that inherited
  # this test's SYNCQ_TEST_DIR (a pid file alone is not enough: a pid of a
  # process that already exited may have been reused by someone else's).
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}; p=${p%/environ}
    [ "$p" = "$$" ] && continue
    if grep -qzxF "SYNCQ_TEST_DIR=$dir" "$e" 2>/dev/null; then
      kill -9 "$p" 2>/dev/null
    fi
  done
  if [ "$rc" -ne 0 ] && [ "${SQ_KEEP_FAILED:-0}" = 1 ]; then
    echo "run-with-redis: kept $dir" >&2
  else
    rm -rf "$dir"
  fi
  exit "$rc"
}
trap cleanup EXIT INT TERM
"$SQ_REDISCTL" start || { echo "run-with-redis: redis did not start" >&2; cat "$dir/redis.log" >&2; exit 1; }
cd "$dir" || exit 1
"$@"
