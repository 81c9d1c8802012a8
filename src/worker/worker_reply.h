/* SPDX-License-Identifier: MIT
 *
 * worker_reply.h: the replies of the supervisor's settle + lease round
 * built in one reusable arena, through hiredis's hook for building reply
 * objects (redisReplyObjectFunctions), instead of one malloc'd reply
 * object and one string per field of every leased task. The objects are
 * ordinary redisReply structs, so the codec reads them as any reply.
 */
#ifndef SQ_WORKER_REPLY_H
#define SQ_WORKER_REPLY_H

#include <hiredis/hiredis.h>
#include <stddef.h>

struct sq_reply_block;

struct sq_reply_arena {
    struct sq_reply_block *blocks; /* the current one first */
    redisContext *rc;              /* the context attached, or NULL */
    redisReplyObjectFunctions *saved; /* its reader's own functions */
};

/* Build the replies `rc` reads from now on in `a`. Only for a plain
 * connection (no cluster, no SYNCQ_BROKER_MIN_REPLICAS): those paths free
 * replies themselves. A top-level error reply is still an object of
 * hiredis's own kind (the client's READONLY check frees it). */
void sq_reply_arena_attach(struct sq_reply_arena *a, redisContext *rc);
/* Back to hiredis's own reply objects; a no-op when `rc` is not the
 * context attached (the connection was dropped meanwhile). With a reply
 * partly read, `rc` stays attached and is marked broken instead (rc->err),
 * so the client drops it. */
void sq_reply_arena_detach(struct sq_reply_arena *a, redisContext *rc);
/* Done with reply `r`, read while attached: its arena space is reused by
 * the next reply (one reply is alive at a time); an error reply is freed. */
void sq_reply_arena_release(struct sq_reply_arena *a, void *r);
/* Free the arena's memory (detach first). */
void sq_reply_arena_cleanup(struct sq_reply_arena *a);

#endif
