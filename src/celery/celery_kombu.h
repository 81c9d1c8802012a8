/* SPDX-License-Identifier: MIT
 *
 * celery_kombu.h: kombu's Redis transport, consumer side
 * (docs/celery-wire.md sections 4-5): the BRPOP key order over queues and
 * priority steps (by step, then by queue, rotating the queues after each
 * delivery as kombu's round_robin does), the ack emulation with the
 * `unacked` hash and `unacked_index` zset, and restore_visible, which puts
 * messages unacked for longer than the visibility timeout back (RPUSH to
 * the bare queue, redelivered flags set, delivery tag kept) under the
 * `unacked_mutex` lock that Python workers take too. Not thread-safe.
 */
#ifndef SQ_CELERY_KOMBU_H
#define SQ_CELERY_KOMBU_H

#include "celery/celery.h"

#define SQ_KOMBU_MAX_QUEUES 64

struct sq_kombu {
    char queues[SQ_KOMBU_MAX_QUEUES][101]; /* current rotation order */
    size_t nqueues;
    int steps[10];
    size_t nsteps;
    int64_t visibility_ms;
};

/* The BRPOP key list in kombu's order (by step, then queue), written into
 * keys[cap][160]; returns how many (nqueues * nsteps, at most cap). */
size_t sq_kombu_keys(const struct sq_kombu *k, char (*keys)[160], size_t cap);

/* The queue a list key belongs to (the key without SEP<step>), copied into
 * out (101 bytes). False when the key is none of ours. */
bool sq_kombu_queue_of(const struct sq_kombu *k, const char *key,
                       char out[101]);

/* Move `queue` to the end of the rotation (kombu's round_robin). */
void sq_kombu_rotate(struct sq_kombu *k, const char *queue);

/* Register a delivered message as unacked, as kombu does between BRPOP
 * and the task: MULTI; ZADD unacked_index <now> <tag>; HSET unacked <tag>
 * [<envelope>, exchange, routing_key]; <extra>; EXEC. `extra` (n_extra
 * commands, may be 0) ride in the same transaction. *exec_out (may be
 * NULL) gets the EXEC reply (owned).
 * Errors: SYNCQ_ECONN, SYNCQ_EPROTO (the transaction was refused). */
int sq_kombu_unacked_add(syncq_client *c, const char *tag, const char *raw,
                         size_t len, const char *exchange,
                         const char *routing_key,
                         const struct sq_rcmd *extra, size_t n_extra,
                         redisReply **exec_out, syncq_error *err);

/* Ack: MULTI; ZREM unacked_index <tag>; HDEL unacked <tag>; EXEC. */
int sq_kombu_ack(syncq_client *c, const char *tag, syncq_error *err);

/* kombu's restore_visible: take unacked_mutex (skip if held), put back up
 * to `limit` messages delivered before now - visibility, each in its own
 * WATCH/MULTI transaction, release the lock. *restored (may be NULL)
 * counts them. Errors: SYNCQ_ECONN. */
int sq_kombu_restore(syncq_client *c, const struct sq_kombu *k, int limit,
                     int *restored, syncq_error *err);

/* Put a message this consumer holds back at the head of its queue's step
 * list (LPUSH: behind the queued ones, like kombu's reject with requeue)
 * and ack it, in one transaction. */
int sq_kombu_requeue(syncq_client *c, const struct sq_kombu *k,
                     const char *queue, int priority, const char *tag,
                     const char *raw, size_t len, syncq_error *err);

#endif
