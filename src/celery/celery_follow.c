/* SPDX-License-Identifier: MIT
 *
 * celery_follow.c: from syncq's events stream to Celery's result backend
 * and celeryev. The bridge reads `{ns}:events` (XREAD); for a task it
 * adopted, task-started writes STARTED, task-retried writes RETRY, and a
 * final state writes SUCCESS / FAILURE / REVOKED from the task record.
 * The final write is claimed by removing the task's entry from the
 * in-flight hash (MULTI HGET + HDEL), so exactly one bridge writes it even
 * when several follow the stream. A sweep every 10 s covers what events
 * cannot: a stream trimmed past an event, events switched off, a bridge
 * that died with tasks in flight.
 */
#include "celery/celery_bridge_int.h"
#include "celery/celery_message.h"
#include "broker/broker.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_log.h"
#include "core/sq_task.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>

#define SWEEP_BATCH 200

void
sq_bridge_result_now(struct sq_bridge *b, const char *celery_id,
                     const char *status, json_t *exc)
{
    char tb[400];
    char *meta;
    syncq_error err;

    snprintf(tb, sizeof tb, "syncq worker %s: %s", b->node.name,
             json_string_value(json_array_get(
                 json_object_get(exc, "exc_message"), 0)));
    meta = sq_celery_meta_format(celery_id, status, exc, tb, sq_now_ms(),
                                 NULL);
    if (meta != NULL &&
        sq_celery_meta_store(b->c, celery_id, meta, b->result_expires_ms,
                             NULL, &err) != SYNCQ_OK) {
        SQ_WARN("celery.result_failed", "task_id=%s err=\"%s\"", celery_id,
                err.msg);
    }
    if (b->task_events && strcmp(status, "FAILURE") == 0) {
        json_t *f = json_pack("{s:s,s:s,s:s}", "uuid", celery_id,
                              "exception", tb, "traceback", tb);
        sq_celery_event_send(b->c, &b->node, "task-failed", f, NULL);
    }
    sq_free(meta);
    json_decref(exc);
}

/* Claim the final write of `sid`: MULTI; HGET; HDEL; EXEC. Returns the
 * in-flight entry (new object) when this bridge won, else NULL. */
static json_t *
claim(struct sq_bridge *b, const char *sid)
{
    char key[200];
    struct sq_rcmd cmd[2];
    redisReply *r = NULL;
    json_t *meta = NULL;

    snprintf(key, sizeof key, "%s" SQ_CELERY_INFLIGHT, b->c->prefix);
    sq_rcmd_set(&cmd[0], "HGET", key, sid, NULL);
    sq_rcmd_set(&cmd[1], "HDEL", key, sid, NULL);
    if (sq_celery_pipeline(b->c, true, cmd, 2, &r, NULL) == SYNCQ_OK &&
        r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_INTEGER &&
        r->element[1]->integer == 1) {
        meta = json_loadb(r->element[0]->str, r->element[0]->len, 0, NULL);
    }
    freeReplyObject(r);
    return meta;
}

static void
forget_own(struct sq_bridge *b, const char *sid)
{
    json_t *e = json_object_get(b->own, sid);

    if (e != NULL) {
        if (!json_is_true(json_object_get(e, "eta")) && b->held > 0) {
            b->held--;
        }
        b->node.processed++;
        json_object_del(b->own, sid);
    }
}

