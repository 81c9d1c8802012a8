/* SPDX-License-Identifier: MIT
 *
 * worker_control.c: the worker's side of remote control
 * (broker/broker_control.h). Once a second, when no round is in flight,
 * the supervisor reads its command list and the paused-queue set, applies
 * the commands and acknowledges each one ({ns}:ctlack:<id>). Commands:
 * grow or shrink the pool (children are added at once; a shrink retires
 * idle children first and lets busy ones finish their task), start or
 * stop consuming a queue, change a task's time limits (running tasks of
 * that name get the new deadlines, counted from their start) or its rate
 * limit (worker_ratelimit.c), warm shutdown. Paused queues are left out of the lease call
 * (sq_sup_lease_queues), so a worker stops leasing from a queue within a
 * second of its pause. Also claims the worker's stable name at start
 * and keeps the claim alive (sq_sup_claim_name).
 */
#include "worker/worker_sup.h"
#include "broker/broker_control.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS 1000
#define MAX_LIMITS 32
#define MAX_PAUSED 64

struct sq_limit_override {
    char task[201];
    bool has_soft, has_hard;
    int64_t soft_ms, hard_ms; /* 0: none */
};

struct sq_control {
    int64_t next_poll;                             /* monotonic ms */
    char added[SQ_WORKER_MAX_QUEUES][101];         /* add_consumer */
    size_t nadded;
    bool cancelled[SQ_WORKER_MAX_QUEUES];          /* of o->queues */
    char paused[MAX_PAUSED][101];                  /* as last read */
    size_t npaused;
    struct sq_limit_override lim[MAX_LIMITS];
    size_t nlim;
    int target;                                    /* pool size wanted */
    bool shutdown;                                 /* asked to stop */
    int64_t claim_ttl_ms;                          /* 0: no name claim */
};

int
sq_sup_control_init(struct sq_sup *s)
{
    s->ctl = sq_calloc(1, sizeof *s->ctl);
    if (s->ctl == NULL) {
        return -1;
    }
    s->ctl->target = s->nch;
    return sq_sup_rl_init(s);
}

void
sq_sup_control_free(struct sq_sup *s)
{
    sq_free(s->ctl);
    s->ctl = NULL;
    sq_sup_rl_free(s);
}

bool
sq_sup_control_shutdown(const struct sq_sup *s)
{
    return s->ctl != NULL && s->ctl->shutdown;
}

int
sq_sup_pool_target(const struct sq_sup *s)
{
    return s->ctl != NULL ? s->ctl->target : s->nch;
}

static bool
is_paused(const struct sq_control *k, const char *q)
{
    for (size_t i = 0; i < k->npaused; i++) {
        if (strcmp(k->paused[i], q) == 0) {
            return true;
        }
    }
    return false;
}

size_t
sq_sup_consumed_queues(const struct sq_sup *s, const char **qs)
{
    const struct sq_control *k = s->ctl;
    size_t n = 0;

    for (size_t i = 0; i < s->o->nqueues; i++) {
        if (k == NULL || !k->cancelled[i]) {
            qs[n++] = s->o->queues[i];
        }
    }
    for (size_t i = 0; k != NULL && i < k->nadded &&
                       n < SQ_WORKER_MAX_QUEUES;
         i++) {
        qs[n++] = k->added[i];
    }
    return n;
}

size_t
sq_sup_lease_queues(const struct sq_sup *s, const char **qs)
{
    const char *all[SQ_WORKER_MAX_QUEUES];
    size_t n = sq_sup_consumed_queues(s, all), m = 0;

    for (size_t i = 0; i < n; i++) {
        if (s->ctl == NULL || !is_paused(s->ctl, all[i])) {
            qs[m++] = all[i];
        }
    }
    return m;
}

/* ---- the pool ---------------------------------------------------------- */

