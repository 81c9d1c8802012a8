# SPDX-License-Identifier: MIT
#
# monitor_lib.sh: starting `syncq monitor serve` in the shell integration
# tests (sourced; needs $S, the syncq binary). Every process a test adds
# to `pids` is killed when the test exits.
#   start_serve PORTFILE LOGFILE ARGS...   serve on a free loopback port:
#                                          SERVE_PID and PORT are set
#   code CURL-ARGS...                      the HTTP status of a request
#   cookie_of HEADERS-FILE                 the syncq_session cookie a
#                                          response set (name=value)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

start_serve() {
  local pf=$1 lf=$2; shift 2
  rm -f "$pf"
  "$S" monitor serve --listen 127.0.0.1:0 --port-file "$pf" --logfile "$lf" "$@" &
  SERVE_PID=$!
  pids+=("$SERVE_PID")
  for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
  PORT=$(cat "$pf")
}

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
cookie_of() { sed -n 's/^Set-Cookie: \(syncq_session=[^;]*\);.*/\1/p' "$1" | tr -d '\r'; }
