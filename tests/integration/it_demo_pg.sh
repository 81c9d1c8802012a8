#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_demo_pg.sh: `syncq demo --database postgresql` (issue 19): the demo
# starts its own PostgreSQL in <var>/pg on a unix socket only (no TCP),
# syncs a 60-offer catalog into it, stops it; a second run finds the same
# cluster and is incremental. A bad --database URL is a clear error.
# TEST_TIMEOUT: 600
# TEST_LABELS: slow
set -u
S=${SYNCQ_BIN:?}
. "$(dirname "$0")/checks.sh"
ls /usr/lib/postgresql/*/bin/pg_ctl > /dev/null 2>&1 || { echo "FAIL: PostgreSQL server binaries missing (scripts/bootstrap)" >&2; exit 1; }
# Short and reachable by user postgres (the server's user when root).
V=$(mktemp -d /tmp/sq-dpg.XXXXXX)
chmod 755 "$V"
trap 'rm -rf "$V"' EXIT

"$S" demo --products 60 --workers 2 --faults none --var "$V" \
  --database postgresql --timeout 8m > d1.txt 2>&1
check "first run: exit" 0 "$?"
contains "first run: full" "first, full run" d1.txt
contains "first run: products" "products +60 in the database \(60 offers in the catalog\)" d1.txt
contains "first run: no dead letters" "dead letters +0$" d1.txt
contains "server on the unix socket" "listening on Unix socket \"$V/pg/.s.PGSQL" "$V/pg/pg.log"
check "no TCP listener" 0 "$(grep -c 'listening on IPv' "$V/pg/pg.log")"
check "server stopped after the demo" no "$([ -e "$V/pg/data/postmaster.pid" ] && echo yes || echo no)"

"$S" demo --products 60 --workers 2 --faults none --var "$V" \
  --database postgresql --timeout 8m > d2.txt 2>&1
check "second run: exit" 0 "$?"
contains "second run: incremental" "second, incremental run" d2.txt
contains "second run: same products" "products +60 in the database" d2.txt
check "second run: one cluster" 1 "$(grep -c 'database system is ready' "$V/pg/pg.log" | awk '{print ($1 >= 2) ? 1 : 0}')"

"$S" demo --products 60 --var "$V" --database 'mysql://x' --timeout 1m > d3.txt 2>&1
check "bad URL: exit" 1 "$?"
contains "bad URL: message" "unknown scheme" d3.txt
check "bad URL: server stopped" no "$([ -e "$V/pg/data/postmaster.pid" ] && echo yes || echo no)"
finish it_demo_pg
