#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_schedule_offsets.sh: issue 12 item 5 for schedules and the HTTP API.
# Times given as offsets from now (`schedule add --at 10m`, --start,
# --end; the HTTP API's "at"/"start"/"end" and a task's "expires" as
# seconds) are resolved with the Redis server's clock when stored, never
# the clock of the machine that sent them; an offset and a time together,
# or an offset of 0, are refused with one line.
# TEST_TIMEOUT: 90
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
SRC=${SYNCQ_SOURCE_DIR:?}
. "$SRC/tests/integration/checks.sh"
cd "$T" || exit 1
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
now() { set -- $(R time); echo $(($1 * 1000 + $2 / 1000)); }
# 1 when $1 is within [$2, $3]
within() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] && echo 1 || echo "$1 not in [$2, $3]"; }
next_of() { R zscore '{syncq}:schedules' "$1" | cut -d. -f1; }

t0=$(now)
"$S" schedule add off1 syncq.noop --at 10m >/dev/null
check "--at 10m: stored" 0 "$?"
t1=$(now)
check "--at 10m: Redis now + 600 s" 1 \
  "$(within "$(next_of off1)" $((t0 + 600000)) $((t1 + 600000)))"

t0=$(now)
"$S" schedule add off2 syncq.noop -i 5 --start 1h --end 2h >/dev/null
t1=$(now)
check "--start 1h: the first tick an hour away" 1 \
  "$(within "$(next_of off2)" $((t0 + 3600000)) $((t1 + 3601000)))"
end=$(R hget '{syncq}:sched:off2' end)
check "--end 2h: Redis now + 2 h" 1 \
  "$(within "$end" $((t0 + 7200000)) $((t1 + 7200000)))"

"$S" schedule add off3 syncq.noop --at 0 >"$T/zero.out" 2>&1
check "--at 0: usage error" 2 "$?"
contains "--at 0: said" "an offset from now must be > 0" "$T/zero.out"
check "--at 0: nothing stored" "" "$(next_of off3)"

# the HTTP API (and the Python client, which goes through the same spec)
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" \
  --logfile "$T/serve.log" --no-alerts &
m=$!
trap 'kill $m 2>/dev/null' EXIT
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$T/port")"
J='Content-Type: application/json'
t0=$(now)
check "POST schedule with at: 900" 201 "$(curl -s -o "$T/s.json" -w '%{http_code}' \
  -X POST -H "$J" -d '{"name":"off4","task":"syncq.noop","type":"once","at":900}' \
  "$B/api/schedules")"
t1=$(now)
check "HTTP at: 900 is Redis now + 900 s" 1 \
  "$(within "$(next_of off4)" $((t0 + 900000)) $((t1 + 900000)))"
check "HTTP at and start as an ISO time still work" 201 "$(curl -s -o /dev/null -w '%{http_code}' \
  -X POST -H "$J" -d '{"name":"off5","task":"syncq.noop","type":"once","at":"2099-01-01T00:00:00Z"}' \
  "$B/api/schedules")"
check "HTTP ISO at stored as given" 4070908800000 "$(next_of off5)"
t0=$(now)
id=$(curl -s -X POST -H "$J" -d '{"name":"syncq.noop","expires":120}' "$B/api/tasks" |
  json 'd["id"]')
t1=$(now)
check "HTTP task expires: 120 is Redis now + 120 s" 1 \
  "$(within "$(R hget "{syncq}:t:$id" exp)" $((t0 + 120000)) $((t1 + 120000)))"
finish it_schedule_offsets
