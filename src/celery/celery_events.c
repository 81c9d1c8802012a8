/* SPDX-License-Identifier: MIT
 *
 * celery_events.c: celeryev events and pidbox replies of a syncq worker
 * node (celery_events.h). Envelopes come from the codec
 * (sq_celery_envelope); this file fills the bodies and routes them the
 * way kombu's Redis transport does: fanout exchanges over pub/sub, control
 * replies onto the caller's reply list.
 */
#include "celery/celery_events.h"
#include "celery/celery_message.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <syncq/syncq.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
headers_of(const struct sq_celery_node *n)
{
    return json_pack("{s:s}", "hostname", n->name);
}

static int
publish(syncq_client *c, const char *channel, const char *text,
        syncq_error *err)
{
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    int rc;

    sq_rcmd_set(&cmd, "PUBLISH", channel, text, NULL);
    rc = sq_celery_pipeline(c, false, &cmd, 1, &r, err);
    freeReplyObject(r);
    return rc;
}

int
sq_celery_event_send(syncq_client *c, struct sq_celery_node *n,
                     const char *type, json_t *fields, syncq_error *err)
{
    char rk[64], channel[128];
    json_t *ev = fields != NULL ? fields : json_object();
    json_t *h = headers_of(n);
    char *body = NULL, *env = NULL;
    int rc;

    snprintf(rk, sizeof rk, "%s", type);
    for (char *p = rk; *p != '\0'; p++) {
        if (*p == '-') {
            *p = '.';
        }
    }
    n->clock++;
    json_object_set_new(ev, "hostname", json_string(n->name));
    json_object_set_new(ev, "utcoffset", json_integer(0));
    json_object_set_new(ev, "pid", json_integer(n->pid));
    json_object_set_new(ev, "clock", json_integer(n->clock));
    json_object_set_new(ev, "timestamp",
                        json_real((double)sq_now_ms() / 1000.0));
    json_object_set_new(ev, "type", json_string(type));
    body = json_dumps(ev, JSON_COMPACT);
    env = body != NULL ? sq_celery_envelope(body, h, "celeryev", rk) : NULL;
    if (env == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory (Celery event)");
    } else {
        snprintf(channel, sizeof channel, "%sceleryev/%s", n->prefix, rk);
        rc = publish(c, channel, env, err);
    }
    sq_free(env);
    sq_free(body);
    json_decref(h);
    json_decref(ev);
    return rc;
}

int
sq_celery_worker_event(syncq_client *c, struct sq_celery_node *n,
                       const char *type, syncq_error *err)
{
    double la[3] = {0, 0, 0};
    json_t *f;

    if (getloadavg(la, 3) != 3) {
        la[0] = la[1] = la[2] = 0;
    }
    f = json_pack("{s:f,s:I,s:I,s:[f,f,f],s:s,s:s,s:s}", "freq", 2.0,
                  "active", (json_int_t)n->active, "processed",
                  (json_int_t)n->processed, "loadavg", la[0], la[1], la[2],
                  "sw_ident", "syncq", "sw_ver", syncq_version(), "sw_sys",
                  "Linux");
    if (f == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory (worker event)");
    }
    return sq_celery_event_send(c, n, type, f, err);
}

const char *
sq_celery_pidbox_channel(const struct sq_celery_node *n, char *buf,
                         size_t cap)
{
    snprintf(buf, cap, "%scelery.pidbox", n->prefix);
    return buf;
}

/* destination null (everyone) or a list naming this node */
static bool
for_me(const struct sq_celery_node *n, json_t *dest)
{
    size_t i;
    json_t *d;

    if (dest == NULL || json_is_null(dest)) {
        return true;
    }
    json_array_foreach(dest, i, d) {
        if (json_is_string(d) && strcmp(json_string_value(d), n->name) == 0) {
            return true;
        }
    }
    return false;
}

/* The reply list bound to `rk` in _kombu.binding.reply.celery.pidbox. */
static bool
reply_queue(syncq_client *c, const char *rk, char out[256])
{
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    bool found = false;

    sq_rcmd_set(&cmd, "SMEMBERS", "_kombu.binding.reply.celery.pidbox",
                NULL);
    if (sq_celery_pipeline(c, false, &cmd, 1, &r, NULL) != SYNCQ_OK) {
        return false;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++) {
        const char *row = r->element[i]->str;
        const char *sep = row != NULL ? strstr(row, SQ_CELERY_SEP) : NULL;
        const char *q = sep != NULL ? strstr(sep + 2, SQ_CELERY_SEP) : NULL;
        if (q != NULL && (size_t)(sep - row) == strlen(rk) &&
            strncmp(row, rk, strlen(rk)) == 0) {
            snprintf(out, 256, "%s", q + 2);
            found = true;
            break;
        }
    }
    freeReplyObject(r);
    return found;
}

int
sq_celery_pidbox_reply(syncq_client *c, struct sq_celery_node *n,
                       json_t *req, json_t *answer, syncq_error *err)
{
    json_t *to = json_object_get(req, "reply_to");
    const char *rk = json_string_value(json_object_get(to, "routing_key"));
    const char *ticket = json_string_value(json_object_get(req, "ticket"));
    char queue[256];
    json_t *body, *h;
    char *text = NULL, *env = NULL;
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    int rc = SYNCQ_OK;

    if (rk == NULL || !reply_queue(c, rk, queue)) {
        return SYNCQ_OK; /* no one waits for it */
    }
    n->clock++;
    body = json_pack("{s:O}", n->name, answer != NULL ? answer : json_null());
    h = json_pack("{s:s,s:I}", "ticket", ticket != NULL ? ticket : "",
                  "clock", (json_int_t)n->clock);
    text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    env = text != NULL && h != NULL
              ? sq_celery_envelope(text, h, "reply.celery.pidbox", rk)
              : NULL;
    if (env != NULL) {
        sq_rcmd_set(&cmd, "LPUSH", queue, env, NULL);
        rc = sq_celery_pipeline(c, false, &cmd, 1, &r, err);
        freeReplyObject(r);
    }
    sq_free(env);
    sq_free(text);
    json_decref(body);
    json_decref(h);
    return rc;
}

json_t *
sq_celery_pidbox_request(const struct sq_celery_node *n, const char *raw,
                         size_t len)
{
    json_t *env = json_loadb(raw, len, 0, NULL);
    json_t *req = env != NULL ? sq_celery_envelope_body(env) : NULL;
    json_t *expires = json_object_get(json_object_get(env, "headers"),
                                      "expires");
    const char *method = json_string_value(json_object_get(req, "method"));

    if (method == NULL || !for_me(n, json_object_get(req, "destination")) ||
        (json_is_number(expires) &&
         json_number_value(expires) * 1000.0 < (double)sq_now_ms())) {
        json_decref(req);
        req = NULL;
    }
    json_decref(env);
    return req;
}
