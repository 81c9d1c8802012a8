#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_dashboard.sh: the operator's dashboard over real HTTP (curl)
# with a real worker on a private Redis: sign-in (session cookie flags,
# expiry, read-only sessions refused actions, every action logged with
# the token's name, no open redirect), the first paint (figures in the
# first HTML response), the task browser's search (every filter, paging,
# bad input), bulk actions (dry run count, expect, 409 on a changed
# count), the task events, worker remote control through Redis (pool
# grow/shrink acknowledged and seen in the children, consumer stop and
# start), queue pause (a paused queue is not leased from) and
# `syncq worker control`.
# TEST_TIMEOUT: 300
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/monitor_lib.sh"
cd "$T" || exit 1

wait_for() { # seconds command...: poll until the command succeeds
  local n=$(( $1 * 10 )); shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}

SYNCQ_API_TOKEN=w-s3cret SYNCQ_MONITOR_TOKEN=r-s3cret \
  "$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$T/serve.log" --no-alerts &
pids+=("$!")
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$T/port")"
W='Authorization: Bearer w-s3cret'
X='X-Syncq-Request: 1'

# --- sign-in -------------------------------------------------------------
check "page without a token: to the sign-in page" 303 "$(code "$B/tasks")"
curl -s -D h.txt -o /dev/null "$B/tasks"
contains "sign-in keeps the page" '^Location: /login\?next=/tasks' h.txt
check "API without a token stays a JSON 401" 401 "$(code "$B/api/overview")"
check "assets need no token" 200 "$(code "$B/static/app.css")"
curl -s "$B/login?next=/queues" > login.html
contains "sign-in form" 'name="token"' login.html
contains "sign-in goes back" 'name="next" value="/queues"' login.html
check "wrong token: 401 page" 401 "$(code -d 'token=nope&next=/queues' "$B/login")"
curl -s -d 'token=nope' "$B/login" > bad.html
contains "wrong token said" 'That token is not valid' bad.html
curl -s -D hw.txt -o /dev/null -d 'token=w-s3cret&next=/queues' "$B/login"
contains "signed in: 303" '^HTTP/1.1 303' hw.txt
contains "signed in: back to the page" '^Location: /queues' hw.txt
contains "session cookie: signed, HttpOnly, SameSite=Strict, expiring" \
  '^Set-Cookie: syncq_session=v1\.w\.[0-9]+\.[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200' hw.txt
WS=$(cookie_of hw.txt)
curl -s -D hr.txt -o /dev/null -d 'token=r-s3cret' "$B/login"
RS=$(cookie_of hr.txt)
check "session reads the API" 200 "$(code -H "Cookie: $WS" "$B/api/overview")"
check "session opens pages" 200 "$(code -H "Cookie: $WS" "$B/queues")"
check "a forged session is refused" 401 "$(code -H "Cookie: ${WS/v1.w./v1.w.9}" "$B/api/overview")"
curl -s -D ho.txt -o /dev/null -d 'token=w-s3cret&next=//evil.example/' "$B/login"
contains "no open redirect" '^Location: /\s*$' ho.txt
"$S" task create syncq.noop --queue parked > id1.txt
ID1=$(cat id1.txt)
check "read session may not act" 403 "$(code -X POST -H "Cookie: $RS" -H "$X" "$B/api/tasks/$ID1/cancel")"
check "write session acts" 200 "$(code -X POST -H "Cookie: $WS" -H "$X" "$B/api/tasks/$ID1/cancel")"
check "bearer token still acts (RESUME needs a checkpoint: 404)" 404 "$(code -X POST -H "$W" "$B/api/tasks/$ID1/resume?strategy=resume")"
contains "action logged with who" 'event=monitor.action who=api-token method=POST path=/api/tasks/[0-9a-f-]+/cancel status=200' serve.log
contains "refusal logged with who" 'event=monitor.action_refused who=monitor-token' serve.log
curl -s -D hl.txt -o /dev/null -X POST -H "Cookie: $WS" "$B/logout"
contains "sign out clears the cookie" '^Set-Cookie: syncq_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0' hl.txt

# --- first paint: figures in the first response ---------------------------
for _ in 1 2 3; do "$S" task create syncq.noop --queue parked >/dev/null; done
sleep 1.1
curl -s -H "Cookie: $WS" "$B/" > index.html
contains "first paint: tiles rendered" '<div class="tile"><div class="v">[0-9]+</div><div class="l">ready</div>' index.html
contains "first paint: queue row rendered" '<tr data-queue="parked"><td>parked</td><td>3</td>' index.html
contains "first paint: boot snapshot" '<script type="application/json" id="boot">\{"snapshot":\{' index.html
if grep -q '>loading<' index.html; then check "no loading placeholder" none found; fi

