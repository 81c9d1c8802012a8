/* SPDX-License-Identifier: MIT
 *
 * beat_cron.c: cron expression parser and evaluator (see beat_cron.h for
 * the syntax and the DST policy). Fields become bit sets; the next fire
 * time is found on civil (wall-clock) seconds field by field, and the
 * zone is handled one offset segment at a time between the zone's
 * transitions (sq_tz_next_transition), which is where gaps and repeats
 * are decided. Pure computation: no I/O, no global state, no allocation
 * except the parsed expression itself.
 */
#include "beat/beat_cron.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum field_kind { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };

struct field_spec {
    const char *name;         /* for messages: "minute" */
    int lo, hi;               /* accepted numbers (day-of-week accepts 7) */
    const char *const *names; /* 3-letter names, names[0] = value lo_name */
    int lo_name;
};

static const char *const mon_names[] = {"jan", "feb", "mar", "apr", "may",
                                        "jun", "jul", "aug", "sep", "oct",
                                        "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat", NULL};

static const struct field_spec specs[] = {
    [F_SEC] = {"second", 0, 59, NULL, 0},
    [F_MIN] = {"minute", 0, 59, NULL, 0},
    [F_HOUR] = {"hour", 0, 23, NULL, 0},
    [F_DOM] = {"day-of-month", 1, 31, NULL, 0},
    [F_MON] = {"month", 1, 12, mon_names, 1},
    [F_DOW] = {"day-of-week", 0, 7, dow_names, 0},
};

static const struct {
    const char *name;
    const char *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},  {NULL, NULL},
};

/* ---- parsing ----------------------------------------------------------- */

/* A number (up to 4 digits) or a name of the field. Advances *pp. */
static int
parse_value(const char **pp, enum field_kind k, int *out, syncq_error *err)
{
    const struct field_spec *f = &specs[k];
    const char *p = *pp;
    int v = 0, n = 0;

    if (isdigit((unsigned char)*p)) {
        while (isdigit((unsigned char)*p)) {
            if (++n > 4) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "%s value '%.12s' is too "
                               "long",
                               f->name, *pp);
            }
            v = v * 10 + (*p++ - '0');
        }
    } else if (isalpha((unsigned char)*p) && f->names != NULL) {
        int i;
        for (i = 0; f->names[i] != NULL; i++) {
            if (strncasecmp(p, f->names[i], 3) == 0 &&
                !isalpha((unsigned char)p[3])) {
                break;
            }
        }
        if (f->names[i] == NULL) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s name '%.12s' is unknown "
                           "(use %s..%s or numbers)",
                           f->name, p, f->names[0], k == F_MON ? "dec" : "sat");
        }
        v = f->lo_name + i;
        p += 3;
    } else {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s field: expected a number%s at "
                       "'%.12s'",
                       f->name, f->names ? " or a name" : "", *p ? p : "(end)");
    }
    if (v < f->lo || v > f->hi) {
        return sq_fail(err, SYNCQ_EINVAL, "%s %d out of range %d-%d", f->name,
                       v, f->lo, k == F_DOW ? 7 : f->hi);
    }
    *pp = p;
    *out = v;
    return SYNCQ_OK;
}

static int
parse_step(const char **pp, enum field_kind k, int span, int *out,
           syncq_error *err)
{
    const char *p = *pp;
    int v = 0, n = 0;

    while (isdigit((unsigned char)*p)) {
        if (++n > 4) {
            break;
        }
        v = v * 10 + (*p++ - '0');
    }
    if (n == 0 || n > 4 || v < 1) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s step must be a number >= 1, "
                       "at '%.12s'",
                       specs[k].name, *pp);
    }
    if (v > span) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s step %d is larger than the "
                       "range (%d values)",
                       specs[k].name, v, span);
    }
    *pp = p;
    *out = v;
    return SYNCQ_OK;
}

