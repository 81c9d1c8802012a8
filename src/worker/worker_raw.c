/* SPDX-License-Identifier: MIT
 *
 * worker_raw.c: decide what a foreign queue entry is (C36). lease.lua
 * hands the worker the entries of a ready list that are not task ids:
 * raw bytes, broken JSON, Celery/kombu envelopes pushed by an old
 * producer, ids whose record is gone. An envelope naming a task this
 * worker has is adopted (enqueued as a real task); everything else gets a
 * reason code and goes to the dead-letter queue. Every input is handled;
 * nothing here can crash or exit the worker.
 */
#include "worker/worker.h"
#include "sq_alloc.h"
#include "sq_id.h"
#include "sq_utf8.h"

#include "celery/celery_message.h"

#include <stdio.h>
#include <string.h>

/* Envelopes bigger than this are not decoded (they are poison anyway). */
#define RAW_MAX_DECODE SQ_CELERY_MAX_MESSAGE

void
sq_raw_task_cleanup(struct sq_raw_task *t)
{
    if (t != NULL) {
        sq_free(t->args_json);
        sq_free(t->kwargs_json);
        memset(t, 0, sizeof *t);
    }
}

/* Fill args/kwargs from a Celery protocol 2 message (the codec of
 * src/celery/celery_message.h): false when it is not one syncq can take. */
static bool
celery_body(const char *raw, size_t len, json_t **args, json_t **kwargs)
{
    struct sq_celery_msg m;
    bool ok = sq_celery_msg_decode(raw, len, &m) == SQ_CELERY_OK;

    if (ok) {
        *args = json_incref(m.args);
        *kwargs = json_incref(m.kwargs);
    }
    sq_celery_msg_cleanup(&m);
    return ok;
}

enum sq_raw_kind
sq_raw_classify(const char *raw, size_t len, const syncq_registry *r,
                struct sq_raw_task *task, const char **reason_out)
{
    json_error_t jerr;
    json_t *env = NULL, *args = NULL, *kwargs = NULL;
    json_t *headers;
    const char *name = NULL, *id = NULL;
    enum sq_raw_kind kind;
    char norm[256];

    memset(task, 0, sizeof *task);
    task->priority = -1;
    if (len == 0) {
        *reason_out = "empty";
        return SQ_RAW_EMPTY;
    }
    if (!sq_utf8_valid(raw, len) || memchr(raw, '\0', len) != NULL) {
        *reason_out = "invalid_utf8";
        return SQ_RAW_INVALID_UTF8;
    }
    if (len == SQ_UUID_LEN) {
        char tmp[SQ_UUID_LEN + 1];
        memcpy(tmp, raw, len);
        tmp[len] = '\0';
        if (sq_uuid_valid(tmp)) {
            *reason_out = "unknown_id";
            return SQ_RAW_UNKNOWN_ID;
        }
    }
    if (len > RAW_MAX_DECODE) {
        *reason_out = "bad_envelope";
        return SQ_RAW_BAD_ENVELOPE;
    }
    env = json_loadb(raw, len, JSON_DECODE_ANY, &jerr);
    if (env == NULL) {
        *reason_out = "not_json";
        return SQ_RAW_NOT_JSON;
    }
    kind = SQ_RAW_BAD_ENVELOPE;
    *reason_out = "bad_envelope";
    if (!json_is_object(env)) {
        goto done;
    }
    headers = json_object_get(env, "headers");
    if (json_is_object(headers) &&
        json_is_string(json_object_get(headers, "task"))) {
        /* Celery/kombu message (celery-wire.md section 2). */
        name = json_string_value(json_object_get(headers, "task"));
        id = json_string_value(json_object_get(headers, "id"));
        if (!celery_body(raw, len, &args, &kwargs)) {
            goto done;
        }
    } else {
        json_t *t = json_object_get(env, "task");
        if (!json_is_string(t)) {
            t = json_object_get(env, "name");
        }
        if (!json_is_string(t)) {
            goto done;
        }
        name = json_string_value(t);
        id = json_string_value(json_object_get(env, "id"));
        args = json_object_get(env, "args");
        kwargs = json_object_get(env, "kwargs");
        if ((args != NULL && !json_is_array(args)) ||
            (kwargs != NULL && !json_is_object(kwargs))) {
            args = kwargs = NULL;
            goto done;
        }
        json_incref(args);
        json_incref(kwargs);
    }
    if (syncq_task_name_normalize(name, norm, sizeof norm, NULL) !=
        SYNCQ_OK) {
        goto done;
    }
    if (r == NULL || syncq_registry_find(r, norm) == NULL) {
        kind = SQ_RAW_NOT_REGISTERED;
        *reason_out = "not_registered";
        goto done;
    }
    snprintf(task->name, sizeof task->name, "%s", norm);
    if (id != NULL && sq_uuid_valid(id)) {
        snprintf(task->id, sizeof task->id, "%s", id);
    }
    task->args_json = args != NULL ? json_dumps(args, JSON_COMPACT)
                                   : sq_strdup("[]");
    task->kwargs_json = kwargs != NULL ? json_dumps(kwargs, JSON_COMPACT)
                                       : sq_strdup("{}");
    if (task->args_json == NULL || task->kwargs_json == NULL) {
        sq_raw_task_cleanup(task);
        task->priority = -1;
        goto done; /* out of memory: treated as poison, never lost */
    }
    kind = SQ_RAW_ADOPT;
    *reason_out = "adopted";
done:
    json_decref(args);
    json_decref(kwargs);
    json_decref(env);
    return kind;
}
