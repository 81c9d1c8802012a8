#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_batchproc_resume.sh: a batch_import killed with SIGKILL in the middle
# of a real file resumes after its last committed row: every good row ends
# up in the catalog exactly once, every bad row is listed with its line
# number, and the committed state at the moment of the kill is consistent
# (products stored == rows counted as committed). Both formats, through
# the real `syncq task run` command; export -> import round trip via the
# CLI too.
# TEST_TIMEOUT: 240
# TEST_LABELS: slow
set -euo pipefail

: "${SYNCQ_BIN:?}" "${SYNCQ_SOURCE_DIR:?}" "${SYNCQ_TEST_DIR:?}"
GEN="$SYNCQ_SOURCE_DIR/tests/integration/it_batchproc_gen.py"
W="$SYNCQ_TEST_DIR/batchproc"
mkdir -p "$W"
fail() { echo "FAIL: $*" >&2; exit 1; }

# q DB SQL: one value from the SQLite catalog (python3's sqlite3 module).
q() {
  python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
row = c.execute(sys.argv[2]).fetchone()
print(row[0] if row else "")
EOF
}

# field JSON KEY: a top-level member of a JSON document.
field() {
  python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$2" <<<"$1"
}

run_kill_resume() {
  local fmt=$1 n=$2 badevery=$3
  local db="$W/$fmt.db" file="$W/catalog.$fmt" job="kill-$fmt"
  local stats good bad pid committed products out
  stats=$(python3 "$GEN" "$fmt" "$file" --products "$n" --bad-every "$badevery")
  good=$(sed -n 's/.*products=\([0-9]*\).*/\1/p' <<<"$stats")
  bad=$(sed -n 's/.* bad=\([0-9]*\).*/\1/p' <<<"$stats")
  echo "$fmt: $stats"

  SYNCQ_DATABASE_URL="$db" "$SYNCQ_BIN" task run batch_processing.batch_import \
    --no-broker -k "{\"path\": \"$file\", \"job_id\": \"$job\", \"batch_rows\": 200}" \
    >"$W/$fmt-run1.out" 2>"$W/$fmt-run1.err" &
  pid=$!
  echo "$pid" >>"$SYNCQ_TEST_DIR/pids"
  # Wait for a few committed batches, then kill it hard.
  for _ in $(seq 600); do
    committed=$(q "$db" "SELECT rows_ok FROM batch_job WHERE job_key = '$job'" 2>/dev/null || true)
    if [ -n "$committed" ] && [ "$committed" -ge 1000 ]; then break; fi
    kill -0 "$pid" 2>/dev/null || fail "$fmt: import finished before it could be killed"
    sleep 0.05
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  [ "$(q "$db" "SELECT status FROM batch_job WHERE job_key = '$job'")" = running ] \
    || fail "$fmt: job not left running by the kill"
  # Whatever was committed is consistent: stored products == committed rows'
  # products (JSONL: one row a product; CSV: rows of whole offers only).
  products=$(q "$db" "SELECT COUNT(*) FROM product")
  committed=$(q "$db" "SELECT inserted FROM batch_job WHERE job_key = '$job'")
  [ "$products" = "$committed" ] || fail "$fmt: $products products stored, $committed committed"
  [ "$products" -lt "$good" ] || fail "$fmt: killed too late ($products of $good)"
  echo "$fmt: killed with $products of $good products committed"

  out=$(SYNCQ_DATABASE_URL="$db" "$SYNCQ_BIN" task run batch_processing.batch_import \
    --no-broker -k "{\"path\": \"$file\", \"job_id\": \"$job\", \"batch_rows\": 200}")
  [ "$(field "$out" status)" = done ] || fail "$fmt: resume did not finish: $out"
  [ "$(field "$out" products)" = "$good" ] || fail "$fmt: $(field "$out" products) products, want $good"
  [ "$(field "$out" inserted)" = "$good" ] || fail "$fmt: inserted $(field "$out" inserted), want $good (rows stored twice?)"
  [ "$(field "$out" rows_bad)" = "$bad" ] || fail "$fmt: rows_bad $(field "$out" rows_bad), want $bad"
  [ "$(field "$out" resumed_from_line)" -gt 1 ] || fail "$fmt: did not resume"
  [ "$(q "$db" "SELECT COUNT(*) FROM product")" = "$good" ] || fail "$fmt: product count"
  [ "$(q "$db" "SELECT COUNT(*) FROM batch_error WHERE job_key = '$job'")" = "$bad" ] \
    || fail "$fmt: bad rows listed"
  # The bad rows are the planted ones (every $badevery-th offer).
  if [ "$fmt" = jsonl ]; then
    [ "$(q "$db" "SELECT MIN(line_no) FROM batch_error")" = "$badevery" ] || fail "jsonl: first bad line"
  fi
  echo "$fmt: resumed from line $(field "$out" resumed_from_line): $good products, $bad bad rows"
}

run_kill_resume jsonl 8000 500
run_kill_resume csv 8000 500

# Export through the CLI and import into a fresh catalog: same products.
SYNCQ_DATABASE_URL="$W/jsonl.db" "$SYNCQ_BIN" task run batch_processing.batch_export \
  --no-broker -k "{\"path\": \"$W/out.csv\", \"filter\": {\"status\": \"published\", \"price_min_fen\": {\"gte\": 0}}}" >"$W/export.out"
exported=$(field "$(cat "$W/export.out")" products)
[ "$exported" = 7984 ] || fail "export: $exported products, want 7984"
out=$(SYNCQ_DATABASE_URL="$W/copy.db" "$SYNCQ_BIN" task run batch_processing.batch_import \
  --no-broker -k "{\"path\": \"$W/out.csv\"}")
[ "$(field "$out" inserted)" = 7984 ] || fail "re-import: $out"
[ "$(field "$out" rows_bad)" = 0 ] || fail "re-import bad rows: $out"

# Bad arguments: a clear error and exit 1, nothing imported.
if SYNCQ_DATABASE_URL="$W/x.db" "$SYNCQ_BIN" task run batch_processing.batch_import \
     --no-broker -k "{\"path\": \"$W/missing.jsonl\"}" 2>"$W/err.txt"; then
  fail "missing file accepted"
fi
grep -q "not_found" "$W/err.txt" || fail "missing file: $(cat "$W/err.txt")"
if SYNCQ_DATABASE_URL="$W/x.db" "$SYNCQ_BIN" task run batch_processing.batch_delete \
     --no-broker -k '{"filter": {}}' 2>"$W/err.txt"; then
  fail "delete-all without all:true accepted"
fi
grep -q "validation" "$W/err.txt" || fail "delete-all: $(cat "$W/err.txt")"
if grep -l -E "AddressSanitizer|LeakSanitizer|runtime error:" "$W"/*.err >/dev/null 2>&1; then
  fail "sanitizer report: $(grep -l -E "Sanitizer|runtime error:" "$W"/*.err)"
fi
echo "ok"
