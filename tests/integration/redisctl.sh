#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# redisctl.sh start|stop|kill|restart|pause|resume|pid: control the test's
# private redis-server in $SYNCQ_REDIS_DIR (set by run-with-redis.sh).
# start waits up to 5 s for PING; stop waits for the pidfile to go.
# SQ_REDIS_FSYNC=always|everysec (default everysec); SQ_REDIS_EXTRA adds
# arguments (e.g. "--maxmemory 64mb --maxmemory-policy allkeys-lru").
set -u
d=${SYNCQ_REDIS_DIR:?run under run-with-redis.sh}
sock=$d/redis.sock
pidf=$d/redis.pid
pid() { cat "$pidf" 2>/dev/null; }
ping() { redis-cli -s "$sock" ping 2>/dev/null | grep -q PONG; }
case "${1:-}" in
start)
  # shellcheck disable=SC2086
  redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$d" \
    --appendonly yes --appendfsync "${SQ_REDIS_FSYNC:-everysec}" --save '' \
    --daemonize yes --pidfile "$pidf" --logfile "$d/redis.log" \
    ${SQ_REDIS_EXTRA:-} || exit 1
  for _ in $(seq 100); do ping && exit 0; sleep 0.05; done
  exit 1 ;;
stop)
  p=$(pid); [ -n "$p" ] || exit 0
  kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null
  for _ in $(seq 100); do [ -e "$pidf" ] || exit 0; kill -0 "$p" 2>/dev/null || { rm -f "$pidf"; exit 0; }; sleep 0.05; done
  kill -9 "$p" 2>/dev/null; rm -f "$pidf"; exit 0 ;;
kill)
  p=$(pid); [ -n "$p" ] && kill -9 "$p" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  rm -f "$pidf"; exit 0 ;;
restart) "$0" stop && "$0" start ;;
pause) kill -STOP "$(pid)" ;;
resume) kill -CONT "$(pid)" ;;
pid) pid ;;
*) echo "usage: redisctl.sh start|stop|kill|restart|pause|resume|pid" >&2; exit 2 ;;
esac
