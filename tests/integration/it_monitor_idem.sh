#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_idem.sh: issue 16's idempotency gap. A create through the
# HTTP API whose reply is lost after Redis ran it (the monitor reaches
# Redis through tests/integration/redis_cut_proxy.py, which drops that
# reply and the connection) makes exactly one task, and the request and
# its retry with the same Idempotency-Key both answer its id. A retry
# that finds the claim of a server that died after creating (the claim
# still pending) gets the same task, not a second one; a bulk create and
# a batch create too.
# TEST_TIMEOUT: 120
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
SRC=${SYNCQ_SOURCE_DIR:?}
SOCK=${SYNCQ_REDIS_SOCK:?}
. "$SRC/tests/integration/checks.sh"
cd "$T" || exit 1
R() { redis-cli -s "$SOCK" "$@"; }
J='Content-Type: application/json'
code() { curl -s -o "$T/out.json" -w '%{http_code}' "$@"; }
tasks_in() { R llen "{syncq}:q:$1:5"; }

mkdir -p "$T/cut"
python3 "$SRC/tests/integration/redis_cut_proxy.py" "$T/proxy.sock" "$SOCK" \
  "$T/cut" &
for _ in $(seq 100); do [ -S "$T/proxy.sock" ] && break; sleep 0.05; done
SYNCQ_BROKER_URL="unix://$T/proxy.sock" "$S" monitor serve \
  --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$T/serve.log" \
  --no-alerts &
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$T/port")"

# 1. The reply of the create is lost: the server finds the task made and
# answers it; the retry gets the same id; one task.
body='{"name":"syncq.noop","queue":"idem1","kwargs":{"m":"cut-idem-1"}}'
echo "reply cut-idem-1" >"$T/cut/cut"
check "create whose reply was lost" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-1' -d "$body" "$B/api/tasks")"
check "the proxy cut it" "reply cut-idem-1" "$(cat "$T/cut/cuts.log")"
id1=$(json 'd["id"]' <out.json)
check "not a duplicate" False "$(json 'd["duplicate"]' <out.json)"
check "retry" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-1' -d "$body" "$B/api/tasks")"
check "retry: the same id" "$id1" "$(json 'd["id"]' <out.json)"
check "one task made" 1 "$(tasks_in idem1)"
check "it is that task" "$id1" "$(R lindex '{syncq}:q:idem1:5' 0)"

# 2. A server died after creating, before storing its reply: its claim
# is still pending. The retry derives the same id from the claim's seed
# and gets the task made, not a second one.
body='{"name":"syncq.noop","queue":"idem2"}'
seed=5d0a8f3e-6b1c-4f7a-9e2d-3c4b5a6f7e80
kh=$(printf '%s' 'k-2' | sha256sum | cut -c1-64)
rh=$(printf 'POST /api/tasks\n%s' "$body" | sha256sum | cut -c1-64)
h=$(printf '%s' "$seed/0" | sha256sum | cut -c1-64)
v=$(printf '%s' "${h:16:1}" | tr '0-9a-f' '89ab89ab89ab89ab')
id2="${h:0:8}-${h:8:4}-4${h:13:3}-$v${h:17:3}-${h:20:12}"
R set "{syncq}:idem:$kh" "{\"h\":\"$rh\",\"pending\":true,\"seed\":\"$seed\"}" \
  PX 600000 >/dev/null
"$S" task create syncq.noop -q idem2 --id "$id2" >/dev/null
check "retry after a server died" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-2' -d "$body" "$B/api/tasks")"
check "the dead server's task" "$id2" "$(json 'd["id"]' <out.json)"
check "reported as made for this request" False "$(json 'd["duplicate"]' <out.json)"
check "still one task" 1 "$(tasks_in idem2)"
check "the reply is stored" False \
  "$(R get "{syncq}:idem:$kh" | json 'd.get("pending", False)')"

