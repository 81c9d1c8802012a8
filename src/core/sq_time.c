/* SPDX-License-Identifier: MIT
 *
 * sq_time.c: clocks, ISO 8601 (RFC 3339 profile) and durations.
 */
#include "core/sq_time.h"
#include "sq_error.h"
#include "core/sq_tz.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t (*clock_fn)(void);

int64_t
sq_now_ms(void)
{
    struct timespec ts;

    if (clock_fn != NULL) {
        return clock_fn();
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sq_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sq_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
sq_clock_set(int64_t (*now_ms_fn)(void))
{
    clock_fn = now_ms_fn;
}

void
sq_sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0) {
        return;
    }
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil, http://howardhinnant.github.io/date_algorithms.html). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) {
            return -1;
        }
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int
days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return (m == 2 && leap) ? 29 : dm[m - 1];
}

int
sq_time_parse_iso8601(const char *s, int64_t *out_ms, syncq_error *err)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    int off_min = 0;

    if (s == NULL || *s == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "empty date-time");
    }
    /* A bare integer: epoch seconds. */
    {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (*end == '\0' && errno == 0 && end != s && strlen(s) <= 12) {
            if (v < 0) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "date-time '%s' is before 1970", s);
            }
            *out_ms = (int64_t)v * 1000;
            return SYNCQ_OK;
        }
    }
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
        *p++ != '-' || digits(&p, 2, &d)) {
        goto bad;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) {
        return sq_fail(err, SYNCQ_EINVAL, "date-time '%s': no such date", s);
    }
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) {
            goto bad;
        }
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec)) {
                goto bad;
            }
            if (*p == '.' || *p == ',') {
                int scale = 100;
                p++;
                if (!isdigit((unsigned char)*p)) {
                    goto bad;
                }
                while (isdigit((unsigned char)*p)) {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (h > 23 || mi > 59 || sec > 60) {
            return sq_fail(err, SYNCQ_EINVAL, "date-time '%s': no such time",
                           s);
        }
        if (sec == 60) {
            sec = 59; /* leap second: clamp to the last real second */
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = (*p == '-') ? -1 : 1;
            int oh, om = 0;
            p++;
            if (digits(&p, 2, &oh)) {
                goto bad;
            }
            if (*p == ':') {
                p++;
            }
            if (isdigit((unsigned char)*p) && digits(&p, 2, &om)) {
                goto bad;
            }
            if (oh > 23 || om > 59) {
                goto bad;
            }
            off_min = sign * (oh * 60 + om);
        }
    }
    if (*p != '\0') {
        goto bad;
    }
    *out_ms = (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
               h * 3600 + mi * 60 + sec - off_min * 60) *
                  1000 +
              ms;
    return SYNCQ_OK;
bad:
    return sq_fail(err, SYNCQ_EINVAL,
                   "date-time '%.64s' is not ISO 8601 (expected like "
                   "2026-12-01T02:00:00+08:00)",
                   s);
}

const char *
sq_time_format_iso8601_ms(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    int frac = (int)(ms % 1000);

    if (frac < 0) {
        frac += 1000;
        t -= 1;
    }
    gmtime_r(&t, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac);
    return buf;
}

const char *
sq_time_format_iso8601(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

const char *
sq_time_format_zone(int64_t ms, const char *tz, char *buf, size_t cap)
{
    struct tm tm;
    long off = 0;
    time_t t = (time_t)(ms / 1000);

    if (tz == NULL || *tz == '\0' || strcmp(tz, "UTC") == 0) {
        return sq_time_format_iso8601(ms, buf, cap);
    }
    if (sq_tz_localtime(tz, (int64_t)t, &tm, &off) != 0) {
        return sq_time_format_iso8601(ms, buf, cap);
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 3600,
             (labs(off) % 3600) / 60);
    return buf;
}

int
sq_duration_parse_ms(const char *s, int64_t *out_ms, syncq_error *err)
{
    const char *p = s;
    int64_t total = 0;
    int parts = 0;

    if (s == NULL || *s == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "empty duration");
    }
    while (*p != '\0') {
        char *end;
        double v;
        int64_t unit = 1000;
        errno = 0;
        if (!isdigit((unsigned char)*p) && *p != '.') {
            goto bad;
        }
        v = strtod(p, &end);
        if (end == p || errno != 0 || v < 0) {
            goto bad;
        }
        p = end;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 1;
            p += 2;
        } else if (*p == 's') {
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else if (*p == 'd') {
            unit = 86400000;
            p++;
        } else if (*p == 'w') {
            unit = 7 * 86400000LL;
            p++;
        } else if (*p != '\0' || parts > 0) {
            goto bad;
        }
        if (v * (double)unit > 9.0e15) {
            return sq_fail(err, SYNCQ_EINVAL, "duration '%.64s' too large", s);
        }
        total += (int64_t)(v * (double)unit + 0.5);
        parts++;
    }
    *out_ms = total;
    return SYNCQ_OK;
bad:
    return sq_fail(err, SYNCQ_EINVAL,
                   "duration '%.64s' is not valid (use e.g. 30, 30s, 15m, "
                   "2h, 7d)",
                   s);
}

const char *
sq_duration_format(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0) {
        snprintf(buf, cap, "-");
    } else if (ms < 1000) {
        snprintf(buf, cap, "%dms", (int)ms);
    } else if (ms < 60000) {
        snprintf(buf, cap, "%.1fs", (double)ms / 1000.0);
    } else if (ms < 3600000) {
        snprintf(buf, cap, "%dm%02ds", (int)(ms / 60000),
                 (int)(ms % 60000 / 1000));
    } else if (ms < 86400000) {
        snprintf(buf, cap, "%dh%02dm", (int)(ms / 3600000),
                 (int)(ms % 3600000 / 60000));
    } else {
        snprintf(buf, cap, "%dd%dh", (int)(ms / 86400000),
                 (int)(ms % 86400000 / 3600000));
    }
    return buf;
}
