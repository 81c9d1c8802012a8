/* SPDX-License-Identifier: MIT
 *
 * mon_collect.c: collect every figure the monitor shows from Redis in two
 * pipelined round trips: counters ({ns}:stats and the last 61 minute
 * buckets {ns}:m:<minute>), queue depths of every priority list (C41),
 * delayed/active/dead-letter sets, worker heartbeats, running tasks with
 * their progress, and batches. Builds the snapshot JSON documented in
 * docs/monitor.md (the counter figures come from mon_figures.c). Only
 * reads; a bad value from Redis is skipped, never trusted.
 */
#include "monitor/mon.h"
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pipeline -------------------------------------------------- */

struct pipe {
    syncq_client *c;
    int sent;
    int failed; /* an append failed: replies must still be drained */
};

static void
pipe_add(struct pipe *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pipe_add(struct pipe *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (sq_conn_vappend(p->c, fmt, ap) == REDIS_OK) {
        p->sent++;
    } else {
        p->failed = 1;
    }
    va_end(ap);
}

/* Read `n` replies into r[0..n-1] (each may be a Redis error reply). */
static int
pipe_read(struct pipe *p, redisReply **r, int n, syncq_error *err)
{
    int rc = SYNCQ_OK;

    for (int i = 0; i < n; i++) {
        r[i] = NULL;
    }
    for (int i = 0; i < n; i++) {
        rc = sq_client_read_reply(p->c, &r[i], err);
        if (rc != SYNCQ_OK) {
            break;
        }
    }
    return rc;
}

static void
free_replies(redisReply **r, int n)
{
    for (int i = 0; i < n; i++) {
        if (r[i] != NULL) {
            freeReplyObject(r[i]);
            r[i] = NULL;
        }
    }
}

static long long
rint_of(const redisReply *r)
{
    if (r == NULL) {
        return 0;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        return r->integer;
    }
    if (r->type == REDIS_REPLY_STRING) {
        return strtoll(r->str, NULL, 10);
    }
    return 0;
}

static bool
is_arr(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_ARRAY;
}

static bool
is_str(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_STRING;
}

static json_t *
ms_iso(int64_t ms)
{
    char buf[40];

    if (ms <= 0) {
        return json_null();
    }
    return json_string(sq_time_format_iso8601_ms(ms, buf, sizeof buf));
}

/* Number from a JSON value that may be an integer, a real or a numeric
 * string; `dflt` otherwise. */
static double
jnum(const json_t *v, double dflt)
{
    if (json_is_number(v)) {
        return json_number_value(v);
    }
    if (json_is_string(v)) {
        char *end;
        double x = strtod(json_string_value(v), &end);
        if (end != json_string_value(v)) {
            return x;
        }
    }
    return dflt;
}

/* First present member of `o` among `names` (NULL-terminated). */
static json_t *
jany(const json_t *o, const char *const *names)
{
    for (; *names != NULL; names++) {
        json_t *v = json_object_get(o, *names);
        if (v != NULL && !json_is_null(v)) {
            return v;
        }
    }
    return NULL;
}

/* RSS in bytes from a worker/child info object (rss_bytes, rss_kb, rss). */
static double
rss_bytes_of(const json_t *o)
{
    static const char *const kb[] = {"rss_kb", "maxrss_kb", NULL};
    static const char *const by[] = {"rss_bytes", "rss", NULL};
    json_t *v = jany(o, by);

    if (v != NULL) {
        return jnum(v, NAN);
    }
    v = jany(o, kb);
    return v != NULL ? jnum(v, NAN) * 1024.0 : NAN;
}

static double
cpu_of(const json_t *o)
{
    static const char *const names[] = {"cpu_percent", "cpu", "cpu_pct",
                                        NULL};
    json_t *v = jany(o, names);

    return v != NULL ? jnum(v, NAN) : NAN;
}

/* A worker is down once two of its heartbeats are missed (its own
 * interval, from its info, plus 250 ms for the round trip), or after
 * SYNCQ_HEALTH_STALE_AFTER when that is sooner. */
static int64_t
down_after_ms(const json_t *info, const struct sq_mon_opts *o)
{
    double hb = jnum(json_object_get(info, "heartbeat_ms"), 0);

    if (hb > 0 && 2.0 * hb + 250.0 < (double)o->stale_ms) {
        return (int64_t)(2.0 * hb) + 250;
    }
    return o->stale_ms;
}

/* Running tasks of a worker that is not alive are `recovering`: their
 * lease runs out and they are requeued (mon.h). */
void
sq_mon_mark_recovering(json_t *running, const json_t *workers)
{
    size_t i, j;
    json_t *t, *w;

    json_array_foreach(running, i, t) {
        const char *wid = json_string_value(json_object_get(t, "worker"));
        bool alive = false;
        json_array_foreach(workers, j, w) {
            const char *id = json_string_value(json_object_get(w, "id"));
            if (wid != NULL && id != NULL && strcmp(wid, id) == 0) {
                alive = json_is_true(json_object_get(w, "alive"));
                break;
            }
        }
        if (!alive) {
            json_object_set_new(t, "state", json_string("recovering"));
        }
    }
}

/* The worker entry of the snapshot from its zset score and info JSON. */
static json_t *
worker_json(const char *id, int64_t hb_ms, const redisReply *info,
            const struct sq_mon_data *d, const struct sq_mon_opts *o)
{
    json_t *w = json_object();
    json_t *in = NULL;
    int64_t age = d->now_ms - hb_ms;
    const char *state;
    double rss = NAN, cpu = NAN;
    json_t *children = json_array();
    json_t *queues = json_array();
    json_t *tasks = json_array();
    long long running = 0;
    double loop_age = NAN;

    if (is_str(info)) {
        json_error_t je;
        in = json_loadb(info->str, info->len, 0, &je);
        if (!json_is_object(in)) {
            json_decref(in);
            in = NULL;
        }
    }
    if (in == NULL) {
        state = "offline";
    } else if (age > down_after_ms(in, o)) {
        state = "stale";
    } else {
        state = "alive";
    }
    json_object_set_new(w, "id", json_string(id));
    json_object_set_new(w, "state", json_string(state));
    json_object_set_new(w, "alive", json_boolean(strcmp(state, "alive") == 0));
    json_object_set_new(w, "last_heartbeat", ms_iso(hb_ms));
    json_object_set_new(w, "heartbeat_age_ms", json_integer(age < 0 ? 0 : age));
    if (in != NULL) {
        static const char *const host[] = {"hostname", "host", NULL};
        static const char *const done[] = {"done", "tasks_done", "processed",
                                           NULL};
        static const char *const conc[] = {"concurrency", "pool", NULL};
        static const char *const loop[] = {"loop_at_ms", "loop_at",
                                           "loop_ms", "consumer_at", NULL};
        json_t *v;
        size_t i;
        json_t *e;

        v = jany(in, host);
        json_object_set_new(w, "hostname",
                            json_is_string(v) ? json_copy(v) : json_null());
        v = json_object_get(in, "pid");
        json_object_set_new(w, "pid", json_integer((json_int_t)jnum(v, 0)));
        v = jany(in, conc);
        json_object_set_new(w, "concurrency",
                            json_integer((json_int_t)jnum(v, 0)));
        v = jany(in, done);
        json_object_set_new(w, "done", json_integer((json_int_t)jnum(v, 0)));
        v = json_object_get(in, "tasks_failed");
        json_object_set_new(w, "failed",
                            json_integer((json_int_t)jnum(v, 0)));
        for (const char *const *f = sq_mon_fault_fields; *f != NULL; f++) {
            v = json_object_get(in, *f); /* issue 12: broker faults */
            json_object_set_new(w, *f, json_integer((json_int_t)jnum(v, 0)));
        }
        v = json_object_get(in, "queues");
        if (json_is_array(v)) {
            json_array_foreach(v, i, e) {
                if (json_is_string(e)) {
                    json_array_append(queues, e);
                }
            }
        } else if (json_is_string(v)) {
            const char *s = json_string_value(v);
            while (*s != '\0') {
                size_t n = strcspn(s, ", ");
                if (n > 0) {
                    json_array_append_new(queues, json_stringn(s, n));
                }
                s += n;
                s += strspn(s, ", ");
            }
        }
        v = json_object_get(in, "children");
        if (json_is_array(v)) {
            double rsum = 0, csum = 0;
            bool rany = false, cany = false;
            json_array_foreach(v, i, e) {
                static const char *const tk[] = {"task", "task_id", "id",
                                                 NULL};
                json_t *ch = json_object();
                double r = rss_bytes_of(e), cp = cpu_of(e);
                json_t *t = jany(e, tk);
                json_object_set_new(ch, "pid", json_integer((json_int_t)jnum(
                                                   json_object_get(e, "pid"),
                                                   0)));
                json_object_set_new(ch, "rss_bytes", sq_mon_real(r));
                json_object_set_new(ch, "cpu_percent", sq_mon_real(cp));
                json_object_set_new(ch, "task",
                                    json_is_string(t) ? json_copy(t)
                                                      : json_null());
                if (json_is_string(t) && json_string_length(t) > 0) {
                    running++;
                    json_array_append(tasks, t);
                }
                if (!isnan(r)) {
                    rsum += r;
                    rany = true;
                }
                if (!isnan(cp)) {
                    csum += cp;
                    cany = true;
                }
                json_array_append_new(children, ch);
            }
            if (rany) {
                rss = rsum;
            }
            if (cany) {
                cpu = csum;
            }
        }
        {
            double own = rss_bytes_of(in);
            double owncpu = cpu_of(in);
            if (!isnan(own)) {
                rss = isnan(rss) ? own : rss + own;
            }
            if (!isnan(owncpu)) {
                cpu = isnan(cpu) ? owncpu : cpu + owncpu;
            }
        }
        v = json_object_get(in, "running");
        if (json_is_array(v)) {
            if (json_array_size(tasks) == 0) {
                json_array_foreach(v, i, e) {
                    if (json_is_string(e)) {
                        json_array_append(tasks, e);
                    } else if (json_is_object(e) &&
                               json_is_string(json_object_get(e, "id"))) {
                        json_array_append(tasks, json_object_get(e, "id"));
                    }
                }
            }
            running = (long long)json_array_size(v);
        } else if (json_is_number(v)) {
            running = (long long)jnum(v, 0);
        }
        v = jany(in, loop);
        if (v != NULL) {
            double at = jnum(v, NAN);
            if (!isnan(at)) {
                loop_age = (double)d->now_ms - at;
                if (loop_age < 0) {
                    loop_age = 0;
                }
            }
        }
    } else {
        json_object_set_new(w, "hostname", json_null());
        json_object_set_new(w, "pid", json_integer(0));
        json_object_set_new(w, "concurrency", json_integer(0));
        json_object_set_new(w, "done", json_integer(0));
        json_object_set_new(w, "failed", json_integer(0));
    }
    json_object_set_new(w, "running", json_integer(running));
    json_object_set_new(w, "tasks", tasks);
    json_object_set_new(w, "queues", queues);
    json_object_set_new(w, "children", children);
    json_object_set_new(w, "rss_bytes", sq_mon_real(rss));
    json_object_set_new(w, "cpu_percent", sq_mon_real(cpu));
    json_object_set_new(w, "loop_age_ms",
                        isnan(loop_age) ? json_null()
                                        : json_integer((json_int_t)loop_age));
    /* live: heartbeating and (when reported) its consumer loop moving */
    json_object_set_new(
        w, "live",
        json_boolean(strcmp(state, "alive") == 0 &&
                     (isnan(loop_age) || loop_age <= (double)o->stale_ms)));
    json_decref(in);
    return w;
}

/* Progress block of a running task from its progress JSON text. */
static json_t *
progress_json(const redisReply *r, int64_t now_ms)
{
    json_t *p, *o;
    json_error_t je;
    double cur, tot, rate, eta = NAN, pct = NAN;

    if (!is_str(r)) {
        return json_null();
    }
    p = json_loadb(r->str, r->len, 0, &je);
    if (!json_is_object(p)) {
        json_decref(p);
        return json_null();
    }
    cur = jnum(json_object_get(p, "current"), 0);
    tot = jnum(json_object_get(p, "total"), 0);
    rate = jnum(json_object_get(p, "rate"), 0);
    if (tot > 0) {
        pct = cur * 100.0 / tot;
        if (pct > 100) {
            pct = 100;
        }
        if (rate > 0 && cur < tot) {
            eta = (tot - cur) / rate;
        } else if (cur >= tot) {
            eta = 0;
        }
    }
    o = json_object();
    json_object_set_new(o, "current", json_integer((json_int_t)cur));
    json_object_set_new(o, "total", json_integer((json_int_t)tot));
    {
        json_t *m = json_object_get(p, "message");
        json_object_set_new(o, "message",
                            json_is_string(m) ? json_copy(m) : json_string(""));
    }
    json_object_set_new(o, "rate", sq_mon_real(rate));
    json_object_set_new(o, "percent", sq_mon_real(pct));
    json_object_set_new(o, "eta_s", sq_mon_real(eta));
    {
        double at = jnum(json_object_get(p, "at"), 0);
        json_object_set_new(o, "updated_at", ms_iso((int64_t)at));
        json_object_set_new(o, "age_ms",
                            json_integer(at > 0 ? now_ms - (int64_t)at : 0));
    }
    json_decref(p);
    return o;
}

/* Batch entry from HGETALL b:<id>. */
static json_t *
batch_json(const char *id, const redisReply *h, int64_t now_ms)
{
    json_t *o = json_object();
    long long total = 0, done = 0, failed = 0, created = 0, finished = 0;
    long long started = 0, from;
    const char *task = "";
    double rate = NAN, eta = NAN;

    for (size_t i = 0; is_arr(h) && i + 1 < h->elements; i += 2) {
        const redisReply *f = h->element[i], *v = h->element[i + 1];
        if (!is_str(f) || !is_str(v)) {
            continue;
        }
        if (strcmp(f->str, "total") == 0) {
            total = strtoll(v->str, NULL, 10);
        } else if (strcmp(f->str, "done") == 0) {
            done = strtoll(v->str, NULL, 10);
        } else if (strcmp(f->str, "failed") == 0) {
            failed = strtoll(v->str, NULL, 10);
        } else if (strcmp(f->str, "created_at") == 0) {
            created = strtoll(v->str, NULL, 10);
        } else if (strcmp(f->str, "started_at") == 0) {
            started = strtoll(v->str, NULL, 10);
        } else if (strcmp(f->str, "finished_at") == 0) {
            finished = strtoll(v->str, NULL, 10);
        } else if (strcmp(f->str, "task") == 0) {
            task = v->str;
        }
    }
    /* the rate runs from the first chunk's start when known: time spent
     * queued behind other work is not the batch's speed */
    from = started > 0 ? started : created;
    if (from > 0 && now_ms > from && done + failed > 0) {
        int64_t end = finished > 0 ? finished : now_ms;
        /* over at least SQ_MON_RATE_MIN_MS: chunks that failed within a
         * millisecond are not a speed of thousands a second */
        int64_t span = end - from > SQ_MON_RATE_MIN_MS ? end - from
                                                       : SQ_MON_RATE_MIN_MS;
        rate = (double)(done + failed) * 1000.0 / (double)span;
        if (finished > 0 || done + failed >= total) {
            eta = 0;
        } else if (rate > 0) {
            eta = (double)(total - done - failed) / rate;
        }
    }
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "task", json_string(task));
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "done", json_integer(done));
    json_object_set_new(o, "failed", json_integer(failed));
    json_object_set_new(o, "pending",
                        json_integer(total - done - failed > 0
                                         ? total - done - failed
                                         : 0));
    json_object_set_new(o, "percent",
                        sq_mon_real(total > 0 ? (double)(done + failed) *
                                                    100.0 / (double)total
                                              : (finished > 0 ? 100.0
                                                              : NAN)));
    json_object_set_new(o, "rate", sq_mon_real(rate));
    json_object_set_new(o, "eta_s", sq_mon_real(eta));
    json_object_set_new(o, "created_at", ms_iso(created));
    json_object_set_new(o, "started_at", ms_iso(started));
    json_object_set_new(o, "finished_at", ms_iso(finished));
    json_object_set_new(o, "finished", json_boolean(finished > 0));
    return o;
}

