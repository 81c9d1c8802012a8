#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_readme.sh: the README is true about the CLI and its command blocks.
#   - every `syncq ...` README.md shows (blocks and inline code) is a
#     command of `syncq --help`, and every option it passes is in that
#     command's --help (it_readme_check.py commands);
#   - every ```sh block has a marker: "run" blocks are executed here, as
#     written, against this test's private Redis with a worker on the
#     default queue (`syncq` is this build's binary, `ID` the id the last
#     `task create` printed); every line must exit 0. "run by NAME" blocks
#     name tests that exist; "not runnable here: WHY" blocks say why.
#   - the one-shot schedule example is relative to now: the stored
#     schedule's next run is in the future.
set -u
src=${SYNCQ_SOURCE_DIR:?}
S=${SYNCQ_BIN:?}
D=${SYNCQ_TEST_DIR:?}
. "$src/tests/integration/checks.sh"
chk=$src/tests/integration/it_readme_check.py

python3 "$chk" "$src/README.md" "$S" commands >"$D/commands.out" 2>&1
rc=$?
cat "$D/commands.out"
check "README commands match their --help" 0 "$rc"

mkdir -p "$D/blocks"
python3 "$chk" "$src/README.md" - blocks "$D/blocks" >"$D/blocks.out" 2>&1
check "every README sh block has a check marker" 0 "$?"
grep FAIL "$D/blocks.out"

# "run by" blocks: the tests named exist.
while read -r _ line names; do
  for n in ${names//,/ }; do
    if [ -e "$src/$n" ] || ls "$src/tests/integration/$n".* >/dev/null 2>&1; then
      pass=$((pass + 1))
    else
      echo "FAIL README.md:$line: block is 'run by $n', which does not exist"
      fails=$((fails + 1))
    fi
  done
done < <(grep '^by ' "$D/blocks.out")

# "run" blocks, executed as written.
"$S" worker -Q default -c 1 -n readme --logfile "$D/worker.log" >"$D/worker.err" 2>&1 &
wpid=$!
nrun=0
while read -r _ line file; do
  nrun=$((nrun + 1))
  (
    cd "$D" || exit 1
    bash -E -c '
      LAST=""
      syncq() {
        local a=() x out rc
        for x in "$@"; do
          case $x in ID | ID...) a+=("$LAST") ;; *) a+=("$x") ;; esac
        done
        out=$(timeout 60 "$SYNCQ_BIN" "${a[@]}")
        rc=$?
        printf "%s\n" "$out"
        if [ "$1 $2" = "task create" ] && [ "$rc" = 0 ]; then LAST=$out; fi
        return "$rc"
      }
      trap '\''echo "FAIL README.md block at line $0: \`$BASH_COMMAND\` exited $?"; exit 1'\'' ERR
      . "$1"
    ' "$line" "$file"
  ) >"$D/block-$line.out" 2>&1
  rc=$?
  check "README block at line $line runs" 0 "$rc"
  [ "$rc" = 0 ] || cat "$D/block-$line.out"
done < <(grep '^run ' "$D/blocks.out")
check "README has blocks executed here" 1 "$([ "$nrun" -ge 2 ] && echo 1)"
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null

# The one-shot example runs in the future, whenever the test runs.
now_ms=$(($(date +%s) * 1000))
next_ms=$("$S" schedule info once1 --json 2>"$D/once1.err" | json 'd["next_run_ms"]')
check "one-shot example is after now" 1 "$([ "${next_ms:-0}" -gt "$now_ms" ] && echo 1)"

# The "From Python" and "Over HTTP" examples, taken out of README.md and
# run as written against a worker serving the crawler queue and the
# fixture 1688 server, in a namespace of their own (the sh blocks above
# stored a daily_sync schedule too). Only the HTTP block's port is this
# test's free one instead of 5555, and its $ID the id the first curl
# printed.
. "$src/tests/integration/fixture.sh"
fixture_start fx --products 60 --categories 1 --app-key 7000001 \
  --app-secret readme-secret || fails=$((fails + 1))
fixture_env "$FX_URL" 7000001 readme-secret
export SYNCQ_NAMESPACE=readme SYNCQ_DATABASE_URL="$D/catalog.db" \
  SYNCQ_MEDIA_DIR="$D/media" SYNCQ_LIBRARY="$SYNCQ_BUILD_DIR/libsyncq.so"
"$S" worker -Q crawler -c 1 -n readme-crawler --logfile "$D/crawler.log" \
  >"$D/crawler.err" 2>&1 &
cpid=$!
block() { # block HEADING FENCE: the first FENCE block after HEADING
  awk -v h="$1" -v f="$2" '$0 == h { s = 1 } s && $0 == f { g = 1; next }
    g && /^```$/ { exit } g' "$src/README.md"
}
block "### From Python" '```python' >"$D/readme.py"
check "README Python block found" 1 "$(grep -c '^qm = QueueManager()' "$D/readme.py")"
(
  # a sanitizer build's library needs the ASan runtime first in python3
  asan=$(ldd "$SYNCQ_LIBRARY" | awk '/libasan/ {print $3}')
  [ -z "$asan" ] || export LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0
  cd "$src" && timeout 120 python3 "$D/readme.py"
) >"$D/py.out" 2>"$D/py.err"
check "README Python block runs" 0 "$?"
[ -s "$D/py.err" ] && cat "$D/py.err"
check "README Python: the crawler task ends SUCCESS" SUCCESS "$(head -1 "$D/py.out")"
check "README Python: its schedule is stored" "0 2 * * *" \
  "$("$S" schedule info nightly_full_sync --json 2>&1 | json 'd["cron"]')"
check "README Python: its batch is there" image_processing.download_images \
  "$("$S" --json batch list 2>&1 | json 'd[0]["task"]')"

"$S" monitor serve --listen 127.0.0.1:0 --port-file "$D/mon.port" \
  --logfile "$D/mon.log" >"$D/mon.err" 2>&1 &
mpid=$!
for _ in $(seq 100); do [ -s "$D/mon.port" ] && break; sleep 0.05; done
port=$(cat "$D/mon.port" 2>/dev/null)
block "### Over HTTP" '```sh' | sed "s/127\.0\.0\.1:5555/127.0.0.1:$port/g" |
  awk '/\\$/ { sub(/\\$/, ""); l = l $0; next } { print l $0; l = "" }' >"$D/http.sh"
check "README HTTP block: two commands" 2 "$(wc -l <"$D/http.sh" | tr -d ' ')"
ID=$(bash -c "$(sed -n 1p "$D/http.sh")" | json 'd["id"]' 2>"$D/http1.err")
check "README HTTP: the create answers an id" 36 "${#ID}"
check "README HTTP: the wait answers SUCCESS" SUCCESS \
  "$(ID=$ID bash -c "$(sed -n 2p "$D/http.sh")" | json 'd["state"]' 2>"$D/http2.err")"
kill "$mpid" "$cpid" 2>/dev/null
wait "$mpid" "$cpid" 2>/dev/null
fixture_stop
finish it_readme
