/* SPDX-License-Identifier: MIT
 *
 * test_db_cases.h: catalog database test cases that must hold on both
 * backends. Included by tests/unit/test_db_*.c (SQLite, always) and
 * tests/integration/it_datasync_pg.c (a private PostgreSQL server), each
 * of which defines
 *     static struct sq_db *fresh_db(void);   an empty, migrated database
 * before including this file. Every case asserts concrete values; the
 * same data gives the same numbers on both backends.
 */
#ifndef TEST_DB_CASES_H
#define TEST_DB_CASES_H

#include "sq_test.h"

#include "sq_alloc.h"
#include "sq_error.h"
#include "data_sync/ds_catalog.h"
#include "data_sync/ds_sync.h"
#include "db/sq_db.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct sq_db *fresh_db(void);

#include <ftw.h>

static int
t_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(path);
}

/* This test process's scratch directory (under sqt_tmpdir()). */
static const char *
t_workdir(void)
{
    static char dir[600];

    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "%s/dbtest-%d", sqt_tmpdir(), (int)getpid());
    }
    return dir;
}

/* Remove t_workdir() and everything in it (end of main). */
static void
t_workdir_remove(void)
{
    nftw(t_workdir(), t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- data builders ---------------------------------------------------- */

/* A normalised offer (docs/1688-normalized.md) with `nskus` SKUs, two
 * ascending price tiers and 3 images; prices in fen. Owned string. */
static char *
t_offer(int64_t offer_id, int64_t seller, const char *subject, int64_t pmin,
        int64_t pmax, int nskus)
{
    json_t *skus = json_array();
    json_t *vals = json_array();
    json_t *o;
    char *s;
    char u1[96];
    char u2[96];
    char u3[96];

    snprintf(u1, sizeof u1, "https://cbu01.alicdn.com/img/ibank/%lld-a.jpg",
             (long long)offer_id);
    snprintf(u2, sizeof u2, "//cbu02.alicdn.com/img/ibank/%lld-b.220x220.jpg",
             (long long)offer_id);
    snprintf(u3, sizeof u3, "img/ibank/%lld-desc.jpg", (long long)offer_id);
    for (int i = 0; i < nskus; i++) {
        char spec[32];
        char color[16];
        snprintf(color, sizeof color, "色%d", i);
        snprintf(spec, sizeof spec, "%s>XL", color);
        json_array_append_new(vals, json_pack("{s:s}", "value", color));
        json_array_append_new(
            skus, json_pack("{s:I, s:s, s:s, s:I, s:I}", "sku_id",
                            (json_int_t)(offer_id * 10 + i), "spec_id",
                            "0123456789abcdef0123456789abcdef", "spec_text",
                            spec, "price_fen", (json_int_t)(pmin + i), "stock",
                            (json_int_t)(100 + i)));
    }
    o = json_pack(
        "{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I,"
        " s:f, s:{s:I, s:s, s:s, s:s}, s:[{s:I, s:s, s:s}],"
        " s:[{s:I, s:s, s:o}, {s:I, s:s, s:[{s:s}]}], s:o,"
        " s:[{s:I, s:I}, {s:I, s:I}],"
        " s:[{s:s, s:s, s:I}, {s:s, s:s, s:I}, {s:s, s:s, s:I}],"
        " s:s, s:s}",
        "offer_id", (json_int_t)offer_id, "source", "api", "category_id",
        (json_int_t)1031910, "top_category_id", (json_int_t)10166, "subject",
        subject, "unit", "件", "status", "published", "quote_type",
        (json_int_t)1, "moq", (json_int_t)2, "price_min_fen", (json_int_t)pmin,
        "price_max_fen", (json_int_t)pmax, "currency", "CNY", "sold_count",
        (json_int_t)300, "unit_weight_kg", 0.25, "supplier", "seller_user_id",
        (json_int_t)seller, "member_id", "b2b-x", "company_name",
        "义乌某某有限公司", "province", "浙江", "attributes", "attr_id",
        (json_int_t)100, "name", "材质", "value", "棉", "sku_props", "fid",
        (json_int_t)3216, "name", "颜色", "values", vals, "fid",
        (json_int_t)450, "name", "尺码", "values", "value", "XL", "skus", skus,
        "price_ranges", "start_qty", (json_int_t)2, "price_fen",
        (json_int_t)pmax, "start_qty", (json_int_t)100, "price_fen",
        (json_int_t)pmin, "images", "url", u1, "role", "main", "ord",
        (json_int_t)0, "url", u2, "role", "main", "ord", (json_int_t)1, "url",
        u3, "role", "desc", "ord", (json_int_t)0, "raw_sha256", "00",
        "fetched_at", "2026-11-29T08:00:00Z");
    assert_non_null(o);
    /* The member id is per seller so suppliers stay apart. */
    {
        char mid[40];
        snprintf(mid, sizeof mid, "b2b-%lld", (long long)seller);
        json_object_set_new(json_object_get(o, "supplier"), "member_id",
                            json_string(mid));
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* A whole file (binary-safe), owned (sq_free). */
__attribute__((unused)) static char *
t_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = sq_malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void
t_put(struct sq_db *db, const char *kind, const char *key, const char *outcome,
      const char *json)
{
    syncq_error err;

    assert_int_equal(
        sq_db_raw_put(db, kind, key, 200, outcome, "<raw>", 5, json, &err),
        SYNCQ_OK);
}

static void
t_put_offer(struct sq_db *db, const char *kind, int64_t id, int64_t seller,
            const char *subject, int64_t pmin, int64_t pmax, int nskus)
{
    char key[32];
    char *j = t_offer(id, seller, subject, pmin, pmax, nskus);

    snprintf(key, sizeof key, "%lld", (long long)id);
    t_put(db, kind, key, "ok", j);
    sq_free(j);
}

static int64_t
t_count(struct sq_db *db, const char *sql)
{
    syncq_error err;
    int64_t n = -1;

    if (sq_db_query_i64(db, sql, false, 0, &n, &err) != SYNCQ_OK) {
        fail_msg("%s: %s", sql, err.msg);
    }
    return n;
}

static void
t_exec(struct sq_db *db, const char *sql)
{
    syncq_error err;

    if (sq_db_exec(db, sql, &err) != SYNCQ_OK) {
        fail_msg("%s: %s", sql, err.msg);
    }
}

static json_t *
t_sync(struct sq_db *db, bool full)
{
    struct sq_sync_opts o;
    json_t *res = NULL;
    syncq_error err;

    sq_sync_opts_init(&o);
    o.full = full;
    if (sq_ds_sync_products(db, &o, NULL, &res, &err) != SYNCQ_OK) {
        fail_msg("sync_products: %s", err.msg);
    }
    return res;
}

static int64_t
t_int(json_t *o, const char *path)
{
    /* "a.b" -> o["a"]["b"] */
    char buf[128];
    char *dot;

    snprintf(buf, sizeof buf, "%s", path);
    dot = strchr(buf, '.');
    if (dot != NULL) {
        *dot = '\0';
        o = json_object_get(o, buf);
        path = dot + 1;
    } else {
        path = buf;
    }
    if (!json_is_integer(json_object_get(o, path))) {
        fail_msg("result has no integer %s", path);
    }
    return (int64_t)json_integer_value(json_object_get(o, path));
}

/* ---- cases -------------------------------------------------------------- */

static void
case_schema_created(void **state)
{
    struct sq_db *db = fresh_db();
    int v = 0;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_db_schema_version(db, &v, &err), SYNCQ_OK);
    assert_int_equal(v, SQ_DB_SCHEMA_VERSION);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM schema_version"), 1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), 0);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload"), 0);
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

static void
case_sync_incremental(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *res;

    (void)state;
    t_put_offer(db, "api_detail", 1001, 501, "连衣裙 A", 100, 200, 2);
    t_put_offer(db, "api_detail", 1002, 501, "连衣裙 B", 300, 400, 1);
    t_put_offer(db, "detail_page", 1003, 502, "T恤 C", 500, 900, 0);
    t_put(db, "category", "10166", "ok",
          "{\"category_id\": 10166, \"name_zh\": \"女装\", \"level\": \"1\","
          " \"is_leaf\": \"false\", \"parent_id\": 0, \"children\": ["
          "{\"category_id\": 1031910, \"name_zh\": \"连衣裙\","
          " \"is_leaf\": true, \"level\": 2}]}");
    t_put(db, "search", "1031910:1", "ok",
          "{\"category_id\": 1031910, \"page\": 1, \"offers\": ["
          "{\"offer_id\": 1001, \"subject\": \"x\", \"price_fen\": 1},"
          "{\"offer_id\": 1004, \"subject\": \"只在列表\", \"price_fen\": 990,"
          " \"image_url\": \"https://cbu01.alicdn.com/img/ibank/l4.jpg\","
          " \"seller_user_id\": 503}]}");
    t_put(db, "api_detail", "1005", "ok", "{\"offer_id\": \"nope\"}");

    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.inserted"), 3);
    assert_int_equal(t_int(res, "products.failed"), 1);
    assert_int_equal(t_int(res, "listings.inserted"), 1);
    assert_int_equal(t_int(res, "listings.unchanged"), 1);
    assert_int_equal(t_int(res, "categories.inserted"), 2);
    assert_int_equal(t_int(res, "records"), 6);
    assert_int_equal(json_array_size(json_object_get(res, "errors")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(res, "errors"), 0), "key")),
        "1005");
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), 4);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "offer_id = 1001 AND source = 'api'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "offer_id = 1004 AND source = 'list'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM category"), 2);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM category WHERE "
                                 "category_id = 1031910 AND path = "
                                 "'10166/1031910' AND is_leaf = 1"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 3);

    /* Nothing new: an incremental run reads nothing. */
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "records"), 0);
    assert_int_equal(t_int(res, "inserted") + t_int(res, "updated") +
                         t_int(res, "unchanged"),
                     0);
    json_decref(res);

    /* One changed, one re-fetched identical: 1 updated, 1 unchanged. */
    t_put_offer(db, "api_detail", 1001, 501, "连衣裙 A", 110, 200, 2);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2099-01-01T00:00:00Z' "
               "WHERE key = '1002'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "records"), 2);
    assert_int_equal(t_int(res, "updated"), 1);
    assert_int_equal(t_int(res, "unchanged"), 1);
    assert_int_equal(t_int(res, "inserted"), 0);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT price_min_fen FROM product WHERE "
                                 "offer_id = 1001"),
                     110);

    /* A full run looks at every record and rewrites nothing. */
    res = t_sync(db, true);
    assert_int_equal(t_int(res, "unchanged"), 3);
    assert_int_equal(t_int(res, "updated"), 0);
    assert_int_equal(t_int(res, "failed"), 1);
    json_decref(res);
    sq_db_close(db);
}

