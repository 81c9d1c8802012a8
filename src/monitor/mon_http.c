/* SPDX-License-Identifier: MIT
 *
 * mon_http.c: the monitor's HTTP server (mon_http.h) on libmicrohttpd
 * with a thread per connection (a long poll holds only its own): the
 * connection life (access and route checks before any body byte is read,
 * bodies up to SYNCQ_API_MAX_BODY, replies), the kind -> handler table
 * (handlers in mon_api_*.c, routes in mon_route.c), the serving loop.
 * Every Redis access (handlers and the main loop's alert/Sentry work)
 * goes through one client under a mutex, and figures are cached for
 * SQ_MON_CACHE_MS.
 */
#include "monitor/mon_http.h"
#include "monitor/mon_api_http.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "core/sq_embed.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_logwriter.h"
#include "core/sq_time.h"
#include "sq_url.h"
#include "monitor/mon.h"
#include "monitor/mon_alerts.h"
#include "monitor/mon_route.h"
#include "monitor/mon_sentry.h"
#include "monitor/mon_session.h"
#include "monitor/mon_tokens.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include "sq_lazy_mhd.h"
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/socket.h>
#include <syncq/monitor.h>
#include <syncq/recovery.h>
#include <syncq/schedule.h>
#include <syncq/syncq.h>
#include <unistd.h>

#define HIST_MAX SQ_API_HIST_MAX
#define HIST_EVERY_MS 5000
#define CONN_MEMORY 65536 /* libmicrohttpd buffer per connection */

/* Open the client when it is missing (at most once a second). */
static void
ensure_client(struct sq_api_server *S)
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
push_history(struct sq_api_server *S)
{
    const json_t *t = json_object_get(S->data.snap, "totals");
    const json_t *tp = json_object_get(
        json_object_get(json_object_get(S->data.snap, "system"),
                        "throughput"),
        "1m");
    struct sq_hist_sample *h;

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
void
sq_api_refresh(struct sq_api_server *S, bool force)
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

syncq_client *
sq_api_client(struct sq_api_server *S, struct sq_api_reply *r)
{
    ensure_client(S);
    if (S->c == NULL && r != NULL) {
        sq_api_error(r, 503, "ECONN", S->why, NULL);
    }
    return S->c;
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct {
    int kind;
    sq_api_handler fn;
} handlers[] = {
    {SQ_R_INDEX, sq_api_h_page},
    {SQ_R_STATIC, sq_api_h_static},
    {SQ_R_METRICS, sq_api_h_metrics},
    {SQ_R_READY, sq_api_h_health},
    {SQ_R_HEALTH, sq_api_h_health},
    {SQ_R_OPENAPI, sq_api_h_openapi},
    {SQ_R_OVERVIEW, sq_api_h_overview},
    {SQ_R_QUEUES, sq_api_h_part},
    {SQ_R_WORKERS, sq_api_h_part},
    {SQ_R_BATCHES, sq_api_h_part},
    {SQ_R_PROGRESS, sq_api_h_part},
    {SQ_R_ALERTS, sq_api_h_alerts},
    {SQ_R_NAMESPACES, sq_api_h_namespaces},
    {SQ_R_TASKS, sq_api_h_search},
    {SQ_R_TASK_CREATE, sq_api_h_create},
    {SQ_R_TASKS_BULK, sq_api_h_create},
    {SQ_R_BATCH_CREATE, sq_api_h_create},
    {SQ_R_TASK, sq_api_h_task},
    {SQ_R_TASK_WAIT, sq_api_h_wait},
    {SQ_R_TASK_CHECKPOINTS, sq_api_h_checkpoints},
    {SQ_R_TASK_CANCEL, sq_api_h_cancel},
    {SQ_R_TASK_RETRY, sq_api_h_resume},
    {SQ_R_TASK_RESUME, sq_api_h_resume},
    {SQ_R_WORKFLOW, sq_api_h_workflow},
    {SQ_R_BATCH, sq_api_h_batch},
    {SQ_R_SCHEDULES, sq_api_h_schedules},
    {SQ_R_SCHEDULE_CREATE, sq_api_h_schedules},
    {SQ_R_SCHEDULE, sq_api_h_schedule},
    {SQ_R_SCHEDULE_REMOVE, sq_api_h_schedule},
    {SQ_R_SCHEDULE_PAUSE, sq_api_h_schedule},
    {SQ_R_SCHEDULE_RESUME, sq_api_h_schedule},
    {SQ_R_SCHEDULE_RUN, sq_api_h_schedule},
    {SQ_R_DEAD, sq_api_h_dead},
    {SQ_R_DEAD_REQUEUE, sq_api_h_requeue},
    {SQ_R_PAGE, sq_api_h_page},
    {SQ_R_LOGIN, sq_api_h_login},
    {SQ_R_LOGIN_POST, sq_api_h_login},
    {SQ_R_LOGOUT, sq_api_h_login},
    {SQ_R_TASK_EVENTS, sq_api_h_events},
    {SQ_R_ACTION, sq_api_h_action},
    {SQ_R_WORKER, sq_api_h_worker},
    {SQ_R_WORKER_CONTROL, sq_api_h_control},
    {SQ_R_CONTROL_ACK, sq_api_h_control_ack},
    {SQ_R_QUEUE_PAUSE, sq_api_h_queue_pause},
    {SQ_R_QUEUE_RESUME, sq_api_h_queue_pause},
    {SQ_R_SUMMARIES, sq_api_h_summaries},
};

sq_api_handler
sq_api_handler_of(int kind)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (handlers[i].kind == kind) {
            return handlers[i].fn;
        }
    }
    return NULL;
}

