#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_serve.sh: `syncq monitor serve` over real HTTP (curl) against
# a private Redis: dashboard assets, /metrics (promtool, and scraped by a
# real Prometheus server), the JSON API (overview, queues, tasks, detail,
# cancel, retry, health, readiness while Redis is down), the security
# rules (loopback only without a token, token required with one, Host
# check, POST header), SIGHUP log reopen, clean stop.
# TEST_TIMEOUT: 240
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
fails=0
pass=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); else echo "FAIL: $1: expected [$2] got [$3]" >&2; fails=$((fails + 1)); fi
}
contains() { # name needle file
  if grep -qF -- "$2" "$3"; then pass=$((pass + 1)); else echo "FAIL: $1: [$2] not in $3:" >&2; head -c 600 "$3" >&2; echo >&2; fails=$((fails + 1)); fi
}
json() { # python expression over d (the JSON on stdin)
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
. "$(dirname "$0")/monitor_lib.sh"

cd "$T" || exit 1
start_serve "$T/port" "$T/serve.log" --log-format json
B="http://127.0.0.1:$PORT"

# --- dashboard assets
check "index status" 200 "$(curl -s -o index.html -w '%{http_code}' "$B/")"
contains "index title" "<title>syncq monitor</title>" index.html
check "app.js status" 200 "$(curl -s -o app.js -w '%{http_code}' "$B/static/app.js")"
check "app.js type" "text/javascript; charset=utf-8" "$(curl -s -o /dev/null -w '%{content_type}' "$B/static/app.js")"
check "css status" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/static/app.css")"
check "missing asset" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B/static/nope.js")"
check "traversal" 400 "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$B/static/../../etc/passwd")"
check "unknown api" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/nope")"
curl -s -D hdr.txt -o /dev/null "$B/"
contains "CSP header" "Content-Security-Policy: default-src 'self'" hdr.txt
contains "nosniff" "X-Content-Type-Options: nosniff" hdr.txt

# --- tasks and figures
for p in 0 5 10; do "$S" task create images.resize --queue images --priority $p >/dev/null; done
ID=$("$S" task create images.resize --queue images --priority 8)
"$S" task create images.resize --queue images --countdown 3600 >/dev/null
# The figures are cached for 1 s, and a collection that began before the
# tasks existed may end after a second on a loaded machine: wait for the
# figures to show them (10 s at most) rather than for a fixed 1.1 s.
for _ in $(seq 50); do
  curl -s "$B/api/overview" > ov.json
  [ "$(json 'd["totals"]["ready"]' < ov.json)" = 4 ] && break
  sleep 0.2
done
check "overview ready" 4 "$(json 'd["totals"]["ready"]' < ov.json)"
check "overview delayed" 1 "$(json 'd["totals"]["delayed"]' < ov.json)"
check "overview health" unhealthy "$(json 'd["health"]["status"]' < ov.json)"
NRULES=$(grep -cvE '^[[:space:]]*(#|$)' "$SYNCQ_SOURCE_DIR/deploy/alerts.default.rules")
check "overview alerts rules" "$NRULES" "$(json 'len(d["alerts"]["alerts"])' < ov.json)"
check "overview history" True "$(json 'len(d["history"]) >= 1' < ov.json)"
curl -s "$B/api/queues" > q.json
check "queues by priority" "{'10': 1, '8': 1, '5': 1, '0': 1}" "$(json '[q for q in d["queues"] if q["name"]=="images"][0]["by_priority"]' < q.json)"
check "workers endpoint" "[]" "$(curl -s "$B/api/workers" | json 'd["workers"]')"
check "health 503 when unhealthy" 503 "$(curl -s -o health.json -w '%{http_code}' "$B/api/health")"
contains "health reason" "no worker alive for queue images (4 ready)" health.json
check "healthz" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/healthz")"
check "readyz" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")"
check "task list (4 ready + 1 delayed)" 5 "$(curl -s "$B/api/tasks?state=PENDING&queue=images" | json 'len(d["tasks"])')"
check "task list bad state" 400 "$(curl -s -o bad.json -w '%{http_code}' "$B/api/tasks?state=NOPE")"
contains "bad state message" "unknown state 'NOPE'" bad.json
check "task list bad limit" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/tasks?limit=0")"
check "task detail" PENDING "$(curl -s "$B/api/tasks/$ID" | json 'd["state"]')"
check "task id with NUL escape" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/tasks/%00%ff")"
check "task id with 0xff escape" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/tasks/%ff")"
check "task id escaped dash decodes" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/tasks/does%2dnot-exist")"
check "query with NUL escape" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/tasks?state=PEN%00DING")"
check "task detail missing" 404 "$(curl -s -o nf.json -w '%{http_code}' "$B/api/tasks/does-not-exist")"
check "missing error code" ENOTFOUND "$(json 'd["error"]' < nf.json)"
check "batches" "[]" "$(curl -s "$B/api/batches" | json 'd["batches"]')"
check "schedules" "[]" "$(curl -s "$B/api/schedules" | json 'd["schedules"]')"

