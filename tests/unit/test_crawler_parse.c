/* SPDX-License-Identifier: MIT
 *
 * test_crawler_parse.c: the 1688 parsers against every real sample in
 * tests/fixtures/1688/raw (values asserted field by field, expected
 * values read off the samples independently), the documented shapes that
 * have no capture (cross-border detail and keywordQuery, from the official
 * doc page's example), the HTML page wrapper, bad input (each a clear
 * EPROTO, never a crash), and allocation failure at every step.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "crawler/crawler_parse.h"

#include <stdlib.h>
#include <string.h>

static char *
fixture(const char *name, size_t *len)
{
    char rel[256];
    char *s;

    snprintf(rel, sizeof rel, "1688/raw/%s", name);
    s = sqt_read_file(sqt_fixture(rel), len);
    assert_non_null(s);
    return s;
}

static json_int_t
ji(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *
js(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void
assert_null_key(const json_t *o, const char *k)
{
    assert_non_null(json_object_get(o, k));
    assert_true(json_is_null(json_object_get(o, k)));
}

/* The SKU of `offer` whose spec_text is `spec`. */
static json_t *
sku_by_spec(const json_t *offer, const char *spec)
{
    size_t i;
    json_t *s;

    json_array_foreach(json_object_get(offer, "skus"), i, s)
    {
        if (strcmp(js(s, "spec_text"), spec) == 0) {
            return s;
        }
    }
    fail_msg("no SKU %s", spec);
    return NULL;
}

static size_t
count_role(const json_t *offer, const char *role)
{
    size_t i, n = 0;
    json_t *img;

    json_array_foreach(json_object_get(offer, "images"), i, img)
    {
        if (strcmp(js(img, "role"), role) == 0) {
            n++;
        }
    }
    return n;
}

