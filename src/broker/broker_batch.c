/* SPDX-License-Identifier: MIT
 *
 * broker_batch.c: creating batches (the seed's create_batch_task, public
 * API in syncq/batch.h): the items file parser, and items split into
 * chunks, one task per chunk, linked to a batch record whose completion
 * task fires exactly once (batch.lua, lib.lua). Batches of up to 1,000
 * chunks go out in one atomic call; larger ones and batches in waves are
 * broker_batch_wave.c's. Progress and listing: broker_batch_info.c.
 */
#include "broker/broker_batch.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sq_batch_items_load(const char *items_json, json_t **out, syncq_error *err)
{
    json_error_t jerr;
    json_t *items;

    *out = NULL;
    items = json_loads(items_json ? items_json : "", JSON_ALLOW_NUL, &jerr);
    if (items == NULL || !json_is_array(items)) {
        json_decref(items);
        return sq_fail(
            err, SYNCQ_EINVAL, "batch items must be a JSON array%s%s",
            items == NULL ? ": " : "", items == NULL ? jerr.text : "");
    }
    *out = items;
    return SYNCQ_OK;
}

int
sq_batch_extra_and_completion(syncq_client *c, const syncq_batch_options *opts,
                              const char *items_key, json_t **extra,
                              char cb_name[256],
                              const char **cb_queue, char cb_id[SYNCQ_ID_SIZE],
                              syncq_error *err)
{
    json_t *x = NULL;
    int rc = SYNCQ_OK;

    *extra = NULL;
    if (opts != NULL && opts->kwargs_json != NULL) {
        x = json_loads(opts->kwargs_json, 0, NULL);
        if (x == NULL || !json_is_object(x)) {
            json_decref(x);
            return sq_fail(err, SYNCQ_EINVAL,
                           "batch kwargs must be a JSON object");
        }
        if (json_object_get(x, items_key) != NULL) {
            json_decref(x);
            return sq_fail(err, SYNCQ_EINVAL,
                           "batch kwargs must not contain '%s' (each "
                           "chunk's items go there)", items_key);
        }
    }
    if (opts != NULL && opts->on_complete != NULL) {
        rc = syncq_task_name_normalize(opts->on_complete, cb_name, 256, err);
        if (rc == SYNCQ_OK) {
            *cb_queue = opts->on_complete_queue ? opts->on_complete_queue
                                                : sq_route_queue(c, cb_name);
            rc = syncq_queue_name_check(*cb_queue, err);
        }
        if (rc != SYNCQ_OK) {
            json_decref(x);
            sq_error_prefix(err, "on_complete");
            return rc;
        }
        sq_uuid_new(cb_id);
    }
    *extra = x;
    return SYNCQ_OK;
}

char *
sq_batch_chunk_kwargs(json_t *items, size_t lo, size_t hi, json_t *extra,
                      const char *items_key)
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
    json_object_set_new(kw, items_key, part);
    s = json_dumps(kw, JSON_COMPACT);
    json_decref(kw);
    return s;
}

int
sq_batch_own_id(const syncq_batch_options *opts, char id[SYNCQ_ID_SIZE],
                syncq_error *err)
{
    const char *want = opts != NULL ? opts->batch_id : NULL;

    if (opts != NULL && opts->is_dup != NULL) {
        *opts->is_dup = 0;
    }
    if (want == NULL) {
        sq_uuid_new(id);
        return SYNCQ_OK;
    }
    if (!sq_uuid_valid(want)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch id '%.64s' is not a UUID", want);
    }
    snprintf(id, SYNCQ_ID_SIZE, "%s", want);
    return SYNCQ_OK;
}

void
sq_batch_chunk_id(const syncq_batch_options *opts, const char *batch_id,
                  size_t k, char id[SYNCQ_ID_SIZE])
{
    if (opts != NULL && opts->batch_id != NULL) {
        sq_uuid_derive(batch_id, k, id);
    } else {
        sq_uuid_new(id);
    }
}