# --- actions: POST needs the header; cancel, then retry (resume RETRY)
check "cancel via GET" 405 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/tasks/$ID/cancel")"
check "cancel without header" 403 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$B/api/tasks/$ID/cancel")"
check "cancel" revoked "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$ID/cancel" | json 'd["outcome"]')"
check "cancelled state" REVOKED "$("$S" task info "$ID" --json | json 'd["state"]')"
check "cancel again" final "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$ID/cancel" | json 'd["outcome"]')"
check "retry" REVOKED "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$ID/retry" | json 'd["prev_state"]')"
check "retried state" PENDING "$("$S" task info "$ID" --json | json 'd["state"]')"
check "retry of a pending task" 409 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$ID/retry")"
check "resume bad strategy" 400 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$ID/resume?strategy=nope")"
RID=$("$S" task create syncq.noop --queue resumeq)
check "cancel before resume" revoked "$(curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$RID/cancel" | json 'd["outcome"]')"
curl -s -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$RID/resume?strategy=skip" > rs.json
check "resume skip: strategy" skip "$(json 'd["strategy"]' < rs.json)"
check "resume skip: prev_state" REVOKED "$(json 'd["prev_state"]' < rs.json)"
check "resume skip: state" SKIPPED "$("$S" task info "$RID" --json | json 'd["state"]')"
check "resume of a skipped task refused" 409 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/$RID/resume?strategy=retry")"
curl -s "$B/api/alerts" > al.json
check "alerts endpoint: rules" "$NRULES" "$(json 'len(d["alerts"])' < al.json)"
check "alerts endpoint: recent list" True "$(json 'isinstance(d["recent"], list)' < al.json)"
check "cancel unknown" 404 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Syncq-Request: 1' "$B/api/tasks/nope/cancel")"

# --- DNS rebinding guard (no token, loopback)
check "foreign Host" 403 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example' "$B/api/overview")"
check "localhost Host" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: localhost:$PORT" "$B/api/overview")"

# --- /metrics: promtool, then a real Prometheus scraping it
sleep 1.1
check "metrics status" 200 "$(curl -s -o metrics.txt -w '%{http_code}' "$B/metrics")"
check "metrics type" "text/plain; version=0.0.4; charset=utf-8" "$(curl -s -o /dev/null -w '%{content_type}' "$B/metrics")"
promtool check metrics < metrics.txt > promtool.out 2>&1
check "promtool check metrics" 0 "$?"
cat promtool.out >&2
contains "metrics up" "syncq_up 1" metrics.txt
contains "metrics ready" 'syncq_queue_ready{queue="images"} 4' metrics.txt
contains "metrics dead letters per queue" 'syncq_queue_dead_letter{queue="images"} 0' metrics.txt
contains "metrics alert state" 'syncq_alert_state{alert="dead_letters",severity="warning"}' metrics.txt
contains "metrics runtime histogram" "# TYPE syncq_task_runtime_seconds histogram" metrics.txt

