/* SPDX-License-Identifier: MIT
 *
 * bp_tasks.c: the batch_processing.* tasks (queue batch_processing).
 * batch_import keeps its checkpoint in the database (table batch_job,
 * committed with the rows: exact resume); batch_update and batch_delete
 * keep a cursor in the task's checkpoint (they are idempotent, the
 * cursor only saves work on a resume). A run stopped by a soft time
 * limit or a shutdown fails with class timeout so the retry continues.
 */
#include "batch_processing/bp_pack.h"
#include "sq_error.h"
#include "batch_processing/bp.h"
#include "db/ds_task.h"

#include <string.h>

/* Progress that also checkpoints a cursor. */
struct cursor_progress {
    syncq_ctx *ctx;
    int64_t *cursor;
    int64_t seq;
};

static int
cursor_report(void *ud, int64_t current, int64_t total, const char *msg)
{
    struct cursor_progress *cp = ud;
    syncq_error err;
    json_t *state = json_pack("{s:I}", "cursor", (json_int_t)*cp->cursor);
    int rc;

    if (state != NULL) {
        (void)syncq_ctx_checkpoint_save_json(cp->ctx, state, ++cp->seq, &err);
        json_decref(state);
    }
    rc = syncq_ctx_progress(cp->ctx, current, total, msg, &err);
    return rc == SYNCQ_ELEASE ? 1 : 0;
}

static bool
cursor_stop(void *ud)
{
    return syncq_ctx_stop_requested(((struct cursor_progress *)ud)->ctx);
}

/* Resume position from the last good checkpoint, or 0. */
static int64_t
load_cursor(syncq_ctx *ctx, int64_t *seq)
{
    json_t *state = NULL;
    int64_t cursor = 0;

    *seq = 0;
    if (syncq_ctx_checkpoint_load_json(ctx, &state, seq, NULL) == SYNCQ_OK) {
        cursor = (int64_t)json_integer_value(json_object_get(state, "cursor"));
        json_decref(state);
    }
    return cursor > 0 ? cursor : 0;
}

static int
fail_or_stop(syncq_ctx *ctx, const syncq_error *err, const char *what)
{
    if (err->code == SYNCQ_ETIMEDOUT) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                              "%s: %s; the retry "
                              "continues from the checkpoint",
                              what, err->msg);
    }
    return sq_task_fail_err(ctx, err, what);
}

static const char *
format_of(const char *path, const char *given)
{
    const char *dot;

    if (given != NULL) {
        return given;
    }
    dot = path != NULL ? strrchr(path, '.') : NULL;
    if (dot != NULL && strcmp(dot, ".csv") == 0) {
        return "csv";
    }
    if (dot != NULL &&
        (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0)) {
        return "jsonl";
    }
    return NULL;
}

static int
task_batch_import(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"path",       "format", "job_id",
                                          "batch_rows", "force",  NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct bp_import_opts o;
    struct sq_progress p;
    struct sq_db *db;
    const char *fmt = NULL;
    int64_t batch = 500;
    json_t *res = NULL;
    syncq_error err;
    int rc;

    memset(&o, 0, sizeof o);
    rc = sq_task_args_check(a, k, allowed, 2, &err);
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_str(a, k, "path", 0, NULL, &o.path, &err);
    }
    if (rc == SYNCQ_OK && o.path == NULL) {
        rc = sq_fail(&err, SYNCQ_EINVAL, "argument path is required");
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_str(a, k, "format", 1, NULL, &fmt, &err);
    }
    if (rc == SYNCQ_OK) {
        o.format = format_of(o.path, fmt);
        if (o.format == NULL) {
            rc = sq_fail(&err, SYNCQ_EINVAL,
                         "argument format: csv or jsonl "
                         "(not guessable from '%.80s')",
                         o.path);
        }
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_str(a, k, "job_id", -1, syncq_ctx_id(ctx), &o.job_id,
                             &err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_int(a, k, "batch_rows", -1, 500, 1, 10000, &batch,
                             &err);
        o.batch_rows = (int)batch;
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_bool(a, k, "force", -1, false, &o.force, &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "batch_import");
    }
    db = sq_task_db(ctx);
    if (db == NULL) {
        return SYNCQ_EDB;
    }
    sq_task_progress_init(&p, ctx);
    rc = bp_import(db, &o, &p, &res, &err);
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "batch_import");
    }
    if (strcmp(json_string_value(json_object_get(res, "status")), "stopped") ==
        0) {
        syncq_ctx_set_error_detail(ctx, res);
        return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                              "import stopped; the "
                              "retry resumes after the last committed row");
    }
    return syncq_ctx_succeed(ctx, res);
}

