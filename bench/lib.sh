# SPDX-License-Identifier: MIT
#
# bench/lib.sh: sourced by the benchmarks that need a private Redis
# (bench/compare, bench/ab.sh, bench/celery_drain.sh, bench/enqueue.sh).
# bench_redis_start starts a redis-server of our own on a free loopback TCP
# port (AOF and snapshots off: a throughput baseline), waits until it
# answers PING and stops it (by its pid) and removes its directory when
# the calling script exits. Sets: port, url (redis://127.0.0.1:$port/0),
# bench_dir (the server's directory). Also: median (one number a line on
# stdin), field NAME (a number of a JSON line on stdin).

bench_redis_stop() {
  local p
  p=$(cat "$bench_dir/r.pid" 2>/dev/null) || true
  if [ -n "$p" ]; then
    kill "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  fi
  rm -rf "$bench_dir"
}

bench_redis_start() {
  bench_dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
    --pidfile "$bench_dir/r.pid" --logfile "$bench_dir/r.log" --dir "$bench_dir"
  trap bench_redis_stop EXIT
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  url="redis://127.0.0.1:$port/0"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# JSON number of field $1 ("name":1.5 or "name": 1.5); negative allowed
field() { sed "s/.*\"$1\": *\(-\{0,1\}[0-9.]*\).*/\1/"; }
# bench_ir_check NAME BUILD...: the callgrind benchmarks' preconditions:
# at least one build, each holding syncq and bench_worker (or the
# programs IR_NEED names), and valgrind.
bench_ir_check() {
  local who=$1 b f
  shift
  [ $# -ge 1 ] || { echo "usage: bench/$who.sh BUILD [BUILD...]" >&2; exit 2; }
  for b in "$@"; do
    for f in ${IR_NEED:-syncq bench_worker}; do
      [ -x "$b/$f" ] || { echo "$who: $b/$f: not built" >&2; exit 2; }
    done
  done
  command -v valgrind >/dev/null || { echo "$who: valgrind not found (scripts/bootstrap test installs it)" >&2; exit 2; }
}

# build_commit DIR: the commit of the source tree a CMake build directory
# was configured from (its CMakeCache.txt), "+dirty" when that tree has
# uncommitted changes; "?" when unknown. It is the tree's commit now, so
# rebuild before comparing.
build_commit() {
  local src
  src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null)
  [ -n "$src" ] || { echo '?'; return; }
  local c
  c=$(git -C "$src" rev-parse --short HEAD 2>/dev/null) || { echo '?'; return; }
  git -C "$src" diff --quiet HEAD -- 2>/dev/null || c="$c+dirty"
  echo "$c ($src)"
}
