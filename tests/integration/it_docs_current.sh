#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_docs_current.sh: the generated documents match the binary (settings
# reference, .env.example, CLI reference). Run tools/gen-docs.sh after
# changing a setting or a command's help.
set -u
src=${SYNCQ_SOURCE_DIR:?}
tmp=$(mktemp -d)
mkdir -p "$tmp/docs" "$tmp/deploy" "$tmp/tools"
cp "$src/tools/gen-docs.sh" "$tmp/tools/"
(cd "$tmp" && tools/gen-docs.sh "$SYNCQ_BIN" >/dev/null) || { echo "gen-docs failed"; exit 1; }
rc=0
for f in docs/configuration.md deploy/.env.example docs/cli.md; do
  if ! diff -u "$src/$f" "$tmp/$f" > "$tmp/diff"; then
    echo "FAIL $f is out of date; run tools/gen-docs.sh"; head -40 "$tmp/diff"; rc=1
  else
    echo "ok   $f"
  fi
done
rm -rf "$tmp"
exit $rc