static void
page_sku_priced_sample(void **state)
{
    size_t len;
    char *body = fixture("detail-page-init-data-sku-priced.json", &len);
    json_t *o = NULL, *sup, *s, *props, *tiers, *img0;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_1688_offer_parse(body, len, 597090034012LL, &o, &err),
                     SYNCQ_OK);
    assert_int_equal(ji(o, "offer_id"), 597090034012LL);
    assert_string_equal(js(o, "source"), "page");
    assert_int_equal(ji(o, "category_id"), 1042655);
    assert_int_equal(ji(o, "top_category_id"), 97);
    assert_string_equal(js(o, "subject"),
                        "梵贞男士洗面奶补水护肤品套装面霜洁面乳素颜霜男士"
                        "护肤套盒批发");
    assert_null_key(o, "subject_tr");
    assert_string_equal(js(o, "unit"), "套");
    assert_string_equal(js(o, "status"), "published");
    assert_int_equal(ji(o, "quote_type"), 1);
    assert_int_equal(ji(o, "moq"), 3);
    assert_int_equal(ji(o, "price_min_fen"), 288);
    assert_int_equal(ji(o, "price_max_fen"), 2565);
    assert_string_equal(js(o, "currency"), "CNY");
    assert_int_equal(ji(o, "amount_on_sale"), 18982);
    assert_int_equal(ji(o, "sold_count"), 35960);
    assert_string_equal(js(o, "sold_text"), "3.5万+");
    assert_true(json_real_value(json_object_get(o, "unit_weight_kg")) == 0.933);
    assert_string_equal(js(o, "detail_url"),
                        "https://itemcdn.tmall.com/1688offer/"
                        "icoss4165340769b90795afecc86a4b");
    assert_string_equal(js(o, "raw_sha256"),
                        "2426e2cde46166d00bef76219b19bf8f55ef6e66c49c5ce126cf"
                        "5f04e31425c7");
    sup = json_object_get(o, "supplier");
    assert_int_equal(ji(sup, "seller_user_id"), 2926666289LL);
    assert_string_equal(js(sup, "member_id"), "b2b-SELLERMEMBERIDPLACEHOLDER");
    assert_string_equal(js(sup, "login_id"), "SELLER_LOGIN_ID_PLACEHOLDER_A");
    assert_null_key(sup, "open_id");
    assert_string_equal(js(sup, "company_name"), "广州欧博化妆品有限公司");
    assert_string_equal(js(sup, "shop_url"),
                        "https://shop1467652076311.1688.com");
    assert_string_equal(js(sup, "province"), "广东");
    assert_string_equal(js(sup, "city"), "肇庆");
    assert_true(json_is_true(json_object_get(sup, "is_tp")));
    /* 23 attribute entries, multi-valued ones split: 35 rows */
    assert_int_equal(json_array_size(json_object_get(o, "attributes")), 35);
    s = json_array_get(json_object_get(o, "attributes"), 0);
    assert_int_equal(ji(s, "attr_id"), 2176);
    assert_string_equal(js(s, "name"), "品牌");
    assert_string_equal(js(s, "value"), "梵贞");
    props = json_object_get(o, "sku_props");
    assert_int_equal(json_array_size(props), 1);
    assert_int_equal(ji(json_array_get(props, 0), "fid"), 361);
    assert_string_equal(js(json_array_get(props, 0), "name"), "产品规格");
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(props, 0), "values")),
        10);
    s = json_array_get(json_object_get(json_array_get(props, 0), "values"), 0);
    assert_string_equal(js(s, "value"), "男士劲肤酷爽五件套/盒装（新）");
    assert_string_equal(js(s, "image_url"),
                        "https://cbu01.alicdn.com/img/ibank/"
                        "O1CN01TT684A1wKPo4vUtmD_!!2926666289-0-cib.jpg");
    assert_int_equal(json_array_size(json_object_get(o, "skus")), 10);
    s = sku_by_spec(o, "洁面乳（新包装）80g");
    assert_int_equal(ji(s, "sku_id"), 5377588775819LL);
    assert_string_equal(js(s, "spec_id"), "e23670eb9d48b5c1ec183ebf5d120839");
    assert_int_equal(ji(s, "price_fen"), 288);
    assert_int_equal(ji(s, "promo_price_fen"), 230);
    assert_null_key(s, "retail_price_fen");
    assert_int_equal(ji(s, "stock"), 426);
    assert_true(json_real_value(json_object_get(s, "weight_kg")) == 0.113);
    /* the one SKU the logistics block gives no weight for */
    s = sku_by_spec(o, "男士护肤五件套（新包装）");
    assert_int_equal(ji(s, "sku_id"), 5194598109456LL);
    assert_int_equal(ji(s, "price_fen"), 2565);
    assert_int_equal(ji(s, "promo_price_fen"), 2052);
    assert_null_key(s, "weight_kg");
    /* SKU-priced: one tier from the MOQ at the lowest SKU price */
    tiers = json_object_get(o, "price_ranges");
    assert_int_equal(json_array_size(tiers), 1);
    assert_int_equal(ji(json_array_get(tiers, 0), "start_qty"), 3);
    assert_int_equal(ji(json_array_get(tiers, 0), "price_fen"), 288);
    assert_int_equal(count_role(o, "main"), 15);
    assert_int_equal(count_role(o, "sku"), 10);
    img0 = json_array_get(json_object_get(o, "images"), 0);
    assert_string_equal(js(img0, "url"),
                        "https://cbu01.alicdn.com/img/ibank/"
                        "O1CN01az7MZu1wKPcYfQCSE_!!2926666289-0-cib.jpg");
    assert_int_equal(ji(img0, "ord"), 0);
    json_decref(o);
    free(body);
}