/* Integer value of `field` in a HGETALL reply (0 when absent). */
static long long
hash_int(const redisReply *h, const char *field)
{
    for (size_t j = 0; is_arr(h) && j + 1 < h->elements; j += 2) {
        if (is_str(h->element[j]) && strcmp(h->element[j]->str, field) == 0) {
            return rint_of(h->element[j + 1]);
        }
    }
    return 0;
}

enum {
    R1_TIME,
    R1_QUEUES,
    R1_WORKERS,
    R1_ACTIVE,
    R1_NACTIVE,
    R1_NDELAYED,
    R1_NDLQ,
    R1_DELAYED_IDS,
    R1_BATCHES,
    R1_STATS,
    R1_INFO,
    R1_DLQN,
    R1__COUNT
};

int
sq_mon_collect(syncq_client *c, const struct sq_mon_opts *o,
               struct sq_mon_data *d, syncq_error *err)
{
    redisReply *r1[R1__COUNT];
    redisReply **r2 = NULL;
    struct pipe p = {c, 0, 0};
    char key[512];
    int rc;
    int64_t t0 = sq_mono_us();
    int64_t minute;
    size_t nq = 0, nw = 0, na = 0, ndl = 0, nb = 0;
    int n2 = 0, at;
    json_t *snap = NULL, *beats;

