/* SPDX-License-Identifier: MIT
 *
 * ds_dedupe_supplier.c: the supplier merges of cleanup_duplicates
 * (ds_dedupe.c), set-based: the rows to merge are read 500 a statement
 * in supplier_id order, and each such page costs one multi-row
 * statement per step whatever the number of groups in it: the deleted
 * rows snapshotted into merge_log, the keepers' gaps filled, the
 * products re-pointed (with their fingerprints, which hold the supplier
 * id), the rows deleted. A row at a time this was five round trips per
 * merged supplier plus a page of product reads per keeper.
 */
#include "data_sync/ds_catalog.h"
#include "data_sync/ds_offer.h"
#include "db/ds_util.h"
#include "db/sq_db_rows.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 500

enum { S_LOG, S_FILL, S_PRODUCTS, S_REPOINT, S_DELETE, NSTMT };

struct merge {
    const char *reason;
    struct sq_db_rows *rows[NSTMT];
    int64_t ids[PAGE];   /* merged rows of the page, ascending */
    int64_t keeps[PAGE]; /* their keepers */
    size_t n;
    json_t *fill; /* keeper id -> first known value of each field */
    char now[40];
};

/* UPDATE supplier SET c = COALESCE(supplier.c, v.columnN), ...: the
 * keeper's known values stay, its gaps take the merged rows' values. */
static int
fill_stmt(struct sq_db_rows **out, syncq_error *err)
{
    const struct sq_ds_cols *c = &sq_ds_supplier_cols;
    struct sq_buf head;
    struct sq_buf row;
    int rc;

    sq_buf_init(&head, 0);
    sq_buf_init(&row, 0);
    sq_buf_adds(&head, "UPDATE supplier SET ");
    sq_buf_adds(&row, "(CAST(? AS BIGINT)");
    for (size_t k = 0; k < c->n; k++) {
        sq_buf_printf(&head, "%s%s = COALESCE(supplier.%s, v.column%zu)",
                      k > 0 ? ", " : "", c->f[k].key, c->f[k].key, k + 2);
        sq_buf_printf(&row, ", CAST(? AS %s)", sq_ds_sql_type(c->f[k].type));
    }
    sq_buf_adds(&head, " FROM (VALUES ");
    sq_buf_adds(&row, ")");
    rc = head.data != NULL && row.data != NULL
             ? sq_db_rows_new(head.data, row.data,
                              ") AS v WHERE supplier.supplier_id = v.column1",
                              out, err)
             : sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    sq_buf_cleanup(&head);
    sq_buf_cleanup(&row);
    return rc;
}

