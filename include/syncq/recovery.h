/* SPDX-License-Identifier: MIT
 *
 * syncq/recovery.h: getting failed work done after all. Resume a task
 * that ended badly with a strategy (retry, resume from its last good
 * checkpoint, restart from zero, skip, or park for a person), work the
 * dead-letter queue (list, requeue, purge), inspect and clean up
 * checkpoints, and read the retry policy that applies to an error class.
 *
 * Tasks save and load checkpoints through their context (syncq/task.h,
 * syncq_ctx_checkpoint_*); this header is for operators and tools.
 * Formats and Redis keys: docs/recovery.md.
 *
 * Thread-safety: as syncq/client.h: a syncq_client is used by one thread
 * at a time. The policy functions are thread-safe.
 */
#ifndef SYNCQ_RECOVERY_H
#define SYNCQ_RECOVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/config.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- retry policies -------------------------------------------------- */

/* The retry policy of one error class (enum syncq_error_class).
 * A policy document (file SYNCQ_RETRY_POLICY_FILE, a task's registry
 * default syncq_task_def.retry_policy_json, or a call's
 * syncq_task_options.retry_policy_json) is a JSON object whose keys are
 * class names ("network", ...) or "*" (every class), each an object of
 * the fields below; fields at the top level mean the same as under "*".
 * Delays are "base"/"max" in seconds (number) or duration text ("2s",
 * "500ms", "5m"), or "base_ms"/"max_ms" in integer milliseconds. */
typedef struct syncq_retry_policy {
    bool retryable;     /* false: the first failure is final */
    int64_t base_ms;    /* delay before the first retry, 0..30 days */
    double factor;      /* growth per retry, 1..100 */
    int64_t max_ms;     /* cap of one delay, 0..30 days */
    int max_retries;    /* retries after the first attempt, 0..1000 */
    bool jitter;        /* full jitter: uniform in [0, computed delay] */
    bool dead_letter;   /* exhausted: also into the dead-letter queue */
} syncq_retry_policy;

/* The policy that applies to class `error_class` of a task: built-in
 * defaults, then the file named by SYNCQ_RETRY_POLICY_FILE in `cfg` (may
 * be NULL: defaults and SYNCQ_TASK_MAX_RETRIES 3), then
 * `task_policy_json` and `call_policy_json` (either may be NULL); a
 * `max_retries` >= 0 (the task's own) overrides the class's.
 * Errors: SYNCQ_EINVAL (malformed document: the message names the
 *         document, the class and the field), SYNCQ_EIO (the policy file
 *         cannot be read), SYNCQ_ENOMEM. *out is unchanged on error.
 * Thread-safe. */
SYNCQ_API int syncq_retry_policy_get(const syncq_config *cfg,
                                     const char *task_policy_json,
                                     const char *call_policy_json,
                                     int error_class, int max_retries,
                                     syncq_retry_policy *out,
                                     syncq_error *err);

/* Check a policy document (`len` bytes of JSON) without applying it.
 * Errors: SYNCQ_EINVAL with the first problem, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_retry_policy_check(const char *json, size_t len,
                                       syncq_error *err);

/* Delay in ms before retry number `retry_index` (0: the first retry):
 * min(max_ms, base_ms * factor^retry_index), then full jitter if on.
 * Thread-safe (jitter uses the system's fork-safe generator). */
SYNCQ_API int64_t syncq_retry_backoff_ms(const syncq_retry_policy *p,
                                         int retry_index);

/* ---- resume strategies ---------------------------------------------- */

enum syncq_resume_strategy {
    SYNCQ_RESUME_AUTO = 0,  /* RESUME if a good checkpoint exists, else
                               RETRY */
    SYNCQ_RESUME_RETRY,     /* run again as it was (checkpoints kept) */
    SYNCQ_RESUME_RESUME,    /* run again from the last good checkpoint */
    SYNCQ_RESUME_RESTART,   /* delete its checkpoints, run from zero */
    SYNCQ_RESUME_SKIP,      /* mark it done without running: SKIPPED */
    SYNCQ_RESUME_MANUAL,    /* park it in the dead-letter queue */
    SYNCQ_RESUME__COUNT
};

/* "auto" "retry" "resume" "restart" "skip" "manual"; "unknown" outside
 * the enum. Static. */
SYNCQ_API const char *syncq_resume_strategy_name(int strategy);

/* Parse a strategy name (any case); returns the strategy or -1. */
SYNCQ_API int syncq_resume_strategy_parse(const char *name);

/* Options of syncq_task_resume. Zero-initialise; NULL fields mean the
 * default. Strings are borrowed for the call. */
typedef struct syncq_resume_options {
    const char *who;   /* recorded as resume_by / skipped_by; NULL "api" */
    const char *queue; /* run strategies: run in this queue instead of the
                          task's own (1..100 bytes of [A-Za-z0-9_.-]) */
} syncq_resume_options;

/* What syncq_task_resume did. */
typedef struct syncq_resume_result {
    int strategy;            /* the strategy applied (AUTO resolved) */
    char prev_state[16];     /* state before the call, e.g. "FAILURE" */
    int64_t checkpoint_seq;  /* RESUME: step of the checkpoint it resumes
                                from; otherwise -1 */
} syncq_resume_result;

