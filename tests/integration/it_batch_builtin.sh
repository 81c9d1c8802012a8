#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_batch_builtin.sh: batches of the built-in tasks end to end (issue 20)
# against a private Redis, a real `syncq worker` and a SQLite catalog:
#   - the README's example, batch_processing.batch_update over an ids file
#     with data_sync.validate_data as completion task: every chunk
#     updates its offers, the completion task runs once with the batch
#     summary, both end SUCCESS;
#   - the seed's create_batch_task(task_name, items, batch_size) for
#     image_processing.download_images over image URLs, through the Python
#     client and through the C API (ctypes calls of syncq_batch_create):
#     each chunk gets its URLs as `urls`, the images are downloaded and
#     stored once each;
#   - a producer without the packs (Python) learns the declarations the
#     worker published, and a bad batch from it is refused, nothing
#     written.
# TEST_TIMEOUT: 240
set -euo pipefail

: "${SYNCQ_BIN:?}" "${SYNCQ_TEST_DIR:?}" "${SYNCQ_SOURCE_DIR:?}" "${SYNCQ_BUILD_DIR:?}"
S=$SYNCQ_BIN
SRC=$SYNCQ_SOURCE_DIR
W="$SYNCQ_TEST_DIR/batchbuiltin"
mkdir -p "$W/media" "$W/img"
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
q() {
  python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
row = c.execute(sys.argv[2]).fetchone()
print(row[0] if row else "")
EOF
}
jget() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(eval(sys.argv[1]))' "$1"; }
export SYNCQ_DATABASE_URL="$W/catalog.db" SYNCQ_MEDIA_DIR="$W/media"
export SYNCQ_BROKER_URL="unix://$SYNCQ_REDIS_SOCK"
R FLUSHALL >/dev/null

# --- a catalog of 30 offers ---------------------------------------------------
python3 "$SRC/tests/integration/it_batchproc_gen.py" jsonl "$W/catalog.jsonl" --products 30 >/dev/null
"$S" task run batch_processing.batch_import --no-broker -k "{\"path\": \"$W/catalog.jsonl\"}" >/dev/null
[ "$(q "$W/catalog.db" 'SELECT COUNT(*) FROM product')" = 30 ] || fail "30 products imported"
python3 - "$W/catalog.db" >"$W/ids.txt" <<'EOF'
import sqlite3, sys
for (i,) in sqlite3.connect(sys.argv[1]).execute("SELECT offer_id FROM product ORDER BY offer_id"):
    print(i)
EOF

# --- images served on loopback --------------------------------------------------
python3 - "$W/img" <<'EOF'
import struct, sys, zlib
def png(path, w, h, rgb):
    raw = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for i in range(5):
    png("%s/p%d.png" % (sys.argv[1], i), 40 + i, 30 + i, (40 * i, 200 - 30 * i, 90))
EOF
python3 "$SRC/tests/integration/it_images_server.py" "$W/img" "$W/img.port" "$W/img.log" &
echo $! >>"$SYNCQ_TEST_DIR/pids"
for _ in $(seq 100); do [ -s "$W/img.port" ] && break; sleep 0.05; done
PORT=$(cat "$W/img.port")

# --- a real worker; it publishes the declarations at start -----------------------
SYNCQ_FETCH_ALLOW=127.0.0.1 "$S" worker -Q batch_processing,data_sync,image_processing -c 2 >"$W/worker.log" 2>&1 &
wpid=$!
echo "$wpid" >>"$SYNCQ_TEST_DIR/pids"
for _ in $(seq 200); do [ "$(R HEXISTS '{syncq}:taskargs' image_processing.download_images)" = 1 ] && break; sleep 0.05; done
[ "$(R HLEN '{syncq}:taskargs')" -ge 25 ] || fail "the worker published its declarations"
R HGET '{syncq}:taskargs' batch_processing.batch_update | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["v"] == 1 and d["declared"] is True, d
assert [a["name"] for a in d["args"]] == ["filter", "set", "items"], d
assert [a for a in d["args"] if a["name"] == "items"][0]["items"] is True' || fail "published form"

# --- the README's example -----------------------------------------------------------
"$S" --json batch create batch_processing.batch_update --items-file "$W/ids.txt" --batch-size 10 \
  -k '{"set":{"status":"inactive"}}' --on-complete data_sync.validate_data --wait >"$W/out" 2>"$W/err" \
  || { cat "$W/err"; fail "the README's batch_update example"; }
[ "$(jget 'd["done"], d["failed"], d["state"]' <"$W/out")" = "(3, 0, 'finished')" ] || fail "3 chunks done: $(cat "$W/out")"
bid=$(jget 'd["id"]' <"$W/out")
[ "$(q "$W/catalog.db" "SELECT COUNT(*) FROM product WHERE status = 'inactive'")" = 30 ] || fail "every offer updated"
cb=""
for _ in $(seq 200); do
  for k in $(R --scan --pattern '{syncq}:t:*'); do
    [ "$(R HGET "$k" name)" = data_sync.validate_data ] && cb=$k
  done
  [ -n "$cb" ] && [ "$(R HGET "$cb" state)" = SUCCESS ] && break
  sleep 0.05
