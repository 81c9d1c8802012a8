#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_crawler_c44.sh: known-failures C44 (rate limit per worker instead of
# global) with real processes: 4 `syncq worker` processes x concurrency 8
# fetch offer pages of two fixture servers (host A and host B, each
# logging the arrival time of every request). All of A's tasks are
# enqueued before B's. Expected: per host, every window of the rate's
# period holds at most the limit (the shared token bucket in Redis),
# throughput is at least 95 % of the limit, and host B is served at its
# full rate from the start, unaffected by A's backlog.
# Scaled for CI: 20 requests per 4 s window (the scenario's 20/min with a
# 15x shorter window), 150 + 150 tasks. C44_FULL=1 runs the scenario as
# written: 20/min, 500 + 500 tasks (about 25 minutes).
# TEST_TIMEOUT: 300
set -u
S=${SYNCQ_BIN:?}
D=${SYNCQ_TEST_DIR:?}
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL $1: expected [$2] got [$3]"; fails=$((fails+1)); else echo "ok   $1"; fi
}

# The in-place wait (SYNCQ_CRAWLER_MAX_WAIT) is scaled with the window:
# 5 s at 20/min covers under two slots, so a child sleeps for at most one
# or two requests; 1/15 of it keeps the same proportion at 20/4s.
if [ "${C44_FULL:-0}" = 1 ]; then
  LIMIT=20; PERIOD_MS=60000; RATE=20/min; N=500; MAX_WAIT=5s; PRODUCTS=600
else
  LIMIT=20; PERIOD_MS=4000; RATE=20/4s; N=150; MAX_WAIT=400ms; PRODUCTS=400
fi

. "$(dirname "$0")/fixture.sh"
start_fixture() { # start_fixture NAME -> prints URL
  fixture_start "$1" --products "$PRODUCTS" --seed 44 >&2 || return 1
  echo "$FX_PID" >>"$D/fxpids"
  echo "$FX_URL"
}
A=$(start_fixture hostA)
B=$(start_fixture hostB)
[ -n "$A" ] && [ -n "$B" ] || { echo "FAIL fixture servers did not start"; cat "$D"/host*.out; exit 1; }

# page_url is a task argument: the two loopback hosts are allowed by name
export SYNCQ_CRAWLER_RATE=$RATE SYNCQ_CRAWLER_CONCURRENCY=8 \
  SYNCQ_FETCH_ALLOW="${A#http://},${B#http://}" \
  SYNCQ_CRAWLER_MAX_WAIT=$MAX_WAIT SYNCQ_CRAWLER_COOLDOWN=2 \
  SYNCQ_DATABASE_URL="$D/catalog.db" SYNCQ_LOG_LEVEL=warning

