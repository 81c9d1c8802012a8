/* SPDX-License-Identifier: MIT
 *
 * mon_progress.c: progress callbacks (syncq_progress_monitor, the seed's
 * progress_monitor.add_progress_callback). Reads the events stream
 * ({ns}:events, XREAD on a connection of its own) for task-progress and
 * final-state events of watched tasks, reads the record's progress JSON
 * (rate comes from the broker's progress.lua), derives percent and ETA,
 * and calls the callbacks in the polling thread.
 */
#include "monitor/mon.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <syncq/monitor.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLBACKS 10000

struct cb {
    char task_id[72]; /* "" = every task */
    syncq_progress_fn fn;
    void *ud;
    bool initial;     /* deliver the current progress on the next poll */
    bool dead;        /* removed after its final update */
};

struct syncq_progress_monitor {
    syncq_client *c;   /* own connection (clone) */
    char last_id[64];  /* stream position */
    struct cb *cbs;
    size_t n, cap;
};

int
syncq_progress_monitor_new(syncq_client *c, syncq_progress_monitor **out,
                           syncq_error *err)
{
    syncq_progress_monitor *m;
    redisReply *r = NULL;
    char key[256];
    int rc;

    *out = NULL;
    m = sq_calloc(1, sizeof *m);
    if (m == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_client_clone(c, &m->c, err);
    if (rc == SYNCQ_OK) {
        rc = sq_client_cmd(m->c, &r, err, "XREVRANGE %s + - COUNT 1",
                           sq_key(m->c, key, sizeof key, "events"));
    }
    if (rc != SYNCQ_OK) {
        syncq_progress_monitor_free(m);
        return rc;
    }
    snprintf(m->last_id, sizeof m->last_id, "0-0");
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(m->last_id, sizeof m->last_id, "%s",
                 r->element[0]->element[0]->str);
    }
    freeReplyObject(r);
    *out = m;
    return SYNCQ_OK;
}

void
syncq_progress_monitor_free(syncq_progress_monitor *m)
{
    if (m == NULL) {
        return;
    }
    syncq_client_close(m->c);
    sq_free(m->cbs);
    sq_free(m);
}

int
syncq_progress_monitor_add_callback(syncq_progress_monitor *m,
                                    const char *task_id,
                                    syncq_progress_fn fn, void *userdata,
                                    syncq_error *err)
{
    struct cb *c;

    if (fn == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "progress callback is NULL");
    }
    if (task_id != NULL && (task_id[0] == '\0' || strlen(task_id) > 64)) {
        return sq_fail(err, SYNCQ_EINVAL, "task id must be 1..64 bytes");
    }
    if (m->n >= MAX_CALLBACKS) {
        return sq_fail(err, SYNCQ_ETOOBIG, "more than %d progress callbacks",
                       MAX_CALLBACKS);
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 8;
        struct cb *n = sq_realloc(m->cbs, nc * sizeof *n);
        if (n == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        m->cbs = n;
        m->cap = nc;
    }
    c = &m->cbs[m->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->task_id, sizeof c->task_id, "%s", task_id ? task_id : "");
    c->fn = fn;
    c->ud = userdata;
    c->initial = task_id != NULL;
    return SYNCQ_OK;
}

static void
compact(syncq_progress_monitor *m)
{
    size_t j = 0;

    for (size_t i = 0; i < m->n; i++) {
        if (!m->cbs[i].dead) {
            m->cbs[j++] = m->cbs[i];
        }
    }
    m->n = j;
}

size_t
syncq_progress_monitor_remove_callback(syncq_progress_monitor *m,
                                       const char *task_id,
                                       syncq_progress_fn fn, void *userdata)
{
    size_t removed = 0;
    const char *want = task_id != NULL ? task_id : "";

    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->cbs[i].task_id, want) == 0 && m->cbs[i].fn == fn &&
            m->cbs[i].ud == userdata && !m->cbs[i].dead) {
            m->cbs[i].dead = true;
            removed++;
        }
    }
    compact(m);
    return removed;
}

static bool
watched(const syncq_progress_monitor *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++) {
        if (!m->cbs[i].dead &&
            (m->cbs[i].task_id[0] == '\0' ||
             strcmp(m->cbs[i].task_id, id) == 0)) {
            return true;
        }
    }
    return false;
}

static double
jnum(const json_t *v, double d)
{
    return json_is_number(v) ? json_number_value(v) : d;
}

/* What an event said, when a delivery comes from one: a task-progress
 * event carries the current/total of that moment (the record may have
 * moved on since), any other event the state it recorded. */
struct evinfo {
    bool progress;      /* a task-progress event */
    bool final;         /* a final-state event */
    int64_t current, total;
};

/* Read task `id` and call every matching callback (only_initial: just
 * the ones waiting for their first delivery; ev: the event, or NULL). */