static void
set_bit(struct sq_cron *c, enum field_kind k, int v)
{
    switch (k) {
    case F_SEC:
        c->sec |= 1ULL << v;
        break;
    case F_MIN:
        c->min |= 1ULL << v;
        break;
    case F_HOUR:
        c->hour |= 1U << v;
        break;
    case F_DOM:
        c->dom |= 1U << v;
        break;
    case F_MON:
        c->mon |= (uint16_t)(1U << v);
        break;
    case F_DOW:
        c->dow |= (uint8_t)(1U << (v % 7));
        break;
    }
}

/* One list item of field k, from p to end (exclusive). */
static int
parse_item(struct sq_cron *c, enum field_kind k, const char *p, const char *end,
           syncq_error *err)
{
    const struct field_spec *f = &specs[k];
    int hi_max = k == F_DOW ? 6 : f->hi;
    int a, b, step = 1;
    int rc;

    if (*p == '*' || *p == '?') {
        if (*p == '?' && k != F_DOM && k != F_DOW) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "'?' is only allowed in the "
                           "day fields, not in %s",
                           f->name);
        }
        a = f->lo;
        b = hi_max;
        p++;
        if (*p == '/' && p[-1] == '*') {
            p++;
            rc = parse_step(&p, k, b - a + 1, &step, err);
            if (rc != SYNCQ_OK) {
                return rc;
            }
        }
    } else if (k == F_DOM && (*p == 'L' || *p == 'l')) {
        long n = 0;
        p++;
        if (*p == '-') {
            int digits = 0;
            p++;
            while (isdigit((unsigned char)*p) && digits < 3) {
                n = n * 10 + (*p++ - '0');
                digits++;
            }
            if (digits == 0 || n > 30) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "day-of-month 'L-n' needs "
                               "n in 0-30");
            }
        }
        if (p != end) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "day-of-month: unexpected "
                           "'%.*s' after L",
                           (int)(end - p), p);
        }
        if (c->dom_last >= 0 && c->dom_last != (int8_t)n) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "day-of-month: only one L "
                           "item is allowed");
        }
        c->dom_last = (int8_t)n;
        return SYNCQ_OK;
    } else {
        rc = parse_value(&p, k, &a, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (k == F_DOW && (*p == 'L' || *p == 'l')) {
            if (p + 1 != end) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "day-of-week: unexpected "
                               "'%.*s' after %dL",
                               (int)(end - p - 1), p + 1, a);
            }
            c->dow_last |= (uint8_t)(1U << (a % 7));
            return SYNCQ_OK;
        }
        if (k == F_DOW && *p == '#') {
            int n = 0;
            p++;
            if (!isdigit((unsigned char)*p) || p + 1 != end) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "day-of-week '#' needs a "
                               "week number 1-5");
            }
            n = *p - '0';
            if (n < 1 || n > 5) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "day-of-week #%d out of "
                               "range 1-5",
                               n);
            }
            c->dow_nth[a % 7] |= (uint8_t)(1U << n);
            return SYNCQ_OK;
        }
        b = a;
        if (*p == '-') {
            p++;
            rc = parse_value(&p, k, &b, err);
            if (rc != SYNCQ_OK) {
                return rc;
            }
            if (k == F_DOW && b == 0 && a > 0) {
                b = 7; /* fri-sun: Sunday counted as 7 */
            }
            if (b < a) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "%s range %d-%d is "
                               "backwards",
                               f->name, a, b);
            }
            if (*p == '/') {
                p++;
                rc = parse_step(&p, k, b - a + 1, &step, err);
                if (rc != SYNCQ_OK) {
                    return rc;
                }
            }
        } else if (*p == '/') {
            /* "10/5": from 10 to the end of the range, every 5; in
             * day-of-week the end is 7 (Sunday), as Vixie cron and
             * croniter read "a/s" as "a-7/s" */
            p++;
            b = f->hi;
            rc = parse_step(&p, k, b - a + 1, &step, err);
            if (rc != SYNCQ_OK) {
                return rc;
            }
        }
    }
    if (p != end) {
        return sq_fail(err, SYNCQ_EINVAL, "%s field: unexpected '%.*s'",
                       f->name, (int)(end - p), p);
    }
    for (int v = a; v <= b; v += step) {
        set_bit(c, k, v);
    }
    return SYNCQ_OK;
}