# --- task browser ----------------------------------------------------------
get() { curl -s -H "$W" "$B$1"; }
"$S" task create syncq.fail --queue dash -k '{"class": "validation", "message": "bad sku"}' > idf.txt
IDF=$(cat idf.txt)
get "/api/tasks?queue=parked&state=PENDING" > s1.json
check "search by queue: total" 3 "$(json 'd["total"]' < s1.json)"
check "search by queue: all PENDING" "{'PENDING'}" "$(json 'set(t["state"] for t in d["tasks"])' < s1.json)"
P=${ID1:0:8}
check "search by id prefix" "$ID1" "$(get "/api/tasks?id=$P" | json 'd["tasks"][0]["id"]')"
check "search by whole id: one record read" "1 1" "$(get "/api/tasks?id=$ID1" | json 'str(d["total"]) + " " + str(d["scanned"])')"
check "search by state REVOKED" 1 "$(get "/api/tasks?state=REVOKED" | json 'd["total"]')"
check "paging: limit" 2 "$(get "/api/tasks?queue=parked&state=PENDING&limit=2" | json 'len(d["tasks"])')"
check "paging: the rest" 1 "$(get "/api/tasks?queue=parked&state=PENDING&offset=2" | json 'len(d["tasks"])')"
check "paging: offset past the end" 0 "$(get "/api/tasks?queue=parked&state=PENDING&offset=3" | json 'len(d["tasks"])')"
check "time range: none before 2000" 0 "$(get "/api/tasks?until=2000-01-01T00:00Z" | json 'd["total"]')"
check "bad filter" 400 "$(code -H "$W" "$B/api/tasks?colour=red")"
get "/api/tasks?colour=red" > bf.json
contains "bad filter named" "unknown filter 'colour'" bf.json
check "bad state" 400 "$(code -H "$W" "$B/api/tasks?state=DONE")"
check "bad time" 400 "$(code -H "$W" "$B/api/tasks?since=yesterday")"
check "bad limit" 400 "$(code -H "$W" "$B/api/tasks?limit=501")"
check "bad offset" 400 "$(code -H "$W" "$B/api/tasks?offset=-1")"
check "bad error class" 400 "$(code -H "$W" "$B/api/tasks?error=gremlins")"
check "bad id" 400 "$(code -H "$W" "$B/api/tasks?id=a%20b")"
check "events of a task" True "$(get "/api/tasks/$ID1/events" | json '"task-revoked" in [e["event"] for e in d["events"]]')"
check "events: bad id" 400 "$(code -H "$W" "$B/api/tasks/a%20b/events")"

# --- bulk actions ---------------------------------------------------------
act() { curl -s -H "$W" -H 'Content-Type: application/json' -d "$2" "$B/api/actions/$1"; }
act cancel '{"filter": {"queue": "parked", "state": "PENDING"}}' > d1.json
check "dry run counts" 3 "$(json 'd["count"]' < d1.json)"
check "dry run says so" "cancel 3 tasks?" "$(json 'd["confirm"]' < d1.json)"
check "stale count refused" 409 "$(code -H "$W" -H 'Content-Type: application/json' -d '{"filter": {"queue": "parked", "state": "PENDING"}, "expect": 2}' "$B/api/actions/cancel")"
act cancel '{"filter": {"queue": "parked", "state": "PENDING"}, "expect": 3}' > d2.json
check "bulk cancel done" 3 "$(json 'd["done"]' < d2.json)"
check "bulk cancel: now REVOKED" 4 "$(get "/api/tasks?queue=parked&state=REVOKED" | json 'd["total"]')"
check "unknown action" 404 "$(code -H "$W" -H 'Content-Type: application/json' -d '{}' "$B/api/actions/explode")"
check "bad strategy" 400 "$(code -H "$W" -H 'Content-Type: application/json' -d '{"strategy": "magic"}' "$B/api/actions/resume")"
check "purge needs DEAD" 400 "$(code -H "$W" -H 'Content-Type: application/json' -d '{"filter": {"state": "FAILURE"}}' "$B/api/actions/purge")"
check "filter limit refused" 400 "$(code -H "$W" -H 'Content-Type: application/json' -d '{"filter": {"limit": 5}}' "$B/api/actions/retry")"
check "read session may not bulk" 403 "$(code -H "Cookie: $RS" -H "$X" -d '{}' "$B/api/actions/retry")"
contains "bulk action logged" 'event=monitor.bulk_action who=api-token action=cancel count=3 done=3' serve.log

