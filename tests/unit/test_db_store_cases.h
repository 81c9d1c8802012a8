/* SPDX-License-Identifier: MIT
 *
 * test_db_store_cases.h: the storage layer on both backends: schema,
 * raw_payload staging, binds, transactions, multi-row statements, the
 * offer write (one and batched) and the batched supplier matching.
 */
#ifndef TEST_DB_STORE_CASES_H
#define TEST_DB_STORE_CASES_H

#include "test_db_support.h"

#include "db/sq_db_rows.h"
#include "sq_buf.h"

static void
case_schema_created(void **state)
{
    struct sq_db *db = fresh_db();
    int v = 0;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_db_schema_version(db, &v, &err), SYNCQ_OK);
    assert_int_equal(v, SQ_DB_SCHEMA_VERSION);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM schema_version"),
                     SQ_DB_SCHEMA_VERSION);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), 0);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload"), 0);
    /* Version 4 dropped sku_sku_id (created by version 1); the other
     * indexes stay (image_sha256 shows that the lookup finds them). */
    for (int dropped = 0; dropped < 2; dropped++) {
        char *sql = sq_asprintf(
            sq_db_is_pg(db) ? "SELECT COUNT(*) FROM pg_indexes WHERE "
                              "indexname = '%s'"
                            : "SELECT COUNT(*) FROM sqlite_master WHERE "
                              "type = 'index' AND name = '%s'",
            dropped ? "sku_sku_id" : "image_sha256");
        assert_int_equal(t_count(db, sql), dropped ? 0 : 1);
        sq_free(sql);
    }
    sq_db_close(db);
}

static void
case_raw_put_upserts(void **state)
{
    struct sq_db *db = fresh_db();
    syncq_error err;
    char *json = NULL;
    char outcome[32];

    (void)state;
    t_put(db, "api_detail", "597090034012", "blocked", NULL);
    t_put(db, "api_detail", "597090034012", "ok",
          "{\"offer_id\": 597090034012, \"subject\": \"女装\"}");
    t_put(db, "search", "1031910:1", "ok", "{\"offers\": []}");
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload"), 2);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload WHERE "
                                 "kind = 'api_detail' AND outcome = 'ok' "
                                 "AND body_bytes = 5"),
                     1);
    assert_int_equal(
        sq_db_raw_get(db, "api_detail", "597090034012", &json, outcome, &err),
        SYNCQ_OK);
    assert_string_equal(outcome, "ok");
    assert_non_null(strstr(json, "女装"));
    sq_free(json);
    assert_int_equal(sq_db_raw_get(db, "api_detail", "1", &json, NULL, &err),
                     SYNCQ_ENOTFOUND);
    assert_null(json);
    /* Bad input is refused, nothing stored. */
    assert_int_equal(sq_db_raw_put(db, "", "k", 200, "ok", NULL, 0, NULL, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(
        sq_db_raw_put(db, "shop", "k", 200, "ok", "x", 1, "[1, 2]", &err),
        SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "not a JSON object"));
    assert_int_equal(
        sq_db_raw_put(db, "shop", "k", 200, "ok", "x", 1, "{broken", &err),
        SYNCQ_EINVAL);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload"), 2);
    sq_db_close(db);
}

