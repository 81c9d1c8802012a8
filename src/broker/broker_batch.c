/* SPDX-License-Identifier: MIT
 *
 * broker_batch.c: batches (the seed's create_batch_task): items split
 * into chunks, one task per chunk, linked to a batch record whose
 * completion callback fires exactly once (batch.lua, lib.lua).
 */
#include "beat/beat_batch.h"
#include "broker/broker.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_id.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_CALL 1000 /* chunk tasks per script call */

int sq_enqueue_prepare_run(syncq_client *c, struct sq_args *a,
                           const char *name, const char *args_json,
                           const char *kwargs_json,
                           const syncq_task_options *o,
                           char id_out[SYNCQ_ID_SIZE], syncq_error *err);

/* kwargs of chunk [lo, hi): {"items": [...], ...extra}. Owned string. */
static char *
chunk_kwargs(json_t *items, size_t lo, size_t hi, json_t *extra)
{
    json_t *kw = extra ? json_deep_copy(extra) : json_object();
    json_t *part = json_array();
    char *s;

    if (kw == NULL || part == NULL) {
        json_decref(kw);
        json_decref(part);
        return NULL;
    }
    for (size_t i = lo; i < hi; i++) {
        json_array_append(part, json_array_get(items, i));
    }
    json_object_set_new(kw, "items", part);
    s = json_dumps(kw, JSON_COMPACT);
    json_decref(kw);
    return s;
}

/* A batch of more chunks than one script call takes. Enqueueing them over
 * several calls would let the first chunks run in a batch that can never
 * finish if the creator died between calls; instead every chunk is stored
 * first (batch_dispatch.lua: the batch stays "creating" until the last one
 * is in) and then sent, 1,000 per atomic call. Chunks stored but not sent
 * yet are safe in Redis: the leader beat sends them if this process dies.
 * Such a batch takes no countdown, eta, expires or unique key. */
