/* SPDX-License-Identifier: MIT
 *
 * celery_control.c: Celery's remote control (`celery inspect`, `celery
 * control`, Flower) answered by a syncq worker node, with the reply
 * shapes of celery/worker/control.py (Celery 5.2). What maps onto a
 * syncq worker is done:
 *   inspect: ping, active (the tasks its children run, from the worker's
 *     heartbeat info), reserved (Celery tasks it took that wait for a
 *     child), scheduled (those waiting for their ETA), stats (Celery's
 *     keys plus the worker's whole info under "syncq"), registered,
 *     active_queues, revoked, query_task, clock, report;
 *   control: revoke, enable_events / disable_events, heartbeat,
 *     time_limit (for the Celery messages of that task this node takes
 *     from now on, when the message carries no limit of its own, as
 *     Celery's task attribute), rate_limit (the worker's own per-task
 *     rate limit, as `syncq worker control rate-limit` sets it),
 *     cancel_consumer / add_consumer (of the
 *     Celery queues; a queue the worker does not serve as a syncq queue
 *     cannot be added), shutdown (the whole worker's warm shutdown, as
 *     Celery's; no reply, as Celery's).
 * The rest (pool_grow, pool_shrink, autoscale, pool_restart,
 * conf, memdump, memsample, objgraph, ...) get Celery's error reply
 * {"error": "..."} saying why; unknown commands "No such control command".
 */
#include "celery/celery_bridge_int.h"
#include "broker/broker.h"
#include "broker/broker_control.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/version.h>
#include <unistd.h>

static json_t *
ok(const char *text)
{
    return json_pack("{s:s}", "ok", text);
}

static json_t *
nok(const char *text)
{
    return json_pack("{s:s}", "error", text);
}

/* A borrowed member for json_pack's "O", JSON null when absent. */
static json_t *
or_null(json_t *v)
{
    return v != NULL ? v : json_null();
}

/* ---- task requests, as Request.info() shows them ---------------------- */

static double
epoch_s(json_t *iso)
{
    int64_t ms = 0;

    if (!json_is_string(iso) ||
        sq_time_parse_iso8601(json_string_value(iso), &ms, NULL) !=
            SYNCQ_OK) {
        return 0;
    }
    return (double)ms / 1000.0;
}

/* The Celery id of syncq task `sid`: its in-flight entry's, else the
 * syncq id (a task syncq producers made). */
static void
celery_id_of(struct sq_bridge *b, const char *sid, char out[201])
{
    char key[200];
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    json_t *own = json_object_get(b->own, sid);
    const char *cid = json_string_value(json_object_get(own, "cid"));

    snprintf(out, 201, "%s", cid != NULL ? cid : sid);
    if (cid != NULL) {
        return;
    }
    snprintf(key, sizeof key, "%s" SQ_CELERY_INFLIGHT, b->c->prefix);
    sq_rcmd_set(&cmd, "HGET", key, sid, NULL);
    if (sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL) == SYNCQ_OK &&
        r->type == REDIS_REPLY_STRING) {
        json_t *e = json_loadb(r->str, r->len, 0, NULL);
        const char *c = json_string_value(json_object_get(e, "cid"));
        if (c != NULL) {
            snprintf(out, 201, "%s", c);
        }
        json_decref(e);
    }
    freeReplyObject(r);
}

/* Request.info() of syncq task `sid` run by child `pid` (0: none), or
 * NULL when the task is gone. *state (may be NULL) gets its syncq state
 * (static while rec lives: copied into 16 bytes). */
