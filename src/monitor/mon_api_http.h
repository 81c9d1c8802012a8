/* SPDX-License-Identifier: MIT
 *
 * mon_api_http.h: what the files of the monitor's HTTP server share: the
 * server state, a request as the handlers see it, the reply under
 * construction and its helpers. mon_http.c owns the connection life
 * (libmicrohttpd, access, bodies); the mon_api_*.c files hold the
 * handlers, one concern each (views, tasks, schedules, idempotency,
 * OpenAPI). Every handler runs with the server mutex held unless it says
 * otherwise, and uses the one client through sq_api_client.
 */
#ifndef SQ_MON_API_HTTP_H
#define SQ_MON_API_HTTP_H

#include "monitor/mon.h"
#include "monitor/mon_route.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/config.h>

struct sq_buf;
struct sq_tokens;
struct sq_token_ent;

#define SQ_API_HIST_MAX 720 /* 1 h of samples every 5 s */

struct MHD_Connection;

struct sq_hist_sample {
    int64_t t_ms;
    long long ready, running, delayed, dead, workers;
    double tput_1m;
};

struct sq_api_server {
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
    struct sq_hist_sample hist[SQ_API_HIST_MAX];
    size_t nhist, hist_head;
    int64_t last_sample_ms;
    struct sq_alerts *alerts;
    int evict_state;           /* last logged: 0 unknown, 1 safe, 2 not */
    const char *token;         /* read token (SYNCQ_MONITOR_TOKEN), "" */
    const char *api_token;     /* write token (SYNCQ_API_TOKEN), "" */
    struct sq_tokens *named;   /* SYNCQ_MONITOR_TOKENS_FILE (mon_tokens.h;
                                  n 0: none) */
    struct sq_listen listen;
    uint64_t requests;
    size_t max_body;           /* bytes (SYNCQ_API_MAX_BODY) */
    int64_t session_ttl_s;     /* SYNCQ_MONITOR_SESSION_TTL, seconds */
    int64_t idem_ttl_ms;       /* SYNCQ_API_IDEMPOTENCY_TTL */
    /* Several namespaces (--namespace a,b): one context like this per
     * namespace, each with its own mutex, client, figures and alerts;
     * the first serves the connections; all share the list (ns_all[0]
     * is the first; nns 0 or 1: one namespace). Fixed while serving. */
    struct sq_api_server **ns_all;
    size_t nns;
};

/* A request as a handler sees it. */
struct sq_api_req {
    struct MHD_Connection *conn;
    const struct sq_route *rt;
    const char *method;
    const char *body;          /* NUL-terminated, or NULL */
    size_t body_len;
    const char *who;           /* the token's name (mon_session.h SQ_WHO_*) */
    int access;                /* enum sq_access granted */
};

struct sq_api_reply {
    int status;
    const char *ctype;
    char *body;                /* owned (sq_free) */
    size_t len;
    const void *static_body;   /* or borrowed */
    char cookie[200];          /* Set-Cookie header value, or "" */
    const char *allow;         /* Allow header for 405 */
    char location[600];        /* Location header (201, 303), or "" */
    bool replayed;             /* an Idempotency-Key replay */
    char idem_seed[40];        /* Idempotency-Key: the claim's seed */
    size_t idem_n;             /* tasks given ids from it (0: none) */
};

typedef void (*sq_api_handler)(struct sq_api_server *S,
                               const struct sq_api_req *q,
                               struct sq_api_reply *r);

/* ---- replies (mon_api_reply.c) ---------------------------------------- */

/* Reply `v` (borrowed) as JSON with `status`. */
void sq_api_json(struct sq_api_reply *r, int status, const json_t *v);
/* Reply {error, message} (and errors, borrowed, when not NULL/empty). */
void sq_api_error(struct sq_api_reply *r, int status, const char *code,
                  const char *msg, const json_t *errors);
/* Reply a library error with the HTTP status of its code. */
void sq_api_syncq_error(struct sq_api_reply *r, const syncq_error *e);
/* The HTTP status of a syncq error code. */
int sq_api_status_of(int code);
/* A query argument (NULL if absent; "" counts as absent). */
const char *sq_api_arg(const struct sq_api_req *q, const char *k);
/* A request header, or NULL. */
const char *sq_api_header(const struct sq_api_req *q, const char *k);
/* The request body as a JSON object: NULL after replying 400 (no body,
 * not JSON, duplicate keys, not an object). New reference. */
json_t *sq_api_body(const struct sq_api_req *q, struct sq_api_reply *r);
/* Parse an integer query argument in lo..hi into *out (left alone when
 * absent). false after replying 400. */
bool sq_api_int_arg(const struct sq_api_req *q, struct sq_api_reply *r,
                    const char *k, long lo, long hi, long *out);

/* ---- server state (mon_http.c) ---------------------------------------- */

/* The client, opening it when missing (at most once a second); NULL
 * after replying 503 (r may be NULL: no reply). */
syncq_client *sq_api_client(struct sq_api_server *S, struct sq_api_reply *r);
/* Fresh-enough figures and health. */
void sq_api_refresh(struct sq_api_server *S, bool force);

/* ---- handlers -------------------------------------------------------- */

/* The handler of a route kind (mon_http.c's table), or NULL. */
sq_api_handler sq_api_handler_of(int kind);

/* mon_api_ns.c: several namespaces. */
struct sq_mon_serve_opts;
/* S's list of every namespace's context: S, then one per o->more_cfg
 * (S's access settings, its own client, figures and alert state, alerts
 * unless o->no_alerts). Nothing when o->nmore is 0.
 * Errors: SYNCQ_ENOMEM, those of sq_alerts_new (close with
 * sq_api_ns_close either way). */
