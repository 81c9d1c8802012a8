#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# redisctl.sh start|stop|kill|restart|pause|resume|pid: control the test's
# private redis-server in $SYNCQ_REDIS_DIR (set by run-with-redis.sh).
# start waits up to 5 s for PING; stop and kill wait for the PROCESS to be
# gone, not for its pidfile: redis-server removes the pidfile first and the
# unix socket file a moment later (finishShutdown), so a server started in
# that gap had its fresh socket unlinked by the old one and never answered
# (it_worker_redis restart_mid_run_loses_nothing failed that way under load).
# SQ_REDIS_FSYNC=always|everysec (default everysec); SQ_REDIS_EXTRA adds
# arguments (e.g. "--maxmemory 64mb --maxmemory-policy allkeys-lru").
# SQ_REDIS_AOF_LIMIT=SIZE (e.g. 1m) puts the AOF on a tmpfs of SIZE in
# $SYNCQ_REDIS_DIR/aof, mounted in a private mount namespace of the server
# (unshare; a user namespace too when not root), so a full AOF disk can be
# produced without touching the system (faultctl.sh aof-full-on); the
# data does not survive a restart then. `redisctl.sh nsenter CMD...` runs
# CMD in that namespace (faultctl.sh grows the tmpfs with it).
set -u
d=${SYNCQ_REDIS_DIR:?run under run-with-redis.sh}
sock=$d/redis.sock
pidf=$d/redis.pid
pid() { cat "$pidf" 2>/dev/null; }
# Every action and its outcome go to redisctl.log beside redis.log (kept
# with SQ_KEEP_FAILED=1), so a failed restart says which step failed.
trace() { echo "$(date +%T.%3N) [$$] $*" >> "$d/redisctl.log"; }
trap 'trace "${1:-} -> $?"' EXIT
ping() { redis-cli -s "$sock" ping 2>/dev/null | grep -q PONG; }
# gone PID N: wait up to N x 50 ms until redis-server PID has exited (a
# zombie has exited; the name check guards against a reused pid); 1 if it
# is still running.
gone() {
  local st
  for _ in $(seq "$2"); do
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    case $st in *"(redis-server) "[!Z]*) ;; *) return 0 ;; esac
    sleep 0.05
  done
  return 1
}
case "${1:-}" in
start)
  data=$d pre=()
  if [ -n "${SQ_REDIS_AOF_LIMIT:-}" ]; then
    data=$d/aof
    mkdir -p "$data"
    pre=(unshare -m --propagation private)
    [ "$(id -u)" -eq 0 ] || pre=(unshare -Ur -m --propagation private)
    pre+=(sh -c 'mount -t tmpfs -o "size=$1" tmpfs "$2" && shift 2 && exec "$@"'
          sh "$SQ_REDIS_AOF_LIMIT" "$data")
  fi
  # shellcheck disable=SC2086
  "${pre[@]}" redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$data" \
    --appendonly yes --appendfsync "${SQ_REDIS_FSYNC:-everysec}" --save '' \
    --daemonize yes --pidfile "$pidf" --logfile "$d/redis.log" \
    ${SQ_REDIS_EXTRA:-} || { trace "redis-server failed: $?"; exit 1; }
  for _ in $(seq 100); do ping && exit 0; sleep 0.05; done
  echo "redisctl: redis-server did not answer PING on $sock within 5 s" >&2
  tail -5 "$d/redis.log" >&2; exit 1 ;;
stop)
  p=$(pid); [ -n "$p" ] || exit 0
  kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null
  gone "$p" 100 || { trace "$p still there after 5 s: SIGKILL"; kill -9 "$p" 2>/dev/null; gone "$p" 100; }
  rm -f "$pidf"; exit 0 ;;
kill)
  p=$(pid); [ -n "$p" ] || exit 0
  kill -9 "$p" 2>/dev/null; gone "$p" 100
  rm -f "$pidf"; exit 0 ;;
restart) "$0" stop && "$0" start ;;
pause) kill -STOP "$(pid)" ;;
resume) kill -CONT "$(pid)" ;;
pid) pid ;;
nsenter)
  shift
  if [ "$(id -u)" -eq 0 ]; then nsenter -t "$(pid)" -m "$@"
  else nsenter -t "$(pid)" -U -m --preserve-credentials "$@"; fi ;;
*) echo "usage: redisctl.sh start|stop|kill|restart|pause|resume|pid" >&2; exit 2 ;;
esac
