/* SPDX-License-Identifier: MIT
 *
 * broker_enqueue.c: validate and create tasks (enqueue.lua), one or many.
 *
 * Everything a task carries is checked here before Redis sees it: name,
 * queue, priority, max_retries and retry policy (the task model's rules,
 * core/sq_task.h), JSON of args/kwargs, payload size, times. A bad task
 * gets SYNCQ_EINVAL/ETOOBIG naming the field and nothing is written. The
 * settings stored are resolved by sq_task_resolve.
 */
#include "broker/broker.h"
#include "broker/broker_task_args.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_task.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>

#define CHUNK 1000 /* tasks per script call */


void
syncq_task_options_init(syncq_task_options *o)
{
    memset(o, 0, sizeof *o);
    o->priority = -1;
    o->countdown_ms = -1;
    o->max_retries = -1;
}

const char *
sq_route_queue(syncq_client *c, const char *name)
{
    /* the library knows no pack: a pack declares its tasks' queue and its
     * namespace's route when it registers (packs/task_packs.c), and the
     * workers publish each task's queue with its declaration */
    const char *q = syncq_registry_route(syncq_registry_default(), name);

    if (q == NULL) {
        q = sq_decl_queue(c, name);
    }
    return q != NULL ? q : c->default_queue;
}

/* A validated task, ready to be turned into script arguments. */
struct prepared {
    char id[SYNCQ_ID_SIZE];
    char name[SQ_TASK_NAME_MAX + 1];
    char queue[SQ_QUEUE_NAME_MAX + 1];
    int priority;
    char *args;   /* compact JSON, owned; NULL when [] */
    char *kwargs; /* compact JSON, owned; NULL when {} */
    char eta[32];
    char exp[32];
    const syncq_task_options *o;
    int max_retries;
    int64_t tl_ms, stl_ms;
    char *policy; /* compact JSON or NULL */
    /* numbers of the run as text, formatted once here: add_run borrows
     * them instead of allocating a copy per number */
    char pri_s[8], maxr_s[16], nf_s[8];
    char *when; /* "eta|exp|uniq_ms|uniq" (owned), NULL for "" */
};

static void
prepared_cleanup(struct prepared *p)
{
    sq_free(p->args);
    sq_free(p->kwargs);
    sq_free(p->policy);
    sq_free(p->when);
    p->args = p->kwargs = p->policy = p->when = NULL;
}

/* Parse `text` as JSON of the wanted type; store the compact form in *out
 * (NULL when it is empty). `parsed` (may be NULL) gets the parsed value
 * (the caller's reference; NULL when `text` is NULL or on error). */
static int
json_field(const char *what, const char *text, int want, char **out,
           size_t *bytes, json_t **parsed, syncq_error *err)
{
    json_error_t jerr;
    json_t *v;
    char *s;

    *out = NULL;
    if (parsed != NULL) {
        *parsed = NULL;
    }
    if (text == NULL) {
        return SYNCQ_OK;
    }
    v = json_loads(text, SQ_TASK_JSON_FLAGS, &jerr);
    if (v == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "%s is not valid JSON: %s (line %d "
                       "column %d)", what, jerr.text, jerr.line, jerr.column);
    }
    if ((int)json_typeof(v) != want) {
        json_decref(v);
        return sq_fail(err, SYNCQ_EINVAL, "%s must be a JSON %s", what,
                       want == JSON_ARRAY ? "array" : "object");
    }
    if ((want == JSON_ARRAY && json_array_size(v) == 0) ||
        (want == JSON_OBJECT && json_object_size(v) == 0)) {
        s = NULL;
    } else {
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s == NULL) {
            json_decref(v);
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory encoding %s",
                           what);
        }
        *bytes += strlen(s);
    }
    if (parsed != NULL) {
        *parsed = v;
    } else {
        json_decref(v);
    }
    *out = s;
    return SYNCQ_OK;
}