static void
case_binds_round_trip(void **state)
{
    struct sq_db *db = fresh_db();
    struct sq_db_stmt *st;
    syncq_error err;
    static const unsigned char blob[] = {0, 1, 2, 0xff, 0, 'x'};
    const void *b;
    size_t blen = 0;

    (void)state;
    t_exec(db, sq_db_is_pg(db)
                   ? "CREATE TABLE t_binds (i BIGINT, d DOUBLE PRECISION, "
                     "s TEXT, b BYTEA, n TEXT)"
                   : "CREATE TABLE t_binds (i BIGINT, d DOUBLE PRECISION, "
                     "s TEXT, b BLOB, n TEXT)");
    assert_int_equal(sq_db_prepare(db,
                                   "INSERT INTO t_binds VALUES "
                                   "(?, ?, ?, ?, ?)",
                                   &st, &err),
                     SYNCQ_OK);
    sq_db_bind_i64(st, 1, INT64_MAX);
    sq_db_bind_double(st, 2, 0.1);
    sq_db_bind_text(st, 3, "女装 'quoted' ? mark");
    sq_db_bind_blob(st, 4, blob, sizeof blob);
    sq_db_bind_null(st, 5);
    assert_int_equal(sq_db_step(st, &err), 0);
    assert_int_equal(sq_db_changes(db), 1);
    assert_int_equal(sq_db_prepare(db,
                                   "SELECT i, d, s, b, n FROM t_binds "
                                   "WHERE s = ?",
                                   &st, &err),
                     SYNCQ_OK);
    sq_db_bind_text(st, 1, "女装 'quoted' ? mark");
    assert_int_equal(sq_db_step(st, &err), 1);
    assert_true(sq_db_col_i64(st, 0) == INT64_MAX);
    assert_true(sq_db_col_double(st, 1) == 0.1);
    assert_string_equal(sq_db_col_text(st, 2), "女装 'quoted' ? mark");
    b = sq_db_col_blob(st, 3, &blen);
    assert_int_equal(blen, sizeof blob);
    assert_memory_equal(b, blob, sizeof blob);
    assert_true(sq_db_col_null(st, 4));
    assert_null(sq_db_col_text(st, 4));
    assert_int_equal(sq_db_step(st, &err), 0);
    /* A bind out of range is reported, not silently ignored. */
    assert_int_equal(
        sq_db_prepare(db, "SELECT i FROM t_binds WHERE i = ?", &st, &err),
        SYNCQ_OK);
    sq_db_bind_i64(st, 2, 1);
    assert_int_equal(sq_db_step(st, &err), SYNCQ_EINTERNAL);
    /* SQL errors name the driver. */
    assert_int_equal(sq_db_prepare(db, "SELEC nonsense", &st, &err), SYNCQ_EDB);
    assert_non_null(strstr(err.msg, sq_db_is_pg(db) ? "postgresql" : "sqlite"));
    sq_db_close(db);
}

static int
tx_insert_then_fail(struct sq_db *db, void *ud, syncq_error *err)
{
    int *calls = ud;

    (*calls)++;
    if (sq_db_exec(db, "INSERT INTO category (category_id) VALUES (7)", err) !=
        SYNCQ_OK) {
        return SYNCQ_EDB;
    }
    return sq_fail(err, SYNCQ_EINVAL, "stop here");
}

static int
tx_insert(struct sq_db *db, void *ud, syncq_error *err)
{
    (void)ud;
    return sq_db_exec(db, "INSERT INTO category (category_id) VALUES (8)", err);
}

static void
case_tx_rolls_back(void **state)
{
    struct sq_db *db = fresh_db();
    syncq_error err;
    int calls = 0;

    (void)state;
    assert_int_equal(sq_db_with_tx(db, tx_insert_then_fail, &calls, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(calls, 1); /* not a lock conflict: no retry */
    assert_false(sq_db_in_tx(db));
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM category"), 0);
    assert_int_equal(sq_db_with_tx(db, tx_insert, NULL, &err), SYNCQ_OK);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM category"), 1);
    sq_db_close(db);
}

static void
case_offer_store_load_round_trip(void **state)
{
    struct sq_db *db = fresh_db();
    char *j = t_offer(597090034012LL, 2201234567LL, "女装连衣裙 2024新款", 230,
                      560, 3);
    json_t *in = json_loads(j, 0, NULL);
    json_t *canon = NULL;
    json_t *back = NULL;
    syncq_error err;
    int skipped = 0;
    int outcome = -1;
    char h1[65];
    char h2[65];

    (void)state;
    assert_int_equal(sq_ds_offer_canonical(in, &canon, &skipped, &err),
                     SYNCQ_OK);
    assert_int_equal(skipped, 0);
    assert_int_equal(sq_db_begin(db, &err), SYNCQ_OK);
    assert_int_equal(sq_ds_offer_store(db, canon, false, &outcome, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_db_commit(db, &err), SYNCQ_OK);
    assert_int_equal(outcome, SQ_DS_INSERTED);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 3);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM price_tier"), 2);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image"), 3);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image"), 3);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku_prop_value"), 4);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 1);
    assert_int_equal(t_count(db, "SELECT price_min_fen FROM product"), 230);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image WHERE url_key = "
                                 "'https://cbu01.alicdn.com/img/ibank/"
                                 "597090034012-b.jpg'"),
                     1);
    /* Read back: the same canonical record, the same content hash. */
    assert_int_equal(sq_ds_offer_load(db, 597090034012LL, &back, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_ds_content_hash(canon, h1, &err), SYNCQ_OK);
    assert_int_equal(sq_ds_content_hash(back, h2, &err), SYNCQ_OK);
    if (strcmp(h1, h2) != 0) {
        char *a = json_dumps(canon, JSON_SORT_KEYS | JSON_COMPACT);
        char *b = json_dumps(back, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("round trip differs:\n%s\n%s", a, b);
    }
    json_decref(back);
    /* The same again: unchanged, nothing rewritten. */
    assert_int_equal(sq_db_begin(db, &err), SYNCQ_OK);
    assert_int_equal(sq_ds_offer_store(db, canon, false, &outcome, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_db_commit(db, &err), SYNCQ_OK);
    assert_int_equal(outcome, SQ_DS_UNCHANGED);
    json_decref(canon);
    json_decref(in);
    sq_free(j);
    /* Fewer SKUs and a new price: updated, the missing SKUs deleted. */
    j = t_offer(597090034012LL, 2201234567LL, "女装连衣裙 2024新款", 250, 560,
                1);
    in = json_loads(j, 0, NULL);
    assert_int_equal(sq_ds_offer_canonical(in, &canon, NULL, &err), SYNCQ_OK);
    assert_int_equal(sq_db_begin(db, &err), SYNCQ_OK);
    assert_int_equal(sq_ds_offer_store(db, canon, false, &outcome, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_db_commit(db, &err), SYNCQ_OK);
    assert_int_equal(outcome, SQ_DS_UPDATED);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), 1);
    assert_int_equal(t_count(db, "SELECT price_min_fen FROM product"), 250);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image"), 3);
    json_decref(canon);
    json_decref(in);
    sq_free(j);
    /* Delete removes the product and its rows, keeps shared images. */
    assert_int_equal(sq_ds_offer_delete(db, 597090034012LL, &err), SYNCQ_OK);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), 0);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 0);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image"), 0);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image"), 3);
    sq_db_close(db);
}

