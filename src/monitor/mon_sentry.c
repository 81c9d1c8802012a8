/* SPDX-License-Identifier: MIT
 *
 * mon_sentry.c: Sentry envelopes for task failures and worker crashes
 * (mon_sentry.h). Formatting and rate limiting run in the caller; the
 * HTTP transfer runs on the mon_post thread.
 */
#include "monitor/mon_sentry.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "monitor/mon_post.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/version.h>

int
sq_sentry_dsn_parse(const char *dsn, struct sq_sentry_dsn *out,
                    syncq_error *err)
{
    const char *p, *at, *slash, *last;
    size_t n;
    char hostport[300];
    char *colon;

    memset(out, 0, sizeof *out);
    if (dsn == NULL || strlen(dsn) > 700) {
        return sq_fail(err, SYNCQ_EINVAL, "Sentry DSN missing or too long");
    }
    if (strncmp(dsn, "https://", 8) == 0) {
        snprintf(out->scheme, sizeof out->scheme, "https");
        p = dsn + 8;
    } else if (strncmp(dsn, "http://", 7) == 0) {
        snprintf(out->scheme, sizeof out->scheme, "http");
        p = dsn + 7;
    } else {
        return sq_fail(err, SYNCQ_EINVAL,
                       "Sentry DSN must start with https:// or http://");
    }
    at = strchr(p, '@');
    slash = strchr(p, '/');
    if (at == NULL || (slash != NULL && at > slash)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "Sentry DSN has no public key (https://KEY@host/1)");
    }
    n = (size_t)(at - p);
    {
        const char *c = memchr(p, ':', n);
        size_t kl = c != NULL ? (size_t)(c - p) : n;
        if (kl == 0 || kl >= sizeof out->key) {
            return sq_fail(err, SYNCQ_EINVAL, "Sentry DSN key empty or too "
                                              "long");
        }
        memcpy(out->key, p, kl);
        if (c != NULL) {
            size_t sl = n - kl - 1;
            if (sl >= sizeof out->secret) {
                return sq_fail(err, SYNCQ_EINVAL, "Sentry DSN secret too long");
            }
            memcpy(out->secret, c + 1, sl);
        }
    }
    p = at + 1;
    slash = strchr(p, '/');
    if (slash == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "Sentry DSN has no project id (https://KEY@host/1)");
    }
    n = (size_t)(slash - p);
    if (n == 0 || n >= sizeof hostport) {
        return sq_fail(err, SYNCQ_EINVAL, "Sentry DSN host empty or too long");
    }
    memcpy(hostport, p, n);
    hostport[n] = '\0';
    colon = strrchr(hostport, ':');
    if (colon != NULL && (strchr(hostport, ']') == NULL ||
                          strchr(hostport, ']') < colon)) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port <= 0 || port > 65535) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "Sentry DSN port is not 1..65535");
        }
        out->port = (int)port;
        *colon = '\0';
    }
    if (hostport[0] == '\0') { /* "https://KEY@:9000/1" (fuzz_sentry_dsn) */
        return sq_fail(err, SYNCQ_EINVAL, "Sentry DSN host empty or too long");
    }
    snprintf(out->host, sizeof out->host, "%s", hostport);
    last = strrchr(slash, '/');
    if (last[1] == '\0' || strlen(last + 1) >= sizeof out->project) {
        return sq_fail(err, SYNCQ_EINVAL, "Sentry DSN project id missing");
    }
    for (const char *d = last + 1; *d != '\0'; d++) {
        if (*d < '0' || *d > '9') {
            return sq_fail(err, SYNCQ_EINVAL,
                           "Sentry DSN project id must be digits");
        }
    }
    snprintf(out->project, sizeof out->project, "%s", last + 1);
    n = (size_t)(last - slash);
    if (n >= sizeof out->path) {
        return sq_fail(err, SYNCQ_EINVAL, "Sentry DSN path too long");
    }
    memcpy(out->path, slash, n); /* "" or "/prefix" */
    out->path[n] = '\0';
    if (out->port > 0) {
        snprintf(out->envelope_url, sizeof out->envelope_url,
                 "%s://%s:%d%s/api/%s/envelope/", out->scheme, out->host,
                 out->port, out->path, out->project);
        snprintf(out->dsn_public, sizeof out->dsn_public, "%s://%s@%s:%d%s/%s",
                 out->scheme, out->key, out->host, out->port, out->path,
                 out->project);
    } else {
        snprintf(out->envelope_url, sizeof out->envelope_url,
                 "%s://%s%s/api/%s/envelope/", out->scheme, out->host,
                 out->path, out->project);
        snprintf(out->dsn_public, sizeof out->dsn_public, "%s://%s@%s%s/%s",
                 out->scheme, out->key, out->host, out->path, out->project);
    }
    return SYNCQ_OK;
}

