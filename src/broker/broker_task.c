/* SPDX-License-Identifier: MIT
 *
 * broker_task.c: read, list, cancel and wait for tasks (producer side).
 */
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
check_id(const char *id, syncq_error *err)
{
    if (id == NULL || id[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "task id is empty");
    }
    if (strlen(id) > 64) {
        return sq_fail(err, SYNCQ_EINVAL, "task id is over 64 bytes");
    }
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "task id contains a space or control character");
        }
    }
    return SYNCQ_OK;
}

int
syncq_task_info(syncq_client *c, const char *id, json_t **out,
                syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    int rc;

    *out = NULL;
    rc = check_id(id, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_key(c, key, sizeof key, "t:%s", id);
    rc = sq_client_cmd(c, &r, err, "HGETALL %s", key);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_ENOTFOUND,
                       "no task %s (unknown id, or its result expired)", id);
    }
    *out = sq_record_to_json(id, r->element, r->elements,
                             c->result_expires_ms);
    freeReplyObject(r);
    if (*out == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory reading task");
    }
    return SYNCQ_OK;
}

struct lister {
    syncq_client *c;
    const syncq_task_filter *f;
    json_t *out;
    size_t skipped, limit;
};

/* Fetch records of `ids` (pipelined HGETALL) and keep the matching ones. */
static int
consider(struct lister *L, redisReply **ids, size_t n, syncq_error *err)
{
    char key[256];
    int rc = SYNCQ_OK;

    for (size_t i = 0; i < n; i++) {
        if (ids[i]->type == REDIS_REPLY_STRING) {
            sq_key(L->c, key, sizeof key, "t:%s", ids[i]->str);
            sq_conn_append(L->c, "HGETALL %s", key);
        }
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        json_t *t;
        const char *st, *q, *nm;
        if (ids[i]->type != REDIS_REPLY_STRING) {
            continue;
        }
        rc = sq_client_read_reply(L->c, &r, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            continue;
        }
        t = sq_record_to_json(ids[i]->str, r->element, r->elements,
                              L->c->result_expires_ms);
        freeReplyObject(r);
        if (t == NULL) {
            continue;
        }
        st = json_string_value(json_object_get(t, "state"));
        q = json_string_value(json_object_get(t, "queue"));
        nm = json_string_value(json_object_get(t, "name"));
        if ((L->f->state && (!st || strcmp(st, L->f->state))) ||
            (L->f->queue && (!q || strcmp(q, L->f->queue))) ||
            (L->f->name && (!nm || strcmp(nm, L->f->name))) ||
            json_array_size(L->out) >= L->limit) {
            json_decref(t);
            continue;
        }
        if (L->skipped < L->f->offset) {
            L->skipped++;
            json_decref(t);
            continue;
        }
        json_array_append_new(L->out, t);
    }
    return SYNCQ_OK;
}

/* Scan one source (a list or sorted set) in pages. */
static int
scan_source(struct lister *L, const char *cmd, const char *key,
            syncq_error *err)
{
    const long page = 500;

    for (long start = 0; json_array_size(L->out) < L->limit; start += page) {
        redisReply *r = NULL;
        int rc = sq_client_cmd(L->c, &r, err, "%s %s %ld %ld", cmd, key, start,
                               start + page - 1);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            return SYNCQ_OK;
        }
        rc = consider(L, r->element, r->elements, err);
        {
            size_t got = r->elements;
            freeReplyObject(r);
            if (rc != SYNCQ_OK || got < (size_t)page) {
                return rc;
            }
        }
        if (start > 1000000) {
            return SYNCQ_OK; /* bound the scan */
        }
    }
    return SYNCQ_OK;
}

