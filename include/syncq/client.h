/* SPDX-License-Identifier: MIT
 *
 * syncq/client.h: the producer side of syncq. Open a client on a Redis
 * broker, create tasks (one, many, or a batch), read them back, list them,
 * cancel them and wait for them.
 *
 * Delivery contract (DESIGN.md): a task whose id was returned exists
 * completely in Redis (record + queue or delayed entry); with Redis AOF
 * `appendfsync always` it survives a Redis crash. Each create is one
 * atomic script call.
 *
 * Thread-safety: a syncq_client is used by one thread at a time; open one
 * per thread. Distinct clients are independent. Fork: a child must open
 * its own client (never use the parent's).
 *
 * Task records are returned as jansson objects (json_t *). Their fields
 * (docs/redis-keys.md has the full list):
 *   id, name, queue, priority, state (PENDING RECEIVED STARTED PROGRESS
 *   RETRY SUCCESS FAILURE REVOKED EXPIRED SKIPPED DEAD), args (array),
 *   kwargs (object), result (any JSON, SUCCESS only), error {class,
 *   message}, errors [{class, message, at, attempt}], attempt, retries,
 *   max_retries, lost, created_at, eta, expires, started_at, done_at
 *   (ISO 8601 UTC strings), runtime_ms, worker, progress {current, total,
 *   message, rate}, batch_id, parent_id, root_id, dead_reason,
 *   result_expires_at.
 */
#ifndef SYNCQ_CLIENT_H
#define SYNCQ_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/config.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syncq_client syncq_client;

/* Priorities: strict per queue, higher runs first (10 before 8 before 5
 * before 0); any integer 0..10 is valid. */
enum syncq_priority {
    SYNCQ_PRIORITY_LOW = 0,
    SYNCQ_PRIORITY_NORMAL = 5,
    SYNCQ_PRIORITY_HIGH = 8,
    SYNCQ_PRIORITY_URGENT = 10
};

#define SYNCQ_ID_SIZE 37 /* a UUID string and its NUL */

/* The furthest a task may be delayed (countdown, or eta after now): 365
 * days, in ms. Every way of creating a task refuses more (SYNCQ_EINVAL),
 * so a typo in a year never parks a task in the delayed set for good. */
#define SYNCQ_ETA_MAX_MS (365LL * 24 * 3600 * 1000)

/* Open a client. `cfg` (borrowed; may be NULL for defaults plus
 * .env/environment) supplies the broker URL and limits; `url`, when not
 * NULL, overrides SYNCQ_BROKER_URL. Connects at once and loads the broker
 * scripts. The client keeps a copy of what it needs from `cfg`.
 * Errors: SYNCQ_EINVAL (bad URL or config, not a TLS server, unreadable
 * TLS files), SYNCQ_EAUTH (also: the server's TLS certificate failed
 * verification), SYNCQ_ENOTSUP (libssl missing, for rediss://),
 *         SYNCQ_ECONN (unreachable; message names the redacted URL),
 *         SYNCQ_EAUTH (wrong password or user), SYNCQ_ENOMEM.
 * *out is NULL on error.
 * Signals: if SIGPIPE is at its default disposition it is set to SIG_IGN,
 * because a write to a connection Redis dropped would otherwise kill the
 * process (hiredis cannot pass MSG_NOSIGNAL). A handler the host
 * installed is left alone. */
SYNCQ_API int syncq_client_open(const char *url, const syncq_config *cfg,
                                syncq_client **out, syncq_error *err);

/* Close the connection and free the client. NULL is a no-op. */
SYNCQ_API void syncq_client_close(syncq_client *c);

