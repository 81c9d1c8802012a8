#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_datasync_worker.sh: the data packs under a real `syncq worker`
# (prefork children, leases, redelivery), not in-process:
#   1. batch_processing.batch_import of 6,000 products; the whole worker
#      is killed with SIGKILL after some batches committed; a second
#      worker gets the task back when its lease lapses and the import
#      resumes after its last committed row: every product stored once;
#   2. image_processing.download_images in a worker child (libvips started
#      there, after the fork) stores the images and fans out
#      generate_thumbnails, which another child completes: files on disk;
#   3. data_sync.sync_products, validate_data and cleanup_duplicates as
#      worker tasks, results checked.
# TEST_TIMEOUT: 240
# TEST_LABELS: slow
set -u
S=${SYNCQ_BIN:?}
D=${SYNCQ_TEST_DIR:?}
SRC=${SYNCQ_SOURCE_DIR:?}
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL $1: expected [$2] got [$3]"; fails=$((fails+1)); else echo "ok   $1"; fi
}
q() { # q SQL: one value from the catalog
  python3 - "$D/catalog.db" "$1" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
r = c.execute(sys.argv[2]).fetchone()
print(r[0] if r else "")
EOF
}
jget() { # jget JSON EXPR (python expression on d)
  python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$2" <<<"$1"
}

export SYNCQ_DATABASE_URL="$D/catalog.db" SYNCQ_MEDIA_DIR="$D/media" \
  SYNCQ_LEASE_TIMEOUT=2 SYNCQ_HEARTBEAT_INTERVAL=0.5 \
  SYNCQ_THUMBNAIL_SIZES=100x100,50x50 SYNCQ_LOG_LEVEL=info

# An image server for the downloads.
mkdir -p "$D/srv"
for k in 0 1 2 3 4 5; do
  vips black "$D/srv/base.v" $((60 + k)) 40 --bands 3 >/dev/null
  vips linear "$D/srv/base.v" "$D/srv/O1CN01${k}_0.jpg" 1 $((30 * k + 10)) >/dev/null
done
python3 "$SRC/tests/integration/it_images_server.py" "$D/srv" "$D/port" "$D/requests.log" &
echo $! >>"$D/pids"
for _ in $(seq 100); do [ -s "$D/port" ] && break; sleep 0.05; done
PORT=$(cat "$D/port")
export SYNCQ_FETCH_ALLOW="127.0.0.1:$PORT" # the image server, on loopback

start_worker() { # start_worker NAME -> pid (its own process group)
  setsid "$S" worker -Q batch_processing,image_processing,data_sync -c 2 \
    -n "$1" --logfile "$D/$1.log" >"$D/$1.err" 2>&1 &
  echo $! >>"$D/pids"
  echo $!
}

# ---- 1. import killed with the worker, resumed by another --------------
python3 "$SRC/tests/integration/it_batchproc_gen.py" jsonl "$D/catalog.jsonl" \
  --products 6000 --bad-every 1000 >"$D/gen.out"
# Images of offers 1..5 point at the local server.
sed -i "s#https://cbu01.alicdn.com/img/ibank/O1CN01#http://127.0.0.1:$PORT/img/O1CN01#g" "$D/catalog.jsonl"
good=5994
id=$("$S" task create batch_processing.batch_import \
  -k "{\"path\": \"$D/catalog.jsonl\", \"batch_rows\": 100}")
check "import task created" 36 "${#id}"
w1=$(start_worker data-1)
committed=0
for _ in $(seq 600); do
  committed=$(q "SELECT rows_ok FROM batch_job" 2>/dev/null)
  [ "${committed:-0}" -ge 800 ] && break
  sleep 0.05
done
kill -9 -- "-$w1"
stored=$(q "SELECT COUNT(*) FROM product")
check "killed after some batches" ok "$([ "$stored" -ge 800 ] && [ "$stored" -lt $good ] && echo ok || echo "$stored")"
check "stored == committed at the kill" "$(q "SELECT inserted FROM batch_job")" "$stored"
echo "info: worker killed with $stored of $good products committed"
w2=$(start_worker data-2)
if "$S" task wait "$id" --timeout 120 >"$D/wait1.out" 2>&1; then
  echo "ok   import finished after the kill"
else
  echo "FAIL import did not finish: $(tail -c 600 "$D/wait1.out")"; fails=$((fails+1))
