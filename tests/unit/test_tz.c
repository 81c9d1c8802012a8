/* SPDX-License-Identifier: MIT
 *
 * test_tz.c: the TZif + POSIX-rule reader (src/core/sq_tz.c).
 *
 * The oracle is glibc's own tz code (localtime_r with TZ set), which
 * reads the same /usr/share/zoneinfo files: every zone is compared at
 * instants from 1900 to 2100 and beyond the last listed transition (where
 * the POSIX footer rule applies), and POSIX rule strings are compared
 * directly. Transitions, gaps and repeats are checked for consistency,
 * and corrupt TZif data (every truncation of a real file, hostile
 * counts) must fail cleanly.
 * TEST_TIMEOUT: 300
 */
#include "sq_test.h"

#include "core/sq_tz.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Every zone file under /usr/share/zoneinfo (links included), except the
 * posix/ and right/ trees and the non-zone files. */
static size_t
collect_zones(const char *base, const char *rel, char **out, size_t cap,
              size_t n)
{
    char dir[600];
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof dir, "%s/%s", base, rel);
    d = opendir(dir);
    if (d == NULL) {
        return n;
    }
    while ((e = readdir(d)) != NULL && n < cap) {
        char path[1200], name[600];
        struct stat st;
        if (e->d_name[0] == '.' || strchr(e->d_name, '.') != NULL) {
            continue; /* ., .., zone.tab, tzdata.zi, leap-seconds.list */
        }
        if (rel[0] == '\0' &&
            (!strcmp(e->d_name, "posix") || !strcmp(e->d_name, "right") ||
             !strcmp(e->d_name, "posixrules") ||
             !strcmp(e->d_name, "leapseconds") ||
             !strcmp(e->d_name, "SECURITY") ||
             !strcmp(e->d_name, "localtime") ||
             !strcmp(e->d_name, "Factory"))) {
            continue;
        }
        snprintf(name, sizeof name, "%s%s%s", rel, rel[0] ? "/" : "",
                 e->d_name);
        snprintf(path, sizeof path, "%s/%s", base, name);
        if (stat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            n = collect_zones(base, name, out, cap, n);
        } else if (S_ISREG(st.st_mode)) {
            out[n++] = strdup(name);
        }
    }
    closedir(d);
    return n;
}

static void
compare_with_glibc(const char *tzenv, const struct sq_tz *z, int64_t from,
                   int64_t to, int64_t step, long *checks)
{
    setenv("TZ", tzenv, 1);
    tzset();
    for (int64_t t = from; t < to; t += step) {
        time_t tt = (time_t)t;
        struct tm a, b;
        localtime_r(&tt, &a);
        sq_tz_to_local(z, t, &b);
        (*checks)++;
        if (a.tm_gmtoff != b.tm_gmtoff || a.tm_isdst != b.tm_isdst ||
            a.tm_year != b.tm_year || a.tm_mon != b.tm_mon ||
            a.tm_mday != b.tm_mday || a.tm_hour != b.tm_hour ||
            a.tm_min != b.tm_min || a.tm_sec != b.tm_sec ||
            a.tm_wday != b.tm_wday || a.tm_yday != b.tm_yday) {
            fail_msg("%s at %lld: glibc %04d-%02d-%02d %02d:%02d:%02d off "
                     "%ld dst %d, ours %04d-%02d-%02d %02d:%02d:%02d off %ld "
                     "dst %d",
                     tzenv, (long long)t, a.tm_year + 1900, a.tm_mon + 1,
                     a.tm_mday, a.tm_hour, a.tm_min, a.tm_sec, a.tm_gmtoff,
                     a.tm_isdst, b.tm_year + 1900, b.tm_mon + 1, b.tm_mday,
                     b.tm_hour, b.tm_min, b.tm_sec, b.tm_gmtoff, b.tm_isdst);
        }
    }
}

