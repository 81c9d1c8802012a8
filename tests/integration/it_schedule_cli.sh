#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_schedule_cli.sh: `syncq schedule add|list|info|pause|resume|run|remove|
# load|next` end to end against a real Redis: the issue's three example
# commands, every kind of bad definition refused with the reason and exit
# 2 and nothing stored (C16 included, each in under 100 ms), exit 1 for
# failed operations, JSON output, the static schedule file, a dead broker.
# TEST_TIMEOUT: 120
set -euo pipefail

: "${SYNCQ_BIN:?}" "${SYNCQ_TEST_DIR:?}"
W="$SYNCQ_TEST_DIR/schedcli"
mkdir -p "$W"
export SYNCQ_TIMEZONE=Asia/Shanghai
fail() { echo "FAIL: $*" >&2; exit 1; }

# run RC ARGS...: run the CLI, expect exit status RC; stdout in $W/out,
# stderr in $W/err.
run() {
  local want=$1 rc=0
  shift
  "$SYNCQ_BIN" "$@" >"$W/out" 2>"$W/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "--- stdout"; cat "$W/out"; echo "--- stderr"; cat "$W/err"
    fail "syncq $* exited $rc, want $want"
  fi
  # an expected exit 1 must not hide a sanitizer report
  if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W/err"; then
    cat "$W/err"; fail "sanitizer report from syncq $*"
  fi
}
err_has() { grep -qF -- "$1" "$W/err" || { cat "$W/err"; fail "stderr lacks '$1'"; }; }
out_has() { grep -qF -- "$1" "$W/out" || { cat "$W/out"; fail "stdout lacks '$1'"; }; }
# jget PATH: a value from the JSON in $W/out ("0.name", "state", ...).
jget() {
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if not isinstance(v, bool) else str(v).lower())' "$W/out" "$1"
}
ms() { date +%s%3N; }

redis-cli -s "$SYNCQ_REDIS_SOCK" FLUSHALL >/dev/null

# --- the issue's examples ---------------------------------------------
run 0 schedule add daily_sync data_sync.sync_products -t cron -c "0 2 * * *" \
  --tz Asia/Shanghai -k '{"sync_type": "full"}' --queue data_sync --priority HIGH \
  --missed run_once
out_has 'daily_sync: cron "0 2 * * *" (Asia/Shanghai), active, next run'
grep -E 'next run [0-9-]{10}T18:00:00Z \([0-9-]{10}T02:00:00\+08:00 in Asia/Shanghai\)$' "$W/out" > /dev/null || { cat "$W/out"; fail "add: next run in UTC, its zone beside"; }
run 0 schedule add every5 crawler.fetch_products -t interval -i 300 \
  -k '{"category_id": "1031910", "page_size": 50}'
out_has "every5: every 300s"
future=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc)+datetime.timedelta(days=30)).strftime("%Y-%m-%dT02:00:00+08:00"))')
run 0 schedule add once1 data_sync.sync_products -t once --at "$future"
run 0 --json schedule add weekly crawler.fetch_products -c "30 6 * * mon" \
  -k '{"category_id": "7"}' --tz Europe/Berlin --missed catch_up --catch-up-cap 4 --expires 1h
[ "$(jget type)" = cron ] || fail "json type"
[ "$(jget catch_up_cap)" = 4 ] || fail "json cap"
[ "$(jget expires_s)" = 3600.0 ] || fail "json expires"
case "$(jget next_run)" in *T06:30:00+0[12]:00) ;; *) fail "weekly next $(jget next_run)";; esac