static void
case_sync_precedence_and_delist(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *res;

    (void)state;
    /* The same offer from the API and the page: the later fetch wins. */
    t_put_offer(db, "api_detail", 2001, 601, "API 标题", 100, 100, 0);
    t_put_offer(db, "detail_page", 2001, 601, "PAGE 标题", 100, 100, 0);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-01-01T00:00:00Z' "
               "WHERE kind = 'api_detail'");
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-01-02T00:00:00Z' "
               "WHERE kind = 'detail_page'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.inserted"), 1);
    assert_int_equal(t_int(res, "products.superseded"), 1);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "subject = 'PAGE 标题'"),
                     1);
    /* A newer not_found delists it. */
    t_put(db, "api_detail", "2001", "not_found", NULL);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-01-03T00:00:00Z' "
               "WHERE kind = 'api_detail'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.delisted"), 1);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "status = 'delisted'"),
                     1);
    /* A later good fetch of the same content lists it again. */
    t_put_offer(db, "detail_page", 2001, 601, "PAGE 标题", 100, 100, 0);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-01-04T00:00:00Z' "
               "WHERE kind = 'detail_page'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.updated"), 1);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "status = 'published'"),
                     1);
    sq_db_close(db);
}

static void
case_sync_suppliers(void **state)
{
    struct sq_db *db = fresh_db();
    struct sq_sync_opts o;
    json_t *res = NULL;
    syncq_error err;

    (void)state;
    t_put_offer(db, "api_detail", 3001, 701, "商品", 100, 100, 0);
    res = t_sync(db, false);
    json_decref(res);
    t_put(db, "shop", "701", "ok",
          "{\"seller_user_id\": 701, \"member_id\": \"b2b-701\","
          " \"is_tp\": true, \"tp_years\": \"5\", \"is_factory\": \"false\","
          " \"score_composite\": \"4.5\", \"repurchase_rate\": 0.35}");
    t_put(db, "shop", "b2b-702", "ok",
          "{\"member_id\": \"b2b-702\", \"company_name\": \"新公司\"}");
    t_put(db, "shop", "bad", "ok", "{\"company_name\": \"无标识\"}");
    sq_sync_opts_init(&o);
    assert_int_equal(sq_ds_sync_suppliers(db, &o, NULL, &res, &err), SYNCQ_OK);
    assert_int_equal(t_int(res, "updated"), 1);
    assert_int_equal(t_int(res, "inserted"), 1);
    assert_int_equal(t_int(res, "failed"), 1);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 2);
    assert_int_equal(t_count(db, "SELECT tp_years FROM supplier WHERE "
                                 "seller_user_id = 701"),
                     5);
    /* The offer's company name survived the shop record (COALESCE). */
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier WHERE "
                                 "seller_user_id = 701 AND company_name = "
                                 "'义乌某某有限公司' AND is_tp = 1 AND "
                                 "is_factory = 0"),
                     1);
    o.full = true;
    assert_int_equal(sq_ds_sync_suppliers(db, &o, NULL, &res, &err), SYNCQ_OK);
    assert_int_equal(t_int(res, "unchanged"), 2);
    assert_int_equal(t_int(res, "updated"), 0);
    json_decref(res);
    sq_db_close(db);
}

