/* SPDX-License-Identifier: MIT
 *
 * celery_result.c: Celery's Redis result backend (docs/celery-wire.md
 * section 8). A syncq task run for a Celery message gets its outcome
 * written as `celery-task-meta-<id>` (SETEX + PUBLISH, a stored SUCCESS
 * never overwritten), with errors as {exc_type, exc_message, exc_module}
 * that AsyncResult.get() rebuilds into a Python exception; and a meta a
 * Python worker wrote is read back as a syncq-shaped task object.
 */
#include "celery/celery.h"
#include "celery/celery_message.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>

#define META_PREFIX "celery-task-meta-"

static const struct {
    const char *state, *status;
} status_map[] = {
    {"PENDING", "PENDING"},   {"RECEIVED", "RECEIVED"},
    {"STARTED", "STARTED"},   {"PROGRESS", "STARTED"},
    {"RETRY", "RETRY"},       {"SUCCESS", "SUCCESS"},
    {"SKIPPED", "SUCCESS"},   {"FAILURE", "FAILURE"},
    {"DEAD", "FAILURE"},      {"REVOKED", "REVOKED"},
    {"EXPIRED", "REVOKED"},
};

const char *
sq_celery_status_of(const char *syncq_state)
{
    for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++) {
        if (syncq_state != NULL &&
            strcmp(syncq_state, status_map[i].state) == 0) {
            return status_map[i].status;
        }
    }
    return "PENDING";
}

bool
sq_celery_status_ready(const char *status)
{
    return status != NULL &&
           (strcmp(status, "SUCCESS") == 0 || strcmp(status, "FAILURE") == 0 ||
            strcmp(status, "REVOKED") == 0);
}

/* syncq error class -> the Python exception Celery callers catch. A
 * module that is not imported on the Python side makes Celery synthesise
 * the class by name (celery.backends.base.exception_to_python). */
static const struct {
    const char *cls, *module, *type;
} exc_map[] = {
    {"network", "builtins", "ConnectionError"},
    {"timeout", "celery.exceptions", "TimeLimitExceeded"},
    {"rate_limited", "syncq.errors", "RateLimited"},
    {"http_5xx", "syncq.errors", "HTTPServerError"},
    {"parse", "builtins", "ValueError"},
    {"validation", "builtins", "ValueError"},
    {"not_found", "builtins", "LookupError"},
    {"auth", "builtins", "PermissionError"},
    {"internal", "builtins", "RuntimeError"},
    {"not_registered", "celery.exceptions", "NotRegistered"},
    {"blocked", "syncq.errors", "Blocked"},
    {"worker_lost", "billiard.exceptions", "WorkerLostError"},
    {"revoked", "celery.exceptions", "TaskRevokedError"},
    {"poison", "kombu.exceptions", "DecodeError"},
};

json_t *
sq_celery_exc_named(const char *module, const char *type, const char *message)
{
    return json_pack("{s:s,s:[s],s:s}", "exc_type", type, "exc_message",
                     message != NULL ? message : "", "exc_module", module);
}

json_t *
sq_celery_exc(const char *err_class, const char *message)
{
    json_t *e = NULL;

    for (size_t i = 0; i < sizeof exc_map / sizeof exc_map[0]; i++) {
        if (err_class != NULL && strcmp(err_class, exc_map[i].cls) == 0) {
            e = sq_celery_exc_named(exc_map[i].module, exc_map[i].type,
                                    message);
            break;
        }
    }
    if (e == NULL) {
        e = sq_celery_exc_named("builtins", "RuntimeError", message);
    }
    if (e != NULL && err_class != NULL) {
        json_object_set_new(e, "syncq_class", json_string(err_class));
    }
    return e;
}

char *
sq_celery_meta_format(const char *id, const char *status, json_t *result,
                      const char *traceback, int64_t done_ms,
                      const char *parent_id)
{
    char when[48];
    json_t *m;
    char *out;

    m = json_pack("{s:s,s:O,s:o,s:[],s:o,s:s}", "status", status, "result",
                  result != NULL ? result : json_null(), "traceback",
                  traceback != NULL ? json_string(traceback) : json_null(),
                  "children", "date_done",
                  done_ms > 0 ? json_string(sq_celery_time_format(
                                    done_ms, false, when, sizeof when))
                              : json_null(),
                  "task_id", id);
    if (m == NULL) {
        return NULL;
    }
    if (parent_id != NULL) {
        json_object_set_new(m, "parent_id", json_string(parent_id));
    }
    out = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return out;
}

