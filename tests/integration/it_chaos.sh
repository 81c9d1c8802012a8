#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_chaos.sh: the light fault run (bench/chaos --light, issue 12): 10,000
# tasks with 5 worker SIGKILLs, a Redis SIGTERM restart and a MISCONF
# period, 3 beats with the leader SIGKILLed every 20 s: no task lost, no
# outcome recorded twice or refused, no tick fired twice or missed, and
# no fault logged more than 100 lines a second (the flood of issue 12
# was 7,000-9,000).
# TEST_TIMEOUT: 240
set -euo pipefail
exec bash "$SYNCQ_SOURCE_DIR/bench/chaos" --light
