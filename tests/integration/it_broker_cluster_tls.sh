#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_cluster_tls.sh: rediss+cluster:// against a TLS-only Redis
# Cluster (3 masters on free loopback ports, tls-cluster yes; the PKI made
# now by tlscerts.sh): the slot map read over TLS (the TLS ports of
# CLUSTER SHARDS), a worker draining tasks, `syncq status` showing the
# node and TLS verified; the namespace's slot migrated while the worker
# runs, so it follows MOVED over TLS and moves its connection; a wrong CA
# is one line and exit 1.
# TEST_TIMEOUT: 120
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/checks.sh"
C=$here/clusterctl.sh
D=$T/cl
pki=$T/pki
cd "$T" || exit 1
"$here/tlscerts.sh" "$pki" || exit 1
export SQ_CLUSTER_TLS=$pki
wpid=""
cleanup() { [ -n "$wpid" ] && kill -9 "$wpid" 2>/dev/null; "$C" stop "$D"; wait 2>/dev/null; }
trap cleanup EXIT
"$C" start "$D" 3 0 || { echo "FAIL: TLS cluster did not start" >&2; exit 1; }
export SYNCQ_BROKER_URL="rediss+cluster://$("$C" seeds "$D")/0"
export SYNCQ_BROKER_TLS_CA_FILE=$pki/ca.crt SYNCQ_NAMESPACE=syncq
export SYNCQ_LEASE_TIMEOUT=3 SYNCQ_HEARTBEAT_INTERVAL=1 SYNCQ_RECONNECT_MAX_DELAY=1
P0=$(head -1 "$D/ports")
SL=$(redis-cli --tls --cacert "$pki/ca.crt" -p "$P0" cluster keyslot '{syncq}:meta')
O1=$("$C" owner "$D" "$SL")
O2=$("$C" other "$D" "$O1")

"$S" status 2>&1 | grep '^redis ' > st1
contains "status over TLS" "^redis    master 127\.0\.0\.1:$O1 \(cluster slot $SL of namespace syncq, 3 master\(s\), 0 failover\(s\) seen, 0 slot move\(s\)\), TLSv1\.3 verified, replicas 0, min_replicas 0$" st1

"$S" worker -c 2 -n tlsw -l debug --logfile "$T/w.log" &
wpid=$!
run_batch() { # TAG: 20 tasks, all SUCCESS within 30 s
  local ids=() id n=0
  for i in $(seq 20); do
    id=$("$S" task create syncq.echo -k "{\"b\":\"$1\",\"i\":$i}") && ids+=("$id")
  done
  check "$1: 20 enqueued" 20 "${#ids[@]}"
  for id in "${ids[@]}"; do
    "$S" task wait "$id" --timeout 30 --json 2>/dev/null | grep -q '"state":"SUCCESS"' && n=$((n + 1))
  done
  check "$1: 20 SUCCESS" 20 "$n"
}
run_batch before
"$C" move "$D" "$SL" "$O2" > move.log 2>&1 || echo "FAIL: move: $(cat move.log)" >&2
run_batch after
contains "worker followed MOVED over TLS" "event=broker.slot_moved slot=$SL namespace=syncq previous=127\.0\.0\.1:$O1 addr=127\.0\.0\.1:$O2" w.log
"$S" status 2>&1 | grep '^redis ' > st2
contains "status after the move" "^redis    master 127\.0\.0\.1:$O2 \(cluster slot $SL " st2

msg=$(SYNCQ_BROKER_TLS_CA_FILE=$pki/wrongca.crt "$S" status 2>&1); rc=$?
check "wrong CA: exit" 1 "$rc"
check "wrong CA: one line" 1 "$(printf '%s\n' "$msg" | wc -l)"
echo "$msg" > wrongca.txt
contains "wrong CA: message" "certificate verify failed" wrongca.txt
# no sanitizer report in any process's output (ASan builds)
check "no sanitizer reports" 0 "$(cat "$T"/w.log "$T"/wrongca.txt 2>/dev/null | grep -cE 'Sanitizer|runtime error:')"
finish it_broker_cluster_tls
