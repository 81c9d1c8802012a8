/* SPDX-License-Identifier: MIT
 *
 * mon_http.c: the monitor's HTTP server (mon_http.h) on libmicrohttpd
 * with its internal polling thread; every Redis access (request handler
 * and the main loop's alert/Sentry work) goes through one client under a
 * mutex, and figures are cached for SQ_MON_CACHE_MS.
 */
#include "monitor/mon_http.h"
#include "broker/broker.h"
#include "core/sq_alloc.h"
#include "core/sq_buf.h"
#include "core/sq_embed.h"
#include "core/sq_error.h"
#include "core/sq_log.h"
#include "core/sq_logwriter.h"
#include "core/sq_time.h"
#include "core/sq_url.h"
#include "monitor/mon.h"
#include "monitor/mon_alerts.h"
#include "monitor/mon_route.h"
#include "monitor/mon_sentry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include "core/sq_lazy_mhd.h"
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syncq/monitor.h>
#include <syncq/recovery.h>
#include <syncq/schedule.h>
#include <syncq/syncq.h>
#include <unistd.h>

#define HIST_MAX 720       /* 1 h of samples every 5 s */
#define HIST_EVERY_MS 5000
#define MAX_BODY 65536

struct hist_sample {
    int64_t t_ms;
    long long ready, running, delayed, dead, workers;
    double tput_1m;
};

struct server {
    pthread_mutex_t mu;
    const syncq_config *cfg;
    syncq_client *c;           /* NULL until Redis answered once */
    int64_t next_open_ms;      /* mono time of the next open attempt */
    struct sq_mon_opts opts;
    struct sq_mon_data data;
    bool have;                 /* data is valid */
    int64_t data_at_ms;        /* mono time of the last collection try */
    char why[256];             /* last collection error */
    json_t *health;
    int health_status;
    struct hist_sample hist[HIST_MAX];
    size_t nhist, hist_head;
    int64_t last_sample_ms;
    struct sq_alerts *alerts;
    int evict_state;           /* last logged: 0 unknown, 1 safe, 2 not */
    const char *token;         /* "" none */
    struct sq_listen listen;
    uint64_t requests;
};

static int marker; /* con_cls of a POST whose body is being read */

/* Open the client when it is missing (at most once a second). */
static void
ensure_client(struct server *S)
{
    syncq_error e;
    int64_t now = sq_mono_ms();

    if (S->c != NULL || now < S->next_open_ms) {
        return;
    }
    S->next_open_ms = now + 1000;
    if (syncq_client_open(NULL, S->cfg, &S->c, &e) != SYNCQ_OK) {
        S->c = NULL;
        snprintf(S->why, sizeof S->why, "%s", e.msg);
    }
}

static void
push_history(struct server *S)
{
    const json_t *t = json_object_get(S->data.snap, "totals");
    const json_t *tp = json_object_get(
        json_object_get(json_object_get(S->data.snap, "system"),
                        "throughput"),
        "1m");
    struct hist_sample *h;

    if (S->nhist > 0 && S->data.now_ms - S->last_sample_ms < HIST_EVERY_MS) {
        return;
    }
    S->last_sample_ms = S->data.now_ms;
    h = &S->hist[(S->hist_head + S->nhist) % HIST_MAX];
    if (S->nhist == HIST_MAX) {
        S->hist_head = (S->hist_head + 1) % HIST_MAX;
    } else {
        S->nhist++;
    }
    h->t_ms = S->data.now_ms;
    h->ready = json_integer_value(json_object_get(t, "ready"));
    h->running = json_integer_value(json_object_get(t, "running"));
    h->delayed = json_integer_value(json_object_get(t, "delayed"));
    h->dead = json_integer_value(json_object_get(t, "dead"));
    h->workers = json_integer_value(json_object_get(t, "workers_alive"));
    h->tput_1m = json_is_number(tp) ? json_number_value(tp) : 0;
}

