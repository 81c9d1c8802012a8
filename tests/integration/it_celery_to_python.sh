#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_celery_to_python.sh: syncq producers, an unchanged Python celery
# worker (issue 17), with real Celery (python3-celery):
#  - `syncq task create --celery NAME` publishes a protocol 2 message the
#    Python worker runs; `syncq task wait` / `task info` read its Celery
#    result (SUCCESS with the value, FAILURE with the exception);
#  - self.retry() on the Python side: SUCCESS after the retry;
#  - --countdown: not run before it; --priority: 10 (Celery 0) before 0
#    (Celery 9) on kombu's priority lists;
#  - options a Celery message cannot carry are refused (exit 2), and so
#    are arguments a task syncq declares does not take (syncq_celery_send
#    checks them, nothing is pushed).
# TEST_TIMEOUT: 180
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/celery_lib.sh"
cd "$T" || exit 1

# -- refused options, before anything runs --------------------------------
"$S" task create --celery py.echo --max-retries 2 > /dev/null 2> e1.txt
check "max-retries refused" 2 "$?"
contains "refusal says why" "cannot carry max_retries" e1.txt
"$S" task create --celery py.echo -k '[1]' > /dev/null 2> e2.txt
check "kwargs not an object refused" 2 "$?"
"$S" task create --celery src.queue.tasks.crawler.fetch_products \
  -k '{"category_id": "1", "page": "x"}' > /dev/null 2> e3.txt
check "declared arguments checked: refused" 2 "$?"
contains "the refusal names the field" 'page: ' e3.txt
check "nothing pushed" 0 "$(rcli LLEN celery)"

# -- priority: queued first, then one Python process drains -------------
for p in 0 0 0 10 10 10; do
  id=$("$S" task create --celery syncq.sleep --queue pprio --priority "$p" \
    -k '{"seconds": 0, "mark": "pprio_ran"}')
  echo "$id $p" >> prio_ids.txt
done
check "priority 10 on the bare list" 3 "$(rcli LLEN pprio)"
check "priority 0 on the step-9 list" 3 "$(rcli LLEN "$(printf 'pprio\x06\x169')")"
start_py py1.log --task syncq.sleep=mark --queues pprio --prefetch-multiplier 1 || exit 1
for _ in $(seq 200); do [ "$(rcli LLEN pprio_ran)" = 6 ] && break; sleep 0.1; done
order=$(rcli LRANGE pprio_ran 0 -1 | cut -d'|' -f1 | while read -r id; do grep "^$id " prio_ids.txt | cut -d' ' -f2; done | tr '\n' ' ')
check "priority: 10 (Celery 0) ran before 0 (Celery 9)" "10 10 10 0 0 0 " "$order"
stop_pid "$PPID_PY"

start_py py2.log --task src.queue.tasks.crawler.fetch_products=echo --task py.fail=fail \
  --task py.retry=retry:1 --task syncq.sleep=mark --queues celery,pyq || exit 1

# -- a result read by syncq ------------------------------------------------
id=$("$S" task create --celery src.queue.tasks.crawler.fetch_products -q pyq -a '["123"]' \
  -k '{"page_size": 50}')
"$S" task wait "$id" --timeout 30 --json > w1.json
check "echo: exit 0" 0 "$?"
check "echo: SUCCESS" SUCCESS "$(jget 'd["state"]' < w1.json)"
check "echo: result" "{'args': ['123'], 'kwargs': {'page_size': 50}}" "$(jget 'd["result"]' < w1.json)"
check "echo: read from Celery's backend" celery "$(jget 'd["origin"]' < w1.json)"
"$S" task info "$id" > i1.txt
contains "task info shows the result" '^result +\{"args":\["123"\]' i1.txt

# -- an exception ----------------------------------------------------------
id=$("$S" task create --celery py.fail)
"$S" task wait "$id" --timeout 30 --json > w2.json
check "fail: exit 1" 1 "$?"
check "fail: FAILURE" FAILURE "$(jget 'd["state"]' < w2.json)"
check "fail: exception class" ValueError "$(jget 'd["error"]["class"]' < w2.json)"
check "fail: message" "celery_peer: failing on purpose" "$(jget 'd["error"]["message"]' < w2.json)"

# -- self.retry() ------------------------------------------------------------
id=$("$S" task create --celery py.retry -k '{"n": 1}')
"$S" task wait "$id" --timeout 30 --json > w3.json
check "retry: SUCCESS after one retry" "SUCCESS 1" "$(jget 'd["state"] + " " + str(d["result"]["retried"])' < w3.json)"

# -- countdown ---------------------------------------------------------------
t0=$(date +%s%3N)
id=$("$S" task create --celery syncq.sleep --countdown 3 -k '{"seconds": 0, "mark": "pcd_ran"}')
"$S" task wait "$id" --timeout 30 > /dev/null
check "countdown: SUCCESS" 0 "$?"
ran_at=$(rcli LINDEX pcd_ran 0 | cut -d'|' -f3)
[ $((ran_at - t0)) -ge 2900 ] && ok=1 || ok=0
check "countdown: not run before its eta (ran after $((ran_at - t0)) ms)" 1 "$ok"
stop_pid "$PPID_PY"
no_sanitizer_reports
finish it_celery_to_python