/* The task's declaration, looked up once (this process's registry, else
 * what the workers published to Redis), feeds both the queue route and
 * the argument check (syncq/task.h) before anything is written: a typo
 * fails here, not on a worker hours later. */
static int
resolve_decl(syncq_client *c, const syncq_task_def *def,
             const syncq_task_options *o, const char *args,
             const char *kwargs, struct prepared *p, size_t *bytes,
             syncq_error *err)
{
    json_t *a = NULL, *k = NULL;
    struct sq_decl d;
    int rc;

    memset(&d, 0, sizeof d);
    rc = json_field("args", args, JSON_ARRAY, &p->args, bytes, &a, err);
    if (rc == SYNCQ_OK) {
        rc = json_field("kwargs", kwargs, JSON_OBJECT, &p->kwargs, bytes, &k,
                        err);
    }
    if (rc == SYNCQ_OK && o != NULL && o->retry_policy_json != NULL) {
        rc = json_field("retry policy", o->retry_policy_json, JSON_OBJECT,
                        &p->policy, bytes, NULL, err);
        if (rc == SYNCQ_OK && p->policy != NULL) {
            rc = sq_task_policy_check(p->policy, strlen(p->policy), err);
        }
    }
    if (rc == SYNCQ_OK) {
        rc = sq_decl_find(c, p->name, &d, err);
    }
    if (rc == SYNCQ_OK) {
        rc = syncq_args_check(d.decl, a, k, NULL, err);
    }
    if (rc == SYNCQ_OK) {
        /* the settings stored on the record: options, then definition,
         * then the registered route / SYNCQ_TASK_DEFAULT_QUEUE; time
         * limits only when given (the worker resolves the rest at lease) */
        struct sq_task_settings given, conf, eff;
        sq_task_settings_init(&given);
        sq_task_settings_init(&conf);
        if (o != NULL) {
            given.queue = o->queue;
            given.priority = o->priority;
            given.max_retries = o->max_retries;
        }
        conf.queue = syncq_registry_route(syncq_registry_default(), p->name);
        if (conf.queue == NULL) {
            conf.queue = sq_decl_route(&d);
        }
        if (conf.queue == NULL) {
            conf.queue = c->default_queue;
        }
        sq_task_resolve(def, &given, &conf, &eff);
        snprintf(p->queue, sizeof p->queue, "%s", eff.queue);
        p->priority = eff.priority;
        p->max_retries = eff.max_retries;
    }
    sq_decl_cleanup(&d);
    json_decref(a);
    json_decref(k);
    return rc;
}

