#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_python_client.sh: the Python client's own tests (python/tests, run
# with Debian's python3 and python3-pytest) against this test's private
# Redis, a real `syncq worker` the tests start, and build/libsyncq.so.
# TEST_TIMEOUT: 240
set -u
SRC=${SYNCQ_SOURCE_DIR:?}
BUILD=${SYNCQ_BUILD_DIR:?}
PY=/usr/bin/python3
"$PY" -c 'import pytest' 2>/dev/null ||
  { echo "python3-pytest is not installed (scripts/bootstrap)" >&2; exit 1; }
export SYNCQ_LIBRARY="$BUILD/libsyncq.so"
# A sanitizer build's library needs the ASan runtime first in the process
# (python3 itself is not instrumented): preload it; the interpreter's own
# lifetime allocations are not this test's leaks.
asan=$(ldd "$SYNCQ_LIBRARY" | awk '/libasan/ {print $3}')
if [ -n "$asan" ]; then
  export LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0
fi
cd "$SRC/python" || exit 1
exec "$PY" -m pytest -q -p no:cacheprovider tests
