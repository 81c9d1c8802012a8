/* SPDX-License-Identifier: MIT
 *
 * syncq/batch.h: batches (the seed's create_batch_task). A batch splits a
 * JSON array of items into chunks of `batch_size` items and creates one
 * task per chunk, with kwargs {"items": [chunk...], ...extra kwargs} (or
 * the task's declared items argument instead of "items":
 * syncq_batch_check), all
 * linked to a batch record (total, done, failed, created and finished
 * times). When every chunk has ended (SUCCESS, FAILURE, REVOKED, EXPIRED
 * or DEAD) the batch finishes and its completion task, if any, is created
 * exactly once with kwargs {batch_id, total, succeeded, failed}: this is
 * decided in the same Redis script that records the last chunk's end, so
 * no process has to stay up for it.
 *
 * Chunks go out all at once (syncq_batch_create) or in waves
 * (syncq_batch_submit: at most N in flight, at most N per period, fail
 * fast). Waves are dispatched by the submitting call, by chunks ending,
 * by syncq_batch_dispatch and by the leader beat's tick (which only
 * triggers dispatch; the logic is here and in the broker's scripts).
 * User documentation: docs/beat.md ("Batches"); Redis keys:
 * docs/redis-keys.md ({ns}:b:<id>, {ns}:batches).
 *
 * Units: sizes are counts of items or chunks; times are Unix epoch
 * milliseconds (UTC) or, where a name says _ms, milliseconds; JSON
 * results are ISO 8601 UTC strings.
 * Ownership: `const char *` and `json_t *` arguments are borrowed for the
 * call; every `json_t **out` receives a new reference the caller
 * json_decref's (NULL on error). batch_id_out is a caller buffer of
 * SYNCQ_ID_SIZE bytes.
 * Errors: every function returns SYNCQ_OK or a negative SYNCQ_E* code and
 * fills `err` (may be NULL) with a one-line message; the codes each call
 * can return are listed with it.
 * Thread-safety: functions taking a syncq_client follow syncq/client.h
 * (one thread at a time per client). syncq_rate_parse and
 * syncq_batch_items_parse are pure and thread-safe.
 */
#ifndef SYNCQ_BATCH_H
#define SYNCQ_BATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- creation ---------------------------------------------------------- */

/* Options of a batch (the seed's create_batch_task). */
typedef struct syncq_batch_options {
    const char *kwargs_json;        /* extra kwargs given to every chunk */
    const syncq_task_options *task; /* options of every chunk task */
    const char *on_complete;        /* task run once when every chunk has
                                       ended, with kwargs {batch_id, total,
                                       succeeded, failed}; NULL: none */
    const char *on_complete_queue;  /* NULL: default routing */
    const char *batch_id;           /* the caller's id for the batch, a
                                       UUID; NULL: a new UUID v4.
                                       Its chunk task ids are derived from
                                       it (the same every call), and a
                                       batch that exists with this id is
                                       answered, never made twice (see
                                       syncq_batch_create) */
    int *is_dup;                    /* may be NULL: set to 1 when batch_id
                                       named an existing batch, else 0 */
} syncq_batch_options;

