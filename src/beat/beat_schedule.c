/* SPDX-License-Identifier: MIT
 *
 * beat_schedule.c: the scheduler core (beat_schedule.h): validation,
 * tick arithmetic, missed-run planning and clock-jump handling. No I/O
 * and no clock reads: every "now" is a parameter, so unit tests drive it
 * with any clock they like. The Redis hash and JSON forms of a schedule
 * are in beat_schedule_hash.c.
 */
#include "beat/beat_schedule.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_hash.h"
#include "core/sq_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LATE_COUNT_MAX 1000000 /* late ticks counted one by one at most */
#define FIRE_MAX 300000        /* ticks one plan may fire */

static int64_t
floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

static int64_t
ceil_div(int64_t a, int64_t b)
{
    return -floor_div(-a, b);
}

const char *
sq_schedule_type_name(int type)
{
    switch (type) {
    case SYNCQ_SCHEDULE_INTERVAL:
        return "interval";
    case SYNCQ_SCHEDULE_CRON:
        return "cron";
    case SYNCQ_SCHEDULE_ONCE:
        return "once";
    default:
        return "?";
    }
}

const char *
sq_missed_name(int policy)
{
    switch (policy) {
    case SYNCQ_MISSED_SKIP:
        return "skip";
    case SYNCQ_MISSED_RUN_ONCE:
        return "run_once";
    case SYNCQ_MISSED_CATCH_UP:
        return "catch_up";
    default:
        return "?";
    }
}

int
sq_missed_parse(const char *s)
{
    if (s == NULL) {
        return -1;
    }
    if (strcmp(s, "skip") == 0) {
        return SYNCQ_MISSED_SKIP;
    }
    if (strcmp(s, "run_once") == 0 || strcmp(s, "run-once") == 0) {
        return SYNCQ_MISSED_RUN_ONCE;
    }
    if (strcmp(s, "catch_up") == 0 || strcmp(s, "catch-up") == 0) {
        return SYNCQ_MISSED_CATCH_UP;
    }
    return -1;
}

void
sq_schedule_init(struct sq_schedule *s)
{
    memset(s, 0, sizeof *s);
    s->priority = 5;
    s->max_retries = -1;
    s->enabled = true;
    s->cap = 100;
    s->grace_ms = 60000;
    s->next_ms = -1;
    s->last_ms = -1;
    s->last_at_ms = -1;
    snprintf(s->source, sizeof s->source, "api");
}

void
sq_schedule_cleanup(struct sq_schedule *s)
{
    sq_free(s->args);
    sq_free(s->kwargs);
    sq_cron_free(s->cc);
    s->args = s->kwargs = NULL;
    s->cc = NULL;
}

int
sq_schedule_name_check(const char *name, syncq_error *err)
{
    size_t n;

    if (name == NULL || name[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "schedule name is empty");
    }
    n = strlen(name);
    if (n > SYNCQ_SCHEDULE_NAME_MAX) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "schedule name is %zu bytes, "
                       "limit %d",
                       n, SYNCQ_SCHEDULE_NAME_MAX);
    }
    for (const char *p = name; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
              *p == ':' || *p == '-')) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "schedule name '%.64s' has "
                           "byte 0x%02x; allowed: letters, digits, _ . : -",
                           name, (unsigned char)*p);
        }
    }
    return SYNCQ_OK;
}