static int
t_sum_row(struct sq_db_stmt *st, void *ud, syncq_error *err)
{
    (void)err;
    *(int64_t *)ud += sq_db_col_i64(st, 0);
    return SYNCQ_OK;
}

/* 1000 rows through every statement shape: inserted, read back through
 * an IN list and updated from VALUES, with their change counts. */
/* Rows in COPY text made by one buffer (as the sync's prep thread makes
 * an offer's child rows) and appended to another beside buffered values:
 * one COPY on PostgreSQL; refused on SQLite, where no COPY runs. */
static void
case_rows_copy_text(void **state)
{
    struct sq_db *db = fresh_db();
    struct sq_db_rows *src = NULL;
    struct sq_db_rows *dst = NULL;
    struct sq_buf text;
    int64_t changes = 0;
    syncq_error err;

    (void)state;
    t_exec(db, "CREATE TABLE t_copy (a BIGINT PRIMARY KEY, b TEXT)");
    assert_int_equal(sq_db_rows_new_copy("t_copy", "a, b", &src, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_db_rows_new_copy("t_copy", "a, b", &dst, &err),
                     SYNCQ_OK);
    sq_db_rows_add_i64(src, 1);
    sq_db_rows_add_text(src, "x\ty\\");
    sq_db_rows_add_i64(src, 2);
    sq_db_rows_add_null(src);
    sq_buf_init(&text, 0);
    assert_int_equal(sq_db_rows_copy_text(src, &text), 0);
    assert_string_equal(text.data, "1\tx\\ty\\\\\n2\t\\N\n");
    sq_db_rows_add_copy(dst, text.data, text.len, 2);
    sq_db_rows_add_i64(dst, 3);
    sq_db_rows_add_text(dst, "z");
    assert_int_equal(sq_db_rows_count(dst), 3);
    if (sq_db_is_pg(db)) {
        assert_int_equal(sq_db_rows_run(db, dst, NULL, NULL, &changes, &err),
                         SYNCQ_OK);
        assert_int_equal(changes, 3);
        assert_int_equal(t_count(db, "SELECT COUNT(*) FROM t_copy WHERE "
                                     "(a = 1 AND b = 'x' || chr(9) || 'y' || "
                                     "chr(92)) OR (a = 2 AND b IS NULL) OR "
                                     "(a = 3 AND b = 'z')"),
                         3);
    } else {
        assert_int_equal(sq_db_rows_run(db, dst, NULL, NULL, NULL, &err),
                         SYNCQ_EINTERNAL);
        assert_int_equal(t_count(db, "SELECT COUNT(*) FROM t_copy"), 0);
    }
    assert_int_equal(sq_db_rows_count(dst), 0);
    sq_buf_cleanup(&text);
    sq_db_rows_free(src);
    sq_db_rows_free(dst);
    sq_db_close(db);
}

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
        assert_int_equal(sq_ds_offer_batch_add(b, canon[i], NULL, &err), SYNCQ_OK);
    }
    assert_int_equal(sq_db_begin(db, &err), SYNCQ_OK);
    assert_int_equal(sq_ds_offer_batch_store(db, b, outcomes, NULL, &err),
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

#endif
