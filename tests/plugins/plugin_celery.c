/* SPDX-License-Identifier: MIT
 *
 * plugin_celery.c: tasks with positional arguments for the Celery canvas
 * tests (it_celery_canvas.sh), loaded by `syncq worker --plugin`. A
 * Celery chain or callback passes the parent's result as the first
 * positional argument, which the built-in syncq.* tasks (keyword
 * arguments only) do not take.
 *
 *   ctest.add   *numbers: returns their sum (Celery's canonical `add`);
 *               a non-number fails the task (class validation)
 *   ctest.echo  *args, **kwargs: returns {"args": [...], "kwargs": {...}}
 *               (an errback gets the failed task's id as args[0])
 */
#include <jansson.h>
#include <stdio.h>
#include <syncq/syncq.h>

#include "plugin_util.h"

int syncq_plugin_init(syncq_registry *r, int abi, syncq_error *err);

static int
add(syncq_ctx *ctx)
{
    json_t *args = syncq_ctx_args(ctx);
    double sum = 0;
    size_t i;
    json_t *v;

    json_array_foreach(args, i, v) {
        if (!json_is_number(v)) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                                  "args[%zu] is not a number", i);
        }
        sum += json_number_value(v);
    }
    return syncq_ctx_succeed(ctx, json_real(sum));
}

static int
echo(syncq_ctx *ctx)
{
    return syncq_ctx_succeed(ctx, json_pack("{s:O,s:O}", "args",
                                            syncq_ctx_args(ctx), "kwargs",
                                            syncq_ctx_kwargs(ctx)));
}

static const syncq_task_def defs[] = {
    {"ctest.add", add, NULL, -1, 0, 0, -1, NULL, "*numbers",
     "sum of the positional arguments", NULL},
    {"ctest.echo", echo, NULL, -1, 0, 0, -1, NULL, "*args, **kwargs",
     "return the arguments", NULL},
};

int
syncq_plugin_init(syncq_registry *r, int abi, syncq_error *err)
{
    return sq_test_plugin_register(r, abi, defs, sizeof defs / sizeof defs[0],
                                   err);
}