/* Fresh-enough figures and health (mutex held). */
static void
refresh(struct server *S, bool force)
{
    struct sq_mon_data nd;
    syncq_error e;
    int64_t now = sq_mono_ms();

    if (!force && S->health != NULL &&
        now - S->data_at_ms < SQ_MON_CACHE_MS) {
        return;
    }
    S->data_at_ms = now;
    ensure_client(S);
    if (S->c != NULL && sq_mon_collect(S->c, &S->opts, &nd, &e) == SYNCQ_OK) {
        sq_mon_data_cleanup(&S->data);
        S->data = nd;
        S->have = true;
        push_history(S);
        {
            /* C34: say it once per change that Redis may evict tasks */
            const json_t *b = json_object_get(S->data.snap, "broker");
            const json_t *safe = json_object_get(b, "eviction_safe");
            int now_state = json_is_boolean(safe)
                                ? (json_is_true(safe) ? 1 : 2)
                                : S->evict_state;
            if (now_state == 2 && S->evict_state != 2) {
                SQ_WARN("monitor.redis_eviction_unsafe",
                        "maxmemory_policy=%s hint=\"use noeviction or "
                        "volatile-*: Redis may evict queued tasks and "
                        "results\"",
                        json_string_value(
                            json_object_get(b, "maxmemory_policy")));
            } else if (now_state == 1 && S->evict_state == 2) {
                SQ_INFO("monitor.redis_eviction_safe", "maxmemory_policy=%s",
                        json_string_value(
                            json_object_get(b, "maxmemory_policy")));
            }
            S->evict_state = now_state;
        }
    } else {
        if (S->c != NULL) {
            snprintf(S->why, sizeof S->why, "%s", e.msg);
        }
        sq_mon_data_cleanup(&S->data);
        S->have = false;
    }
    json_decref(S->health);
    S->health = sq_mon_health(S->have ? &S->data : NULL, S->why, &S->opts,
                              &S->health_status);
}

/* ---- responses ---------------------------------------------------------- */

struct reply {
    int status;
    const char *ctype;
    char *body;         /* owned (sq_free) */
    size_t len;
    const void *static_body; /* or borrowed */
    bool set_cookie;
    const char *allow;  /* Allow header for 405 */
};

static void
reply_json(struct reply *r, int status, json_t *v)
{
    r->status = status;
    r->ctype = "application/json";
    r->body = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                JSON_PRESERVE_ORDER);
    r->len = r->body != NULL ? strlen(r->body) : 0;
    if (r->body == NULL) {
        r->status = 500;
    }
}

static void
reply_error(struct reply *r, int status, const char *code, const char *msg)
{
    json_t *o = json_object();

    json_object_set_new(o, "error", json_string(code));
    json_object_set_new(o, "message", json_string(msg));
    reply_json(r, status, o);
    json_decref(o);
}

static int
status_of(int code)
{
    switch (code) {
    case SYNCQ_EINVAL:
        return 400;
    case SYNCQ_ENOTFOUND:
        return 404;
    case SYNCQ_ESTATE:
        return 409;
    case SYNCQ_ECONN:
        return 503;
    case SYNCQ_ETOOBIG:
        return 413;
    default:
        return 500;
    }
}

static void
reply_syncq_error(struct reply *r, const syncq_error *e)
{
    reply_error(r, status_of(e->code), syncq_code_name(e->code), e->msg);
}

/* ---- handlers (mutex held) ------------------------------------------ */

static json_t *
alerts_list(struct server *S)
{
    json_t *a = NULL;
    json_t *list;

    if (S->c == NULL || !S->have ||
        sq_alerts_read(S->c, 20, &a, NULL) != SYNCQ_OK) {
        return json_object();
    }
    list = a;
    return list;
}