int
syncq_task_list(syncq_client *c, const syncq_task_filter *f, json_t **out,
                syncq_error *err)
{
    syncq_task_filter none = {0};
    struct lister L;
    char key[256];
    redisReply *qs = NULL;
    int rc;
    bool want_pending, want_active, want_final, want_dead, want_delayed;

    *out = NULL;
    if (f == NULL) {
        f = &none;
    }
    if (f->state != NULL && sq_task_state_parse(f->state) < 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "unknown state '%.32s' (PENDING RECEIVED STARTED "
                       "PROGRESS RETRY SUCCESS FAILURE REVOKED EXPIRED "
                       "SKIPPED DEAD)",
                       f->state);
    }
    if (f->queue != NULL && syncq_queue_name_check(f->queue, err) != 0) {
        return SYNCQ_EINVAL;
    }
    L.c = c;
    L.f = f;
    L.skipped = 0;
    L.limit = f->limit ? f->limit : 100;
    L.out = json_array();
    if (L.out == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    want_pending = !f->state || !strcmp(f->state, "PENDING");
    want_delayed = want_pending || !strcmp(f->state, "RETRY");
    want_active = !f->state || !strcmp(f->state, "RECEIVED") ||
                  !strcmp(f->state, "STARTED") ||
                  !strcmp(f->state, "PROGRESS");
    /* the DLQ holds DEAD tasks and FAILURE ones dead-lettered by their
     * retry policy (not in the recent list) */
    want_dead = !f->state || !strcmp(f->state, "DEAD") ||
                !strcmp(f->state, "FAILURE");
    want_final = !f->state ||
                 (sq_state_is_final(f->state) && strcmp(f->state, "DEAD") != 0);

    rc = SYNCQ_OK;
    if (want_active) {
        rc = scan_source(&L, "ZRANGE", sq_key(c, key, sizeof key, "active"),
                         err);
    }
    if (rc == SYNCQ_OK && want_pending) {
        rc = sq_client_cmd(c, &qs, err, "SMEMBERS %s",
                           sq_key(c, key, sizeof key, "queues"));
        for (size_t i = 0; rc == SYNCQ_OK && qs && i < qs->elements; i++) {
            if (f->queue && strcmp(f->queue, qs->element[i]->str) != 0) {
                continue;
            }
            for (int pri = 10; pri >= 0 && rc == SYNCQ_OK; pri--) {
                /* LRANGE from the consumer's end is not possible; list
                 * the queue in storage order (newest first). */
                rc = scan_source(&L, "LRANGE",
                                 sq_key(c, key, sizeof key, "q:%s:%d",
                                        qs->element[i]->str, pri),
                                 err);
            }
        }
        freeReplyObject(qs);
    }
    if (rc == SYNCQ_OK && want_delayed) {
        rc = scan_source(&L, "ZRANGE", sq_key(c, key, sizeof key, "delayed"),
                         err);
    }
    if (rc == SYNCQ_OK && want_final) {
        rc = scan_source(&L, "LRANGE", sq_key(c, key, sizeof key, "recent"),
                         err);
    }
    if (rc == SYNCQ_OK && want_dead) {
        /* newest death first, as the recent list is newest first */
        rc = scan_source(&L, "ZREVRANGE", sq_key(c, key, sizeof key, "dlq"),
                         err);
    }
    if (rc != SYNCQ_OK) {
        json_decref(L.out);
        return rc;
    }
    *out = L.out;
    return SYNCQ_OK;
}

int
syncq_task_revoke(syncq_client *c, const char *id, const char *who,
                  int *outcome, char state_out[16], syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    int rc;
    const char *what;

    if (outcome != NULL) {
        *outcome = -1;
    }
    if (state_out != NULL) {
        state_out[0] = '\0';
    }
    rc = check_id(id, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_args_init(&a);
    sq_args_add(&a, id);
    sq_args_add(&a, who != NULL ? who : "api");
    rc = sq_script_call(c, SQ_SCRIPT_REVOKE, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "revoke: unexpected reply");
    }
    what = r->element[0]->str;
    if (state_out != NULL && r->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(state_out, 16, "%s", r->element[1]->str);
    }
    if (strcmp(what, "unknown") == 0) {
        rc = sq_fail(err, SYNCQ_ENOTFOUND,
                     "no task %s (unknown id, or its result expired)", id);
    } else if (outcome != NULL) {
        *outcome = strcmp(what, "requested") == 0 ? SYNCQ_REVOKE_REQUESTED
                   : strcmp(what, "final") == 0   ? SYNCQ_REVOKE_FINAL
                                                  : SYNCQ_REVOKE_DONE;
    }
    freeReplyObject(r);
    return rc;
}