static int
prepare(syncq_client *c, size_t index, const char *name, const char *args,
        const char *kwargs, const syncq_task_options *o, struct prepared *p,
        syncq_error *err)
{
    const syncq_task_def *def;
    size_t bytes = 0;
    int rc;

    memset(p, 0, sizeof *p);
    p->o = o;
    rc = syncq_task_name_normalize(name, p->name, sizeof p->name, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    def = syncq_registry_find(syncq_registry_default(), p->name);
    if (o != NULL && o->queue != NULL) {
        rc = syncq_queue_name_check(o->queue, err);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
    }
    if (o != NULL && o->priority != -1) {
        rc = sq_task_priority_check(o->priority, err);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
    }
    if (o != NULL) {
        rc = sq_task_max_retries_check(o->max_retries, true, err);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
    }
    rc = resolve_decl(c, def, o, args, kwargs, p, &bytes, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    if ((int64_t)bytes > c->max_payload) {
        rc = sq_fail(err, SYNCQ_ETOOBIG,
                     "payload is %zu bytes, limit %lld (SYNCQ_MAX_PAYLOAD)",
                     bytes, (long long)c->max_payload);
        goto fail;
    }
    snprintf(p->eta, sizeof p->eta, "0");
    snprintf(p->exp, sizeof p->exp, "0");
    if (o != NULL) {
        if (o->countdown_ms >= 0 && o->eta_ms > 0) {
            rc = sq_fail(err, SYNCQ_EINVAL, "give countdown or eta, not both");
            goto fail;
        }
        if (o->countdown_ms < -1) {
            rc = sq_fail(err, SYNCQ_EINVAL, "countdown must be >= 0");
            goto fail;
        }
        if (o->countdown_ms > 0) {
            snprintf(p->eta, sizeof p->eta, "+%lld",
                     (long long)o->countdown_ms);
        } else if (o->eta_ms > 0) {
            snprintf(p->eta, sizeof p->eta, "%lld", (long long)o->eta_ms);
        } else if (o->eta_ms < 0) {
            rc = sq_fail(err, SYNCQ_EINVAL, "eta must be a positive epoch "
                                            "time");
            goto fail;
        }
        if (o->expires_ms < 0) {
            rc = sq_fail(err, SYNCQ_EINVAL, "expires must be a positive "
                                            "epoch time");
            goto fail;
        }
        rc = sq_task_eta_check(o->eta_ms, o->countdown_ms, sq_now_ms(), err);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
        rc = sq_task_expires_check(o->expires_ms, sq_now_ms(), err);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
        if (o->expires_in_ms < 0 ||
            (o->expires_in_ms > 0 && o->expires_ms > 0)) {
            rc = sq_fail(err, SYNCQ_EINVAL, "expires_in must be > 0 and "
                                            "not given with expires");
            goto fail;
        }
        if (o->expires_ms > 0) {
            snprintf(p->exp, sizeof p->exp, "%lld", (long long)o->expires_ms);
        } else if (o->expires_in_ms > 0) { /* resolved with Redis TIME */
            snprintf(p->exp, sizeof p->exp, "+%lld",
                     (long long)o->expires_in_ms);
        }
        if (o->time_limit_ms < 0 || o->soft_time_limit_ms < 0 ||
            o->result_expires_ms < 0 || o->unique_ttl_ms < 0) {
            rc = sq_fail(err, SYNCQ_EINVAL, "time limits, result expiry and "
                                            "unique window must be >= 0");
            goto fail;
        }
        if (o->time_limit_ms > 0 && o->soft_time_limit_ms > 0 &&
            o->soft_time_limit_ms >= o->time_limit_ms) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "soft time limit (%lld ms) must be below the time "
                         "limit (%lld ms)",
                         (long long)o->soft_time_limit_ms,
                         (long long)o->time_limit_ms);
            goto fail;
        }
        if (o->unique_key != NULL) {
            size_t n = strlen(o->unique_key);
            if (n == 0 || n > 512) {
                rc = sq_fail(err, SYNCQ_EINVAL, "unique key must be 1..512 "
                                                "bytes");
                goto fail;
            }
            if (sq_task_text_check("unique key", o->unique_key, err) != SYNCQ_OK) {
                rc = SYNCQ_EINVAL;
                goto fail;
            }
        }
        if (o->unique_ttl_ms > 0 && o->unique_key == NULL) {
            /* a window with nothing to hold would be dropped in silence */
            rc = sq_fail(err, SYNCQ_EINVAL, "unique window (unique_ttl) "
                                            "given without a unique key");
            goto fail;
        }
        if (o->task_id != NULL && !sq_uuid_valid(o->task_id)) {
            rc = sq_fail(err, SYNCQ_EINVAL, "task id '%.40s' is not a UUID",
                         o->task_id);
            goto fail;
        }
        for (int i = 0; i < 3; i++) {
            const char *ref = i == 0   ? o->parent_id
                              : i == 1 ? o->root_id
                                       : o->batch_id;
            if (ref != NULL && (strlen(ref) > 64 ||
                                sq_task_text_check("parent/root/batch id", ref, err))) {
                rc = sq_fail(err, SYNCQ_EINVAL, "bad parent, root or batch "
                                                "id");
                goto fail;
            }
        }
    }
    if (o != NULL && o->task_id != NULL) {
        snprintf(p->id, sizeof p->id, "%s", o->task_id);
    } else {
        sq_uuid_new(p->id);
    }
    snprintf(p->pri_s, sizeof p->pri_s, "%d", p->priority);
    return SYNCQ_OK;
fail:
    prepared_cleanup(p);
    if (index != (size_t)-1 && err != NULL) {
        char pre[32];
        snprintf(pre, sizeof pre, "task %zu", index);
        sq_error_prefix(err, pre);
    }
    return rc;
}

