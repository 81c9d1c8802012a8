/* SPDX-License-Identifier: MIT
 *
 * beat_store.h: schedules in Redis (the syncq_schedule_* API is built on
 * these), shared by the beat loop, the static schedule file loader and
 * the CLI. Every write goes through schedule_put.lua or
 * schedule_tick.lua; reads are plain HGETALL/ZRANGE.
 */
#ifndef SQ_BEAT_STORE_H
#define SQ_BEAT_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <syncq/schedule.h>

#include "beat/beat_schedule.h"

/* The Redis server's clock (TIME) in epoch ms. Errors: SYNCQ_ECONN. */
int sq_beat_redis_now(syncq_client *c, int64_t *now_ms, syncq_error *err);

/* Defaults for a schedule of task `task` (normalised name): zone, cap and
 * grace from the client's config, the task's route and priority, and the
 * Redis clock. Errors: SYNCQ_ECONN. */
int sq_sched_defaults_get(syncq_client *c, const char *task,
                          struct sq_sched_defaults *d, syncq_error *err);

/* Parse and check the text of a schedule file (`len` bytes; `path` names
 * it in messages; docs/beat.md "Schedule file") into *out, *count
 * schedules (each sq_schedule_cleanup'ed, the array sq_free'd by the
 * caller), with `base` as defaults. Nothing is written. With a client,
 * each task's route and declared arguments are looked up as `schedule
 * load` does; c NULL checks the file alone (queue defaults to
 * base->queue), as the fuzz target does. *out is NULL on error.
 * Errors: SYNCQ_EINVAL (the message names the entry and the field),
 *         SYNCQ_ETOOBIG (over 16 MiB or 10,000 entries), SYNCQ_ECONN,
 *         SYNCQ_ENOMEM. */
int sq_sched_file_parse(syncq_client *c, const char *text, size_t len,
                        const char *path,
                        const struct sq_sched_defaults *base,
                        struct sq_schedule **out, size_t *count,
                        syncq_error *err);

/* Read schedule `name` into `s` (sq_schedule_init'ed; not compiled).
 * *found tells whether it exists. Errors: SYNCQ_ECONN, SYNCQ_EPROTO. */
int sq_sched_load(syncq_client *c, const char *name, struct sq_schedule *s,
                  bool *found, syncq_error *err);

/* How sq_sched_save treats an existing schedule of the same name. */
enum sq_save_mode {
    SQ_SAVE_CREATE,  /* fail with SYNCQ_EEXIST */
    SQ_SAVE_REPLACE, /* replace the definition, keep the state */
    SQ_SAVE_UPSERT   /* as replace, but an identical definition (same
                        fingerprint) is left alone: "unchanged" */
};

/* Store compiled schedule `s` (its source set by the caller). Computes
 * the next run from `now_ms` (never a tick at or before the last one
 * fired). `status` (16 bytes, may be NULL) gets "created", "replaced"
 * or "unchanged". Retries on a concurrent change.
 * Errors: SYNCQ_EEXIST, SYNCQ_ECONN, SYNCQ_EPROTO, SYNCQ_ENOMEM. */
int sq_sched_save(syncq_client *c, struct sq_schedule *s, int64_t now_ms,
                  enum sq_save_mode mode, char *status, syncq_error *err);

/* syncq_schedule_add with the record's `source` ("api", "cli") and, for
 * files, one-shot times in the past allowed (such a schedule is then
 * missed at once and handled by its policy). */
int sq_sched_add(syncq_client *c, const syncq_schedule_config *cfg, int flags,
                 const char *source, syncq_error *err);

/* Every schedule name, sorted: a new JSON array of strings.
 * Errors: SYNCQ_ECONN. */
int sq_sched_names(syncq_client *c, json_t **out, syncq_error *err);

/* HGETALL of many schedules, pipelined. For each name (in order) calls
 * fn(ud, name, reply) with its reply, lent for the call: an array (empty
 * when missing) or an error reply (the key is not a hash).
 * Errors: SYNCQ_ECONN. */
int sq_sched_fetch_many(syncq_client *c, const char *const *names, size_t n,
                        void (*fn)(void *ud, const char *name, redisReply *r),
                        void *ud, syncq_error *err);

/* Remove schedule `name` if it still has generation `gen` (0: any).
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_ESTATE (changed meanwhile), SYNCQ_ECONN. */
int sq_sched_remove_gen(syncq_client *c, const char *name, int64_t gen,
                        syncq_error *err);

#endif
