#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_api.sh: the HTTP task API of `syncq monitor serve` over real
# HTTP (curl) against a private Redis and a real worker: every endpoint of
# the OpenAPI document (the test fails when the document lists a path it
# does not call), bad requests with one error per field, the 413 before
# the body is read, Idempotency-Key replays, read and write tokens, and
# that every refused request leaves Redis byte for byte as it was. The
# document is validated with @seriousme/openapi-schema-validator
# (tests/openapi, installed with `npm ci` when node_modules is missing).
# TEST_TIMEOUT: 300
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
SRC=${SYNCQ_SOURCE_DIR:?}
SOCK=${SYNCQ_REDIS_SOCK:?}
. "$SRC/tests/integration/checks.sh"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
cd "$T" || exit 1

# Every key with a digest of its value, written to file $1 (the
# monitor's per-minute depth samples are left out: reading figures writes
# them by design). Hashes and sets are digested by content, not by DUMP:
# on Redis 7.0 a hash or set of strings is a hash table, DUMP writes it
# in table order, and a read (HMGET, SISMEMBER) may step an unfinished
# rehash, which reorders DUMP's output without changing anything.
snap() {
  redis-cli -s "$SOCK" --scan | grep -v ':depth:' | sort | while read -r k; do
    case "$(redis-cli -s "$SOCK" TYPE "$k")" in
    hash) v=$(redis-cli -s "$SOCK" --no-raw HGETALL "$k" | paste - - | sort | md5sum | cut -c1-12) ;;
    set) v=$(redis-cli -s "$SOCK" --no-raw SMEMBERS "$k" | sort | md5sum | cut -c1-12) ;;
    *) v=$(redis-cli -s "$SOCK" --no-raw DUMP "$k" | md5sum | cut -c1-12) ;;
    esac
    printf '%s %s\n' "$k" "$v"
  done > "$1"
}
same_redis() { # what before-file (a snapshot of no key compares nothing)
  if [ ! -s "$2" ]; then echo "FAIL: $1: no key in the snapshot" >&2; fails=$((fails + 1))
  elif cmp -s "$2" "$3"; then pass=$((pass + 1)); else
    echo "FAIL: $1: keys changed (< before, > after):" >&2
    diff "$2" "$3" | grep '^[<>]' >&2; fails=$((fails + 1)); fi
}
start_serve() { # name env... (SERVE_PORT set)
  local n=$1; shift
  rm -f "$T/$n.port"
  env "$@" "$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/$n.port" --logfile "$T/$n.log" --no-alerts &
  pids+=("$!")
  for _ in $(seq 100); do [ -s "$T/$n.port" ] && break; sleep 0.05; done
  SERVE_PORT=$(cat "$T/$n.port")
}
J='Content-Type: application/json'
code() { curl -s -o "$T/out.json" -w '%{http_code}' "$@"; }

start_serve main SYNCQ_API_MAX_BODY=64K
B="http://127.0.0.1:$SERVE_PORT"
called=()
hit() { called+=("$1"); }

# --- OpenAPI: generated from the route table, valid 3.1
hit "get /api/openapi.json"
check "openapi status" 200 "$(code "$B/api/openapi.json")"
cp out.json openapi.json
check "openapi version" 3.1.0 "$(json 'd["openapi"]' < openapi.json)"
BR="$SRC/tests/openapi"
if [ ! -d "$BR/node_modules/@seriousme/openapi-schema-validator" ]; then
  (cd "$BR" && npm ci --no-audit --no-fund >"$T/npm.log" 2>&1) ||
    { echo "npm ci failed:" >&2; cat "$T/npm.log" >&2; exit 1; }
fi
(cd "$BR" && node validate.js "$T/openapi.json") > oa.out 2>&1
check "openapi validates" 0 "$?"
contains "validator verdict" "valid openapi 3.1" oa.out
check "create body schema" '["name"]' "$(json 'json.dumps(d["components"]["schemas"]["TaskSpec"]["required"])' < openapi.json)"
check "write needs bearer" '[{"bearer": []}]' "$(json 'json.dumps(d["paths"]["/api/tasks"]["post"]["security"])' < openapi.json)"

