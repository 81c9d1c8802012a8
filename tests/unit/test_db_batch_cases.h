/* SPDX-License-Identifier: MIT
 *
 * test_db_batch_cases.h: the batched catalog writes (multi-row
 * statements, sq_ds_offer_batch, sq_ds_supplier_resolve) on both
 * backends. Included after test_db_cases.h by tests/unit/test_db_sync.c
 * (SQLite) and tests/integration/it_datasync_pg.c (PostgreSQL); every
 * case asserts the same numbers on both.
 */
#ifndef TEST_DB_BATCH_CASES_H
#define TEST_DB_BATCH_CASES_H

#include "test_db_cases.h"

#include "db/sq_db_rows.h"

static int
t_sum_row(struct sq_db_stmt *st, void *ud, syncq_error *err)
{
    (void)err;
    *(int64_t *)ud += sq_db_col_i64(st, 0);
    return SYNCQ_OK;
}

/* 1000 rows through every statement shape: inserted, read back through
 * an IN list and updated from VALUES, with their change counts. */
static void
case_rows_shapes(void **state)
{
    struct sq_db *db = fresh_db();
    struct sq_db_rows *ins = NULL;
    struct sq_db_rows *sel = NULL;
    struct sq_db_rows *upd = NULL;
    int64_t changes = 0;
    int64_t sum = 0;
    syncq_error err;

    (void)state;
    t_exec(db, "CREATE TABLE t_rows (a BIGINT PRIMARY KEY, b TEXT, "
               "c DOUBLE PRECISION)");
    assert_int_equal(sq_db_rows_new("INSERT INTO t_rows (a, b, c) VALUES ",
                                    "(?, ?, ?)", "", &ins, &err),
                     SYNCQ_OK);
    for (int i = 1; i <= 1000; i++) {
        char b[16];
        snprintf(b, sizeof b, "v%d", i);
        sq_db_rows_add_i64(ins, i);
        if (i % 10 == 0) {
            sq_db_rows_add_null(ins);
        } else {
            sq_db_rows_add_text(ins, b);
        }
        sq_db_rows_add_double(ins, i / 4.0);
    }
    assert_int_equal(sq_db_rows_count(ins), 1000);
    assert_int_equal(sq_db_rows_run(db, ins, NULL, NULL, &changes, &err),
                     SYNCQ_OK);
    assert_int_equal(changes, 1000);
    assert_int_equal(sq_db_rows_count(ins), 0);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM t_rows"), 1000);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM t_rows WHERE b IS "
                                 "NULL"),
                     100);
    assert_int_equal(t_count(db, "SELECT CAST(SUM(c) * 4 AS BIGINT) FROM "
                                 "t_rows"),
                     500500);

    assert_int_equal(sq_db_rows_new("SELECT a FROM t_rows WHERE a IN (", "?",
                                    ")", &sel, &err),
                     SYNCQ_OK);
    for (int i = 995; i <= 1005; i++) { /* 6 of them exist */
        sq_db_rows_add_i64(sel, i);
    }
    assert_int_equal(sq_db_rows_run(db, sel, t_sum_row, &sum, NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(sum, 995 + 996 + 997 + 998 + 999 + 1000);

    assert_int_equal(
        sq_db_rows_new("UPDATE t_rows SET b = v.column2 FROM (VALUES ",
                       "(CAST(? AS BIGINT), CAST(? AS TEXT))",
                       ") AS v WHERE t_rows.a = v.column1", &upd, &err),
        SYNCQ_OK);
    for (int i = 1; i <= 300; i++) {
        sq_db_rows_add_i64(upd, i * 2);
        sq_db_rows_add_text(upd, "even");
    }
    assert_int_equal(sq_db_rows_run(db, upd, NULL, NULL, &changes, &err),
                     SYNCQ_OK);
    assert_int_equal(changes, 300);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM t_rows WHERE "
                                 "b = 'even'"),
                     300);

    /* An incomplete row is an error, not a shifted statement. */
    sq_db_rows_add_i64(upd, 1);
    assert_int_equal(sq_db_rows_run(db, upd, NULL, NULL, NULL, &err),
                     SYNCQ_EINTERNAL);
    assert_non_null(strstr(err.msg, "incomplete row"));
    assert_int_equal(sq_db_rows_count(upd), 0);
    sq_db_rows_free(ins);
    sq_db_rows_free(sel);
    sq_db_rows_free(upd);
    {
        struct sq_db_rows *bad = NULL;
        assert_int_equal(sq_db_rows_new("SELECT 1", "(1)", "", &bad, &err),
                         SYNCQ_EINVAL);
        assert_null(bad);
    }
    sq_db_close(db);
}

