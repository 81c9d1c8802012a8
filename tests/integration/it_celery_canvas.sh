#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_celery_canvas.sh: Celery canvases (chain, link, link_error, chord)
# made by real Celery (python3-celery) and run by `syncq worker --celery`
# (issue 17), with a Python celery worker on another queue:
#  - chain add(2,2) | add(4) | py.echo('x') | ctest.echo: each step gets
#    the parent's result as its first argument, across syncq -> syncq ->
#    Python -> syncq; parent_id/root_id are Celery's;
#  - an immutable step (.si) gets only its own arguments;
#  - link (two callbacks: syncq and Python) get the result first;
#  - link_error: the errback gets the failed task's id first; the
#    failure reaches the caller; a callback that cannot be sent (a control
#    character in its name) gets a FAILURE result saying why;
#  - a failing chain step: the FAILURE is stored for the steps after it
#    (AsyncResult.get() of the chain raises), which never run;
#  - a chord whose header runs on syncq and Python workers: each part is
#    counted in Celery's keys, the last one sends the body with the
#    results in header order; a failed member gives the body a FAILURE
#    (ChordError); the chord keys are gone afterwards;
#  - a group inside a link is dead-lettered (celery_unsupported) with a
#    FAILURE result, not run, not lost.
# TEST_TIMEOUT: 300
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/celery_lib.sh"
cd "$T" || exit 1
PLUGIN=$SYNCQ_BUILD_DIR/tests/plugins/plugin_celery.so

start_syncq w.log -Q canvas -c 2 --plugin "$PLUGIN" || exit 1
start_py py.log --task py.echo=echo --queues pyq || exit 1

"$PY" - "$CURL" > canvas.json 2> canvas.err <<'PYEOF'
import json, sys
from celery import Celery, chain, chord, group
app = Celery('canvas_test', broker=sys.argv[1], backend=sys.argv[1])
app.conf.update(task_serializer='json', result_serializer='json',
                accept_content=['json'])

def S(name, *args, imm=False, kwargs=None, **opts):
    opts.setdefault('queue', 'canvas')
    return app.signature(name, args=args, kwargs=kwargs or {},
                         options=opts, immutable=imm)

def outcome(r, timeout=60):
    v = r.get(timeout=timeout, propagate=False)
    if isinstance(v, BaseException):
        v = {'exc_type': type(v).__name__, 'exc': str(v)}
    return {'id': r.id, 'state': r.state, 'value': v}

out = {}
r = chain(S('ctest.add', 2, 2), S('ctest.add', 4), S('py.echo', 'x', queue='pyq'),
          S('ctest.echo')).apply_async()
out['chain'] = outcome(r)
ids = []
p = r
while p is not None:
    ids.insert(0, p.id)
    p = p.parent
out['chain_ids'] = ids
out['chain_first'] = outcome(app.AsyncResult(ids[0]))
out['chain_second'] = outcome(app.AsyncResult(ids[1]))

r = chain(S('ctest.add', 1, 1), S('ctest.echo', 'fixed', imm=True)).apply_async()
out['immutable'] = outcome(r)

cb1 = S('ctest.echo', 'cb'); cb1.freeze()
cb2 = S('py.echo', 'cb2', queue='pyq'); cb2.freeze()
r = S('ctest.add', 1, 2).apply_async(link=[cb1, cb2])
out['link_parent'] = outcome(r)
out['link_syncq'] = outcome(app.AsyncResult(cb1.id))
out['link_python'] = outcome(app.AsyncResult(cb2.id))

eb = S('ctest.echo', 'eb'); eb.freeze()
r = S('syncq.fail', kwargs={'class': 'validation', 'message': 'boom'}).apply_async(link_error=eb)
out['errback_parent'] = outcome(r)
out['errback'] = outcome(app.AsyncResult(eb.id))

r = chain(S('syncq.fail', kwargs={'class': 'validation', 'message': 'step 1'}),
          S('ctest.add', 1), S('ctest.add', 2)).apply_async()
out['chain_fail'] = outcome(r)
out['chain_fail_middle'] = outcome(r.parent)

r = chord([S('ctest.add', 1, 1), S('ctest.add', 2, 2), S('py.echo', 'x', queue='pyq')],
          S('ctest.echo', 'body')).apply_async()
out['chord'] = outcome(r)
r = chord([S('ctest.add', 1, 1), S('syncq.fail', kwargs={'class': 'validation', 'message': 'part failed'})],
          S('ctest.echo')).apply_async()
out['chord_fail'] = outcome(r)

bad = S('bad\x07name'); bad.freeze()
S('ctest.add', 7).apply_async(link=bad)
out['bad_link'] = outcome(app.AsyncResult(bad.id))