# --- refused requests write nothing (no worker yet: Redis is still)
"$S" task create syncq.noop --queue other >/dev/null
snap before1.txt
check "no body" 400 "$(code -X POST -H "$J" "$B/api/tasks")"
check "not JSON" 400 "$(code -X POST -H "$J" -d '{"name":' "$B/api/tasks")"
contains "not JSON message" "body is not JSON" out.json
check "array body" 400 "$(code -X POST -H "$J" -d '[1]' "$B/api/tasks")"
check "one error per field" 400 "$(code -X POST -H "$J" -d '{"name":"bad name","queue":"a b","priority":11,"countdown":-1,"kwargs":[],"eta":"yesterday","colour":"red"}' "$B/api/tasks")"
check "fields in error" "['countdown', 'kwargs', 'eta', 'colour', 'priority', 'name', 'queue']" "$(json '[e["field"] for e in d["errors"]]' < out.json)"
contains "priority message" "priority 11 out of range 0..10" out.json
contains "name message" "task name 'bad name'" out.json
check "missing name" "is required" "$(code -X POST -H "$J" -d '{}' "$B/api/tasks" >/dev/null; json 'd["errors"][0]["message"]' < out.json)"
check "duplicate keys" 400 "$(code -X POST -H "$J" -d '{"name":"a","name":"b"}' "$B/api/tasks")"
check "library refusal" 400 "$(code -X POST -H "$J" -d '{"name":"syncq.noop","countdown":5,"eta":"2030-01-01T00:00:00Z"}' "$B/api/tasks")"
check "unique window without a key" 400 "$(code -X POST -H "$J" -d '{"name":"syncq.noop","unique_ttl":60}' "$B/api/tasks")"
contains "unique window message" "given without a unique key" out.json
check "bulk: one bad, none made" 400 "$(code -X POST -H "$J" -d '{"tasks":[{"name":"syncq.noop"},{"name":"syncq.noop","priority":"HUGE"}]}' "$B/api/tasks/bulk")"
check "bulk field" "tasks[1].priority" "$(json 'd["errors"][0]["field"]' < out.json)"
check "bulk shape" 400 "$(code -X POST -H "$J" -d '{"tasks":[]}' "$B/api/tasks/bulk")"
check "batch bad" 400 "$(code -X POST -H "$J" -d '{"task":"syncq.echo","items":"abc","batch_size":0}' "$B/api/batches")"
check "schedule bad cron" 400 "$(code -X POST -H "$J" -d '{"name":"s1","task":"syncq.noop","type":"cron","cron":"61 * * * *"}' "$B/api/schedules")"
check "schedule bad type" 400 "$(code -X POST -H "$J" -d '{"name":"s1","task":"syncq.noop","type":"weekly"}' "$B/api/schedules")"
head -c 70000 /dev/zero | tr '\0' ' ' > big.json
check "413 before reading (Content-Length)" 413 "$(code -X POST -H "$J" -H 'Expect:' --data-binary @big.json "$B/api/tasks")"
contains "413 message" "SYNCQ_API_MAX_BODY" out.json
check "413 chunked" 413 "$(code -X POST -H "$J" -H 'Expect:' -H 'Transfer-Encoding: chunked' --data-binary @big.json "$B/api/tasks")"
check "POST without header" 403 "$(code -X POST -d 'name=x' "$B/api/tasks")"
check "cancel unknown" 404 "$(code -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/nope/cancel")"
check "idempotent refusal" 400 "$(code -X POST -H "$J" -H 'Idempotency-Key: bad-1' -d '{"name":"syncq.noop","priority":99}' "$B/api/tasks")"
# kwargs against the task's declared arguments (issue 16/20): one error
# per field, nothing written
check "kwargs checked" 400 "$(code -X POST -H "$J" -d '{"name":"crawler.fetch_products","kwargs":{"page_size":-1,"pagesize":3}}' "$B/api/tasks")"
check "kwargs fields" "['kwargs.category_id', 'kwargs.page_size', 'kwargs.pagesize']" "$(json '[e["field"] for e in d["errors"]]' < out.json)"
check "kwargs messages" "['required', 'must be >= 1 (got -1)', 'unknown argument; did you mean page_size?']" "$(json '[e["message"] for e in d["errors"]]' < out.json)"
check "bulk kwargs checked" 400 "$(code -X POST -H "$J" -d '{"tasks":[{"name":"syncq.noop"},{"name":"syncq.sleep","kwargs":{"seconds":-2}}]}' "$B/api/tasks/bulk")"
check "bulk kwargs field" "tasks[1].kwargs.seconds must be >= 0 (got -2)" "$(json 'd["errors"][0]["field"] + " " + d["errors"][0]["message"]' < out.json)"
check "batch of a task without items" 400 "$(code -X POST -H "$J" -d '{"task":"data_sync.sync_products","items":[1,2]}' "$B/api/batches")"
check "batch refusal says why" "task" "$(json 'd["errors"][0]["field"]' < out.json)"
contains "batch refusal message" "cannot run as a batch" out.json
# a limit of 0 would store "not set" (the default): refused, not ignored
check "time_limit 0" 400 "$(code -X POST -H "$J" -d '{"name":"syncq.sleep","time_limit":0}' "$B/api/tasks")"
check "time_limit 0: says so" "time_limit must be at least 0.001 seconds (leave it out for the default)" "$(json 'd["errors"][0]["field"] + " " + d["errors"][0]["message"]' < out.json)"
check "soft_time_limit 0.0001" 400 "$(code -X POST -H "$J" -d '{"name":"syncq.sleep","soft_time_limit":0.0001}' "$B/api/tasks")"
check "schedule expires 0" 400 "$(code -X POST -H "$J" -d '{"name":"s0","task":"syncq.noop","type":"interval","interval":5,"expires":0}' "$B/api/schedules")"
check "batch completion without the summary" 400 "$(code -X POST -H "$J" -d '{"task":"batch_processing.batch_update","items":[1],"kwargs":{"set":{"status":"x"}},"on_complete":"syncq.sleep"}' "$B/api/batches")"
check "batch completion field" "on_complete" "$(json 'd["errors"][0]["field"]' < out.json)"
snap after1.txt
same_redis "Redis unchanged by refusals" before1.txt after1.txt

