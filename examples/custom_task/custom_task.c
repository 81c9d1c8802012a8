/* SPDX-License-Identifier: MIT
 *
 * custom_task.c: an example task plugin, the seed's custom.my_task. Shows
 * the whole task API a plugin needs: registration with defaults, reading
 * args and kwargs, progress, honouring stop requests, checkpoints to
 * resume after a crash, and finishing with a result or a classed error.
 *
 * custom.my_task(items=[...], step_ms=0) adds up the numbers in `items`,
 * one item per step, reporting progress and saving a checkpoint after
 * each, and returns {"sum": S, "count": N, "resumed_from": K}. A
 * non-number item fails the task with class validation (not retried).
 *
 * Build: see CMakeLists.txt; load: syncq worker --plugin custom_task.so
 * Try:   syncq task run custom.my_task --plugin ./custom_task.so \
 *            -k '{"items":[1,2,3.5]}'
 */
#include <stdio.h>
#include <syncq/syncq.h>
#include <time.h>

/* Exported: the host looks this symbol up with dlsym. */
__attribute__((visibility("default"))) int
syncq_plugin_init(syncq_registry *r, int abi_version, syncq_error *err);

static void
pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int
my_task(syncq_ctx *ctx)
{
    json_t *kw = syncq_ctx_kwargs(ctx);
    json_t *items = json_object_get(kw, "items");
    json_t *step = json_object_get(kw, "step_ms");
    json_t *state = NULL;
    int64_t seq = 0;
    size_t first = 0;
    double sum = 0;

    if (!json_is_array(items)) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "kwarg items must be an array of numbers");
    }
    /* Resume: the checkpoint holds the index reached and the sum so far. */
    if (syncq_ctx_checkpoint_load_json(ctx, &state, &seq, NULL) == SYNCQ_OK) {
        json_t *i = json_object_get(state, "next");
        json_t *s = json_object_get(state, "sum");
        if (json_is_integer(i) && json_is_number(s)) {
            first = (size_t)json_integer_value(i);
            sum = json_number_value(s);
        }
        json_decref(state);
    }
    for (size_t i = first; i < json_array_size(items); i++) {
        json_t *v = json_array_get(items, i);
        json_t *ck;
        if (syncq_ctx_stop_requested(ctx)) {
            /* The checkpoint is saved: a retry continues from here. */
            return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                                  "stopped at item %zu of %zu", i,
                                  json_array_size(items));
        }
        if (!json_is_number(v)) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                                  "item %zu is not a number", i);
        }
        sum += json_number_value(v);
        if (json_is_integer(step) && json_integer_value(step) > 0) {
            pause_ms((long)json_integer_value(step));
        }
        ck = json_pack("{s:I,s:f}", "next", (json_int_t)(i + 1), "sum", sum);
        syncq_ctx_checkpoint_save_json(ctx, ck, (int64_t)(i + 1), NULL);
        json_decref(ck);
        syncq_ctx_progress(ctx, (int64_t)(i + 1),
                           (int64_t)json_array_size(items), "adding", NULL);
    }
    syncq_ctx_log(ctx, SYNCQ_LOG_INFO, "summed %zu items",
                  json_array_size(items));
    return syncq_ctx_succeed(ctx, json_pack("{s:f,s:I,s:I}", "sum", sum,
                                            "count",
                                            (json_int_t)json_array_size(items),
                                            "resumed_from",
                                            (json_int_t)first));
}

static const syncq_task_def my_task_def = {
    .name = "custom.my_task",
    .fn = my_task,
    .queue = "default",
    .priority = SYNCQ_PRIORITY_NORMAL,
    .time_limit_ms = 600000,
    .soft_time_limit_ms = 540000,
    .max_retries = 3,
    .retry_policy_json = "{\"timeout\": {\"base_ms\": 1000}}",
    .signature = "items, step_ms=0",
    .doc = "Add up numbers, one checkpointed step per item (example plugin)",
};

int
syncq_plugin_init(syncq_registry *r, int abi_version, syncq_error *err)
{
    if (abi_version != SYNCQ_PLUGIN_ABI) {
        if (err != NULL) {
            err->code = SYNCQ_ENOTSUP;
            snprintf(err->msg, sizeof err->msg,
                     "custom_task.so built for plugin ABI %d, host has %d",
                     SYNCQ_PLUGIN_ABI, abi_version);
        }
        return SYNCQ_ENOTSUP;
    }
    return syncq_registry_add(r, &my_task_def, err);
}
