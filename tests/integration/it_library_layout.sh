#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_library_layout.sh: the layering rules of the tree, checked on the
# build and the sources (issue 11):
# - libsyncq.so needs no syncq_/sq_ symbol from elsewhere (it is whole;
#   it is also linked with -Wl,--no-undefined);
# - libsyncq.so holds no 1688 pack and no fixture-server code;
# - nothing under packs/ includes a header from src/ (packs use only
#   <syncq/...>, their own packs/ headers and the shared helpers).
set -u
lib=${SYNCQ_BUILD_DIR:?}/libsyncq.so
src=${SYNCQ_SOURCE_DIR:?}
rc=0
undef=$(nm -D --undefined-only "$lib" | awk '{print $NF}' | grep -E '^(syncq_|sq_)')
if [ -n "$undef" ]; then
  echo "FAIL libsyncq.so leaves these undefined:"; echo "$undef"; rc=1
else
  echo "ok   no syncq_/sq_ symbol undefined in libsyncq.so"
fi
n=$(nm -D --undefined-only "$lib" | wc -l)
[ "$n" -gt 0 ] || { echo "FAIL nm -D read no symbols from $lib"; rc=1; }
packs=$(nm "$lib" | awk '{print $NF}' | grep -E '^(sq_pack_|sq_packs_|sq_crawler_|sq_db_|fx_)' | head -5)
if [ -n "$packs" ]; then
  echo "FAIL libsyncq.so contains pack or fixture code:"; echo "$packs"; rc=1
else
  echo "ok   no pack or fixture symbol in libsyncq.so"
fi
[ "$(nm "$lib" | grep -c ' syncq_version$')" -eq 1 ] ||
  { echo "FAIL nm cannot see syncq_version in $lib"; rc=1; }
inc=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(core|broker|worker|beat|recovery|monitor|cli|tasks|src|\.\./)' \
        "$src/packs" --include='*.c' --include='*.h')
if [ -n "$inc" ]; then
  echo "FAIL packs/ includes headers from src/:"; echo "$inc" | sed "s#$src/##"; rc=1
else
  echo "ok   nothing under packs/ includes a header from src/"
fi
[ -d "$src/packs/crawler" ] || { echo "FAIL no packs/crawler in $src"; rc=1; }
exit $rc
