#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_celery_control.sh: Celery's remote control answered by `syncq worker
# --celery` (issue 17), driven by the real `celery inspect` / `celery
# control` command line of python3-celery (in one Python process through
# click; `celery control shutdown` as a command of its own):
#  - inspect active (the task a child runs, with its Celery id and the
#    child's pid), reserved (a task waiting for the busy child),
#    scheduled (a countdown), query_task, stats (pool size, prefetch,
#    totals, the worker's own info), registered, active_queues, revoked,
#    clock, report;
#  - control time_limit (applies to the next messages of that task),
#    rate_limit (the worker's own per-task rate limit: set, seen in its
#    info, refused when bad or for an unknown task, disabled),
#    enable_events / disable_events, cancel_consumer / add_consumer (a
#    message waits on kombu's list while its queue is cancelled), and
#    Celery's error reply for what a syncq worker does not do (pool_grow,
#    pool_shrink, an unknown task, a queue it does not serve);
#  - control shutdown: the worker's warm shutdown, as Celery's.
# TEST_TIMEOUT: 300
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/celery_lib.sh"
cd "$T" || exit 1
NODE=ctl@vm
SYNCQ_HEARTBEAT_INTERVAL=1 SYNCQ_WORKER_HOSTNAME=$NODE start_syncq w.log -Q ctl -c 1 || exit 1
for _ in $(seq 100); do rcli --scan --pattern '{syncq}:w:*' | grep -q . && break; sleep 0.1; done

# One Python process drives it all: `celery inspect/control ... --json`
# run in-process through the celery command line itself (click), so the
# heavy Python start-up is paid once (it is seconds on a loaded machine).
"$PY" - "$CURL" "$NODE" "$S" "$SYNCQ_REDIS_SOCK" > ctl.json 2> ctl.err <<'PYEOF'
import json, os, subprocess, sys, time
import redis
from click.testing import CliRunner
from celery import Celery
from celery.bin.celery import celery as celery_cli
url, node, syncq, sock = sys.argv[1:5]
app = Celery('ctl_test', broker=url, backend=url)
app.conf.update(task_serializer='json', result_serializer='json', accept_content=['json'])
r = redis.Redis(unix_socket_path=sock)
runner = CliRunner()

def cli(kind, *args):
    res = runner.invoke(celery_cli, ['-b', url, kind, *args, '-d', node, '-t', '5', '--json'])
    if res.exit_code != 0:
        return {'exit': res.exit_code, 'output': res.output}
    out = json.loads(res.output)
    return out[node] if isinstance(out, dict) else out[0][node]

def state(tid):
    # the exit status says how the task ended (not 0 for REVOKED); the
    # celery command line leaves CELERY_BROKER_URL (-b) in the
    # environment, which syncq would take as its own setting
    env = {k: v for k, v in os.environ.items() if not k.startswith('CELERY_')}
    p = subprocess.run([syncq, 'task', 'info', tid, '--json'], capture_output=True,
                       text=True, env=env)
    return json.loads(p.stdout) if p.stdout.strip() else {}

def until(cond, secs=20):
    end = time.time() + secs
    while time.time() < end and not cond():
        time.sleep(0.05)

def done(tid):
    res = app.AsyncResult(tid)
    res.get(timeout=30, propagate=False)
    return res.state

def send(tid, seconds, **o):
    app.send_task('syncq.sleep', kwargs={'seconds': seconds}, queue='ctl', task_id=tid, **o)

run, wait, later = ('3d4f0000-0000-4000-8000-0000000000a%d' % i for i in (1, 2, 3))
tl, held = '3d4f0000-0000-4000-8000-0000000000a4', '3d4f0000-0000-4000-8000-0000000000a5'
out = {}
send(run, 120)
until(lambda: state(run).get('state') == 'STARTED')
send(wait, 0)
send(later, 0, countdown=120)
until(lambda: state(later).get('state') == 'PENDING' and state(wait).get('state') is not None)
time.sleep(1.5)  # the worker's info names the running child (heartbeat, 1 s)
for cmd in ('active', 'reserved', 'scheduled', 'stats', 'registered', 'active_queues',
            'clock', 'report'):
    out[cmd] = cli('inspect', cmd)
