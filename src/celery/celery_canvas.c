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
 *   - REVOKED: nothing follows.
 * An immutable signature (`.si()`) gets no argument prepended; a step's
 * own options (task_id, queue, priority, countdown, eta, expires, time
 * limits, link, link_error, ignore_result) are carried; with no queue it
 * goes to "celery", Celery's default queue. parent_id is the finished
 * task, root_id the workflow's. Only plain task signatures are followed:
 * a group, chord or chain nested as a signature (subtask_type set) is
 * refused when the message is taken (celery_unsupported), never dropped
 * silently.
 */
#include "celery/celery_bridge_int.h"
#include "celery/celery_message.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
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
sq_celery_canvas_check(json_t *embed, char *why, size_t cap)
{
    static const char *const keys[] = {"callbacks", "errbacks", "chain"};

    for (size_t i = 0; embed != NULL && i < 3; i++) {
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

    if (link == NULL && err == NULL && chain == NULL) {
        return NULL;
    }
    /* "o" steals the lists, also when the pack fails */
    return json_pack("{s:s,s:o,s:o,s:o}", "root",
                     m->root_id != NULL ? m->root_id : m->id, "link",
                     link != NULL ? link : json_null(), "link_error",
                     err != NULL ? err : json_null(), "chain",
                     chain != NULL ? chain : json_null());
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
 * errbacks with the failed task's id. */
static void
on_failure(struct sq_bridge *b, json_t *canvas, const char *cid,
           json_t *rec)
{
    const char *root = json_string_value(json_object_get(canvas, "root"));
    char *meta = sq_celery_meta_of_record(cid, rec);
    json_t *mj = meta != NULL ? json_loads(meta, 0, NULL) : NULL;
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
    json_decref(mj);
    sq_free(meta);
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
    } else if (stored && strcmp(st, "FAILURE") == 0) {
        on_failure(b, canvas, cid, rec);
    }
}