static int
pool_grow(struct sq_sup *s, int n, char *msg, size_t cap)
{
    int want = s->ctl->target + n;
    struct sq_child *nc;

    if (want > SQ_CTL_POOL_MAX) {
        snprintf(msg, cap, "the pool may hold at most %d children",
                 SQ_CTL_POOL_MAX);
        return -1;
    }
    if (want > s->nch) {
        nc = sq_realloc(s->ch, (size_t)want * sizeof *nc);
        if (nc == NULL) {
            snprintf(msg, cap, "out of memory");
            return -1;
        }
        s->ch = nc;
        for (int i = s->nch; i < want; i++) {
            memset(&s->ch[i], 0, sizeof s->ch[i]);
            s->ch[i].to_fd = -1;
            s->ch[i].from_fd = -1;
            s->ch[i].respawn_backoff_ms = 1000;
        }
        s->nch = want;
    }
    /* slots being retired by an earlier shrink are wanted again */
    for (int i = 0; i < want; i++) {
        if (s->ch[i].state == SQ_CH_EMPTY && s->ch[i].pid == 0) {
            s->ch[i].respawn_at = 0;
        }
    }
    s->ctl->target = want;
    snprintf(msg, cap, "pool grows to %d", want);
    return 0;
}

static int
pool_shrink(struct sq_sup *s, int n, char *msg, size_t cap)
{
    if (s->ctl->target - n < 1) {
        snprintf(msg, cap, "the pool has %d children: it cannot shrink by "
                 "%d (at least 1 stays)", s->ctl->target, n);
        return -1;
    }
    s->ctl->target -= n;
    snprintf(msg, cap, "pool shrinks to %d", s->ctl->target);
    return 0;
}

static void
swap_slots(struct sq_sup *s, int a, int b)
{
    struct sq_child t = s->ch[a];

    s->ch[a] = s->ch[b];
    s->ch[b] = t;
}

/* Retire the slots past the target: idle children are closed (they exit
 * and are reaped), busy ones trade places with an idle or empty slot of
 * the kept part or finish their task first; empty slots are dropped. */
static void
shrink_step(struct sq_sup *s)
{
    int target = s->ctl->target;

    for (int k = s->nch - 1; k >= target; k--) {
        struct sq_child *c = &s->ch[k];
        if (c->state == SQ_CH_BUSY) {
            for (int j = 0; j < target; j++) {
                if (s->ch[j].state == SQ_CH_IDLE ||
                    s->ch[j].state == SQ_CH_STARTING ||
                    (s->ch[j].state == SQ_CH_EMPTY && s->ch[j].pid == 0)) {
                    swap_slots(s, j, k);
                    break;
                }
            }
        }
        if (c->state == SQ_CH_IDLE || c->state == SQ_CH_STARTING) {
            sq_pool_close_child(s, c);
        }
        if (c->state == SQ_CH_EMPTY && c->pid == 0) {
            c->respawn_at = INT64_MAX; /* never respawned */
        }
    }
    while (s->nch > target && s->ch[s->nch - 1].pid == 0 &&
           s->ch[s->nch - 1].state == SQ_CH_EMPTY) {
        s->nch--;
    }
}

/* ---- time limits ------------------------------------------------------- */

static struct sq_limit_override *
limit_of(struct sq_control *k, const char *task, bool create)
{
    for (size_t i = 0; i < k->nlim; i++) {
        if (strcmp(k->lim[i].task, task) == 0) {
            return &k->lim[i];
        }
    }
    if (!create || k->nlim == MAX_LIMITS) {
        return NULL;
    }
    memset(&k->lim[k->nlim], 0, sizeof k->lim[0]);
    snprintf(k->lim[k->nlim].task, sizeof k->lim[0].task, "%s", task);
    return &k->lim[k->nlim++];
}

