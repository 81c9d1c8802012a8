/* SPDX-License-Identifier: MIT
 *
 * mon_figures.c: the figures the monitor derives from counters: the
 * counter kinds, the per-queue/task series parsed from {ns}:stats and the
 * minute buckets, windowed and lifetime sums, runtime quantiles, and the
 * rate figures of the snapshot (throughput, error rate, the system, tasks
 * and series sections). Pure computation on a collection; reading Redis
 * is mon_collect.c's job.
 */
#include "monitor/mon.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double sq_mon_bounds_ms[SQ_MON_NBUCKETS - 1] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 1800000};

static const char *kind_names[] = {
    "sent",    "succeeded", "failed", "retried",       "revoked",
    "expired", "skipped",   "dead",   "lost",          "lease_expired",
    "lease_lost"};

const char *
sq_mon_kind_name(int kind)
{
    if (kind < 0 || kind >= (int)(sizeof kind_names / sizeof kind_names[0])) {
        return NULL;
    }
    return kind_names[kind];
}

void
sq_mon_opts_init(struct sq_mon_opts *o, const syncq_config *cfg)
{
    o->stale_ms = 30000;
    o->max_error_rate = 0.20;
    o->max_running = 1000;
    o->max_batches = 50;
    o->max_delayed_scan = 5000;
    if (cfg != NULL) {
        o->stale_ms = syncq_config_ms(cfg, "SYNCQ_HEALTH_STALE_AFTER");
        o->max_error_rate =
            (double)syncq_config_int(cfg, "SYNCQ_HEALTH_MAX_ERROR_RATE") /
            100.0;
    }
}

json_t *
sq_mon_real(double v)
{
    if (isnan(v) || isinf(v)) {
        return json_null();
    }
    return json_real(v);
}

void
sq_mon_data_cleanup(struct sq_mon_data *d)
{
    sq_free(d->s);
    json_decref(d->snap);
    memset(d, 0, sizeof *d);
}

/* The series of (queue, task), created when missing; NULL on OOM or
 * names too long to be ours. */
static struct sq_mon_series *
series_get(struct sq_mon_data *d, const char *q, size_t ql, const char *t,
           size_t tl)
{
    if (ql == 0 || tl == 0 || ql >= sizeof d->s[0].queue ||
        tl >= sizeof d->s[0].task) {
        return NULL;
    }
    for (size_t i = 0; i < d->ns; i++) {
        if (strlen(d->s[i].queue) == ql && memcmp(d->s[i].queue, q, ql) == 0 &&
            strlen(d->s[i].task) == tl && memcmp(d->s[i].task, t, tl) == 0) {
            return &d->s[i];
        }
    }
    if (d->ns >= 4096) {
        return NULL; /* bound memory whatever Redis holds */
    }
    if (d->ns == d->caps) {
        size_t nc = d->caps ? d->caps * 2 : 16;
        struct sq_mon_series *n = sq_realloc(d->s, nc * sizeof *n);
        if (n == NULL) {
            return NULL;
        }
        d->s = n;
        d->caps = nc;
    }
    memset(&d->s[d->ns], 0, sizeof d->s[0]);
    memcpy(d->s[d->ns].queue, q, ql);
    memcpy(d->s[d->ns].task, t, tl);
    return &d->s[d->ns++];
}

static int
bucket_index(const char *b, size_t n)
{
    char tmp[16];

    if (n == 3 && memcmp(b, "inf", 3) == 0) {
        return SQ_MON_NBUCKETS - 1;
    }
    if (n == 0 || n >= sizeof tmp) {
        return -1;
    }
    memcpy(tmp, b, n);
    tmp[n] = '\0';
    for (int i = 0; i < SQ_MON_NBUCKETS - 1; i++) {
        char s[16];
        snprintf(s, sizeof s, "%.0f", sq_mon_bounds_ms[i]);
        if (strcmp(s, tmp) == 0) {
            return i;
        }
    }
    return -1;
}

/* Apply one counter field `f` = `v` into lifetime (minute < 0) or the
 * minute bucket `minute`. Unknown fields are ignored. */
