/* SPDX-License-Identifier: MIT
 *
 * test_db_quality_cases.h: validate_data and cleanup_duplicates on both
 * backends.
 */
#ifndef TEST_DB_QUALITY_CASES_H
#define TEST_DB_QUALITY_CASES_H

#include "test_db_support.h"

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


/* cleanup_duplicates marks whole kinds at once (set-based): 10 product
 * groups of 3 (one keeper chosen over a listing-only row with a lower id)
 * and 5 image groups, counted, listed in group order, logged, and found
 * again by nothing on a second run. */
static void
case_cleanup_set_based(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *res = NULL;
    json_t *m;
    size_t i;
    syncq_error err;

    (void)state;
    for (int g = 0; g < 10; g++) {
        char subject[32];
        snprintf(subject, sizeof subject, "组 %d", g);
        for (int k = 0; k < 3; k++) {
            t_put_offer(db, "api_detail", 7000 + g * 3 + k, 950 + g, subject,
                        100 + g, 200, 1);
        }
    }
    t_put_offer(db, "api_detail", 7100, 990, "单个", 100, 200, 1);
    t_put_offer(db, "api_detail", 7101, 991, "单个", 100, 200, 1);
    json_decref(t_sync(db, false));
    t_exec(db, "UPDATE product SET source = 'list' WHERE offer_id = 7000");
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image"), 96);
    t_exec(db, "UPDATE image SET sha256 = 'g' || CAST(image_id % 5 AS TEXT)");

    assert_int_equal(sq_ds_cleanup_duplicates(db, true, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(t_int(res, "products.groups"), 10);
    assert_int_equal(t_int(res, "products.marked_duplicate"), 20);
    assert_int_equal(t_int(res, "images.groups"), 5);
    assert_int_equal(t_int(res, "images.marked_duplicate"), 91);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log"), 0);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "duplicate_of IS NOT NULL"),
                     0);

    assert_int_equal(sq_ds_cleanup_duplicates(db, false, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(t_int(res, "products.groups"), 10);
    assert_int_equal(t_int(res, "products.marked_duplicate"), 20);
    assert_int_equal(t_int(res, "images.marked_duplicate"), 91);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(res, "products"),
                                         "merges")),
        10);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(res, "images"),
                                        "merges")),
        5);
    /* Every group listed whole, keeper first by the keeper order. */
    json_array_foreach(json_object_get(json_object_get(res, "products"),
                                       "merges"),
                       i, m)
    {
        assert_int_equal(json_array_size(json_object_get(m, "merged")), 2);
        if (json_integer_value(json_object_get(m, "keep")) == 7001) {
            assert_int_equal(json_integer_value(json_array_get(
                                 json_object_get(m, "merged"), 0)),
                             7002);
            assert_int_equal(json_integer_value(json_array_get(
                                 json_object_get(m, "merged"), 1)),
                             7000);
        }
    }
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT duplicate_of FROM product WHERE "
                                 "offer_id = 7000"),
                     7001);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "duplicate_of IS NOT NULL"),
                     20);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "duplicate_of IS NULL"),
                     12);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log WHERE "
                                 "entity = 'product' AND reason = "
                                 "'fingerprint'"),
                     20);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log WHERE "
                                 "entity = 'image' AND keep_id <> "
                                 "merged_id"),
                     91);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image WHERE "
                                 "duplicate_of IS NOT NULL"),
                     91);
    assert_int_equal(t_count(db, "SELECT COUNT(DISTINCT image_id) FROM "
                                 "product_image"),
                     5);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image"), 96);
    assert_int_equal(sq_ds_cleanup_duplicates(db, false, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(t_int(res, "products.groups") +
                         t_int(res, "images.groups"),
                     0);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log"), 111);
    sq_db_close(db);
}

/* cleanup_duplicates merges suppliers set-based, identifier after
 * identifier, 500 rows a page: the keeper (lowest supplier_id) keeps its
 * values and takes the first known one of its merged rows in id order,
 * also when that row is on a later page; a member-id group formed by
 * the seller-id merges is merged in the same run; products follow their
 * supplier with fingerprints recomputed, so two offers of one seller
 * known under two rows become duplicates in the same run. */
static void
case_cleanup_suppliers_set_based(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *res = NULL;
    syncq_error err;

    (void)state;
    t_put_offer(db, "api_detail", 8001, 960, "同款", 100, 200, 1);
    t_put_offer(db, "api_detail", 8002, 961, "同款", 100, 200, 1);
    json_decref(t_sync(db, false));
    t_exec(db, "INSERT INTO supplier (supplier_id, seller_user_id, "
               "company_name) VALUES (10001, 800, 'A1')");
    t_exec(db, "INSERT INTO supplier (supplier_id, seller_user_id, "
               "member_id, city) VALUES (10002, 800, 'm-800', '杭州')");
    t_exec(db, "INSERT INTO supplier (supplier_id, seller_user_id, city, "
               "province) VALUES (10003, 800, '上海', '浙江')");
    t_exec(db, "INSERT INTO supplier (supplier_id, member_id, shop_url) "
               "VALUES (10004, 'm-800', 'https://shop.example')");
    t_exec(db, "UPDATE product SET supplier_id = 10002, fingerprint = NULL "
               "WHERE offer_id = 8001");
    t_exec(db, "UPDATE product SET supplier_id = 10004, fingerprint = NULL "
               "WHERE offer_id = 8002");
    /* 300 sellers of 4 rows each; keepers 20000..20299 know no tp_years,
     * nor do the members of seller 5007 on the first page. */
    t_exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 "
               "FROM n WHERE i < 1199) INSERT INTO supplier (supplier_id, "
               "seller_user_id, tp_years) SELECT 20000 + i, 5000 + i % 300, "
               "CASE WHEN i < 300 OR (i < 900 AND i % 300 = 7) THEN NULL "
               "ELSE i END FROM n");
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 1206);

    assert_int_equal(sq_ds_cleanup_duplicates(db, true, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(t_int(res, "suppliers.groups"), 302);
    assert_int_equal(t_int(res, "suppliers.merged"), 903);
    assert_int_equal(t_int(res, "products.groups"), 0);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 1206);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log"), 0);

    assert_int_equal(sq_ds_cleanup_duplicates(db, false, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(t_int(res, "suppliers.groups"), 302);
    assert_int_equal(t_int(res, "suppliers.merged"), 903);
    assert_int_equal(t_int(res, "products.marked_duplicate"), 1);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier"), 303);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log WHERE "
                                 "entity = 'supplier' AND snapshot IS NOT "
                                 "NULL"),
                     903);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM merge_log WHERE "
                                 "entity = 'supplier' AND keep_id = '10001' "
                                 "AND merged_id = '10004' AND reason = "
                                 "'member_id'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM supplier WHERE "
                                 "supplier_id = 10001 AND company_name = "
                                 "'A1' AND member_id = 'm-800' AND city = "
                                 "'杭州' AND province = '浙江' AND shop_url "
                                 "= 'https://shop.example'"),
                     1);
    assert_int_equal(t_count(db, "SELECT tp_years FROM supplier WHERE "
                                 "supplier_id = 20005"),
                     305);
    assert_int_equal(t_count(db, "SELECT tp_years FROM supplier WHERE "
                                 "supplier_id = 20007"),
                     907);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product WHERE "
                                 "supplier_id = 10001 AND fingerprint IS "
                                 "NOT NULL"),
                     2);
    assert_int_equal(t_count(db, "SELECT duplicate_of FROM product WHERE "
                                 "offer_id = 8002"),
                     8001);
    assert_int_equal(sq_ds_cleanup_duplicates(db, false, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(t_int(res, "suppliers.groups") +
                         t_int(res, "products.groups"),
                     0);
    json_decref(res);
    sq_db_close(db);
}

#endif