/* A supplier record with the given identifiers (0 / NULL: absent). */
static json_t *
t_sup(int64_t seller, const char *member, const char *company)
{
    json_t *s = json_object();

    if (seller > 0) {
        json_object_set_new(s, "seller_user_id", json_integer(seller));
    }
    if (member != NULL) {
        json_object_set_new(s, "member_id", json_string(member));
    }
    if (company != NULL) {
        json_object_set_new(s, "company_name", json_string(company));
    }
    return s;
}

/* Batched resolution replays the one-at-a-time rules: first identifier
 * that matches, existing rows before new ones, new rows shared within
 * the batch, known values kept, later values win. */
static void
case_supplier_resolve(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *recs[7];
    int64_t ids[7];
    int64_t old_id = 0;
    int outcome;
    syncq_error err;

    (void)state;
    recs[0] = t_sup(700, NULL, "老店");
    assert_int_equal(
        sq_ds_supplier_store(db, recs[0], false, &old_id, &outcome, &err),
        SYNCQ_OK);
    json_decref(recs[0]);
    recs[0] = t_sup(700, "b2b-700", NULL); /* existing: gains a member id */
    recs[1] = t_sup(0, "b2b-700", "新名字"); /* same row by member id */
    recs[2] = t_sup(801, NULL, NULL);       /* new */
    recs[3] = t_sup(0, "b2b-801", NULL);     /* another new one */
    recs[4] = t_sup(801, "b2b-801", "合并"); /* the first new one (seller) */
    recs[5] = t_sup(802, NULL, NULL);       /* new */
    recs[6] = t_sup(0, "b2b-801", NULL);     /* two rows have it: lowest */
    assert_int_equal(sq_ds_supplier_resolve(db, recs, 7, ids, &err),
                     SYNCQ_OK);
    assert_int_equal(ids[0], old_id);
    assert_int_equal(ids[1], old_id);
    assert_true(ids[2] > old_id);
    assert_true(ids[3] > old_id && ids[3] != ids[2]);
    assert_int_equal(ids[4], ids[2]);
    assert_true(ids[5] != ids[2] && ids[5] != ids[3] && ids[5] > old_id);
    assert_int_equal(ids[6], ids[2]);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 4);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier WHERE "
                                 "seller_user_id = 700 AND member_id = "
                                 "'b2b-700' AND company_name = '新名字'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier WHERE "
                                 "seller_user_id = 801 AND member_id = "
                                 "'b2b-801' AND company_name = '合并'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier WHERE "
                                 "member_id = 'b2b-801'"),
                     2);
    for (int i = 0; i < 7; i++) {
        json_decref(recs[i]);
    }
    /* Nothing new: the same records resolve to the same rows and change
     * nothing. */
    recs[0] = t_sup(700, NULL, NULL);
    recs[1] = t_sup(802, NULL, NULL);
    assert_int_equal(sq_ds_supplier_resolve(db, recs, 2, ids, &err),
                     SYNCQ_OK);
    assert_int_equal(ids[0], old_id);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 4);
    json_decref(recs[0]);
    json_decref(recs[1]);
    sq_db_close(db);
}

/* 1,200 offers (three pages), re-crawled identical, then 5 % changed
 * (new price, one SKU fewer): counts exact, only those rows rewritten,
 * their children replaced. */
