#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_crawler_cooldown.sh: HTTP 429 and the crawler's host cool-down with
# real workers (issue 20). The fixture server answers every request 429
# with Retry-After: 1 until a request was tried three times (its fault
# rule "429=100%:1s"); 16 fetch_product_details tasks with max_retries 1
# run on 2 workers of 3 children each, booking slots at 10/s (up to 2 s
# ahead, waited in place: many requests are asleep when a 429 comes).
# Expected:
#   - every task ends SUCCESS with retries 0: waiting out the host's
#     cool-down (nothing sent, or a 429 answered with Retry-After) is a
#     deferral, not a failure, and never uses the retry budget (before:
#     FAILURE with the budget used up);
#   - the deferrals are counted on the record (`deferrals` >= 3 each);
#   - no request reaches the host inside a cool-down: from the server's
#     request log, no request arrives between 100 ms after a 429 and the
#     end of its Retry-After (the first 100 ms are requests already in
#     flight when the 429 was answered); before the fix, requests that
#     had waited for a slot were sent into the pause.
# TEST_TIMEOUT: 240
set -u
S=${SYNCQ_BIN:?}
D=${SYNCQ_TEST_DIR:?}
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL $1: expected [$2] got [$3]"; fails=$((fails+1)); else echo "ok   $1"; fi
}
N=16

. "$(dirname "$0")/fixture.sh"
fixture_start fx --products 40 --categories 1 --seed 7 --faults "429=100%:1s" || exit 1
U=$FX_URL
fixture_env "$U"

export SYNCQ_CRAWLER_RATE=10/s SYNCQ_CRAWLER_MAX_WAIT=2s \
  SYNCQ_DATABASE_URL="$D/catalog.db" SYNCQ_MEDIA_DIR="$D/media" \
  SYNCQ_LOG_LEVEL=warning

curl -s "$U/fixture/offers" >"$D/offers.json"
ids=$(python3 -c 'import json,sys; print(" ".join(str(i) for i in json.load(open(sys.argv[1]))["offer_ids"][:int(sys.argv[2])]))' "$D/offers.json" "$N")
: >"$D/tasks"
for id in $ids; do
  "$S" task create crawler.fetch_product_details --max-retries 1 \
    -k "{\"product_id\":$id,\"images\":false,\"source\":\"page\"}" >>"$D/tasks"
done
check "tasks created" "$N" "$(wc -l <"$D/tasks" | tr -d ' ')"
for w in 1 2; do
  setsid "$S" worker -Q crawler -c 3 -n "cool-$w" \
    --logfile "$D/worker$w.log" >"$D/worker$w.err" 2>&1 &
  echo $! >>"$D/pids"
  echo $! >>"$D/wpids"
done
deadline=$(( $(date +%s) + 180 ))
while :; do
  done_n=0
  while read -r t; do
    case "$(R hget "{syncq}:t:$t" state)" in SUCCESS|FAILURE|DEAD) done_n=$((done_n+1)) ;; esac
  done <"$D/tasks"
  [ "$done_n" -eq "$N" ] && break
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "FAIL timed out: $done_n of $N ended"; fails=$((fails+1)); break; fi
  sleep 0.5
done
ok=0; retried=0; defer_min=999
while read -r t; do
  [ "$(R hget "{syncq}:t:$t" state)" = SUCCESS ] && ok=$((ok+1))
  r=$(R hget "{syncq}:t:$t" retries); [ "${r:-0}" -gt 0 ] && retried=$((retried+1))
  d=$(R hget "{syncq}:t:$t" deferrals); d=${d:-0}
  [ "$d" -lt "$defer_min" ] && defer_min=$d
done <"$D/tasks"
check "every task SUCCESS despite max_retries 1" "$N" "$ok"
check "no task used its retry budget" 0 "$retried"
check "each task deferred at least 3 times" yes "$([ "$defer_min" -ge 3 ] && echo yes || echo "$defer_min")"
one=$(head -1 "$D/tasks")
check "task info shows deferrals" yes "$("$S" task info "$one" --json | python3 -c 'import json,sys; print("yes" if json.load(sys.stdin).get("deferrals", 0) >= 3 else "no")')"

python3 - "$D/fx.log" >"$D/cool.txt" <<'EOF'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
reqs.sort(key=lambda r: r["t"])
pauses = [r["t"] for r in reqs if r["status"] == 429]
inside = 0
for r in reqs:
    # Retry-After 1 s: the host is paused from the 429 on; requests in the
    # first 100 ms were already on their way
    if any(p + 100 < r["t"] < p + 1000 for p in pauses):
        inside += 1
print("requests", len(reqs))
print("r429", len(pauses))
print("inside", inside)
EOF
sed 's/^/info: /' "$D/cool.txt"
v() { awk -v k="$1" '$1 == k {print $2}' "$D/cool.txt"; }
check "the server answered 429s" yes "$([ "$(v r429)" -ge "$N" ] && echo yes || echo "$(v r429)")"
check "no request inside a cool-down" 0 "$(v inside)"

while read -r w; do kill -TERM -- "-$w" 2>/dev/null; done <"$D/wpids"
fixture_stop
if grep -l "runtime error\|AddressSanitizer\|LeakSanitizer" "$D"/worker* "$D"/fx.out >/dev/null 2>&1; then
  echo "FAIL sanitizer report in a worker or fixture server log"; fails=$((fails+1))
fi
[ "$fails" -eq 0 ] && echo "PASS it_crawler_cooldown" || echo "FAILED: $fails"
exit $((fails > 0))