static void
page_range_priced_sample(void **state)
{
    size_t len;
    char *body = fixture("detail-page-init-data-range-priced.json", &len);
    json_t *o = NULL, *sup, *tiers;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_1688_offer_parse(body, len, 0, &o, &err), SYNCQ_OK);
    assert_int_equal(ji(o, "offer_id"), 833454967766LL);
    assert_int_equal(ji(o, "category_id"), 124262013);
    assert_int_equal(ji(o, "top_category_id"), 15);
    assert_string_equal(js(o, "subject"),
                        "中性2024 BEST GIFT TYPE -C MINI WIRELESS CIGARETTE "
                        "LIGHTER");
    assert_string_equal(js(o, "unit"), "个");
    assert_int_equal(ji(o, "quote_type"), 0);
    assert_int_equal(ji(o, "moq"), 100);
    assert_int_equal(ji(o, "price_min_fen"), 880);
    assert_int_equal(ji(o, "price_max_fen"), 880);
    assert_int_equal(ji(o, "amount_on_sale"), 99000);
    assert_int_equal(ji(o, "sold_count"), 1000);
    assert_null_key(o, "unit_weight_kg"); /* the page says 0: unknown */
    assert_string_equal(js(o, "video_url"),
                        "https://cloud.video.taobao.com/play/u/2217554030363/"
                        "p/2/e/6/t/1/477316431306.mp4");
    assert_int_equal(json_array_size(json_object_get(o, "skus")), 0);
    assert_int_equal(json_array_size(json_object_get(o, "sku_props")), 0);
    tiers = json_object_get(o, "price_ranges");
    assert_int_equal(json_array_size(tiers), 1);
    assert_int_equal(ji(json_array_get(tiers, 0), "start_qty"), 100);
    assert_int_equal(ji(json_array_get(tiers, 0), "price_fen"), 880);
    /* 5 gallery entries, the first repeated at the end: 4 images */
    assert_int_equal(count_role(o, "main"), 4);
    /* multi-valued 主要下游平台 gives three rows */
    assert_int_equal(json_array_size(json_object_get(o, "attributes")), 21);
    sup = json_object_get(o, "supplier");
    assert_int_equal(ji(sup, "seller_user_id"), 2217554030363LL);
    assert_string_equal(js(sup, "company_name"), "东莞市兴瑞达光电有限公司");
    assert_string_equal(js(sup, "province"), "广东");
    assert_string_equal(js(sup, "city"), "东莞");
    assert_string_equal(js(o, "raw_sha256"),
                        "e4e000719f9d04fbe16624f67b84dd9366c2b203be44f6aebd93"
                        "17a3d7666e12");
    json_decref(o);
    free(body);
}

static void
page_html_wrapper_gives_same_offer(void **state)
{
    size_t len;
    char *json = fixture("detail-page-init-data-range-priced.json", &len);
    char *html = sq_asprintf("<!DOCTYPE html><html><head><title>x</title>"
                             "<script>var a = \"{\";</script>\n<script>\n"
                             "window.__INIT_DATA = %s;\nwindow.x = 1;"
                             "</script></head><body></body></html>",
                             json);
    json_t *a = NULL, *b = NULL;
    syncq_error err;

    (void)state;
    assert_non_null(html);
    assert_int_equal(sq_1688_offer_parse(json, len, 0, &a, &err), SYNCQ_OK);
    assert_int_equal(
        sq_1688_offer_parse(html, strlen(html), 833454967766LL, &b, &err),
        SYNCQ_OK);
    /* same record except the hash of the raw bytes */
    json_object_del(a, "raw_sha256");
    json_object_del(b, "raw_sha256");
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    sq_free(html);
    free(json);
}

