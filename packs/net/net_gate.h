/* SPDX-License-Identifier: MIT
 *
 * net_gate.h: the politeness gate every request of the packs passes
 * before it goes out (crawler pages and APIs, image downloads): a slot
 * from the per-host limiter shared by every worker through Redis
 * (syncq/ratelimit.h), waited for in place when the wait is short, and
 * host cool-downs (after a 429/503 with Retry-After, a captcha page)
 * that hold back every worker. A wait longer than max_wait_ms is not
 * slept: the request is deferred, and the task hands the wait back to
 * the worker (syncq_ctx_defer), freeing its child.
 *
 * After every wait in place the host's cool-down is checked again (20 ms
 * before the slot, so the check never makes the request late): a 429
 * answered to another worker during the wait starts a pause that this
 * request must respect too, so no request reaches a host inside its
 * cool-down (short of one that was already on its way).
 *
 * Cool-down reasons are stored as "<class>:<code>" ("blocked:captcha",
 * "rate_limited:429"), so a request that finds a host paused is deferred
 * with the class that paused it.
 *
 * Thread-safety: one struct sq_gate per thread; the limiter state is
 * shared through Redis (or the in-process twin when client is NULL).
 */
#ifndef SQ_NET_GATE_H
#define SQ_NET_GATE_H

#include <stdbool.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/config.h>
#include <syncq/ratelimit.h>

struct sq_gate {
    syncq_client *client;          /* borrowed; NULL: in-process limits */
    struct syncq_rl_policy policy; /* per host */
    int64_t max_wait_ms;           /* longest in-place wait */
    bool (*stop)(void *ud);        /* polled while waiting; true stops */
    void *stop_ud;
    char ticket[64];               /* task id booking slots; "" none */
    uint64_t seq;                  /* makes holder ids unique */
};

/* What the gate said. */
struct sq_gate_pass {
    bool granted;      /* a slot is held: send, then sq_gate_leave */
    bool limiter_down; /* the limiter could not be asked (why says it) */
    int cls;           /* not granted: rate_limited or blocked */
    int64_t retry_ms;  /* not granted: come back after this */
    int64_t waited_ms; /* time spent waiting */
    char holder[64];
    char why[256];     /* not granted: one line for the task's error */
};

/* A rate setting (`rate_key`, the SYNCQ_CRAWLER_RATE syntax) and the
 * concurrency cap (`conc_key`) into g->policy; burst 1 unless
 * `burst_key` (may be NULL) says more. The slot lease covers
 * `longest_request_ms`. Errors: SYNCQ_EINVAL (bad rate; the message
 * names the setting). */
int sq_gate_policy_from_config(const syncq_config *cfg, const char *rate_key,
                               const char *conc_key, const char *burst_key,
                               int64_t longest_request_ms,
                               struct syncq_rl_policy *p, syncq_error *err);

/* Ask for a slot on `host` (a key of sq_http_host_key's form; image
 * downloads use "image:<host>", a bucket and cool-down of their own at
 * their own rate), waiting in place up to g->max_wait_ms. Never fails:
 * see p->granted. */
void sq_gate_enter(struct sq_gate *g, const char *host,
                   struct sq_gate_pass *p);

/* Give the slot of a granted pass back (after the answer). */
void sq_gate_leave(struct sq_gate *g, const char *host,
                   const struct sq_gate_pass *p);

/* Pause `host` for every worker for `ms` (never shortens a longer
 * pause); `reason` is "<class>:<code>". Logged once per pause; a failure
 * to reach the limiter is logged, not returned (the pause is a
 * courtesy). */
void sq_gate_cool(struct sq_gate *g, const char *host, int64_t ms,
                  const char *reason);

#endif