/* Append the enqueue.lua run of `p` to `a` (borrowing p's strings:
 * `p` must outlive `a`'s use); its queue and priority only when the
 * call does not give them once for all its tasks (`own_queue`). */
static void
add_run(const syncq_client *c, struct sq_args *a, struct prepared *p,
        bool own_queue)
{
    const syncq_task_options *o = p->o;
    int nf = 0;
    size_t nf_pos;

    sq_args_add(a, p->id);
    if (own_queue) {
        sq_args_add(a, p->queue);
        sq_args_add(a, p->pri_s);
    }
    if (strcmp(p->eta, "0") == 0 && strcmp(p->exp, "0") == 0 &&
        (o == NULL || o->unique_key == NULL)) {
        sq_args_add(a, ""); /* now, never expires, not unique */
    } else {
        if (p->when == NULL) {
            p->when = sq_asprintf(
                "%s|%s|%lld|%s", p->eta, p->exp,
                (long long)((o && o->unique_ttl_ms > 0) ? o->unique_ttl_ms
                                                        : c->unique_window_ms),
                (o && o->unique_key) ? o->unique_key : "");
        }
        if (p->when == NULL) {
            a->oom = true;
            return;
        }
        sq_args_add(a, p->when);
    }
    nf_pos = a->n;
    sq_args_add(a, p->nf_s); /* fields after the name, written below */
    sq_args_add(a, p->name);
#define FIELD(k, v)                                                            \
    do {                                                                       \
        sq_args_add(a, k);                                                     \
        sq_args_add(a, v);                                                     \
        nf++;                                                                  \
    } while (0)
#define FIELDLL(k, v)                                                          \
    do {                                                                       \
        sq_args_add(a, k);                                                     \
        sq_args_addll(a, v);                                                   \
        nf++;                                                                  \
    } while (0)
    if (p->args != NULL) {
        FIELD("args", p->args);
    }
    if (p->kwargs != NULL) {
        FIELD("kwargs", p->kwargs);
    }
    if (p->max_retries >= 0) {
        snprintf(p->maxr_s, sizeof p->maxr_s, "%d", p->max_retries);
        FIELD("maxr", p->maxr_s);
    }
    if (p->policy != NULL) {
        FIELD("pol", p->policy);
    }
    if (o != NULL) {
        if (o->time_limit_ms > 0) {
            FIELDLL("tl", o->time_limit_ms);
        }
        if (o->soft_time_limit_ms > 0) {
            FIELDLL("stl", o->soft_time_limit_ms);
        }
        if (o->result_expires_ms > 0) {
            FIELDLL("rexp", o->result_expires_ms);
        }
        if (o->batch_id != NULL) {
            FIELD("batch", o->batch_id);
        }
        if (o->parent_id != NULL) {
            FIELD("parent", o->parent_id);
        }
        if (o->root_id != NULL) {
            FIELD("root", o->root_id);
        }
    }
#undef FIELD
#undef FIELDLL
    snprintf(p->nf_s, sizeof p->nf_s, "%d", nf);
    if (nf_pos < a->n) {
        a->lens[nf_pos] = strlen(p->nf_s);
    }
}

/* Whether the caller chose the task's id (options->task_id): only such
 * ids are looked up in Redis (enqueue.lua, ARGV[3]). */