/* Run one Redis command, argv[0..argc) (argv[0] the command name), on the
 * client's connection, for task packs and plugins that keep their own
 * keys next to the queue's (put them under your own prefix). `lens` gives
 * the byte lengths (binary-safe), or NULL for NUL-terminated strings.
 * *reply (may be NULL: reply dropped) gets the reply as new JSON, which
 * the caller json_decref's: integer -> integer, string or status ->
 * string, array -> array, nil -> null. Connects first if the client is
 * not connected (one attempt). Errors: SYNCQ_EINVAL (argc < 1, NULL
 * argv), SYNCQ_ECONN, SYNCQ_EAUTH, SYNCQ_EPROTO (an error reply, whose
 * text is in err; a string that is not UTF-8), SYNCQ_ENOMEM. Not
 * thread-safe: a client belongs to one thread. */
SYNCQ_API int syncq_client_command(syncq_client *c, int argc,
                                   const char *const *argv,
                                   const size_t *lens, json_t **reply,
                                   syncq_error *err);

/* The broker URL with its password masked. Borrowed, valid until close. */
SYNCQ_API const char *syncq_client_url(const syncq_client *c);

/* The config the client uses (borrowed, valid until close). */
SYNCQ_API const syncq_config *syncq_client_config(const syncq_client *c);

/* Options of a task. Initialise with syncq_task_options_init(); every
 * field then means "default". Strings are borrowed for the call. */
typedef struct syncq_task_options {
    const char *queue;    /* NULL: the task's route (registry default, then
                             the name's prefix: crawler.* -> crawler, ...,
                             else SYNCQ_TASK_DEFAULT_QUEUE) */
    int priority;         /* 0..10, or -1: the task's default (5) */
    int64_t countdown_ms; /* >= 0: run no earlier than now + this (Redis
                             time), at most SYNCQ_ETA_MAX_MS; -1: not set */
    int64_t eta_ms;       /* > 0: run no earlier than this epoch ms (UTC),
                             at most SYNCQ_ETA_MAX_MS after now (caller's
                             clock); 0: not set. Not both countdown and
                             eta. Further: refused, SYNCQ_EINVAL */
    int64_t expires_ms;   /* > 0: epoch ms after which it never runs and
                             ends EXPIRED; 0: never. Not in the future
                             (caller's clock): refused, SYNCQ_EINVAL */
    int max_retries;      /* >= 0; -1: registry / SYNCQ_TASK_MAX_RETRIES */
    const char *unique_key; /* dedupe: while the key is held, another
                               create with it returns the first task's id */
    int64_t unique_ttl_ms;  /* window of unique_key; 0: SYNCQ_UNIQUE_WINDOW;
                               > 0 without unique_key: SYNCQ_EINVAL */
    int64_t time_limit_ms;  /* hard limit; 0: worker default */
    int64_t soft_time_limit_ms; /* soft limit; 0: worker default */
    int64_t result_expires_ms;  /* keep the finished record this long;
                                   0: SYNCQ_RESULT_EXPIRES */
    const char *task_id;    /* a UUID to use as id; NULL: a new UUID v4.
                             * An id is never re-used: an existing one is
                             * answered as a duplicate (syncq_task_create)
                             * or refused (syncq_task_create_many) */
    const char *parent_id;  /* the task that created this one, or NULL */
    const char *root_id;    /* first task of the workflow, or NULL */
    const char *batch_id;   /* set by batch creation; leave NULL */
    const char *retry_policy_json; /* per-call retry policy override, a
                                      JSON object (see syncq/recovery.h) */
    int64_t expires_in_ms;  /* > 0: never runs after Redis's clock at
                               creation + this (ends EXPIRED); 0: not set.
                               Relative times use Redis's TIME, never the
                               caller's clock. Not both with expires_ms. */
} syncq_task_options;

/* Set every field of `o` to "default". */
SYNCQ_API void syncq_task_options_init(syncq_task_options *o);

