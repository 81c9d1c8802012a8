/* SPDX-License-Identifier: MIT
 *
 * ds_dedupe.c: cleanup_duplicates (ds_sync.h). The keeper is always
 * chosen by a fixed order, so two runs over the same data make the same
 * decisions. Duplicate products and images are only marked
 * (duplicate_of), never deleted: each kind is marked set-based, a few
 * statements over a window query whatever the number of duplicates
 * (mark_tx). Suppliers are merged (deleted) the same way, one
 * identifier after the other: a deleted supplier row is first copied
 * into merge_log and its known values fill the keeper's gaps, in order
 * (ds_dedupe_supplier.c).
 */
#include "data_sync/ds_sync.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include <syncq/log.h>
#include <syncq/time.h>
#include "data_sync/ds_catalog.h"
#include "db/sq_db_rows.h"

#include <stdio.h>
#include <string.h>

#define MAX_MEMBERS 1000 /* rows merged per group and run */
#define MAX_LISTED 100   /* merges listed in the result */

struct group {
    const char *entity; /* "supplier" | "product" | "image" */
    const char *by;     /* the matching column */
    int64_t ids[MAX_MEMBERS];
    size_t n; /* ids[0] is the keeper */
};

struct section {
    int64_t groups;
    int64_t merged;
    json_t *list;
};

static int
oom(syncq_error *err)
{
    return sq_fail(err, SYNCQ_ENOMEM, "out of memory in cleanup");
}

static void
list_group(struct section *s, const struct group *g)
{
    json_t *ids;
    json_t *o;

    if (json_array_size(s->list) >= MAX_LISTED) {
        return;
    }
    ids = json_array();
    for (size_t i = 1; i < g->n && ids != NULL; i++) {
        json_array_append_new(ids, json_integer(g->ids[i]));
    }
    o = json_pack("{s:I, s:o, s:s}", "keep", (json_int_t)g->ids[0], "merged",
                  ids, "by", g->by);
    if (o != NULL) {
        json_array_append_new(s->list, o);
    }
}

/* Products and images are only marked duplicate_of their keeper, so a
 * whole kind is marked set-based, in one transaction: a query `dups`
 * (columns id, grp, rn, keep: every member after the keeper of each
 * group of equal `grp`, rn its place in keeper order) feeds the result,
 * the merge_log rows and the UPDATEs. On PostgreSQL the transaction is
 * REPEATABLE READ so every statement sees the same groups (a concurrent
 * write makes it fail with 40001, and it runs again). */
struct mark_kind {
    const char *entity; /* merge_log.entity */
    const char *by;     /* merge_log.reason */
    const char *dups;   /* the query above */
    /* UPDATE <head> FROM (dups) d WHERE <where>; head NULL: none */
    const char *head[2], *where[2];
    bool merge_suppliers; /* instead: sq_ds_supplier_merge */
    bool dry_run;
    struct section *s;
};

#define PRODUCT_DUPS                                                        \
    "SELECT offer_id AS id, fingerprint AS grp, rn, keep FROM (SELECT "    \
    "offer_id, fingerprint, ROW_NUMBER() OVER w AS rn, FIRST_VALUE("       \
    "offer_id) OVER w AS keep FROM product WHERE duplicate_of IS NULL AND " \
    "fingerprint IN (SELECT fingerprint FROM product WHERE fingerprint IS " \
    "NOT NULL AND duplicate_of IS NULL GROUP BY fingerprint HAVING "        \
    "COUNT(*) > 1) WINDOW w AS (PARTITION BY fingerprint ORDER BY CASE "    \
    "WHEN source = 'list' THEN 1 ELSE 0 END, offer_id)) x WHERE rn > 1"

#define IMAGE_DUPS                                                          \
    "SELECT image_id AS id, sha256 AS grp, rn, keep FROM (SELECT image_id, " \
    "sha256, ROW_NUMBER() OVER w AS rn, FIRST_VALUE(image_id) OVER w AS "   \
    "keep FROM image WHERE duplicate_of IS NULL AND sha256 IN (SELECT "     \
    "sha256 FROM image WHERE sha256 IS NOT NULL AND duplicate_of IS NULL "  \
    "GROUP BY sha256 HAVING COUNT(*) > 1) WINDOW w AS (PARTITION BY "       \
    "sha256 ORDER BY image_id)) x WHERE rn > 1"

