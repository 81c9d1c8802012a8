/* SPDX-License-Identifier: MIT
 *
 * beat_cron.h: cron expressions (parse, validate, next/previous fire
 * time in an IANA time zone), internal to syncq (the public entry points
 * are syncq_cron_* in syncq/schedule.h).
 *
 * Syntax (docs/beat.md "Cron"): five fields "minute hour day-of-month
 * month day-of-week", or six with a leading seconds field; `*` and `?`,
 * lists, ranges, steps (*\/15, 10-50/5, 10/5 = 10-max/5), month and
 * weekday names, Sunday as 0 or 7, @yearly @annually @monthly @weekly
 * @daily @midnight @hourly; `L` (last day of the month) and `L-n` in the
 * day-of-month field; `5L` (last Friday) and `5#3` (third Friday) in the
 * day-of-week field. When both day fields are restricted (neither starts
 * with `*` or `?`) a day matches if either matches (Vixie cron).
 *
 * DST policy (Vixie cron): a time that falls in a spring-forward gap fires
 * once at the first valid instant after it, unless the hour field is a
 * wildcard or a step (then the skipped time is simply not there); in a
 * fall-back repeat a job with a fixed hour fires once (the first pass),
 * a job whose hour field is a wildcard or a step fires in both passes.
 *
 * Every search is bounded (400 years, the Gregorian cycle): no expression
 * can hang the caller, and one that can never fire is refused at parse.
 */
#ifndef SQ_BEAT_CRON_H
#define SQ_BEAT_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <syncq/error.h>

#include "core/sq_tz.h"

#define SQ_CRON_MAX_BYTES 256

struct sq_cron {
    uint64_t sec;       /* bit s: second s (0..59) */
    uint64_t min;       /* bit m: minute m (0..59) */
    uint32_t hour;      /* bit h: hour h (0..23) */
    uint32_t dom;       /* bit d: day of month d (1..31) */
    uint16_t mon;       /* bit m: month m (1..12) */
    uint8_t dow;        /* bit d: weekday d (0 = Sunday .. 6) */
    uint8_t dow_last;   /* bit d: "dL", the last weekday d of a month */
    uint8_t dow_nth[7]; /* bit k of [d]: "d#k", the k-th weekday d */
    int8_t dom_last;    /* -1: no L; n >= 0: "L-n" (L is L-0) */
    bool dom_star;      /* day-of-month starts with * or ? */
    bool dow_star;      /* day-of-week starts with * or ? */
    bool hour_wild;     /* hour field is * or has a step (DST policy) */
    bool has_seconds;   /* six fields */
};

/* Parse `expr` (at most SQ_CRON_MAX_BYTES bytes). On SYNCQ_OK *out is a
 * new expression (free with sq_cron_free); on error *out is NULL.
 * Errors: SYNCQ_EINVAL with the reason, naming the field ("minute 61 out
 *         of range 0-59", "expression never fires: day 31 does not occur
 *         in month 2"), SYNCQ_ENOMEM. Thread-safe. */
int sq_cron_parse(const char *expr, struct sq_cron **out, syncq_error *err);

/* Free an expression. NULL is a no-op. */
void sq_cron_free(struct sq_cron *c);

/* The first fire instant strictly after `after_s` (epoch seconds), with
 * the fields read as wall-clock time in `tz` (NULL: UTC) and the DST
 * policy above. Returns SYNCQ_OK and *out_s, or SYNCQ_ENOTFOUND when
 * there is none before year 9999. Thread-safe. */
int sq_cron_next(const struct sq_cron *c, const struct sq_tz *tz,
                 int64_t after_s, int64_t *out_s);

/* The last fire instant strictly before `before_s` (same rules).
 * Returns SYNCQ_OK or SYNCQ_ENOTFOUND (none in the previous 400 years). */
int sq_cron_prev(const struct sq_cron *c, const struct sq_tz *tz,
                 int64_t before_s, int64_t *out_s);

#define SQ_CRON_NONE INT64_MIN

/* The first civil time (wall-clock seconds counted as if UTC) strictly
 * after `after_civil` that matches, ignoring zones; SQ_CRON_NONE if none
 * within 400 years (or before year 9999). Exposed for tests. */
int64_t sq_cron_next_civil(const struct sq_cron *c, int64_t after_civil);

#endif
