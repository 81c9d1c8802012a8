/* SPDX-License-Identifier: MIT
 *
 * sq_tz.c: a reader of the system tz database (TZif versions 1-4, RFC
 * 8536) with the POSIX TZ footer rule (POSIX.1-2017 8.3 "std offset dst
 * [offset],start[/time],end[/time]", hours up to 167 as RFC 8536 3.3.1
 * allows) for instants after the last listed transition. Reentrant and
 * thread-safe, unlike setenv("TZ") + tzset(). Zones are loaded once and
 * cached (mutex-protected) for the process life.
 *
 * Everything read from a file is bounds-checked: a truncated or hostile
 * TZif gives SYNCQ_EPROTO, never an out-of-bounds read or an overflow.
 * Instants are clamped to years -9999..9999 for calendar arithmetic, so
 * no input can overflow an int64_t.
 */
#include "core/sq_tz.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TZDIR "/usr/share/zoneinfo"
#define MAX_ZONES 1024 /* the tz database has ~600 names */
#define MAX_TZIF_BYTES (1 << 20)
/* Instants outside this range are clamped before calendar arithmetic
 * (about year -9999 to year 9999). */
#define MIN_T (-377705116800LL)
#define MAX_T (253402300799LL)
/* RFC 8536 3.2: utoff must be in -89999..93599 (about -25 h .. +26 h). */
#define MIN_OFF (-89999L)
#define MAX_OFF (93599L)

struct rule_date {
    char kind; /* 'J' julian 1..365 no leap, 'N' 0..365, 'M' month.week.day */
    int m, w, d, n;
    long time; /* seconds after local midnight (-167 h .. 167 h) */
};

struct sq_tz {
    char name[128];
    bool cached; /* owned by the cache (or the static UTC zone) */
    size_t ntrans;
    int64_t *trans;     /* transition instants, ascending */
    unsigned char *idx; /* type index after each transition */
    size_t ntypes;
    long *type_off; /* UT offset of each type, seconds east */
    unsigned char *type_dst;
    long first_off; /* offset before the first transition */
    int first_dst;
    /* footer rule (or the whole zone for sq_tz_parse_posix) */
    bool has_rule;
    bool has_dst;
    long std_off, dst_off; /* seconds east */
    struct rule_date start, end;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sq_tz *cache[MAX_ZONES];
static size_t ncache;

static struct sq_tz utc_zone = {.name = "UTC", .cached = true};

/* ---- calendar ---------------------------------------------------------- */

/* Howard Hinnant's algorithms,
 * http://howardhinnant.github.io/date_algorithms.html */
int64_t
sq_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
sq_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);

    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = mm;
    *y = yoe + era * 400 + (mm <= 2);
}

int
sq_weekday_of_days(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */

    return (int)(w < 0 ? w + 7 : w);
}

static bool
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
sq_days_in_month(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m < 1 || m > 12) {
        return 0;
    }
    return (m == 2 && is_leap(y)) ? 29 : dm[m - 1];
}

static int64_t
clamp_t(int64_t t)
{
    return t < MIN_T ? MIN_T : t > MAX_T ? MAX_T : t;
}

/* Floor division of seconds into days. */
static int64_t
day_of(int64_t s)
{
    return s / 86400 - (s % 86400 < 0);
}

/* ---- POSIX TZ rule ----------------------------------------------------- */

/* Unsigned decimal of at most 6 digits and value <= max at *pp;
 * advances *pp past it. */
static bool
parse_num(const char **pp, long max, long *out)
{
    const char *p = *pp;
    long v = 0;
    int n = 0;

    while (isdigit((unsigned char)*p)) {
        if (++n > 6) {
            return false;
        }
        v = v * 10 + (*p++ - '0');
    }
    if (n == 0 || v > max) {
        return false;
    }
    *out = v;
    *pp = p;
    return true;
}

