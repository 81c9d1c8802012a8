#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_worker_aof_full.sh: issue 12's MISCONF period from a genuinely full
# AOF disk (not a failed snapshot): Redis is restarted with its AOF on a
# 1 MiB tmpfs in a private mount namespace (redisctl.sh
# SQ_REDIS_AOF_LIMIT), a 4 MiB value fills it, writes answer "MISCONF
# Errors writing to the AOF file: No space left on device" until the tmpfs
# is grown; then every check of it_worker_faults.sh runs against it (the
# worker keeps its outcomes, does not hammer Redis, logs the state once,
# counts it in /metrics).
# TEST_TIMEOUT: 120
set -eu
export SQ_REDIS_AOF_LIMIT=1m
"$SQ_REDISCTL" restart
# the server writes its AOF on the small tmpfs, not in the test dir
[ -z "$(ls -A "$SYNCQ_REDIS_DIR/aof")" ] || { echo "FAIL: the AOF is not on the tmpfs" >&2; exit 1; }
SQ_FAULT=aof-full exec bash "$SYNCQ_SOURCE_DIR/tests/integration/it_worker_faults.sh"
