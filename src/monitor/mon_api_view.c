/* SPDX-License-Identifier: MIT
 *
 * mon_api_view.c: the read-only endpoints of the monitor's HTTP server:
 * dashboard files, figures (cached, mon_http.c), health, /metrics, task
 * and batch reads, checkpoints, dead letters, workflows, alerts.
 */
#include "monitor/mon_api_http.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "core/sq_embed.h"
#include "sq_error.h"
#include "monitor/mon_alerts.h"
#include "broker/broker_control.h"

#include <string.h>
#include <syncq/monitor.h>
#include <syncq/recovery.h>
#include <syncq/schedule.h>
#include <syncq/syncq.h>
#include <syncq/version.h>

static const char *
mime_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".json", "application/json"}};
    const char *dot = strrchr(name, '.');

    if (dot == NULL) {
        return "application/octet-stream";
    }
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(dot, types[i].ext) == 0) {
            return types[i].type;
        }
    }
    return "text/plain; charset=utf-8";
}

void
sq_api_h_static(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    const char *name = q->rt->kind == SQ_R_INDEX ? "index.html" : q->rt->arg;
    const struct sq_embedded *f = sq_embed_find(sq_web_files, name);

    (void)S;
    if (f == NULL) {
        sq_api_error(r, 404, "ENOTFOUND", "no such asset", NULL);
        return;
    }
    r->status = 200;
    r->ctype = mime_of(name);
    r->static_body = f->data;
    r->len = f->len;
}

static json_t *
alerts_list(struct sq_api_server *S)
{
    json_t *a = NULL;

    if (S->c == NULL || !S->have ||
        sq_alerts_read(S->c, 20, &a, NULL) != SYNCQ_OK) {
        return json_object();
    }
    return a;
}

