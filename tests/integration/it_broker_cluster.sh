#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_cluster.sh: redis+cluster:// against a real Redis Cluster (3
# masters, 3 replicas on free loopback ports, clusterctl.sh) with tasks
# flowing in two namespaces that live on different masters:
#   - one worker per namespace (-c 2; SQ_CLUSTER_ONE_WORKER=1: one worker
#     process for both, it_broker_cluster_multi.sh), a beat firing a 1 s
#     schedule in the first, a monitor on the second, a producer per
#     namespace enqueueing syncq.echo one CLI call at a time;
#   - the first namespace's slot is migrated live to a third master
#     (CLUSTER SETSLOT / MIGRATE, clusterctl.sh move; SQ_CLUSTER_MOVE=reshard
#     uses `redis-cli --cluster reshard` instead): clients follow ASK and
#     MOVED by themselves;
#   - the second namespace's master is SIGKILLed; its replica is promoted
#     and the old master comes back as a replica;
#   - then the producers stop and the workers drain. Asserted: no
#     acknowledged task lost (every one SUCCESS), enqueues acknowledged
#     again after the move and after the failover, beat ticks after the
#     move, `syncq status` names the node serving each namespace, `monitor
#     health` works, the monitor's failover_age rule fires after the
#     failover. Counted and printed: duplicate executions, failover and
#     recovery seconds (README "Redis Cluster" figures).
# Plus the one-line errors: a cluster that is down, a node that is not
# in cluster mode, a URL with a database other than 0.
# TEST_TIMEOUT: 300
# TEST_LABELS: slow
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/checks.sh"
C=$here/clusterctl.sh
D=$T/cl
cd "$T" || exit 1
pids=()
cleanup() {
  touch "$T/stop"
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  "$C" stop "$D"
  wait 2>/dev/null
}
trap cleanup EXIT
now() { date +%s.%N; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

"$C" start "$D" 3 1 || { echo "FAIL: cluster did not start" >&2; exit 1; }
P0=$(head -1 "$D/ports")
URL="redis+cluster://$("$C" seeds "$D")/0"
export SYNCQ_BROKER_URL=$URL SYNCQ_LEASE_TIMEOUT=3 SYNCQ_HEARTBEAT_INTERVAL=1
export SYNCQ_RECONNECT_MAX_DELAY=1 SYNCQ_REDIS_TIMEOUT=2

# ---- errors: one line, exit 1 -----------------------------------------
err_case() { # NAME EXPECTED-REGEX URL
  local msg rc
  msg=$("$S" --broker "$3" status 2>&1); rc=$?
  check "$1: exit" 1 "$rc"
  check "$1: one line" 1 "$(printf '%s\n' "$msg" | wc -l)"
  echo "$msg" > "err_$1"
  contains "$1: message" "$2" "err_$1"
}
FP=$(freeport)
err_case down "Redis Cluster down: none of 2 node\(s\) tried answered \(last: Redis Cluster node 127\.0\.0\.1:$FP unreachable" \
  "redis+cluster://127.0.0.1:$FP,127.0.0.1:$FP/0"
err_case db "Redis Cluster has database 0 only" "redis+cluster://127.0.0.1:$P0/2"
PP=$(freeport)
redis-server --port "$PP" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" --logfile "$T/plain.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$PP" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
err_case plain "127\.0\.0\.1:$PP is not a Redis Cluster node \(cluster support disabled\): use redis:// for a single Redis" \
  "redis+cluster://127.0.0.1:$PP"

# ---- two namespaces on different masters --------------------------------
slot_of() { redis-cli -p "$P0" cluster keyslot "{$1}:meta"; }
NS1="" NS2=""
for ns in alpha beta gamma delta epsilon zeta eta theta iota kappa; do
  o=$("$C" owner "$D" "$(slot_of "$ns")")
  if [ -z "$NS1" ]; then NS1=$ns O1=$o
  elif [ "$o" != "$O1" ]; then NS2=$ns O2=$o; break; fi
done
[ -n "$NS2" ] || { echo "FAIL: no two namespaces on different masters" >&2; exit 1; }
S1=$(slot_of "$NS1") S2=$(slot_of "$NS2")
O3=$(redis-cli -p "$P0" cluster nodes | awk -v a="$O1" -v b="$O2" '$3 ~ /master/ {
  split($2, h, "[:@]"); if (h[2] != a && h[2] != b) { print h[2]; exit } }')
echo "namespaces: $NS1 slot $S1 on $O1 (moves to $O3), $NS2 slot $S2 on $O2 (killed)"

# ---- ASK: a quiet namespace's slot half-way through a migration -------------
# every key is on the target already, the slot still the source's: the
# source answers ASK to every command. Reads follow it (ASKING); scripts
# wait for the end of the migration (a transient error: the CLI's one try
# fails with one line), then run on the target.
NS3=""
for ns in ask0 ask1 ask2 ask3 ask4 ask5 ask6 ask7 ask8 ask9; do
  o=$("$C" owner "$D" "$(slot_of "$ns")")
  [ "$o" != "$O1" ] && [ "$o" != "$O2" ] && { NS3=$ns; break; }
done
S3=$(slot_of "$NS3") A3=$("$C" owner "$D" "$S3") B3=$("$C" other "$D" "$A3")
id1=$(SYNCQ_NAMESPACE=$NS3 "$S" task create syncq.echo -k '{"n":1}')
SYNCQ_NAMESPACE=$NS3 "$S" schedule add quiet syncq.noop -t interval -i 3600 > /dev/null \
  || echo "FAIL: schedule add" >&2
"$C" move-begin "$D" "$S3" "$B3" || echo "FAIL: move-begin" >&2
# a script that declares all its keys (schedule_put) follows ASK: every
# one of them is on the target, which runs it
SYNCQ_NAMESPACE=$NS3 "$S" schedule pause quiet > ask_pause.txt 2>&1
check "ASK: a fully declared script runs on the target (exit)" 0 "$?"
check "ASK: the schedule paused on the target" 0 "$(redis-cli -p "$B3" -c hget "{$NS3}:sched:quiet" enabled 2>/dev/null | tail -1)"
SYNCQ_NAMESPACE=$NS3 "$S" task create syncq.echo -k '{"n":2}' > ask_create.txt 2>&1
check "ASK: a script waits for the end of the migration (exit)" 1 "$?"
check "ASK: one line" 1 "$(wc -l < ask_create.txt)"
contains "ASK: message" "slot $S3 is being migrated to 127\.0\.0\.1:$B3: scripts wait for the end of the migration" ask_create.txt
SYNCQ_NAMESPACE=$NS3 "$S" --json status > ask.json
check "ASK: status read through ASK (the task is on the target)" "True 1 127.0.0.1:$A3" \
  "$(json 'str(d["topology"]["cluster"]["asked"] > 0) + " " + str(d["queues"]["default"]["ready"]) + " " + d["topology"]["master"]' < ask.json)"
"$C" move-end "$D" "$S3" "$B3" > /dev/null || echo "FAIL: move-end" >&2
id2=$(SYNCQ_NAMESPACE=$NS3 "$S" task create syncq.echo -k '{"n":2}')
check "after the migration: enqueue" 0 "$?"
check "after the migration: both tasks on the target" "PENDING PENDING" \
  "$(redis-cli -p "$B3" hget "{$NS3}:t:$id1" state) $(redis-cli -p "$B3" hget "{$NS3}:t:$id2" state)"

status_line() { SYNCQ_NAMESPACE=$1 "$S" status 2>&1 | grep '^redis '; }
echo "$(status_line "$NS1")" > st1
contains "status: node of $NS1" "^redis    master 127\.0\.0\.1:$O1 \(cluster slot $S1 of namespace $NS1, 3 master\(s\), 0 failover\(s\) seen, 0 slot move\(s\)\), no TLS, replicas 1: 127\.0\.0\.1:[0-9]+ online lag [0-9]+ s, min_replicas 0$" st1

# ---- load ---------------------------------------------------------------
# w1 with MIN_REPLICAS=1: its outcomes followed through MOVED during the
# move carry their WAIT to the new node. SQ_CLUSTER_ONE_WORKER=1: one
# worker process serves both namespaces (-Q NS1:default,NS2:default, one
# child supervisor per namespace; its log lines say proc=worker@NS).
if [ "${SQ_CLUSTER_ONE_WORKER:-0}" = 1 ]; then
  "$S" worker -Q "$NS1:default,$NS2:default" -c 2 -n w -l debug --logfile "$T/w.log" &
  wpid=$!
  pids+=($wpid)
  for _ in $(seq 100); do [ "$(grep -c 'event=worker.ready' w.log 2>/dev/null)" = 2 ] && break; sleep 0.1; done
  check "one worker: a supervisor per namespace" "proc=worker@$NS1 proc=worker@$NS2" \
    "$(grep -o 'proc=worker@[a-z]* ' w.log | sort -u | tr -d ' ' | sort | tr '\n' ' ' | sed 's/ $//')"
  ln -sf w.log w1.log
  ln -sf w.log w2.log
else
  for n in 1 2; do
    ns=NS$n
    SYNCQ_BROKER_MIN_REPLICAS=$((2 - n)) SYNCQ_NAMESPACE=${!ns} "$S" worker -c 2 -n "w$n" -l debug \
      --logfile "$T/w$n.log" &
    pids+=($!)
  done
fi
SYNCQ_NAMESPACE=$NS1 "$S" schedule add tick syncq.noop -t interval -i 1 > /dev/null \
  || echo "FAIL: schedule add" >&2
SYNCQ_NAMESPACE=$NS1 "$S" beat --lock-ttl 3 --logfile "$T/beat.log" &
pids+=($!)
cat > rules <<'R'
failover: failover_age < 600 severity warning summary "failover"
R
SYNCQ_NAMESPACE=$NS2 "$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --rules rules \
  --logfile "$T/serve.log" &
pids+=($!)
produce() { # NS OUT
  while [ ! -e "$T/stop" ]; do
    if id=$(SYNCQ_NAMESPACE=$1 "$S" task create syncq.echo -k '{"f":1}' 2>>"$T/$1.err"); then
      echo "$(now) $id" >> "$2"
    else
      echo "$(now)" >> "$2.refused"
      sleep 0.05
    fi
  done
}
produce "$NS1" acked1 & pids+=($!)
produce "$NS2" acked2 & pids+=($!)
sleep 4

# ---- live migration of NS1's slot -------------------------------------------
t_move=$(now)
"$C" "${SQ_CLUSTER_MOVE:-move}" "$D" "$S1" "$O3" > move.log 2>&1 || { echo "FAIL: move: $(cat move.log)" >&2; fails=$((fails + 1)); }
t_moved=$(now)
check "the move met no BUSYKEY" 0 "$(cat move.log "$D/reshard.log" 2>/dev/null | grep -c BUSYKEY)"
sleep 4
echo "$(status_line "$NS1")" > st2
contains "status after the move: new node of $NS1" "^redis    master 127\.0\.0\.1:$O3 \(cluster slot $S1 " st2

# ---- SIGKILL of NS2's master ---------------------------------------------
t_kill=$(now)
"$C" kill "$D" "$O2"
for _ in $(seq 300); do
  n=$("$C" owner "$D" "$S2")
  [ -n "$n" ] && [ "$n" != "$O2" ] && break
  sleep 0.05
done
t_fo=$(now)
N2=$("$C" owner "$D" "$S2")
[ -n "$N2" ] && [ "$N2" != "$O2" ] || { echo "FAIL: no replica promoted for slot $S2" >&2; fails=$((fails + 1)); }
"$C" restart "$D" "$O2" || echo "FAIL: restart of $O2" >&2
sleep 6
t_end=$(now)
touch "$T/stop"
sleep 1

# ---- drain and count ------------------------------------------------------
states() { # NS ACKED PORT -> states file
  awk -v ns="$1" '{print "HGET {" ns "}:t:" $2 " state"}' "$2" | redis-cli -p "$3" > "$2.states"
}
for _ in $(seq 120); do
  states "$NS1" acked1 "$O3"
  states "$NS2" acked2 "$N2"
  grep -qvx 'SUCCESS' acked1.states acked2.states || break
  sleep 0.5
done
lost=$(cat acked1.states acked2.states | grep -cvx SUCCESS)
acked1=$(wc -l < acked1) acked2=$(wc -l < acked2)
dup=$(cat w1.log w2.log | sort -u | grep -o 'event=task.start task_id=[^ ]*' | sort | uniq -d | wc -l)
figures=$(python3 - "$t_move" "$t_moved" "$t_kill" "$t_fo" "$t_end" "$NS1" "$NS2" <<'PY'
import sys, re, datetime
t_move, t_moved, t_kill, t_fo, t_end = map(float, sys.argv[1:6])
ns1, ns2 = sys.argv[6:8]
def acked(f):
    return sorted(float(l.split()[0]) for l in open(f) if len(l.split()) == 2)
def starts(f, ns):
    """task starts of namespace ns (one worker: proc=worker-child@ns)"""
    out = []
    for l in open(f):
        if 'event=task.start' in l and ('@' not in l.split(' ')[2] or l.split(' ')[2].endswith('@' + ns)):
            m = re.match(r'ts=(\S+)', l)
            if m:
                s = m.group(1).replace('Z', '+00:00')
                out.append(datetime.datetime.fromisoformat(s).timestamp())
    return sorted(out)
def gap(ts, a, b):
    """longest time without an event in [a, b] (the window's ends count)"""
    ts = [a] + [t for t in ts if a <= t <= b] + [b]
    return max(y - x for x, y in zip(ts, ts[1:]))
a1, a2 = acked('acked1'), acked('acked2')
s1, s2 = starts('w1.log', ns1), starts('w2.log', ns2)
# the move: from its start to 2 s after it ended; the kill: to the end
print('move_s=%.2f ns1_enq_gap_s=%.2f ns1_run_gap_s=%.2f failover_s=%.2f '
      'ns2_enq_gap_s=%.2f ns2_run_gap_s=%.2f '
      'ns1_enq_gap_in_failover_s=%.2f ns1_after_move=%d ns2_after_kill=%d' % (
          t_moved - t_move, gap(a1, t_move, t_moved + 2), gap(s1, t_move, t_moved + 2),
          t_fo - t_kill, gap(a2, t_kill, t_end), gap(s2, t_kill, t_end),
          gap(a1, t_kill, t_end),
          sum(1 for t in a1 if t > t_moved), sum(1 for t in a2 if t > t_fo)))
PY
)
echo "cluster: acked=$((acked1 + acked2)) ($acked1 + $acked2) lost=$lost dup_exec=$dup $figures"
field() { echo "$figures" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k{print $2}'; }
check "acknowledged tasks lost" 0 "$lost"
[ "$acked1" -gt 20 ] && [ "$acked2" -gt 20 ] || { echo "FAIL: too few enqueues: $acked1 $acked2" >&2; fails=$((fails + 1)); }
[ "$(field ns1_after_move)" -gt 5 ] || { echo "FAIL: few enqueues after the move" >&2; fails=$((fails + 1)); }
[ "$(field ns2_after_kill)" -gt 5 ] || { echo "FAIL: few enqueues after the failover" >&2; fails=$((fails + 1)); }
contains "worker followed the moved slot" "event=broker.slot_moved slot=$S1 namespace=$NS1 previous=127\.0\.0\.1:$O1 addr=127\.0\.0\.1:$O3" w1.log
contains "worker followed the failover" "event=broker.failover cluster_slot=$S2 previous=127\.0\.0\.1:$O2 addr=127\.0\.0\.1:$N2" w2.log

# ---- beat and monitor ----------------------------------------------------
ticks=$(grep -c 'event=beat.tick' beat.log)
ticks_after=$(python3 - "$t_moved" <<'PY'
import sys, re, datetime
t = float(sys.argv[1]); n = 0
for l in open('beat.log'):
    m = re.match(r'ts=(\S+)', l)
    if m and 'event=beat.tick' in l and datetime.datetime.fromisoformat(m.group(1).replace('Z', '+00:00')).timestamp() > t:
        n += 1
print(n)
PY
)
[ "$ticks_after" -ge 3 ] || { echo "FAIL: beat ticks after the move: $ticks_after of $ticks" >&2; fails=$((fails + 1)); }
contains "beat's tasks ran" "event=task.start task_id=[^ ]* task=syncq.noop" w1.log
SYNCQ_NAMESPACE=$NS1 "$S" monitor health --json > h1.json
check "monitor health: no broker reason" "False" "$(json '"broker" in [r["check"] for r in d["reasons"]]' < h1.json)"
# both namespaces in one command
"$S" --json status --namespace "$NS1,$NS2" > st_all.json
check "status --namespace: the node and slot of each" "127.0.0.1:$O3 $S1 127.0.0.1:$N2 $S2" \
  "$(json "' '.join(d['namespaces'][n]['topology']['master'] + ' ' + str(d['namespaces'][n]['topology']['cluster']['slot']) for n in ['$NS1', '$NS2'])" < st_all.json)"
"$S" --json monitor health --namespace "$NS1,$NS2" > h_all.json
check "monitor health --namespace: both answered, no broker reason" "2 False" \
  "$(json "str(len(d['namespaces'])) + ' ' + str(any(r['check'] == 'broker' for n in d['namespaces'].values() for r in n['reasons']))" < h_all.json)"
if [ "${SQ_CLUSTER_ONE_WORKER:-0}" = 1 ]; then
  kill -TERM "$wpid"
  wait "$wpid"
  check "one worker: one TERM stops both supervisors (exit 0)" 0 "$?"
  check "one worker: both stopped" 2 "$(grep -c 'event=worker.stopped' w.log)"
fi
U="http://127.0.0.1:$(cat "$T/port" 2>/dev/null)"
state=""
for _ in $(seq 100); do
  curl -s "$U/api/alerts" > a.json
  state=$(json '{a["name"]: a["state"] for a in d["alerts"]}.get("failover", "")' < a.json 2>/dev/null)
  [ "$state" = firing ] && break
  sleep 0.2
done
check "failover_age rule fires on the monitor of $NS2" firing "$state"
curl -s "$U/api/overview" > o.json
check "monitor snapshot: node of $NS2" "127.0.0.1:$N2 $S2" "$(json 'd["broker"]["topology"]["master"] + " " + str(d["broker"]["topology"]["cluster"]["slot"])' < o.json)"
curl -s "$U/metrics" > m.txt
contains "failovers metric" '^syncq_broker_failovers_total 1$' m.txt
contains "cluster slot metric" "^syncq_broker_cluster_slot $S2\$" m.txt
contains "cluster masters metric" '^syncq_broker_cluster_masters 3$' m.txt
contains "cluster redirects metric" '^syncq_broker_cluster_redirects_total\{kind="moved"\} [0-9]+$' m.txt
# no sanitizer report in any process's output (ASan builds)
check "no sanitizer reports" 0 "$(cat "$T"/*.err "$T"/w?.log "$T"/beat.log "$T"/serve.log "$T"/ask_*.txt 2>/dev/null | grep -cE 'Sanitizer|runtime error:')"
finish it_broker_cluster