static json_t *
request_info(struct sq_bridge *b, const char *sid, int pid, char state[16])
{
    json_t *rec = NULL, *info;
    char cid[201];
    json_t *pri;
    const char *name;

    if (syncq_task_info(b->c, sid, &rec, NULL) != SYNCQ_OK) {
        return NULL;
    }
    celery_id_of(b, sid, cid);
    pri = json_object_get(rec, "priority");
    name = json_string_value(json_object_get(rec, "name"));
    info = json_pack(
        "{s:s,s:s,s:O,s:O,s:s,s:s,s:o,s:b,s:{s:s,s:s?,s:i,s:b},s:o}", "id",
        cid, "name", name != NULL ? name : "", "args",
        or_null(json_object_get(rec, "args")), "kwargs",
        or_null(json_object_get(rec, "kwargs")), "type",
        name != NULL ? name : "", "hostname", b->node.name, "time_start",
        epoch_s(json_object_get(rec, "started_at")) > 0
            ? json_real(epoch_s(json_object_get(rec, "started_at")))
            : json_null(),
        "acknowledged", true, "delivery_info", "exchange", "",
        "routing_key", json_string_value(json_object_get(rec, "queue")),
        "priority",
        sq_celery_priority_from_syncq(
            json_is_integer(pri) ? (int)json_integer_value(pri) : 5),
        "redelivered", false, "worker_pid",
        pid > 0 ? json_integer(pid) : json_null());
    if (state != NULL) {
        snprintf(state, 16, "%s",
                 json_string_value(json_object_get(rec, "state")) != NULL
                     ? json_string_value(json_object_get(rec, "state"))
                     : "");
    }
    json_decref(rec);
    return info;
}

/* The worker's heartbeat info ({ns}:w:<worker>, docs/worker.md), or
 * NULL when it is not there (yet). New reference. */
static json_t *
worker_info(struct sq_bridge *b)
{
    char key[200];
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    json_t *info = NULL;

    snprintf(key, sizeof key, "%sw:%s", b->c->prefix, b->o->worker_id);
    sq_rcmd_set(&cmd, "GET", key, NULL);
    if (sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL) == SYNCQ_OK &&
        r->type == REDIS_REPLY_STRING) {
        info = json_loadb(r->str, r->len, 0, NULL);
    }
    freeReplyObject(r);
    return info;
}

static json_t *
c_active(struct sq_bridge *b, json_t *args)
{
    json_t *info = worker_info(b), *out = json_array();
    size_t i;
    json_t *ch;

    (void)args;
    json_array_foreach(json_object_get(info, "children"), i, ch) {
        const char *sid = json_string_value(json_object_get(ch, "task_id"));
        json_t *pid = json_object_get(ch, "pid");
        json_t *r = sid != NULL
                        ? request_info(b, sid,
                                       (int)json_integer_value(pid), NULL)
                        : NULL;
        if (r != NULL) {
            json_array_append_new(out, r);
        }
    }
    json_decref(info);
    return out;
}

/* Celery tasks taken by this node and not running yet: waiting for a
 * child (reserved) or for their ETA (scheduled, as {eta, priority,
 * request}). */
static json_t *
waiting(struct sq_bridge *b, bool scheduled)
{
    json_t *out = json_array();
    const char *sid;
    json_t *e;

    json_object_foreach(b->own, sid, e) {
        char state[16];
        json_t *r = request_info(b, sid, 0, state);
        bool eta = json_is_true(json_object_get(e, "eta"));
        if (r == NULL || (strcmp(state, "PENDING") != 0 &&
                          strcmp(state, "RECEIVED") != 0)) {
            json_decref(r);
        } else if (!scheduled && !eta) {
            json_array_append_new(out, r);
        } else if (scheduled && eta) {
            json_t *rec = NULL;
            syncq_task_info(b->c, sid, &rec, NULL);
            json_array_append_new(
                out, json_pack("{s:O,s:O,s:o}", "eta",
                               or_null(json_object_get(rec, "eta")),
                               "priority",
                               or_null(json_object_get(
                                   json_object_get(r, "delivery_info"),
                                   "priority")),
                               "request", r));
            json_decref(rec);
        } else {
            json_decref(r);
        }
    }
    return out;
}

static json_t *
c_reserved(struct sq_bridge *b, json_t *args)
{
    (void)args;
    return waiting(b, false);
}

static json_t *
c_scheduled(struct sq_bridge *b, json_t *args)
{
    (void)args;
    return waiting(b, true);
}

