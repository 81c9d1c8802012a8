/* SPDX-License-Identifier: MIT
 *
 * celery_canvas.c: the canvas of a protocol 2 message a syncq worker ran
 * (body[2]: callbacks = `link`, errbacks = `link_error`, `chain`),
 * followed as Celery 5.2's worker does (celery/app/trace.py,
 * celery/backends/base.py):
 *   - SUCCESS: each callback is sent with the result prepended to its
 *     args, then the next chain step (the LAST element of `chain`) with
 *     the result prepended and the rest of the chain in its own message;
 *     both before the result is stored;
 *   - FAILURE: after the result is stored, the same failure is stored
 *     for every chain step that has a task id (so the chain's
 *     AsyncResult.get() raises instead of waiting forever), and each
 *     errback is sent with the failed task's id as its first argument;
 *   - REVOKED: nothing follows;
 *   - a chord header member (body[2].chord, headers.group): whatever its
 *     end, after its result is stored, the part is counted the way
 *     Celery's Redis backend counts it (on_chord_part_return, in one
 *     MULTI: ZADD celery-taskset-meta-<gid>.j <group_index>
 *     [1, id, state, result]; ZCOUNT .j; GET .t; GET .s; EXPIREs), so
 *     Python workers and syncq workers can share one chord's header;
 *     the part that completes the count (.s + .t) reads .j in order and
 *     sends the body with the list of results first, or, when a member
 *     failed or was revoked, stores the body's FAILURE (ChordError
 *     "Dependency <id> raised ...") and sends the body's errbacks; then
 *     deletes .j .t .s.
 * An immutable signature (`.si()`) gets no argument prepended; a step's
 * own options (task_id, queue, priority, countdown, eta, expires, time
 * limits, link, link_error, ignore_result) are carried; with no queue it
 * goes to "celery", Celery's default queue. parent_id is the finished
 * task, root_id the workflow's. Only plain task signatures are followed:
 * a group, chord or chain nested as a signature (subtask_type set), or a
 * chord member without a group id, is refused when the message is taken
 * (celery_unsupported), never dropped silently.
 */
#include "celery/celery_bridge_int.h"
#include "celery/celery_message.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A plain task signature: {task, args?, kwargs?, options?}, no
 * subtask_type. */
static bool
plain_sig(json_t *sig)
{
    json_t *type = json_object_get(sig, "subtask_type");
    json_t *args = json_object_get(sig, "args");
    json_t *kw = json_object_get(sig, "kwargs");
    json_t *opts = json_object_get(sig, "options");
    const char *task = json_string_value(json_object_get(sig, "task"));

    return json_is_object(sig) && task != NULL && task[0] != '\0' &&
           strlen(task) <= 200 && (type == NULL || json_is_null(type)) &&
           (args == NULL || json_is_null(args) || json_is_array(args)) &&
           (kw == NULL || json_is_null(kw) || json_is_object(kw)) &&
           (opts == NULL || json_is_null(opts) || json_is_object(opts));
}

/* Celery's maybe_list: null, one signature or a list of them. */
static bool
plain_list(json_t *v)
{
    size_t i;
    json_t *s;

    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (json_is_object(v)) {
        return plain_sig(v);
    }
    if (!json_is_array(v)) {
        return false;
    }
    json_array_foreach(v, i, s) {
        if (!plain_sig(s)) {
            return false;
        }
    }
    return true;
}

bool
sq_celery_canvas_check(const struct sq_celery_msg *m, char *why,
                       size_t cap)
{
    static const char *const keys[] = {"callbacks", "errbacks", "chain",
                                       "chord"};
    json_t *embed = m->embed;
    json_t *chord = json_object_get(embed, "chord");

    if (chord != NULL && !json_is_null(chord) && m->group == NULL) {
        snprintf(why, cap, "a chord member without a group id");
        return false;
    }
    for (size_t i = 0; embed != NULL && i < 4; i++) {
        if (!plain_list(json_object_get(embed, keys[i]))) {
            snprintf(why, cap, "%s holds a group, chord or nested chain: "
                     "syncq workers follow plain task signatures only "
                     "(route such canvases to a Python worker's queue)",
                     keys[i]);
            return false;
        }
    }
    return true;
}