# --- create one task, with every option
hit "post /api/tasks"
check "create" 201 "$(curl -s -D h.txt -o out.json -w '%{http_code}' -X POST -H "$J" -d '{"name":"src.queue.tasks.crawler.fetch_products","args":["1031"],"kwargs":{"page_size":10},"queue":"later","priority":"HIGH","countdown":3600,"expires":7200,"max_retries":2,"retry_policy":{"network":{"max_retries":1}},"time_limit":30,"soft_time_limit":20,"result_expires":60}' "$B/api/tasks")"
TID=$(json 'd["id"]' < out.json)
contains "Location" "Location: /api/tasks/$TID" h.txt
hit "get /api/tasks/{id}"
check "read it" 200 "$(code "$B/api/tasks/$TID")"
check "long name normalised" crawler.fetch_products "$(json 'd["name"]' < out.json)"
check "fields" "later 8 PENDING 2 ['1031'] {'page_size': 10}" "$(json '" ".join(str(d[k]) for k in ("queue","priority","state","max_retries","args","kwargs"))' < out.json)"
check "eta and expires set" "True True" "$(json 'd.get("eta") is not None, d.get("expires") is not None' < out.json | tr -d '(),')"
check "checkpoints listed" "[]" "$(json 'd["checkpoints"]' < out.json)"
check "unique key first" 201 "$(code -X POST -H "$J" -d '{"name":"syncq.noop","queue":"later","unique_key":"u1"}' "$B/api/tasks")"
U1=$(json 'd["id"]' < out.json)
check "unique key again: same id" "$U1 True" "$(code -X POST -H "$J" -d '{"name":"syncq.noop","queue":"later","unique_key":"u1"}' "$B/api/tasks" >/dev/null; json 'd["id"], d["duplicate"]' < out.json | tr -d "(),'")"