static int
parse_field(struct sq_cron *c, enum field_kind k, const char *s, size_t len,
            syncq_error *err)
{
    const char *p = s;
    const char *end = s + len;

    if (k == F_DOM) {
        c->dom_star = (*s == '*' || *s == '?');
    } else if (k == F_DOW) {
        c->dow_star = (*s == '*' || *s == '?');
    } else if (k == F_HOUR) {
        c->hour_wild = (*s == '*' || memchr(s, '/', len) != NULL);
    }
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        int rc;
        if (e == p) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s field has an empty list "
                           "item",
                           specs[k].name);
        }
        rc = parse_item(c, k, p, e, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        p = comma ? e + 1 : end;
        if (comma != NULL && p == end) {
            return sq_fail(err, SYNCQ_EINVAL, "%s field ends with ','",
                           specs[k].name);
        }
    }
    return SYNCQ_OK;
}

/* ---- matching ---------------------------------------------------------- */

static bool
day_matches(const struct sq_cron *c, int64_t y, int m, int d, int mdays)
{
    int wd = sq_weekday_of_days(sq_days_from_civil(y, m, d));
    bool dom_ok = (c->dom >> d) & 1U;
    bool dow_ok = (c->dow >> wd) & 1U;

    if (c->dom_last >= 0 && d == mdays - c->dom_last) {
        dom_ok = true;
    }
    if (((c->dow_last >> wd) & 1U) && d + 7 > mdays) {
        dow_ok = true;
    }
    if ((c->dow_nth[wd] >> ((d - 1) / 7 + 1)) & 1U) {
        dow_ok = true;
    }
    if (c->dom_star || c->dow_star) {
        return dom_ok && dow_ok;
    }
    return dom_ok || dow_ok;
}

static int
next_bit(uint64_t bits, int from, int max)
{
    uint64_t m;
    int r;

    if (from > max || from > 63) {
        return -1;
    }
    m = bits >> from;
    if (m == 0) {
        return -1;
    }
    r = from + __builtin_ctzll(m);
    return r <= max ? r : -1;
}

int64_t
sq_cron_next_civil(const struct sq_cron *c, int64_t after)
{
    int64_t t, days, rem, y, ylimit;
    int m, d, h, mi, s;

    if (after >= 253402300799LL) {
        return SQ_CRON_NONE;
    }
    t = after + 1;
    days = t / 86400 - (t % 86400 < 0);
    rem = t - days * 86400;
    h = (int)(rem / 3600);
    mi = (int)(rem % 3600 / 60);
    s = (int)(rem % 60);
    sq_civil_from_days(days, &y, &m, &d);
    ylimit = y + 401;
    for (;;) {
        int md, nh, nmi, ns;
        if (y > ylimit || y > 9999) {
            return SQ_CRON_NONE;
        }
        if (!((c->mon >> m) & 1U)) {
            int nm = next_bit(c->mon, m + 1, 12);
            if (nm < 0) {
                y++;
                m = next_bit(c->mon, 1, 12);
            } else {
                m = nm;
            }
            d = 1;
            h = mi = s = 0;
            continue;
        }
        md = sq_days_in_month(y, m);
        if (d > md) {
            if (++m > 12) {
                m = 1;
                y++;
            }
            d = 1;
            h = mi = s = 0;
            continue;
        }
        if (!day_matches(c, y, m, d, md)) {
            d++;
            h = mi = s = 0;
            continue;
        }
        nh = next_bit(c->hour, h, 23);
        if (nh < 0) {
            d++;
            h = mi = s = 0;
            continue;
        }
        if (nh != h) {
            h = nh;
            mi = s = 0;
        }
        nmi = next_bit(c->min, mi, 59);
        if (nmi < 0) {
            mi = s = 0;
            if (++h > 23) {
                h = 0;
                d++;
            }
            continue;
        }
        if (nmi != mi) {
            mi = nmi;
            s = 0;
        }
        ns = next_bit(c->sec, s, 59);
        if (ns < 0) {
            s = 0;
            if (++mi > 59) {
                mi = 0;
                if (++h > 23) {
                    h = 0;
                    d++;
                }
            }
            continue;
        }
        return sq_days_from_civil(y, m, d) * 86400 + (int64_t)h * 3600 +
               mi * 60 + ns;
    }
}

