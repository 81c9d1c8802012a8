#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_cli.sh: `syncq status`, `syncq monitor progress` and
# `syncq monitor health` with a real `syncq worker` (its real heartbeat
# JSON): progress bars and --json frames that advance, --watch following
# a task and a batch to the end (plain lines when not a terminal, no
# colour codes), the worker row of the one-screen status, health healthy
# while the worker runs and unhealthy with "heartbeat stale" after it is
# killed, usage errors.
# TEST_TIMEOUT: 180
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
cd "$T" || exit 1
export SYNCQ_HEALTH_STALE_AFTER=3 SYNCQ_HEARTBEAT_INTERVAL=1

SYNCQ_CANCEL_GRACE=1 "$S" worker -Q mq -c 2 --logfile "$T/worker.log" &
WPID=$!
# Long enough to outlast the status checks below however slow the
# machine (an 8 s task had ended by then under load); cancelled after them.
ID=$("$S" task create syncq.sleep --queue mq -k '{"seconds": 60, "tick_ms": 200}')
for _ in $(seq 100); do
  [ "$("$S" task info "$ID" --json | json 'd["state"]')" = PROGRESS ] && break; sleep 0.05
done
sleep 0.5

# --- one frame, text and JSON
"$S" monitor progress > p1.txt
check "progress exit" 0 "$?"
contains "progress line" "^syncq\.sleep +${ID:0:8} \[#*\.*\] +[0-9]+% [0-9]+/60000 [0-9.]+/s ETA [0-9.]+(ms|s|m[0-9]{2}s) +sleeping" p1.txt
if grep -q $'\033' p1.txt; then echo "FAIL: colour codes on a pipe" >&2; fails=$((fails + 1)); else pass=$((pass + 1)); fi
"$S" monitor progress --json > j1.json
c1=$(json 'd["tasks"][0]["progress"]["current"]' < j1.json)
sleep 0.6
"$S" monitor progress --json > j2.json
c2=$(json 'd["tasks"][0]["progress"]["current"]' < j2.json)
check "progress advances" True "$(python3 -c "print($c2 > $c1 and $c2 <= 60000)")"
check "eta known" True "$(json 'd["tasks"][0]["progress"]["eta_s"] is not None and d["tasks"][0]["progress"]["eta_s"] > 0' < j2.json)"

# --- status: one screen with the worker. Its row comes from the worker's
# heartbeat (every 1 s here): wait until one reports the running task, so
# the row is read after it, not before (a late heartbeat under load).
for _ in $(seq 100); do
  [ "$("$S" status --json | json 'd["monitor"]["workers"][0]["running"]' 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
"$S" status > st.txt
check "status exit" 0 "$?"
contains "status health" "^health +healthy" st.txt
contains "status worker row" "^[^ ]+-1 +alive +[0-9.]+s ago +1 +[0-9]+ +0 +[0-9.]+[KMG] " st.txt
contains "status running section" "^RUNNING \(1\)" st.txt
contains "status queue table with dead letters" "^QUEUE +READY +DELAYED +RUNNING +DEAD +SPEED/5m +ERR/5m +WAIT$" st.txt
contains "status queue table" "^mq +0 +0 +0 +0 +0 +0$" st.txt
"$S" status --json > st.json
check "status json worker" "$WPID" "$(json '[w["pid"] for w in d["monitor"]["workers"]][0]' < st.json)"
check "status json worker rss" True "$(json 'd["monitor"]["workers"][0]["rss_bytes"] > 1000000' < st.json)"
check "status json worker queues" "['mq']" "$(json 'd["monitor"]["workers"][0]["queues"]' < st.json)"
check "status json keeps engine shape" "1" "$(json 'd["active"]' < st.json)"
"$S" task cancel "$ID" > /dev/null # its part is over
NID=$("$S" task create syncq.noop --queue mq)
"$S" task wait "$NID" --timeout 20 > /dev/null
"$S" status > st3.txt
contains "status per-task table" "^TASK \(last hour\) +SPEED/1m +SPEED/5m +ERR/5m +MEAN +P95$" st3.txt
contains "status per-task row" "^syncq\.noop +[0-9.]+/s +[0-9.]+/s +0(\.0)?% " st3.txt
"$S" monitor health > h.txt
check "health with a live worker" 0 "$?"

# --- --watch follows a task to its end (plain blocks on a pipe). A task
# of its own, created just before: the 8 s task above may be over by now
# on a loaded machine (the commands in between take their time).
WID=$("$S" task create syncq.sleep --queue mq -k '{"seconds": 3, "tick_ms": 200}')
timeout 30 "$S" monitor progress --watch --task "$WID" --interval 0.3 > w.txt
check "watch ends with the task" 0 "$?"
check "watch printed several frames" True "$(python3 -c "print($(grep -c '^syncq.sleep' w.txt) >= 3)")"
contains "watch final frame" "^syncq\.sleep +${WID:0:8} \[#+\] 100% 3000/3000 SUCCESS$" w.txt

# --- --watch on a task still queued (no worker serves its queue) waits
# for it instead of ending at once
QID=$("$S" task create syncq.noop --queue nobody)
timeout 1.5 "$S" monitor progress --watch --task "$QID" --interval 0.2 > q.txt
check "watch of a queued task keeps waiting" 124 "$?"
check "watch shows it queued" True "$(python3 -c "print($(grep -c "${QID:0:8}.*PENDING" q.txt) >= 3)")"
"$S" task cancel "$QID" > /dev/null

# --- C40 end to end: --json frames of a real task never go down and end
# at SUCCESS with current == total and the last message kept
ID3=$("$S" task create syncq.sleep --queue mq -k '{"seconds": 2, "tick_ms": 100}')
timeout 30 "$S" monitor progress --watch --json --task "$ID3" --interval 0.1 > c40.jsonl
check "c40 watch exit" 0 "$?"
check "c40 frames" True "$(python3 - c40.jsonl <<'PY'
import json, sys
cur = [t.get("progress", {}).get("current", 0) if isinstance(t.get("progress"), dict) else 0
       for f in map(json.loads, open(sys.argv[1])) for t in f["tasks"]]
print(len(cur) >= 5 and all(a <= b for a, b in zip(cur, cur[1:])))
PY
)"
check "c40 final" "SUCCESS 2000 2000 sleeping" "$(tail -1 c40.jsonl | json '" ".join(str(x) for x in [d["tasks"][0]["state"], d["tasks"][0]["progress"]["current"], d["tasks"][0]["progress"]["total"], d["tasks"][0]["progress"]["message"]])')"