static json_t *
as_list(json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        return NULL;
    }
    if (json_is_object(v)) {
        return json_pack("[O]", v);
    }
    return json_array_size(v) > 0 ? json_incref(v) : NULL;
}

json_t *
sq_celery_canvas_of(const struct sq_celery_msg *m)
{
    json_t *link = as_list(json_object_get(m->embed, "callbacks"));
    json_t *err = as_list(json_object_get(m->embed, "errbacks"));
    json_t *chain = as_list(json_object_get(m->embed, "chain"));
    json_t *body = json_object_get(m->embed, "chord");
    json_t *idx = json_object_get(json_object_get(m->env, "headers"),
                                  "group_index");
    json_t *chord = NULL;

    if (json_is_object(body) && m->group != NULL) {
        chord = json_pack("{s:O,s:s,s:O}", "body", body, "gid", m->group,
                          "idx", json_is_integer(idx) ? idx : json_null());
    }
    if (link == NULL && err == NULL && chain == NULL && chord == NULL) {
        return NULL;
    }
    /* "o" steals the lists, also when the pack fails */
    return json_pack("{s:s,s:o,s:o,s:o,s:o}", "root",
                     m->root_id != NULL ? m->root_id : m->id, "link",
                     link != NULL ? link : json_null(), "link_error",
                     err != NULL ? err : json_null(), "chain",
                     chain != NULL ? chain : json_null(), "chord",
                     chord != NULL ? chord : json_null());
}

/* A time option: a number of seconds from now, or an ISO-8601 string. */
static int64_t
when_ms(json_t *v, int64_t now)
{
    int64_t ms = 0;

    if (json_is_number(v) && json_number_value(v) >= 0) {
        return now + (int64_t)(json_number_value(v) * 1000.0);
    }
    if (json_is_string(v) &&
        sq_time_parse_iso8601(json_string_value(v), &ms, NULL) == SYNCQ_OK) {
        return ms;
    }
    return 0;
}

/* as_list, or JSON null: a value json_pack can take ("o"). */
static json_t *
list_or_null(json_t *v)
{
    json_t *l = as_list(v);

    return l != NULL ? l : json_null();
}

static int64_t
secs_ms(json_t *v)
{
    return json_is_number(v) && json_number_value(v) > 0
               ? (int64_t)(json_number_value(v) * 1000.0)
               : 0;
}

/* The message's args: `first` (NULL: none) before the signature's own,
 * unless the signature is immutable. New reference. */
static json_t *
args_of(json_t *sig, json_t *first)
{
    json_t *own = json_object_get(sig, "args");
    json_t *a = json_array();

    if (first != NULL && !json_is_true(json_object_get(sig, "immutable"))) {
        json_array_append(a, first);
    }
    if (json_is_array(own)) {
        json_array_extend(a, own);
    }
    return a;
}

/* Publish signature `sig` as Celery's worker does (apply_async with the
 * parent's result or id first). `rest`: the chain still to come (NULL:
 * none). */