static json_t *
c_query_task(struct sq_bridge *b, json_t *args)
{
    json_t *ids = json_object_get(args, "ids"), *out = json_object();
    json_t *one = json_is_string(ids) ? json_pack("[O]", ids) : NULL;
    size_t i;
    json_t *v;

    json_array_foreach(one != NULL ? one : ids, i, v) {
        char sid[37], state[16];
        const char *word;
        json_t *r;
        if (!json_is_string(v)) {
            continue;
        }
        sq_celery_syncq_id(json_string_value(v), sid);
        r = request_info(b, sid, 0, state);
        if (r == NULL) {
            continue;
        }
        word = strcmp(state, "STARTED") == 0 || strcmp(state, "PROGRESS") == 0
                   ? "active"
               : strcmp(state, "PENDING") == 0 ||
                       strcmp(state, "RECEIVED") == 0 ||
                       strcmp(state, "RETRY") == 0
                   ? "reserved"
                   : "ready";
        json_object_set_new(out, json_string_value(v),
                            json_pack("[s,o]", word, r));
    }
    json_decref(one);
    return out;
}

/* ---- the node ------------------------------------------------------------ */

static json_t *
c_stats(struct sq_bridge *b, json_t *args)
{
    json_t *info = worker_info(b), *procs = json_array();
    json_t *st;
    double started = epoch_s(json_object_get(info, "started_at"));
    size_t i;
    json_t *ch;

    (void)args;
    json_array_foreach(json_object_get(info, "children"), i, ch) {
        json_array_append(procs, json_object_get(ch, "pid"));
    }
    st = json_pack(
        "{s:O,s:i,s:I,s:I,s:{s:i,s:o,s:s,s:[f,f]},s:i,s:{s:s},s:{s:I}}",
        "total", b->totals, "pid", b->node.pid, "clock",
        (json_int_t)b->node.clock, "uptime",
        (json_int_t)(started > 0 ? (double)sq_now_ms() / 1000.0 - started
                                 : 0),
        "pool", "max-concurrency", b->o->concurrency, "processes", procs,
        "implementation", "syncq:prefork", "timeouts",
        (double)json_integer_value(json_object_get(info,
                                                   "soft_time_limit_ms")) /
            1000.0,
        (double)json_integer_value(json_object_get(info, "time_limit_ms")) /
            1000.0,
        "prefetch_count", b->window, "broker", "transport", "redis",
        "rusage", "maxrss",
        (json_int_t)json_integer_value(json_object_get(info, "rss_kb")));
    if (st != NULL && info != NULL) {
        json_object_set(st, "syncq", info);
    }
    json_decref(info);
    return st;
}

static json_t *
c_registered(struct sq_bridge *b, json_t *args)
{
    json_t *out = json_array();

    (void)args;
    for (size_t i = 0; i < syncq_registry_count(b->o->registry); i++) {
        json_array_append_new(
            out, json_string(syncq_registry_at(b->o->registry, i)->name));
    }
    return out;
}

static json_t *
c_active_queues(struct sq_bridge *b, json_t *args)
{
    json_t *out = json_array();

    (void)args;
    for (size_t i = 0; i < b->k.nqueues; i++) {
        const char *q = b->k.queues[i];
        if (json_object_get(b->cancelled, q) != NULL) {
            continue;
        }
        json_array_append_new(
            out, json_pack("{s:s,s:{s:s,s:s},s:s,s:b,s:b,s:b,s:b,s:n,s:[]}",
                           "name", q, "exchange", "name", q, "type",
                           "direct", "routing_key", q, "durable", true,
                           "exclusive", false, "auto_delete", false,
                           "no_ack", false, "alias", "bindings"));
    }
    return out;
}

static json_t *
c_revoked(struct sq_bridge *b, json_t *args)
{
    char key[200];
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    json_t *out = json_array();

    (void)args;
    snprintf(key, sizeof key, "%s" SQ_CELERY_REVOKED, b->c->prefix);
    sq_rcmd_set(&cmd, "ZRANGE", key, "0", "-1", NULL);
    if (sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL) == SYNCQ_OK) {
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements;
             i++) {
            json_array_append_new(out, json_string(r->element[i]->str));
        }
    }
    freeReplyObject(r);
    return out;
}

