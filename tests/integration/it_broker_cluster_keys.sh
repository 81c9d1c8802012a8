#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_cluster_keys.sh: the keys broker scripts declare
# (src/broker/broker_script_keys.c) are the keys they touch, as Redis
# Cluster needs (docs/redis-keys.md "Declared keys"). Every script is run
# against the private Redis with MONITOR on: a worker (lease, settle,
# extend, progress, checkpoints), a beat (ticks, lock, promotion, batch
# waves), revoke, a failed task resumed, a poison entry dead-lettered
# and purged, batches (whole and in waves), schedule edits. For each FCALL the commands
# the script ran are read from MONITOR and checked:
#   - every key is in the namespace's slot (hash tag {ns});
#   - a script that does not declare {ns}:absent touches only declared
#     keys (it follows ASK during a slot migration);
#   - every script touches only declared keys among the fixed-name keys
#     (events, stats, active, ... : those named before the call);
#   - {ns}:absent never exists.
# Each script the flows reach must have been seen (the check cannot pass
# on nothing).
# TEST_TIMEOUT: 90
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/checks.sh"
cd "$T" || exit 1
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
NS=kns
export SYNCQ_NAMESPACE=$NS SYNCQ_LEASE_TIMEOUT=3 SYNCQ_HEARTBEAT_INTERVAL=1
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
wait_for() { for _ in $(seq 200); do eval "$1" && return 0; sleep 0.05; done; return 1; }

R FLUSHALL > /dev/null
R MONITOR > mon.txt &
pids+=($!)
sleep 0.3

"$S" schedule add tick syncq.noop -t interval -i 1 > /dev/null
"$S" schedule pause tick > /dev/null
"$S" schedule resume tick > /dev/null
"$S" worker -c 1 -n kw --logfile "$T/w.log" &
pids+=($!)
"$S" beat --lock-ttl 2 --logfile "$T/beat.log" &
pids+=($!)
"$S" task create syncq.sleep -k '{"seconds":0.3,"tick_ms":100}' > /dev/null
"$S" task create syncq.steps -k '{"steps":3}' > /dev/null 2>&1 \
  || "$S" task create syncq.steps > /dev/null
"$S" task create syncq.noop --countdown 1 > /dev/null
rid=$("$S" task create syncq.noop --countdown 60)
"$S" task cancel "$rid" > /dev/null
fid=$("$S" task create syncq.fail -k '{"class":"validation"}' --max-retries 0)
R LPUSH "{$NS}:q:default:5" "not a task" > /dev/null
printf 'a\nb\nc\n' > items
"$S" batch create syncq.noop --items-file items --batch-size 1 > /dev/null
"$S" batch create syncq.noop --items-file items --batch-size 1 --max-in-flight 1 > /dev/null
wait_for '[ "$(R HGET "{$NS}:t:$fid" state)" = FAILURE ]' || echo "FAIL: $fid did not fail" >&2
"$S" recovery resume "$fid" --strategy retry > /dev/null
wait_for '[ "$(R ZCARD "{$NS}:dlq")" = 1 ]' || echo "FAIL: no poison entry dead-lettered" >&2
"$S" recovery dead purge "$(R ZRANGE "{$NS}:dlq" 0 0)" > /dev/null
sleep 3
kill -TERM "${pids[1]}" "${pids[2]}"
wait "${pids[1]}" "${pids[2]}"
sleep 0.3
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null

check "{ns}:absent never exists" 0 "$(R EXISTS "{$NS}:absent")"
python3 - "$NS" > keys.txt 2> keys.err <<'PY'
import re, sys
ns = sys.argv[1]
pre = '{%s}:' % ns
FIXED = {'beat:lock', 'beat:nodes', 'sched:seq'}  # fixed names with a colon
tok = re.compile(r'"((?:[^"\\]|\\.)*)"')
def keys_of(args):
    cmd = args[0].upper()
    if cmd in ('TIME',):
        return []
    if cmd in ('DEL', 'EXISTS'):
        return args[1:]
    return args[1:2]
seen, bad = {}, []
cur = None
for line in open('mon.txt', errors='replace'):
    args = tok.findall(line)
    if not args:
        continue
    if '[0 lua]' not in line:
        cur = None
        if args[0].upper() == 'FCALL':
            op = args[1][20:]          # sq_<16 hex>_<op>
            nk = int(args[2])
            cur = (op, set(args[3:3 + nk]))
            seen.setdefault(op, [0, 0])[0] += 1
        continue
    if cur is None:
        continue
    op, declared = cur
    for k in keys_of(args):
        if not k.startswith(pre):
            bad.append('%s: key %s outside the namespace slot' % (op, k))
            continue
        if k in declared:
            continue
        seen[op][1] += 1
        suffix = k[len(pre):]
        if pre + 'absent' not in declared:
            bad.append('%s declares every key but touched %s (%s)' % (op, k, args[0]))
        elif ':' not in suffix or suffix in FIXED:
            bad.append('%s did not declare the fixed key %s (%s)' % (op, k, args[0]))
for op in sorted(seen):
    print('%s calls=%d derived_key_uses=%d' % (op, seen[op][0], seen[op][1]))
for b in sorted(set(bad)):
    print('BAD ' + b)
PY
cat keys.txt
check "checker ran" "" "$(cat keys.err)"
check "keys outside the declaration" 0 "$(grep -c '^BAD ' keys.txt)"
# not reached here: promote (a library call; the beat promotes),
# ratelimit (the crawler), checkpoint_bad (a corrupt checkpoint), batch
# (the library's one-call batch; the CLI's goes through batch_dispatch): their
# declarations are checked by test_broker_script_keys.
for op in enqueue lease settle extend revoke progress poison \
  checkpoint_save resume dead_purge beat beat_lock schedule_put schedule_tick batch_dispatch; do
  contains "script $op was run and checked" "^$op calls=[1-9]" keys.txt
done
finish it_broker_cluster_keys
