/* SPDX-License-Identifier: MIT
 *
 * syncq/celery.h: Celery wire compatibility, producer side. Publish a
 * Celery protocol 2 task message that an unchanged Python `celery worker`
 * (Celery 5.x, kombu Redis transport, JSON serializer) runs, and read the
 * result a Celery worker (or a syncq worker running a Celery message)
 * wrote with Celery's Redis result backend (`celery-task-meta-<id>`).
 * The consumer side is `syncq worker --celery` (docs/celery.md).
 *
 * The broker is the client's Redis (same db): kombu's keys carry no
 * namespace, so Python and syncq must use the same Redis URL and db.
 * Thread-safety: as syncq_client (one thread at a time per client).
 */
#ifndef SYNCQ_CELERY_H
#define SYNCQ_CELERY_H

#include <jansson.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Publish task `name` as a Celery message: LPUSH of kombu's envelope
 * onto the list of opts->queue ("celery" when NULL) at the priority step
 * of opts->priority, after the binding SADD Celery does.
 * name: sent as given (a Python task name such as
 *       src.queue.tasks.crawler.fetch_products), 1..200 bytes, no control
 *       characters. args_json: JSON array or NULL ([]); kwargs_json: JSON
 *       object or NULL ({}).
 * opts (may be NULL) fields used: queue; priority (syncq's 0..10, higher
 *       first; mapped to Celery's 9 - min(p, 9), -1: Celery 0); countdown_ms
 *       or eta_ms (become the eta header, computed on this machine's
 *       clock as Celery does); expires_ms or expires_in_ms; task_id (a
 *       UUID; NULL: new UUID v4); parent_id; root_id; time_limit_ms and
 *       soft_time_limit_ms (the timelimit header). Any other field set
 *       (max_retries, unique_key, retry_policy_json, batch_id,
 *       result_expires_ms) is refused: a Celery message cannot carry it.
 * Arguments: when `name` is one syncq_task_name_normalize accepts and a
 *       declaration of it is known (syncq_task_args_check: the registry,
 *       then the declarations workers publish), args and kwargs are
 *       checked against it, as for syncq_task_create: a syncq worker
 *       --celery would dead-letter the message (celery_bad_task), and the
 *       seed's Python tasks take what syncq declares. Other names (a
 *       Python-only task) are not checked.
 * id_out: receives the task id.
 * Errors: SYNCQ_EINVAL (name, JSON, option, arguments that do not fit
 *         the declaration: "field: error; ..."; the message names it),
 *         SYNCQ_ETOOBIG (over SYNCQ_MAX_PAYLOAD), SYNCQ_ECONN,
 *         SYNCQ_ENOMEM. Nothing is pushed on error. */
SYNCQ_API int syncq_celery_send(syncq_client *c, const char *name,
                                const char *args_json,
                                const char *kwargs_json,
                                const syncq_task_options *opts,
                                char id_out[SYNCQ_ID_SIZE],
                                syncq_error *err);

/* Read the Celery result of task `id` (`GET celery-task-meta-<id>`) as a
 * task object shaped like syncq_task_info's: {id, state (PENDING is never
 * stored: a missing key is SYNCQ_ENOTFOUND), result, error {class,
 * message} (class = the exception type, e.g. ValueError), traceback,
 * done_at (ISO 8601 UTC), retries, name, queue, worker (when the writer
 * used result_extended), origin: "celery"}. *out: new object, caller
 * json_decref's. Errors: SYNCQ_EINVAL (empty id or over 200 bytes),
 * SYNCQ_ENOTFOUND, SYNCQ_EPROTO (the stored value is not a Celery
 * result), SYNCQ_ECONN. */
SYNCQ_API int syncq_celery_result(syncq_client *c, const char *id,
                                  json_t **out, syncq_error *err);

/* Task `id` as syncq_task_info gives it when syncq has the task (also a
 * Celery message a syncq worker ran: same id), else its Celery result as
 * syncq_celery_result gives it (a task a Python worker ran). What
 * `syncq task info` shows. Errors: as syncq_task_info; SYNCQ_ENOTFOUND
 * when neither exists. */
SYNCQ_API int syncq_celery_info(syncq_client *c, const char *id,
                                json_t **out, syncq_error *err);

/* Wait until the Celery result of `id` is ready (SUCCESS, FAILURE or
 * REVOKED) or `timeout_ms` passes (0: check once; < 0: forever), polling
 * with a backoff from 5 ms to 200 ms. *out (may be NULL) gets the result
 * as syncq_celery_result gives it (on SYNCQ_ETIMEDOUT the last state
 * seen, {id, state: "PENDING"} when there is none yet).
 * Errors: SYNCQ_ETIMEDOUT, SYNCQ_EINVAL, SYNCQ_EPROTO, SYNCQ_ECONN (only
 * if Redis is still away at the timeout). */
SYNCQ_API int syncq_celery_wait(syncq_client *c, const char *id,
                                int64_t timeout_ms, json_t **out,
                                syncq_error *err);

#ifdef __cplusplus
}
#endif

#endif
