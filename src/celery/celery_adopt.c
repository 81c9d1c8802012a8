/* SPDX-License-Identifier: MIT
 *
 * celery_adopt.c: one Celery message taken off a kombu list by the
 * bridge. Registered in kombu's `unacked` hash first (with its entry in
 * the bridge's in-flight hash, in the same transaction), then either
 *   - adopted: created as a syncq task with the same id (the C task
 *     registered under its name runs it; ETA, expires, time limits and
 *     priority carried over), or
 *   - answered at once: revoked through the pidbox, or already expired
 *     (REVOKED result, as Celery does), or
 *   - dead-lettered: a message syncq cannot take (unknown task, bad
 *     base64, not JSON, wrong body, another serializer, a chord) goes to
 *     syncq's dead-letter queue with the reason and the raw bytes, and a
 *     FAILURE result is written so the Python caller is not left waiting,
 * and acked last. Nothing here can crash the bridge on any input.
 */
#include "celery/celery_bridge_int.h"
#include "celery/celery_message.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>

/* A message syncq cannot run: why, for the dead letter and the result. */
struct verdict {
    const char *reason;    /* dead-letter reason after "celery_" */
    const char *exc_module, *exc_type;
    char detail[200];
};

static void
keep_pending(struct sq_bridge *b, const char *queue, const char *raw,
             size_t len)
{
    struct sq_bridge_pending *p;

    if (b->npend == b->cappend) {
        size_t cap = b->cappend ? b->cappend * 2 : 8;
        struct sq_bridge_pending *n = sq_realloc(b->pend, cap * sizeof *n);
        if (n == NULL) {
            SQ_ERROR("celery.oom", "what=\"held message\" queue=%s", queue);
            return;
        }
        b->pend = n;
        b->cappend = cap;
    }
    p = &b->pend[b->npend];
    p->raw = sq_malloc(len + 1);
    if (p->raw == NULL) {
        SQ_ERROR("celery.oom", "what=\"held message\" queue=%s", queue);
        return;
    }
    memcpy(p->raw, raw, len);
    p->raw[len] = '\0';
    p->len = len;
    snprintf(p->queue, sizeof p->queue, "%s", queue);
    b->npend++;
}

void
sq_bridge_pending_retry(struct sq_bridge *b)
{
    size_t n = b->npend;
    struct sq_bridge_pending *list = b->pend;

    if (n == 0) {
        return;
    }
    /* handled again from the start; those that fail again are re-kept */
    b->pend = NULL;
    b->npend = b->cappend = 0;
    for (size_t i = 0; i < n; i++) {
        const char *raw = list[i].raw;
        sq_bridge_messages(b, list[i].queue, &raw, &list[i].len, 1);
        sq_free(list[i].raw);
    }
    sq_free(list);
}

/* Decide whether syncq can run the message (verdict NULL reason: yes). */
static void
judge(struct sq_bridge *b, const struct sq_celery_msg *m,
      enum sq_celery_reject rej, char norm[256], struct verdict *v)
{
    memset(v, 0, sizeof *v);
    if (rej != SQ_CELERY_OK) {
        v->reason = sq_celery_reject_name(rej);
        v->exc_module = "kombu.exceptions";
        v->exc_type = rej == SQ_CELERY_SERIALIZER ? "ContentDisallowed"
                                                   : "DecodeError";
        snprintf(v->detail, sizeof v->detail, "%s", m->detail);
        return;
    }
    if (syncq_task_name_normalize(m->task, norm, 256, NULL) != SYNCQ_OK ||
        syncq_registry_find(b->o->registry, norm) == NULL) {
        v->reason = "not_registered";
        v->exc_module = "celery.exceptions";
        v->exc_type = "NotRegistered";
        snprintf(v->detail, sizeof v->detail, "'%.150s'", m->task);
        return;
    }
    if (!sq_celery_canvas_check(m, v->detail, sizeof v->detail)) {
        v->reason = "unsupported";
        v->exc_module = "celery.exceptions";
        v->exc_type = "ImproperlyConfigured";
    }
}

