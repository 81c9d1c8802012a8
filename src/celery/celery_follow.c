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
#include "sq_alloc.h"
#include "sq_error.h"
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
                             &err) != SYNCQ_OK) {
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

static void
forget_own(struct sq_bridge *b, const char *sid)
{
    json_t *e = json_object_get(b->own, sid);

    if (e != NULL) {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!json_is_true(json_object_get(e, "eta")) && b->held > 0) {
            b->held--;
        }
        b->node.processed++;
        if (name != NULL) {
            json_t *n = json_object_get(b->totals, name);
            json_object_set_new(b->totals, name,
                                json_integer(json_integer_value(n) + 1));
        }
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
            sq_celery_meta_store(b->c, cid, meta, b->result_expires_ms,
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

/* A finished task whose entry this bridge claimed. */
struct done {
    const char *sid;
    json_t *entry;   /* in-flight entry {cid, ir, ...} (owned) */
    json_t *rec;     /* task record (owned), NULL when gone */
    char *meta;      /* Celery meta to store (owned), NULL: none */
};

/* Claim the final writes: MULTI; HGET + HDEL each; EXEC. A bridge gets
 * an entry only when its HDEL removed it, so exactly one bridge writes
 * each result however many follow the stream. */
static void
claim_all(struct sq_bridge *b, struct done *d, size_t n)
{
    struct sq_rcmd *cmd = sq_calloc(2 * n + 1, sizeof *cmd);
    char key[200];
    redisReply *r = NULL;

    snprintf(key, sizeof key, "%s" SQ_CELERY_INFLIGHT, b->c->prefix);
    for (size_t i = 0; cmd != NULL && i < n; i++) {
        sq_rcmd_set(&cmd[2 * i], "HGET", key, d[i].sid, NULL);
        sq_rcmd_set(&cmd[2 * i + 1], "HDEL", key, d[i].sid, NULL);
    }
    if (cmd != NULL &&
        sq_celery_pipeline(b->c, true, cmd, 2 * n, &r, NULL) == SYNCQ_OK &&
        r->type == REDIS_REPLY_ARRAY && r->elements == 2 * n) {
        for (size_t i = 0; i < n; i++) {
            redisReply *v = r->element[2 * i], *del = r->element[2 * i + 1];
            if (v->type == REDIS_REPLY_STRING &&
                del->type == REDIS_REPLY_INTEGER && del->integer == 1) {
                d[i].entry = json_loadb(v->str, v->len, 0, NULL);
            }
        }
    }
    freeReplyObject(r);
    sq_free(cmd);
}

/* The records of the claimed ones, one pipeline of HGETALL. */
static void
read_records(struct sq_bridge *b, struct done *d, size_t n)
{
    struct sq_rcmd *cmd = sq_calloc(n + 1, sizeof *cmd);
    redisReply **r = sq_calloc(n + 1, sizeof *r);
    char (*keys)[200] = sq_calloc(n + 1, sizeof *keys);
    size_t k = 0;
    size_t *at = sq_calloc(n + 1, sizeof *at);

    for (size_t i = 0; cmd != NULL && r != NULL && keys != NULL &&
                       at != NULL && i < n;
         i++) {
        if (d[i].entry != NULL) {
            snprintf(keys[k], sizeof keys[k], "%st:%s", b->c->prefix,
                     d[i].sid);
            sq_rcmd_set(&cmd[k], "HGETALL", keys[k], NULL);
            at[k++] = i;
        }
    }
    if (k > 0 && sq_celery_pipeline(b->c, false, cmd, k, r, NULL) ==
                     SYNCQ_OK) {
        for (size_t j = 0; j < k; j++) {
            if (r[j]->type == REDIS_REPLY_ARRAY && r[j]->elements > 0) {
                d[at[j]].rec = sq_record_to_json(d[at[j]].sid, r[j]->element,
                                                 r[j]->elements,
                                                 b->c->result_expires_ms);
            }
            freeReplyObject(r[j]);
        }
    }
    sq_free(at);
    sq_free(keys);
    sq_free(r);
    sq_free(cmd);
}

/* Tasks that reached a final state: claim, read, store every result in
 * two round trips, send the events. */
static void
finished_many(struct sq_bridge *b, const char *const *sids, size_t n)
{
    struct done *d = sq_calloc(n + 1, sizeof *d);
    const char **ids = sq_calloc(n + 1, sizeof *ids);
    const char **metas = sq_calloc(n + 1, sizeof *metas);
    size_t k = 0;
    syncq_error err;

    for (size_t i = 0; d != NULL && i < n; i++) {
        d[i].sid = sids[i];
    }
    if (d != NULL && ids != NULL && metas != NULL) {
        claim_all(b, d, n);
        read_records(b, d, n);
    }
    for (size_t i = 0; d != NULL && ids != NULL && metas != NULL && i < n;
         i++) {
        const char *cid = json_string_value(json_object_get(d[i].entry,
                                                            "cid"));
        const char *st = json_string_value(json_object_get(d[i].rec,
                                                           "state"));
        if (d[i].rec == NULL || cid == NULL ||
            !sq_celery_status_ready(sq_celery_status_of(st))) {
            continue;
        }
        if (!json_is_true(json_object_get(d[i].entry, "ir"))) {
            d[i].meta = sq_celery_meta_of_record(cid, d[i].rec);
        }
        if (d[i].meta != NULL) {
            ids[k] = cid;
            metas[k++] = d[i].meta;
        }
    }
    for (size_t i = 0; d != NULL && i < n; i++) {
        const char *cid = json_string_value(json_object_get(d[i].entry,
                                                            "cid"));
        if (d[i].rec != NULL && cid != NULL) {
            sq_bridge_canvas(b, d[i].entry, cid, d[i].rec, false);
        }
    }
    if (k > 0 && sq_celery_meta_store_many(b->c, ids, metas, k,
                                           b->result_expires_ms, &err) !=
                     SYNCQ_OK) {
        SQ_WARN("celery.result_failed", "results=%zu err=\"%s\"", k,
                err.msg);
    }
    for (size_t i = 0; d != NULL && i < n; i++) {
        const char *cid = json_string_value(json_object_get(d[i].entry,
                                                            "cid"));
        if (d[i].rec != NULL && cid != NULL) {
            sq_bridge_canvas(b, d[i].entry, cid, d[i].rec, true);
            final_event(b, cid, d[i].rec,
                        sq_celery_status_of(json_string_value(
                            json_object_get(d[i].rec, "state"))));
        }
        forget_own(b, sids[i]);
        json_decref(d[i].entry);
        json_decref(d[i].rec);
        sq_free(d[i].meta);
    }
    sq_free(metas);
    sq_free(ids);
    sq_free(d);
}

static void
finished(struct sq_bridge *b, const char *sid)
{
    finished_many(b, &sid, 1);
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

/* A started or retried task adopted here: its state (and event) now.
 * Final states are gathered by the caller for finished_many. */
static void
one_event(struct sq_bridge *b, const char *type, const char *sid)
{
    json_t *own = json_object_get(b->own, sid);
    const char *cid = json_string_value(json_object_get(own, "cid"));
    bool ir = json_is_true(json_object_get(own, "ir"));

    if (strcmp(type, "task-started") == 0) {
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

void
sq_bridge_events(struct sq_bridge *b, redisReply *r)
{
    redisReply *entries;
    const char **finals;
    size_t nf = 0, cap = 0;

    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
        r->element[0]->type != REDIS_REPLY_ARRAY ||
        r->element[0]->elements != 2) {
        return; /* nil: the BLOCK timed out */
    }
    entries = r->element[0]->element[1];
    if (entries->type != REDIS_REPLY_ARRAY) {
        return;
    }
    /* at most one task per two fields of an entry (broker_event.c) */
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *en = entries->element[i];
        if (en->type == REDIS_REPLY_ARRAY && en->elements == 2 &&
            en->element[1]->type == REDIS_REPLY_ARRAY) {
            cap += en->element[1]->elements / 2;
        }
    }
    finals = sq_calloc(cap + 1, sizeof *finals);
    for (size_t i = 0; i < entries->elements; i++) {
        redisReply *en = entries->element[i];
        struct sq_event te;
        if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
            en->element[0]->type != REDIS_REPLY_STRING) {
            continue;
        }
        snprintf(b->last_event, sizeof b->last_event, "%s",
                 en->element[0]->str);
        /* an entry may be about several tasks (broker_event.c) */
        for (bool more = sq_event_first(en->element[1], &te); more;
             more = sq_event_next(&te)) {
            if (te.e == NULL || te.id == NULL ||
                json_object_get(b->own, te.id) == NULL) {
                continue; /* not adopted here: the sweep covers orphans */
            }
            if (!is_final_event(te.e)) {
                one_event(b, te.e, te.id);
            } else if (finals != NULL) {
                finals[nf++] = te.id;
            } else {
                finished(b, te.id);
            }
        }
    }
    if (nf > 0) {
        finished_many(b, finals, nf);
    }
    sq_free(finals);
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
    const char *finals[SWEEP_BATCH];
    size_t n = 0, nf = 0;

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
            finals[nf++] = sid;
        } else if (s->type == REDIS_REPLY_NIL) {
            /* no record: a crash between unacked and create (restore
             * brings the message back) or a result long expired */
            json_t *m = json_loadb(pairs->element[2 * j + 1]->str,
                                   pairs->element[2 * j + 1]->len, 0, NULL);
            json_t *at = json_object_get(m, "at");
            if (json_is_integer(at) &&
                sq_now_ms() - json_integer_value(at) >
                    b->k.visibility_ms + 60000) {
                finals[nf++] = sid; /* claimed; no record: no write */
            }
            json_decref(m);
        }
    }
    if (nf > 0) {
        finished_many(b, finals, nf);
    }
    for (size_t j = 0; j < n; j++) {
        freeReplyObject(st[j]);
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