static json_t *
history_json(struct server *S)
{
    json_t *a = json_array();

    for (size_t i = 0; i < S->nhist; i++) {
        const struct hist_sample *h = &S->hist[(S->hist_head + i) % HIST_MAX];
        json_t *o = json_object();
        json_object_set_new(o, "t", json_integer(h->t_ms));
        json_object_set_new(o, "ready", json_integer(h->ready));
        json_object_set_new(o, "running", json_integer(h->running));
        json_object_set_new(o, "delayed", json_integer(h->delayed));
        json_object_set_new(o, "dead", json_integer(h->dead));
        json_object_set_new(o, "workers", json_integer(h->workers));
        json_object_set_new(o, "throughput", sq_mon_real(h->tput_1m));
        json_array_append_new(a, o);
    }
    return a;
}

static void
h_overview(struct server *S, struct reply *r)
{
    json_t *o;

    refresh(S, false);
    o = S->have ? json_copy(S->data.snap) : json_object();
    json_object_set(o, "health", S->health);
    json_object_set_new(o, "alerts", alerts_list(S));
    json_object_set_new(o, "history", history_json(S));
    json_object_set_new(o, "version", json_string(syncq_version()));
    reply_json(r, 200, o);
    json_decref(o);
}

static void
h_part(struct server *S, struct reply *r, const char *k1, const char *k2)
{
    json_t *o;

    refresh(S, false);
    if (!S->have) {
        reply_error(r, 503, "ECONN", S->why);
        return;
    }
    o = json_object();
    json_object_set(o, k1, json_object_get(S->data.snap, k1));
    if (k2 != NULL) {
        json_object_set(o, k2, json_object_get(S->data.snap, k2));
    }
    json_object_set(o, "at", json_object_get(S->data.snap, "at"));
    reply_json(r, 200, o);
    json_decref(o);
}

static void
h_metrics(struct server *S, struct reply *r)
{
    struct sq_buf b;
    json_t *al = NULL;

    refresh(S, false);
    if (S->have && S->c != NULL) {
        json_t *a = NULL;
        if (sq_alerts_read(S->c, 1, &a, NULL) == SYNCQ_OK) {
            al = json_incref(json_object_get(a, "alerts"));
            json_decref(a);
        }
    }
    sq_buf_init(&b, (size_t)64 << 20);
    sq_mon_metrics_format(S->have ? &S->data : NULL, S->health, al, &b);
    json_decref(al);
    r->status = 200;
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    r->body = sq_buf_steal(&b);
    r->len = r->body != NULL ? strlen(r->body) : 0;
    sq_buf_cleanup(&b);
    if (r->body == NULL) {
        reply_error(r, 500, "ENOMEM", "out of memory");
    }
}

static const char *
arg(struct MHD_Connection *conn, const char *k)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, k);
}

static void
h_tasks(struct server *S, struct MHD_Connection *conn, struct reply *r)
{
    syncq_task_filter f;
    syncq_error e;
    json_t *list = NULL, *o;
    const char *lim = arg(conn, "limit"), *off = arg(conn, "offset");

    memset(&f, 0, sizeof f);
    f.state = arg(conn, "state");
    f.queue = arg(conn, "queue");
    f.name = arg(conn, "name");
    if (f.state != NULL && f.state[0] == '\0') {
        f.state = NULL;
    }
    if (f.queue != NULL && f.queue[0] == '\0') {
        f.queue = NULL;
    }
    if (f.name != NULL && f.name[0] == '\0') {
        f.name = NULL;
    }
    f.limit = 50;
    if (lim != NULL) {
        long v;
        if (!sq_mon_query_num(lim, 1, 500, &v)) {
            reply_error(r, 400, "EINVAL", "limit must be 1..500");
            return;
        }
        f.limit = (size_t)v;
    }
    if (off != NULL) {
        long v;
        if (!sq_mon_query_num(off, 0, 1000000, &v)) {
            reply_error(r, 400, "EINVAL", "offset must be 0..1000000");
            return;
        }
        f.offset = (size_t)v;
    }
    ensure_client(S);
    if (S->c == NULL) {
        reply_error(r, 503, "ECONN", S->why);
        return;
    }
    if (syncq_task_list(S->c, &f, &list, &e) != SYNCQ_OK) {
        reply_syncq_error(r, &e);
        return;
    }
    o = json_object();
    json_object_set_new(o, "tasks", list);
    reply_json(r, 200, o);
    json_decref(o);
}