/* The dead record's error message says exactly what was wrong (the
 * poison script only knows the reason word). Best-effort: the reason
 * is recorded either way. */
static void
keep_detail(struct sq_bridge *b, const char *dead_id, const char *reason,
            const char *detail)
{
    char key[200], msg[300];
    struct sq_rcmd cmd;
    redisReply *r = NULL;

    snprintf(key, sizeof key, "%st:%s", b->c->prefix, dead_id);
    snprintf(msg, sizeof msg, "%s: %s", reason, detail);
    sq_rcmd_set(&cmd, "HSET", key, "err_msg", msg, NULL);
    sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL);
    freeReplyObject(r);
}

static void
dead_letter(struct sq_bridge *b, const char *queue, const char *raw,
            size_t len, const struct sq_celery_msg *m, const struct verdict *v)
{
    char reason[64], pid[SYNCQ_ID_SIZE], q[300];
    syncq_error err;

    snprintf(reason, sizeof reason, "celery_%s", v->reason);
    if (sq_broker_poison(b->c, queue, raw, len, reason, pid, &err) !=
        SYNCQ_OK) {
        SQ_ERROR("celery.poison_failed", "queue=%s err=%s", queue,
                 sq_log_quote(err.msg, q, sizeof q));
        return;
    }
    b->poisoned++;
    keep_detail(b, pid, reason, v->detail);
    SQ_WARN("celery.poison", "queue=%s reason=%s task_id=%s bytes=%zu "
            "dead_id=%s detail=%s", queue, reason,
            m->id != NULL ? m->id : "-", len, pid,
            sq_log_quote(v->detail, q, sizeof q));
    if (m->id != NULL) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s", reason, v->detail);
        sq_bridge_result_now(b, m->id, "FAILURE",
                             sq_celery_exc_named(v->exc_module, v->exc_type,
                                                 msg));
    }
}

/* {cid, name, q, ir, node, at[, canvas]} of the in-flight hash (owned
 * text): whichever bridge writes the result follows the canvas too. */
static char *
inflight_meta(struct sq_bridge *b, const struct sq_celery_msg *m,
              const char *queue)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:s,s:I}", "cid", m->id, "name",
                          m->task, "q", queue, "ir", m->ignore_result, "node",
                          b->node.name, "at", (json_int_t)sq_now_ms());
    json_t *canvas = sq_celery_canvas_of(m);
    char *s;

    if (j != NULL && canvas != NULL) {
        json_object_set(j, "canvas", canvas);
    }
    json_decref(canvas);
    s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

/* syncq's options from the message's headers; time limits set by
 * remote control (time_limit) for `norm` when the message has none. */
static void
task_options(const struct sq_bridge *b, const struct sq_celery_msg *m,
             const char *norm, const char *queue, const char *sid,
             char parent[37], char root[37], syncq_task_options *o)
{
    json_t *lim = json_object_get(b->limits, norm);
    int64_t now = sq_now_ms();

    syncq_task_options_init(o);
    o->queue = queue;
    o->priority = sq_celery_priority_to_syncq(m->priority);
    o->task_id = sid;
    if (m->eta_ms > now) {
        o->eta_ms = m->eta_ms;
    }
    o->expires_ms = m->expires_ms;
    o->time_limit_ms = m->time_limit_ms;
    o->soft_time_limit_ms = m->soft_time_limit_ms;
    if (lim != NULL && m->time_limit_ms == 0 && m->soft_time_limit_ms == 0) {
        o->soft_time_limit_ms = json_integer_value(json_array_get(lim, 0));
        o->time_limit_ms = json_integer_value(json_array_get(lim, 1));
    }
    if (m->parent_id != NULL && strcmp(m->parent_id, m->id) != 0) {
        sq_celery_syncq_id(m->parent_id, parent);
        o->parent_id = parent;
    }
    if (m->root_id != NULL && strcmp(m->root_id, m->id) != 0) {
        sq_celery_syncq_id(m->root_id, root);
        o->root_id = root;
    }
}