/* Create a batch: split `items_json` (a JSON array) into chunks of
 * `batch_size` items and create one `task_name` task per chunk with
 * kwargs {"items": [chunk...], ...opts->kwargs}, all linked to a batch
 * record (total, done, failed, created/finished times).
 * batch_id_out: SYNCQ_ID_SIZE bytes. task_ids_out (may be NULL): a new
 * JSON array of the chunk task ids (caller json_decref's).
 * Atomicity: up to 1,000 chunks are created in one script call. A larger
 * batch is stored whole first and sent only then (1,000 chunks per call),
 * so a caller that dies midway never leaves some chunks running in a batch
 * that cannot finish: it stays "creating" (not all stored) or its stored
 * chunks are sent by the leader beat. Such a batch takes no countdown,
 * eta, expires or unique key in opts->task (SYNCQ_EINVAL).
 * Everything syncq_batch_check checks is checked first: a declared task
 * gets each chunk under its declared items argument, not "items".
 * With opts->batch_id, a batch of that id that exists already (an
 * earlier call made it: a retry after a lost reply) is the answer: the
 * call writes nothing, returns SYNCQ_OK with that id, its chunk task ids
 * (as many as it has chunks) and *opts->is_dup = 1, never a second
 * batch; the batch ids of the task API's Idempotency-Key work this way.
 * With opts->batch_id a call that lost its connection to Redis is sent
 * once more (the id makes that safe), so a reply lost after Redis made
 * the batch still answers it.
 * Errors: SYNCQ_EINVAL (items not an array, batch_size 0 or > 100,000,
 *         bad name or batch id, options above, what syncq_batch_check
 *         refuses), SYNCQ_ETOOBIG (a chunk over the payload limit),
 *         SYNCQ_ESTATE (opts->batch_id names a batch of over 1,000
 *         chunks whose creation has not finished: try again later),
 *         SYNCQ_ECONN, SYNCQ_ENOMEM. Nothing is written on any of
 *         these. */
SYNCQ_API int syncq_batch_create(syncq_client *c, const char *task_name,
                                 const char *items_json, size_t batch_size,
                                 const syncq_batch_options *opts,
                                 char batch_id_out[SYNCQ_ID_SIZE],
                                 json_t **task_ids_out, syncq_error *err);

/* Check a batch at the door without writing anything: the checks
 * syncq_batch_create and syncq_batch_submit make before they write.
 * A task that declares its arguments (syncq/task.h) gets each chunk
 * under its declared items argument (SYNCQ_ARG_ITEMS: `urls` for
 * image_processing.download_images) instead of "items"; a declared task
 * with no such argument cannot run as a batch (refused, with the
 * reason); batch_size may not exceed that argument's element limit; the
 * first chunk's kwargs and every item are checked against the
 * declaration; the completion task must take the batch summary
 * (SYNCQ_ARGS_BATCH_SUMMARY). `items` borrowed (a JSON array).
 * *problems (may be NULL): on SYNCQ_EINVAL a new array of {"field",
 * "error"}, one per bad field (fields "task", "batch_size", "kwargs",
 * "on_complete" or an argument name); err->msg names the first.
 * Errors: SYNCQ_EINVAL, SYNCQ_ECONN (looking up a published
 *         declaration), SYNCQ_ENOMEM. */
SYNCQ_API int syncq_batch_check(syncq_client *c, const char *task_name,
                                json_t *items, size_t batch_size,
                                const syncq_batch_options *opts,
                                json_t **problems, syncq_error *err);

/* Parse a rate "N/s", "N/m" (or /min), "N/h", "N/<duration>" such as
 * "20/10s", or "N" (per second); blanks around N and the unit are
 * allowed; N 1..1000000, the period at most a day. The same grammar as
 * SYNCQ_CRAWLER_RATE. Errors: SYNCQ_EINVAL (the message names the
 * accepted forms). Thread-safe. */
SYNCQ_API int syncq_rate_parse(const char *s, int *count, int64_t *period_ms,
                               syncq_error *err);

/* Parse batch items from `len` bytes of text: a JSON array, or one item
 * per line (a line that is valid JSON is that value, any other line is a
 * string; blank lines are skipped; at most 10,000,000 items). *out: a new
 * JSON array (caller json_decref's).
 * Errors: SYNCQ_EINVAL (malformed array, with line and column; NUL
 *         bytes), SYNCQ_ETOOBIG, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_batch_items_parse(const char *text, size_t len,
                                      json_t **out, syncq_error *err);

/* ---- waves ------------------------------------------------------------- */