int
sq_schedule_compile(struct sq_schedule *s, syncq_error *err)
{
    int rc;

    sq_cron_free(s->cc);
    s->cc = NULL;
    s->zone = NULL;
    rc = sq_schedule_name_check(s->name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (s->task[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "schedule %s: task name is empty",
                       s->name);
    }
    rc = syncq_queue_name_check(s->queue, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (s->priority < 0 || s->priority > 10) {
        return sq_fail(err, SYNCQ_EINVAL, "priority %d out of range 0..10",
                       s->priority);
    }
    if (s->max_retries < -1 || s->max_retries > 1000) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "max_retries %d out of range "
                       "0..1000",
                       s->max_retries);
    }
    if (s->missed < SYNCQ_MISSED_SKIP || s->missed > SYNCQ_MISSED_CATCH_UP) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "missed-run policy must be skip, "
                       "run_once or catch_up");
    }
    if (s->cap < 1 || s->cap > 100000) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "catch-up cap %d out of range "
                       "1..100000",
                       s->cap);
    }
    if (s->grace_ms < 0 || s->grace_ms > SQ_DAY_MS) {
        return sq_fail(err, SYNCQ_EINVAL, "grace must be 0..1 day");
    }
    if (s->start_ms < 0 || s->end_ms < 0 || s->expires_ms < 0 ||
        s->start_ms > 253402300799000LL || s->end_ms > 253402300799000LL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "start, end and expires must be "
                       "positive times before year 10000");
    }
    if (s->expires_ms > 365 * SQ_DAY_MS) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "expires must be at most 365 "
                       "days");
    }
    if (s->end_ms > 0 && s->end_ms <= s->start_ms) {
        return sq_fail(err, SYNCQ_EINVAL, "end must be after start");
    }
    rc = sq_tz_get(s->tz[0] ? s->tz : "UTC", &s->zone, err);
    if (rc != SYNCQ_OK) {
        /* an unknown zone is a bad definition like any other field */
        sq_error_prefix(err, "time zone");
        if (err != NULL) {
            err->code = SYNCQ_EINVAL;
        }
        return rc == SYNCQ_ENOMEM ? rc : SYNCQ_EINVAL;
    }
    switch (s->type) {
    case SYNCQ_SCHEDULE_INTERVAL:
        if (s->every_ms < 1000 || s->every_ms > 3660 * SQ_DAY_MS) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "interval must be 1 s .. 10 "
                           "years, got %lld ms",
                           (long long)s->every_ms);
        }
        if (s->anchor_ms <= 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "interval schedule %s has no "
                           "anchor",
                           s->name);
        }
        break;
    case SYNCQ_SCHEDULE_CRON:
        rc = sq_cron_parse(s->cron, &s->cc, err);
        if (rc != SYNCQ_OK) {
            char pre[64];
            snprintf(pre, sizeof pre, "cron '%.40s'", s->cron);
            sq_error_prefix(err, pre);
            return rc;
        }
        break;
    case SYNCQ_SCHEDULE_ONCE:
        if (s->at_ms <= 0 || s->at_ms > 253402300799000LL) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "one-shot schedule needs a "
                           "time (--at)");
        }
        break;
    default:
        return sq_fail(err, SYNCQ_EINVAL,
                       "schedule type must be interval, "
                       "cron or once");
    }
    return SYNCQ_OK;
}

/* Compact JSON of `text` if it is of type `want` and not empty. */
static int
json_compact(const char *what, const char *text, int want, char **out,
             size_t *bytes, syncq_error *err)
{
    json_error_t jerr;
    json_t *v;

    *out = NULL;
    if (text == NULL) {
        return SYNCQ_OK;
    }
    v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (v == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s is not valid JSON: %s (line %d "
                       "column %d)",
                       what, jerr.text, jerr.line, jerr.column);
    }
    if ((int)json_typeof(v) != want) {
        json_decref(v);
        return sq_fail(err, SYNCQ_EINVAL, "%s must be a JSON %s", what,
                       want == JSON_ARRAY ? "array" : "object");
    }
    if (json_is_array(v) ? json_array_size(v) > 0 : json_object_size(v) > 0) {
        *out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (*out == NULL) {
            json_decref(v);
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        *bytes += strlen(*out);
    }
    json_decref(v);
    return SYNCQ_OK;
}

/* A time given absolute (`at`) or as an offset from Redis's clock now
 * (`in` > 0), never both. */
static int
when(const char *what, int64_t at, int64_t in, int64_t now, int64_t *out,
     syncq_error *err)
{
    if (in < 0 || in > 253402300799000LL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s: an offset must be > 0 and before year 10000",
                       what);
    }
    if (in > 0 && at != 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s: give a time or an offset, not both", what);
    }
    *out = in > 0 ? now + in : at;
    return SYNCQ_OK;
}

