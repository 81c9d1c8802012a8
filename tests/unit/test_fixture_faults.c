/* SPDX-License-Identifier: MIT
 *
 * test_fixture_faults.c: the fixture server's --faults SPEC grammar (good
 * specs parsed to the right rules, bad ones refused with a message naming
 * the item), and the decisions: deterministic per (seed, key, attempt),
 * never after FX_FAULT_MAX_ATTEMPTS attempts (retries always succeed),
 * counted rules hit exactly the first N eligible requests, rules only hit
 * the routes they apply to, probabilities hold over many keys.
 */
#include "sq_test.h"

#include "fixture/fixture.h"

#include <string.h>

static void
parses_good_specs(void **state)
{
    struct fx_fault_spec s;
    syncq_error err;

    (void)state;
    assert_int_equal(fx_faults_parse("429=2%:1s,5xx=1%,slow=1%:2s,"
                                     "captcha=1,truncated_image=0.5%",
                                     &s, &err),
                     SYNCQ_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.rules[0].kind, FX_FAULT_429);
    assert_true(s.rules[0].p > 0.0199 && s.rules[0].p < 0.0201);
    assert_int_equal(s.rules[0].param_ms, 1000);
    assert_int_equal(s.rules[0].burst_ms, 0);
    assert_int_equal(s.rules[1].kind, FX_FAULT_5XX);
    assert_int_equal(s.rules[1].status, 503);
    assert_int_equal(s.rules[2].kind, FX_FAULT_SLOW);
    assert_int_equal(s.rules[2].param_ms, 2000);
    assert_int_equal(s.rules[3].kind, FX_FAULT_CAPTCHA);
    assert_true(s.rules[3].counted);
    assert_int_equal(s.rules[3].count, 1);
    assert_int_equal(s.rules[4].kind, FX_FAULT_TRUNCATED_IMAGE);
    assert_true(s.rules[4].p > 0.00499 && s.rules[4].p < 0.00501);
    assert_int_equal(fx_faults_parse(" 429 = 100% : 2s : 5s , 5xx=3:502,"
                                     "captcha=2:json,qos=1%,malformed=4",
                                     &s, &err),
                     SYNCQ_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.rules[0].param_ms, 2000);
    assert_int_equal(s.rules[0].burst_ms, 5000);
    assert_int_equal(s.rules[1].status, 502);
    assert_int_equal(s.rules[1].count, 3);
    assert_int_equal(s.rules[2].variant, 1);
    assert_int_equal(fx_faults_parse("", &s, &err), SYNCQ_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(fx_faults_parse(NULL, &s, &err), SYNCQ_OK);
    assert_int_equal(fx_faults_parse(",,", &s, &err), SYNCQ_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(fx_faults_parse("none", &s, &err), SYNCQ_OK);
    assert_int_equal(s.n, 0);
    assert_string_equal(fx_fault_name(FX_FAULT_TRUNCATED_IMAGE),
                        "truncated_image");
}

static void
refuses_bad_specs(void **state)
{
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"nonsense", "expected KIND=AMOUNT"},
        {"=2%", "expected KIND=AMOUNT"},
        {"teapot=2%", "unknown kind"},
        {"429=", "amount"},
        {"429=0%", "amount"},
        {"429=101%", "amount"},
        {"429=abc", "amount"},
        {"429=0", "amount"},
        {"429=-3", "amount"},
        {"5xx=1%:418", "expected 500, 502, 503 or 504"},
        {"slow=1%:forever", "expected a duration"},
        {"slow=1%:11m", "expected a duration"},
        {"captcha=1:image", "expected html, json or mtop"},
        {"qos=1%:1s", "too many parameters"},
        {"429=1%:1s:2s:3s", "too many parameters"},
    };
    struct fx_fault_spec s;
    syncq_error err;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (fx_faults_parse(bad[i].spec, &s, &err) != SYNCQ_EINVAL ||
            strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("'%s' -> '%s' (want '%s')", bad[i].spec, err.msg,
                     bad[i].msg);
        }
    }
    {
        /* more than FX_MAX_RULES items */
        char spec[512] = "";
        size_t n = 0;
        for (int i = 0; i < FX_MAX_RULES + 1; i++) {
            n += (size_t)snprintf(spec + n, sizeof spec - n, "%s5xx=1%%",
                                  i ? "," : "");
        }
        assert_int_equal(fx_faults_parse(spec, &s, &err), SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "more than"));
    }
}