static void
classic_product_info_sample(void **state)
{
    size_t len;
    char *body = fixture("api-product-info-classic.json", &len);
    json_t *o = NULL, *s, *props, *tiers;
    syncq_error err;

    (void)state;
    /* an alibaba.product.add body has no productID of its own */
    assert_int_equal(sq_1688_offer_parse(body, len, 0, &o, &err), SYNCQ_EPROTO);
    assert_null(o);
    assert_non_null(strstr(err.msg, "no offer id"));
    assert_int_equal(sq_1688_offer_parse(body, len, 620201390233LL, &o, &err),
                     SYNCQ_OK);
    assert_int_equal(ji(o, "offer_id"), 620201390233LL);
    assert_string_equal(js(o, "source"), "api");
    assert_int_equal(ji(o, "category_id"), 122196005);
    assert_string_equal(js(o, "unit"), "件");
    assert_int_equal(ji(o, "quote_type"), 2);
    assert_int_equal(ji(o, "moq"), 1);
    assert_int_equal(ji(o, "amount_on_sale"), 2663);
    assert_int_equal(ji(o, "price_min_fen"), 3700);
    assert_int_equal(ji(o, "price_max_fen"), 3900);
    assert_true(json_real_value(json_object_get(o, "unit_weight_kg")) == 0.2);
    tiers = json_object_get(o, "price_ranges");
    assert_int_equal(json_array_size(tiers), 3);
    assert_int_equal(ji(json_array_get(tiers, 1), "start_qty"), 10);
    assert_int_equal(ji(json_array_get(tiers, 1), "price_fen"), 3800);
    assert_int_equal(json_array_size(json_object_get(o, "attributes")), 19);
    props = json_object_get(o, "sku_props");
    assert_int_equal(json_array_size(props), 2);
    assert_string_equal(js(json_array_get(props, 0), "name"), "颜色");
    assert_string_equal(js(json_array_get(props, 1), "name"), "尺码");
    s = sku_by_spec(o, "砖红色>均码（外贸加长版）");
    assert_int_equal(ji(s, "sku_id"), 3149890863276LL);
    assert_null_key(s, "price_fen"); /* quote type 2: priced by quantity */
    assert_int_equal(ji(s, "retail_price_fen"), 6400);
    assert_int_equal(ji(s, "stock"), 888);
    assert_null_key(s, "cargo_number"); /* "" is no cargo number */
    /* two identical relative paths: one absolute image */
    assert_int_equal(json_array_size(json_object_get(o, "images")), 1);
    assert_string_equal(
        js(json_array_get(json_object_get(o, "images"), 0), "url"),
        "https://cbu01.alicdn.com/img/ibank/2016/364/959/"
        "2882959463_858335242.jpg");
    json_decref(o);
    free(body);
}

/* The example of the official queryProductDetail doc page (no capture
 * exists), with realistic values. */
static const char crossborder_detail[] =
    "{\"result\":{\"success\":true,\"code\":\"200\",\"message\":\"成功\","
    "\"result\":{\"offerId\":620201390233,\"categoryId\":1031910,"
    "\"categoryName\":\"连衣裙\",\"subject\":\"夏季连衣裙\","
    "\"subjectTrans\":\"Summer dress\",\"description\":\"<p>x</p>\","
    "\"mainVideo\":\"\",\"productImage\":{\"images\":["
    "\"https://cbu01.alicdn.com/img/ibank/O1CN01aaaaaaaaaaaaaaaaaaaa_!!"
    "2201234567-0-cib.jpg\",\"//cbu01.alicdn.com/img/ibank/"
    "O1CN01bbbbbbbbbbbbbbbbbbbb_!!2201234567-0-cib.jpg_460x460q100.jpg\"],"
    "\"whiteImage\":\"https://cbu01.alicdn.com/img/ibank/"
    "O1CN01pEsVS41Bs2uny9oka_!!0-0-cib.jpg\"},"
    "\"productAttribute\":[{\"attributeId\":\"287\",\"attributeName\":\"材质\","
    "\"value\":\"棉\",\"attributeNameTrans\":\"Material\","
    "\"valueTrans\":\"Cotton\"}],"
    "\"productSkuInfos\":[{\"amountOnSale\":100,\"price\":\"5.60\","
    "\"skuId\":4123,\"specId\":\"0123456789abcdef0123456789abcdef\","
    "\"promotionPrice\":\"5.20\",\"cargoNumber\":\"A-1\",\"skuAttributes\":["
    "{\"attributeId\":3216,\"attributeName\":\"颜色\",\"value\":\"红色\","
    "\"skuImageUrl\":\"https://cbu01.alicdn.com/img/ibank/"
    "O1CN01cccccccccccccccccccc_!!2201234567-0-cib.jpg\"},"
    "{\"attributeId\":450,\"attributeName\":\"尺码\",\"value\":\"XL\"}]},"
    "{\"amountOnSale\":5,\"price\":\"6.10\",\"skuId\":4124,"
    "\"specId\":\"fedcba9876543210fedcba9876543210\",\"skuAttributes\":["
    "{\"attributeId\":3216,\"attributeName\":\"颜色\",\"value\":\"红色\"},"
    "{\"attributeId\":450,\"attributeName\":\"尺码\",\"value\":\"XXL\"}]}],"
    "\"productSaleInfo\":{\"amountOnSale\":105,\"priceRangeList\":["
    "{\"startQuantity\":100,\"price\":\"5.20\"},"
    "{\"startQuantity\":2,\"price\":\"5.60\",\"promotionPrice\":\"5.30\"}],"
    "\"quoteType\":1,\"unitInfo\":{\"unit\":\"件\",\"transUnit\":\"Piece\"}},"
    "\"productShippingInfo\":{\"weight\":0.25,\"skuShippingInfoList\":["
    "{\"skuId\":4123,\"weight\":250}]},\"sellerOpenId\":\"BBBxyz\","
    "\"minOrderQuantity\":2,\"status\":\"published\",\"soldOut\":\"300\","
    "\"companyName\":\"义乌市某服饰有限公司\",\"topCategoryId\":10166,"
    "\"sellerDataInfo\":{\"compositeServiceScore\":\"4.5\","
    "\"repeatPurchasePercent\":\"0.35\"}}}}";

