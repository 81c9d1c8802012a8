/* SPDX-License-Identifier: MIT
 *
 * beat_batch.c: batches dispatched in waves (syncq_batch_submit and
 * friends in syncq/schedule.h), the items file parser, and batch
 * progress/listing for `syncq batch`. The chunks are validated and
 * serialised here, stored in Redis by batch_dispatch.lua and sent out by
 * lib.lua's batch_dispatch as max-in-flight and the rate allow (from
 * this call, from chunks ending, from the leader beat).
 */
#include "beat/beat_batch.h"
#include "broker/broker.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_id.h"
#include "core/sq_rate.h"
#include "core/sq_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>

#define SPECS_PER_CALL 1000
#define ITEMS_MAX 10000000

int
syncq_rate_parse(const char *s, int *count, int64_t *period_ms,
                 syncq_error *err)
{
    struct sq_rate r;
    char buf[32];
    const char *text = s;

    /* the core rate syntax (shared with SYNCQ_CRAWLER_RATE), plus a bare
     * "N" meaning N per second; no blanks anywhere */
    if (s == NULL || s[0] == '\0' || strpbrk(s, " \t") != NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "rate '%.32s' is not N/s, N/m or N/h",
                       s != NULL ? s : "");
    }
    if (strspn(s, "0123456789") == strlen(s) && strlen(s) < 20) {
        snprintf(buf, sizeof buf, "%s/s", s);
        text = buf;
    }
    if (sq_rate_parse(text, &r, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    *count = (int)r.limit;
    *period_ms = r.period_ms;
    return SYNCQ_OK;
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
            if (json_array_size(items) > ITEMS_MAX) {
                json_decref(items);
                return sq_fail(err, SYNCQ_ETOOBIG, "more than %d items",
                               ITEMS_MAX);
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
            if (json_array_size(items) >= ITEMS_MAX) {
                json_decref(items);
                return sq_fail(err, SYNCQ_ETOOBIG, "more than %d items",
                               ITEMS_MAX);
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

/* "<id>|{"items":[...],...extra}" for chunk [lo, hi). Owned. */
static char *
chunk_spec(json_t *items, size_t lo, size_t hi, json_t *extra,
           char id_out[SYNCQ_ID_SIZE])
{
    json_t *kw = extra ? json_deep_copy(extra) : json_object();
    json_t *part = json_array();
    char *k, *s = NULL;

    if (kw == NULL || part == NULL) {
        json_decref(kw);
        json_decref(part);
        return NULL;
    }
    for (size_t i = lo; i < hi; i++) {
        json_array_append(part, json_array_get(items, i));
    }
    json_object_set_new(kw, "items", part);
    k = json_dumps(kw, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(kw);
    if (k != NULL) {
        sq_uuid_new(id_out);
        s = sq_asprintf("%s|%s", id_out, k);
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
sq_batch_submit_items(syncq_client *c, const char *task_name, json_t *items,
                      size_t batch_size, const syncq_batch_options *opts,
                      const syncq_batch_wave_options *waves,
                      char batch_id_out[SYNCQ_ID_SIZE], json_t *ids_out,
                      syncq_error *err)
{
    char name[256], cb_name[256] = "", cb_id[SYNCQ_ID_SIZE] = "";
    char batch_id[SYNCQ_ID_SIZE];
    const char *cb_queue = "", *queue;
    const syncq_task_options *to = opts ? opts->task : NULL;
    const syncq_task_def *def;
    syncq_batch_wave_options w = {0, 0, 0, false};
    json_t *extra = NULL;
    char *cfields = NULL;
    char **specs = NULL;
    size_t nitems, nchunks = 0;
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
    if (opts != NULL && opts->kwargs_json != NULL) {
        json_error_t jerr;
        extra = json_loads(opts->kwargs_json, 0, &jerr);
        if (extra == NULL || !json_is_object(extra)) {
            json_decref(extra);
            return sq_fail(err, SYNCQ_EINVAL,
                           "batch kwargs must be a JSON "
                           "object");
        }
        if (json_object_get(extra, "items") != NULL) {
            json_decref(extra);
            return sq_fail(err, SYNCQ_EINVAL,
                           "batch kwargs must not "
                           "contain 'items' (the chunk goes there)");
        }
    }
    if (opts != NULL && opts->on_complete != NULL) {
        rc = syncq_task_name_normalize(opts->on_complete, cb_name,
                                       sizeof cb_name, err);
        if (rc == SYNCQ_OK) {
            cb_queue = opts->on_complete_queue ? opts->on_complete_queue
                                               : sq_route_queue(c, cb_name);
            rc = syncq_queue_name_check(cb_queue, err);
        }
        if (rc != SYNCQ_OK) {
            json_decref(extra);
            sq_error_prefix(err, "on_complete");
            return rc;
        }
        sq_uuid_new(cb_id);
    }
    cfields = chunk_fields(to, def, err);
    if (cfields == NULL) {
        json_decref(extra);
        return err->code;
    }
    nitems = json_array_size(items);
    nchunks = (nitems + batch_size - 1) / batch_size;
    specs = sq_calloc(nchunks + 1, sizeof *specs);
    if (specs == NULL) {
        rc =
            sq_fail(err, SYNCQ_ENOMEM, "out of memory for %zu chunks", nchunks);
    }
    for (size_t k = 0; rc == SYNCQ_OK && k < nchunks; k++) {
        size_t lo = k * batch_size;
        size_t hi = lo + batch_size < nitems ? lo + batch_size : nitems;
        char tid[SYNCQ_ID_SIZE];
        specs[k] = chunk_spec(items, lo, hi, extra, tid);
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
    sq_uuid_new(batch_id);
    for (size_t k = 0; rc == SYNCQ_OK && (k < nchunks || k == 0);
         k += SPECS_PER_CALL) {
        size_t hi = k + SPECS_PER_CALL < nchunks ? k + SPECS_PER_CALL : nchunks;
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
    json_error_t jerr;
    json_t *items;
    int rc;

    if (batch_id_out != NULL) {
        batch_id_out[0] = '\0';
    }
    items = json_loads(items_json ? items_json : "", JSON_ALLOW_NUL, &jerr);
    if (items == NULL || !json_is_array(items)) {
        json_decref(items);
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch items must be a JSON "
                       "array%s%s",
                       items == NULL ? ": " : "",
                       items == NULL ? jerr.text : "");
    }
    rc = sq_batch_submit_items(c, task_name, items, batch_size, opts, waves,
                               batch_id_out, NULL, err);
    json_decref(items);
    return rc;
}

static int
batch_id_check(const char *id, syncq_error *err)
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

    rc = batch_id_check(id, err);
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
    rc = batch_id_check(id, err);
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
