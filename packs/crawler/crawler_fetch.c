/* SPDX-License-Identifier: MIT
 *
 * crawler_fetch.c: limiter + HTTP + verdict for one request (see
 * crawler_fetch.h). Cool-down reasons are stored as "<class>:<code>"
 * ("blocked:_____tmd_____", "rate_limited:429") so a worker that finds a
 * host paused retries with the class that paused it.
 */
#include "crawler/crawler_fetch.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>
#include <syncq/task.h>
#include <unistd.h>

struct sq_fetcher {
    struct sq_fetcher_opts o;
    struct sq_http *http;
    bool (*stop)(void *ud);
    void *stop_ud;
    uint64_t seq;
    char ticket[64]; /* "" for none */
};

int
sq_fetcher_opts_from_config(const syncq_config *cfg, syncq_client *c,
                            struct sq_fetcher_opts *o, syncq_error *err)
{
    int rc;

    memset(o, 0, sizeof *o);
    rc = sq_rate_parse(syncq_config_str(cfg, "SYNCQ_CRAWLER_RATE"),
                       &o->policy.rate, err);
    if (rc != SYNCQ_OK) {
        sq_error_prefix(err, "SYNCQ_CRAWLER_RATE");
        return rc;
    }
    o->client = c;
    o->policy.burst = (int)syncq_config_int(cfg, "SYNCQ_CRAWLER_BURST");
    o->policy.concurrency =
        (int)syncq_config_int(cfg, "SYNCQ_CRAWLER_CONCURRENCY");
    o->http.connect_timeout_ms =
        syncq_config_ms(cfg, "SYNCQ_CRAWLER_CONNECT_TIMEOUT");
    o->http.timeout_ms = syncq_config_ms(cfg, "SYNCQ_CRAWLER_TIMEOUT");
    o->http.user_agent = syncq_config_str(cfg, "SYNCQ_CRAWLER_USER_AGENT");
    if (o->http.user_agent != NULL && o->http.user_agent[0] == '\0') {
        o->http.user_agent = NULL;
    }
    /* A slot outlives the longest request it can cover. */
    o->policy.slot_lease_ms =
        o->http.connect_timeout_ms + o->http.timeout_ms + 5000;
    o->max_wait_ms = syncq_config_ms(cfg, "SYNCQ_CRAWLER_MAX_WAIT");
    o->cooldown_ms = syncq_config_ms(cfg, "SYNCQ_CRAWLER_COOLDOWN");
    if (o->policy.burst < 1) {
        o->policy.burst = 1;
    }
    return SYNCQ_OK;
}

