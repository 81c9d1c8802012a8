#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_celery_shared.sh: a Python celery worker and a syncq worker on one
# Redis (issue 17), with real Celery (python3-celery):
#  - both consume the same queue: every message runs exactly once (an
#    execution log both sides append to), both take a share, every
#    Python caller gets its SUCCESS;
#  - a Python worker (acks_late) killed with SIGKILL mid-task leaves its
#    message in kombu's unacked hash; the syncq worker's restore_visible
#    puts it back (visibility timeout 3 s) and syncq runs it once;
#  - at the end nothing is left unacked or in flight, and SIGTERM stops
#    the worker and its Celery consumer cleanly.
# TEST_TIMEOUT: 300
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/celery_lib.sh"
cd "$T" || exit 1
N=60

# -- one queue, two kinds of workers ----------------------------------------
start_py py.log --task syncq.sleep=mark --queues shared --prefetch-multiplier 1 || exit 1
start_syncq s.log -Q shared -c 2 || exit 1
peer send syncq.sleep --queue shared --count "$N" \
  --kwargs '{"seconds": 0.05, "mark": "shared_ran"}' --wait 60 > results.jsonl
check "every caller got SUCCESS" "$N" "$(grep -c '"state": "SUCCESS"' results.jsonl)"
check "executions" "$N" "$(rcli LLEN shared_ran)"
check "distinct tasks executed" "$N" "$(rcli LRANGE shared_ran 0 -1 | cut -d'|' -f1 | sort -u | wc -l)"
py_n=$(rcli LRANGE shared_ran 0 -1 | grep -c '|py|')
sq_n=$(rcli LRANGE shared_ran 0 -1 | grep -vc '|py|')
echo "shared queue: python ran $py_n, syncq ran $sq_n"
[ "$py_n" -gt 0 ] && [ "$sq_n" -gt 0 ] && both=1 || both=0
check "both workers took a share" 1 "$both"
stop_pid "$PPID_PY"
stop_pid "$SPID"

# -- a Python worker killed mid-task ----------------------------------------
start_py pyk.log --task syncq.sleep=mark --queues killq --acks-late --visibility-timeout 3 || exit 1
id=$(peer send syncq.sleep --queue killq --kwargs '{"seconds": 4, "mark": "kill_ran"}' | jget 'd["id"]')
for _ in $(seq 200); do [ "$(rcli LLEN kill_ran)" = 1 ] && break; sleep 0.05; done
check "Python started it" "$id|py" "$(rcli LINDEX kill_ran 0 | cut -d'|' -f1-2)"
kill -KILL "$PPID_PY"
check "left unacked by the killed worker" 1 "$(rcli HLEN unacked)"
SYNCQ_CELERY_VISIBILITY_TIMEOUT=3 start_syncq sk.log -Q killq -c 1 || exit 1
result "$id" 40 > rk.json
check "restored and run: SUCCESS" SUCCESS "$(jget 'd["state"]' < rk.json)"
contains "restored by syncq" 'event=celery.restored' sk.log
check "syncq ran it once" 1 "$(rcli LRANGE kill_ran 0 -1 | grep -c "^$id|1|")"
check "runs in all: the killed one and syncq's" 2 "$(rcli LLEN kill_ran)"
"$S" task info "$id" --json > ik.json
check "one attempt in syncq" 1 "$(jget 'd["attempt"]' < ik.json)"
sleep 1
check "nothing left unacked" 0 "$(rcli HLEN unacked)"
check "nothing left in flight" 0 "$(rcli HLEN '{syncq}:celery:inflight')"
kill -TERM "$SPID"
for _ in $(seq 200); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$SPID" 2>/dev/null && gone=0 || gone=1
check "warm shutdown with --celery ends the worker" 1 "$gone"
contains "the Celery consumer stopped cleanly" 'event=celery.stopped' sk.log
contains "the worker stopped cleanly" 'event=worker.stopped' sk.log
no_sanitizer_reports
finish it_celery_shared
