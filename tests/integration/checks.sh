# SPDX-License-Identifier: MIT
#
# checks.sh: assertions shared by the shell integration tests (sourced).
# Each check counts into $pass / $fails; a test ends with `finish NAME`,
# which prints the counts and exits non-zero if anything failed.
#   check NAME EXPECTED ACTUAL    equal strings
#   contains NAME REGEX FILE      an extended regex matches a line of FILE
#   json EXPR < FILE              print a Python expression of the JSON `d`
pass=0
fails=0
check() {
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); else echo "FAIL: $1: expected [$2] got [$3]" >&2; fails=$((fails + 1)); fi
}
contains() {
  if grep -qE -- "$2" "$3"; then pass=$((pass + 1)); else echo "FAIL: $1: /$2/ not in $3:" >&2; tail -c 2000 "$3" >&2; echo >&2; fails=$((fails + 1)); fi
}
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
finish() {
  echo "$1: $pass passed, $fails failed"
  [ "$fails" -eq 0 ]
}
