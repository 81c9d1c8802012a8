#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_batch_cli.sh: `syncq batch create|info|list` end to end. Items files
# in every accepted form, waves (--max-in-flight), a real `syncq worker`
# running the example plugin's custom.my_task on the chunks while
# `batch create --wait` follows the batch (success, a failing chunk, fail
# fast), the completion task exactly once, and bad input (exit 2 for
# usage, 1 for failures, one line of error).
# TEST_TIMEOUT: 180
set -euo pipefail

: "${SYNCQ_BIN:?}" "${SYNCQ_TEST_DIR:?}" "${SYNCQ_BUILD_DIR:?}"
W="$SYNCQ_TEST_DIR/batchcli"
mkdir -p "$W"
PLUGIN="$SYNCQ_BUILD_DIR/examples/custom_task/custom_task.so"
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
run() {
  local want=$1 rc=0
  shift
  "$SYNCQ_BIN" "$@" >"$W/out" 2>"$W/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stdout"; cat "$W/out"; echo "--- stderr"; cat "$W/err"
    fail "syncq $* exited $rc, want $want"
  fi
  # an expected exit 1 must not hide a sanitizer report
  if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W/err"; then
    cat "$W/err"; fail "sanitizer report from syncq $*"
  fi
}
err_has() { grep -qF -- "$1" "$W/err" || { cat "$W/err"; fail "stderr lacks '$1'"; }; }
jget() {
  python3 -c '
import json, sys
v = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$W/out" "$1"
}
# count_tasks NAME [STATE]: task records of a task name (and state).
count_tasks() {
  local n=0 k
  for k in $(R --scan --pattern '{syncq}:t:*'); do
    if [ "$(R HGET "$k" name)" = "$1" ] && { [ -z "${2:-}" ] || [ "$(R HGET "$k" state)" = "$2" ]; }; then
      n=$((n + 1))
    fi
  done
  echo "$n"
}

R FLUSHALL >/dev/null

# --- items files ------------------------------------------------------------
python3 -c 'import json; print(json.dumps(list(range(250))))' >"$W/array.json"
run 0 batch create custom.my_task --items-file "$W/array.json" --batch-size 100
id=$(cat "$W/out")
[[ "$id" =~ ^[0-9a-f-]{36}$ ]] || fail "create printed '$id'"
run 0 --json batch info "$id"
[ "$(jget total)" = 3 ] || fail "250 items / 100 = 3 chunks"
[ "$(jget items)" = 250 ] || fail "items"
[ "$(jget dispatched)" = 3 ] || fail "all dispatched"
[ "$(jget waiting)" = 0 ] || fail "none waiting"
[ "$(jget state)" = running ] || fail "state"
[ "$(R LLEN '{syncq}:q:default:5')" = 3 ] || fail "3 chunks queued"
last=$(R LINDEX '{syncq}:q:default:5' 0)
[ "$(R HGET "{syncq}:t:$last" kwargs)" = "{\"items\":[$(seq -s, 200 249)]}" ] || fail "last chunk holds items 200..249"

printf '1\n2.5\n\n"x"\n{"a": 1}\nhello world\r\n[1, 2]\n   \n' >"$W/lines.txt"
R DEL '{syncq}:q:default:5' >/dev/null
run 0 batch create custom.my_task -f "$W/lines.txt" -b 10 -q linesq
id2=$(cat "$W/out")
chunk=$(R LINDEX '{syncq}:q:linesq:5' 0)
[ "$(R HGET "{syncq}:t:$chunk" kwargs)" = '{"items":[1,2.5,"x",{"a":1},"hello world",[1,2]]}' ] \
  || fail "lines: $(R HGET "{syncq}:t:$chunk" kwargs)"
printf '\xef\xbb\xbf[{"offer_id": "610947572360"}, {"offer_id": "598312205481"}]' >"$W/bom.json"
run 0 --json batch create syncq.echo --items-file "$W/bom.json" -b 1 -k '{"full": true}'
[ "$(jget total)" = 2 ] || fail "BOM array"
[ "$(jget items)" = 2 ] || fail "BOM items"
cat "$W/bom.json" | "$SYNCQ_BIN" batch create syncq.echo -f - -b 5 >"$W/out" || fail "stdin"

# --- waves -------------------------------------------------------------------
seq 1 50 >"$W/fifty.txt"
run 0 batch create custom.my_task -f "$W/fifty.txt" -b 10 --max-in-flight 2 --rate 100/s -q wq
wid=$(cat "$W/out")
run 0 --json batch info "$wid"
[ "$(jget dispatched)" = 2 ] || fail "waves: 2 in flight"
[ "$(jget waiting)" = 3 ] || fail "waves: 3 waiting"
[ "$(jget running)" = 2 ] || fail "waves: running"
[ "$(jget max_in_flight)" = 2 ] || fail "waves: limit shown"
[ "$(jget rate)" = 100/s ] || fail "waves: rate shown"
[ "$(R LLEN '{syncq}:q:wq:5')" = 2 ] || fail "waves: 2 queued"
run 0 batch info "$wid"
grep -q "^waiting *3$" "$W/out" || fail "text info"

