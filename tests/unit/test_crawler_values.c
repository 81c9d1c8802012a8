/* SPDX-License-Identifier: MIT
 *
 * test_crawler_values.c: money in fen from every form 1688 sends it,
 * loose ids and booleans, image URL normalisation (relative, scheme-less,
 * resized variants of both forms), seller ids from image paths, and
 * location texts into province and city.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "crawler/crawler_values.h"

#include <string.h>

static void
fen_from_decimal_text(void **state)
{
    static const struct {
        const char *in;
        int64_t fen;
    } ok[] = {
        {"2.30", 230},
        {"56", 5600},
        {"8.9", 890},
        {" 39.0 ", 3900},
        {"0.01", 1},
        {"10.005", 1001},
        {"10.004", 1000},
        {"¥12.5", 1250},
        {"￥7", 700},
        {".5", 50},
        {"99999999999", 9999999999900LL},
    };
    static const char *const bad[] = {
        "",      " ",   "-1",  "1,000",        "abc",
        "1.2.3", "1e5", "12a", "100000000001", NULL};
    int64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        v = -1;
        if (!sq_1688_fen_parse(ok[i].in, &v) || v != ok[i].fen) {
            fail_msg("'%s' -> %lld, want %lld", ok[i].in, (long long)v,
                     (long long)ok[i].fen);
        }
    }
    for (int i = 0; bad[i] != NULL; i++) {
        v = -7;
        if (sq_1688_fen_parse(bad[i], &v) || v != -7) {
            fail_msg("'%s' accepted", bad[i]);
        }
    }
    assert_false(sq_1688_fen_parse(NULL, &v));
}

static void
fen_from_json_values(void **state)
{
    json_t *v;
    int64_t fen;

    (void)state;
    v = json_real(39.0);
    assert_true(sq_1688_json_fen(v, &fen));
    assert_int_equal(fen, 3900);
    json_decref(v);
    v = json_real(0.29); /* 28.999... * must round, not truncate */
    assert_true(sq_1688_json_fen(v, &fen));
    assert_int_equal(fen, 29);
    json_decref(v);
    v = json_integer(64);
    assert_true(sq_1688_json_fen(v, &fen));
    assert_int_equal(fen, 6400);
    json_decref(v);
    v = json_string("5.38");
    assert_true(sq_1688_json_fen(v, &fen));
    assert_int_equal(fen, 538);
    json_decref(v);
    v = json_integer(-1);
    assert_false(sq_1688_json_fen(v, &fen));
    json_decref(v);
    v = json_true();
    assert_false(sq_1688_json_fen(v, &fen));
    assert_false(sq_1688_json_fen(NULL, &fen));
    assert_false(sq_1688_json_fen(json_null(), &fen));
}

static void
ints_bools_numbers(void **state)
{
    json_t *v;
    int64_t i;
    bool b;
    double d;

    (void)state;
    v = json_string(" 1042655 ");
    assert_true(sq_1688_json_int(v, &i));
    assert_int_equal(i, 1042655);
    json_decref(v);
    v = json_string("12a");
    assert_false(sq_1688_json_int(v, &i));
    json_decref(v);
    v = json_real(2663.0);
    assert_true(sq_1688_json_int(v, &i));
    assert_int_equal(i, 2663);
    json_decref(v);
    v = json_real(2.5);
    assert_false(sq_1688_json_int(v, &i));
    json_decref(v);
    v = json_string("false");
    assert_true(sq_1688_json_bool(v, &b));
    assert_false(b);
    json_decref(v);
    v = json_string("TRUE");
    assert_true(sq_1688_json_bool(v, &b));
    assert_true(b);
    json_decref(v);
    v = json_string("maybe");
    assert_false(sq_1688_json_bool(v, &b));
    json_decref(v);
    v = json_string("12%");
    assert_true(sq_1688_json_num(v, &d));
    assert_true(d == 12.0);
    json_decref(v);
    v = json_string("0.4666");
    assert_true(sq_1688_json_num(v, &d));
    assert_true(d == 0.4666);
    json_decref(v);
}

