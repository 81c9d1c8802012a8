/* SPDX-License-Identifier: MIT
 *
 * crawler_fetch.c: limiter + HTTP + verdict for one request (see
 * crawler_fetch.h). Cool-down reasons are stored as "<class>:<code>"
 * ("blocked:_____tmd_____", "rate_limited:429") so a worker that finds a
 * host paused retries with the class that paused it.
 */
#include "crawler/crawler_fetch.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include <syncq/log.h>
#include <syncq/time.h>

#include <stdio.h>
#include <string.h>
#include <syncq/task.h>

struct sq_fetcher {
    struct sq_fetcher_opts o;
    struct sq_http *http;
    struct sq_gate gate;
};

int
sq_fetcher_opts_from_config(const syncq_config *cfg, syncq_client *c,
                            struct sq_fetcher_opts *o, syncq_error *err)
{
    int rc;

    memset(o, 0, sizeof *o);
    o->client = c;
    o->http.connect_timeout_ms =
        syncq_config_ms(cfg, "SYNCQ_CRAWLER_CONNECT_TIMEOUT");
    o->http.timeout_ms = syncq_config_ms(cfg, "SYNCQ_CRAWLER_TIMEOUT");
    o->http.user_agent = syncq_config_str(cfg, "SYNCQ_CRAWLER_USER_AGENT");
    if (o->http.user_agent != NULL && o->http.user_agent[0] == '\0') {
        o->http.user_agent = NULL;
    }
    rc = sq_gate_policy_from_config(
        cfg, "SYNCQ_CRAWLER_RATE", "SYNCQ_CRAWLER_CONCURRENCY",
        "SYNCQ_CRAWLER_BURST",
        o->http.connect_timeout_ms + o->http.timeout_ms, &o->policy, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    o->max_wait_ms = syncq_config_ms(cfg, "SYNCQ_CRAWLER_MAX_WAIT");
    o->cooldown_ms = syncq_config_ms(cfg, "SYNCQ_CRAWLER_COOLDOWN");
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
    f->gate.client = o->client;
    f->gate.policy = o->policy;
    f->gate.max_wait_ms = o->max_wait_ms;
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
    f->gate.stop = stop;
    f->gate.stop_ud = ud;
}

void
sq_fetcher_set_client(struct sq_fetcher *f, syncq_client *c)
{
    f->o.client = c;
    f->gate.client = c;
}

void
sq_fetcher_set_ticket(struct sq_fetcher *f, const char *ticket)
{
    snprintf(f->gate.ticket, sizeof f->gate.ticket, "%s",
             ticket != NULL ? ticket : "");
}

int
sq_fetcher_guard(struct sq_fetcher *f, bool on, const syncq_config *cfg,
                 syncq_error *err)
{
    return sq_http_guard(f->http, on, cfg, err);
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

/* The gate said no: nothing was sent, the task should come back after
 * the wait, with the class that made the limiter say no. */
static void
defer(struct sq_fetch_result *res, const struct sq_gate_pass *p)
{
    res->deferred = true;
    verdict_set(res,
                p->cls == SYNCQ_ERR_BLOCKED ? SQ_1688_BLOCKED
                                            : SQ_1688_RATE_LIMITED,
                p->cls, p->retry_ms, "deferred", p->why);
}

/* Pause the host for everyone after an answer that asks for it. */
static void
cool_after(struct sq_fetcher *f, struct sq_fetch_result *res)
{
    char reason[128];

    if (res->verdict.outcome == SQ_1688_RATE_LIMITED) {
        int64_t pause = res->verdict.retry_after_ms > 0
                            ? res->verdict.retry_after_ms
                            : 1000;
        snprintf(reason, sizeof reason, "rate_limited:%.60s",
                 res->verdict.code);
        sq_gate_cool(&f->gate, res->host, pause, reason);
        res->verdict.retry_after_ms = pause;
    } else if (res->verdict.outcome == SQ_1688_BLOCKED ||
               res->verdict.outcome == SQ_1688_LOGIN_REQUIRED) {
        snprintf(reason, sizeof reason, "blocked:%.60s", res->verdict.code);
        sq_gate_cool(&f->gate, res->host, f->o.cooldown_ms, reason);
        res->verdict.retry_after_ms =
            f->o.cooldown_ms > 0 ? f->o.cooldown_ms : 1000;
    }
}

int
sq_fetch(struct sq_fetcher *f, const char *url, const char *form,
         enum sq_1688_expect expect, struct sq_fetch_result *res,
         syncq_error *err)
{
    struct sq_gate_pass pass;
    syncq_error e2;
    int rc, cls = 0;

    memset(res, 0, sizeof *res);
    rc = sq_http_host_key(url, res->host, sizeof res->host, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_gate_enter(&f->gate, res->host, &pass);
    res->waited_ms = pass.waited_ms;
    if (pass.limiter_down) {
        verdict_set(res, SQ_1688_TRANSIENT, SYNCQ_ERR_NETWORK, 0,
                    "ratelimiter", pass.why);
        return SYNCQ_OK;
    }
    if (!pass.granted) {
        defer(res, &pass);
        return SYNCQ_OK;
    }
    res->sent = true;
    rc = sq_http_request(f->http, url, form, &res->resp, &cls, &e2);
    sq_gate_leave(&f->gate, res->host, &pass);
    if (rc == SYNCQ_EINVAL || rc == SYNCQ_ENOMEM) {
        if (err != NULL) {
            *err = e2;
        }
        return rc;
    }
    if (rc != SYNCQ_OK && cls == SYNCQ_ERR_VALIDATION) {
        /* the guard refused the address: nothing reached the host */
        res->sent = false;
        verdict_set(res, SQ_1688_REJECTED, cls, 0, "refused", e2.msg);
        return SYNCQ_OK;
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
    cool_after(f, res);
    return SYNCQ_OK;
}
