/* SPDX-License-Identifier: MIT
 *
 * recovery.h: internal recovery API used by the worker: retry policies by
 * error class (with exponential backoff and full jitter, AWS Architecture
 * Blog "Exponential Backoff And Jitter", 2015) and checkpoint storage with
 * SHA-256 checksums. The public side is syncq/recovery.h (resume, DLQ).
 * Owned by src/recovery/; the worker calls only what is declared here.
 */
#ifndef SQ_RECOVERY_H
#define SQ_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/config.h>
#include <syncq/error.h>

/* Retry policy of one error class. */
struct sq_retry_policy {
    bool retryable;      /* false: the first failure is final */
    int64_t base_ms;     /* delay before the first retry */
    double factor;       /* growth per retry (2: 1 s, 2 s, 4 s ...) */
    int64_t max_ms;      /* cap of one delay */
    int max_retries;     /* retries after the first attempt */
    bool jitter;         /* full jitter: uniform in [0, computed delay] */
    bool dead_letter;    /* exhausted -> dead-letter queue as well */
};

/* The policy for `error_class` (enum syncq_error_class) of a task:
 * built-in defaults, overridden by SYNCQ_RETRY_POLICY_FILE (read via cfg),
 * then by the task's registry default (`task_policy_json`, may be NULL),
 * then by the per-call policy stored on the record (`call_policy_json`,
 * may be NULL); `max_retries` >= 0 (the record's maxr) overrides the
 * class's max_retries. Errors: SYNCQ_EINVAL (malformed policy JSON: the
 * message names the source), SYNCQ_EIO (policy file unreadable). */
int sq_retry_policy_for(const syncq_config *cfg, const char *task_policy_json,
                        const char *call_policy_json, int error_class,
                        int max_retries, struct sq_retry_policy *out,
                        syncq_error *err);

/* Delay before retry number `retry_index` (0 for the first retry):
 * min(max_ms, base_ms * factor^retry_index), then full jitter if on. */
int64_t sq_retry_backoff_ms(const struct sq_retry_policy *p, int retry_index);

enum sq_retry_action {
    SQ_RETRY_AGAIN = 0, /* schedule a retry after *delay_ms */
    SQ_RETRY_FAIL = 1,  /* final FAILURE */
    SQ_RETRY_DEAD = 2   /* final FAILURE, and park in the dead-letter queue */
};

/* Decide what happens after a failure when `retries_done` retries were
 * already scheduled. A server-given wait (`retry_after_ms` > 0, from
 * Retry-After) raises the delay to at least that. */
enum sq_retry_action sq_retry_decide(const struct sq_retry_policy *p,
                                     int retries_done, int64_t retry_after_ms,
                                     int64_t *delay_ms);

/* Save a checkpoint of task `task_id`: `len` bytes with step `seq`,
 * fenced by lease `token` (NULL: unfenced, for local runs and tools).
 * Keeps SYNCQ_CHECKPOINT_HISTORY entries for SYNCQ_CHECKPOINT_TTL.
 * Errors: SYNCQ_ETOOBIG (over SYNCQ_CHECKPOINT_MAX), SYNCQ_ELEASE (token
 * stale), SYNCQ_ECONN, SYNCQ_ENOMEM. */
int sq_checkpoint_save(syncq_client *c, const char *task_id,
                       const char *token, const void *data, size_t len,
                       int64_t seq, syncq_error *err);

/* Load the newest checkpoint whose SHA-256 verifies; corrupt ones are
 * skipped, logged (event checkpoint.corrupt) and counted
 * (stats field checkpoint_corrupt_total). *data owned by the caller
 * (sq_free). Errors: SYNCQ_ENOTFOUND (none good), SYNCQ_ECONN. */
int sq_checkpoint_load(syncq_client *c, const char *task_id, void **data,
                       size_t *len, int64_t *seq, syncq_error *err);

#endif
