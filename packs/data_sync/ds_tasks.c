/* SPDX-License-Identifier: MIT
 *
 * ds_tasks.c: the data_sync.* tasks. Each one checks its arguments
 * (unknown ones are a validation error, not silently ignored), takes the
 * process's shared database connection and runs the plain C operation of
 * ds_sync.h with progress and stop requests wired to the context.
 * Arguments and results: docs/tasks.md.
 */
#include "data_sync/ds_pack.h"
#include "sq_error.h"
#include "data_sync/ds_summary.h"
#include "data_sync/ds_sync.h"
#include "db/ds_task.h"

#include <string.h>

/* A sync stopped by a soft time limit or shutdown: the committed part
 * stays, the task is retried and the next run continues from there. */
static int
finish_sync(syncq_ctx *ctx, json_t *res)
{
    if (json_is_true(json_object_get(res, "stopped"))) {
        syncq_ctx_set_error_detail(ctx, res);
        return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                              "stopped before the end; the next run "
                              "continues where this one stopped");
    }
    return syncq_ctx_succeed(ctx, res);
}

/* The batch summary a completion task receives (SYNCQ_ARGS_BATCH_SUMMARY):
 * these tasks may run as a batch's on_complete; they ignore it. */
#define BATCH_SUMMARY "batch_id", "total", "succeeded", "failed"

static int
read_sync_opts(syncq_ctx *ctx, const char *const *allowed,
               struct sq_sync_opts *o, syncq_error *err)
{
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    const char *type;
    int64_t batch;
    int rc;

    sq_sync_opts_init(o);
    o->task_id = syncq_ctx_id(ctx);
    rc = sq_task_args_check(a, k, allowed, 1, err);
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_str(a, k, "sync_type", 0, "incremental", &type, err);
    }
    if (rc == SYNCQ_OK) {
        if (strcmp(type, "full") == 0) {
            o->full = true;
        } else if (strcmp(type, "incremental") != 0) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "argument sync_type: '%.40s', "
                         "expected incremental or full",
                         type);
        }
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_bool(a, k, "force", -1, false, &o->force, err);
    }
    if (rc == SYNCQ_OK && json_object_get(k, "include_categories")) {
        rc = sq_task_arg_bool(a, k, "include_categories", -1, true,
                              &o->include_categories, err);
    }
    if (rc == SYNCQ_OK && json_object_get(k, "include_listings")) {
        rc = sq_task_arg_bool(a, k, "include_listings", -1, true,
                              &o->include_listings, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_int(a, k, "batch_size", -1, 500, 1, 1000, &batch, err);
        o->batch_size = (int)batch;
    }
    return rc;
}

static int
task_sync_products(syncq_ctx *ctx)
{
    static const char *const allowed[] = {
        "sync_type",        "force",      "include_categories",
        "include_listings", "batch_size", BATCH_SUMMARY, NULL};
    struct sq_sync_opts o;
    struct sq_progress p;
    struct sq_db *db;
    json_t *res = NULL;
    syncq_error err;

    if (read_sync_opts(ctx, allowed, &o, &err) != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "sync_products");
    }
    db = sq_task_db(ctx);
    if (db == NULL) {
        return SYNCQ_EDB;
    }
    sq_task_progress_init(&p, ctx);
    if (sq_ds_sync_products(db, &o, &p, &res, &err) != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "sync_products");
    }
    return finish_sync(ctx, res);
}

static int
task_sync_suppliers(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"sync_type", "force", "batch_size",
                                          BATCH_SUMMARY, NULL};
    struct sq_sync_opts o;
    struct sq_progress p;
    struct sq_db *db;
    json_t *res = NULL;
    syncq_error err;

    if (read_sync_opts(ctx, allowed, &o, &err) != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "sync_suppliers");
    }
    db = sq_task_db(ctx);
    if (db == NULL) {
        return SYNCQ_EDB;
    }
    sq_task_progress_init(&p, ctx);
    if (sq_ds_sync_suppliers(db, &o, &p, &res, &err) != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "sync_suppliers");
    }
    return finish_sync(ctx, res);
}

static int
task_validate_data(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"check_files", "sample",
                                          "fail_on_error", BATCH_SUMMARY,
                                          NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct sq_validate_opts o;
    struct sq_progress p;
    struct sq_db *db;
    json_t *rep = NULL;
    syncq_error err;
    bool fail_on_error = false;
    int64_t sample = 100;
    int rc;

    memset(&o, 0, sizeof o);
    rc = sq_task_args_check(a, k, allowed, 0, &err);
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_bool(a, k, "check_files", -1, true, &o.check_files,
                              &err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_int(a, k, "sample", -1, 100, 0, 10000, &sample, &err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_bool(a, k, "fail_on_error", -1, false, &fail_on_error,
                              &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "validate_data");
    }
    o.sample = (int)sample;
    o.media_dir = syncq_config_str(syncq_ctx_config(ctx), "SYNCQ_MEDIA_DIR");
    o.task_id = syncq_ctx_id(ctx);
    db = sq_task_db_existing(ctx);
    if (db == NULL) {
        return SYNCQ_EDB;
    }
    sq_task_progress_init(&p, ctx);
    if (sq_ds_validate(db, &o, &p, &rep, &err) != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "validate_data");
    }
    if (fail_on_error && !json_is_true(json_object_get(rep, "ok"))) {
        long long n =
            (long long)json_integer_value(json_object_get(rep, "errors"));
        syncq_ctx_set_error_detail(ctx, rep);
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "%lld rule "
                              "violations (see error.detail)",
                              n);
    }
    return syncq_ctx_succeed(ctx, rep);
}

