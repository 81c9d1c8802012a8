/* SPDX-License-Identifier: MIT
 *
 * syncq/pipeline.h: the pipelined producer. Many task creates in flight
 * on one connection: each create is sent without waiting for the answer
 * of the one before, and each is answered, in the order added, with its
 * task id or its error. A producer that creates tasks one by one
 * (syncq_task_create) waits a full round trip per task; a pipeline waits
 * about one per `depth` tasks, so one process creates many times more
 * tasks per second.
 *
 * Consecutive creates share an enqueue call (up to 64 in one), which
 * creates each as a call of its own would: a task whose id is reported
 * to the callback with SYNCQ_OK exists completely in Redis (the delivery
 * contract of syncq/client.h holds per task), and the id is reported only
 * after the call carrying it succeeded. A task refused by Redis (an id the
 * caller chose that exists: answered as a duplicate; its queue's ready
 * list holding another type) is answered with its error and the others
 * of its call are created. An error of a whole call (Redis out of memory,
 * read-only, loading) answers each of its creates with that error, and
 * answers lost with the connection are SYNCQ_ECONN: such a task may or
 * may not exist, as for syncq_task_create (a create with
 * options->task_id set can be sent again safely: it answers with the
 * same id). Creates are queued on the connection in calls and written
 * when an answer is awaited (the window is full, or
 * syncq_pipeline_flush): call syncq_pipeline_flush to have every create
 * reach Redis.
 *
 * Thread-safety: a pipeline belongs to one thread, and so does its
 * client while the pipeline holds calls in flight (use no other call on
 * that client until syncq_pipeline_flush returned). Callbacks run in that
 * thread, inside syncq_pipeline_add or syncq_pipeline_flush.
 */
#ifndef SYNCQ_PIPELINE_H
#define SYNCQ_PIPELINE_H

#include <stddef.h>
#include <syncq/client.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syncq_pipeline syncq_pipeline;

/* The answer to one create. `id`: the task id (SYNCQ_ID_SIZE bytes,
 * valid during the call), also on error (the id that was to be created).
 * `rc`: SYNCQ_OK (created, or an existing task of the same unique key:
 * `dup` is 1 then and `id` is that task's), else an error code with `err`
 * (valid during the call) saying why. `ud`: what was given to
 * syncq_pipeline_add. */
typedef void (*syncq_pipeline_cb)(void *ud, const char *id, int dup, int rc,
                                  const syncq_error *err);

/* A pipeline on client `c` (borrowed: it must outlive the pipeline) with
 * at most `depth` creates in flight (1..100000; 0 picks 256). The
 * pipeline opens a second connection of its own for the lookups its
 * checks may need (the declaration of a task not registered in this
 * process), closed by syncq_pipeline_free. Errors: SYNCQ_EINVAL (no
 * client, depth too large), SYNCQ_ENOMEM, SYNCQ_EAUTH. */
SYNCQ_API int syncq_pipeline_new(syncq_client *c, size_t depth,
                                 syncq_pipeline **out, syncq_error *err);

/* Check and queue one create (the arguments as syncq_task_create; all
 * borrowed, needed only during the call). When `depth` creates are
 * already in flight, the oldest call's answers are read first (their
 * callbacks run). Returns SYNCQ_OK when the create was taken: its answer
 * comes later through `cb` (SYNCQ_ECONN there when Redis could not be
 * reached to send it). Bad input is refused at once, nothing sent, no
 * callback: SYNCQ_EINVAL / SYNCQ_ETOOBIG (as syncq_task_create);
 * SYNCQ_ECONN when the declaration of an unregistered task could not be
 * read; SYNCQ_ENOMEM. */
SYNCQ_API int syncq_pipeline_add(syncq_pipeline *p, const char *name,
                                 const char *args_json,
                                 const char *kwargs_json,
                                 const syncq_task_options *opts,
                                 syncq_pipeline_cb cb, void *ud,
                                 syncq_error *err);

/* Creates sent whose answer has not been delivered yet. */
SYNCQ_API size_t syncq_pipeline_pending(const syncq_pipeline *p);

/* Wait for every answer in flight (their callbacks run, in order).
 * Returns SYNCQ_OK once none is pending (errors of single creates go to
 * their callbacks, not here). */
SYNCQ_API int syncq_pipeline_flush(syncq_pipeline *p);

/* Flush, then free the pipeline (NULL is a no-op). The client stays
 * open. */
SYNCQ_API void syncq_pipeline_free(syncq_pipeline *p);

#ifdef __cplusplus
}
#endif

#endif
