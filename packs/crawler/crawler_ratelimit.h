/* SPDX-License-Identifier: MIT
 *
 * crawler_ratelimit.h: the per-host limits of the crawler, shared by every
 * worker on every machine through one Redis script (lua/ratelimit.lua):
 * a token bucket (N requests per period, burst B), a cap on requests in
 * flight, and a host cool-down after a captcha page or a 429.
 *
 * Guarantee (C44): with burst 1, requests to one host are granted at
 * least (period + slack)/limit apart in Redis time, so no window of one
 * period holds more than `limit` grants, whatever the number of workers.
 * The slack (sq_rl_slack_ms: 1 % of the period, raised to 100 ms but to
 * no more than 4 % of it) absorbs the jitter between a grant and the
 * request's arrival, so the server sees the same: limit+1 requests in
 * one of its windows would need a request delayed by more than the
 * slack. The limit is still used to 96 % or more. With burst B a window
 * may hold limit + B - 1.
 */
#ifndef SQ_CRAWLER_RATELIMIT_H
#define SQ_CRAWLER_RATELIMIT_H

#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

#include "core/sq_rate.h"

/* The slack added to each period, in ms (see the guarantee above). */
int64_t sq_rl_slack_ms(const struct sq_rate *r);

struct sq_rl_policy {
    struct sq_rate rate;
    int burst;             /* >= 1 */
    int concurrency;       /* requests in flight per host; 0: no cap */
    int64_t slot_lease_ms; /* a holder that never releases frees its slot
                              after this (a killed worker) */
};

enum sq_rl_status {
    SQ_RL_OK = 0, /* granted: wait wait_ms, send, then release */
    SQ_RL_WAIT,   /* the next slot is wait_ms away (over max_wait) */
    SQ_RL_BUSY,   /* concurrency cap reached; ask again after wait_ms */
    SQ_RL_COOL,   /* host cooling down for wait_ms more (reason says why) */
    SQ_RL_LATER   /* a slot wait_ms away is booked for the ticket: come
                     back with the same ticket just before it */
};

struct sq_rl_answer {
    enum sq_rl_status status;
    int64_t wait_ms;
    int64_t slot_ms; /* SQ_RL_OK: the granted send time (epoch ms, Redis
                        clock; the process clock for the in-process twin) */
    char reason[64];
};

/* Ask for a slot on `host` for `holder` (unique per request), accepting a
 * wait of at most `max_wait_ms` for the bucket. With a `ticket` (the
 * task id; NULL or "" for none) a longer wait books the slot for it
 * (SQ_RL_LATER) instead of answering SQ_RL_WAIT, and a later call with
 * the same ticket is granted that slot. `c` NULL uses an in-process
 * limiter (same algorithm, this process only, no tickets; for local runs
 * without a broker). Errors: SYNCQ_EINVAL (bad policy), SYNCQ_ECONN,
 * SYNCQ_EPROTO. */
int sq_rl_acquire(syncq_client *c, const char *host,
                  const struct sq_rl_policy *p, const char *holder,
                  const char *ticket, int64_t max_wait_ms,
                  struct sq_rl_answer *a, syncq_error *err);

/* Give the slot of `holder` back (after the response, or on error). */
int sq_rl_release(syncq_client *c, const char *host, const char *holder,
                  syncq_error *err);

/* Pause `host` for every worker for `ms` (never shortens a longer pause);
 * `reason` ("captcha", "429") is shown to waiters. *until_ms (may be
 * NULL) gets the end of the pause (Redis time, epoch ms). */
int sq_rl_cool(syncq_client *c, const char *host, int64_t ms,
               const char *reason, int64_t *until_ms, syncq_error *err);

/* State of `host`, for tests and status: cool-down end (epoch ms, 0 when
 * none), its reason (64 bytes) and the requests in flight. */
int sq_rl_peek(syncq_client *c, const char *host, int64_t *cool_until_ms,
               char reason[64], int64_t *in_flight, syncq_error *err);

#endif