static bool
id_chosen(const syncq_task_spec *s)
{
    return s->opts != NULL && s->opts->task_id != NULL;
}

/* Append ARGV[2..] of enqueue.lua before the runs of tasks lo..hi-1
 * (prepared as ps[lo..hi-1]): their count, all-or-nothing ("0"), the
 * queue and priority of them all when they share them (else "" ""), how
 * many carry an id the caller chose, then their positions in the call
 * (1-based). Returns whether the runs must name their own queue. */
static bool
add_head(struct sq_args *a, const syncq_task_spec *specs,
         const struct prepared *ps, size_t lo, size_t hi)
{
    size_t k = 0;
    bool shared = true;

    for (size_t i = lo; i < hi; i++) {
        k += id_chosen(&specs[i]);
        shared = shared && ps[i].priority == ps[lo].priority &&
                 strcmp(ps[i].queue, ps[lo].queue) == 0;
    }
    /* the common calls (one task; no chosen id) take literals, nothing
     * formatted or allocated */
    if (hi - lo == 1) {
        sq_args_add(a, "1");
    } else {
        sq_args_addll(a, (long long)(hi - lo));
    }
    sq_args_add(a, "0");
    sq_args_add(a, shared ? ps[lo].queue : "");
    sq_args_add(a, shared ? ps[lo].pri_s : "");
    if (k == 0) {
        sq_args_add(a, "0");
        return !shared;
    }
    sq_args_addll(a, (long long)k);
    for (size_t i = lo; i < hi; i++) {
        if (id_chosen(&specs[i])) {
            sq_args_addll(a, (long long)(i - lo + 1));
        }
    }
    return !shared;
}

bool
sq_enqueue_all_new(const redisReply *r, size_t n)
{
    return r->type == REDIS_REPLY_INTEGER && r->integer == (long long)n;
}

/* Read an enqueue reply into ids (in order): every task new (its id
 * the one sent, sent[i]) or id, status pairs. */
static int
read_ids(redisReply *r, size_t n, const char *const *sent,
         char (*ids)[SYNCQ_ID_SIZE], int *dups, syncq_error *err)
{
    if (sq_enqueue_all_new(r, n)) {
        for (size_t i = 0; i < n; i++) {
            snprintf(ids[i], SYNCQ_ID_SIZE, "%s", sent[i]);
            if (dups != NULL) {
                dups[i] = 0;
            }
        }
        return SYNCQ_OK;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * n) {
        return sq_fail(err, SYNCQ_EPROTO, "enqueue: unexpected reply");
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *id = r->element[2 * i];
        redisReply *st = r->element[2 * i + 1];
        if (id->type != REDIS_REPLY_STRING || st->type != REDIS_REPLY_STRING) {
            return sq_fail(err, SYNCQ_EPROTO, "enqueue: unexpected reply");
        }
        snprintf(ids[i], SYNCQ_ID_SIZE, "%s", id->str);
        if (dups != NULL) {
            dups[i] = strcmp(st->str, "dup") == 0;
        }
    }
    return SYNCQ_OK;
}

int
syncq_task_create(syncq_client *c, const char *name, const char *args_json,
                  const char *kwargs_json, const syncq_task_options *opts,
                  char id_out[SYNCQ_ID_SIZE], int *is_dup, syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    char id[SYNCQ_ID_SIZE];
    int dup = 0;
    int rc;

    if (id_out != NULL) {
        id_out[0] = '\0';
    }
    if (c == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "no client");
    }
    sq_args_init(&a);
    rc = sq_enqueue_prepare_call(c, &a, name, args_json, kwargs_json, opts,
                                 id, err);
    if (rc == SYNCQ_OK) {
        rc = sq_script_call(c, SQ_SCRIPT_ENQUEUE, &a, &r, err);
    }
    if (rc == SYNCQ_OK) {
        char ids[1][SYNCQ_ID_SIZE];
        const char *sent[1] = {id};
        rc = read_ids(r, 1, sent, ids, &dup, err);
        if (rc == SYNCQ_OK && id_out != NULL) {
            memcpy(id_out, ids[0], SYNCQ_ID_SIZE);
        }
    }
    if (is_dup != NULL) {
        *is_dup = dup;
    }
    freeReplyObject(r);
    sq_args_cleanup(&a);
    return rc;
}