static int
make_stmts(struct merge *m, syncq_error *err)
{
    int rc = sq_db_rows_new("INSERT INTO merge_log (entity, keep_id, "
                            "merged_id, reason, snapshot, merged_at) VALUES ",
                            "('supplier', ?, ?, ?, ?, ?)", "",
                            &m->rows[S_LOG], err);

    if (rc == SYNCQ_OK) {
        rc = fill_stmt(&m->rows[S_FILL], err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_new("SELECT offer_id, supplier_id, subject, "
                            "price_min_fen, price_max_fen FROM product WHERE "
                            "supplier_id IN (",
                            "?", ")", &m->rows[S_PRODUCTS], err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_new("UPDATE product SET supplier_id = v.column2, "
                            "fingerprint = v.column3 FROM (VALUES ",
                            "(CAST(? AS BIGINT), CAST(? AS BIGINT), "
                            "CAST(? AS TEXT))",
                            ") AS v WHERE product.offer_id = v.column1",
                            &m->rows[S_REPOINT], err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_new("DELETE FROM supplier WHERE supplier_id IN (",
                            "?", ")", &m->rows[S_DELETE], err);
    }
    return rc;
}

static void
add_id_text(struct sq_db_rows *r, int64_t id)
{
    char t[32];

    snprintf(t, sizeof t, "%lld", (long long)id);
    sq_db_rows_add_text(r, t);
}

/* One merged row (columns id, keep, then the supplier fields): its
 * snapshot logged, its known values kept for the keeper's gaps (the
 * first merged row that knows a value gives it: rows come in keeper
 * order). */
static int
take_row(struct merge *m, struct sq_db_stmt *st, syncq_error *err)
{
    const struct sq_ds_cols *c = &sq_ds_supplier_cols;
    json_t *snap = json_object();
    json_t *fill;
    char key[32];
    char *text;
    int rc = snap != NULL ? SYNCQ_OK : sq_ds_oom(err);

    m->ids[m->n] = sq_db_col_i64(st, 0);
    m->keeps[m->n] = sq_db_col_i64(st, 1);
    for (size_t k = 0; k < c->n && rc == SYNCQ_OK; k++) {
        rc = sq_ds_col_to_json(snap, st, (int)k + 2, &c->f[k], err);
    }
    snprintf(key, sizeof key, "%lld", (long long)m->keeps[m->n]);
    fill = json_object_get(m->fill, key);
    if (rc == SYNCQ_OK && fill == NULL) {
        fill = json_object();
        if (fill == NULL || json_object_set_new(m->fill, key, fill) != 0) {
            rc = sq_ds_oom(err);
        }
    }
    if (rc == SYNCQ_OK && json_object_update_missing(fill, snap) != 0) {
        rc = sq_ds_oom(err);
    }
    text = rc == SYNCQ_OK ? json_dumps(snap, JSON_COMPACT) : NULL;
    if (rc == SYNCQ_OK && text == NULL) {
        rc = sq_ds_oom(err);
    }
    if (rc == SYNCQ_OK) {
        add_id_text(m->rows[S_LOG], m->keeps[m->n]);
        add_id_text(m->rows[S_LOG], m->ids[m->n]);
        sq_db_rows_add_text(m->rows[S_LOG], m->reason);
        sq_db_rows_add_text(m->rows[S_LOG], text);
        sq_db_rows_add_text(m->rows[S_LOG], m->now);
        sq_db_rows_add_i64(m->rows[S_PRODUCTS], m->ids[m->n]);
        sq_db_rows_add_i64(m->rows[S_DELETE], m->ids[m->n]);
        m->n++;
    }
    sq_free(text);
    json_decref(snap);
    return rc;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* A product of a merged supplier: re-pointed at the keeper, with the
 * fingerprint the keeper's id gives it. */
static int
got_product(struct sq_db_stmt *st, void *ud, syncq_error *err)
{
    struct merge *m = ud;
    int64_t sid = sq_db_col_i64(st, 1);
    const int64_t *at = bsearch(&sid, m->ids, m->n, sizeof sid, cmp_i64);
    char fp[41];
    int64_t keep;

    if (at == NULL) {
        return sq_fail(err, SYNCQ_EINTERNAL, "product of supplier %lld not "
                       "in the merge", (long long)sid);
    }
    keep = m->keeps[at - m->ids];
    sq_ds_fingerprint(keep, true, sq_db_col_text(st, 2),
                      sq_db_col_i64(st, 3), sq_db_col_i64(st, 4), fp);
    sq_db_rows_add_i64(m->rows[S_REPOINT], sq_db_col_i64(st, 0));
    sq_db_rows_add_i64(m->rows[S_REPOINT], keep);
    sq_db_rows_add_text(m->rows[S_REPOINT], fp[0] != '\0' ? fp : NULL);
    return SYNCQ_OK;
}

/* The writes of one page, in this order: afterwards `dups` no longer
 * finds the rows. */
static int
write_page(struct sq_db *db, struct merge *m, syncq_error *err)
{
    const struct sq_ds_cols *c = &sq_ds_supplier_cols;
    const char *keep;
    json_t *fill;
    int rc;

    json_object_foreach(m->fill, keep, fill)
    {
        sq_db_rows_add_i64(m->rows[S_FILL], strtoll(keep, NULL, 10));
        for (size_t k = 0; k < c->n; k++) {
            sq_ds_rows_add_field(m->rows[S_FILL], fill, &c->f[k]);
        }
    }
    rc = sq_db_rows_run(db, m->rows[S_LOG], NULL, NULL, NULL, err);
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_run(db, m->rows[S_FILL], NULL, NULL, NULL, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_run(db, m->rows[S_PRODUCTS], got_product, m, NULL,
                            err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_run(db, m->rows[S_REPOINT], NULL, NULL, NULL, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_run(db, m->rows[S_DELETE], NULL, NULL, NULL, err);
    }
    return rc;
}

/* SELECT d.id, d.keep, <supplier fields> FROM (dups) d JOIN supplier
 * ... WHERE d.id > ? ORDER BY d.id LIMIT 500: a page's rows. Deleting
 * the merged rows of a page leaves the later pages as they were (a
 * group keeps its keeper, the lowest supplier_id, to the end). */
static char *
page_sql(const char *dups)
{
    struct sq_buf b;

    sq_buf_init(&b, 0);
    sq_buf_adds(&b, "SELECT d.id, d.keep");
    for (size_t k = 0; k < sq_ds_supplier_cols.n; k++) {
        sq_buf_printf(&b, ", s.%s", sq_ds_supplier_cols.f[k].key);
    }
    sq_buf_printf(&b,
                  " FROM (%s) d JOIN supplier s ON s.supplier_id = d.id "
                  "WHERE d.id > ? ORDER BY d.id LIMIT %d",
                  dups, PAGE);
    return sq_buf_steal(&b);
}

static int
merge_pages(struct sq_db *db, struct merge *m, const char *sql,
            syncq_error *err)
{
    int64_t cursor = 0;
    int rc = SYNCQ_OK;

    do {
        struct sq_db_stmt *st;
        m->n = 0;
        json_object_clear(m->fill);
        rc = sq_db_prepare(db, sql, &st, err);
        if (rc != SYNCQ_OK) {
            break;
        }
        sq_db_bind_i64(st, 1, cursor);
        while ((rc = sq_db_step(st, err)) == 1) {
            rc = take_row(m, st, err);
            if (rc != SYNCQ_OK) {
                sq_db_reset(st);
                break;
            }
        }
        if (rc < 0 || m->n == 0) {
            break;
        }
        cursor = m->ids[m->n - 1];
        rc = write_page(db, m, err);
    } while (rc == SYNCQ_OK && m->n == PAGE);
    return rc < 0 ? rc : SYNCQ_OK;
}

int
sq_ds_supplier_merge(struct sq_db *db, const char *dups, const char *reason,
                     syncq_error *err)
{
    struct merge *m = sq_calloc(1, sizeof *m);
    char *sql = page_sql(dups);
    int rc;

    if (m == NULL || sql == NULL || (m->fill = json_object()) == NULL) {
        rc = sq_ds_oom(err);
    } else {
        m->reason = reason;
        sq_ds_now_iso(m->now, sizeof m->now);
        rc = make_stmts(m, err);
    }
    if (rc == SYNCQ_OK) {
        rc = merge_pages(db, m, sql, err);
    }
    if (m != NULL) {
        for (int k = 0; k < NSTMT; k++) {
            sq_db_rows_free(m->rows[k]);
        }
        json_decref(m->fill);
    }
    sq_free(m);
    sq_free(sql);
    return rc;
}
