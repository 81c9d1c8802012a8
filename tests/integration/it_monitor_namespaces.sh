#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_namespaces.sh: one `syncq monitor serve --namespace a,b`
# over two namespaces of one private Redis: ?ns= picks the namespace of
# every page and API call (the first by default), /api/namespaces lists
# them, /metrics carries each namespace's series with a namespace label
# (one HELP/TYPE per family: promtool), the dashboard shows the selector,
# an unknown namespace is refused; a one-namespace server is unchanged.
# TEST_TIMEOUT: 180
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
has() { # name fixed-string file
  if grep -qF -- "$2" "$3"; then pass=$((pass + 1)); else echo "FAIL: $1: [$2] not in $3:" >&2; head -c 600 "$3" >&2; echo >&2; fails=$((fails + 1)); fi
}
lacks() { # name fixed-string file
  if grep -qF -- "$2" "$3"; then echo "FAIL: $1: [$2] in $3" >&2; fails=$((fails + 1)); else pass=$((pass + 1)); fi
}
. "$(dirname "$0")/monitor_lib.sh"
# Wait until the figures (cached 1 s) show `want` for the python expression.
wait_for() { # url expr want
  for _ in $(seq 50); do
    [ "$(curl -s "$1" | json "$2")" = "$3" ] && return
    sleep 0.2
  done
}

cd "$T" || exit 1
for _ in 1 2; do SYNCQ_NAMESPACE=a "$S" task create syncq.noop --queue qa >/dev/null; done
for _ in 1 2 3; do SYNCQ_NAMESPACE=b "$S" task create syncq.noop --queue qb >/dev/null; done
BID=$(SYNCQ_NAMESPACE=b "$S" task create syncq.noop --queue qb --countdown 3600)

# --- a bad list is a usage error before anything starts
"$S" monitor serve --listen 127.0.0.1:0 --namespace 'a,{b}' > bad.out 2>&1
check "bad namespace exit" 2 "$?"
has "bad namespace message" "'{b}' is not a namespace" bad.out

start_serve "$T/port" "$T/serve.log" --namespace a,b
B="http://127.0.0.1:$PORT"
has "log names the namespaces" "monitor.namespaces count=2 default=a" serve.log

check "namespaces" "['a', 'b']" "$(curl -s "$B/api/namespaces" | json 'd["namespaces"]')"
check "namespaces default" a "$(curl -s "$B/api/namespaces" | json 'd["default"]')"
wait_for "$B/api/overview?ns=b" 'd["totals"]["ready"]' 3
check "overview a ready" 2 "$(curl -s "$B/api/overview?ns=a" | json 'd["totals"]["ready"]')"
check "overview a delayed" 0 "$(curl -s "$B/api/overview?ns=a" | json 'd["totals"]["delayed"]')"
check "overview b ready" 3 "$(curl -s "$B/api/overview?ns=b" | json 'd["totals"]["ready"]')"
check "overview b delayed" 1 "$(curl -s "$B/api/overview?ns=b" | json 'd["totals"]["delayed"]')"
check "overview default is a" 2 "$(curl -s "$B/api/overview" | json 'd["totals"]["ready"]')"
check "queues b" "['qb']" "$(curl -s "$B/api/queues?ns=b" | json 'sorted(q["name"] for q in d["queues"])')"
check "tasks b" 4 "$(curl -s "$B/api/tasks?ns=b" | json 'len(d["tasks"])')"
check "tasks b queue" "['qb']" "$(curl -s "$B/api/tasks?ns=b" | json 'sorted(set(t["queue"] for t in d["tasks"]))')"
check "tasks a" 2 "$(curl -s "$B/api/tasks?ns=a" | json 'len(d["tasks"])')"
check "task of b read in b" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/tasks/$BID?ns=b")"
check "task of b not in a" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/tasks/$BID?ns=a")"

# --- alert rules run in each namespace, each with its own state
NRULES=$(grep -cvE '^[[:space:]]*(#|$)' "$SYNCQ_SOURCE_DIR/deploy/alerts.default.rules")
check "alerts a" "$NRULES" "$(curl -s "$B/api/alerts?ns=a" | json 'len(d["alerts"])')"
check "alerts b" "$NRULES" "$(curl -s "$B/api/alerts?ns=b" | json 'len(d["alerts"])')"

# --- a write goes to the namespace named
NEW=$(curl -s -X POST -H 'Content-Type: application/json' -d '{"name":"syncq.noop","queue":"qn"}' "$B/api/tasks?ns=b" | json 'd["id"]')
check "created in b" qn "$(SYNCQ_NAMESPACE=b "$S" task info "$NEW" --json | json 'd["queue"]')"
SYNCQ_NAMESPACE=a "$S" task info "$NEW" > /dev/null 2>&1
check "not created in a" 1 "$?"

