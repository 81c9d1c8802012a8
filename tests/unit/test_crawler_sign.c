/* SPDX-License-Identifier: MIT
 *
 * test_crawler_sign.c: the _aop_signature of the 1688 Open Platform
 * against known values. The expected HMACs were computed independently
 * with Python's hmac module exactly as the official SDK does
 * (aop/api/base.py: sorted(k + v), HMAC-SHA1, upper hex):
 *   secret "secret", path param2/1/x/y/100, b=2 a=1
 *     -> signs "param2/1/x/y/100a1b2" (the SDK's own test vector shape)
 *   secret "test123", queryProductDetail path, access_token,
 *     _aop_timestamp, offerDetailParam (JSON text)
 *   keys "a"=z and "ab"=c: the SDK sorts "abc" < "az", not by key.
 * Also: form encoding round trip and bad input.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "crawler/crawler_sign.h"

#include <string.h>

static void
sdk_test_vector(void **state)
{
    struct sq_aop_params ps;
    char sig[41];
    syncq_error err;

    (void)state;
    sq_aop_params_init(&ps);
    assert_int_equal(sq_aop_params_set(&ps, "b", "2", &err), SYNCQ_OK);
    assert_int_equal(sq_aop_params_set(&ps, "a", "1", &err), SYNCQ_OK);
    assert_int_equal(sq_aop_sign("param2/1/x/y/100", &ps, "secret", sig, &err),
                     SYNCQ_OK);
    assert_string_equal(sig, "01C03CE4121FBABC1C5ED575F27931BE5471DDE2");
    /* an _aop_signature already present does not sign itself */
    assert_int_equal(sq_aop_params_set(&ps, "_aop_signature", "XX", &err),
                     SYNCQ_OK);
    assert_int_equal(sq_aop_sign("param2/1/x/y/100", &ps, "secret", sig, &err),
                     SYNCQ_OK);
    assert_string_equal(sig, "01C03CE4121FBABC1C5ED575F27931BE5471DDE2");
    sq_aop_params_cleanup(&ps);
}

static void
detail_call_known_value(void **state)
{
    struct sq_aop_params ps;
    char path[256], sig[41];
    syncq_error err;

    (void)state;
    assert_int_equal(sq_aop_sign_path("com.alibaba.fenxiao.crossborder",
                                      "product.search.queryProductDetail",
                                      "1000000", path, sizeof path, &err),
                     SYNCQ_OK);
    assert_string_equal(path, "param2/1/com.alibaba.fenxiao.crossborder/"
                              "product.search.queryProductDetail/1000000");
    sq_aop_params_init(&ps);
    sq_aop_params_set(&ps, "offerDetailParam",
                      "{\"offerId\":597090034012,\"country\":\"en\"}", &err);
    sq_aop_params_set(&ps, "access_token", "TOKEN_PLACEHOLDER", &err);
    sq_aop_params_set(&ps, "_aop_timestamp", "1764403200000", &err);
    assert_int_equal(sq_aop_sign(path, &ps, "test123", sig, &err), SYNCQ_OK);
    assert_string_equal(sig, "C00DB05BEAAC4EA93FB88C1B7FADF2C73CC57AE5");
    assert_int_equal(strlen(sig), 40);
    sq_aop_params_cleanup(&ps);
}

static void
sorts_key_value_strings_like_the_sdk(void **state)
{
    struct sq_aop_params ps;
    char sig[41];
    syncq_error err;

    (void)state;
    sq_aop_params_init(&ps);
    sq_aop_params_set(&ps, "a", "z", &err);
    sq_aop_params_set(&ps, "ab", "c", &err);
    assert_int_equal(sq_aop_sign("param2/1/x/y/100", &ps, "secret", sig, &err),
                     SYNCQ_OK);
    /* "param2/1/x/y/100abcaz", not "...azabc" (BB14A62D...) */
    assert_string_equal(sig, "B331BE1B72BCC39FF38BD45917B9DB4EAD2A95D5");
    sq_aop_params_cleanup(&ps);
}

static void
bad_input(void **state)
{
    struct sq_aop_params ps;
    char path[64], sig[41];
    syncq_error err;

    (void)state;
    sq_aop_params_init(&ps);
    assert_int_equal(sq_aop_sign("param2/1/x/y/1", &ps, "", sig, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_1688_APP_SECRET"));
    assert_int_equal(sq_aop_sign_path("ns", "api", "", path, sizeof path, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_1688_APP_KEY"));
    assert_int_equal(
        sq_aop_sign_path("a/b", "api", "k", path, sizeof path, &err),
        SYNCQ_EINVAL);
    assert_int_equal(sq_aop_sign_path("ns", "api", "k", path, 8, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_aop_params_set(&ps, "", "v", &err), SYNCQ_EINVAL);
    for (int i = 0; i < SQ_AOP_MAX_PARAMS; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(sq_aop_params_set(&ps, k, "v", &err), SYNCQ_OK);
    }
    assert_int_equal(sq_aop_params_set(&ps, "one-more", "v", &err),
                     SYNCQ_EINVAL);
    /* replacing an existing key still works at the limit */
    assert_int_equal(sq_aop_params_set(&ps, "k3", "w", &err), SYNCQ_OK);
    assert_string_equal(sq_aop_params_get(&ps, "k3"), "w");
    sq_aop_params_cleanup(&ps);
}

static void
form_round_trip(void **state)
{
    struct sq_aop_params ps, back;
    char *form;
    syncq_error err;

    (void)state;
    sq_aop_params_init(&ps);
    sq_aop_params_init(&back);
    sq_aop_params_set(&ps, "offerQueryParam",
                      "{\"keyword\":\"男士 T恤\",\"beginPage\":1}", &err);
    sq_aop_params_set(&ps, "access_token", "a+b/c=d&e", &err);
    form = sq_aop_form_encode(&ps);
    assert_non_null(form);
    assert_null(strchr(form, ' '));
    assert_non_null(strstr(form, "access_token=a%2Bb%2Fc%3Dd%26e"));
    assert_int_equal(sq_aop_form_decode(form, strlen(form), &back, &err),
                     SYNCQ_OK);
    assert_string_equal(sq_aop_params_get(&back, "offerQueryParam"),
                        "{\"keyword\":\"男士 T恤\",\"beginPage\":1}");
    assert_string_equal(sq_aop_params_get(&back, "access_token"), "a+b/c=d&e");
    sq_free(form);
    sq_aop_params_cleanup(&back);
    /* '+' is a space in forms; a broken escape is refused */
    assert_int_equal(sq_aop_form_decode("q=a+b&x", 7, &back, &err), SYNCQ_OK);
    assert_string_equal(sq_aop_params_get(&back, "q"), "a b");
    assert_string_equal(sq_aop_params_get(&back, "x"), "");
    sq_aop_params_cleanup(&back);
    assert_int_equal(sq_aop_form_decode("q=%G1", 5, &back, &err), SYNCQ_EINVAL);
    assert_int_equal(sq_aop_form_decode("q=%4", 4, &back, &err), SYNCQ_EINVAL);
    sq_aop_params_cleanup(&back);
    sq_aop_params_cleanup(&ps);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sdk_test_vector),
        cmocka_unit_test(detail_call_known_value),
        cmocka_unit_test(sorts_key_value_strings_like_the_sdk),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(form_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