static void
own_add(struct sq_bridge *b, const struct sq_celery_msg *m, const char *sid)
{
    bool eta = m->eta_ms > sq_now_ms();
    json_t *e = json_pack("{s:s,s:s,s:b,s:b}", "cid", m->id, "name",
                          m->task, "ir", m->ignore_result, "eta", eta);

    if (e != NULL && json_object_get(b->own, sid) == NULL) {
        json_object_set_new(b->own, sid, e);
        if (!eta) {
            b->held++;
        }
    } else {
        json_decref(e);
    }
}

static void
received_event(struct sq_bridge *b, const struct sq_celery_msg *m)
{
    char when[48];
    json_t *f;

    if (!b->task_events) {
        return;
    }
    f = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:i,s:o,s:o}", "uuid", m->id,
                  "name", m->task, "args", "", "kwargs", "", "root_id",
                  m->root_id, "parent_id", m->parent_id, "retries",
                  m->retries, "eta",
                  m->eta_ms > 0 ? json_string(sq_celery_time_format(
                                      m->eta_ms, true, when, sizeof when))
                                : json_null(),
                  "expires",
                  m->expires_ms > 0
                      ? json_string(sq_celery_time_format(
                            m->expires_ms, true, when, sizeof when))
                      : json_null());
    if (f != NULL) {
        char *a = json_dumps(m->args, JSON_COMPACT);
        char *k = json_dumps(m->kwargs, JSON_COMPACT);
        json_object_set_new(f, "args", json_string(a != NULL ? a : ""));
        json_object_set_new(f, "kwargs", json_string(k != NULL ? k : ""));
        sq_free(a);
        sq_free(k);
    }
    sq_celery_event_send(b->c, &b->node, "task-received", f, NULL);
}

/* Create the task (returns SYNCQ_OK, ECONN, or another error: poison). */
static int
adopt(struct sq_bridge *b, const struct sq_celery_msg *m, const char *norm,
      const char *queue, const char *sid, syncq_error *err)
{
    syncq_task_options o;
    char parent[37], root[37], id[SYNCQ_ID_SIZE];
    char *args = json_dumps(m->args, JSON_COMPACT);
    char *kwargs = json_dumps(m->kwargs, JSON_COMPACT);
    int dup = 0, rc;

    task_options(b, m, norm, queue, sid, parent, root, &o);
    rc = args != NULL && kwargs != NULL
             ? syncq_task_create(b->c, norm, args, kwargs, &o, id, &dup, err)
             : sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    sq_free(args);
    sq_free(kwargs);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (!dup && m->retries > 0) {
        /* the message's retries count is authoritative (celery-wire.md
         * section 13). Added, not set: should the first attempt already
         * have settled a retry of its own, the sum is still right. */
        char key[200], n[16];
        struct sq_rcmd cmd;
        redisReply *r = NULL;
        snprintf(key, sizeof key, "%st:%s", b->c->prefix, sid);
        snprintf(n, sizeof n, "%d", m->retries);
        sq_rcmd_set(&cmd, "HINCRBY", key, "retries", n, NULL);
        sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL);
        freeReplyObject(r);
    }
    if (dup) {
        SQ_INFO("celery.redelivered", "task_id=%s err=\"task exists "
                "already; acked without a second run\"", m->id);
    } else {
        b->adopted++;
        SQ_DEBUG("celery.adopted", "queue=%s task=%s task_id=%s", queue,
                 m->task, m->id);
        received_event(b, m);
    }
    own_add(b, m, sid);
    if (dup) {
        sq_bridge_settled_check(b, sid); /* no event will come if done */
    }
    return SYNCQ_OK;
}

/* Drop the in-flight entry of a message that did not become a task. */
static void
inflight_drop(struct sq_bridge *b, const char *sid)
{
    char key[200];
    struct sq_rcmd cmd;
    redisReply *r = NULL;

    snprintf(key, sizeof key, "%s" SQ_CELERY_INFLIGHT, b->c->prefix);
    sq_rcmd_set(&cmd, "HDEL", key, sid, NULL);
    sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL);
    freeReplyObject(r);
}