int
sq_batch_answer_existing(syncq_client *c, const syncq_batch_options *opts,
                         const char *id, json_t *ids, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    long long total;
    int rc;

    rc = sq_client_cmd(c, &r, err, "HMGET %s total state",
                       sq_key(c, key, sizeof key, "b:%s", id));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "batch %s: no total", id);
    }
    total = strtoll(r->element[0]->str, NULL, 10);
    if (r->element[1]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[1]->str, "creating") == 0) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_ESTATE,
                       "batch %s exists but is still being created (by "
                       "another call, or one that stopped midway)",
                       id);
    }
    freeReplyObject(r);
    if (total < 0 || total > SQ_BATCH_ITEMS_MAX) {
        return sq_fail(err, SYNCQ_EPROTO, "batch %s: total %lld", id, total);
    }
    for (long long k = 0; k < total; k++) {
        char tid[SYNCQ_ID_SIZE];
        sq_uuid_derive(id, (size_t)k, tid);
        if (json_array_append_new(ids, json_string(tid)) != 0) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    if (opts->is_dup != NULL) {
        *opts->is_dup = 1;
    }
    return SYNCQ_OK;
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
    rc = syncq_batch_submit_items(c, task_name, items, batch_size, opts, NULL,
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
    json_t *items = NULL;
    json_t *extra = NULL;
    json_t *ids = NULL;
    syncq_task_options o;
    char batch_id[SYNCQ_ID_SIZE];
    char cb_id[SYNCQ_ID_SIZE] = "";
    char cb_name[256] = "";
    const char *cb_queue = "";
    char items_key[SQ_ARG_NAME_MAX + 1];
    size_t nitems, nchunks;
    syncq_error lerr;
    int rc = SYNCQ_OK;

    if (err == NULL) {
        err = &lerr; /* the script's refusal is read back from it */
    }
    if (task_ids_out != NULL) {
        *task_ids_out = NULL;
    }
    if (batch_size == 0 || batch_size > 100000) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch size %zu out of range 1..100000", batch_size);
    }
    rc = sq_batch_items_load(items_json, &items, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if ((json_array_size(items) + batch_size - 1) / batch_size >
        SQ_BATCH_CHUNKS_PER_CALL) {
        rc = create_large(c, task_name, items, batch_size, opts, batch_id_out,
                          task_ids_out, err);
        json_decref(items);
        return rc;
    }
    rc = sq_batch_check(c, task_name, items, batch_size, opts, items_key,
                        NULL, err);
    if (rc == SYNCQ_OK) {
        rc = sq_batch_extra_and_completion(c, opts, items_key, &extra,
                                           cb_name, &cb_queue, cb_id, err);
    }
    if (rc != SYNCQ_OK) {
        json_decref(items);
        return rc;
    }
    nitems = json_array_size(items);
    nchunks = (nitems + batch_size - 1) / batch_size;
    ids = json_array();
    rc = sq_batch_own_id(opts, batch_id, err);
    if (opts != NULL && opts->task != NULL) {
        o = *opts->task;
    } else {
        syncq_task_options_init(&o);
    }
    o.batch_id = batch_id;
    o.task_id = NULL;
    o.unique_key = NULL;

    for (size_t k = 0; rc == SYNCQ_OK && (k < nchunks || k == 0);
         k += SQ_BATCH_CHUNKS_PER_CALL) {
        struct sq_args a;
        redisReply *r = NULL;
        json_t *sent = json_array(); /* the chunk ids of this call */
        size_t hi = k + SQ_BATCH_CHUNKS_PER_CALL < nchunks
                        ? k + SQ_BATCH_CHUNKS_PER_CALL
                        : nchunks;
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
        if (k > 0) {
            /* enqueue.lua: the chunk ids are chosen (derived from the
             * batch id), so each is looked up */
            sq_enqueue_all_chosen(&a, hi - k);
        } else {
            sq_args_addll(&a, (long long)(hi - k));
        }
        for (size_t ch = k; ch < hi && rc == SYNCQ_OK; ch++) {
            size_t lo = ch * batch_size;
            size_t up = lo + batch_size < nitems ? lo + batch_size : nitems;
            char *kw = sq_batch_chunk_kwargs(items, lo, up, extra,
                                             items_key);
            char tid[SYNCQ_ID_SIZE], cid[SYNCQ_ID_SIZE];
            if (kw == NULL) {
                rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
                break;
            }
            sq_batch_chunk_id(opts, batch_id, ch, cid);
            o.task_id = cid;
            rc = sq_enqueue_prepare_run(c, &a, task_name, NULL, kw, &o, tid,
                                        err);
            o.task_id = NULL;
            sq_free(kw);
            if (rc == SYNCQ_OK) {
                json_array_append_new(sent, json_string(tid));
            }
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
            if (rc == SYNCQ_ECONN && k == 0 && opts != NULL &&
                opts->batch_id != NULL) {
                /* the caller's id fences the batch, so a call whose reply
                 * was lost is sent again: it answers the batch it made */
                rc = sq_script_call(c, SQ_SCRIPT_BATCH, &a, &r, err);
            }
            if (rc == SYNCQ_EPROTO && k == 0 && opts != NULL &&
                opts->batch_id != NULL &&
                strstr(err->msg, "batch exists") != NULL) {
                /* an earlier call made it (one atomic call: whole) */
                rc = sq_batch_answer_existing(c, opts, batch_id, ids, err);
                sq_args_cleanup(&a);
                json_decref(sent);
                break;
            }
        }
        if (rc == SYNCQ_OK && sq_enqueue_all_new(r, hi - k)) {
            json_array_extend(ids, sent);
        } else if (rc == SYNCQ_OK && r->type == REDIS_REPLY_ARRAY) {
            for (size_t i = 0; i + 1 < r->elements; i += 2) {
                json_array_append_new(ids, json_string(r->element[i]->str));
            }
        }
        json_decref(sent);
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

/* ---- items ----------------------------------------------------------- */

static bool
blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isspace((unsigned char)p[i])) {
            return false;
        }
    }
    return true;
}