static enum MHD_Result
send_reply(struct sq_api_server *S, struct MHD_Connection *conn,
           struct sq_api_reply *r, bool head)
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
    if (r->location[0] != '\0') {
        MHD_add_response_header(resp, "Location", r->location);
    }
    if (r->replayed) {
        MHD_add_response_header(resp, "Idempotent-Replayed", "true");
    }
    if (r->cookie[0] != '\0') {
        MHD_add_response_header(resp, "Set-Cookie", r->cookie);
    }
    ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* What a connection carries between the calls of one request. */
struct conn_state {
    struct sq_route rt;
    struct sq_buf body;
    size_t seen;     /* body bytes received */
    bool too_big;    /* over SYNCQ_API_MAX_BODY: dropped */
    char session;    /* 'r'/'w': a ?token= visit opens a session */
    const struct sq_token_ent *named; /* ... of this named token */
    int access;      /* enum sq_access granted */
    const char *who; /* the token's name (SQ_WHO_*) */
};

static const char *
hdr(struct MHD_Connection *conn, const char *k)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, k);
}

/* The access a request gets and who it acts as (cs->who): a bearer or
 * ?token= token first, then a session cookie (mon_session.h). A raw
 * token in a cookie is no longer honoured: sessions replace it. */
/* A named token (bearer, ?token=, v2 session): its access, or -1. */
static int
who_named(struct sq_api_server *S, struct MHD_Connection *conn,
          const char *qt, struct conn_state *cs)
{
    const struct sq_token_ent *e = NULL;
    char given[300];

    if (S->named == NULL || S->named->n == 0) {
        return -1;
    }
    if (sq_tokens_bearer(hdr(conn, "Authorization"), given, sizeof given)) {
        e = sq_tokens_find(S->named, given);
    }
    if (e == NULL && qt != NULL) {
        e = sq_tokens_find(S->named, qt);
        cs->named = e; /* the visit opens a session */
    }
    if (e == NULL) {
        e = sq_tokens_check(S->named, hdr(conn, "Cookie"),
                            sq_now_ms() / 1000);
    }
    if (e == NULL) {
        return -1;
    }
    cs->who = e->name;
    return e->role == 'w' ? SQ_ACCESS_WRITE : SQ_ACCESS_READ;
}