static void
crossborder_detail_documented_shape(void **state)
{
    json_t *o = NULL, *s, *sup, *tiers, *props;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_1688_offer_parse(crossborder_detail,
                                         strlen(crossborder_detail),
                                         620201390233LL, &o, &err),
                     SYNCQ_OK);
    assert_string_equal(js(o, "source"), "api");
    assert_int_equal(ji(o, "category_id"), 1031910);
    assert_int_equal(ji(o, "top_category_id"), 10166);
    assert_string_equal(js(o, "subject_tr"), "Summer dress");
    assert_string_equal(js(o, "unit"), "件");
    assert_int_equal(ji(o, "quote_type"), 1);
    assert_int_equal(ji(o, "moq"), 2);
    assert_int_equal(ji(o, "sold_count"), 300);
    assert_int_equal(ji(o, "amount_on_sale"), 105);
    assert_null_key(o, "detail_url"); /* HTML, not a URL */
    assert_int_equal(ji(o, "price_min_fen"), 520);
    assert_int_equal(ji(o, "price_max_fen"), 610);
    tiers = json_object_get(o, "price_ranges");
    assert_int_equal(json_array_size(tiers), 2);
    assert_int_equal(ji(json_array_get(tiers, 0), "start_qty"), 2); /* sorted */
    assert_int_equal(ji(json_array_get(tiers, 0), "promo_price_fen"), 530);
    sup = json_object_get(o, "supplier");
    assert_string_equal(js(sup, "open_id"), "BBBxyz");
    /* read from the image paths */
    assert_int_equal(ji(sup, "seller_user_id"), 2201234567LL);
    assert_true(json_real_value(json_object_get(sup, "score_composite")) ==
                4.5);
    assert_true(json_real_value(json_object_get(sup, "repurchase_rate")) ==
                0.35);
    props = json_object_get(o, "sku_props");
    assert_int_equal(json_array_size(props), 2);
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(props, 1), "values")),
        2);
    s = sku_by_spec(o, "红色>XL");
    assert_int_equal(ji(s, "price_fen"), 560);
    assert_int_equal(ji(s, "promo_price_fen"), 520);
    assert_string_equal(js(s, "cargo_number"), "A-1");
    assert_true(json_real_value(json_object_get(s, "weight_kg")) == 0.25);
    s = sku_by_spec(o, "红色>XXL");
    assert_int_equal(ji(s, "stock"), 5);
    assert_int_equal(count_role(o, "main"), 2);
    assert_int_equal(count_role(o, "white"), 1);
    assert_int_equal(count_role(o, "sku"), 1);
    /* the scheme-less, resized gallery entry became the original */
    assert_string_equal(
        js(json_array_get(json_object_get(o, "images"), 1), "url"),
        "https://cbu01.alicdn.com/img/ibank/"
        "O1CN01bbbbbbbbbbbbbbbbbbbb_!!2201234567-0-cib.jpg");
    json_decref(o);
}