static void
final_event(struct sq_bridge *b, const char *cid, json_t *rec,
            const char *status)
{
    json_t *f = NULL;

    if (!b->task_events) {
        return;
    }
    if (strcmp(status, "SUCCESS") == 0) {
        char *res = json_dumps(json_object_get(rec, "result"),
                               JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *rt = json_object_get(rec, "runtime_ms");
        f = json_pack("{s:s,s:s,s:f}", "uuid", cid, "result",
                      res != NULL ? res : "null", "runtime",
                      json_is_integer(rt)
                          ? (double)json_integer_value(rt) / 1000.0
                          : 0.0);
        sq_free(res);
        sq_celery_event_send(b->c, &b->node, "task-succeeded", f, NULL);
    } else if (strcmp(status, "FAILURE") == 0) {
        json_t *e = json_object_get(rec, "error");
        char text[600];
        snprintf(text, sizeof text, "%s: %s",
                 json_string_value(json_object_get(e, "class")) != NULL
                     ? json_string_value(json_object_get(e, "class"))
                     : "internal",
                 json_string_value(json_object_get(e, "message")) != NULL
                     ? json_string_value(json_object_get(e, "message"))
                     : "");
        f = json_pack("{s:s,s:s,s:s}", "uuid", cid, "exception", text,
                      "traceback", text);
        sq_celery_event_send(b->c, &b->node, "task-failed", f, NULL);
    } else {
        f = json_pack("{s:s,s:b,s:n,s:b}", "uuid", cid, "terminated", false,
                      "signum", "expired",
                      strcmp(json_string_value(json_object_get(rec, "state")),
                             "EXPIRED") == 0);
        sq_celery_event_send(b->c, &b->node, "task-revoked", f, NULL);
    }
}

/* Write the Celery meta of task `sid` from its record now. */
static void
write_result(struct sq_bridge *b, const char *sid, const char *cid,
             bool ignore_result, bool final)
{
    json_t *rec = NULL;
    char *meta = NULL;
    const char *status;
    syncq_error err;
    int rc = syncq_task_info(b->c, sid, &rec, &err);

    if (rc != SYNCQ_OK) {
        if (rc != SYNCQ_ENOTFOUND) {
            SQ_WARN("celery.result_failed", "task_id=%s err=\"%s\"", cid,
                    err.msg);
        }
        return;
    }
    status = sq_celery_status_of(json_string_value(json_object_get(rec,
                                                                   "state")));
    if (final && !sq_celery_status_ready(status)) {
        json_decref(rec);
        return;
    }
    if (!ignore_result) {
        meta = sq_celery_meta_of_record(cid, rec);
        if (meta != NULL &&
            sq_celery_meta_store(b->c, cid, meta, b->result_expires_ms, NULL,
                                 &err) != SYNCQ_OK) {
            SQ_WARN("celery.result_failed", "task_id=%s err=\"%s\"", cid,
                    err.msg);
        }
    }
    if (final) {
        final_event(b, cid, rec, status);
    }
    sq_free(meta);
    json_decref(rec);
}

static void
finished(struct sq_bridge *b, const char *sid)
{
    json_t *meta = claim(b, sid);

    if (meta != NULL) {
        const char *cid = json_string_value(json_object_get(meta, "cid"));
        write_result(b, sid, cid != NULL ? cid : sid,
                     json_is_true(json_object_get(meta, "ir")), true);
        json_decref(meta);
    }
    forget_own(b, sid);
}

void
sq_bridge_settled_check(struct sq_bridge *b, const char *sid)
{
    char key[200];
    struct sq_rcmd cmd;
    redisReply *r = NULL;

    snprintf(key, sizeof key, "%st:%s", b->c->prefix, sid);
    sq_rcmd_set(&cmd, "HGET", key, "state", NULL);
    if (sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL) == SYNCQ_OK &&
        r->type == REDIS_REPLY_STRING && sq_state_is_final(r->str)) {
        finished(b, sid);
    }
    freeReplyObject(r);
}

