# SPDX-License-Identifier: MIT
#
# fixture.sh: the fixture 1688 server for the shell integration tests
# (sourced, after SYNCQ_BIN and SYNCQ_TEST_DIR are set by the runner).
#   fixture_start NAME [fixture-server options...]
#     starts `syncq fixture-server --listen 127.0.0.1:0` in a session of
#     its own (its pid in $SYNCQ_TEST_DIR/pids, as the runner's sweep and
#     the tests' own stops expect), its request log in
#     $SYNCQ_TEST_DIR/NAME.log and output in NAME.out; waits up to 10 s
#     until it is ready and sets FX_URL (http://127.0.0.1:PORT) and
#     FX_PID. Returns 1 after printing its output if it did not start.
#   fixture_env URL [APP_KEY APP_SECRET]
#     exports the settings that point the crawler and the image tasks at
#     the server at URL (and the Open Platform app key and secret it was
#     started with, when given).
#   fixture_stop
#     stops the last server started, waiting up to 10 s for it to exit.
fixture_start() {
  local name=$1 d=${SYNCQ_TEST_DIR:?}
  shift
  rm -f "$d/$name.url"
  setsid "${SYNCQ_BIN:?}" fixture-server --listen 127.0.0.1:0 \
    --ready-file "$d/$name.url" --log "$d/$name.log" "$@" >"$d/$name.out" 2>&1 &
  FX_PID=$!
  echo "$FX_PID" >>"$d/pids"
  for _ in $(seq 200); do [ -s "$d/$name.url" ] && break; sleep 0.05; done
  FX_URL=$(cat "$d/$name.url" 2>/dev/null)
  if [ -z "$FX_URL" ]; then
    echo "FAIL fixture server $name did not start:"
    cat "$d/$name.out"
    return 1
  fi
}
fixture_env() {
  local u=$1
  export SYNCQ_1688_BASE_URL="$u/openapi" SYNCQ_1688_PAGE_URL="$u" \
    SYNCQ_1688_SHOP_API_URL="$u/1688/shop/shop_info" \
    SYNCQ_FETCH_ALLOW="${u#http://}"
  if [ $# -ge 3 ]; then
    export SYNCQ_1688_APP_KEY=$2 SYNCQ_1688_APP_SECRET=$3
  fi
}
fixture_stop() {
  kill -TERM "$FX_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$FX_PID" 2>/dev/null || break; sleep 0.1; done
}