int
sq_schedule_from_config(struct sq_schedule *s, const syncq_schedule_config *cfg,
                        const struct sq_sched_defaults *d, syncq_error *err)
{
    size_t bytes = 0;
    int rc;

    if (cfg == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "no schedule config");
    }
    rc = sq_schedule_name_check(cfg->name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    snprintf(s->name, sizeof s->name, "%s", cfg->name);
    if (cfg->task == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "schedule %s: task name is "
                       "missing",
                       s->name);
    }
    rc = syncq_task_name_normalize(cfg->task, s->task, sizeof s->task, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    s->type = (int)cfg->type;
    switch (cfg->type) {
    case SYNCQ_SCHEDULE_INTERVAL:
        s->every_ms = cfg->interval_ms;
        break;
    case SYNCQ_SCHEDULE_CRON:
        if (cfg->cron == NULL || cfg->cron[0] == '\0') {
            return sq_fail(err, SYNCQ_EINVAL,
                           "cron schedule needs an "
                           "expression (-c)");
        }
        if (strlen(cfg->cron) > SQ_CRON_MAX_BYTES) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "cron expression is longer "
                           "than %d bytes",
                           SQ_CRON_MAX_BYTES);
        }
        snprintf(s->cron, sizeof s->cron, "%s", cfg->cron);
        break;
    case SYNCQ_SCHEDULE_ONCE:
        rc = when("at", cfg->run_at_ms, cfg->run_in_ms, d->now_ms, &s->at_ms,
                  err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (s->at_ms > 0 && s->at_ms <= d->now_ms && !d->allow_past) {
            char buf[40];
            return sq_fail(err, SYNCQ_EINVAL,
                           "one-shot time %s is in the "
                           "past",
                           sq_time_format_iso8601(s->at_ms, buf, sizeof buf));
        }
        break;
    default:
        return sq_fail(err, SYNCQ_EINVAL,
                       "schedule type must be interval, "
                       "cron or once");
    }
    {
        const char *tz = cfg->timezone ? cfg->timezone : d->tz;
        if (tz == NULL || tz[0] == '\0') {
            tz = "UTC";
        }
        if (strlen(tz) > SQ_SCHED_TZ_MAX) {
            return sq_fail(err, SYNCQ_EINVAL, "time zone name too long");
        }
        snprintf(s->tz, sizeof s->tz, "%s", tz);
    }
    rc =
        json_compact("args", cfg->args_json, JSON_ARRAY, &s->args, &bytes, err);
    if (rc == SYNCQ_OK) {
        rc = json_compact("kwargs", cfg->kwargs_json, JSON_OBJECT, &s->kwargs,
                          &bytes, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    {
        const char *q = cfg->queue ? cfg->queue : d->queue;
        if (q == NULL || q[0] == '\0') {
            q = "default";
        }
        rc = syncq_queue_name_check(q, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        snprintf(s->queue, sizeof s->queue, "%s", q);
    }
    s->priority = cfg->priority >= 0 ? cfg->priority : d->priority;
    if (cfg->priority < -1) {
        return sq_fail(err, SYNCQ_EINVAL, "priority %d out of range 0..10",
                       cfg->priority);
    }
    s->max_retries = cfg->max_retries;
    s->enabled = cfg->enabled;
    s->missed = (int)cfg->missed;
    s->cap = cfg->catch_up_cap > 0 ? cfg->catch_up_cap : d->cap;
    if (cfg->catch_up_cap < 0) {
        return sq_fail(err, SYNCQ_EINVAL, "catch-up cap must be >= 1");
    }
    s->grace_ms = cfg->grace_ms >= 0 ? cfg->grace_ms : d->grace_ms;
    rc = when("start", cfg->start_ms, cfg->start_in_ms, d->now_ms,
              &s->start_ms, err);
    if (rc == SYNCQ_OK) {
        rc = when("end", cfg->end_ms, cfg->end_in_ms, d->now_ms, &s->end_ms,
                  err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    s->expires_ms = cfg->expires_ms;
    if (s->type == SYNCQ_SCHEDULE_INTERVAL) {
        s->anchor_ms =
            s->start_ms > 0 ? s->start_ms : ceil_div(d->now_ms, 1000) * 1000;
    }
    (void)bytes;
    return sq_schedule_compile(s, err);
}

/* ---- ticks ------------------------------------------------------------- */

int
sq_schedule_next_after(const struct sq_schedule *s, int64_t after_ms,
                       int64_t *out_ms)
{
    int64_t t;

    if (s->start_ms > 0 && after_ms < s->start_ms - 1) {
        after_ms = s->start_ms - 1;
    }
    switch (s->type) {
    case SYNCQ_SCHEDULE_INTERVAL:
        if (after_ms < s->anchor_ms) {
            t = s->anchor_ms;
        } else {
            int64_t k = (after_ms - s->anchor_ms) / s->every_ms + 1;
            if (k > (253402300799000LL - s->anchor_ms) / s->every_ms) {
                return SYNCQ_ENOTFOUND;
            }
            t = s->anchor_ms + k * s->every_ms;
        }
        break;
    case SYNCQ_SCHEDULE_CRON: {
        int64_t x;
        if (s->cc == NULL ||
            sq_cron_next(s->cc, s->zone, floor_div(after_ms, 1000), &x) !=
                SYNCQ_OK) {
            return SYNCQ_ENOTFOUND;
        }
        t = x * 1000;
        break;
    }
    case SYNCQ_SCHEDULE_ONCE:
        if (s->at_ms <= after_ms) {
            return SYNCQ_ENOTFOUND;
        }
        t = s->at_ms;
        break;
    default:
        return SYNCQ_ENOTFOUND;
    }
    if (s->end_ms > 0 && t > s->end_ms) {
        return SYNCQ_ENOTFOUND;
    }
    *out_ms = t;
    return SYNCQ_OK;
}

int
sq_schedule_prev_before(const struct sq_schedule *s, int64_t before_ms,
                        int64_t *out_ms)
{
    int64_t t;

    if (s->end_ms > 0 && before_ms > s->end_ms + 1) {
        before_ms = s->end_ms + 1;
    }
    switch (s->type) {
    case SYNCQ_SCHEDULE_INTERVAL:
        if (before_ms <= s->anchor_ms) {
            return SYNCQ_ENOTFOUND;
        }
        t = s->anchor_ms +
            (before_ms - 1 - s->anchor_ms) / s->every_ms * s->every_ms;
        break;
    case SYNCQ_SCHEDULE_CRON: {
        int64_t x;
        if (s->cc == NULL ||
            sq_cron_prev(s->cc, s->zone, ceil_div(before_ms, 1000), &x) !=
                SYNCQ_OK) {
            return SYNCQ_ENOTFOUND;
        }
        t = x * 1000;
        break;
    }
    case SYNCQ_SCHEDULE_ONCE:
        if (s->at_ms >= before_ms) {
            return SYNCQ_ENOTFOUND;
        }
        t = s->at_ms;
        break;
    default:
        return SYNCQ_ENOTFOUND;
    }
    if (s->start_ms > 0 && t < s->start_ms) {
        return SYNCQ_ENOTFOUND;
    }
    *out_ms = t;
    return SYNCQ_OK;
}

/* ---- planning ---------------------------------------------------------- */

static int
push_fire(struct sq_plan *p, size_t *cap, int64_t t)
{
    if (p->nfire == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        int64_t *nf = sq_realloc(p->fire, nc * sizeof *nf);
        if (nf == NULL) {
            return -1;
        }
        p->fire = nf;
        *cap = nc;
    }
    p->fire[p->nfire++] = t;
    return 0;
}

void
sq_plan_cleanup(struct sq_plan *p)
{
    sq_free(p->fire);
    memset(p, 0, sizeof *p);
}

/* The late ticks [next, cut) of a cron or bounded schedule: counts them
 * in *total (up to LATE_COUNT_MAX) and pushes the latest `keep` in order.
 * One forward walk keeps them in a ring; past the count limit, the latest
 * are found walking back from the cut instead. Returns -1 on OOM. */
static int
late_ticks(const struct sq_schedule *s, int64_t cut, int64_t keep,
           struct sq_plan *p, size_t *cap, int64_t *total)
{
    int64_t *ring = NULL;
    int64_t x = s->next_ms, n = 0, t;
    bool more;

    if (keep > 0) {
        ring = sq_malloc((size_t)keep * sizeof *ring);
        if (ring == NULL) {
            return -1;
        }
    }
    while (x < cut && n < LATE_COUNT_MAX) {
        if (ring != NULL) {
            ring[n % keep] = x;
        }
        n++;
        if (sq_schedule_next_after(s, x, &x) != SYNCQ_OK) {
            x = INT64_MAX;
        }
    }
    more = x < cut;
    *total = n;
    p->skipped_more = more;
    if (!more) {
        int64_t got = keep < n ? keep : n;
        for (int64_t i = n - got; i < n; i++) {
            if (push_fire(p, cap, ring[i % keep]) != 0) {
                sq_free(ring);
                return -1;
            }
        }
        sq_free(ring);
        return 0;
    }
    sq_free(ring);
    /* More than we count: the latest `keep`, walking back from the cut. */
    t = cut;
    while ((int64_t)p->nfire < keep &&
           sq_schedule_prev_before(s, t, &x) == SYNCQ_OK && x >= s->next_ms) {
        if (push_fire(p, cap, x) != 0) {
            return -1;
        }
        t = x;
    }
    for (size_t i = 0; i < p->nfire / 2; i++) {
        int64_t tmp = p->fire[i];
        p->fire[i] = p->fire[p->nfire - 1 - i];
        p->fire[p->nfire - 1 - i] = tmp;
    }
    return 0;
}

int
sq_schedule_plan(const struct sq_schedule *s, int64_t now_ms,
                 int64_t jump_wall_ms, struct sq_plan *p, syncq_error *err)
{
    int64_t cut = now_ms - s->grace_ms;
    int64_t keep, first, x;
    size_t cap = 0;

    memset(p, 0, sizeof *p);
    p->next_ms = s->next_ms;
    if (!s->enabled || s->next_ms < 0 || s->next_ms > now_ms) {
        return SYNCQ_OK;
    }
    p->due = true;
    keep = s->missed == SYNCQ_MISSED_SKIP       ? 0
           : s->missed == SYNCQ_MISSED_RUN_ONCE ? 1
                                                : s->cap;
    if (jump_wall_ms >= 0 && s->next_ms <= jump_wall_ms) {
        /* jumped over, not lived through */
        if (keep > 1) {
            keep = 1;
        }
        if (cut <= jump_wall_ms) {
            cut = jump_wall_ms + 1;
        }
    }
    first = s->next_ms;
    if (s->next_ms < cut) {
        int64_t total = 0;
        int64_t got;
        p->late = true;
        if (s->type == SYNCQ_SCHEDULE_INTERVAL && s->end_ms == 0) {
            /* On the grid: count and pick the latest directly. */
            total = (cut - 1 - s->next_ms) / s->every_ms + 1;
            got = keep < total ? keep : total;
            for (int64_t i = total - got; i < total; i++) {
                if (push_fire(p, &cap, s->next_ms + i * s->every_ms) != 0) {
                    goto oom;
                }
            }
        } else if (late_ticks(s, cut, keep, p, &cap, &total) != 0) {
            goto oom;
        }
        got = (int64_t)p->nfire;
        p->skipped = total > got ? total - got : 0;
        if (sq_schedule_next_after(s, cut - 1, &first) != SYNCQ_OK) {
            first = -1;
        }
    }
    for (x = first; x >= 0 && x <= now_ms && p->nfire < FIRE_MAX;) {
        if (push_fire(p, &cap, x) != 0) {
            goto oom;
        }
        if (sq_schedule_next_after(s, x, &x) != SYNCQ_OK) {
            x = -1;
        }
    }
    if (x >= 0 && x <= now_ms) {
        /* Over FIRE_MAX: carry on from here next time. */
        p->next_ms = x;
    } else if (sq_schedule_next_after(s, now_ms, &p->next_ms) != SYNCQ_OK) {
        p->next_ms = -1;
    }
    return SYNCQ_OK;
oom:
    sq_plan_cleanup(p);
    return sq_fail(err, SYNCQ_ENOMEM, "out of memory planning schedule");
}

int64_t
sq_schedule_rebase(const struct sq_schedule *s, int64_t now_ms, int64_t jump_ms,
                   int64_t *anchor_out)
{
    int64_t nn;

    *anchor_out = s->anchor_ms;
    if (jump_ms >= 0 || s->next_ms < 0 || !s->enabled) {
        return s->next_ms;
    }
    switch (s->type) {
    case SYNCQ_SCHEDULE_INTERVAL:
        /* Keep the real-time rhythm: the tick that was due in d ms is
         * still due in d ms (DESIGN: interval timing is monotonic). */
        nn = s->next_ms + jump_ms;
        if (nn < now_ms) {
            nn = now_ms;
        }
        *anchor_out = nn;
        return nn;
    case SYNCQ_SCHEDULE_CRON:
        if (s->cc != NULL && s->cc->hour_wild &&
            sq_schedule_next_after(s, now_ms - 1, &nn) == SYNCQ_OK &&
            nn < s->next_ms) {
            return nn;
        }
        return s->next_ms;
    default:
        return s->next_ms;
    }
}

int64_t
sq_jump_check(struct sq_jump *j, int64_t wall_ms, int64_t mono_ms,
              int64_t tolerance_ms)
{
    int64_t diff;

    if (!j->init) {
        j->init = true;
        j->wall_ms = wall_ms;
        j->mono_ms = mono_ms;
        return 0;
    }
    diff = (wall_ms - j->wall_ms) - (mono_ms - j->mono_ms);
    j->wall_ms = wall_ms;
    j->mono_ms = mono_ms;
    if (diff > tolerance_ms || diff < -tolerance_ms) {
        return diff;
    }
    return 0;
}
