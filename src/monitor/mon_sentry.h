/* SPDX-License-Identifier: MIT
 *
 * mon_sentry.h: task failures and worker crashes sent to Sentry's
 * envelope endpoint (https://develop.sentry.dev/sdk/envelopes/) when
 * SYNCQ_SENTRY_DSN is set. Capturing never blocks: events are formatted
 * in the caller, rate-limited by a token bucket and handed to the
 * background poster (mon_post.h); a dead or slow Sentry costs a dropped
 * event, never a task's time.
 *
 * Two ways in: a process that sees failures itself (a worker supervisor)
 * calls sq_sentry_capture(); `syncq monitor serve` forwards failures from
 * the events stream with sq_sentry_forward() through a Redis consumer
 * group, so several monitor instances send each event once.
 */
#ifndef SQ_MON_SENTRY_H
#define SQ_MON_SENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

/* A parsed DSN: {scheme}://{public_key}[:{secret}]@{host}[:{port}]
 * [/{path}]/{project_id}. */
struct sq_sentry_dsn {
    char scheme[8];         /* http | https */
    char key[128];          /* public key */
    char secret[128];       /* legacy secret, usually "" */
    char host[256];
    int port;               /* 0: scheme default */
    char path[256];         /* "" or "/prefix" */
    char project[64];       /* digits */
    char envelope_url[800]; /* .../api/<project>/envelope/ */
    char dsn_public[800];   /* the DSN without the secret */
};

/* Errors: SYNCQ_EINVAL with what is wrong (never echoing the key). */
int sq_sentry_dsn_parse(const char *dsn, struct sq_sentry_dsn *out,
                        syncq_error *err);

/* What happened. Strings are borrowed for the call; NULL means unknown. */
struct sq_sentry_event {
    const char *kind;      /* "task_failure" | "worker_crash" */
    const char *task_id;
    const char *task_name;
    const char *queue;
    const char *err_class; /* exception type: network, timeout, ... */
    const char *message;
    const char *worker;    /* worker id (hostname:pid) */
    int attempt;
    int64_t at_ms;         /* 0: now */
};

/* The envelope (3 lines: envelope header, item header, event JSON) for
 * `ev` with `event_id` (32 hex chars). Owned string (sq_free); NULL on
 * out-of-memory. */
char *sq_sentry_envelope(const struct sq_sentry_dsn *dsn,
                         const struct sq_sentry_event *ev,
                         const char *event_id, size_t *len);

/* The X-Sentry-Auth header line for `dsn` into out. */
void sq_sentry_auth_header(const struct sq_sentry_dsn *dsn, char *out,
                           size_t cap);

struct sq_sentry;

/* Counters of a sender. */
struct sq_sentry_stats {
    uint64_t captured, rate_limited, queued, sent, failed, dropped;
};

/* A sender for `dsn` allowing `per_s` events a second with bursts of
 * `burst` (0, 0: 5/s, burst 20). Errors: SYNCQ_EINVAL (bad DSN),
 * SYNCQ_ENOMEM, SYNCQ_EINTERNAL. */
int sq_sentry_new(const char *dsn, double per_s, double burst,
                  struct sq_sentry **out, syncq_error *err);

/* Queue `ev` for sending. Never blocks. Errors: SYNCQ_ETOOBIG (rate
 * limited or the send queue is full: dropped and counted),
 * SYNCQ_ENOMEM. */
int sq_sentry_capture(struct sq_sentry *s, const struct sq_sentry_event *ev,
                      syncq_error *err);

/* Forward failures (task-failed, task-dead) and lost deliveries
 * (task-lost: the worker died) from the events stream as consumer
 * `consumer` of group "syncq-sentry" (created at the stream's end on the
 * first call). Reads at most 200 events, no blocking. *forwarded (may be
 * NULL) gets how many events were captured. Errors: SYNCQ_ECONN. */
int sq_sentry_forward(struct sq_sentry *s, syncq_client *c,
                      const char *consumer, int *forwarded,
                      syncq_error *err);

void sq_sentry_stats(struct sq_sentry *s, struct sq_sentry_stats *out);

/* Wait up to `timeout_ms` for queued events to be sent. */
void sq_sentry_flush(struct sq_sentry *s, int64_t timeout_ms);

/* Free (trying queued events for up to `drain_ms`). NULL is a no-op. */
void sq_sentry_free(struct sq_sentry *s, int64_t drain_ms);

#endif