static int64_t
record_ms(json_t *rec, const char *key)
{
    int64_t ms = 0;
    const char *s = json_string_value(json_object_get(rec, key));

    if (s == NULL || sq_time_parse_iso8601(s, &ms, NULL) != SYNCQ_OK) {
        return 0;
    }
    return ms;
}

char *
sq_celery_meta_of_record(const char *celery_id, json_t *rec)
{
    const char *state = json_string_value(json_object_get(rec, "state"));
    const char *status = sq_celery_status_of(state);
    json_t *error = json_object_get(rec, "error");
    const char *cls = json_string_value(json_object_get(error, "class"));
    const char *msg = json_string_value(json_object_get(error, "message"));
    const char *parent = json_string_value(json_object_get(rec,
                                                           "parent_id"));
    json_t *result = NULL;
    char tb[600];
    const char *traceback = NULL;
    char *out;

    if (strcmp(status, "SUCCESS") == 0) {
        result = json_incref(json_object_get(rec, "result"));
    } else if (strcmp(status, "REVOKED") == 0) {
        bool expired = state != NULL && strcmp(state, "EXPIRED") == 0;
        result = sq_celery_exc_named("celery.exceptions", "TaskRevokedError",
                                     expired ? "expired" : "revoked");
    } else if (strcmp(status, "FAILURE") == 0 ||
               strcmp(status, "RETRY") == 0) {
        if (state != NULL && strcmp(state, "DEAD") == 0 && cls == NULL) {
            cls = "worker_lost";
        }
        result = sq_celery_exc(cls != NULL ? cls : "internal",
                               msg != NULL ? msg : "");
        /* Python shows a traceback string; syncq's is the error line. */
        const char *name = json_string_value(json_object_get(rec, "name"));
        snprintf(tb, sizeof tb, "syncq task %s failed (%s): %.480s",
                 name != NULL ? name : "?",
                 cls != NULL ? cls : "internal", msg != NULL ? msg : "");
        traceback = tb;
    }
    out = sq_celery_meta_format(celery_id, status, result, traceback,
                                sq_celery_status_ready(status)
                                    ? record_ms(rec, "done_at")
                                    : 0,
                                parent);
    json_decref(result);
    return out;
}

static bool
stored_success(const redisReply *r)
{
    json_t *old;
    const char *st;
    bool yes;

    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        return false;
    }
    old = json_loadb(r->str, r->len, 0, NULL);
    st = json_string_value(json_object_get(old, "status"));
    yes = st != NULL && strcmp(st, "SUCCESS") == 0;
    json_decref(old);
    return yes;
}

int
sq_celery_meta_store_many(syncq_client *c, const char *const *ids,
                          const char *const *metas, size_t n,
                          int64_t expires_ms, syncq_error *err)
{
    struct sq_rcmd *cmd = sq_calloc(2 * n + 1, sizeof *cmd);
    redisReply **got = sq_calloc(n + 1, sizeof *got);
    char (*keys)[256] = sq_calloc(n + 1, sizeof *keys);
    char secs[24];
    redisReply *r = NULL;
    size_t nc = 0;
    int rc = SYNCQ_OK;

    if (cmd == NULL || got == NULL || keys == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory (Celery results)");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], META_PREFIX "%.200s", ids[i]);
        sq_rcmd_set(&cmd[i], "GET", keys[i], NULL);
    }
    rc = sq_celery_pipeline(c, false, cmd, n, got, err);
    if (rc != SYNCQ_OK) {
        goto done;
    }
    snprintf(secs, sizeof secs, "%lld",
             (long long)((expires_ms + 999) / 1000));
    for (size_t i = 0; i < n; i++) {
        if (stored_success(got[i])) {
            continue; /* Celery never overwrites a SUCCESS */
        }
        if (expires_ms > 0) {
            sq_rcmd_set(&cmd[nc++], "SETEX", keys[i], secs, metas[i], NULL);
        } else {
            sq_rcmd_set(&cmd[nc++], "SET", keys[i], metas[i], NULL);
        }
        sq_rcmd_set(&cmd[nc++], "PUBLISH", keys[i], metas[i], NULL);
    }
    if (nc > 0) {
        rc = sq_celery_pipeline(c, true, cmd, nc, &r, err);
    }
    if (rc == SYNCQ_OK && nc > 0 && (r == NULL ||
                                     r->type != REDIS_REPLY_ARRAY)) {
        rc = sq_fail(err, SYNCQ_EPROTO, "storing Celery results: %s",
                     r != NULL && r->type == REDIS_REPLY_ERROR
                         ? r->str
                         : "transaction refused");
    }
done:
    for (size_t i = 0; got != NULL && i < n; i++) {
        freeReplyObject(got[i]);
    }
    freeReplyObject(r);
    sq_free(keys);
    sq_free(got);
    sq_free(cmd);
    return rc;
}