# --- an unknown namespace is refused, with a JSON error
check "unknown ns status" 404 "$(curl -s -o unk.json -w '%{http_code}' "$B/api/overview?ns=zz")"
check "unknown ns error" ENOTFOUND "$(json 'd["error"]' < unk.json)"
has "unknown ns message" "namespace 'zz' is not served here" unk.json
check "unknown ns page" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B/tasks?ns=zz")"
# routes that take no ns (the OpenAPI document lists it on none of them)
check "namespaces ignores ns" "['a', 'b']" "$(curl -s "$B/api/namespaces?ns=zz" | json 'd["namespaces"]')"
check "openapi ignores ns" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/openapi.json?ns=zz")"

# --- /metrics: both namespaces, labelled, one family header each
curl -s "$B/api/overview?ns=b" > /dev/null
sleep 1.1
check "metrics status" 200 "$(curl -s -o metrics.txt -w '%{http_code}' "$B/metrics")"
has "metrics a ready" 'syncq_queue_ready{namespace="a",queue="qa"} 2' metrics.txt
has "metrics b ready" 'syncq_queue_ready{namespace="b",queue="qb"} 3' metrics.txt
has "metrics a up" 'syncq_up{namespace="a"} 1' metrics.txt
has "metrics b up" 'syncq_up{namespace="b"} 1' metrics.txt
check "one TYPE per family" 1 "$(grep -c '^# TYPE syncq_queue_ready gauge$' metrics.txt)"
check "every sample labelled" 0 "$(grep -v '^#' metrics.txt | grep -vc 'namespace=')"
promtool check metrics < metrics.txt > promtool.out 2>&1
check "promtool check metrics" 0 "$?"
cat promtool.out >&2

# --- the dashboard: the selector, the current namespace marked
check "page b" 200 "$(curl -s -o page_b.html -w '%{http_code}' "$B/?ns=b")"
has "selector" '<nav id="namespaces" class="nsnav">namespace: <a href="?ns=a">a</a> <a href="?ns=b" class="on">b</a></nav>' page_b.html
curl -s "$B/queues?ns=b" > queues_b.html
has "selector on every page" '<a href="/catalog">Catalog</a></nav> <nav id="namespaces" class="nsnav">' queues_b.html
has "page b shows qb" '>qb<' queues_b.html
lacks "page b hides qa" '>qa<' queues_b.html
curl -s "$B/static/common.js" > common.js
has "links keep ns" "withNs" common.js
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null

# --- one namespace, named or not: as before (no label, no selector)
SYNCQ_NAMESPACE=a start_serve "$T/port1" "$T/serve1.log" --no-alerts
B1="http://127.0.0.1:$PORT"
start_serve "$T/port2" "$T/serve2.log" --no-alerts --namespace a
B2="http://127.0.0.1:$PORT"
wait_for "$B1/api/overview" 'd["totals"]["ready"]' 2
wait_for "$B2/api/overview" 'd["totals"]["ready"]' 2
curl -s "$B1/metrics" > m1.txt
curl -s "$B2/metrics" > m2.txt
has "single metrics ready" 'syncq_queue_ready{queue="qa"} 2' m1.txt
check "single metrics unlabelled" 0 "$(grep -c 'namespace=' m1.txt)"
check "--namespace a = SYNCQ_NAMESPACE=a" "$(grep -v '^#' m1.txt | sed 's/ [^ ]*$//' | sort | md5sum)" \
  "$(grep -v '^#' m2.txt | sed 's/ [^ ]*$//' | sort | md5sum)"
check "single: ns of the one served" 2 "$(curl -s "$B1/api/overview?ns=a" | json 'd["totals"]["ready"]')"
check "single: ns not served is 404, not another's data" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B1/api/overview?ns=zz")"
curl -s "$B1/" > page1.html
curl -s "$B1/queues" > queues1.html
lacks "single no selector" 'nsnav' page1.html
check "single nav as before" 1 "$(grep -c '<a href="/queues">Queues</a></nav>$' page1.html)"
check "single page nav as before" 1 "$(grep -c '<a href="/catalog">Catalog</a></nav>$' queues1.html)"
lacks "single page no selector" 'nsnav' queues1.html
check "single search takes its own ns" 2 "$(curl -s "$B1/api/tasks?ns=a" | json 'len(d["tasks"])')"
check "single search, ns not served" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B1/api/tasks?ns=zz")"
check "single namespaces" "['a']" "$(curl -s "$B1/api/namespaces" | json 'd["namespaces"]')"

finish it_monitor_namespaces