static int
deliver(syncq_progress_monitor *m, const char *id, bool only_initial,
        const struct evinfo *ev, size_t *count, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    json_t *p = NULL;
    syncq_progress u;
    const char *state;
    int rc;

    rc = sq_client_cmd(m->c, &r, err, "HMGET %s name state progress",
                       sq_key(m->c, key, sizeof key, "t:%s", id));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return SYNCQ_OK; /* gone (expired): nothing to report */
    }
    memset(&u, 0, sizeof u);
    u.task_id = id;
    u.name = r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str
                                                       : "";
    state = r->element[1]->str;
    u.state = state;
    u.message = "";
    u.percent = -1;
    u.eta_s = -1;
    if (r->element[2]->type == REDIS_REPLY_STRING) {
        json_error_t je;
        p = json_loadb(r->element[2]->str, r->element[2]->len, 0, &je);
    }
    if (json_is_object(p)) {
        const char *msg = json_string_value(json_object_get(p, "message"));
        u.current = (int64_t)jnum(json_object_get(p, "current"), 0);
        u.total = (int64_t)jnum(json_object_get(p, "total"), 0);
        u.rate = jnum(json_object_get(p, "rate"), 0);
        u.at_ms = (int64_t)jnum(json_object_get(p, "at"), 0);
        u.message = msg != NULL ? msg : "";
    }
    u.is_final = sq_state_is_final(state);
    if (ev != NULL && ev->progress) {
        /* history as it happened, not as the record is now */
        u.current = ev->current;
        u.total = ev->total > 0 ? ev->total : u.total;
        u.state = "PROGRESS";
        u.is_final = false;
    } else if (ev != NULL && !ev->final && u.is_final) {
        /* a non-final event read after the task finished: its final
         * event follows in the stream */
        u.state = "PROGRESS";
        u.is_final = false;
    }
    if (u.total > 0) {
        u.percent = (double)u.current * 100.0 / (double)u.total;
        if (u.percent > 100) {
            u.percent = 100;
        }
        if (u.current >= u.total) {
            u.eta_s = 0;
        } else if (u.rate > 0 && !u.is_final) {
            u.eta_s = (double)(u.total - u.current) / u.rate;
        }
    }
    for (size_t i = 0; i < m->n; i++) {
        struct cb *c = &m->cbs[i];
        if (c->dead || (only_initial && !c->initial)) {
            continue;
        }
        if (c->task_id[0] != '\0' && strcmp(c->task_id, id) != 0) {
            continue;
        }
        c->initial = false;
        c->fn(c->ud, &u);
        (*count)++;
        if (u.is_final && c->task_id[0] != '\0') {
            c->dead = true;
        }
    }
    json_decref(p);
    freeReplyObject(r);
    return SYNCQ_OK;
}

static bool
relevant(const char *e)
{
    static const char *kinds[] = {"task-progress",  "task-started",
                                  "task-succeeded", "task-failed",
                                  "task-revoked",   "task-expired",
                                  "task-skipped",   "task-dead",
                                  "task-retried",   "task-lost"};

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(e, kinds[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* One task's event of the stream, delivered if it is watched. */
static int
deliver_event(syncq_progress_monitor *m, const struct sq_event *te,
              size_t *count, syncq_error *err)
{
    static const char *finals[] = {"task-succeeded", "task-failed",
                                   "task-revoked",   "task-expired",
                                   "task-skipped",   "task-dead"};
    const char *cur, *tot;
    struct evinfo ev;
    char idc[72];

    if (te->e == NULL || te->id == NULL || !relevant(te->e) ||
        strlen(te->id) > 64 || !watched(m, te->id)) {
        return SYNCQ_OK;
    }
    memset(&ev, 0, sizeof ev);
    cur = sq_event_get(te, "current");
    tot = sq_event_get(te, "total");
    ev.current = cur != NULL ? strtoll(cur, NULL, 10) : 0;
    ev.total = tot != NULL ? strtoll(tot, NULL, 10) : 0;
    snprintf(idc, sizeof idc, "%s", te->id);
    ev.progress = strcmp(te->e, "task-progress") == 0;
    for (size_t f = 0; f < sizeof finals / sizeof finals[0]; f++) {
        ev.final = ev.final || strcmp(te->e, finals[f]) == 0;
    }
    return deliver(m, idc, false, &ev, count, err);
}

int
syncq_progress_monitor_poll(syncq_progress_monitor *m, int64_t timeout_ms,
                            size_t *delivered, syncq_error *err)
{
    size_t count = 0;
    int64_t end = sq_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    char key[256];
    int rc = SYNCQ_OK;

    if (delivered != NULL) {
        *delivered = 0;
    }
    for (size_t i = 0; i < m->n && rc == SYNCQ_OK; i++) {
        if (m->cbs[i].initial && !m->cbs[i].dead) {
            char id[72];
            snprintf(id, sizeof id, "%s", m->cbs[i].task_id);
            rc = deliver(m, id, true, NULL, &count, err);
        }
    }
    sq_key(m->c, key, sizeof key, "events");
    while (rc == SYNCQ_OK) {
        redisReply *r = NULL;
        int64_t left = end - sq_mono_ms();
        /* Block in slices below the client's command timeout. */
        int64_t block = left > 1000 ? 1000 : left;
        if (count > 0 || block <= 0) {
            block = 0;
        }
        if (block > 0) {
            rc = sq_client_cmd(m->c, &r, err,
                               "XREAD COUNT 500 BLOCK %lld STREAMS %s %s",
                               (long long)block, key, m->last_id);
        } else {
            rc = sq_client_cmd(m->c, &r, err, "XREAD COUNT 500 STREAMS %s %s",
                               key, m->last_id);
        }
        if (rc != SYNCQ_OK) {
            break;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == 2) {
            redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements && rc == SYNCQ_OK; i++) {
                redisReply *en = entries->element[i];
                struct sq_event te;
                if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
                    en->element[0]->type != REDIS_REPLY_STRING) {
                    continue;
                }
                snprintf(m->last_id, sizeof m->last_id, "%s",
                         en->element[0]->str);
                /* an entry may be about several tasks (broker_event.c) */
                for (bool more = sq_event_first(en->element[1], &te);
                     more && rc == SYNCQ_OK; more = sq_event_next(&te)) {
                    rc = deliver_event(m, &te, &count, err);
                }
            }
        }
        freeReplyObject(r);
        if (count > 0 || sq_mono_ms() >= end) {
            break;
        }
    }
    compact(m);
    if (delivered != NULL) {
        *delivered = count;
    }
    return rc;
}