static int
create_large(syncq_client *c, const char *task_name, json_t *items,
             size_t batch_size, const syncq_batch_options *opts,
             char batch_id_out[SYNCQ_ID_SIZE], json_t **task_ids_out,
             syncq_error *err)
{
    char id[SYNCQ_ID_SIZE];
    json_t *ids = json_array();
    int64_t sent = 1, next = 0;
    int rc;

    if (ids == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_batch_submit_items(c, task_name, items, batch_size, opts, NULL,
                               id, ids, err);
    while (rc == SYNCQ_OK && sent > 0 && next >= 0) {
        rc = syncq_batch_dispatch(c, id, &sent, &next, err);
    }
    if (rc == SYNCQ_OK) {
        if (batch_id_out != NULL) {
            memcpy(batch_id_out, id, SYNCQ_ID_SIZE);
        }
        if (task_ids_out != NULL) {
            *task_ids_out = ids;
            ids = NULL;
        }
    }
    json_decref(ids);
    return rc;
}

int
syncq_batch_create(syncq_client *c, const char *task_name,
                   const char *items_json, size_t batch_size,
                   const syncq_batch_options *opts,
                   char batch_id_out[SYNCQ_ID_SIZE], json_t **task_ids_out,
                   syncq_error *err)
{
    json_error_t jerr;
    json_t *items = NULL;
    json_t *extra = NULL;
    json_t *ids = NULL;
    syncq_task_options o;
    char batch_id[SYNCQ_ID_SIZE];
    char cb_id[SYNCQ_ID_SIZE] = "";
    char cb_name[256] = "";
    const char *cb_queue = "";
    size_t nitems, nchunks;
    int rc = SYNCQ_OK;

    if (task_ids_out != NULL) {
        *task_ids_out = NULL;
    }
    if (batch_size == 0 || batch_size > 100000) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch size %zu out of range 1..100000", batch_size);
    }
    items = json_loads(items_json ? items_json : "", JSON_ALLOW_NUL, &jerr);
    if (items == NULL || !json_is_array(items)) {
        json_decref(items);
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch items must be a JSON array%s%s",
                       items == NULL ? ": " : "",
                       items == NULL ? jerr.text : "");
    }
    if ((json_array_size(items) + batch_size - 1) / batch_size > CHUNK_CALL) {
        rc = create_large(c, task_name, items, batch_size, opts, batch_id_out,
                          task_ids_out, err);
        json_decref(items);
        return rc;
    }
    if (opts != NULL && opts->kwargs_json != NULL) {
        extra = json_loads(opts->kwargs_json, 0, &jerr);
        if (extra == NULL || !json_is_object(extra)) {
            json_decref(items);
            json_decref(extra);
            return sq_fail(err, SYNCQ_EINVAL,
                           "batch kwargs must be a JSON object");
        }
        if (json_object_get(extra, "items") != NULL) {
            json_decref(items);
            json_decref(extra);
            return sq_fail(err, SYNCQ_EINVAL,
                           "batch kwargs must not contain 'items' (the "
                           "chunk goes there)");
        }
    }
    if (opts != NULL && opts->on_complete != NULL) {
        rc = syncq_task_name_normalize(opts->on_complete, cb_name,
                                       sizeof cb_name, err);
        if (rc == SYNCQ_OK) {
            cb_queue = opts->on_complete_queue
                           ? opts->on_complete_queue
                           : sq_route_queue(c, cb_name);
            rc = syncq_queue_name_check(cb_queue, err);
        }
        if (rc != SYNCQ_OK) {
            json_decref(items);
            json_decref(extra);
            sq_error_prefix(err, "on_complete");
            return rc;
        }
        sq_uuid_new(cb_id);
    }
    nitems = json_array_size(items);
    nchunks = (nitems + batch_size - 1) / batch_size;
    ids = json_array();
    sq_uuid_new(batch_id);
    if (opts != NULL && opts->task != NULL) {
        o = *opts->task;
    } else {
        syncq_task_options_init(&o);
    }
    o.batch_id = batch_id;
    o.task_id = NULL;
    o.unique_key = NULL;

    for (size_t k = 0; rc == SYNCQ_OK && (k < nchunks || k == 0);
         k += CHUNK_CALL) {
        struct sq_args a;
        redisReply *r = NULL;
        size_t hi = k + CHUNK_CALL < nchunks ? k + CHUNK_CALL : nchunks;
        sq_args_init(&a);
        if (k == 0) {
            sq_args_add(&a, batch_id);
            sq_args_add(&a, task_name);
            sq_args_addll(&a, (long long)nchunks);
            sq_args_addll(&a, (long long)nitems);
            sq_args_add(&a, cb_id);
            sq_args_add(&a, cb_name);
            sq_args_add(&a, cb_queue);
            sq_args_add(&a, "");
        }
        sq_args_addll(&a, (long long)(hi - k));
        for (size_t ch = k; ch < hi && rc == SYNCQ_OK; ch++) {
            size_t lo = ch * batch_size;
            size_t up = lo + batch_size < nitems ? lo + batch_size : nitems;
            char *kw = chunk_kwargs(items, lo, up, extra);
            char tid[SYNCQ_ID_SIZE];
            if (kw == NULL) {
                rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
                break;
            }
            rc = sq_enqueue_prepare_run(c, &a, task_name, NULL, kw, &o, tid,
                                        err);
            sq_free(kw);
            if (rc != SYNCQ_OK) {
                char pre[48];
                snprintf(pre, sizeof pre, "chunk %zu", ch);
                sq_error_prefix(err, pre);
            }
        }
        if (rc == SYNCQ_OK) {
            rc = sq_script_call(c, k == 0 ? SQ_SCRIPT_BATCH
                                          : SQ_SCRIPT_ENQUEUE,
                                &a, &r, err);
        }
        if (rc == SYNCQ_OK && r->type == REDIS_REPLY_ARRAY) {
            for (size_t i = 0; i + 1 < r->elements; i += 2) {
                json_array_append_new(ids, json_string(r->element[i]->str));
            }
        }
        freeReplyObject(r);
        sq_args_cleanup(&a);
        if (nchunks == 0) {
            break;
        }
    }
    json_decref(items);
    json_decref(extra);
    if (rc == SYNCQ_OK) {
        if (batch_id_out != NULL) {
            memcpy(batch_id_out, batch_id, SYNCQ_ID_SIZE);
        }
        if (task_ids_out != NULL) {
            *task_ids_out = ids;
            ids = NULL;
        }
    }
    json_decref(ids);
    return rc;
}

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
            json_object_set_new(o, f, json_string(sq_time_format_iso8601_ms(
                                          strtoll(v, NULL, 10), buf,
                                          sizeof buf)));
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
    json_object_set_new(o, "finished",
                        json_boolean(json_object_get(o, "finished_at") != NULL));
    *out = o;
    return SYNCQ_OK;
}