/* One message of a batch taken off a list. */
struct item {
    struct sq_celery_msg m;
    struct verdict v;
    char norm[256], sid[37], parent[37], root[37];
    const char *raw;
    size_t len;
    char *uval, *meta;     /* unacked entry, in-flight entry (owned) */
    syncq_task_options o;
    bool revoked;
    bool create;           /* to be created as a syncq task */
    bool pending;          /* kept for later: Redis went away */
};

/* Commands of one item in the registration transaction: unacked entry,
 * and for a runnable message its in-flight entry and the revoked check.
 * Returns how many (0..4), or -1 on out of memory. */
static int
register_cmds(struct sq_bridge *b, struct item *it, const char *queue,
              const char *now, struct sq_rcmd *cmd, const char *ikey,
              const char *rkey)
{
    int n = 0;

    if (it->m.delivery_tag == NULL) {
        return 0; /* nothing to ack: kombu could not either */
    }
    if (sq_kombu_unacked_cmds(it->m.delivery_tag, it->raw, it->len,
                              it->m.exchange, it->m.routing_key, now, cmd,
                              &it->uval, NULL) != SYNCQ_OK) {
        return -1;
    }
    n = 2;
    if (it->v.reason == NULL) {
        it->meta = inflight_meta(b, &it->m, queue);
        if (it->meta == NULL) {
            return -1;
        }
        sq_rcmd_set(&cmd[n++], "HSET", ikey, it->sid, it->meta, NULL);
        sq_rcmd_set(&cmd[n++], "ZSCORE", rkey, it->m.id, NULL);
    }
    return n;
}

/* Register every item as unacked (and in flight) in one transaction.
 * Errors: SYNCQ_ECONN (nothing known: every item is kept for later). */
static int
register_all(struct sq_bridge *b, struct item *items, size_t n,
             const char *queue)
{
    struct sq_rcmd *cmd = sq_calloc(n * 4 + 1, sizeof *cmd);
    size_t *zs = sq_calloc(n + 1, sizeof *zs);
    char ikey[200], rkey[200], now[32], q[300];
    size_t nc = 0;
    redisReply *r = NULL;
    syncq_error err;
    int rc = SYNCQ_OK;

    snprintf(ikey, sizeof ikey, "%s" SQ_CELERY_INFLIGHT, b->c->prefix);
    snprintf(rkey, sizeof rkey, "%s" SQ_CELERY_REVOKED, b->c->prefix);
    sq_kombu_now(now);
    for (size_t i = 0; cmd != NULL && zs != NULL && i < n; i++) {
        int k = register_cmds(b, &items[i], queue, now, cmd + nc, ikey, rkey);
        if (k < 0) {
            rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
            break;
        }
        nc += (size_t)k;
        zs[i] = k == 4 ? nc : 0; /* 1-based position of the ZSCORE */
    }
    if (cmd == NULL || zs == NULL) {
        rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
    }
    if (rc == SYNCQ_OK && nc > 0) {
        rc = sq_celery_pipeline(b->c, true, cmd, nc, &r, &err);
    }
    if (rc == SYNCQ_OK && nc > 0 &&
        (r->type != REDIS_REPLY_ARRAY || r->elements != nc)) {
        rc = sq_fail(&err, SYNCQ_EPROTO, "registration refused");
    }
    for (size_t i = 0; rc == SYNCQ_OK && i < n; i++) {
        items[i].revoked = zs[i] > 0 &&
                           r->element[zs[i] - 1]->type == REDIS_REPLY_STRING;
    }
    if (rc != SYNCQ_OK && rc != SYNCQ_ECONN) {
        /* the messages are in hand: handled anyway, as kombu would */
        SQ_ERROR("celery.unacked_failed", "queue=%s err=%s", queue,
                 sq_log_quote(err.msg, q, sizeof q));
        rc = SYNCQ_OK;
    }
    freeReplyObject(r);
    sq_free(cmd);
    sq_free(zs);
    return rc;
}

