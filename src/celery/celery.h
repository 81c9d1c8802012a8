/* SPDX-License-Identifier: MIT
 *
 * celery.h: Celery wire compatibility inside libsyncq (docs/celery.md,
 * docs/celery-wire.md). The files of src/celery/:
 *   celery_message.c  the message codec (celery_message.h)
 *   celery_redis.c    pipelines and MULTI/EXEC on a syncq client
 *   celery_result.c   Celery's Redis result backend: write and read
 *                     celery-task-meta-<id> (+ PUBLISH)
 *   celery_send.c     syncq_celery_send/result/wait (syncq/celery.h)
 *   celery_kombu.c    kombu's queue side: priority-step keys, the
 *                     unacked/unacked_index ack emulation, restore of
 *                     visibility-timed-out messages
 *   celery_bridge*.c  the consumer process `syncq worker --celery` starts
 *   celery_events.c   celeryev events, worker heartbeats, pidbox replies
 *   celery_canvas.c   links, errbacks and chains of a message syncq ran
 * Uses the broker's internal client API; knows nothing of the worker's
 * processes except through celery_bridge.h.
 */
#ifndef SQ_CELERY_H
#define SQ_CELERY_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>

/* ---- celery_redis.c --------------------------------------------------- */

/* One command of a pipeline: argv[0..argc), lens may be 0 for C strings. */
struct sq_rcmd {
    int argc;
    const char *argv[8];
    size_t lens[8];
};

/* Fill `cmd` with up to 8 NUL-terminated words (NULL-terminated list). */
void sq_rcmd_set(struct sq_rcmd *cmd, ...);

/* Send `n` commands in one round trip and read every reply. With
 * `multi`, they are wrapped in MULTI/EXEC and *replies[0] gets the EXEC
 * reply (array of n, or nil when a WATCH failed); without, replies[i]
 * gets the reply of cmds[i]. Replies are owned (freeReplyObject each
 * non-NULL one). Error replies are returned as they are (type
 * REDIS_REPLY_ERROR); only I/O is an error here.
 * Errors: SYNCQ_ECONN (the connection is dropped; nothing is known of
 *         what ran), SYNCQ_ENOMEM. */
int sq_celery_pipeline(syncq_client *c, bool multi,
                       const struct sq_rcmd *cmds, size_t n,
                       redisReply **replies, syncq_error *err);

/* The pub/sub channel prefix "/<db>." of the client's database. */
const char *sq_celery_channel_prefix(const syncq_client *c, char *buf,
                                     size_t cap);

/* ---- celery_send.c ---------------------------------------------------- */

struct sq_celery_out; /* celery_message.h */

/* Encode `out` (sq_celery_msg_encode) and LPUSH it on the list of its
 * queue at its priority (kombu's steps[0..nsteps); NULL: 0,3,6,9) after
 * kombu's binding SADD, as Celery's producer does. id_out (201 bytes)
 * gets the task id. Errors: as sq_celery_msg_encode, SYNCQ_ETOOBIG (over
 * the client's SYNCQ_MAX_PAYLOAD), SYNCQ_ECONN, SYNCQ_EPROTO. */
int sq_celery_publish_out(syncq_client *c, const struct sq_celery_out *out,
                          const int *steps, size_t nsteps, char id_out[201],
                          syncq_error *err);

/* ---- celery_result.c -------------------------------------------------- */

/* Celery's status for a syncq state: PENDING RECEIVED STARTED RETRY
 * SUCCESS FAILURE REVOKED ("STARTED" for PROGRESS, "FAILURE" for DEAD,
 * "REVOKED" for EXPIRED, "SUCCESS" for SKIPPED). Static. */
const char *sq_celery_status_of(const char *syncq_state);

/* True for SUCCESS, FAILURE and REVOKED (Celery's READY_STATES). */
bool sq_celery_status_ready(const char *status);

/* The Python exception a syncq error class is reported as:
 * {"exc_type", "exc_message": [message], "exc_module"} (new object). The
 * class keeps its name in "syncq_class" (Python ignores extra keys). */
json_t *sq_celery_exc(const char *err_class, const char *message);

/* The same for an exception named by Celery (module.type, e.g.
 * celery.exceptions / NotRegistered). New object. */
json_t *sq_celery_exc_named(const char *module, const char *type,
                            const char *message);

/* The result backend's JSON (owned text) for task `id`: status, result
 * (borrowed, NULL: null), traceback (NULL: null), children [], date_done
 * (naive UTC when `done_ms` > 0, else null), task_id, and parent_id when
 * given. NULL on out of memory. */
char *sq_celery_meta_format(const char *id, const char *status,
                            json_t *result, const char *traceback,
                            int64_t done_ms, const char *parent_id);

/* The meta of a syncq task record (as syncq_task_info gives it) for the
 * Celery id `celery_id`. NULL on out of memory. */
char *sq_celery_meta_of_record(const char *celery_id, json_t *rec);

/* Write metas the way Celery's Redis backend does: GET first (a stored
 * SUCCESS is never overwritten), then MULTI; SETEX (or SET when
 * expires_ms is 0) celery-task-meta-<id>; PUBLISH on the channel of the
 * same name; EXEC. Two round trips for all `n`.
 * Errors: SYNCQ_ECONN, SYNCQ_EPROTO (an error reply), SYNCQ_ENOMEM. */
int sq_celery_meta_store_many(syncq_client *c, const char *const *ids,
                              const char *const *metas, size_t n,
                              int64_t expires_ms, syncq_error *err);
int sq_celery_meta_store(syncq_client *c, const char *id, const char *meta,
                         int64_t expires_ms, syncq_error *err);

/* Parse a stored meta value of task `id` into the object described for
 * syncq_celery_result. Errors: SYNCQ_EPROTO (not a Celery result). */
int sq_celery_meta_parse(const char *id, const char *text, size_t len,
                         json_t **out, syncq_error *err);

#endif