run 0 schedule list
for n in daily_sync every5 once1 weekly; do out_has "$n"; done
out_has "NAME"
# times in UTC (the CLI's one rule), the schedule's zone beside them
out_has "NEXT RUN (UTC)"
grep -E '^daily_sync +active +cron +0 2 \* \* \* +[0-9-]{10}T18:00:00Z +Asia/Shanghai ' "$W/out" > /dev/null || { cat "$W/out"; fail "list: next run in UTC, zone beside"; }
run 0 schedule info daily_sync
grep -E '^next_run +[0-9-]{10}T18:00:00Z$' "$W/out" > /dev/null || { cat "$W/out"; fail "info: next run in UTC"; }
grep -E '^next_run_in_zone +[0-9-]{10}T02:00:00\+08:00$' "$W/out" > /dev/null || { cat "$W/out"; fail "info: next run in its zone beside"; }
out_has "Asia/Shanghai"
run 0 --json schedule list
[ "$(jget 0.name)" = daily_sync ] || fail "list is sorted by name"
[ "$(jget 0.queue)" = data_sync ] || fail "queue kept"
[ "$(jget 0.priority)" = 8 ] || fail "HIGH is 8"
[ "$(jget 0.missed)" = run_once ] || fail "missed kept"
[ "$(jget 0.kwargs.sync_type)" = full ] || fail "kwargs kept"
[ "$(jget 1.name)" = every5 ] || fail "second is every5"
[ "$(jget 1.queue)" = crawler ] || fail "routed by the task's pack"
[ "$(jget 1.interval_s)" = 300.0 ] || fail "interval"

# --- bad definitions: exit 2, the reason, nothing stored -----------------
for expr in "0 12 31 4 *" "0 0 30 2 *" "0 0 31 2 *"; do
  t0=$(ms)
  run 2 schedule add never data_sync.sync_products -t cron -c "$expr"
  t1=$(ms)
  err_has "expression never fires"
  err_has "syncq: schedule add: cron '$expr'"
  [ $((t1 - t0)) -lt 1000 ] || fail "refusing '$expr' took $((t1 - t0)) ms"
done
# (the 100 ms bound of C16 is the parse itself, timed in test_cron; here
# the whole process is timed, start-up and ASan included)
run 2 schedule add bad x.y -c "61 * * * *";        err_has "minute 61 out of range 0-59"
run 2 schedule add bad x.y -c "garbage";           err_has "needs 5 fields"
run 2 schedule add bad x.y -c "* * * * * * *";     err_has "got more than 6"
run 2 schedule add bad x.y -c "@reboot";           err_has "unknown cron macro"
run 2 schedule add bad x.y -c "0 2 * * *" --tz Mars/Olympus; err_has "unknown time zone 'Mars/Olympus'"
run 2 schedule add bad x.y -c "0 2 * * *" --tz ../../etc/passwd; err_has "bad time zone name"
run 2 schedule add bad x.y -i 300 -k '{bad';       err_has "kwargs is not valid JSON"
run 2 schedule add bad x.y -i 300 -k '[1]';        err_has "kwargs must be a JSON object"
run 2 schedule add bad x.y -i 300 -a '{"a":1}';    err_has "args must be a JSON array"
run 2 schedule add bad x.y -i 300 -p 11;           err_has "priority 11 out of range"
run 2 schedule add bad x.y -i 300 -p urgentest;    err_has "priority"
run 2 schedule add bad x.y -i 0.5;                 err_has "interval must be 1 s"
run 2 schedule add bad x.y -i soon;                err_has "duration 'soon' is not valid"
run 2 schedule add bad x.y -i 300 --missed never;  err_has "missed policy 'never'"
run 2 schedule add bad x.y -i 300 --catch-up-cap 0; err_has "catch-up-cap '0'"
run 2 schedule add bad x.y -t once --at 2020-01-01T00:00:00Z; err_has "is in the past"
run 2 schedule add bad x.y -t once --at tomorrow;  err_has "neither seconds/a duration (30, 5m, 2h) nor an ISO 8601 time"
run 2 schedule add bad x.y;                        err_has "give one of -i"
run 2 schedule add bad x.y -i 300 -c "* * * * *";  err_has "give one of -i"
run 2 schedule add bad x.y -t cron -i 300;         err_has "a cron schedule needs -c"
run 2 schedule add bad x.y -t hourly -i 300;       err_has "type 'hourly'"
run 2 schedule add "bad name" x.y -i 300;          err_has "schedule name 'bad name'"
run 2 schedule add bad 'x y' -i 300;               err_has "task name"
run 2 schedule add bad x.y -i 300 --queue 'a b';   err_has "queue"
run 2 schedule add bad x.y -i 300 --start 2030-01-02T00:00:00Z --end 2030-01-01T00:00:00Z
err_has "end must be after start"
run 2 schedule add bad x.y -i 300 --bogus;         err_has "unknown option --bogus"
run 2 schedule add bad;                            err_has "need NAME and TASK"
run 1 schedule info bad;                           err_has "no schedule bad"
[ "$(redis-cli -s "$SYNCQ_REDIS_SOCK" ZCARD '{syncq}:schedules')" = 4 ] || fail "a bad add stored something"

