/* SPDX-License-Identifier: MIT
 *
 * worker_ratelimit.c: per-task rate limits of one worker (Celery's
 * task rate_limit: "10/s", "100/m", "1000/h", per worker). A task's
 * limit comes from its registration (syncq_registry_set_rate_limit) and may
 * be changed at run time by the rate_limit control command
 * (worker_control.c). A task over its limit waits in the worker, holding
 * its lease, until its turn: the dispatch takes the first waiting task
 * whose limit lets it start, so tasks of other names pass it.
 *
 * The bucket holds one token, as Celery's does: starts of one task name
 * are spaced period/limit apart (10/s: one every 100 ms), never bunched.
 */
#include "worker/worker_sup.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_rate.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>

#define MAX_NAMES 64

struct sq_rl_entry {
    char task[201];
    bool limited;     /* false: no limit (set to "0" or never given) */
    struct sq_rate rate;
    int64_t step_us;  /* period / limit */
    int64_t next_us;  /* monotonic: the next start may happen then */
    char text[32];    /* the rate as given, for the heartbeat */
};

struct sq_ratelimits;
static struct sq_rl_entry *entry_of(struct sq_ratelimits *k,
                                    const syncq_registry *reg,
                                    const char *task, bool always);

struct sq_ratelimits {
    struct sq_rl_entry e[MAX_NAMES];
    size_t n;
    size_t nlimited;  /* 0: the dispatch takes the FIFO head at once */
};

int
sq_sup_rl_init(struct sq_sup *s)
{
    size_t n = syncq_registry_count(s->o->registry);

    s->rl = sq_calloc(1, sizeof *s->rl);
    if (s->rl == NULL) {
        return -1;
    }
    /* the registered limits, in force (and shown) from the start */
    for (size_t i = 0; i < n; i++) {
        const syncq_task_def *d = syncq_registry_at(s->o->registry, i);
        if (d != NULL) {
            entry_of(s->rl, s->o->registry, d->name, false);
        }
    }
    return 0;
}

void
sq_sup_rl_free(struct sq_sup *s)
{
    sq_free(s->rl);
    s->rl = NULL;
}

static void
entry_set(struct sq_ratelimits *k, struct sq_rl_entry *e,
          const struct sq_rate *r, const char *text)
{
    if (e->limited) {
        k->nlimited--;
    }
    e->limited = r != NULL;
    if (r != NULL) {
        e->rate = *r;
        e->step_us = r->period_ms * 1000 / r->limit;
        if (e->step_us < 1) {
            e->step_us = 1;
        }
        k->nlimited++;
    }
    snprintf(e->text, sizeof e->text, "%s", text != NULL ? text : "");
}

/* The entry of `task`: found, or made when the task has a registered
 * limit (a bad one cannot be registered: syncq_registry_set_rate_limit
 * checks it) or `always` (a rate_limit command). NULL: no limit, so
 * task names without one take no slot. */
static struct sq_rl_entry *
entry_of(struct sq_ratelimits *k, const syncq_registry *reg,
         const char *task, bool always)
{
    struct sq_rl_entry *e;
    struct sq_rate r;
    const char *decl;

    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->e[i].task, task) == 0) {
            return &k->e[i];
        }
    }
    decl = syncq_registry_rate_limit(reg, task);
    if ((decl == NULL && !always) || k->n == MAX_NAMES) {
        return NULL;
    }
    e = &k->e[k->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->task, sizeof e->task, "%s", task);
    if (decl != NULL && sq_rate_parse(decl, &r, NULL) == SYNCQ_OK) {
        entry_set(k, e, &r, decl);
    }
    return e;
}

/* May a task of this entry start now? Takes the token if so. */
static bool
take(struct sq_rl_entry *e, int64_t now_us)
{
    if (!e->limited) {
        return true;
    }
    if (now_us < e->next_us) {
        return false;
    }
    /* on schedule when less than a step late (the loop's wake-up jitter
     * does not lower the rate); after an idle spell start afresh */
    e->next_us = (now_us - e->next_us < e->step_us ? e->next_us : now_us) +
                 e->step_us;
    return true;
}

struct sq_held *
sq_sup_rl_next(struct sq_sup *s)
{
    struct sq_ratelimits *k = s->rl;
    int64_t now_us;

    if (k == NULL || k->nlimited == 0 || s->wait_head == NULL) {
        return sq_sup_pop_wait(s);
    }
    now_us = sq_mono_us();
    for (struct sq_held *h = s->wait_head; h != NULL; h = h->next) {
        struct sq_rl_entry *e = entry_of(k, s->o->registry, h->name, false);
        if (e == NULL || take(e, now_us)) {
            sq_sup_unwait(s, h);
            return h;
        }
    }
    return NULL;
}

int64_t
sq_sup_rl_deadline(struct sq_sup *s, int64_t now, int64_t next)
{
    struct sq_ratelimits *k = s->rl;

    if (k == NULL || k->nlimited == 0 || s->wait_head == NULL ||
        s->state != SQ_SUP_RUNNING || sq_pool_idle(s) == 0) {
        return next;
    }
    for (struct sq_held *h = s->wait_head; h != NULL; h = h->next) {
        struct sq_rl_entry *e = entry_of(k, s->o->registry, h->name, false);
        int64_t at;
        if (e == NULL || !e->limited) {
            continue; /* the dispatch gave it a child if one was idle */
        }
        at = (e->next_us + 999) / 1000;
        if (at < next) {
            next = at > now ? at : now;
        }
    }
    return next;
}

int
sq_sup_rl_set(struct sq_sup *s, const char *task, const char *rate,
              char *msg, size_t cap)
{
    struct sq_ratelimits *k = s->rl;
    struct sq_rl_entry *e;
    struct sq_rate r;
    syncq_error err;
    bool none = strcmp(rate, "0") == 0 || rate[0] == '\0';

    if (!none && sq_rate_parse(rate, &r, &err) != SYNCQ_OK) {
        snprintf(msg, cap, "%s", err.msg);
        return -1;
    }
    e = entry_of(k, s->o->registry, task, true);
    if (e == NULL) {
        snprintf(msg, cap, "at most %d task rate limits", MAX_NAMES);
        return -1;
    }
    entry_set(k, e, none ? NULL : &r, none ? "" : rate);
    e->next_us = 0;
    if (none) {
        snprintf(msg, cap, "%s: no rate limit", task);
    } else {
        snprintf(msg, cap, "%s: rate limit %s (one start every %.3f s)",
                 task, rate, (double)e->step_us / 1e6);
    }
    SQ_INFO("worker.rate_limit", "task=%s rate=\"%s\"", task,
            none ? "none" : rate);
    return 0;
}

json_t *
sq_sup_rl_json(struct sq_sup *s)
{
    json_t *o = json_object();
    struct sq_ratelimits *k = s->rl;

    for (size_t i = 0; k != NULL && i < k->n; i++) {
        if (k->e[i].limited) {
            json_object_set_new(o, k->e[i].task,
                                json_string(k->e[i].text));
        }
    }
    return o;
}