static void
send_sig(struct sq_bridge *b, json_t *sig, json_t *first, json_t *rest,
         const char *parent, const char *root)
{
    json_t *o = json_object_get(sig, "options");
    struct sq_celery_out out;
    int64_t now = sq_now_ms();
    json_t *pri = json_object_get(o, "priority");
    json_t *kw = json_object_get(sig, "kwargs");
    char id[201], q[300];
    syncq_error err;
    int rc;

    memset(&out, 0, sizeof out);
    out.task = json_string_value(json_object_get(sig, "task"));
    out.id = json_string_value(json_object_get(o, "task_id"));
    out.queue = json_string_value(json_object_get(o, "queue"));
    if (out.queue == NULL) {
        out.queue = "celery"; /* Celery's task_default_queue */
    }
    out.priority = json_is_integer(pri) ? (int)json_integer_value(pri) : 0;
    out.priority = out.priority < 0 ? 0 : out.priority > 9 ? 9 : out.priority;
    out.eta_ms = when_ms(json_object_get(o, "countdown"), now);
    if (out.eta_ms == 0) {
        out.eta_ms = when_ms(json_object_get(o, "eta"), now);
    }
    out.expires_ms = when_ms(json_object_get(o, "expires"), now);
    out.time_limit_ms = secs_ms(json_object_get(o, "time_limit"));
    out.soft_time_limit_ms = secs_ms(json_object_get(o, "soft_time_limit"));
    out.parent_id = parent;
    out.root_id = root;
    out.origin = b->node.name;
    out.ignore_result = json_is_true(json_object_get(o, "ignore_result"));
    out.args = args_of(sig, first);
    out.kwargs = json_is_object(kw) ? kw : NULL;
    out.embed = json_pack("{s:o,s:o,s:O,s:n}", "callbacks",
                          list_or_null(json_object_get(o, "link")),
                          "errbacks",
                          list_or_null(json_object_get(o, "link_error")),
                          "chain", rest != NULL ? rest : json_null(),
                          "chord");
    rc = sq_celery_publish_out(b->c, &out, b->k.steps, b->k.nsteps, id,
                               &err);
    if (rc != SYNCQ_OK) {
        SQ_ERROR("celery.canvas_failed", "task_id=%s next=%s err=%s",
                 parent, out.task, sq_log_quote(err.msg, q, sizeof q));
        if (out.id != NULL && rc != SYNCQ_ECONN) {
            /* its caller learns it instead of waiting for ever */
            json_t *exc = sq_celery_exc_named("kombu.exceptions",
                                              "EncodeError", err.msg);
            char *m = sq_celery_meta_format(out.id, "FAILURE", exc, err.msg,
                                            now, parent);
            if (m != NULL) {
                sq_celery_meta_store(b->c, out.id, m, b->result_expires_ms,
                                     NULL);
            }
            sq_free(m);
            json_decref(exc);
        }
    } else {
        SQ_DEBUG("celery.canvas_sent", "task_id=%s next=%s next_id=%s "
                 "queue=%s", parent, out.task, id, out.queue);
    }
    json_decref(out.args);
    json_decref(out.embed);
}

/* Each signature of `list` (an array or null) with `first` prepended. */
static void
send_each(struct sq_bridge *b, json_t *list, json_t *first,
          const char *parent, const char *root)
{
    size_t i;
    json_t *sig;

    json_array_foreach(list, i, sig) {
        send_sig(b, sig, first, NULL, parent, root);
    }
}

/* SUCCESS: callbacks, then the next chain step with the rest. */
static void
on_success(struct sq_bridge *b, json_t *canvas, const char *cid,
           json_t *result)
{
    const char *root = json_string_value(json_object_get(canvas, "root"));
    json_t *chain = json_object_get(canvas, "chain");
    size_t n = json_array_size(chain);

    send_each(b, json_object_get(canvas, "link"), result, cid, root);
    if (n > 0) {
        json_t *rest = json_array();
        for (size_t i = 0; i + 1 < n; i++) {
            json_array_append(rest, json_array_get(chain, i));
        }
        send_sig(b, json_array_get(chain, n - 1), result, rest, cid, root);
        json_decref(rest);
    }
}

/* FAILURE: the failure stored for the chain steps to come, then the
 * errbacks with the failed task's id. `mj`: the task's Celery meta. */
static void
on_failure(struct sq_bridge *b, json_t *canvas, const char *cid, json_t *mj)
{
    const char *root = json_string_value(json_object_get(canvas, "root"));
    json_t *id = json_string(cid);
    size_t i;
    json_t *sig;

    json_array_foreach(json_object_get(canvas, "chain"), i, sig) {
        const char *tid = json_string_value(json_object_get(
            json_object_get(sig, "options"), "task_id"));
        char *m = NULL;
        syncq_error err;
        if (tid == NULL || mj == NULL) {
            continue;
        }
        m = sq_celery_meta_format(
            tid, "FAILURE", json_object_get(mj, "result"),
            json_string_value(json_object_get(mj, "traceback")), sq_now_ms(),
            cid);
        if (m != NULL && sq_celery_meta_store(b->c, tid, m,
                                              b->result_expires_ms,
                                              &err) != SYNCQ_OK) {
            SQ_WARN("celery.result_failed", "task_id=%s err=\"%s\"", tid,
                    err.msg);
        }
        sq_free(m);
    }
    send_each(b, json_object_get(canvas, "link_error"), id, cid, root);
    json_decref(id);
}

/* ---- chords --------------------------------------------------------------- */

