#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_recovery_cli.sh: `syncq recovery ...` by hand, as an operator would:
# checkpoints listing, cleanup, resume with each strategy and its
# refusals, dead list / requeue / purge, policy display and --check, and
# every bad input giving a one-line "syncq: <command>: ..." error with exit
# 2 (usage) or 1 (failure) and nothing written to Redis.
set -u
S=${SYNCQ_BIN:?}
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL $1: expected [$2] got [$3]"; fails=$((fails+1)); else echo "ok   $1"; fi
}
contains() { # contains NAME NEEDLE TEXT
  case "$3" in *"$2"*) echo "ok   $1";; *) echo "FAIL $1: [$3] lacks [$2]"; fails=$((fails+1));; esac
}
expect_err() { # expect_err NAME RC NEEDLE -- ARGS...
  local name=$1 rc=$2 needle=$3; shift 4
  local before after out err got
  before=$(R dbsize)
  out=$("$S" "$@" 2>./err.txt); got=$?
  err=$(cat ./err.txt)
  after=$(R dbsize)
  check "$name: exit" "$rc" "$got"
  check "$name: stdout empty" "" "$out"
  check "$name: nothing written" "$before" "$after"
  contains "$name: message" "$needle" "$err"
  case "$err" in "syncq: recovery "*) ;; *) echo "FAIL $name: message not prefixed: [$err]"; fails=$((fails+1));; esac
  check "$name: error lines" "$([ "$rc" = 2 ] && echo 2 || echo 1)" "$(printf '%s\n' "$err" | wc -l)"
}
# fail_task ID [dead]: what a worker's settle does to a task whose last
# attempt failed (FAILURE, or DEAD in the dead-letter queue).
fail_task() {
  local id=$1 q now
  q=$(R hget "{syncq}:t:$id" queue)
  now=$(R time | head -1)000
  R lrem "{syncq}:q:$q:5" 0 "$id" >/dev/null
  R hset "{syncq}:t:$id" attempt 1 err_class network err_msg "connection reset" \
    errors '[{"class":"network","message":"connection reset","at":1,"attempt":1}]' dt "$now" >/dev/null
  if [ "${2:-}" = dead ]; then
    R hset "{syncq}:t:$id" state DEAD dead_reason network dead_at "$now" >/dev/null
    R zadd '{syncq}:dlq' "$now" "$id" >/dev/null
  else
    R hset "{syncq}:t:$id" state FAILURE >/dev/null
    R pexpire "{syncq}:t:$id" 86400000 >/dev/null
  fi
}
new_task() { "$S" task create crawler.fetch_products -k '{"category_id":"7"}' "$@"; }

# --- resume strategies ----------------------------------------------------
a=$(new_task); fail_task "$a"
out=$("$S" recovery resume "$a")
check "auto without checkpoint = retry" "$a: queued to run again (retry; was FAILURE)" "$out"
check "requeued" PENDING "$(R hget "{syncq}:t:$a" state)"
check "in its queue" 1 "$(R llen '{syncq}:q:crawler:5')"
check "who recorded" "cli:${USER:-unknown}" "$(R hget "{syncq}:t:$a" resume_by)"
check "record permanent again" -1 "$(R pttl "{syncq}:t:$a")"
expect_err "resume a waiting task" 1 "already waiting to run (PENDING)" -- recovery resume "$a" --strategy retry

expect_err "checkpoints of an unknown task" 1 "no task 00000000-0000-4000-8000-000000000000" -- recovery checkpoints 00000000-0000-4000-8000-000000000000
check "checkpoints of a task without any" "task $a has no checkpoints" "$("$S" recovery checkpoints "$a")"
b=$(new_task --queue data_sync); fail_task "$b" dead
printf 'state-58' > cp.bin
R lpush "{syncq}:cp:$b" "SQCP1 58 1700000000000 8 $(printf '58\nstate-58' | sha256sum | cut -c1-64)
state-58" >/dev/null
out=$("$S" recovery checkpoints "$b")
contains "checkpoints header" "SEQ" "$out"
contains "checkpoint listed ok" "58" "$out"
check "checkpoint ok column" 1 "$(echo "$out" | grep -c ' ok ')"
js=$("$S" recovery checkpoints "$b" --json)
contains "checkpoints json" '"seq": 58' "$(echo "$js" | sed 's/":/": /g')"
contains "checkpoints json ok" '"ok": true' "$(echo "$js" | sed 's/":/": /g')"
out=$("$S" recovery resume "$b" --queue batch_processing)
check "auto with checkpoint = resume" "$b: queued to resume from checkpoint step 58 (was DEAD)" "$out"
check "moved queue" 1 "$(R llen '{syncq}:q:batch_processing:5')"
check "out of the dlq" 0 "$(R zcard '{syncq}:dlq')"
check "resume_seq" 58 "$(R hget "{syncq}:t:$b" resume_seq)"