static void
decisions_are_deterministic_and_bounded(void **state)
{
    struct fx_fault_spec s;
    long counters[FX_MAX_RULES] = {0};
    syncq_error err;
    int hits = 0, hits2 = 0;

    (void)state;
    assert_int_equal(fx_faults_parse("5xx=50%", &s, &err), SYNCQ_OK);
    for (int i = 0; i < 2000; i++) {
        char key[32];
        const struct fx_fault_rule *a, *b;
        snprintf(key, sizeof key, "detail:%d", i);
        a = fx_faults_decide(&s, 42, FX_ROUTE_API, key, 0, counters);
        b = fx_faults_decide(&s, 42, FX_ROUTE_API, key, 0, counters);
        assert_ptr_equal(a, b); /* same inputs, same answer */
        hits += a != NULL;
        hits2 +=
            fx_faults_decide(&s, 43, FX_ROUTE_API, key, 0, counters) != NULL;
        /* the 4th attempt of any request is clean */
        assert_null(fx_faults_decide(&s, 42, FX_ROUTE_API, key,
                                     FX_FAULT_MAX_ATTEMPTS, counters));
    }
    assert_in_range(hits, 850, 1150);
    assert_in_range(hits2, 850, 1150);
    /* a 1 % rule over 20000 keys */
    assert_int_equal(fx_faults_parse("429=1%", &s, &err), SYNCQ_OK);
    hits = 0;
    for (int i = 0; i < 20000; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        hits +=
            fx_faults_decide(&s, 7, FX_ROUTE_PAGE, key, 0, counters) != NULL;
    }
    assert_in_range(hits, 140, 260);
}

static void
counted_rules_and_routes(void **state)
{
    struct fx_fault_spec s;
    long counters[FX_MAX_RULES] = {0};
    syncq_error err;
    int hits = 0;

    (void)state;
    assert_int_equal(
        fx_faults_parse("captcha=3,truncated_image=100%", &s, &err), SYNCQ_OK);
    for (int i = 0; i < 10; i++) {
        const struct fx_fault_rule *r =
            fx_faults_decide(&s, 1, FX_ROUTE_API, "x", 0, counters);
        if (r != NULL) {
            assert_int_equal(r->kind, FX_FAULT_CAPTCHA);
            hits++;
        }
    }
    assert_int_equal(hits, 3); /* exactly the first three */
    /* images never get a captcha, and always the truncation here */
    memset(counters, 0, sizeof counters);
    for (int i = 0; i < 5; i++) {
        const struct fx_fault_rule *r =
            fx_faults_decide(&s, 1, FX_ROUTE_IMAGE, "img", 0, counters);
        assert_non_null(r);
        assert_int_equal(r->kind, FX_FAULT_TRUNCATED_IMAGE);
    }
    /* qos only hits the API; malformed the API and the shop */
    assert_int_equal(fx_faults_parse("qos=100%,malformed=100%", &s, &err),
                     SYNCQ_OK);
    assert_int_equal(
        fx_faults_decide(&s, 1, FX_ROUTE_API, "a", 0, counters)->kind,
        FX_FAULT_QOS);
    assert_int_equal(
        fx_faults_decide(&s, 1, FX_ROUTE_SHOP, "a", 0, counters)->kind,
        FX_FAULT_MALFORMED);
    assert_null(fx_faults_decide(&s, 1, FX_ROUTE_PAGE, "a", 0, counters));
    assert_null(fx_faults_decide(&s, 1, FX_ROUTE_IMAGE, "a", 0, counters));
    assert_null(fx_faults_decide(NULL, 1, FX_ROUTE_API, "a", 0, counters));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_good_specs),
        cmocka_unit_test(refuses_bad_specs),
        cmocka_unit_test(decisions_are_deterministic_and_bounded),
        cmocka_unit_test(counted_rules_and_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
