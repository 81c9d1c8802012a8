/* SPDX-License-Identifier: MIT
 *
 * celery_kombu.c: kombu's Redis transport, consumer side (celery_kombu.h).
 * Key names and transactions are kombu 5.2's (virtual/redis.py), so a
 * Python worker and syncq share the same queues, the same unacked
 * bookkeeping and the same restore lock.
 */
#include "celery/celery_kombu.h"
#include "celery/celery_message.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>

#define UNACKED "unacked"
#define UNACKED_INDEX "unacked_index"
#define UNACKED_MUTEX "unacked_mutex"
#define MUTEX_TTL_MS "300000" /* kombu's unacked_mutex_expire */

size_t
sq_kombu_keys(const struct sq_kombu *k, char (*keys)[160], size_t cap)
{
    size_t n = 0;

    for (size_t s = 0; s < k->nsteps; s++) {
        for (size_t q = 0; q < k->nqueues && n < cap; q++) {
            /* the step list of priority steps[s] is that step's own key */
            sq_celery_queue_key(k->queues[q], k->steps[s], k->steps,
                                k->nsteps, keys[n++], 160);
        }
    }
    return n;
}

bool
sq_kombu_queue_of(const struct sq_kombu *k, const char *key, char out[101])
{
    char buf[160];

    for (size_t q = 0; q < k->nqueues; q++) {
        for (size_t s = 0; s < k->nsteps; s++) {
            sq_celery_queue_key(k->queues[q], k->steps[s], k->steps,
                                k->nsteps, buf, sizeof buf);
            if (strcmp(buf, key) == 0) {
                snprintf(out, 101, "%s", k->queues[q]);
                return true;
            }
        }
    }
    return false;
}

void
sq_kombu_rotate(struct sq_kombu *k, const char *queue)
{
    char tmp[101];

    for (size_t i = 0; i + 1 < k->nqueues; i++) {
        if (strcmp(k->queues[i], queue) == 0) {
            memcpy(tmp, k->queues[i], sizeof tmp);
            memmove(k->queues[i], k->queues[i + 1],
                    (k->nqueues - i - 1) * sizeof k->queues[0]);
            memcpy(k->queues[k->nqueues - 1], tmp, sizeof tmp);
            return;
        }
    }
}

/* "[<envelope>, exchange, routing_key]" as kombu stores it (owned). */
static char *
unacked_value(const char *raw, size_t len, const char *exchange,
              const char *routing_key)
{
    json_t *ex = json_string(exchange != NULL ? exchange : "");
    json_t *rk = routing_key != NULL ? json_string(routing_key) : json_null();
    char *exs = json_dumps(ex, JSON_ENCODE_ANY);
    char *rks = json_dumps(rk, JSON_ENCODE_ANY);
    char *out = NULL;

    if (exs != NULL && rks != NULL) {
        size_t n = len + strlen(exs) + strlen(rks) + 8;
        out = sq_malloc(n);
        if (out != NULL) {
            snprintf(out, n, "[%.*s, %s, %s]", (int)len, raw, exs, rks);
        }
    }
    sq_free(exs);
    sq_free(rks);
    json_decref(ex);
    json_decref(rk);
    return out;
}

const char *
sq_kombu_now(char buf[32])
{
    snprintf(buf, 32, "%.6f", (double)sq_now_ms() / 1000.0);
    return buf;
}

int
sq_kombu_unacked_cmds(const char *tag, const char *raw, size_t len,
                      const char *exchange, const char *routing_key,
                      const char *now_s, struct sq_rcmd cmd[2], char **val,
                      syncq_error *err)
{
    *val = unacked_value(raw, len, exchange, routing_key);
    if (*val == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory (unacked entry)");
    }
    sq_rcmd_set(&cmd[0], "ZADD", UNACKED_INDEX, now_s, tag, NULL);
    sq_rcmd_set(&cmd[1], "HSET", UNACKED, tag, *val, NULL);
    return SYNCQ_OK;
}

void
sq_kombu_ack_cmds(const char *tag, struct sq_rcmd cmd[2])
{
    sq_rcmd_set(&cmd[0], "ZREM", UNACKED_INDEX, tag, NULL);
    sq_rcmd_set(&cmd[1], "HDEL", UNACKED, tag, NULL);
}

/* The envelope with the redelivered flags kombu sets on a restore. */
static char *
mark_redelivered(json_t *env)
{
    json_t *h = json_object_get(env, "headers");
    json_t *di = json_object_get(json_object_get(env, "properties"),
                                 "delivery_info");

    if (json_is_object(h)) {
        json_object_set_new(h, "redelivered", json_true());
    }
    if (json_is_object(di)) {
        json_object_set_new(di, "redelivered", json_true());
    }
    return json_dumps(env, JSON_COMPACT);
}

/* Target list of a restored message: the routing key for the default
 * exchange (kombu's _lookup); for a named exchange the first bound queue
 * whose routing key matches (SMEMBERS _kombu.binding.<exchange>). */
static void
restore_target(syncq_client *c, const char *exchange, const char *rk,
               char out[256])
{
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    char bkey[300];

    snprintf(out, 256, "%s", rk != NULL ? rk : "");
    if (exchange == NULL || exchange[0] == '\0') {
        return;
    }
    snprintf(bkey, sizeof bkey, "_kombu.binding.%s", exchange);
    sq_rcmd_set(&cmd, "SMEMBERS", bkey, NULL);
    if (sq_celery_pipeline(c, false, &cmd, 1, &r, NULL) == SYNCQ_OK &&
        r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            const char *row = r->element[i]->str;
            const char *sep = row != NULL ? strstr(row, SQ_CELERY_SEP) : NULL;
            const char *q = sep != NULL ? strstr(sep + 2, SQ_CELERY_SEP)
                                        : NULL;
            if (q != NULL && rk != NULL &&
                (size_t)(sep - row) == strlen(rk) &&
                strncmp(row, rk, strlen(rk)) == 0) {
                snprintf(out, 256, "%s", q + 2);
                break;
            }
        }
    }
    freeReplyObject(r);
}