c=$(new_task); fail_task "$c"
R lpush "{syncq}:cp:$c" "garbage" >/dev/null
out=$("$S" recovery checkpoints "$c")
check "bad checkpoint flagged" 1 "$(echo "$out" | grep -c 'BAD')"
expect_err "resume without good checkpoint" 1 "no good checkpoint" -- recovery resume "$c" --strategy resume
out=$("$S" recovery resume "$c" --strategy restart --json)
contains "restart json" '"strategy":"restart"' "$out"
check "checkpoints gone" 0 "$(R exists "{syncq}:cp:$c")"

d=$(new_task); fail_task "$d"
out=$("$S" recovery resume "$d" --strategy SKIP)
check "skip" "$d: skipped (marked done without running; was FAILURE)" "$out"
check "skipped state" SKIPPED "$(R hget "{syncq}:t:$d" state)"
check "skipped by" "cli:${USER:-unknown}" "$(R hget "{syncq}:t:$d" skip_by)"
expect_err "resume a skipped task" 1 "already skipped" -- recovery resume "$d"

e=$(new_task); fail_task "$e"
out=$("$S" recovery resume "$e" -s manual)
check "manual" "$e: parked in the dead-letter queue (was FAILURE)" "$out"
check "manual is dead" DEAD "$(R hget "{syncq}:t:$e" state)"

f=$(new_task); R hset "{syncq}:t:$f" state STARTED worker host:42 lease 9 >/dev/null
expect_err "resume a running task" 1 "is running (STARTED on worker host:42)" -- recovery resume "$f"
g=$(new_task); fail_task "$g"; R hset "{syncq}:t:$g" state SUCCESS >/dev/null
expect_err "resume a succeeded task" 1 "already succeeded" -- recovery resume "$g"
expect_err "resume unknown id" 1 "no task nope" -- recovery resume nope
expect_err "bad strategy" 2 "unknown strategy 'later'" -- recovery resume "$a" --strategy later
expect_err "bad queue" 2 "queue" -- recovery resume "$a" --queue 'no spaces'
expect_err "resume without id" 2 "missing task ID" -- recovery resume
# several ids: the good one is done, the bad one reported, exit 1
h=$(new_task); fail_task "$h"
out=$("$S" recovery resume "$h" nope 2>err.txt); rc=$?
check "multi: exit 1" 1 "$rc"
contains "multi: good one done" "$h: queued to run again" "$out"
contains "multi: bad one reported" "no task nope" "$(cat err.txt)"

# --- dead-letter queue -----------------------------------------------------
R flushall >/dev/null
for i in 1 2 3; do id=$(new_task); fail_task "$id" dead; eval "d$i=$id"; done
pz=$(new_task --queue image_processing); fail_task "$pz" dead; R hset "{syncq}:t:$pz" name '(poison)' dead_reason poison:not_json >/dev/null
expect_err "dead list limit 0" 2 "limit '0' is not 1..100000" -- recovery dead list --limit 0
out=$("$S" recovery dead list)
contains "dead list header" "LAST ERROR" "$out"
contains "dead list footer" "(4 shown, 4 in the dead-letter queue)" "$out"
contains "dead list error text" "connection reset" "$out"
out=$("$S" recovery dead list --reason poison: --json)
contains "dead list json total" '"total":4' "$out"
check "dead list reason filter" 1 "$(echo "$out" | grep -o '"dead_reason":"poison:not_json"' | wc -l)"
out=$("$S" recovery dead list --queue image_processing --limit 1)
contains "dead list queue filter" "(1 shown, 4 in the dead-letter queue)" "$out"
expect_err "dead list bad limit" 2 "limit 'x'" -- recovery dead list --limit x

out=$("$S" recovery dead requeue "$d1" --queue data_sync)
check "requeue one" "$d1: requeued to queue data_sync" "$out"
check "requeued to data_sync" 1 "$(R llen '{syncq}:q:data_sync:5')"
expect_err "requeue not dead" 1 "not in the dead-letter queue" -- recovery dead requeue "$d1"
expect_err "requeue poison" 1 "poison entry" -- recovery dead requeue "$pz"
expect_err "requeue nothing" 2 "missing task ID (or --all)" -- recovery dead requeue
expect_err "requeue both" 2 "not both" -- recovery dead requeue "$d2" --all
out=$("$S" recovery dead requeue --all)
check "requeue all" "requeued 2 tasks; 1 left in the dead-letter queue" "$out"
check "requeued to crawler" 2 "$(R llen '{syncq}:q:crawler:5')"

expect_err "purge without age" 2 "--older-than" -- recovery dead purge
expect_err "purge bad age" 2 "older-than" -- recovery dead purge --older-than soon
expect_err "purge both" 2 "give one of --older-than, --all or IDs" -- recovery dead purge --older-than 1d "$pz"
out=$("$S" recovery dead purge --older-than 30d)
check "purge keeps young" "purged 0 dead tasks" "$out"
R zadd '{syncq}:dlq' 1000 "$pz" >/dev/null
out=$("$S" recovery dead purge --older-than 30d --json)
check "purge old" '{"purged":1,"refused":0}' "$out"
check "record deleted" 0 "$(R exists "{syncq}:t:$pz")"
x=$(new_task); fail_task "$x" dead
expect_err "purge not dead" 1 "not in the dead-letter queue" -- recovery dead purge "$d1"
out=$("$S" recovery dead purge "$x")
check "purge by id" "purged 1 dead task" "$out"
# --all: every record, with a count; not without a yes
y1=$(new_task); fail_task "$y1" dead
y2=$(new_task); fail_task "$y2" dead
n=$(R zcard '{syncq}:dlq')
check "two dead to purge" 2 "$n"
expect_err "purge --all without --yes, no terminal" 2 \
  "--all deletes every dead-letter record (2 now) for good: add --yes to confirm" -- \
  recovery dead purge --all </dev/null