/* A chunk of one task answers its existing id as a duplicate (the script
 * cannot tell a single create from a bulk one); a bulk create refuses an
 * id that exists, whatever its chunk's size (syncq/client.h). */
static int
own_id_taken(const syncq_task_spec *specs, size_t n,
             char (*ids)[SYNCQ_ID_SIZE], const int *dups, syncq_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *want = specs[i].opts != NULL ? specs[i].opts->task_id
                                                 : NULL;
        /* (a unique key held by another task answers that task's id) */
        if (dups[i] && want != NULL && strcmp(ids[i], want) == 0) {
            return sq_fail(err, SYNCQ_EPROTO,
                           "task id %s already exists; an id is never "
                           "re-used",
                           want);
        }
    }
    return SYNCQ_OK;
}

int
syncq_task_create_many(syncq_client *c, const syncq_task_spec *specs,
                       size_t n, char (*ids_out)[SYNCQ_ID_SIZE],
                       size_t *created_out, syncq_error *err)
{
    struct prepared *ps;
    size_t nchunks = (n + CHUNK - 1) / CHUNK;
    size_t created = 0;
    int rc = SYNCQ_OK;

    if (created_out != NULL) {
        *created_out = 0;
    }
    if (n == 0) {
        return SYNCQ_OK;
    }
    ps = sq_calloc(n, sizeof *ps);
    if (ps == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory for %zu tasks", n);
    }
    for (size_t i = 0; i < n; i++) {
        rc = prepare(c, i, specs[i].name, specs[i].args_json,
                     specs[i].kwargs_json, specs[i].opts, &ps[i], err);
        if (rc != SYNCQ_OK) {
            for (size_t j = 0; j < i; j++) {
                prepared_cleanup(&ps[j]);
            }
            sq_free(ps);
            return rc;
        }
    }
    rc = sq_client_ensure(c, false, NULL, err);
    /* Pipeline every chunk, then read the replies in order. */
    for (size_t k = 0; k < nchunks && rc == SYNCQ_OK; k++) {
        struct sq_args a;
        size_t lo = k * CHUNK;
        size_t hi = lo + CHUNK < n ? lo + CHUNK : n;
        bool own_queue;
        sq_args_init(&a);
        own_queue = add_head(&a, specs, ps, lo, hi);
        for (size_t i = lo; i < hi; i++) {
            add_run(c, &a, &ps[i], own_queue);
        }
        rc = sq_script_append(c, SQ_SCRIPT_ENQUEUE, &a, err);
        sq_args_cleanup(&a);
        /* Send each chunk at once so Redis runs it while we build the
         * next one (hiredis would otherwise hold all of them until the
         * first read). Redis never blocks on its replies, so writing
         * ahead of reading cannot deadlock. */
        if (rc == SYNCQ_OK) {
            int done = 0;
            while (!done && rc == SYNCQ_OK) {
                if (sq_conn_buffer_write(c, &done) != REDIS_OK) {
                    rc = sq_fail(err, SYNCQ_ECONN, "Redis at %s: %s",
                                 c->url_shown, c->rc->errstr);
                }
            }
        }
    }
    for (size_t k = 0; k < nchunks && rc == SYNCQ_OK; k++) {
        redisReply *r = NULL;
        int dups[CHUNK];
        const char *sent[CHUNK];
        size_t lo = k * CHUNK;
        size_t hi = lo + CHUNK < n ? lo + CHUNK : n;
        for (size_t i = lo; i < hi; i++) {
            sent[i - lo] = ps[i].id;
        }
        rc = sq_client_read_reply(c, &r, err);
        if (rc == SYNCQ_OK) {
            rc = sq_script_reply_check(c, SQ_SCRIPT_ENQUEUE, r, err);
        }
        if (rc == SYNCQ_OK) {
            rc = read_ids(r, hi - lo, sent, ids_out + lo, dups, err);
        }
        if (rc == SYNCQ_OK) {
            rc = own_id_taken(specs + lo, hi - lo, ids_out + lo, dups, err);
        }
        if (rc == SYNCQ_OK) {
            created = hi;
        }
        freeReplyObject(r);
    }
    if (rc != SYNCQ_OK && c->rc != NULL) {
        /* Replies may still be pending on the connection: drop it so the
         * next call starts clean. */
        sq_client_drop(c, "bulk enqueue failed midway");
    }
    for (size_t i = 0; i < n; i++) {
        prepared_cleanup(&ps[i]);
    }
    sq_free(ps);
    if (created_out != NULL) {
        *created_out = created;
    }
    return rc;
}

