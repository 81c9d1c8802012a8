/* SPDX-License-Identifier: MIT
 *
 * broker_pipeline.c: the pipelined producer (syncq/pipeline.h). Each add
 * is checked and encoded by the same code as syncq_task_create
 * (sq_enqueue_prepare_call) and sent as its own enqueue call, without
 * waiting; the answers are read in order, oldest first, whenever the
 * window is full or on flush. A ring of `depth` slots remembers, per
 * call in flight, the id it creates and whom to tell.
 */
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <stdio.h>
#include <string.h>
#include <syncq/pipeline.h>

#define DEPTH_DEFAULT 256
#define DEPTH_MAX 100000

struct slot {
    char id[SYNCQ_ID_SIZE];
    syncq_pipeline_cb cb;
    void *ud;
};

struct syncq_pipeline {
    syncq_client *c;
    /* The checks of an add may read Redis (the declaration of a task not
     * registered in this process): on a connection of their own, never
     * between the calls in flight on `c`. */
    syncq_client *lookups;
    struct slot *ring;
    size_t depth, head, n;
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
        p->ring = sq_calloc(p->depth, sizeof *p->ring);
    }
    if (p == NULL || p->ring == NULL) {
        if (p != NULL) {
            sq_free(p->ring);
        }
        sq_free(p);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_client_clone(c, &p->lookups, err);
    if (rc != SYNCQ_OK) {
        sq_free(p->ring);
        sq_free(p);
        return rc;
    }
    p->c = c;
    *out = p;
    return SYNCQ_OK;
}

/* Deliver the oldest answer: rc and err say how its call went. */
static void
deliver(syncq_pipeline *p, int dup, int rc, const syncq_error *err,
        const char *id)
{
    struct slot *s = &p->ring[p->head];

    p->head = (p->head + 1) % p->depth;
    p->n--;
    if (s->cb != NULL) {
        s->cb(s->ud, id != NULL ? id : s->id, dup, rc, err);
    }
}

/* The connection is gone: no answer in flight will come. */
static void
lose_all(syncq_pipeline *p, int rc, const syncq_error *err)
{
    while (p->n > 0) {
        deliver(p, 0, rc, err, NULL);
    }
}

/* Read and deliver the oldest answer. */
static void
answer_one(syncq_pipeline *p)
{
    redisReply *r = NULL;
    syncq_error err;
    char id[SYNCQ_ID_SIZE];
    int dup = 0;
    int rc = sq_client_read_reply(p->c, &r, &err);

    if (rc != SYNCQ_OK) {
        lose_all(p, rc, &err);
        return;
    }
    rc = sq_script_reply_check(p->c, SQ_SCRIPT_ENQUEUE, r, &err);
    if (rc == SYNCQ_OK &&
        (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
         r->element[0]->type != REDIS_REPLY_STRING ||
         r->element[1]->type != REDIS_REPLY_STRING)) {
        rc = sq_fail(&err, SYNCQ_EPROTO, "enqueue: unexpected reply");
    }
    if (rc == SYNCQ_OK) {
        snprintf(id, sizeof id, "%s", r->element[0]->str);
        dup = strcmp(r->element[1]->str, "dup") == 0;
    }
    freeReplyObject(r);
    deliver(p, dup, rc, rc == SYNCQ_OK ? NULL : &err,
            rc == SYNCQ_OK ? id : NULL);
    if (p->c->rc == NULL) {
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
    struct sq_args a;
    struct slot *s;
    char id[SYNCQ_ID_SIZE];
    int rc;

    if (p == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "no pipeline");
    }
    sq_args_init(&a);
    rc = sq_enqueue_prepare_call(p->lookups, &a, name, args_json,
                                 kwargs_json, opts, id, err);
    if (rc == SYNCQ_OK && p->n == p->depth) {
        answer_one(p);
    }
    if (rc == SYNCQ_OK) {
        /* A connection Redis closed is replaced before a call is sent
         * (sq_client_ensure): the answers in flight on the old one are
         * gone then. A drop names its cause in drop_why: cleared here,
         * set again by any drop during the append. */
        p->c->drop_why[0] = '\0';
        rc = p->n > 0 ? sq_script_append_busy(p->c, SQ_SCRIPT_ENQUEUE, &a, err)
                      : sq_script_append(p->c, SQ_SCRIPT_ENQUEUE, &a, err);
        if (p->n > 0 && p->c->drop_why[0] != '\0') {
            syncq_error lost;
            sq_fail(&lost, SYNCQ_ECONN, "connection lost with creates in "
                    "flight (%s); they may or may not exist",
                    p->c->drop_why);
            lose_all(p, SYNCQ_ECONN, &lost);
        }
    }
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    s = &p->ring[(p->head + p->n) % p->depth];
    memcpy(s->id, id, sizeof s->id);
    s->cb = cb;
    s->ud = ud;
    p->n++;
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
        answer_one(p);
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
    sq_free(p);
}