static void
chord_key(const char *gid, const char *suffix, char out[300])
{
    snprintf(out, 300, "celery-taskset-meta-%.200s%s", gid, suffix);
}

/* The body's FAILURE (ChordError `why`) and its errbacks, as Celery's
 * chord_error_from_stack. */
static void
chord_fail(struct sq_bridge *b, json_t *body, const char *why,
           const char *root)
{
    json_t *o = json_object_get(body, "options");
    const char *bid = json_string_value(json_object_get(o, "task_id"));
    json_t *exc = sq_celery_exc_named("celery.exceptions", "ChordError", why);
    char *meta = bid != NULL ? sq_celery_meta_format(bid, "FAILURE", exc, why,
                                                     sq_now_ms(), NULL)
                             : NULL;
    syncq_error err;

    SQ_WARN("celery.chord_failed", "task_id=%s err=\"%s\"",
            bid != NULL ? bid : "-", why);
    if (meta != NULL && sq_celery_meta_store(b->c, bid, meta,
                                             b->result_expires_ms,
                                             &err) != SYNCQ_OK) {
        SQ_WARN("celery.result_failed", "task_id=%s err=\"%s\"", bid,
                err.msg);
    }
    if (bid != NULL) {
        json_t *id = json_string(bid);
        send_each(b, as_list(json_object_get(o, "link_error")), id, bid,
                  root);
        json_decref(id);
    }
    sq_free(meta);
    json_decref(exc);
}

/* The count is complete: the results in group_index order (.j), then
 * the body, or its failure when a member failed; .j .t .s deleted. */
static void
chord_fire(struct sq_bridge *b, json_t *chord, const char *tid,
           const char *root)
{
    const char *gid = json_string_value(json_object_get(chord, "gid"));
    json_t *body = json_object_get(chord, "body");
    char jkey[300], tkey[300], skey[300], why[400] = "";
    struct sq_rcmd cmd[2];
    redisReply *r[2] = {NULL, NULL};
    json_t *results = json_array();

    chord_key(gid, ".j", jkey);
    chord_key(gid, ".t", tkey);
    chord_key(gid, ".s", skey);
    sq_rcmd_set(&cmd[0], "ZRANGE", jkey, "0", "-1", NULL);
    if (sq_celery_pipeline(b->c, false, cmd, 1, r, NULL) != SYNCQ_OK ||
        r[0]->type != REDIS_REPLY_ARRAY) {
        snprintf(why, sizeof why, "Join error: cannot read %.200s", jkey);
    }
    for (size_t i = 0; why[0] == '\0' && i < r[0]->elements; i++) {
        json_t *part = json_loadb(r[0]->element[i]->str,
                                  r[0]->element[i]->len, 0, NULL);
        const char *st = json_string_value(json_array_get(part, 2));
        json_t *v = json_array_get(part, 3);
        if (st == NULL) {
            snprintf(why, sizeof why, "Join error: bad part in %.200s",
                     jkey);
        } else if (strcmp(st, "FAILURE") == 0 || strcmp(st, "REVOKED") == 0) {
            snprintf(why, sizeof why, "Dependency %.100s raised %.60s('%.150s')",
                     json_string_value(json_array_get(part, 1)),
                     json_string_value(json_object_get(v, "exc_type")),
                     json_string_value(json_array_get(
                         json_object_get(v, "exc_message"), 0)));
        } else {
            json_array_append(results, v != NULL ? v : json_null());
        }
        json_decref(part);
    }
    if (why[0] != '\0') {
        chord_fail(b, body, why, root);
    } else {
        send_sig(b, body, results, NULL, tid, root);
    }
    freeReplyObject(r[0]);
    r[0] = NULL;
    sq_rcmd_set(&cmd[0], "DEL", jkey, tkey, skey, NULL);
    sq_celery_pipeline(b->c, false, cmd, 1, r, NULL);
    freeReplyObject(r[0]);
    json_decref(results);
}

/* One header member ended with `status` and `value` (its result, or the
 * exception object): Celery's on_chord_part_return. */