static void
h_task(struct server *S, const char *id, struct reply *r)
{
    syncq_error e;
    json_t *t = NULL;

    ensure_client(S);
    if (S->c == NULL) {
        reply_error(r, 503, "ECONN", S->why);
        return;
    }
    if (syncq_task_info(S->c, id, &t, &e) != SYNCQ_OK) {
        reply_syncq_error(r, &e);
        return;
    }
    reply_json(r, 200, t);
    json_decref(t);
}

static void
h_cancel(struct server *S, const char *id, struct reply *r)
{
    syncq_error e;
    int outcome = -1;
    char state[16];
    json_t *o;
    static const char *names[] = {"revoked", "requested", "final"};

    ensure_client(S);
    if (S->c == NULL) {
        reply_error(r, 503, "ECONN", S->why);
        return;
    }
    if (syncq_task_revoke(S->c, id, "monitor", &outcome, state, &e) !=
        SYNCQ_OK) {
        reply_syncq_error(r, &e);
        return;
    }
    SQ_INFO("monitor.cancel", "task=%s outcome=%s", id,
            outcome >= 0 && outcome <= 2 ? names[outcome] : "?");
    o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "outcome",
                        json_string(outcome >= 0 && outcome <= 2
                                        ? names[outcome]
                                        : "unknown"));
    json_object_set_new(o, "state", json_string(state));
    reply_json(r, 200, o);
    json_decref(o);
    S->data_at_ms = 0;
}

static void
h_resume(struct server *S, struct MHD_Connection *conn, const char *id,
         bool retry, struct reply *r)
{
    syncq_error e;
    syncq_resume_result res;
    syncq_resume_options ro;
    int strategy = SYNCQ_RESUME_RETRY;
    json_t *o;

    if (!retry) {
        const char *s = arg(conn, "strategy");
        strategy = SYNCQ_RESUME_AUTO;
        if (s != NULL) {
            strategy = syncq_resume_strategy_parse(s);
            if (strategy < 0) {
                reply_error(r, 400, "EINVAL",
                            "strategy must be auto, retry, resume, restart, "
                            "skip or manual");
                return;
            }
        }
    }
    ensure_client(S);
    if (S->c == NULL) {
        reply_error(r, 503, "ECONN", S->why);
        return;
    }
    memset(&ro, 0, sizeof ro);
    ro.who = "monitor";
    if (syncq_task_resume(S->c, id, strategy, &ro, &res, &e) != SYNCQ_OK) {
        reply_syncq_error(r, &e);
        return;
    }
    SQ_INFO("monitor.resume", "task=%s strategy=%s prev_state=%s", id,
            syncq_resume_strategy_name(res.strategy), res.prev_state);
    o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "strategy",
                        json_string(syncq_resume_strategy_name(res.strategy)));
    json_object_set_new(o, "prev_state", json_string(res.prev_state));
    if (res.checkpoint_seq >= 0) {
        json_object_set_new(o, "checkpoint_seq",
                            json_integer(res.checkpoint_seq));
    }
    reply_json(r, 200, o);
    json_decref(o);
    S->data_at_ms = 0;
}

static void
h_batch(struct server *S, const char *id, struct reply *r)
{
    syncq_error e;
    json_t *b = NULL;

    ensure_client(S);
    if (S->c == NULL) {
        reply_error(r, 503, "ECONN", S->why);
        return;
    }
    if (syncq_batch_info(S->c, id, &b, &e) != SYNCQ_OK) {
        reply_syncq_error(r, &e);
        return;
    }
    reply_json(r, 200, b);
    json_decref(b);
}

/* Schedules with their next runs, through the beat's public API
 * (syncq/schedule.h). */
static void
h_schedules(struct server *S, struct reply *r)
{
    syncq_error e;
    json_t *a = NULL, *o;

    ensure_client(S);
    if (S->c == NULL) {
        reply_error(r, 503, "ECONN", S->why);
        return;
    }
    if (syncq_schedule_list(S->c, &a, &e) != SYNCQ_OK) {
        reply_syncq_error(r, &e);
        return;
    }
    o = json_object();
    json_object_set_new(o, "schedules", a);
    reply_json(r, 200, o);
    json_decref(o);
}

