#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# repo_standalone.sh: the repository stands alone. No tracked file may
# point outside the checkout at the sibling reference directory (the
# pattern below is spelled with escapes so this file does not match
# itself). The fixtures the tests read are tests/fixtures/, the scenario
# ids tests and docs cite are in docs/known-failures.md.
set -u
src=${SYNCQ_SOURCE_DIR:?}
cd "$src" || exit 1
pat='\.\./shared'
if [ -e .git ]; then
  hits=$(git grep -n -I -E "$pat" -- . 2>/dev/null)
else
  # A source tarball: every file counts.
  hits=$(grep -rn -I -E "$pat" . --exclude-dir=build --exclude-dir=build-asan)
fi
rc=0
if [ -n "$hits" ]; then
  echo "FAIL files refer to the sibling reference directory:"
  echo "$hits"
  rc=1
else
  echo "ok   no tracked file refers outside the repository"
fi
# The fixture directories the tests read exist with their source notes.
for f in tests/fixtures/1688/SOURCES.md tests/fixtures/celery-wire/README.md \
         tests/fixtures/1688/raw/detail-page-init-data-sku-priced.json \
         tests/fixtures/celery-wire/msg_plain_fetch_products.json; do
  if [ -s "$f" ]; then echo "ok   $f"; else echo "FAIL $f missing"; rc=1; fi
done
# Every scenario id cited in code, tests or docs (C01, C41 ...) is
# described in docs/known-failures.md.
cited=$(git grep -h -o -E 'known-failures[^C]{0,40}(C[0-9]{2}[ ,]*)+' -- . \
          ':!docs/known-failures.md' 2>/dev/null |
        grep -o -E 'C[0-9]{2}' | sort -u)
for id in $cited; do
  if grep -q "^| $id |" docs/known-failures.md; then
    echo "ok   $id in docs/known-failures.md"
  else
    echo "FAIL $id is cited but not in docs/known-failures.md"; rc=1
  fi
done
exit $rc
