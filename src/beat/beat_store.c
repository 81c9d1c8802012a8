/* SPDX-License-Identifier: MIT
 *
 * beat_store.c: schedules in Redis and the public syncq_schedule_* API.
 * Definitions are validated and compiled here (beat_schedule.c) before
 * anything is written; writes are schedule_put.lua / schedule_tick.lua
 * calls with a compare-and-set on the schedule's generation, retried
 * when another process changed the schedule in between. Next runs are
 * computed from the Redis server's clock, the clock the beat uses.
 */
#include "beat/beat_store.h"
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>

#define SAVE_TRIES 5
#define FETCH_CHUNK 256

int
sq_beat_redis_now(syncq_client *c, int64_t *now_ms, syncq_error *err)
{
    redisReply *r = NULL;
    int rc = sq_client_cmd(c, &r, err, "TIME");

    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "TIME: unexpected reply");
    }
    *now_ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
              strtoll(r->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(r);
    return SYNCQ_OK;
}

int
sq_sched_defaults_get(syncq_client *c, const char *task,
                      struct sq_sched_defaults *d, syncq_error *err)
{
    const syncq_config *cfg = syncq_client_config(c);
    const syncq_task_def *def =
        syncq_registry_find(syncq_registry_default(), task);

    memset(d, 0, sizeof *d);
    d->tz = syncq_config_str(cfg, "SYNCQ_TIMEZONE");
    d->cap = (int)syncq_config_int(cfg, "SYNCQ_BEAT_CATCH_UP_CAP");
    d->grace_ms = syncq_config_ms(cfg, "SYNCQ_BEAT_MISSED_GRACE");
    d->queue = sq_route_queue(c, task);
    d->priority = (def != NULL && def->priority >= 0) ? def->priority : 5;
    if (d->cap < 1) {
        d->cap = 100;
    }
    return sq_beat_redis_now(c, &d->now_ms, err);
}

int
sq_sched_load(syncq_client *c, const char *name, struct sq_schedule *s,
              bool *found, syncq_error *err)
{
    char key[512];
    redisReply *r = NULL;
    int rc;

    *found = false;
    rc = sq_client_cmd(c, &r, err, "HGETALL %s",
                       sq_key(c, key, sizeof key, "sched:%s", name));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "schedule %s: unexpected reply",
                       name);
    }
    if (r->elements > 0) {
        *found = true;
        rc = sq_schedule_from_hash(s, name, r->element, r->elements, err);
    }
    freeReplyObject(r);
    return rc;
}

/* The name is taken. Each door says how to replace (--replace,
 * "replace": true, replace=True); the library names its own flag. */
static int
exists(const char *name, syncq_error *err)
{
    return sq_fail(err, SYNCQ_EEXIST, "schedule %s exists (remove it "
                   "first, or add it with SYNCQ_SCHEDULE_REPLACE)", name);
}

