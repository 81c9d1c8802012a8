/* SPDX-License-Identifier: MIT
 *
 * fuzz_checkpoint_payload.c: the payload of a checkpoint (the bytes a
 * task saved, read back from Redis and handed to the task that resumes;
 * the envelope around it is fuzz_checkpoint.c's) on any bytes, as the
 * worker's context gives it to a task: syncq_ctx_checkpoint_load_json
 * (any JSON value, NUL allowed) and then the built-in syncq.steps, which
 * resumes after the step it finds there. The checkpoint is the context's
 * local one (no Redis). Invariants: no crash, leak or overflow; the run
 * succeeds with 0 <= resumed_from <= total and ran = total -
 * resumed_from, or fails with a message; a payload that is not JSON is
 * never taken for a state (the task starts from step 1).
 */
#include "worker/worker_ctx.h"
#include "task_packs.h"
#include "sq_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const syncq_task_def *def;
    static syncq_config *cfg;
    struct syncq_ctx ctx;
    json_t *a, *k;

    if (def == NULL) {
        syncq_registry *r = syncq_registry_default();
        if (syncq_registry_find(r, "syncq.steps") == NULL &&
            sq_packs_init(r, SYNCQ_PLUGIN_ABI, NULL) != SYNCQ_OK) {
            abort();
        }
        def = syncq_registry_find(r, "syncq.steps");
        if (def == NULL || syncq_config_new(&cfg, NULL) != SYNCQ_OK) {
            abort();
        }
    }
    a = json_array();
    k = json_pack("{s:i,s:i}", "total", 3, "step_ms", 0);
    sq_ctx_init(&ctx, def, "fuzz", def->name, a, k, cfg);
    ctx.no_broker = true;
    ctx.local_ckpt = sq_malloc(size + 1);
    if (ctx.local_ckpt == NULL) {
        abort();
    }
    memcpy(ctx.local_ckpt, data, size);
    ctx.local_ckpt_len = size;
    ctx.local_ckpt_seq = 1;
    ctx.has_local_ckpt = true;
    sq_ctx_run(&ctx);
    if (ctx.outcome == SQ_CTX_OK) {
        json_int_t from = json_integer_value(json_object_get(ctx.result,
                                                             "resumed_from"));
        json_int_t ran = json_integer_value(json_object_get(ctx.result,
                                                            "ran"));
        json_t *j = json_loadb((const char *)data, size,
                               JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (from < 0 || from > 3 || ran != 3 - from ||
            (j == NULL && from != 0)) {
            abort();
        }
        json_decref(j);
    } else if (ctx.error_msg[0] == '\0') {
        abort();
    }
    sq_ctx_cleanup(&ctx);
    json_decref(a);
    json_decref(k);
    return 0;
}
