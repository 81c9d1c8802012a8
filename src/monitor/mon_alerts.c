/* SPDX-License-Identifier: MIT
 *
 * mon_alerts.c: alert rule evaluation: metric values from a collection,
 * the pending/firing/resolved state machine, shared state in Redis
 * (WATCH/MULTI/EXEC) and notifications (log line, webhook through
 * mon_post). The rules file and its parser are in mon_alert_rules.c.
 * See mon_alerts.h.
 */
#include "monitor/mon_alerts.h"
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "monitor/mon_post.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_names[] = {"inactive", "pending", "firing",
                                    "resolved"};

const char *
sq_alert_state_name(int s)
{
    return s >= 0 && s <= SQ_AS_RESOLVED ? state_names[s] : "inactive";
}

/* ---- values ------------------------------------------------------------ */

static const char *
nz(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static double
jnum(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Sum of a per-queue snapshot field over queues matching `queue`. */
static double
queue_sum(const struct sq_mon_data *d, const char *queue, const char *field)
{
    const json_t *qs = json_object_get(d->snap, "queues");
    size_t i;
    json_t *q;
    double s = 0;

    json_array_foreach(qs, i, q) {
        const char *n = json_string_value(json_object_get(q, "name"));
        if (queue == NULL || (n != NULL && strcmp(n, queue) == 0)) {
            s += json_number_value(json_object_get(q, field));
        }
    }
    return s;
}

static bool
worker_serves(const json_t *w, const char *queue)
{
    const json_t *qs = json_object_get(w, "queues");
    size_t i;
    json_t *q;

    if (queue == NULL || json_array_size(qs) == 0) {
        return true;
    }
    json_array_foreach(qs, i, q) {
        if (json_is_string(q) && strcmp(json_string_value(q), queue) == 0) {
            return true;
        }
    }
    return false;
}

/* Queues (only `queue` when not NULL) with ready tasks and no live
 * worker serving them: what health calls unhealthy ("workers"). */
static double
unserved_queues(const struct sq_mon_data *d, const char *queue)
{
    const json_t *qs = json_object_get(d->snap, "queues");
    const json_t *ws = json_object_get(d->snap, "workers");
    size_t i;
    json_t *q;
    double n = 0;

    json_array_foreach(qs, i, q) {
        const char *name = json_string_value(json_object_get(q, "name"));
        if (name == NULL || (queue != NULL && strcmp(name, queue) != 0)) {
            continue;
        }
        if (json_integer_value(json_object_get(q, "ready")) > 0 &&
            sq_mon_queue_consumers(ws, name) == 0) {
            n++;
        }
    }
    return n;
}

double
sq_alert_value(const struct sq_alert_rule *r, const struct sq_mon_data *d)
{
    const char *q = nz(r->queue), *t = nz(r->task);
    int64_t w = r->window_ms > 0 ? r->window_ms : 300000;

    if (d == NULL || d->snap == NULL) {
        return NAN;
    }
    switch (r->metric) {
    case SQ_AM_ERROR_RATE: {
        double ok = sq_mon_window_sum(d, SQ_K_SUCCEEDED, q, t, w);
        double bad_ = sq_mon_window_sum(d, SQ_K_FAILED, q, t, w);
        return ok + bad_ > 0 ? bad_ / (ok + bad_) : NAN;
    }
    case SQ_AM_FAILED:
        return sq_mon_window_sum(d, SQ_K_FAILED, q, t, w);
    case SQ_AM_SUCCEEDED:
        return sq_mon_window_sum(d, SQ_K_SUCCEEDED, q, t, w);
    case SQ_AM_SENT:
        return sq_mon_window_sum(d, SQ_K_SENT, q, t, w);
    case SQ_AM_RETRIED:
        return sq_mon_window_sum(d, SQ_K_RETRIED, q, t, w);
    case SQ_AM_DEAD:
        return sq_mon_window_sum(d, SQ_K_DEAD, q, t, w);
    case SQ_AM_LOST:
        return sq_mon_window_sum(d, SQ_K_LOST, q, t, w) +
               sq_mon_window_sum(d, SQ_K_LEASE_EXPIRED, q, t, w);
    case SQ_AM_THROUGHPUT:
        return (sq_mon_window_sum(d, SQ_K_SUCCEEDED, q, t, w) +
                sq_mon_window_sum(d, SQ_K_FAILED, q, t, w)) /
               ((double)w / 1000.0);
    case SQ_AM_RUNTIME_MEAN: {
        double c = sq_mon_window_sum(d, SQ_K_RT_COUNT, q, t, w);
        return c > 0 ? sq_mon_window_sum(d, SQ_K_RT_SUM, q, t, w) / c /
                           1000.0
                     : NAN;
    }
    case SQ_AM_RUNTIME_P95: {
        long long h[SQ_MON_NBUCKETS] = {0};
        for (size_t i = 0; i < d->ns; i++) {
            if ((q == NULL || strcmp(d->s[i].queue, q) == 0) &&
                (t == NULL || strcmp(d->s[i].task, t) == 0)) {
                for (int b = 0; b < SQ_MON_NBUCKETS; b++) {
                    h[b] += d->s[i].rt_hist[b];
                }
            }
        }
        return sq_mon_hist_quantile(h, 0.95) / 1000.0;
    }
    case SQ_AM_WAIT_MEAN: {
        double c = sq_mon_window_sum(d, SQ_K_WAIT_COUNT, q, NULL, w);
        return c > 0 ? sq_mon_window_sum(d, SQ_K_WAIT_SUM, q, NULL, w) / c /
                           1000.0
                     : NAN;
    }
    case SQ_AM_QUEUE_DEPTH:
        return queue_sum(d, q, "ready");
    case SQ_AM_DELAYED:
        return q != NULL ? queue_sum(d, q, "delayed")
                         : jnum(json_object_get(
                               json_object_get(d->snap, "totals"), "delayed"));
    case SQ_AM_RUNNING:
        return q != NULL ? queue_sum(d, q, "running")
                         : jnum(json_object_get(
                               json_object_get(d->snap, "totals"), "running"));
    case SQ_AM_DEAD_LETTER:
        return jnum(json_object_get(json_object_get(d->snap, "totals"),
                                    "dead"));
    case SQ_AM_WORKERS_ALIVE:
    case SQ_AM_HEARTBEAT_AGE: {
        const json_t *ws = json_object_get(d->snap, "workers");
        size_t i;
        json_t *wk;
        double alive = 0, newest = INFINITY;
        json_array_foreach(ws, i, wk) {
            double age = jnum(json_object_get(wk, "heartbeat_age_ms"));
            if (!worker_serves(wk, q)) {
                continue;
            }
            if (json_is_true(json_object_get(wk, "alive"))) {
                alive++;
            }
            if (!isnan(age) && age / 1000.0 < newest) {
                newest = age / 1000.0;
            }
        }
        return r->metric == SQ_AM_WORKERS_ALIVE ? alive : newest;
    }
    case SQ_AM_MEMORY_RATIO:
        return jnum(json_object_get(json_object_get(d->snap, "broker"),
                                    "memory_ratio"));
    case SQ_AM_POISON:
        return (double)d->poison_total;
    case SQ_AM_REPLICAS_MISSING:
        return sq_mon_replicas_missing(d);
    case SQ_AM_FAILOVER_AGE:
        return sq_mon_failover_age_s(d);
    case SQ_AM_UNSERVED_QUEUES:
        return unserved_queues(d, q);
    default:
        return NAN;
    }
}

/* ---- state machine ----------------------------------------------------- */

static bool
compare(int op, double v, double x)
{
    if (isnan(v)) {
        return false;
    }
    switch (op) {
    case SQ_OP_GT:
        return v > x;
    case SQ_OP_GE:
        return v >= x;
    case SQ_OP_LT:
        return v < x;
    case SQ_OP_LE:
        return v <= x;
    case SQ_OP_EQ:
        return v == x;
    case SQ_OP_NE:
        return v != x;
    default:
        return false;
    }
}

/* Still on the firing side of the clear level (hysteresis band): for > and
 * >= the value must drop to the clear level or below to count as clear. */
static bool
beyond_clear(const struct sq_alert_rule *r, double v)
{
    if (isnan(v)) {
        return false;
    }
    switch (r->op) {
    case SQ_OP_GT:
        return v > r->clear;
    case SQ_OP_GE:
        return r->clear < r->threshold ? v > r->clear : v >= r->clear;
    case SQ_OP_LT:
        return v < r->clear;
    case SQ_OP_LE:
        return r->clear > r->threshold ? v < r->clear : v <= r->clear;
    default:
        return compare(r->op, v, r->threshold);
    }
}

int
sq_alert_step(const struct sq_alert_rule *r, struct sq_alert_state *st,
              double v, int64_t now)
{
    bool cond = compare(r->op, v, r->threshold);

    st->value = v;
    switch (st->state) {
    case SQ_AS_INACTIVE:
    case SQ_AS_RESOLVED:
        if (!cond) {
            return -1;
        }
        st->state = SQ_AS_PENDING;
        st->since_ms = now;
        st->clear_since_ms = 0;
        if (r->for_ms > 0) {
            return -1;
        }
        /* fall through: for 0 fires at once */
        /* FALLTHROUGH */
    case SQ_AS_PENDING:
        if (!cond) {
            st->state = SQ_AS_INACTIVE;
            st->since_ms = now;
            return -1;
        }
        if (now - st->since_ms < r->for_ms) {
            return -1;
        }
        st->state = SQ_AS_FIRING;
        st->fired_at_ms = now;
        st->clear_since_ms = 0;
        return SQ_AS_FIRING;
    case SQ_AS_FIRING:
        if (beyond_clear(r, v)) {
            st->clear_since_ms = 0;
            return -1;
        }
        if (st->clear_since_ms == 0) {
            st->clear_since_ms = now;
        }
        if (now - st->clear_since_ms < r->keep_ms) {
            return -1;
        }
        st->state = SQ_AS_RESOLVED;
        st->resolved_at_ms = now;
        st->since_ms = now;
        st->clear_since_ms = 0;
        return SQ_AS_RESOLVED;
    default:
        st->state = SQ_AS_INACTIVE;
        return -1;
    }
}

/* ---- evaluator --------------------------------------------------------- */

struct sq_alerts {
    struct sq_alert_rules rules;
    char *webhook;            /* NULL: none */
    struct sq_poster *poster; /* started on the first webhook */
};

int
sq_alerts_new(const syncq_config *cfg, const char *rules_path,
              struct sq_alerts **out, syncq_error *err)
{
    struct sq_alerts *a;
    const char *hook = cfg != NULL ? syncq_config_str(cfg,
                                                      "SYNCQ_ALERT_WEBHOOK")
                                   : "";
    int rc;

    *out = NULL;
    a = sq_calloc(1, sizeof *a);
    if (a == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (rules_path == NULL && cfg != NULL) {
        rules_path = syncq_config_str(cfg, "SYNCQ_ALERT_RULES");
    }
    rc = sq_alert_rules_load(rules_path, &a->rules, err);
    if (rc == SYNCQ_OK && hook != NULL && hook[0] != '\0') {
        if (strncmp(hook, "http://", 7) != 0 &&
            strncmp(hook, "https://", 8) != 0) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "SYNCQ_ALERT_WEBHOOK must be an http:// or https:// "
                         "URL");
        } else {
            a->webhook = sq_strdup(hook);
            if (a->webhook == NULL) {
                rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
            }
        }
    }
    if (rc != SYNCQ_OK) {
        sq_alerts_free(a);
        return rc;
    }
    *out = a;
    return SYNCQ_OK;
}

void
sq_alerts_free(struct sq_alerts *a)
{
    if (a == NULL) {
        return;
    }
    sq_poster_free(a->poster, 2000);
    sq_alert_rules_cleanup(&a->rules);
    sq_free(a->webhook);
    sq_free(a);
}

const struct sq_alert_rules *
sq_alerts_rules(const struct sq_alerts *a)
{
    return &a->rules;
}

void
sq_alerts_flush(struct sq_alerts *a, int64_t timeout_ms)
{
    if (a != NULL && a->poster != NULL) {
        sq_poster_flush(a->poster, timeout_ms);
    }
}

/* Year 9999 in epoch ms: the largest time a stored state may hold. */
#define ALERT_MAX_MS 253402300799999LL

static int64_t
jms(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static json_t *
iso_or_null(int64_t ms)
{
    char buf[40];

    return ms > 0 ? json_string(sq_time_format_iso8601_ms(ms, buf, sizeof buf))
                  : json_null();
}

/* The stored/served JSON of a rule and its state. */
static json_t *
state_json(const struct sq_alert_rule *r, const struct sq_alert_state *st,
           int64_t now)
{
    json_t *o = json_object();

    json_object_set_new(o, "name", json_string(r->name));
    json_object_set_new(o, "state",
                        json_string(sq_alert_state_name(st->state)));
    json_object_set_new(o, "severity", json_string(r->severity));
    json_object_set_new(o, "metric",
                        json_string(sq_alert_metric_name(r->metric)));
    json_object_set_new(o, "op", json_string(sq_alert_op_name(r->op)));
    json_object_set_new(o, "threshold", json_real(r->threshold));
    json_object_set_new(o, "clear", json_real(r->clear));
    json_object_set_new(o, "queue", r->queue[0] ? json_string(r->queue)
                                                : json_null());
    json_object_set_new(o, "task", r->task[0] ? json_string(r->task)
                                              : json_null());
    json_object_set_new(o, "window_s", json_integer(r->window_ms / 1000));
    json_object_set_new(o, "for_s", json_integer(r->for_ms / 1000));
    json_object_set_new(o, "summary", json_string(r->summary));
    json_object_set_new(o, "value", sq_mon_real(st->value));
    json_object_set_new(o, "since_ms", json_integer(st->since_ms));
    json_object_set_new(o, "fired_at_ms", json_integer(st->fired_at_ms));
    json_object_set_new(o, "resolved_at_ms", json_integer(st->resolved_at_ms));
    json_object_set_new(o, "clear_since_ms", json_integer(st->clear_since_ms));
    json_object_set_new(o, "since", iso_or_null(st->since_ms));
    json_object_set_new(o, "fired_at", iso_or_null(st->fired_at_ms));
    json_object_set_new(o, "resolved_at", iso_or_null(st->resolved_at_ms));
    json_object_set_new(o, "updated_at", iso_or_null(now));
    return o;
}

/* A stored state; false (and inactive) when it is not one: another
 * writer's bytes, or times outside 0 .. year 9999 (read back from Redis
 * like any input: `now - since_ms` must not overflow). */
static bool
state_from_json(const json_t *o, struct sq_alert_state *st)
{
    const char *s = json_string_value(json_object_get(o, "state"));
    int64_t *t[4];

    memset(st, 0, sizeof *st);
    st->value = NAN;
    for (int i = 0; s != NULL && i <= SQ_AS_RESOLVED; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            st->state = i;
        }
    }
    st->since_ms = jms(o, "since_ms");
    st->fired_at_ms = jms(o, "fired_at_ms");
    st->resolved_at_ms = jms(o, "resolved_at_ms");
    st->clear_since_ms = jms(o, "clear_since_ms");
    t[0] = &st->since_ms;
    t[1] = &st->fired_at_ms;
    t[2] = &st->resolved_at_ms;
    t[3] = &st->clear_since_ms;
    for (int i = 0; i < 4; i++) {
        if (*t[i] < 0 || *t[i] > ALERT_MAX_MS) {
            memset(st, 0, sizeof *st);
            st->value = NAN;
            return false;
        }
    }
    return json_is_object(o);
}

int
sq_alert_state_parse(const char *text, size_t len, struct sq_alert_state *st)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    bool ok = state_from_json(o, st);

    json_decref(o);
    return ok ? SYNCQ_OK : SYNCQ_EPROTO;
}

