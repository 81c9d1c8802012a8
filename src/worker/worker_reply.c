/* SPDX-License-Identifier: MIT
 *
 * worker_reply.c: the round's replies built in an arena (worker_reply.h).
 * A lease reply of 32 tasks is about a thousand reply objects; hiredis's
 * own functions allocate each object and each string separately and
 * freeReplyObject frees them one by one, which was about 14,000 of the
 * supervisor's 31,000-38,000 instructions per drained task. Here every
 * object and its string are carved from one block, reused by the next
 * reply; the block grows to the largest reply seen (up to a cap).
 */
#include "worker/worker_reply.h"
#include "sq_alloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_MIN ((size_t)64 << 10)
#define BLOCK_MAX ((size_t)4 << 20) /* a bigger reply takes extra blocks */

struct sq_reply_block {
    struct sq_reply_block *next;
    size_t cap, used;
    char data[];
};

static struct sq_reply_block *
block_new(size_t cap)
{
    struct sq_reply_block *b = sq_malloc(sizeof *b + cap);

    if (b != NULL) {
        b->next = NULL;
        b->cap = cap;
        b->used = 0;
    }
    return b;
}

/* `n` bytes, 8-aligned (a redisReply holds pointers and a long long). */
static void *
arena_alloc(struct sq_reply_arena *a, size_t n)
{
    struct sq_reply_block *b = a->blocks;
    void *p;

    n = (n + 7) & ~(size_t)7;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = BLOCK_MIN;
        if (b != NULL) {
            cap = b->cap * 2 < BLOCK_MAX ? b->cap * 2 : BLOCK_MAX;
        }
        b = block_new(n > cap ? n : cap);
        if (b == NULL) {
            return NULL; /* hiredis reports "Out of memory" */
        }
        b->next = a->blocks;
        a->blocks = b;
    }
    p = b->data + b->used;
    b->used += n;
    return p;
}

static bool
arena_owns(const struct sq_reply_arena *a, const void *p)
{
    for (const struct sq_reply_block *b = a->blocks; b != NULL; b = b->next) {
        if ((const char *)p >= b->data && (const char *)p < b->data + b->cap) {
            return true;
        }
    }
    return false;
}

/* Empty the arena for the next reply: one block, as large as all of them
 * were (up to BLOCK_MAX), so a reply of that size fits without a chain. */
static void
arena_reset(struct sq_reply_arena *a)
{
    struct sq_reply_block *b = a->blocks;
    size_t total = 0;

    if (b == NULL || b->next == NULL) {
        if (b != NULL) {
            b->used = 0;
        }
        return;
    }
    while (b != NULL) {
        struct sq_reply_block *next = b->next;
        total += b->cap;
        sq_free(b);
        b = next;
    }
    a->blocks = block_new(total < BLOCK_MAX ? total : BLOCK_MAX);
}

static void *
new_reply(const redisReadTask *t, size_t extra)
{
    struct sq_reply_arena *a = t->privdata;
    redisReply *r = arena_alloc(a, sizeof *r + extra);

    if (r == NULL) {
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->type = t->type;
    if (t->parent != NULL) {
        redisReply *parent = t->parent->obj;
        parent->element[t->idx] = r;
    }
    return r;
}

/* A top-level error as hiredis builds it (libc's allocator, which
 * freeReplyObject frees): the client's READONLY check frees it itself. */
static void *
hiredis_error(const redisReadTask *t, const char *str, size_t len)
{
    redisReply *r = calloc(1, sizeof *r);

    if (r == NULL) {
        return NULL;
    }
    r->str = malloc(len + 1);
    if (r->str == NULL) {
        free(r);
        return NULL;
    }
    memcpy(r->str, str, len);
    r->str[len] = '\0';
    r->len = len;
    r->type = t->type;
    return r;
}

static void *
create_string(const redisReadTask *t, char *str, size_t len)
{
    redisReply *r;

    if (t->parent == NULL && t->type == REDIS_REPLY_ERROR) {
        return hiredis_error(t, str, len);
    }
    r = new_reply(t, len + 1);
    if (r != NULL) {
        r->str = (char *)(r + 1);
        memcpy(r->str, str, len);
        r->str[len] = '\0';
        r->len = len;
    }
    return r;
}

static void *
create_array(const redisReadTask *t, int elements)
{
    size_t n = elements > 0 ? (size_t)elements : 0;
    redisReply *r = new_reply(t, n * sizeof(redisReply *));

    if (r != NULL && n > 0) {
        r->element = (redisReply **)(r + 1);
        memset(r->element, 0, n * sizeof(redisReply *));
        r->elements = n;
    }
    return r;
}

static void *
create_integer(const redisReadTask *t, long long v)
{
    redisReply *r = new_reply(t, 0);

    if (r != NULL) {
        r->integer = v;
    }
    return r;
}

static void *
create_nil(const redisReadTask *t)
{
    redisReply *r = new_reply(t, 0);

    if (r != NULL) {
        r->type = REDIS_REPLY_NIL; /* the task's is the bulk's or array's */
    }
    return r;
}

/* hiredis frees a reply it gave up on (a protocol error, the context
 * freed mid-reply): arena objects go with the arena. */
static struct sq_reply_arena *freeing_arena;

static void
free_object(void *p)
{
    if (freeing_arena == NULL || !arena_owns(freeing_arena, p)) {
        freeReplyObject(p);
    }
}

static redisReplyObjectFunctions arena_fns = {
    create_string, create_array, create_integer, create_nil, free_object,
};

void
sq_reply_arena_attach(struct sq_reply_arena *a, redisContext *rc)
{
    if (rc == NULL || rc->reader == NULL || rc->reader->fn == &arena_fns) {
        return;
    }
    arena_reset(a);
    a->rc = rc;
    a->saved = rc->reader->fn;
    rc->reader->fn = &arena_fns;
    rc->reader->privdata = a;
    freeing_arena = a;
}

void
sq_reply_arena_detach(struct sq_reply_arena *a, redisContext *rc)
{
    if (rc != NULL && rc == a->rc && rc->reader != NULL &&
        rc->reader->fn == &arena_fns) {
        if (rc->reader->ridx >= 0) {
            /* A reply read partly (a round given up mid-way): it stays the
             * arena's, and the connection is marked broken so the client
             * drops it before its next call (the rest of that reply would
             * be read as the next call's anyway). */
            rc->err = REDIS_ERR_PROTOCOL;
            snprintf(rc->errstr, sizeof rc->errstr,
                     "a reply was left partly read");
            return;
        }
        rc->reader->fn = a->saved;
        rc->reader->privdata = NULL;
    }
    a->rc = NULL;
}

void
sq_reply_arena_release(struct sq_reply_arena *a, void *r)
{
    if (r == NULL) {
        return;
    }
    if (arena_owns(a, r)) {
        arena_reset(a);
    } else {
        freeReplyObject(r);
    }
}

void
sq_reply_arena_cleanup(struct sq_reply_arena *a)
{
    struct sq_reply_block *b = a->blocks;

    while (b != NULL) {
        struct sq_reply_block *next = b->next;
        sq_free(b);
        b = next;
    }
    a->blocks = NULL;
    if (freeing_arena == a) {
        freeing_arena = NULL;
    }
}