static void
listing_tmapi_sample(void **state)
{
    size_t len;
    char *body = fixture("search-keyword-tmapi.json", &len);
    json_t *o = NULL, *offers, *x;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_1688_listing_parse(body, len, 10165, &o, &err),
                     SYNCQ_OK);
    assert_int_equal(ji(o, "category_id"), 10165);
    assert_int_equal(ji(o, "page"), 1);
    assert_int_equal(ji(o, "page_size"), 20);
    assert_int_equal(ji(o, "total"), 2000);
    assert_int_equal(ji(o, "total_pages"), 100);
    offers = json_object_get(o, "offers");
    assert_int_equal(json_array_size(offers), 3);
    x = json_array_get(offers, 0);
    assert_int_equal(ji(x, "offer_id"), 973927556856LL);
    assert_int_equal(ji(x, "price_fen"), 5600);
    assert_int_equal(ji(x, "sold_count"), 300);
    assert_int_equal(ji(x, "seller_user_id"), 2209657723055LL);
    x = json_array_get(offers, 1);
    assert_int_equal(ji(x, "price_fen"), 890);
    assert_string_equal(js(x, "subject"),
                        "夏季短袖T恤男士新款纯色圆领半袖上衣青年休闲百搭"
                        "打底潮牌体恤");
    x = json_array_get(offers, 2);
    assert_int_equal(ji(x, "offer_id"), 807891725157LL);
    assert_int_equal(ji(x, "price_fen"), 600);
    assert_int_equal(ji(x, "sold_count"), 41000);
    json_decref(o);
    free(body);
}

static void
listing_keyword_query_documented_shape(void **state)
{
    static const char body[] =
        "{\"result\":{\"success\":true,\"code\":\"200\",\"message\":\"\","
        "\"result\":{\"totalRecords\":123,\"totalPage\":3,\"pageSize\":50,"
        "\"currentPage\":2,\"data\":[{\"imageUrl\":\"https://cbu01.alicdn."
        "com/img/ibank/O1CN01x_!!2201111111-0-cib.jpg\",\"subject\":\"饼干\","
        "\"subjectTrans\":\"Biscuits\",\"offerId\":620201390233,"
        "\"priceInfo\":{\"price\":\"10\",\"consignPrice\":\"12\"},"
        "\"monthSold\":1213},{\"subject\":\"ad without id\"}]}}}";
    json_t *o = NULL, *x;
    syncq_error err;

    (void)state;
    assert_int_equal(
        sq_1688_listing_parse(body, strlen(body), 1031910, &o, &err), SYNCQ_OK);
    assert_int_equal(ji(o, "page"), 2);
    assert_int_equal(ji(o, "page_size"), 50);
    assert_int_equal(ji(o, "total"), 123);
    assert_int_equal(ji(o, "total_pages"), 3);
    assert_int_equal(json_array_size(json_object_get(o, "offers")), 1);
    x = json_array_get(json_object_get(o, "offers"), 0);
    assert_int_equal(ji(x, "offer_id"), 620201390233LL);
    assert_int_equal(ji(x, "price_fen"), 1000);
    assert_int_equal(ji(x, "sold_count"), 1213);
    assert_int_equal(ji(x, "seller_user_id"), 2201111111LL);
    json_decref(o);
}

static void
category_crossborder_sample(void **state)
{
    size_t len;
    char *body =
        fixture("category-children-crossborder-translation.json", &len);
    json_t *o = NULL, *c;
    syncq_error err;
    size_t i;
    bool found = false;

    (void)state;
    assert_int_equal(sq_1688_category_parse(body, len, &o, &err), SYNCQ_OK);
    assert_int_equal(ji(o, "category_id"), 0);
    assert_string_equal(js(o, "lang"), "ko");
    assert_true(json_is_false(json_object_get(o, "is_leaf"))); /* "false" */
    assert_int_equal(ji(o, "level"), 0);                       /* "0" */
    assert_null_key(o, "parent_id");
    assert_int_equal(json_array_size(json_object_get(o, "children")), 27);
    json_array_foreach(json_object_get(o, "children"), i, c)
    {
        if (ji(c, "category_id") == 10166) {
            found = true;
            assert_string_equal(js(c, "name_zh"), "女装");
            assert_string_equal(js(c, "name_tr"), "여성 의류");
            assert_true(json_is_false(json_object_get(c, "is_leaf")));
            assert_int_equal(ji(c, "level"), 1);
        }
    }
    assert_true(found);
    json_decref(o);
    free(body);
}