int
sq_fetcher_open(const struct sq_fetcher_opts *o, struct sq_fetcher **out,
                syncq_error *err)
{
    struct sq_fetcher *f;
    int rc;

    *out = NULL;
    f = sq_calloc(1, sizeof *f);
    if (f == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    f->o = *o;
    rc = sq_http_open(&o->http, &f->http, err);
    if (rc != SYNCQ_OK) {
        sq_free(f);
        return rc;
    }
    f->o.http.user_agent = NULL; /* the HTTP client keeps its own copy */
    *out = f;
    return SYNCQ_OK;
}

void
sq_fetcher_close(struct sq_fetcher *f)
{
    if (f == NULL) {
        return;
    }
    sq_http_close(f->http);
    sq_free(f);
}

void
sq_fetcher_set_stop(struct sq_fetcher *f, bool (*stop)(void *ud), void *ud)
{
    f->stop = stop;
    f->stop_ud = ud;
}

void
sq_fetcher_set_client(struct sq_fetcher *f, syncq_client *c)
{
    f->o.client = c;
}

void
sq_fetcher_set_ticket(struct sq_fetcher *f, const char *ticket)
{
    snprintf(f->ticket, sizeof f->ticket, "%s", ticket != NULL ? ticket : "");
}

void
sq_fetch_result_cleanup(struct sq_fetch_result *res)
{
    if (res == NULL) {
        return;
    }
    sq_http_resp_cleanup(&res->resp);
    memset(res, 0, sizeof *res);
}

/* Sleep `ms` in short steps; false if the stop function fired. */
static bool
nap(struct sq_fetcher *f, int64_t ms)
{
    int64_t end = sq_mono_ms() + ms;

    for (;;) {
        int64_t left = end - sq_mono_ms();
        if (f->stop != NULL && f->stop(f->stop_ud)) {
            return false;
        }
        if (left <= 0) {
            return true;
        }
        sq_sleep_ms(left < 50 ? left : 50);
    }
}

static void
verdict_set(struct sq_fetch_result *res, enum sq_1688_outcome o, int cls,
            int64_t retry_ms, const char *code, const char *msg)
{
    res->verdict.outcome = o;
    res->verdict.error_class = cls;
    res->verdict.retry_after_ms = retry_ms;
    snprintf(res->verdict.code, sizeof res->verdict.code, "%s", code);
    snprintf(res->verdict.message, sizeof res->verdict.message, "%s", msg);
}

/* Not sent: the task should retry after `ms`, with the class that made
 * the limiter say no. */
static void
defer(struct sq_fetch_result *res, int cls, int64_t ms, const char *why)
{
    char msg[256];

    res->deferred = true;
    snprintf(msg, sizeof msg, "host %s %s; retry in %lld ms", res->host, why,
             (long long)ms);
    verdict_set(
        res, cls == SYNCQ_ERR_BLOCKED ? SQ_1688_BLOCKED : SQ_1688_RATE_LIMITED,
        cls, ms > 0 ? ms : 1, "deferred", msg);
}

/* Pause the host for everyone; logged once per new pause. */
static void
cool_host(struct sq_fetcher *f, const char *host, int64_t ms,
          const char *reason)
{
    syncq_error err;
    int64_t until = 0;

    if (ms <= 0) {
        return;
    }
    if (sq_rl_cool(f->o.client, host, ms, reason, &until, &err) != SYNCQ_OK) {
        SQ_WARN("crawler.cooldown_failed", "host=%s err=\"%s\"", host, err.msg);
        return;
    }
    SQ_INFO("crawler.host_cooldown", "host=%s pause_ms=%lld reason=%s", host,
            (long long)ms, reason);
}

int
sq_fetch(struct sq_fetcher *f, const char *url, const char *form,
         enum sq_1688_expect expect, struct sq_fetch_result *res,
         syncq_error *err)
{
    char holder[64];
    int64_t start = sq_mono_ms();
    int64_t deadline = start + f->o.max_wait_ms;
    syncq_error e2;
    int rc, cls = 0;

    memset(res, 0, sizeof *res);
    rc = sq_http_host_key(url, res->host, sizeof res->host, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    snprintf(holder, sizeof holder, "%ld:%llu", (long)getpid(),
             (unsigned long long)++f->seq);
    for (;;) {
        struct sq_rl_answer a;
        int64_t left = deadline - sq_mono_ms();
        if (left < 0) {
            left = 0;
        }
        rc = sq_rl_acquire(f->o.client, res->host, &f->o.policy, holder,
                           f->ticket, left, &a, &e2);
        if (rc != SYNCQ_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "rate limiter unavailable: %s", e2.msg);
            verdict_set(res, SQ_1688_TRANSIENT, SYNCQ_ERR_NETWORK, 0,
                        "ratelimiter", msg);
            res->waited_ms = sq_mono_ms() - start;
            return SYNCQ_OK;
        }
        if (a.status == SQ_RL_OK) {
            if (a.wait_ms > 0 && !nap(f, a.wait_ms)) {
                sq_rl_release(f->o.client, res->host, holder, &e2);
                res->waited_ms = sq_mono_ms() - start;
                defer(res, SYNCQ_ERR_RATE_LIMITED, 1000, "wait interrupted");
                return SYNCQ_OK;
            }
            break;
        }
        if (a.status == SQ_RL_LATER) {
            /* Come back a little before the booked slot: an early
             * arrival waits in place, a late one loses the slot. */
            int64_t lead =
                f->o.max_wait_ms / 2 < 2000 ? f->o.max_wait_ms / 2 : 2000;
            res->waited_ms = sq_mono_ms() - start;
            defer(res, SYNCQ_ERR_RATE_LIMITED,
                  a.wait_ms > lead ? a.wait_ms - lead : 1,
                  "has a slot booked for this task");
            return SYNCQ_OK;
        }
        if (a.status == SQ_RL_COOL) {
            int c = strncmp(a.reason, "blocked", 7) == 0
                        ? SYNCQ_ERR_BLOCKED
                        : SYNCQ_ERR_RATE_LIMITED;
            if (a.wait_ms > left) {
                char why[128];
                snprintf(why, sizeof why, "is cooling down (%.60s)", a.reason);
                res->waited_ms = sq_mono_ms() - start;
                defer(res, c, a.wait_ms, why);
                return SYNCQ_OK;
            }
        } else if (a.status == SQ_RL_WAIT || left <= 0) {
            res->waited_ms = sq_mono_ms() - start;
            defer(res, SYNCQ_ERR_RATE_LIMITED, a.wait_ms,
                  a.status == SQ_RL_BUSY ? "has its concurrency cap in use"
                                         : "is at its rate limit");
            return SYNCQ_OK;
        }
        if (!nap(f, a.wait_ms < left ? a.wait_ms : left)) {
            res->waited_ms = sq_mono_ms() - start;
            defer(res, SYNCQ_ERR_RATE_LIMITED, 1000, "wait interrupted");
            return SYNCQ_OK;
        }
    }
    res->waited_ms = sq_mono_ms() - start;
    res->sent = true;
    rc = sq_http_request(f->http, url, form, &res->resp, &cls, &e2);
    {
        syncq_error e3;
        if (sq_rl_release(f->o.client, res->host, holder, &e3) != SYNCQ_OK) {
            /* the slot lapses on its own after the lease */
            SQ_DEBUG("crawler.release_failed", "host=%s err=\"%s\"", res->host,
                     e3.msg);
        }
    }
    if (rc == SYNCQ_EINVAL || rc == SYNCQ_ENOMEM) {
        if (err != NULL) {
            *err = e2;
        }
        return rc;
    }
    if (rc != SYNCQ_OK) {
        verdict_set(
            res, cls == SYNCQ_ERR_TIMEOUT ? SQ_1688_TIMEOUT : SQ_1688_TRANSIENT,
            cls, 0, "transport", e2.msg);
        return SYNCQ_OK;
    }
    sq_1688_classify(res->resp.status, res->resp.content_type,
                     res->resp.location, res->resp.body, res->resp.len,
                     res->resp.retry_after_ms, expect, &res->verdict);
    if (res->verdict.outcome == SQ_1688_RATE_LIMITED) {
        char reason[128];
        int64_t pause = res->verdict.retry_after_ms > 0
                            ? res->verdict.retry_after_ms
                            : 1000;
        snprintf(reason, sizeof reason, "rate_limited:%.60s",
                 res->verdict.code);
        cool_host(f, res->host, pause, reason);
        res->verdict.retry_after_ms = pause;
    } else if (res->verdict.outcome == SQ_1688_BLOCKED ||
               res->verdict.outcome == SQ_1688_LOGIN_REQUIRED) {
        char reason[128];
        snprintf(reason, sizeof reason, "blocked:%.60s", res->verdict.code);
        cool_host(f, res->host, f->o.cooldown_ms, reason);
        res->verdict.retry_after_ms =
            f->o.cooldown_ms > 0 ? f->o.cooldown_ms : 1000;
    }
    return SYNCQ_OK;
}
