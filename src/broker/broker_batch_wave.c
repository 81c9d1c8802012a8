/* SPDX-License-Identifier: MIT
 *
 * broker_batch_wave.c: batches dispatched in waves (syncq_batch_submit,
 * syncq_batch_dispatch in syncq/batch.h) and the rate syntax of their
 * limits. The chunks are validated and serialised here, stored in Redis
 * by batch_dispatch.lua and sent out by lib.lua's batch_dispatch as
 * max-in-flight and the rate allow (from this call, from chunks ending,
 * and from the leader beat's tick, which only triggers dispatch).
 */
#include "broker/broker_batch.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "sq_rate.h"
#include "core/sq_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>

int
syncq_rate_parse(const char *s, int *count, int64_t *period_ms,
                 syncq_error *err)
{
    struct sq_rate r;

    /* the one rate grammar (common/sq_rate.c); this only converts */
    if (sq_rate_parse(s, &r, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    *count = (int)r.limit;
    *period_ms = r.period_ms;
    return SYNCQ_OK;
}

/* ---- submit ---------------------------------------------------------- */

/* Record fields every chunk task carries (besides name/kwargs/batch), as
 * a JSON array of strings; the same shape as enqueue.lua's fields. */
static char *
chunk_fields(const syncq_task_options *o, const syncq_task_def *def,
             syncq_error *err)
{
    json_t *a = json_array();
    char buf[32];
    char *s;
    int maxr = -1;

#define ADD(k, v)                                                              \
    do {                                                                       \
        json_array_append_new(a, json_string(k));                              \
        json_array_append_new(a, json_string(v));                              \
    } while (0)
#define ADDLL(k, v)                                                            \
    do {                                                                       \
        snprintf(buf, sizeof buf, "%lld", (long long)(v));                     \
        ADD(k, buf);                                                           \
    } while (0)
    if (o != NULL && o->max_retries >= 0) {
        maxr = o->max_retries;
    } else if (def != NULL && def->max_retries >= 0) {
        maxr = def->max_retries;
    }
    if (maxr >= 0) {
        ADDLL("maxr", maxr);
    }
    if (o != NULL) {
        if (o->time_limit_ms > 0) {
            ADDLL("tl", o->time_limit_ms);
        }
        if (o->soft_time_limit_ms > 0) {
            ADDLL("stl", o->soft_time_limit_ms);
        }
        if (o->result_expires_ms > 0) {
            ADDLL("rexp", o->result_expires_ms);
        }
        if (o->retry_policy_json != NULL) {
            json_t *p = json_loads(o->retry_policy_json, 0, NULL);
            char *ps;
            if (p == NULL || !json_is_object(p)) {
                json_decref(p);
                json_decref(a);
                sq_fail(err, SYNCQ_EINVAL,
                        "retry policy must be a JSON "
                        "object");
                return NULL;
            }
            ps = json_dumps(p, JSON_COMPACT);
            json_decref(p);
            if (ps != NULL) {
                ADD("pol", ps);
                sq_free(ps);
            }
        }
    }
#undef ADD
#undef ADDLL
    s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (s == NULL) {
        sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    return s;
}

/* "<id>|{"items":[...],...extra}" for chunk [lo, hi), whose id is in
 * id (sq_batch_chunk_id). Owned. */
static char *
chunk_spec(json_t *items, size_t lo, size_t hi, json_t *extra,
           const char *items_key, const char id[SYNCQ_ID_SIZE])
{
    char *k = sq_batch_chunk_kwargs(items, lo, hi, extra, items_key);
    char *s = NULL;

    if (k != NULL) {
        s = sq_asprintf("%s|%s", id, k);
        sq_free(k);
    }
    return s;
}

static int
read_result(redisReply *r, int64_t *dispatched, int64_t *next_ms,
            syncq_error *err)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        return sq_fail(err, SYNCQ_EPROTO,
                       "batch_dispatch: unexpected "
                       "reply");
    }
    if (dispatched != NULL) {
        *dispatched = r->element[0]->integer;
    }
    if (next_ms != NULL) {
        *next_ms = r->element[2]->integer;
    }
    return SYNCQ_OK;
}

int
syncq_batch_submit_items(syncq_client *c, const char *task_name, json_t *items,
                         size_t batch_size, const syncq_batch_options *opts,
                         const syncq_batch_wave_options *waves,
                         char batch_id_out[SYNCQ_ID_SIZE], json_t *ids_out,
                         syncq_error *err)
{
    char name[256], cb_name[256] = "", cb_id[SYNCQ_ID_SIZE] = "";
    char batch_id[SYNCQ_ID_SIZE];
    char items_key[SQ_ARG_NAME_MAX + 1];
    const char *cb_queue = "", *queue;
    const syncq_task_options *to = opts ? opts->task : NULL;
    const syncq_task_def *def;
    syncq_batch_wave_options w = {0, 0, 0, false};
    json_t *extra = NULL;
    char *cfields = NULL;
    char **specs = NULL;
    size_t nitems, nchunks = 0, ids_base;
    syncq_error lerr;
    int priority;
    int rc;

    if (err == NULL) {
        err = &lerr; /* codes are read back from it */
    }
    if (batch_id_out != NULL) {
        batch_id_out[0] = '\0';
    }
    if (waves != NULL) {
        w = *waves;
    }
    rc = syncq_task_name_normalize(task_name, name, sizeof name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (items == NULL || !json_is_array(items)) {
        return sq_fail(err, SYNCQ_EINVAL, "batch items must be a JSON array");
    }
    if (batch_size == 0 || batch_size > 100000) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch size %zu out of range "
                       "1..100000",
                       batch_size);
    }
    if (w.max_in_flight < 0 || w.max_in_flight > 1000000 || w.rate_count < 0 ||
        w.rate_count > 1000000 ||
        (w.rate_count > 0 &&
         (w.rate_period_ms < 1 || w.rate_period_ms > 86400000))) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "max-in-flight and rate must be "
                       "0..1000000 (rate period 1 ms .. 1 day)");
    }
    if (to != NULL &&
        (to->countdown_ms > 0 || to->eta_ms > 0 || to->expires_ms > 0 ||
         to->unique_key != NULL || to->task_id != NULL)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "chunk tasks of a batch take no "
                       "countdown, eta, expires, unique key or id");
    }
    if (to != NULL && (to->max_retries < -1 || to->max_retries > 1000 ||
                       to->time_limit_ms < 0 || to->soft_time_limit_ms < 0 ||
                       to->result_expires_ms < 0)) {
        return sq_fail(err, SYNCQ_EINVAL, "chunk options out of range");
    }
    def = syncq_registry_find(syncq_registry_default(), name);
    queue =
        (to != NULL && to->queue != NULL) ? to->queue : sq_route_queue(c, name);
    rc = syncq_queue_name_check(queue, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    priority = (def != NULL && def->priority >= 0) ? def->priority : 5;
    if (to != NULL && to->priority != -1) {
        if (to->priority < 0 || to->priority > 10) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "priority %d out of range "
                           "0..10",
                           to->priority);
        }
        priority = to->priority;
    }
    rc = sq_batch_check(c, name, items, batch_size, opts, items_key, NULL,
                        err);
    if (rc == SYNCQ_OK) {
        rc = sq_batch_extra_and_completion(c, opts, items_key, &extra,
                                           cb_name, &cb_queue, cb_id, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    cfields = chunk_fields(to, def, err);
    if (cfields == NULL) {
        json_decref(extra);
        return err->code;
    }
    nitems = json_array_size(items);
    nchunks = (nitems + batch_size - 1) / batch_size;
    ids_base = ids_out != NULL ? json_array_size(ids_out) : 0;
    specs = sq_calloc(nchunks + 1, sizeof *specs);
    if (specs == NULL) {
        rc =
            sq_fail(err, SYNCQ_ENOMEM, "out of memory for %zu chunks", nchunks);
    } else {
        rc = sq_batch_own_id(opts, batch_id, err);
    }
    for (size_t k = 0; rc == SYNCQ_OK && k < nchunks; k++) {
        size_t lo = k * batch_size;
        size_t hi = lo + batch_size < nitems ? lo + batch_size : nitems;
        char tid[SYNCQ_ID_SIZE];
        sq_batch_chunk_id(opts, batch_id, k, tid);
        specs[k] = chunk_spec(items, lo, hi, extra, items_key, tid);
        if (specs[k] == NULL ||
            (ids_out != NULL &&
             json_array_append_new(ids_out, json_string(tid)) != 0)) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        } else if ((int64_t)(strlen(specs[k]) - 37) > c->max_payload) {
            rc = sq_fail(err, SYNCQ_ETOOBIG,
                         "chunk %zu is %zu bytes, limit "
                         "%lld (SYNCQ_MAX_PAYLOAD): use a smaller batch "
                         "size",
                         k, strlen(specs[k]) - 37, (long long)c->max_payload);
        }
    }
    for (size_t k = 0; rc == SYNCQ_OK && (k < nchunks || k == 0);
         k += SQ_BATCH_CHUNKS_PER_CALL) {
        size_t hi = k + SQ_BATCH_CHUNKS_PER_CALL < nchunks
                        ? k + SQ_BATCH_CHUNKS_PER_CALL
                        : nchunks;
        bool last = hi >= nchunks;
        struct sq_args a;
        redisReply *r = NULL;
        sq_args_init(&a);
        if (k == 0) {
            sq_args_add(&a, "create");
            sq_args_add(&a, batch_id);
            sq_args_add(&a, name);
            sq_args_addll(&a, (long long)nchunks);
            sq_args_addll(&a, (long long)nitems);
            sq_args_add(&a, cb_id);
            sq_args_add(&a, cb_name);
            sq_args_add(&a, cb_queue);
            sq_args_add(&a, "");
            sq_args_add(&a, queue);
            sq_args_addll(&a, priority);
            sq_args_add(&a, cfields);
            sq_args_addll(&a, w.max_in_flight);
            sq_args_addll(&a, w.rate_count);
            sq_args_addll(&a, w.rate_count > 0 ? w.rate_period_ms : 1000);
            sq_args_add(&a, w.fail_fast ? "1" : "0");
            sq_args_add(&a, last ? "1" : "0");
        } else {
            sq_args_add(&a, "append");
            sq_args_add(&a, batch_id);
            sq_args_add(&a, last ? "1" : "0");
        }
        sq_args_addll(&a, (long long)(hi - k));
        for (size_t i = k; i < hi; i++) {
            sq_args_add(&a, specs[i]);
        }
        rc = sq_script_call(c, SQ_SCRIPT_BATCH_DISPATCH, &a, &r, err);
        if (rc == SYNCQ_OK) {
            rc = read_result(r, NULL, NULL, err);
        } else if (rc == SYNCQ_EPROTO && k == 0 && opts != NULL &&
                   opts->batch_id != NULL &&
                   strstr(err->msg, "batch exists") != NULL) {
            /* an earlier call made it: answered, nothing written */
            json_t *ids = ids_out != NULL ? json_incref(ids_out)
                                          : json_array();
            while (json_array_size(ids) > ids_base) {
                json_array_remove(ids, json_array_size(ids) - 1);
            }
            rc = sq_batch_answer_existing(c, opts, batch_id, ids, err);
            json_decref(ids);
            freeReplyObject(r);
            sq_args_cleanup(&a);
            break;
        }
        freeReplyObject(r);
        sq_args_cleanup(&a);
        if (nchunks == 0) {
            break;
        }
    }
    for (size_t k = 0; specs != NULL && k < nchunks; k++) {
        sq_free(specs[k]);
    }
    sq_free(specs);
    sq_free(cfields);
    json_decref(extra);
    if (rc == SYNCQ_OK && batch_id_out != NULL) {
        memcpy(batch_id_out, batch_id, SYNCQ_ID_SIZE);
    }
    return rc;
}

