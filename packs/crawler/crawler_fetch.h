/* SPDX-License-Identifier: MIT
 *
 * crawler_fetch.h: one polite request to a 1688 host: pass the shared
 * per-host gate (net/net_gate.h: limiter slot, cool-downs), send with the
 * HTTP client (crawler_http.h), give the slot back, and judge the answer
 * (crawler_parse.h verdicts). A 429 or a
 * platform rate-limit error pauses the host for every worker for its
 * Retry-After (1 s when none is given); a captcha or login wall pauses it
 * for SYNCQ_CRAWLER_COOLDOWN. A wait longer than SYNCQ_CRAWLER_MAX_WAIT
 * is not slept: the fetch is "deferred" and the task hands the wait back
 * to the worker (syncq_ctx_retry_after), freeing its child.
 *
 * Thread-safety: one struct sq_fetcher per thread (it owns an HTTP
 * handle); the limiter state is shared through Redis.
 */
#ifndef SQ_CRAWLER_FETCH_H
#define SQ_CRAWLER_FETCH_H

#include "crawler/crawler_http.h"
#include "crawler/crawler_parse.h"
#include "net/net_gate.h"
#include <syncq/ratelimit.h>

#include <stdbool.h>
#include <syncq/client.h>
#include <syncq/config.h>

struct sq_fetcher;

struct sq_fetcher_opts {
    syncq_client *client;       /* borrowed; NULL: in-process limits */
    struct syncq_rl_policy policy; /* per host */
    int64_t max_wait_ms;        /* longest in-place wait */
    int64_t cooldown_ms;        /* host pause after a blocked answer */
    struct sq_http_opts http;
};

/* Options from a configuration: SYNCQ_CRAWLER_RATE, _BURST,
 * _CONCURRENCY, _MAX_WAIT, _COOLDOWN, _CONNECT_TIMEOUT, _TIMEOUT,
 * _USER_AGENT. o->http.user_agent is borrowed from `cfg`.
 * Errors: SYNCQ_EINVAL (bad SYNCQ_CRAWLER_RATE, message names it). */
int sq_fetcher_opts_from_config(const syncq_config *cfg, syncq_client *c,
                                struct sq_fetcher_opts *o, syncq_error *err);

int sq_fetcher_open(const struct sq_fetcher_opts *o, struct sq_fetcher **out,
                    syncq_error *err);
void sq_fetcher_close(struct sq_fetcher *f);

/* A function polled while waiting; true stops the wait (the fetch is
 * deferred). NULL: never. */
void sq_fetcher_set_stop(struct sq_fetcher *f, bool (*stop)(void *ud),
                         void *ud);

/* The broker connection the limiter uses from now on (borrowed; NULL:
 * in-process limits). A worker child's connection can change between
 * tasks after a reconnect. */
void sq_fetcher_set_client(struct sq_fetcher *f, syncq_client *c);

/* The task id the fetches of this task book slots under (see
 * syncq_rl_acquire: a deferred task keeps its place in the line). Copied;
 * NULL clears. */
void sq_fetcher_set_ticket(struct sq_fetcher *f, const char *ticket);

/* Guard the next fetches (net/net_guard.h) when `on`: their URLs came
 * from task arguments, so loopback, private, link-local ... addresses
 * are refused unless SYNCQ_FETCH_ALLOW (read from `cfg`) names them; a
 * refused fetch has verdict rejected, class validation, code "refused".
 * Errors: SYNCQ_EINVAL (bad SYNCQ_FETCH_ALLOW), SYNCQ_EHTTP. */
int sq_fetcher_guard(struct sq_fetcher *f, bool on, const syncq_config *cfg,
                     syncq_error *err);

/* What came of one fetch. */
struct sq_fetch_result {
    struct sq_http_resp resp;       /* the answer, when sent */
    struct sq_1688_verdict verdict; /* outcome and error class (also for
                                       transport errors and deferrals) */
    bool sent;                      /* a request went out */
    bool deferred;                  /* not sent: retry after
                                       verdict.retry_after_ms */
    int64_t waited_ms;              /* time spent waiting for the limiter */
    char host[160];                 /* the limiter's host key */
};

/* GET `url` (or POST `form` when not NULL) expecting `expect`.
 * Returns SYNCQ_OK whenever there is a verdict, however bad: check
 * res->verdict.outcome (SQ_1688_OK means usable data). Transport errors
 * give class network/timeout; the limiter unreachable gives class
 * network ("rate limiter unavailable"), since no request may go out
 * unlimited. Errors: SYNCQ_EINVAL (not an http(s) URL), SYNCQ_ENOMEM.
 * Release `res` with sq_fetch_result_cleanup in every case. */
int sq_fetch(struct sq_fetcher *f, const char *url, const char *form,
             enum sq_1688_expect expect, struct sq_fetch_result *res,
             syncq_error *err);

void sq_fetch_result_cleanup(struct sq_fetch_result *res);

#endif
