/* SPDX-License-Identifier: MIT
 *
 * ds_summary.c: the per-category "catalog" summaries (ds_summary.h),
 * read from the catalog database in three grouped queries when a sync
 * ends (after cleanup_duplicates, the last database step of `syncq
 * sync`), published through syncq/summary.h. The figures are the
 * database's state, not this run's deltas: a category's offers are its
 * live products (duplicate_of NULL), duplicates merged are its products
 * marked duplicate_of, images are the distinct images of its live
 * products ("downloaded": stored; any other state but "pending":
 * broken).
 */
#include "data_sync/ds_summary.h"
#include "sq_error.h"

#include <stdio.h>
#include <string.h>
#include <syncq/client.h>
#include <syncq/log.h>
#include <syncq/summary.h>

static const char *const q_products =
    "SELECT p.category_id, "
    "SUM(CASE WHEN p.duplicate_of IS NULL THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN p.duplicate_of IS NULL THEN 0 ELSE 1 END), "
    "MAX(p.synced_at), MAX(c.name_zh), MAX(c.name_tr) "
    "FROM product p LEFT JOIN category c ON c.category_id = p.category_id "
    "WHERE p.category_id IS NOT NULL GROUP BY p.category_id "
    "ORDER BY COUNT(*) DESC, p.category_id LIMIT 1000";

static const char *const q_images =
    "SELECT p.category_id, "
    "COUNT(DISTINCT CASE WHEN i.status = 'downloaded' THEN i.image_id END), "
    "COUNT(DISTINCT CASE WHEN i.status NOT IN ('downloaded', 'pending') "
    "THEN i.image_id END) "
    "FROM product p JOIN product_image pi ON pi.offer_id = p.offer_id "
    "JOIN image i ON i.image_id = pi.image_id "
    "WHERE p.duplicate_of IS NULL AND p.category_id IS NOT NULL "
    "GROUP BY p.category_id";

static const char *const q_run =
    "SELECT finished_at, status, inserted, updated, unchanged, failed "
    "FROM sync_run WHERE task = 'data_sync.sync_products' AND "
    "finished_at IS NOT NULL ORDER BY run_id DESC LIMIT 1";

static json_t *
str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* {category_id: summary} with the product figures. */
static int
read_products(struct sq_db *db, json_t *out, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, q_products, &st, err);

    while (rc == SYNCQ_OK && (rc = sq_db_step(st, err)) == 1) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)sq_db_col_i64(st, 0));
        json_object_set_new(
            out, id,
            json_pack("{s:I,s:o,s:I,s:I,s:o,s:I,s:I}", "category_id",
                      (json_int_t)sq_db_col_i64(st, 0), "name",
                      str_or_null(sq_db_col_text(st, 5) != NULL
                                      ? sq_db_col_text(st, 5)
                                      : sq_db_col_text(st, 4)),
                      "offers", (json_int_t)sq_db_col_i64(st, 1),
                      "duplicates_merged", (json_int_t)sq_db_col_i64(st, 2),
                      "offers_synced_at", str_or_null(sq_db_col_text(st, 3)),
                      "images_stored", (json_int_t)0, "images_broken",
                      (json_int_t)0));
        rc = SYNCQ_OK;
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
read_images(struct sq_db *db, json_t *out, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, q_images, &st, err);

    while (rc == SYNCQ_OK && (rc = sq_db_step(st, err)) == 1) {
        char id[24];
        json_t *s;
        snprintf(id, sizeof id, "%lld", (long long)sq_db_col_i64(st, 0));
        s = json_object_get(out, id);
        if (s != NULL) {
            json_object_set_new(s, "images_stored",
                                json_integer(sq_db_col_i64(st, 1)));
            json_object_set_new(s, "images_broken",
                                json_integer(sq_db_col_i64(st, 2)));
        }
        rc = SYNCQ_OK;
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

/* The last products sync run into every summary: when it ended, its
 * outcome ("ok", "stopped", "failed") and its failed records. */
static void
add_run(struct sq_db *db, json_t *cats, syncq_error *err)
{
    struct sq_db_stmt *st;
    const char *id;
    json_t *s;
    bool have = sq_db_prepare(db, q_run, &st, err) == SYNCQ_OK &&
                sq_db_step(st, err) == 1;

    json_object_foreach(cats, id, s) {
        json_object_set_new(s, "last_sync_at",
                            str_or_null(have ? sq_db_col_text(st, 0) : NULL));
        json_object_set_new(s, "last_sync_outcome",
                            str_or_null(have ? sq_db_col_text(st, 1) : NULL));
        json_object_set_new(s, "records_failed",
                            json_integer(have ? sq_db_col_i64(st, 5) : 0));
    }
    if (have) {
        sq_db_reset(st);
    }
}

/* This task's root (the sync's task tree), or its own id. */
static json_t *
root_of(syncq_ctx *ctx)
{
    syncq_client *c = syncq_ctx_client(ctx);
    json_t *rec = NULL, *root;

    if (c == NULL || syncq_task_info(c, syncq_ctx_id(ctx), &rec, NULL) !=
                         SYNCQ_OK) {
        return json_string(syncq_ctx_id(ctx));
    }
    root = json_object_get(rec, "root_id");
    root = json_string(json_string_value(root) != NULL
                           ? json_string_value(root)
                           : syncq_ctx_id(ctx));
    json_decref(rec);
    return root;
}

static int
publish_all(syncq_ctx *ctx, json_t *cats, syncq_error *err)
{
    json_t *root = root_of(ctx), *s;
    const char *id;
    int rc = SYNCQ_OK;

    json_object_foreach(cats, id, s) {
        json_object_set(s, "root_id", root);
        json_object_set_new(s, "task_id", json_string(syncq_ctx_id(ctx)));
        rc = syncq_summary_put(syncq_ctx_client(ctx), "catalog", id, s, err);
        if (rc != SYNCQ_OK) {
            break;
        }
    }
    json_decref(root);
    return rc;
}

void
sq_ds_summary_publish(syncq_ctx *ctx, struct sq_db *db)
{
    json_t *cats = json_object();
    syncq_error err = {0};
    int rc = cats != NULL ? SYNCQ_OK : SYNCQ_ENOMEM;

    if (syncq_ctx_client(ctx) == NULL) {
        json_decref(cats);
        return; /* run without a broker: nowhere to publish */
    }
    if (rc == SYNCQ_OK) {
        rc = read_products(db, cats, &err);
    }
    if (rc == SYNCQ_OK) {
        rc = read_images(db, cats, &err);
    }
    if (rc == SYNCQ_OK) {
        add_run(db, cats, &err);
        rc = publish_all(ctx, cats, &err);
    }
    if (rc != SYNCQ_OK) {
        syncq_log(SYNCQ_LOG_WARN, "data_sync.summary_failed", "err=\"%s\"",
                  err.msg);
    } else {
        syncq_log(SYNCQ_LOG_INFO, "data_sync.summary", "categories=%zu",
                  json_object_size(cats));
    }
    json_decref(cats);
}
