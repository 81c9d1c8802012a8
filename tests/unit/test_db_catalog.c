/* SPDX-License-Identifier: MIT
 *
 * test_db_catalog.c: the pure parts of the catalog layer: image URL keys,
 * canonical offer/supplier records (type coercion, bad input named by
 * member), content hashes, duplicate fingerprints, and allocation
 * failures at every step of canonicalisation (each round ENOMEM or OK,
 * never a crash or a leak under ASan).
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "data_sync/ds_catalog.h"
#include "db/ds_util.h"

#include <string.h>

static void
url_key_is(const char *in, const char *want)
{
    char out[2048];
    syncq_error err;

    if (sq_ds_image_url_key(in, out, sizeof out, &err) != SYNCQ_OK) {
        fail_msg("%s: %s", in, err.msg);
    }
    if (strcmp(out, want) != 0) {
        fail_msg("%s -> %s, want %s", in, out, want);
    }
}

static void
url_keys_normalise_1688_forms(void **state)
{
    char out[64];
    syncq_error err;

    (void)state;
    url_key_is("https://cbu01.alicdn.com/img/ibank/O1CN01ab_!!22-0-cib.jpg",
               "https://cbu01.alicdn.com/img/ibank/O1CN01ab_!!22-0-cib.jpg");
    url_key_is("//cbu01.alicdn.com/img/ibank/x.220x220.jpg",
               "https://cbu01.alicdn.com/img/ibank/x.jpg");
    url_key_is("img/ibank/2016/364/959/2882959463_858335242.jpg",
               "https://cbu01.alicdn.com/img/ibank/2016/364/959/"
               "2882959463_858335242.jpg");
    url_key_is("/img/ibank/a.jpg", "https://cbu01.alicdn.com/img/ibank/a.jpg");
    url_key_is("http://CBU03.alicdn.com/img/ibank/a.jpg_460x460q100.jpg",
               "https://cbu01.alicdn.com/img/ibank/a.jpg");
    url_key_is("https://cbu01.alicdn.com/img/ibank/a.jpg_220x220.jpg",
               "https://cbu01.alicdn.com/img/ibank/a.jpg");
    url_key_is("https://cbu01.alicdn.com/img/ibank/a.jpg_.webp",
               "https://cbu01.alicdn.com/img/ibank/a.jpg");
    url_key_is("https://cbu01.alicdn.com/img/ibank/a.search.jpg",
               "https://cbu01.alicdn.com/img/ibank/a.jpg");
    url_key_is("https://cbu01.alicdn.com/img/ibank/a.summ.jpg#frag",
               "https://cbu01.alicdn.com/img/ibank/a.jpg");
    url_key_is("  https://img.alicdn.com/imgextra/i1/x.310x310.png  ",
               "https://img.alicdn.com/imgextra/i1/x.png");
    /* Not alicdn: scheme kept, query kept, only the host lowercased. */
    url_key_is("http://127.0.0.1:8080/Img/A.jpg?v=1",
               "http://127.0.0.1:8080/Img/A.jpg?v=1");
    /* A name that only looks like a size stays. */
    url_key_is("https://x.test/pic_220x220.jpg",
               "https://x.test/pic_220x220.jpg");
    assert_int_equal(
        sq_ds_image_url_key("ftp://x/a.jpg", out, sizeof out, &err),
        SYNCQ_EINVAL);
    assert_int_equal(sq_ds_image_url_key("   ", out, sizeof out, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_ds_image_url_key("https://", out, sizeof out, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_ds_image_url_key(NULL, out, sizeof out, &err),
                     SYNCQ_EINVAL);
    /* Too long for the buffer: an error, not a truncated key. */
    assert_int_equal(sq_ds_image_url_key("https://cbu01.alicdn.com/img/"
                                         "ibank/aaaaaaaaaaaaaaaaaaaaaaaa.jpg",
                                         out, 40, &err),
                     SYNCQ_EINVAL);
}

static json_t *
canon(const char *text, int *skipped, syncq_error *err, int *rc)
{
    json_t *in = json_loads(text, 0, NULL);
    json_t *out = NULL;

    assert_non_null(in);
    *rc = sq_ds_offer_canonical(in, &out, skipped, err);
    json_decref(in);
    return out;
}

static void
canonical_coerces_1688_types(void **state)
{
    syncq_error err;
    int skipped = 0;
    int rc;
    json_t *c = canon(
        "{\"offer_id\": \"597090034012\", \"moq\": \" 2 \", "
        "\"price_min_fen\": 230.0, \"unit_weight_kg\": \"0.25\", "
        "\"subject\": \"女装\", \"subject_tr\": null, \"status\": \"\", "
        "\"quote_type\": \"\", \"unknown_member\": 1, "
        "\"supplier\": {\"seller_user_id\": \"2201234567\", "
        "\"is_tp\": \"true\", \"tp_years\": 5}, "
        "\"skus\": [{\"sku_id\": 4123, \"spec_id\": 12345, "
        "\"stock\": \"100\"}], "
        "\"sku_props\": [{\"fid\": 3216, \"name\": \"颜色\", "
        "\"values\": [\"红色\", {\"value\": \"蓝色\", \"image_url\": \"u\"}]}],"
        "\"images\": [\"https://cbu01.alicdn.com/b.jpg\", "
        "{\"url\": \"https://cbu01.alicdn.com/a.jpg\", \"role\": \"main\", "
        "\"ord\": 0}, {\"url\": \"not a url\"}, "
        "{\"url\": \"https://cbu01.alicdn.com/d.jpg\", \"role\": \"desc\"}]}",
        &skipped, &err, &rc);

    (void)state;
    assert_int_equal(rc, SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(c, "offer_id")),
                     597090034012LL);
    assert_int_equal(json_integer_value(json_object_get(c, "moq")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "price_min_fen")),
                     230);
    assert_true(json_real_value(json_object_get(c, "unit_weight_kg")) == 0.25);
    assert_null(json_object_get(c, "subject_tr"));
    assert_null(json_object_get(c, "unknown_member"));
    assert_null(json_object_get(c, "quote_type"));
    assert_null(json_object_get(c, "status")); /* "" means unknown */
    assert_true(
        json_is_true(json_object_get(json_object_get(c, "supplier"), "is_tp")));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(c, "skus"), 0), "spec_id")),
        "12345");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(
                json_object_get(
                    json_array_get(json_object_get(c, "sku_props"), 0),
                    "values"),
                0),
            "value")),
        "红色");
    /* Images: the bad URL dropped; the first string image got ord 0 of
     * "main" and collides with the explicit main/0: dropped too. Sorted
     * by role: desc before main. */
    assert_int_equal(skipped, 2);
    assert_int_equal(json_array_size(json_object_get(c, "images")), 2);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(c, "images"), 0), "role")),
        "desc");
    /* The lists are always there. */
    assert_int_equal(json_array_size(json_object_get(c, "attributes")), 0);
    assert_int_equal(json_array_size(json_object_get(c, "price_ranges")), 0);
    json_decref(c);
}