static const char *
mime_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot == NULL) {
        return "application/octet-stream";
    }
    if (strcmp(dot, ".html") == 0) {
        return "text/html; charset=utf-8";
    }
    if (strcmp(dot, ".js") == 0) {
        return "text/javascript; charset=utf-8";
    }
    if (strcmp(dot, ".css") == 0) {
        return "text/css; charset=utf-8";
    }
    if (strcmp(dot, ".svg") == 0) {
        return "image/svg+xml";
    }
    if (strcmp(dot, ".png") == 0) {
        return "image/png";
    }
    if (strcmp(dot, ".json") == 0) {
        return "application/json";
    }
    return "text/plain; charset=utf-8";
}

static void
h_static(const char *name, struct reply *r)
{
    const struct sq_embedded *f = sq_embed_find(sq_web_files, name);

    if (f == NULL) {
        reply_error(r, 404, "ENOTFOUND", "no such asset");
        return;
    }
    r->status = 200;
    r->ctype = mime_of(name);
    r->static_body = f->data;
    r->len = f->len;
}

static void
dispatch(struct server *S, struct MHD_Connection *conn,
         const struct sq_route *rt, struct reply *r)
{
    switch (rt->kind) {
    case SQ_R_INDEX:
        h_static("index.html", r);
        break;
    case SQ_R_STATIC:
        h_static(rt->arg, r);
        break;
    case SQ_R_METRICS:
        h_metrics(S, r);
        break;
    case SQ_R_HEALTH:
    case SQ_R_READY:
        refresh(S, false);
        reply_json(r, S->health_status == SYNCQ_UNHEALTHY ? 503 : 200,
                   S->health);
        if (rt->kind == SQ_R_READY) {
            json_t *o = json_object();
            sq_free(r->body);
            json_object_set_new(o, "ready",
                                json_string(S->have ? "ok" : "fail"));
            if (!S->have) {
                json_object_set_new(o, "reason", json_string("broker"));
                json_object_set_new(o, "message", json_string(S->why));
            }
            reply_json(r, S->have ? 200 : 503, o);
            json_decref(o);
        }
        break;
    case SQ_R_OVERVIEW:
        h_overview(S, r);
        break;
    case SQ_R_QUEUES:
        h_part(S, r, "queues", "totals");
        break;
    case SQ_R_WORKERS:
        h_part(S, r, "workers", "totals");
        break;
    case SQ_R_BATCHES:
        h_part(S, r, "batches", NULL);
        break;
    case SQ_R_TASKS:
        h_tasks(S, conn, r);
        break;
    case SQ_R_TASK:
        h_task(S, rt->arg, r);
        break;
    case SQ_R_TASK_CANCEL:
        h_cancel(S, rt->arg, r);
        break;
    case SQ_R_TASK_RETRY:
        h_resume(S, conn, rt->arg, true, r);
        break;
    case SQ_R_TASK_RESUME:
        h_resume(S, conn, rt->arg, false, r);
        break;
    case SQ_R_BATCH:
        h_batch(S, rt->arg, r);
        break;
    case SQ_R_SCHEDULES:
        h_schedules(S, r);
        break;
    case SQ_R_ALERTS: {
        json_t *a = NULL;
        syncq_error e;
        ensure_client(S);
        if (S->c == NULL) {
            reply_error(r, 503, "ECONN", S->why);
        } else if (sq_alerts_read(S->c, 100, &a, &e) != SYNCQ_OK) {
            reply_syncq_error(r, &e);
        } else {
            reply_json(r, 200, a);
            json_decref(a);
        }
        break;
    }
    default:
        reply_error(r, 404, "ENOTFOUND", "no such endpoint");
        break;
    }
}