/* Messages that never become tasks: dead letters, revoked, expired. */
static void
answer_now(struct sq_bridge *b, const char *queue, struct item *it)
{
    if (it->v.reason != NULL) {
        dead_letter(b, queue, it->raw, it->len, &it->m, &it->v);
        return;
    }
    if (it->revoked ||
        (it->m.expires_ms > 0 && it->m.expires_ms <= sq_now_ms())) {
        json_t *exc = sq_celery_exc_named("celery.exceptions",
                                          "TaskRevokedError",
                                          it->revoked ? "revoked"
                                                      : "expired");
        json_t *canvas = sq_celery_canvas_of(&it->m);
        SQ_INFO("celery.revoked", "task_id=%s reason=%s", it->m.id,
                it->revoked ? "revoked" : "expired");
        sq_bridge_result_now(b, it->m.id, "REVOKED", json_incref(exc));
        /* a chord member counts even so, as in Celery (mark_as_revoked) */
        sq_bridge_chord_part(b, canvas, it->m.id, "REVOKED", exc);
        json_decref(canvas);
        json_decref(exc);
        inflight_drop(b, it->sid);
        return;
    }
    it->create = true;
}

/* One by one: a redelivery (the id exists), a bad task, or after a batch
 * create was refused as a whole. */
static void
create_one(struct sq_bridge *b, const char *queue, struct item *it)
{
    syncq_error err;
    int rc = adopt(b, &it->m, it->norm, queue, it->sid, &err);

    if (rc == SYNCQ_ECONN) {
        it->pending = true; /* still unacked: safe */
    } else if (rc != SYNCQ_OK) {
        it->v.reason = "bad_task";
        it->v.exc_module = "builtins";
        it->v.exc_type = "ValueError";
        snprintf(it->v.detail, sizeof it->v.detail, "%s", err.msg);
        inflight_drop(b, it->sid);
        dead_letter(b, queue, it->raw, it->len, &it->m, &it->v);
    }
}

/* Create the batch's tasks in one script call (syncq_task_create_many);
 * a refusal (an id that exists: a redelivery; a bad task) falls back to
 * one create each, which tells them apart. */