static void
image_urls_become_originals(void **state)
{
    static const char *const cases[][2] = {
        {"img/ibank/2016/364/959/2882959463_858335242.jpg",
         "https://cbu01.alicdn.com/img/ibank/2016/364/959/"
         "2882959463_858335242.jpg"},
        {"/img/ibank/a.png", "https://cbu01.alicdn.com/img/ibank/a.png"},
        {"//cbu01.alicdn.com/img/ibank/O1CN01x_!!1-0-cib.jpg",
         "https://cbu01.alicdn.com/img/ibank/O1CN01x_!!1-0-cib.jpg"},
        {"https://cbu01.alicdn.com/img/ibank/O1CN01az_!!2926666289-0-cib."
         "220x220.jpg",
         "https://cbu01.alicdn.com/img/ibank/O1CN01az_!!2926666289-0-cib."
         "jpg"},
        {"https://cbu01.alicdn.com/img/ibank/O1CN01az_!!2-0-cib.search.jpg",
         "https://cbu01.alicdn.com/img/ibank/O1CN01az_!!2-0-cib.jpg"},
        {"https://cbu01.alicdn.com/img/ibank/O1CN01az_!!2-0-cib.summ.jpg",
         "https://cbu01.alicdn.com/img/ibank/O1CN01az_!!2-0-cib.jpg"},
        {"https://img.alicdn.com/imgextra/i1/x.jpg_460x460q100.jpg",
         "https://img.alicdn.com/imgextra/i1/x.jpg"},
        {"https://img.alicdn.com/imgextra/i1/x.jpg_220x220.jpg_.webp",
         "https://img.alicdn.com/imgextra/i1/x.jpg"},
        {"  http://127.0.0.1:8080/img/ibank/O1CN01q_!!5-0-cib.png  ",
         "http://127.0.0.1:8080/img/ibank/O1CN01q_!!5-0-cib.png"},
        {"HTTPS://cbu01.alicdn.com/img/ibank/a.jpg",
         "https://cbu01.alicdn.com/img/ibank/a.jpg"},
        {"hTtp://127.0.0.1:1/img/ibank/b.jpg",
         "http://127.0.0.1:1/img/ibank/b.jpg"},
        /* a size-like stem that is the original itself stays */
        {"https://x.com/a/120x120.jpg", "https://x.com/a/120x120.jpg"},
        {"https://x.com/a.jpg?x-oss-process=1",
         "https://x.com/a.jpg?x-oss-process=1"},
    };
    static const char *const rejected[] = {
        "", "   ", "ftp://x/a.jpg", "javascript:alert(1)", "a.jpg", NULL};

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *u = sq_1688_image_url(cases[i][0]);
        assert_non_null(u);
        if (strcmp(u, cases[i][1]) != 0) {
            fail_msg("'%s' -> '%s', want '%s'", cases[i][0], u, cases[i][1]);
        }
        sq_free(u);
    }
    for (int i = 0; rejected[i] != NULL; i++) {
        assert_null(sq_1688_image_url(rejected[i]));
    }
    assert_null(sq_1688_image_url(NULL));
}

static void
seller_id_from_image_path(void **state)
{
    (void)state;
    assert_int_equal(sq_1688_image_seller_id(
                         "https://cbu01.alicdn.com/img/ibank/"
                         "O1CN01az7MZu1wKPcYfQCSE_!!2926666289-0-cib.jpg"),
                     2926666289LL);
    assert_int_equal(sq_1688_image_seller_id("https://x/O1CN01p_!!0-0-cib.jpg"),
                     0);
    assert_int_equal(sq_1688_image_seller_id("https://x/2882959463_8.jpg"), 0);
    assert_int_equal(sq_1688_image_seller_id("https://x/a_!!12ab.jpg"), 0);
    assert_int_equal(sq_1688_image_seller_id(NULL), 0);
}

static void
locations_split(void **state)
{
    static const char *const cases[][3] = {
        {"广东省肇庆市", "广东", "肇庆"},
        {"浙江省金华市义乌市", "浙江", "金华"},
        {"中国 广东 深圳 ADDRESS_PLACEHOLDER", "广东", "深圳"},
        {"广西壮族自治区南宁市", "广西壮族", "南宁"},
        {"上海市", "上海", "上海"},
        {"江苏", "江苏", ""},
        {"", "", ""},
    };
    char p[64], c[64];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sq_1688_location_split(cases[i][0], p, sizeof p, c, sizeof c);
        if (strcmp(p, cases[i][1]) != 0 || strcmp(c, cases[i][2]) != 0) {
            fail_msg("'%s' -> '%s','%s'", cases[i][0], p, c);
        }
    }
    /* a short output buffer cuts on a character boundary */
    sq_1688_location_split("广东省肇庆市", p, 5, c, sizeof c);
    assert_string_equal(p, "广");
    sq_1688_location_split(NULL, p, sizeof p, c, sizeof c);
    assert_string_equal(p, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fen_from_decimal_text),
        cmocka_unit_test(fen_from_json_values),
        cmocka_unit_test(ints_bools_numbers),
        cmocka_unit_test(image_urls_become_originals),
        cmocka_unit_test(seller_id_from_image_path),
        cmocka_unit_test(locations_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