static json_t *
t_validate(struct sq_db *db, bool files, const char *media)
{
    struct sq_validate_opts o = {files, media, 10, NULL};
    json_t *rep = NULL;
    syncq_error err;

    if (sq_ds_validate(db, &o, NULL, &rep, &err) != SYNCQ_OK) {
        fail_msg("validate: %s", err.msg);
    }
    return rep;
}

static int64_t
t_rule(json_t *rep, const char *name, json_t **ids)
{
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(rep, "rules"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "rule")), name) == 0) {
            if (ids != NULL) {
                *ids = json_object_get(r, "ids");
            }
            return (int64_t)json_integer_value(json_object_get(r, "count"));
        }
    }
    fail_msg("no rule %s in the report", name);
    return -1;
}

static void
case_validate_rules(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *rep;
    json_t *ids;

    (void)state;
    for (int i = 1; i <= 4; i++) {
        t_put_offer(db, "api_detail", 4000 + i, 800 + i, "好商品", 100, 200, 2);
    }
    t_put(db, "category", "1031910", "ok",
          "{\"category_id\": 1031910, \"name_zh\": \"连衣裙\"}");
    json_decref(t_sync(db, false));
    t_exec(db, "UPDATE image SET status = 'downloaded', sha256 = 'ab', "
               "local_path = 'x.jpg'");
    rep = t_validate(db, false, NULL);
    assert_true(json_is_true(json_object_get(rep, "ok")));
    assert_int_equal(t_int(rep, "errors"), 0);
    assert_int_equal(t_int(rep, "warnings"), 0);
    assert_int_equal(t_int(rep, "checked.products"), 4);
    assert_int_equal(t_int(rep, "checked.skus"), 8);
    assert_int_equal(t_int(rep, "checked.price_tiers"), 8);
    json_decref(rep);

    /* Break one rule per product and check each is found. */
    t_exec(db, "UPDATE product SET price_min_fen = 0 WHERE offer_id = 4001");
    t_exec(db, "UPDATE price_tier SET start_qty = 1 WHERE offer_id = 4002 "
               "AND tier_ord = 1");
    t_exec(db, "UPDATE sku SET stock = -1 WHERE offer_id = 4003");
    t_exec(db, "UPDATE sku SET price_fen = -5 WHERE offer_id = 4004 AND "
               "sku_ord = 0");
    t_exec(db, "UPDATE product SET subject = '' WHERE offer_id = 4004");
    t_exec(db, "UPDATE sku SET spec_text = '不存在>XL' WHERE offer_id = 4001 "
               "AND sku_ord = 1");
    t_exec(db, "DELETE FROM image WHERE image_id = (SELECT MIN(image_id) "
               "FROM product_image WHERE offer_id = 4002)");
    rep = t_validate(db, false, NULL);
    assert_false(json_is_true(json_object_get(rep, "ok")));
    assert_int_equal(t_rule(rep, "product_price_positive", &ids), 1);
    assert_int_equal(json_integer_value(json_array_get(ids, 0)), 4001);
    assert_int_equal(t_rule(rep, "price_tiers_ascending", &ids), 1);
    assert_int_equal(json_integer_value(json_array_get(ids, 0)), 4002);
    assert_int_equal(t_rule(rep, "sku_stock_nonnegative", &ids), 1);
    assert_int_equal(json_integer_value(json_array_get(ids, 0)), 4003);
    assert_int_equal(t_rule(rep, "sku_price_positive", &ids), 1);
    assert_int_equal(json_integer_value(json_array_get(ids, 0)), 4004);
    assert_int_equal(t_rule(rep, "required_fields", &ids), 1);
    assert_int_equal(json_integer_value(json_array_get(ids, 0)), 4004);
    assert_int_equal(t_rule(rep, "image_ref", &ids), 1);
    assert_int_equal(json_integer_value(json_array_get(ids, 0)), 4002);
    assert_int_equal(t_rule(rep, "sku_spec_values", &ids), 1);
    assert_int_equal(json_integer_value(json_array_get(ids, 0)), 4001);
    assert_int_equal(t_rule(rep, "tier_price_positive", NULL), 0);
    assert_int_equal(t_int(rep, "errors"), 6);
    assert_int_equal(t_int(rep, "warnings"), 1);
    json_decref(rep);

    /* Files: every downloaded image path must exist under the media dir. */
    rep = t_validate(db, true, "/nonexistent-media-dir");
    assert_int_equal(t_rule(rep, "image_file_missing", NULL),
                     t_count(db, "SELECT COUNT(DISTINCT pi.image_id) FROM "
                                 "product_image pi JOIN image i ON "
                                 "i.image_id = pi.image_id"));
    json_decref(rep);
    sq_db_close(db);
}

