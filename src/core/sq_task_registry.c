/* SPDX-License-Identifier: MIT
 *
 * sq_task_registry.c: the task registry (name -> function and defaults) and
 * plugin loading. Filled before the worker forks, read-only afterwards.
 * Sorted array + binary search: a few hundred tasks at most.
 */
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_rate.h"
#include "core/sq_task.h"
#include "core/sq_task_args.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>

#define ROUTES_MAX 32

#define RATES_MAX 64

struct syncq_registry {
    syncq_task_def *defs; /* sorted by name */
    size_t n, cap;
    struct {
        const char *ns, *queue; /* borrowed, like the defs' strings */
    } routes[ROUTES_MAX];       /* namespaces of packs (add_route) */
    size_t nroutes;
    struct {
        const char *task;       /* a registered def's name */
        char text[32];          /* the rate as declared */
    } rates[RATES_MAX];         /* Celery's task rate_limit */
    size_t nrates;
};

static const char *class_names[SYNCQ_ERR__COUNT] = {
    "none",     "network",        "timeout",  "rate_limited", "http_5xx",
    "parse",    "validation",     "not_found", "auth",        "internal",
    "not_registered", "blocked",  "worker_lost", "revoked",
};

const char *
syncq_error_class_name(int cls)
{
    if (cls < 0 || cls >= SYNCQ_ERR__COUNT) {
        return "unknown";
    }
    return class_names[cls];
}

int
syncq_error_class_parse(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    for (int i = 0; i < SYNCQ_ERR__COUNT; i++) {
        if (strcmp(name, class_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int
cmp_name(const void *key, const void *elem)
{
    return strcmp(key, ((const syncq_task_def *)elem)->name);
}

const syncq_task_def *
syncq_registry_find(const syncq_registry *r, const char *name)
{
    char norm[256];

    if (r == NULL || name == NULL || r->n == 0) {
        return NULL;
    }
    if (syncq_task_name_normalize(name, norm, sizeof norm, NULL) != SYNCQ_OK) {
        return NULL;
    }
    return bsearch(norm, r->defs, r->n, sizeof *r->defs, cmp_name);
}

int
syncq_registry_add(syncq_registry *r, const syncq_task_def *def,
                   syncq_error *err)
{
    char norm[256];
    size_t pos = 0;

    if (r == NULL || def == NULL || def->fn == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "task definition needs a function");
    }
    if (syncq_task_name_normalize(def->name, norm, sizeof norm, err) !=
        SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    if (strcmp(norm, def->name) != 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "register task '%s' under its short name '%s'",
                       def->name, norm);
    }
    if (def->priority < -1 || def->priority > 10) {
        return sq_fail(err, SYNCQ_EINVAL, "task %s: priority %d out of range "
                       "0..10", def->name, def->priority);
    }
    if (def->queue != NULL && syncq_queue_name_check(def->queue, err) != 0) {
        return SYNCQ_EINVAL;
    }
    /* the rules a call's options meet (core/sq_task.h), so a definition
     * cannot carry what a worker could not use later */
    if (sq_task_max_retries_check(def->max_retries, true, err) != SYNCQ_OK ||
        (def->retry_policy_json != NULL &&
         sq_task_policy_check(def->retry_policy_json,
                              strlen(def->retry_policy_json),
                              err) != SYNCQ_OK)) {
        sq_error_prefix(err, def->name);
        return SYNCQ_EINVAL;
    }
    /* a declaration that could never pass its own defaults is a bug of
     * the pack, found at start-up, not at the first enqueue */
    if (sq_args_decl_check(def->args, err) != SYNCQ_OK) {
        sq_error_prefix(err, def->name);
        return SYNCQ_EINVAL;
    }
    while (pos < r->n && strcmp(r->defs[pos].name, def->name) < 0) {
        pos++;
    }
    if (pos < r->n && strcmp(r->defs[pos].name, def->name) == 0) {
        return sq_fail(err, SYNCQ_EEXIST, "task %s is already registered",
                       def->name);
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        syncq_task_def *d = sq_realloc(r->defs, cap * sizeof *d);
        if (d == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory registering %s",
                           def->name);
        }
        r->defs = d;
        r->cap = cap;
    }
    memmove(&r->defs[pos + 1], &r->defs[pos], (r->n - pos) * sizeof *r->defs);
    r->defs[pos] = *def;
    r->n++;
    return SYNCQ_OK;
}

size_t
syncq_registry_count(const syncq_registry *r)
{
    return r != NULL ? r->n : 0;
}

const syncq_task_def *
syncq_registry_at(const syncq_registry *r, size_t i)
{
    return (r != NULL && i < r->n) ? &r->defs[i] : NULL;
}

/* libsyncq is the queue and knows no tasks: the default registry starts
 * empty; a program registers the packs it wants (the syncq binary: the
 * 1688 packs of packs/, at start-up) or loads them as plugins. It lives
 * as long as the process (or the dlopen()ed library): static storage, so
 * nothing is left behind when the library is unloaded. */
static syncq_registry default_registry;

syncq_registry *
syncq_registry_default(void)
{
    return &default_registry;
}

int
syncq_registry_load_plugin(syncq_registry *r, const char *path,
                           syncq_error *err)
{
    void *h;
    int (*init)(syncq_registry *, int, syncq_error *);
    int rc;

    if (path == NULL || path[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "plugin path is empty");
    }
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        return sq_fail(err, SYNCQ_EIO, "cannot load plugin %s: %s", path,
                       dlerror());
    }
    *(void **)(&init) = dlsym(h, "syncq_plugin_init");
    if (init == NULL) {
        dlclose(h);
        return sq_fail(err, SYNCQ_EINVAL,
                       "plugin %s has no syncq_plugin_init function", path);
    }
    rc = init(r, SYNCQ_PLUGIN_ABI, err);
    if (rc != SYNCQ_OK) {
        sq_error_prefix(err, path);
        /* Tasks it registered before failing point into it: keep it. */
        return rc;
    }
    /* The plugin stays loaded for the life of the process. */
    return SYNCQ_OK;
}

int
syncq_registry_add_route(syncq_registry *r, const char *ns, const char *queue,
                         syncq_error *err)
{
    char norm[256];

    if (r == NULL || ns == NULL || queue == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "route needs a namespace and a queue");
    }
    /* a namespace is a task name (the part before ".task") */
    if (syncq_task_name_normalize(ns, norm, sizeof norm, err) != SYNCQ_OK) {
        sq_error_prefix(err, "route namespace");
        return SYNCQ_EINVAL;
    }
    if (strcmp(norm, ns) != 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "route namespace '%s': give it as '%s'", ns, norm);
    }
    if (syncq_queue_name_check(queue, err) != SYNCQ_OK) {
        sq_error_prefix(err, ns);
        return SYNCQ_EINVAL;
    }
    for (size_t i = 0; i < r->nroutes; i++) {
        if (strcmp(r->routes[i].ns, ns) == 0) {
            return sq_fail(err, SYNCQ_EEXIST, "namespace %s already routes "
                           "to queue %s", ns, r->routes[i].queue);
        }
    }
    if (r->nroutes == ROUTES_MAX) {
        return sq_fail(err, SYNCQ_ETOOBIG, "route %s: at most %d namespaces",
                       ns, ROUTES_MAX);
    }
    r->routes[r->nroutes].ns = ns;
    r->routes[r->nroutes].queue = queue;
    r->nroutes++;
    return SYNCQ_OK;
}