static void
notify(struct sq_alerts *a, const char *ns, json_t *ev)
{
    const char *name = json_string_value(json_object_get(ev, "name"));
    const char *state = json_string_value(json_object_get(ev, "state"));
    char vbuf[64];
    char q[300];
    const json_t *v = json_object_get(ev, "value");

    if (json_is_number(v)) {
        snprintf(vbuf, sizeof vbuf, "%g", json_number_value(v));
    } else {
        snprintf(vbuf, sizeof vbuf, "none");
    }
    if (strcmp(state, "firing") == 0) {
        /* ns last: a monitor may serve several namespaces */
        SQ_WARN("alert.firing", "alert=%s severity=%s value=%s op=%s "
                                "threshold=%g summary=%s ns=%s",
                name,
                json_string_value(json_object_get(ev, "severity")), vbuf,
                json_string_value(json_object_get(ev, "op")),
                json_number_value(json_object_get(ev, "threshold")),
                sq_log_quote(json_string_value(json_object_get(ev, "summary")),
                             q, sizeof q),
                ns);
    } else {
        SQ_INFO("alert.resolved", "alert=%s severity=%s value=%s ns=%s", name,
                json_string_value(json_object_get(ev, "severity")), vbuf, ns);
    }
    if (a->webhook != NULL) {
        char *body;
        static const char *const hdr[] = {"Content-Type: application/json",
                                          NULL};
        syncq_error e;
        if (a->poster == NULL &&
            sq_poster_new(256, &a->poster, &e) != SYNCQ_OK) {
            SQ_WARN("alert.webhook_failed", "err=%s",
                    sq_log_quote(e.msg, q, sizeof q));
            return;
        }
        json_object_set_new(ev, "namespace", json_string(ns));
        json_object_set_new(ev, "source", json_string("syncq"));
        body = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (body != NULL) {
            if (sq_poster_post(a->poster, a->webhook, hdr, body, strlen(body),
                               &e) != SYNCQ_OK) {
                SQ_WARN("alert.webhook_dropped", "alert=%s err=%s", name,
                        sq_log_quote(e.msg, q, sizeof q));
            }
            sq_free(body);
        }
    }
}

