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

/* The two commands registering one message as unacked (ZADD
 * unacked_index <now_s> <tag>; HSET unacked <tag> [<envelope>, exchange,
 * routing_key]) into cmd[0..1]; `now_s` is the score text, *val the
 * entry (owned by the caller: sq_free after the commands ran).
 * Errors: SYNCQ_ENOMEM. */
int sq_kombu_unacked_cmds(const char *tag, const char *raw, size_t len,
                          const char *exchange, const char *routing_key,
                          const char *now_s, struct sq_rcmd cmd[2],
                          char **val, syncq_error *err);

/* The two commands of an ack (ZREM unacked_index; HDEL unacked). */
void sq_kombu_ack_cmds(const char *tag, struct sq_rcmd cmd[2]);

/* The current time as kombu scores unacked_index (seconds, 6 decimals). */
const char *sq_kombu_now(char buf[32]);

/* kombu's restore_visible: take unacked_mutex (skip if held), put back up
 * to `limit` messages delivered before now - visibility, each in its own
 * WATCH/MULTI transaction, release the lock. *restored (may be NULL)
 * counts them. Errors: SYNCQ_ECONN. */
int sq_kombu_restore(syncq_client *c, const struct sq_kombu *k, int limit,
                     int *restored, syncq_error *err);

#endif
