#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# repo_symbols.sh: libsyncq exports exactly its public API. The functions
# declared SYNCQ_API in include/syncq/*.h are compared with the dynamic
# symbols the built library defines (nm -D): a symbol exported but not
# declared leaks an internal; one declared but not exported is a broken
# promise (a program using it fails to link, a ctypes user fails to load).
# Also: the library has a SONAME with the major version.
set -u
src=${SYNCQ_SOURCE_DIR:?}
lib=${SYNCQ_LIB:?path of the built libsyncq (set by ctest)}
command -v nm >/dev/null || { echo "FAIL nm not installed (binutils)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# `SYNCQ_API <type> <name>(` in the headers; the macro's own #define lines
# are not declarations.
grep -h -v '^#' "$src"/include/syncq/*.h |
  grep -o 'SYNCQ_API[^(;]*(' | sed 's/($//' | grep -o '[A-Za-z_][A-Za-z_0-9]*$' |
  sort -u >"$tmp/declared"
# Defined dynamic symbols, without what the toolchain adds by itself
# (_init/_fini, and the sanitizers' instrumentation in a sanitizer build).
nm -D --defined-only "$lib" | awk '{ print $NF }' |
  grep -v -E '^(_init|_fini|__odr_asan_gen_.*|___?asan.*|__ubsan.*)$' |
  sed 's/@.*//' | sort -u >"$tmp/exported"
rc=0
n=$(wc -l <"$tmp/declared")
[ "$n" -gt 50 ] || { echo "FAIL only $n SYNCQ_API declarations found"; rc=1; }
if ! diff "$tmp/declared" "$tmp/exported" >"$tmp/diff"; then
  echo "FAIL exported symbols differ from the SYNCQ_API declarations"
  echo "  (< declared, not exported; > exported, not declared):"
  grep '^[<>]' "$tmp/diff" | sed 's/^/  /'
  rc=1
else
  echo "ok   $n SYNCQ_API functions = the $(wc -l <"$tmp/exported") exported symbols"
fi
so=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
case $so in
libsyncq.so.[0-9]*) echo "ok   SONAME $so" ;;
*) echo "FAIL SONAME is '$so', expected libsyncq.so.<major>"; rc=1 ;;
esac
exit $rc