/* The first MAX_LISTED groups, in group order, into the result. */
static int
list_marks(struct sq_db *db, const struct mark_kind *k, syncq_error *err)
{
    char *sql = sq_asprintf("SELECT grp, id, keep FROM (%s) d ORDER BY grp, "
                            "rn LIMIT 20000",
                            k->dups);
    struct group *g = sq_calloc(1, sizeof *g);
    char grp[160] = "";
    struct sq_db_stmt *st;
    int rc;

    if (sql == NULL || g == NULL) {
        sq_free(sql);
        sq_free(g);
        return oom(err);
    }
    g->entity = k->entity;
    g->by = k->by;
    rc = sq_db_prepare(db, sql, &st, err);
    while (rc >= 0 && (rc = sq_db_step(st, err)) == 1) {
        const char *v = sq_db_col_text(st, 0);
        if (g->n > 0 && strcmp(grp, v != NULL ? v : "") != 0) {
            list_group(k->s, g);
            g->n = 0;
        }
        if (json_array_size(k->s->list) >= MAX_LISTED) {
            sq_db_reset(st);
            break;
        }
        snprintf(grp, sizeof grp, "%s", v != NULL ? v : "");
        if (g->n == 0) {
            g->ids[g->n++] = sq_db_col_i64(st, 2);
        }
        if (g->n < MAX_MEMBERS) {
            g->ids[g->n++] = sq_db_col_i64(st, 1);
        }
    }
    if (rc >= 0 && g->n > 1) {
        list_group(k->s, g);
    }
    sq_free(sql);
    sq_free(g);
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
mark_tx(struct sq_db *db, void *ud, syncq_error *err)
{
    const struct mark_kind *k = ud;
    struct sq_db_stmt *st;
    char now[40];
    char *sql;
    int rc = SYNCQ_OK;

    json_array_clear(k->s->list);
    if (sq_db_is_pg(db)) {
        rc = sq_db_exec(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                        err);
    }
    sql = sq_asprintf("SELECT COUNT(DISTINCT grp), COUNT(*) FROM (%s) d",
                      k->dups);
    if (rc == SYNCQ_OK && sql == NULL) {
        rc = oom(err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_prepare(db, sql, &st, err);
    }
    if (rc == SYNCQ_OK && (rc = sq_db_step(st, err)) == 1) {
        k->s->groups = sq_db_col_i64(st, 0);
        k->s->merged = sq_db_col_i64(st, 1);
        sq_db_reset(st);
        rc = SYNCQ_OK;
    }
    sq_free(sql);
    if (rc == SYNCQ_OK && k->s->groups > 0) {
        rc = list_marks(db, k, err);
    }
    if (rc != SYNCQ_OK || k->dry_run || k->s->groups == 0) {
        return rc;
    }
    if (k->merge_suppliers) {
        return sq_ds_supplier_merge(db, k->dups, k->by, err);
    }
    /* Logged before the UPDATEs: afterwards `dups` no longer finds them. */
    sql = sq_asprintf("INSERT INTO merge_log (entity, keep_id, merged_id, "
                      "reason, snapshot, merged_at) SELECT ?, CAST(keep AS "
                      "TEXT), CAST(id AS TEXT), ?, NULL, ? FROM (%s) d",
                      k->dups);
    rc = sql != NULL ? sq_db_prepare(db, sql, &st, err) : oom(err);
    if (rc == SYNCQ_OK) {
        sq_db_bind_text(st, 1, k->entity);
        sq_db_bind_text(st, 2, k->by);
        sq_db_bind_text(st, 3, sq_ds_now_iso(now, sizeof now));
        rc = sq_db_step(st, err);
    }
    sq_free(sql);
    for (int i = 0; i < 2 && k->head[i] != NULL && rc >= 0; i++) {
        sql = sq_asprintf("UPDATE %s FROM (%s) d WHERE %s", k->head[i],
                          k->dups, k->where[i]);
        rc = sql != NULL ? sq_db_exec(db, sql, err) : oom(err);
        sq_free(sql);
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
mark_duplicates(struct sq_db *db, bool dry_run, bool products,
                struct section *s, syncq_error *err)
{
    struct mark_kind k = {
        .entity = products ? "product" : "image",
        .by = products ? "fingerprint" : "sha256",
        .dups = products ? PRODUCT_DUPS : IMAGE_DUPS,
        .dry_run = dry_run,
        .s = s,
    };

    if (products) {
        k.head[0] = "product SET duplicate_of = d.keep";
        k.where[0] = "product.offer_id = d.id";
    } else {
        /* links first: afterwards `dups` no longer finds the images */
        k.head[0] = "product_image SET image_id = d.keep";
        k.where[0] = "product_image.image_id = d.id";
        k.head[1] = "image SET duplicate_of = d.keep";
        k.where[1] = "image.image_id = d.id";
    }
    return sq_db_with_tx(db, mark_tx, &k, err);
}

/* Suppliers sharing an identifier, in keeper order (the lowest
 * supplier_id keeps). */
#define SUPPLIER_DUPS(col, known)                                            \
    "SELECT supplier_id AS id, CAST(" col " AS TEXT) AS grp, rn, keep FROM " \
    "(SELECT supplier_id, " col ", ROW_NUMBER() OVER w AS rn, "              \
    "FIRST_VALUE(supplier_id) OVER w AS keep FROM supplier WHERE " col       \
    " IN (SELECT " col " FROM supplier WHERE " known " GROUP BY " col        \
    " HAVING COUNT(*) > 1) WINDOW w AS (PARTITION BY " col " ORDER BY "      \
    "supplier_id)) x WHERE rn > 1"

/* Suppliers are merged identifier by identifier (the groups of the next
 * one are those left by the merges of the previous), each set-based in
 * one transaction like the marks: counted, listed, then merged
 * (sq_ds_supplier_merge: deleted rows snapshotted into merge_log, the
 * keeper's gaps filled in keeper order, products re-pointed). */
static int
merge_suppliers(struct sq_db *db, bool dry_run, struct section *s,
                syncq_error *err)
{
    static const struct {
        const char *by, *dups;
    } kinds[] = {
        {"seller_user_id",
         SUPPLIER_DUPS("seller_user_id", "seller_user_id IS NOT NULL")},
        {"member_id", SUPPLIER_DUPS("member_id", "member_id IS NOT NULL AND "
                                                 "member_id <> ''")},
        {"open_id",
         SUPPLIER_DUPS("open_id", "open_id IS NOT NULL AND open_id <> ''")},
    };
    int rc = SYNCQ_OK;

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && rc == SYNCQ_OK;
         i++) {
        struct section one = {0, 0, json_array()};
        struct mark_kind k = {
            .entity = "supplier",
            .by = kinds[i].by,
            .dups = kinds[i].dups,
            .merge_suppliers = true,
            .dry_run = dry_run,
            .s = &one,
        };
        rc = one.list != NULL ? sq_db_with_tx(db, mark_tx, &k, err)
                              : oom(err);
        s->groups += one.groups;
        s->merged += one.merged;
        for (size_t j = 0; j < json_array_size(one.list) &&
                           json_array_size(s->list) < MAX_LISTED;
             j++) {
            json_array_append(s->list, json_array_get(one.list, j));
        }
        json_decref(one.list);
    }
    return rc;
}

static json_t *
section_json(struct section *s, const char *merged_key)
{
    json_t *o = json_pack("{s:I, s:I, s:O}", "groups", (json_int_t)s->groups,
                          merged_key, (json_int_t)s->merged, "merges", s->list);
    return o;
}

int
sq_ds_cleanup_duplicates(struct sq_db *db, bool dry_run,
                         const struct sq_progress *p, json_t **result,
                         syncq_error *err)
{
    struct section s_sup = {0, 0, json_array()};
    struct section s_prod = {0, 0, json_array()};
    struct section s_img = {0, 0, json_array()};
    int64_t seen_twice = 0;
    int64_t started = syncq_mono_ms();
    json_t *res = NULL;
    int rc = SYNCQ_OK;

    *result = NULL;
    if (s_sup.list == NULL || s_prod.list == NULL || s_img.list == NULL) {
        rc = oom(err);
        goto done;
    }
    rc = merge_suppliers(db, dry_run, &s_sup, err);
    sq_progress_report(p, 1, 3, "suppliers");
    if (rc == SYNCQ_OK) {
        rc = mark_duplicates(db, dry_run, true, &s_prod, err);
    }
    sq_progress_report(p, 2, 3, "products");
    if (rc == SYNCQ_OK) {
        rc = mark_duplicates(db, dry_run, false, &s_img, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_query_i64(db,
                             "SELECT COUNT(*) FROM (SELECT key FROM "
                             "raw_payload WHERE kind IN ('api_detail', "
                             "'detail_page') AND outcome = 'ok' GROUP BY key "
                             "HAVING COUNT(*) > 1) x",
                             false, 0, &seen_twice, err);
    }
    sq_progress_report(p, 3, 3, "done");
    if (rc != SYNCQ_OK) {
        goto done;
    }
    res = json_pack("{s:b, s:o, s:o, s:o, s:I, s:I}", "dry_run", dry_run,
                    "suppliers", section_json(&s_sup, "merged"), "products",
                    section_json(&s_prod, "marked_duplicate"), "images",
                    section_json(&s_img, "marked_duplicate"),
                    "offers_seen_twice", (json_int_t)seen_twice, "elapsed_ms",
                    (json_int_t)(syncq_mono_ms() - started));
    if (res == NULL) {
        rc = oom(err);
        goto done;
    }
    syncq_log(SYNCQ_LOG_INFO, "sync.cleanup",
            "dry_run=%d suppliers=%lld products=%lld "
            "images=%lld",
            dry_run, (long long)s_sup.merged, (long long)s_prod.merged,
            (long long)s_img.merged);
    *result = res;
done:
    json_decref(s_sup.list);
    json_decref(s_prod.list);
    json_decref(s_img.list);
    return rc;
}