int
syncq_batch_submit(syncq_client *c, const char *task_name,
                   const char *items_json, size_t batch_size,
                   const syncq_batch_options *opts,
                   const syncq_batch_wave_options *waves,
                   char batch_id_out[SYNCQ_ID_SIZE], syncq_error *err)
{
    json_t *items;
    int rc;

    if (batch_id_out != NULL) {
        batch_id_out[0] = '\0';
    }
    rc = sq_batch_items_load(items_json, &items, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = syncq_batch_submit_items(c, task_name, items, batch_size, opts, waves,
                                  batch_id_out, NULL, err);
    json_decref(items);
    return rc;
}

int
sq_batch_id_check(const char *id, syncq_error *err)
{
    if (id == NULL || id[0] == '\0' || strlen(id) > 64) {
        return sq_fail(err, SYNCQ_EINVAL, "bad batch id");
    }
    for (const char *p = id; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_')) {
            return sq_fail(err, SYNCQ_EINVAL, "bad batch id '%.64s'", id);
        }
    }
    return SYNCQ_OK;
}

int
syncq_batch_dispatch(syncq_client *c, const char *id, int64_t *dispatched,
                     int64_t *next_ms, syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    int rc;

    rc = sq_batch_id_check(id, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_args_init(&a);
    sq_args_add(&a, "dispatch");
    sq_args_add(&a, id);
    rc = sq_script_call(c, SQ_SCRIPT_BATCH_DISPATCH, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc == SYNCQ_EPROTO && err != NULL && strstr(err->msg, "no batch")) {
        return sq_fail(err, SYNCQ_ENOTFOUND, "no batch %s", id);
    }
    if (rc == SYNCQ_OK) {
        rc = read_result(r, dispatched, next_ms, err);
    }
    freeReplyObject(r);
    return rc;
}