/* kombu's restore_by_tag: WATCH unacked; HGET; MULTI; ZREM; HDEL; RPUSH;
 * EXEC. Returns 1 when a message was put back, 0 if it was gone. */
static int
restore_one(syncq_client *c, const char *tag, syncq_error *err)
{
    struct sq_rcmd cmd[3];
    redisReply *r[2] = {NULL, NULL};
    json_t *entry = NULL;
    char *msg = NULL;
    char target[256];
    int rc, n = 2;

    sq_rcmd_set(&cmd[0], "WATCH", UNACKED, NULL);
    sq_rcmd_set(&cmd[1], "HGET", UNACKED, tag, NULL);
    rc = sq_celery_pipeline(c, false, cmd, 2, r, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r[1]->type == REDIS_REPLY_STRING) {
        entry = json_loadb(r[1]->str, r[1]->len, 0, NULL);
    }
    freeReplyObject(r[0]);
    freeReplyObject(r[1]);
    r[0] = NULL;
    if (json_is_array(entry) && json_is_object(json_array_get(entry, 0))) {
        restore_target(c, json_string_value(json_array_get(entry, 1)),
                       json_string_value(json_array_get(entry, 2)), target);
        msg = mark_redelivered(json_array_get(entry, 0));
    }
    sq_rcmd_set(&cmd[0], "ZREM", UNACKED_INDEX, tag, NULL);
    sq_rcmd_set(&cmd[1], "HDEL", UNACKED, tag, NULL);
    if (msg != NULL && target[0] != '\0') {
        sq_rcmd_set(&cmd[2], "RPUSH", target, msg, NULL);
        n = 3;
    } else if (entry != NULL) {
        SQ_WARN("celery.restore_dropped", "delivery_tag=%s err=\"unacked "
                "entry is not [message, exchange, routing_key]\"", tag);
    }
    rc = sq_celery_pipeline(c, true, cmd, (size_t)n, &r[0], err);
    if (rc == SYNCQ_OK) {
        rc = r[0]->type == REDIS_REPLY_ARRAY && n == 3 ? 1 : 0;
    }
    freeReplyObject(r[0]);
    sq_free(msg);
    json_decref(entry);
    return rc;
}

static void
unlock(syncq_client *c, const char *token)
{
    struct sq_rcmd cmd[2];
    redisReply *r[2] = {NULL, NULL};

    sq_rcmd_set(&cmd[0], "WATCH", UNACKED_MUTEX, NULL);
    sq_rcmd_set(&cmd[1], "GET", UNACKED_MUTEX, NULL);
    if (sq_celery_pipeline(c, false, cmd, 2, r, NULL) != SYNCQ_OK) {
        return; /* the lock lapses by itself */
    }
    if (r[1]->type == REDIS_REPLY_STRING && strcmp(r[1]->str, token) == 0) {
        freeReplyObject(r[0]);
        r[0] = NULL;
        sq_rcmd_set(&cmd[0], "DEL", UNACKED_MUTEX, NULL);
        sq_celery_pipeline(c, true, cmd, 1, &r[0], NULL);
    } else {
        freeReplyObject(r[0]);
        r[0] = NULL;
        sq_rcmd_set(&cmd[0], "UNWATCH", NULL);
        sq_celery_pipeline(c, false, cmd, 1, &r[0], NULL);
    }
    freeReplyObject(r[0]);
    freeReplyObject(r[1]);
}

int
sq_kombu_restore(syncq_client *c, const struct sq_kombu *k, int limit,
                 int *restored, syncq_error *err)
{
    char token[37], ceil[32], lim[16];
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    int rc, n = 0;

    if (restored != NULL) {
        *restored = 0;
    }
    sq_uuid_new(token);
    sq_rcmd_set(&cmd, "SET", UNACKED_MUTEX, token, "NX", "PX", MUTEX_TTL_MS,
                NULL);
    rc = sq_celery_pipeline(c, false, &cmd, 1, &r, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_STATUS) {
        freeReplyObject(r);
        return SYNCQ_OK; /* another worker is restoring */
    }
    freeReplyObject(r);
    r = NULL;
    snprintf(ceil, sizeof ceil, "%.6f",
             (double)(sq_now_ms() - k->visibility_ms) / 1000.0);
    snprintf(lim, sizeof lim, "%d", limit);
    sq_rcmd_set(&cmd, "ZREVRANGEBYSCORE", UNACKED_INDEX, ceil, "0", "LIMIT",
                "0", lim, NULL);
    rc = sq_celery_pipeline(c, false, &cmd, 1, &r, err);
    if (rc == SYNCQ_OK && r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements && rc >= 0; i++) {
            if (r->element[i]->type != REDIS_REPLY_STRING) {
                continue;
            }
            rc = restore_one(c, r->element[i]->str, err);
            if (rc == 1) {
                n++;
                SQ_INFO("celery.restored", "delivery_tag=%s",
                        r->element[i]->str);
            }
        }
    }
    freeReplyObject(r);
    unlock(c, token);
    if (restored != NULL) {
        *restored = n;
    }
    return rc < 0 ? rc : SYNCQ_OK;
}