# --- Idempotency-Key
check "idem first" 201 "$(curl -s -D h1.txt -o out.json -w '%{http_code}' -X POST -H "$J" -H 'Idempotency-Key: order-42' -d '{"name":"syncq.noop","queue":"idemq"}' "$B/api/tasks")"
I1=$(json 'd["id"]' < out.json)
contains "idem first: Location" "^Location: /api/tasks/$I1" h1.txt
check "idem retry: same id" "$I1" "$(curl -s -D hi.txt -X POST -H "$J" -H 'Idempotency-Key: order-42' -d '{"name":"syncq.noop","queue":"idemq"}' "$B/api/tasks" | json 'd["id"]')"
contains "replay header" "Idempotent-Replayed: true" hi.txt
contains "replay: the first reply's Location" "^Location: /api/tasks/$I1" hi.txt
check "one task made" 1 "$(curl -s "$B/api/tasks?queue=idemq" | json 'len(d["tasks"])')"
check "idem key, other body" 422 "$(code -X POST -H "$J" -H 'Idempotency-Key: order-42' -d '{"name":"syncq.noop","queue":"idemq2"}' "$B/api/tasks")"
# a claim left by a request still running (or by a server that died)
body='{"name":"syncq.noop","queue":"idemq3"}'
kh=$(printf '%s' 'order-43' | sha256sum | cut -c1-64)
rh=$(printf 'POST /api/tasks\n%s' "$body" | sha256sum | cut -c1-64)
redis-cli -s "$SOCK" SET "{syncq}:idem:$kh" "{\"h\":\"$rh\",\"pending\":true}" PX 120000 >/dev/null
check "idem in progress" 409 "$(code -X POST -H "$J" -H 'Idempotency-Key: order-43' -d "$body" "$B/api/tasks")"
contains "in progress message" "is in progress" out.json
check "nothing made while in progress" 0 "$(curl -s "$B/api/tasks?queue=idemq3" | json 'len(d["tasks"])')"
redis-cli -s "$SOCK" DEL "{syncq}:idem:$kh" >/dev/null
ikeys=$(redis-cli -s "$SOCK" --scan --pattern '*:idem:*')
check "one idempotency key stored" 1 "$(echo "$ikeys" | grep -c idem)"
ttl=$(redis-cli -s "$SOCK" PTTL "$(echo "$ikeys" | head -1)")
check "idem key TTL is a day" True "$(python3 -c "print(86000000 < int('$ttl') <= 86400000)")"

# --- many tasks in one request, batches
hit "post /api/tasks/bulk"
check "bulk" 201 "$(code -X POST -H "$J" -H 'Idempotency-Key: bulk-1' -d '{"tasks":[{"name":"syncq.echo","queue":"api","kwargs":{"n":1}},{"name":"syncq.echo","queue":"api","kwargs":{"n":2}},{"name":"syncq.noop","queue":"api"}]}' "$B/api/tasks/bulk")"
check "bulk ids" 3 "$(json 'len(d["ids"])' < out.json)"
E1=$(json 'd["ids"][0]' < out.json)
hit "post /api/batches"
check "batch" 201 "$(code -X POST -H "$J" -d '{"task":"syncq.echo","items":[1,2,3,4,5],"batch_size":2,"queue":"api"}' "$B/api/batches")"
BID=$(json 'd["batch_id"]' < out.json)
check "batch chunks" 3 "$(json 'len(d["task_ids"])' < out.json)"
check "batch in waves" 201 "$(code -X POST -H "$J" -d '{"task":"syncq.echo","items":[1,2,3],"batch_size":1,"queue":"api","max_in_flight":1}' "$B/api/batches")"
hit "get /api/batches/{id}"
check "batch read" 3 "$(curl -s "$B/api/batches/$BID" | json 'd["total"]')"
hit "get /api/batches"
check "batches" 200 "$(code "$B/api/batches")"