/* The k-th queue a worker could serve: "default", the routes' queues,
 * then the registered tasks' own queues; NULL for a task naming none. */
static const char *
queue_candidate(const syncq_registry *r, size_t k)
{
    if (k == 0) {
        return "default";
    }
    k--;
    if (k < r->nroutes) {
        return r->routes[k].queue;
    }
    return r->defs[k - r->nroutes].queue;
}

size_t
syncq_registry_queues(const syncq_registry *r, const char **out, size_t max)
{
    size_t total = r != NULL ? 1 + r->nroutes + r->n : 1;
    size_t n = 0;

    for (size_t k = 0; k < total; k++) {
        const char *q = r != NULL ? queue_candidate(r, k) : "default";
        bool dup = false;

        for (size_t j = 0; q != NULL && j < k && !dup; j++) {
            const char *p = queue_candidate(r, j);
            dup = p != NULL && strcmp(p, q) == 0;
        }
        if (q == NULL || dup) {
            continue;
        }
        if (n < max) {
            out[n] = q;
        }
        n++;
    }
    return n;
}

const char *
syncq_registry_route(const syncq_registry *r, const char *name)
{
    const syncq_task_def *d = syncq_registry_find(r, name);
    const char *best = NULL;
    size_t best_len = 0;
    char norm[256];

    if (d != NULL && d->queue != NULL) {
        return d->queue;
    }
    if (r == NULL || name == NULL ||
        syncq_task_name_normalize(name, norm, sizeof norm, NULL) != SYNCQ_OK) {
        return NULL;
    }
    /* the longest namespace that is a dotted prefix of the name */
    for (size_t i = 0; i < r->nroutes; i++) {
        size_t n = strlen(r->routes[i].ns);
        if (n > best_len && strncmp(norm, r->routes[i].ns, n) == 0 &&
            norm[n] == '.') {
            best = r->routes[i].queue;
            best_len = n;
        }
    }
    return best;
}

int
syncq_registry_set_rate_limit(syncq_registry *r, const char *task,
                              const char *rate, syncq_error *err)
{
    const syncq_task_def *d = syncq_registry_find(r, task);
    struct sq_rate parsed;
    size_t i = 0;

    if (d == NULL) {
        return sq_fail(err, SYNCQ_ENOTFOUND, "rate_limit: task %s is not "
                       "registered", task != NULL ? task : "(null)");
    }
    if (rate != NULL && strlen(rate) >= sizeof r->rates[0].text) {
        return sq_fail(err, SYNCQ_EINVAL, "%s: rate_limit: too long", task);
    }
    if (rate != NULL && sq_rate_parse(rate, &parsed, err) != SYNCQ_OK) {
        sq_error_prefix(err, "rate_limit");
        sq_error_prefix(err, task);
        return SYNCQ_EINVAL;
    }
    while (i < r->nrates && strcmp(r->rates[i].task, d->name) != 0) {
        i++;
    }
    if (rate == NULL) { /* none: drop it */
        if (i < r->nrates) {
            r->rates[i] = r->rates[--r->nrates];
        }
        return SYNCQ_OK;
    }
    if (i == r->nrates && r->nrates == RATES_MAX) {
        return sq_fail(err, SYNCQ_ETOOBIG, "at most %d tasks may have a "
                       "rate limit", RATES_MAX);
    }
    r->rates[i].task = d->name;
    snprintf(r->rates[i].text, sizeof r->rates[i].text, "%s", rate);
    r->nrates += i == r->nrates;
    return SYNCQ_OK;
}

const char *
syncq_registry_rate_limit(const syncq_registry *r, const char *task)
{
    for (size_t i = 0; r != NULL && task != NULL && i < r->nrates; i++) {
        if (strcmp(r->rates[i].task, task) == 0) {
            return r->rates[i].text;
        }
    }
    return NULL;
}