/* Create one task.
 * name: task name, 1..200 bytes of [A-Za-z0-9_.:-]; the seed's long names
 *       (src.queue.tasks.crawler.fetch_products) are normalised to the
 *       short form (crawler.fetch_products).
 * args_json: a JSON array or NULL ([]); kwargs_json: a JSON object or
 *       NULL ({}). Together at most SYNCQ_MAX_PAYLOAD bytes. An object
 *       key given twice, at any depth, is refused (SYNCQ_EINVAL).
 * opts: may be NULL (all defaults).
 * id_out: receives the id (SYNCQ_ID_SIZE bytes). With a unique_key that is
 *       already held, or an opts->task_id that already exists, it
 *       receives the first task's id and *is_dup (if not NULL) is set to
 *       1; the existing task is left untouched.
 * The args and kwargs are checked against the task's declared arguments
 * (syncq_task_args_check, syncq/task.h) when a declaration is known.
 * Errors: SYNCQ_EINVAL (bad name, queue, priority, JSON, times - expires
 *         in the past included -, arguments that do not fit the task's
 *         declaration, one "field: error" after another: the message
 *         names the field), SYNCQ_ETOOBIG (payload over the limit),
 *         SYNCQ_ECONN (broker down: nothing was created), SYNCQ_ENOMEM.
 *         On any error nothing is written to Redis. */
SYNCQ_API int syncq_task_create(syncq_client *c, const char *name,
                                const char *args_json,
                                const char *kwargs_json,
                                const syncq_task_options *opts,
                                char id_out[SYNCQ_ID_SIZE], int *is_dup,
                                syncq_error *err);

/* One task of a bulk create. Strings borrowed for the call. */
typedef struct syncq_task_spec {
    const char *name;
    const char *args_json;   /* NULL: [] */
    const char *kwargs_json; /* NULL: {} */
    const syncq_task_options *opts; /* NULL: defaults */
} syncq_task_spec;

/* Create `n` tasks with as few round trips as possible: every spec is
 * validated first (nothing is written if one is bad; the message names
 * its index), then they are sent in chunks of up to 1,000 tasks, each
 * chunk one atomic script call, all chunks pipelined.
 * ids_out: n * SYNCQ_ID_SIZE bytes, filled in spec order.
 * Errors: as syncq_task_create; SYNCQ_EPROTO naming the id when a chunk
 *         holds a task_id that already exists or appears twice (that
 *         chunk writes nothing), with any n, 1 included (unlike
 *         syncq_task_create, which answers an existing id as a
 *         duplicate); a unique_key held by another task still gives
 *         that task's id. On SYNCQ_ECONN after some chunks were
 *         sent, *created_out (if not NULL) tells how many leading tasks
 *         exist. */
SYNCQ_API int syncq_task_create_many(syncq_client *c,
                                     const syncq_task_spec *specs, size_t n,
                                     char (*ids_out)[SYNCQ_ID_SIZE],
                                     size_t *created_out, syncq_error *err);

/* Read task `id`. *out receives a new JSON object (caller json_decref's
 * it) with the fields listed at the top of this header.
 * Errors: SYNCQ_EINVAL (id empty or too long), SYNCQ_ENOTFOUND (no such
 *         task, or its result expired), SYNCQ_ECONN. */
SYNCQ_API int syncq_task_info(syncq_client *c, const char *id, json_t **out,
                              syncq_error *err);

/* Filter for syncq_task_list. NULL fields match everything. */
typedef struct syncq_task_filter {
    const char *state; /* e.g. "PENDING", "STARTED", "FAILURE", "DEAD" */
    const char *queue;
    const char *name;
    size_t offset;     /* skip this many matches (paging) */
    size_t limit;      /* at most this many (0: 100) */
} syncq_task_filter;

/* List tasks, queue order for pending ones, newest first for finished
 * ones: the recent-finished list (last 100,000 finished), newest first,
 * then the dead-letter queue (DEAD, and FAILURE tasks their retry policy
 * dead-lettered), newest death first. Sources: ready queues and the
 * delayed set (PENDING, RETRY), leases (RECEIVED, STARTED, PROGRESS), the
 * recent list and the dead-letter queue.
 * *out: a new JSON array of task objects (caller json_decref's).
 * Errors: SYNCQ_EINVAL (unknown state name, bad queue), SYNCQ_ECONN. */
SYNCQ_API int syncq_task_list(syncq_client *c, const syncq_task_filter *f,
                              json_t **out, syncq_error *err);