out['query_task'] = cli('inspect', 'query_task', run, later)
out['revoke'] = cli('control', 'revoke', run, later)
out['revoked'] = cli('inspect', 'revoked')
until(lambda: state(run).get('state') == 'REVOKED' and state(later).get('state') == 'REVOKED')
out['revoked_states'] = [state(run).get('state'), state(later).get('state')]
out['wait_state'] = done(wait)
out['time_limit'] = cli('control', 'time_limit', 'syncq.sleep', '20', '30')
send(tl, 0)
done(tl)
t = state(tl)
out['tl_limits'] = [t.get('soft_time_limit_ms'), t.get('time_limit_ms')]
out['time_limit_unknown'] = cli('control', 'time_limit', 'no.such.task', '1', '2')
out['enable_events'] = cli('control', 'enable_events')
out['disable_events'] = cli('control', 'disable_events')
out['cancel_consumer'] = cli('control', 'cancel_consumer', 'ctl')
time.sleep(1.5)  # the BRPOP armed before the cancel ends within 1 s
send(held, 0)
time.sleep(2)
out['held_on_list'] = r.llen('ctl')
out['add_consumer'] = cli('control', 'add_consumer', 'ctl')
out['held_state'] = done(held)
out['add_other'] = cli('control', 'add_consumer', 'other')
def rate_limits():
    return cli('inspect', 'stats').get('syncq', {}).get('rate_limits', {})

out['rate_limit'] = cli('control', 'rate_limit', 'syncq.sleep', '10/m')
until(lambda: rate_limits().get('syncq.sleep') == '10/m', 15)
out['rate_set'] = rate_limits()
out['rate_bad'] = cli('control', 'rate_limit', 'syncq.sleep', 'fast')
out['rate_unknown'] = cli('control', 'rate_limit', 'no.such.task', '1/s')
out['rate_off'] = cli('control', 'rate_limit', 'syncq.sleep', '0')
until(lambda: 'syncq.sleep' not in rate_limits(), 15)
out['rate_after_off'] = rate_limits()
out['pool_grow'] = cli('control', 'pool_grow', '1')
out['pool_shrink'] = cli('control', 'pool_shrink', '1')
print(json.dumps(out))
PYEOF
check "the control driver ran" 0 "$?"
cat ctl.err >&2
J() { jget "$1" < ctl.json; }
run=3d4f0000-0000-4000-8000-0000000000a1
wait=3d4f0000-0000-4000-8000-0000000000a2
later=3d4f0000-0000-4000-8000-0000000000a3

# -- what runs, waits, is scheduled --------------------------------------------
check "active: the running task" "$run syncq.sleep" "$(J 'd["active"][0]["id"] + " " + d["active"][0]["name"]')"
check "active: the child's pid" 1 "$(J 'int(isinstance(d["active"][0]["worker_pid"], int) and d["active"][0]["worker_pid"] > 0)')"
check "active: kwargs" "{'seconds': 120}" "$(J 'd["active"][0]["kwargs"]')"
check "reserved: the task waiting for the child" "$wait" "$(J '" ".join(r["id"] for r in d["reserved"])')"
check "scheduled: the countdown" "$later" "$(J '" ".join(r["request"]["id"] for r in d["scheduled"])')"
check "scheduled: its eta" 1 "$(J 'int(d["scheduled"][0]["eta"] is not None)')"
check "query_task: active and reserved" "active reserved" "$(J 'd["query_task"]["'$run'"][0] + " " + d["query_task"]["'$later'"][0]')"
check "stats: pool size" 1 "$(J 'd["stats"]["pool"]["max-concurrency"]')"
check "stats: prefetch count (1 x 4)" 4 "$(J 'd["stats"]["prefetch_count"]')"
check "stats: the worker's own info" "ctl" "$(J '",".join(d["stats"]["syncq"]["queues"])')"
check "registered: syncq's tasks" 1 "$(J 'int("syncq.sleep" in d["registered"] and "crawler.fetch_products" in d["registered"])')"
check "active_queues" ctl "$(J '" ".join(q["name"] for q in d["active_queues"])')"
check "clock: a number" 1 "$(J 'int(d["clock"]["clock"] > 0)')"
check "report" 1 "$(J 'int(d["report"]["ok"].startswith("software -> syncq:"))')"