static void
supplier_tmapi_sample(void **state)
{
    size_t len;
    char *body = fixture("shop-info-tmapi.json", &len);
    json_t *o = NULL;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_1688_supplier_parse(body, len, &o, &err), SYNCQ_OK);
    assert_int_equal(ji(o, "seller_user_id"), 2911575494LL);
    assert_string_equal(js(o, "member_id"), "b2b-SELLERMEMBERIDPLACEHOLDER");
    assert_string_equal(js(o, "company_name"), "深圳市XXXX有限公司");
    assert_string_equal(js(o, "shop_url"),
                        "https://shop1467738698115.1688.com");
    assert_string_equal(js(o, "province"), "广东");
    assert_string_equal(js(o, "city"), "深圳");
    assert_true(json_is_true(json_object_get(o, "is_tp")));
    assert_int_equal(ji(o, "tp_years"), 9);
    assert_true(json_is_false(json_object_get(o, "is_factory")));
    assert_true(json_is_false(json_object_get(o, "is_super_factory")));
    assert_true(json_real_value(json_object_get(o, "score_composite")) == 5.0);
    assert_true(json_real_value(json_object_get(o, "score_goods")) == 5.0);
    assert_true(json_real_value(json_object_get(o, "score_logistics")) == 3.5);
    assert_true(json_real_value(json_object_get(o, "score_return")) == 4.7);
    assert_true(json_real_value(json_object_get(o, "score_dispute")) == 5.0);
    assert_true(json_real_value(json_object_get(o, "score_consult")) == 5.0);
    assert_null_key(o, "repurchase_rate");
    assert_string_equal(js(o, "raw_sha256"),
                        "7f42087f18f14fb365317d37211ea1386204fddd5fa1d5350f9f"
                        "fa7a19e02701");
    json_decref(o);
    free(body);
}

static void
bad_input_is_a_clear_error(void **state)
{
    static const struct {
        const char *body;
        const char *msg;
    } cases[] = {
        {"{\"globalData\":", "not JSON"},
        {"[1,2]", "not an object"},
        {"{\"foo\":1,\"bar\":2}", "unknown offer shape"},
        {"<html><body>hello</body></html>", "without window.__INIT_DATA"},
        {"<html><script>window.__INIT_DATA = {\"globalData\":{", "cut off"},
        {"<html><script>window.__INIT_DATA = 5;</script>", "not assigned"},
        {"<html><script>window.context = (function(b,d){})(window."
         "contextPath, {a:1});</script>",
         "not supported"},
        {"{\"error_code\":\"gw.QosAppFrequencyLimit\",\"error_message\":"
         "\"App call exceeds limited frequency\"}",
         "gateway error gw.QosAppFrequencyLimit"},
        {"{\"result\":{\"success\":false,\"code\":\"X1\",\"message\":\"m\"}}",
         "success=false (code X1"},
        {"{\"globalData\":{\"tempModel\":{\"offerId\":1},\"offerBaseInfo\":"
         "{\"offerId\":2}}}",
         "two offers"},
        {"{\"globalData\":{\"tempModel\":{\"offerId\":-5}}}", "not positive"},
        {"{\"globalData\":{\"tempModel\":{}}}", "no offer id"},
    };
    syncq_error err;
    json_t *o = (json_t *)1;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sq_1688_offer_parse(
                             cases[i].body, strlen(cases[i].body), 0, &o, &err),
                         SYNCQ_EPROTO);
        assert_null(o);
        if (strstr(err.msg, cases[i].msg) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
        }
    }
    assert_int_equal(
        sq_1688_offer_parse("{}", SQ_1688_MAX_BODY + 1u, 0, &o, &err),
        SYNCQ_ETOOBIG);
    assert_int_equal(sq_1688_listing_parse("{\"x\":1}", 7, 0, &o, &err),
                     SYNCQ_EPROTO);
    assert_non_null(strstr(err.msg, "unknown listing shape"));
    assert_int_equal(sq_1688_listing_parse("nope", 4, 0, &o, &err),
                     SYNCQ_EPROTO);
    assert_int_equal(
        sq_1688_category_parse("{\"result\":{\"result\":{}}}", 24, &o, &err),
        SYNCQ_EPROTO);
    assert_non_null(strstr(err.msg, "categoryId"));
    {
        static const char expired[] = "{\"code\":439,\"msg\":\"expired\"}";
        assert_int_equal(
            sq_1688_supplier_parse(expired, strlen(expired), &o, &err),
            SYNCQ_EPROTO);
    }
    assert_non_null(strstr(err.msg, "439"));
    assert_int_equal(sq_1688_supplier_parse("{\"data\":{}}", 11, &o, &err),
                     SYNCQ_EPROTO);
}

