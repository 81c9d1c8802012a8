/* SPDX-License-Identifier: MIT
 *
 * broker_batch_info.c: reading batches back (syncq/batch.h): one batch's
 * counts (syncq_batch_info), its progress through the waves
 * (syncq_batch_progress) and the newest batches (syncq_batch_list). Only
 * reads; completion itself is decided in Lua when a chunk ends.
 */
#include "broker/broker_batch.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
syncq_batch_info(syncq_client *c, const char *id, json_t **out,
                 syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    json_t *o;
    long long total = 0, done = 0, failed = 0;
    int rc;

    *out = NULL;
    if (id == NULL || id[0] == '\0' || strlen(id) > 64) {
        return sq_fail(err, SYNCQ_EINVAL, "bad batch id");
    }
    rc = sq_client_cmd(c, &r, err, "HGETALL %s",
                       sq_key(c, key, sizeof key, "b:%s", id));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_ENOTFOUND, "no batch %s", id);
    }
    o = json_object();
    json_object_set_new(o, "id", json_string(id));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str;
        const char *v = r->element[i + 1]->str;
        char buf[40];
        if (!strcmp(f, "total")) {
            total = strtoll(v, NULL, 10);
        } else if (!strcmp(f, "done")) {
            done = strtoll(v, NULL, 10);
        } else if (!strcmp(f, "failed")) {
            failed = strtoll(v, NULL, 10);
        } else if (!strcmp(f, "items")) {
            json_object_set_new(o, "items", json_integer(strtoll(v, NULL, 10)));
        } else if (!strcmp(f, "task")) {
            json_object_set_new(o, "task", json_string(v));
        } else if (!strcmp(f, "created_at") || !strcmp(f, "started_at") ||
                   !strcmp(f, "finished_at")) {
            json_object_set_new(o, f,
                                json_string(sq_time_format_iso8601_ms(
                                    strtoll(v, NULL, 10), buf, sizeof buf)));
        } else if (!strcmp(f, "cb_name")) {
            json_object_set_new(o, "on_complete", json_string(v));
        } else if (!strcmp(f, "cb_id")) {
            json_object_set_new(o, "on_complete_id", json_string(v));
        } else if (!strcmp(f, "running")) {
            json_object_set_new(o, "running",
                                json_integer(strtoll(v, NULL, 10)));
        } else if (!strcmp(f, "dispatched")) {
            json_object_set_new(o, "dispatched",
                                json_integer(strtoll(v, NULL, 10)));
        }
    }
    freeReplyObject(r);
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "done", json_integer(done));
    json_object_set_new(o, "failed", json_integer(failed));
    json_object_set_new(o, "pending", json_integer(total - done - failed));
    json_object_set_new(
        o, "finished", json_boolean(json_object_get(o, "finished_at") != NULL));
    *out = o;
    return SYNCQ_OK;
}

int
syncq_batch_progress(syncq_client *c, const char *id, json_t **out,
                     syncq_error *err)
{
    char key[256], qkey[256];
    redisReply *r = NULL, *l = NULL;
    json_t *o = NULL;
    int64_t total, done, failed, dispatched;
    const char *f[8];
    bool waves;
    int rc;

    *out = NULL;
    rc = sq_batch_id_check(id, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = syncq_batch_info(c, id, &o, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_client_cmd(c, &r, err,
                       "HMGET %s waves state dispatched max_inflight rate_n "
                       "rate_ms fail_fast cancelled",
                       sq_key(c, key, sizeof key, "b:%s", id));
    if (rc == SYNCQ_OK) {
        rc = sq_client_cmd(c, &l, err, "LLEN %s",
                           sq_key(c, qkey, sizeof qkey, "bq:%s", id));
    }
    if (rc != SYNCQ_OK || r->type != REDIS_REPLY_ARRAY || r->elements != 8 ||
        l->type != REDIS_REPLY_INTEGER) {
        if (rc == SYNCQ_OK) {
            rc = sq_fail(err, SYNCQ_EPROTO, "batch %s: unexpected reply", id);
        }
        goto done;
    }
    total = json_integer_value(json_object_get(o, "total"));
    done = json_integer_value(json_object_get(o, "done"));
    failed = json_integer_value(json_object_get(o, "failed"));
    for (size_t i = 0; i < 8; i++) {
        f[i] =
            r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
    }
    waves = strcmp(f[0], "1") == 0;
    dispatched = waves ? strtoll(f[2], NULL, 10) : total;
    json_object_set_new(o, "dispatched", json_integer(dispatched));
    json_object_set_new(o, "waiting", json_integer(l->integer));
    json_object_set_new(o, "running",
                        json_integer(dispatched - done - failed > 0
                                         ? dispatched - done - failed
                                         : 0));
    json_object_set_new(
        o, "state",
        json_string(json_object_get(o, "finished_at")        ? "finished"
                    : waves && strcmp(f[1], "creating") == 0 ? "creating"
                                                             : "running"));
    if (waves) {
        int64_t mi = strtoll(f[3], NULL, 10);
        int64_t rn = strtoll(f[4], NULL, 10);
        int64_t rp = f[5][0] ? strtoll(f[5], NULL, 10) : 1000;
        json_object_set_new(o, "max_in_flight",
                            mi > 0 ? json_integer(mi) : json_null());
        if (rn > 0) {
            char rate[48];
            if (rp == 1000 || rp == 60000 || rp == 3600000) {
                snprintf(rate, sizeof rate, "%lld/%s", (long long)rn,
                         rp == 1000    ? "s"
                         : rp == 60000 ? "m"
                                       : "h");
            } else {
                snprintf(rate, sizeof rate, "%lld per %lld ms", (long long)rn,
                         (long long)rp);
            }
            json_object_set_new(o, "rate", json_string(rate));
        } else {
            json_object_set_new(o, "rate", json_null());
        }
        json_object_set_new(o, "fail_fast",
                            json_boolean(strcmp(f[6], "1") == 0));
        if (f[7][0] != '\0') {
            json_object_set_new(o, "cancelled",
                                json_integer(strtoll(f[7], NULL, 10)));
        }
    }
    *out = o;
    o = NULL;
done:
    json_decref(o);
    if (r != NULL) {
        freeReplyObject(r);
    }
    if (l != NULL) {
        freeReplyObject(l);
    }
    return rc;
}

int
syncq_batch_list(syncq_client *c, size_t offset, size_t limit, json_t **out,
                 syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    json_t *list;
    int rc;

    *out = NULL;
    if (limit == 0) {
        limit = 50;
    }
    if (limit > 10000) {
        limit = 10000;
    }
    rc = sq_client_cmd(c, &r, err, "ZREVRANGE %s %lld %lld",
                       sq_key(c, key, sizeof key, "batches"), (long long)offset,
                       (long long)(offset + limit - 1));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "ZREVRANGE: unexpected reply");
    }
    list = json_array();
    for (size_t i = 0; i < r->elements && rc == SYNCQ_OK; i++) {
        json_t *b = NULL;
        if (r->element[i]->str == NULL) {
            continue;
        }
        rc = syncq_batch_progress(c, r->element[i]->str, &b, err);
        if (rc == SYNCQ_ENOTFOUND || rc == SYNCQ_EINVAL) {
            rc = SYNCQ_OK; /* indexed but gone: skip */
            continue;
        }
        if (rc == SYNCQ_OK) {
            json_array_append_new(list, b);
        }
    }
    freeReplyObject(r);
    if (rc != SYNCQ_OK) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return SYNCQ_OK;
}