static int
who_is(struct sq_api_server *S, struct MHD_Connection *conn, const char *qt,
       struct conn_state *cs)
{
    const char *auth = hdr(conn, "Authorization");
    bool by_token = false;
    int access = who_named(S, conn, qt, cs);
    char lvl;

    if (access >= 0) {
        return access;
    }
    access = sq_mon_access(S->token, S->api_token, S->listen.loopback, auth,
                           qt, NULL, &by_token);
    if (!by_token && S->named != NULL && S->named->n > 0) {
        access = SQ_ACCESS_NONE; /* named tokens: no open loopback */
    }

    if (by_token) {
        bool w = S->api_token[0] != '\0' &&
                 sq_mon_token_ok(S->api_token, auth, qt, NULL);
        cs->who = w ? SQ_WHO_API : SQ_WHO_MONITOR;
        if (qt != NULL) {
            cs->session = w ? 'w' : 'r';
        }
        return access;
    }
    lvl = sq_session_check(hdr(conn, "Cookie"), S->token, S->api_token,
                           sq_now_ms() / 1000);
    if (lvl == 'w') {
        cs->who = SQ_WHO_API;
        return SQ_ACCESS_WRITE;
    }
    if (lvl == 'r') {
        cs->who = SQ_WHO_MONITOR;
        return S->api_token[0] != '\0' ? SQ_ACCESS_READ : SQ_ACCESS_WRITE;
    }
    cs->who = access == SQ_ACCESS_NONE ? "nobody" : SQ_WHO_LOOPBACK;
    return access;
}

/* Access and route checks, before any body byte is read. 0: go on;
 * otherwise the reply is made in r. */
