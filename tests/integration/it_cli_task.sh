#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_cli_task.sh: `syncq task` and `syncq status` by hand, as a user would,
# with every bad input of the engine issue: a one-line error on stderr, the
# documented exit status (2 usage, 1 failure) and nothing written to Redis.
set -u
S=${SYNCQ_BIN:?}
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL $1: expected [$2] got [$3]"; fails=$((fails+1)); else echo "ok   $1"; fi
}
contains() { # contains NAME REGEX FILE
  if grep -qE -- "$2" "$3"; then echo "ok   $1"; else echo "FAIL $1: /$2/ not in $3"; fails=$((fails+1)); fi
}
# expect_err NAME RC NEEDLE -- ARGS...: exit RC, one stderr line (plus the
# --help hint for usage errors) containing NEEDLE, stdout empty, DBSIZE same.
expect_err() {
  local name=$1 rc=$2 needle=$3; shift 4
  local before after out err got
  before=$(R dbsize)
  out=$("$S" "$@" 2>./err.txt); got=$?
  err=$(cat ./err.txt)
  after=$(R dbsize)
  check "$name: exit" "$rc" "$got"
  check "$name: stdout empty" "" "$out"
  check "$name: nothing written" "$before" "$after"
  case "$err" in *"$needle"*) echo "ok   $name: message";; *) echo "FAIL $name: message [$err] lacks [$needle]"; fails=$((fails+1));; esac
  case "$err" in "syncq: "*) ;; *) echo "FAIL $name: message not prefixed: [$err]"; fails=$((fails+1));; esac
  check "$name: error lines" "$([ "$rc" = 2 ] && echo 2 || echo 1)" "$(printf '%s\n' "$err" | wc -l)"
}

# --- the happy path ---------------------------------------------------------
id=$("$S" task create crawler.fetch_products -k '{"category_id":"123","page_size":50}')
check "create prints a UUID" 36 "${#id}"
check "record state" PENDING "$(R hget "{syncq}:t:$id" state)"
check "routed to crawler" 1 "$(R llen '{syncq}:q:crawler:5')"
long=$("$S" task create src.queue.tasks.crawler.fetch_products -k '{"category_id":"7"}' -p URGENT --json)
check "json output" true "$(echo "$long" | grep -c '"duplicate":false' | sed 's/1/true/')"
lid=$(echo "$long" | sed 's/.*"id":"\([^"]*\)".*/\1/')
check "long name normalised" crawler.fetch_products "$(R hget "{syncq}:t:$lid" name)"
check "URGENT is 10" 1 "$(R llen '{syncq}:q:crawler:10')"
echo '{"from":"file"}' > kw.json
fid=$("$S" task create syncq.echo -k @kw.json -a '[1,2]' --queue q1 --priority HIGH --max-retries 2 --expires 1h --time-limit 30 --soft-time-limit 20)
check "kwargs from @file" '{"from":"file"}' "$(R hget "{syncq}:t:$fid" kwargs)"
check "args" '[1,2]' "$(R hget "{syncq}:t:$fid" args)"
check "queue" q1 "$(R hget "{syncq}:t:$fid" queue)"
check "max retries" 2 "$(R hget "{syncq}:t:$fid" maxr)"
check "time limit ms" 30000 "$(R hget "{syncq}:t:$fid" tl)"
did=$("$S" task create syncq.noop --countdown 5m)
check "countdown -> delayed" 1 "$(R zcard '{syncq}:delayed')"
# (within the 365 days an ETA may be ahead: SYNCQ_ETA_MAX_MS)
eta=$(date -u -d '+30 days' +%Y-%m-%dT00:00:00+08:00)
eid=$("$S" task create syncq.noop --eta "$eta")
check "eta absolute" "$(date -d "$eta" +%s)000" "$(R zscore '{syncq}:delayed' "$eid")"
u1=$("$S" task create syncq.noop --unique page-1)
u2=$("$S" task create syncq.noop --unique page-1 2>dup.err)
check "unique returns first id" "$u1" "$u2"
check "unique duplicate said on stderr" "syncq: task create: not created: task $u1 holds that unique key" "$(cat dup.err)"
"$S" task create syncq.noop --unique page-2 >/dev/null 2>dup.err
check "a first unique create says nothing" "" "$(cat dup.err)"

