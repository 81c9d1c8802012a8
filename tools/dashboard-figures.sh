#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/dashboard-figures.sh: the figures of docs/dashboard.md: 1,000,000
# finished task records in a private Redis, then the cost of a dashboard
# refresh, of task searches and the page weight. Run under
# tests/integration/run-with-redis.sh with SYNCQ_BIN set:
#   SYNCQ_BIN=$PWD/build/syncq tests/integration/run-with-redis.sh bash tools/dashboard-figures.sh
# Needs about 300 MB of Redis memory and 1-2 minutes to populate.
set -u
S=${SYNCQ_BIN:?}; T=${SYNCQ_TEST_DIR:?}; SOCK=${SYNCQ_REDIS_SOCK:?}
cd "$T"
R() { redis-cli -s "$SOCK" "$@"; }
t0=$(date +%s.%N)
# 1,000,000 finished records (20 batches of 50,000 in Lua), the newest
# 100,000 in the recent list, 1,000 of them FAILURE
for b in $(seq 0 19); do
R EVAL "
local now = tonumber(ARGV[2])
for i = 1, 50000 do
  local n = tonumber(ARGV[1]) * 50000 + i
  local id = string.format('%08x-0000-4000-8000-%012x', n, n)
  local st = (n % 100 == 0) and 'FAILURE' or 'SUCCESS'
  redis.call('HSET', '{syncq}:t:' .. id, 'name', 'crawler.fetch_products', 'queue', 'crawler', 'state', st,
    'ct', now - n, 'dt', now - n + 5, 'rt', 5, 'attempt', 1, 'kwargs', '{\"category_id\":\"1031\",\"page\":' .. (n % 50) .. '}',
    'result', '{\"offers\":20}')
  if n > 900000 then redis.call('LPUSH', '{syncq}:recent', id) end
end
return 1" 0 "$b" "$(date +%s%3N)" >/dev/null
done
echo "populated in $(echo "$(date +%s.%N) - $t0" | bc) s; keys: $(R DBSIZE); used_memory: $(R INFO memory | grep '^used_memory_human' | tr -d '\r')"
SYNCQ_API_TOKEN=w "$S" monitor serve --listen 127.0.0.1:0 --port-file port --logfile serve.log --no-alerts &
SP=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat port)"
H='Authorization: Bearer w'
curl -s -H "$H" "$B/api/overview" > /dev/null
sleep 1.2
cpu() { awk '{print $14+$15}' /proc/$SP/stat; }
c0=$(cpu); t0=$(date +%s%N)
for i in $(seq 20); do curl -s -H "$H" "$B/api/overview" > ov.json; sleep 1.05; done
c1=$(cpu); t1=$(date +%s%N)
echo "overview x20 (one collection each): serve CPU $(( (c1 - c0) * 10 )) ms total = $(( (c1 - c0) * 10 / 20 )) ms per refresh"
python3 -c 'import json; d=json.load(open("ov.json")); print("collection:", d["collection"])'
cmds0=$(R INFO commandstats | grep -E 'cmdstat_(evalsha|hmget|lrange|zrange|get|hgetall|smembers|xrevrange|zcard|llen|mget|scard)' | tr -d '\r')
R CONFIG RESETSTAT >/dev/null
curl -s -H "$H" "$B/api/overview" > /dev/null; sleep 1.05; curl -s -H "$H" "$B/api/overview" > /dev/null
echo "Redis calls for one /api/overview refresh (collection + alerts): $(R INFO stats | grep total_commands_processed | tr -d '\r')"
for q in "state=FAILURE&limit=25&total=0" "state=FAILURE&limit=50" "id=000186a0&limit=50" "limit=50&offset=500"; do
  R CONFIG RESETSTAT >/dev/null
  c0=$(cpu)
  s=$(date +%s%N); curl -s -H "$H" "$B/api/tasks?$q" > s.json; e=$(date +%s%N)
  c1=$(cpu)
  echo "search $q: $(( (e - s) / 1000000 )) ms wall, serve CPU $(( (c1 - c0) * 10 )) ms, $(python3 -c 'import json; d=json.load(open("s.json")); print("total", d["total"], "scanned", d["scanned"], "truncated", d["truncated"])'), Redis: $(R INFO stats | grep total_commands_processed | tr -d '\r')"
done
for p in / /tasks /static/common.js /static/app.js /static/app.css; do
  echo "weight $p: $(curl -s -H "$H" -o /dev/null -w '%{size_download}' "$B$p") B"
done
kill $SP; wait $SP 2>/dev/null