# --- a real worker runs them
SYNCQ_HEARTBEAT_INTERVAL=1 "$S" worker -Q api -c 2 --logfile "$T/worker.log" &
WPID=$!
pids+=("$WPID")
hit "get /api/tasks/{id}/wait"
check "wait: SUCCESS" 'SUCCESS {"n": 1}' "$(curl -s "$B/api/tasks/$E1/wait?timeout=30" | json 'd["state"] + " " + json.dumps(d["result"])')"
check "wait bad timeout" 400 "$(code "$B/api/tasks/$E1/wait?timeout=301")"
check "wait unknown" 404 "$(code "$B/api/tasks/nope/wait?timeout=1")"
SL=$(curl -s -X POST -H "$J" -d '{"name":"syncq.sleep","queue":"api","kwargs":{"seconds":30,"tick_ms":100}}' "$B/api/tasks" | json 'd["id"]')
check "wait times out: 408" 408 "$(code "$B/api/tasks/$SL/wait?timeout=0.5")"
check "408 carries the task" "$SL" "$(json 'd["task"]["id"]' < out.json)"
sleep 1.2
hit "get /api/progress"
check "progress lists the running task" True "$(curl -s "$B/api/progress" | json '"'"$SL"'" in [r["id"] for r in d["running"]]')"
hit "post /api/tasks/{id}/cancel"
check "cancel running" requested "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$SL/cancel" | json 'd["outcome"]')"
check "cancelled" REVOKED "$(curl -s "$B/api/tasks/$SL/wait?timeout=30" | json 'd["state"]')"
hit "post /api/tasks/{id}/resume"
check "resume with strategy (body)" retry "$(curl -s -X POST -H "$J" -d '{"strategy":"retry"}' "$B/api/tasks/$SL/resume" | json 'd["strategy"]')"
check "cancel again" True "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$SL/cancel" | json 'd["outcome"] in ("revoked", "requested")')"
check "cancelled again" REVOKED "$(curl -s "$B/api/tasks/$SL/wait?timeout=30" | json 'd["state"]')"
check "resume bad strategy" 400 "$(code -X POST -H "$J" -d '{"strategy":"later"}' "$B/api/tasks/$SL/resume")"
hit "post /api/tasks/{id}/retry"
check "retry" REVOKED "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$SL/retry" | json 'd["prev_state"]')"
curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$SL/cancel" >/dev/null

ST=$(curl -s -X POST -H "$J" -d '{"name":"syncq.steps","queue":"api","kwargs":{"total":3,"step_ms":5}}' "$B/api/tasks" | json 'd["id"]')
check "steps done" SUCCESS "$(curl -s "$B/api/tasks/$ST/wait?timeout=30" | json 'd["state"]')"
hit "get /api/tasks/{id}/checkpoints"
check "checkpoints" True "$(curl -s "$B/api/tasks/$ST/checkpoints" | json 'len(d["checkpoints"]) >= 1 and d["checkpoints"][0]["ok"]')"
check "task read shows attempts" 1 "$(curl -s "$B/api/tasks/$ST" | json 'd["attempt"]')"
# a retry of a task that succeeded is refused as a retry
check "retry of a SUCCESS task: 409" 409 "$(code -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$ST/retry")"
check "retry of a SUCCESS task: message" "task $ST already succeeded; there is nothing to retry (create a new task to run it again)" "$(json 'd["message"]' < out.json)"
# a refusal of the create call itself names a field too ("body"); the
# countdown over SYNCQ_ETA_MAX_MS is such a refusal
check "eta beyond the maximum: 400" 400 "$(code -X POST -H "$J" -d '{"name":"syncq.noop","countdown":40000000}' "$B/api/tasks")"
check "eta beyond the maximum: one error on body" "['body']" "$(json '[e["field"] for e in d["errors"]]' < out.json)"
check "eta beyond the maximum: message" True "$(json '"more than 365 days (SYNCQ_ETA_MAX_MS)" in d["errors"][0]["message"]' < out.json)"
hit "get /api/tasks"
check "search by queue and state" True "$(curl -s "$B/api/tasks?queue=api&state=SUCCESS&limit=500" | json 'len(d["tasks"]) >= 3')"
check "search bad limit" 400 "$(code "$B/api/tasks?limit=0")"