# offer ids of the catalog (same seed on both hosts)
ids=$(curl -s "$A/fixture/offers" | python3 -c '
import json, sys
print(" ".join(str(x) for x in json.load(sys.stdin)["offer_ids"]))')
set -- $ids
check "enough offers in the catalog" ok "$([ $# -ge "$N" ] && echo ok || echo "only $#")"

# every task of host A first, then host B's
i=0
for id in "$@"; do
  [ $i -ge "$N" ] && break
  "$S" task create crawler.fetch_product_details \
    -k "{\"product_id\":$id,\"source\":\"page\",\"images\":false,\"page_url\":\"$A\"}" >/dev/null || fails=$((fails+1))
  i=$((i+1))
done
i=0
for id in "$@"; do
  [ $i -ge "$N" ] && break
  "$S" task create crawler.fetch_product_details \
    -k "{\"product_id\":$id,\"source\":\"page\",\"images\":false,\"page_url\":\"$B\"}" >/dev/null || fails=$((fails+1))
  i=$((i+1))
done
check "tasks queued" $((2 * N)) "$(R llen '{syncq}:q:crawler:5')"

t0=$(date +%s%3N)
for w in 1 2 3 4; do
  # info: the gate's fetch.slot_late events (counted below)
  SYNCQ_LOG_LEVEL=info setsid "$S" worker -Q crawler -c 8 -n "c44-$w" --logfile "$D/worker$w.log" >"$D/worker$w.err" 2>&1 &
  echo $! >>"$D/pids"
  echo $! >>"$D/wpids"
done

# wait until every task is final
deadline=$(( $(date +%s) + (N * PERIOD_MS / LIMIT / 1000) * 3 + 60 ))
while :; do
  left=$(( $(R llen '{syncq}:q:crawler:5') + $(R zcard '{syncq}:delayed') + $(R zcard '{syncq}:active') ))
  [ "$left" -eq 0 ] && break
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "FAIL timed out with $left tasks left"; fails=$((fails+1)); break; fi
  sleep 1
done
t1=$(date +%s%3N)
while read -r w; do kill -TERM -- "-$w" 2>/dev/null; done <"$D/wpids"

succeeded=$(R hget '{syncq}:stats' 'succeeded|crawler|crawler.fetch_product_details')
check "every task succeeded" $((2 * N)) "${succeeded:-0}"
retried=$(R hget '{syncq}:stats' 'retried|crawler|crawler.fetch_product_details')
echo "info: tasks retried (deferred to their booked slot): ${retried:-0}; wall time $(( (t1 - t0) / 1000 )) s"

# the servers' view: arrival times of the page requests per host
# The server logs a request when its handler runs, and a client sends it
# after its slot: on a busy machine either process may be scheduled late,
# which moves one arrival later than its slot and squeezes the gap to the
# next one (seen at load 5-10: 83 ms and 107 ms for a 200 ms spacing, both
# with the old and the new gate; a child's first request opens a new
# connection, for which the server starts a thread). The limit is checked
# on windows JITTER_MS shorter than the period, so up to that much
# scheduling delay is allowed for (0.25 % of C44's own 60 s window); the
# plain busiest window is printed.
JITTER_MS=150
analyse() { # analyse LOG -> "count busiest_window rate_per_s first_ms min_gap p1_gap plain_busiest"
  python3 - "$1" "$PERIOD_MS" "$t0" "$JITTER_MS" <<'EOF'
import json, sys
log, period, t0, jitter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ts = sorted(json.loads(l)["t"] for l in open(log) if '"route":"page"' in l)
def busiest_in(width):
    most, j = 0, 0
    for i in range(len(ts)):
        while j < len(ts) and ts[j] < ts[i] + width:
            j += 1
        most = max(most, j - i)
    return most
busiest, plain = busiest_in(period - jitter), busiest_in(period)
rate = (len(ts) - 1) * 1000.0 / (ts[-1] - ts[0]) if len(ts) > 1 else 0
gaps = sorted(b - a for a, b in zip(ts, ts[1:]))
print(len(ts), busiest, "%.3f" % rate, ts[0] - t0 if ts else -1,
      gaps[0] if gaps else -1, gaps[len(gaps) // 100] if gaps else -1, plain)
EOF
}
read -r na wa ra fa ga pa xa <<<"$(analyse "$D/hostA.log")"
read -r nb wb rb fb gb pb xb <<<"$(analyse "$D/hostB.log")"
echo "info: host A: $na requests, busiest ${PERIOD_MS} ms window $xa ($wa in $((PERIOD_MS - JITTER_MS)) ms), $ra/s, first after $fa ms, smallest gap $ga ms (1st percentile $pa)"
echo "info: host B: $nb requests, busiest ${PERIOD_MS} ms window $xb ($wb in $((PERIOD_MS - JITTER_MS)) ms), $rb/s, first after $fb ms, smallest gap $gb ms (1st percentile $pb)"
# A request that wakes more than 25 ms after its slot (a busy machine)
# gives the slot back rather than squeeze the spacing (packs/net/net_gate.c),
# and a task deferred to a booked slot that is leased again only after it
# loses it (logged with booked=1): either slot goes unused. The rate asked for is 95 % of the limit over the
# slots the gate could use: n - 1 gaps out of n - 1 + late slots.
late() { cat "$D"/worker*.log | grep 'fetch.slot_late' | grep -cF "host=$1 "; }
la=$(late "${A#http://}"); lb=$(late "${B#http://}")
echo "info: slots given back for lateness: host A $la, host B $lb"
limit_rate=$(python3 -c "print($LIMIT * 1000.0 / $PERIOD_MS)")
want_a=$(python3 -c "print($limit_rate * max($na - 1, 1) / max($na - 1 + $la, 1))")
want_b=$(python3 -c "print($limit_rate * max($nb - 1, 1) / max($nb - 1 + $lb, 1))")
check "host A: one request per task" "$N" "$na"
check "host B: one request per task" "$N" "$nb"
check "host A: no window over the limit (less the jitter)" ok "$([ "$wa" -le "$LIMIT" ] && echo ok || echo "$wa > $LIMIT")"
check "host B: no window over the limit (less the jitter)" ok "$([ "$wb" -le "$LIMIT" ] && echo ok || echo "$wb > $LIMIT")"
check "host A: >= 95% of the usable slots used" ok "$(python3 -c "print('ok' if $ra >= 0.95 * $want_a else '$ra/s < 95% of $want_a/s')")"
check "host B: >= 95% of the usable slots used" ok "$(python3 -c "print('ok' if $rb >= 0.95 * $want_b else '$rb/s < 95% of $want_b/s')")"
# and lateness stays the exception: at most 1 slot in 10 given back
check "host A: few late slots" ok "$([ $((la * 10)) -le "$na" ] && echo ok || echo "$la late of $na")"
check "host B: few late slots" ok "$([ $((lb * 10)) -le "$nb" ] && echo ok || echo "$lb late of $nb")"
# B's tasks sat behind all of A's in the queue, yet B started at once
check "host B served from the start" ok "$([ "$fb" -ge 0 ] && [ "$fb" -lt $((PERIOD_MS + 3000)) ] && echo ok || echo "first B request after $fb ms")"
# stop servers and workers cleanly so leak checks run at exit
while read -r p; do kill -TERM "$p" 2>/dev/null; done <"$D/fxpids"
for _ in $(seq 100); do
  alive=0
  while read -r p; do kill -0 "$p" 2>/dev/null && alive=1; done <"$D/fxpids"
  while read -r p; do kill -0 "$p" 2>/dev/null && alive=1; done <"$D/wpids"
  [ "$alive" = 0 ] && break
  sleep 0.1
done
if grep -l "runtime error\|AddressSanitizer\|LeakSanitizer" "$D"/worker* "$D"/host*.out >/dev/null 2>&1; then
  echo "FAIL sanitizer report in a worker or fixture server log"; fails=$((fails+1))
fi
[ "$fails" -eq 0 ] && echo "PASS it_crawler_c44" || echo "FAILED: $fails"
exit $((fails > 0))
