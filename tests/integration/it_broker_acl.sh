#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_acl.sh: Redis ACL users made with scripts/syncq-acl (the rules
# of docs/deployment.md). Each role does its job: the producer enqueues
# and reads results, the worker user runs a worker and a beat, the
# monitor user sees status, health and /metrics. Each is refused what it
# must not do: the producer cannot FLUSHALL, CONFIG SET or touch another
# namespace, the monitor cannot enqueue. User names come from the URL or
# SYNCQ_BROKER_USERNAME. Finally every output of the run (stdout, stderr,
# logs, /metrics, config show) is searched for the passwords: none.
# TEST_TIMEOUT: 90
set -euo pipefail
: "${SYNCQ_BIN:?}" "${SYNCQ_SOURCE_DIR:?}" "${SYNCQ_TEST_DIR:?}" "${SYNCQ_REDIS_SOCK:?}"
T=$SYNCQ_TEST_DIR
O=$T/out            # every output of the run lands here
mkdir -p "$O"
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() { for _ in $(seq 200); do eval "$1" && return 0; sleep 0.05; done; return 1; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
R() { redis-cli -s "$SYNCQ_REDIS_SOCK" "$@"; }
PP='Pr0d-pw%sEcret'    # '%' is percent-escaped in URLs below
WP='w0rk-PW-2xyzzy'
MP='m0n-PW-3plugh'
mk() { SYNCQ_ACL_PASSWORD=$3 "$SYNCQ_SOURCE_DIR/scripts/syncq-acl" "$1" syncq "$2" | R >"$O/acl.$2" 2>&1; }
mk producer prod "$PP"
mk worker work "$WP"
mk monitor mon "$MP"
grep -q OK "$O/acl.prod" && grep -q OK "$O/acl.work" && grep -q OK "$O/acl.mon" || fail "ACL SETUSER: $(cat "$O"/acl.*)"
sock=$SYNCQ_REDIS_SOCK
PURL="unix://prod:Pr0d-pw%25sEcret@$sock"
WURL="unix://work:$WP@$sock"
MURL="unix://:$MP@$sock"          # user from SYNCQ_BROKER_USERNAME
S() { "$SYNCQ_BIN" "$@"; }
# run NAME CMD...: stdout/stderr into $O/NAME.{out,err}; returns the status
run() { local n=$1; shift; set +e; "$@" >"$O/$n.out" 2>"$O/$n.err"; local rc=$?; set -e; return $rc; }

# --- producer: enqueue and read ---------------------------------------------
run create env SYNCQ_BROKER_URL="$PURL" "$SYNCQ_BIN" task create syncq.echo -k '{"acl":1}' || fail "producer create: $(cat "$O/create.err")"
id=$(cat "$O/create.out")
run info env SYNCQ_BROKER_URL="$PURL" "$SYNCQ_BIN" task info "$id" || fail "producer info"
grep -q "state *PENDING" "$O/info.out" || fail "info: $(cat "$O/info.out")"

# --- worker user: worker and beat -------------------------------------------
SYNCQ_BROKER_URL="$WURL" S worker -c 1 -n aclw --logfile "$O/worker.log" &
pids+=($!)
run wait env SYNCQ_BROKER_URL="$PURL" "$SYNCQ_BIN" task wait "$id" --timeout 20 --json || fail "wait: $(cat "$O/wait.err")"
grep -q '"state":"SUCCESS"' "$O/wait.out" || fail "not run: $(cat "$O/wait.out")"
echo '{"schedules": [{"name": "t", "task": "syncq.echo", "interval": 1}]}' >"$T/sched.json"
SYNCQ_BROKER_URL="$WURL" S beat -s "$T/sched.json" --lock-ttl 2 --logfile "$O/beat.log" &
pids+=($!)
wait_for 'grep -qs "event=beat.leader leader=true" "$O/beat.log"' || fail "beat with the worker user: $(cat "$O/beat.log")"
wait_for '[ "$(R LLEN "{syncq}:q:default" 2>/dev/null)" -gt 0 ] || grep -qs "event=beat.tick" "$O/beat.log"' \
  || fail "no tick: $(tail -3 "$O/beat.log")"

# --- monitor user: read-only ------------------------------------------------
export SYNCQ_BROKER_USERNAME=mon
run status env SYNCQ_BROKER_URL="$MURL" "$SYNCQ_BIN" status || fail "monitor status: $(cat "$O/status.err")"
grep -q "^broker   unix://:\*\*\*\*@" "$O/status.out" || fail "status line: $(head -1 "$O/status.out")"
run health env SYNCQ_BROKER_URL="$MURL" "$SYNCQ_BIN" monitor health || fail "monitor health: $(cat "$O/health.out" "$O/health.err")"
SYNCQ_BROKER_URL="$MURL" S monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --logfile "$O/serve.log" &
pids+=($!)
wait_for '[ -s "$T/port" ]' || fail "monitor serve did not start: $(cat "$O/serve.log")"
curl -s "http://127.0.0.1:$(cat "$T/port")/metrics" >"$O/metrics.out"
grep -q '^syncq_' "$O/metrics.out" || fail "/metrics: $(head -3 "$O/metrics.out")"
run moncreate env SYNCQ_BROKER_URL="$MURL" "$SYNCQ_BIN" task create syncq.echo && fail "monitor user could enqueue"
grep -q "NOPERM\|no permissions\|can't run this command" "$O/moncreate.err" || fail "monitor create: $(cat "$O/moncreate.err")"
unset SYNCQ_BROKER_USERNAME

# --- what the producer must not do ------------------------------------------
pc() { redis-cli -s "$sock" --user prod --pass "$PP" --no-auth-warning "$@" 2>&1; }
pc FLUSHALL | grep -q NOPERM || fail "producer FLUSHALL allowed"
pc CONFIG SET maxmemory 1 | grep -q NOPERM || fail "producer CONFIG SET allowed"
pc CONFIG GET requirepass | grep -q NOPERM || fail "producer CONFIG GET allowed"
R SET '{other}:secret' x >/dev/null
pc GET '{other}:secret' | grep -q NOPERM || fail "producer read another namespace"
pc KEYS '*' | grep -q NOPERM || fail "producer KEYS allowed"
run otherns env SYNCQ_NAMESPACE=other SYNCQ_BROKER_URL="$PURL" "$SYNCQ_BIN" task create syncq.echo \
  && fail "producer enqueued into another namespace"
grep -q "NOPERM\|no permissions\|can't run this command" "$O/otherns.err" || fail "other ns: $(cat "$O/otherns.err")"
[ "$(R EXISTS '{other}:meta')" = 0 ] || fail "keys written in {other}"
# a user with no password (nopass): named alone in the URL, it is still that
# user (confined to its namespace), not the unrestricted default user
SYNCQ_ACL_NOPASS=1 "$SYNCQ_SOURCE_DIR/scripts/syncq-acl" producer syncq anon | R >"$O/acl.anon" 2>&1
grep -q OK "$O/acl.anon" || fail "ACL SETUSER nopass: $(cat "$O/acl.anon")"
run anoncreate env SYNCQ_BROKER_URL="unix://anon@$sock" "$SYNCQ_BIN" task create syncq.echo \
  || fail "nopass user create: $(cat "$O/anoncreate.err")"
[ "$(R HGET "{syncq}:t:$(cat "$O/anoncreate.out")" name)" = syncq.echo ] || fail "nopass task not stored"
run anonother env SYNCQ_NAMESPACE=other SYNCQ_BROKER_URL="unix://anon@$sock" "$SYNCQ_BIN" task create syncq.echo \
  && fail "nopass user ran as the default user (enqueued into another namespace)"
grep -q "NOPERM\|no permissions\|can't run this command" "$O/anonother.err" || fail "nopass other ns: $(cat "$O/anonother.err")"
# wrong password: one line, exit 1, no password
run wrongpw env SYNCQ_BROKER_URL="unix://prod:not-$WP@$sock" "$SYNCQ_BIN" status && fail "wrong password accepted"
grep -q "WRONGPASS\|invalid username-password" "$O/wrongpw.err" || fail "wrong pw: $(cat "$O/wrongpw.err")"
[ "$(wc -l <"$O/wrongpw.err")" = 1 ] || fail "wrong pw: not one line"
run cfg env SYNCQ_BROKER_URL="$PURL" "$SYNCQ_BIN" config show || fail "config show"
grep -q "SYNCQ_BROKER_URL" "$O/cfg.out" || fail "config show lacks the URL"

# --- no password anywhere ----------------------------------------------------
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
for pw in "$PP" "Pr0d-pw%25sEcret" "$WP" "$MP"; do
  if grep -rlF -- "$pw" "$O" | grep -v '/acl\.' ; then
    fail "password '$pw' appears in the files above"
  fi
done
echo ok