PP=$(free_port)
mkdir -p prom
cat > prom/prometheus.yml <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: syncq
    static_configs: [{targets: ['127.0.0.1:$PORT']}]
EOF
promtool check config prom/prometheus.yml > /dev/null 2>&1
check "prometheus config" 0 "$?"
prometheus --config.file=prom/prometheus.yml --storage.tsdb.path=prom/data \
  --web.listen-address=127.0.0.1:$PP > prom/prom.log 2>&1 &
PROM_PID=$!
pids+=("$PROM_PID")
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PP/-/ready" >/dev/null && break; sleep 0.2; done
got=""
for _ in $(seq 100); do
  got=$(curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode 'query=syncq_queue_ready{queue="images"}' | json 'd["data"]["result"][0]["value"][1] if d["data"]["result"] else ""')
  [ -n "$got" ] && break
  sleep 0.3
done
check "prometheus scraped ready" 4 "$got"
check "prometheus up" 1 "$(curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode 'query=up{job="syncq"}' | json 'd["data"]["result"][0]["value"][1]')"
check "prometheus by priority sum" 4 "$(curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode 'query=sum(syncq_queue_ready_by_priority{queue="images"})' | json 'd["data"]["result"][0]["value"][1]')"
# every query of the shipped Grafana dashboard parses and evaluates
python3 - "$SYNCQ_SOURCE_DIR/deploy/grafana/syncq.json" > exprs.txt <<'PY'
import json, sys
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p["targets"]:
        print(t["expr"])
PY
check "grafana queries" 30 "$(wc -l < exprs.txt | tr -d ' ')"
bad=0
while IFS= read -r q; do
  st=$(curl -s "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$q" | json 'd["status"]')
  [ "$st" = success ] || { echo "grafana query failed: $q" >&2; bad=$((bad + 1)); }
done < exprs.txt
check "grafana queries evaluate" 0 "$bad"
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null

# --- Redis down: live ok, ready fail (reason broker), metrics say up 0
"$SQ_REDISCTL" stop
# until the monitor has seen it (its cache lives 1 s; 10 s at most)
for _ in $(seq 50); do
  [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$B/readyz")" = 503 ] && break
  sleep 0.2
done
check "healthz while Redis down" 200 "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$B/healthz")"
check "readyz while Redis down" 503 "$(curl -s -m 5 -o ready.json -w '%{http_code}' "$B/readyz")"
check "readyz reason" broker "$(json 'd["reason"]' < ready.json)"
curl -s -m 5 "$B/metrics" > down.txt
contains "metrics up 0" "syncq_up 0" down.txt
contains "metrics health 2" "syncq_health_status 2" down.txt
"$SQ_REDISCTL" start
ok=0
for _ in $(seq 60); do
  [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$B/readyz")" = 200 ] && { ok=1; break; }
  sleep 0.25
done
check "readyz after Redis is back" 1 "$ok"

# --- C34: an unsafe eviction policy is logged once, and its fix
# The policy is read by a collection (at most one a second): poll until
# it is logged (15 s at most), then go on polling for 2.5 s: logged once.
redis-cli -s "$SYNCQ_REDIS_SOCK" config set maxmemory-policy allkeys-lru > /dev/null
for _ in $(seq 30); do
  curl -s "$B/api/overview" > /dev/null
  grep -q '"event":"monitor.redis_eviction_unsafe"' serve.log && break
  sleep 0.5