# a taken name: exit 1; --replace keeps the counters
run 1 schedule add every5 crawler.fetch_products -i 60 -k '{"category_id": "7"}';  err_has "schedule every5 exists (remove it first with \`syncq schedule remove every5\`, or add --replace)"
redis-cli -s "$SYNCQ_REDIS_SOCK" HSET '{syncq}:sched:every5' runs 41 >/dev/null
run 0 schedule add every5 crawler.fetch_products -i 60 --replace \
  -k '{"category_id": "1031910", "page_size": 50}'
run 0 --json schedule info every5
[ "$(jget interval_s)" = 60.0 ] || fail "replaced interval"
[ "$(jget total_runs)" = 41 ] || fail "replace kept the run count"

# --- pause / resume / run / remove -------------------------------------
run 0 schedule pause every5 weekly;   out_has "every5: paused"; out_has "weekly: paused"
run 0 --json schedule info every5;    [ "$(jget state)" = paused ] || fail "paused state"
[ "$(redis-cli -s "$SYNCQ_REDIS_SOCK" ZSCORE '{syncq}:schedules' every5)" = inf ] || fail "paused is parked"
run 0 schedule pause every5          # again: a no-op
run 0 schedule resume every5;         out_has "every5: resumed"
run 0 --json schedule info every5;    [ "$(jget state)" = active ] || fail "resumed state"
run 0 schedule run every5
id=$(cat "$W/out")
[[ "$id" =~ ^[0-9a-f-]{36}$ ]] || fail "run printed '$id'"
run 0 --json task info "$id"
[ "$(jget name)" = crawler.fetch_products ] || fail "run made the task"
[ "$(jget kwargs.page_size)" = 50 ] || fail "run kept kwargs"
run 0 --json schedule info every5
[ "$(jget manual_runs)" = 1 ] || fail "manual_runs"
[ "$(jget last_task_id)" = "$id" ] || fail "last_task_id"
run 0 schedule run weekly           # paused schedules can still be run by hand
run 1 schedule run nosuch;            err_has "no schedule nosuch"
run 1 schedule pause nosuch;          err_has "no schedule nosuch"
run 1 schedule resume nosuch;         err_has "no schedule nosuch"
run 0 schedule remove once1;          out_has "once1: removed"
run 1 schedule remove once1;          err_has "no schedule once1"
run 1 schedule remove every5 once1    # one of two fails: exit 1, the other done
run 1 schedule info every5
run 2 schedule remove;                err_has "need a schedule NAME"

# --- next: preview without a broker ---------------------------------------
SYNCQ_BROKER_URL=unix:///nonexistent/redis.sock run 0 schedule next "30 2 * * *" \
  --tz Europe/Berlin --from 2022-03-26T00:00:00Z -n 3
[ "$(sed -n 1p "$W/out")" = "2022-03-26T01:30:00Z  2022-03-26T02:30:00+01:00" ] || fail "next 1: $(sed -n 1p "$W/out")"
[ "$(sed -n 2p "$W/out")" = "2022-03-27T01:00:00Z  2022-03-27T03:00:00+02:00" ] || fail "next 2 (the DST gap): $(sed -n 2p "$W/out")"
[ "$(sed -n 3p "$W/out")" = "2022-03-28T00:30:00Z  2022-03-28T02:30:00+02:00" ] || fail "next 3: $(sed -n 3p "$W/out")"
run 0 --json schedule next "@monthly" --tz UTC --from 2024-01-31T00:01:00Z -n 2
[ "$(jget 0.utc)" = "2024-02-01T00:00:00Z" ] || fail "monthly"
run 2 schedule next "0 0 31 2 *";     err_has "never fires"

