/* SPDX-License-Identifier: MIT
 *
 * sq_tz.c: a reader of the system tz database (TZif version 1-4, RFC 8536)
 * with the POSIX TZ footer rule (POSIX.1-2017 §8.3, "std offset dst
 * [offset],start[/time],end[/time]") for instants after the last
 * transition. Reentrant and thread-safe, unlike setenv("TZ") + tzset().
 * Zones are loaded once and cached (mutex-protected) for the process life.
 */
#include "core/sq_tz.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZDIR "/usr/share/zoneinfo"
#define MAX_ZONES 256

struct rule_date {
    int kind;  /* 'J' julian 1..365 no leap, 'N' 0..365, 'M' month.week.day */
    int m, w, d, n;
    long time; /* seconds after local midnight (may be negative / > 24 h) */
};

struct sq_tz {
    char name[128];
    size_t ntrans;
    int64_t *trans;      /* transition instants, ascending */
    unsigned char *idx;  /* type index after each transition */
    size_t ntypes;
    long *type_off;      /* UT offset of each type, seconds east */
    unsigned char *type_dst;
    long first_off;      /* offset before the first transition */
    /* footer rule */
    bool has_rule;
    long std_off, dst_off; /* seconds east */
    bool has_dst;
    struct rule_date start, end;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sq_tz *cache[MAX_ZONES];
static size_t ncache;

static struct sq_tz utc_zone = {.name = "UTC"};

static int64_t
be(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    if (n == 4) {
        return (int32_t)(uint32_t)v;
    }
    return (int64_t)v;
}

/* ---- POSIX TZ rule ---------------------------------------------------- */

static const char *
skip_name(const char *p)
{
    if (*p == '<') {
        while (*p && *p != '>') {
            p++;
        }
        return *p == '>' ? p + 1 : NULL;
    }
    if (!isalpha((unsigned char)*p)) {
        return NULL;
    }
    while (isalpha((unsigned char)*p)) {
        p++;
    }
    return p;
}

/* [+-]hh[:mm[:ss]] -> seconds; returns the end or NULL. */
static const char *
parse_hms(const char *p, long *out)
{
    int sign = 1;
    long h = 0, m = 0, s = 0;

    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (!isdigit((unsigned char)*p)) {
        return NULL;
    }
    while (isdigit((unsigned char)*p)) {
        h = h * 10 + (*p++ - '0');
    }
    if (*p == ':') {
        p++;
        while (isdigit((unsigned char)*p)) {
            m = m * 10 + (*p++ - '0');
        }
        if (*p == ':') {
            p++;
            while (isdigit((unsigned char)*p)) {
                s = s * 10 + (*p++ - '0');
            }
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *
parse_date(const char *p, struct rule_date *r)
{
    r->time = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        if (sscanf(p + 1, "%d.%d.%d", &r->m, &r->w, &r->d) != 3 || r->m < 1 ||
            r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6) {
            return NULL;
        }
        p++;
        while (*p && *p != '/' && *p != ',') {
            p++;
        }
    } else if (*p == 'J') {
        r->kind = 'J';
        r->n = atoi(p + 1);
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    } else if (isdigit((unsigned char)*p)) {
        r->kind = 'N';
        r->n = atoi(p);
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    } else {
        return NULL;
    }
    if (*p == '/') {
        p = parse_hms(p + 1, &r->time);
    }
    return p;
}

static bool
parse_rule(struct sq_tz *z, const char *s)
{
    const char *p = skip_name(s);
    long off;

    if (p == NULL || (p = parse_hms(p, &off)) == NULL) {
        return false;
    }
    z->std_off = -off;
    z->dst_off = z->std_off + 3600;
    z->has_rule = true;
    if (*p == '\0') {
        return true;
    }
    p = skip_name(p);
    if (p == NULL) {
        return false;
    }
    z->has_dst = true;
    if (*p != ',' && *p != '\0') {
        if ((p = parse_hms(p, &off)) == NULL) {
            return false;
        }
        z->dst_off = -off;
    }
    if (*p != ',') {
        /* No rule: US rules by POSIX default. */
        z->start = (struct rule_date){'M', 3, 2, 0, 0, 7200};
        z->end = (struct rule_date){'M', 11, 1, 0, 0, 7200};
        return true;
    }
    p = parse_date(p + 1, &z->start);
    if (p == NULL || *p != ',') {
        return false;
    }
    p = parse_date(p + 1, &z->end);
    return p != NULL;
}

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

static bool
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : dm[m - 1];
}

/* Local seconds (as if UTC) of the rule date in year y. */
static int64_t
rule_local(const struct rule_date *r, int64_t y)
{
    int64_t day;

    if (r->kind == 'J') {
        int n = r->n;
        day = days_from_civil(y, 1, 1) + n - 1;
        if (is_leap(y) && n >= 60) {
            day++;
        }
    } else if (r->kind == 'N') {
        day = days_from_civil(y, 1, 1) + r->n;
    } else {
        int64_t first = days_from_civil(y, (unsigned)r->m, 1);
        int wd = (int)((first + 4) % 7); /* 1970-01-01 was a Thursday (4) */
        int dd;
        if (wd < 0) {
            wd += 7;
        }
        dd = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;
        while (dd > mdays(y, r->m)) {
            dd -= 7;
        }
        day = first + dd - 1;
    }
    return day * 86400 + r->time;
}

static long
rule_offset(const struct sq_tz *z, int64_t t, int *isdst)
{
    int64_t y;
    int64_t days;

    *isdst = 0;
    if (!z->has_dst) {
        return z->std_off;
    }
    /* Year of t in standard time. */
    days = (t + z->std_off) / 86400 - ((t + z->std_off) % 86400 < 0);
    {
        int64_t z0 = days + 719468;
        int64_t era = (z0 >= 0 ? z0 : z0 - 146096) / 146097;
        unsigned doe = (unsigned)(z0 - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        unsigned m = mp < 10 ? mp + 3 : mp - 9;
        y = (int64_t)yoe + era * 400 + (m <= 2);
    }
    {
        int64_t start = rule_local(&z->start, y) - z->std_off;
        int64_t end = rule_local(&z->end, y) - z->dst_off;
        bool in;
        if (start < end) {
            in = t >= start && t < end;
        } else { /* southern hemisphere: DST spans the new year */
            in = !(t >= end && t < start);
        }
        *isdst = in;
        return in ? z->dst_off : z->std_off;
    }
}

/* ---- TZif ------------------------------------------------------------- */

static int
parse_tzif(struct sq_tz *z, const unsigned char *d, size_t len,
           syncq_error *err)
{
    const unsigned char *p = d;
    int64_t cnt[6];
    int tsize = 4;
    size_t block;

    if (len < 44 || memcmp(d, "TZif", 4) != 0) {
        return sq_fail(err, SYNCQ_EPROTO, "zone %s: not a TZif file", z->name);
    }
    for (int i = 0; i < 6; i++) {
        cnt[i] = be(d + 20 + 4 * i, 4);
        if (cnt[i] < 0 || cnt[i] > 100000) {
            return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad TZif counts",
                           z->name);
        }
    }
    block = (size_t)(cnt[3] * 4 + cnt[3] + cnt[4] * 6 + cnt[5] + cnt[2] * 8 +
                     cnt[1] + cnt[0]);
    if (d[4] >= '2') {
        /* Skip the v1 block; use the 64-bit one. */
        p = d + 44 + block;
        if ((size_t)(p - d) + 44 > len || memcmp(p, "TZif", 4) != 0) {
            return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad TZif v2 header",
                           z->name);
        }
        for (int i = 0; i < 6; i++) {
            cnt[i] = be(p + 20 + 4 * i, 4);
            if (cnt[i] < 0 || cnt[i] > 100000) {
                return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad TZif counts",
                               z->name);
            }
        }
        tsize = 8;
        block = (size_t)(cnt[3] * 8 + cnt[3] + cnt[4] * 6 + cnt[5] +
                         cnt[2] * 12 + cnt[1] + cnt[0]);
    }
    p += 44;
    if ((size_t)(p - d) + block > len || cnt[4] == 0) {
        return sq_fail(err, SYNCQ_EPROTO, "zone %s: truncated TZif", z->name);
    }
    z->ntrans = (size_t)cnt[3];
    z->ntypes = (size_t)cnt[4];
    z->trans = sq_calloc(z->ntrans + 1, sizeof *z->trans);
    z->idx = sq_calloc(z->ntrans + 1, 1);
    z->type_off = sq_calloc(z->ntypes, sizeof *z->type_off);
    z->type_dst = sq_calloc(z->ntypes, 1);
    if (!z->trans || !z->idx || !z->type_off || !z->type_dst) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory loading zone");
    }
    for (size_t i = 0; i < z->ntrans; i++) {
        z->trans[i] = be(p + i * (size_t)tsize, tsize);
    }
    p += z->ntrans * (size_t)tsize;
    for (size_t i = 0; i < z->ntrans; i++) {
        z->idx[i] = p[i];
        if (p[i] >= z->ntypes) {
            return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad type index",
                           z->name);
        }
    }
    p += z->ntrans;
    for (size_t i = 0; i < z->ntypes; i++) {
        z->type_off[i] = (long)be(p + 6 * i, 4);
        z->type_dst[i] = p[6 * i + 4];
    }
    p += 6 * z->ntypes;
    /* RFC 8536 3.2: the first standard-time type applies before the first
     * transition (type 0 in practice). */
    z->first_off = z->type_off[0];
    p += cnt[5] + cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
    if (tsize == 8 && (size_t)(p - d) < len && *p == '\n') {
        const unsigned char *e = memchr(p + 1, '\n', len - (size_t)(p - d) - 1);
        if (e != NULL && e > p + 1) {
            char footer[128];
            size_t n = (size_t)(e - p - 1);
            if (n < sizeof footer) {
                memcpy(footer, p + 1, n);
                footer[n] = '\0';
                if (!parse_rule(z, footer)) {
                    z->has_rule = false;
                }
            }
        }
    }
    return SYNCQ_OK;
}