static void
apply_field(struct sq_mon_data *d, const char *f, long long v, int minute)
{
    const char *p[6] = {0};  /* -O3 cannot see np guards every read */
    size_t l[6] = {0};
    int np = 0;
    const char *s = f;
    struct sq_mon_series *se;
    long long *cnt;

    if (minute < 0 && strcmp(f, "poison_messages_total") == 0) {
        d->poison_total = v;
        return;
    }
    while (np < 6) {
        const char *bar = strchr(s, '|');
        p[np] = s;
        l[np] = bar ? (size_t)(bar - s) : strlen(s);
        np++;
        if (bar == NULL) {
            break;
        }
        s = bar + 1;
    }
    if (np < 3) {
        return;
    }
    se = series_get(d, p[1], l[1], p[2], l[2]);
    if (se == NULL) {
        return;
    }
    cnt = minute < 0 ? se->life : se->min[minute];
    if (np == 3) {
        for (int k = 0; k < SQ_K_RT_SUM; k++) {
            if (strlen(kind_names[k]) == l[0] &&
                memcmp(kind_names[k], p[0], l[0]) == 0) {
                cnt[k] = v;
                return;
            }
        }
        return;
    }
    {
        bool rt = l[0] == 7 && memcmp(p[0], "runtime", 7) == 0;
        bool wt = l[0] == 4 && memcmp(p[0], "wait", 4) == 0;
        if (!rt && !wt) {
            return;
        }
        if (np == 4 && l[3] == 3 && memcmp(p[3], "sum", 3) == 0) {
            cnt[rt ? SQ_K_RT_SUM : SQ_K_WAIT_SUM] = v;
        } else if (np == 4 && l[3] == 5 && memcmp(p[3], "count", 5) == 0) {
            cnt[rt ? SQ_K_RT_COUNT : SQ_K_WAIT_COUNT] = v;
        } else if (np == 5 && minute < 0 && l[3] == 2 &&
                   memcmp(p[3], "le", 2) == 0) {
            int b = bucket_index(p[4], l[4]);
            if (b >= 0) {
                (rt ? se->rt_hist : se->wait_hist)[b] = v;
            }
        }
    }
}

void
sq_mon_apply_hash(struct sq_mon_data *d, const redisReply *r, int minute)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        return;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i];
        const redisReply *v = r->element[i + 1];
        if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING) {
            apply_field(d, f->str, strtoll(v->str, NULL, 10), minute);
        }
    }
}

static bool
match(const struct sq_mon_series *s, const char *queue, const char *task)
{
    return (queue == NULL || strcmp(s->queue, queue) == 0) &&
           (task == NULL || strcmp(s->task, task) == 0);
}

double
sq_mon_window_sum(const struct sq_mon_data *d, int kind, const char *queue,
                  const char *task, int64_t window_ms)
{
    int64_t cur = d->now_ms / 60000;
    int64_t from = d->now_ms - window_ms;
    double total = 0;

    if (kind < 0 || kind >= SQ_K__COUNT || window_ms <= 0) {
        return 0;
    }
    for (int i = 0; i < SQ_MON_MINUTES; i++) {
        int64_t a = (cur - i) * 60000;
        int64_t b = a + 60000;
        int64_t lo, hi;
        double w;
        long long n = 0;
        if (b > d->now_ms) {
            b = d->now_ms;
        }
        if (b <= from) {
            break;
        }
        for (size_t j = 0; j < d->ns; j++) {
            if (match(&d->s[j], queue, task)) {
                n += d->s[j].min[i][kind];
            }
        }
        if (n == 0) {
            continue;
        }
        lo = a > from ? a : from;
        hi = b;
        w = b > a ? (double)(hi - lo) / (double)(b - a) : 1.0;
        if (w > 1.0) {
            w = 1.0;
        }
        total += (double)n * w;
    }
    return total < 0 ? 0 : total;
}

long long
sq_mon_life_sum(const struct sq_mon_data *d, int kind, const char *queue,
                const char *task)
{
    long long n = 0;

    if (kind < 0 || kind >= SQ_K__COUNT) {
        return 0;
    }
    for (size_t j = 0; j < d->ns; j++) {
        if (match(&d->s[j], queue, task)) {
            n += d->s[j].life[kind];
        }
    }
    return n;
}

