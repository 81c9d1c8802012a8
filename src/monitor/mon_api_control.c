/* SPDX-License-Identifier: MIT
 *
 * mon_api_control.c: one worker's view and its remote control, and the
 * per-queue pause (broker/broker_control.h has the protocol). A control
 * request is answered at once with the command's id (202): the worker
 * applies it within a second and acknowledges; the page polls
 * GET /api/control/{id}. Nothing here waits while holding the server's
 * lock.
 */
#include "monitor/mon_api_http.h"
#include "broker/broker.h"
#include "broker/broker_control.h"
#include "core/sq_log.h"

#include <stdio.h>
#include <string.h>

/* The snapshot's entry of worker `id` (borrowed), or NULL. */
static const json_t *
snapshot_worker(struct sq_api_server *S, const char *id)
{
    size_t i;
    const json_t *w;

    json_array_foreach(json_object_get(S->data.snap, "workers"), i, w) {
        const char *wid = json_string_value(json_object_get(w, "id"));
        if (wid != NULL && strcmp(wid, id) == 0) {
            return w;
        }
    }
    return NULL;
}

void
sq_api_h_worker(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    syncq_client *c;
    const json_t *w;
    json_t *o, *paused = NULL, *info = NULL;
    redisReply *x = NULL;
    syncq_error e;
    char key[400];

    sq_api_refresh(S, false);
    c = sq_api_client(S, r);
    if (c == NULL) {
        return;
    }
    w = S->have ? snapshot_worker(S, q->rt->arg) : NULL;
    if (w == NULL) {
        sq_api_error(r, 404, "ENOTFOUND",
                     "no worker of that name heard from in the last hour",
                     NULL);
        return;
    }
    if (sq_ctl_paused(c, &paused, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    /* the raw heartbeat record: children with their current task */
    if (sq_client_cmd(c, &x, &e, "GET %s",
                      sq_key(c, key, sizeof key, "w:%s", q->rt->arg)) ==
            SYNCQ_OK &&
        x->type == REDIS_REPLY_STRING) {
        info = json_loadb(x->str, x->len, 0, NULL);
    }
    freeReplyObject(x);
    o = json_pack("{s:O,s:o,s:o,s:O}", "worker", w, "info",
                  info != NULL ? info : json_null(), "paused_queues", paused,
                  "at", json_object_get(S->data.snap, "at"));
    sq_api_json(r, 200, o);
    json_decref(o);
}

void
sq_api_h_control(struct sq_api_server *S, const struct sq_api_req *q,
                 struct sq_api_reply *r)
{
    syncq_client *c;
    json_t *body, *o;
    syncq_error e;
    char id[37];

    body = sq_api_body(q, r);
    if (body == NULL) {
        return;
    }
    c = sq_api_client(S, r);
    if (c == NULL) {
        json_decref(body);
        return;
    }
    if (sq_ctl_send(c, q->rt->arg, body, q->who, id, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        json_decref(body);
        return;
    }
    SQ_INFO("monitor.control", "who=%s worker=%s command=%s id=%s", q->who,
            q->rt->arg, json_string_value(json_object_get(body, "command")),
            id);
    o = json_pack("{s:s,s:s,s:s,s:s}", "id", id, "worker", q->rt->arg,
                  "command",
                  json_string_value(json_object_get(body, "command")),
                  "ack_url", "");
    {
        char url[80];
        snprintf(url, sizeof url, "/api/control/%s", id);
        json_object_set_new(o, "ack_url", json_string(url));
    }
    sq_api_json(r, 202, o);
    json_decref(o);
    json_decref(body);
}

void
sq_api_h_control_ack(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r)
{
    syncq_client *c = sq_api_client(S, r);
    json_t *a = NULL, *o;
    syncq_error e;

    if (c == NULL) {
        return;
    }
    if (sq_ctl_ack_get(c, q->rt->arg, &a, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    /* 200 either way: a page polling for it is not an error */
    o = json_pack("{s:s,s:b,s:o}", "id", q->rt->arg, "acked", a != NULL,
                  "ack", a != NULL ? a : json_null());
    sq_api_json(r, 200, o);
    json_decref(o);
}

void
sq_api_h_queue_pause(struct sq_api_server *S, const struct sq_api_req *q,
                     struct sq_api_reply *r)
{
    bool pause = q->rt->kind == SQ_R_QUEUE_PAUSE;
    syncq_client *c = sq_api_client(S, r);
    bool changed = false;
    syncq_error e;
    json_t *o;

    if (c == NULL) {
        return;
    }
    if (sq_ctl_queue_pause(c, q->rt->arg, pause, &changed, NULL, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    SQ_INFO("monitor.queue_pause", "who=%s queue=%s paused=%d changed=%d",
            q->who, q->rt->arg, pause, changed);
    o = json_pack("{s:s,s:b,s:b}", "queue", q->rt->arg, "paused", pause,
                  "changed", changed);
    sq_api_json(r, 200, o);
    json_decref(o);
    S->data_at_ms = 0;
}
