/* SPDX-License-Identifier: MIT
 *
 * ds_dedupe.c: cleanup_duplicates (ds_sync.h). The keeper is always
 * chosen by a fixed order, so two runs over the same data make the same
 * decisions. Duplicate products and images are only marked
 * (duplicate_of), never deleted: each kind is marked set-based, a few
 * statements over a window query whatever the number of duplicates
 * (mark_tx). Suppliers are merged group by group (GROUP BY ... HAVING
 * COUNT(*) > 1, walked in key order), each in its own transaction:
 * a deleted supplier row is first copied into merge_log and its known
 * values fill the keeper's gaps, in order.
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

#define GROUP_PAGE 200
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

static int
log_merge(struct sq_db *db, const char *entity, int64_t keep, int64_t gone,
          const char *reason, json_t *snapshot, syncq_error *err)
{
    struct sq_db_stmt *st;
    char a[32];
    char b[32];
    char now[40];
    char *text = snapshot != NULL ? json_dumps(snapshot, JSON_COMPACT) : NULL;
    int rc = sq_db_prepare(db,
                           "INSERT INTO merge_log (entity, keep_id, "
                           "merged_id, reason, snapshot, merged_at) VALUES "
                           "(?, ?, ?, ?, ?, ?)",
                           &st, err);

    if (rc == SYNCQ_OK) {
        snprintf(a, sizeof a, "%lld", (long long)keep);
        snprintf(b, sizeof b, "%lld", (long long)gone);
        sq_db_bind_text(st, 1, entity);
        sq_db_bind_text(st, 2, a);
        sq_db_bind_text(st, 3, b);
        sq_db_bind_text(st, 4, reason);
        sq_db_bind_text(st, 5, text);
        sq_db_bind_text(st, 6, sq_ds_now_iso(now, sizeof now));
        rc = sq_db_step(st, err);
        rc = rc < 0 ? rc : SYNCQ_OK;
    }
    sq_free(text);
    return rc;
}

static int
exec_ids(struct sq_db *db, const char *sql, int64_t a, int64_t b,
         syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, sql, &st, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, a);
    if (b != INT64_MIN) {
        sq_db_bind_i64(st, 2, b);
    }
    rc = sq_db_step(st, err);
    return rc < 0 ? rc : SYNCQ_OK;
}

/* Recompute the fingerprints of the products of supplier `sid`: read
 * 200 a page, written back by one UPDATE ... FROM (VALUES ...) each. */
