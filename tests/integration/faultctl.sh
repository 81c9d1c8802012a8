#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# faultctl.sh misconf-on|misconf-off|aof-full-on|aof-full-off|readonly-on
#             |readonly-off|oom-on|oom-off|busy SECONDS: inject the error
#             replies a real failure gives,
# into the test's private redis-server (run-with-redis.sh sets
# SYNCQ_REDIS_SOCK/SYNCQ_REDIS_DIR). Realistic causes, no DEBUG command:
#   misconf   a failed RDB snapshot (the BGSAVE child killed) with a save
#             point set: writes answer MISCONF until `save ""`.
#   aof-full  a full AOF disk: Redis must have been started with
#             SQ_REDIS_AOF_LIMIT (redisctl.sh: its AOF on a tmpfs of that
#             size, at most 2m, in a private mount namespace); a 4 MiB
#             value fills it, the AOF write fails with ENOSPC and writes
#             answer "MISCONF Errors writing to the AOF file: No space left
#             on device" until the tmpfs is grown (nsenter + remount) and
#             Redis's retry of the write succeeds.
#   readonly  REPLICAOF a master that does not exist: writes answer
#             READONLY (what a client sees after a failover).
#   oom       maxmemory 1 (noeviction): writes answer OOM.
#   busy      a Lua loop of SECONDS (busy-reply-threshold 100 ms): other
#             clients get BUSY until it ends (it kills itself: SCRIPT KILL
#             after SECONDS).
set -u
sock=${SYNCQ_REDIS_SOCK:?run under run-with-redis.sh}
pidf=${SYNCQ_REDIS_DIR:?}/redis.pid
r() { redis-cli -s "$sock" "$@"; }
case "${1:-}" in
misconf-on)
  r config set save "3600 1" >/dev/null
  r config set rdb-key-save-delay 1000000 >/dev/null
  r set faultctl:key 1 >/dev/null
  r bgsave >/dev/null
  for _ in $(seq 100); do
    child=$(pgrep -P "$(cat "$pidf")" | head -1)
    [ -n "$child" ] && break; sleep 0.02
  done
  [ -n "${child:-}" ] || { echo "faultctl: no BGSAVE child" >&2; exit 1; }
  kill -9 "$child"
  for _ in $(seq 250); do
    r info persistence | grep -q 'rdb_last_bgsave_status:err' && break
    sleep 0.02
  done
  r config set rdb-key-save-delay 0 >/dev/null
  r set faultctl:key 1 2>&1 | grep -q MISCONF || { echo "faultctl: no MISCONF" >&2; exit 1; } ;;
misconf-off)
  r config set save "" >/dev/null && r del faultctl:key >/dev/null ;;
aof-full-on)
  [ -n "${SQ_REDIS_AOF_LIMIT:-}" ] || { echo "faultctl: aof-full needs redis started with SQ_REDIS_AOF_LIMIT" >&2; exit 1; }
  head -c 4194304 /dev/zero | tr '\0' x | r -x set faultctl:fill >/dev/null
  for _ in $(seq 250); do
    r set faultctl:key 1 2>&1 | grep -q 'MISCONF Errors writing to the AOF' && exit 0
    sleep 0.02
  done
  echo "faultctl: the AOF did not fill" >&2; exit 1 ;;
aof-full-off)
  "$(dirname "$0")/redisctl.sh" nsenter mount -o remount,size=256m "$SYNCQ_REDIS_DIR/aof" ||
    { echo "faultctl: cannot grow the AOF tmpfs" >&2; exit 1; }
  for _ in $(seq 250); do
    [ "$(r set faultctl:key 1 2>&1)" = OK ] && { r del faultctl:fill faultctl:key >/dev/null; exit 0; }
    sleep 0.02
  done
  echo "faultctl: Redis did not write its AOF again" >&2; exit 1 ;;
readonly-on) r replicaof 127.0.0.1 1 >/dev/null ;;
readonly-off) r replicaof no one >/dev/null ;;
oom-on) r config set maxmemory 1 >/dev/null ;;
oom-off) r config set maxmemory 0 >/dev/null ;;
busy)
  r config set busy-reply-threshold 100 >/dev/null
  r eval "local t=redis.call('TIME') local e=t[1]+${2:-1} while true do t=redis.call('TIME') if tonumber(t[1])>=e then return 1 end end" 0 >/dev/null 2>&1 &
  sleep 0.2 ;;
*) echo "usage: faultctl.sh misconf-on|misconf-off|aof-full-on|aof-full-off|readonly-on|readonly-off|oom-on|oom-off|busy S" >&2; exit 2 ;;
esac
