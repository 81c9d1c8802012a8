#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_crawler_e2e.sh: the end-to-end category sync of the issue (shared by
# the crawler and data engineers): a 500-offer category of the fixture
# 1688 server, with faults on (429 with Retry-After, 503s, slow answers,
# a captcha page, gateway frequency-limit errors), synced by real
# workers serving the crawler, image_processing and data_sync queues:
# crawler.sync_category -> fetch_product_details (signed Open Platform
# calls) -> image_processing.download_images -> generate_thumbnails, then
# data_sync.sync_products and validate_data. Expected: every offer in the
# product table exactly once, every image downloaded and on disk with its
# thumbnails, validate_data clean, nothing failed or dead-lettered, and the
# injected faults visible as task retries in the events stream.
# (Truncated images are left out of the faults: download_images records
# them as validation failures by design; it_crawler_fetch covers them.)
# TEST_TIMEOUT: 900
# TEST_LABELS: slow
set -u
S=${SYNCQ_BIN:?}
D=${SYNCQ_TEST_DIR:?}
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL $1: expected [$2] got [$3]"; fails=$((fails+1)); else echo "ok   $1"; fi
}
PRODUCTS=${E2E_PRODUCTS:-500}
FAULTS=${E2E_FAULTS:-429=2%:1s,5xx=1%:503,slow=1%:1s,captcha=1,qos=1%}

. "$(dirname "$0")/fixture.sh"
fixture_start fx --products "$PRODUCTS" --categories 1 --seed 2026 \
  --faults "$FAULTS" --app-key 7000001 --app-secret e2e-secret || exit 1
U=$FX_URL
fixture_env "$U" 7000001 e2e-secret

export SYNCQ_IMAGE_RATE=200/s SYNCQ_CRAWLER_RATE=50/s SYNCQ_CRAWLER_MAX_WAIT=2s SYNCQ_CRAWLER_COOLDOWN=3s \
  SYNCQ_DATABASE_URL="$D/catalog.db" SYNCQ_MEDIA_DIR="$D/media" \
  SYNCQ_LOG_LEVEL=warning

t0=$(date +%s)
root=$("$S" task create crawler.sync_category -k '{"category_id":1031910,"page_size":50}')
check "sync_category created" 36 "${#root}"
for w in 1 2; do
  setsid "$S" worker -Q crawler,image_processing,data_sync -c 4 -n "e2e-$w" \
    --logfile "$D/worker$w.log" >"$D/worker$w.err" 2>&1 &
  echo $! >>"$D/pids"
  echo $! >>"$D/wpids"
done

# until the sync and everything it fanned out has ended
queued() {
  local n=0 q
  for q in crawler image_processing data_sync; do
    for p in $(seq 0 10); do n=$((n + $(R llen "{syncq}:q:$q:$p"))); done
  done
  echo $((n + $(R zcard '{syncq}:delayed') + $(R zcard '{syncq}:active')))
}
deadline=$((t0 + 800))
while :; do
  st=$(R hget "{syncq}:t:$root" state)
  left=$(queued)
  case "$st" in SUCCESS|FAILURE|DEAD|REVOKED) [ "$left" -eq 0 ] && break ;; esac
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "FAIL timed out: root $st, $left tasks left"; fails=$((fails+1)); break; fi
  sleep 1
done
echo "info: crawl, images and thumbnails done in $(( $(date +%s) - t0 )) s"
check "sync_category succeeded" SUCCESS "$(R hget "{syncq}:t:$root" state)"

run_task() { # run_task NAME KWARGS -> waits, prints the result JSON
  local id
  id=$("$S" task create "$1" -k "$2")
  "$S" task wait "$id" --timeout 300 >/dev/null 2>&1
  "$S" task info "$id" --json
}
sp=$(run_task data_sync.sync_products '{}')
check "sync_products succeeded" SUCCESS "$(echo "$sp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
vd=$(run_task data_sync.validate_data '{"check_files":true}')
check "validate_data succeeded" SUCCESS "$(echo "$vd" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
check "validate_data clean" True "$(echo "$vd" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(r["ok"])')"
echo "info: validate_data: $(echo "$vd" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print({k: v for k, v in r.items() if not isinstance(v, (list, dict))})')"
while read -r w; do kill -TERM -- "-$w" 2>/dev/null; done <"$D/wpids"