static enum MHD_Result
send_reply(struct server *S, struct MHD_Connection *conn, struct reply *r,
           bool head)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (r->static_body != NULL) {
        resp = MHD_create_response_from_buffer(
            head ? 0 : r->len, (void *)r->static_body,
            MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(head ? 0 : r->len,
                                               r->body != NULL ? r->body : "",
                                               MHD_RESPMEM_MUST_COPY);
    }
    sq_free(r->body);
    r->body = NULL;
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type",
                            r->ctype != NULL ? r->ctype : "text/plain");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(
        resp, "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' "
        "'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'");
    if (r->status == 401) {
        MHD_add_response_header(resp, "WWW-Authenticate",
                                "Bearer realm=\"syncq\"");
    }
    if (r->allow != NULL) {
        MHD_add_response_header(resp, "Allow", r->allow);
    }
    if (r->set_cookie && S->token[0] != '\0') {
        char *c = sq_asprintf("syncq_token=%s; Path=/; HttpOnly; "
                              "SameSite=Strict",
                              S->token);
        if (c != NULL) {
            MHD_add_response_header(resp, "Set-Cookie", c);
            sq_free(c);
        }
    }
    ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
        const char *method, const char *version, const char *upload_data,
        size_t *upload_data_size, void **con_cls)
{
    struct server *S = cls;
    struct reply r;
    struct sq_route rt;
    int st;
    bool post = strcmp(method, "POST") == 0;
    bool head = strcmp(method, "HEAD") == 0;
    enum MHD_Result ret;

    (void)version;
    (void)upload_data;
    if (post) {
        if (*con_cls == NULL) {
            *con_cls = &marker;
            return MHD_YES;
        }
        if (*upload_data_size > 0) {
            /* bodies are not used; drain (bounded by the memory limit) */
            *upload_data_size = 0;
            return MHD_YES;
        }
    }
    memset(&r, 0, sizeof r);
    st = sq_mon_route_parse(method, url, &rt);
    if (S->token[0] != '\0') {
        const char *qt = arg(conn, "token");
        if (!sq_mon_token_ok(
                S->token,
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                            "Authorization"),
                qt,
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                            "Cookie"))) {
            reply_error(&r, 401, "EAUTH",
                        "a token is required (Authorization: Bearer T, or "
                        "?token=T)");
            return send_reply(S, conn, &r, head);
        }
        r.set_cookie = qt != NULL;
    } else if (!sq_mon_host_is_loopback(MHD_lookup_connection_value(
                   conn, MHD_HEADER_KIND, "Host"))) {
        reply_error(&r, 403, "EAUTH",
                    "Host header is not a loopback name (DNS rebinding "
                    "guard); use 127.0.0.1 or start with --token");
        return send_reply(S, conn, &r, head);
    }
    if (st == 405) {
        reply_error(&r, 405, "EINVAL", "method not allowed");
        r.allow = post ? "GET, HEAD" : "POST";
        return send_reply(S, conn, &r, head);
    }
    if (st != 0) {
        reply_error(&r, st, st == 400 ? "EINVAL" : "ENOTFOUND",
                    st == 400 ? "malformed path" : "no such endpoint");
        return send_reply(S, conn, &r, head);
    }
    if (post && MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                            "X-Syncq-Request") == NULL) {
        reply_error(&r, 403, "EAUTH",
                    "POST needs the X-Syncq-Request header");
        return send_reply(S, conn, &r, head);
    }
    if (rt.kind == SQ_R_LIVE) {
        /* liveness never waits for Redis or for the lock */
        json_t *o = json_object();
        json_object_set_new(o, "live", json_string("ok"));
        reply_json(&r, 200, o);
        json_decref(o);
        return send_reply(S, conn, &r, head);
    }
    pthread_mutex_lock(&S->mu);
    S->requests++;
    dispatch(S, conn, &rt, &r);
    pthread_mutex_unlock(&S->mu);
    ret = send_reply(S, conn, &r, head);
    return ret;
}

/* libmicrohttpd's unescape callback: sq_mon_unescape (mon_route.c). */
static size_t
unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return sq_mon_unescape(s);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
          enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    *con_cls = NULL;
}

