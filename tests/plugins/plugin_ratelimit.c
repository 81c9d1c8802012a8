/* SPDX-License-Identifier: MIT
 *
 * plugin_ratelimit.c: tasks with a registered rate limit for
 * it_worker_ratelimit.sh, loaded by `syncq worker --plugin`.
 *
 *   rtest.tick   rate_limit "5/s": returns {"at_ms": wall-clock ms at its
 *                start}, so the test measures how starts were spaced
 *   rtest.free   no rate limit: the same, to show it is not held back
 *
 * With RTEST_BAD_RATE set in the environment rtest.free is given that
 * rate, which syncq_registry_set_rate_limit must refuse.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <syncq/syncq.h>
#include <time.h>

#include "plugin_util.h"

int syncq_plugin_init(syncq_registry *r, int abi, syncq_error *err);

static int
tick(syncq_ctx *ctx)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return syncq_ctx_succeed(ctx, json_pack("{s:I}", "at_ms",
                                            (json_int_t)ts.tv_sec * 1000 +
                                                ts.tv_nsec / 1000000));
}

static const syncq_task_def defs[] = {
    {"rtest.tick", tick, NULL, -1, 0, 0, -1, NULL, "",
     "returns its start time; at most 5 a second per worker", NULL},
    {"rtest.free", tick, NULL, -1, 0, 0, -1, NULL, "",
     "returns its start time; no rate limit", NULL},
};

int
syncq_plugin_init(syncq_registry *r, int abi, syncq_error *err)
{
    const char *bad = getenv("RTEST_BAD_RATE");
    int rc = sq_test_plugin_register(r, abi, defs,
                                     sizeof defs / sizeof defs[0], err);

    if (rc == SYNCQ_OK) {
        rc = syncq_registry_set_rate_limit(r, "rtest.tick", "5/s", err);
    }
    if (rc == SYNCQ_OK && bad != NULL) {
        rc = syncq_registry_set_rate_limit(r, "rtest.free", bad, err);
    }
    return rc;
}