static void
every_zone_matches_glibc(void **state)
{
    char *zones[2000];
    size_t n = collect_zones("/usr/share/zoneinfo", "", zones, 2000, 0);
    long checks = 0;

    (void)state;
    assert_true(n >= 400); /* Debian 12 tzdata: ~600 names with links */
    for (size_t i = 0; i < n; i++) {
        const struct sq_tz *z;
        syncq_error err;
        int rc = sq_tz_get(zones[i], &z, &err);
        if (rc != SYNCQ_OK) {
            fail_msg("zone %s: %s", zones[i], err.msg);
        }
        /* 1900..2100 every 61h13m17s (hits every hour of day and every
         * weekday), then to 2400 where the footer rule answers. */
        compare_with_glibc(zones[i], z, -2208988800LL, 4102444800LL,
                           61 * 3600 + 13 * 60 + 17, &checks);
        compare_with_glibc(zones[i], z, 4102444800LL, 13569465600LL,
                           24 * 86400 + 3 * 3600 + 7, &checks);
        free(zones[i]);
    }
    unsetenv("TZ");
    tzset();
    print_message("compared %zu zones at %ld instants\n", n, checks);
}

/* Rule strings as glibc parses them from TZ (no file involved). */
static void
posix_rules_match_glibc(void **state)
{
    static const char *const rules[] = {
        "EST5EDT,M3.2.0,M11.1.0",
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", /* America/Nuuk, hours < 0 */
        "IST-1GMT0,M10.5.0,M3.5.0/1",       /* Europe/Dublin: negative DST */
        "AEST-10AEDT,M10.1.0,M4.1.0/3",     /* southern hemisphere */
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", /* Lord Howe: 30 min */
        "EST5EDT,J60/2,J300/2",                 /* Julian, no leap day */
        "EST5EDT,59/2,299/2",                   /* zero-based, leap day */
        "<+0545>-5:45",                         /* no DST, odd offset */
        "NZST-12NZDT,M9.5.0,M4.1.0/3",
        "PST8PDT,M3.2.0/2:00:00,M11.1.0/2:00:00",
        "<-04>4<-03>,M9.1.6/24,M4.1.6/24", /* America/Santiago, 24h */
        NULL};
    long checks = 0;

    (void)state;
    for (int i = 0; rules[i] != NULL; i++) {
        struct sq_tz *z = NULL;
        syncq_error err;
        if (sq_tz_parse_posix(rules[i], &z, &err) != SYNCQ_OK) {
            fail_msg("rule %s: %s", rules[i], err.msg);
        }
        compare_with_glibc(rules[i], z, 946684800LL, 4133894400LL,
                           3 * 3600 + 17 * 60 + 11, &checks);
        sq_tz_free(z);
    }
    /* No dates: the US rules since 2007 (glibc takes them from the
     * posixrules file, i.e. New York, so compare from 2008 on). */
    {
        struct sq_tz *z = NULL;
        assert_int_equal(sq_tz_parse_posix("EST5EDT", &z, NULL), SYNCQ_OK);
        compare_with_glibc("EST5EDT", z, 1199145600LL, 4133894400LL,
                           3 * 3600 + 17 * 60 + 11, &checks);
        sq_tz_free(z);
    }
    unsetenv("TZ");
    tzset();
}

static void
bad_posix_rules_are_refused(void **state)
{
    static const char *const bad[] = {"",
                                      "5",
                                      "ES5",
                                      "EST",
                                      "EST5EDT,M3.2.0",
                                      "EST5EDT,M13.2.0,M11.1.0",
                                      "EST5EDT,M3.6.0,M11.1.0",
                                      "EST5EDT,M3.2.7,M11.1.0",
                                      "EST5EDT,J0,J300",
                                      "EST5EDT,J366,J300",
                                      "EST5EDT,366,2",
                                      "EST999",
                                      "EST5EDT,M3.2.0/999,"
                                      "M11.1.0",
                                      "EST5EDT,M3.2.0,M11.1.0x",
                                      "<>5",
                                      "EST99999999999999999",
                                      NULL};

    (void)state;
    for (int i = 0; bad[i] != NULL; i++) {
        struct sq_tz *z = NULL;
        syncq_error err;
        if (sq_tz_parse_posix(bad[i], &z, &err) != SYNCQ_EINVAL) {
            fail_msg("rule '%s' was accepted", bad[i]);
        }
        assert_null(z);
    }
}

