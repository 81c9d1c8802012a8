#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_tls.sh: rediss:// against Debian's redis-server with
# --tls-port and a PKI made now with openssl (tlscerts.sh). The core flow
# over TLS with a client certificate: enqueue, a worker leasing and
# settling, beat firing a schedule tick that a worker runs. Then each
# misconfiguration gives one clear line and exit 1 (CLI and worker), never
# a crash, a hang or a silent plain-text fallback: wrong CA, expired
# server certificate, a certificate for another name, a plain-text
# server, no client certificate where the server requires one.
# TEST_TIMEOUT: 120
set -euo pipefail
: "${SYNCQ_BIN:?}" "${SYNCQ_SOURCE_DIR:?}" "${SYNCQ_TEST_DIR:?}"
T=$SYNCQ_TEST_DIR
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_for() { for _ in $(seq 200); do eval "$1" && return 0; sleep 0.05; done; return 1; }
pki=$T/pki
"$SYNCQ_SOURCE_DIR/tests/integration/tlscerts.sh" "$pki"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# tls_server NAME CERT AUTHCLIENTS: a TLS-only redis-server; prints its port.
tls_server() {
  local name=$1 cert=$2 auth=$3 port
  port=$(free_port)
  redis-server --port 0 --tls-port "$port" --bind 127.0.0.1 --save '' \
    --dir "$T" --dbfilename "$name.rdb" --logfile "$T/$name.log" \
    --tls-cert-file "$pki/$cert.crt" --tls-key-file "$pki/$cert.key" \
    --tls-ca-cert-file "$pki/ca.crt" --tls-auth-clients "$auth" &
  pids+=($!)
  echo "$port" >"$T/$name.port"
}
tls_server good server yes
tls_server expired expired no
tls_server other other no
PLAIN=$(free_port)
redis-server --port "$PLAIN" --bind 127.0.0.1 --save '' --dir "$T" \
  --dbfilename plain.rdb --logfile "$T/plain.log" &
pids+=($!)
GOOD=$(cat "$T/good.port")
wait_for "redis-cli -p $PLAIN ping >/dev/null 2>&1" || fail "plain redis"
wait_for "redis-cli --tls --cacert $pki/ca.crt --cert $pki/client.crt --key $pki/client.key -p $GOOD ping >/dev/null 2>&1" \
  || fail "TLS redis did not start"

export SYNCQ_BROKER_TLS_CA_FILE=$pki/ca.crt
export SYNCQ_BROKER_TLS_CERT_FILE=$pki/client.crt
export SYNCQ_BROKER_TLS_KEY_FILE=$pki/client.key
export SYNCQ_BROKER_URL="rediss://localhost:$GOOD/0"
S() { "$SYNCQ_BIN" "$@"; }

# --- the core flow over TLS ------------------------------------------------
S status >"$T/status.txt" || fail "status over TLS"
grep -q "^broker   rediss://localhost:$GOOD/0 (Redis 7" "$T/status.txt" || fail "status over TLS: $(head -2 "$T/status.txt")"
grep -qx "redis    master localhost:$GOOD, TLSv1.3 verified, replicas 0, min_replicas 0" "$T/status.txt" \
  || fail "status topology: $(sed -n 2p "$T/status.txt")"
S --json status | python3 -c 'import json,sys; t=json.load(sys.stdin)["topology"]; assert t["transport"]=="tls" and t["tls"]=="TLSv1.3" and t["tls_verify"] is True, t' \
  || fail "status --json topology"
id=$(S task create syncq.echo -k '{"over":"tls"}')
S worker -c 1 -Q default -n tlsw >"$T/worker.log" 2>&1 &
wpid=$!; pids+=($wpid)
out=$(S task wait "$id" --timeout 20 --json) || fail "task wait: $out"
echo "$out" | grep -q '"state":"SUCCESS"' || fail "not SUCCESS: $out"
echo "$out" | grep -q '"over":"tls"' || fail "wrong result: $out"
cat >"$T/sched.json" <<'JSON'
{"schedules": [{"name": "tick", "task": "syncq.echo", "interval": 1, "kwargs": {"from": "beat"}}]}
JSON
S beat -s "$T/sched.json" --lock-ttl 2 >"$T/beat.log" 2>&1 &
bpid=$!; pids+=($bpid)
wait_for '[ "$(S task list --state SUCCESS --name syncq.echo --json | grep -o "\"from\":\"beat\"" | wc -l)" -ge 2 ]' \
  || fail "beat ticks did not run over TLS: $(tail -3 "$T/beat.log")"
grep -q "event=beat.leader leader=true" "$T/beat.log" || fail "beat never led"
# the server saw TLS clients only: its plain port is closed (--port 0)
redis-cli --tls --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" \
  -p "$GOOD" CLIENT LIST | grep -q "name=\|cmd=" || fail "no clients on the TLS server"
# connections the server closed while idle (CLIENT KILL) are replaced
# before the next call, over TLS too: the layer peeks through OpenSSL
# (a session ticket is no data; a close_notify or an EOF is the end)
redis-cli --tls --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" \
  -p "$GOOD" CLIENT KILL TYPE normal >/dev/null