fi
info=$("$S" task info "$id" --json)
check "import state" SUCCESS "$(jget "$info" 'd["state"]')"
check "imported once" "$good" "$(jget "$info" 'd["result"]["inserted"]')"
check "bad rows" 6 "$(jget "$info" 'd["result"]["rows_bad"]')"
check "resumed, not restarted" yes "$(jget "$info" '"yes" if d["result"]["resumed_from_line"] > 1 else d["result"]["resumed_from_line"]')"
check "redelivered" yes "$(jget "$info" '"yes" if d["attempt"] >= 2 else d["attempt"]')"
check "products in the catalog" "$good" "$(q "SELECT COUNT(*) FROM product")"

# ---- 2. images in a worker child, thumbnails fanned out -----------------
urls=$(python3 -c "import json; print(json.dumps(['http://127.0.0.1:$PORT/img/O1CN01%d_0.jpg' % k for k in range(6)]))")
iid=$("$S" task create image_processing.download_images \
  -k "{\"product_id\": 600000000001, \"urls\": $urls}")
if "$S" task wait "$iid" --timeout 60 >"$D/wait2.out" 2>&1; then
  echo "ok   download_images finished"
else
  echo "FAIL download_images: $(tail -c 600 "$D/wait2.out")"; fails=$((fails+1))
fi
info=$("$S" task info "$iid" --json)
check "images downloaded" 6 "$(jget "$info" 'd["result"]["downloaded"]')"
tid=$(jget "$info" 'd["result"]["thumbnails_task"]')
check "thumbnails task fanned out" 36 "${#tid}"
check "thumbnails task is a child" "$iid" "$("$S" task info "$tid" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["parent_id"])')"
if "$S" task wait "$tid" --timeout 60 >"$D/wait3.out" 2>&1; then
  echo "ok   generate_thumbnails finished"
else
  echo "FAIL generate_thumbnails: $(tail -c 600 "$D/wait3.out")"; fails=$((fails+1))
fi
check "thumbnails created" 12 "$("$S" task info "$tid" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["created"])')"
check "thumbnail files" 12 "$(find "$D/media/thumbs" -type f | wc -l)"
check "original files" 6 "$(find "$D/media" -path "$D/media/thumbs" -prune -o -path "$D/media/.tmp" -prune -o -type f -print | wc -l)"

# ---- 3. data_sync tasks in the worker ----------------------------------
vid=$("$S" task create data_sync.validate_data -k '{"check_files": true, "sample": 5}')
"$S" task wait "$vid" --timeout 60 >/dev/null 2>&1
info=$("$S" task info "$vid" --json)
check "validate state" SUCCESS "$(jget "$info" 'd["state"]')"
check "validate products" "$good" "$(jget "$info" 'd["result"]["checked"]["products"]')"
check "validate errors" 0 "$(jget "$info" 'd["result"]["errors"]')"
cid=$("$S" task create data_sync.cleanup_duplicates -k '{"dry_run": true}')
"$S" task wait "$cid" --timeout 60 >/dev/null 2>&1
info=$("$S" task info "$cid" --json)
check "cleanup state" SUCCESS "$(jget "$info" 'd["state"]')"
check "cleanup dry run" True "$(jget "$info" 'd["result"]["dry_run"]')"
sid=$("$S" task create data_sync.sync_products -k '{"sync_type": "incremental"}')
"$S" task wait "$sid" --timeout 60 >/dev/null 2>&1
info=$("$S" task info "$sid" --json)
check "sync state" SUCCESS "$(jget "$info" 'd["state"]')"
check "nothing staged to sync" 0 "$(jget "$info" 'd["result"]["records"]')"
# a bad argument is refused where the task is created (its declaration),
# and a task that gets one anyway (run in-process, unchecked) fails
# validation
"$S" task create data_sync.sync_products -k '{"sync_type": "sideways"}' >bad.out 2>bad.err
check "bad argument refused at the door" 2 "$?"
check "bad argument message" 'syncq: task create: sync_type: must be one of incremental|full (got "sideways")' "$(head -1 bad.err)"
"$S" --json task run data_sync.sync_products -k '{"sync_type": "sideways"}' >bad.out 2>bad.err
check "bad argument run: exit" 1 "$?"
check "bad argument class" validation "$(jget "$(cat bad.out)" 'd["error"]["class"]')"

kill -TERM -- "-$w2" 2>/dev/null
for _ in $(seq 100); do kill -0 "$w2" 2>/dev/null || break; sleep 0.1; done
# In the sanitizer build a report in a worker child would not fail a task:
# look for one in the workers' output.
reports=$(grep -l -E "AddressSanitizer|LeakSanitizer|runtime error:" \
  "$D"/data-*.log "$D"/data-*.err 2>/dev/null | wc -l)
check "no sanitizer reports from the workers" 0 "$reports"
[ "$fails" -eq 0 ] && echo "all ok" || echo "$fails failures"
exit $((fails > 0))