/* next/prev transitions change the offset exactly there and nowhere in
 * between; every civil time near a transition maps back to itself. */
static void
transitions_are_consistent(void **state)
{
    static const char *const zones[] = {"America/New_York",
                                        "Europe/Berlin",
                                        "Pacific/Apia",
                                        "Australia/Lord_Howe",
                                        "Europe/Dublin",
                                        "Africa/Casablanca",
                                        "America/Santiago",
                                        "Asia/Shanghai",
                                        "Pacific/Chatham",
                                        "Antarctica/Troll",
                                        "America/Sao_Paulo",
                                        "Asia/Kathmandu",
                                        NULL};

    (void)state;
    for (int i = 0; zones[i] != NULL; i++) {
        const struct sq_tz *z;
        int64_t t = -2208988800LL, end = 7258118400LL; /* 1900..2200 */
        int n = 0;
        assert_int_equal(sq_tz_get(zones[i], &z, NULL), SYNCQ_OK);
        for (;;) {
            int64_t at, pat, stop;
            long ob, oa, pob, poa, o0;
            int has = sq_tz_next_transition(z, t, &at, &ob, &oa);
            stop = has && at < end ? at : end;
            o0 = sq_tz_offset_at(z, t + 1);
            for (int64_t u = t + 1; u < stop; u += 1800) {
                if (sq_tz_offset_at(z, u) != o0) {
                    fail_msg("%s: offset changed at %lld with no transition",
                             zones[i], (long long)u);
                }
            }
            if (!has || at >= end) {
                break;
            }
            assert_true(at > t);
            assert_int_not_equal(ob, oa);
            assert_int_equal(sq_tz_offset_at(z, at), oa);
            assert_int_equal(sq_tz_offset_at(z, at - 1), ob);
            assert_true(sq_tz_prev_transition(z, at, &pat, &pob, &poa));
            assert_int_equal(pat, at);
            assert_true(sq_tz_prev_transition(z, at + 59, &pat, &pob, &poa));
            assert_int_equal(pat, at);
            assert_int_equal(pob, ob);
            assert_int_equal(poa, oa);
            for (int64_t L = at + (ob < oa ? ob : oa) - 7200;
                 L < at + (ob > oa ? ob : oa) + 7200; L += 300) {
                int64_t out[2];
                int k = sq_tz_from_civil(z, L, out);
                bool in_gap = oa > ob && L >= at + ob && L < at + oa;
                bool in_rep = oa < ob && L >= at + oa && L < at + ob;
                assert_int_equal(k, in_gap ? 0 : in_rep ? 2 : 1);
                for (int j = 0; j < k; j++) {
                    assert_int_equal(out[j] + sq_tz_offset_at(z, out[j]), L);
                }
                if (k == 2) {
                    assert_true(out[0] < out[1]);
                }
            }
            t = at;
            n++;
        }
        assert_true(n > 0 || strcmp(zones[i], "Asia/Shanghai") == 0);
    }
}