/* Check one task into a new `prepared` and append its run to `a`,
 * which then owns it (add_run borrows its strings: `a` keeps p and its
 * JSON texts, one allocation instead of a copy of every argument).
 * `head`: first the call's head for this one task (its queue given
 * once). */
static int
prepare_owned(syncq_client *c, struct sq_args *a, const char *name,
              const char *args_json, const char *kwargs_json,
              const syncq_task_options *o, bool head,
              char id_out[SYNCQ_ID_SIZE], syncq_error *err)
{
    struct prepared *p = sq_malloc(sizeof *p);
    int rc;

    if (p == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = prepare(c, (size_t)-1, name, args_json, kwargs_json, o, p, err);
    if (rc != SYNCQ_OK) {
        sq_free(p);
        return rc;
    }
    if (head) {
        const syncq_task_spec one = {.name = name, .opts = o};
        add_head(a, &one, p, 0, 1);
    }
    add_run(c, a, p, !head);
    memcpy(id_out, p->id, SYNCQ_ID_SIZE);
    if (p->args != NULL) {
        sq_args_own(a, p->args);
    }
    if (p->kwargs != NULL) {
        sq_args_own(a, p->kwargs);
    }
    if (p->policy != NULL) {
        sq_args_own(a, p->policy);
    }
    if (p->when != NULL) {
        sq_args_own(a, p->when);
    }
    sq_args_own(a, (char *)p);
    if (a->oom) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    return SYNCQ_OK;
}

int
sq_enqueue_prepare_run(syncq_client *c, struct sq_args *a, const char *name,
                       const char *args_json, const char *kwargs_json,
                       const syncq_task_options *o,
                       char id_out[SYNCQ_ID_SIZE], syncq_error *err)
{
    return prepare_owned(c, a, name, args_json, kwargs_json, o, false,
                         id_out, err);
}

void
sq_enqueue_head(struct sq_args *a, size_t n, bool each, size_t k)
{
    sq_args_addll(a, (long long)n);
    sq_args_add(a, each ? "1" : "0");
    sq_args_add(a, ""); /* each run names its queue and priority */
    sq_args_add(a, "");
    sq_args_addll(a, (long long)k);
}

void
sq_enqueue_all_chosen(struct sq_args *a, size_t n)
{
    sq_enqueue_head(a, n, false, n);
    for (size_t i = 1; i <= n; i++) {
        sq_args_addll(a, (long long)i);
    }
}

int
sq_enqueue_prepare_call(syncq_client *c, struct sq_args *a, const char *name,
                        const char *args_json, const char *kwargs_json,
                        const syncq_task_options *o,
                        char id_out[SYNCQ_ID_SIZE], syncq_error *err)
{
    return prepare_owned(c, a, name, args_json, kwargs_json, o, true,
                         id_out, err);
}