# 3. Bulk: the reply of the create is lost; the retry answers the same
# ids; each task once.
body='{"tasks":[{"name":"syncq.noop","queue":"idem3","kwargs":{"m":"cut-idem-3"}},{"name":"syncq.noop","queue":"idem3"}]}'
echo "reply cut-idem-3" >"$T/cut/cut"
check "bulk whose reply was lost" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-3' -d "$body" "$B/api/tasks/bulk")"
ids=$(json '",".join(d["ids"])' <out.json)
check "bulk: two ids" 2 "$(echo "$ids" | tr ',' '\n' | grep -c .)"
check "bulk retry" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-3' -d "$body" "$B/api/tasks/bulk")"
check "bulk retry: the same ids" "$ids" "$(json '",".join(d["ids"])' <out.json)"
check "bulk: two tasks made" 2 "$(tasks_in idem3)"
check "cuts made" 2 "$(wc -l <"$T/cut/cuts.log")"

# 4. A batch whose create's reply is lost: the batch id comes from the
# claim's seed, the create is sent again and answers the batch it made;
# the retry gets the same batch and chunk ids. One batch, three chunks
# (before: the retry made a second batch).
bq() { R zcard '{syncq}:batches'; }
nb=$(bq)
body='{"task":"syncq.echo","items":["cut-idem-4",2,3],"batch_size":1,"queue":"idem4"}'
echo "reply cut-idem-4" >"$T/cut/cut"
check "batch whose reply was lost" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-4' -d "$body" "$B/api/batches")"
check "the proxy cut it" "reply cut-idem-4" "$(tail -1 "$T/cut/cuts.log")"
bid=$(json 'd["batch_id"]' <out.json)
tids=$(json '",".join(d["task_ids"])' <out.json)
check "batch: reported as made" False "$(json 'd["duplicate"]' <out.json)"
check "batch: three chunk ids" 3 "$(echo "$tids" | tr ',' '\n' | grep -c .)"
check "batch retry" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-4' -d "$body" "$B/api/batches")"
check "batch retry: the same batch" "$bid" "$(json 'd["batch_id"]' <out.json)"
check "batch retry: the same chunks" "$tids" "$(json '",".join(d["task_ids"])' <out.json)"
check "one batch made" $((nb + 1)) "$(bq)"
check "three chunks made" 3 "$(tasks_in idem4)"
check "its record" 3 "$(R hget "{syncq}:b:$bid" total)"

# 5. A batch whose server died after creating it (its claim pending):
# the retry derives the same batch id and answers that batch.
body='{"task":"syncq.echo","items":[7,8],"batch_size":1,"queue":"idem5"}'
seed=7e1b9c4d-2a3f-4b5c-8d6e-9f0a1b2c3d4e
kh=$(printf '%s' 'k-5' | sha256sum | cut -c1-64)
rh=$(printf 'POST /api/batches\n%s' "$body" | sha256sum | cut -c1-64)
R set "{syncq}:idem:$kh" "{\"h\":\"$rh\",\"pending\":true,\"seed\":\"$seed\"}" \
  PX 600000 >/dev/null
check "first try of the dead server" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-5' -d "$body" "$B/api/batches")"
bid5=$(json 'd["batch_id"]' <out.json)
R set "{syncq}:idem:$kh" "{\"h\":\"$rh\",\"pending\":true,\"seed\":\"$seed\"}" \
  PX 600000 >/dev/null
check "retry after the server died" 201 \
  "$(code -X POST -H "$J" -H 'Idempotency-Key: k-5' -d "$body" "$B/api/batches")"
check "retry: the dead server's batch" "$bid5" "$(json 'd["batch_id"]' <out.json)"
check "retry: reported as made" False "$(json 'd["duplicate"]' <out.json)"
check "still one batch there" 2 "$(tasks_in idem5)"
check "one more batch in all" $((nb + 2)) "$(bq)"
finish it_monitor_idem
