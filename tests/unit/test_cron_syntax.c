/* SPDX-License-Identifier: MIT
 *
 * test_cron_syntax.c: cron expressions (src/beat/beat_cron.c): what the
 * parser accepts and refuses (each refusal names the problem), spellings
 * that mean the same, Vixie flags, allocation failures, and the
 * known-failures scenarios of special dates C15 (29 February), C16
 * (dates that never occur) and C18 (steps with a range offset). Fire
 * times against the oracle's tables and DST are test_cron.c.
 */
#include "test_cron_util.h"

/* CPU time of this thread, in us. "Fast" means little work: wall time
 * also counts the time another process had the CPU, which on a loaded
 * machine is any amount (a 10 ms wall-clock bound failed under load). */
static int64_t
cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
elapsed_us(int64_t since)
{
    return cpu_us() - since;
}

/* C15: 29 February, forwards and backwards, fast. */
static void
c15_leap_day(void **state)
{
    struct sq_cron *c;
    const struct sq_tz *utc = zone("UTC");
    int64_t x, t0;

    (void)state;
    c = parse_ok("0 9 29 2 *");
    t0 = cpu_us();
    assert_int_equal(sq_cron_next(c, utc, 1456736400LL, &x), SYNCQ_OK);
    assert_true(elapsed_us(t0) < 10000);
    assert_int_equal(x, 1582966800LL); /* 2020-02-29T09:00Z */
    sq_cron_free(c);
    c = parse_ok("15 22 29 2 *");
    t0 = cpu_us();
    assert_int_equal(sq_cron_prev(c, utc, 1709164800LL, &x), SYNCQ_OK);
    assert_true(elapsed_us(t0) < 10000);
    assert_int_equal(x, 1583014500LL); /* 2020-02-29T22:15Z */
    sq_cron_free(c);
    c = parse_ok("0 0 29 2 *");
    t0 = cpu_us();
    assert_int_equal(sq_cron_next(c, utc, 1638835200LL, &x), SYNCQ_OK);
    assert_true(elapsed_us(t0) < 10000);
    assert_int_equal(x, 1709164800LL); /* 2024-02-29T00:00Z */
    sq_cron_free(c);
    c = parse_ok("0 0 L * *");
    assert_int_equal(sq_cron_next(c, utc, 1706659260LL, &x), SYNCQ_OK);
    assert_int_equal(x, 1709164800LL); /* 2024-01-31 00:01 -> 02-29 */
    sq_cron_free(c);
}

/* C16: dates that never occur are refused at once. */
static void
c16_never_fires_is_refused(void **state)
{
    static const char *const never[] = {
        "0 12 31 4 *", "0 0 30 2 *", "0 0 31 2 *", "* * 31 2 *",
        "0 0 31 4,6,9,11 *", "0 0 30,31 feb *", NULL};

    (void)state;
    for (int i = 0; never[i] != NULL; i++) {
        struct sq_cron *c = NULL;
        syncq_error err;
        int64_t t0 = cpu_us();
        assert_int_equal(sq_cron_parse(never[i], &c, &err), SYNCQ_EINVAL);
        assert_true(elapsed_us(t0) < 100000);
        assert_null(c);
        if (strstr(err.msg, "never fires") == NULL) {
            fail_msg("'%s': message '%s'", never[i], err.msg);
        }
    }
}

/* C18: steps with a range offset. */
static void
c18_range_steps(void **state)
{
    int64_t f[64];
    const int64_t ten = 1704103200LL; /* 2024-01-01T10:00:00Z */
    int n;

    (void)state;
    /* "from 10:00:00": strictly after it */
    n = fires_between("1-59/3 * * * *", "UTC", ten + 1, ten + 3600, f, 64);
    assert_int_equal(n, 20);
    for (int i = 0; i < n; i++) {
        assert_int_equal(f[i], ten + (1 + 3 * i) * 60); /* 10:01 10:04 .. */
    }
    assert_int_equal(f[19], ten + 58 * 60);
    n = fires_between("2-59/10 * * * *", "UTC", ten + 1, ten + 3600, f, 64);
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++) {
        assert_int_equal(f[i], ten + (2 + 10 * i) * 60);
    }
    n = fires_between("*/59 * * * *", "UTC", ten + 1, ten + 7200, f, 64);
    assert_int_equal(n, 3);
    assert_int_equal(f[0], ten + 59 * 60);   /* 10:59 */
    assert_int_equal(f[1], ten + 3600);      /* 11:00 */
    assert_int_equal(f[2], ten + 119 * 60);  /* 11:59 */
    n = fires_between("0 0 */2 * *", "UTC", 1704067200LL, 1706832000LL, f,
                      64);
    assert_int_equal(n, 17); /* Jan: 1,3,..,31 then Feb 1 */
    for (int i = 0; i < 16; i++) {
        assert_int_equal(f[i], 1704067200LL + 2 * i * 86400);
    }
    assert_int_equal(f[16], 1706745600LL); /* 2024-02-01 */
}

