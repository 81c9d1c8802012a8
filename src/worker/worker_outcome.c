/* SPDX-License-Identifier: MIT
 *
 * worker_outcome.c: turn a finished task run into what the broker
 * records: SUCCESS with the serialised result, or a failure that the
 * retry policy of its error class (recovery/recovery.h) makes a RETRY
 * with a delay, a final FAILURE, or a FAILURE parked in the dead-letter
 * queue. Pure computation: no I/O besides a warning log line.
 */
#include "worker/worker_ctx.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_task.h"
#include "recovery/recovery.h"

#include <stdio.h>
#include <string.h>

void
sq_outcome_cleanup(struct sq_outcome *o)
{
    if (o != NULL) {
        sq_free(o->result_json);
        o->result_json = NULL;
    }
}

void
sq_outcome_for_failure(const syncq_config *cfg, const syncq_task_def *def,
                       const char *call_policy, int max_retries, int retries,
                       int cls, const char *msg, int64_t retry_after_ms,
                       struct sq_outcome *out)
{
    struct sq_retry_policy p;
    syncq_error err;
    int64_t delay = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (cls <= SYNCQ_ERR_NONE || cls >= SYNCQ_ERR__COUNT) {
        cls = SYNCQ_ERR_INTERNAL;
    }
    snprintf(out->err_class, sizeof out->err_class, "%s",
             syncq_error_class_name(cls));
    snprintf(out->err_msg, sizeof out->err_msg, "%s", msg ? msg : "");
    {
        /* the call's max_retries, else the definition's; the policies
         * stack (sq_retry_policy_for) */
        struct sq_task_settings given, eff;
        sq_task_settings_init(&given);
        given.max_retries = max_retries;
        given.call_policy = call_policy;
        sq_task_resolve(def, &given, NULL, &eff);
        rc = sq_retry_policy_for(cfg, eff.task_policy, eff.call_policy, cls,
                                 eff.max_retries, &p, &err);
    }
    if (rc != SYNCQ_OK) {
        char q[300];
        /* A broken policy must not make a task bounce forever: the
         * failure is final and the message says why. */
        SQ_WARN("worker.policy_invalid", "task=%s class=%s err=%s",
                def != NULL ? def->name : "?", out->err_class,
                sq_log_quote(err.msg, q, sizeof q));
        out->kind = SQ_OUT_FAIL;
        snprintf(out->err_msg, sizeof out->err_msg, "%.700s (retry policy "
                 "unusable: %.250s)", msg ? msg : "", err.msg);
        return;
    }
    switch (sq_retry_decide(&p, retries, retry_after_ms, &delay)) {
    case SQ_RETRY_AGAIN:
        out->kind = SQ_OUT_RETRY;
        out->delay_ms = delay > 0 ? delay : 0;
        break;
    case SQ_RETRY_DEAD:
        out->kind = SQ_OUT_FAIL;
        out->dead = true;
        break;
    case SQ_RETRY_FAIL:
    default:
        out->kind = SQ_OUT_FAIL;
        break;
    }
}

int
sq_outcome_from_ctx(struct syncq_ctx *ctx, int64_t max_payload,
                    struct sq_outcome *out, syncq_error *err)
{
    memset(out, 0, sizeof *out);
    if (ctx->outcome == SQ_CTX_OK) {
        char *s = json_dumps(ctx->result != NULL ? ctx->result : json_null(),
                             JSON_COMPACT | JSON_ENCODE_ANY);
        size_t n;
        if (s == NULL) {
            syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL,
                           "result cannot be serialised (a string that is "
                           "not UTF-8, or out of memory)");
        } else if (max_payload > 0 && (n = strlen(s)) > (size_t)max_payload) {
            sq_free(s);
            syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL,
                           "result too large: %zu bytes, limit %lld "
                           "(SYNCQ_MAX_PAYLOAD)",
                           n, (long long)max_payload);
        } else {
            out->kind = SQ_OUT_OK;
            out->result_json = s;
            return SYNCQ_OK;
        }
    }
    if (ctx->deferred) {
        /* a wait the task did not cause: no policy, no budget; but not
         * for ever: past SYNCQ_TASK_MAX_DEFERRALS it is a dead letter */
        int64_t max = ctx->cfg != NULL
                          ? syncq_config_int(ctx->cfg,
                                             "SYNCQ_TASK_MAX_DEFERRALS")
                          : 0;
        snprintf(out->err_class, sizeof out->err_class, "%s",
                 syncq_error_class_name(ctx->error_class));
        if (max > 0 && ctx->deferrals >= max) {
            out->kind = SQ_OUT_FAIL;
            out->dead = true;
            snprintf(out->err_msg, sizeof out->err_msg,
                     "deferred %lld times, the limit "
                     "(SYNCQ_TASK_MAX_DEFERRALS); last wait: %s",
                     (long long)ctx->deferrals, ctx->error_msg);
            return SYNCQ_OK;
        }
        out->kind = SQ_OUT_DEFER;
        snprintf(out->err_msg, sizeof out->err_msg, "%s", ctx->error_msg);
        out->delay_ms = ctx->retry_after_ms > 0 ? ctx->retry_after_ms : 1;
        return SYNCQ_OK;
    }
    sq_outcome_for_failure(ctx->cfg, ctx->def, ctx->call_policy,
                           ctx->max_retries, ctx->retries, ctx->error_class,
                           ctx->error_msg, ctx->retry_after_ms, out);
    (void)err;
    return SYNCQ_OK;
}