/* True when some date in a full 400-year Gregorian cycle matches the day
 * and month fields (the calendar repeats exactly after 400 years). */
static bool
ever_fires(const struct sq_cron *c)
{
    for (int64_t y = 2000; y < 2400; y++) {
        for (int m = 1; m <= 12; m++) {
            int md;
            if (!((c->mon >> m) & 1U)) {
                continue;
            }
            md = sq_days_in_month(y, m);
            for (int d = 1; d <= md; d++) {
                if (day_matches(c, y, m, d, md)) {
                    return true;
                }
            }
        }
    }
    return false;
}

static int
never_fires_error(const struct sq_cron *c, syncq_error *err)
{
    char days[96] = "";
    char months[48] = "";
    size_t n = 0;

    if (c->dom_last < 0 && c->dow_star && !c->dom_star) {
        for (int d = 1; d <= 31 && n + 4 < sizeof days; d++) {
            if ((c->dom >> d) & 1U) {
                n += (size_t)snprintf(days + n, sizeof days - n, "%s%d",
                                      n ? "," : "", d);
            }
        }
        n = 0;
        for (int m = 1; m <= 12 && n + 4 < sizeof months; m++) {
            if ((c->mon >> m) & 1U) {
                n += (size_t)snprintf(months + n, sizeof months - n, "%s%d",
                                      n ? "," : "", m);
            }
        }
        return sq_fail(err, SYNCQ_EINVAL,
                       "expression never fires: day %s does not occur in "
                       "month %s",
                       days, months);
    }
    return sq_fail(err, SYNCQ_EINVAL,
                   "expression never fires: no date "
                   "matches its day and month fields");
}

int
sq_cron_parse(const char *expr, struct sq_cron **out, syncq_error *err)
{
    static const enum field_kind five[] = {F_MIN, F_HOUR, F_DOM, F_MON, F_DOW};
    static const enum field_kind six[] = {F_SEC, F_MIN, F_HOUR,
                                          F_DOM, F_MON, F_DOW};
    const char *fs[7];
    size_t fl[7];
    int nf = 0;
    const char *p;
    struct sq_cron *c;
    int rc = SYNCQ_OK;

    *out = NULL;
    if (expr == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "cron expression is missing");
    }
    if (strlen(expr) > SQ_CRON_MAX_BYTES) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "cron expression is longer than "
                       "%d bytes",
                       SQ_CRON_MAX_BYTES);
    }
    for (p = expr; *p; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t') {
            return sq_fail(err, SYNCQ_EINVAL,
                           "cron expression contains a "
                           "control character");
        }
        if ((unsigned char)*p >= 0x7f) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "cron expression contains a "
                           "non-ASCII byte");
        }
    }
    p = expr;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '@') {
        size_t n = strcspn(p, " \t");
        const char *rest = p + n;
        while (*rest == ' ' || *rest == '\t') {
            rest++;
        }
        for (int i = 0; macros[i].name != NULL; i++) {
            if (strlen(macros[i].name) == n &&
                strncasecmp(p, macros[i].name, n) == 0 && *rest == '\0') {
                return sq_cron_parse(macros[i].expr, out, err);
            }
        }
        return sq_fail(err, SYNCQ_EINVAL,
                       "unknown cron macro '%.*s' (use "
                       "@yearly @monthly @weekly @daily @hourly)",
                       (int)(n > 20 ? 20 : n), p);
    }
    while (*p != '\0') {
        size_t n = strcspn(p, " \t");
        if (nf == 6) {
            nf++;
            break;
        }
        fs[nf] = p;
        fl[nf] = n;
        nf++;
        p += n;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
    }
    if (nf != 5 && nf != 6) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "cron expression needs 5 fields "
                       "(minute hour day-of-month month day-of-week) or 6 "
                       "(seconds first), got %s%d",
                       nf > 6 ? "more than " : "", nf > 6 ? 6 : nf);
    }
    c = sq_calloc(1, sizeof *c);
    if (c == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing cron");
    }
    c->dom_last = -1;
    c->has_seconds = nf == 6;
    for (int i = 0; i < nf && rc == SYNCQ_OK; i++) {
        rc = parse_field(c, nf == 6 ? six[i] : five[i], fs[i], fl[i], err);
    }
    if (rc == SYNCQ_OK && nf == 5) {
        c->sec = 1; /* second 0 */
    }
    if (rc == SYNCQ_OK && !ever_fires(c)) {
        rc = never_fires_error(c, err);
    }
    if (rc != SYNCQ_OK) {
        sq_free(c);
        return rc;
    }
    *out = c;
    return SYNCQ_OK;
}

