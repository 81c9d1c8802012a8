/* SPDX-License-Identifier: MIT
 *
 * broker_ratelimit.c: syncq/ratelimit.h, typed wrappers of
 * lua/ratelimit.lua, and an in-process twin of the script for runs without a broker
 * (a small table of hosts, same GCRA arithmetic, monotonic clock).
 */
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/ratelimit.h>

int64_t
syncq_rl_slack_ms(const struct syncq_rate *r)
{
    double period = (double)r->period_ms;
    double slack = period * 0.01;
    double cap = period * 0.04 < 100.0 ? period * 0.04 : 100.0;

    return (int64_t)ceil(slack > cap ? slack : cap);
}

/* Spacing of grants in microseconds: the period plus its slack, shared
 * by the limit's requests. */
static int64_t
interval_us(const struct syncq_rate *r)
{
    double us =
        (double)(r->period_ms + syncq_rl_slack_ms(r)) * 1000.0 / (double)r->limit;
    return (int64_t)ceil(us);
}

static int
check_policy(const struct syncq_rl_policy *p, syncq_error *err)
{
    if (p == NULL || p->rate.limit < 1 || p->rate.period_ms < 1 ||
        p->burst < 1 || p->concurrency < 0 || p->slot_lease_ms <= 0) {
        return sq_fail(err, SYNCQ_EINVAL, "bad rate-limit policy");
    }
    return SYNCQ_OK;
}

/* ---- in-process twin --------------------------------------------------- */

#define LOCAL_HOSTS 32
#define LOCAL_SLOTS 64

struct local_host {
    char host[128];
    int64_t tat_us;        /* monotonic us */
    int64_t cool_until_ms; /* monotonic ms */
    char why[64];
    struct {
        char holder[64];
        int64_t until_ms;
    } slots[LOCAL_SLOTS];
};

static struct local_host local_hosts[LOCAL_HOSTS];

static struct local_host *
local_find(const char *host)
{
    struct local_host *free_one = NULL;

    for (int i = 0; i < LOCAL_HOSTS; i++) {
        if (strcmp(local_hosts[i].host, host) == 0) {
            return &local_hosts[i];
        }
        if (free_one == NULL && local_hosts[i].host[0] == '\0') {
            free_one = &local_hosts[i];
        }
    }
    if (free_one == NULL) {
        free_one = &local_hosts[0]; /* table full: reuse the oldest slot */
        memset(free_one, 0, sizeof *free_one);
    }
    snprintf(free_one->host, sizeof free_one->host, "%s", host);
    return free_one;
}

static void
local_acquire(const char *host, const struct syncq_rl_policy *p,
              const char *holder, int64_t max_wait_ms, struct syncq_rl_answer *a)
{
    struct local_host *h = local_find(host);
    int64_t now_ms = sq_mono_ms(), now_us = sq_mono_us();
    int64_t iv = interval_us(&p->rate), tat, allow, wait_us, wait_ms;
    int used = 0, free_slot = -1;

    if (h->cool_until_ms > now_ms) {
        a->status = SYNCQ_RL_COOL;
        a->wait_ms = h->cool_until_ms - now_ms;
        snprintf(a->reason, sizeof a->reason, "%s", h->why);
        return;
    }
    for (int i = 0; i < LOCAL_SLOTS; i++) {
        if (h->slots[i].holder[0] != '\0' && h->slots[i].until_ms <= now_ms) {
            h->slots[i].holder[0] = '\0';
        }
        if (h->slots[i].holder[0] != '\0') {
            used++;
        } else if (free_slot < 0) {
            free_slot = i;
        }
    }
    if (p->concurrency > 0 && (used >= p->concurrency || free_slot < 0)) {
        a->status = SYNCQ_RL_BUSY;
        a->wait_ms = 20;
        return;
    }
    tat = h->tat_us > now_us ? h->tat_us : now_us;
    allow = tat - (int64_t)(p->burst - 1) * iv;
    wait_us = allow > now_us ? allow - now_us : 0;
    wait_ms = (wait_us + 999) / 1000;
    if (wait_ms > max_wait_ms) {
        a->status = SYNCQ_RL_WAIT;
        a->wait_ms = wait_ms;
        return;
    }
    h->tat_us = tat + iv;
    if (p->concurrency > 0) {
        snprintf(h->slots[free_slot].holder, sizeof h->slots[0].holder, "%s",
                 holder);
        h->slots[free_slot].until_ms = now_ms + wait_ms + p->slot_lease_ms;
    }
    a->status = SYNCQ_RL_OK;
    a->wait_ms = wait_ms;
    a->slot_ms = sq_now_ms() + wait_ms;
}

/* ---- Redis ------------------------------------------------------------- */

static int
reply_int(const redisReply *r, int64_t *out)
{
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        *out = r->integer;
        return 0;
    }
    if (r->type == REDIS_REPLY_STRING) {
        char *end = NULL;
        long long v = strtoll(r->str, &end, 10);
        if (end == r->str) {
            return -1;
        }
        *out = v;
        return 0;
    }
    return -1;
}

int
syncq_rl_acquire(syncq_client *c, const char *host, const struct syncq_rl_policy *p,
              const char *holder, const char *ticket, int64_t max_wait_ms,
              struct syncq_rl_answer *a, syncq_error *err)
{
    struct sq_args args;
    redisReply *r = NULL;
    int rc;
    const char *st;

