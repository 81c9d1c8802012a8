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
# runs CMD, and in a trap (EXIT, INT, TERM) stops everything the test
# started and removes the dir (kept when the test fails and
# SQ_KEEP_FAILED=1): reaper.sh sweep. ctest's timeout SIGKILLs the runner
# and its process tree, so no trap runs then: a watcher (reaper.sh watch),
# started outside that tree, sweeps once this shell is gone. Never
# touches port 6379. A missing redis-server is a failure, not a skip.
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
  rc=${1:-$?}
  trap - EXIT INT TERM
  cd / && "$here/reaper.sh" sweep "$dir" "$rc" $$
  exit "$rc"
}
trap cleanup EXIT
trap 'cleanup 130' INT
trap 'cleanup 143' TERM
# The watcher: its own session, no SYNCQ_TEST_DIR (the sweep would kill
# it), no stdio of ours (ctest waits for the test's output to close), and
# reparented to init by the subshell's exit.
( env -u SYNCQ_TEST_DIR setsid "$here/reaper.sh" watch "$dir" $$ \
    </dev/null >/dev/null 2>&1 & )
"$SQ_REDISCTL" start || { echo "run-with-redis: redis did not start" >&2; cat "$dir/redis.log" >&2; exit 1; }
cd "$dir" || exit 1
# In the background and waited for, so a TERM or INT runs the trap at
# once (bash defers traps while a foreground child runs); with stdin and
# the default SIGINT/SIGQUIT a background command would not get.
env --default-signal=INT,QUIT "$@" <&0 &
wait $!
