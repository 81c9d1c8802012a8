#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_cli_sync.sh: `syncq sync` on a running system, and the demo's
# acceptance of issue 7 (its workers SIGKILLed midway, the next run
# finishes the sync without duplicates).
#  - a fixture 1688 server with 2 categories, one worker on every queue;
#    `syncq sync --category A --category B`: exit 0, every offer in the
#    database once, a summary; again: incremental (all unchanged); with
#    --full: crawled again, every offer compared; a category that does not
#    exist: exit 1 naming it;
#    usage errors (no --category, a bad id);
#  - `syncq demo --products 240`: the worker supervisor and its children
#    and then the demo itself are SIGKILLed once offers are being synced;
#    the next `syncq demo` says it resumes the unfinished syncs, ends with
#    exit 0, all 240 offers stored exactly once and no dead letters.
# TEST_TIMEOUT: 600
# TEST_LABELS: slow
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
sql() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2"; }
cd "$T" || exit 1

# --- usage
"$S" sync > /dev/null 2> u1.txt
check "sync without category" 2 "$?"
contains "sync without category message" "^syncq: sync: " u1.txt
"$S" sync --category 12ab > /dev/null 2> u2.txt
check "sync bad category id" 2 "$?"

# --- a running system: fixture server + one worker on every queue
. "$(dirname "$0")/fixture.sh"
fixture_start fx --products 80 --categories 2 --seed 7 \
  --faults '429=2%:1s,5xx=1%' --app-key k1 --app-secret s1 --json || exit 1
read -r A B < <(python3 -c 'import json,sys; print(*json.load(open(sys.argv[1]))["leaf_ids"])' fx.out)
fixture_env "$FX_URL" k1 s1
export SYNCQ_CRAWLER_RATE=200/s SYNCQ_CRAWLER_COOLDOWN=2s \
  SYNCQ_DATABASE_URL="$T/catalog.db" SYNCQ_MEDIA_DIR="$T/media"
"$S" worker -Q crawler,image_processing,data_sync,default -c 3 --logfile "$T/w.log" &
W=$!
echo "$W" >> "$T/pids"

"$S" sync --category "$A" --category "$B" --timeout 300 > s1.txt 2>&1
check "sync exit" 0 "$?"
check "sync: every offer once" 80 "$(sql "$T/catalog.db" 'select count(distinct offer_id) from product')"
check "sync: no duplicate rows" 80 "$(sql "$T/catalog.db" 'select count(*) from product')"
contains "sync: products inserted" "inserted 80, updated 0, unchanged 0" s1.txt
"$S" sync --category "$A" --category "$B" --timeout 300 > s2.txt 2>&1
check "sync again exit" 0 "$?"
contains "sync again: incremental" "inserted 0, updated 0, unchanged 80" s2.txt
"$S" sync --category "$A" --full --timeout 300 > s3.txt 2>&1
check "sync --full exit" 0 "$?"
# --full crawls A again and compares every stored offer (not only those
# fetched since the last run); content that did not change is not rewritten
contains "sync --full: every offer compared" "sync_products +inserted 0, updated 0, unchanged 80$" s3.txt
contains "sync --full: category A crawled again" "^summary: [1-9][0-9]+ tasks" s3.txt
"$S" sync --category 999999999 --timeout 120 > s4.txt 2>&1
check "unknown category exit" 1 "$?"
contains "unknown category named" "^  category 999999999: FAILURE .*类目不存在" s4.txt
kill -TERM "$W"; wait "$W" 2>/dev/null
# no live worker: warned at once, for every queue the sync needs (issue 20)
"$S" sync --category "$A" --timeout 2 > s5.txt 2>&1
check "sync without workers: ends at its timeout" 1 "$?"
for q in crawler image_processing data_sync; do
  contains "sync without workers: $q named" "^syncq: sync: warning: no live worker serves queue $q: its tasks wait until one starts" s5.txt
done
# one rule for how long sync and demo follow: 1s..7d; 0 is refused by both
for c in "sync --category $A" demo; do
  # shellcheck disable=SC2086
  "$S" $c --timeout 0 > t0.txt 2>&1
  check "$c --timeout 0: usage error" 2 "$?"
  contains "$c --timeout 0: the rule" "^syncq: ${c%% *}: --timeout '0' must be 1s \.\. 7d \(" t0.txt
  "$S" $c --timeout 8d > t8.txt 2>&1
  check "$c --timeout 8d: usage error" 2 "$?"
done
# ... and each says what leaving it out does for that command
"$S" sync --category "$A" --timeout 0 > t0s.txt 2>&1
contains "sync --timeout 0: without it" "\(leave it out to follow to the end\)$" t0s.txt
"$S" demo --timeout 0 > t0d.txt 2>&1
contains "demo --timeout 0: without it" "\(default 20m\)$" t0d.txt
fixture_stop
unset SYNCQ_1688_BASE_URL SYNCQ_1688_PAGE_URL SYNCQ_1688_SHOP_API_URL \
  SYNCQ_1688_APP_KEY SYNCQ_1688_APP_SECRET SYNCQ_DATABASE_URL SYNCQ_MEDIA_DIR

# --- the demo, its workers SIGKILLed midway, then run again
setsid "$S" demo --products 240 --var "$T/dk" --timeout 400 > d1.txt 2>&1 &
DEMO=$!
echo "$DEMO" >> "$T/pids"
killed=no
for _ in $(seq 600); do
  n=$(sql "$T/dk/1688sync.db" 'select count(*) from image' 2>/dev/null || echo 0)
  if [ "${n:-0}" -gt 20 ]; then
    for c in $(ps -o pid= --ppid "$DEMO"); do
      if tr '\0' ' ' < "/proc/$c/cmdline" 2>/dev/null | grep -q ' worker '; then
        kids=$(ps -o pid= --ppid "$c")
        kill -9 "$c" $kids 2>/dev/null
        killed=yes
      fi
    done
    kill -9 "$DEMO"
    break
  fi
  sleep 0.2
done
wait "$DEMO" 2>/dev/null
check "workers killed midway" yes "$killed"
# the demo's other children get SIGTERM from the kernel (PDEATHSIG)
sleep 2
"$S" demo --products 240 --var "$T/dk" --timeout 400 > d2.txt 2>&1
check "demo after the kill: exit" 0 "$?"
contains "demo after the kill: resumes" "resuming the unfinished sync" d2.txt
contains "demo after the kill: products" "products +240 in the database \(240 offers in the catalog\)" d2.txt
contains "demo after the kill: no dead letters" "dead letters +0$" d2.txt
# counted nouns: "1 warning", never "1 warnings"
check "demo: no '1 <plural>'" 0 "$(grep -cE '(^|[^0-9])1 (errors|warnings|offers|images|suppliers|products|SKUs)' d2.txt)"
check "demo after the kill: each offer once" 240 "$(sql "$T/dk/1688sync.db" 'select count(*) from product')"
check "demo after the kill: distinct offers" 240 "$(sql "$T/dk/1688sync.db" 'select count(distinct offer_id) from product')"

finish it_cli_sync