/* Found by fuzz_csv: a repeated role+ord before other images was freed
 * and then compared again (use after free). */
static void
canonical_drops_repeated_image_slots(void **state)
{
    syncq_error err;
    int skipped = 0;
    int rc;
    json_t *c =
        canon("{\"offer_id\": 4, \"images\": ["
              "{\"url\": \"https://cbu01.alicdn.com/0.jpg\", \"ord\": 0},"
              "{\"url\": \"https://cbu01.alicdn.com/1.jpg\", \"ord\": 1},"
              "{\"url\": \"https://cbu01.alicdn.com/2.jpg\", \"ord\": 0},"
              "{\"url\": \"https://cbu01.alicdn.com/3.jpg\", \"ord\": 0,"
              " \"role\": \"sku\"}]}",
              &skipped, &err, &rc);

    (void)state;
    assert_int_equal(rc, SYNCQ_OK);
    assert_int_equal(skipped, 1);
    assert_int_equal(json_array_size(json_object_get(c, "images")), 3);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(c, "images"), 0), "url")),
        "https://cbu01.alicdn.com/0.jpg");
    json_decref(c);
}

static void
canonical_rejects_bad_records(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"[1]", "not a JSON object"},
        {"{}", "offer_id"},
        {"{\"offer_id\": -5}", "offer_id"},
        {"{\"offer_id\": \"12abc\"}", "offer_id"},
        {"{\"offer_id\": 1, \"moq\": \"two\"}", "offer.moq"},
        {"{\"offer_id\": 1, \"moq\": true}", "offer.moq"},
        {"{\"offer_id\": 1, \"subject\": [1]}", "offer.subject"},
        {"{\"offer_id\": 1, \"skus\": {}}", "offer.skus"},
        {"{\"offer_id\": 1, \"skus\": [1]}", "offer.skus[0]"},
        {"{\"offer_id\": 1, \"skus\": [{\"stock\": \"x\"}]}",
         "offer.skus[0].stock"},
        {"{\"offer_id\": 1, \"price_ranges\": [{\"price_fen\": 1.5}]}",
         "price_ranges[0].price_fen"},
        {"{\"offer_id\": 1, \"supplier\": 5}", "offer.supplier"},
        {"{\"offer_id\": 1, \"supplier\": {\"seller_user_id\": \"x\"}}",
         "supplier.seller_user_id"},
        {"{\"offer_id\": 1, \"unit_weight_kg\": \"heavy\"}", "unit_weight_kg"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        syncq_error err;
        int rc;
        json_t *c = canon(bad[i].json, NULL, &err, &rc);
        if (rc != SYNCQ_EINVAL || c != NULL ||
            strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("%s: rc %d msg '%s', want EINVAL naming '%s'", bad[i].json,
                     rc, err.msg, bad[i].msg);
        }
    }
}

