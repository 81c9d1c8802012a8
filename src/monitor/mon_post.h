/* SPDX-License-Identifier: MIT
 *
 * mon_post.h: fire-and-forget HTTP POSTs (alert webhooks, Sentry
 * envelopes) from a background thread with a bounded queue, so the caller
 * (the alert evaluator, the beat loop, a worker) never waits on a slow
 * or dead receiver. A full queue drops the newest post and counts it.
 * Uses libcurl; each transfer has a 2 s connect and 5 s total timeout.
 */
#ifndef SQ_MON_POST_H
#define SQ_MON_POST_H

#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

struct sq_poster;

/* Counters of a poster (read with sq_poster_stats). */
struct sq_poster_stats {
    uint64_t queued, sent, failed, dropped;
    long last_status; /* HTTP status of the last transfer, 0 if none */
};

/* Start a poster thread holding at most `max_queue` posts (0: 256).
 * Errors: SYNCQ_ENOMEM, SYNCQ_EINTERNAL (thread or libcurl init). */
int sq_poster_new(size_t max_queue, struct sq_poster **out,
                  syncq_error *err);

/* Queue a POST of `len` bytes of `body` to `url` with extra header lines
 * (`headers`, NULL-terminated, may be NULL). Everything is copied.
 * Never blocks. Errors: SYNCQ_ETOOBIG (queue full: dropped),
 * SYNCQ_ENOMEM. */
int sq_poster_post(struct sq_poster *p, const char *url,
                   const char *const *headers, const char *body, size_t len,
                   syncq_error *err);

/* Wait up to `timeout_ms` until every queued post was attempted. Returns
 * true when the queue drained. */
int sq_poster_flush(struct sq_poster *p, int64_t timeout_ms);

void sq_poster_stats(struct sq_poster *p, struct sq_poster_stats *out);

/* Stop the thread after trying the queue for up to `drain_ms`, then free.
 * NULL is a no-op. */
void sq_poster_free(struct sq_poster *p, int64_t drain_ms);

#endif
