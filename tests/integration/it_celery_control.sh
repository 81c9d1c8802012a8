#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_celery_control.sh: Celery's remote control answered by `syncq worker
# --celery` (issue 17), driven by the real `celery inspect` / `celery
# control` command line of python3-celery (`python3 -m celery`):
#  - inspect active (the task a child runs, with its Celery id and the
#    child's pid), reserved (a task waiting for the busy child),
#    scheduled (a countdown), query_task, stats (pool size, prefetch,
#    totals, the worker's own info), registered, active_queues, revoked,
#    clock, report;
#  - control time_limit (applies to the next messages of that task),
#    enable_events / disable_events, cancel_consumer / add_consumer (a
#    message waits on kombu's list while its queue is cancelled), and
#    Celery's error reply for what a syncq worker does not do (rate_limit,
#    pool_grow, pool_shrink, an unknown task, a queue it does not serve);
#  - control shutdown: the worker's warm shutdown, as Celery's.
# TEST_TIMEOUT: 300
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/celery_lib.sh"
cd "$T" || exit 1
NODE=ctl@vm
# inspect/control ARGS...: the Celery command line, JSON out, our node
inspect() { "$PY" -m celery -b "$CURL" inspect "$@" -d "$NODE" -t 5 --json; }
control() { "$PY" -m celery -b "$CURL" control "$@" -d "$NODE" -t 5 --json; }
state_of() { "$S" task info "$1" --json 2> /dev/null | jget 'd["state"]'; }

SYNCQ_HEARTBEAT_INTERVAL=1 SYNCQ_WORKER_HOSTNAME=$NODE start_syncq w.log -Q ctl -c 1 || exit 1
for _ in $(seq 100); do rcli --scan --pattern '{syncq}:w:*' | grep -q . && break; sleep 0.1; done

# -- what runs, waits, is scheduled --------------------------------------------
run=3d4f0000-0000-4000-8000-0000000000a1
wait=3d4f0000-0000-4000-8000-0000000000a2
later=3d4f0000-0000-4000-8000-0000000000a3
peer send syncq.sleep --queue ctl --task-id $run --kwargs '{"seconds": 120}' > /dev/null
for _ in $(seq 200); do [ "$(state_of $run)" = STARTED ] && break; sleep 0.05; done
peer send syncq.sleep --queue ctl --task-id $wait --kwargs '{"seconds": 0}' > /dev/null
peer send syncq.sleep --queue ctl --task-id $later --countdown 120 --kwargs '{"seconds": 0}' > /dev/null
for _ in $(seq 100); do [ "$(state_of $later)" = PENDING ] && [ -n "$(state_of $wait)" ] && break; sleep 0.05; done
sleep 1.5 # the worker's info names the running child (heartbeat, 1 s)

inspect active > active.json
check "active: the running task" "$run syncq.sleep" "$(jget 'd["ctl@vm"][0]["id"] + " " + d["ctl@vm"][0]["name"]' < active.json)"
check "active: the child's pid" 1 "$(jget 'int(isinstance(d["ctl@vm"][0]["worker_pid"], int) and d["ctl@vm"][0]["worker_pid"] > 0)' < active.json)"
check "active: kwargs" "{'seconds': 120}" "$(jget 'd["ctl@vm"][0]["kwargs"]' < active.json)"
inspect reserved > reserved.json
check "reserved: the task waiting for the child" "$wait" "$(jget '" ".join(r["id"] for r in d["ctl@vm"])' < reserved.json)"
inspect scheduled > scheduled.json
check "scheduled: the countdown" "$later" "$(jget '" ".join(r["request"]["id"] for r in d["ctl@vm"])' < scheduled.json)"
check "scheduled: its eta" 1 "$(jget 'int(d["ctl@vm"][0]["eta"] is not None)' < scheduled.json)"
inspect query_task $run $later > query.json
check "query_task: active and reserved" "active reserved" "$(jget 'd["ctl@vm"]["'$run'"][0] + " " + d["ctl@vm"]["'$later'"][0]' < query.json)"