"$S" task info "$id" > info.txt
check "info shows name" 1 "$(grep -c '^name  *crawler.fetch_products$' info.txt)"
check "info json state" '"PENDING"' "$("$S" task info "$id" --json | sed 's/.*"state":\("[A-Z]*"\).*/\1/')"
n=$("$S" task list --queue crawler --json | grep -o '"id"' | wc -l)
check "list --queue crawler" 2 "$n"
check "list table footer" "(2 tasks)" "$("$S" task list --queue crawler | tail -1)"
"$S" status > status.txt
check "status shows crawler depth" 1 "$(grep -cE '^crawler +2 +1 +0 +1 +0 +0$' status.txt)"
check "status delayed" 1 "$(grep -c 'delayed  2 ' status.txt)"
out=$("$S" task cancel "$id" "$did")
check "cancel two" 2 "$(echo "$out" | grep -c ': revoked')"
check "cancelled state" REVOKED "$(R hget "{syncq}:t:$id" state)"
"$S" task wait "$id" --timeout 1 >/dev/null 2>&1
check "wait on REVOKED exits 1" 1 "$?"
"$S" task wait "$lid" --timeout 0.2 >/dev/null 2>./wait.err
check "wait timeout exits 1" 1 "$?"
check "wait timeout says so" 1 "$(grep -c "timed out: task $lid is still PENDING" wait.err)"
# an id that is no task: a typo is refused at once (as task info refuses
# it); a UUID nobody knows may be a Celery task without a result yet: the
# wait says it waits for that, and ends at its timeout
expect_err "wait on a malformed id" 2 "'bad name!' is not a task id" -- task wait 'bad name!'
"$S" task wait 11111111-1111-4111-8111-111111111111 --timeout 0.3 >/dev/null 2>./wait3.err
check "wait on an unknown UUID exits 1" 1 "$?"
check "wait on an unknown UUID says what it waits for" 1 "$(grep -c '^syncq: task wait: no syncq task 11111111-1111-4111-8111-111111111111: waiting for a Celery result of that id$' wait3.err)"
check "wait on an unknown UUID ends at its timeout" 1 "$(grep -c 'timed out' wait3.err)"
# a Redis outage does not end a wait: it goes on until its timeout
t0=$(date +%s%N)
# (6 s: room for a slow restart on a loaded machine, and longer than the
# 5 s slices in which task wait shows progress)
"$S" task wait "$lid" --timeout 6 >/dev/null 2>./wait2.err &
wpid=$!
sleep 0.5; "$SQ_REDISCTL" stop; sleep 1; "$SQ_REDISCTL" start
wait "$wpid"; rc=$?
t1=$(date +%s%N)
check "wait across an outage ends at its timeout" 1 "$rc"
check "wait across an outage lasted ~6 s" 1 "$([ $(( (t1 - t0) / 1000000 )) -ge 5900 ] && echo 1 || echo 0)"
check "wait across an outage: timed out, not broken" 1 "$(grep -c "timed out" wait2.err)"
"$S" --help >/dev/null; check "top --help" 0 $?
for c in "task create" "task info" "task list" "task cancel" "task wait" status "config show"; do
  # shellcheck disable=SC2086
  "$S" $c --help | grep -q '^usage: syncq'; check "$c --help" 0 $?
done
# --- the command table: one row a command gives dispatch, --help, the dump
"$S" help --dump-table > table.json; check "dump-table exit" 0 $?
tj() { python3 -c "import json; d = json.load(open('table.json')); print($1)"; }
check "dump-table: the commands of --help, in order" \
  "$("$S" --help | sed -n 's/^  \([a-z][a-z -]*[a-z]\)  .*/\1/p' | sed 's/ *$//' | paste -sd,)" \
  "$(tj '",".join(c["path"] for c in d["commands"] if not c["hidden"])')"
check "dump-table: an option row" "items-file f F" \
  "$(tj '" ".join(next((o["long"], o["short"], o["arg"]) for c in d["commands"] if c["path"] == "batch create" for o in c["options"]))')"
check "dump-table: common options" "json,broker,env-file,help" \
  "$(tj '",".join(o["long"] for o in d["common_options"])')"
check "dump-table: examples" 3 "$(tj 'len(next(c["examples"] for c in d["commands"] if c["path"] == "schedule add"))')"
check "dump-table: operands" "False True" \
  "$(tj '" ".join(str(c["operands"]) for c in d["commands"] if c["path"] in ("status", "task info"))')"