double
sq_mon_hist_quantile(const long long *b, double q)
{
    long long total = 0;
    double rank, seen = 0;

    for (int i = 0; i < SQ_MON_NBUCKETS; i++) {
        total += b[i] > 0 ? b[i] : 0;
    }
    if (total == 0 || q < 0 || q > 1) {
        return NAN;
    }
    rank = q * (double)total;
    for (int i = 0; i < SQ_MON_NBUCKETS; i++) {
        double n = b[i] > 0 ? (double)b[i] : 0;
        double lo = i == 0 ? 0 : sq_mon_bounds_ms[i - 1];
        if (n == 0) {
            continue;
        }
        if (seen + n >= rank) {
            if (i == SQ_MON_NBUCKETS - 1) {
                return lo;
            }
            return lo + (sq_mon_bounds_ms[i] - lo) * ((rank - seen) / n);
        }
        seen += n;
    }
    return sq_mon_bounds_ms[SQ_MON_NBUCKETS - 2];
}

double
sq_mon_ratio(double num, double den)
{
    return den > 0 ? num / den : NAN;
}

/* Finished tasks (succeeded + failed) per second over `win_ms`. */
double
sq_mon_throughput(const struct sq_mon_data *d, const char *q, const char *t,
                  int64_t win_ms)
{
    double n = sq_mon_window_sum(d, SQ_K_SUCCEEDED, q, t, win_ms) +
               sq_mon_window_sum(d, SQ_K_FAILED, q, t, win_ms);

    return n / ((double)win_ms / 1000.0);
}

double
sq_mon_error_rate(const struct sq_mon_data *d, const char *q, const char *t,
                  int64_t win_ms)
{
    double ok = sq_mon_window_sum(d, SQ_K_SUCCEEDED, q, t, win_ms);
    double bad = sq_mon_window_sum(d, SQ_K_FAILED, q, t, win_ms);

    return sq_mon_ratio(bad, ok + bad);
}

json_t *
sq_mon_lifetime_json(const struct sq_mon_data *d, const char *q, const char *t)
{
    json_t *o = json_object();

    for (int k = 0; k < SQ_K_RT_SUM; k++) {
        json_object_set_new(o, kind_names[k],
                            json_integer(sq_mon_life_sum(d, k, q, t)));
    }
    return o;
}

static json_t *
window_json(const struct sq_mon_data *d, const char *q, const char *t,
            int64_t win_ms)
{
    json_t *o = json_object();

    for (int k = 0; k < SQ_K_RT_SUM; k++) {
        json_object_set_new(
            o, kind_names[k],
            json_integer((json_int_t)llround(
                sq_mon_window_sum(d, k, q, t, win_ms))));
    }
    return o;
}

/* System-wide figures. */
json_t *
sq_mon_system_json(const struct sq_mon_data *d)
{
    json_t *o = json_object();
    json_t *tp = json_object();
    long long hist[SQ_MON_NBUCKETS] = {0};
    double ok = (double)sq_mon_life_sum(d, SQ_K_SUCCEEDED, NULL, NULL);
    double bad = (double)sq_mon_life_sum(d, SQ_K_FAILED, NULL, NULL);

    for (size_t i = 0; i < d->ns; i++) {
        for (int b = 0; b < SQ_MON_NBUCKETS; b++) {
            hist[b] += d->s[i].rt_hist[b];
        }
    }
    json_object_set_new(o, "lifetime", sq_mon_lifetime_json(d, NULL, NULL));
    json_object_set_new(o, "last_5m", window_json(d, NULL, NULL, 300000));
    json_object_set_new(o, "last_1h", window_json(d, NULL, NULL, 3600000));
    json_object_set_new(o, "success_rate_lifetime",
                        sq_mon_real(sq_mon_ratio(ok, ok + bad)));
    json_object_set_new(o, "error_rate_lifetime",
                        sq_mon_real(sq_mon_ratio(bad, ok + bad)));
    {
        double e5 = sq_mon_error_rate(d, NULL, NULL, 300000);
        json_object_set_new(o, "error_rate", sq_mon_real(e5));
        json_object_set_new(o, "success_rate",
                            sq_mon_real(isnan(e5) ? NAN : 1.0 - e5));
    }
    json_object_set_new(tp, "1m", sq_mon_real(sq_mon_throughput(d, NULL, NULL,
                                                         60000)));
    json_object_set_new(tp, "5m", sq_mon_real(sq_mon_throughput(d, NULL, NULL,
                                                         300000)));
    json_object_set_new(tp, "1h", sq_mon_real(sq_mon_throughput(d, NULL, NULL,
                                                         3600000)));
    json_object_set_new(o, "throughput", tp);
    json_object_set_new(
        o, "runtime_mean_ms",
        sq_mon_real(sq_mon_ratio(
            sq_mon_window_sum(d, SQ_K_RT_SUM, NULL, NULL, 3600000),
            sq_mon_window_sum(d, SQ_K_RT_COUNT, NULL, NULL, 3600000))));
    json_object_set_new(
        o, "runtime_mean_ms_lifetime",
        sq_mon_real(sq_mon_ratio(
            (double)sq_mon_life_sum(d, SQ_K_RT_SUM, NULL, NULL),
            (double)sq_mon_life_sum(d, SQ_K_RT_COUNT, NULL, NULL))));
    json_object_set_new(o, "runtime_p95_ms",
                        sq_mon_real(sq_mon_hist_quantile(hist, 0.95)));
    json_object_set_new(
        o, "wait_mean_ms",
        sq_mon_real(sq_mon_ratio(
            sq_mon_window_sum(d, SQ_K_WAIT_SUM, NULL, NULL, 3600000),
            sq_mon_window_sum(d, SQ_K_WAIT_COUNT, NULL, NULL, 3600000))));
    json_object_set_new(o, "poison_messages_total",
                        json_integer(d->poison_total));
    return o;
}