static void
chord_part(struct sq_bridge *b, json_t *chord, const char *tid,
           const char *status, json_t *value, const char *root)
{
    const char *gid = json_string_value(json_object_get(chord, "gid"));
    json_t *idx = json_object_get(chord, "idx");
    json_t *part = json_pack("[i,s,s,O]", 1, tid, status, value);
    char *enc = part != NULL ? json_dumps(part, JSON_COMPACT) : NULL;
    char jkey[300], tkey[300], skey[300], score[32], ttl[32];
    struct sq_rcmd cmd[7];
    redisReply *r = NULL;

    json_decref(part);
    if (gid == NULL || enc == NULL) {
        sq_free(enc);
        return;
    }
    chord_key(gid, ".j", jkey);
    chord_key(gid, ".t", tkey);
    chord_key(gid, ".s", skey);
    if (json_is_integer(idx)) {
        snprintf(score, sizeof score, "%lld",
                 (long long)json_integer_value(idx));
    } else {
        snprintf(score, sizeof score, "+inf");
    }
    snprintf(ttl, sizeof ttl, "%lld",
             (long long)(b->result_expires_ms > 0
                             ? (b->result_expires_ms + 999) / 1000
                             : 86400));
    sq_rcmd_set(&cmd[0], "ZADD", jkey, score, enc, NULL);
    sq_rcmd_set(&cmd[1], "ZCOUNT", jkey, "-inf", "+inf", NULL);
    sq_rcmd_set(&cmd[2], "GET", tkey, NULL);
    sq_rcmd_set(&cmd[3], "GET", skey, NULL);
    sq_rcmd_set(&cmd[4], "EXPIRE", jkey, ttl, NULL);
    sq_rcmd_set(&cmd[5], "EXPIRE", tkey, ttl, NULL);
    sq_rcmd_set(&cmd[6], "EXPIRE", skey, ttl, NULL);
    if (sq_celery_pipeline(b->c, true, cmd, 7, &r, NULL) == SYNCQ_OK &&
        r->type == REDIS_REPLY_ARRAY && r->elements == 7 &&
        r->element[1]->type == REDIS_REPLY_INTEGER &&
        r->element[3]->type == REDIS_REPLY_STRING) {
        long long ready = r->element[1]->integer;
        long long total = strtoll(r->element[3]->str, NULL, 10) +
                          (r->element[2]->type == REDIS_REPLY_STRING
                               ? strtoll(r->element[2]->str, NULL, 10)
                               : 0);
        SQ_DEBUG("celery.chord_part", "task_id=%s group=%s ready=%lld "
                 "total=%lld", tid, gid, ready, total);
        if (ready == total) {
            chord_fire(b, chord, tid, root);
        }
    } else {
        SQ_WARN("celery.chord_failed", "task_id=%s group=%s err=\"cannot "
                "count the part (Redis away, or no chord size .s)\"", tid,
                gid);
    }
    freeReplyObject(r);
    sq_free(enc);
}

void
sq_bridge_chord_part(struct sq_bridge *b, json_t *canvas, const char *tid,
                     const char *status, json_t *value)
{
    json_t *chord = json_object_get(canvas, "chord");

    if (json_is_object(chord)) {
        chord_part(b, chord, tid, status, value,
                   json_string_value(json_object_get(canvas, "root")));
    }
}

void
sq_bridge_canvas(struct sq_bridge *b, json_t *entry, const char *cid,
                 json_t *rec, bool stored)
{
    json_t *canvas = json_object_get(entry, "canvas");
    const char *st = sq_celery_status_of(json_string_value(
        json_object_get(rec, "state")));

    if (!json_is_object(canvas)) {
        return;
    }
    if (!stored && strcmp(st, "SUCCESS") == 0) {
        json_t *result = json_object_get(rec, "result");
        on_success(b, canvas, cid, result != NULL ? result : json_null());
    } else if (stored) {
        char *meta = sq_celery_meta_of_record(cid, rec);
        json_t *mj = meta != NULL ? json_loads(meta, 0, NULL) : NULL;
        if (mj != NULL && strcmp(st, "FAILURE") == 0) {
            on_failure(b, canvas, cid, mj);
        }
        if (mj != NULL && sq_celery_status_ready(st)) {
            sq_bridge_chord_part(b, canvas, cid, st,
                                 json_object_get(mj, "result"));
        }
        json_decref(mj);
        sq_free(meta);
    }
}