tj '"\n".join(c["path"] for c in d["commands"])' > paths.txt
while read -r c; do
  # shellcheck disable=SC2086
  first=$("$S" $c --help | head -1); check "$c --help from its row" "usage: syncq $c" "${first:0:$((13 + ${#c}))}"
done < paths.txt
check "help CMD is CMD --help" "$("$S" batch create --help)" "$("$S" help batch create)"
expect_err "help for no command" 2 "no command 'nosuch'" -- help nosuch
# a group's help: its commands on stdout, exit 0 (`task --help`, `help task`)
for a in "task --help" "help task" "recovery dead -h"; do
  # shellcheck disable=SC2086
  "$S" $a > grp.out 2> grp.err
  check "group help '$a': exit" 0 "$?"
  check "group help '$a': no stderr" "" "$(cat grp.err)"
  contains "group help '$a': lists a command" "^  syncq (task create|recovery dead list) " grp.out
done
"$S" task > grp.out 2> grp.err
check "group alone: exit" 2 "$?"
contains "group alone: says so" "'task' needs a subcommand" grp.err
expect_err "operand to a command that takes none" 2 "unexpected argument 'extra'" -- status extra
expect_err "unknown option" 2 "unknown option --bogus" -- task info --bogus
expect_err "unknown short option" 2 "unknown option -Z" -- task info -Z
expect_err "option without its value" 2 "option --queue needs a value" -- task create x --queue
"$S" task >/dev/null 2>&1; check "group word alone is usage" 2 $?
"$S" bogus >/dev/null 2>&1; check "unknown command" 2 $?

