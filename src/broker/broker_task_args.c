/* SPDX-License-Identifier: MIT
 *
 * broker_task_args.c: where a producer learns a task's declaration, and
 * the door check that uses it (syncq/task.h). A task registered in this
 * process (the syncq binary registers the packs; a plugin host its
 * plugins) is checked against its registration; any other name against
 * the declaration workers published to Redis at start ({ns}:taskargs,
 * one hash field per task, JSON with a format version "v"). Neither:
 * unchecked, and the task checks its own arguments when it runs. The
 * checker itself is core/sq_task_args.c.
 */
#include "broker/broker.h"
#include "broker/broker_task_args.h"
#include "sq_alloc.h"
#include "core/sq_edit.h"
#include "sq_error.h"
#include "core/sq_task.h"
#include "core/sq_task_args.h"
#include "core/sq_time.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

void
sq_decl_cleanup(struct sq_decl *d)
{
    sq_args_parsed_cleanup(&d->parsed);
    memset(d, 0, sizeof *d);
}

/* Published declarations read from Redis are kept a few seconds per
 * process, so a producer without the packs (C API, Python) pays one HGET
 * per task name and period, not one per task. Fixed storage (no heap):
 * nothing is left behind when a dlopen()ed libsyncq is unloaded. */
#define CACHE_N 16
#define CACHE_TEXT 4096
#define CACHE_MS 5000

static struct {
    char key[600];         /* "<prefix><name>" */
    char text[CACHE_TEXT]; /* published JSON; "" when none published */
    int64_t at_ms;         /* monotonic time read; 0: empty slot */
} cache[CACHE_N];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned cache_next;

/* Copy a fresh cached text for `key` to out; false when none. */
static bool
cache_get(const char *key, char *out)
{
    int64_t now = sq_mono_ms();
    bool hit = false;

    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CACHE_N && !hit; i++) {
        if (cache[i].at_ms != 0 && now - cache[i].at_ms < CACHE_MS &&
            strcmp(cache[i].key, key) == 0) {
            memcpy(out, cache[i].text, CACHE_TEXT);
            hit = true;
        }
    }
    pthread_mutex_unlock(&cache_mu);
    return hit;
}

static void
cache_put(const char *key, const char *text, size_t len)
{
    if (len >= CACHE_TEXT || strlen(key) >= sizeof cache[0].key) {
        return;
    }
    pthread_mutex_lock(&cache_mu);
    {
        unsigned i = cache_next++ % CACHE_N;
        snprintf(cache[i].key, sizeof cache[i].key, "%s", key);
        memcpy(cache[i].text, text, len);
        cache[i].text[len] = '\0';
        cache[i].at_ms = sq_mono_ms();
    }
    pthread_mutex_unlock(&cache_mu);
}