# the catalog against the fixture's offers
curl -s "$U/fixture/offers" >"$D/offers.json"
python3 - "$D/catalog.db" "$D/offers.json" "$D/media" >"$D/db.txt" <<'EOF'
import json, os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
want = set(json.load(open(sys.argv[2]))["offer_ids"])
media = sys.argv[3]
rows = db.execute("SELECT offer_id FROM product").fetchall()
ids = [r[0] for r in rows]
print("products", len(ids))
print("distinct", len(set(ids)))
print("missing", len(want - set(ids)))
print("extra", len(set(ids) - want))
def path(p):
    return p if os.path.isabs(p) else os.path.join(media, p)
imgs = db.execute("SELECT i.image_id, i.status, i.local_path, i.sha256 FROM image i "
                  "JOIN product_image pi ON pi.image_id = i.image_id").fetchall()
print("images", len(imgs))
print("images_not_downloaded", sum(1 for i in imgs if i[1] != "downloaded"))
print("images_missing_file", sum(1 for i in imgs if not i[2] or not os.path.isfile(path(i[2]))))
shas = set(i[3] for i in imgs if i[3])
thumbs = db.execute("SELECT sha256, path FROM image_variant WHERE kind LIKE 'thumb%'").fetchall()
have = {}
for sha, p in thumbs:
    if os.path.isfile(path(p)):
        have[sha] = have.get(sha, 0) + 1
print("thumbs_missing", sum(1 for s in shas if have.get(s, 0) < 2))
print("offers_without_images", db.execute(
    "SELECT COUNT(*) FROM product p WHERE NOT EXISTS "
    "(SELECT 1 FROM product_image pi WHERE pi.offer_id = p.offer_id)").fetchone()[0])
EOF
sed 's/^/info: /' "$D/db.txt"
v() { awk -v k="$1" '$1 == k {print $2}' "$D/db.txt"; }
check "every offer in the database" "$PRODUCTS" "$(v products)"
check "each exactly once" "$PRODUCTS" "$(v distinct)"
check "no offer missing" 0 "$(v missing)"
check "no unknown offer" 0 "$(v extra)"
check "every offer has images" 0 "$(v offers_without_images)"
check "every image downloaded" 0 "$(v images_not_downloaded)"
check "every image on disk" 0 "$(v images_missing_file)"
check "every image has its thumbnails on disk" 0 "$(v thumbs_missing)"

# nothing lost: no failure, nothing dead-lettered
check "dead-letter queue empty" 0 "$(R zcard '{syncq}:dlq')"
failed=$(R hgetall '{syncq}:stats' | paste - - | awk -F'\t' '$1 ~ /^failed\|/ {s += $2} END {print s + 0}')
check "no task failed" 0 "$failed"
# the faults were there, and show as retries in the events
retried=$(R xrange '{syncq}:events' - + | grep -c '^task-retried$')
faults=$(curl -s "$U/fixture/stats")
echo "info: fixture: $faults"
echo "info: task-retried events: $retried"
check "faults injected" ok "$(echo "$faults" | python3 -c '
import json, sys
f = json.load(sys.stdin)["faults"]
print("ok" if f["429"] > 0 and f["5xx"] > 0 and f["captcha"] >= 1 else f)')"
check "retries visible in the events" ok "$([ "$retried" -gt 0 ] && echo ok || echo "$retried")"
# stop the server and the workers cleanly so leak checks run at exit
fixture_stop
for _ in $(seq 100); do
  alive=0
  while read -r w; do kill -0 "$w" 2>/dev/null && alive=1; done <"$D/wpids"
  [ "$alive" = 0 ] && break
  sleep 0.1
done
if grep -l "runtime error\|AddressSanitizer\|LeakSanitizer" "$D"/worker* "$D"/fx.out >/dev/null 2>&1; then
  echo "FAIL sanitizer report in a worker or fixture server log"; fails=$((fails+1))
fi
[ "$fails" -eq 0 ] && echo "PASS it_crawler_e2e" || echo "FAILED: $fails"
exit $((fails > 0))