static void
from_local_gap_overlap_and_skipped_day(void **state)
{
    const struct sq_tz *ny, *apia, *berlin, *utc;
    int64_t out[2];

    (void)state;
    assert_int_equal(sq_tz_get("America/New_York", &ny, NULL), SYNCQ_OK);
    assert_int_equal(sq_tz_get("Pacific/Apia", &apia, NULL), SYNCQ_OK);
    assert_int_equal(sq_tz_get("Europe/Berlin", &berlin, NULL), SYNCQ_OK);
    assert_int_equal(sq_tz_get(NULL, &utc, NULL), SYNCQ_OK);
    /* 2024-03-10 02:30 does not exist in New York */
    assert_int_equal(sq_tz_from_local(ny, 2024, 3, 10, 2, 30, 0, out), 0);
    assert_int_equal(sq_tz_from_local(ny, 2024, 3, 10, 3, 0, 0, out), 1);
    assert_int_equal(out[0], 1710054000LL); /* 07:00Z */
    /* 2024-11-03 01:30 happens twice: 05:30Z (EDT) and 06:30Z (EST) */
    assert_int_equal(sq_tz_from_local(ny, 2024, 11, 3, 1, 30, 0, out), 2);
    assert_int_equal(out[0], 1730611800LL);
    assert_int_equal(out[1], 1730615400LL);
    /* Samoa skipped 2011-12-30 entirely (UTC-10 -> UTC+14) */
    assert_int_equal(sq_tz_from_local(apia, 2011, 12, 30, 12, 0, 0, out), 0);
    assert_int_equal(sq_tz_from_local(apia, 2011, 12, 29, 23, 59, 0, out), 1);
    assert_int_equal(sq_tz_from_local(apia, 2011, 12, 31, 0, 0, 0, out), 1);
    /* Berlin 2022-03-27 02:30 is in the gap; 2022-10-30 02:30 repeats */
    assert_int_equal(sq_tz_from_local(berlin, 2022, 3, 27, 2, 30, 0, out), 0);
    assert_int_equal(sq_tz_from_local(berlin, 2022, 10, 30, 2, 30, 0, out), 2);
    assert_int_equal(out[1] - out[0], 3600);
    assert_int_equal(sq_tz_from_local(utc, 2024, 2, 29, 0, 0, 0, out), 1);
    assert_int_equal(out[0], 1709164800LL);
}

static void
lookup_errors(void **state)
{
    const struct sq_tz *z, *z2;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_tz_get("../../etc/passwd", &z, &err), SYNCQ_EINVAL);
    assert_null(z);
    assert_int_equal(sq_tz_get("/etc/localtime", &z, &err), SYNCQ_EINVAL);
    assert_int_equal(sq_tz_get("Asia/Shang hai", &z, &err), SYNCQ_EINVAL);
    assert_int_equal(sq_tz_get("Mars/Olympus_Mons", &z, &err), SYNCQ_ENOTFOUND);
    assert_non_null(strstr(err.msg, "Mars/Olympus_Mons"));
    assert_int_equal(sq_tz_get("America", &z, &err), SYNCQ_ENOTFOUND);
    assert_int_equal(sq_tz_get("zone.tab", &z, &err), SYNCQ_EINVAL);
    assert_int_equal(sq_tz_get("", &z, &err), SYNCQ_OK);
    assert_string_equal(sq_tz_name(z), "UTC");
    assert_int_equal(sq_tz_offset_at(z, 1700000000), 0);
    assert_int_equal(sq_tz_get("Asia/Shanghai", &z, &err), SYNCQ_OK);
    assert_int_equal(sq_tz_get("Asia/Shanghai", &z2, &err), SYNCQ_OK);
    assert_ptr_equal(z, z2); /* cached */
    assert_int_equal(sq_tz_offset_at(z, 1700000000), 8 * 3600);
    sq_tz_free((struct sq_tz *)z); /* cached zones are never freed */
    assert_int_equal(sq_tz_offset_at(z, 1700000000), 8 * 3600);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void