FAN=$(curl -s -X POST -H "$J" -d '{"name":"syncq.fanout","queue":"api","kwargs":{"count":2,"queue":"api"}}' "$B/api/tasks" | json 'd["id"]')
curl -s "$B/api/tasks/$FAN/wait?timeout=30" >/dev/null
hit "get /api/workflows/{id}"
check "workflow counts" 2 "$(curl -s "$B/api/workflows/$FAN" | json 'd["total"]')"
check "workflow of no task" 404 "$(code "$B/api/workflows/00000000-0000-4000-8000-000000000000")"

# --- dead letters
DT=$(curl -s -X POST -H "$J" -d '{"name":"syncq.fail","queue":"api","kwargs":{"class":"validation"}}' "$B/api/tasks" | json 'd["id"]')
curl -s "$B/api/tasks/$DT/wait?timeout=30" >/dev/null
hit "get /api/dead"
check "dead list" 200 "$(code "$B/api/dead?queue=api")"
hit "post /api/dead/{id}/requeue"
check "requeue a live task refused" 409 "$(code -X POST -H 'X-Syncq-Request: 1' "$B/api/dead/$E1/requeue")"
check "requeue unknown" 404 "$(code -X POST -H 'X-Syncq-Request: 1' "$B/api/dead/nope/requeue")"

# --- schedules
hit "post /api/schedules"
check "cron schedule" 201 "$(code -X POST -H "$J" -d '{"name":"nightly","task":"syncq.echo","type":"cron","cron":"0 2 * * *","kwargs":{"x":1},"queue":"api"}' "$B/api/schedules")"
check "cron next run" True "$(json 'd["next_run_ms"] > 0' < out.json)"
check "interval schedule" 201 "$(code -X POST -H "$J" -d '{"name":"every-hour","task":"syncq.noop","type":"interval","interval":3600}' "$B/api/schedules")"
check "once schedule" 201 "$(code -X POST -H "$J" -d '{"name":"once","task":"syncq.noop","type":"once","at":"2099-01-01T00:00:00Z"}' "$B/api/schedules")"
check "name taken" 409 "$(code -X POST -H "$J" -d '{"name":"once","task":"syncq.noop","type":"once","at":"2099-01-01T00:00:00Z"}' "$B/api/schedules")"
check "name taken: the field and this door's way to replace" "name: schedule once exists (remove it first, or set \"replace\": true)" "$(json 'd["errors"][0]["field"] + ": " + d["errors"][0]["message"]' < out.json)"
check "replace" 201 "$(code -X POST -H "$J" -d '{"name":"once","task":"syncq.noop","type":"once","at":"2098-01-01T00:00:00Z","replace":true}' "$B/api/schedules")"
hit "get /api/schedules"
check "schedule list" 3 "$(curl -s "$B/api/schedules" | json 'len(d["schedules"])')"
hit "get /api/schedules/{name}"
check "schedule read" "0 2 * * *" "$(curl -s "$B/api/schedules/nightly" | json 'd["cron"]')"
hit "post /api/schedules/{name}/pause"
check "pause" paused "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/schedules/nightly/pause" | json 'd["state"]')"
hit "post /api/schedules/{name}/resume"
check "resume" active "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/schedules/nightly/resume" | json 'd["state"]')"
hit "post /api/schedules/{name}/run"
RN=$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/schedules/nightly/run" | json 'd["task_id"]')
check "run now ran" "{'x': 1}" "$(curl -s "$B/api/tasks/$RN/wait?timeout=30" | json 'd["result"]')"
hit "delete /api/schedules/{name}"
check "remove" True "$(curl -s -X DELETE "$B/api/schedules/every-hour" | json 'd["removed"]')"
check "remove again" 404 "$(code -X DELETE "$B/api/schedules/every-hour")"
check "DELETE on a task" 405 "$(code -X DELETE "$B/api/tasks/$E1")"

