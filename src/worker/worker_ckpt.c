/* SPDX-License-Identifier: MIT
 *
 * worker_ckpt.c: the checkpoint calls of the task context. Storage,
 * checksums and history belong to the recovery module
 * (recovery/recovery.h); this file fences them with the task's lease
 * token, keeps a local run's checkpoint in memory when there is no
 * broker, and implements auto mode (a checkpoint of the progress with
 * every progress write).
 */
#include "worker/worker_ctx.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "recovery/recovery.h"

#include <stdio.h>
#include <string.h>

/* The broker connection, opened on demand (worker_ctx.c). */
static syncq_client *
ckpt_client(struct syncq_ctx *ctx, syncq_error *err)
{
    syncq_client *c = syncq_ctx_client(ctx);

    if (c == NULL) {
        sq_fail(err, SYNCQ_ECONN, "task %s: broker unreachable, checkpoint "
                "not stored", ctx->id);
    }
    return c;
}

int
syncq_ctx_checkpoint_save(syncq_ctx *ctx, const void *data, size_t len,
                          int64_t seq, syncq_error *err)
{
    int64_t max = ctx->cfg != NULL
                      ? syncq_config_int(ctx->cfg, "SYNCQ_CHECKPOINT_MAX")
                      : 0;
    syncq_client *c;

    if (data == NULL && len > 0) {
        return sq_fail(err, SYNCQ_EINVAL, "checkpoint data is NULL");
    }
    if (max > 0 && (int64_t)len > max) {
        return sq_fail(err, SYNCQ_ETOOBIG, "checkpoint of %zu bytes over "
                       "the limit of %lld (SYNCQ_CHECKPOINT_MAX)",
                       len, (long long)max);
    }
    if (ctx->no_broker) {
        void *copy = sq_malloc(len > 0 ? len : 1);
        if (copy == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        if (len > 0) {
            memcpy(copy, data, len);
        }
        sq_free(ctx->local_ckpt);
        ctx->local_ckpt = copy;
        ctx->local_ckpt_len = len;
        ctx->local_ckpt_seq = seq;
        ctx->has_local_ckpt = true;
        return SYNCQ_OK;
    }
    c = ckpt_client(ctx, err);
    if (c == NULL) {
        return SYNCQ_ECONN;
    }
    return sq_checkpoint_save(c, ctx->id, ctx->token, data, len, seq, err);
}

int
syncq_ctx_checkpoint_load(syncq_ctx *ctx, void **data, size_t *len,
                          int64_t *seq, syncq_error *err)
{
    syncq_client *c;

    *data = NULL;
    *len = 0;
    if (seq != NULL) {
        *seq = 0;
    }
    if (ctx->no_broker) {
        void *copy;
        if (!ctx->has_local_ckpt) {
            return sq_fail(err, SYNCQ_ENOTFOUND, "task %s has no "
                           "checkpoint", ctx->id);
        }
        copy = sq_malloc(ctx->local_ckpt_len + 1);
        if (copy == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        memcpy(copy, ctx->local_ckpt, ctx->local_ckpt_len);
        ((char *)copy)[ctx->local_ckpt_len] = '\0';
        *data = copy;
        *len = ctx->local_ckpt_len;
        if (seq != NULL) {
            *seq = ctx->local_ckpt_seq;
        }
        return SYNCQ_OK;
    }
    c = ckpt_client(ctx, err);
    if (c == NULL) {
        return SYNCQ_ECONN;
    }
    return sq_checkpoint_load(c, ctx->id, data, len, seq, err);
}

int
syncq_ctx_checkpoint_save_json(syncq_ctx *ctx, json_t *state, int64_t seq,
                               syncq_error *err)
{
    char *s;
    int rc;

    if (state == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "checkpoint state is NULL");
    }
    s = json_dumps(state, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "checkpoint state cannot be "
                       "serialised");
    }
    rc = syncq_ctx_checkpoint_save(ctx, s, strlen(s), seq, err);
    sq_free(s);
    return rc;
}

int
syncq_ctx_checkpoint_load_json(syncq_ctx *ctx, json_t **state, int64_t *seq,
                               syncq_error *err)
{
    json_error_t jerr;
    void *data = NULL;
    size_t len = 0;
    int rc;

    *state = NULL;
    rc = syncq_ctx_checkpoint_load(ctx, &data, &len, seq, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *state = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    sq_free(data);
    if (*state == NULL) {
        return sq_fail(err, SYNCQ_EPROTO, "checkpoint of task %s is not "
                       "JSON: %s", ctx->id, jerr.text);
    }
    return SYNCQ_OK;
}

int
sq_ctx_checkpoint_auto_save(struct syncq_ctx *ctx, int64_t current,
                            int64_t total)
{
    char buf[96];
    syncq_error err;
    int n = snprintf(buf, sizeof buf, "{\"current\":%lld,\"total\":%lld}",
                     (long long)current, (long long)total);
    int rc = syncq_ctx_checkpoint_save(ctx, buf, (size_t)n, current, &err);

    if (rc != SYNCQ_OK && rc != SYNCQ_ECONN) {
        char q[300];
        SQ_WARN("task.checkpoint_failed", "task_id=%s err=%s", ctx->id,
                sq_log_quote(err.msg, q, sizeof q));
    }
    return rc;
}