/* Resume task `id` with `strategy` (enum syncq_resume_strategy).
 * The run strategies (RETRY, RESUME, RESTART) put the task back to
 * PENDING at the back of its queue, out of the dead-letter queue, with
 * its retry budget and lost-delivery count reset and its error history
 * kept; the record stays until it ends again. SKIP ends it SKIPPED
 * (recording `who` and the time) without running it; MANUAL parks it in
 * the dead-letter queue. Every decision is appended to the record's
 * resume history.
 * Allowed from FAILURE, DEAD, REVOKED and EXPIRED (any strategy) and from
 * PENDING and RETRY (SKIP and MANUAL only).
 * `opts` may be NULL. `out` (may be NULL) receives what was done.
 * Errors: SYNCQ_EINVAL (bad id, strategy or queue),
 *         SYNCQ_ENOTFOUND (no such task; or RESUME without a good
 *         checkpoint: the message says to use retry or restart),
 *         SYNCQ_ESTATE (running, already succeeded or skipped, already
 *         waiting to run, or a poison entry that can never run: nothing
 *         changed; the message says why and what to do),
 *         SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_task_resume(syncq_client *c, const char *id,
                                int strategy,
                                const syncq_resume_options *opts,
                                syncq_resume_result *out, syncq_error *err);

/* ---- the dead-letter queue ------------------------------------------ */

/* Filter for syncq_dead_list. Zero-initialise; NULL/0 match everything. */
typedef struct syncq_dead_filter {
    const char *queue;  /* only tasks of this queue */
    const char *name;   /* only tasks of this name */
    const char *reason; /* only this dead_reason, or a prefix ending in
                           ':' ("poison:") */
    size_t offset;      /* skip this many matches */
    size_t limit;       /* at most this many (0: 100) */
} syncq_dead_filter;

/* List dead-letter records, most recent death first. *out: a new JSON
 * array of task objects as syncq_task_info gives them (dead_reason,
 * dead_at, error, errors, attempt, ...). *total (may be NULL): records in
 * the dead-letter queue, whatever the filter.
 * Errors: SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_dead_list(syncq_client *c, const syncq_dead_filter *f,
                              json_t **out, size_t *total,
                              syncq_error *err);

/* Requeue dead task `id`: PENDING again in its own queue or `queue` (NULL:
 * its own), out of the dead-letter queue (strategy RETRY). `who` may be
 * NULL ("api").
 * Errors: SYNCQ_ENOTFOUND (no such task), SYNCQ_ESTATE (not dead, or a
 *         poison entry), SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_dead_requeue(syncq_client *c, const char *id,
                                 const char *queue, const char *who,
                                 syncq_error *err);

/* Requeue every dead task except poison entries (which cannot run), in
 * chunks of 100 per atomic call. *requeued and *left (may be NULL):
 * counts of requeued tasks and of records left in the queue.
 * Errors: SYNCQ_EINVAL (bad queue), SYNCQ_ECONN (the counts say how far
 * it got). */
SYNCQ_API int syncq_dead_requeue_all(syncq_client *c, const char *queue,
                                     const char *who, size_t *requeued,
                                     size_t *left, syncq_error *err);

/* Delete dead-letter records that died more than `older_than_ms` ago
 * (>= 0), with their checkpoints. *purged (may be NULL): how many.
 * Errors: SYNCQ_EINVAL (negative age), SYNCQ_ECONN. */
SYNCQ_API int syncq_dead_purge(syncq_client *c, int64_t older_than_ms,
                               size_t *purged, syncq_error *err);

/* Delete the dead-letter record `id` (and its checkpoints).
 * Errors: SYNCQ_ESTATE (exists but is not dead), SYNCQ_ENOTFOUND,
 *         SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_dead_delete(syncq_client *c, const char *id,
                                syncq_error *err);

/* ---- checkpoints ------------------------------------------------------ */

/* The stored checkpoints of task `id`, newest first, then quarantined
 * corrupt ones. *out: a new JSON array of {seq, size, at (ISO 8601),
 * at_ms, sha256, ok, quarantined, problem (when not ok)}; empty when the
 * task has none. Verifying reads every entry (at most
 * SYNCQ_CHECKPOINT_HISTORY + 10 of up to SYNCQ_CHECKPOINT_MAX bytes).
 * Listing never changes anything.
 * Errors: SYNCQ_EINVAL (bad id), SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_checkpoint_list(syncq_client *c, const char *id,
                                    json_t **out, syncq_error *err);

/* Delete checkpoints no task will resume from: those whose newest entry
 * is older than `older_than_ms` (>= 0), and those of tasks that ended
 * SUCCESS or SKIPPED. Checkpoints of other tasks (running, failed, dead,
 * or local runs without a record) younger than that are kept.
 * *removed (may be NULL): tasks whose checkpoints were deleted.
 * Scans with SCAN, so it never blocks Redis.
 * Errors: SYNCQ_EINVAL (negative age), SYNCQ_ECONN. */
SYNCQ_API int syncq_checkpoint_cleanup(syncq_client *c,
                                       int64_t older_than_ms,
                                       size_t *removed, syncq_error *err);

#ifdef __cplusplus
}
#endif
#endif