static int
task_batch_export(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"path", "format", "filter",
                                          "overwrite", NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct sq_progress p;
    struct sq_db *db;
    const char *path = NULL;
    const char *fmt = NULL;
    char target[4096];
    bool overwrite = false;
    json_t *res = NULL;
    syncq_error err;
    int rc;

    rc = sq_task_args_check(a, k, allowed, 3, &err);
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_str(a, k, "path", 0, NULL, &path, &err);
    }
    if (rc == SYNCQ_OK && path == NULL) {
        rc = sq_fail(&err, SYNCQ_EINVAL, "argument path is required");
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_str(a, k, "format", 1, NULL, &fmt, &err);
    }
    if (rc == SYNCQ_OK) {
        fmt = format_of(path, fmt);
        if (fmt == NULL) {
            rc = sq_fail(&err, SYNCQ_EINVAL,
                         "argument format: csv or "
                         "jsonl");
        }
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_bool(a, k, "overwrite", -1, false, &overwrite, &err);
    }
    if (rc == SYNCQ_OK) {
        rc = bp_export_path(
            syncq_config_str(syncq_ctx_config(ctx), "SYNCQ_EXPORT_DIR"), path,
            target, sizeof target, &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "batch_export");
    }
    db = sq_task_db_existing(ctx);
    if (db == NULL) {
        return SYNCQ_EDB;
    }
    sq_task_progress_init(&p, ctx);
    rc = bp_export(db, target, fmt, overwrite, sq_task_arg(a, k, "filter", 2),
                   &p, &res, &err);
    if (rc == SYNCQ_EEXIST) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION, "batch_export: %s",
                              err.msg);
    }
    if (rc != SYNCQ_OK) {
        return fail_or_stop(ctx, &err, "batch_export");
    }
    return syncq_ctx_succeed(ctx, res);
}

/* batch_update/batch_delete as a batch's chunk: the chunk's `items` are
 * offer ids, ANDed with `filter` as its offer_id key. *out: a new
 * reference to the filter to use (the given one when no items). */
static int
items_filter(const json_t *a, const json_t *k, int filter_pos, json_t **out,
             syncq_error *err)
{
    const json_t *filter = sq_task_arg(a, k, "filter", filter_pos);
    const json_t *items = json_object_get(k, "items");
    json_t *f;

    *out = json_incref((json_t *)filter);
    if (items == NULL || json_is_null(items)) {
        return SYNCQ_OK;
    }
    if (filter != NULL && !json_is_object(filter)) {
        return SYNCQ_OK; /* bp_filter names the bad filter */
    }
    if (json_object_get(filter, "offer_id") != NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "give offer ids as items or as "
                       "filter.offer_id, not both");
    }
    f = filter != NULL ? json_deep_copy(filter) : json_object();
    if (f == NULL || json_object_set(f, "offer_id", (json_t *)items) != 0) {
        json_decref(f);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    json_decref(*out);
    *out = f;
    return SYNCQ_OK;
}

static int
task_batch_update(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"filter", "set", "items", NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct cursor_progress cp;
    struct sq_progress p;
    struct sq_db *db;
    int64_t cursor;
    json_t *res = NULL;
    syncq_error err;
    int rc;

    json_t *filter = NULL;

    rc = sq_task_args_check(a, k, allowed, 2, &err);
    if (rc == SYNCQ_OK) {
        rc = items_filter(a, k, 0, &filter, &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "batch_update");
    }
    db = sq_task_db(ctx);
    if (db == NULL) {
        json_decref(filter);
        return SYNCQ_EDB;
    }
    cp.ctx = ctx;
    cp.cursor = &cursor;
    cursor = load_cursor(ctx, &cp.seq);
    p.fn = cursor_report;
    p.stop = cursor_stop;
    p.ud = &cp;
    rc = bp_update(db, filter, sq_task_arg(a, k, "set", 1), &cursor, &p, &res,
                   &err);
    json_decref(filter);
    if (rc != SYNCQ_OK) {
        return fail_or_stop(ctx, &err, "batch_update");
    }
    return syncq_ctx_succeed(ctx, res);
}

static int
task_batch_delete(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"filter", "dry_run", "items", NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct cursor_progress cp;
    struct sq_progress p;
    struct sq_db *db;
    int64_t cursor;
    bool dry_run = false;
    json_t *res = NULL;
    syncq_error err;
    int rc;

    json_t *filter = NULL;

    rc = sq_task_args_check(a, k, allowed, 1, &err);
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_bool(a, k, "dry_run", -1, false, &dry_run, &err);
    }
    if (rc == SYNCQ_OK) {
        rc = items_filter(a, k, 0, &filter, &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "batch_delete");
    }
    db = sq_task_db(ctx);
    if (db == NULL) {
        json_decref(filter);
        return SYNCQ_EDB;
    }
    cp.ctx = ctx;
    cp.cursor = &cursor;
    cursor = load_cursor(ctx, &cp.seq);
    p.fn = cursor_report;
    p.stop = cursor_stop;
    p.ud = &cp;
    rc = bp_delete(db, filter, dry_run, &cursor, &p, &res, &err);
    json_decref(filter);
    if (rc != SYNCQ_OK) {
        return fail_or_stop(ctx, &err, "batch_delete");
    }
    return syncq_ctx_succeed(ctx, res);
}