# --- the static schedule file ------------------------------------------------
cat >"$W/s.json" <<'EOF'
{"timezone": "UTC", "schedules": [
  {"name": "f1", "task": "crawler.fetch_products", "interval": "2m",
   "kwargs": {"category_id": "7"}},
  {"name": "f2", "task": "data_sync.sync_products", "cron": "15 3 * * *",
   "kwargs": {"sync_type": "full"}, "enabled": false}
]}
EOF
run 0 schedule load "$W/s.json";      out_has "created: 2 (f1, f2)"
run 0 schedule load "$W/s.json";      out_has "unchanged: 2"
[ ! -s "$W/err" ] || fail "an unchanged load warned: $(cat "$W/err")"
# a past one-shot and a task not built in load, with a warning each
cat >"$W/w.json" <<'EOF'
{"schedules": [
  {"name": "w1", "task": "data_sync.sync_products", "at": "2020-01-01T00:00:00Z"},
  {"name": "w2", "task": "image_processing.process_batch", "interval": 60}
]}
EOF
run 0 schedule load "$W/w.json";      out_has "created: 2 (w1, w2)"
err_has "warning: w1: its one-shot time 2020-01-01T08:00:00+08:00 is past: stored finished, it will not run"
err_has "warning: 'image_processing.process_batch' is not a built-in task"
run 0 --json schedule info w1;        [ "$(jget state)" = finished ] || fail "past one-shot not finished"
run 0 schedule remove w1 w2
run 0 --json schedule info f2;        [ "$(jget state)" = paused ] || fail "enabled false"
[ "$(jget source)" = file ] || fail "source file"
cat >"$W/s.json" <<'EOF'
{"schedules": [{"name": "f1", "task": "crawler.fetch_products", "interval": 180, "args": ["7"]}]}
EOF
run 0 schedule load "$W/s.json" --prune
out_has "updated: 1 (f1)"; out_has "removed: 1 (f2)"
run 1 schedule info f2
[ "$(redis-cli -s "$SYNCQ_REDIS_SOCK" EXISTS '{syncq}:sched:daily_sync')" = 1 ] || fail "prune removed a CLI schedule"
echo '{"schedules": [{"name": "g", "task": "t.x", "cron": "0 0 30 2 *"}]}' >"$W/bad.json"
run 1 schedule load "$W/bad.json";    err_has "entry 1 (g)"; err_has "never fires"
echo '{"schedules": [{"name": "g", "task": "t.x", "interval": 60, "crn": "x"}]}' >"$W/bad.json"
run 1 schedule load "$W/bad.json";    err_has "unknown key 'crn'"
echo '{"schedules": [{"name": "g", "task": "t.x", "interval": 60}, {"name": "g", "task": "t.x", "interval": 60}]}' >"$W/bad.json"
run 1 schedule load "$W/bad.json";    err_has "name used twice"
echo '{"schedules": [' >"$W/bad.json"
run 1 schedule load "$W/bad.json";    err_has "line 2"
run 1 schedule load "$W/missing.json"; err_has "cannot open schedule file"
echo '{"schedules": [{"name": "g", "task": "crawler.fetch_products", "interval": 60, "kwargs": {"category_id": "1", "pagesize": 5}}]}' >"$W/bad.json"
run 1 schedule load "$W/bad.json";    err_has "entry 1 (g)"; err_has "pagesize: unknown argument; did you mean page_size?"
run 1 schedule info g

# --- a dead broker: one clear line, exit 1 --------------------------------
SYNCQ_BROKER_URL=unix:///nonexistent/redis.sock run 1 schedule list
err_has "syncq: schedule list: Redis at unix:///nonexistent/redis.sock unreachable"
[ "$(wc -l <"$W/err")" = 1 ] || fail "more than one line of error"
SYNCQ_BROKER_URL=unix:///nonexistent/redis.sock run 1 schedule add z x.y -i 60

run 0 schedule add --help;            out_has "usage: syncq schedule add"
echo "it_schedule_cli: ok"