/* How the chunks of a batch go out. Zero everywhere: all at once. */
typedef struct syncq_batch_wave_options {
    int max_in_flight;      /* chunks queued or running at a time; 0: no
                               limit. A chunk that ends frees its slot at
                               once (in the same Redis script). */
    int rate_count;         /* chunks per rate_period_ms; 0: no limit */
    int64_t rate_period_ms; /* 1000 for N/s */
    bool fail_fast;         /* first failed chunk ends the batch: the
                               completion task runs then, undispatched
                               chunks are dropped */
} syncq_batch_wave_options;

/* Create a batch like syncq_batch_create (same validation, kwargs
 * {"items": [...], ...} per chunk, completion task with {batch_id,
 * total, succeeded, failed}) whose chunks wait in Redis and are
 * dispatched in waves by the limits in `waves` (NULL: none). Chunks are
 * dispatched by this call (the first wave), by chunks ending, by the
 * leader beat and by syncq_batch_dispatch, so waves go on with or without
 * the creating process. batch_id_out: SYNCQ_ID_SIZE bytes.
 * opts->batch_id works as with syncq_batch_create (an existing batch is
 * answered, *opts->is_dup = 1).
 * Errors: SYNCQ_EINVAL (as syncq_batch_create; bad limits),
 *         SYNCQ_ETOOBIG (a chunk over SYNCQ_MAX_PAYLOAD), SYNCQ_ECONN
 *         (if it happens after the first call the batch exists but stays
 *         "creating" and never dispatches), SYNCQ_ENOMEM. */
SYNCQ_API int syncq_batch_submit(syncq_client *c, const char *task_name,
                                 const char *items_json, size_t batch_size,
                                 const syncq_batch_options *opts,
                                 const syncq_batch_wave_options *waves,
                                 char batch_id_out[SYNCQ_ID_SIZE],
                                 syncq_error *err);

/* Dispatch what the limits of batch `id` allow now. *dispatched (may be
 * NULL) gets the count; *next_ms (may be NULL) when the next chunk may go
 * (-1: none waiting, or waiting for a slot to free).
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_batch_dispatch(syncq_client *c, const char *id,
                                   int64_t *dispatched, int64_t *next_ms,
                                   syncq_error *err);

/* syncq_batch_submit with the items already parsed: `items` (borrowed) is
 * a JSON array, as syncq_batch_items_parse returns, so a large items file
 * is not serialised twice. ids_out (may be NULL): the chunk task ids are
 * appended to this array (borrowed), in chunk order.
 * Errors: as syncq_batch_submit. */
SYNCQ_API int syncq_batch_submit_items(syncq_client *c, const char *task_name,
                                       json_t *items, size_t batch_size,
                                       const syncq_batch_options *opts,
                                       const syncq_batch_wave_options *waves,
                                       char batch_id_out[SYNCQ_ID_SIZE],
                                       json_t *ids_out, syncq_error *err);

/* ---- reading back -------------------------------------------------------- */

/* Read batch `id`: {id, task, total, done, failed, pending, running,
 * created_at, finished_at, on_complete}. *out: new object.
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_ECONN. */
SYNCQ_API int syncq_batch_info(syncq_client *c, const char *id, json_t **out,
                               syncq_error *err);

/* Progress of batch `id`: the syncq_batch_info object plus dispatched,
 * waiting (not dispatched yet), running (dispatched, not ended), state
 * (creating, running, finished), max_in_flight, rate, fail_fast.
 * pending = total - done - failed (as syncq_batch_info).
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_batch_progress(syncq_client *c, const char *id,
                                   json_t **out, syncq_error *err);

/* The newest batches first: a new JSON array of syncq_batch_progress
 * objects, skipping `offset`, at most `limit` (0: 50).
 * Errors: SYNCQ_ECONN. */
SYNCQ_API int syncq_batch_list(syncq_client *c, size_t offset, size_t limit,
                               json_t **out, syncq_error *err);

#ifdef __cplusplus
}
#endif
#endif
