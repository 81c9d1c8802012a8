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

#include <openssl/evp.h>
#include "sq_lazy_crypto.h"
#include <stdio.h>
#include <string.h>

/* Envelopes bigger than this are not decoded (they are poison anyway). */
#define RAW_MAX_DECODE (16u << 20)

void
sq_raw_task_cleanup(struct sq_raw_task *t)
{
    if (t != NULL) {
        sq_free(t->args_json);
        sq_free(t->kwargs_json);
        memset(t, 0, sizeof *t);
    }
}

/* Base64 (standard alphabet, padded) of a Celery body into a new buffer.
 * Returns NULL when it is not valid base64. */
static unsigned char *
unbase64(const char *s, size_t n, size_t *out_len)
{
    unsigned char *buf;
    int got;
    size_t pad = 0;

    if (n == 0 || n % 4 != 0 || n > RAW_MAX_DECODE || n > (size_t)1 << 30) {
        return NULL;
    }
    buf = sq_malloc(n / 4 * 3 + 1);
    if (buf == NULL) {
        return NULL;
    }
    got = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
    if (got < 0) {
        sq_free(buf);
        return NULL;
    }
    if (s[n - 1] == '=') {
        pad++;
    }
    if (s[n - 2] == '=') {
        pad++;
    }
    *out_len = (size_t)got - pad;
    buf[*out_len] = '\0';
    return buf;
}

/* Fill args/kwargs from a Celery protocol 2 body: [args, kwargs, embed]. */
static bool
celery_body(json_t *env, json_t **args, json_t **kwargs)
{
    json_t *body = json_object_get(env, "body");
    json_t *props = json_object_get(env, "properties");
    const char *enc = json_string_value(json_object_get(props,
                                                        "body_encoding"));
    unsigned char *bytes;
    size_t n = 0;
    json_t *arr;
    json_error_t jerr;

    if (!json_is_string(body)) {
        return false;
    }
    if (enc != NULL && strcmp(enc, "base64") != 0) {
        return false;
    }
    bytes = unbase64(json_string_value(body), json_string_length(body), &n);
    if (bytes == NULL) {
        return false;
    }
    arr = json_loadb((const char *)bytes, n, 0, &jerr);
    sq_free(bytes);
    if (!json_is_array(arr) || json_array_size(arr) < 2 ||
        !json_is_array(json_array_get(arr, 0)) ||
        !json_is_object(json_array_get(arr, 1))) {
        json_decref(arr);
        return false;
    }
    *args = json_incref(json_array_get(arr, 0));
    *kwargs = json_incref(json_array_get(arr, 1));
    json_decref(arr);
    return true;
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
        if (!celery_body(env, &args, &kwargs)) {
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