# --- bad input: one line, non-zero exit, nothing written ---------------------
expect_err "invalid JSON in -k" 2 "kwargs is not valid JSON" -- task create x -k '{"a":'
expect_err "invalid JSON in -a" 2 "args is not valid JSON" -- task create x -a '[1,'
expect_err "kwargs not an object" 2 "kwargs must be a JSON object" -- task create x -k '[1]'
expect_err "priority 11" 2 "priority 11 out of range 0..10" -- task create x --priority 11
expect_err "priority -1" 2 "priority -1 out of range 0..10" -- task create x --priority -1
expect_err "unique window without a key" 2 "unique window (unique_ttl) given without a unique key" -- task create x --unique-ttl 60
expect_err "priority HUGE" 2 "'HUGE' is not LOW, NORMAL, HIGH, URGENT or 0..10" -- task create x --priority HUGE
expect_err "empty queue" 2 "queue name is empty" -- task create x --queue ''
expect_err "long queue" 2 "limit 100" -- task create x --queue "$(printf 'q%.0s' $(seq 101))"
expect_err "control char queue" 2 "control character" -- task create x --queue "$(printf 'a\tb')"
expect_err "empty task name" 2 "task name is empty" -- task create ''
expect_err "long task name" 2 "limit 200" -- task create "$(printf 'n%.0s' $(seq 201))"
expect_err "control char name" 2 "control character" -- task create "$(printf 'a\001b')"
expect_err "broker without value" 2 "option --broker needs a value" -- --broker
expect_err "version extra arg" 2 "unexpected argument 'x'" -- version x
"$S" task nosuch > out.txt 2> err.txt
check "unknown subcommand exit" 2 "$?"
check "unknown subcommand names it" "syncq: 'task' has no subcommand 'nosuch'; it has:" "$(head -1 err.txt)"
check "unknown subcommand lists the seven" 7 "$(grep -c '^  syncq task ' err.txt)"
check "version --json" 1 "$("$S" version --json | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["version"] != ""))')"
expect_err "Chinese task name" 2 "task name '同步.任务' has byte 0xe5 (non-ASCII)" -- task create 同步.任务
expect_err "Chinese queue name" 2 "queue name '队列' has byte 0xe9 (non-ASCII)" -- task create x --queue 队列
expect_err "bad eta" 2 "not ISO 8601" -- task create x --eta 'next tuesday'
expect_err "countdown and eta" 2 "not both" -- task create x --countdown 5 --eta 2099-01-01
uid=$("$S" task create no.such.task 2> warn.txt)
check "unknown task name: created" 36 "${#uid}"
check "unknown task name: one warning line" "syncq: task create: warning: 'no.such.task' is not a built-in task; it runs only on workers that load it (--plugin), else it ends FAILURE (not_registered)" "$(cat warn.txt)"
"$S" task create syncq.echo > /dev/null 2> warn2.txt
check "built-in task: no warning" "" "$(cat warn2.txt)"
"$S" task cancel "$uid" > /dev/null
SYNCQ_DATABASE_URL="$PWD/nodb/x.db" "$S" task run data_sync.validate_data --no-broker > /dev/null 2> vd.txt
check "validate_data without a database: exit" 1 "$?"
check "validate_data without a database: reason" "syncq: task run: not_found: database $PWD/nodb/x.db does not exist (nothing synced into it yet, or SYNCQ_DATABASE_URL is wrong)" "$(cat vd.txt)"
check "validate_data without a database: nothing created" no "$([ -e "$PWD/nodb" ] && echo yes || echo no)"
expect_err "list limit 0" 2 "--limit '0' is not 1..1000000" -- task list --limit 0
expect_err "soft limit above hard" 2 "soft time limit (20000 ms) must be below the time limit (10000 ms)" -- task create x --time-limit 10 --soft-time-limit 20
expect_err "bad countdown" 2 "not valid" -- task create x --countdown soon
expect_err "bad expires" 2 "neither seconds" -- task create x --expires tomorrow
expect_err "missing name" 2 "missing task NAME" -- task create
expect_err "unknown option" 2 "unknown option --frobnicate" -- task create x --frobnicate
expect_err "option without value" 2 "needs a value" -- task create x -k
expect_err "missing kwargs file" 1 "cannot read" -- task create x -k @/nonexistent.json
head -c 9000000 /dev/zero | tr '\0' 'x' | sed 's/^/{"b":"/; s/$/"}/' > big.json
expect_err "payload over the limit" 1 "big.json is over SYNCQ_MAX_PAYLOAD (8388608 bytes)" -- task create x -k @big.json
expect_err "unknown task id" 1 "no task 00000000" -- task info 00000000-0000-4000-8000-000000000000
expect_err "unknown id cancel" 1 "no task nope" -- task cancel nope
expect_err "list bad state" 2 "unknown state 'BOGUS'" -- task list --state bogus
expect_err "redis unreachable" 1 "unreachable" -- --broker redis://127.0.0.1:1/0 task create x
expect_err "bad broker URL" 1 "scheme must be" -- --broker http://x task create x
SYNCQ_REDIS_TIMEOUT=abc expect_err "bad env value" 1 "SYNCQ_REDIS_TIMEOUT (environment)" -- status
SYNCQ_CRAWLER_RATE=fast expect_err "bad rate at start" 1 "SYNCQ_CRAWLER_RATE (environment): rate 'fast'" -- status
SYNCQ_THUMBNAIL_SIZES=big expect_err "bad sizes at start" 1 "SYNCQ_THUMBNAIL_SIZES (environment): size 'big'" -- status
SYNCQ_TIMEZONE=Mars/Base expect_err "bad zone at start" 1 "unknown time zone 'Mars/Base'" -- status
# issue 20: refused where given, not left for a worker to reject
expect_err "time limit 0" 2 "time-limit must be above 0" -- task create x --time-limit 0
expect_err "soft time limit 0" 2 "soft-time-limit must be above 0" -- task create x --soft-time-limit 0
expect_err "expires in the past" 2 "expires 2020-01-01T00:00:00.000Z is not in the future; the task could never run" -- task create x --expires 2020-01-01T00:00:00Z
expect_err "expires 0" 2 "expires: '0' is not in the future" -- task create x --expires 0
# issue 20: arguments at the door, against the task's declared arguments:
# one line per bad field, exit 2, nothing written (the schedule too)
expect_err "kwarg out of range" 2 "syncq: task create: page_size: must be >= 1 (got -1)" -- task create crawler.fetch_products -k '{"category_id":"1","page_size":-1}'
expect_err "required kwarg" 2 "syncq: task create: category_id: required" -- task create crawler.fetch_products -k '{}'
expect_err "misspelt kwarg" 2 "syncq: task create: pagesize: unknown argument; did you mean page_size?" -- task create crawler.fetch_products -k '{"category_id":"1","pagesize":5}'
expect_err "kwarg of the wrong type" 2 'syncq: task create: seconds: must be a number (got "ten")' -- task create syncq.sleep -k '{"seconds":"ten"}'
expect_err "too many positional args" 2 "syncq: task create: args: 2 positional arguments given, at most 0" -- task create syncq.sleep -a '[1,2]'
expect_err "overwrite must be a boolean" 2 'syncq: task create: overwrite: must be true or false (got "yes")' -- task create batch_processing.batch_export -k '{"path":"/tmp/x.csv","overwrite":"yes"}'
"$S" task create batch_processing.batch_export -k '{"path":"/tmp/x.csv","overwrite":true}' > ow.out 2> ow.err
check "export with overwrite: declared, accepted" 0 "$?"
expect_err "long name checked too" 2 "syncq: task create: category_id: required" -- task create src.queue.tasks.crawler.fetch_products
expect_err "schedule with expires 0" 2 "syncq: schedule add: expires must be above 0 (leave it out for tasks that do not expire)" -- schedule add exp0 syncq.noop -t interval -i 300 --expires 0
expect_err "worker control, unknown command" 2 "syncq: worker control: unknown command 'bogus' (ping, pool-grow N, pool-shrink N, add-consumer Q, cancel-consumer Q, time-limit TASK SOFT [HARD], rate-limit TASK RATE, shutdown, pause Q, resume Q)" -- worker control bogus
expect_err "worker control, soft limit above hard" 2 "syncq: worker control: soft time limit (10s) must be below the time limit (5s)" -- worker control time-limit syncq.echo 10 5
expect_err "worker -Q with a namespace and no queue" 2 "syncq: worker: --queues: 'nsx:' names no queue (NS:QUEUE)" -- worker -Q 'crawler,nsx:'
expect_err "worker -Q with only NS:" 2 "syncq: worker: --queues: 'nsx:' names no queue (NS:QUEUE)" -- worker -Q 'nsx:'
check "config docs --json: one object a setting" "SYNCQ_BROKER_URL CELERY_BROKER_URL True" "$("$S" config docs --json | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d["key"], d["alias"], d["secret"])')"
expect_err "config docs --env --json" 2 "syncq: config docs: --env writes a .env file, not JSON" -- config docs --env --json
expect_err "worker with an empty -Q" 2 "syncq: worker: --queues is empty (leave it out for the default)" -- worker -Q ''
expect_err "schedule with a misspelt kwarg" 2 "syncq: schedule add: pagesize: unknown argument; did you mean page_size?" -- schedule add typo1 crawler.fetch_products -t interval -i 300 -k '{"category_id":"1","pagesize":5}'
before=$(R dbsize)
"$S" task create crawler.fetch_products -k '{"page_size":0,"colour":"red"}' > three.out 2> three.err; rc=$?
check "three bad fields: exit" 2 "$rc"
check "three bad fields: one line each" "syncq: task create: category_id: required
syncq: task create: page_size: must be >= 1 (got 0)
syncq: task create: colour: unknown argument (accepted: category_id, page, page_size, fetch_details, source, full, base_url, page_url, shop_url)
Nothing was written. The task's arguments: 'syncq task describe NAME'." "$(cat three.err)"
check "three bad fields: nothing written" "$before" "$(R dbsize)"
# task describe: the declaration as a table and as JSON; unknown names
"$S" task describe crawler.fetch_products > desc.txt; check "describe: exit" 0 "$?"
check "describe: header" "crawler.fetch_products  (queue crawler; registered here)" "$(head -1 desc.txt)"
check "describe: page_size row" 1 "$(grep -cE '^page_size +int +no +1\.\.50 +50 +offers per page' desc.txt)"
check "describe: category_id row" 1 "$(grep -cE '^category_id +id +yes +- +- +1688 category id$' desc.txt)"
"$S" task describe image_processing.download_images --json > desc.json; check "describe --json: exit" 0 "$?"
check "describe --json: urls takes the batch's items" "urls array True True 1000" \
  "$(python3 -c 'import json; a = next(x for x in json.load(open("desc.json"))["args"] if x["name"] == "urls"); print(a["name"], a["type"], a["required"], a["items"], a["max"])')"