static json_t *
c_clock(struct sq_bridge *b, json_t *args)
{
    (void)args;
    return json_pack("{s:I}", "clock", (json_int_t)b->node.clock);
}

static json_t *
c_report(struct sq_bridge *b, json_t *args)
{
    char text[300];

    (void)args;
    snprintf(text, sizeof text, "software -> syncq:%s (Celery wire "
             "compatible, protocol 2, JSON) node:%s", SYNCQ_VERSION_STRING,
             b->node.name);
    return ok(text);
}

static json_t *
c_ping(struct sq_bridge *b, json_t *args)
{
    (void)b;
    (void)args;
    return ok("pong");
}

/* ---- control --------------------------------------------------------------- */

static json_t *
c_revoke(struct sq_bridge *b, json_t *args)
{
    json_t *v = json_object_get(args, "task_id");
    json_t *ids = json_array();
    char text[80];
    size_t i;
    json_t *id;

    if (json_is_string(v)) {
        json_array_append(ids, v);
    }
    json_array_foreach(v, i, id) {
        if (json_is_string(id) && json_string_length(id) <= 200) {
            json_array_append(ids, id);
        }
    }
    sq_bridge_revoke(b, ids);
    snprintf(text, sizeof text, "tasks flagged as revoked: %zu",
             json_array_size(ids));
    json_decref(ids);
    return ok(text);
}

static json_t *
c_enable_events(struct sq_bridge *b, json_t *args)
{
    (void)args;
    if (b->task_events) {
        return ok("task events already enabled");
    }
    b->task_events = true;
    return ok("task events enabled");
}

static json_t *
c_disable_events(struct sq_bridge *b, json_t *args)
{
    (void)args;
    if (!b->task_events) {
        return ok("task events already disabled");
    }
    b->task_events = false;
    return ok("task events disabled");
}

static json_t *
c_heartbeat(struct sq_bridge *b, json_t *args)
{
    (void)args;
    b->node.active = b->held;
    sq_celery_worker_event(b->c, &b->node, "worker-heartbeat", NULL);
    return json_null();
}

/* A limit argument: seconds (number or numeric string) or null -> ms. */
static bool
limit_arg(json_t *v, int64_t *ms)
{
    double s = 0;
    char *end = NULL;

    *ms = 0;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (json_is_number(v)) {
        s = json_number_value(v);
    } else if (json_is_string(v)) {
        s = strtod(json_string_value(v), &end);
        if (end == json_string_value(v) || *end != '\0') {
            return false;
        }
    } else {
        return false;
    }
    if (!(s >= 0 && s <= 7 * 86400.0)) {
        return false;
    }
    *ms = (int64_t)(s * 1000.0);
    return true;
}

static json_t *
c_time_limit(struct sq_bridge *b, json_t *args)
{
    const char *name = json_string_value(json_object_get(args, "task_name"));
    char norm[256];
    int64_t soft, hard;

    if (name == NULL ||
        syncq_task_name_normalize(name, norm, sizeof norm, NULL) !=
            SYNCQ_OK ||
        syncq_registry_find(b->o->registry, norm) == NULL) {
        return nok("unknown task");
    }
    if (!limit_arg(json_object_get(args, "soft"), &soft) ||
        !limit_arg(json_object_get(args, "hard"), &hard)) {
        return nok("time limits must be seconds (0..604800) or null");
    }
    json_object_set_new(b->limits, norm,
                        json_pack("[I,I]", (json_int_t)soft,
                                  (json_int_t)hard));
    SQ_INFO("celery.time_limit", "task=%s soft_ms=%lld hard_ms=%lld", norm,
            (long long)soft, (long long)hard);
    return ok("time limits set successfully");
}

