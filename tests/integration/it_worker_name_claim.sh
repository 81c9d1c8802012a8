#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_worker_name_claim.sh: a worker keeps its stable name (-n 'nm-%i')
# through a lost claim. Redis unreachable for longer than the claim's
# expiry (30 s), or restarted without persistence, loses {ns}:wname:nm-1
# while the worker runs; before, the worker only renewed the expiry of a
# key that was gone, and the next worker of the host took nm-1 too (two
# workers, one name, their figures mixed). Here the key is deleted (what
# the outage does to it), then:
#  - the worker claims its name again within its control poll (1 s);
#  - a second worker of the host gets nm-2;
#  - a claim taken by another process meanwhile is said once
#    (worker.name_in_use) and let go: the other's claim is not renewed,
#    overwritten or deleted, even when the worker stops.
# TEST_TIMEOUT: 90
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
cd "$T" || exit 1
rcli() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
until_eq() { # SECONDS EXPECTED CMD...: wait until CMD prints EXPECTED
  local end=$((SECONDS + $1)) want=$2; shift 2
  while [ "$SECONDS" -lt "$end" ]; do [ "$("$@")" = "$want" ] && return 0; sleep 0.1; done
  return 1
}
HOST=$(hostname)
KEY='{syncq}:wname:nm-1'

SYNCQ_HEARTBEAT_INTERVAL=1 "$S" worker -Q nmq -c 1 -n 'nm-%i' --logfile "$T/w1.log" &
W1=$!; pids+=("$W1")
until_eq 20 "$HOST $W1" rcli GET "$KEY"
check "first worker claims nm-1" "$HOST $W1" "$(rcli GET "$KEY")"

# the claim lost (what an outage longer than its expiry does to it)
rcli DEL "$KEY" > /dev/null
until_eq 10 "$HOST $W1" rcli GET "$KEY"
check "claimed again after it was lost" "$HOST $W1" "$(rcli GET "$KEY")"
ttl=$(rcli PTTL "$KEY")
check "with its expiry" 1 "$([ "$ttl" -gt 20000 ] && [ "$ttl" -le 30000 ] && echo 1 || echo 0)"

SYNCQ_HEARTBEAT_INTERVAL=1 "$S" worker -Q nmq -c 1 -n 'nm-%i' --logfile "$T/w2.log" &
W2=$!; pids+=("$W2")
until_eq 20 "$HOST $W2" rcli GET '{syncq}:wname:nm-2'
check "the next worker of the host gets nm-2" "$HOST $W2" "$(rcli GET '{syncq}:wname:nm-2')"
check "nm-1 still the first's" "$HOST $W1" "$(rcli GET "$KEY")"

# taken by another process meanwhile: said once, let go
rcli SET "$KEY" "otherhost 4242" PX 60000 > /dev/null
sleep 3
check "another's claim is left alone" "otherhost 4242" "$(rcli GET "$KEY")"
ttl=$(rcli PTTL "$KEY")
check "and its expiry not renewed" 1 "$([ "$ttl" -le 57500 ] && echo 1 || echo 0)"
check "said once" 1 "$(grep -c 'event=worker.name_in_use worker=nm-1' w1.log)"
kill "$W1"; wait "$W1" 2>/dev/null
check "not deleted when the worker stops" "otherhost 4242" "$(rcli GET "$KEY")"
check "nor nm-2 touched" "$HOST $W2" "$(rcli GET '{syncq}:wname:nm-2')"
kill "$W2"; wait "$W2" 2>/dev/null
check "a clean stop releases its own name" "" "$(rcli GET '{syncq}:wname:nm-2')"
finish it_worker_name_claim
