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
finish it_readme