int
sq_alerts_tick(struct sq_alerts *a, syncq_client *c,
               const struct sq_mon_data *din, int *transitions,
               syncq_error *err)
{
    struct sq_mon_data own;
    const struct sq_mon_data *d = din;
    char key[256], logkey[256];
    redisReply *r = NULL;
    json_t *stored = NULL;
    json_t *events = NULL;
    struct sq_args args;
    int rc;
    int64_t now;

    if (transitions != NULL) {
        *transitions = 0;
    }
    memset(&own, 0, sizeof own);
    if (d == NULL) {
        struct sq_mon_opts o;
        sq_mon_opts_init(&o, syncq_client_config(c));
        rc = sq_mon_collect(c, &o, &own, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        d = &own;
    }
    now = d->now_ms;
    sq_key(c, key, sizeof key, "alerts");
    sq_key(c, logkey, sizeof logkey, "alerts:log");
    rc = sq_client_cmd(c, &r, err, "WATCH %s", key);
    if (rc == SYNCQ_OK) {
        freeReplyObject(r);
        rc = sq_client_cmd(c, &r, err, "HGETALL %s", key);
    }
    if (rc != SYNCQ_OK) {
        sq_mon_data_cleanup(&own);
        return rc;
    }
    stored = json_object();
    events = json_array();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2) {
        json_error_t je;
        json_t *v;
        if (r->element[i]->type != REDIS_REPLY_STRING ||
            r->element[i + 1]->type != REDIS_REPLY_STRING) {
            continue;
        }
        v = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0,
                       &je);
        if (json_is_object(v)) {
            json_object_set_new(stored, r->element[i]->str, v);
        } else {
            json_decref(v);
            json_object_set_new(stored, r->element[i]->str, json_object());
        }
    }
    freeReplyObject(r);
    r = NULL;

    /* MULTI; HSET alerts name state ...; HDEL stale; LPUSH log; EXEC */
    sq_args_init(&args);
    sq_args_add(&args, "HSET");
    sq_args_add(&args, key);
    for (size_t i = 0; i < a->rules.n; i++) {
        const struct sq_alert_rule *rule = &a->rules.r[i];
        struct sq_alert_state st;
        int tr;
        json_t *sj;
        state_from_json(json_object_get(stored, rule->name), &st);
        tr = sq_alert_step(rule, &st, sq_alert_value(rule, d), now);
        sj = state_json(rule, &st, now);
        sq_args_add(&args, rule->name);
        sq_args_take(&args, json_dumps(sj, JSON_COMPACT | JSON_PRESERVE_ORDER));
        if (tr >= 0) {
            json_object_set_new(sj, "at", iso_or_null(now));
            json_array_append(events, sj);
        }
        json_decref(sj);
        json_object_del(stored, rule->name);
    }
    rc = args.oom ? sq_fail(err, SYNCQ_ENOMEM, "out of memory") : SYNCQ_OK;
    if (rc == SYNCQ_OK) {
        int queued = 0;
        const char *name;
        json_t *v;
        sq_conn_append(c, "MULTI");
        queued++;
        if (a->rules.n > 0) {
            sq_conn_append_argv(c, (int)args.n, args.argv, args.lens);
            queued++;
        }
        json_object_foreach(stored, name, v) {
            sq_conn_append(c, "HDEL %s %s", key, name);
            queued++;
        }
        for (size_t i = 0; i < json_array_size(events); i++) {
            char *s = json_dumps(json_array_get(events, i), JSON_COMPACT);
            if (s != NULL) {
                sq_conn_append(c, "LPUSH %s %s", logkey, s);
                queued++;
                sq_free(s);
            }
        }
        sq_conn_append(c, "LTRIM %s 0 199", logkey);
        queued++;
        sq_conn_append(c, "EXEC");
        queued++;
        for (int i = 0; i < queued && rc == SYNCQ_OK; i++) {
            rc = sq_client_read_reply(c, &r, err);
            if (rc != SYNCQ_OK) {
                break;
            }
            if (i == queued - 1) {
                if (r->type == REDIS_REPLY_NIL) {
                    /* Another evaluator changed the states first: it
                     * notifies; we drop ours. */
                    json_array_clear(events);
                } else if (r->type != REDIS_REPLY_ARRAY) {
                    rc = sq_fail(err, SYNCQ_EPROTO, "alerts EXEC: %s",
                                 r->type == REDIS_REPLY_ERROR ? r->str
                                                              : "unexpected");
                }
            }
            freeReplyObject(r);
            r = NULL;
        }
    } else {
        redisReply *u = NULL;
        if (sq_client_cmd(c, &u, NULL, "UNWATCH") == SYNCQ_OK) {
            freeReplyObject(u);
        }
    }
    sq_args_cleanup(&args);
    if (rc == SYNCQ_OK) {
        const char *ns_end = strchr(c->prefix + 1, '}');
        char ns[80];
        snprintf(ns, sizeof ns, "%.*s",
                 ns_end ? (int)(ns_end - c->prefix - 1) : 0, c->prefix + 1);
        for (size_t i = 0; i < json_array_size(events); i++) {
            notify(a, ns, json_array_get(events, i));
        }
        if (transitions != NULL) {
            *transitions = (int)json_array_size(events);
        }
    }
    json_decref(stored);
    json_decref(events);
    sq_mon_data_cleanup(&own);
    return rc;
}