/* Declared arguments (syncq/task.h): every producer door checks them
 * before a task is written; the task functions still check what they
 * read (filters, columns, files). */
#define B_KW SYNCQ_ARG_KEYWORD
#define B_PATH                                                              \
    {.name = "path", .type = SYNCQ_ARG_STRING, .flags = SYNCQ_ARG_REQUIRED, \
     .min = 1, .max = 4096, .doc = "file path on the worker"},              \
    {.name = "format", .type = SYNCQ_ARG_STRING, .choices = "csv|jsonl",    \
     .doc = "file format (default: by the path's extension)"}
#define B_FILTER                                                            \
    {.name = "filter", .type = SYNCQ_ARG_OBJECT,                            \
     .doc = "which products (docs/tasks.md \"Filters\")"}
#define B_ITEMS                                                             \
    {.name = "items", .type = SYNCQ_ARG_ARRAY,                              \
     .flags = B_KW | SYNCQ_ARG_ITEMS, .min = 1, .max = 10000,               \
     .item_type = SYNCQ_ARG_INT,                                            \
     .doc = "offer ids, ANDed with filter; a batch's items"}

static const syncq_arg_def import_args[] = {
    B_PATH,
    {.name = "job_id", .type = SYNCQ_ARG_STRING, .flags = B_KW, .min = 1,
     .max = 200, .doc = "import job to resume (default: the task id)"},
    {.name = "batch_rows", .type = SYNCQ_ARG_INT, .flags = B_KW, .min = 1,
     .max = 10000, .default_json = "500", .doc = "rows per transaction"},
    {.name = "force", .type = SYNCQ_ARG_BOOL, .flags = B_KW,
     .default_json = "false", .doc = "import again a file already imported"},
    {0},
};
static const syncq_arg_def export_args[] = {
    B_PATH,
    B_FILTER,
    {.name = "overwrite", .type = SYNCQ_ARG_BOOL, .flags = B_KW,
     .default_json = "false",
     .doc = "replace an existing file (else it is refused)"},
    {0},
};
static const syncq_arg_def update_args[] = {
    B_FILTER,
    {.name = "set", .type = SYNCQ_ARG_OBJECT, .flags = SYNCQ_ARG_REQUIRED,
     .doc = "columns to change: {\"status\": \"inactive\", ...}"},
    B_ITEMS,
    {0},
};
static const syncq_arg_def delete_args[] = {
    B_FILTER,
    {.name = "dry_run", .type = SYNCQ_ARG_BOOL, .flags = B_KW,
     .default_json = "false", .doc = "only count"},
    B_ITEMS,
    {0},
};

int
sq_pack_batch_processing_init(syncq_registry *r, int abi, syncq_error *err)
{
    static const syncq_task_def defs[] = {
        {"batch_processing.batch_import", task_batch_import, "batch_processing",
         -1, 0, 0, -1, NULL,
         "path, format=csv|jsonl, job_id=<task id>, batch_rows=500, "
         "force=false",
         "Stream products from a CSV/JSONL file into the catalog, "
         "resumable, bad rows reported",
         import_args},
        {"batch_processing.batch_export", task_batch_export, "batch_processing",
         -1, 0, 0, -1, NULL,
         "path, format=csv|jsonl, filter={}, overwrite=false",
         "Write matching products to a CSV/JSONL file (atomic)", export_args},
        {"batch_processing.batch_update", task_batch_update, "batch_processing",
         -1, 0, 0, -1, NULL, "filter, set, items",
         "Set columns of the matching products", update_args},
        {"batch_processing.batch_delete", task_batch_delete, "batch_processing",
         -1, 0, 0, -1, NULL, "filter, dry_run=false, items",
         "Delete the matching products (an empty filter needs all=true)",
         delete_args},
    };
    int rc;

    if (abi != SYNCQ_PLUGIN_ABI) {
        return sq_fail(err, SYNCQ_ENOTSUP,
                       "batch_processing pack: ABI %d, "
                       "host has %d",
                       SYNCQ_PLUGIN_ABI, abi);
    }
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        rc = syncq_registry_add(r, &defs[i], err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return SYNCQ_OK;
}
