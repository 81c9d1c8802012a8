/* SPDX-License-Identifier: MIT
 *
 * broker_pipeline.c: the pipelined producer (syncq/pipeline.h). Each add
 * is checked and encoded by the same code as syncq_task_create
 * (sq_enqueue_prepare_run) and kept in a ring of `depth` slots (its id,
 * whom to tell, its encoded run). Consecutive adds share one enqueue
 * call of up to GROUP tasks in "each" mode (enqueue.lua): every task is
 * created or answered as a call of its own would be, and the call's
 * dispatch, prelude and wake-up are paid once per group, not per task
 * (a call costs Redis about twice a task's work: bench/enqueue_ir.sh).
 * A group is queued on the connection when it is full, before any answer
 * is read and on flush; hiredis writes queued calls when an answer is
 * read, so a create reaches Redis no later than it did one call each.
 * The answers are read in order, a call at a time, whenever the window
 * is full or on flush.
 */
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <stdio.h>
#include <string.h>
#include <syncq/pipeline.h>

#define DEPTH_DEFAULT 256
#define DEPTH_MAX 100000
#define GROUP 64 /* tasks per enqueue call at most */

struct slot {
    char id[SYNCQ_ID_SIZE];
    syncq_pipeline_cb cb;
    void *ud;
    bool chosen;        /* the caller chose the id (looked up) */
    struct sq_args run; /* its encoded run until its call is queued */
};

struct syncq_pipeline {
    syncq_client *c;
    /* The checks of an add may read Redis (the declaration of a task not
     * registered in this process): on a connection of their own, never
     * between the calls in flight on `c`. */
    syncq_client *lookups;
    struct slot *ring;
    size_t depth, head, n; /* tasks added and not answered */
    size_t open;           /* of them, the newest not queued yet */
    size_t *calls;         /* tasks per queued call, oldest first */
    size_t chead, ncalls;
    size_t group;
};

int
syncq_pipeline_new(syncq_client *c, size_t depth, syncq_pipeline **out,
                   syncq_error *err)
{
    syncq_pipeline *p;
    int rc;

    *out = NULL;
    if (c == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "no client");
    }
    if (depth > DEPTH_MAX) {
        return sq_fail(err, SYNCQ_EINVAL, "pipeline depth %zu above %d",
                       depth, DEPTH_MAX);
    }
    p = sq_calloc(1, sizeof *p);
    if (p != NULL) {
        p->depth = depth != 0 ? depth : DEPTH_DEFAULT;
        p->group = p->depth < GROUP ? p->depth : GROUP;
        p->ring = sq_calloc(p->depth, sizeof *p->ring);
        p->calls = sq_calloc(p->depth, sizeof *p->calls);
    }
    if (p == NULL || p->ring == NULL || p->calls == NULL) {
        if (p != NULL) {
            sq_free(p->ring);
            sq_free(p->calls);
        }
        sq_free(p);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_client_clone(c, &p->lookups, err);
    if (rc != SYNCQ_OK) {
        sq_free(p->ring);
        sq_free(p->calls);
        sq_free(p);
        return rc;
    }
    p->c = c;
    *out = p;
    return SYNCQ_OK;
}

static struct slot *
slot_at(syncq_pipeline *p, size_t i)
{
    return &p->ring[(p->head + i) % p->depth];
}

/* Deliver the oldest answer: rc and err say how its create went. */
static void
deliver(syncq_pipeline *p, int dup, int rc, const syncq_error *err,
        const char *id)
{
    struct slot *s = &p->ring[p->head];

    p->head = (p->head + 1) % p->depth;
    p->n--;
    if (p->open > p->n) {
        p->open = p->n; /* it was never queued */
    }
    sq_args_cleanup(&s->run);
    if (s->cb != NULL) {
        s->cb(s->ud, id != NULL ? id : s->id, dup, rc, err);
    }
}

/* The connection is gone: no answer pending will come. */
static void
lose_all(syncq_pipeline *p, int rc, const syncq_error *err)
{
    while (p->n > 0) {
        deliver(p, 0, rc, err, NULL);
    }
    p->ncalls = 0;
}

/* Queue the open group as one enqueue call: count, "each", the ids the
 * caller chose, then the runs (borrowed from the slots, freed after). */
static void
queue_open(syncq_pipeline *p)
{
    size_t first = p->n - p->open, m = p->open, k = 0;
    bool idle = p->ncalls == 0;
    struct sq_args a;
    syncq_error err;
    int rc;

    if (m == 0) {
        return;
    }
    sq_args_init(&a);
    for (size_t i = 0; i < m; i++) {
        k += slot_at(p, first + i)->chosen;
    }
    sq_enqueue_head(&a, m, true, k);
    for (size_t i = 0; i < m && k > 0; i++) {
        if (slot_at(p, first + i)->chosen) {
            sq_args_addll(&a, (long long)(i + 1));
        }
    }
    for (size_t i = 0; i < m; i++) {
        const struct sq_args *r = &slot_at(p, first + i)->run;
        for (size_t j = 0; j < r->n; j++) {
            sq_args_addn(&a, r->argv[j], r->lens[j]);
        }
    }
    /* A connection Redis closed is replaced before a call is queued on
     * an idle one (sq_client_ensure); with calls in flight it is not
     * checked: a lost one shows in their answers. */
    rc = idle ? sq_script_append(p->c, SQ_SCRIPT_ENQUEUE, &a, &err)
              : sq_script_append_busy(p->c, SQ_SCRIPT_ENQUEUE, &a, &err);
    sq_args_cleanup(&a);
    for (size_t i = 0; i < m; i++) {
        sq_args_cleanup(&slot_at(p, first + i)->run);
    }
    if (rc != SYNCQ_OK) {
        /* nothing of this group reached Redis; calls queued before it
         * may have: their answers are dropped with the connection */
        if (!idle && p->c->rc != NULL) {
            sq_client_drop(p->c, "pipeline call could not be queued");
        }
        lose_all(p, rc, &err);
        return;
    }
    p->calls[(p->chead + p->ncalls) % p->depth] = m;
    p->ncalls++;
    p->open = 0;
}