int sq_api_ns_open(struct sq_api_server *S,
                   const struct sq_mon_serve_opts *o, syncq_error *err);
/* Free the other namespaces' contexts and the list (not S). */
void sq_api_ns_close(struct sq_api_server *S);
/* The context of the default namespace (the first served). */
struct sq_api_server *sq_api_ns_default(struct sq_api_server *S);
/* The context a request's "ns" query argument names (the first when
 * absent); NULL after replying 404 for a namespace not served (also when
 * one namespace is served and "ns" names another). Only for routes that
 * take "ns" (sq_api_route_takes_ns). */
struct sq_api_server *sq_api_ns_pick(struct sq_api_server *S,
                                     const struct sq_api_req *q,
                                     struct sq_api_reply *r);
/* True when a route of this kind (SQ_R_*) reads or acts in one
 * namespace, picked by "ns" (the OpenAPI document lists it there). */
bool sq_api_route_takes_ns(int kind);
/* GET /api/namespaces: the namespaces served, the default first. */
void sq_api_h_namespaces(struct sq_api_server *S, const struct sq_api_req *q,
                         struct sq_api_reply *r);
/* GET /metrics over several namespaces: every context's series, each
 * with a namespace label, one HELP/TYPE per family. Takes each context's
 * mutex in turn (call without any held). */
void sq_api_metrics_all(struct sq_api_server *S, const struct sq_api_req *q,
                        struct sq_api_reply *r);
/* The dashboard's namespace selector (HTML) into out: nothing with one
 * namespace; else links to the current page with ?ns=NS, `cur` marked. */
void sq_api_ns_nav(const struct sq_api_server *S, const char *cur,
                   struct sq_buf *out);

/* mon_api_view.c: reads. */
void sq_api_h_static(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_metrics(struct sq_api_server *S, const struct sq_api_req *q,
                      struct sq_api_reply *r);
void sq_api_h_health(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_overview(struct sq_api_server *S, const struct sq_api_req *q,
                       struct sq_api_reply *r);
void sq_api_h_part(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r);
void sq_api_h_task(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r);
void sq_api_h_batch(struct sq_api_server *S, const struct sq_api_req *q,
                    struct sq_api_reply *r);
void sq_api_h_batches(struct sq_api_server *S, const struct sq_api_req *q,
                      struct sq_api_reply *r);
void sq_api_h_alerts(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_checkpoints(struct sq_api_server *S,
                          const struct sq_api_req *q,
                          struct sq_api_reply *r);
void sq_api_h_dead(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r);
void sq_api_h_workflow(struct sq_api_server *S, const struct sq_api_req *q,
                       struct sq_api_reply *r);

/* mon_api_tasks.c: task writes and the long poll. */
void sq_api_h_create(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_wait(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r);
void sq_api_h_cancel(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_resume(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_requeue(struct sq_api_server *S, const struct sq_api_req *q,
                      struct sq_api_reply *r);

/* mon_api_page.c: dashboard pages and sign-in. */
void sq_api_h_page(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r);
void sq_api_h_login(struct sq_api_server *S, const struct sq_api_req *q,
                    struct sq_api_reply *r);
/* Set r's session cookie for `level` ('r'/'w'; 0 clears it), or for the
 * named token `e` (mon_tokens.h) when e is not NULL. */
void sq_api_session_cookie(struct sq_api_server *S, struct sq_api_reply *r,
                           char level, const struct sq_token_ent *e);
/* Any token configured (shared or named): sign-in applies. */
bool sq_api_has_tokens(const struct sq_api_server *S);

/* mon_api_search.c: the task browser's search and bulk actions. */
void sq_api_h_search(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_action(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_events(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);

/* mon_api_control.c: workers, remote control, queue pause. */
void sq_api_h_worker(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r);
void sq_api_h_control(struct sq_api_server *S, const struct sq_api_req *q,
                      struct sq_api_reply *r);
void sq_api_h_control_ack(struct sq_api_server *S,
                          const struct sq_api_req *q,
                          struct sq_api_reply *r);
void sq_api_h_queue_pause(struct sq_api_server *S,
                          const struct sq_api_req *q,
                          struct sq_api_reply *r);
/* mon_api_summary.c: GET /api/summaries/<kind>, and the rows of a
 * summary table rendered into b for a page's first paint. */
void sq_api_h_summaries(struct sq_api_server *S, const struct sq_api_req *q,
                        struct sq_api_reply *r);
void sq_api_summary_rows(struct sq_api_server *S, const char *kind,
                         struct sq_buf *b, json_t **out);

/* mon_api_sched.c: schedules. */
void sq_api_h_schedules(struct sq_api_server *S, const struct sq_api_req *q,
                        struct sq_api_reply *r);
void sq_api_h_schedule(struct sq_api_server *S, const struct sq_api_req *q,
                       struct sq_api_reply *r);

/* mon_api_openapi.c */
void sq_api_h_openapi(struct sq_api_server *S, const struct sq_api_req *q,
                      struct sq_api_reply *r);
/* The OpenAPI 3.1 document of sq_mon_routes (a new object). */
json_t *sq_api_openapi(void);

/* mon_api_idem.c: Idempotency-Key. Before a create: true when the reply
 * is already made (a replay, a conflict, or 503); else the key is claimed
 * and the request's tasks in `body` get the claim's ids (task_id), and the
 * caller creates, then calls sq_api_idem_after with its reply, which
 * stores it for retries (and makes it 201 when the create ran although
 * its reply was lost). */
bool sq_api_idem_before(struct sq_api_server *S, const struct sq_api_req *q,
                        json_t *body, struct sq_api_reply *r);
void sq_api_idem_after(struct sq_api_server *S, const struct sq_api_req *q,
                       struct sq_api_reply *r);

#endif