run 0 batch list
grep -qF "$wid" "$W/out" || fail "list has the wave batch"
grep -qF "$id" "$W/out" || fail "list has the first batch"
run 0 --json batch list --limit 2
python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert len(l)==2, l' "$W/out" || fail "limit"
# a long task name is shown whole (the column is as wide as it)
long=custom.a_task_whose_name_is_well_over_twenty_eight_characters
run 0 batch create "$long" -f "$W/array.json" -b 100 -q longq
run 0 batch list
grep -qE "^[0-9a-f-]{36}  $long  [a-z]+ " "$W/out" || { cat "$W/out"; fail "batch list cut the task name"; }

# --- a real worker on the chunks; --wait follows the batch -------------------
R FLUSHALL >/dev/null
"$SYNCQ_BIN" worker -Q default,cb -c 2 --plugin "$PLUGIN" >"$W/worker.log" 2>&1 &
wpid=$!
echo "$wpid" >>"$SYNCQ_TEST_DIR/pids"
seq 1 100 >"$W/hundred.txt"
run 0 --json batch create custom.my_task -f "$W/hundred.txt" -b 10 --max-in-flight 3 \
  --on-complete report.done --on-complete-queue cb --wait
[ "$(jget done)" = 10 ] || fail "all 10 chunks done"
[ "$(jget failed)" = 0 ] || fail "none failed"
[ "$(jget state)" = finished ] || fail "finished"
bid=$(jget id)
[ "$(count_tasks custom.my_task SUCCESS)" = 10 ] || fail "10 chunk successes"
sum=0
for k in $(R --scan --pattern '{syncq}:t:*'); do
  if [ "$(R HGET "$k" name)" = custom.my_task ]; then
    s=$(R HGET "$k" result | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["sum"]))')
    sum=$((sum + s))
  fi
done
[ "$sum" = 5050 ] || fail "the chunks summed to $sum, not 5050"
for _ in $(seq 100); do [ "$(count_tasks report.done)" = 1 ] && break; sleep 0.05; done
[ "$(count_tasks report.done)" = 1 ] || fail "one completion task"

# a chunk that fails (a non-number item: validation, never retried)
(seq 1 14; echo oops; seq 16 30) >"$W/bad_item.txt"
run 1 --json batch create custom.my_task -f "$W/bad_item.txt" -b 10 --max-in-flight 2 --wait
[ "$(jget done)" = 2 ] || fail "2 chunks done"
[ "$(jget failed)" = 1 ] || fail "1 chunk failed"
# the failed chunk is named with its error (issue 20)
grep -qE '^syncq: batch create: chunk [0-9a-f-]{36} failed: validation: ' "$W/err" || { cat "$W/err"; fail "failed chunk not named"; }
# fail fast: the batch ends at the failure, the chunks not sent never run
(echo oops; seq 2 200) >"$W/ff.txt"
run 1 --json batch create custom.my_task -f "$W/ff.txt" -b 10 --max-in-flight 1 --fail-fast --wait
[ "$(jget failed)" = 1 ] || fail "fail fast: 1 failed"
[ "$(jget cancelled)" = 19 ] || fail "fail fast: 19 never sent ($(jget cancelled))"
[ "$(jget dispatched)" = 1 ] || fail "fail fast: 1 dispatched"
kill "$wpid"; wait "$wpid" 2>/dev/null || true
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W/worker.log"; then
  cat "$W/worker.log"; fail "sanitizer report from the worker"
fi

