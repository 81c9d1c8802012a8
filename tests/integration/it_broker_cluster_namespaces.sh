#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_cluster_namespaces.sh: one command over several namespaces
# (src/cli/cli_multi.c, docs/scaling.md "Several namespaces in one
# command"), on the private Redis (a namespace is a cluster slot; the
# process layout is the same on one Redis): a worker serving queues of
# two namespaces runs the tasks of both, logs whose they are, writes one
# status file per namespace and stops on one TERM; when one namespace's
# supervisor dies the other is stopped and the worker exits with its
# status; killing the parent takes the supervisors with it; status and
# monitor health over both; bad lists are usage errors.
# TEST_TIMEOUT: 90
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/checks.sh"
cd "$T" || exit 1
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
wait_for() { for _ in $(seq 200); do eval "$1" && return 0; sleep 0.05; done; return 1; }
kids() { ps -o pid= --ppid "$1" | tr -d ' '; }
R FLUSHALL > /dev/null

# ---- bad lists: usage errors (exit 2) --------------------------------------
usage_case() { # NAME REGEX ARGS...
  local n=$1 re=$2; shift 2
  "$S" "$@" > "u_$n" 2>&1
  check "$n: exit 2" 2 "$?"
  contains "$n: message" "$re" "u_$n"
}
usage_case empty "status: --namespace: no namespace given" status --namespace ''
usage_case brace "worker: --namespace: 'b\{' is not a namespace \(1..64 characters without braces, colons or spaces\)" \
  worker --namespace 'a,b{'
usage_case colon "monitor health: --namespace: 'a:b' is not a namespace" monitor health --namespace 'a:b,c'
usage_case queue "worker: --namespace: 'x y' is not a namespace" worker -Q 'x y:q1'

# ---- one worker, two namespaces --------------------------------------------
a1=$(SYNCQ_NAMESPACE=na "$S" task create syncq.echo -q qa -k '{"n":1}')
b1=$(SYNCQ_NAMESPACE=nb "$S" task create syncq.echo -q qb -k '{"n":2}')
b2=$(SYNCQ_NAMESPACE=nb "$S" task create syncq.echo -q default -k '{"n":3}')
"$S" worker -Q na:qa,nb:qb,default -c 1 -n mw -l debug --logfile "$T/w.log" \
  --status-file "$T/live.json" 2> w.err &
wp=$!
pids+=($wp)
wait_for '[ "$(R HGET "{na}:t:$a1" state)" = SUCCESS ] && [ "$(R HGET "{nb}:t:$b1" state)" = SUCCESS ] && [ "$(R HGET "{nb}:t:$b2" state)" = SUCCESS ]' \
  || echo "FAIL: tasks of both namespaces not done" >&2
check "both namespaces' tasks ran" "SUCCESS SUCCESS SUCCESS" \
  "$(R HGET "{na}:t:$a1" state) $(R HGET "{nb}:t:$b1" state) $(R HGET "{nb}:t:$b2" state)"
contains "queues of na" "proc=worker@na .*event=worker.ready .*queues=qa,default " w.log
contains "queues of nb" "proc=worker@nb .*event=worker.ready .*queues=qb,default " w.log
contains "a task start says its namespace" "proc=worker-child@na .*event=task.start task_id=$a1" w.log
contains "the other namespace's too" "proc=worker-child@nb .*event=task.start task_id=$b1" w.log
check "one supervisor per namespace" 2 "$(kids "$wp" | wc -l)"
wait_for '[ -s "$T/live.json.na" ] && [ -s "$T/live.json.nb" ]' || echo "FAIL: status files" >&2
check "one status file per namespace" "live.json.na live.json.nb" "$(cd "$T" && ls live.json.* | tr '\n' ' ' | sed 's/ $//')"

"$S" status --namespace na,nb > st.txt
check "status: exit" 0 "$?"
check "status: a section per namespace" "== namespace na|== namespace nb" "$(grep '^== ' st.txt | tr '\n' '|' | sed 's/|$//')"
contains "status: na's broker line" "^broker .*namespace na\)$" st.txt
"$S" --json status --namespace na,nb > st.json
check "status --json: both, each its own" "na nb" \
  "$(json "d['namespaces']['na']['namespace'] + ' ' + d['namespaces']['nb']['namespace']" < st.json)"
"$S" --json monitor health --namespace na,nb > h.json
check "health --json: both" "na nb" "$(json "' '.join(sorted(d['namespaces']))" < h.json)"

kill -TERM "$wp"
wait "$wp"
check "one TERM: exit 0" 0 "$?"
check "one TERM: both supervisors stopped" 2 "$(grep -c 'event=worker.stopped' w.log)"
check "one TERM: no 'stopping the others'" 0 "$(grep -c 'stopping the others' w.err)"

# ---- one supervisor dies: the worker stops, with its status -----------------
"$S" worker --namespace na,nb -c 1 -n mw2 --logfile "$T/w2.log" 2> w2.err &
wp=$!
pids+=($wp)
wait_for '[ "$(grep -c event=worker.ready w2.log 2>/dev/null)" = 2 ]' || echo "FAIL: w2 not ready" >&2
sup=$(grep 'proc=worker@na .*event=worker.ready' w2.log | grep -o ' pid=[0-9]*' | head -1 | cut -d= -f2)
kill -9 "$sup"
wait "$wp"
check "a supervisor killed: the worker's exit status is its" 137 "$?"
contains "a supervisor killed: said" "worker of namespace na stopped \(status 137\): stopping the others" w2.err
contains "the other stopped warm" "proc=worker@nb .*event=worker.stopped" w2.log

# ---- the parent killed: the supervisors go with it --------------------------
"$S" worker --namespace na,nb -c 1 -n mw3 --logfile "$T/w3.log" &
wp=$!
pids+=($wp)
wait_for '[ "$(grep -c event=worker.ready w3.log 2>/dev/null)" = 2 ]' || echo "FAIL: w3 not ready" >&2
sups=$(kids "$wp" | tr '\n' ' ')
kill -9 "$wp"
wait "$wp" 2>/dev/null
gone=0
for _ in $(seq 200); do
  alive=0
  for p in $sups; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && { gone=1; break; }
  sleep 0.05
done
check "parent SIGKILLed: its supervisors stopped" 1 "$gone"
for p in $sups; do kill -9 "$p" 2>/dev/null; done
# no sanitizer report in any process's output (ASan builds)
check "no sanitizer reports" 0 "$(cat w.err w2.err u_* st.txt w.log w2.log w3.log 2>/dev/null | grep -cE 'Sanitizer|runtime error:')"
finish it_broker_cluster_namespaces