static void
bounded_lists_are_refused(void **state)
{
    /* 600 distinct images: over SQ_1688_MAX_IMAGES */
    size_t cap = 64 * 1024;
    char *body = sq_malloc(cap);
    size_t n = 0;
    json_t *o = NULL;
    syncq_error err;

    (void)state;
    assert_non_null(body);
    n += (size_t)snprintf(body + n, cap - n,
                          "{\"globalData\":{\"tempModel\":{\"offerId\":7},"
                          "\"images\":[");
    for (int i = 0; i < 600; i++) {
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"imageURI\":\"img/ibank/%d.jpg\"}",
                              i ? "," : "", i);
    }
    n += (size_t)snprintf(body + n, cap - n, "]}}");
    assert_int_equal(sq_1688_offer_parse(body, n, 7, &o, &err), SYNCQ_EPROTO);
    assert_non_null(strstr(err.msg, "images"));
    assert_null(o);
    sq_free(body);
}

/* Fail the Nth allocation for N = 1, 2, ... until the parse succeeds:
 * every round must end cleanly (no crash; ASan checks for leaks) with
 * SYNCQ_ENOMEM, or succeed with a complete record. */
static void
allocation_failures_are_clean(void **state)
{
    static const char *const files[] = {
        "detail-page-init-data-range-priced.json",
        "api-product-info-classic.json",
        "search-keyword-tmapi.json",
        "category-children-crossborder-translation.json",
        "shop-info-tmapi.json",
    };

    (void)state;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        char *body = fixture(files[f], &len);
        for (long nth = 1; nth < 200000; nth++) {
            json_t *o = NULL;
            syncq_error err;
            int rc;
            sq_alloc_fail_at(nth);
            switch (f) {
            case 0:
            case 1:
                rc = sq_1688_offer_parse(body, len, 620201390233LL * (f == 1),
                                         &o, &err);
                break;
            case 2:
                rc = sq_1688_listing_parse(body, len, 1, &o, &err);
                break;
            case 3:
                rc = sq_1688_category_parse(body, len, &o, &err);
                break;
            default:
                rc = sq_1688_supplier_parse(body, len, &o, &err);
                break;
            }
            sq_alloc_fail_at(0);
            if (rc == SYNCQ_OK) {
                assert_non_null(o);
                json_decref(o);
                break;
            }
            assert_null(o);
            if (rc != SYNCQ_ENOMEM) {
                fail_msg("%s: allocation %ld failed: rc %d (%s)", files[f], nth,
                         rc, err.msg);
            }
        }
        free(body);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(page_sku_priced_sample),
        cmocka_unit_test(page_range_priced_sample),
        cmocka_unit_test(page_html_wrapper_gives_same_offer),
        cmocka_unit_test(classic_product_info_sample),
        cmocka_unit_test(crossborder_detail_documented_shape),
        cmocka_unit_test(listing_tmapi_sample),
        cmocka_unit_test(listing_keyword_query_documented_shape),
        cmocka_unit_test(category_crossborder_sample),
        cmocka_unit_test(supplier_tmapi_sample),
        cmocka_unit_test(bad_input_is_a_clear_error),
        cmocka_unit_test(bounded_lists_are_refused),
        cmocka_unit_test(allocation_failures_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