static bool
valid_name(const char *name)
{
    if (name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 100) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '/' || *p == '_' ||
              *p == '-' || *p == '+')) {
            return false;
        }
    }
    return true;
}

static void
tz_free(struct sq_tz *z)
{
    if (z == NULL) {
        return;
    }
    sq_free(z->trans);
    sq_free(z->idx);
    sq_free(z->type_off);
    sq_free(z->type_dst);
    sq_free(z);
}

static int
load(const char *name, struct sq_tz **out, syncq_error *err)
{
    char path[512];
    FILE *f;
    unsigned char *buf;
    size_t len;
    struct sq_tz *z;
    int rc;

    snprintf(path, sizeof path, "%s/%s", TZDIR, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return sq_fail(err, SYNCQ_ENOTFOUND,
                       "unknown time zone '%s' (no %s; use an IANA name like "
                       "Asia/Shanghai)",
                       name, path);
    }
    buf = sq_malloc(1 << 20);
    if (buf == NULL) {
        fclose(f);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory loading zone");
    }
    len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    z = sq_calloc(1, sizeof *z);
    if (z == NULL) {
        sq_free(buf);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory loading zone");
    }
    snprintf(z->name, sizeof z->name, "%s", name);
    rc = parse_tzif(z, buf, len, err);
    sq_free(buf);
    if (rc != SYNCQ_OK) {
        tz_free(z);
        return rc;
    }
    *out = z;
    return SYNCQ_OK;
}