/* Celery's rate_limit (tasks per second as a number, or "10/m"; 0, "" or
 * null: none) becomes this worker's own rate_limit command
 * (broker_control.h), the one `syncq worker control rate-limit` sends:
 * the supervisor applies it to the tasks of that name it starts from then
 * on, whichever way they came. The rate is checked here, with the
 * command; Celery's replies. */
static json_t *
c_rate_limit(struct sq_bridge *b, json_t *args)
{
    const char *name = json_string_value(json_object_get(args, "task_name"));
    const json_t *v = json_object_get(args, "rate_limit");
    char norm[256], rate[64], id[37], text[300];
    json_t *cmd;
    syncq_error err;
    int rc;

    if (name == NULL ||
        syncq_task_name_normalize(name, norm, sizeof norm, NULL) !=
            SYNCQ_OK ||
        syncq_registry_find(b->o->registry, norm) == NULL) {
        return nok("unknown task");
    }
    if (v == NULL || json_is_null(v) ||
        (json_is_string(v) && json_string_length(v) == 0)) {
        snprintf(rate, sizeof rate, "0");
    } else if (json_is_integer(v)) {
        snprintf(rate, sizeof rate, "%lld", (long long)json_integer_value(v));
    } else if (json_is_string(v) && json_string_length(v) < sizeof rate) {
        snprintf(rate, sizeof rate, "%s", json_string_value(v));
    } else {
        return nok("Invalid rate limit string: tasks per second as a whole "
                   "number, or N/s, N/m, N/h");
    }
    cmd = json_pack("{s:s, s:s, s:s}", "command", "rate_limit", "task", norm,
                    "rate", rate);
    rc = cmd != NULL ? sq_ctl_check(cmd, &err) : SYNCQ_ENOMEM;
    if (rc == SYNCQ_EINVAL) {
        json_decref(cmd);
        snprintf(text, sizeof text, "Invalid rate limit string: %.250s",
                 err.msg);
        return nok(text);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_ctl_send(b->c, b->o->worker_id, cmd, "celery", id, &err);
    }
    json_decref(cmd);
    if (rc != SYNCQ_OK) {
        snprintf(text, sizeof text, "rate limit not set: %.250s",
                 rc == SYNCQ_ENOMEM ? "out of memory" : err.msg);
        return nok(text);
    }
    SQ_INFO("celery.rate_limit", "task=%s rate=%s", norm, rate);
    return ok(strcmp(rate, "0") == 0 ? "rate limit disabled successfully"
                                     : "new rate limit set successfully");
}

static json_t *
c_cancel_consumer(struct sq_bridge *b, json_t *args)
{
    const char *q = json_string_value(json_object_get(args, "queue"));
    char text[200], key[160], ignored[101];

    snprintf(key, sizeof key, "%s", q != NULL ? q : "");
    if (q == NULL || !sq_kombu_queue_of(&b->k, key, ignored) ||
        json_object_get(b->cancelled, q) != NULL) {
        return nok("not consuming from that queue");
    }
    json_object_set_new(b->cancelled, q, json_true());
    SQ_INFO("celery.cancel_consumer", "queue=%s", q);
    snprintf(text, sizeof text, "no longer consuming from %.150s", q);
    return ok(text);
}

static json_t *
c_add_consumer(struct sq_bridge *b, json_t *args)
{
    const char *q = json_string_value(json_object_get(args, "queue"));
    char text[260];
    bool served = false;

    for (size_t i = 0; q != NULL && i < b->o->nqueues; i++) {
        served = served || strcmp(b->o->queues[i], q) == 0;
    }
    if (q == NULL || !served) {
        snprintf(text, sizeof text, "this syncq worker does not serve "
                 "queue %.100s (start one with -Q %.100s --celery)",
                 q != NULL ? q : "(none)", q != NULL ? q : "QUEUE");
        return nok(text);
    }
    if (json_object_get(b->cancelled, q) == NULL) {
        snprintf(text, sizeof text, "already consuming from %.150s", q);
        return ok(text);
    }
    json_object_del(b->cancelled, q);
    SQ_INFO("celery.add_consumer", "queue=%s", q);
    snprintf(text, sizeof text, "add consumer %.150s", q);
    return ok(text);
}