static json_t *
history_json(struct sq_api_server *S)
{
    json_t *a = json_array();

    for (size_t i = 0; i < S->nhist; i++) {
        const struct sq_hist_sample *h =
            &S->hist[(S->hist_head + i) % SQ_API_HIST_MAX];
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

void
sq_api_h_overview(struct sq_api_server *S, const struct sq_api_req *q,
                  struct sq_api_reply *r)
{
    json_t *o;

    (void)q;
    sq_api_refresh(S, false);
    o = S->have ? json_copy(S->data.snap) : json_object();
    json_object_set(o, "health", S->health);
    json_object_set_new(o, "alerts", alerts_list(S));
    json_object_set_new(o, "history", history_json(S));
    json_object_set_new(o, "version", json_string(SYNCQ_VERSION_STRING));
    sq_api_json(r, 200, o);
    json_decref(o);
}

/* A part of the cached snapshot: queues, workers, batches, running. */
void
sq_api_h_part(struct sq_api_server *S, const struct sq_api_req *q,
              struct sq_api_reply *r)
{
    const char *k1 = "queues", *k2 = "totals";
    json_t *o;

    switch (q->rt->kind) {
    case SQ_R_WORKERS:
        k1 = "workers";
        break;
    case SQ_R_BATCHES:
        k1 = "batches";
        k2 = NULL;
        break;
    case SQ_R_PROGRESS:
        k1 = "running";
        k2 = NULL;
        break;
    default:
        break;
    }
    sq_api_refresh(S, false);
    if (!S->have) {
        sq_api_error(r, 503, "ECONN", S->why, NULL);
        return;
    }
    o = json_object();
    json_object_set(o, k1, json_object_get(S->data.snap, k1));
    if (k2 != NULL) {
        json_object_set(o, k2, json_object_get(S->data.snap, k2));
    }
    if (q->rt->kind == SQ_R_QUEUES) {
        /* paused queues: workers do not lease from them */
        json_t *p = NULL;
        if (S->c == NULL || sq_ctl_paused(S->c, &p, NULL) != SYNCQ_OK) {
            p = json_array();
        }
        json_object_set_new(o, "paused", p);
    }
    json_object_set(o, "at", json_object_get(S->data.snap, "at"));
    sq_api_json(r, 200, o);
    json_decref(o);
}

void
sq_api_h_metrics(struct sq_api_server *S, const struct sq_api_req *q,
                 struct sq_api_reply *r)
{
    struct sq_buf b;
    json_t *al = NULL;

    (void)q;
    sq_api_refresh(S, false);
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
        sq_api_error(r, 500, "ENOMEM", "out of memory", NULL);
    }
}

/* /api/health and /readyz. */
void
sq_api_h_health(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    sq_api_refresh(S, false);
    if (q->rt->kind == SQ_R_READY) {
        json_t *o = json_object();
        json_object_set_new(o, "ready", json_string(S->have ? "ok" : "fail"));
        if (!S->have) {
            json_object_set_new(o, "reason", json_string("broker"));
            json_object_set_new(o, "message", json_string(S->why));
        }
        sq_api_json(r, S->have ? 200 : 503, o);
        json_decref(o);
        return;
    }
    sq_api_json(r, S->health_status == SYNCQ_UNHEALTHY ? 503 : 200,
                S->health);
}

/* A task record with its checkpoints (the seed's get_task_info). */
void
sq_api_h_task(struct sq_api_server *S, const struct sq_api_req *q,
              struct sq_api_reply *r)
{
    syncq_client *c = sq_api_client(S, r);
    syncq_error e;
    json_t *t = NULL, *cps = NULL;

    if (c == NULL) {
        return;
    }
    if (syncq_task_info(c, q->rt->arg, &t, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    if (syncq_checkpoint_list(c, q->rt->arg, &cps, &e) == SYNCQ_OK) {
        json_object_set_new(t, "checkpoints", cps);
    }
    sq_api_json(r, 200, t);
    json_decref(t);
}

void
sq_api_h_checkpoints(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r)
{
    syncq_client *c = sq_api_client(S, r);
    syncq_error e;
    json_t *cps = NULL, *t = NULL, *o;

    if (c == NULL) {
        return;
    }
    if (syncq_task_info(c, q->rt->arg, &t, &e) != SYNCQ_OK &&
        e.code != SYNCQ_ENOTFOUND) {
        sq_api_syncq_error(r, &e);
        return;
    }
    json_decref(t);
    if (syncq_checkpoint_list(c, q->rt->arg, &cps, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    o = json_pack("{s:s,s:o}", "id", q->rt->arg, "checkpoints", cps);
    sq_api_json(r, 200, o);
    json_decref(o);
}

/* Reply with one JSON document that `read` gives for the route's id
 * (a batch's progress, a workflow's tree): 200, or the library's error. */
static void
reply_read(struct sq_api_server *S, const struct sq_api_req *q,
           struct sq_api_reply *r,
           int (*read)(syncq_client *, const char *, json_t **,
                       syncq_error *))
{
    syncq_client *c = sq_api_client(S, r);
    syncq_error e;
    json_t *v = NULL;

    if (c == NULL) {
        return;
    }
    if (read(c, q->rt->arg, &v, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    sq_api_json(r, 200, v);
    json_decref(v);
}

void
sq_api_h_batch(struct sq_api_server *S, const struct sq_api_req *q,
               struct sq_api_reply *r)
{
    reply_read(S, q, r, syncq_batch_progress);
}

void
sq_api_h_alerts(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    syncq_client *c = sq_api_client(S, r);
    syncq_error e;
    json_t *a = NULL;

    (void)q;
    if (c == NULL) {
        return;
    }
    if (sq_alerts_read(c, 100, &a, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    sq_api_json(r, 200, a);
    json_decref(a);
}

void
sq_api_h_dead(struct sq_api_server *S, const struct sq_api_req *q,
              struct sq_api_reply *r)
{
    syncq_dead_filter f;
    syncq_client *c;
    syncq_error e;
    json_t *list = NULL, *o;
    size_t total = 0;
    long limit = 50, offset = 0;

    memset(&f, 0, sizeof f);
    f.queue = sq_api_arg(q, "queue");
    f.name = sq_api_arg(q, "name");
    if (!sq_api_int_arg(q, r, "limit", 1, 500, &limit) ||
        !sq_api_int_arg(q, r, "offset", 0, 1000000, &offset)) {
        return;
    }
    f.limit = (size_t)limit;
    f.offset = (size_t)offset;
    c = sq_api_client(S, r);
    if (c == NULL) {
        return;
    }
    if (syncq_dead_list(c, &f, &list, &total, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    o = json_pack("{s:o,s:I}", "tasks", list, "total", (json_int_t)total);
    sq_api_json(r, 200, o);
    json_decref(o);
}

void
sq_api_h_workflow(struct sq_api_server *S, const struct sq_api_req *q,
                  struct sq_api_reply *r)
{
    reply_read(S, q, r, syncq_workflow_info);
}
