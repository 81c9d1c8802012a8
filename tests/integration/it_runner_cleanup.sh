#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_runner_cleanup.sh: a test runner that is killed leaves nothing behind.
# An inner run-with-redis.sh runs a "test" that starts a PostgreSQL
# (pg.sh), a process in its own session and one reparented to init, then
# hangs. Killed as ctest kills a timed-out test (SIGKILL to the runner and
# every process below it: no trap runs), then with a plain TERM to the
# runner alone: each time its redis-server, its PostgreSQL, both helpers
# and its temp dirs must be gone within 20 s.
# TEST_TIMEOUT: 240
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/checks.sh"
T=$SYNCQ_TEST_DIR
die() { echo "FAIL: $*" >&2; exit 1; }

# The inner test: reports what it started in $1, then waits to be killed.
inner() {
  local out=$1
  cat >"$T/inner.sh" <<'EOF'
out=$1
echo "$SYNCQ_TEST_DIR" >"$out/dir"
"$SYNCQ_SOURCE_DIR/tests/integration/pg.sh" start |
  sed -n 's/^PGDIR=//p' >"$out/pgdir"
[ -s "$out/pgdir" ] || exit 1
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo $! >"$out/session.pid"
( setsid sleep 301 </dev/null >/dev/null 2>&1 & echo $! >"$out/orphan.pid" )
echo ready >"$out/ready"
sleep 300
EOF
  mkdir -p "$out"
  setsid "$here/run-with-redis.sh" bash "$T/inner.sh" "$out" \
    </dev/null >"$out/runner.log" 2>&1 &
  echo $! >"$out/runner.pid"
  for _ in $(seq 600); do [ -e "$out/ready" ] && return 0; sleep 0.1; done
  cat "$out/runner.log" >&2
  die "the inner test did not get ready"
}

# Every pid below $1 (children first found by their parent, like ctest).
tree() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END { for (p in parent) { q = p
            while (q in parent && q != root && q > 1) q = parent[q]
            if (q == root) print p } }'
}

# A process's state and start time ("S 123456": /proc/PID/stat fields 3
# and 22, clock ticks since boot), from ONE read of the file, or nothing
# when it is gone. With pid_max 32768 and a busy machine a pid is soon
# reused, so a pid alone could name a newer process (seen once in a 5x
# repeat); and separate reads race with the process being reaped: a
# zombie seen alive by one read and gone by the next was counted as left
# (seen once in a fresh-clone run).
stat_of() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1,20; }
since() { stat_of "$1" | cut -d' ' -f2; }

# Everything the inner test started, recorded before the kill.
started() {
  local out=$1 d p
  d=$(cat "$out/dir")
  for p in "redis $(cat "$d/redis.pid")" \
           "postgres $(head -1 "$(cat "$out/pgdir")/data/postmaster.pid")" \
           "session $(cat "$out/session.pid")" "orphan $(cat "$out/orphan.pid")"; do
    echo "$p $(since "${p#* }")"
  done
}

# 0 when none of the recorded processes nor the dirs are left.
left() {
  local out=$1 what pid t0 n=0
  while read -r what pid t0; do
    # left: still there (not a zombie), and the same process
    case $(stat_of "$pid") in
    "Z "* | "") ;;
    *" $t0") n=$((n + 1)) ;;
    esac
  done <"$out/started"
  [ -d "$(cat "$out/dir")" ] && n=$((n + 1))
  [ -d "$(cat "$out/pgdir")" ] && n=$((n + 1))
  echo "$n"
}

gone_within() {
  local out=$1
  for _ in $(seq 200); do
    [ "$(left "$out")" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

# 1. ctest's timeout: SIGKILL to the runner and its whole tree.
inner "$T/k"
started "$T/k" >"$T/k/started"
check "before the kill: 4 processes and 2 dirs" 6 "$(left "$T/k")"
runner=$(cat "$T/k/runner.pid")
pids="$runner $(tree "$runner")"
kill -STOP $pids 2>/dev/null
kill -9 $pids 2>/dev/null
gone_within "$T/k" || { cat "$T/k/started" >&2; die "left after SIGKILL: $(left "$T/k")"; }
check "nothing left after a SIGKILL of the tree" 0 "$(left "$T/k")"

# 2. A TERM to the runner alone: its trap sweeps at once.
inner "$T/t"
started "$T/t" >"$T/t/started"
runner=$(cat "$T/t/runner.pid")
kill -TERM "$runner"
wait "$runner"
check "runner exit status after TERM" 143 "$?"
gone_within "$T/t" || die "left after TERM: $(left "$T/t")"
check "nothing left after a TERM" 0 "$(left "$T/t")"
finish it_runner_cleanup
