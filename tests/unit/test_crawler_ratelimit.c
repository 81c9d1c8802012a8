/* SPDX-License-Identifier: MIT
 *
 * test_crawler_ratelimit.c: the SYNCQ_CRAWLER_RATE syntax, and the
 * in-process twin of the limiter (runs without a broker): grants spaced
 * period/limit plus the 1 % margin, waits over the caller's limit
 * refused, the concurrency cap and its release, cool-downs that never
 * shorten. The shared Redis limiter has its own integration test
 * (it_crawler_ratelimit.c).
 */
#include "sq_test.h"

#include "sq_rate.h"
#include "core/sq_time.h"
#include <syncq/ratelimit.h>

#include <string.h>

static void
rate_syntax(void **state)
{
    static const struct {
        const char *in;
        int64_t limit, period;
    } ok[] = {
        {"20/s", 20, 1000},        {"20/sec", 20, 1000},
        {"300/min", 300, 60000},   {"300/m", 300, 60000},
        {"1000/h", 1000, 3600000}, {"20/10s", 20, 10000},
        {"5/1500ms", 5, 1500},     {" 7 / min", 7, 60000},
        {"1/1d", 1, 86400000},     {"20", 20, 1000},
        {"9 / s ", 9, 1000},
    };
    /* one grammar with syncq_rate_parse (test_schedule_items.c) */
    static const char *const bad[] = {"",          "/s",   "0/s",   "-1/s",
                                      "20/x",      "20/0s", "20/2d", "0",
                                      "1000001/s", "a/s",  "20/s/", "20 s",
                                      NULL};
    struct sq_rate r;
    syncq_error err;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        memset(&r, 0, sizeof r);
        if (sq_rate_parse(ok[i].in, &r, &err) != SYNCQ_OK ||
            r.limit != ok[i].limit || r.period_ms != ok[i].period) {
            fail_msg("'%s' -> %lld/%lld ms", ok[i].in, (long long)r.limit,
                     (long long)r.period_ms);
        }
    }
    for (int i = 0; bad[i] != NULL; i++) {
        if (sq_rate_parse(bad[i], &r, &err) != SYNCQ_EINVAL ||
            strstr(err.msg, "N/s") == NULL) {
            fail_msg("'%s' accepted or unclear: %s", bad[i], err.msg);
        }
    }
    assert_int_equal(sq_rate_parse(NULL, &r, &err), SYNCQ_EINVAL);
}

static void
slack_between_one_and_four_percent(void **state)
{
    static const struct {
        struct syncq_rate r;
        int64_t slack;
    } cases[] = {
        {{20, 60000}, 600}, /* 1 % of a minute */
        {{20, 4000}, 100},  /* raised to 100 ms */
        {{20, 1000}, 40},   /* ... but at most 4 % */
        {{5, 1500}, 60},    {{1, 86400000}, 864000}, {{1000000, 1}, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(syncq_rl_slack_ms(&cases[i].r), cases[i].slack);
    }
}

static void
local_spacing_and_refusal(void **state)
{
    struct syncq_rl_policy p = {{10, 1000}, 1, 0, 5000};
    struct syncq_rl_answer a;
    syncq_error err;
    int64_t prev = -1;

    (void)state;
    /* 10/s: slots 104 ms apart (the period plus 40 ms of slack) */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(
            syncq_rl_acquire(NULL, "local-a", &p, "h", NULL, 10000, &a, &err),
            SYNCQ_OK);
        assert_int_equal(a.status, SYNCQ_RL_OK);
        if (prev >= 0) {
            assert_in_range(a.wait_ms - prev, 103, 106);
        }
        prev = a.wait_ms;
    }
    /* the next slot is ~520 ms away: refused at max_wait 100 */
    assert_int_equal(
        syncq_rl_acquire(NULL, "local-a", &p, "h", NULL, 100, &a, &err), SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_WAIT);
    assert_in_range(a.wait_ms, 470, 540);
    /* another host is not affected */
    assert_int_equal(syncq_rl_acquire(NULL, "local-b", &p, "h", NULL, 0, &a, &err),
                     SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_OK);
    assert_int_equal(a.wait_ms, 0);
    /* bad policy */
    p.burst = 0;
    assert_int_equal(syncq_rl_acquire(NULL, "local-b", &p, "h", NULL, 0, &a, &err),
                     SYNCQ_EINVAL);
}

static void
local_cap_and_cooldown(void **state)
{
    struct syncq_rl_policy p = {{1000, 1000}, 1000, 2, 5000};
    struct syncq_rl_answer a;
    syncq_error err;
    int64_t until = 0, in_flight = 0, cool = 0;
    char why[64];

    (void)state;
    assert_int_equal(syncq_rl_acquire(NULL, "cap", &p, "x", NULL, 0, &a, &err),
                     SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_OK);
    assert_int_equal(syncq_rl_acquire(NULL, "cap", &p, "y", NULL, 0, &a, &err),
                     SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_OK);
    assert_int_equal(syncq_rl_acquire(NULL, "cap", &p, "z", NULL, 0, &a, &err),
                     SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_BUSY);
    assert_int_equal(syncq_rl_peek(NULL, "cap", &cool, why, &in_flight, &err),
                     SYNCQ_OK);
    assert_int_equal(in_flight, 2);
    assert_int_equal(syncq_rl_release(NULL, "cap", "x", &err), SYNCQ_OK);
    assert_int_equal(syncq_rl_acquire(NULL, "cap", &p, "z", NULL, 0, &a, &err),
                     SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_OK);
    /* cool-down: refused with the reason; a shorter pause does not
     * shorten it */
    assert_int_equal(
        syncq_rl_cool(NULL, "cap", 400, "blocked:captcha", &until, &err),
        SYNCQ_OK);
    assert_int_equal(
        syncq_rl_cool(NULL, "cap", 10, "rate_limited:429", NULL, &err), SYNCQ_OK);
    assert_int_equal(syncq_rl_acquire(NULL, "cap", &p, "w", NULL, 0, &a, &err),
                     SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_COOL);
    assert_string_equal(a.reason, "blocked:captcha");
    assert_in_range(a.wait_ms, 300, 400);
    assert_int_equal(syncq_rl_cool(NULL, "cap", 0, "x", NULL, &err), SYNCQ_EINVAL);
    sq_sleep_ms(420);
    assert_int_equal(syncq_rl_acquire(NULL, "cap", &p, "w", NULL, 0, &a, &err),
                     SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_BUSY); /* y and z still hold slots */
    syncq_rl_release(NULL, "cap", "y", &err);
    assert_int_equal(syncq_rl_acquire(NULL, "cap", &p, "w", NULL, 0, &a, &err),
                     SYNCQ_OK);
    assert_int_equal(a.status, SYNCQ_RL_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_syntax),
        cmocka_unit_test(slack_between_one_and_four_percent),
        cmocka_unit_test(local_spacing_and_refusal),
        cmocka_unit_test(local_cap_and_cooldown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
