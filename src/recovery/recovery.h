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

/* ---- additions (recovery-internal, also used by tests and fuzzers) --- */

/* Built-in policy of `error_class` (classes outside the enum get the
 * policy of "internal"). max_retries of the retryable classes is -1 in
 * the table, meaning SYNCQ_TASK_MAX_RETRIES; this returns the table row
 * as is. Never NULL. Thread-safe. */
const struct sq_retry_policy *sq_retry_policy_builtin(int error_class);

/* Apply a policy document (`len` bytes of JSON, see docs/recovery.md) to
 * `p` for `error_class`: top-level fields and "*" first, then the class's
 * own entry. The whole document is validated, not only the part that
 * applies. `source` names the document in messages ("policy file x.json").
 * Errors: SYNCQ_EINVAL (malformed JSON, unknown class or field, value out
 * of range; the message names source, class and field). `p` is unchanged
 * on error. */
int sq_retry_policy_apply(const char *json, size_t len, const char *source,
                          int error_class, struct sq_retry_policy *p,
                          syncq_error *err);

/* Format `p` as a JSON object {retryable, base_ms, factor, max_ms,
 * max_retries, jitter, dead_letter} (new reference, NULL on OOM). */
json_t *sq_retry_policy_to_json(const struct sq_retry_policy *p);

/* A stored checkpoint entry, as parsed from its envelope
 * "SQCP1 <seq> <at_ms> <size> <sha256hex>\n<data>". `data` points into
 * the parsed buffer (borrowed). */
struct sq_checkpoint_entry {
    int64_t seq;           /* the task's step number */
    int64_t at_ms;         /* Redis time of the save, epoch ms */
    size_t size;           /* bytes of data the header announces */
    char sha256[65];       /* checksum the header announces (hex; see
                              sq_checkpoint_digest) */
    const unsigned char *data; /* the payload (borrowed) */
    size_t data_len;       /* bytes actually present after the header */
    bool ok;               /* header well-formed, size and SHA-256 match */
    bool digest_failed;    /* could not verify (out of memory): neither
                              good nor corrupt */
    const char *why;       /* when !ok: static reason text */
};

/* The checksum of a checkpoint: lowercase hex SHA-256 of the step in
 * decimal, a newline, then the data ("60\n" + data), so a damaged step
 * number is caught as well as damaged data. Returns false if OpenSSL
 * could not run (out of memory). Thread-safe. */
bool sq_checkpoint_digest(int64_t seq, const void *data, size_t len,
                          char out[65]);

/* Parse and verify one envelope of `len` bytes. Never fails: malformed
 * input gives ok = false with a reason (header fields it could read are
 * filled, the rest zero). Thread-safe. */
void sq_checkpoint_parse(const void *buf, size_t len,
                         struct sq_checkpoint_entry *out);

/* Delete every checkpoint of `task_id` (RESTART). Errors: SYNCQ_ECONN. */
int sq_checkpoint_delete(syncq_client *c, const char *task_id,
                         syncq_error *err);

#endif