gl = group(S('ctest.echo', 'g1'), S('ctest.echo', 'g2'))
r = S('ctest.add', 5).apply_async(link=gl)
out['group_link'] = outcome(r)
print(json.dumps(out, default=str))
PYEOF
check "the canvas driver ran" 0 "$?"
cat canvas.err >&2
J() { jget "$1" < canvas.json; }

# -- a chain across syncq and Python ---------------------------------------
check "chain: SUCCESS" SUCCESS "$(J 'd["chain"]["state"]')"
check "chain: every step got its parent's result first" \
  "{'args': [{'args': [8.0, 'x'], 'kwargs': {}}], 'kwargs': {}}" "$(J 'd["chain"]["value"]')"
check "chain: first step 2+2" 4.0 "$(J 'd["chain_first"]["value"]')"
check "chain: second step 4+4" 8.0 "$(J 'd["chain_second"]["value"]')"
first=$(J 'd["chain_ids"][0]')
second=$(J 'd["chain_ids"][1]')
"$S" task info "$second" --json > second.json
check "chain: the second step ran in syncq" ctest.add "$(jget 'd["name"]' < second.json)"
check "chain: its parent is the first step" "$first" "$(jget 'd["parent_id"]' < second.json)"
check "chain: its root is the first step" "$first" "$(jget 'd["root_id"]' < second.json)"
check "immutable step: its own arguments only" "{'args': ['fixed'], 'kwargs': {}}" "$(J 'd["immutable"]["value"]')"

# -- link and link_error ------------------------------------------------------
check "link: parent SUCCESS" 3.0 "$(J 'd["link_parent"]["value"]')"
check "link: syncq callback got the result first" "{'args': [3.0, 'cb'], 'kwargs': {}}" "$(J 'd["link_syncq"]["value"]')"
check "link: Python callback got the result first" "{'args': [3.0, 'cb2'], 'kwargs': {}}" "$(J 'd["link_python"]["value"]')"
check "link_error: the failure reaches the caller" "FAILURE ValueError" "$(J 'd["errback_parent"]["state"] + " " + d["errback_parent"]["value"]["exc_type"]')"
check "link_error: the errback got the failed task's id" "$(J 'd["errback_parent"]["id"]') eb" "$(J '" ".join(d["errback"]["value"]["args"])')"

check "a callback that cannot be sent: its FAILURE says why" "FAILURE EncodeError" \
  "$(J 'd["bad_link"]["state"] + " " + d["bad_link"]["value"]["exc_type"]')"

# -- a failing chain step --------------------------------------------------------
check "chain failure: the chain's result raises" "FAILURE ValueError" "$(J 'd["chain_fail"]["state"] + " " + d["chain_fail"]["value"]["exc_type"]')"
check "chain failure: stored for the middle step too" FAILURE "$(J 'd["chain_fail_middle"]["state"]')"
check "chain failure: the steps after it never ran (no syncq task)" "0 0" \
  "$(rcli EXISTS "{syncq}:t:$(J 'd["chain_fail_middle"]["id"]')") $(rcli EXISTS "{syncq}:t:$(J 'd["chain_fail"]["id"]')")"
check "chain failure: nothing queued" 0 "$(rcli LLEN canvas)"

# -- what syncq does not follow ----------------------------------------------------
# -- chords ------------------------------------------------------------------------
check "chord: the body got the results in header order" \
  "SUCCESS {'args': [[2.0, 4.0, {'args': ['x'], 'kwargs': {}}], 'body'], 'kwargs': {}}" \
  "$(J 'd["chord"]["state"] + " " + str(d["chord"]["value"])')"
check "chord with a failed member: the body fails" "FAILURE ChordError" "$(J 'd["chord_fail"]["state"] + " " + d["chord_fail"]["value"]["exc_type"]')"
contains "chord failure: which member raised what" "Dependency [0-9a-f-]+ raised ValueError..part failed" canvas.json
check "chord keys deleted" 0 "$(rcli --scan --pattern 'celery-taskset-meta-*' | wc -l)"

# -- what syncq does not follow ----------------------------------------------------
check "group in a link: FAILURE" "FAILURE ImproperlyConfigured" "$(J 'd["group_link"]["state"] + " " + d["group_link"]["value"]["exc_type"]')"
"$S" task list --state DEAD --limit 50 --json > dead.json
check "dead-lettered as unsupported" 1 "$(jget 'len([t for t in d if t["dead_reason"] == "poison:celery_unsupported"])' < dead.json)"
check "nothing left in flight" 0 "$(rcli HLEN '{syncq}:celery:inflight')"
stop_pid "$PPID_PY"
stop_pid "$SPID"
no_sanitizer_reports
finish it_celery_canvas
