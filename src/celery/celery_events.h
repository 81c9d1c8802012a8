/* SPDX-License-Identifier: MIT
 *
 * celery_events.h: what a Celery worker says besides results
 * (docs/celery-wire.md sections 10-11): events on the `celeryev` fanout
 * exchange (PUBLISH /<db>.celeryev/<routing key>) that Flower and
 * `celery events` follow, and answers to the remote-control broadcast
 * (`celery inspect ping`, revoke) on the `celery.pidbox` exchange.
 * Not thread-safe: one node per bridge process.
 */
#ifndef SQ_CELERY_EVENTS_H
#define SQ_CELERY_EVENTS_H

#include "celery/celery.h"

struct sq_celery_node {
    char name[256];        /* node name, e.g. syncq-4121@host */
    char prefix[16];       /* "/<db>." of the broker's database */
    long long clock;       /* Lamport clock of this node */
    long long processed;   /* tasks finished (heartbeat) */
    long long active;      /* tasks held (heartbeat) */
    int pid;
};

/* Publish one event: `fields` (stolen; may be NULL) plus the common ones
 * (type, hostname, timestamp, utcoffset, pid, clock) on the routing key
 * made from `type` ("task-received" -> task.received).
 * Errors: SYNCQ_ECONN, SYNCQ_ENOMEM. */
int sq_celery_event_send(syncq_client *c, struct sq_celery_node *n,
                         const char *type, json_t *fields, syncq_error *err);

/* worker-online / worker-heartbeat / worker-offline with freq 2.0,
 * active, processed, loadavg, sw_ident "syncq", sw_ver, sw_sys. */
int sq_celery_worker_event(syncq_client *c, struct sq_celery_node *n,
                           const char *type, syncq_error *err);

/* The pidbox channel to SUBSCRIBE to: "/<db>.celery.pidbox". */
const char *sq_celery_pidbox_channel(const struct sq_celery_node *n,
                                     char *buf, size_t cap);

/* A control message received on the pidbox channel (`raw`, the published
 * envelope). When it is addressed to this node (destination null or
 * naming it) and not expired: "ping" is answered {"<node>": {"ok":
 * "pong"}}; "revoke" adds its task ids to *revoke_ids (a new array, the
 * caller json_decref's; set only for revoke) and is answered; any other
 * method is answered {"error": "No such control command: <m>"} when a
 * reply is asked for. Replies go where Celery's client waits: LPUSH onto
 * the queue bound to reply_to.routing_key in
 * _kombu.binding.reply.celery.pidbox. Returns SYNCQ_OK also for messages
 * that are not ours or not understood (ignored); errors only for I/O. */
int sq_celery_pidbox_handle(syncq_client *c, struct sq_celery_node *n,
                            const char *raw, size_t len, json_t **revoke_ids,
                            syncq_error *err);

#endif