expect_err "describe an unknown task" 1 "syncq: task describe: unknown task crawler.fetch_prodcts; did you mean crawler.fetch_products?" -- task describe crawler.fetch_prodcts
expect_err "describe without a name" 2 "missing task NAME" -- task describe
SYNCQ_WORKER_CONCURENCY=4 expect_err "misspelt setting" 1 "SYNCQ_WORKER_CONCURENCY (environment): unknown setting; did you mean SYNCQ_WORKER_CONCURRENCY?" -- config show
CELERY_TASK_ACKS_LATE=false expect_err "unsupported Celery setting" 1 "syncq always acknowledges late" -- config show
CELERY_TASK_ACKS_LATE=true CELERY_TASK_SERIALIZER=json "$S" config show > /dev/null 2> celok.err
check "Celery settings asking for what syncq does: accepted" 0 "$?"
SYNCQ_TASK_TIME_LIMIT=0 expect_err "config time limit 0" 1 "SYNCQ_TASK_TIME_LIMIT (environment): '0' out of range" -- config show
SYNCQ_TASK_TIME_LIMIT=60 SYNCQ_TASK_SOFT_TIME_LIMIT=90 expect_err "config show: soft above hard" 1 "must be below SYNCQ_TASK_TIME_LIMIT" -- config show
CELERY_RESULT_BACKEND=redis://127.0.0.1:6380/1 expect_err "foreign result backend" 1 "name the broker's Redis" -- config show
SYNCQ_WORKER_CONCURRENCY=2 CELERY_WORKER_CONCURRENCY=3 expect_err "conflicting names" 1 "name one setting" -- config show
expect_err "env-file is a directory" 1 "a directory, not a .env file" -- --env-file "$PWD" config show
expect_err "env-file missing" 1 "cannot read $PWD/none.env" -- --env-file "$PWD/none.env" config show