static void
case_cleanup_duplicates(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *res = NULL;
    syncq_error err;

    (void)state;
    /* Two offers of the same seller, title and price: duplicates. A third
     * differs in price. */
    t_put_offer(db, "api_detail", 5003, 901, "重复 标题", 100, 200, 1);
    t_put_offer(db, "api_detail", 5001, 901, "重复  标题", 100, 200, 1);
    t_put_offer(db, "api_detail", 5002, 901, "重复 标题", 100, 300, 1);
    json_decref(t_sync(db, false));
    /* The same seller known twice (member id only, then user id only). */
    t_exec(db, "INSERT INTO supplier (seller_user_id, member_id, city) "
               "VALUES (902, NULL, '杭州')");
    t_exec(db, "INSERT INTO supplier (seller_user_id, member_id, "
               "company_name) VALUES (902, 'b2b-902', '公司二')");
    /* Two image rows with the same content. */
    t_exec(db, "UPDATE image SET sha256 = 'same', status = 'downloaded'");

    assert_int_equal(sq_ds_cleanup_duplicates(db, true, NULL, &res, &err),
                     SYNCQ_OK);
    assert_true(json_is_true(json_object_get(res, "dry_run")));
    assert_int_equal(t_int(res, "suppliers.merged"), 1);
    assert_int_equal(t_int(res, "products.marked_duplicate"), 1);
    assert_int_equal(t_int(res, "products.groups"), 1);
    assert_int_equal(t_int(res, "images.marked_duplicate"), 8);
    json_decref(res);
    /* A dry run writes nothing. */
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 3);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "duplicate_of IS NOT NULL"),
                     0);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log"), 0);

    assert_int_equal(sq_ds_cleanup_duplicates(db, false, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(t_int(res, "suppliers.merged"), 1);
    assert_int_equal(t_int(res, "products.marked_duplicate"), 1);
    {
        json_t *m = json_array_get(
            json_object_get(json_object_get(res, "products"), "merges"), 0);
        assert_int_equal(json_integer_value(json_object_get(m, "keep")), 5001);
        assert_int_equal(
            json_integer_value(json_array_get(json_object_get(m, "merged"), 0)),
            5003);
    }
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT duplicate_of FROM product WHERE "
                                 "offer_id = 5003"),
                     5001);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "duplicate_of IS NOT NULL"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier WHERE "
                                 "seller_user_id = 902 AND city = '杭州' AND "
                                 "company_name = '公司二' AND "
                                 "member_id = 'b2b-902'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log WHERE "
                                 "entity = 'supplier' AND snapshot IS NOT "
                                 "NULL"),
                     1);
    /* Image links point at the keeper only. */
    assert_int_equal(t_count(db, "SELECT COUNT(DISTINCT image_id) FROM "
                                 "product_image"),
                     1);
    /* Deterministic and idempotent: a second run finds nothing. */
    assert_int_equal(sq_ds_cleanup_duplicates(db, false, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(t_int(res, "suppliers.groups") +
                         t_int(res, "products.groups") +
                         t_int(res, "images.groups"),
                     0);
    json_decref(res);
    sq_db_close(db);
}

/* ---- several processes at once (URL-based: each child connects) -------- */

#include <signal.h>
#include <sys/wait.h>

/* `nproc` children each open `url` (creating/migrating it if needed) and
 * commit `ntx` transactions of one raw_put; all must succeed. */
static void
t_concurrent_writers(const char *url, int nproc, int ntx)
{
    pid_t pids[16];
    struct sq_db *db = NULL;
    syncq_error err;

    assert_true(nproc <= 16);
    for (int p = 0; p < nproc; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            struct sq_db *cdb = NULL;
            int bad = 0;
            if (sq_db_open(url, &cdb, &err) != SYNCQ_OK) {
                fprintf(stderr, "child open: %s\n", err.msg);
                _exit(2);
            }
            for (int i = 0; i < ntx; i++) {
                char key[32];
                snprintf(key, sizeof key, "%d-%d", p, i);
                if (sq_db_begin(cdb, &err) != SYNCQ_OK ||
                    sq_db_raw_put(cdb, "shop", key, 200, "ok", "b", 1,
                                  "{\"member_id\": \"m\"}", &err) != SYNCQ_OK ||
                    sq_db_commit(cdb, &err) != SYNCQ_OK) {
                    fprintf(stderr, "child tx: %s\n", err.msg);
                    sq_db_rollback(cdb);
                    bad++;
                }
            }
            sq_db_close(cdb);
            _exit(bad == 0 ? 0 : 1);
        }
    }
    for (int p = 0; p < nproc; p++) {
        int st = 0;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(sq_db_open(url, &db, &err), SYNCQ_OK);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload"),
                     nproc * ntx);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM schema_version"), 1);
    sq_db_close(db);
}

