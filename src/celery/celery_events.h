/* SPDX-License-Identifier: MIT
 *
 * celery_events.h: what a Celery worker says besides results
 * (docs/celery-wire.md sections 10-11): events on the `celeryev` fanout
 * exchange (PUBLISH /<db>.celeryev/<routing key>) that Flower and
 * `celery events` follow, and answers to the remote-control broadcast
 * (`celery inspect` / `celery control`, celery_control.c) on the
 * `celery.pidbox` exchange.
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

/* The request of a control message received on the pidbox channel
 * (`raw`, the published envelope): {method, arguments, reply_to, ticket,
 * ...} (new reference) when it is addressed to this node (destination
 * null or naming it) and not expired; NULL otherwise (not ours, expired,
 * not understood: ignored). */
json_t *sq_celery_pidbox_request(const struct sq_celery_node *n,
                                 const char *raw, size_t len);

/* Answer request `req` with {"<node>": answer} (answer borrowed; NULL:
 * null) where Celery's client waits: LPUSH onto the queue bound to
 * reply_to.routing_key in _kombu.binding.reply.celery.pidbox. Nothing is
 * sent when no reply is asked for or no one waits. Errors: SYNCQ_ECONN. */
int sq_celery_pidbox_reply(syncq_client *c, struct sq_celery_node *n,
                           json_t *req, json_t *answer, syncq_error *err);

#endif
