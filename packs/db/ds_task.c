/* SPDX-License-Identifier: MIT
 *
 * ds_task.c: task-context glue of the data packs (ds_task.h).
 */
#include "db/ds_task.h"
#include "core/sq_error.h"

static int
ctx_progress(void *ud, int64_t current, int64_t total, const char *msg)
{
    syncq_error err;
    int rc = syncq_ctx_progress(ud, current, total, msg, &err);

    /* A lost lease means someone else owns the task now: stop. A broker
     * outage only loses progress reports: carry on. */
    return rc == SYNCQ_ELEASE ? 1 : 0;
}

static bool
ctx_stop(void *ud)
{
    return syncq_ctx_stop_requested(ud);
}

void
sq_task_progress_init(struct sq_progress *p, syncq_ctx *ctx)
{
    p->fn = ctx_progress;
    p->stop = ctx_stop;
    p->ud = ctx;
}

int
sq_task_class_of(int code)
{
    switch (code) {
    case SYNCQ_EINVAL:
    case SYNCQ_ETOOBIG:
        return SYNCQ_ERR_VALIDATION;
    case SYNCQ_ENOTFOUND:
        return SYNCQ_ERR_NOT_FOUND;
    case SYNCQ_EDB:
    case SYNCQ_ECONN:
    case SYNCQ_EHTTP:
        return SYNCQ_ERR_NETWORK;
    case SYNCQ_ETIMEDOUT:
        return SYNCQ_ERR_TIMEOUT;
    default:
        return SYNCQ_ERR_INTERNAL;
    }
}

int
sq_task_fail_err(syncq_ctx *ctx, const syncq_error *err, const char *what)
{
    return syncq_ctx_fail(ctx, sq_task_class_of(err->code), "%s: %s", what,
                          err->msg);
}

struct sq_db *
sq_task_db(syncq_ctx *ctx)
{
    struct sq_db *db = NULL;
    syncq_error err;

    if (sq_db_shared(syncq_ctx_config(ctx), &db, &err) != SYNCQ_OK) {
        syncq_ctx_fail(ctx,
                       err.code == SYNCQ_EINVAL ? SYNCQ_ERR_VALIDATION
                                                : SYNCQ_ERR_NETWORK,
                       "database: %s", err.msg);
        return NULL;
    }
    return db;
}

struct sq_db *
sq_task_db_existing(syncq_ctx *ctx)
{
    const char *url =
        syncq_config_str(syncq_ctx_config(ctx), "SYNCQ_DATABASE_URL");

    if (sq_db_url_missing(url)) {
        syncq_ctx_fail(ctx, SYNCQ_ERR_NOT_FOUND,
                       "database %s does not exist (nothing synced into it "
                       "yet, or SYNCQ_DATABASE_URL is wrong)",
                       url);
        return NULL;
    }
    return sq_task_db(ctx);
}