# --- system reads
for p in /api/health /api/overview /api/queues /api/workers /api/alerts /metrics /healthz /readyz; do
  hit "get $p"
  st=$(code "$B$p")
  case "$st" in 200|503) pass=$((pass + 1)) ;; *) echo "FAIL: $p: status $st" >&2; fails=$((fails + 1)) ;; esac
done
check "health has a status" True "$(curl -s "$B/api/health" | json 'd["status"] in ("healthy","degraded","unhealthy")')"

# --- the dashboard's endpoints (it_monitor_dashboard.sh tests them in depth)
WNAME=$(curl -s "$B/api/workers" | json 'd["workers"][0]["id"]')
hit "get /api/workers/{name}"
check "one worker" 200 "$(code "$B/api/workers/$WNAME")"
hit "post /api/workers/{name}/control"
CID=$(curl -s -H "$J" -d '{"command": "ping"}' "$B/api/workers/$WNAME/control" | json 'd["id"]')
hit "get /api/control/{id}"
check "a command's ack" 200 "$(code "$B/api/control/$CID")"
hit "post /api/queues/{name}/pause"
check "pause a queue" 200 "$(code -X POST -H "$J" "$B/api/queues/nothere/pause")"
hit "post /api/queues/{name}/resume"
check "resume a queue" 200 "$(code -X POST -H "$J" "$B/api/queues/nothere/resume")"
hit "get /api/tasks/{id}/events"
check "a task's events" 200 "$(code "$B/api/tasks/$E1/events")"
hit "get /api/summaries/{kind}"
check "summaries of a kind nothing published" 0 "$(curl -s "$B/api/summaries/catalog" | json 'd["count"]')"
hit "post /api/actions/{name}"
check "a bulk action's count" 0 "$(curl -s -H "$J" -d '{"filter": {"queue": "nothere"}}' "$B/api/actions/retry" | json 'd["count"]')"
hit "get /api/namespaces"
check "one namespace served" "['syncq'] syncq" "$(curl -s "$B/api/namespaces" | json 'str(d["namespaces"]) + " " + d["default"]')"
# ?ns= names the namespace served, or answers 404: never another's data
check "ns of the one served" 200 "$(code "$B/api/queues?ns=syncq")"
check "ns not served: status" 404 "$(curl -s -o ns404.json -w '%{http_code}' "$B/api/queues?ns=other")"
check "ns not served: says which" "namespace 'other' is not served here (see /api/namespaces)" "$(json 'd["message"]' < ns404.json)"
check "ns listed by the document" True "$(json '"ns" in [p["name"] for p in d["paths"]["/api/tasks"]["get"]["parameters"]]' < openapi.json)"
check "ns not listed where not taken" False "$(json '"ns" in [p["name"] for p in d["paths"]["/api/namespaces"]["get"].get("parameters", [])]' < openapi.json)"
check "ns ignored where not taken" "['syncq']" "$(curl -s "$B/api/namespaces?ns=other" | json 'd["namespaces"]')"

# --- every path of the document was called above
python3 - "$T/openapi.json" "${called[@]}" > missing.txt <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
called = set(sys.argv[2:])
for path, item in doc["paths"].items():
    for m in item:
        if f"{m} {path}" not in called:
            print(f"{m} {path}")
EOF
check "every endpoint called" "" "$(cat missing.txt)"

