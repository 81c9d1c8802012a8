#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# pg.sh: a private PostgreSQL for one test (initdb + pg_ctl on a unix socket).
#
#   pg.sh start         start a server in a new temp dir (recorded for the
#                       sweep of run-with-redis.sh), print two lines:
#                         PGDIR=<dir>
#                         URL=postgresql:///syncq_test?host=<dir>&user=postgres
#   pg.sh stop DIR      stop the server of DIR (pg_ctl -m fast -w, then the
#                       postmaster pid if it is still there) and remove DIR
#   pg.sh kill DIR      SIGKILL the postmaster of DIR (crash tests)
#   pg.sh restart DIR   start the server of DIR again (same data)
#   pg.sh pid DIR       print the postmaster pid
#
# The server listens on a unix socket in DIR only (listen_addresses=''),
# never on TCP, never on 5432 of the machine. As root, initdb/pg_ctl run as
# user postgres (runuser); otherwise as the calling user. fsync=off: these
# servers hold throwaway test data. Never touches the system cluster.
set -euo pipefail

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (scripts/bootstrap installs postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start_dir() {
  local dir=$1
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 \
    -o "-c listen_addresses='' -k $dir -c fsync=off -c max_connections=60" \
    start >/dev/null
}

cmd=${1:-}
case "$cmd" in
start)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/syncq-pg.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
  fi
  if ! as_owner "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
         --no-locale >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    exit 1
  fi
  if ! pg_start_dir "$dir"; then
    cat "$dir/pg.log" >&2
    rm -rf "$dir"
    exit 1
  fi
  "$PGBIN/createdb" -h "$dir" -U postgres syncq_test
  # Under run-with-redis.sh: the test's sweep (tests/integration/reaper.sh)
  # stops this server and removes its dir, also after a test that crashed
  # or that ctest killed for its timeout.
  if [ -n "${SYNCQ_TEST_DIR:-}" ] && [ -d "$SYNCQ_TEST_DIR" ]; then
    echo "$dir" >>"$SYNCQ_TEST_DIR/pgdirs"
  fi
  echo "PGDIR=$dir"
  echo "URL=postgresql:///syncq_test?host=$dir&user=postgres"
  ;;
stop)
  dir=${2:?usage: pg.sh stop DIR}
  case "$dir" in "${TMPDIR:-/tmp}"/syncq-pg.*) ;; *) echo "pg.sh: refusing $dir" >&2; exit 2;; esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    pid=$(head -1 "$dir/data/postmaster.pid")
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
  ;;
kill)
  dir=${2:?usage: pg.sh kill DIR}
  pid=$(head -1 "$dir/data/postmaster.pid")
  kill -9 "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  ;;
restart)
  dir=${2:?usage: pg.sh restart DIR}
  # A killed postmaster leaves its pid file and, for a moment, backends
  # holding its shared memory; pg_ctl start succeeds once they are gone.
  for _ in $(seq 20); do
    if pg_start_dir "$dir" 2>/dev/null; then exit 0; fi
    sleep 0.5
  done
  cat "$dir/pg.log" >&2
  exit 1
  ;;
pid)
  dir=${2:?usage: pg.sh pid DIR}
  head -1 "$dir/data/postmaster.pid"
  ;;
*)
  echo "usage: pg.sh start | stop DIR | kill DIR | restart DIR | pid DIR" >&2
  exit 2
  ;;
esac