/* The published form of d->name: from the cache or one HGET. */
static int
published(syncq_client *c, struct sq_decl *d, syncq_error *err)
{
    char key[512], ckey[600];
    char text[CACHE_TEXT];
    redisReply *r = NULL;
    int rc;

    sq_key(c, key, sizeof key, "taskargs");
    snprintf(ckey, sizeof ckey, "%s|%s", key, d->name);
    if (cache_get(ckey, text)) {
        /* a published form that does not parse is ignored (unchecked),
         * never a reason to refuse a task: a newer worker may write a
         * format this producer does not know */
        d->found = text[0] != '\0' &&
                   sq_args_parse(text, strlen(text), &d->parsed, NULL) ==
                       SYNCQ_OK;
        d->decl = d->parsed.decl;
        return SYNCQ_OK;
    }
    rc = sq_client_cmd(c, &r, err, "HGET %s %s", key, d->name);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type == REDIS_REPLY_STRING) {
        d->found = sq_args_parse(r->str, r->len, &d->parsed, NULL) ==
                   SYNCQ_OK;
        d->decl = d->parsed.decl;
        cache_put(ckey, r->str, r->len);
    } else {
        cache_put(ckey, "", 0);
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

/* Queue names learned from published declarations, kept for the life of
 * the process so a route can be returned as a plain pointer (fixed
 * storage, like the cache). Deployments have a handful of queues. */
#define QUEUES_N 128
static char queues[QUEUES_N][SQ_QUEUE_NAME_MAX + 1];
static pthread_mutex_t queues_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *
intern_queue(const char *q)
{
    const char *out = NULL;

    if (q == NULL || strlen(q) > SQ_QUEUE_NAME_MAX ||
        syncq_queue_name_check(q, NULL) != SYNCQ_OK) {
        return NULL; /* untrusted: never route to a name we would refuse */
    }
    pthread_mutex_lock(&queues_mu);
    for (size_t i = 0; i < QUEUES_N && out == NULL; i++) {
        if (queues[i][0] == '\0') {
            snprintf(queues[i], sizeof queues[i], "%s", q);
        }
        if (strcmp(queues[i], q) == 0) {
            out = queues[i];
        }
    }
    pthread_mutex_unlock(&queues_mu);
    return out;
}

const char *
sq_decl_route(const struct sq_decl *d)
{
    if (d->def != NULL || !d->found) {
        return NULL;
    }
    return intern_queue(json_string_value(
        json_object_get(d->parsed.json, "queue")));
}

const char *
sq_decl_queue(syncq_client *c, const char *name)
{
    struct sq_decl d;
    const char *q;

    if (c == NULL || sq_decl_find(c, name, &d, NULL) != SYNCQ_OK) {
        return NULL;
    }
    q = sq_decl_route(&d);
    sq_decl_cleanup(&d);
    return q;
}

int
sq_decl_find(syncq_client *c, const char *name, struct sq_decl *d,
             syncq_error *err)
{
    int rc;

    memset(d, 0, sizeof *d);
    rc = syncq_task_name_normalize(name, d->name, sizeof d->name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    d->def = syncq_registry_find(syncq_registry_default(), d->name);
    if (d->def != NULL) {
        d->found = true;
        d->decl = d->def->args;
        return SYNCQ_OK;
    }
    return c != NULL ? published(c, d, err) : SYNCQ_OK;
}

int
sq_task_args_check_json(syncq_client *c, const char *name, json_t *args,
                        json_t *kwargs, json_t **problems, syncq_error *err)
{
    struct sq_decl d;
    int rc;

    if (problems != NULL) {
        *problems = NULL;
    }
    rc = sq_decl_find(c, name, &d, err);
    if (rc == SYNCQ_OK) {
        rc = syncq_args_check(d.decl, args, kwargs, problems, err);
    }
    sq_decl_cleanup(&d);
    return rc;
}

/* Parse an optional JSON text of the wanted type. */
static int
load(const char *what, const char *text, bool array, json_t **out,
     syncq_error *err)
{
    json_error_t jerr;

    *out = NULL;
    if (text == NULL) {
        return SYNCQ_OK;
    }
    *out = json_loads(text, SQ_TASK_JSON_FLAGS, &jerr);
    if (*out == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "%s is not valid JSON: %s", what,
                       jerr.text);
    }
    if (array ? !json_is_array(*out) : !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return sq_fail(err, SYNCQ_EINVAL, "%s must be a JSON %s", what,
                       array ? "array" : "object");
    }
    return SYNCQ_OK;
}

int
syncq_task_args_check(syncq_client *c, const char *name, const char *args_json,
                      const char *kwargs_json, json_t **problems,
                      syncq_error *err)
{
    json_t *a = NULL, *k = NULL;
    int rc;

    if (problems != NULL) {
        *problems = NULL;
    }
    rc = load("args", args_json, true, &a, err);
    if (rc == SYNCQ_OK) {
        rc = load("kwargs", kwargs_json, false, &k, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_args_check_json(c, name, a, k, problems, err);
    }
    json_decref(a);
    json_decref(k);
    return rc;
}

/* The nearest known task name (registry, then published) for "did you
 * mean"; "" when nothing is close. */
static void
nearest_task(syncq_client *c, const char *name, char *out, size_t cap)
{
    const syncq_registry *r = syncq_registry_default();
    size_t best = (size_t)-1;
    redisReply *rep = NULL;
    char key[512];

    out[0] = '\0';
    for (size_t i = 0; i < syncq_registry_count(r); i++) {
        const char *n = syncq_registry_at(r, i)->name;
        size_t d = sq_edit_distance(name, n);
        if (d < best) {
            best = d;
            snprintf(out, cap, "%s", n);
        }
    }
    if (c != NULL &&
        sq_client_cmd(c, &rep, NULL, "HKEYS %s",
                      sq_key(c, key, sizeof key, "taskargs")) == SYNCQ_OK &&
        rep->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < rep->elements; i++) {
            size_t d;
            if (rep->element[i]->type != REDIS_REPLY_STRING) {
                continue;
            }
            d = sq_edit_distance(name, rep->element[i]->str);
            if (d < best) {
                best = d;
                snprintf(out, cap, "%s", rep->element[i]->str);
            }
        }
    }
    freeReplyObject(rep);
    if (best > 3) {
        out[0] = '\0';
    }
}

int
syncq_task_describe(syncq_client *c, const char *name, json_t **out,
                    syncq_error *err)
{
    struct sq_decl d;
    char near[256];
    int rc;

    *out = NULL;
    rc = sq_decl_find(c, name, &d, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (d.def != NULL) {
        *out = sq_args_describe(d.def);
        if (*out != NULL) {
            json_object_set_new(*out, "source", json_string("registry"));
        }
    } else if (d.found) {
        *out = json_incref(d.parsed.json);
        json_object_set_new(*out, "source", json_string("redis"));
    } else {
        nearest_task(c, d.name, near, sizeof near);
        sq_decl_cleanup(&d);
        return sq_fail(err, SYNCQ_ENOTFOUND, "unknown task %.200s%s%s%s",
                       name, near[0] ? "; did you mean " : "", near,
                       near[0] ? "?" : " (no worker published it)");
    }
    sq_decl_cleanup(&d);
    return *out != NULL ? SYNCQ_OK
                        : sq_fail(err, SYNCQ_ENOMEM, "out of memory");
}

int
syncq_registry_publish(syncq_client *c, const syncq_registry *r,
                       syncq_error *err)
{
    size_t n = syncq_registry_count(r);
    const char **argv = NULL;
    size_t *lens = NULL;
    char **owned = NULL;
    redisReply *rep = NULL;
    char key[512];
    int rc = SYNCQ_OK;

    if (n == 0) {
        return SYNCQ_OK;
    }
    argv = sq_calloc(2 + 2 * n, sizeof *argv);
    lens = sq_calloc(2 + 2 * n, sizeof *lens);
    owned = sq_calloc(n, sizeof *owned);
    if (argv == NULL || lens == NULL || owned == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory publishing tasks");
        goto done;
    }
    argv[0] = "HSET";
    argv[1] = sq_key(c, key, sizeof key, "taskargs");
    for (size_t i = 0; i < n; i++) {
        const syncq_task_def *def = syncq_registry_at(r, i);
        json_t *j = sq_args_describe(def);
        owned[i] = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (owned[i] == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory publishing tasks");
            goto done;
        }
        argv[2 + 2 * i] = def->name;
        argv[3 + 2 * i] = owned[i];
    }
    for (size_t i = 0; i < 2 + 2 * n; i++) {
        lens[i] = strlen(argv[i]);
    }
    rc = sq_client_cmdargv(c, (int)(2 + 2 * n), argv, lens, &rep, err);
    freeReplyObject(rep);
done:
    for (size_t i = 0; owned != NULL && i < n; i++) {
        sq_free(owned[i]);
    }
    sq_free(owned);
    sq_free(argv);
    sq_free(lens);
    return rc;
}

int
sq_task_items_arg(syncq_client *c, const char *name, char *out, size_t cap,
                  int64_t *max_items, syncq_error *err)
{
    struct sq_decl d;
    const syncq_arg_def *items;
    int rc = sq_decl_find(c, name, &d, err);

    *max_items = 0;
    if (rc != SYNCQ_OK) {
        return rc;
    }
    items = sq_args_items(d.decl);
    if (items != NULL) {
        snprintf(out, cap, "%s", items->name);
        if (items->max != 0 && items->max != INT64_MAX) {
            *max_items = items->max;
        }
    } else if (d.decl == NULL || sq_args_open(d.decl)) {
        snprintf(out, cap, "items"); /* undeclared or open: the default */
    } else {
        rc = sq_fail(err, SYNCQ_EINVAL, "%s cannot run as a batch: it "
                     "declares no argument that takes a batch's items "
                     "(`syncq task describe %s`)", d.name, d.name);
    }
    sq_decl_cleanup(&d);
    return rc;
}