/* Per task name (and queue) figures, busiest first. */
json_t *
sq_mon_tasks_json(const struct sq_mon_data *d)
{
    json_t *a = json_array();

    for (size_t i = 0; i < d->ns; i++) {
        const struct sq_mon_series *s = &d->s[i];
        json_t *o;
        double ok, bad;
        if (strcmp(s->task, "*") == 0) {
            continue;
        }
        o = json_object();
        ok = (double)s->life[SQ_K_SUCCEEDED];
        bad = (double)s->life[SQ_K_FAILED];
        json_object_set_new(o, "name", json_string(s->task));
        json_object_set_new(o, "queue", json_string(s->queue));
        json_object_set_new(o, "lifetime", sq_mon_lifetime_json(d, s->queue,
                                                         s->task));
        json_object_set_new(o, "success_rate",
                            sq_mon_real(sq_mon_ratio(ok, ok + bad)));
        json_object_set_new(o, "error_rate_5m",
                            sq_mon_real(sq_mon_error_rate(d, s->queue, s->task,
                                                   300000)));
        json_object_set_new(
            o, "runtime_mean_ms",
            sq_mon_real(sq_mon_ratio((double)s->life[SQ_K_RT_SUM],
                              (double)s->life[SQ_K_RT_COUNT])));
        json_object_set_new(o, "runtime_p95_ms",
                            sq_mon_real(sq_mon_hist_quantile(s->rt_hist,
                                                             0.95)));
        json_object_set_new(o, "throughput_1m",
                            sq_mon_real(sq_mon_throughput(d, s->queue, s->task,
                                                   60000)));
        json_object_set_new(o, "throughput_5m",
                            sq_mon_real(sq_mon_throughput(d, s->queue, s->task,
                                                   300000)));
        json_object_set_new(o, "throughput_1h",
                            sq_mon_real(sq_mon_throughput(d, s->queue, s->task,
                                                   3600000)));
        json_array_append_new(a, o);
    }
    return a;
}

/* Per-minute system series for charts, oldest first. */
json_t *
sq_mon_series_json(const struct sq_mon_data *d)
{
    json_t *a = json_array();
    int64_t cur = d->now_ms / 60000;

    for (int i = SQ_MON_MINUTES - 1; i >= 0; i--) {
        json_t *o = json_object();
        long long ok = 0, bad = 0, sent = 0;
        for (size_t j = 0; j < d->ns; j++) {
            ok += d->s[j].min[i][SQ_K_SUCCEEDED];
            bad += d->s[j].min[i][SQ_K_FAILED];
            sent += d->s[j].min[i][SQ_K_SENT];
        }
        json_object_set_new(o, "t", json_integer((cur - i) * 60000));
        json_object_set_new(o, "succeeded", json_integer(ok));
        json_object_set_new(o, "failed", json_integer(bad));
        json_object_set_new(o, "sent", json_integer(sent));
        json_array_append_new(a, o);
    }
    return a;
}
