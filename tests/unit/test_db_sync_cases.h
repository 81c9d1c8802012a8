/* SPDX-License-Identifier: MIT
 *
 * test_db_sync_cases.h: sync_products and sync_suppliers on both
 * backends: incremental runs, precedence of fetches, delisting, pages,
 * re-crawls (unchanged and changed).
 */
#ifndef TEST_DB_SYNC_CASES_H
#define TEST_DB_SYNC_CASES_H

#include "test_db_support.h"

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
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload r WHERE "
                                 "NOT EXISTS (SELECT 1 FROM raw_sync s "
                                 "WHERE s.raw_id = r.raw_id)"),
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


/* The records of one sync, staged for case_sync_read_ahead: 16 offers
 * sharing one image, a record with a bad offer_id, one whose offer_id is
 * not its key, and a newer page fetch superseding an API fetch. */
static void
t_stage_read_ahead(struct sq_db *db)
{
    for (int i = 0; i < 16; i++) {
        char key[32];
        char j[400];
        snprintf(key, sizeof key, "%d", 62000 + i);
        snprintf(j, sizeof j,
                 "{\"offer_id\": %d, \"subject\": \"共享图 %d\", "
                 "\"images\": [{\"url\": \"https://cbu01.alicdn.com/img/"
                 "ibank/shared.jpg\", \"role\": \"main\"}, {\"url\": "
                 "\"https://cbu01.alicdn.com/img/ibank/own-%d.jpg\", "
                 "\"role\": \"main\"}]}",
                 62000 + i, i, i);
        t_put(db, "api_detail", key, "ok", j);
        if (i == 7) {
            t_put(db, "detail_page", key, "ok", j);
        }
        if (i == 5) {
            t_put(db, "api_detail", "62100", "ok", "{\"offer_id\": \"nope\"}");
        }
        if (i == 9) {
            t_put(db, "api_detail", "62101", "ok", "{\"offer_id\": 62102}");
        }
    }
    t_exec(db, "UPDATE raw_payload SET fetched_at = "
               "'2099-01-01T00:00:00.000Z' WHERE kind = 'detail_page'");
}

/* Pages of 4 records (five of them), each read (and on PostgreSQL
 * parsed, on a second thread) while the one before is written: the same
 * result as one page of 500, bad records, superseded rows and an image
 * shared across pages included (one image row, a link from every
 * offer). */
static void
case_sync_read_ahead(void **state)
{
    json_t *res[2];

    (void)state;
    for (int k = 0; k < 2; k++) {
        struct sq_db *db = fresh_db();
        struct sq_sync_opts o;
        syncq_error err;
        t_stage_read_ahead(db);
        sq_sync_opts_init(&o);
        o.batch_size = k == 0 ? 500 : 4;
        res[k] = NULL;
        if (sq_ds_sync_products(db, &o, NULL, &res[k], &err) != SYNCQ_OK) {
            fail_msg("sync_products: %s", err.msg);
        }
        json_object_del(res[k], "elapsed_ms");
        json_object_del(res[k], "run_id");
        assert_int_equal(t_int(res[k], "products.inserted"), 16);
        assert_int_equal(t_int(res[k], "products.failed"), 2);
        assert_int_equal(t_int(res[k], "products.superseded"), 1);
        assert_int_equal(t_int(res[k], "records"), 19);
        assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), 16);
        assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image"), 17);
        assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image"),
                         32);
        assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image pi "
                                     "JOIN image i ON i.image_id = "
                                     "pi.image_id WHERE i.url_key = "
                                     "'https://cbu01.alicdn.com/img/ibank/"
                                     "shared.jpg'"),
                         16);
        assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload r "
                                     "WHERE NOT EXISTS (SELECT 1 FROM "
                                     "raw_sync s WHERE s.raw_id = "
                                     "r.raw_id)"),
                         0);
        sq_db_close(db);
    }
    if (!json_equal(res[0], res[1])) {
        char *a = json_dumps(res[0], JSON_SORT_KEYS);
        char *b = json_dumps(res[1], JSON_SORT_KEYS);
        fail_msg("one page: %s\npages of 4: %s", a, b);
    }
    json_decref(res[0]);
    json_decref(res[1]);
}

/* A re-crawl that brought nothing new is recognised in SQL
 * (ds_sync_due.c) only when the product still holds what that row's
 * last sync left: a product rewritten by the other kind of fetch since,
 * or a row superseded by a newer fetch, goes the whole way. */
static void
case_sync_recrawl_skip_rules(void **state)
{
    struct sq_db *db = fresh_db();
    struct sq_sync_opts o;
    json_t *res;
    syncq_error err;

    (void)state;
    t_put_offer(db, "api_detail", 3001, 611, "API 标题", 100, 100, 1);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-02-01T00:00:00Z'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.inserted"), 1);
    json_decref(res);
    /* The row remembers the content it left in the product. */
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_sync s JOIN "
                                 "product p ON p.offer_id = 3001 WHERE "
                                 "s.synced_content = p.content_hash"),
                     1);
    /* The page, newer and different, rewrites the product... */
    t_put_offer(db, "detail_page", 3001, 611, "PAGE 标题", 100, 100, 1);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-02-02T00:00:00Z' "
               "WHERE kind = 'detail_page'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.updated"), 1);
    json_decref(res);
    /* ... so the API's unchanged re-crawl, newest now, must win again. */
    t_put_offer(db, "api_detail", 3001, 611, "API 标题", 100, 100, 1);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-02-03T00:00:00Z' "
               "WHERE kind = 'api_detail'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.updated"), 1);
    assert_int_equal(t_int(res, "products.unchanged"), 0);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "subject = 'API 标题'"),
                     1);
    /* The page re-crawled unchanged but older than the API: superseded,
     * not skipped as unchanged. */
    t_put_offer(db, "detail_page", 3001, 611, "PAGE 标题", 100, 100, 1);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-02-02T12:00:00Z' "
               "WHERE kind = 'detail_page'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.superseded"), 1);
    assert_int_equal(t_int(res, "products.unchanged"), 0);
    json_decref(res);
    /* The API re-crawled unchanged: skipped, the product not written. */
    t_exec(db, "UPDATE product SET synced_at = 'before'");
    t_put_offer(db, "api_detail", 3001, 611, "API 标题", 100, 100, 1);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-02-04T00:00:00Z' "
               "WHERE kind = 'api_detail'");
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "products.unchanged"), 1);
    assert_int_equal(t_int(res, "records"), 1);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "synced_at = 'before'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload r JOIN "
                                 "raw_sync s ON s.raw_id = r.raw_id WHERE "
                                 "s.synced_hash = r.norm_hash || '@' || "
                                 "r.fetched_at"),
                     2);
    /* force rewrites it anyway. */
    t_put_offer(db, "api_detail", 3001, 611, "API 标题", 100, 100, 1);
    t_exec(db, "UPDATE raw_payload SET fetched_at = '2026-02-05T00:00:00Z' "
               "WHERE kind = 'api_detail'");
    sq_sync_opts_init(&o);
    o.force = true;
    assert_int_equal(sq_ds_sync_products(db, &o, NULL, &res, &err), SYNCQ_OK);
    assert_int_equal(t_int(res, "products.updated"), 1);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "synced_at = 'before'"),
                     0);
    sq_db_close(db);
}

#endif
