# SPDX-License-Identifier: MIT
#
# browser_lib.sh: what the browser tests share (sourced after SYNCQ_* are
# read): BR (tests/browser), ART (the artifacts folder, screenshots are
# kept there), node and Debian's Chromium present, playwright-core
# installed with `npm ci` when node_modules is missing, and `pids` /
# `cleanup` for the processes a test starts (trap cleanup EXIT).
BR="$SYNCQ_SOURCE_DIR/tests/browser"
ART="${SYNCQ_BUILD_DIR:-$SYNCQ_TEST_DIR}/artifacts"
mkdir -p "$ART"
command -v node >/dev/null || { echo "node not installed (scripts/bootstrap)" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "chromium not installed (scripts/bootstrap)" >&2; exit 1; }
if [ ! -d "$BR/node_modules/playwright-core" ]; then
  (cd "$BR" && npm ci --no-audit --no-fund >"$SYNCQ_TEST_DIR/npm.log" 2>&1) ||
    { echo "npm ci failed:" >&2; cat "$SYNCQ_TEST_DIR/npm.log" >&2; exit 1; }
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