int
syncq_task_wait(syncq_client *c, const char *id, int64_t timeout_ms,
                json_t **out, syncq_error *err)
{
    int64_t deadline = sq_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int64_t delay = 1;

    if (out != NULL) {
        *out = NULL;
    }
    for (;;) {
        json_t *t = NULL;
        int rc = syncq_task_info(c, id, &t, err);
        const char *state;
        if (rc == SYNCQ_ECONN &&
            (timeout_ms < 0 || sq_mono_ms() < deadline)) {
            /* Redis is away: keep waiting (the client reconnects with
             * backoff and logs the outage once). */
            sq_sleep_ms(100);
            continue;
        }
        if (rc != SYNCQ_OK) {
            return rc;
        }
        state = json_string_value(json_object_get(t, "state"));
        if (sq_state_is_final(state)) {
            if (out != NULL) {
                *out = t;
            } else {
                json_decref(t);
            }
            return SYNCQ_OK;
        }
        if (timeout_ms >= 0 && sq_mono_ms() >= deadline) {
            if (out != NULL) {
                *out = t;
            } else {
                json_decref(t);
            }
            return sq_fail(err, SYNCQ_ETIMEDOUT,
                           "task %s still %s after %lld ms", id,
                           state ? state : "?", (long long)timeout_ms);
        }
        json_decref(t);
        sq_sleep_ms(delay);
        delay = delay * 2 > 100 ? 100 : delay * 2;
    }
}

/* SYNCQ_OK when task `id`'s record exists, else SYNCQ_ENOTFOUND. */
static int
root_exists(syncq_client *c, const char *id, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    int rc = sq_client_cmd(c, &r, err, "EXISTS %s",
                           sq_key(c, key, sizeof key, "t:%s", id));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? SYNCQ_OK
                                                            : SYNCQ_ENOTFOUND;
    freeReplyObject(r);
    if (rc != SYNCQ_OK) {
        return sq_fail(err, rc, "no task or workflow %s", id);
    }
    return SYNCQ_OK;
}

int
syncq_workflow_info(syncq_client *c, const char *root_id, json_t **out,
                    syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    json_t *o, *by;
    long long total = 0, done = 0, failed = 0;
    int rc;

    *out = NULL;
    rc = check_id(root_id, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_client_cmd(c, &r, err, "HGETALL %s",
                       sq_key(c, key, sizeof key, "r:%s", root_id));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        /* no descendants counted: a tree only if its root task exists
         * (an id nobody created must not read as an empty tree) */
        freeReplyObject(r);
        rc = root_exists(c, root_id, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        r = NULL;
    }
    o = json_object();
    by = json_object();
    for (size_t i = 0; r != NULL && i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str;
        long long v = strtoll(r->element[i + 1]->str, NULL, 10);
        const char *bar = strchr(f, '|');
        if (bar == NULL) {
            if (strcmp(f, "total") == 0) {
                total = v;
            } else if (strcmp(f, "done") == 0) {
                done = v;
            } else if (strcmp(f, "failed") == 0) {
                failed = v;
            }
        } else {
            char field[16];
            json_t *t = json_object_get(by, bar + 1);
            size_t n = (size_t)(bar - f) < sizeof field - 1
                           ? (size_t)(bar - f)
                           : sizeof field - 1;
            memcpy(field, f, n);
            field[n] = '\0';
            if (t == NULL) {
                t = json_pack("{s:I,s:I,s:I}", "total", (json_int_t)0, "done",
                              (json_int_t)0, "failed", (json_int_t)0);
                json_object_set_new(by, bar + 1, t);
            }
            json_object_set_new(t, field, json_integer(v));
        }
    }
    freeReplyObject(r); /* NULL-safe */
    {
        const char *name;
        json_t *t;
        json_object_foreach(by, name, t) {
            json_object_set_new(
                t, "pending",
                json_integer(json_integer_value(json_object_get(t, "total")) -
                             json_integer_value(json_object_get(t, "done")) -
                             json_integer_value(
                                 json_object_get(t, "failed"))));
        }
    }
    json_object_set_new(o, "root_id", json_string(root_id));
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "done", json_integer(done));
    json_object_set_new(o, "failed", json_integer(failed));
    json_object_set_new(o, "pending", json_integer(total - done - failed));
    json_object_set_new(o, "by_task", by);
    *out = o;
    return SYNCQ_OK;
}