/* A zone abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static bool
skip_name(const char **pp)
{
    const char *s = *pp;
    const char *p = s;

    if (*p == '<') {
        p++;
        while (isalnum((unsigned char)*p) || *p == '+' || *p == '-') {
            p++;
        }
        if (*p != '>' || p == s + 1) {
            return false;
        }
        *pp = p + 1;
        return true;
    }
    while (isalpha((unsigned char)*p)) {
        p++;
    }
    if (p - s < 3) {
        return false;
    }
    *pp = p;
    return true;
}

/* [+-]hh[:mm[:ss]] -> seconds (hh <= 167). */
static bool
parse_hms(const char **pp, long *out)
{
    const char *p = *pp;
    int sign = 1;
    long h, m = 0, s = 0;

    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (!parse_num(&p, 167, &h)) {
        return false;
    }
    if (*p == ':') {
        p++;
        if (!parse_num(&p, 59, &m)) {
            return false;
        }
        if (*p == ':') {
            p++;
            if (!parse_num(&p, 59, &s)) {
                return false;
            }
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    *pp = p;
    return true;
}

/* Mm.w.d | Jn | n, then an optional /time. */
static bool
parse_date(const char **pp, struct rule_date *r)
{
    const char *p = *pp;
    long a, b, c;

    memset(r, 0, sizeof *r);
    r->time = 7200; /* 02:00 local by default */
    if (*p == 'M') {
        p++;
        r->kind = 'M';
        if (!parse_num(&p, 12, &a) || a < 1 || *p++ != '.' ||
            !parse_num(&p, 5, &b) || b < 1 || *p++ != '.' ||
            !parse_num(&p, 6, &c)) {
            return false;
        }
        r->m = (int)a;
        r->w = (int)b;
        r->d = (int)c;
    } else if (*p == 'J') {
        p++;
        r->kind = 'J';
        if (!parse_num(&p, 365, &a) || a < 1) {
            return false;
        }
        r->n = (int)a;
    } else {
        r->kind = 'N';
        if (!parse_num(&p, 365, &a)) {
            return false;
        }
        r->n = (int)a;
    }
    if (*p == '/') {
        p++;
        if (!parse_hms(&p, &r->time)) {
            return false;
        }
    }
    *pp = p;
    return true;
}

static bool
off_ok(long off)
{
    return off >= MIN_OFF && off <= MAX_OFF;
}

/* Parse a whole POSIX TZ string into z's rule fields. */
static bool
parse_rule(struct sq_tz *z, const char *s)
{
    const char *p = s;
    long off;

    if (!skip_name(&p) || !parse_hms(&p, &off) || !off_ok(-off)) {
        return false;
    }
    z->std_off = -off;
    z->dst_off = z->std_off + 3600;
    z->has_dst = false;
    if (*p == '\0') {
        z->has_rule = true;
        return true;
    }
    if (!skip_name(&p)) {
        return false;
    }
    if (*p != ',' && *p != '\0') {
        if (!parse_hms(&p, &off) || !off_ok(-off)) {
            return false;
        }
        z->dst_off = -off;
    }
    if (*p == '\0') {
        /* No dates: the US rules, as POSIX implementations default to. */
        z->start = (struct rule_date){'M', 3, 2, 0, 0, 7200};
        z->end = (struct rule_date){'M', 11, 1, 0, 0, 7200};
    } else {
        if (*p++ != ',' || !parse_date(&p, &z->start) || *p++ != ',' ||
            !parse_date(&p, &z->end) || *p != '\0') {
            return false;
        }
    }
    z->has_dst = true;
    z->has_rule = true;
    return true;
}

/* Local seconds (as if UTC) of the rule date in year y. */
static int64_t
rule_local(const struct rule_date *r, int64_t y)
{
    int64_t day;

    if (r->kind == 'J') {
        day = sq_days_from_civil(y, 1, 1) + r->n - 1;
        if (is_leap(y) && r->n >= 60) {
            day++; /* Jn never counts 29 February */
        }
    } else if (r->kind == 'N') {
        day = sq_days_from_civil(y, 1, 1) + r->n;
    } else {
        int64_t first = sq_days_from_civil(y, r->m, 1);
        int wd = sq_weekday_of_days(first);
        int dd = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;
        while (dd > sq_days_in_month(y, r->m)) {
            dd -= 7; /* week 5 means the last such weekday */
        }
        day = first + dd - 1;
    }
    return day * 86400 + r->time;
}

/* Instants (UTC) at which DST starts and ends in year y. */
static void
rule_instants(const struct sq_tz *z, int64_t y, int64_t *start, int64_t *end)
{
    *start = rule_local(&z->start, y) - z->std_off;
    *end = rule_local(&z->end, y) - z->dst_off;
}

static int64_t
std_year_of(const struct sq_tz *z, int64_t t)
{
    int64_t y;
    int m, d;

    sq_civil_from_days(day_of(t + z->std_off), &y, &m, &d);
    return y;
}

static long
rule_offset(const struct sq_tz *z, int64_t t, int *isdst)
{
    int64_t start, end;
    bool in;

    *isdst = 0;
    if (!z->has_dst) {
        return z->std_off;
    }
    rule_instants(z, std_year_of(z, t), &start, &end);
    if (start < end) {
        in = t >= start && t < end;
    } else { /* southern hemisphere: DST spans the new year */
        in = !(t >= end && t < start);
    }
    *isdst = in;
    return in ? z->dst_off : z->std_off;
}

/* ---- lookups ----------------------------------------------------------- */

static long
offset_dst(const struct sq_tz *z, int64_t t, int *isdst)
{
    size_t lo = 0, hi;

    *isdst = 0;
    if (z == NULL || z == &utc_zone) {
        return 0;
    }
    t = clamp_t(t);
    if (z->ntrans == 0) {
        if (z->has_rule) {
            return rule_offset(z, t, isdst);
        }
        *isdst = z->first_dst;
        return z->first_off;
    }
    if (t < z->trans[0]) {
        *isdst = z->first_dst;
        return z->first_off;
    }
    if (t >= z->trans[z->ntrans - 1] && z->has_rule) {
        return rule_offset(z, t, isdst);
    }
    hi = z->ntrans;
    while (hi - lo > 1) { /* last transition <= t */
        size_t mid = lo + (hi - lo) / 2;
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
    int64_t t = clamp_t(epoch_s);
    long off = offset_dst(tz, t, &dst);
    int64_t civil = t + off;
    int64_t days = day_of(civil);
    int64_t secs = civil - days * 86400;
    int64_t y;
    int m, d;

    memset(out, 0, sizeof *out);
    sq_civil_from_days(days, &y, &m, &d);
    out->tm_year = (int)(y - 1900);
    out->tm_mon = m - 1;
    out->tm_mday = d;
    out->tm_hour = (int)(secs / 3600);
    out->tm_min = (int)(secs % 3600 / 60);
    out->tm_sec = (int)(secs % 60);
    out->tm_wday = sq_weekday_of_days(days);
    out->tm_yday = (int)(days - sq_days_from_civil(y, 1, 1));
    out->tm_isdst = dst;
    out->tm_gmtoff = off;
    return 0;
}

/* Offset just before instant t (at t - 1). */
static long
off_before(const struct sq_tz *z, int64_t t)
{
    return sq_tz_offset_at(z, t - 1);
}

/* Rule transitions of years y-1..y+2 that change the offset, filtered by
 * `keep`; picks the smallest (want_min) or largest. */
static int
rule_pick(const struct sq_tz *z, int64_t t, bool want_min, int64_t lo_excl,
          int64_t hi_incl, int64_t *best)
{
    int64_t y = std_year_of(z, clamp_t(t));
    int found = 0;

    for (int64_t yy = y - 1; yy <= y + 2; yy++) {
        int64_t c[2];
        rule_instants(z, yy, &c[0], &c[1]);
        for (int i = 0; i < 2; i++) {
            if (c[i] <= lo_excl || c[i] > hi_incl) {
                continue;
            }
            if (off_before(z, c[i]) == sq_tz_offset_at(z, c[i])) {
                continue;
            }
            if (!found || (want_min ? c[i] < *best : c[i] > *best)) {
                *best = c[i];
                found = 1;
            }
        }
    }
    return found;
}

static void
fill_tr(const struct sq_tz *z, int64_t at, int64_t *at_s, long *ob, long *oa)
{
    if (at_s != NULL) {
        *at_s = at;
    }
    if (ob != NULL) {
        *ob = off_before(z, at);
    }
    if (oa != NULL) {
        *oa = sq_tz_offset_at(z, at);
    }
}

int
sq_tz_next_transition(const struct sq_tz *tz, int64_t after_s, int64_t *at_s,
                      long *off_b, long *off_a)
{
    const struct sq_tz *z = tz;
    int64_t last = INT64_MIN;

    if (z == NULL || z == &utc_zone || after_s >= MAX_T) {
        return 0;
    }
    if (z->ntrans > 0) {
        size_t lo = 0, hi = z->ntrans;
        last = z->trans[z->ntrans - 1];
        while (lo < hi) { /* first transition > after_s */
            size_t mid = lo + (hi - lo) / 2;
            if (z->trans[mid] <= after_s) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (size_t i = lo; i < z->ntrans; i++) {
            long before = i == 0 ? z->first_off : z->type_off[z->idx[i - 1]];
            if (before != z->type_off[z->idx[i]]) {
                fill_tr(z, z->trans[i], at_s, off_b, off_a);
                return 1;
            }
        }
    }
    if (z->has_rule && z->has_dst) {
        int64_t from = after_s > last ? after_s : last;
        int64_t best;
        /* A rule year holds two transitions, so four years always hold
         * the next one unless the rule never changes the offset. */
        if (rule_pick(z, from, true, from, MAX_T, &best)) {
            fill_tr(z, best, at_s, off_b, off_a);
            return 1;
        }
    }
    return 0;
}

int
sq_tz_prev_transition(const struct sq_tz *tz, int64_t t, int64_t *at_s,
                      long *off_b, long *off_a)
{
    const struct sq_tz *z = tz;
    int64_t last = INT64_MIN;

    if (z == NULL || z == &utc_zone || t <= MIN_T) {
        return 0;
    }
    if (z->ntrans > 0) {
        last = z->trans[z->ntrans - 1];
    }
    if (z->has_rule && z->has_dst && t > last) {
        int64_t best;
        if (rule_pick(z, t - 366LL * 86400, false, last, t, &best) ||
            rule_pick(z, t, false, last, t, &best)) {
            fill_tr(z, best, at_s, off_b, off_a);
            return 1;
        }
    }
    if (z->ntrans > 0) {
        size_t lo = 0, hi = z->ntrans;
        while (lo < hi) { /* first transition > t */
            size_t mid = lo + (hi - lo) / 2;
            if (z->trans[mid] <= t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (size_t i = lo; i-- > 0;) {
            long before = i == 0 ? z->first_off : z->type_off[z->idx[i - 1]];
            if (before != z->type_off[z->idx[i]]) {
                fill_tr(z, z->trans[i], at_s, off_b, off_a);
                return 1;
            }
        }
    }
    return 0;
}

int
sq_tz_from_civil(const struct sq_tz *tz, int64_t civil_s, int64_t out[2])
{
    /* The instant lies within about 26 h of the civil time (RFC 8536
     * offset bounds), so the offsets in force over that window are the
     * only candidates: the one at its start and the one after each
     * transition inside it. */
    long offs[24];
    int noffs = 0;
    int64_t res[24];
    int nres = 0;
    int64_t t, lo, hi;

    civil_s = clamp_t(civil_s);
    lo = civil_s - MAX_OFF - 3600;
    hi = civil_s - MIN_OFF + 3600;
    offs[noffs++] = sq_tz_offset_at(tz, lo);
    t = lo;
    while (noffs < 24) {
        int64_t at;
        long oa;
        if (!sq_tz_next_transition(tz, t, &at, NULL, &oa) || at > hi) {
            break;
        }
        offs[noffs++] = oa;
        t = at;
    }
    for (int i = 0; i < noffs; i++) {
        int64_t cand = civil_s - offs[i];
        bool dup = false;
        if (sq_tz_offset_at(tz, cand) != offs[i]) {
            continue;
        }
        for (int j = 0; j < nres; j++) {
            dup = dup || res[j] == cand;
        }
        if (!dup) {
            res[nres++] = cand;
        }
    }
    /* ascending (insertion sort: at most a handful) */
    for (int i = 1; i < nres; i++) {
        for (int j = i; j > 0 && res[j - 1] > res[j]; j--) {
            int64_t tmp = res[j];
            res[j] = res[j - 1];
            res[j - 1] = tmp;
        }
    }
    if (nres > 0) {
        out[0] = res[0];
    }
    if (nres > 1) {
        out[1] = res[nres - 1];
        nres = 2;
    }
    return nres;
}

int
sq_tz_from_local(const struct sq_tz *tz, int year, int month, int day, int hour,
                 int min, int sec, int64_t out[2])
{
    int64_t L = sq_days_from_civil(year, month, day) * 86400 +
                (int64_t)hour * 3600 + min * 60 + sec;

    return sq_tz_from_civil(tz, L, out);
}

/* ---- TZif -------------------------------------------------------------- */

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

/* Read the six header counts at `h` (a "TZif" header of 44 bytes). */
static int
read_counts(const struct sq_tz *z, const unsigned char *h, int64_t cnt[6],
            syncq_error *err)
{
    for (int i = 0; i < 6; i++) {
        cnt[i] = (int64_t)(uint32_t)be(h + 20 + 4 * i, 4);
        if (cnt[i] > 100000) {
            return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad TZif counts",
                           z->name);
        }
    }
    /* cnt: isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
    if (cnt[4] == 0 || cnt[4] > 256 || (cnt[0] != 0 && cnt[0] != cnt[4]) ||
        (cnt[1] != 0 && cnt[1] != cnt[4])) {
        return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad TZif type counts",
                       z->name);
    }
    return SYNCQ_OK;
}

static size_t
block_size(const int64_t cnt[6], int tsize)
{
    return (size_t)(cnt[3] * tsize + cnt[3] + cnt[4] * 6 + cnt[5] +
                    cnt[2] * (tsize + 4) + cnt[1] + cnt[0]);
}

static int
parse_tzif(struct sq_tz *z, const unsigned char *d, size_t len,
           syncq_error *err)
{
    const unsigned char *p = d;
    const unsigned char *endp = d + len;
    int64_t cnt[6];
    int tsize = 4;
    size_t block;
    int rc;

    if (len < 44 || memcmp(d, "TZif", 4) != 0) {
        return sq_fail(err, SYNCQ_EPROTO, "zone %s: not a TZif file", z->name);
    }
    rc = read_counts(z, d, cnt, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    block = block_size(cnt, 4);
    if (d[4] >= '2') {
        /* Skip the v1 block; use the 64-bit one. */
        if (block > len - 44 || len - 44 - block < 44) {
            return sq_fail(err, SYNCQ_EPROTO, "zone %s: truncated TZif",
                           z->name);
        }
        p = d + 44 + block;
        if (memcmp(p, "TZif", 4) != 0) {
            return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad TZif v2 header",
                           z->name);
        }
        rc = read_counts(z, p, cnt, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        tsize = 8;
        block = block_size(cnt, 8);
    }
    p += 44;
    if (block > (size_t)(endp - p)) {
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
        if (i > 0 && z->trans[i] <= z->trans[i - 1]) {
            return sq_fail(err, SYNCQ_EPROTO,
                           "zone %s: TZif transitions out of order", z->name);
        }
    }
    p += z->ntrans * (size_t)tsize;
    for (size_t i = 0; i < z->ntrans; i++) {
        if (p[i] >= z->ntypes) {
            return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad type index",
                           z->name);
        }
        z->idx[i] = p[i];
    }
    p += z->ntrans;
    for (size_t i = 0; i < z->ntypes; i++) {
        long off = (long)be(p + 6 * i, 4);
        if (!off_ok(off) || p[6 * i + 4] > 1) {
            return sq_fail(err, SYNCQ_EPROTO, "zone %s: bad local time type",
                           z->name);
        }
        z->type_off[i] = off;
        z->type_dst[i] = p[6 * i + 4];
    }
    p += 6 * z->ntypes;
    /* RFC 8536 3.2: time type 0 applies before the first transition. */
    z->first_off = z->type_off[0];
    z->first_dst = z->type_dst[0];
    p += cnt[5] + cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
    if (tsize == 8 && p < endp && *p == '\n') {
        const unsigned char *e = memchr(p + 1, '\n', (size_t)(endp - p - 1));
        if (e != NULL && e > p + 1) {
            char footer[128];
            size_t n = (size_t)(e - p - 1);
            if (n < sizeof footer) {
                memcpy(footer, p + 1, n);
                footer[n] = '\0';
                if (!parse_rule(z, footer)) {
                    /* An unusable footer: the table alone still answers
                     * for every instant it covers. */
                    z->has_rule = false;
                    z->has_dst = false;
                }
            }
        }
    }
    return SYNCQ_OK;
}

void
sq_tz_free(struct sq_tz *z)
{
    if (z == NULL || z->cached) {
        return;
    }
    sq_free(z->trans);
    sq_free(z->idx);
    sq_free(z->type_off);
    sq_free(z->type_dst);
    sq_free(z);
}

int
sq_tz_parse_tzif(const char *name, const unsigned char *data, size_t len,
                 struct sq_tz **out, syncq_error *err)
{
    struct sq_tz *z;
    int rc;

    *out = NULL;
    z = sq_calloc(1, sizeof *z);
    if (z == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory loading zone");
    }
    snprintf(z->name, sizeof z->name, "%s", name ? name : "?");
    rc = parse_tzif(z, data, len, err);
    if (rc != SYNCQ_OK) {
        sq_tz_free(z);
        return rc;
    }
    *out = z;
    return SYNCQ_OK;
}

int
sq_tz_parse_posix(const char *rule, struct sq_tz **out, syncq_error *err)
{
    struct sq_tz *z;

    *out = NULL;
    if (rule == NULL || strlen(rule) >= sizeof z->name) {
        return sq_fail(err, SYNCQ_EINVAL, "bad POSIX TZ rule");
    }
    z = sq_calloc(1, sizeof *z);
    if (z == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory loading zone");
    }
    snprintf(z->name, sizeof z->name, "%s", rule);
    if (!parse_rule(z, rule)) {
        sq_tz_free(z);
        return sq_fail(err, SYNCQ_EINVAL, "bad POSIX TZ rule '%.64s'", rule);
    }
    *out = z;
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

static int
load(const char *name, struct sq_tz **out, syncq_error *err)
{
    char path[512];
    struct stat st;
    FILE *f;
    unsigned char *buf;
    size_t len;
    int rc;

    snprintf(path, sizeof path, "%s/%s", TZDIR, name);
    f = fopen(path, "rb");
    if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f != NULL) {
            fclose(f);
        }
        return sq_fail(err, SYNCQ_ENOTFOUND,
                       "unknown time zone '%s' (no zone file %s; use an "
                       "IANA name like Asia/Shanghai)",
                       name, path);
    }
    if (st.st_size > MAX_TZIF_BYTES) {
        fclose(f);
        return sq_fail(err, SYNCQ_EPROTO, "zone file %s is too large", path);
    }
    buf = sq_malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory loading zone");
    }
    len = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    rc = sq_tz_parse_tzif(name, buf, len, out, err);
    sq_free(buf);
    return rc;
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
        return sq_fail(err, SYNCQ_EINVAL,
                       "bad time zone name '%.64s' (use an IANA name like "
                       "Asia/Shanghai)",
                       name);
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
        rc = sq_fail(err, SYNCQ_ENOMEM, "too many time zones in use (%d)",
                     MAX_ZONES);
    } else {
        rc = load(name, &z, err);
        if (rc == SYNCQ_OK) {
            z->cached = true;
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

int
sq_tz_localtime(const char *name, int64_t epoch_s, struct tm *out, long *gmtoff)
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