static void
create_all(struct sq_bridge *b, const char *queue, struct item *items,
           size_t n)
{
    syncq_task_spec *specs = sq_calloc(n + 1, sizeof *specs);
    char (*ids)[SYNCQ_ID_SIZE] = sq_calloc(n + 1, sizeof *ids);
    char **texts = sq_calloc(2 * n + 1, sizeof *texts);
    size_t k = 0;
    int rc = SYNCQ_ENOMEM; /* anything but OK/ECONN: one by one */

    for (size_t i = 0; specs != NULL && texts != NULL && i < n; i++) {
        struct item *it = &items[i];
        if (!it->create || it->m.retries > 0) {
            continue; /* a retries header is set by create_one */
        }
        task_options(b, &it->m, it->norm, queue, it->sid, it->parent,
                     it->root, &it->o);
        texts[2 * k] = json_dumps(it->m.args, JSON_COMPACT);
        texts[2 * k + 1] = json_dumps(it->m.kwargs, JSON_COMPACT);
        specs[k].name = it->norm;
        specs[k].args_json = texts[2 * k];
        specs[k].kwargs_json = texts[2 * k + 1];
        specs[k].opts = &it->o;
        k++;
    }
    /* a batch of one answers an existing id as "dup", not as an error:
     * one task goes through create_one, which tells a redelivery apart */
    if (k > 1 && ids != NULL) {
        rc = syncq_task_create_many(b->c, specs, k, ids, NULL, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (!it->create) {
            continue;
        }
        if (rc == SYNCQ_OK && it->m.retries == 0) {
            b->adopted++;
            received_event(b, &it->m);
            own_add(b, &it->m, it->sid);
        } else if (rc == SYNCQ_ECONN) {
            it->pending = true;
        } else {
            create_one(b, queue, it);
        }
    }
    for (size_t i = 0; texts != NULL && i < 2 * k; i++) {
        sq_free(texts[i]);
    }
    sq_free(texts);
    sq_free(ids);
    sq_free(specs);
}

/* Ack every item handled (not those kept for later), one transaction. */
static void
ack_all(struct sq_bridge *b, struct item *items, size_t n)
{
    struct sq_rcmd *cmd = sq_calloc(2 * n + 1, sizeof *cmd);
    size_t nc = 0;
    redisReply *r = NULL;
    syncq_error err;
    char q[300];

    for (size_t i = 0; cmd != NULL && i < n; i++) {
        if (items[i].m.delivery_tag != NULL && !items[i].pending) {
            sq_kombu_ack_cmds(items[i].m.delivery_tag, cmd + nc);
            nc += 2;
        }
    }
    if (nc > 0 &&
        sq_celery_pipeline(b->c, true, cmd, nc, &r, &err) != SYNCQ_OK) {
        /* left in unacked: restore_visible puts them back and each
         * redelivery finds its task (or dead letter) already there */
        SQ_WARN("celery.ack_failed", "messages=%zu err=%s", nc / 2,
                sq_log_quote(err.msg, q, sizeof q));
    }
    freeReplyObject(r);
    sq_free(cmd);
}

void
sq_bridge_messages(struct sq_bridge *b, const char *queue,
                   const char *const *raws, const size_t *lens, size_t n)
{
    struct item *items = sq_calloc(n + 1, sizeof *items);

    if (items == NULL) {
        for (size_t i = 0; i < n; i++) {
            keep_pending(b, queue, raws[i], lens[i]);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        enum sq_celery_reject rej;
        it->raw = raws[i];
        it->len = lens[i];
        rej = sq_celery_msg_decode(raws[i], lens[i], &it->m);
        judge(b, &it->m, rej, it->norm, &it->v);
        if (it->m.id != NULL) {
            sq_celery_syncq_id(it->m.id, it->sid);
        }
    }
    if (register_all(b, items, n, queue) == SYNCQ_ECONN) {
        for (size_t i = 0; i < n; i++) {
            items[i].pending = true;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            answer_now(b, queue, &items[i]);
        }
        create_all(b, queue, items, n);
        ack_all(b, items, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].pending) {
            keep_pending(b, queue, raws[i], lens[i]);
        }
        sq_free(items[i].uval);
        sq_free(items[i].meta);
        sq_celery_msg_cleanup(&items[i].m);
    }
    sq_free(items);
}

void
sq_bridge_revoke(struct sq_bridge *b, json_t *celery_ids)
{
    char rkey[200], when[24], sid[37];
    size_t i;
    json_t *v;

    snprintf(rkey, sizeof rkey, "%s" SQ_CELERY_REVOKED, b->c->prefix);
    snprintf(when, sizeof when, "%lld", (long long)sq_now_ms());
    json_array_foreach(celery_ids, i, v) {
        const char *id = json_string_value(v);
        struct sq_rcmd cmd[2];
        redisReply *r[2] = {NULL, NULL};
        char cut[24];
        int outcome = -1;
        /* remembered 3 hours, as Celery's workers keep revoked ids */
        snprintf(cut, sizeof cut, "%lld",
                 (long long)(sq_now_ms() - 3 * 3600 * 1000LL));
        sq_rcmd_set(&cmd[0], "ZADD", rkey, when, id, NULL);
        sq_rcmd_set(&cmd[1], "ZREMRANGEBYSCORE", rkey, "-inf", cut, NULL);
        sq_celery_pipeline(b->c, false, cmd, 2, r, NULL);
        freeReplyObject(r[0]);
        freeReplyObject(r[1]);
        sq_celery_syncq_id(id, sid);
        if (syncq_task_revoke(b->c, sid, "celery", &outcome, NULL, NULL) ==
            SYNCQ_OK) {
            SQ_INFO("celery.revoke", "task_id=%s outcome=%d", id, outcome);
        }
    }
}
