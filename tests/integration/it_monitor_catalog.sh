#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_catalog.sh: the Catalog page from a real sync. A fixture 1688
# server (2 categories, 40 offers, the first 3 image requests answered
# with half a file), one worker on every queue, `syncq sync` of both
# categories; the data_sync pack publishes one "catalog" summary per
# category when the sync ends (packs/data_sync/ds_summary.c through
# syncq/summary.h) and `monitor serve` shows them: GET
# /api/summaries/catalog holds per category the offers, duplicates
# merged, images stored and broken (each equal to the catalog database's
# own count), the last sync's time and outcome, and the sync's root task;
# GET /catalog renders them in its first response with a link to that
# task's page. Bad kinds are a 400.
# TEST_TIMEOUT: 600
# TEST_LABELS: slow
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
sql() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$T/catalog.db" "$1"; }
cd "$T" || exit 1

. "$(dirname "$0")/fixture.sh"
fixture_start fx --products 40 --categories 2 --seed 11 \
  --faults 'truncated_image=3' --app-key k1 --app-secret s1 --json || exit 1
U=$FX_URL
# the --json summary is the output's JSON line (fx.out holds stderr too)
read -r A B < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        print(*json.loads(line)["leaf_ids"]); break' "$T/fx.out")
fixture_env "$U" k1 s1
export SYNCQ_CRAWLER_RATE=200/s SYNCQ_CRAWLER_COOLDOWN=2s \
  SYNCQ_DATABASE_URL="$T/catalog.db" SYNCQ_MEDIA_DIR="$T/media"
"$S" worker -Q crawler,image_processing,data_sync,default -c 3 --logfile "$T/w.log" &
echo "$!" >> "$T/pids"
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$T/serve.log" --no-alerts &
echo "$!" >> "$T/pids"
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
M="http://127.0.0.1:$(cat "$T/port")"

curl -s "$M/api/summaries/catalog" > empty.json
check "before a sync: nothing published" 0 "$(json 'd["count"]' < empty.json)"
curl -s "$M/catalog" > empty.html
contains "before a sync: the page says so" 'nothing published yet' empty.html

"$S" sync --category "$A" --category "$B" --timeout 300 > s1.txt 2>&1
check "sync exit" 0 "$?"
contains "summary published when the sync ended" 'event=data_sync.summary categories=2' w.log
curl -s "$M/api/summaries/catalog" > cat.json
check "two categories published" 2 "$(json 'd["count"]' < cat.json)"
check "kind" catalog "$(json 'd["kind"]' < cat.json)"
# each figure equals the database's own count for that category
LIVE="duplicate_of IS NULL"
IMG="FROM image i WHERE EXISTS (SELECT 1 FROM product_image pi JOIN product p ON p.offer_id = pi.offer_id WHERE pi.image_id = i.image_id AND p.duplicate_of IS NULL AND p.category_id ="
for c in "$A" "$B"; do
  check "$c: offers" "$(sql "SELECT COUNT(*) FROM product WHERE category_id = $c AND $LIVE")" "$(json "d['summaries']['$c']['offers']" < cat.json)"
  check "$c: duplicates merged" "$(sql "SELECT COUNT(*) FROM product WHERE category_id = $c AND duplicate_of IS NOT NULL")" "$(json "d['summaries']['$c']['duplicates_merged']" < cat.json)"
  check "$c: images stored" "$(sql "SELECT COUNT(*) $IMG $c) AND i.status = 'downloaded'")" "$(json "d['summaries']['$c']['images_stored']" < cat.json)"
  check "$c: images broken" "$(sql "SELECT COUNT(*) $IMG $c) AND i.status NOT IN ('downloaded', 'pending')")" "$(json "d['summaries']['$c']['images_broken']" < cat.json)"
  check "$c: last sync outcome" ok "$(json "d['summaries']['$c']['last_sync_outcome']" < cat.json)"
  check "$c: category id" "$c" "$(json "d['summaries']['$c']['category_id']" < cat.json)"
done
check "every offer counted once over the categories (40 offers, duplicates apart)" 40 "$(json 'sum(s["offers"] + s["duplicates_merged"] for s in d["summaries"].values())' < cat.json)"
check "images stored: every image of the catalog but the broken ones" yes "$(json 'all(s["images_stored"] > 0 for s in d["summaries"].values()) and "yes"' < cat.json)"
check "3 truncated images are broken" 3 "$(json 'sum(s["images_broken"] for s in d["summaries"].values())' < cat.json)"
check "last sync time is the products run's end" "$(sql "SELECT MAX(finished_at) FROM sync_run WHERE task = 'data_sync.sync_products'")" "$(json "d['summaries']['$A']['last_sync_at']" < cat.json)"
ROOT=$(json "d['summaries']['$A']['root_id']" < cat.json)
ROOT_NAME=$("$S" task info "$ROOT" --json | json 'd["name"]')
check "the root is the sync's tree (a category sync)" crawler.sync_category "$ROOT_NAME"
TASK=$(json "d['summaries']['$A']['task_id']" < cat.json)
check "published by the cleanup step" data_sync.cleanup_duplicates "$("$S" task info "$TASK" --json | json 'd["name"]')"
check "the step is in that tree" "$ROOT" "$("$S" task info "$TASK" --json | json 'd["root_id"]')"

# the page: its first response has the rows and the link to the tree
curl -s "$M/catalog" > cat.html
contains "page: a row per category" "<tr data-key=\"$A\">" cat.html
contains "page: the other category" "<tr data-key=\"$B\">" cat.html
contains "page: the task tree link" "<a href=\"/task/$ROOT\">" cat.html
contains "page: columns" '<th>images broken</th>' cat.html
contains "page: UTC time with offset" '<time data-at="[^"]+">[0-9-]{10} [0-9:]{8} \+00:00</time>' cat.html
contains "page: in the navigation" '<a href="/catalog">Catalog</a>' cat.html
check "bad kind: 400" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$M/api/summaries/Bad-Kind")"
finish it_monitor_catalog