void
sq_cron_free(struct sq_cron *c)
{
    sq_free(c);
}

/* ---- zones ------------------------------------------------------------- */

int
sq_cron_next(const struct sq_cron *c, const struct sq_tz *tz, int64_t after,
             int64_t *out)
{
    int64_t seg_t = after; /* instant where the current segment starts */
    long off = sq_tz_offset_at(tz, after);
    int64_t cpos = after + off; /* civil position: look strictly after */
    int64_t skip_below = INT64_MIN;
    int64_t tp;
    long ob, oa;

    /* Inside the second pass of a fall-back repeat, a fixed-hour job
     * already fired in the first pass. */
    if (!c->hour_wild && sq_tz_prev_transition(tz, after, &tp, &ob, &oa) &&
        ob > oa && cpos < tp + ob) {
        skip_below = tp + ob;
    }
    for (int guard = 0; guard < 4000; guard++) {
        int64_t tn, cn, from;
        int has_next = sq_tz_next_transition(tz, seg_t, &tn, &ob, &oa);
        from = cpos;
        if (skip_below != INT64_MIN && skip_below - 1 > from) {
            from = skip_below - 1;
        }
        cn = sq_cron_next_civil(c, from);
        if (cn == SQ_CRON_NONE) {
            return SYNCQ_ENOTFOUND;
        }
        if (!has_next || cn < tn + off) {
            *out = cn - off;
            return SYNCQ_OK;
        }
        /* No fire before the transition at tn: cross into the next
         * segment (offset oa, civil time tn + oa at instant tn). */
        if (oa > off) {
            /* Spring forward: civil [tn + off, tn + oa) never happens. */
            if (!c->hour_wild) {
                int64_t g = sq_cron_next_civil(c, tn + off - 1);
                if (g != SQ_CRON_NONE && g < tn + oa) {
                    *out = tn;
                    return SYNCQ_OK;
                }
            }
            skip_below = INT64_MIN;
        } else {
            /* Fall back: civil [tn + oa, tn + off) happens again. */
            skip_below = c->hour_wild ? INT64_MIN : tn + off;
        }
        cpos = tn + oa - 1;
        off = oa;
        seg_t = tn;
    }
    return SYNCQ_ENOTFOUND;
}

int
sq_cron_prev(const struct sq_cron *c, const struct sq_tz *tz, int64_t before,
             int64_t *out)
{
    /* With f(s) = the first fire at or after s (the forward search, so
     * the DST policy is the same as sq_cron_next): find a window
     * [before - w, before) holding a fire by doubling w, then the largest
     * s in it with f(s) < before by bisection; that s is itself a fire.
     * About 40 + 40 forward searches, whatever the expression. */
    for (int64_t w = 2; w <= 401LL * 366 * 86400 * 2; w *= 2) {
        int64_t lo = before - w, hi = before, x;
        if (sq_cron_next(c, tz, lo - 1, &x) != SYNCQ_OK || x >= before) {
            continue;
        }
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (sq_cron_next(c, tz, mid - 1, &x) == SYNCQ_OK && x < before) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        *out = lo;
        return SYNCQ_OK;
    }
    return SYNCQ_ENOTFOUND;
}