# a crawler task without Open Platform credentials: a classed failure
# with the reason, never a crashed process (was: free() of garbage)
out=$(env -u SYNCQ_1688_APP_KEY "$S" task run crawler.fetch_products -k '{"category_id":"123","page_size":50}' 2>&1); rc=$?
check "crawler task without app key: exit" 1 "$rc"
case "$out" in *"auth: SYNCQ_1688_APP_KEY is not set"*) echo "ok   crawler task without app key: message";; *) echo "FAIL crawler task without app key: [$out]"; fails=$((fails+1));; esac

# task wait shows progress while it waits (a line every 5 s off a
# terminal) and readably at the end (issue 20)
pid_=$("$S" task create syncq.noop --queue nobody)
R hset "{syncq}:t:$pid_" progress '{"current":450,"total":1000,"rate":1025.6410256409999,"message":"paging"}' > /dev/null
"$S" task wait "$pid_" --timeout 6 > pw.out 2> pw.err; rc=$?
check "wait with progress: timed out" 1 "$rc"
check "wait with progress: a line every 5 s" 1 "$(grep -cE '^syncq\.noop +[0-9a-f]{8} \[#{11}\.{13}\] +45% 450/1000 1025\.6/s ETA [0-9]+ms +paging$' pw.err)"
check "wait with progress: readable at the end" 1 "$(grep -cx 'progress      450/1000 (45%), 1025.6/s, paging' pw.out)"
check "wait with progress: no raw float" 0 "$(grep -c '1025.6410256409999' pw.out)"

# a task that crashes runs in a child: the CLI reports its death (issue 20)
out=$("$S" task run syncq.crash --no-broker 2>&1); rc=$?
check "task run of a crashing task: exit" 1 "$rc"
check "task run of a crashing task: message" "syncq: task run: worker_lost: task process died (signal 11 (Segmentation fault))" "$out"
out=$("$S" --json task run syncq.crash --no-broker -k '{"how":"kill"}' 2>&1); rc=$?
check "task run killed: exit" 1 "$rc"
check "task run killed: json" '{"ok":false,"error":{"class":"worker_lost","message":"task process died (signal 9 (Killed))"}}' "$out"

# wrong password: a second private Redis with requirepass
d=$(mktemp -d)
redis-server --port 0 --unixsocket "$d/r.sock" --requirepass s3cret --save '' \
  --daemonize yes --pidfile "$d/r.pid" --logfile "$d/r.log" --dir "$d"