/* Bind the listening socket ourselves (to learn port 0's port). */
static int
open_listener(const struct sq_listen *L, int *fd_out, int *port_out,
              syncq_error *err)
{
    int fd, one = 1;
    struct sockaddr_storage ss;
    socklen_t sl;

    memset(&ss, 0, sizeof ss);
    if (L->ipv6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)L->port);
        if (L->host[0] != '\0') {
            inet_pton(AF_INET6, L->host, &a->sin6_addr);
        } else {
            a->sin6_addr = in6addr_any;
        }
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)L->port);
        if (L->host[0] != '\0') {
            inet_pton(AF_INET, L->host, &a->sin_addr);
        } else {
            a->sin_addr.s_addr = htonl(INADDR_ANY);
        }
        sl = sizeof *a;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return sq_fail_errno(err, SYNCQ_EIO, "cannot listen on %s:%d: %s",
                             L->host[0] ? L->host : "*", L->port,
                             strerror(e));
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6
                          ? ((struct sockaddr_in6 *)&ss)->sin6_port
                          : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return SYNCQ_OK;
}

int
sq_mon_listen_check(const syncq_config *cfg, const char *listen,
                    const char *token, bool probe, struct sq_listen *out,
                    syncq_error *err)
{
    struct sq_listen l;
    int fd, port, rc;

    if (listen == NULL) {
        listen = syncq_config_str(cfg, "SYNCQ_MONITOR_LISTEN");
    }
    if (token == NULL) {
        token = syncq_config_str(cfg, "SYNCQ_MONITOR_TOKEN");
    }
    rc = sq_mon_listen_parse(listen, &l, err);
    if (rc == SYNCQ_OK && !l.loopback && token[0] == '\0') {
        rc = sq_fail(err, SYNCQ_EINVAL,
                     "refusing to listen on %s without a token: it is not "
                     "loopback (pass --token or SYNCQ_MONITOR_TOKEN; the "
                     "dashboard can revoke and retry tasks)",
                     listen);
    }
    if (rc == SYNCQ_OK && probe) {
        rc = open_listener(&l, &fd, &port, err);
        if (rc == SYNCQ_OK) {
            close(fd);
        }
    }
    if (rc == SYNCQ_OK && out != NULL) {
        *out = l;
    }
    return rc;
}