/* A line meant as JSON (an object, array or string) that does not parse
 * is an error, never a text item; other lines (ids, URLs) are text. */
static bool
looks_like_json(const char *p, size_t n)
{
    while (n > 0 && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    return n > 0 && (*p == '{' || *p == '[' || *p == '"');
}

int
syncq_batch_items_parse(const char *text, size_t len, json_t **out,
                        syncq_error *err)
{
    json_error_t jerr;
    json_t *items;
    size_t pos = 0, line = 0;

    *out = NULL;
    if (text == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "no items");
    }
    if (memchr(text, '\0', len) != NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "items contain a NUL byte (binary "
                       "file?)");
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3; /* UTF-8 byte order mark */
        len -= 3;
    }
    while (pos < len && isspace((unsigned char)text[pos])) {
        pos++;
    }
    if (pos < len && text[pos] == '[') {
        items = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
        if (items != NULL && json_is_array(items)) {
            if (json_array_size(items) > SQ_BATCH_ITEMS_MAX) {
                json_decref(items);
                return sq_fail(err, SYNCQ_ETOOBIG, "more than %d items",
                               SQ_BATCH_ITEMS_MAX);
            }
            *out = items;
            return SYNCQ_OK;
        }
        json_decref(items);
        /* Not one array: one item per line, unless the first line is no
         * JSON either (then it was a broken array). */
        {
            size_t e = pos;
            json_t *first;
            while (e < len && text[e] != '\n') {
                e++;
            }
            first = json_loadb(text + pos, e - pos, JSON_DECODE_ANY, NULL);
            if (first == NULL) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "items are not a valid "
                               "JSON array: line %d column %d: %s",
                               jerr.line, jerr.column, jerr.text);
            }
            json_decref(first);
        }
    }
    items = json_array();
    if (items == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    pos = 0;
    while (pos < len) {
        size_t e = pos, n;
        json_t *v;
        line++;
        while (e < len && text[e] != '\n') {
            e++;
        }
        n = e - pos;
        if (n > 0 && text[pos + n - 1] == '\r') {
            n--;
        }
        if (!blank(text + pos, n)) {
            if (json_array_size(items) >= SQ_BATCH_ITEMS_MAX) {
                json_decref(items);
                return sq_fail(err, SYNCQ_ETOOBIG, "more than %d items",
                               SQ_BATCH_ITEMS_MAX);
            }
            v = json_loadb(text + pos, n, JSON_DECODE_ANY, &jerr);
            if (v == NULL && looks_like_json(text + pos, n)) {
                json_decref(items);
                return sq_fail(err, SYNCQ_EINVAL,
                               "items line %zu is not valid JSON "
                               "(column %d: %s)",
                               line, jerr.column, jerr.text);
            }
            if (v == NULL) {
                v = json_stringn(text + pos, n); /* a plain text item */
            }
            if (v == NULL) {
                json_decref(items);
                return sq_fail(err, SYNCQ_EINVAL,
                               "items line %zu is not "
                               "valid UTF-8",
                               line);
            }
            if (json_array_append_new(items, v) != 0) {
                json_decref(items);
                return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
            }
        }
        pos = e + 1;
    }
    *out = items;
    return SYNCQ_OK;
}