static int
refingerprint(struct sq_db *db, int64_t sid, syncq_error *err)
{
    struct sq_db_rows *upd = NULL;
    struct sq_db_stmt *st;
    int64_t cursor = 0;
    int rc = sq_db_rows_new("UPDATE product SET fingerprint = v.column2 FROM "
                            "(VALUES ",
                            "(CAST(? AS BIGINT), CAST(? AS TEXT))",
                            ") AS v WHERE product.offer_id = v.column1", &upd,
                            err);

    while (rc == SYNCQ_OK) {
        int n = 0;
        rc = sq_db_prepare(db,
                           "SELECT offer_id, subject, price_min_fen, "
                           "price_max_fen FROM product WHERE supplier_id = ? "
                           "AND offer_id > ? ORDER BY offer_id LIMIT 200",
                           &st, err);
        if (rc != SYNCQ_OK) {
            break;
        }
        sq_db_bind_i64(st, 1, sid);
        sq_db_bind_i64(st, 2, cursor);
        while ((rc = sq_db_step(st, err)) == 1) {
            char fp[41];
            cursor = sq_db_col_i64(st, 0);
            sq_ds_fingerprint(sid, true, sq_db_col_text(st, 1),
                              sq_db_col_i64(st, 2), sq_db_col_i64(st, 3), fp);
            sq_db_rows_add_i64(upd, cursor);
            sq_db_rows_add_text(upd, fp[0] != '\0' ? fp : NULL);
            n++;
        }
        if (rc == SYNCQ_OK) {
            rc = sq_db_rows_run(db, upd, NULL, NULL, NULL, err);
        }
        if (n < GROUP_PAGE) {
            break;
        }
    }
    sq_db_rows_free(upd);
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
merge_suppliers_tx(struct sq_db *db, void *ud, syncq_error *err)
{
    /* UPDATE ... FROM: both SQLite (3.33+) and PostgreSQL. */
    static const char fill[] =
        "UPDATE supplier SET "
        "seller_user_id = COALESCE(supplier.seller_user_id, l.seller_user_id), "
        "member_id = COALESCE(supplier.member_id, l.member_id), "
        "login_id = COALESCE(supplier.login_id, l.login_id), "
        "open_id = COALESCE(supplier.open_id, l.open_id), "
        "company_name = COALESCE(supplier.company_name, l.company_name), "
        "shop_url = COALESCE(supplier.shop_url, l.shop_url), "
        "province = COALESCE(supplier.province, l.province), "
        "city = COALESCE(supplier.city, l.city), "
        "is_tp = COALESCE(supplier.is_tp, l.is_tp), "
        "tp_years = COALESCE(supplier.tp_years, l.tp_years), "
        "is_factory = COALESCE(supplier.is_factory, l.is_factory), "
        "is_super_factory = COALESCE(supplier.is_super_factory, "
        "l.is_super_factory), "
        "score_composite = COALESCE(supplier.score_composite, "
        "l.score_composite), "
        "score_goods = COALESCE(supplier.score_goods, l.score_goods), "
        "score_logistics = COALESCE(supplier.score_logistics, "
        "l.score_logistics), "
        "score_return = COALESCE(supplier.score_return, l.score_return), "
        "score_dispute = COALESCE(supplier.score_dispute, l.score_dispute), "
        "score_consult = COALESCE(supplier.score_consult, l.score_consult), "
        "repurchase_rate = COALESCE(supplier.repurchase_rate, "
        "l.repurchase_rate) "
        "FROM supplier l WHERE l.supplier_id = ? AND "
        "supplier.supplier_id = ?";
    struct group *g = ud;
    int64_t keep = g->ids[0];
    int rc = SYNCQ_OK;

    for (size_t i = 1; i < g->n && rc == SYNCQ_OK; i++) {
        json_t *snap = NULL;
        rc = sq_ds_supplier_load(db, g->ids[i], &snap, err);
        if (rc == SYNCQ_ENOTFOUND) {
            rc = SYNCQ_OK; /* merged meanwhile by a concurrent cleanup */
            continue;
        }
        if (rc == SYNCQ_OK) {
            rc = exec_ids(db, fill, g->ids[i], keep, err);
        }
        if (rc == SYNCQ_OK) {
            rc = exec_ids(db,
                          "UPDATE product SET supplier_id = ? WHERE "
                          "supplier_id = ?",
                          keep, g->ids[i], err);
        }
        if (rc == SYNCQ_OK) {
            rc = log_merge(db, "supplier", keep, g->ids[i], g->by, snap, err);
        }
        if (rc == SYNCQ_OK) {
            rc = exec_ids(db, "DELETE FROM supplier WHERE supplier_id = ?",
                          g->ids[i], INT64_MIN, err);
        }
        json_decref(snap);
    }
    if (rc == SYNCQ_OK) {
        rc = refingerprint(db, keep, err);
    }
    return rc;
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

/* One kind of duplicate: `groups_sql` lists the shared values after a
 * text cursor (2 params: cursor, limit), `members_sql` the ids of one
 * value in keeper-first order (1 param). */
static int
run_groups(struct sq_db *db, bool dry_run, const char *entity, const char *by,
           const char *groups_sql, const char *members_sql, sq_db_tx_fn fn,
           struct section *s, syncq_error *err)
{
    char cursor[512] = "";
    struct group *g = sq_calloc(1, sizeof *g);
    int rc = SYNCQ_OK;

    if (g == NULL) {
        return oom(err);
    }
    g->entity = entity;
    g->by = by;
    for (;;) {
        char *vals[GROUP_PAGE];
        int nv = 0;
        struct sq_db_stmt *st;
        rc = sq_db_prepare(db, groups_sql, &st, err);
        if (rc != SYNCQ_OK) {
            break;
        }
        sq_db_bind_text(st, 1, cursor);
        sq_db_bind_i64(st, 2, GROUP_PAGE);
        while ((rc = sq_db_step(st, err)) == 1) {
            const char *v = sq_db_col_text(st, 0);
            vals[nv] = sq_strdup(v != NULL ? v : "");
            if (vals[nv] == NULL) {
                sq_db_reset(st);
                rc = oom(err);
                break;
            }
            nv++;
        }
        for (int i = 0; i < nv && rc >= 0; i++) {
            g->n = 0;
            rc = sq_db_prepare(db, members_sql, &st, err);
            if (rc != SYNCQ_OK) {
                break;
            }
            sq_db_bind_text(st, 1, vals[i]);
            while ((rc = sq_db_step(st, err)) == 1) {
                if (g->n < MAX_MEMBERS) {
                    g->ids[g->n++] = sq_db_col_i64(st, 0);
                }
            }
            if (rc < 0 || g->n < 2) {
                continue;
            }
            s->groups++;
            s->merged += (int64_t)g->n - 1;
            list_group(s, g);
            if (!dry_run) {
                rc = sq_db_with_tx(db, fn, g, err);
            }
        }
        if (nv > 0) {
            snprintf(cursor, sizeof cursor, "%s", vals[nv - 1]);
        }
        for (int i = 0; i < nv; i++) {
            sq_free(vals[i]);
        }
        if (rc < 0 || nv < GROUP_PAGE) {
            break;
        }
    }
    sq_free(g);
    return rc < 0 ? rc : SYNCQ_OK;
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
    /* Text cursors: ids are compared as text so one SQL shape serves all
     * columns; CAST keeps both databases on the same ordering. */
    static const struct {
        const char *by;
        const char *groups;
        const char *members;
    } sup[] = {
        {"seller_user_id",
         "SELECT CAST(seller_user_id AS TEXT) FROM supplier WHERE "
         "seller_user_id IS NOT NULL AND CAST(seller_user_id AS TEXT) > ? "
         "GROUP BY seller_user_id HAVING COUNT(*) > 1 "
         "ORDER BY CAST(seller_user_id AS TEXT) LIMIT ?",
         "SELECT supplier_id FROM supplier WHERE "
         "CAST(seller_user_id AS TEXT) = ? ORDER BY supplier_id"},
        {"member_id",
         "SELECT member_id FROM supplier WHERE member_id IS NOT NULL AND "
         "member_id <> '' AND member_id > ? GROUP BY member_id "
         "HAVING COUNT(*) > 1 ORDER BY member_id LIMIT ?",
         "SELECT supplier_id FROM supplier WHERE member_id = ? "
         "ORDER BY supplier_id"},
        {"open_id",
         "SELECT open_id FROM supplier WHERE open_id IS NOT NULL AND "
         "open_id <> '' AND open_id > ? GROUP BY open_id "
         "HAVING COUNT(*) > 1 ORDER BY open_id LIMIT ?",
         "SELECT supplier_id FROM supplier WHERE open_id = ? "
         "ORDER BY supplier_id"},
    };
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
    for (size_t i = 0; i < sizeof sup / sizeof sup[0] && rc == SYNCQ_OK; i++) {
        rc = run_groups(db, dry_run, "supplier", sup[i].by, sup[i].groups,
                        sup[i].members, merge_suppliers_tx, &s_sup, err);
    }
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
