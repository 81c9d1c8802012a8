#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# reaper.sh sweep DIR RC | watch DIR PID: clean up what one test started
# under run-with-redis.sh (its private dir DIR).
#
#   sweep  (DIR RC [SKIP_PID]) stop the test's PostgreSQL servers (pg.sh start records their
#          dirs in DIR/pgdirs), stop its redis-server, SIGKILL every other
#          process that inherited SYNCQ_TEST_DIR=DIR (workers, beats,
#          monitors, helpers in their own sessions), then remove DIR (kept
#          when RC is not 0 and SQ_KEEP_FAILED=1). run-with-redis.sh's trap
#          runs it on EXIT, INT and TERM (SKIP_PID: its own shell).
#   watch  wait, detached from the caller's process tree, until PID (the
#          run-with-redis.sh shell) is gone, then sweep DIR if it is still
#          there. This is what runs when ctest's timeout SIGKILLs the test:
#          ctest kills the runner and every process below it, so no trap
#          runs, while redis-server and PostgreSQL (daemons, their parent
#          is init) and anything reparented would be left running.
set -u
here=$(cd "$(dirname "$0")" && pwd)

# pids of every process (not this one, not $2) whose environment has
# SYNCQ_TEST_DIR=$1 (a pid file alone is not enough: a pid of a process
# that already exited may have been reused by someone else's).
test_pids() {
  local e p
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}; p=${p%/environ}
    [ "$p" = "$$" ] || [ "$p" = "$2" ] && continue
    if grep -qzxF "SYNCQ_TEST_DIR=$1" "$e" 2>/dev/null; then
      echo "$p"
    fi
  done
}

sweep() {
  local dir=$1 rc=$2 skip=${3:-} pgdir p
  # gone, or kept by an earlier sweep (the trap's, then the watcher's)
  [ -d "$dir" ] && [ ! -e "$dir/.swept" ] || return 0
  if [ -f "$dir/pgdirs" ]; then
    while read -r pgdir; do
      [ -n "$pgdir" ] && "$here/pg.sh" stop "$pgdir" >/dev/null 2>&1
    done <"$dir/pgdirs"
  fi
  SYNCQ_REDIS_DIR=$dir "$here/redisctl.sh" stop >/dev/null 2>&1
  # twice: a process may fork while the first round kills
  for _ in 1 2; do
    for p in $(test_pids "$dir" "$skip"); do
      kill -9 "$p" 2>/dev/null
    done
  done
  if [ "$rc" -ne 0 ] && [ "${SQ_KEEP_FAILED:-0}" = 1 ]; then
    echo "run-with-redis: kept $dir" >&2
    touch "$dir/.swept"
  else
    rm -rf "$dir"
  fi
}

case "${1:-}" in
sweep)
  sweep "${2:?DIR}" "${3:-0}" "${4:-}" ;;
watch)
  dir=${2:?DIR}; pid=${3:?PID}
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  # a timed-out test is a failed test (its dir is kept on request)
  sweep "$dir" 1 ;;
*)
  echo "usage: reaper.sh sweep DIR RC | watch DIR PID" >&2; exit 2 ;;
esac
