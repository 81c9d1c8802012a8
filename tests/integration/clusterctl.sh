#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# clusterctl.sh ACTION DIR ...: a private Redis Cluster on free loopback
# ports for tests and measurements (the cluster sibling of redisctl.sh).
#   start DIR [MASTERS [REPLICAS]]  MASTERS (3) masters with REPLICAS (1)
#                      replicas each, cluster-node-timeout 1000 ms, made
#                      with `redis-cli --cluster create`; waits until every
#                      node says cluster_state:ok. Ports in DIR/ports.
#   seeds DIR          "127.0.0.1:P1,127.0.0.1:P2,..." (for a URL)
#   owner DIR SLOT     port of the master serving SLOT
#   other DIR PORT     port of a master other than PORT
#   replica DIR PORT   port of a replica of master PORT
#   move DIR SLOT PORT migrate SLOT live to master PORT (CLUSTER SETSLOT
#                      IMPORTING/MIGRATING, MIGRATE of every key, SETSLOT
#                      NODE on both, as `redis-cli --cluster reshard` does
#                      for one chosen slot)
#   move-begin / move-end DIR SLOT PORT  the two halves of move: after
#                      move-begin every key is on PORT but the slot still
#                      belongs to the source (which answers ASK)
#   reshard DIR SLOT PORT  the same with `redis-cli --cluster reshard`: it
#                      moves the source's lowest slots first, so every slot
#                      of the source up to SLOT moves (keys in batches of
#                      SQ_CLUSTER_PIPELINE, 10)
#   kill DIR PORT      SIGKILL the node on PORT
#   restart DIR PORT   start it again (its nodes.conf: it rejoins)
#   wait-ok DIR [S]    until every live node says cluster_state:ok (S s, 30)
#   stop DIR           SIGKILL every node
# Every node runs with --save '' --appendonly yes --appendfsync everysec
# in DIR/<port>/. Needs redis-server and redis-cli >= 7.0 (CLUSTER SHARDS).
# SQ_CLUSTER_TLS=PKI (a tlscerts.sh directory): every node listens with
# TLS only (--tls-port, tls-cluster and tls-replication on, client
# certificates not required), and redis-cli talks TLS.
set -u
tls_srv=() tls_cli=()
if [ -n "${SQ_CLUSTER_TLS:-}" ]; then
  k=$SQ_CLUSTER_TLS
  tls_cli=(--tls --cacert "$k/ca.crt")
fi
act=${1:-}
d=${2:-}
[ -n "$act" ] && [ -n "$d" ] || { echo "usage: clusterctl.sh start|seeds|owner|other|replica|move|kill|restart|wait-ok|stop DIR ..." >&2; exit 2; }
cli() { local p=$1; shift; redis-cli "${tls_cli[@]}" -h 127.0.0.1 -p "$p" "$@"; }
ports() { cat "$d/ports"; }
# A free port P whose cluster bus port P+10000 is free too (and below
# 65536: redis-server refuses a cluster port above 55535).
free_port() {
  python3 - <<'PY'
import socket, random
for _ in range(1000):
    p = random.randint(20000, 55000)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
    except OSError:
        continue
    print(p); break
PY
}
start_node() { # PORT
  local p=$1
  mkdir -p "$d/$p"
  if [ -n "${SQ_CLUSTER_TLS:-}" ]; then
    tls_srv=(--port 0 --tls-port "$p" --tls-cluster yes --tls-replication yes
             --tls-cert-file "$k/server.crt" --tls-key-file "$k/server.key"
             --tls-ca-cert-file "$k/ca.crt" --tls-auth-clients no)
  else
    tls_srv=(--port "$p")
  fi
  redis-server "${tls_srv[@]}" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$d/$p/nodes.conf" --cluster-node-timeout 1000 \
    --dir "$d/$p" --save '' --appendonly yes --appendfsync everysec \
    --repl-diskless-sync-delay 0 \
    --logfile "$d/$p/redis.log" --daemonize yes --pidfile "$d/$p/pid" \
    || return 1
  for _ in $(seq 100); do
    cli "$p" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "clusterctl: node $p did not answer PING" >&2
  return 1
}
state_ok() { # PORT
  cli "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}
# nodes line fields: id addr flags master ping pong epoch link slots...
node_id() { cli "$1" cluster myid; }
role_lines() { cli "$(live_port)" cluster nodes; }
live_port() {
  local p
  for p in $(ports); do
    cli "$p" ping 2>/dev/null | grep -q PONG && { echo "$p"; return 0; }
  done
  return 1
}
case "$act" in
start)
  m=${3:-3} r=${4:-1}
  mkdir -p "$d"
  : > "$d/ports"
  addrs=()
  for _ in $(seq $((m * (r + 1)))); do
    p=$(free_port)
    start_node "$p" || exit 1
    echo "$p" >> "$d/ports"
    addrs+=("127.0.0.1:$p")
  done
  redis-cli "${tls_cli[@]}" --cluster create "${addrs[@]}" --cluster-replicas "$r" \
    --cluster-yes > "$d/create.log" 2>&1 \
    || { echo "clusterctl: cluster create failed" >&2; tail -5 "$d/create.log" >&2; exit 1; }
  "$0" wait-ok "$d" 30 ;;
