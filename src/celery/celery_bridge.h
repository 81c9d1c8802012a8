/* SPDX-License-Identifier: MIT
 *
 * celery_bridge.h: the Celery consumer of `syncq worker --celery`: a
 * process of its own, forked by the worker's supervisor, that takes
 * Celery protocol 2 messages off kombu's Redis queues and hands each one
 * to syncq as a task with the same id (so the worker's children run the
 * C task registered under the message's name, with syncq's leases,
 * retries, ETAs and time limits), then writes the task's outcome the way
 * Celery's Redis result backend does. docs/celery.md is the user's page.
 *
 *   celery_bridge.c   process, settings, connections, the poll loop
 *   celery_adopt.c    one message: decode, unacked, adopt / dead-letter
 *   celery_follow.c   syncq's events -> Celery results and celeryev
 *   celery_canvas.c   links, errbacks, chains and chord counting
 *   celery_control.c  remote control: celery inspect / celery control
 *
 * Delivery: a message is registered in kombu's `unacked` hash before
 * anything else (as kombu does) and acked only once syncq holds the task
 * durably (or it is dead-lettered); a crash in between leaves it to
 * restore_visible, and the redelivered message finds its task already
 * created (same id) and is acked without a second run.
 */
#ifndef SQ_CELERY_BRIDGE_H
#define SQ_CELERY_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <syncq/config.h>
#include <syncq/task.h>

/* What the worker passes to the bridge (borrowed; the forked process
 * keeps its own copy of the memory). */
struct sq_celery_bridge_opts {
    const syncq_config *cfg;
    const syncq_registry *registry;
    const char *worker_id;   /* syncq worker id */
    const char *hostname;    /* machine name */
    const char *const *queues; /* the worker's queues */
    size_t nqueues;
    int concurrency;
    void (*reopen_log)(void); /* called each turn of the loop: reopens
                                 the log file when a SIGHUP asked */
};

/* Settings check at worker start (before forking anything): the Celery
 * queues (SYNCQ_CELERY_QUEUES, else the worker's) must be valid syncq
 * queue names, priority steps must parse. `out` (SQ 64 x 101 bytes) gets
 * the Celery queue names, *n their count.
 * Errors: SYNCQ_EINVAL naming the setting. */
int sq_celery_bridge_queues(const syncq_config *cfg,
                            const char *const *worker_queues, size_t nwq,
                            char (*out)[101], size_t *n, syncq_error *err);

/* Run the bridge in this (forked) process until sq_celery_bridge_stop
 * is called or the parent dies; returns the exit status. The caller has
 * set up the process (signals, log, descriptors). */
int sq_celery_bridge_main(const struct sq_celery_bridge_opts *o);

/* Ask the bridge to stop after the message in hand: the SIGTERM/SIGINT
 * handler. Async-signal-safe. */
void sq_celery_bridge_stop(int sig);

#endif