void
sq_sentry_auth_header(const struct sq_sentry_dsn *dsn, char *out, size_t cap)
{
    if (dsn->secret[0] != '\0') {
        snprintf(out, cap,
                 "X-Sentry-Auth: Sentry sentry_version=7, "
                 "sentry_client=syncq/%s, sentry_key=%s, sentry_secret=%s",
                 SYNCQ_VERSION_STRING, dsn->key, dsn->secret);
    } else {
        snprintf(out, cap,
                 "X-Sentry-Auth: Sentry sentry_version=7, "
                 "sentry_client=syncq/%s, sentry_key=%s",
                 SYNCQ_VERSION_STRING, dsn->key);
    }
}

static json_t *
str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

char *
sq_sentry_envelope(const struct sq_sentry_dsn *dsn,
                   const struct sq_sentry_event *ev, const char *event_id,
                   size_t *len)
{
    char ts[40], sent[40];
    json_t *hdr = json_object();
    json_t *evj = json_object();
    json_t *item = json_object();
    json_t *exc = json_object();
    json_t *vals = json_array();
    json_t *tags = json_object();
    json_t *extra = json_object();
    char *h = NULL, *e = NULL, *i = NULL, *out = NULL;
    int64_t at = ev->at_ms > 0 ? ev->at_ms : sq_now_ms();
    bool crash = ev->kind != NULL && strcmp(ev->kind, "worker_crash") == 0;
    char msg[1200];

    sq_time_format_iso8601_ms(at, ts, sizeof ts);
    sq_time_format_iso8601_ms(sq_now_ms(), sent, sizeof sent);
    json_object_set_new(hdr, "event_id", json_string(event_id));
    json_object_set_new(hdr, "sent_at", json_string(sent));
    json_object_set_new(hdr, "dsn", json_string(dsn->dsn_public));

    {
        json_t *x = json_object();
        json_t *mech = json_object();
        json_object_set_new(x, "type",
                            json_string(ev->err_class ? ev->err_class
                                                      : (crash ? "worker_lost"
                                                               : "error")));
        json_object_set_new(x, "value",
                            json_string(ev->message ? ev->message : ""));
        json_object_set_new(x, "module", str_or_null(ev->task_name));
        json_object_set_new(mech, "type",
                            json_string(crash ? "syncq.worker_crash"
                                              : "syncq.task_failure"));
        json_object_set_new(mech, "handled", json_boolean(!crash));
        json_object_set_new(x, "mechanism", mech);
        json_array_append_new(vals, x);
    }
    json_object_set_new(exc, "values", vals);
    json_object_set_new(evj, "event_id", json_string(event_id));
    json_object_set_new(evj, "timestamp", json_string(ts));
    json_object_set_new(evj, "platform", json_string("c"));
    json_object_set_new(evj, "level", json_string(crash ? "fatal" : "error"));
    json_object_set_new(evj, "logger", json_string("syncq"));
    json_object_set_new(evj, "release",
                        json_string("syncq@" SYNCQ_VERSION_STRING));
    json_object_set_new(evj, "server_name", str_or_null(ev->worker));
    json_object_set_new(evj, "transaction", str_or_null(ev->task_name));
    snprintf(msg, sizeof msg, "%s %s: %s: %s",
             ev->task_name ? ev->task_name : "task",
             crash ? "lost its worker" : "failed",
             ev->err_class ? ev->err_class : "error",
             ev->message ? ev->message : "");
    {
        json_t *m = json_object();
        json_object_set_new(m, "formatted", json_string(msg));
        json_object_set_new(evj, "message", m);
    }
    json_object_set_new(evj, "exception", exc);
    json_object_set_new(tags, "kind",
                        json_string(ev->kind ? ev->kind : "task_failure"));
    json_object_set_new(tags, "task_name", str_or_null(ev->task_name));
    json_object_set_new(tags, "task_id", str_or_null(ev->task_id));
    json_object_set_new(tags, "queue", str_or_null(ev->queue));
    json_object_set_new(tags, "error_class", str_or_null(ev->err_class));
    json_object_set_new(tags, "worker", str_or_null(ev->worker));
    {
        char a[16];
        snprintf(a, sizeof a, "%d", ev->attempt);
        json_object_set_new(tags, "attempt", json_string(a));
    }
    json_object_set_new(evj, "tags", tags);
    json_object_set_new(extra, "task_id", str_or_null(ev->task_id));
    json_object_set_new(extra, "attempt", json_integer(ev->attempt));
    json_object_set_new(extra, "worker", str_or_null(ev->worker));
    json_object_set_new(evj, "extra", extra);
    {
        json_t *fp = json_array();
        json_array_append_new(fp, json_string("syncq"));
        json_array_append_new(fp, str_or_null(ev->task_name));
        json_array_append_new(fp, str_or_null(ev->err_class));
        json_object_set_new(evj, "fingerprint", fp);
    }
    e = json_dumps(evj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    h = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (e != NULL && h != NULL) {
        json_object_set_new(item, "type", json_string("event"));
        json_object_set_new(item, "length",
                            json_integer((json_int_t)strlen(e)));
        json_object_set_new(item, "content_type",
                            json_string("application/json"));
        i = json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    if (i != NULL) {
        out = sq_asprintf("%s\n%s\n%s\n", h, i, e);
        if (out != NULL && len != NULL) {
            *len = strlen(out);
        }
    }
    sq_free(e);
    sq_free(h);
    sq_free(i);
    json_decref(hdr);
    json_decref(evj);
    json_decref(item);
    return out;
}

struct sq_sentry {
    struct sq_sentry_dsn dsn;
    struct sq_poster *poster;
    pthread_mutex_t mu;
    double per_s, burst, tokens;
    int64_t refill_ms;
    struct sq_sentry_stats st;
    bool group_ready;
    /* task id -> worker, from task-started/received events (forwarder) */
    struct {
        char id[40];
        char worker[96];
    } seen[1024];
};

int
sq_sentry_new(const char *dsn, double per_s, double burst,
              struct sq_sentry **out, syncq_error *err)
{
    struct sq_sentry *s;
    int rc;

    *out = NULL;
    s = sq_calloc(1, sizeof *s);
    if (s == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_sentry_dsn_parse(dsn, &s->dsn, err);
    if (rc == SYNCQ_OK) {
        rc = sq_poster_new(256, &s->poster, err);
    }
    if (rc != SYNCQ_OK) {
        sq_free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->per_s = per_s > 0 ? per_s : 5;
    s->burst = burst > 0 ? burst : 20;
    s->tokens = s->burst;
    s->refill_ms = sq_mono_ms();
    *out = s;
    return SYNCQ_OK;
}

void
sq_sentry_free(struct sq_sentry *s, int64_t drain_ms)
{
    if (s == NULL) {
        return;
    }
    sq_poster_free(s->poster, drain_ms);
    pthread_mutex_destroy(&s->mu);
    sq_free(s);
}

void
sq_sentry_flush(struct sq_sentry *s, int64_t timeout_ms)
{
    sq_poster_flush(s->poster, timeout_ms);
}

void
sq_sentry_stats(struct sq_sentry *s, struct sq_sentry_stats *out)
{
    struct sq_poster_stats ps;

    sq_poster_stats(s->poster, &ps);
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
    out->sent = ps.sent;
    out->failed = ps.failed;
    out->dropped += ps.dropped;
}

/* Token bucket: true when one event may go now. */
static bool
take_token(struct sq_sentry *s)
{
    int64_t now = sq_mono_ms();
    bool ok;

    pthread_mutex_lock(&s->mu);
    s->tokens += (double)(now - s->refill_ms) * s->per_s / 1000.0;
    if (s->tokens > s->burst) {
        s->tokens = s->burst;
    }
    s->refill_ms = now;
    s->st.captured++;
    ok = s->tokens >= 1.0;
    if (ok) {
        s->tokens -= 1.0;
    } else {
        s->st.rate_limited++;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int
sq_sentry_capture(struct sq_sentry *s, const struct sq_sentry_event *ev,
                  syncq_error *err)
{
    char id[37], hex[33];
    char auth[600];
    const char *hdr[3];
    char *body;
    size_t len = 0;
    size_t j = 0;
    int rc;

    if (!take_token(s)) {
        return sq_fail(err, SYNCQ_ETOOBIG, "Sentry rate limit: event dropped");
    }
    sq_uuid_new(id);
    for (size_t i = 0; id[i] != '\0' && j < 32; i++) {
        if (id[i] != '-') {
            hex[j++] = id[i];
        }
    }
    hex[j] = '\0';
    body = sq_sentry_envelope(&s->dsn, ev, hex, &len);
    if (body == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    sq_sentry_auth_header(&s->dsn, auth, sizeof auth);
    hdr[0] = "Content-Type: application/x-sentry-envelope";
    hdr[1] = auth;
    hdr[2] = NULL;
    rc = sq_poster_post(s->poster, s->dsn.envelope_url, hdr, body, len, err);
    sq_free(body);
    pthread_mutex_lock(&s->mu);
    if (rc == SYNCQ_OK) {
        s->st.queued++;
    } else {
        s->st.dropped++;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static unsigned
slot_of(const char *id)
{
    unsigned h = 2166136261u;

    for (; *id != '\0'; id++) {
        h = (h ^ (unsigned char)*id) * 16777619u;
    }
    return h % 1024;
}

static const char *
field(const redisReply *kv, const char *name)
{
    for (size_t f = 0; kv->type == REDIS_REPLY_ARRAY && f + 1 < kv->elements;
         f += 2) {
        if (kv->element[f]->type == REDIS_REPLY_STRING &&
            kv->element[f + 1]->type == REDIS_REPLY_STRING &&
            strcmp(kv->element[f]->str, name) == 0) {
            return kv->element[f + 1]->str;
        }
    }
    return NULL;
}

/* Capture one failure event `e` of task `id` (reads its record). */
static int
forward_one(struct sq_sentry *s, syncq_client *c, const char *e,
            const char *id, const redisReply *kv, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    struct sq_sentry_event ev;
    int rc;
    unsigned slot = slot_of(id);
    const char *reason = field(kv, "reason");

    rc = sq_client_cmd(c, &r, err,
                       "HMGET %s name queue err_class err_msg attempt worker",
                       sq_key(c, key, sizeof key, "t:%s", id));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    memset(&ev, 0, sizeof ev);
    ev.task_id = id;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 6) {
        for (int i = 0; i < 6; i++) {
            const char *v = r->element[i]->type == REDIS_REPLY_STRING
                                ? r->element[i]->str
                                : NULL;
            switch (i) {
            case 0:
                ev.task_name = v;
                break;
            case 1:
                ev.queue = v;
                break;
            case 2:
                ev.err_class = v;
                break;
            case 3:
                ev.message = v;
                break;
            case 4:
                ev.attempt = v != NULL ? (int)strtol(v, NULL, 10) : 0;
                break;
            default:
                ev.worker = v;
                break;
            }
        }
    }
    if (ev.worker == NULL && strcmp(s->seen[slot].id, id) == 0) {
        ev.worker = s->seen[slot].worker;
    }
    if (strcmp(e, "task-lost") == 0) {
        ev.kind = "worker_crash";
        ev.err_class = "worker_lost";
        ev.message = reason != NULL ? reason
                                    : "the worker running it died or "
                                      "stopped heartbeating";
    } else {
        ev.kind = "task_failure";
        if (ev.err_class == NULL) {
            ev.err_class = field(kv, "class");
        }
        if (ev.message == NULL && reason != NULL) {
            ev.message = reason;
        }
    }
    sq_sentry_capture(s, &ev, NULL);
    freeReplyObject(r);
    return SYNCQ_OK;
}

/* One task's event of the stream: task-started/received remember its
 * worker, failures are forwarded. Returns how many were forwarded. */
static int
forward_event(struct sq_sentry *s, syncq_client *c, const struct sq_event *te,
              const redisReply *kv)
{
    const char *e = te->e, *id = te->id, *w;

    if (e == NULL || id == NULL || strlen(id) >= 40) {
        return 0;
    }
    w = sq_event_get(te, "w");
    if (w != NULL &&
        (strcmp(e, "task-started") == 0 || strcmp(e, "task-received") == 0)) {
        unsigned slot = slot_of(id);
        snprintf(s->seen[slot].id, sizeof s->seen[slot].id, "%s", id);
        snprintf(s->seen[slot].worker, sizeof s->seen[slot].worker, "%s", w);
    } else if (strcmp(e, "task-failed") == 0 || strcmp(e, "task-dead") == 0 ||
               strcmp(e, "task-lost") == 0) {
        /* one entry each (never grouped): kv is this task's alone */
        return forward_one(s, c, e, id, kv, NULL) == SYNCQ_OK;
    }
    return 0;
}

int
sq_sentry_forward(struct sq_sentry *s, syncq_client *c, const char *consumer,
                  int *forwarded, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    int rc;
    int n = 0;

    if (forwarded != NULL) {
        *forwarded = 0;
    }
    sq_key(c, key, sizeof key, "events");
    if (!s->group_ready) {
        rc = sq_client_cmd(c, &r, err,
                           "XGROUP CREATE %s syncq-sentry $ MKSTREAM", key);
        if (rc == SYNCQ_OK) {
            freeReplyObject(r);
        } else if (err == NULL || strstr(err->msg, "BUSYGROUP") == NULL) {
            return rc;
        }
        s->group_ready = true;
    }
    rc = sq_client_cmd(c, &r, err,
                       "XREADGROUP GROUP syncq-sentry %s COUNT 200 STREAMS "
                       "%s >",
                       consumer, key);
    if (rc != SYNCQ_OK) {
        if (err != NULL && strstr(err->msg, "NOGROUP") != NULL) {
            s->group_ready = false; /* stream was deleted: recreate */
        }
        return rc;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2) {
        redisReply *entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            redisReply *en = entries->element[i];
            struct sq_event te;
            redisReply *ack = NULL;
            if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
                en->element[0]->type != REDIS_REPLY_STRING) {
                continue;
            }
            /* an entry may be about several tasks (broker_event.c) */
            for (bool more = sq_event_first(en->element[1], &te); more;
                 more = sq_event_next(&te)) {
                n += forward_event(s, c, &te, en->element[1]);
            }
            if (sq_client_cmd(c, &ack, NULL, "XACK %s syncq-sentry %s", key,
                              en->element[0]->str) == SYNCQ_OK) {
                freeReplyObject(ack);
            }
        }
    }
    freeReplyObject(r);
    if (forwarded != NULL) {
        *forwarded = n;
    }
    return SYNCQ_OK;
}