int
sq_tz_get(const char *name, const struct sq_tz **out, syncq_error *err)
{
    struct sq_tz *z = NULL;
    int rc = SYNCQ_OK;

    *out = NULL;
    if (name == NULL || name[0] == '\0' || strcmp(name, "UTC") == 0 ||
        strcmp(name, "Etc/UTC") == 0 || strcmp(name, "Z") == 0) {
        *out = &utc_zone;
        return SYNCQ_OK;
    }
    if (!valid_name(name)) {
        return sq_fail(err, SYNCQ_EINVAL, "bad time zone name '%.64s'", name);
    }
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < ncache; i++) {
        if (strcmp(cache[i]->name, name) == 0) {
            *out = cache[i];
            pthread_mutex_unlock(&cache_lock);
            return SYNCQ_OK;
        }
    }
    if (ncache >= MAX_ZONES) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "too many time zones in use");
    } else {
        rc = load(name, &z, err);
        if (rc == SYNCQ_OK) {
            cache[ncache++] = z;
            *out = z;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

const char *
sq_tz_name(const struct sq_tz *tz)
{
    return tz != NULL ? tz->name : "UTC";
}

static long
offset_dst(const struct sq_tz *z, int64_t t, int *isdst)
{
    size_t lo = 0, hi;

    *isdst = 0;
    if (z == NULL || z == &utc_zone) {
        return 0;
    }
    if (z->ntrans == 0 || t < z->trans[0]) {
        if (z->ntrans == 0 && z->has_rule) {
            return rule_offset(z, t, isdst);
        }
        return z->first_off;
    }
    if (t >= z->trans[z->ntrans - 1] && z->has_rule) {
        return rule_offset(z, t, isdst);
    }
    hi = z->ntrans;
    while (hi - lo > 1) { /* last transition <= t */
        size_t mid = (lo + hi) / 2;
        if (z->trans[mid] <= t) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    *isdst = z->type_dst[z->idx[lo]];
    return z->type_off[z->idx[lo]];
}

long
sq_tz_offset_at(const struct sq_tz *tz, int64_t epoch_s)
{
    int dst;

    return offset_dst(tz, epoch_s, &dst);
}

int
sq_tz_to_local(const struct sq_tz *tz, int64_t epoch_s, struct tm *out)
{
    int dst;
    long off = offset_dst(tz, epoch_s, &dst);
    time_t t = (time_t)(epoch_s + off);

    gmtime_r(&t, out);
    out->tm_isdst = dst;
    out->tm_gmtoff = off;
    return 0;
}

int
sq_tz_from_local(const struct sq_tz *tz, int year, int month, int day,
                 int hour, int min, int sec, int64_t out[2])
{
    int64_t L = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 +
                hour * 3600 + min * 60 + sec;
    long offs[3];
    int n = 0;

    offs[0] = sq_tz_offset_at(tz, L - 2 * 86400);
    offs[1] = sq_tz_offset_at(tz, L);
    offs[2] = sq_tz_offset_at(tz, L + 2 * 86400);
    for (int i = 0; i < 3; i++) {
        int64_t t = L - offs[i];
        bool dup = false;
        if (sq_tz_offset_at(tz, t) != offs[i]) {
            continue;
        }
        for (int j = 0; j < n; j++) {
            if (out[j] == t) {
                dup = true;
            }
        }
        if (!dup && n < 2) {
            out[n++] = t;
        }
    }
    if (n == 2 && out[0] > out[1]) {
        int64_t tmp = out[0];
        out[0] = out[1];
        out[1] = tmp;
    }
    return n;
}

int
sq_tz_localtime(const char *name, int64_t epoch_s, struct tm *out,
                long *gmtoff)
{
    const struct sq_tz *z;

    if (sq_tz_get(name, &z, NULL) != SYNCQ_OK) {
        return -1;
    }
    sq_tz_to_local(z, epoch_s, out);
    if (gmtoff != NULL) {
        *gmtoff = out->tm_gmtoff;
    }
    return 0;
}