static json_t *
c_shutdown(struct sq_bridge *b, json_t *args)
{
    (void)args;
    SQ_WARN("celery.shutdown", "node=%s err=\"Got shutdown from remote: "
            "warm shutdown of the worker\"", b->node.name);
    /* the supervisor that forked this process, never whatever adopted
     * it; the supervisor then stops this process too */
    if (b->node.pid > 1 && getppid() == (pid_t)b->node.pid) {
        kill((pid_t)b->node.pid, SIGTERM);
    }
    return NULL; /* Celery's worker does not reply either */
}

/* ---- dispatch ---------------------------------------------------------------- */

typedef json_t *(*control_fn)(struct sq_bridge *, json_t *);

static const struct {
    const char *method;
    control_fn fn;
} commands[] = {
    {"ping", c_ping},
    {"active", c_active},
    {"reserved", c_reserved},
    {"scheduled", c_scheduled},
    {"query_task", c_query_task},
    {"stats", c_stats},
    {"registered", c_registered},
    {"active_queues", c_active_queues},
    {"revoked", c_revoked},
    {"clock", c_clock},
    {"report", c_report},
    {"revoke", c_revoke},
    {"enable_events", c_enable_events},
    {"disable_events", c_disable_events},
    {"heartbeat", c_heartbeat},
    {"time_limit", c_time_limit},
    {"rate_limit", c_rate_limit},
    {"cancel_consumer", c_cancel_consumer},
    {"add_consumer", c_add_consumer},
    {"shutdown", c_shutdown},
};

/* Known to Celery, not done by a syncq worker: why. */
static const struct {
    const char *method, *why;
} refused[] = {
    {"pool_grow", "not through Celery's control: use `syncq worker "
                  "control pool-grow N` (or the dashboard)"},
    {"pool_shrink", "not through Celery's control: use `syncq worker "
                    "control pool-shrink N` (or the dashboard)"},
    {"autoscale", "syncq workers do not autoscale; set -c"},
    {"pool_restart", "children are recycled by --max-tasks-per-child and "
                     "--max-memory-per-child"},
    {"conf", "a syncq worker has no Celery app configuration (syncq "
             "config show)"},
    {"memdump", "no Python heap in a syncq worker"},
    {"memsample", "no Python heap in a syncq worker"},
    {"objgraph", "no Python heap in a syncq worker"},
    {"dump_tasks", "no Python heap in a syncq worker"},
    {"election", "syncq workers take no part in Celery elections"},
};

void
sq_bridge_control(struct sq_bridge *b, const char *raw, size_t len)
{
    json_t *req = sq_celery_pidbox_request(&b->node, raw, len);
    const char *method = json_string_value(json_object_get(req, "method"));
    json_t *args = json_object_get(req, "arguments");
    json_t *answer = NULL;
    bool reply = true;
    char text[300];

    if (req == NULL) {
        return;
    }
    for (size_t i = 0; answer == NULL && i < sizeof commands /
                                                 sizeof commands[0]; i++) {
        if (strcmp(method, commands[i].method) == 0) {
            answer = commands[i].fn(b, args);
            reply = answer != NULL;
            if (answer == NULL) {
                break;
            }
        }
    }
    for (size_t i = 0; reply && answer == NULL &&
                       i < sizeof refused / sizeof refused[0]; i++) {
        if (strcmp(method, refused[i].method) == 0) {
            snprintf(text, sizeof text, "%s: not supported by syncq "
                     "workers: %s", method, refused[i].why);
            answer = nok(text);
        }
    }
    if (reply && answer == NULL) {
        snprintf(text, sizeof text, "No such control command: %.100s",
                 method);
        answer = nok(text);
    }
    if (reply) {
        sq_celery_pidbox_reply(b->c, &b->node, req, answer, NULL);
    }
    SQ_DEBUG("celery.control", "method=%.60s", method);
    json_decref(answer);
    json_decref(req);
}