static int
admit(struct sq_api_server *S, struct MHD_Connection *conn,
      const char *method, const char *url, struct conn_state *cs,
      struct sq_api_reply *r)
{
    const char *qt = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                 "token");
    const char *ct = hdr(conn, "Content-Type");
    const char *cl = hdr(conn, "Content-Length");
    bool by_token, write;
    int access, st;

    st = sq_mon_route_parse(method, url, &cs->rt);
    access = who_is(S, conn, qt, cs);
    by_token = cs->who != NULL && strcmp(cs->who, SQ_WHO_LOOPBACK) != 0;
    if (!by_token && (hdr(conn, "Authorization") != NULL || qt != NULL)) {
        /* a token given is checked even where open loopback access
         * would do without one: a wrong one is refused, not ignored */
        access = SQ_ACCESS_NONE;
    }
    if (access == SQ_ACCESS_NONE && st == 0 &&
        (cs->rt.def->flags & SQ_RF_PUBLIC) != 0) {
        access = SQ_ACCESS_READ; /* sign-in page, its assets */
    }
    if (access == SQ_ACCESS_NONE && st == 0 &&
        (cs->rt.def->flags & SQ_RF_PAGE) != 0) {
        /* a browser: the sign-in page, then back here */
        char *next = sq_asprintf("/login?next=%s", url);
        r->status = 303;
        r->ctype = "text/plain";
        if (next != NULL && strlen(next) < sizeof r->location) {
            snprintf(r->location, sizeof r->location, "%s", next);
        } else {
            snprintf(r->location, sizeof r->location, "/login");
        }
        sq_free(next);
        return 303;
    }
    if (access == SQ_ACCESS_NONE) {
        bool given = hdr(conn, "Authorization") != NULL || qt != NULL;
        sq_api_error(r, 401, "EAUTH",
                     given ? "the token given is not valid"
                           : "a token is required (Authorization: Bearer "
                             "T, ?token=T, or sign in at /login)",
                     NULL);
        return 401;
    }
    if (!by_token && !sq_mon_host_is_loopback(hdr(conn, "Host"))) {
        sq_api_error(r, 403, "EAUTH",
                     "Host header is not a loopback name (DNS rebinding "
                     "guard); use 127.0.0.1 or start with --token",
                     NULL);
        return 403;
    }
    if (st == 405) {
        static const char *allow[] = {"GET, HEAD", "POST", "DELETE"};
        const char *m = cs->rt.def->method;
        sq_api_error(r, 405, "EINVAL", "method not allowed", NULL);
        r->allow = strcmp(m, "GET") == 0    ? allow[0]
                   : strcmp(m, "POST") == 0 ? allow[1]
                                            : allow[2];
        return 405;
    }
    if (st != 0) {
        sq_api_error(r, st, st == 400 ? "EINVAL" : "ENOTFOUND",
                     st == 400 ? "malformed path" : "no such endpoint",
                     NULL);
        return st;
    }
    write = (cs->rt.def->flags & SQ_RF_WRITE) != 0;
    cs->access = access;
    if (write && access != SQ_ACCESS_WRITE) {
        SQ_WARN("monitor.action_refused", "who=%s method=%s path=%s "
                "reason=read_only", cs->who, method, url);
        sq_api_error(r, 403, "EAUTH",
                     "this token may only read; writes need "
                     "SYNCQ_API_TOKEN",
                     NULL);
        return 403;
    }
    /* No cross-site page can send a custom header, an Authorization
     * header or a JSON body without a CORS preflight this server never
     * grants: a POST needs one of them. */
    if (strcmp(method, "POST") == 0 && cs->rt.kind != SQ_R_LOGIN_POST &&
        cs->rt.kind != SQ_R_LOGOUT &&
        hdr(conn, "X-Syncq-Request") == NULL &&
        hdr(conn, "Authorization") == NULL &&
        (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)) {
        sq_api_error(r, 403, "EAUTH",
                     "POST needs the X-Syncq-Request header, a bearer "
                     "token or a JSON body",
                     NULL);
        return 403;
    }
    if (cl != NULL) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end == '\0' && n > S->max_body) {
            char msg[120];
            snprintf(msg, sizeof msg,
                     "request body of %llu bytes is over %zu "
                     "(SYNCQ_API_MAX_BODY)",
                     n, S->max_body);
            sq_api_error(r, 413, "ETOOBIG", msg, NULL);
            return 413;
        }
    }
    return 0;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
        const char *method, const char *version, const char *upload_data,
        size_t *upload_data_size, void **con_cls)
{
    struct sq_api_server *S = cls, *T;
    struct conn_state *cs = *con_cls;
    struct sq_api_reply r;
    struct sq_api_req q;
    bool head = strcmp(method, "HEAD") == 0;
    sq_api_handler fn;

    (void)version;
    memset(&r, 0, sizeof r);
    if (cs == NULL) {
        cs = sq_calloc(1, sizeof *cs);
        if (cs == NULL) {
            return MHD_NO;
        }
        sq_buf_init(&cs->body, S->max_body);
        *con_cls = cs;
        if (admit(S, conn, method, url, cs, &r) != 0) {
            return send_reply(S, conn, &r, head);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* A body without Content-Length (chunked) can only be measured
         * while it comes: past the limit it is dropped, not kept, and
         * refused at its end; far past it the connection is closed. */
        cs->seen += *upload_data_size;
        if (cs->seen > 4 * S->max_body) {
            return MHD_NO;
        }
        if (!cs->too_big &&
            (cs->seen > S->max_body ||
             sq_buf_add(&cs->body, upload_data, *upload_data_size) != 0)) {
            cs->too_big = true;
            sq_buf_cleanup(&cs->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (cs->too_big) {
        char msg[120];
        snprintf(msg, sizeof msg,
                 "request body over %zu bytes (SYNCQ_API_MAX_BODY)",
                 S->max_body);
        sq_api_error(&r, 413, "ETOOBIG", msg, NULL);
        return send_reply(S, conn, &r, head);
    }
    if (cs->session != 0 || cs->named != NULL) {
        sq_api_session_cookie(S, &r, cs->session, cs->named);
    }
    if (cs->rt.kind == SQ_R_LIVE) {
        /* liveness never waits for Redis or for the lock */
        json_t *o = json_pack("{s:s}", "live", "ok");
        sq_api_json(&r, 200, o);
        json_decref(o);
        return send_reply(S, conn, &r, head);
    }
    memset(&q, 0, sizeof q);
    q.conn = conn;
    q.rt = &cs->rt;
    q.method = method;
    q.body = cs->body.len > 0 ? cs->body.data : NULL;
    q.body_len = cs->body.len;
    q.who = cs->who;
    q.access = cs->access;
    fn = sq_api_handler_of(cs->rt.kind);
    if (S->nns > 1 && cs->rt.kind == SQ_R_METRICS) {
        sq_api_metrics_all(S, &q, &r); /* every namespace, labelled */
        return send_reply(S, conn, &r, head);
    }
    /* ?ns=: that namespace's context, on the routes that take it; the
     * others ignore it, as the OpenAPI document says */
    T = sq_api_route_takes_ns(cs->rt.kind) ? sq_api_ns_pick(S, &q, &r)
                                           : sq_api_ns_default(S);
    if (T == NULL) {
        return send_reply(S, conn, &r, head);
    }
    pthread_mutex_lock(&T->mu);
    T->requests++;
    if (fn != NULL) {
        fn(T, &q, &r);
    } else {
        sq_api_error(&r, 404, "ENOTFOUND", "no such endpoint", NULL);
    }
    pthread_mutex_unlock(&T->mu);
    if ((cs->rt.def->flags & SQ_RF_WRITE) != 0) {
        /* every action, with who did it (the token's name) */
        SQ_INFO("monitor.action", "who=%s method=%s path=%s status=%d",
                cs->who, method, url, r.status);
    }
    return send_reply(S, conn, &r, head);
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
    struct conn_state *cs = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (cs != NULL) {
        sq_buf_cleanup(&cs->body);
        sq_free(cs);
    }
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

/* SYNCQ_MONITOR_TOKENS_FILE into S->named (empty when unset). */
static int
load_named(struct sq_api_server *S, const syncq_config *cfg,
           syncq_error *err)
{
    const char *path = syncq_config_str(cfg, "SYNCQ_MONITOR_TOKENS_FILE");
    int rc;

    S->named = sq_calloc(1, sizeof *S->named);
    if (S->named == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (path[0] == '\0') {
        return SYNCQ_OK;
    }
    rc = sq_tokens_load(path, S->named, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    SQ_INFO("monitor.tokens", "file=%s count=%zu", path, S->named->n);
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
    if (rc == SYNCQ_OK && !l.loopback && token[0] == '\0' &&
        syncq_config_str(cfg, "SYNCQ_API_TOKEN")[0] == '\0') {
        rc = sq_fail(err, SYNCQ_EINVAL,
                     "refusing to listen on %s without a token: it is not "
                     "loopback (pass --token, SYNCQ_MONITOR_TOKEN or "
                     "SYNCQ_API_TOKEN; the "
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

/* One round of alert rules over a context's fresh figures. */
static void
alert_tick(struct sq_api_server *T)
{
    syncq_error e;

    pthread_mutex_lock(&T->mu);
    sq_api_refresh(T, true);
    if (T->have &&
        sq_alerts_tick(T->alerts, T->c, &T->data, NULL, &e) != SYNCQ_OK) {
        char q[300];
        SQ_DEBUG("monitor.alert_tick_failed", "err=%s",
                 sq_log_quote(e.msg, q, sizeof q));
    }
    pthread_mutex_unlock(&T->mu);
}

/* Forward a context's failures to Sentry. */
static void
sentry_tick(struct sq_api_server *T, struct sq_sentry *sentry,
            const char *consumer)
{
    pthread_mutex_lock(&T->mu);
    ensure_client(T);
    if (T->c != NULL) {
        sq_sentry_forward(sentry, T->c, consumer, NULL, NULL);
    }
    pthread_mutex_unlock(&T->mu);
}

int
sq_mon_serve(const syncq_config *cfg, const struct sq_mon_serve_opts *o,
             volatile sig_atomic_t *stop, volatile sig_atomic_t *hup,
             syncq_error *err)
{
    struct sq_api_server *S;
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
    struct sq_api_server **ctx, *only[1];
    size_t nctx = 1;

    S = sq_calloc(1, sizeof *S);
    if (S == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    only[0] = S;
    ctx = only;
    pthread_mutex_init(&S->mu, NULL);
    S->cfg = cfg;
    S->token = o->token != NULL ? o->token
                                : syncq_config_str(cfg, "SYNCQ_MONITOR_TOKEN");
    S->api_token = o->api_token != NULL
                       ? o->api_token
                       : syncq_config_str(cfg, "SYNCQ_API_TOKEN");
    S->max_body = (size_t)syncq_config_int(cfg, "SYNCQ_API_MAX_BODY");
    S->session_ttl_s =
        syncq_config_ms(cfg, "SYNCQ_MONITOR_SESSION_TTL") / 1000;
    S->idem_ttl_ms = syncq_config_ms(cfg, "SYNCQ_API_IDEMPOTENCY_TTL");
    snprintf(S->why, sizeof S->why, "not connected yet");
    sq_mon_opts_init(&S->opts, cfg);
    /* either token lets a non-loopback address be served (the write
     * token may come from --api-token, not the configuration) */
    rc = load_named(S, cfg, err);
    if (rc == SYNCQ_OK) {
        rc = sq_mon_listen_check(cfg, listen_s,
                                 S->token[0] != '\0' ? S->token
                                 : S->api_token[0] != '\0' ? S->api_token
                                 : S->named->n > 0 ? "named" : "",
                                 false, &S->listen, err);
    }
    if (rc == SYNCQ_OK && !o->no_alerts) {
        rc = sq_alerts_new(cfg, o->rules_path, &S->alerts, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_api_ns_open(S, o, err);
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
            MHD_USE_THREAD_PER_CONNECTION |
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                (S->listen.ipv6 ? MHD_USE_IPv6 : 0),
            0, NULL, NULL, handler, S, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
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
        sq_api_ns_close(S);
        sq_alerts_free(S->alerts);
        pthread_mutex_destroy(&S->mu);
        sq_free(S->named);
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
                host, port,
                sq_api_has_tokens(S) ? "required" : "none",
                S->alerts != NULL ? (int)sq_alerts_rules(S->alerts)->n : 0,
                sentry != NULL);
        if (S->nns > 1) {
            SQ_INFO("monitor.namespaces", "count=%zu default=%s",
                    S->nns, syncq_config_str(cfg, "SYNCQ_NAMESPACE"));
        }
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
    if (S->nns > 1) {
        ctx = S->ns_all;
        nctx = S->nns;
    }
    while (!*stop) {
        int64_t now = sq_mono_ms();
        if (hup != NULL && *hup) {
            *hup = 0;
            sq_logwriter_reopen(NULL);
            SQ_INFO("monitor.log_reopened", "%s", "");
        }
        if (S->alerts != NULL && now >= next_tick) {
            next_tick = now + tick_ms;
            for (size_t i = 0; i < nctx; i++) { /* per namespace */
                alert_tick(ctx[i]);
            }
        }
        if (sentry != NULL && now >= next_sentry) {
            next_sentry = now + 1000;
            for (size_t i = 0; i < nctx; i++) {
                sentry_tick(ctx[i], sentry, consumer);
            }
        }
        sq_sleep_ms(100);
    }
    SQ_INFO("monitor.stopping", "requests=%llu",
            (unsigned long long)S->requests);
    MHD_stop_daemon(d);
    sq_api_ns_close(S);
    sq_alerts_flush(S->alerts, 2000);
    sq_alerts_free(S->alerts);
    sq_sentry_free(sentry, 2000);
    sq_mon_data_cleanup(&S->data);
    json_decref(S->health);
    syncq_client_close(S->c);
    pthread_mutex_destroy(&S->mu);
    sq_free(S->named);
    sq_free(S);
    return SYNCQ_OK;
}