/* Outcomes of syncq_task_revoke. */
enum syncq_revoke_outcome {
    SYNCQ_REVOKE_DONE = 0,      /* removed before it started: REVOKED */
    SYNCQ_REVOKE_REQUESTED = 1, /* running: its worker stops it (soft, then
                                   killed after the grace period) */
    SYNCQ_REVOKE_FINAL = 2      /* already finished; nothing changed */
};

/* Cancel task `id` at any stage. `who` (NULL: "api") is recorded.
 * *outcome (may be NULL) receives a syncq_revoke_outcome; for
 * SYNCQ_REVOKE_FINAL, state_out (16 bytes, may be NULL) gets the state.
 * Errors: SYNCQ_ENOTFOUND (unknown id), SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_task_revoke(syncq_client *c, const char *id,
                                const char *who, int *outcome,
                                char state_out[16], syncq_error *err);

/* Wait until task `id` reaches a final state (SUCCESS, FAILURE, REVOKED,
 * EXPIRED, SKIPPED or DEAD) or `timeout_ms` passes (0: check once;
 * < 0: wait forever). Polls with a backoff from 1 ms to 100 ms. A broker
 * outage does not end the wait: it goes on until the timeout (ECONN is
 * returned only if Redis is still away then).
 * *out (may be NULL) receives the record as syncq_task_info gives it.
 * Errors: SYNCQ_ETIMEDOUT (still running; *out holds the current record),
 *         SYNCQ_ENOTFOUND, SYNCQ_ECONN. */
SYNCQ_API int syncq_task_wait(syncq_client *c, const char *id,
                              int64_t timeout_ms, json_t **out,
                              syncq_error *err);

/* Progress of the task tree under root task `root_id`: every task
 * created with that root (fan-out through syncq_ctx_enqueue, at any
 * depth) is counted when created and when it ends. *out: new object
 * {root_id, total, done, failed, pending, by_task: {name: {total, done,
 * failed, pending}}}; a root with no descendants yet gives zeros.
 * The root task itself is not counted (read it with syncq_task_info).
 * A tree has ended when its root is final and pending is 0.
 * Errors: SYNCQ_EINVAL (bad id), SYNCQ_ENOTFOUND (no descendants counted
 *         and no task record of that id: never created, or both expired),
 *         SYNCQ_ECONN. */
SYNCQ_API int syncq_workflow_info(syncq_client *c, const char *root_id,
                                  json_t **out, syncq_error *err);

/* Broker overview for `syncq status`: {url, redis_version, namespace,
 * queues: {name: {ready, by_priority: {"10": n, ...}}}, delayed, active,
 * dead, workers, maxmemory_policy}. *out: new object.
 * Errors: SYNCQ_ECONN. */
SYNCQ_API int syncq_broker_status(syncq_client *c, json_t **out,
                                  syncq_error *err);

/* Normalise a task name into `out` (cap bytes): the seed's
 * "src.queue.tasks.<pack>.<task>" becomes "<pack>.<task>".
 * Errors: SYNCQ_EINVAL (empty, over 200 bytes, bad characters). */
SYNCQ_API int syncq_task_name_normalize(const char *name, char *out,
                                        size_t cap, syncq_error *err);

/* Check a queue name: 1..100 bytes of [A-Za-z0-9_.-].
 * Errors: SYNCQ_EINVAL with the reason. */
SYNCQ_API int syncq_queue_name_check(const char *queue, syncq_error *err);

/* Parse a priority: LOW NORMAL HIGH URGENT (any case) or 0..10.
 * Errors: SYNCQ_EINVAL ("priority 11 out of range 0..10"). */
SYNCQ_API int syncq_priority_parse(const char *s, int *out,
                                   syncq_error *err);

#ifdef __cplusplus
}
#endif

/* Batches of tasks (syncq_batch_create & co.) live in syncq/batch.h; it is
 * included here so producers that only include this header keep them. */
#include <syncq/batch.h>
#endif