# --- a batch, followed with --batch --watch
printf '[1,2,3,4,5,6]' > items.json
BID=$("$S" batch create syncq.noop --items-file items.json --batch-size 2 --queue mq)
timeout 30 "$S" monitor progress --watch --batch "$BID" --interval 0.2 > b.txt
check "batch watch ends" 0 "$?"
contains "batch line" "^batch ${BID:0:8} .*100% total 3 done 3 failed 0.*\(finished\)" b.txt

# --- on a terminal (tmux, a private server): redrawn in place, coloured
# unless NO_COLOR is set
ID2=$("$S" task create syncq.sleep --queue mq -k '{"seconds": 30, "tick_ms": 200}')
sleep 1
for nc in "" 1; do
  # a server of its own per round: a new server on the socket of one that
  # is still shutting down can exit at once (seen under load)
  TM="tmux -L syncq-it-$$-${nc:-0}"
  $TM new-session -d -s mon -x 160 -y 20 "env NO_COLOR=$nc $S monitor progress --watch --task $ID2 --interval 0.2"
  : > tty.txt
  for _ in $(seq 40); do
    sleep 0.25
    $TM capture-pane -p -e -t mon > tty.txt 2>/dev/null
    grep -q "${ID2:0:8}" tty.txt && break
  done
  sleep 0.6 # a few redraws: still one line
  $TM capture-pane -p -e -t mon > tty.txt 2>/dev/null
  $TM kill-server 2>/dev/null
  check "tty: one line per task (redrawn in place, NO_COLOR=$nc)" 1 "$(grep -c "${ID2:0:8}" tty.txt)"
  if [ -z "$nc" ]; then
    check "tty: coloured bar" 1 "$(grep -c $'\033\[32m' tty.txt)"
  else
    check "tty: NO_COLOR" 0 "$(grep -c $'\033\[3' tty.txt)"
  fi
done
"$S" task cancel "$ID2" > /dev/null

# --- usage errors
"$S" monitor progress --interval 0 > /dev/null 2> e1.txt
check "bad interval" 2 "$?"
contains "bad interval message" "^syncq: monitor progress: --interval '0' must be 0.1s .. 1h" e1.txt
"$S" monitor progress --batch a --task b > /dev/null 2> e2.txt
check "batch and task" 2 "$?"
"$S" monitor progress --batch '' > /dev/null 2> e4.txt
check "empty batch id" 2 "$?"
contains "empty batch id message" "^syncq: monitor progress: --batch needs an ID \(it is empty\)$" e4.txt
"$S" monitor progress --batch 'bad id!' > /dev/null 2> e5.txt
check "malformed batch id" 2 "$?"
"$S" monitor progress --batch no-such-batch > /dev/null 2> e3.txt
check "unknown batch" 1 "$?"
contains "unknown batch message" "^syncq: monitor progress: " e3.txt
"$S" monitor health extra > /dev/null 2>&1
check "health extra arg" 2 "$?"

# --- the worker dies: its heartbeat goes stale, the queue has work
kill -9 "$WPID"; wait "$WPID" 2>/dev/null
pkill -9 -P "$WPID" 2>/dev/null
"$S" task create syncq.noop --queue mq > /dev/null
sleep 4
"$S" monitor health > h2.txt
check "health after the worker died" 2 "$?"
contains "stale reason" "heartbeat +worker [^ ]+-1 heartbeat stale" h2.txt
contains "no worker reason" "no worker alive for queue mq \(1 ready\)" h2.txt

# --- a watch survives a Redis outage: one line down, one line back. Its
# reconnects back off (up to 10 s by default): a fixed second after the
# restart missed the "back" line on a loaded machine. The backoff is
# capped at 0.5 s here and the line waited for (15 s at most).
SYNCQ_RECONNECT_MAX_DELAY=0.5 "$S" monitor progress --watch --interval 0.2 > /dev/null 2> out_watch.txt &
MW=$!
sleep 0.6
"$SQ_REDISCTL" stop
for _ in $(seq 100); do grep -q 'retrying until it is back' out_watch.txt && break; sleep 0.1; done
"$SQ_REDISCTL" start
for _ in $(seq 150); do grep -q 'Redis is back$' out_watch.txt && break; sleep 0.1; done
kill "$MW"; wait "$MW" 2>/dev/null
check "watch outage: one down line" 1 "$(grep -c 'retrying until it is back' out_watch.txt)"
check "watch outage: one back line" 1 "$(grep -c '^syncq: monitor progress: Redis is back$' out_watch.txt)"

finish it_monitor_cli