int
sq_mon_serve(const syncq_config *cfg, const struct sq_mon_serve_opts *o,
             volatile sig_atomic_t *stop, volatile sig_atomic_t *hup,
             syncq_error *err)
{
    struct server *S;
    struct MHD_Daemon *d = NULL;
    struct sq_sentry *sentry = NULL;
    const char *listen_s = o->listen != NULL
                               ? o->listen
                               : syncq_config_str(cfg, "SYNCQ_MONITOR_LISTEN");
    const char *dsn = syncq_config_str(cfg, "SYNCQ_SENTRY_DSN");
    int fd = -1, port = 0, rc;
    int64_t tick_ms = o->alert_tick_ms > 0 ? o->alert_tick_ms
                                           : SQ_ALERTS_TICK_MS;
    int64_t next_tick = 0, next_sentry = 0;
    char consumer[128];

    S = sq_calloc(1, sizeof *S);
    if (S == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&S->mu, NULL);
    S->cfg = cfg;
    S->token = o->token != NULL ? o->token
                                : syncq_config_str(cfg, "SYNCQ_MONITOR_TOKEN");
    snprintf(S->why, sizeof S->why, "not connected yet");
    sq_mon_opts_init(&S->opts, cfg);
    rc = sq_mon_listen_check(cfg, listen_s, S->token, false, &S->listen,
                             err);
    if (rc == SYNCQ_OK && !o->no_alerts) {
        rc = sq_alerts_new(cfg, o->rules_path, &S->alerts, err);
    }
    if (rc == SYNCQ_OK && dsn[0] != '\0') {
        rc = sq_sentry_new(dsn, 0, 0, &sentry, err);
        if (rc != SYNCQ_OK) {
            sq_error_prefix(err, "SYNCQ_SENTRY_DSN");
        }
    }
    if (rc == SYNCQ_OK) {
        rc = sq_lazy_mhd_load(err);
    }
    if (rc == SYNCQ_OK) {
        rc = open_listener(&S->listen, &fd, &port, err);
    }
    if (rc == SYNCQ_OK) {
        d = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                (S->listen.ipv6 ? MHD_USE_IPv6 : 0),
            0, NULL, NULL, handler, S, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MAX_BODY,
            MHD_OPTION_NOTIFY_COMPLETED, completed, S,
            MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
        if (d == NULL) {
            close(fd);
            rc = sq_fail(err, SYNCQ_EIO, "libmicrohttpd failed to start on "
                                         "%s",
                         listen_s);
        }
    }
    if (rc != SYNCQ_OK) {
        sq_sentry_free(sentry, 0);
        sq_alerts_free(S->alerts);
        pthread_mutex_destroy(&S->mu);
        sq_free(S);
        return rc;
    }
    {
        char host[80];
        if (S->listen.host[0] == '\0') {
            snprintf(host, sizeof host, "0.0.0.0");
        } else if (S->listen.ipv6) {
            snprintf(host, sizeof host, "[%s]", S->listen.host);
        } else {
            snprintf(host, sizeof host, "%s", S->listen.host);
        }
        SQ_INFO("monitor.listening", "url=http://%s:%d/ token=%s alerts=%d "
                                     "sentry=%d",
                host, port, S->token[0] ? "required" : "none",
                S->alerts != NULL ? (int)sq_alerts_rules(S->alerts)->n : 0,
                sentry != NULL);
        if (o->port_file != NULL) {
            char tmp[1100];
            FILE *f;
            snprintf(tmp, sizeof tmp, "%s.tmp", o->port_file);
            f = fopen(tmp, "w");
            if (f != NULL) {
                fprintf(f, "%d\n", port);
                fclose(f);
                rename(tmp, o->port_file);
            }
        }
    }
    {
        char host[64];
        if (gethostname(host, sizeof host) != 0) {
            snprintf(host, sizeof host, "monitor");
        }
        host[sizeof host - 1] = '\0';
        snprintf(consumer, sizeof consumer, "%s:%d", host, (int)getpid());
    }
    while (!*stop) {
        int64_t now = sq_mono_ms();
        if (hup != NULL && *hup) {
            *hup = 0;
            sq_logwriter_reopen(NULL);
            SQ_INFO("monitor.log_reopened", "%s", "");
        }
        if (S->alerts != NULL && now >= next_tick) {
            syncq_error e;
            next_tick = now + tick_ms;
            pthread_mutex_lock(&S->mu);
            refresh(S, true);
            if (S->have &&
                sq_alerts_tick(S->alerts, S->c, &S->data, NULL, &e) !=
                    SYNCQ_OK) {
                char q[300];
                SQ_DEBUG("monitor.alert_tick_failed", "err=%s",
                         sq_log_quote(e.msg, q, sizeof q));
            }
            pthread_mutex_unlock(&S->mu);
        }
        if (sentry != NULL && now >= next_sentry) {
            next_sentry = now + 1000;
            pthread_mutex_lock(&S->mu);
            ensure_client(S);
            if (S->c != NULL) {
                sq_sentry_forward(sentry, S->c, consumer, NULL, NULL);
            }
            pthread_mutex_unlock(&S->mu);
        }
        sq_sleep_ms(100);
    }
    SQ_INFO("monitor.stopping", "requests=%llu",
            (unsigned long long)S->requests);
    MHD_stop_daemon(d);
    sq_alerts_flush(S->alerts, 2000);
    sq_alerts_free(S->alerts);
    sq_sentry_free(sentry, 2000);
    sq_mon_data_cleanup(&S->data);
    json_decref(S->health);
    syncq_client_close(S->c);
    pthread_mutex_destroy(&S->mu);
    sq_free(S);
    return SYNCQ_OK;
}
