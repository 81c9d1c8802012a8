/* SPDX-License-Identifier: MIT
 *
 * test_core_time.c: ISO 8601 parsing/formatting, durations, zone display.
 */
#include "sq_test.h"

#include "core/sq_time.h"

#include <string.h>

static void
parses_iso8601_forms(void **state)
{
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {
        {"2026-12-01T02:00:00+08:00", 1796061600000LL},
        {"2026-11-30T18:00:00Z", 1796061600000LL},
        {"2026-11-30 18:00:00z", 1796061600000LL},
        {"2026-11-30T18:00:00.250Z", 1796061600250LL},
        {"2026-11-30T13:00:00-0500", 1796061600000LL},
        {"2026-11-30T18:00", 1796061600000LL},
        {"2026-11-30", 1795996800000LL},
        {"1796061600", 1796061600000LL},
        {"2024-02-29T00:00:00Z", 1709164800000LL},
        {"1970-01-01T00:00:00Z", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        syncq_error err;
        if (sq_time_parse_iso8601(ok[i].in, &ms, &err) != SYNCQ_OK) {
            fail_msg("'%s': %s", ok[i].in, err.msg);
        }
        if (ms != ok[i].ms) {
            fail_msg("'%s' gave %lld, want %lld", ok[i].in, (long long)ms,
                     (long long)ok[i].ms);
        }
    }
}

static void
rejects_bad_dates(void **state)
{
    static const char *bad[] = {"",
                                "yesterday",
                                "2026-13-01T00:00:00Z",
                                "2026-02-29T00:00:00Z",
                                "2026-04-31",
                                "2026-12-01T24:00:00Z",
                                "2026-12-01T10:61Z",
                                "2026-12-01T10:00:00+25:00",
                                "2026-12-01T10:00:00Zjunk",
                                "-5",
                                "2026/12/01"};
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        syncq_error err;
        assert_int_equal(sq_time_parse_iso8601(bad[i], &ms, &err),
                         SYNCQ_EINVAL);
        assert_true(strlen(err.msg) > 0);
    }
}

static void
formats_utc_and_zones(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(sq_time_format_iso8601_ms(1796061600250LL, buf,
                                                  sizeof buf),
                        "2026-11-30T18:00:00.250Z");
    assert_string_equal(sq_time_format_iso8601(1796061600250LL, buf,
                                               sizeof buf),
                        "2026-11-30T18:00:00Z");
    assert_string_equal(sq_time_format_zone(1796061600000LL, "Asia/Shanghai",
                                            buf, sizeof buf),
                        "2026-12-01T02:00:00+08:00");
    /* New York: EST in winter, EDT in summer */
    assert_string_equal(sq_time_format_zone(1796061600000LL,
                                            "America/New_York", buf,
                                            sizeof buf),
                        "2026-11-30T13:00:00-05:00");
    assert_string_equal(sq_time_format_zone(1782835200000LL,
                                            "America/New_York", buf,
                                            sizeof buf),
                        "2026-06-30T12:00:00-04:00");
}

static void
parses_durations(void **state)
{
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {{"90", 90000},       {"90s", 90000},     {"1500ms", 1500},
              {"15m", 900000},     {"2h", 7200000},    {"7d", 604800000},
              {"1w", 604800000},   {"1h30m", 5400000}, {"0.5", 500},
              {"0", 0}};
    static const char *bad[] = {"", "-1", "5x", "m", "1h-2m", "abc"};

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms;
        assert_int_equal(sq_duration_parse_ms(ok[i].in, &ms, NULL), SYNCQ_OK);
        assert_int_equal(ms, ok[i].ms);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        assert_int_equal(sq_duration_parse_ms(bad[i], &ms, NULL),
                         SYNCQ_EINVAL);
    }
}

static int64_t fake_now;

static int64_t
fake_clock(void)
{
    return fake_now;
}

static void
clock_can_be_injected(void **state)
{
    (void)state;
    fake_now = 1234567;
    sq_clock_set(fake_clock);
    assert_int_equal(sq_now_ms(), 1234567);
    sq_clock_set(NULL);
    assert_true(sq_now_ms() > 1700000000000LL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_iso8601_forms),
        cmocka_unit_test(rejects_bad_dates),
        cmocka_unit_test(formats_utc_and_zones),
        cmocka_unit_test(parses_durations),
        cmocka_unit_test(clock_can_be_injected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