seeds)
  ports | sed 's/^/127.0.0.1:/' | paste -sd, ;;
owner)
  s=$3
  role_lines | awk -v s="$s" '$3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) {
        n = split($i, r, "-"); a = r[1]; b = (n > 1) ? r[2] : r[1]
        if ($i !~ /^\[/ && s + 0 >= a + 0 && s + 0 <= b + 0) {
          split($2, h, "[:@]"); print h[2]; exit } } }' ;;
other)
  role_lines | awk -v p="$3" '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9 {
      split($2, h, "[:@]"); if (h[2] != p) { print h[2]; exit } }' ;;
replica)
  id=$(node_id "$3")
  role_lines | awk -v id="$id" '$4 == id && $3 !~ /fail/ {
      split($2, h, "[:@]"); print h[2]; exit }' ;;
move|move-begin|move-end)
  s=$3 to=$4
  dst=$(node_id "$to")
  if [ "$act" != move-end ]; then
    from=$("$0" owner "$d" "$s")
    [ -n "$from" ] && [ "$from" != "$to" ] || { echo "clusterctl: slot $s is on '$from', not movable to $to" >&2; exit 1; }
    echo "$from" > "$d/moving.$s"
    src=$(node_id "$from")
    cli "$to" cluster setslot "$s" importing "$src" >/dev/null || exit 1
    cli "$from" cluster setslot "$s" migrating "$dst" >/dev/null || exit 1
    while :; do
      mapfile -t keys < <(cli "$from" cluster getkeysinslot "$s" 1000)
      [ "${#keys[@]}" -gt 0 ] && [ -n "${keys[0]}" ] || break
      out=$(cli "$from" migrate 127.0.0.1 "$to" "" 0 10000 REPLACE KEYS "${keys[@]}")
      [ "$out" = OK ] || { echo "clusterctl: MIGRATE: $out" >&2; exit 1; }
    done
  fi
  [ "$act" = move-begin ] && exit 0
  from=$(cat "$d/moving.$s")
  cli "$to" cluster setslot "$s" node "$dst" >/dev/null || exit 1
  cli "$from" cluster setslot "$s" node "$dst" >/dev/null || exit 1
  for p in $(ports); do
    [ "$p" = "$to" ] || [ "$p" = "$from" ] || cli "$p" cluster setslot "$s" node "$dst" >/dev/null 2>&1
  done
  rm -f "$d/moving.$s"
  echo "moved slot $s from $from to $to" ;;
reshard)
  # redis-cli --cluster reshard moves the source's lowest slots first: move
  # as many as it takes to include SLOT, keys in batches of
  # SQ_CLUSTER_PIPELINE (redis-cli's default 10)
  s=$3 to=$4
  from=$("$0" owner "$d" "$s")
  [ -n "$from" ] && [ "$from" != "$to" ] || { echo "clusterctl: slot $s is on '$from', not movable to $to" >&2; exit 1; }
  n=$(role_lines | awk -v p="$from" -v s="$s" '{ split($2, h, "[:@]") }
      h[2] == p { for (i = 9; i <= NF; i++) if ($i !~ /^\[/) {
        k = split($i, r, "-"); a = r[1]; b = (k > 1) ? r[2] : r[1]
        if (b + 0 > s + 0) b = s; if (a + 0 <= b + 0) c += b - a + 1 } }
      END { print c + 0 }')
  redis-cli "${tls_cli[@]}" --cluster reshard "127.0.0.1:$from" --cluster-from "$(node_id "$from")" \
    --cluster-to "$(node_id "$to")" --cluster-slots "$n" --cluster-yes \
    --cluster-pipeline "${SQ_CLUSTER_PIPELINE:-10}" > "$d/reshard.log" 2>&1 \
    || { echo "clusterctl: reshard failed" >&2; tail -3 "$d/reshard.log" >&2; exit 1; }
  echo "resharded $n slots (up to $s) from $from to $to" ;;
kill)
  pid=$(cat "$d/$3/pid" 2>/dev/null) || exit 0
  kill -9 "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$d/$3/pid" ;;
restart)
  start_node "$3" ;;
wait-ok)
  lim=${3:-30}
  for _ in $(seq $((lim * 10))); do
    ok=1
    for p in $(ports); do
      cli "$p" ping 2>/dev/null | grep -q PONG || continue
      state_ok "$p" || { ok=0; break; }
    done
    [ "$ok" = 1 ] && exit 0
    sleep 0.1
  done
  echo "clusterctl: cluster_state not ok after $lim s" >&2
  exit 1 ;;
stop)
  for p in $(ports 2>/dev/null); do
    pid=$(cat "$d/$p/pid" 2>/dev/null) && kill -9 "$pid" 2>/dev/null
  done
  exit 0 ;;
*) echo "clusterctl: unknown action $act" >&2; exit 2 ;;
esac