# -- revoke (the running one too), then revoked ------------------------------------
check "revoke: ok" "tasks flagged as revoked: 2" "$(J 'd["revoke"]["ok"]')"
check "revoked: listed" "$run $later" "$(J '" ".join(sorted(d["revoked"]))')"
check "revoked: the running and the scheduled task" "REVOKED REVOKED" "$(J '" ".join(d["revoked_states"])')"
check "the waiting one runs then" SUCCESS "$(J 'd["wait_state"]')"

# -- time_limit, events, consumers ---------------------------------------------------
check "time_limit: ok" "time limits set successfully" "$(J 'd["time_limit"]["ok"]')"
check "time_limit: the next task's limits" "[20000, 30000]" "$(J 'd["tl_limits"]')"
check "time_limit: unknown task" "unknown task" "$(J 'd["time_limit_unknown"]["error"]')"
check "enable_events" "task events enabled" "$(J 'd["enable_events"]["ok"]')"
check "disable_events" "task events disabled" "$(J 'd["disable_events"]["ok"]')"
check "cancel_consumer" "no longer consuming from ctl" "$(J 'd["cancel_consumer"]["ok"]')"
check "cancelled: the message waits on kombu's list" 1 "$(J 'd["held_on_list"]')"
check "add_consumer" "add consumer ctl" "$(J 'd["add_consumer"]["ok"]')"
check "added again: it runs" SUCCESS "$(J 'd["held_state"]')"
check "add_consumer of a queue the worker does not serve" 1 "$(J 'int("does not serve queue other" in d["add_other"]["error"])')"

# -- what a syncq worker does not do: Celery's error reply --------------------------------
# -- rate_limit: the worker's own per-task limit ------------------------------------------
check "rate_limit: set" "new rate limit set successfully" "$(J 'd["rate_limit"]["ok"]')"
check "rate_limit: in the worker's info" "{'syncq.sleep': '10/m'}" "$(J 'd["rate_set"]')"
check "rate_limit: a bad rate" 1 "$(J 'int(d["rate_bad"]["error"].startswith("Invalid rate limit string: "))')"
check "rate_limit: unknown task" "unknown task" "$(J 'd["rate_unknown"]["error"]')"
check "rate_limit: disabled" "rate limit disabled successfully" "$(J 'd["rate_off"]["ok"]')"
check "rate_limit: gone from the info" "{}" "$(J 'd["rate_after_off"]')"
contains "rate_limit: logged" 'event=celery.rate_limit task=syncq.sleep rate=10/m' w.log

for c in pool_grow pool_shrink; do
  check "$c refused" 1 "$(J 'int(d["'$c'"]["error"].startswith("'$c': not supported by syncq workers"))')"
done

# -- shutdown ------------------------------------------------------------------------------
"$PY" -m celery -b "$CURL" control shutdown -d "$NODE" -t 1 > shutdown.out 2>&1
for _ in $(seq 200); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$SPID" 2>/dev/null && gone=0 || gone=1
check "shutdown: the worker stopped" 1 "$gone"
contains "shutdown: logged" 'event=celery.shutdown' w.log
contains "shutdown: a warm one" 'event=worker.stopped' w.log
no_sanitizer_reports
finish it_celery_control