# --- a worker: control and queue pause -------------------------------------
SYNCQ_HEARTBEAT_INTERVAL=1 "$S" worker -Q dash,other -c 1 -n 'dash-%i' --logfile "$T/worker.log" &
pids+=("$!")
is_state() { [ "$("$S" task info "$1" --json | json 'd["state"]')" = "$2" ]; }
wait_for 20 is_state "$IDF" FAILURE
check "failing task ran" FAILURE "$("$S" task info "$IDF" --json | json 'd["state"]')"
listed() { [ "$(get /api/workers | json 'len(d["workers"])')" -ge 1 ]; }
wait_for 10 listed
check "stable name: pattern and index" "dash-1" "$(get /api/workers | json 'd["workers"][0]["id"]')"
check "search by error class" "$IDF" "$(get "/api/tasks?error=validation" | json 'd["tasks"][0]["id"]')"
# the worker filter finds what a worker holds now and what it ran (the
# record keeps ran_by after the end)
SLEEPER=$("$S" task create syncq.sleep --queue dash -k '{"seconds": 30, "tick_ms": 200}')
wait_for 10 is_state "$SLEEPER" PROGRESS
check "search by worker" "$SLEEPER" "$(get "/api/tasks?worker=dash-1" | json 'd["tasks"][0]["id"]')"
"$S" task cancel "$SLEEPER" >/dev/null
wait_for 10 is_state "$SLEEPER" REVOKED
check "a finished task keeps who ran it" dash-1 "$("$S" task info "$SLEEPER" --json | json 'd.get("ran_by")')"
check "a finished task no longer held" None "$("$S" task info "$SLEEPER" --json | json 'd.get("worker")')"
check "search by worker finds past tasks: the failed one" True "$(get "/api/tasks?worker=dash-1&limit=500" | json "'$IDF' in [t['id'] for t in d['tasks']]")"
check "search by worker finds past tasks: the revoked one" True "$(get "/api/tasks?worker=dash-1&state=REVOKED" | json "'$SLEEPER' in [t['id'] for t in d['tasks']]")"
check "search by another worker: none" 0 "$(get "/api/tasks?worker=dash-9" | json 'd["total"]')"
ctl() { curl -s -H "$W" -H 'Content-Type: application/json' -d "$1" "$B/api/workers/dash-1/control"; }
ack() { # command-id: wait for the ack, print it
  for _ in $(seq 100); do
    get "/api/control/$1" > ack.json
    [ "$(json 'd["acked"]' < ack.json)" = True ] && { json 'd["ack"]' < ack.json; return; }
    sleep 0.1
  done
  echo "no ack"
}
children() { get /api/workers/dash-1 | json 'len([c for c in (d["info"] or {}).get("children", []) if c["state"] in ("idle","busy")])'; }
CID=$(ctl '{"command": "pool_grow", "n": 2}' | json 'd["id"]')
ack "$CID" > a1.txt
contains "grow acknowledged" "'ok': True, 'message': 'pool grows to 3'" a1.txt
has_children() { [ "$(children)" = "$1" ]; }
wait_for 15 has_children 3
check "grown: 3 children" 3 "$(children)"
CID=$(ctl '{"command": "pool_shrink", "n": 2}' | json 'd["id"]')
ack "$CID" > a2.txt
contains "shrink acknowledged" "'message': 'pool shrinks to 1'" a2.txt
all_children() { [ "$(get /api/workers/dash-1 | json 'len(d["info"]["children"])')" = "$1" ]; }
wait_for 15 all_children 1
check "shrunk: 1 child" 1 "$(children)"
CID=$(ctl '{"command": "pool_shrink", "n": 1}' | json 'd["id"]')
ack "$CID" > a3.txt
contains "shrink below 1 refused" "'ok': False" a3.txt
check "bad command" 400 "$(code -H "$W" -H 'Content-Type: application/json' -d '{"command": "explode"}' "$B/api/workers/dash-1/control")"
check "bad n" 400 "$(code -H "$W" -H 'Content-Type: application/json' -d '{"command": "pool_grow", "n": 0}' "$B/api/workers/dash-1/control")"
check "unknown worker" 404 "$(code -H "$W" -H 'Content-Type: application/json' -d '{"command": "ping"}' "$B/api/workers/nobody/control")"
check "no body" 400 "$(code -X POST -H "$W" "$B/api/workers/dash-1/control")"
check "bad ack id" 400 "$(code -H "$W" "$B/api/control/not-a-uuid")"