for _ in $(seq 100); do [ -S "$d/r.sock" ] && break; sleep 0.05; done
err=$("$S" --broker "unix://$d/r.sock?password=wrong" task create x 2>&1 >/dev/null); rc=$?
check "wrong password exit" 1 "$rc"
case "$err" in *WRONGPASS*|*"invalid password"*|*"invalid username-password"*) echo "ok   wrong password message";; *) echo "FAIL wrong password message [$err]"; fails=$((fails+1));; esac
case "$err" in *wrong*) echo "FAIL password leaked: $err"; fails=$((fails+1));; *) echo "ok   password not shown";; esac
err=$("$S" --broker "unix://$d/r.sock" task create x 2>&1 >/dev/null); rc=$?
check "no password exit" 1 "$rc"
case "$err" in *NOAUTH*) echo "ok   NOAUTH message";; *) echo "FAIL NOAUTH message [$err]"; fails=$((fails+1));; esac
okid=$("$S" --broker "unix://$d/r.sock?password=s3cret" task create x)
check "right password works" 36 "${#okid}"
# status shows the broker URL with the password masked
"$S" --broker "unix://$d/r.sock?password=s3cret" status > st_pw.txt 2>&1
check "status with a password: exit" 0 "$?"
check "status masks the password" 1 "$(grep -c "password=\*\*\*\*" st_pw.txt)"
check "status never shows it" 0 "$(grep -c s3cret st_pw.txt)"
kill "$(cat "$d/r.pid")"; rm -rf "$d"

# --- newcomer findings (issue 13) ---------------------------------------
# -k @file: reading stops at a NUL byte (or SYNCQ_MAX_PAYLOAD), at once
t0=$(date +%s%N)
expect_err "-k @/dev/zero" 1 "kwargs: /dev/zero holds a NUL byte at offset 0" -- task create syncq.noop -k @/dev/zero
check "-k @/dev/zero is refused at once" 1 "$([ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ] && echo 1)"
# a JSON file that does not parse: where, never what
printf '{"category_id": "1",\n "token": hunter2secret}\n' >bad.json
expect_err "-k @bad.json" 2 "kwargs: bad.json is not valid JSON: line 2, column" -- task create syncq.noop -k @bad.json
check "-k @bad.json: content not echoed" 0 "$(grep -c hunter2 err.txt)"
expect_err "-k - (stdin)" 2 "kwargs: standard input is not valid JSON: line 1" -- \
  task create syncq.noop -k - <<<'{nope' 
# task info of something that is no UUID
expect_err "task info notanid" 2 "'notanid' is not a task id (a UUID" -- task info notanid
expect_err "task info unknown UUID" 1 "no task 0f8fad5b-d9cb-469f-a165-70867728950e" -- \
  task info 0f8fad5b-d9cb-469f-a165-70867728950e
# an ETA beyond the documented maximum (SYNCQ_ETA_MAX_MS, 365 days)
expect_err "countdown 400d" 2 "countdown 400d0h is more than 365 days (SYNCQ_ETA_MAX_MS)" -- \
  task create syncq.noop --countdown 400d
expect_err "eta in 2099" 2 "eta 2099-01-01T00:00:00.000Z is more than 365 days ahead" -- \
  task create syncq.noop --eta 2099-01-01T00:00:00Z
okid=$("$S" task create syncq.noop --countdown 364d)
check "countdown 364d accepted" 36 "${#okid}"
"$S" task cancel "$okid" >/dev/null
# task run without Redis: one line that says why and what to do
expect_err "task run without Redis" 1 "add --no-broker to run without Redis" -- \
  --broker unix:///nonexistent/redis.sock task run syncq.echo
# a server that is not Redis (an HTTP server on a free loopback port)
python3 -c '
import http.server, socketserver, sys
s = socketserver.TCPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
open(sys.argv[1], "w").write(str(s.server_address[1])); s.serve_forever()' http.port \
  >/dev/null 2>&1 &
hpid=$!
for _ in $(seq 100); do [ -s http.port ] && break; sleep 0.05; done
expect_err "not a Redis server" 1 "redis://127.0.0.1:$(cat http.port)/0: not a Redis server (its answer to PING is not the Redis protocol)" -- \
  --broker "redis://127.0.0.1:$(cat http.port)/0" task list
kill "$hpid"; wait "$hpid" 2>/dev/null
echo "failures: $fails"
[ "$fails" -eq 0 ]
