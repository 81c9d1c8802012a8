#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_token.sh: the write token of `syncq monitor serve` given as
# --api-token or --api-token-file (beside SYNCQ_API_TOKEN): writes need
# it, the file's first line is the token, a bad use is one clear line and
# a non-zero exit, and a write token lets a non-loopback address serve.
# TEST_TIMEOUT: 90
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
SRC=${SYNCQ_SOURCE_DIR:?}
. "$SRC/tests/integration/checks.sh"
cd "$T" || exit 1
unset SYNCQ_API_TOKEN SYNCQ_MONITOR_TOKEN
J='Content-Type: application/json'
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT
serve() { # name args...
  local n=$1; shift
  rm -f "$T/$n.port"
  "$S" monitor serve --port-file "$T/$n.port" --logfile "$T/$n.log" \
    --no-alerts "$@" &
  pids+=("$!")
  for _ in $(seq 200); do [ -s "$T/$n.port" ] && break; sleep 0.05; done
  B="http://127.0.0.1:$(cat "$T/$n.port")"
}
post() { # token
  curl -s -o /dev/null -w '%{http_code}' -X POST -H "$J" \
    ${1:+-H "Authorization: Bearer $1"} -d '{"name":"syncq.noop"}' \
    "$B/api/tasks"
}

serve flag --listen 127.0.0.1:0 --api-token flag-t1
# loopback: reads without a token, writes only with it (docs/api.md)
check "--api-token: write without a token" 403 "$(post "")"
# a token given that is not the one: 401, not a read-only answer
check "--api-token: write with another" 401 "$(post nope)"
check "--api-token: write with it" 201 "$(post flag-t1)"
# the token is the header's only word: a second word is not the token
check "--api-token: a second word after it" 401 "$(post "flag-t1 extra")"
check "--api-token: loopback read without a token" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/overview")"

printf 'file-t2\nsecond line ignored\n' >"$T/tok"
chmod 600 "$T/tok"
serve file --listen 127.0.0.1:0 --api-token-file "$T/tok"
check "--api-token-file: write with its first line" 201 "$(post file-t2)"
check "--api-token-file: only the first line" 401 "$(post second)"
check "--api-token-file: write without" 403 "$(post "")"

# a write token from the command line lets a non-loopback address serve
serve any --listen 0.0.0.0:0 --api-token any-t3
check "non-loopback with --api-token" 201 "$(post any-t3)"
check "non-loopback: nothing without it" 401 "$(post "")"
"$S" monitor serve --listen 0.0.0.0:0 --no-alerts >"$T/none.out" 2>&1
check "non-loopback without any token: refused" 2 "$?"
contains "... says why" "without a token" "$T/none.out"

"$S" monitor serve --api-token a --api-token-file "$T/tok" >"$T/both.out" 2>&1
check "both: usage error" 2 "$?"
contains "both: one line" "give --api-token or --api-token-file, not both" "$T/both.out"
"$S" monitor serve --api-token-file "$T/missing" >"$T/miss.out" 2>&1
check "missing file: fails" 1 "$?"
contains "missing file: named" "api-token-file .*/missing: No such file" "$T/miss.out"
printf '\n' >"$T/empty"
"$S" monitor serve --api-token-file "$T/empty" >"$T/empty.out" 2>&1
check "empty first line: fails" 1 "$?"
contains "empty first line: said" "the first line is empty" "$T/empty.out"
"$S" monitor serve --api-token "" >"$T/blank.out" 2>&1
check "empty --api-token: usage error" 2 "$?"
finish it_monitor_token