struct bad {
    const char *expr;
    const char *msg;
};

static void
invalid_expressions_name_the_problem(void **state)
{
    static const struct bad bad[] = {
        {"60 * * * *", "minute"},
        {"61 * * * *", "minute 61 out of range 0-59"},
        {"* 24 * * *", "hour 24 out of range"},
        {"* * 0 * *", "day-of-month 0 out of range"},
        {"* * 32 * *", "day-of-month 32"},
        {"* * * 13 *", "month 13"},
        {"* * * 0 *", "month 0"},
        {"* * * * 8", "day-of-week 8"},
        {"* * * * * * *", "fields"},
        {"* * * *", "fields"},
        {"", "fields"},
        {"   ", "fields"},
        {"garbage", "fields"},
        {"a b c d e", "minute field"},
        {"*/0 * * * *", "step"},
        {"*/61 * * * *", "step 61"},
        {"5-1 * * * *", "backwards"},
        {"1,,2 * * * *", "empty"},
        {"1, * * * *", "ends with"},
        {"* * * foo *", "month name"},
        {"* * * * funday", "day-of-week name"},
        {"@reboot", "macro"},
        {"@daily now", "macro"},
        {"? * * * *", "only allowed in the day fields"},
        {"* * L-31 * *", "L-n"},
        {"* * Lx * *", "after L"},
        {"* * * * 5#6", "#6 out of range"},
        {"* * * * 5#", "week number"},
        {"* * 31 2 *", "never fires"},
        {"1-2-3 * * * *", "unexpected"},
        {"99999 * * * *", "too long"},
        {"*\x01 * * * *", "control character"},
        {"* * * * \xe6\x98\x9f", "non-ASCII"},
        {"* * * * L", "day-of-week"},
        {"*/x * * * *", "step"},
        {NULL, NULL}};
    char longexpr[400];

    (void)state;
    for (int i = 0; bad[i].expr != NULL; i++) {
        struct sq_cron *c = NULL;
        syncq_error err;
        if (sq_cron_parse(bad[i].expr, &c, &err) != SYNCQ_EINVAL) {
            fail_msg("'%s' was accepted", bad[i].expr);
        }
        assert_null(c);
        if (strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].expr, err.msg,
                     bad[i].msg);
        }
    }
    memset(longexpr, '1', sizeof longexpr - 1);
    longexpr[sizeof longexpr - 1] = '\0';
    {
        struct sq_cron *c = NULL;
        syncq_error err;
        assert_int_equal(sq_cron_parse(longexpr, &c, &err), SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "longer than"));
        assert_int_equal(sq_cron_parse(NULL, &c, &err), SYNCQ_EINVAL);
    }
}

/* STYLE.md's example, kept as written there. */
static void
cron_rejects_minute_60(void **state)
{
    syncq_error err;
    struct sq_cron *c = NULL;

    (void)state;
    assert_int_equal(sq_cron_parse("60 * * * *", &c, &err), SYNCQ_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err.msg, "minute"));
}

static void
spellings_that_mean_the_same(void **state)
{
    static const char *const groups[][4] = {
        {"0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * * SUN"},
        {"0 0 * * 1-5", "0 0 * * mon-fri", "0 0 * * 1,2,3,4,5",
         "0 0 * * MON-FRI"},
        {"0 0 * * 5-7", "0 0 * * fri-sun", "0 0 * * 0,5,6", "0 0 * * 5,6,7"},
        {"0 0 1 1 *", "@yearly", "@annually", "0 0 1 jan *"},
        {"0 * * * *", "@hourly", "0 */1 * * *", "0 0-23 * * *"},
        {"0 0 * * *", "@daily", "@midnight", "  0\t0 * *  * "},
        {"*/20 * * * *", "0,20,40 * * * *", "0/20 * * * *", "0-59/20 * * * *"},
        {"0 0 ? * 1", "0 0 * * 1", "0 0 * * mon", "0 0 * * Mon"},
    };

    (void)state;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        struct sq_cron *a = parse_ok(groups[g][0]);
        for (int k = 1; k < 4; k++) {
            struct sq_cron *b = parse_ok(groups[g][k]);
            if (a->sec != b->sec || a->min != b->min || a->hour != b->hour ||
                a->dom != b->dom || a->mon != b->mon || a->dow != b->dow ||
                a->dom_star != b->dom_star || a->dow_star != b->dow_star) {
                fail_msg("'%s' and '%s' differ", groups[g][0], groups[g][k]);
            }
            sq_cron_free(b);
        }
        sq_cron_free(a);
    }
}

