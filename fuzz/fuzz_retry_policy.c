/* SPDX-License-Identifier: MIT
 *
 * fuzz_retry_policy.c: any bytes as a retry policy document (the policy
 * file, a task's registry default, a call's policy): no crash or leak;
 * the document is accepted for every class or rejected with EINVAL (or
 * ENOMEM) for every class; an accepted policy is in range, and its
 * backoff never goes negative or past the cap.
 */
#include "recovery/recovery.h"

#include <stdint.h>
#include <stdlib.h>
#include <syncq/task.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int first = -100;

    for (int cls = 1; cls < SYNCQ_ERR__COUNT; cls++) {
        struct sq_retry_policy p = *sq_retry_policy_builtin(cls);
        syncq_error err;
        int rc = sq_retry_policy_apply((const char *)data, size, "fuzz", cls,
                                       &p, &err);
        if (rc != SYNCQ_OK && rc != SYNCQ_EINVAL && rc != SYNCQ_ENOMEM) {
            abort();
        }
        if (first == -100) {
            first = rc;
        } else if (rc != first) {
            abort(); /* validity must not depend on the class */
        }
        if (rc != SYNCQ_OK) {
            continue;
        }
        if (p.base_ms < 0 || p.max_ms < 0 || p.factor < 1.0 ||
            p.factor > 100.0 || p.max_retries < -1 ||
            p.max_retries > 1000) {
            abort();
        }
        for (int i = 0; i < 70; i += 7) {
            int64_t d = sq_retry_backoff_ms(&p, i);
            int64_t delay = 0;
            if (d < 0 || d > p.max_ms) {
                abort();
            }
            (void)sq_retry_decide(&p, i, 5000, &delay);
            if (delay < 0) {
                abort();
            }
        }
    }
    return 0;
}