    memset(d, 0, sizeof *d);
    rc = sq_client_ensure(c, false, NULL, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    pipe_add(&p, "TIME");
    pipe_add(&p, "SMEMBERS %s", sq_key(c, key, sizeof key, "queues"));
    pipe_add(&p, "ZRANGE %s 0 -1 WITHSCORES",
             sq_key(c, key, sizeof key, "workers"));
    pipe_add(&p, "ZRANGE %s 0 %lld WITHSCORES",
             sq_key(c, key, sizeof key, "active"),
             (long long)o->max_running - 1);
    pipe_add(&p, "ZCARD %s", sq_key(c, key, sizeof key, "active"));
    pipe_add(&p, "ZCARD %s", sq_key(c, key, sizeof key, "delayed"));
    pipe_add(&p, "ZCARD %s", sq_key(c, key, sizeof key, "dlq"));
    pipe_add(&p, "ZRANGE %s 0 %lld", sq_key(c, key, sizeof key, "delayed"),
             (long long)o->max_delayed_scan - 1);
    pipe_add(&p, "ZREVRANGE %s 0 %lld",
             sq_key(c, key, sizeof key, "batches"),
             (long long)o->max_batches - 1);
    pipe_add(&p, "HGETALL %s", sq_key(c, key, sizeof key, "stats"));
    pipe_add(&p, "INFO"); /* memory, and replication for the topology */
    pipe_add(&p, "HGETALL %s", sq_key(c, key, sizeof key, "dlqn"));
    if (p.failed) {
        sq_client_drop(c, "pipeline append failed");
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory queueing commands");
    }
    rc = pipe_read(&p, r1, R1__COUNT, err);
    if (rc != SYNCQ_OK) {
        free_replies(r1, R1__COUNT);
        return rc;
    }
    if (!is_arr(r1[R1_TIME]) || r1[R1_TIME]->elements != 2) {
        free_replies(r1, R1__COUNT);
        return sq_fail(err, SYNCQ_EPROTO, "TIME: unexpected reply");
    }
    d->now_ms = rint_of(r1[R1_TIME]->element[0]) * 1000 +
                rint_of(r1[R1_TIME]->element[1]) / 1000;
    minute = d->now_ms / 60000;
    nq = is_arr(r1[R1_QUEUES]) ? r1[R1_QUEUES]->elements : 0;
    nw = is_arr(r1[R1_WORKERS]) ? r1[R1_WORKERS]->elements / 2 : 0;
    na = is_arr(r1[R1_ACTIVE]) ? r1[R1_ACTIVE]->elements / 2 : 0;
    ndl = is_arr(r1[R1_DELAYED_IDS]) ? r1[R1_DELAYED_IDS]->elements : 0;
    nb = is_arr(r1[R1_BATCHES]) ? r1[R1_BATCHES]->elements : 0;

    /* Round trip 2. */
    for (size_t i = 0; i < nq; i++) {
        for (int pri = 10; pri >= 0; pri--) {
            pipe_add(&p, "LLEN %s",
                     sq_key(c, key, sizeof key, "q:%s:%d",
                            r1[R1_QUEUES]->element[i]->str, pri));
        }
    }
    for (size_t i = 0; i < nw; i++) {
        pipe_add(&p, "GET %s",
                 sq_key(c, key, sizeof key, "w:%s",
                        r1[R1_WORKERS]->element[2 * i]->str));
    }
    for (size_t i = 0; i < na; i++) {
        pipe_add(&p, "HMGET %s name queue state worker st progress attempt "
                     "lt revoke",
                 sq_key(c, key, sizeof key, "t:%s",
                        r1[R1_ACTIVE]->element[2 * i]->str));
    }
    for (size_t i = 0; i < ndl; i++) {
        pipe_add(&p, "HGET %s queue",
                 sq_key(c, key, sizeof key, "t:%s",
                        r1[R1_DELAYED_IDS]->element[i]->str));
    }
    for (size_t i = 0; i < nb; i++) {
        pipe_add(&p, "HGETALL %s",
                 sq_key(c, key, sizeof key, "b:%s",
                        r1[R1_BATCHES]->element[i]->str));
    }
    for (int i = 0; i < SQ_MON_MINUTES; i++) {
        pipe_add(&p, "HGETALL %s",
                 sq_key(c, key, sizeof key, "m:%lld",
                        (long long)(minute - i)));
    }
    /* depth samples of 5 minutes ago (written by collections, below) */
    pipe_add(&p, "HGETALL %s",
             sq_key(c, key, sizeof key, "depth:%lld", (long long)(minute - 5)));
    n2 = (int)(nq * 11 + nw + na + ndl + nb) + SQ_MON_MINUTES + 1;
    r2 = sq_calloc((size_t)n2, sizeof *r2);
    if (r2 == NULL || p.failed) {
        /* Drain what was queued so the connection stays in sync. */
        sq_client_drop(c, "out of memory in pipeline");
        free_replies(r1, R1__COUNT);
        sq_free(r2);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory collecting figures");
    }
    rc = pipe_read(&p, r2, n2, err);
    if (rc != SYNCQ_OK) {
        goto done;
    }
    d->commands = p.sent;

    /* Counters. */
    sq_mon_apply_hash(d, r1[R1_STATS], -1);
    at = (int)(nq * 11 + nw + na + ndl + nb);
    for (int i = 0; i < SQ_MON_MINUTES; i++) {
        sq_mon_apply_hash(d, r2[at + i], i);
    }

    snap = json_object();
    if (snap == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        goto done;
    }
    {
        char v[64];
        json_t *b = json_object();
        const char *info = is_str(r1[R1_INFO]) ? r1[R1_INFO]->str : "";
        long long used = 0, maxm = 0;
        const char *ns_end = strchr(c->prefix + 1, '}');
        json_object_set_new(b, "url", json_string(c->url_shown));
        json_object_set_new(b, "namespace",
                            json_stringn(c->prefix + 1,
                                         ns_end ? (size_t)(ns_end - c->prefix -
                                                           1)
                                                : 0));
        json_object_set_new(b, "redis_version", json_string(c->redis_version));
        json_object_set_new(b, "reachable", json_true());
        if (sq_info_field(info, "used_memory", v, sizeof v)) {
            used = strtoll(v, NULL, 10);
        }
        if (sq_info_field(info, "maxmemory", v, sizeof v)) {
            maxm = strtoll(v, NULL, 10);
        }
        json_object_set_new(b, "used_memory", json_integer(used));
        json_object_set_new(b, "maxmemory", json_integer(maxm));
        json_object_set_new(b, "memory_ratio",
                            maxm > 0 ? json_real((double)used / (double)maxm)
                                     : json_null());
        if (sq_info_field(info, "maxmemory_policy", v, sizeof v)) {
            json_object_set_new(b, "maxmemory_policy", json_string(v));
            json_object_set_new(b, "eviction_safe",
                                json_boolean(sq_eviction_safe(v)));
        } else {
            json_object_set_new(b, "maxmemory_policy", json_null());
            json_object_set_new(b, "eviction_safe", json_null());
        }
        json_object_set_new(b, "topology", sq_conn_topology_info(c, info));
        json_object_set_new(snap, "broker", b);
    }
    json_object_set_new(snap, "at", ms_iso(d->now_ms));
    json_object_set_new(snap, "at_ms", json_integer(d->now_ms));

    /* Queues: every priority list (C41), delayed and running per queue. */
    {
        json_t *queues = json_array();
        json_t *byq = json_object(); /* name -> queue object */
        long long ready_all = 0;
        json_t *running = json_array();
        const char *qn;
        json_t *qo;
        for (size_t i = 0; i < nq; i++) {
            json_t *q = json_object();
            json_t *byp = json_object();
            long long ready = 0;
            const char *name = r1[R1_QUEUES]->element[i]->str;
            for (int pri = 10, j = 0; pri >= 0; pri--, j++) {
                long long n = rint_of(r2[i * 11 + (size_t)j]);
                if (n > 0) {
                    char pk[8];
                    snprintf(pk, sizeof pk, "%d", pri);
                    json_object_set_new(byp, pk, json_integer(n));
                    ready += n;
                }
            }
            ready_all += ready;
            json_object_set_new(q, "name", json_string(name));
            json_object_set_new(q, "ready", json_integer(ready));
            json_object_set_new(q, "by_priority", byp);
            json_object_set_new(q, "delayed", json_integer(0));
            json_object_set_new(q, "running", json_integer(0));
            json_object_set(byq, name, q);
            json_array_append_new(queues, q);
        }
        at = (int)(nq * 11 + nw);
        for (size_t i = 0; i < na; i++) {
            const redisReply *h = r2[at + (int)i];
            const char *id = r1[R1_ACTIVE]->element[2 * i]->str;
            json_t *t, *q;
            int64_t st, lt;
            if (!is_arr(h) || h->elements != 9 || !is_str(h->element[2])) {
                continue; /* record gone between the two round trips */
            }
            t = json_object();
            json_object_set_new(t, "id", json_string(id));
            for (int f = 0; f < 4; f++) {
                static const char *names[] = {"name", "queue", "state",
                                              "worker"};
                json_object_set_new(t, names[f],
                                    is_str(h->element[f])
                                        ? json_string(h->element[f]->str)
                                        : json_null());
            }
            st = rint_of(h->element[4]);
            lt = rint_of(h->element[7]);
            json_object_set_new(t, "started_at", ms_iso(st));
            json_object_set_new(t, "leased_at", ms_iso(lt));
            json_object_set_new(t, "runtime_ms",
                                json_integer(st > 0 ? d->now_ms - st : 0));
            json_object_set_new(t, "attempt",
                                json_integer(rint_of(h->element[6])));
            json_object_set_new(
                t, "lease_expires_at",
                ms_iso((int64_t)strtoll(
                    r1[R1_ACTIVE]->element[2 * i + 1]->str, NULL, 10)));
            json_object_set_new(t, "revoke_requested",
                                json_boolean(is_str(h->element[8]) &&
                                             strcmp(h->element[8]->str,
                                                    "1") == 0));
            json_object_set_new(t, "progress",
                                progress_json(h->element[5], d->now_ms));
            if (is_str(h->element[1])) {
                q = json_object_get(byq, h->element[1]->str);
                if (q != NULL) {
                    json_object_set_new(
                        q, "running",
                        json_integer(json_integer_value(
                                         json_object_get(q, "running")) +
                                     1));
                }
            }
            json_array_append_new(running, t);
        }
        at += (int)na;
        for (size_t i = 0; i < ndl; i++) {
            const redisReply *h = r2[at + (int)i];
            json_t *q;
            if (!is_str(h)) {
                continue;
            }
            q = json_object_get(byq, h->str);
            if (q != NULL) {
                json_object_set_new(
                    q, "delayed",
                    json_integer(
                        json_integer_value(json_object_get(q, "delayed")) +
                        1));
            }
        }
        json_object_foreach(byq, qn, qo) {
            const redisReply *dep =
                r2[nq * 11 + nw + na + ndl + nb + SQ_MON_MINUTES];
            json_t *ago = json_null();
            double ws = sq_mon_window_sum(d, SQ_K_WAIT_SUM, qn, NULL, 3600000);
            double wc = sq_mon_window_sum(d, SQ_K_WAIT_COUNT, qn, NULL,
                                          3600000);
            long long whist[SQ_MON_NBUCKETS] = {0};
            for (size_t j = 0; j < d->ns; j++) {
                if (strcmp(d->s[j].queue, qn) == 0) {
                    for (int b = 0; b < SQ_MON_NBUCKETS; b++) {
                        whist[b] += d->s[j].wait_hist[b];
                    }
                }
            }
            json_object_set_new(qo, "lifetime",
                                sq_mon_lifetime_json(d, qn, NULL));
            json_object_set_new(qo, "dead_letter",
                                json_integer(hash_int(r1[R1_DLQN], qn)));
            json_object_set_new(
                qo, "throughput_1m",
                sq_mon_real(sq_mon_throughput(d, qn, NULL, 60000)));
            json_object_set_new(
                qo, "throughput_5m",
                sq_mon_real(sq_mon_throughput(d, qn, NULL, 300000)));
            json_object_set_new(
                qo, "throughput_1h",
                sq_mon_real(sq_mon_throughput(d, qn, NULL, 3600000)));
            json_object_set_new(
                qo, "error_rate_5m",
                sq_mon_real(sq_mon_error_rate(d, qn, NULL, 300000)));
            json_object_set_new(
                qo, "sent_5m",
                json_integer((json_int_t)llround(
                    sq_mon_window_sum(d, SQ_K_SENT, qn, NULL, 300000))));
            json_object_set_new(
                qo, "started_5m",
                json_integer((json_int_t)llround(
                    sq_mon_window_sum(d, SQ_K_WAIT_COUNT, qn, NULL, 300000))));
            json_object_set_new(qo, "wait_mean_ms",
                                sq_mon_real(sq_mon_ratio(ws, wc)));
            json_object_set_new(qo, "wait_p95_ms",
                                sq_mon_real(sq_mon_hist_quantile(whist,
                                                                 0.95)));
            for (size_t j = 0; is_arr(dep) && j + 1 < dep->elements; j += 2) {
                if (is_str(dep->element[j]) &&
                    strcmp(dep->element[j]->str, qn) == 0) {
                    json_decref(ago);
                    ago = json_integer(rint_of(dep->element[j + 1]));
                }
            }
            json_object_set_new(
                qo, "growth_5m",
                json_is_integer(ago)
                    ? json_integer(json_integer_value(
                                       json_object_get(qo, "ready")) -
                                   json_integer_value(ago))
                    : json_null());
            json_object_set_new(qo, "ready_5m_ago", ago);
        }
        json_decref(byq);
        json_object_set_new(snap, "queues", queues);
        json_object_set_new(snap, "running", running);
        json_object_set_new(
            snap, "running_truncated",
            json_boolean(rint_of(r1[R1_NACTIVE]) > (long long)na));
        json_object_set_new(
            snap, "delayed_by_queue_truncated",
            json_boolean(rint_of(r1[R1_NDELAYED]) > (long long)ndl));
        {
            json_t *tot = json_object();
            json_object_set_new(tot, "ready", json_integer(ready_all));
            json_object_set_new(tot, "delayed",
                                json_integer(rint_of(r1[R1_NDELAYED])));
            json_object_set_new(tot, "running",
                                json_integer(rint_of(r1[R1_NACTIVE])));
            json_object_set_new(tot, "dead",
                                json_integer(rint_of(r1[R1_NDLQ])));
            json_object_set_new(snap, "totals", tot);
        }
    }

    /* Workers (heard from in the last hour). */
    {
        json_t *ws = json_array();
        long long alive = 0, stale = 0, live = 0, gone = 0;
        json_t *tot = json_object_get(snap, "totals");
        at = (int)(nq * 11);
        for (size_t i = 0; i < nw; i++) {
            const char *id = r1[R1_WORKERS]->element[2 * i]->str;
            int64_t hb = (int64_t)strtoll(
                r1[R1_WORKERS]->element[2 * i + 1]->str, NULL, 10);
            json_t *w;
            if (d->now_ms - hb > 3600000) {
                gone++;
                continue;
            }
            w = worker_json(id, hb, r2[at + (int)i], d, o);
            if (json_is_true(json_object_get(w, "alive"))) {
                alive++;
            } else if (strcmp(json_string_value(json_object_get(w, "state")),
                              "stale") == 0) {
                stale++;
            }
            if (json_is_true(json_object_get(w, "live"))) {
                live++;
            }
            json_array_append_new(ws, w);
        }
        json_object_set_new(snap, "workers", ws);
        sq_mon_mark_recovering(json_object_get(snap, "running"), ws);
        json_object_set_new(tot, "workers_alive", json_integer(alive));
        json_object_set_new(tot, "workers_live", json_integer(live));
        json_object_set_new(tot, "workers_stale", json_integer(stale));
        json_object_set_new(tot, "workers_gone", json_integer(gone));
    }

    /* Batches. */
    {
        json_t *bs = json_array();
        at = (int)(nq * 11 + nw + na + ndl);
        for (size_t i = 0; i < nb; i++) {
            if (is_arr(r2[at + (int)i]) && r2[at + (int)i]->elements > 0) {
                json_array_append_new(
                    bs, batch_json(r1[R1_BATCHES]->element[i]->str,
                                   r2[at + (int)i], d->now_ms));
            }
        }
        json_object_set_new(snap, "batches", bs);
    }

    json_object_set_new(snap, "system", sq_mon_system_json(d));
    json_object_set_new(snap, "tasks", sq_mon_tasks_json(d));
    json_object_set_new(snap, "series", sq_mon_series_json(d));
    /* Sample the depth of every queue for this minute (30 min TTL): the
     * only write of a collection, so "queue growing" works for a one-shot
     * health check too. Failures (a read-only replica) are ignored. */
    if (nq > 0) {
        struct sq_args a;
        sq_args_init(&a);
        sq_args_add(&a, "HSET");
        sq_args_add(&a, sq_key(c, key, sizeof key, "depth:%lld",
                               (long long)minute));
        for (size_t i = 0; i < nq; i++) {
            json_t *q = json_array_get(json_object_get(snap, "queues"), i);
            sq_args_add(&a, json_string_value(json_object_get(q, "name")));
            sq_args_addll(&a, json_integer_value(json_object_get(q, "ready")));
        }
        if (!a.oom && sq_conn_append_argv(c, (int)a.n, a.argv, a.lens) ==
                          REDIS_OK) {
            redisReply *w1 = NULL, *w2 = NULL;
            char ek[512];
            sq_conn_append(c, "PEXPIRE %s 1800000",
                           sq_key(c, ek, sizeof ek, "depth:%lld",
                                  (long long)minute));
            if (sq_client_read_reply(c, &w1, NULL) == SYNCQ_OK) {
                sq_client_read_reply(c, &w2, NULL);
            }
            if (w1 != NULL) {
                freeReplyObject(w1);
            }
            if (w2 != NULL) {
                freeReplyObject(w2);
            }
            d->commands += 2;
        }
        sq_args_cleanup(&a);
    }
    beats = sq_mon_beats(c, &d->commands);
    json_object_set_new(snap, "beats", beats);
    d->took_us = sq_mono_us() - t0;
    {
        json_t *cost = json_object();
        json_object_set_new(cost, "redis_commands", json_integer(d->commands));
        json_object_set_new(cost, "round_trips", json_integer(
            (nq > 0 ? 3 : 2) + (json_array_size(beats) > 0 ? 2 : 1)));
        json_object_set_new(cost, "took_ms",
                            json_real((double)d->took_us / 1000.0));
        json_object_set_new(snap, "collection", cost);
    }
    d->snap = snap;
    snap = NULL;
    rc = SYNCQ_OK;
done:
    free_replies(r1, R1__COUNT);
    if (r2 != NULL) {
        free_replies(r2, n2);
        sq_free(r2);
    }
    json_decref(snap);
    if (rc != SYNCQ_OK) {
        sq_free(d->s);
        memset(d, 0, sizeof *d);
    }
    return rc;
}
