#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_monitor_topology.sh: operators see the replicas (issue 15). A master
# and one replica on free loopback ports, SYNCQ_BROKER_MIN_REPLICAS=1:
#   - replica in sync: health has no `replicas` reason; /metrics shows
#     syncq_broker_replicas_in_sync 1 and the replica's lag; the snapshot
#     names the master and the replica;
#   - replica SIGKILLed: health reason `replicas` ("0 of 1"), /metrics 0,
#     and a rule on replicas_missing fires;
#   - failover_age has no data without a failover (rule stays inactive).
# TEST_TIMEOUT: 90
set -u
S=${SYNCQ_BIN:?}
T=${SYNCQ_TEST_DIR:?}
. "$(dirname "$0")/checks.sh"
cd "$T" || exit 1
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PM=$(freeport); PR=$(freeport)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
mkdir -p m r
redis-server --bind 127.0.0.1 --port "$PM" --save '' --appendonly no --dir "$T/m" --logfile "$T/m.log" &
pids+=($!)
redis-server --bind 127.0.0.1 --port "$PR" --save '' --appendonly no --dir "$T/r" --logfile "$T/r.log" \
  --replicaof 127.0.0.1 "$PM" &
RPID=$!
pids+=($RPID)
for _ in $(seq 200); do
  redis-cli -p "$PM" INFO replication 2>/dev/null | grep -q "slave0:.*state=online" && break
  sleep 0.05
done
export SYNCQ_BROKER_URL="redis://127.0.0.1:$PM/0" SYNCQ_BROKER_MIN_REPLICAS=1
cat > rules <<'R'
replicas_behind: replicas_missing > 0 severity critical summary "replicas missing"
failover: failover_age < 600 severity warning summary "failover"
R
"$S" monitor serve --listen 127.0.0.1:0 --port-file "$T/port" --rules rules --logfile "$T/serve.log" &
pids+=($!)
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
U="http://127.0.0.1:$(cat "$T/port" 2>/dev/null)"

"$S" monitor health --json > h1.json
check "in sync: no replicas reason" "False" "$(json '"replicas" in [r["check"] for r in d["reasons"]]' < h1.json)"
curl -s "$U/metrics" > m1.txt
contains "in sync: metric" '^syncq_broker_replicas_in_sync 1$' m1.txt
contains "min replicas metric" '^syncq_broker_min_replicas 1$' m1.txt
contains "replica lag metric" "^syncq_broker_replica_lag_seconds\{replica=\"127\.0\.0\.1:$PR\",state=\"online\"\} [0-9]+$" m1.txt
contains "no TLS" '^syncq_broker_tls 0$' m1.txt
contains "no failover" '^syncq_broker_failovers_total 0$' m1.txt
curl -s "$U/api/overview" > o1.json
check "snapshot master" "127.0.0.1:$PM" "$(json 'd["broker"]["topology"]["master"]' < o1.json)"
check "snapshot replica" "127.0.0.1:$PR online" "$(json '" ".join([d["broker"]["topology"]["replicas"][0][k] for k in ("addr","state")])' < o1.json)"

kill -9 "$RPID"
for _ in $(seq 200); do
  redis-cli -p "$PM" INFO replication 2>/dev/null | grep -q "^connected_slaves:0" && break
  sleep 0.05
done
"$S" monitor health --json > h2.json
check "replica gone: replicas reason" "True" "$(json '"replicas" in [r["check"] for r in d["reasons"]]' < h2.json)"
contains "replica gone: message" '0 of 1 replicas required by SYNCQ_BROKER_MIN_REPLICAS are in sync' h2.json
state=""
for _ in $(seq 100); do
  curl -s "$U/api/alerts" > a.json
  state=$(json '{a["name"]: a["state"] for a in d["alerts"]}.get("replicas_behind", "")' < a.json)
  [ "$state" = firing ] && break
  sleep 0.2
done
check "replicas_behind fires" firing "$state"
check "failover rule inactive" inactive "$(json '{a["name"]: a["state"] for a in d["alerts"]}.get("failover", "")' < a.json)"
curl -s "$U/metrics" > m2.txt
contains "replica gone: metric" '^syncq_broker_replicas_in_sync 0$' m2.txt
finish it_monitor_topology