id=$(S task create syncq.echo -k '{"after":"kill"}')
out=$(S task wait "$id" --timeout 20 --json) || fail "task wait after CLIENT KILL: $out"
echo "$out" | grep -q '"state":"SUCCESS"' || fail "not SUCCESS after CLIENT KILL: $out"
wait_for 'cat "$T/worker.log" "$T/beat.log" | grep -q "event=broker.reconnected .*why=\"\?closed while idle"' \
  || fail "no idle reconnect logged: $(grep -h "event=broker\." "$T/worker.log" "$T/beat.log" | head -5)"
kill -TERM "$bpid" "$wpid"; wait "$bpid" "$wpid" 2>/dev/null || true
if cat "$T"/worker.log "$T"/beat.log | grep -qE "Sanitizer|runtime error:|level=error"; then
  fail "errors in the worker/beat logs: $(grep -E 'Sanitizer|runtime error:|level=error' "$T"/worker.log "$T"/beat.log | head -3)"
fi

# --- misconfigurations: one line, exit 1 ------------------------------------
# expect NAME PATTERN CMD...: exit status 1 and exactly one line matching.
expect() {
  local name=$1 pat=$2 rc
  shift 2
  set +e
  timeout 30 "$@" >"$T/$name.out" 2>"$T/$name.err"; rc=$?
  set -e
  [ "$rc" = 1 ] || fail "$name: exit $rc, want 1: $(cat "$T/$name.err")"
  [ "$(wc -l <"$T/$name.err")" = 1 ] || fail "$name: not one line: $(cat "$T/$name.err")"
  grep -q "$pat" "$T/$name.err" || fail "$name: '$(cat "$T/$name.err")' lacks '$pat'"
}
expect wrongca "certificate verify failed: self-signed certificate in certificate chain (trust its CA" \
  env SYNCQ_BROKER_TLS_CA_FILE="$pki/wrongca.crt" "$SYNCQ_BIN" status
expect wrongca_worker "certificate verify failed" \
  env SYNCQ_BROKER_TLS_CA_FILE="$pki/wrongca.crt" "$SYNCQ_BIN" worker -c 1 -l error
expect expired "certificate verify failed: certificate has expired (renew" \
  "$SYNCQ_BIN" --broker "rediss://127.0.0.1:$(cat "$T/expired.port")/0" status
expect mismatch "certificate verify failed: IP address mismatch (the certificate does not name this host" \
  "$SYNCQ_BIN" --broker "rediss://127.0.0.1:$(cat "$T/other.port")/0" status
expect plain "does not speak TLS on this port\|no TLS answer" \
  env SYNCQ_REDIS_TIMEOUT=1 "$SYNCQ_BIN" --broker "rediss://127.0.0.1:$PLAIN/0" task create syncq.echo
expect nocert "asked for a client certificate (set SYNCQ_BROKER_TLS_CERT_FILE" \
  env SYNCQ_BROKER_TLS_CERT_FILE= SYNCQ_BROKER_TLS_KEY_FILE= "$SYNCQ_BIN" status
expect badkey "cannot use client certificate" \
  env SYNCQ_BROKER_TLS_KEY_FILE="$pki/other.key" "$SYNCQ_BIN" status
expect badca "cannot load the CA certificates $T/nope.pem" \
  env SYNCQ_BROKER_TLS_CA_FILE="$T/nope.pem" "$SYNCQ_BIN" status
# the mismatching name is accepted when it is the name configured
S --broker "rediss://127.0.0.1:$(cat "$T/other.port")/0" status >/dev/null 2>&1 && fail "mismatch accepted"
SYNCQ_BROKER_TLS_SERVER_NAME=other.example \
  S --broker "rediss://127.0.0.1:$(cat "$T/other.port")/0" status >/dev/null || fail "SERVER_NAME not used"
# the opt-out works and a daemon says so loudly in its log (once per
# connect); the one-shot CLI has no log, it just connects
SYNCQ_BROKER_TLS_VERIFY=none SYNCQ_BROKER_TLS_CA_FILE="$pki/wrongca.crt" \
  S status >/dev/null || fail "VERIFY=none refused"
SYNCQ_BROKER_TLS_VERIFY=none SYNCQ_BROKER_TLS_CA_FILE="$pki/wrongca.crt" \
  S worker -c 1 -n insecure >"$T/insecure.log" 2>&1 &
ipid=$!; pids+=($ipid)
wait_for 'grep -q "event=worker.ready" "$T/insecure.log"' || fail "insecure worker: $(cat "$T/insecure.log")"
grep -q "level=warn.*event=broker.tls_unverified.*NOT checked" "$T/insecure.log" \
  || fail "opt-out not logged: $(head -3 "$T/insecure.log")"
kill -TERM "$ipid"; wait "$ipid" 2>/dev/null || true
# Celery's URL form: ssl_cert_reqs=CERT_NONE in the URL does the same
S --broker "rediss://localhost:$GOOD/0?ssl_cert_reqs=CERT_NONE&ssl_ca_certs=$pki/wrongca.crt" status \
  >/dev/null || fail "ssl_cert_reqs=CERT_NONE"
expect celery_required "certificate verify failed" \
  "$SYNCQ_BIN" --broker "rediss://localhost:$GOOD/0?ssl_cert_reqs=required&ssl_ca_certs=$pki/wrongca.crt" status
# no silent downgrade: rediss:// to the plain port never ran a command there
[ "$(redis-cli -p "$PLAIN" DBSIZE)" = 0 ] || fail "plain server got data"
echo ok