done
for _ in 1 2 3 4 5; do sleep 0.5; curl -s "$B/api/overview" > /dev/null; done
check "eviction warning once" 1 "$(grep -c '"event":"monitor.redis_eviction_unsafe","maxmemory_policy":"allkeys-lru"' serve.log)"
check "health degraded by eviction" degraded "$(curl -s "$B/api/health" | json 'd["status"] if d["status"] != "unhealthy" else [r["check"] for r in d["reasons"]]' | sed "s/.*redis_eviction.*/degraded/")"
redis-cli -s "$SYNCQ_REDIS_SOCK" config set maxmemory-policy noeviction > /dev/null
for _ in $(seq 30); do
  curl -s "$B/api/overview" > /dev/null
  grep -q '"event":"monitor.redis_eviction_safe"' serve.log && break
  sleep 0.5
done
check "eviction fixed logged" 1 "$(grep -c '"event":"monitor.redis_eviction_safe"' serve.log)"

# --- SIGHUP reopens the log file
mv serve.log serve.log.1
kill -HUP "$SERVE_PID"
for _ in $(seq 50); do [ -s serve.log ] && break; sleep 0.1; done
contains "log reopened" '"event":"monitor.log_reopened"' serve.log
contains "json log lines" '"event":"monitor.listening"' serve.log.1
contains "log has proc" '"proc":"monitor"' serve.log.1

kill -TERM "$SERVE_PID"; wait "$SERVE_PID"
check "serve exit status" 0 "$?"

# --- a token: every request needs it
start_serve "$T/port2" "$T/serve2.log" --token s3cret --no-alerts
B2="http://127.0.0.1:$PORT"
check "no token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$B2/api/overview")"
check "no token metrics" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$B2/metrics")"
check "wrong token" 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$B2/api/overview")"
curl -s -H 'Authorization: Bearer nope' "$B2/api/overview" > wrongtok.json
contains "wrong token: says so" 'the token given is not valid' wrongtok.json
curl -s "$B2/api/overview" > notok.json
contains "no token: says one is required" 'a token is required' notok.json
check "bearer token" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' "$B2/api/overview")"
check "query token" 200 "$(curl -s -D h2.txt -o /dev/null -w '%{http_code}' "$B2/?token=s3cret")"
# a ?token= visit opens a signed, expiring session: the token itself
# never goes into a cookie (it_monitor_signin.sh tests sign-in)
contains "session cookie set" "Set-Cookie: syncq_session=v1.r." h2.txt
contains "session cookie flags" "; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200" h2.txt
SESS=$(sed -n 's/^Set-Cookie: \(syncq_session=[^;]*\);.*/\1/p' h2.txt | tr -d '\r')
check "session cookie" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $SESS" "$B2/api/overview")"
check "raw token cookie no longer honoured" 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Cookie: syncq_token=s3cret' "$B2/api/overview")"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"
grep -q "s3cret" serve2.log && { echo "FAIL: token in the log" >&2; fails=$((fails + 1)); }

# --- refusals (nothing is bound)
"$S" monitor serve --listen 0.0.0.0:0 > refuse.out 2>&1
check "non-loopback without token" 2 "$?"
contains "refusal message" "refusing to listen on 0.0.0.0:0 without a token" refuse.out
"$S" monitor serve --listen nonsense > bad.out 2>&1
check "bad listen" 2 "$?"
contains "bad listen message" "syncq: monitor serve: listen address 'nonsense' has no :PORT" bad.out
printf 'x: nosuch > 1\n' > bad.rules
"$S" monitor serve --listen 127.0.0.1:0 --rules bad.rules > badr.out 2>&1
check "bad rules" 2 "$?"
contains "bad rules message" "line 1: unknown metric 'nosuch'" badr.out
"$S" monitor serve --listen 127.0.0.1:0 --token '' > emptytok.out 2>&1
check "empty --token refused" 2 "$?"
contains "empty --token message" "--token is empty" emptytok.out
"$S" monitor alerts --check bad.rules > chk.out 2>&1
check "alerts --check bad" 1 "$?"
"$S" monitor alerts --check "$SYNCQ_SOURCE_DIR/deploy/alerts.default.rules" > chk.out 2>&1
check "alerts --check default" 0 "$?"
contains "alerts --check count" "$NRULES rules ok" chk.out

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
