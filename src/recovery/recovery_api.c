/* SPDX-License-Identifier: MIT
 *
 * recovery_api.c: the public retry-policy functions of syncq/recovery.h,
 * thin wrappers over recovery_policy.c (the worker uses the internal
 * struct; the public one is the same fields, kept separate so the
 * internal side can change without an ABI break).
 */
#include "recovery/recovery.h"
#include "sq_error.h"

#include <string.h>
#include <syncq/recovery.h>
#include <syncq/task.h>

static void
to_public(const struct sq_retry_policy *in, syncq_retry_policy *out)
{
    out->retryable = in->retryable;
    out->base_ms = in->base_ms;
    out->factor = in->factor;
    out->max_ms = in->max_ms;
    out->max_retries = in->max_retries;
    out->jitter = in->jitter;
    out->dead_letter = in->dead_letter;
}

static void
to_internal(const syncq_retry_policy *in, struct sq_retry_policy *out)
{
    out->retryable = in->retryable;
    out->base_ms = in->base_ms;
    out->factor = in->factor;
    out->max_ms = in->max_ms;
    out->max_retries = in->max_retries;
    out->jitter = in->jitter;
    out->dead_letter = in->dead_letter;
}

int
syncq_retry_policy_get(const syncq_config *cfg, const char *task_policy_json,
                       const char *call_policy_json, int error_class,
                       int max_retries, syncq_retry_policy *out,
                       syncq_error *err)
{
    struct sq_retry_policy p;
    int rc = sq_retry_policy_for(cfg, task_policy_json, call_policy_json,
                                 error_class, max_retries, &p, err);

    if (rc == SYNCQ_OK) {
        to_public(&p, out);
    }
    return rc;
}

int
syncq_retry_policy_check(const char *json, size_t len, syncq_error *err)
{
    struct sq_retry_policy p = *sq_retry_policy_builtin(SYNCQ_ERR_NETWORK);

    if (json == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "retry policy is NULL");
    }
    /* the whole document is validated whatever class is applied */
    return sq_retry_policy_apply(json, len, "retry policy",
                                 SYNCQ_ERR_NETWORK, &p, err);
}

int64_t
syncq_retry_backoff_ms(const syncq_retry_policy *p, int retry_index)
{
    struct sq_retry_policy q;

    to_internal(p, &q);
    return sq_retry_backoff_ms(&q, retry_index);
}
