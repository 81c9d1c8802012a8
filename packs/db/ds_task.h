/* SPDX-License-Identifier: MIT
 *
 * ds_task.h: glue between the plain C operations of the data packs
 * (data_sync, image_processing, batch_processing) and the task context
 * of syncq/task.h: the shared database connection, progress and stop
 * requests, and the mapping of error codes to task error classes.
 */
#ifndef SQ_DS_TASK_H
#define SQ_DS_TASK_H

#include "db/ds_util.h"
#include "db/sq_db.h"

#include <syncq/task.h>

/* A progress sink reporting through syncq_ctx_progress and asking to
 * stop when syncq_ctx_stop_requested() or the lease was lost. */
void sq_task_progress_init(struct sq_progress *p, syncq_ctx *ctx);

/* The task class of an error code: EINVAL/ETOOBIG -> validation,
 * ENOTFOUND -> not_found, EDB/ECONN/EHTTP -> network (retried: a locked
 * or restarting database), ETIMEDOUT -> timeout, others -> internal. */
int sq_task_class_of(int code);

/* Finish the task as failed with the class of err->code and its message
 * prefixed by `what`. Returns what syncq_ctx_fail returns. */
int sq_task_fail_err(syncq_ctx *ctx, const syncq_error *err, const char *what);

/* This process's catalog database (SYNCQ_DATABASE_URL), or NULL after
 * failing the task (class network: the database may come back). */
struct sq_db *sq_task_db(syncq_ctx *ctx);

/* The same for tasks that only read or tidy an existing catalog
 * (validate_data, cleanup_duplicates, batch_export): a SQLite file that
 * does not exist fails the task (class not_found) instead of being
 * created empty and reported clean. */
struct sq_db *sq_task_db_existing(syncq_ctx *ctx);

#endif
