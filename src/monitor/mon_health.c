/* SPDX-License-Identifier: MIT
 *
 * mon_health.c: healthy / degraded / unhealthy with the reasons, from one
 * collection of figures (docs/monitor.md "Health"). Pure computation: no
 * I/O, so the HTTP server answers it from its cached figures and the CLI
 * from a fresh collection.
 *
 *   unhealthy: Redis unreachable; a queue with work and no live worker
 *              serving it
 *   degraded:  Redis may evict tasks (maxmemory-policy, C34) or is at
 *              >= 80 % of maxmemory; error rate over the threshold (5 min);
 *              a queue growing (inflow outruns outflow); a worker's
 *              heartbeat stale or its consumer loop stalled (C43); no
 *              live worker at all (nothing would run a task created now)
 */
#include "monitor/mon.h"
#include "core/sq_time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { H_OK = 0, H_DEGRADED = 1, H_UNHEALTHY = 2 };

static const char *status_names[] = {"healthy", "degraded", "unhealthy"};

static void
reason(json_t *reasons, int *status, int sev, const char *check,
       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
reason(json_t *reasons, int *status, int sev, const char *check,
       const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *r = json_object();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object_set_new(r, "check", json_string(check));
    json_object_set_new(r, "severity", json_string(status_names[sev]));
    json_object_set_new(r, "message", json_string(msg));
    json_array_append_new(reasons, r);
    if (sev > *status) {
        *status = sev;
    }
}

/* True when worker `w` is live and serves `queue` (a worker that does not
 * report its queues is taken to serve every queue). */
static bool
serves(const json_t *w, const char *queue)
{
    const json_t *qs = json_object_get(w, "queues");
    size_t i;
    json_t *q;

    if (!json_is_true(json_object_get(w, "live"))) {
        return false;
    }
    if (json_array_size(qs) == 0) {
        return true;
    }
    json_array_foreach(qs, i, q) {
        if (json_is_string(q) && strcmp(json_string_value(q), queue) == 0) {
            return true;
        }
    }
    return false;
}

size_t
sq_mon_queue_consumers(const json_t *ws, const char *queue)
{
    size_t i, n = 0;
    json_t *w;

    json_array_foreach(ws, i, w) {
        n += serves(w, queue);
    }
    return n;
}

static size_t
live_workers(const json_t *ws)
{
    size_t i, n = 0;
    json_t *w;

    json_array_foreach(ws, i, w) {
        n += json_is_true(json_object_get(w, "live"));
    }
    return n;
}

/* Ready tasks over every queue of the figures' `queues` array. */
static long long
ready_total(const json_t *qs)
{
    size_t i;
    long long n = 0;
    json_t *q;

    json_array_foreach(qs, i, q) {
        n += json_integer_value(json_object_get(q, "ready"));
    }
    return n;
}

static double
num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

json_t *
sq_mon_health(const struct sq_mon_data *d, const char *why,
              const struct sq_mon_opts *o, int *status_out)
{
    json_t *h = json_object();
    json_t *reasons = json_array();
    int status = H_OK;
    char ts[40];

    if (d == NULL || d->snap == NULL) {
        reason(reasons, &status, H_UNHEALTHY, "broker",
               "Redis unreachable: %s", why != NULL ? why : "no connection");
        json_object_set_new(h, "ready", json_string("fail"));
        json_object_set_new(h, "reason", json_string("broker"));
    } else {
        const json_t *s = d->snap;
        const json_t *b = json_object_get(s, "broker");
        const json_t *ws = json_object_get(s, "workers");
        const json_t *qs = json_object_get(s, "queues");
        const char *pol =
            json_string_value(json_object_get(b, "maxmemory_policy"));
        double mr = num(json_object_get(b, "memory_ratio"));
        double er = num(json_object_get(json_object_get(s, "system"),
                                        "error_rate"));
        json_t *l5 = json_object_get(json_object_get(s, "system"), "last_5m");
        double fin5 =
            num(json_object_get(l5, "succeeded")) +
            num(json_object_get(l5, "failed"));
        size_t i;
        json_t *w, *q;

        json_object_set_new(h, "ready", json_string("ok"));
        if (json_is_false(json_object_get(b, "eviction_safe"))) {
            reason(reasons, &status, H_DEGRADED, "redis_eviction",
                   "Redis maxmemory-policy is %s: it may evict queued tasks "
                   "and results (use noeviction or volatile-*)",
                   pol);
        }
        if (!isnan(mr) && mr >= 0.8) {
            reason(reasons, &status, H_DEGRADED, "redis_memory",
                   "Redis uses %.0f%% of maxmemory", mr * 100.0);
        }
        {
            double miss = sq_mon_replicas_missing(d);
            if (!isnan(miss) && miss > 0) {
                const json_t *t = sq_mon_topology(d);
                reason(reasons, &status, H_DEGRADED, "replicas",
                       "%d of %lld replicas required by "
                       "SYNCQ_BROKER_MIN_REPLICAS are in sync: enqueues and "
                       "outcomes wait, then fail",
                       sq_mon_replicas_in_sync(t),
                       (long long)json_integer_value(
                           json_object_get(t, "min_replicas")));
            }
        }
        if (!isnan(er) && fin5 >= 5 && er > o->max_error_rate) {
            reason(reasons, &status, H_DEGRADED, "error_rate",
                   "error rate %.1f%% over 5 min (%.0f finished) is above "
                   "%.0f%%",
                   er * 100.0, fin5, o->max_error_rate * 100.0);
        }
        json_array_foreach(ws, i, w) {
            const char *id = json_string_value(json_object_get(w, "id"));
            const char *st = json_string_value(json_object_get(w, "state"));
            double age = num(json_object_get(w, "heartbeat_age_ms"));
            double loop = num(json_object_get(w, "loop_age_ms"));
            /* stale: its key is still there; offline: the key expired
             * (the process died): reported for 2 minutes, so a worker
             * stopped on purpose does not degrade health for long */
            if (st != NULL && ((strcmp(st, "stale") == 0 && age <= 600000.0) ||
                               (strcmp(st, "offline") == 0 &&
                                age <= 120000.0))) {
                reason(reasons, &status, H_DEGRADED, "heartbeat",
                       "worker %s heartbeat stale (last %.0f s ago)",
                       id ? id : "?", age / 1000.0);
            } else if (st != NULL && strcmp(st, "alive") == 0 &&
                       !json_is_true(json_object_get(w, "live"))) {
                reason(reasons, &status, H_DEGRADED, "consumer_loop",
                       "worker %s heartbeats but its consumer loop has not "
                       "moved for %.0f s",
                       id ? id : "?", loop / 1000.0);
            }
        }
        if (live_workers(ws) == 0) {
            long long ready = ready_total(qs);
            if (ready > 0) {
                reason(reasons, &status, H_DEGRADED, "no_workers",
                       "no live worker to run the %lld ready task%s "
                       "(start `syncq worker`)",
                       ready, ready == 1 ? "" : "s");
            } else {
                reason(reasons, &status, H_DEGRADED, "no_workers",
                       "no live worker: nothing would run a task created "
                       "now (start `syncq worker`)");
            }
        }
        json_array_foreach(qs, i, q) {
            const char *name = json_string_value(json_object_get(q, "name"));
            long long ready =
                json_integer_value(json_object_get(q, "ready"));
            const json_t *ago = json_object_get(q, "ready_5m_ago");
            if (name == NULL) {
                continue;
            }
            if (ready > 0 && sq_mon_queue_consumers(ws, name) == 0) {
                reason(reasons, &status, H_UNHEALTHY, "workers",
                       "no worker alive for queue %s (%lld ready)", name,
                       ready);
            }
            if (json_is_integer(ago) &&
                ready - json_integer_value(ago) >= 100 &&
                (double)ready >= 1.2 * (double)json_integer_value(ago)) {
                reason(reasons, &status, H_DEGRADED, "queue_growth",
                       "queue %s is growing: %lld ready, %lld 5 min ago",
                       name, ready, (long long)json_integer_value(ago));
            }
        }
    }
    json_object_set_new(h, "status", json_string(status_names[status]));
    json_object_set_new(h, "live", json_string("ok"));
    json_object_set_new(h, "reasons", reasons);
    json_object_set_new(h, "checked_at",
                        json_string(sq_time_format_iso8601_ms(
                            d != NULL && d->now_ms > 0 ? d->now_ms
                                                       : sq_now_ms(),
                            ts, sizeof ts)));
    if (status_out != NULL) {
        *status_out = status;
    }
    return h;
}