/* One schedule_put.lua call; status (16 bytes) and *gen from the reply. */
static int
put_call(syncq_client *c, struct sq_args *a, char status[16], int64_t *gen,
         syncq_error *err)
{
    redisReply *r = NULL;
    int rc = sq_script_call(c, SQ_SCRIPT_SCHEDULE_PUT, a, &r, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "schedule_put: unexpected reply");
    }
    snprintf(status, 16, "%s", r->element[0]->str);
    *gen = 0;
    if (r->element[1]->type == REDIS_REPLY_INTEGER) {
        *gen = r->element[1]->integer;
    } else if (r->element[1]->type == REDIS_REPLY_STRING) {
        *gen = strtoll(r->element[1]->str, NULL, 10);
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

int
sq_sched_save(syncq_client *c, struct sq_schedule *s, int64_t now_ms,
              enum sq_save_mode mode, char *status, syncq_error *err)
{
    for (int attempt = 0; attempt < SAVE_TRIES; attempt++) {
        struct sq_schedule old;
        struct sq_args a;
        json_t *pairs = NULL;
        bool found = false;
        char st[16];
        int64_t gen, next;
        int rc;

        sq_schedule_init(&old);
        rc = sq_sched_load(c, s->name, &old, &found, err);
        if (rc == SYNCQ_EPROTO) {
            /* A broken record is replaced whole (its state is lost). */
            found = false;
            rc = SYNCQ_OK;
        }
        if (rc != SYNCQ_OK) {
            sq_schedule_cleanup(&old);
            return rc;
        }
        if (found && mode == SQ_SAVE_CREATE) {
            sq_schedule_cleanup(&old);
            return exists(s->name, err);
        }
        if (found && s->type == SYNCQ_SCHEDULE_INTERVAL &&
            old.type == SYNCQ_SCHEDULE_INTERVAL && s->start_ms == 0 &&
            old.anchor_ms > 0) {
            s->anchor_ms = old.anchor_ms; /* keep the rhythm */
        }
        pairs = json_array();
        if (pairs == NULL || sq_schedule_def_fields(s, pairs) != 0) {
            json_decref(pairs);
            sq_schedule_cleanup(&old);
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        if (found && mode == SQ_SAVE_UPSERT && strcmp(old.def, s->def) == 0 &&
            old.error[0] == '\0') {
            json_decref(pairs);
            sq_schedule_cleanup(&old);
            if (status != NULL) {
                snprintf(status, 16, "unchanged");
            }
            return SYNCQ_OK;
        }
        if (sq_schedule_next_after(s, now_ms - 1, &next) != SYNCQ_OK) {
            next = -1;
        }
        if (found && next >= 0 && old.last_ms >= 0 && next <= old.last_ms &&
            sq_schedule_next_after(s, old.last_ms, &next) != SYNCQ_OK) {
            next = -1; /* never fire a tick that already fired */
        }
        sq_args_init(&a);
        sq_args_add(&a, "put");
        sq_args_add(&a, s->name);
        sq_args_add(&a, found ? "replace" : "create");
        if (found) {
            sq_args_addll(&a, old.gen);
        } else {
            sq_args_add(&a, "");
        }
        sq_args_addll(&a, next);
        sq_args_addll(&a, (long long)(json_array_size(pairs) / 2));
        for (size_t i = 0; i < json_array_size(pairs); i++) {
            sq_args_add(&a, json_string_value(json_array_get(pairs, i)));
        }
        rc = put_call(c, &a, st, &gen, err);
        sq_args_cleanup(&a);
        json_decref(pairs);
        sq_schedule_cleanup(&old);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (strcmp(st, "exists") == 0) {
            return exists(s->name, err);
        }
        if (strcmp(st, "conflict") == 0) {
            continue; /* changed under us: read again */
        }
        s->gen = gen;
        s->next_ms = next;
        if (status != NULL) {
            snprintf(status, 16, "%s", st);
        }
        return SYNCQ_OK;
    }
    return sq_fail(err, SYNCQ_ESTATE,
                   "schedule %s keeps changing; try "
                   "again",
                   s->name);
}

int
sq_sched_add(syncq_client *c, const syncq_schedule_config *cfg, int flags,
             const char *source, syncq_error *err)
{
    struct sq_sched_defaults d;
    struct sq_schedule s;
    char task[SYNCQ_SCHEDULE_NAME_MAX + 1];
    int rc;

    if (c == NULL || cfg == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "no client or schedule");
    }
    rc = sq_schedule_name_check(cfg->name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (cfg->task == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "schedule %s: task name is "
                       "missing",
                       cfg->name);
    }
    rc = syncq_task_name_normalize(cfg->task, task, sizeof task, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_sched_defaults_get(c, task, &d, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_schedule_init(&s);
    rc = sq_schedule_from_config(&s, cfg, &d, err);
    if (rc == SYNCQ_OK) {
        /* the task's declared arguments, now: a typo must not wait for
         * the first tick at 02:00 to fail (syncq/task.h) */
        rc = syncq_task_args_check(c, task, s.args, s.kwargs, NULL, err);
        if (rc != SYNCQ_OK) {
            char pre[SYNCQ_SCHEDULE_NAME_MAX + 16];
            snprintf(pre, sizeof pre, "schedule %s", cfg->name);
            sq_error_prefix(err, pre);
        }
    }
    if (rc == SYNCQ_OK) {
        size_t bytes =
            (s.args ? strlen(s.args) : 0) + (s.kwargs ? strlen(s.kwargs) : 0);
        if ((int64_t)bytes > c->max_payload) {
            rc = sq_fail(err, SYNCQ_ETOOBIG,
                         "args and kwargs are %zu "
                         "bytes, limit %lld (SYNCQ_MAX_PAYLOAD)",
                         bytes, (long long)c->max_payload);
        }
    }
    if (rc == SYNCQ_OK) {
        snprintf(s.source, sizeof s.source, "%s", source ? source : "api");
        rc = sq_sched_save(c, &s, d.now_ms,
                           (flags & SYNCQ_SCHEDULE_REPLACE) ? SQ_SAVE_REPLACE
                                                            : SQ_SAVE_CREATE,
                           NULL, err);
    }
    sq_schedule_cleanup(&s);
    return rc;
}

void
syncq_schedule_config_init(syncq_schedule_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->priority = -1;
    cfg->max_retries = -1;
    cfg->grace_ms = -1;
    cfg->enabled = true;
    cfg->missed = SYNCQ_MISSED_SKIP;
}

int
syncq_schedule_add(syncq_client *c, const syncq_schedule_config *cfg, int flags,
                   syncq_error *err)
{
    return sq_sched_add(c, cfg, flags, "api", err);
}

int
sq_sched_remove_gen(syncq_client *c, const char *name, int64_t gen,
                    syncq_error *err)
{
    struct sq_args a;
    char st[16];
    int64_t g;
    int rc;

    rc = sq_schedule_name_check(name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_args_init(&a);
    sq_args_add(&a, "remove");
    sq_args_add(&a, name);
    if (gen > 0) {
        sq_args_addll(&a, gen);
    } else {
        sq_args_add(&a, "");
    }
    rc = put_call(c, &a, st, &g, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (strcmp(st, "gone") == 0) {
        return sq_fail(err, SYNCQ_ENOTFOUND, "no schedule %s", name);
    }
    if (strcmp(st, "conflict") == 0) {
        return sq_fail(err, SYNCQ_ESTATE, "schedule %s changed meanwhile",
                       name);
    }
    return SYNCQ_OK;
}

int
syncq_schedule_remove(syncq_client *c, const char *name, syncq_error *err)
{
    return sq_sched_remove_gen(c, name, 0, err);
}

int
syncq_schedule_pause(syncq_client *c, const char *name, syncq_error *err)
{
    struct sq_args a;
    char st[16];
    int64_t g;
    int rc;

    rc = sq_schedule_name_check(name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_args_init(&a);
    sq_args_add(&a, "pause");
    sq_args_add(&a, name);
    rc = put_call(c, &a, st, &g, err);
    sq_args_cleanup(&a);
    if (rc == SYNCQ_OK && strcmp(st, "gone") == 0) {
        rc = sq_fail(err, SYNCQ_ENOTFOUND, "no schedule %s", name);
    }
    return rc;
}

int
syncq_schedule_resume(syncq_client *c, const char *name, syncq_error *err)
{
    int rc;

    rc = sq_schedule_name_check(name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (int attempt = 0; attempt < SAVE_TRIES; attempt++) {
        struct sq_schedule s;
        struct sq_args a;
        bool found;
        int64_t now, next, g;
        char st[16];

        sq_schedule_init(&s);
        rc = sq_sched_load(c, name, &s, &found, err);
        if (rc == SYNCQ_OK && !found) {
            rc = sq_fail(err, SYNCQ_ENOTFOUND, "no schedule %s", name);
        }
        if (rc == SYNCQ_OK && s.enabled) {
            sq_schedule_cleanup(&s);
            return SYNCQ_OK; /* already active */
        }
        if (rc == SYNCQ_OK && sq_schedule_compile(&s, err) != SYNCQ_OK) {
            char pre[256];
            snprintf(pre, sizeof pre, "schedule %s is invalid", name);
            sq_error_prefix(err, pre);
            rc = SYNCQ_EINVAL;
        }
        if (rc == SYNCQ_OK) {
            rc = sq_beat_redis_now(c, &now, err);
        }
        if (rc != SYNCQ_OK) {
            sq_schedule_cleanup(&s);
            return rc;
        }
        /* From now on: resuming never triggers a catch-up (C19). */
        if (sq_schedule_next_after(&s, now - 1, &next) != SYNCQ_OK) {
            next = -1;
        }
        if (next >= 0 && s.last_ms >= 0 && next <= s.last_ms &&
            sq_schedule_next_after(&s, s.last_ms, &next) != SYNCQ_OK) {
            next = -1;
        }
        sq_args_init(&a);
        sq_args_add(&a, "resume");
        sq_args_add(&a, name);
        sq_args_addll(&a, s.gen);
        sq_args_addll(&a, next);
        rc = put_call(c, &a, st, &g, err);
        sq_args_cleanup(&a);
        sq_schedule_cleanup(&s);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (strcmp(st, "gone") == 0) {
            return sq_fail(err, SYNCQ_ENOTFOUND, "no schedule %s", name);
        }
        if (strcmp(st, "conflict") != 0) {
            return SYNCQ_OK;
        }
    }
    return sq_fail(err, SYNCQ_ESTATE,
                   "schedule %s keeps changing; try "
                   "again",
                   name);
}

int
syncq_schedule_run(syncq_client *c, const char *name,
                   char id_out[SYNCQ_ID_SIZE], syncq_error *err)
{
    char id[SYNCQ_ID_SIZE];
    struct sq_args a;
    redisReply *r = NULL;
    int rc;

    if (id_out != NULL) {
        id_out[0] = '\0';
    }
    rc = sq_schedule_name_check(name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_uuid_new(id);
    sq_args_init(&a);
    sq_args_add(&a, ""); /* no lock: a manual run */
    sq_args_add(&a, "120000");
    sq_args_add(&a, "1");
    sq_args_add(&a, name);
    sq_args_add(&a, "");
    sq_args_add(&a, "");
    sq_args_add(&a, "run");
    sq_args_add(&a, "");
    sq_args_add(&a, "-1");
    sq_args_add(&a, id);
    sq_args_add(&a, "");
    rc = sq_script_call(c, SQ_SCRIPT_SCHEDULE_TICK, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        rc = sq_fail(err, SYNCQ_EPROTO, "schedule_tick: unexpected reply");
    } else if (strcmp(r->element[0]->str, "gone") == 0) {
        rc = sq_fail(err, SYNCQ_ENOTFOUND, "no schedule %s", name);
    } else if (strcmp(r->element[0]->str, "fired") != 0) {
        rc = sq_fail(err, SYNCQ_ESTATE, "schedule %s could not run: %s", name,
                     r->element[0]->str);
    } else if (id_out != NULL) {
        memcpy(id_out, id, SYNCQ_ID_SIZE);
    }
    freeReplyObject(r);
    return rc;
}

int
syncq_schedule_info(syncq_client *c, const char *name, json_t **out,
                    syncq_error *err)
{
    struct sq_schedule s;
    bool found = false;
    int rc;

    *out = NULL;
    rc = sq_schedule_name_check(name, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_schedule_init(&s);
    rc = sq_sched_load(c, name, &s, &found, err);
    if (rc == SYNCQ_OK && !found) {
        rc = sq_fail(err, SYNCQ_ENOTFOUND, "no schedule %s", name);
    }
    if (rc == SYNCQ_OK) {
        *out = sq_schedule_to_json(&s);
        if (*out == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    sq_schedule_cleanup(&s);
    return rc;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
sq_sched_names(syncq_client *c, json_t **out, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    const char **v;
    json_t *names;
    int rc;

    *out = NULL;
    rc = sq_client_cmd(c, &r, err, "ZRANGE %s 0 -1",
                       sq_key(c, key, sizeof key, "schedules"));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "ZRANGE: unexpected reply");
    }
    v = sq_calloc(r->elements + 1, sizeof *v);
    names = json_array();
    if (v == NULL || names == NULL) {
        sq_free(v);
        json_decref(names);
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->elements; i++) {
        v[i] = r->element[i]->str ? r->element[i]->str : "";
    }
    qsort(v, r->elements, sizeof *v, cmp_str);
    for (size_t i = 0; i < r->elements; i++) {
        json_array_append_new(names, json_string(v[i]));
    }
    sq_free(v);
    freeReplyObject(r);
    *out = names;
    return SYNCQ_OK;
}

int
sq_sched_fetch_many(syncq_client *c, const char *const *names, size_t n,
                    void (*fn)(void *ud, const char *name, redisReply *r),
                    void *ud, syncq_error *err)
{
    int rc = sq_client_ensure(c, false, NULL, err);

    for (size_t lo = 0; lo < n && rc == SYNCQ_OK; lo += FETCH_CHUNK) {
        size_t hi = lo + FETCH_CHUNK < n ? lo + FETCH_CHUNK : n;
        for (size_t i = lo; i < hi; i++) {
            char key[512];
            sq_key(c, key, sizeof key, "sched:%s", names[i]);
            if (sq_conn_append(c, "HGETALL %s", key) != REDIS_OK) {
                rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
                break;
            }
        }
        for (size_t i = lo; i < hi && rc == SYNCQ_OK; i++) {
            redisReply *r = NULL;
            rc = sq_client_read_reply(c, &r, err);
            if (rc == SYNCQ_OK) {
                /* an error reply (WRONGTYPE: not a hash) is the callback's
                 * to judge; it must not hide the other schedules */
                fn(ud, names[i], r);
            }
            if (r != NULL) {
                freeReplyObject(r);
            }
        }
    }
    if (rc != SYNCQ_OK && c->rc != NULL) {
        sq_client_drop(c, "pipelined read failed");
    }
    return rc;
}

struct list_ctx {
    json_t *out;
    int rc;
};

static void
list_one(void *ud, const char *name, redisReply *r)
{
    struct list_ctx *lc = ud;
    struct sq_schedule s;
    syncq_error e;

    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        return; /* removed meanwhile, or not a schedule at all */
    }
    sq_schedule_init(&s);
    if (sq_schedule_from_hash(&s, name, r->element, r->elements, &e) !=
            SYNCQ_OK &&
        s.error[0] == '\0') {
        snprintf(s.error, sizeof s.error, "%s", e.msg);
    }
    json_array_append_new(lc->out, sq_schedule_to_json(&s));
    sq_schedule_cleanup(&s);
}

int
syncq_schedule_list(syncq_client *c, json_t **out, syncq_error *err)
{
    struct list_ctx lc = {NULL, SYNCQ_OK};
    json_t *names = NULL;
    const char **v = NULL;
    size_t n;
    int rc;

    *out = NULL;
    rc = sq_sched_names(c, &names, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    n = json_array_size(names);
    v = sq_calloc(n + 1, sizeof *v);
    lc.out = json_array();
    if (v == NULL || lc.out == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == SYNCQ_OK && i < n; i++) {
        v[i] = json_string_value(json_array_get(names, i));
    }
    if (rc == SYNCQ_OK) {
        rc = sq_sched_fetch_many(c, v, n, list_one, &lc, err);
    }
    sq_free(v);
    json_decref(names);
    if (rc != SYNCQ_OK) {
        json_decref(lc.out);
        return rc;
    }
    *out = lc.out;
    return SYNCQ_OK;
}

int
syncq_cron_check(const char *expr, const char *tz, syncq_error *err)
{
    const struct sq_tz *z;
    struct sq_cron *cc = NULL;
    int rc = sq_tz_get(tz, &z, err);

    if (rc == SYNCQ_OK) {
        rc = sq_cron_parse(expr, &cc, err);
    }
    sq_cron_free(cc);
    return rc;
}

int
syncq_cron_next(const char *expr, const char *tz, int64_t after_ms,
                int64_t *out_ms, syncq_error *err)
{
    const struct sq_tz *z;
    struct sq_cron *cc = NULL;
    int64_t x;
    int rc = sq_tz_get(tz, &z, err);

    if (rc == SYNCQ_OK) {
        rc = sq_cron_parse(expr, &cc, err);
    }
    if (rc == SYNCQ_OK) {
        int64_t after_s = after_ms / 1000 - (after_ms % 1000 < 0);
        if (sq_cron_next(cc, z, after_s, &x) != SYNCQ_OK) {
            rc = sq_fail(err, SYNCQ_ENOTFOUND,
                         "'%s' does not fire again "
                         "before year 9999",
                         expr);
        } else {
            *out_ms = x * 1000;
        }
    }
    sq_cron_free(cc);
    return rc;
}

/* One beat's status from its HMGET leader seen info reply `h`. */
static json_t *
beat_json(const char *id, int64_t seen, const redisReply *h, bool *leader)
{
    json_t *o, *info = NULL;
    char buf[48];
    bool alive = false;

    *leader = false;
    if (h != NULL && h->type == REDIS_REPLY_ARRAY && h->elements == 3) {
        alive = h->element[1]->type == REDIS_REPLY_STRING;
        *leader = alive && h->element[0]->type == REDIS_REPLY_STRING &&
                  strcmp(h->element[0]->str, "1") == 0;
        if (alive) {
            seen = strtoll(h->element[1]->str, NULL, 10);
        }
        if (h->element[2]->type == REDIS_REPLY_STRING) {
            info = json_loads(h->element[2]->str, 0, NULL);
        }
    }
    o = json_is_object(info) ? json_incref(info) : json_object();
    json_decref(info);
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "leader", json_boolean(*leader));
    json_object_set_new(o, "alive", json_boolean(alive));
    json_object_set_new(o, "seen_ms", json_integer(seen));
    json_object_set_new(
        o, "seen",
        json_string(sq_time_format_iso8601_ms(seen, buf, sizeof buf)));
    if (json_is_integer(json_object_get(o, "started_at"))) {
        json_object_set_new(
            o, "started_at",
            json_string(sq_time_format_iso8601_ms(
                json_integer_value(json_object_get(o, "started_at")), buf,
                sizeof buf)));
    }
    return o;
}

int
syncq_beat_status(syncq_client *c, json_t **out, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    json_t *list;
    size_t n;
    int rc;

    *out = NULL;
    rc = sq_client_cmd(c, &r, err, "ZREVRANGE %s 0 999 WITHSCORES",
                       sq_key(c, key, sizeof key, "beat:nodes"));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "ZREVRANGE: unexpected reply");
    }
    /* every record in one round trip (the monitor reads them with each
     * collection) */
    n = r->elements / 2;
    for (size_t i = 0; i < n; i++) {
        if (sq_conn_append(c, "HMGET %s leader seen info",
                           sq_key(c, key, sizeof key, "beat:node:%s",
                                  r->element[2 * i]->str)) != REDIS_OK) {
            freeReplyObject(r);
            sq_client_drop(c, "pipeline append failed");
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        redisReply *h = NULL;
        json_t *o;
        bool leader;
        rc = sq_client_read_reply(c, &h, err);
        if (rc != SYNCQ_OK) {
            break; /* the connection is dropped with the rest */
        }
        o = beat_json(r->element[2 * i]->str,
                      strtoll(r->element[2 * i + 1]->str, NULL, 10), h,
                      &leader);
        freeReplyObject(h);
        /* the leader first */
        if (leader) {
            json_array_insert_new(list, 0, o);
        } else {
            json_array_append_new(list, o);
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