    memset(a, 0, sizeof *a);
    rc = check_policy(p, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (host == NULL || host[0] == '\0' || holder == NULL ||
        holder[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL,
                       "rate limit needs a host and a "
                       "holder");
    }
    if (max_wait_ms < 0) {
        max_wait_ms = 0;
    }
    if (c == NULL) {
        local_acquire(host, p, holder, max_wait_ms, a);
        return SYNCQ_OK;
    }
    sq_args_init(&args);
    sq_args_add(&args, "acquire");
    sq_args_add(&args, host);
    sq_args_addll(&args, interval_us(&p->rate));
    sq_args_addll(&args, p->burst);
    sq_args_addll(&args, p->concurrency);
    sq_args_add(&args, holder);
    sq_args_addll(&args, p->slot_lease_ms);
    sq_args_addll(&args, max_wait_ms);
    sq_args_add(&args, ticket != NULL ? ticket : "");
    rc = sq_script_call(c, SQ_SCRIPT_RATELIMIT, &args, &r, err);
    sq_args_cleanup(&args);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        reply_int(r->element[1], &a->wait_ms) != 0) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "ratelimit.lua: unexpected reply");
    }
    st = r->element[0]->str;
    if (strcmp(st, "ok") == 0) {
        a->status = SYNCQ_RL_OK;
        if (r->elements > 2) {
            reply_int(r->element[2], &a->slot_ms);
        }
    } else if (strcmp(st, "wait") == 0) {
        a->status = SYNCQ_RL_WAIT;
    } else if (strcmp(st, "busy") == 0) {
        a->status = SYNCQ_RL_BUSY;
    } else if (strcmp(st, "later") == 0) {
        a->status = SYNCQ_RL_LATER;
    } else if (strcmp(st, "cool") == 0) {
        a->status = SYNCQ_RL_COOL;
        if (r->elements > 2 && r->element[2]->type == REDIS_REPLY_STRING) {
            snprintf(a->reason, sizeof a->reason, "%s", r->element[2]->str);
        }
    } else {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "ratelimit.lua: unknown status");
    }
    if (r->elements > 3) {
        reply_int(r->element[3], &a->missed_ms);
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

int
syncq_rl_release(syncq_client *c, const char *host, const char *holder,
              syncq_error *err)
{
    struct sq_args args;
    redisReply *r = NULL;
    int rc;

    if (host == NULL || holder == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "release needs a host and holder");
    }
    if (c == NULL) {
        struct local_host *h = local_find(host);
        for (int i = 0; i < LOCAL_SLOTS; i++) {
            if (strcmp(h->slots[i].holder, holder) == 0) {
                h->slots[i].holder[0] = '\0';
            }
        }
        return SYNCQ_OK;
    }
    sq_args_init(&args);
    sq_args_add(&args, "release");
    sq_args_add(&args, host);
    sq_args_add(&args, holder);
    rc = sq_script_call(c, SQ_SCRIPT_RATELIMIT, &args, &r, err);
    sq_args_cleanup(&args);
    if (r != NULL) {
        freeReplyObject(r);
    }
    return rc;
}

int
syncq_rl_cool(syncq_client *c, const char *host, int64_t ms, const char *reason,
           int64_t *until_ms, syncq_error *err)
{
    struct sq_args args;
    redisReply *r = NULL;
    int rc;

    if (host == NULL || ms <= 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "cool-down needs a host and a "
                       "positive pause");
    }
    if (c == NULL) {
        struct local_host *h = local_find(host);
        int64_t until = sq_mono_ms() + ms;
        if (until > h->cool_until_ms) {
            h->cool_until_ms = until;
            snprintf(h->why, sizeof h->why, "%s", reason ? reason : "");
        }
        if (until_ms != NULL) {
            *until_ms = sq_now_ms() + (h->cool_until_ms - sq_mono_ms());
        }
        return SYNCQ_OK;
    }
    sq_args_init(&args);
    sq_args_add(&args, "cool");
    sq_args_add(&args, host);
    sq_args_addll(&args, ms);
    sq_args_add(&args, reason != NULL ? reason : "");
    rc = sq_script_call(c, SQ_SCRIPT_RATELIMIT, &args, &r, err);
    sq_args_cleanup(&args);
    if (rc == SYNCQ_OK && until_ms != NULL) {
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
            reply_int(r->element[1], until_ms) != 0) {
            rc = sq_fail(err, SYNCQ_EPROTO, "ratelimit.lua: bad cool reply");
        }
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    return rc;
}

int
syncq_rl_peek(syncq_client *c, const char *host, int64_t *cool_until_ms,
           char reason[64], int64_t *in_flight, syncq_error *err)
{
    struct sq_args args;
    redisReply *r = NULL;
    int rc;

    *cool_until_ms = 0;
    *in_flight = 0;
    reason[0] = '\0';
    if (c == NULL) {
        struct local_host *h = local_find(host);
        int64_t now = sq_mono_ms();
        if (h->cool_until_ms > now) {
            *cool_until_ms = sq_now_ms() + (h->cool_until_ms - now);
            snprintf(reason, 64, "%s", h->why);
        }
        for (int i = 0; i < LOCAL_SLOTS; i++) {
            if (h->slots[i].holder[0] != '\0' && h->slots[i].until_ms > now) {
                (*in_flight)++;
            }
        }
        return SYNCQ_OK;
    }
    sq_args_init(&args);
    sq_args_add(&args, "peek");
    sq_args_add(&args, host);
    rc = sq_script_call(c, SQ_SCRIPT_RATELIMIT, &args, &r, err);
    sq_args_cleanup(&args);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 4 ||
        reply_int(r->element[1], cool_until_ms) != 0 ||
        reply_int(r->element[3], in_flight) != 0) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "ratelimit.lua: bad peek reply");
    }
    if (r->element[2]->type == REDIS_REPLY_STRING) {
        snprintf(reason, 64, "%s", r->element[2]->str);
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}