int
sq_celery_meta_store(syncq_client *c, const char *id, const char *meta,
                     int64_t expires_ms, syncq_error *err)
{
    return sq_celery_meta_store_many(c, &id, &meta, 1, expires_ms, err);
}

/* exc dict -> {class, message} (message: the exc_message args joined). */
static json_t *
error_of(json_t *result)
{
    const char *type = json_string_value(json_object_get(result, "exc_type"));
    json_t *msg = json_object_get(result, "exc_message");
    char text[1024] = "";
    size_t off = 0;

    if (type == NULL) {
        return NULL;
    }
    if (json_is_string(msg)) {
        snprintf(text, sizeof text, "%s", json_string_value(msg));
    } else if (json_is_array(msg)) {
        size_t i;
        json_t *a;
        json_array_foreach(msg, i, a) {
            char *s = json_is_string(a) ? NULL
                                        : json_dumps(a, JSON_ENCODE_ANY);
            off += (size_t)snprintf(text + off, off < sizeof text
                                                    ? sizeof text - off
                                                    : 0,
                                    "%s%s", i ? ", " : "",
                                    s != NULL ? s : json_string_value(a));
            sq_free(s);
            if (off >= sizeof text) {
                break;
            }
        }
    }
    return json_pack("{s:s,s:s}", "class", type, "message", text);
}

int
sq_celery_meta_parse(const char *id, const char *text, size_t len,
                     json_t **out, syncq_error *err)
{
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *status = json_string_value(json_object_get(m, "status"));
    json_t *o, *v;
    static const char *const copy[] = {"traceback", "retries", "name",
                                       "queue", "worker", "parent_id",
                                       "args", "kwargs"};

    *out = NULL;
    if (status == NULL) {
        json_decref(m);
        return sq_fail(err, SYNCQ_EPROTO, "celery-task-meta-%.60s is not a "
                       "Celery result", id);
    }
    o = json_pack("{s:s,s:s,s:s}", "id", id, "state", status, "origin",
                  "celery");
    if (o == NULL) {
        json_decref(m);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    v = json_object_get(m, "result");
    if (strcmp(status, "SUCCESS") == 0) {
        json_object_set(o, "result", v != NULL ? v : json_null());
    } else if (json_is_object(v)) {
        json_t *e = error_of(v);
        if (e != NULL) {
            json_object_set_new(o, "error", e);
        }
    }
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        v = json_object_get(m, copy[i]);
        if (v != NULL && !json_is_null(v)) {
            json_object_set(o, copy[i], v);
        }
    }
    v = json_object_get(m, "date_done");
    if (json_is_string(v)) {
        int64_t ms;
        char buf[40];
        if (sq_time_parse_iso8601(json_string_value(v), &ms, NULL) ==
            SYNCQ_OK) {
            json_object_set_new(o, "done_at",
                                json_string(sq_time_format_iso8601_ms(
                                    ms, buf, sizeof buf)));
        }
    }
    json_decref(m);
    *out = o;
    return SYNCQ_OK;
}