static void
case_sync_pages_recrawl(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *res;

    (void)state;
    for (int i = 0; i < 1200; i++) {
        t_put_offer(db, "api_detail", 50000 + i, 900 + i % 37, "连衣裙",
                    100 + i, 500 + i, 3);
    }
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.inserted"), 1200);
    assert_int_equal(t_int(res, "records"), 1200);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), 1200);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 37);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 3600);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM price_tier"), 2400);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku_prop_value"),
                     4800);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image"),
                     3600);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image"), 3600);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload WHERE "
                                 "synced_hash IS NULL"),
                     0);
    /* Re-crawl, same content: all unchanged, nothing rewritten. */
    t_exec(db, "UPDATE product SET synced_at = 'before'");
    for (int i = 0; i < 1200; i++) {
        t_put_offer(db, "api_detail", 50000 + i, 900 + i % 37, "连衣裙",
                    100 + i, 500 + i, 3);
    }
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2099-01-01T00:00:00Z'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.unchanged"), 1200);
    assert_int_equal(t_int(res, "products.updated"), 0);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "synced_at = 'before'"),
                     1200);
    /* 60 of them change. */
    for (int i = 0; i < 1200; i += 20) {
        t_put_offer(db, "api_detail", 50000 + i, 900 + i % 37, "连衣裙",
                    90 + i, 500 + i, 2);
    }
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.updated"), 60);
    assert_int_equal(t_int(res, "products.unchanged"), 0);
    assert_int_equal(t_int(res, "products.inserted"), 0);
    assert_int_equal(t_int(res, "records"), 60);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "synced_at <> 'before'"),
                     60);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "price_min_fen = 90 + offer_id - 50000"),
                     60);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 3600 - 60);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku_prop_value"),
                     4800 - 60);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM price_tier"), 2400);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image"),
                     3600);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image"), 3600);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 37);
    sq_db_close(db);
}

/* An offer queued twice in one batch: the second sees the first. */
static void
case_offer_batch_twice(void **state)
{
    struct sq_db *db = fresh_db();
    struct sq_ds_offer_batch *b = NULL;
    json_t *canon[3];
    int outcomes[3];
    syncq_error err;

    (void)state;
    for (int i = 0; i < 3; i++) {
        char *j = t_offer(61000, 950, "裙子", i == 2 ? 300 : 200, 400,
                          i == 2 ? 1 : 2);
        json_t *rec = json_loads(j, 0, NULL);
        assert_int_equal(sq_ds_offer_canonical(rec, &canon[i], NULL, &err),
                         SYNCQ_OK);
        json_decref(rec);
        sq_free(j);
    }
    assert_int_equal(sq_ds_offer_batch_new(false, &b, &err), SYNCQ_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sq_ds_offer_batch_add(b, canon[i], &err), SYNCQ_OK);
    }
    assert_int_equal(sq_db_begin(db, &err), SYNCQ_OK);
    assert_int_equal(sq_ds_offer_batch_store(db, b, outcomes, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_db_commit(db, &err), SYNCQ_OK);
    assert_int_equal(outcomes[0], SQ_DS_INSERTED);
    assert_int_equal(outcomes[1], SQ_DS_UNCHANGED);
    assert_int_equal(outcomes[2], SQ_DS_UPDATED);
    assert_int_equal(sq_ds_offer_batch_count(b), 0);
    assert_int_equal(t_count(db, "SELECT price_min_fen FROM product"), 300);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 1);
    for (int i = 0; i < 3; i++) {
        json_decref(canon[i]);
    }
    sq_ds_offer_batch_free(b);
    sq_db_close(db);
}

#define DB_BATCH_CASES                                                         \
    cmocka_unit_test(case_rows_shapes),                                        \
        cmocka_unit_test(case_supplier_resolve),                               \
        cmocka_unit_test(case_sync_pages_recrawl),                             \
        cmocka_unit_test(case_offer_batch_twice)

#endif
