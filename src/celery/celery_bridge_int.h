/* SPDX-License-Identifier: MIT
 *
 * celery_bridge_int.h: the bridge process's state, shared by its files
 * (celery_bridge.h lists them). One thread.
 */
#ifndef SQ_CELERY_BRIDGE_INT_H
#define SQ_CELERY_BRIDGE_INT_H

#include "celery/celery.h"
#include "celery/celery_bridge.h"
#include "celery/celery_events.h"
#include "celery/celery_kombu.h"
#include "celery/celery_message.h"

/* syncq keys of the bridge (under the namespace prefix):
 *   celery:inflight  hash  syncq id -> JSON {cid, name, q, ir, node, at,
 *                    canvas?}
 *                    tasks adopted whose Celery result is still due
 *   celery:revoked   zset  Celery id -> time revoked (ms); ids revoked
 *                    through the pidbox, checked before adoption */
#define SQ_CELERY_INFLIGHT "celery:inflight"
#define SQ_CELERY_REVOKED "celery:revoked"

/* A message taken off a list but not handled yet (Redis went away). */
struct sq_bridge_pending {
    char queue[101];
    char *raw;
    size_t len;
};

struct sq_bridge {
    const struct sq_celery_bridge_opts *o;
    syncq_client *c;       /* commands */
    syncq_client *pop;     /* BRPOP, asynchronous */
    syncq_client *xr;      /* XREAD of syncq's events, asynchronous */
    syncq_client *sub;     /* pidbox SUBSCRIBE */
    bool pop_out, xr_out, subscribed;
    struct sq_kombu k;
    struct sq_celery_node node;
    bool task_events;      /* SYNCQ_CELERY_EVENTS */
    bool track_started;    /* SYNCQ_CELERY_TRACK_STARTED */
    int window;            /* messages held (adopted, not finished) */
    int held;
    json_t *own;           /* syncq id -> {cid, name, ir, eta}: adopted
                              here, not finished */
    json_t *totals;        /* Celery task name -> finished here (stats) */
    json_t *limits;        /* syncq name -> [soft_ms, hard_ms]: time_limit
                              set by remote control */
    json_t *cancelled;     /* Celery queue -> true: cancel_consumer */
    char last_event[64];   /* stream id read up to */
    int64_t result_expires_ms;
    int64_t next_hb, next_restore, next_sweep, restore_every_ms;
    struct sq_bridge_pending *pend;
    size_t npend, cappend;
    long long adopted, poisoned;
};

/* celery_adopt.c: handle `n` messages taken from the lists of `queue`
 * (raws[i], lens[i] bytes; borrowed): one transaction registers them
 * unacked, one script call creates their tasks, one transaction acks. */
void sq_bridge_messages(struct sq_bridge *b, const char *queue,
                        const char *const *raws, const size_t *lens,
                        size_t n);
/* Retry the messages kept while Redis was away. */
void sq_bridge_pending_retry(struct sq_bridge *b);
/* Revoke (pidbox): remember the ids, revoke their syncq tasks. */
void sq_bridge_revoke(struct sq_bridge *b, json_t *celery_ids);

/* celery_follow.c */
/* One XREAD reply of syncq's events stream. */
void sq_bridge_events(struct sq_bridge *b, redisReply *r);
/* Every 10 s: finished tasks whose result is still due (missed events,
 * adopted by a bridge that is gone). */
void sq_bridge_sweep(struct sq_bridge *b);
/* A redelivered message whose task exists: if the task has finished, its
 * result is written (again: a SUCCESS stays) and its entry dropped now. */
void sq_bridge_settled_check(struct sq_bridge *b, const char *sid);
/* The id the next XREAD starts after ("$" resolved to the stream end). */
void sq_bridge_events_start(struct sq_bridge *b);

/* celery_control.c: one message of the pidbox channel (remote control:
 * `celery inspect`, `celery control`), answered as Celery's worker does. */
void sq_bridge_control(struct sq_bridge *b, const char *raw, size_t len);

/* celery_canvas.c: links, errbacks and chains (file comment there). */
/* False, with why, when the message's callbacks, errbacks, chain or
 * chord body hold anything but plain task signatures (a group, chord,
 * nested chain), or it is a chord member without a group id. */
bool sq_celery_canvas_check(const struct sq_celery_msg *m, char *why,
                            size_t cap);
/* The in-flight entry's "canvas" of message `m`: {root, link,
 * link_error, chain, chord {body, gid, idx}} (lists, objects or null), or
 * NULL when it has none. New reference. */
json_t *sq_celery_canvas_of(const struct sq_celery_msg *m);
/* Count one chord header member that ended with `status` (SUCCESS,
 * FAILURE, REVOKED) and `value` (its result or exception object), when
 * `canvas` (as sq_celery_canvas_of gives it) has a chord; the member
 * completing the count sends the body (celery_canvas.c). */
void sq_bridge_chord_part(struct sq_bridge *b, json_t *canvas,
                          const char *tid, const char *status, json_t *value);
/* Follow the canvas of a finished task (in-flight `entry`, record
 * `rec`): on SUCCESS before its result is stored (stored false), on
 * FAILURE after (stored true). */
void sq_bridge_canvas(struct sq_bridge *b, json_t *entry, const char *cid,
                      json_t *rec, bool stored);

/* Write the Celery result and event of a message that never became a
 * task (poison, revoked, expired): status FAILURE or REVOKED. */
void sq_bridge_result_now(struct sq_bridge *b, const char *celery_id,
                          const char *status, json_t *exc);

#endif