/* Give running and waiting tasks of overridden names their limits. */
static void
apply_limits(struct sq_sup *s)
{
    struct sq_control *k = s->ctl;

    if (k->nlim == 0) {
        return;
    }
    for (struct sq_held *h = s->wait_head; h != NULL; h = h->next) {
        const struct sq_limit_override *l = limit_of(k, h->name, false);
        if (l != NULL && l->has_soft) {
            h->soft_limit_ms = l->soft_ms;
        }
        if (l != NULL && l->has_hard) {
            h->time_limit_ms = l->hard_ms;
        }
    }
    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        const struct sq_limit_override *l;
        if (c->state != SQ_CH_BUSY || c->task == NULL) {
            continue;
        }
        l = limit_of(k, c->task->name, false);
        if (l == NULL) {
            continue;
        }
        if (l->has_soft && !c->soft_sent) {
            c->soft_at = l->soft_ms > 0 ? c->task_start_ms + l->soft_ms : 0;
        }
        if (l->has_hard) {
            c->hard_at = l->hard_ms > 0 ? c->task_start_ms + l->hard_ms : 0;
        }
    }
}

/* ---- commands ---------------------------------------------------------- */

/* index of q in o->queues, or -1 */
static int
own_queue(const struct sq_sup *s, const char *q)
{
    for (size_t i = 0; i < s->o->nqueues; i++) {
        if (strcmp(s->o->queues[i], q) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int
consumer(struct sq_sup *s, const char *q, bool add, char *msg, size_t cap)
{
    struct sq_control *k = s->ctl;
    int own = own_queue(s, q);

    for (size_t i = 0; i < k->nadded; i++) {
        if (strcmp(k->added[i], q) == 0) {
            if (add) {
                snprintf(msg, cap, "already consuming from %s", q);
                return 0;
            }
            memmove(k->added[i], k->added[i + 1],
                    (k->nadded - i - 1) * sizeof k->added[0]);
            k->nadded--;
            snprintf(msg, cap, "no longer consuming from %s", q);
            return 0;
        }
    }
    if (own >= 0) {
        k->cancelled[own] = !add;
        snprintf(msg, cap, "%s %s", add ? "consuming from" : "no longer "
                 "consuming from", q);
        return 0;
    }
    if (!add) {
        snprintf(msg, cap, "not consuming from %s", q);
        return -1;
    }
    if (s->o->nqueues + k->nadded >= SQ_WORKER_MAX_QUEUES) {
        snprintf(msg, cap, "at most %d queues", SQ_WORKER_MAX_QUEUES);
        return -1;
    }
    snprintf(k->added[k->nadded++], sizeof k->added[0], "%s", q);
    snprintf(msg, cap, "consuming from %s", q);
    return 0;
}

static int
time_limit(struct sq_sup *s, const json_t *cmd, char *msg, size_t cap)
{
    const char *task = json_string_value(json_object_get(cmd, "task"));
    const json_t *soft = json_object_get(cmd, "soft_s");
    const json_t *hard = json_object_get(cmd, "hard_s");
    struct sq_limit_override *l = limit_of(s->ctl, task, true);

    if (l == NULL) {
        snprintf(msg, cap, "at most %d task limits may be changed",
                 MAX_LIMITS);
        return -1;
    }
    if (soft != NULL) {
        l->has_soft = true;
        l->soft_ms = json_integer_value(soft) * 1000;
    }
    if (hard != NULL) {
        l->has_hard = true;
        l->hard_ms = json_integer_value(hard) * 1000;
    }
    apply_limits(s);
    snprintf(msg, cap, "%s: soft %llds, hard %llds (0: none)", task,
             (long long)(l->has_soft ? l->soft_ms / 1000 : -1),
             (long long)(l->has_hard ? l->hard_ms / 1000 : -1));
    return 0;
}

/* Apply one command; msg gets what happened. */
static bool
apply(struct sq_sup *s, const json_t *cmd, char *msg, size_t cap)
{
    const char *name = json_string_value(json_object_get(cmd, "command"));
    int n = (int)json_integer_value(json_object_get(cmd, "n"));
    const char *q = json_string_value(json_object_get(cmd, "queue"));
    syncq_error e;

    if (sq_ctl_check(cmd, &e) != SYNCQ_OK) {
        snprintf(msg, cap, "%s", e.msg);
        return false;
    }
    if (strcmp(name, "ping") == 0) {
        snprintf(msg, cap, "pong");
        return true;
    }
    if (strcmp(name, "pool_grow") == 0) {
        return pool_grow(s, n, msg, cap) == 0;
    }
    if (strcmp(name, "pool_shrink") == 0) {
        return pool_shrink(s, n, msg, cap) == 0;
    }
    if (strcmp(name, "add_consumer") == 0 ||
        strcmp(name, "cancel_consumer") == 0) {
        return consumer(s, q, name[0] == 'a', msg, cap) == 0;
    }
    if (strcmp(name, "time_limit") == 0) {
        return time_limit(s, cmd, msg, cap) == 0;
    }
    if (strcmp(name, "rate_limit") == 0) {
        return sq_sup_rl_set(s, json_string_value(json_object_get(cmd, "task")),
                             json_string_value(json_object_get(cmd, "rate")),
                             msg, cap) == 0;
    }
    s->ctl->shutdown = true; /* "shutdown": warm, as SIGTERM */
    snprintf(msg, cap, "warm shutdown started");
    return true;
}

static void
ack(struct sq_sup *s, const json_t *cmd, bool ok, const char *msg)
{
    const char *id = json_string_value(json_object_get(cmd, "id"));
    const char *qs[SQ_WORKER_MAX_QUEUES];
    size_t nq = sq_sup_consumed_queues(s, qs);
    json_t *a, *qa = json_array();
    char key[200], at[40], *text;
    redisReply *r = NULL;

    if (id == NULL || strlen(id) > 64) {
        json_decref(qa);
        return;
    }
    for (size_t i = 0; i < nq; i++) {
        json_array_append_new(qa, json_string(qs[i]));
    }
    a = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:i,s:o,s:o}", "id", id, "worker",
                  s->o->worker_id, "command",
                  json_string_value(json_object_get(cmd, "command"))
                      ? json_string_value(json_object_get(cmd, "command"))
                      : "?",
                  "ok", ok, "message", msg, "at",
                  sq_time_format_iso8601_ms(sq_now_ms(), at, sizeof at),
                  "concurrency", s->ctl->target, "queues", qa,
                  "rate_limits", sq_sup_rl_json(s));
    text = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    if (text != NULL &&
        sq_client_cmd(s->bc, &r, NULL, "SET %s %s EX 600",
                      sq_key(s->bc, key, sizeof key, "ctlack:%s", id),
                      text) == SYNCQ_OK) {
        freeReplyObject(r);
    }
    free(text); /* jansson's allocator */
}

/* Read the paused set into s->ctl (logged when it changes). */
static void
read_paused(struct sq_sup *s)
{
    char key[200];
    redisReply *r = NULL;
    struct sq_control *k = s->ctl;
    size_t n = 0;
    bool changed;

    if (sq_client_cmd(s->bc, &r, NULL, "SMEMBERS %s",
                      sq_key(s->bc, key, sizeof key, "paused")) != SYNCQ_OK) {
        return;
    }
    changed = r->elements != k->npaused;
    for (size_t i = 0; i < r->elements && n < MAX_PAUSED; i++) {
        if (r->element[i]->str == NULL || r->element[i]->len > 100) {
            continue;
        }
        changed = changed || !is_paused(k, r->element[i]->str);
        snprintf(k->paused[n++], sizeof k->paused[0], "%s",
                 r->element[i]->str);
    }
    k->npaused = n;
    freeReplyObject(r);
    if (changed) {
        SQ_INFO("worker.paused_queues", "count=%zu", n);
        /* a lease waiting behind the BRPOP names the old set: a paused
         * queue must not be leased from, a resumed one may hold work */
        sq_sup_wake_disarm(s, "paused queues changed");
        s->need_lease = true;
    }
}

static void
poll_commands(struct sq_sup *s)
{
    char key[400];

    sq_key(s->bc, key, sizeof key, "wctl:%s", s->o->worker_id);
    for (int i = 0; i < 8; i++) {
        redisReply *r = NULL;
        json_t *cmd;
        char msg[256];
        bool ok;
        if (sq_client_cmd(s->bc, &r, NULL, "RPOP %s", key) != SYNCQ_OK) {
            return;
        }
        if (r->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            return;
        }
        cmd = json_loadb(r->str, r->len, 0, NULL);
        freeReplyObject(r);
        ok = cmd != NULL && apply(s, cmd, msg, sizeof msg);
        if (ok) {
            /* queues or pool size changed: so did what a lease waiting
             * behind the BRPOP was sized and aimed by */
            sq_sup_wake_disarm(s, "control command");
        }
        if (cmd == NULL) {
            SQ_WARN("worker.control_bad", "%s", "err=\"not JSON\"");
            continue;
        }
        SQ_INFO("worker.control", "command=%s by=%s ok=%d message=\"%s\"",
                json_string_value(json_object_get(cmd, "command"))
                    ? json_string_value(json_object_get(cmd, "command"))
                    : "?",
                json_string_value(json_object_get(cmd, "by"))
                    ? json_string_value(json_object_get(cmd, "by"))
                    : "?",
                ok, msg);
        ack(s, cmd, ok, msg);
        json_decref(cmd);
    }
}

/* Keep the worker's name claimed (sq_ctl_renew_name): lost while Redis
 * was away, it is claimed again; taken by another process meanwhile,
 * that is said once and the claim let go. */
static void
renew_name(struct sq_sup *s)
{
    bool held = true;

    if (s->ctl->claim_ttl_ms <= 0 ||
        sq_ctl_renew_name(s->bc, s->o->worker_id, s->o->hostname,
                          (int)getpid(), s->ctl->claim_ttl_ms, &held,
                          NULL) != SYNCQ_OK ||
        held) {
        return;
    }
    SQ_WARN("worker.name_in_use", "worker=%s hint=\"another process took "
            "this name while this worker's claim was lost: their figures "
            "mix; give each a name of its own (-n, %%i)\"",
            s->o->worker_id);
    s->ctl->claim_ttl_ms = 0;
}

void
sq_sup_control_tick(struct sq_sup *s, int64_t now)
{
    if (s->ctl == NULL) {
        return;
    }
    if (s->ctl->target < s->nch) {
        shrink_step(s);
    }
    /* commands go on the main connection: never with a round in flight
     * (the blocking wait has a connection of its own) */
    if (now < s->ctl->next_poll || !s->broker_up || s->round.active ||
        s->state != SQ_SUP_RUNNING) {
        return;
    }
    s->ctl->next_poll = now + POLL_MS;
    read_paused(s);
    poll_commands(s);
    apply_limits(s);
    renew_name(s);
}

int
sq_sup_claim_name(struct sq_sup *s, struct sq_worker_opts *o,
                  syncq_error *err)
{
    int64_t ttl = o->heartbeat_ms * 3 > 30000 ? o->heartbeat_ms * 3 : 30000;
    bool has_index = strstr(o->name_pattern, "%i") != NULL;
    bool claimed = false;
    int rc;

    for (int i = 1; i <= 1000; i++) {
        rc = sq_ctl_name_expand(o->name_pattern, o->hostname, i,
                                o->worker_id, sizeof o->worker_id, err);
        if (rc == SYNCQ_OK) {
            rc = sq_ctl_claim_name(s->bc, o->worker_id, o->hostname,
                                   (int)getpid(), ttl, &claimed, err);
        }
        if (rc != SYNCQ_OK || claimed || !has_index) {
            break;
        }
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (!claimed) {
        SQ_WARN("worker.name_in_use", "worker=%s hint=\"another running "
                "worker has this name: their figures mix; give each a "
                "name of its own (-n, %%i)\"", o->worker_id);
    }
    s->ctl->claim_ttl_ms = claimed ? ttl : 0;
    return SYNCQ_OK;
}

void
sq_sup_release_name(struct sq_sup *s)
{
    redisReply *r = NULL;
    char key[400];

    if (s->ctl == NULL || s->ctl->claim_ttl_ms == 0 || !s->broker_up) {
        return;
    }
    if (sq_client_cmd(s->bc, &r, NULL, "DEL %s",
                      sq_key(s->bc, key, sizeof key, "wname:%s",
                             s->o->worker_id)) == SYNCQ_OK) {
        freeReplyObject(r);
    }
}