/* A sync_products killed with SIGKILL in the middle: every committed
 * product is whole (its SKUs, tiers and images with it), and the next run
 * stores exactly the rest. `url` names an empty database. */
static void
t_killed_sync(const char *url, int n)
{
    struct sq_db *db = NULL;
    json_t *res;
    syncq_error err;
    pid_t pid;
    int st = 0;
    int64_t before;

    assert_int_equal(sq_db_open(url, &db, &err), SYNCQ_OK);
    for (int i = 0; i < n; i++) {
        t_put_offer(db, "api_detail", 70000 + i, 300 + i % 9, "杀掉的同步",
                    100 + i, 900, 3);
    }
    sq_db_close(db);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sq_db *cdb = NULL;
        struct sq_sync_opts o;
        json_t *r = NULL;
        if (sq_db_open(url, &cdb, &err) != SYNCQ_OK) {
            _exit(2);
        }
        sq_sync_opts_init(&o);
        o.batch_size = 20;
        sq_ds_sync_products(cdb, &o, NULL, &r, &err);
        _exit(0);
    }
    assert_int_equal(sq_db_open(url, &db, &err), SYNCQ_OK);
    for (int i = 0; i < 2000; i++) {
        if (t_count(db, "SELECT COUNT(*) FROM product") >= n / 4) {
            break;
        }
        usleep(5000);
    }
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    before = t_count(db, "SELECT COUNT(*) FROM product");
    if (!WIFSIGNALED(st) || before >= n) {
        fail_msg("the sync was not killed mid-way (%lld of %d stored)",
                 (long long)before, n);
    }
    /* Whole products only: 3 SKUs, 2 tiers, 3 image links each. */
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 3 * before);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM price_tier"),
                     2 * before);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image"),
                     3 * before);
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "inserted"), n - before);
    assert_int_equal(t_int(res, "updated") + t_int(res, "unchanged"), 0);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), n);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 3 * n);
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "records"), 0);
    json_decref(res);
    sq_db_close(db);
}