static int
task_cleanup_duplicates(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"dry_run", BATCH_SUMMARY, NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct sq_progress p;
    struct sq_db *db;
    json_t *res = NULL;
    syncq_error err;
    bool dry_run = false;
    int rc;

    rc = sq_task_args_check(a, k, allowed, 1, &err);
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_bool(a, k, "dry_run", 0, false, &dry_run, &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "cleanup_duplicates");
    }
    db = sq_task_db_existing(ctx);
    if (db == NULL) {
        return SYNCQ_EDB;
    }
    sq_task_progress_init(&p, ctx);
    if (sq_ds_cleanup_duplicates(db, dry_run, &p, &res, &err) != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "cleanup_duplicates");
    }
    sq_ds_summary_publish(ctx, db); /* the Catalog page: ds_summary.c */
    return syncq_ctx_succeed(ctx, res);
}

/* Declared arguments (syncq/task.h): every producer door checks them
 * before a task is written. Each of these tasks may be a batch's
 * completion task (SYNCQ_ARGS_BATCH_SUMMARY). */
#define D_KW SYNCQ_ARG_KEYWORD
#define D_SYNC                                                              \
    {.name = "sync_type", .type = SYNCQ_ARG_STRING,                         \
     .choices = "incremental|full", .default_json = "\"incremental\"",      \
     .doc = "changed records only, or every stored record"},               \
    {.name = "force", .type = SYNCQ_ARG_BOOL, .flags = D_KW,                \
     .default_json = "false",                                               \
     .doc = "rewrite rows even when the content hash matches"}
#define D_BATCH                                                             \
    {.name = "batch_size", .type = SYNCQ_ARG_INT, .flags = D_KW, .min = 1,  \
     .max = 1000, .default_json = "500",                                    \
     .doc = "records per transaction"}

static const syncq_arg_def sync_products_args[] = {
    D_SYNC,
    {.name = "include_categories", .type = SYNCQ_ARG_BOOL, .flags = D_KW,
     .default_json = "true", .doc = "category records too"},
    {.name = "include_listings", .type = SYNCQ_ARG_BOOL, .flags = D_KW,
     .default_json = "true", .doc = "listing-only offers too"},
    D_BATCH,
    SYNCQ_ARGS_BATCH_SUMMARY,
    {0},
};
static const syncq_arg_def sync_suppliers_args[] = {
    D_SYNC,
    D_BATCH,
    SYNCQ_ARGS_BATCH_SUMMARY,
    {0},
};
static const syncq_arg_def validate_args[] = {
    {.name = "check_files", .type = SYNCQ_ARG_BOOL, .flags = D_KW,
     .default_json = "true", .doc = "downloaded images must exist on disk"},
    {.name = "sample", .type = SYNCQ_ARG_INT, .flags = D_KW, .min = 0,
     .max = 10000, .default_json = "100",
     .doc = "offending ids listed per rule"},
    {.name = "fail_on_error", .type = SYNCQ_ARG_BOOL, .flags = D_KW,
     .default_json = "false", .doc = "end FAILURE when a rule is broken"},
    SYNCQ_ARGS_BATCH_SUMMARY,
    {0},
};
static const syncq_arg_def cleanup_args[] = {
    {.name = "dry_run", .type = SYNCQ_ARG_BOOL, .default_json = "false",
     .doc = "only count what would be merged"},
    SYNCQ_ARGS_BATCH_SUMMARY,
    {0},
};

int
sq_pack_data_sync_init(syncq_registry *r, int abi, syncq_error *err)
{
    static const syncq_task_def defs[] = {
        {"data_sync.sync_products", task_sync_products, "data_sync", -1, 0, 0,
         -1, NULL,
         "sync_type=incremental|full, force=false, include_categories=true, "
         "include_listings=true, batch_size=500",
         "Upsert products, SKUs, tiers, images, suppliers and categories "
         "from the stored raw responses",
         sync_products_args},
        {"data_sync.sync_suppliers", task_sync_suppliers, "data_sync", -1, 0, 0,
         -1, NULL,
         "sync_type=incremental|full, force=false, "
         "batch_size=500",
         "Upsert suppliers from the stored shop records", sync_suppliers_args},
        {"data_sync.validate_data", task_validate_data, "data_sync", -1, 0, 0,
         -1, NULL, "check_files=true, sample=100, fail_on_error=false",
         "Check the catalog rules and report the offending ids",
         validate_args},
        {"data_sync.cleanup_duplicates", task_cleanup_duplicates, "data_sync",
         -1, 0, 0, -1, NULL, "dry_run=false",
         "Merge duplicate suppliers, products and images deterministically",
         cleanup_args},
    };
    int rc;

    if (abi != SYNCQ_PLUGIN_ABI) {
        return sq_fail(err, SYNCQ_ENOTSUP,
                       "data_sync pack: ABI %d, host has "
                       "%d",
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