check "purge --all refused: nothing gone" 2 "$(R zcard '{syncq}:dlq')"
expect_err "purge --all and IDs" 2 "give one of --older-than, --all or IDs" -- recovery dead purge --all "$y1"
expect_err "purge --yes without --all" 2 "--yes goes with --all" -- recovery dead purge "$y1" --yes
out=$("$S" recovery dead purge --all --yes)
check "purge --all --yes" "purged 2 dead tasks" "$out"
check "purge --all: dead-letter queue empty" 0 "$(R zcard '{syncq}:dlq')"
check "purge --all: records gone" 0 "$(R exists "{syncq}:t:$y1" "{syncq}:t:$y2")"
# on a terminal (script(1) gives it one) it asks, with the count
y3=$(new_task); fail_task "$y3" dead
echo n | script -qec "$S recovery dead purge --all" /dev/null >pty_no.txt 2>&1
check "purge --all on a terminal, answered n: exit" 1 "$?"
contains "purge --all asks with the count" "delete all 1 dead-letter records for good? [y/N]" "$(cat pty_no.txt)"
contains "purge --all answered n: says so" "nothing deleted" "$(cat pty_no.txt)"
check "purge --all answered n: kept" 1 "$(R zcard '{syncq}:dlq')"
echo y | script -qec "$S recovery dead purge --all" /dev/null >pty_yes.txt 2>&1
check "purge --all on a terminal, answered y: exit" 0 "$?"
contains "purge --all answered y: the count" "purged 1 dead task" "$(cat pty_yes.txt)"
check "purge --all answered y: gone" 0 "$(R zcard '{syncq}:dlq')"

# --- cleanup ------------------------------------------------------------------
R lpush '{syncq}:cp:old-one' "SQCP1 1 1000 1 $(printf '1\nx' | sha256sum | cut -c1-64)
x" >/dev/null
out=$("$S" recovery cleanup --older-than 7d)
check "cleanup" "removed the checkpoints of 1 task" "$out"
check "old one gone" 0 "$(R exists '{syncq}:cp:old-one')"
expect_err "cleanup bad age" 2 "older-than" -- recovery cleanup --older-than -1
expect_err "checkpoints without id" 2 "missing task ID" -- recovery checkpoints

# --- policy -----------------------------------------------------------------
out=$("$S" recovery policy)
contains "policy header" "FIRST DELAYS" "$out"
check "network row" 1 "$(echo "$out" | grep -c '^network  *yes  *2.0s  *2  *5m00s  *3 full   yes  2.0s 4.0s 8.0s$')"
check "validation row" 1 "$(echo "$out" | grep -c '^validation  *no ')"
out=$("$S" recovery policy --class network --policy '{"base":1,"max":"60s","jitter":false,"max_retries":8}')
check "policy override schedule" 1 "$(echo "$out" | grep -c '1.0s 2.0s 4.0s 8.0s 16.0s ...')"
out=$("$S" recovery policy --json --class rate_limited)
contains "policy json" '"rate_limited":' "$out"
contains "policy json base" '"base_ms":10000' "$out"
echo '{"network":{"factor":0.5}}' > bad.json
expect_err "policy check bad file" 1 "network.factor" -- recovery policy --check bad.json
echo '{"network":{"base":"3s"},"*":{"jitter":false}}' > good.json
check "policy check good file" "good.json: valid retry policy" "$("$S" recovery policy --check good.json)"
out=$(SYNCQ_RETRY_POLICY_FILE=good.json "$S" recovery policy --class network)
check "policy file applied" 1 "$(echo "$out" | grep -c '^network  *yes  *3.0s .* off  *yes  3.0s 6.0s 12.0s$')"
expect_err "policy bad class" 2 "unknown error class 'nope'" -- recovery policy --class nope
expect_err "policy bad json" 2 "not valid JSON" -- recovery policy --policy '{'
expect_err "policy bad field" 2 "network.factor: 0.5 out of range" -- recovery policy --policy '{"network":{"factor":0.5}}'
SYNCQ_RETRY_POLICY_FILE=/nonexistent.json "$S" recovery policy >/dev/null 2>err.txt
check "policy missing file exit" 1 "$?"
contains "policy missing file message" "/nonexistent.json" "$(cat err.txt)"

# --- broker down: clear failure, exit 1 ---------------------------------------
"$SQ_REDISCTL" stop >/dev/null
"$S" recovery dead list >/dev/null 2>err.txt
check "broker down exit" 1 "$?"
contains "broker down message" "syncq: recovery dead list:" "$(cat err.txt)"
"$SQ_REDISCTL" start >/dev/null

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