static void
canonical_supplier_needs_an_identifier(void **state)
{
    syncq_error err;
    int rc;
    json_t *c;

    (void)state;
    /* Inside an offer: dropped, the offer itself is fine. */
    c = canon("{\"offer_id\": 7, \"supplier\": {\"company_name\": \"x\"}}",
              NULL, &err, &rc);
    assert_int_equal(rc, SYNCQ_OK);
    assert_null(json_object_get(c, "supplier"));
    json_decref(c);
    {
        json_t *in = json_pack("{s:s}", "company_name", "x");
        json_t *out = NULL;
        assert_int_equal(sq_ds_supplier_canonical(in, &out, &err),
                         SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "no identifier"));
        assert_null(out);
        json_decref(in);
    }
}

static void
content_hash_ignores_fetch_metadata(void **state)
{
    json_t *a = json_loads("{\"offer_id\": 1, \"b\": [1, 2], \"a\": \"x\", "
                           "\"fetched_at\": \"2026-01-01\", "
                           "\"raw_sha256\": \"aa\"}",
                           0, NULL);
    json_t *b = json_loads("{\"a\": \"x\", \"offer_id\": 1, \"b\": [1, 2], "
                           "\"fetched_at\": \"2026-02-02\"}",
                           0, NULL);
    json_t *c =
        json_loads("{\"a\": \"x\", \"offer_id\": 1, \"b\": [2, 1]}", 0, NULL);
    char ha[65];
    char hb[65];
    char hc[65];

    (void)state;
    assert_int_equal(sq_ds_content_hash(a, ha, NULL), SYNCQ_OK);
    assert_int_equal(sq_ds_content_hash(b, hb, NULL), SYNCQ_OK);
    assert_int_equal(sq_ds_content_hash(c, hc, NULL), SYNCQ_OK);
    assert_string_equal(ha, hb);
    assert_string_not_equal(ha, hc);
    assert_int_equal(strlen(ha), 64);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void
fingerprint_collapses_blanks_and_case(void **state)
{
    char a[41];
    char b[41];
    char c[41];
    char d[41];

    (void)state;
    sq_ds_fingerprint(5, true, "  Dress  连衣裙\t2024 ", 100, 200, a);
    sq_ds_fingerprint(5, true,
                      "dress 连衣裙\xe3\x80\x80"
                      "2024",
                      100, 200, b);
    sq_ds_fingerprint(6, true, "dress 连衣裙 2024", 100, 200, c);
    sq_ds_fingerprint(5, true, "dress 连衣裙 2024", 100, 201, d);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_int_equal(strlen(a), 40);
    sq_ds_fingerprint(5, false, "dress", 1, 1, a);
    assert_string_equal(a, "");
    sq_ds_fingerprint(5, true, "   ", 1, 1, a);
    assert_string_equal(a, "");
}

static void
lenient_getters(void **state)
{
    json_t *o = json_loads("{\"i\": \" 42 \", \"r\": 3.0, \"f\": 3.5, "
                           "\"b1\": \"false\", \"b2\": 1, \"b3\": \"maybe\", "
                           "\"big\": \"99999999999999999999\", "
                           "\"d\": \"1e3\"}",
                           0, NULL);
    int64_t i = 0;
    double d = 0;
    bool b = true;

    (void)state;
    assert_true(sq_ds_get_i64(o, "i", &i));
    assert_int_equal(i, 42);
    assert_true(sq_ds_get_i64(o, "r", &i));
    assert_int_equal(i, 3);
    assert_false(sq_ds_get_i64(o, "f", &i));
    assert_false(sq_ds_get_i64(o, "big", &i));
    assert_false(sq_ds_get_i64(o, "missing", &i));
    assert_true(sq_ds_get_bool(o, "b1", &b));
    assert_false(b);
    assert_true(sq_ds_get_bool(o, "b2", &b));
    assert_true(b);
    assert_false(sq_ds_get_bool(o, "b3", &b));
    assert_true(sq_ds_get_double(o, "d", &d));
    assert_true(d == 1000.0);
    json_decref(o);
}

/* The allocation-free validator agrees with jansson on tricky texts, so
 * a parse failure of valid text can only mean "out of memory". */
static void
json_validator_agrees_with_jansson(void **state)
{
    static const char *const texts[] = {
        "{}",
        "[]",
        " [1, 2.5e3, -0, true, false, null, \"x\"] ",
        "{\"a\": {\"b\": [{}]}}",
        "\"bare string\"",
        "42",
        "",
        "{\"a\": 1,}",
        "[1 2]",
        "{\"a\" 1}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[-]",
        "[\"\\u00e9\\ud83d\\ude00\"]",
        "[\"\\ud83d\"]",
        "[\"\\u0000\"]",
        "[\"tab\tin string\"]",
        "[\"\\x\"]",
        "[9223372036854775807]",
        "[9223372036854775808]",
        "[-9223372036854775808]",
        "[-9223372036854775809]",
        "[123456789012345678901234]",
        "[1e999]",
        "[1e-999]",
        "[tru]",
        "[\"\xc3\x28\"]",
        "[\"\xe4\xb8\xad\"]",
        "{\"a\": 1} x",
        "[[[[[[[[[[]]]]]]]]]]",
        "{\"a\": 1, \"a\": 2}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *j = json_loadb(texts[i], strlen(texts[i]), 0, NULL);
        bool valid = sq_ds_json_valid(texts[i], strlen(texts[i]));
        json_t *p = NULL;
        char msg[256];
        int rc = sq_ds_json_parse(texts[i], strlen(texts[i]), &p, msg,
                                  sizeof msg, NULL);
        if ((j != NULL) != valid) {
            fail_msg("'%s': jansson %s, validator %s", texts[i],
                     j ? "accepts" : "refuses", valid ? "accepts" : "refuses");
        }
        assert_int_equal(rc, valid ? SYNCQ_OK : SYNCQ_EINVAL);
        json_decref(j);
        json_decref(p);
    }
    {
        /* A NUL byte is refused (jansson would skip it). */
        static const char nul[] = "{\"a\": 1\0, \"b\": 2}";
        json_t *p = NULL;
        char msg[256];
        assert_false(sq_ds_json_valid(nul, sizeof nul - 1));
        assert_int_equal(
            sq_ds_json_parse(nul, sizeof nul - 1, &p, msg, sizeof msg, NULL),
            SYNCQ_EINVAL);
        assert_non_null(strstr(msg, "NUL"));
    }
    {
        /* Valid text that cannot be parsed for lack of memory: ENOMEM,
         * not "bad record". */
        static const char ok[] = "{\"offer_id\": 1, \"s\": [1, 2, 3]}";
        json_t *p = NULL;
        char msg[256];
        syncq_error err;
        int rc;
        sq_alloc_fail_at(1);
        rc = sq_ds_json_parse(ok, sizeof ok - 1, &p, msg, sizeof msg, &err);
        sq_alloc_fail_at(0);
        assert_int_equal(rc, SYNCQ_ENOMEM);
        assert_null(p);
    }
}

/* Fail allocation 1, 2, 3, ... of a canonicalisation until it succeeds:
 * every round returns ENOMEM (or OK once nothing fails) and leaks
 * nothing (ASan build). */
static void
canonical_survives_allocation_failures(void **state)
{
    const char *text =
        "{\"offer_id\": 9, \"subject\": \"女装\", \"supplier\": "
        "{\"seller_user_id\": 1}, \"attributes\": [{\"name\": \"a\", "
        "\"value\": \"b\"}], \"sku_props\": [{\"name\": \"c\", \"values\": "
        "[\"x\", {\"value\": \"y\"}]}], \"skus\": [{\"sku_id\": 1}], "
        "\"price_ranges\": [{\"start_qty\": 1, \"price_fen\": 5}], "
        "\"images\": [\"https://cbu01.alicdn.com/a.jpg\", "
        "{\"url\": \"https://cbu01.alicdn.com/b.jpg\", \"role\": \"sku\"}]}";
    json_t *in = json_loads(text, 0, NULL);
    int rounds = 0;

    (void)state;
    for (long n = 1; n < 10000; n++) {
        json_t *out = NULL;
        syncq_error err;
        int rc;
        sq_alloc_fail_at(n);
        rc = sq_ds_offer_canonical(in, &out, NULL, &err);
        sq_alloc_fail_at(0);
        rounds++;
        if (rc == SYNCQ_OK) {
            assert_int_equal(json_array_size(json_object_get(out, "images")),
                             2);
            json_decref(out);
            break;
        }
        assert_int_equal(rc, SYNCQ_ENOMEM);
        assert_null(out);
    }
    assert_true(rounds > 20);
    json_decref(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_keys_normalise_1688_forms),
        cmocka_unit_test(canonical_coerces_1688_types),
        cmocka_unit_test(canonical_drops_repeated_image_slots),
        cmocka_unit_test(canonical_rejects_bad_records),
        cmocka_unit_test(canonical_supplier_needs_an_identifier),
        cmocka_unit_test(content_hash_ignores_fetch_metadata),
        cmocka_unit_test(fingerprint_collapses_blanks_and_case),
        cmocka_unit_test(lenient_getters),
        cmocka_unit_test(json_validator_agrees_with_jansson),
        cmocka_unit_test(canonical_survives_allocation_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
