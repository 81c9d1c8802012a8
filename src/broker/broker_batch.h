/* SPDX-License-Identifier: MIT
 *
 * broker_batch.h: what the three files of the batch module share
 * (broker_batch.c: creation, broker_batch_wave.c: waves,
 * broker_batch_info.c: reading back). The public API is syncq/batch.h.
 */
#ifndef SQ_BROKER_BATCH_H
#define SQ_BROKER_BATCH_H

#include "core/sq_task_args.h"

#include <syncq/batch.h>

/* Chunk tasks created or stored per atomic script call. */
#define SQ_BATCH_CHUNKS_PER_CALL 1000

/* Items one batch may hold (syncq_batch_items_parse). */
#define SQ_BATCH_ITEMS_MAX 10000000

/* A batch id as dispatch and progress accept it: 1..64 bytes of
 * [A-Za-z0-9_-]. Errors: SYNCQ_EINVAL naming the id. */
int sq_batch_id_check(const char *id, syncq_error *err);

/* Parse `items_json` (NULL: empty text) into *out, a new JSON array.
 * Errors: SYNCQ_EINVAL ("batch items must be a JSON array: <why>"). */
int sq_batch_items_load(const char *items_json, json_t **out, syncq_error *err);

/* The door check of a batch (syncq_batch_check): the task takes items
 * (its declared SYNCQ_ARG_ITEMS argument, whose name goes to items_key;
 * "items" for an undeclared task), batch_size within that argument's
 * limit, the first chunk's kwargs and every item against the
 * declaration, and the completion task takes the batch summary.
 * *problems (may be NULL): as syncq_args_check, one per bad field.
 * Writes nothing. Errors: SYNCQ_EINVAL, SYNCQ_ECONN, SYNCQ_ENOMEM. */
int sq_batch_check(syncq_client *c, const char *task_name, json_t *items,
                   size_t batch_size, const syncq_batch_options *opts,
                   char items_key[SQ_ARG_NAME_MAX + 1], json_t **problems,
                   syncq_error *err);

/* The options every way of creating a batch checks alike: the extra
 * kwargs (*extra: a new object, or NULL when none; an object without
 * `items_key`) and the completion task (name normalised into cb_name, its
 * queue routed and checked into *cb_queue, a fresh cb_id; untouched when
 * there is none). On error *extra is NULL.
 * Errors: SYNCQ_EINVAL (message prefixed "on_complete" for the task). */
int sq_batch_extra_and_completion(syncq_client *c,
                                  const syncq_batch_options *opts,
                                  const char *items_key, json_t **extra,
                                  char cb_name[256],
                                  const char **cb_queue,
                                  char cb_id[SYNCQ_ID_SIZE], syncq_error *err);

/* The kwargs of the chunk of items [lo, hi): {items_key: [...], ...extra}
 * (`items` and `extra` borrowed; extra may be NULL), compact JSON. Owned
 * string (sq_free); NULL when out of memory. */
char *sq_batch_chunk_kwargs(json_t *items, size_t lo, size_t hi, json_t *extra,
                            const char *items_key);

/* The batch's id: opts->batch_id (checked: a UUID) or a new UUID v4;
 * resets *opts->is_dup. Errors: SYNCQ_EINVAL. */
int sq_batch_own_id(const syncq_batch_options *opts, char id[SYNCQ_ID_SIZE],
                    syncq_error *err);

/* The id of chunk k: derived from the batch id when the caller chose it
 * (a retry gets the same ids), else a new UUID v4. */
void sq_batch_chunk_id(const syncq_batch_options *opts, const char *batch_id,
                       size_t k, char id[SYNCQ_ID_SIZE]);

/* The answer to a create whose caller-chosen batch `id` exists: its chunk
 * ids are appended to `ids` (borrowed), *opts->is_dup is set to 1.
 * Errors: SYNCQ_ESTATE (still "creating"), SYNCQ_EPROTO (no total),
 *         SYNCQ_ECONN, SYNCQ_ENOMEM. */
int sq_batch_answer_existing(syncq_client *c, const syncq_batch_options *opts,
                             const char *id, json_t *ids, syncq_error *err);

#endif