# pause: a paused queue is not leased from; resume: it is again
check "pause" True "$(curl -s -X POST -H "$W" "$B/api/queues/dash/pause" | json 'd["paused"]')"
check "paused listed" "['dash']" "$(get /api/queues | json 'd["paused"]')"
sleep 1.5   # the worker reads the paused set once a second
PID2=$("$S" task create syncq.noop --queue dash)
sleep 2.5
check "paused queue: not leased" PENDING "$("$S" task info "$PID2" --json | json 'd["state"]')"
check "other queue still leased" True "$(ID3=$("$S" task create syncq.noop --queue other); "$S" task wait "$ID3" --timeout 10 >/dev/null 2>&1; "$S" task info "$ID3" --json | json 'd["state"] == "SUCCESS"')"
check "resume" False "$(curl -s -X POST -H "$W" "$B/api/queues/dash/resume" | json 'd["paused"]')"
"$S" task wait "$PID2" --timeout 10 >/dev/null 2>&1
check "resumed queue: leased again" SUCCESS "$("$S" task info "$PID2" --json | json 'd["state"]')"
check "pause: bad queue name" 400 "$(code -X POST -H "$W" "$B/api/queues/a%20b/pause")"
check "pause: read session refused" 403 "$(code -X POST -H "Cookie: $RS" -H "$X" "$B/api/queues/dash/pause")"

# --- syncq worker control (the CLI) ---------------------------------------
"$S" worker control ping -d dash-1 > c1.txt
check "cli ping" 0 "$?"
contains "cli ping ack" '^dash-1: ok pong$' c1.txt
"$S" worker control cancel-consumer other -d dash-1 > c2.txt
contains "cli cancel-consumer" '^dash-1: ok no longer consuming from other$' c2.txt
check "consumer gone from the heartbeat" "['dash']" "$(sleep 1.5; get /api/workers/dash-1 | json 'd["info"]["queues"]')"
"$S" worker control add-consumer other -d dash-1 > c3.txt
contains "cli add-consumer" '^dash-1: ok consuming from other$' c3.txt
"$S" worker control time-limit syncq.sleep 1 2 -d dash-1 > c4.txt
contains "cli time-limit" '^dash-1: ok syncq.sleep: soft 1s, hard 2s' c4.txt
LONG=$("$S" task create syncq.sleep --queue dash -k '{"seconds": 30}' --max-retries 0)
wait_for 15 is_state "$LONG" FAILURE
check "new hard limit applied: 30 s task stopped" FAILURE "$("$S" task info "$LONG" --json | json 'd["state"]')"
check "stopped as a time limit" timeout "$("$S" task info "$LONG" --json | json 'd["error"]["class"]')"
"$S" worker control add-consumer extra -d dash-1 > c4b.txt
contains "cli add-consumer of a new queue" '^dash-1: ok consuming from extra$' c4b.txt
EXTRA=$("$S" task create syncq.noop --queue extra)
wait_for 10 is_state "$EXTRA" SUCCESS
check "added queue is leased from" SUCCESS "$("$S" task info "$EXTRA" --json | json 'd["state"]')"
"$S" worker control pool-grow 0 -d dash-1 > c5.txt 2>&1
check "cli bad N: usage" 2 "$?"
"$S" worker control reboot -d dash-1 > c6.txt 2>&1
check "cli unknown command: usage" 2 "$?"
"$S" worker control ping -d nobody > c7.txt 2>&1
check "cli unknown worker fails" 1 "$?"
contains "cli unknown worker said" "no worker 'nobody'" c7.txt
"$S" worker control pause other > c8.txt 2> c8.err
contains "cli pause" '^other: paused$' c8.txt
check "cli pause of a known queue: no warning" "" "$(cat c8.err)"
"$S" worker control resume other > /dev/null
# a queue no task was ever sent to: paused as asked, with a warning (a typo?)
"$S" worker control pause no-such-queue > c8b.txt 2> c8b.err
check "cli pause of an unknown queue: exit 0" 0 "$?"
contains "cli pause of an unknown queue: done" '^no-such-queue: paused$' c8b.txt
contains "cli pause of an unknown queue: warned" "^syncq: worker control: warning: no task was ever sent to queue 'no-such-queue'" c8b.err
"$S" worker control resume no-such-queue > /dev/null 2>&1
"$S" worker control shutdown -d dash-1 > c9.txt
contains "cli shutdown acknowledged" '^dash-1: ok warm shutdown started$' c9.txt
wait_for 20 grep -q 'event=worker.stopped' "$T/worker.log"
contains "worker stopped on command" 'event=worker.stopped worker=dash-1' worker.log

finish it_monitor_dashboard