# --- bad input -----------------------------------------------------------------
run 2 batch create custom.my_task;                      err_has "--items-file is required"
run 2 batch create -f "$W/array.json";                  err_has "missing TASK"
run 1 batch create custom.my_task -f "$W/nope.json";    err_has "items file: cannot read $W/nope.json"
# reading stops at once at a NUL byte (a binary file), never reads on
t0=$(date +%s%N)
run 1 batch create custom.my_task -f /dev/zero;        err_has "items file: /dev/zero holds a NUL byte at offset 0 (a binary file?)"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ] || fail "--items-file /dev/zero took long"
# -k @file that is no JSON: where, never what
printf '{"set":\n  {"status": s3cr3t}}' >"$W/badkw.json"
run 2 batch create custom.my_task -f "$W/array.json" -k @"$W/badkw.json"
err_has "kwargs: $W/badkw.json is not valid JSON: line 2, column"
if grep -q s3cr3t "$W/err"; then fail "the -k file's content was echoed"; fi
printf '[1, 2,' >"$W/broken.json"
run 1 batch create custom.my_task -f "$W/broken.json";  err_has "not a valid JSON array"
printf '1\n\0002\n' >"$W/nul.txt"
run 1 batch create custom.my_task -f "$W/nul.txt";      err_has "NUL byte"
printf '\xff\xfe\n' >"$W/latin.txt"
run 1 batch create custom.my_task -f "$W/latin.txt";    err_has "not valid UTF-8"
run 2 batch create custom.my_task -f "$W/array.json" -b 0;      err_has "batch-size '0'"
run 2 batch create custom.my_task -f "$W/array.json" -b 100001; err_has "batch-size"
run 2 batch create custom.my_task -f "$W/array.json" --rate 0/s;  err_has "rate '0/s'"
run 2 batch create custom.my_task -f "$W/array.json" --rate fast; err_has "rate 'fast'"
run 2 batch create custom.my_task -f "$W/array.json" --max-in-flight 0; err_has "max-in-flight"
run 2 batch create 'bad task' -f "$W/array.json";       err_has "task name"
run 2 batch create custom.my_task -f "$W/array.json" --on-complete 'no good'; err_has "on-complete"
run 2 batch create custom.my_task -f "$W/array.json" -k '{"items": 1}'; err_has "must not contain 'items'"
run 2 batch create custom.my_task -f "$W/array.json" -k '[1]' --max-in-flight 2; err_has "kwargs must be a JSON object"
run 1 batch info 00000000-0000-4000-8000-000000000000;  err_has "no batch"
run 2 batch info 'bad id!';                             err_has "bad batch id"
run 2 batch list --limit 0;                             err_has "limit"
[ "$(wc -l <"$W/err")" = 2 ] || fail "usage error: message + hint"
SYNCQ_BROKER_URL=unix:///nonexistent/redis.sock run 1 batch list
err_has "syncq: batch list: Redis at unix:///nonexistent/redis.sock unreachable"
: > "$W/empty.txt"
n0=$(R dbsize)
run 1 batch create syncq.noop --items-file "$W/empty.txt"
err_has "syncq: batch create: items file $W/empty.txt holds no items (empty or blank lines only); nothing written"
printf '\n  \n\t\n' > "$W/blank.txt"
run 1 batch create syncq.noop --items-file "$W/blank.txt"
err_has "items file $W/blank.txt holds no items"
printf '{"a":1}\n{"a":\nplain-id\n' > "$W/broken.jsonl"
run 1 batch create syncq.noop --items-file "$W/broken.jsonl"
err_has "items file $W/broken.jsonl: items line 2 is not valid JSON"
[ "$(R dbsize)" = "$n0" ] || fail "a refused items file wrote something"
# --- built-in tasks at the door (issue 20): refused with the reason, one line
# per bad field, nothing written -----------------------------------------------
seq 1 30 >"$W/ids.txt"
printf 'http://img.example/a.jpg\n' >"$W/urls.txt"
n0=$(R dbsize)
run 2 batch create data_sync.sync_products -f "$W/ids.txt"
err_has "syncq: batch create: task: data_sync.sync_products cannot run as a batch: it declares no argument that takes a batch's items (\`syncq task describe data_sync.sync_products\`)"
run 2 batch create batch_processing.batch_update -f "$W/ids.txt"
err_has "syncq: batch create: set: required"
run 2 batch create batch_processing.batch_update -f "$W/ids.txt" -k '{"set":{"status":"inactive"}}' --on-complete syncq.sleep
err_has "syncq: batch create: on_complete: syncq.sleep cannot be a batch's completion task: it must take the batch summary (batch_id, total, succeeded, failed): batch_id: unknown argument"
run 2 batch create image_processing.download_images -f "$W/urls.txt" -b 2000
err_has "syncq: batch create: batch_size: must be <= 1000, the most items one image_processing.download_images takes in urls (got 2000)"
run 2 batch create image_processing.download_images -f "$W/urls.txt" -k '{"urls":[]}'
err_has "syncq: batch create: kwargs: batch kwargs must not contain 'urls' (each chunk's items go there)"
(seq 1 12; echo abc) >"$W/bad_ids.txt"
run 2 batch create image_processing.generate_thumbnails -f "$W/bad_ids.txt" -b 5
err_has 'syncq: batch create: image_ids: item 12 must be an integer (got "abc")'
run 2 batch create batch_processing.batch_update -f "$W/ids.txt" -k '{"set":{"status":"x"},"colour":1,"filter":[]}'
[ "$(grep -c '^syncq: batch create: ' "$W/err")" = 2 ] || { cat "$W/err"; fail "two bad fields, two lines"; }
err_has "syncq: batch create: filter: must be an object (got [])"
err_has "syncq: batch create: colour: unknown argument (accepted: filter, set, items)"
[ "$(R dbsize)" = "$n0" ] || fail "a refused batch wrote something"
# a chunk of a built-in task carries its items under the declared argument
run 0 batch create image_processing.download_images -f "$W/urls.txt" -q imgq
chunk=$(R LINDEX '{syncq}:q:imgq:5' 0)
[ "$(R HGET "{syncq}:t:$chunk" kwargs)" = '{"urls":["http://img.example/a.jpg"]}' ] \
  || fail "download_images chunk: $(R HGET "{syncq}:t:$chunk" kwargs)"
run 0 batch create custom.my_task --items-file "$W/array.json" --batch-size 100
err_has "warning: 'custom.my_task' is not a built-in task"
echo "it_batch_cli: ok"