done
[ -n "$cb" ] || fail "no completion task"
[ "$(R HGET "$cb" state)" = SUCCESS ] || fail "completion task ended $(R HGET "$cb" state): $(R HGET "$cb" err_msg)"
R HGET "$cb" kwargs | python3 -c '
import json, sys
k = json.load(sys.stdin)
assert k == {"batch_id": sys.argv[1], "total": 3, "succeeded": 3, "failed": 0}, k' "$bid" \
  || fail "completion kwargs: $(R HGET "$cb" kwargs)"
n=0
for k in $(R --scan --pattern '{syncq}:t:*'); do
  if [ "$(R HGET "$k" name)" = batch_processing.batch_update ]; then
    [ "$(R HGET "$k" state)" = SUCCESS ] || fail "chunk $k: $(R HGET "$k" state) $(R HGET "$k" err_msg)"
    n=$((n + 1))
  fi
done
[ "$n" = 3 ] || fail "3 chunk tasks, saw $n"

# --- create_batch_task for download_images: Python and the C API -------------------
export SYNCQ_LIBRARY="$SYNCQ_BUILD_DIR/libsyncq.so"
asan=$(ldd "$SYNCQ_LIBRARY" | awk '/libasan/ {print $3}')
if [ -n "$asan" ]; then export LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0; fi
PYTHONPATH="$SRC/python" python3 - "$PORT" "$SYNCQ_REDIS_SOCK" <<'EOF' || fail "download_images batches"
import ctypes, json, sys, time
import syncq
port, sock = sys.argv[1], sys.argv[2]
urls = ["http://127.0.0.1:%s/img/p%d.png" % (port, i) for i in range(5)]
qm = syncq.QueueManager(broker_url="unix://" + sock)

def wait(bid):
    for _ in range(600):
        b = qm.get_batch_info(bid)
        if b["done"] + b["failed"] == b["total"]:
            return b
        time.sleep(0.05)
    raise SystemExit("batch %s did not finish: %r" % (bid, b))

# the seed's interface: 5 URLs, 2 a chunk
bid = qm.create_batch_task("image_processing.download_images", urls, batch_size=2)
b = wait(bid)
assert (b["total"], b["done"], b["failed"]) == (3, 3, 0), b

# the C API: syncq_batch_create on a client of its own
lib = ctypes.CDLL(__import__("os").environ["SYNCQ_LIBRARY"])
class Err(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("sys_errno", ctypes.c_int), ("msg", ctypes.c_char * 256)]
err = Err()
cl = ctypes.c_void_p()
assert lib.syncq_client_open(("unix://" + sock).encode(), None, ctypes.byref(cl), ctypes.byref(err)) == 0, err.msg
out = ctypes.create_string_buffer(40)
lib.syncq_batch_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
                                   ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p]
rc = lib.syncq_batch_create(cl, b"image_processing.download_images", json.dumps(urls[:3]).encode(), 3,
                            None, out, None, ctypes.byref(err))
assert rc == 0, err.msg
b = wait(out.value.decode())
assert (b["total"], b["done"], b["failed"]) == (1, 1, 0), b
# a bad batch from the same producer (no packs here: the published
# declarations) is refused, nothing written
rc = lib.syncq_batch_create(cl, b"image_processing.download_images", json.dumps(urls).encode(), 5000,
                            None, out, None, ctypes.byref(err))
assert rc == -1, rc
assert err.msg.decode() == ("batch_size: must be <= 1000, the most items one "
                            "image_processing.download_images takes in urls (got 5000)"), err.msg
try:
    qm.create_task("crawler.fetch_products", kwargs={"category_id": "1", "pagesize": 5})
    raise SystemExit("a misspelt kwarg was accepted")
except syncq.SyncqError as e:
    assert "pagesize: unknown argument; did you mean page_size?" in str(e), str(e)
lib.syncq_client_close(cl)
qm.close()
EOF
n=0
for k in $(R --scan --pattern '{syncq}:t:*'); do
  if [ "$(R HGET "$k" name)" = image_processing.download_images ]; then
    [ "$(R HGET "$k" state)" = SUCCESS ] || fail "download chunk $k: $(R HGET "$k" state) $(R HGET "$k" err_msg)"
    R HGET "$k" kwargs | python3 -c 'import json,sys; k=json.load(sys.stdin); assert list(k) == ["urls"] and 1 <= len(k["urls"]) <= 3, k' \
      || fail "chunk kwargs $(R HGET "$k" kwargs)"
    n=$((n + 1))
  fi
done
[ "$n" = 4 ] || fail "4 download chunks, saw $n"
[ "$(q "$W/catalog.db" "SELECT COUNT(*) FROM image WHERE status = 'downloaded'")" = 5 ] || fail "5 images stored once each"
kill "$wpid"; wait "$wpid" 2>/dev/null || true
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W/worker.log"; then
  cat "$W/worker.log"; fail "sanitizer report from the worker"
fi
echo "it_batch_builtin: ok"
