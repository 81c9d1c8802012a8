/* SPDX-License-Identifier: MIT
 *
 * broker_record.c: a task hash (HGETALL) as the JSON object documented in
 * syncq/client.h. Bytes from Redis are never trusted: JSON fields that do
 * not parse are kept as text (field "<name>_raw"), and invalid UTF-8 is
 * replaced for display (C37), never crashing.
 */
#include "broker/broker.h"
#include "sq_alloc.h"
#include "core/sq_task.h"
#include "core/sq_time.h"
#include "sq_utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON string of `len` bytes, made valid UTF-8 if it is not. */
static json_t *
safe_string(const char *s, size_t len)
{
    if (sq_utf8_valid(s, len) && memchr(s, '\0', len) == NULL) {
        return json_stringn(s, len);
    }
    {
        size_t cap = len * 3 + 1;
        char *tmp = sq_malloc(cap);
        json_t *v;
        size_t n;
        if (tmp == NULL) {
            return json_string("");
        }
        n = sq_utf8_sanitize(s, len, tmp, cap);
        v = json_stringn(tmp, n);
        sq_free(tmp);
        return v;
    }
}

/* Latest instant (and longest span) a record may name, in ms: the end of
 * year 9999, the limit of the ISO 8601 formatter. */
#define RECORD_MAX_MS 253402300799999LL

/* A time or a span in ms read back from Redis; 0 (absent) unless it is a
 * number in 0..RECORD_MAX_MS, so sums of two stay far from overflow. */
static long long
stored_ms(const char *text)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || v < 0 || v > RECORD_MAX_MS) {
        return 0;
    }
    return v;
}

static void
set_time(json_t *o, const char *key, const char *ms_text)
{
    char buf[40];
    long long ms = stored_ms(ms_text);

    if (ms <= 0) {
        return;
    }
    json_object_set_new(o, key, json_string(sq_time_format_iso8601_ms(
                                    ms, buf, sizeof buf)));
}

static void
set_int(json_t *o, const char *key, const char *text)
{
    json_object_set_new(o, key, json_integer(strtoll(text, NULL, 10)));
}

static void
set_json(json_t *o, const char *key, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

    if (v != NULL) {
        json_object_set_new(o, key, v);
    } else {
        char raw[64];
        snprintf(raw, sizeof raw, "%s_raw", key);
        json_object_set_new(o, raw, safe_string(text, len));
    }
}

/* The record as JSON; `times` false leaves out its times (created_at
 * ... and result_expires_at). */
static json_t *
record_json(const char *id, redisReply **kv, size_t n,
            int64_t default_result_ttl_ms, bool times)
{
    json_t *o = json_object();
    const char *err_class = NULL;
    const char *err_msg = NULL;
    const redisReply *err_detail = NULL;
    long long done = 0;
    long long rexp = 0;

    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "id", json_string(id));
    for (size_t i = 0; i + 1 < n; i += 2) {
        const redisReply *f = kv[i];
        const redisReply *v = kv[i + 1];
        const struct sq_task_field *tf;
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }
        if (strcmp(f->str, "err_class") == 0) {
            err_class = v->str;
            continue;
        }
        if (strcmp(f->str, "err_msg") == 0) {
            err_msg = v->str;
            continue;
        }
        if (strcmp(f->str, "err_detail") == 0) {
            err_detail = v;
            continue;
        }
        if (strcmp(f->str, "dt") == 0) {
            done = stored_ms(v->str);
        }
        if (strcmp(f->str, "rexp") == 0) {
            rexp = stored_ms(v->str);
        }
        tf = sq_task_field_short(f->str, f->len);
        if (tf == NULL) {
            continue; /* internal bookkeeping (pst, ...) */
        }
        switch (tf->kind) {
        case SQ_FIELD_STR:
            json_object_set_new(o, tf->key, safe_string(v->str, v->len));
            break;
        case SQ_FIELD_INT:
            set_int(o, tf->key, v->str);
            break;
        case SQ_FIELD_TIME:
            if (times) {
                set_time(o, tf->key, v->str);
            }
            break;
        case SQ_FIELD_JSON:
            set_json(o, tf->key, v->str, v->len);
            break;
        case SQ_FIELD_BOOL:
            json_object_set_new(o, tf->key,
                                json_boolean(strcmp(v->str, "1") == 0));
            break;
        }
    }
    if (sq_state_is_final(json_string_value(json_object_get(o, "state")))) {
        /* a finished record keeps the lease that ended it (lib_task.lua,
         * finish): it is held by no one */
        json_object_del(o, "worker");
        json_object_del(o, "lease_token");
    }
    if (json_object_get(o, "args") == NULL) {
        json_object_set_new(o, "args", json_array());
    }
    if (json_object_get(o, "kwargs") == NULL) {
        json_object_set_new(o, "kwargs", json_object());
    }
    if (json_object_get(o, "attempt") == NULL) {
        json_object_set_new(o, "attempt", json_integer(0));
    }
    if (json_object_get(o, "retries") == NULL) {
        json_object_set_new(o, "retries", json_integer(0));
    }
    if (err_class != NULL || err_msg != NULL) {
        json_t *e = json_object();
        json_object_set_new(e, "class",
                            json_string(err_class ? err_class : "internal"));
        json_object_set_new(e, "message",
                            safe_string(err_msg ? err_msg : "",
                                        err_msg ? strlen(err_msg) : 0));
        if (err_detail != NULL) {
            set_json(e, "detail", err_detail->str, err_detail->len);
        }
        json_object_set_new(o, "error", e);
    }
    if (done > 0 && times) {
        const char *state = json_string_value(json_object_get(o, "state"));
        /* dead letters (DEAD, or FAILURE in the DLQ) never expire */
        if ((state == NULL || strcmp(state, "DEAD") != 0) &&
            json_object_get(o, "dead_at") == NULL) {
            char buf[40];
            long long ttl = rexp > 0 ? rexp : default_result_ttl_ms;
            if (ttl < 0 || ttl > RECORD_MAX_MS) {
                return o; /* no expiry instant can be named */
            }
            json_object_set_new(o, "result_expires_at",
                                json_string(sq_time_format_iso8601_ms(
                                    done + ttl, buf, sizeof buf)));
        }
    }
    return o;
}

json_t *
sq_record_to_json(const char *id, redisReply **kv, size_t n,
                  int64_t default_result_ttl_ms)
{
    return record_json(id, kv, n, default_result_ttl_ms, true);
}

json_t *
sq_record_to_json_untimed(const char *id, redisReply **kv, size_t n)
{
    return record_json(id, kv, n, 0, false);
}