inspect stats > stats.json
check "stats: pool size" 1 "$(jget 'd["ctl@vm"]["pool"]["max-concurrency"]' < stats.json)"
check "stats: prefetch count (1 x 4)" 4 "$(jget 'd["ctl@vm"]["prefetch_count"]' < stats.json)"
check "stats: the worker's own info" "ctl" "$(jget '",".join(d["ctl@vm"]["syncq"]["queues"])' < stats.json)"
inspect registered > registered.json
check "registered: syncq's tasks" 1 "$(jget 'int("syncq.sleep" in d["ctl@vm"] and "crawler.fetch_products" in d["ctl@vm"])' < registered.json)"
inspect active_queues > queues.json
check "active_queues" ctl "$(jget '" ".join(q["name"] for q in d["ctl@vm"])' < queues.json)"
check "clock: a number" 1 "$(inspect clock | jget 'int(d["ctl@vm"]["clock"] > 0)')"
contains "report" 'syncq:' <(inspect report)

# -- revoke (the running one too), then revoked ------------------------------------
control revoke $run $later > revoke.json
check "revoke: ok" "tasks flagged as revoked: 2" "$(jget 'd[0]["ctl@vm"]["ok"]' < revoke.json)"
check "revoked: listed" "$run $later" "$(inspect revoked | jget '" ".join(sorted(d["ctl@vm"]))')"
for _ in $(seq 200); do [ "$(state_of $later)" = REVOKED ] && [ "$(state_of $run)" = REVOKED ] && break; sleep 0.05; done
check "revoked: the scheduled task" REVOKED "$(state_of $later)"
check "revoked: the running task (asked to stop)" REVOKED "$(state_of $run)"
check "the waiting one runs then" SUCCESS "$(result $wait 30 | jget 'd["state"]')"

# -- time_limit ------------------------------------------------------------------------
control time_limit syncq.sleep 20 30 > tl.json
check "time_limit: ok" "time limits set successfully" "$(jget 'd[0]["ctl@vm"]["ok"]' < tl.json)"
tl_id=3d4f0000-0000-4000-8000-0000000000a4
peer send syncq.sleep --queue ctl --task-id $tl_id --kwargs '{"seconds": 0}' --wait 30 > /dev/null
"$S" task info $tl_id --json > tl_task.json
check "time_limit: the next task's limits" "20000 30000" "$(jget 'str(d["soft_time_limit_ms"]) + " " + str(d["time_limit_ms"])' < tl_task.json)"
check "time_limit: unknown task" "unknown task" "$(control time_limit no.such.task 1 2 | jget 'd[0]["ctl@vm"]["error"]')"

# -- events on and off -------------------------------------------------------------------
check "enable_events" "task events enabled" "$(control enable_events | jget 'd[0]["ctl@vm"]["ok"]')"
check "disable_events" "task events disabled" "$(control disable_events | jget 'd[0]["ctl@vm"]["ok"]')"

# -- consumers ---------------------------------------------------------------------------
check "cancel_consumer" "no longer consuming from ctl" "$(control cancel_consumer ctl | jget 'd[0]["ctl@vm"]["ok"]')"
sleep 1.5 # the BRPOP armed before the cancel ends within 1 s
held=3d4f0000-0000-4000-8000-0000000000a5
peer send syncq.sleep --queue ctl --task-id $held --kwargs '{"seconds": 0}' > /dev/null
sleep 2
check "cancelled: the message waits on kombu's list" 1 "$(rcli LLEN ctl)"
check "add_consumer" "add consumer ctl" "$(control add_consumer ctl | jget 'd[0]["ctl@vm"]["ok"]')"
check "added again: it runs" SUCCESS "$(result $held 30 | jget 'd["state"]')"
contains "add_consumer of a queue the worker does not serve" "does not serve queue other" <(control add_consumer other)

# -- what a syncq worker does not do: Celery's error reply --------------------------------
contains "rate_limit refused" "rate_limit: not supported by syncq workers" <(control rate_limit syncq.sleep 10/m)
contains "pool_grow refused" "pool_grow: not supported by syncq workers" <(control pool_grow 1)
contains "pool_shrink refused" "pool_shrink: not supported by syncq workers" <(control pool_shrink 1)

# -- shutdown ------------------------------------------------------------------------------
"$PY" -m celery -b "$CURL" control shutdown -d "$NODE" -t 1 > shutdown.out 2>&1
for _ in $(seq 200); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$SPID" 2>/dev/null && gone=0 || gone=1
check "shutdown: the worker stopped" 1 "$gone"
contains "shutdown: logged" 'event=celery.shutdown' w.log
contains "shutdown: a warm one" 'event=worker.stopped' w.log
no_sanitizer_reports
finish it_celery_control