static const char *
name_of(const json_t *o)
{
    const char *s = json_string_value(json_object_get(o, "name"));

    return s != NULL ? s : "";
}

int
sq_alerts_read(syncq_client *c, size_t recent_max, json_t **out,
               syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    json_t *o, *alerts, *recent;
    int rc;

    *out = NULL;
    if (recent_max == 0) {
        recent_max = 50;
    }
    rc = sq_client_cmd(c, &r, err, "HGETALL %s",
                       sq_key(c, key, sizeof key, "alerts"));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    o = json_object();
    alerts = json_array();
    recent = json_array();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2) {
        json_error_t je;
        json_t *v;
        if (r->element[i + 1]->type != REDIS_REPLY_STRING) {
            continue;
        }
        v = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0,
                       &je);
        if (json_is_object(v)) {
            json_array_append_new(alerts, v);
        } else {
            json_decref(v);
        }
    }
    freeReplyObject(r);
    /* firing first, then pending, then by name */
    {
        size_t n = json_array_size(alerts);
        for (size_t i = 1; i < n; i++) {
            for (size_t j = i; j > 0; j--) {
                json_t *x = json_array_get(alerts, j - 1);
                json_t *y = json_array_get(alerts, j);
                static const char *order[] = {"firing", "pending",
                                              "resolved", "inactive"};
                int ox = 4, oy = 4;
                const char *sx = json_string_value(json_object_get(x, "state"));
                const char *sy = json_string_value(json_object_get(y, "state"));
                for (int k = 0; k < 4; k++) {
                    if (sx && strcmp(sx, order[k]) == 0) {
                        ox = k;
                    }
                    if (sy && strcmp(sy, order[k]) == 0) {
                        oy = k;
                    }
                }
                if (ox < oy || (ox == oy && strcmp(name_of(x),
                                                   name_of(y)) <= 0)) {
                    break;
                }
                json_incref(x);
                json_array_set(alerts, j - 1, y);
                json_array_set_new(alerts, j, x);
            }
        }
    }
    rc = sq_client_cmd(c, &r, err, "LRANGE %s 0 %lld",
                       sq_key(c, key, sizeof key, "alerts:log"),
                       (long long)recent_max - 1);
    if (rc != SYNCQ_OK) {
        json_decref(alerts);
        json_decref(recent);
        json_decref(o);
        return rc;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        json_error_t je;
        json_t *v;
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }
        v = json_loadb(r->element[i]->str, r->element[i]->len, 0, &je);
        if (json_is_object(v)) {
            json_array_append_new(recent, v);
        } else {
            json_decref(v);
        }
    }
    freeReplyObject(r);
    json_object_set_new(o, "alerts", alerts);
    json_object_set_new(o, "recent", recent);
    *out = o;
    return SYNCQ_OK;
}
