#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_bench_catalog.sh: bench/catalog at a small size (issue 19): 60 offers
# in 20 categories (the fewest that leave no leaf empty), faults on, a
# private PostgreSQL, images with thumbnails, 2 children per queue. The first run stores every offer of
# the fixture's catalog exactly once; the second, against the fixture's
# next revision (--change 5), changes exactly the rows of changed_ids and
# sync_products updates exactly that many. The figures are printed (CPU
# per process type, peak RSS per child, a bound) and no child died. Bad
# --categories / --change values and a bad size are clear usage errors.
# TEST_TIMEOUT: 600
# TEST_LABELS: slow
set -u
S=${SYNCQ_BIN:?}
R=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/checks.sh"

for bad in "--categories 0" "--categories 21" "--change 101" "--change x"; do
  # shellcheck disable=SC2086
  "$S" demo $bad > bad.txt 2>&1
  check "demo $bad: exit" 2 "$?"
  contains "demo $bad: message" "^syncq: demo: --(categories|change) '[^']*' is not" bad.txt
done
SYNCQ_BIN=$S "$R/bench/catalog" 4x > bad.txt 2>&1
check "bench size 4x: exit" 2 "$?"
contains "bench size 4x: message" "OFFERS '4x' is not a number" bad.txt

SYNCQ_BIN=$S "$R/bench/catalog" 60 > b.txt 2>&1
check "bench: exit" 0 "$?"
contains "bench: passed" "^bench/catalog: PASSED" b.txt
# first run: the whole catalog, once
check "rows = offers, both runs" 2 "$(grep -cE 'check  product rows = offers in the catalog +60 \(expected 60\)  ok' b.txt)"
check "missing rows, both runs" 2 "$(grep -cE 'check  catalog offers without their row +0 \(expected 0\)  ok' b.txt)"
check "rows not in the catalog, both runs" 2 "$(grep -cE 'check  rows of offers not in the catalog +0 \(expected 0\)  ok' b.txt)"
# second run: exactly the changed ones (5 % of 60, chosen by the seed: not 0)
changed=$(sed -n 's/.*check  rows changed by this run = changed_ids *\([0-9]*\) (expected \([0-9]*\))  ok/\1 \2/p' b.txt)
check "second run: changed rows = changed_ids" 1 "$(echo "$changed" | awk '$1 == $2 && $1 > 0 {print 1}')"
contains "second run: updated = changed_ids" "check  sync_products updated = changed_ids +[1-9][0-9]* \(expected [1-9][0-9]*\)  ok" b.txt
contains "second run: nothing inserted" "check  sync_products inserted +0 \(expected 0\)  ok" b.txt
check "no check failed" 0 "$(grep -c 'FAILED' b.txt)"
# the figures
contains "CPU of the image workers" "^  workers image_processing +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$" b.txt
contains "CPU of PostgreSQL" "^  postgresql +[0-9.]+" b.txt
contains "CPU of the fixture server" "^  fixture +[0-9.]+" b.txt
contains "peak RSS of the image children" "workers image_processing \(pid:peak\):" b.txt
contains "a bound is named" "^  bound: " b.txt
contains "projection" "^projection to 1,000,000 offers" b.txt
check "no worker child died" 0 "$(grep -E 'children that died [1-9]' b.txt | wc -l)"
contains "second run timed" "== second run \(--change 5, incremental\): exit 0 after [0-9.]+ s" b.txt
finish it_bench_catalog