/* ---- one scenario, dumped as text: equal dumps on both backends -------- */

static void
t_strip_volatile(json_t *o)
{
    json_object_del(o, "elapsed_ms");
}

/* Load a mixed catalog, run every data_sync operation and return the
 * results plus every stored product as one JSON text (owned). */
static char *
t_scenario_dump(struct sq_db *db)
{
    struct sq_sync_opts so;
    struct sq_validate_opts vo = {false, NULL, 20, NULL};
    json_t *all = json_object();
    json_t *res = NULL;
    json_t *products = json_array();
    struct sq_db_stmt *st;
    syncq_error err;
    char *text;
    int64_t ids[64];
    int n = 0;

    for (int i = 0; i < 24; i++) {
        char subject[64];
        snprintf(subject, sizeof subject, "商品 %d 号", i % 20);
        t_put_offer(db, i % 3 == 0 ? "detail_page" : "api_detail", 6000 + i,
                    100 + i % 5, subject, 100 + (i % 20), 900, i % 4);
    }
    t_put(db, "category", "10166", "ok",
          "{\"category_id\": 10166, \"name_zh\": \"女装\", \"children\": ["
          "{\"category_id\": 1031910, \"name_zh\": \"连衣裙\"}]}");
    t_put(
        db, "search", "1031910:1", "ok",
        "{\"category_id\": 1031910, \"offers\": [{\"offer_id\": 6100, "
        "\"subject\": \"列表\", \"price_fen\": 5, \"seller_user_id\": 100}]}");
    t_put(db, "shop", "100", "ok",
          "{\"seller_user_id\": 100, \"score_goods\": 4.25, \"is_tp\": 1}");
    t_put(db, "api_detail", "6200", "ok",
          "{\"offer_id\": 6200, "
          "\"skus\": [{\"stock\": -3, \"price_fen\": 0}]}");
    sq_sync_opts_init(&so);
    assert_int_equal(sq_ds_sync_products(db, &so, NULL, &res, &err), SYNCQ_OK);
    t_strip_volatile(res);
    json_object_set_new(all, "sync_products", res);
    assert_int_equal(sq_ds_sync_suppliers(db, &so, NULL, &res, &err), SYNCQ_OK);
    t_strip_volatile(res);
    json_object_set_new(all, "sync_suppliers", res);
    assert_int_equal(sq_ds_cleanup_duplicates(db, false, NULL, &res, &err),
                     SYNCQ_OK);
    t_strip_volatile(res);
    json_object_set_new(all, "cleanup", res);
    assert_int_equal(sq_ds_validate(db, &vo, NULL, &res, &err), SYNCQ_OK);
    t_strip_volatile(res);
    json_object_set_new(all, "validate", res);
    assert_int_equal(sq_db_prepare(db,
                                   "SELECT offer_id FROM product ORDER "
                                   "BY offer_id",
                                   &st, &err),
                     SYNCQ_OK);
    while (sq_db_step(st, &err) == 1 && n < 64) {
        ids[n++] = sq_db_col_i64(st, 0);
    }
    for (int i = 0; i < n; i++) {
        json_t *p = NULL;
        assert_int_equal(sq_ds_offer_load(db, ids[i], &p, &err), SYNCQ_OK);
        json_array_append_new(products, p);
    }
    json_object_set_new(all, "products", products);
    json_object_set_new(all, "duplicates",
                        json_integer(t_count(db, "SELECT COUNT(*) FROM "
                                                 "product WHERE duplicate_of "
                                                 "IS NOT NULL")));
    text = json_dumps(all, JSON_SORT_KEYS | JSON_INDENT(1));
    json_decref(all);
    assert_non_null(text);
    return text;
}

#define DB_CASES                                                               \
    cmocka_unit_test(case_schema_created),                                     \
        cmocka_unit_test(case_raw_put_upserts),                                \
        cmocka_unit_test(case_binds_round_trip),                               \
        cmocka_unit_test(case_tx_rolls_back),                                  \
        cmocka_unit_test(case_offer_store_load_round_trip),                    \
        cmocka_unit_test(case_sync_incremental),                               \
        cmocka_unit_test(case_sync_precedence_and_delist),                     \
        cmocka_unit_test(case_sync_suppliers),                                 \
        cmocka_unit_test(case_validate_rules),                                 \
        cmocka_unit_test(case_cleanup_duplicates)

#endif