static bool
is_final_event(const char *e)
{
    static const char *const finals[] = {
        "task-succeeded", "task-failed", "task-revoked", "task-expired",
        "task-dead", "task-skipped",
    };

    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        if (strcmp(e, finals[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void
one_event(struct sq_bridge *b, const char *type, const char *sid)
{
    json_t *own = json_object_get(b->own, sid);
    const char *cid = json_string_value(json_object_get(own, "cid"));
    bool ir = json_is_true(json_object_get(own, "ir"));

    if (own == NULL) {
        return; /* not adopted here: the sweep covers orphans */
    }
    if (is_final_event(type)) {
        finished(b, sid);
    } else if (strcmp(type, "task-started") == 0) {
        if (b->task_events) {
            json_t *f = json_pack("{s:s}", "uuid", cid);
            sq_celery_event_send(b->c, &b->node, "task-started", f, NULL);
        }
        if (b->track_started) {
            write_result(b, sid, cid, ir, false);
        }
    } else if (strcmp(type, "task-retried") == 0) {
        write_result(b, sid, cid, ir, false);
        if (b->task_events) {
            json_t *f = json_pack("{s:s}", "uuid", cid);
            sq_celery_event_send(b->c, &b->node, "task-retried", f, NULL);
        }
    }
}

/* The value of `name` in a stream entry's flat field list, or NULL. */
static const char *
entry_field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements;
         i += 2) {
        if (kv->element[i]->type == REDIS_REPLY_STRING &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING &&
            strcmp(kv->element[i]->str, name) == 0) {
            return kv->element[i + 1]->str;
        }
    }
    return NULL;
}

void
sq_bridge_events(struct sq_bridge *b, redisReply *r)
{
    redisReply *entries;

    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
        r->element[0]->type != REDIS_REPLY_ARRAY ||
        r->element[0]->elements != 2) {
        return; /* nil: the BLOCK timed out */
    }
    entries = r->element[0]->element[1];
    for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY &&
                       i < entries->elements;
         i++) {
        redisReply *en = entries->element[i];
        const char *type = NULL, *sid = NULL;
        if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
            en->element[0]->type != REDIS_REPLY_STRING) {
            continue;
        }
        snprintf(b->last_event, sizeof b->last_event, "%s",
                 en->element[0]->str);
        type = entry_field(en->element[1], "e");
        sid = entry_field(en->element[1], "id");
        if (type != NULL && sid != NULL) {
            one_event(b, type, sid);
        }
    }
}

void
sq_bridge_events_start(struct sq_bridge *b)
{
    char key[200];
    struct sq_rcmd cmd;
    redisReply *r = NULL;

    snprintf(b->last_event, sizeof b->last_event, "0-0");
    snprintf(key, sizeof key, "%sevents", b->c->prefix);
    sq_rcmd_set(&cmd, "XREVRANGE", key, "+", "-", "COUNT", "1", NULL);
    if (sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL) == SYNCQ_OK &&
        r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(b->last_event, sizeof b->last_event, "%s",
                 r->element[0]->element[0]->str);
    }
    freeReplyObject(r);
}

/* In-flight entries whose record says final (or is gone for long). */
static void
sweep_batch(struct sq_bridge *b, redisReply *pairs)
{
    struct sq_rcmd cmd[SWEEP_BATCH];
    redisReply *st[SWEEP_BATCH];
    char keys[SWEEP_BATCH][200];
    size_t n = 0;

    for (size_t i = 0; i + 1 < pairs->elements && n < SWEEP_BATCH; i += 2) {
        snprintf(keys[n], sizeof keys[n], "%st:%s", b->c->prefix,
                 pairs->element[i]->str);
        sq_rcmd_set(&cmd[n], "HGET", keys[n], "state", NULL);
        n++;
    }
    if (n == 0 || sq_celery_pipeline(b->c, false, cmd, n, st, NULL) !=
                      SYNCQ_OK) {
        return;
    }
    for (size_t j = 0; j < n; j++) {
        const char *sid = pairs->element[2 * j]->str;
        redisReply *s = st[j];
        if (s->type == REDIS_REPLY_STRING && sq_state_is_final(s->str)) {
            finished(b, sid);
        } else if (s->type == REDIS_REPLY_NIL) {
            /* no record: a crash between unacked and create (restore
             * brings the message back) or a result long expired */
            json_t *m = json_loadb(pairs->element[2 * j + 1]->str,
                                   pairs->element[2 * j + 1]->len, 0, NULL);
            json_t *at = json_object_get(m, "at");
            if (json_is_integer(at) &&
                sq_now_ms() - json_integer_value(at) >
                    b->k.visibility_ms + 60000) {
                json_decref(claim(b, sid));
                forget_own(b, sid);
            }
            json_decref(m);
        }
        freeReplyObject(s);
    }
}

void
sq_bridge_sweep(struct sq_bridge *b)
{
    char key[200], cursor[32] = "0";
    int rounds = 0;

    snprintf(key, sizeof key, "%s" SQ_CELERY_INFLIGHT, b->c->prefix);
    do {
        struct sq_rcmd cmd;
        redisReply *r = NULL;
        sq_rcmd_set(&cmd, "HSCAN", key, cursor, "COUNT", "100", NULL);
        if (sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL) !=
                SYNCQ_OK ||
            r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            return;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        sweep_batch(b, r->element[1]);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0 && ++rounds < 1000);
}