corrupt_tzif_fails_cleanly(void **state)
{
    size_t len;
    unsigned char *orig = slurp("/usr/share/zoneinfo/America/New_York", &len);
    unsigned char *buf = malloc(len);
    struct sq_tz *z;
    syncq_error err;
    int ok = 0;

    (void)state;
    assert_int_equal(sq_tz_parse_tzif("NY", orig, len, &z, &err), SYNCQ_OK);
    assert_int_equal(sq_tz_offset_at(z, 1730615400LL), -5 * 3600);
    sq_tz_free(z);
    /* Every truncation: a clean error or (past the data) success. */
    for (size_t n = 0; n < len; n++) {
        int rc;
        memcpy(buf, orig, n);
        rc = sq_tz_parse_tzif("NY", buf, n, &z, &err);
        if (rc == SYNCQ_OK) {
            ok++;
            sq_tz_offset_at(z, 1730615400LL);
            sq_tz_free(z);
        } else {
            assert_int_equal(rc, SYNCQ_EPROTO);
            assert_null(z);
        }
    }
    assert_true(ok < 64); /* only cuts inside the footer line parse */
    /* Hostile header counts and indices. */
    memcpy(buf, orig, len);
    buf[32] = 0xff; /* timecnt of the v1 header: huge */
    assert_int_equal(sq_tz_parse_tzif("NY", buf, len, &z, &err), SYNCQ_EPROTO);
    memcpy(buf, orig, len);
    memcpy(buf, "TZiX", 4);
    assert_int_equal(sq_tz_parse_tzif("NY", buf, len, &z, &err), SYNCQ_EPROTO);
    /* a type index past the type count */
    {
        /* v2 block: header at 44 + v1 block; find its first index byte */
        uint32_t c[6];
        size_t v1, p;
        for (int i = 0; i < 6; i++) {
            c[i] = (uint32_t)orig[20 + 4 * i] << 24 |
                   (uint32_t)orig[21 + 4 * i] << 16 |
                   (uint32_t)orig[22 + 4 * i] << 8 | orig[23 + 4 * i];
        }
        v1 = c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
        p = 44 + v1;
        for (int i = 0; i < 6; i++) {
            c[i] = (uint32_t)orig[p + 20 + 4 * i] << 24 |
                   (uint32_t)orig[p + 21 + 4 * i] << 16 |
                   (uint32_t)orig[p + 22 + 4 * i] << 8 | orig[p + 23 + 4 * i];
        }
        memcpy(buf, orig, len);
        buf[p + 44 + c[3] * 8] = 200;
        assert_int_equal(sq_tz_parse_tzif("NY", buf, len, &z, &err),
                         SYNCQ_EPROTO);
        assert_non_null(strstr(err.msg, "type index"));
        /* transitions out of order */
        memcpy(buf, orig, len);
        memcpy(buf + p + 44 + 8, buf + p + 44, 8);
        assert_int_equal(sq_tz_parse_tzif("NY", buf, len, &z, &err),
                         SYNCQ_EPROTO);
    }
    free(buf);
    free(orig);
}

static void
calendar_helpers(void **state)
{
    (void)state;
    for (int64_t d = -800000; d < 800000; d += 37) {
        int64_t y;
        int m, dd;
        sq_civil_from_days(d, &y, &m, &dd);
        assert_true(m >= 1 && m <= 12);
        assert_true(dd >= 1 && dd <= sq_days_in_month(y, m));
        assert_int_equal(sq_days_from_civil(y, m, dd), d);
    }
    assert_int_equal(sq_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(sq_weekday_of_days(0), 4); /* Thursday */
    assert_int_equal(sq_weekday_of_days(-1), 3);
    assert_int_equal(sq_days_in_month(2000, 2), 29);
    assert_int_equal(sq_days_in_month(1900, 2), 28);
    assert_int_equal(sq_days_in_month(2024, 2), 29);
    assert_int_equal(sq_days_in_month(2023, 13), 0);
}

static void *
get_many(void *arg)
{
    static const char *const names[] = {"Europe/Paris", "Asia/Tokyo",
                                        "America/Chicago", "Africa/Cairo"};
    const struct sq_tz **out = arg;

    for (int i = 0; i < 2000; i++) {
        const struct sq_tz *z;
        if (sq_tz_get(names[i % 4], &z, NULL) != SYNCQ_OK) {
            return NULL;
        }
        out[i % 4] = z;
    }
    return arg;
}

static void
concurrent_lookups_share_one_zone(void **state)
{
    pthread_t th[4];
    const struct sq_tz *got[4][4];

    (void)state;
    for (int i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, get_many, got[i]);
    }
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_non_null(r);
    }
    for (int i = 1; i < 4; i++) {
        for (int k = 0; k < 4; k++) {
            assert_ptr_equal(got[i][k], got[0][k]);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_zone_matches_glibc),
        cmocka_unit_test(posix_rules_match_glibc),
        cmocka_unit_test(bad_posix_rules_are_refused),
        cmocka_unit_test(transitions_are_consistent),
        cmocka_unit_test(from_local_gap_overlap_and_skipped_day),
        cmocka_unit_test(lookup_errors),
        cmocka_unit_test(corrupt_tzif_fails_cleanly),
        cmocka_unit_test(calendar_helpers),
        cmocka_unit_test(concurrent_lookups_share_one_zone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