/* Deliver the answers of the `m` creates of a call (reply `r`). */
static void
deliver_call(syncq_pipeline *p, redisReply *r, size_t m)
{
    syncq_error err;
    int rc = sq_script_reply_check(p->c, SQ_SCRIPT_ENQUEUE, r, &err);

    if (rc == SYNCQ_OK && sq_enqueue_all_new(r, m)) {
        for (size_t i = 0; i < m; i++) {
            deliver(p, 0, SYNCQ_OK, NULL, NULL); /* the id it sent */
        }
        return;
    }
    if (rc == SYNCQ_OK &&
        (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * m)) {
        rc = sq_fail(&err, SYNCQ_EPROTO, "enqueue: unexpected reply");
    }
    for (size_t i = 0; i < m; i++) {
        const redisReply *id = rc == SYNCQ_OK ? r->element[2 * i] : NULL;
        const redisReply *st = rc == SYNCQ_OK ? r->element[2 * i + 1] : NULL;
        if (rc != SYNCQ_OK) {
            deliver(p, 0, rc, &err, NULL); /* the call's error: each's */
        } else if (id->type != REDIS_REPLY_STRING ||
                   st->type != REDIS_REPLY_STRING ||
                   id->len >= SYNCQ_ID_SIZE) {
            syncq_error bad;
            sq_fail(&bad, SYNCQ_EPROTO, "enqueue: unexpected reply");
            deliver(p, 0, SYNCQ_EPROTO, &bad, NULL);
        } else if (strncmp(st->str, "ERR", 3) == 0) {
            /* refused alone (enqueue.lua "each"): as its own call */
            syncq_error one;
            sq_fail(&one, SYNCQ_EPROTO, "enqueue.lua: %s", st->str);
            deliver(p, 0, SYNCQ_EPROTO, &one, NULL);
        } else {
            deliver(p, strcmp(st->str, "dup") == 0, SYNCQ_OK, NULL,
                    id->str);
        }
    }
}

/* Queue the open group, then read and deliver the oldest call's answers. */
static void
answer_call(syncq_pipeline *p)
{
    redisReply *r = NULL;
    syncq_error err;
    size_t m;
    int rc;

    queue_open(p);
    if (p->ncalls == 0) {
        return;
    }
    m = p->calls[p->chead];
    p->chead = (p->chead + 1) % p->depth;
    p->ncalls--;
    rc = sq_client_read_reply(p->c, &r, &err);
    if (rc != SYNCQ_OK) {
        lose_all(p, rc, &err);
        return;
    }
    deliver_call(p, r, m);
    freeReplyObject(r);
    if (p->c->rc == NULL && p->n > 0) {
        /* the reply dropped the connection (a flushed script cache, a
         * transient error): the later answers are gone with it */
        sq_fail(&err, SYNCQ_ECONN, "connection dropped with creates in "
                "flight (%s); they may or may not exist", p->c->drop_why);
        lose_all(p, SYNCQ_ECONN, &err);
    }
}

int
syncq_pipeline_add(syncq_pipeline *p, const char *name, const char *args_json,
                   const char *kwargs_json, const syncq_task_options *opts,
                   syncq_pipeline_cb cb, void *ud, syncq_error *err)
{
    struct sq_args run;
    struct slot *s;
    char id[SYNCQ_ID_SIZE];
    int rc;

    if (p == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "no pipeline");
    }
    sq_args_init(&run);
    rc = sq_enqueue_prepare_run(p->lookups, &run, name, args_json,
                                kwargs_json, opts, id, err);
    if (rc != SYNCQ_OK) {
        sq_args_cleanup(&run);
        return rc;
    }
    while (p->n == p->depth) {
        answer_call(p);
    }
    s = slot_at(p, p->n);
    memcpy(s->id, id, sizeof s->id);
    s->cb = cb;
    s->ud = ud;
    s->chosen = opts != NULL && opts->task_id != NULL;
    s->run = run; /* the slot owns it now */
    p->n++;
    p->open++;
    if (p->open == p->group) {
        queue_open(p);
    }
    return SYNCQ_OK;
}

size_t
syncq_pipeline_pending(const syncq_pipeline *p)
{
    return p != NULL ? p->n : 0;
}

int
syncq_pipeline_flush(syncq_pipeline *p)
{
    while (p != NULL && p->n > 0) {
        answer_call(p);
    }
    return SYNCQ_OK;
}

void
syncq_pipeline_free(syncq_pipeline *p)
{
    if (p == NULL) {
        return;
    }
    syncq_pipeline_flush(p);
    syncq_client_close(p->lookups);
    sq_free(p->ring);
    sq_free(p->calls);
    sq_free(p);
}