# --- tokens: SYNCQ_API_TOKEN writes, SYNCQ_MONITOR_TOKEN only reads
kill "$WPID"; wait "$WPID" 2>/dev/null   # a still Redis again
start_serve tok SYNCQ_API_TOKEN=w-s3cret SYNCQ_MONITOR_TOKEN=r-s3cret
B2="http://127.0.0.1:$SERVE_PORT"
snap before2.txt
check "read: no token" 401 "$(code "$B2/api/tasks")"
check "read: read token" 200 "$(code -H 'Authorization: Bearer r-s3cret' "$B2/api/tasks?limit=1")"
check "read: write token" 200 "$(code -H 'Authorization: Bearer w-s3cret' "$B2/api/tasks?limit=1")"
check "write: no token" 401 "$(code -X POST -H "$J" -d '{"name":"syncq.noop"}' "$B2/api/tasks")"
check "write: read token" 403 "$(code -X POST -H "$J" -H 'Authorization: Bearer r-s3cret' -d '{"name":"syncq.noop"}' "$B2/api/tasks")"
contains "read-only message" "this token may only read" out.json
check "write: wrong token" 401 "$(code -X POST -H 'Authorization: Bearer nope' -d '{"name":"syncq.noop"}' "$B2/api/tasks")"
check "cancel: read token" 403 "$(code -X POST -H 'Authorization: Bearer r-s3cret' "$B2/api/tasks/$E1/cancel")"
check "oversized before auth is 401" 401 "$(code -X POST -H "$J" -H 'Expect:' --data-binary @big.json "$B2/api/tasks")"
snap after2.txt
same_redis "Redis unchanged by refused writes" before2.txt after2.txt
check "write: write token" 201 "$(code -X POST -H 'Authorization: Bearer w-s3cret' -d '{"name":"syncq.noop","queue":"tok"}' "$B2/api/tasks")"
grep -q "s3cret" tok.log && { echo "FAIL: token in the log" >&2; fails=$((fails + 1)); }

# only a write token on loopback: reads are open, writes need it
start_serve wonly SYNCQ_API_TOKEN=w-s3cret
B3="http://127.0.0.1:$SERVE_PORT"
check "loopback read without token" 200 "$(code "$B3/api/tasks?limit=1")"
check "loopback write without token" 403 "$(code -X POST -H "$J" -d '{"name":"syncq.noop"}' "$B3/api/tasks")"
check "loopback write with token" 201 "$(code -X POST -H 'Authorization: Bearer w-s3cret' -H "$J" -d '{"name":"syncq.noop","queue":"tok"}' "$B3/api/tasks")"
# a token given is checked even where none is needed: a wrong one is 401
check "loopback read, wrong token" 401 "$(code -H 'Authorization: Bearer nope' "$B3/api/tasks?limit=1")"
contains "loopback read, wrong token: says so" "the token given is not valid" out.json
check "loopback read, wrong ?token=" 401 "$(code "$B3/api/tasks?limit=1&token=nope")"
check "loopback write, wrong token" 401 "$(code -X POST -H 'Authorization: Bearer nope' -H "$J" -d '{"name":"syncq.noop"}' "$B3/api/tasks")"

# --- creates from many connections at once (last: the 2,000 records
# would slow every snapshot above): each connection has its own
# server thread, and every task gets its own id (a shared random pool once
# gave two threads the same id, and the second create answered "dup")
python3 - "${B##*:}" >"$T/conc.out" <<'EOF'
import http.client, json, sys, threading
port, ids, errs = int(sys.argv[1]), [], []
def run():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(250):
        c.request("POST", "/api/tasks", json.dumps({"name": "syncq.noop", "queue": "conc"}),
                  {"Content-Type": "application/json", "X-Syncq-Request": "1"})
        r = c.getresponse()
        body = r.read()
        if r.status == 201:
            ids.append(json.loads(body)["id"])
        else:
            errs.append(r.status)
ts = [threading.Thread(target=run) for _ in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
print(len(ids), len(set(ids)), len(errs))
EOF
check "8 connections x 250 creates: created, distinct ids, errors" "2000 2000 0" "$(cat "$T/conc.out")"
check "8 connections x 250 creates: queued" 2000 "$(redis-cli -s "$SOCK" LLEN '{syncq}:q:conc:5')"

finish it_monitor_api