static void
flags_follow_vixie(void **state)
{
    struct sq_cron *c;

    (void)state;
    c = parse_ok("0 */2 * * *");
    assert_true(c->hour_wild);
    sq_cron_free(c);
    c = parse_ok("0 1-3 * * *");
    assert_false(c->hour_wild);
    sq_cron_free(c);
    c = parse_ok("0 1-23/2 * * *");
    assert_true(c->hour_wild);
    sq_cron_free(c);
    c = parse_ok("0 0 */2 * 1");
    assert_true(c->dom_star); /* a field starting with * counts as * */
    assert_false(c->dow_star);
    sq_cron_free(c);
    c = parse_ok("*/10 * * * * *");
    assert_true(c->has_seconds);
    assert_int_equal(c->sec, 1ULL | 1ULL << 10 | 1ULL << 20 | 1ULL << 30 |
                                 1ULL << 40 | 1ULL << 50);
    sq_cron_free(c);
}

static void
search_is_bounded(void **state)
{
    struct sq_cron *c = parse_ok("0 0 * 2 1#5"); /* 5th Monday of February */
    const struct sq_tz *utc = zone("UTC");
    int64_t x, t0 = cpu_us();

    (void)state;
    assert_int_equal(sq_cron_next(c, utc, 1456790400LL, &x), SYNCQ_OK);
    assert_int_equal(x, 2340316800LL); /* 2044-02-29, the next Monday one */
    assert_true(elapsed_us(t0) < 100000);
    /* nothing after year 9999 */
    assert_int_equal(sq_cron_next(c, utc, 253402300000LL, &x),
                     SYNCQ_ENOTFOUND);
    sq_cron_free(c);
    c = parse_ok("* * * * *");
    assert_int_equal(sq_cron_next(c, utc, 253402300799LL, &x),
                     SYNCQ_ENOTFOUND);
    assert_int_equal(sq_cron_next(c, utc, -100000LL, &x), SYNCQ_OK);
    assert_int_equal(x, -99960LL);
    sq_cron_free(c);
}

static void
allocation_failures_are_clean(void **state)
{
    (void)state;
    for (long n = 1; n < 10; n++) {
        struct sq_cron *c = NULL;
        syncq_error err;
        int rc;
        sq_alloc_fail_at(n);
        rc = sq_cron_parse("*/5 1-3 * * mon-fri", &c, &err);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_OK) {
            sq_cron_free(c);
            return;
        }
        assert_int_equal(rc, SYNCQ_ENOMEM);
        assert_null(c);
    }
    fail_msg("parse never succeeded");
}

/* Day of week 'a/s' means 'a-7/s' (Vixie cron, croniter): Sunday counted
 * as 7 is in the range, so '1/2' is Mon, Wed, Fri, Sun like '1-7/2'. */
static void
dow_start_step_runs_to_seven(void **state)
{
    static const struct {
        const char *expr;
        unsigned dow; /* bit 0 = Sunday */
    } cases[] = {
        {"0 0 * * 1/2", 1U << 1 | 1U << 3 | 1U << 5 | 1U << 0},
        {"0 0 * * 1-7/2", 1U << 1 | 1U << 3 | 1U << 5 | 1U << 0},
        {"0 0 * * 5/3", 1U << 5},
        {"0 0 * * 5-7/3", 1U << 5},
        {"0 0 * * 6/2", 1U << 6},
        {"0 0 * * 7/1", 1U << 0},
        {"0 0 * * 0/3", 1U << 0 | 1U << 3 | 1U << 6},
        {"0 0 * * */2", 1U << 0 | 1U << 2 | 1U << 4 | 1U << 6},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sq_cron *c = parse_ok(cases[i].expr);
        if (c->dow != cases[i].dow) {
            fail_msg("'%s': days 0x%x, want 0x%x", cases[i].expr, c->dow,
                     cases[i].dow);
        }
        sq_cron_free(c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(c15_leap_day),
        cmocka_unit_test(c16_never_fires_is_refused),
        cmocka_unit_test(c18_range_steps),
        cmocka_unit_test(invalid_expressions_name_the_problem),
        cmocka_unit_test(cron_rejects_minute_60),
        cmocka_unit_test(spellings_that_mean_the_same),
        cmocka_unit_test(flags_follow_vixie),
        cmocka_unit_test(dow_start_step_runs_to_seven),
        cmocka_unit_test(search_is_bounded),
        cmocka_unit_test(allocation_failures_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
