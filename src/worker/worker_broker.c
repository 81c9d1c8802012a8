/* SPDX-License-Identifier: MIT
 *
 * worker_broker.c: the supervisor's side of the broker. Outcomes are
 * queued as settle ops and sent in one pipelined round trip together
 * with the next lease (worker_round.c, through the broker's lease/settle
 * codec); on a connection error they stay queued and are resent after
 * the reconnect (an op already recorded answers "already", so resending
 * is safe). The heartbeat renews
 * every held lease (running and prefetched: C05) and brings cancels; an
 * idle supervisor waits for work with BRPOP on the queues' wake lists on
 * a second connection, polled by the event loop, so enqueue-to-start
 * stays sub-millisecond and delayed tasks are promoted on time.
 */
#include "worker/worker_sup.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "worker/worker_ctx.h"
#include "worker/worker_frame.h"
#include "broker/broker_io.h"
#include "sq_utf8.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Settle ops per script call (keeps one call's Lua run short). */
#define OPS_PER_CALL 512
/* How long an outcome may wait for others to share its round trip. */
#define COALESCE_US 300

void
sq_held_free(struct sq_held *h)
{
    if (h == NULL) {
        return;
    }
    sq_free(h->policy);
    sq_buf_cleanup(&h->frame);
    sq_free(h);
}

/* ---- settle ops ------------------------------------------------------ */

/* An outcome of a run folds the task's start op into itself when that
 * start has not been sent yet: settle.lua records the start time of a
 * task it finds still RECEIVED from the outcome (one op, not two, for a
 * prefetched task that starts and ends within one round). The ops at the
 * front that are in flight are left alone. */
static void
fold_start(struct sq_sup *s, const struct sq_held *h)
{
    size_t sent = s->round.active && !s->round.settle_done ? s->round.nops
                                                           : 0;

    for (size_t i = s->nops; i > sent; i--) {
        struct sq_pend_op *op = &s->ops[i - 1];
        if (op->kind == SQ_SETTLE_START && strcmp(op->id, h->id) == 0 &&
            strcmp(op->token, h->token) == 0) {
            memmove(op, op + 1, (s->nops - i) * sizeof *op);
            s->nops--;
            return;
        }
    }
}

/* new_op and take_leased copy ids and tokens whole */
_Static_assert(sizeof(((struct sq_pend_op *)0)->id) ==
                   sizeof(((struct sq_held *)0)->id) &&
               sizeof(((struct sq_pend_op *)0)->token) ==
                   sizeof(((struct sq_held *)0)->token) &&
               sizeof(((struct sq_leased *)0)->id) ==
                   sizeof(((struct sq_held *)0)->id) &&
               sizeof(((struct sq_leased *)0)->token) ==
                   sizeof(((struct sq_held *)0)->token),
               "id and token buffers differ in size");

static struct sq_pend_op *
new_op(struct sq_sup *s, enum sq_settle_kind kind, const struct sq_held *h)
{
    struct sq_pend_op *op;

    if (kind == SQ_SETTLE_OK || kind == SQ_SETTLE_FAIL ||
        kind == SQ_SETTLE_RETRY || kind == SQ_SETTLE_DEFER) {
        fold_start(s, h);
    }

    if (s->nops == s->capops) {
        size_t cap = s->capops ? s->capops * 2 : 64;
        struct sq_pend_op *n = sq_realloc(s->ops, cap * sizeof *n);
        if (n == NULL) {
            /* The lease lapses and the task is redelivered: at-least-once
             * holds even when the outcome cannot be kept. */
            SQ_ERROR("worker.oom", "what=\"settle op\" task_id=%s", h->id);
            return NULL;
        }
        s->ops = n;
        s->capops = cap;
    }
    if (s->nops == 0) {
        s->first_op_us = sq_mono_us();
    }
    op = &s->ops[s->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    /* the same sizes, NUL-terminated: copied whole (snprintf here cost
     * ~1,000 instructions a task) */
    memcpy(op->id, h->id, sizeof op->id);
    memcpy(op->token, h->token, sizeof op->token);
    op->plain = h->plain;
    return op;
}

void
sq_sup_op_ok(struct sq_sup *s, const struct sq_held *h, const char *result,
             size_t len, int64_t runtime_ms)
{
    struct sq_pend_op *op = new_op(s, SQ_SETTLE_OK, h);

    if (op == NULL) {
        return;
    }
    op->result = sq_strndup(result != NULL ? result : "", len);
    op->runtime_ms = runtime_ms;
}

void
sq_sup_op_fail(struct sq_sup *s, const struct sq_held *h,
               enum sq_settle_kind kind, const char *cls, const char *msg,
               int64_t runtime_ms, int64_t delay_ms, bool dead)
{
    struct sq_pend_op *op = new_op(s, kind, h);

    if (op == NULL) {
        return;
    }
    snprintf(op->err_class, sizeof op->err_class, "%s",
             cls != NULL && cls[0] != '\0' ? cls : "internal");
    op->msg = sq_strdup(msg != NULL ? msg : "");
    op->runtime_ms = runtime_ms;
    op->delay_ms = delay_ms;
    op->dead = dead;
}

void
sq_sup_op_requeue(struct sq_sup *s, const struct sq_held *h,
                  const char *reason)
{
    struct sq_pend_op *op = new_op(s, SQ_SETTLE_REQUEUE, h);

    if (op != NULL) {
        op->reason = reason;
    }
}

void
sq_sup_op_start(struct sq_sup *s, const struct sq_held *h)
{
    new_op(s, SQ_SETTLE_START, h);
}

void
sq_sup_op_revoked(struct sq_sup *s, const struct sq_held *h, const char *msg,
                  int64_t runtime_ms)
{
    struct sq_pend_op *op = new_op(s, SQ_SETTLE_REVOKED, h);

    if (op != NULL) {
        op->msg = sq_strdup(msg);
        op->runtime_ms = runtime_ms;
    }
}

void
sq_sup_fail_by_policy(struct sq_sup *s, const struct sq_held *h, int cls,
                      const char *msg, int64_t runtime_ms)
{
    struct sq_outcome oc;

    sq_outcome_for_failure(s->o->cfg, h->def, h->policy, h->max_retries,
                           h->retries, cls, msg, 0, &oc);
    sq_sup_op_fail(s, h, oc.kind == SQ_OUT_RETRY ? SQ_SETTLE_RETRY
                                                  : SQ_SETTLE_FAIL,
                   oc.err_class, oc.err_msg, runtime_ms, oc.delay_ms,
                   oc.dead);
    sq_outcome_cleanup(&oc);
}

/* ---- held tasks ------------------------------------------------------ */

bool
sq_sup_unwait(struct sq_sup *s, struct sq_held *h)
{
    struct sq_held **pp = &s->wait_head;
    struct sq_held *prev = NULL;

    while (*pp != NULL && *pp != h) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL) {
        return false;
    }
    *pp = h->next;
    if (s->wait_tail == h) {
        s->wait_tail = prev;
    }
    h->next = NULL;
    s->nwait--;
    return true;
}

struct sq_held *
sq_sup_pop_wait(struct sq_sup *s)
{
    struct sq_held *h = s->wait_head;

    if (h != NULL) {
        s->wait_head = h->next;
        if (s->wait_head == NULL) {
            s->wait_tail = NULL;
        }
        h->next = NULL;
        s->nwait--;
    }
    return h;
}

static void
push_wait(struct sq_sup *s, struct sq_held *h)
{
    h->next = NULL;
    if (s->wait_tail != NULL) {
        s->wait_tail->next = h;
    } else {
        s->wait_head = h;
    }
    s->wait_tail = h;
    s->nwait++;
}

static struct sq_held *
find_waiting(struct sq_sup *s, const char *id)
{
    for (struct sq_held *h = s->wait_head; h != NULL; h = h->next) {
        if (strcmp(h->id, id) == 0) {
            return h;
        }
    }
    return NULL;
}

/* A leased record's retry policy as compact JSON, like the JSON record
 * gives it: absent, not JSON or not a JSON object (enqueue refuses those;
 * only a hand-written record has them) -> no policy (*bad false); *bad
 * true when it parsed but cannot be written back (out of memory). */
static char *
leased_policy(const struct sq_text *t, bool *bad)
{
    json_error_t jerr;
    json_t *v;
    char *out;

    *bad = false;
    if (t->p == NULL) {
        return NULL;
    }
    v = json_loadb(t->p, t->n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (v == NULL) {
        return NULL; /* stored as text the record shows as *_raw */
    }
    if (!json_is_object(v)) {
        /* null, a number...: json_dumps would refuse it, which read as
         * out of memory and handed the task back, again and again */
        json_decref(v);
        return NULL;
    }
    out = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    *bad = out == NULL;
    return out;
}

/* Add a text field of the leased record to the frame unless absent or
 * empty. */
static int
frame_text(struct sq_buf *b, int tag, const struct sq_text *t)
{
    return t->p != NULL && t->n > 0 ? sq_frame_add(b, tag, t->p, t->n) : 0;
}

/* The child's TASK frame of held task `h`. Arguments go as stored (the
 * child parses them once; text that is not JSON fails there, as a
 * validation error under the task's retry policy); absent ones are left
 * out (the child takes [] and {}). */
static int
task_frame(struct sq_held *h, const struct sq_leased_view *v)
{
    struct sq_buf *b = &h->frame;
    size_t start;
    int bad = 0;

    sq_buf_init(b, 0);
    /* one allocation, not three growing ones (64, 128, 256 bytes): the
     * texts, ten field headers and three numbers */
    sq_buf_reserve(b, 5 + 10 * 5 + 3 * 20 + strlen(h->id) +
                          strlen(h->token) + strlen(h->name) +
                          strlen(h->queue) + v->args.n + v->kwargs.n +
                          (h->policy != NULL ? strlen(h->policy) : 0) +
                          v->batch.n + v->root.n);
    start = sq_frame_begin(b, SQ_FRAME_TASK);
    bad |= sq_frame_adds(b, SQ_F_ID, h->id);
    bad |= sq_frame_adds(b, SQ_F_TOKEN, h->token);
    bad |= sq_frame_adds(b, SQ_F_NAME, h->name);
    bad |= sq_frame_adds(b, SQ_F_QUEUE, h->queue);
    if (v->args.p != NULL) {
        bad |= sq_frame_add(b, SQ_F_ARGS, v->args.p, v->args.n);
    }
    if (v->kwargs.p != NULL) {
        bad |= sq_frame_add(b, SQ_F_KWARGS, v->kwargs.p, v->kwargs.n);
    }
    bad |= sq_frame_addll(b, SQ_F_ATTEMPT, h->attempt);
    bad |= sq_frame_addll(b, SQ_F_RETRIES, h->retries);
    bad |= sq_frame_addll(b, SQ_F_MAXR, h->max_retries);
    if (h->policy != NULL) {
        bad |= sq_frame_adds(b, SQ_F_POLICY, h->policy);
    }
    bad |= frame_text(b, SQ_F_BATCH, &v->batch);
    bad |= frame_text(b, SQ_F_ROOT, &v->root);
    bad |= sq_frame_end(b, start);
    return bad;
}

/* A leased task becomes held: resolved limits, the child's frame. Tasks
 * this worker cannot run are settled here and never reach a child. */
static void
take_leased(struct sq_sup *s, struct sq_leased *L, bool started)
{
    const struct sq_worker_opts *o = s->o;
    const struct sq_leased_view *v = &L->v;
    struct sq_held *h = sq_calloc(1, sizeof *h);
    bool pol_bad = false;

    if (h == NULL) {
        SQ_ERROR("worker.oom", "what=\"leased task\" task_id=%s", L->id);
        return; /* the lease lapses; the task comes back */
    }
    memcpy(h->id, L->id, sizeof h->id);
    memcpy(h->token, L->token, sizeof h->token);
    sq_utf8_sanitize(v->name.p, v->name.n, h->name, sizeof h->name);
    sq_utf8_sanitize(v->queue.p, v->queue.n, h->queue, sizeof h->queue);
    h->def = syncq_registry_find(o->registry, h->name);
    h->retries = (int)v->retries;
    h->attempt = (int)v->attempt;
    h->started = started;
    h->plain = L->plain;
    h->policy = leased_policy(&v->policy, &pol_bad);
    {
        /* the record's settings, then the definition's, then this
         * worker's configuration */
        struct sq_task_settings given, conf, eff;
        sq_task_settings_init(&given);
        sq_task_settings_init(&conf);
        given.max_retries = (int)v->max_retries;
        given.time_limit_ms = v->time_limit_ms;
        given.soft_time_limit_ms = v->soft_time_limit_ms;
        conf.time_limit_ms = o->time_limit_ms;
        conf.soft_time_limit_ms = o->soft_time_limit_ms;
        sq_task_resolve(h->def, &given, &conf, &eff);
        h->max_retries = eff.max_retries;
        h->time_limit_ms = eff.time_limit_ms;
        h->soft_limit_ms = eff.soft_time_limit_ms;
    }
    s->nheld++;
    if (s->state != SQ_SUP_RUNNING) {
        /* The round was sent before a shutdown began: hand it back now
         * rather than let the lease lapse (which would count as lost). */
        sq_sup_op_requeue(s, h, "shutdown");
        s->tasks_requeued++;
        s->nheld--;
        sq_held_free(h);
        return;
    }
    if (h->def == NULL) {
        char msg[300];
        snprintf(msg, sizeof msg, "task %s is not registered in worker %s "
                 "(load its plugin with --plugin)", h->name, o->worker_id);
        SQ_WARN("task.not_registered", "task_id=%s task=%s", h->id,
                h->name);
        sq_sup_fail_by_policy(s, h, SYNCQ_ERR_NOT_REGISTERED, msg, 0);
        s->tasks_failed++;
        s->nheld--;
        sq_held_free(h);
        return;
    }
    if (task_frame(h, v) != 0 || pol_bad) {
        SQ_ERROR("worker.oom", "what=\"task frame\" task_id=%s", h->id);
        sq_sup_op_requeue(s, h, "shutdown");
        s->nheld--;
        sq_held_free(h);
        return;
    }
    push_wait(s, h);
}

/* ---- the broker round: settle + lease -------------------------------- */

bool
sq_sup_broker_ok(struct sq_sup *s)
{
    syncq_error err;
    bool was = s->broker_up;

    if (sq_client_ensure(s->bc, false, NULL, &err) != SYNCQ_OK) {
        s->broker_up = false;
        return false;
    }
    s->broker_up = true;
    if (!was) {
        /* Back after an outage: renew leases before anything else, so a
         * lease call's housekeeping cannot requeue our running tasks. */
        s->hb_now = true;
        s->need_lease = true;
    }
    return true;
}

static void
broker_failed(struct sq_sup *s, int rc, const syncq_error *err,
              const char *what)
{
    char q[300];

    if (rc == SYNCQ_ECONN) {
        s->broker_up = false; /* the client logs broker.down once */
        return;
    }
    SQ_ERROR("worker.broker_error", "op=%s code=%s err=%s", what,
             syncq_code_name(rc), sq_log_quote(err->msg, q, sizeof q));
    s->broker_retry_at = sq_mono_ms() + 1000;
}

/* Control messages (task ids to cancel) from a lease or heartbeat. */
static void
handle_control(struct sq_sup *s, json_t *control)
{
    size_t i;
    json_t *v;

    json_array_foreach(control, i, v) {
        const char *id = json_string_value(v);
        if (id != NULL) {
            sq_sup_cancel(s, id);
        }
    }
}

static void
handle_raws(struct sq_sup *s, json_t *raws)
{
    size_t i;
    json_t *pair;

    json_array_foreach(raws, i, pair) {
        const char *q = json_string_value(json_array_get(pair, 0));
        json_t *b = json_array_get(pair, 1);
        struct sq_pend_raw *r;
        if (q == NULL || !json_is_string(b)) {
            continue;
        }
        if (s->nraws == s->capraws) {
            size_t cap = s->capraws ? s->capraws * 2 : 8;
            struct sq_pend_raw *n = sq_realloc(s->raws, cap * sizeof *n);
            if (n == NULL) {
                SQ_ERROR("worker.oom", "what=\"poison entry\" queue=%s", q);
                continue;
            }
            s->raws = n;
            s->capraws = cap;
        }
        r = &s->raws[s->nraws];
        snprintf(r->queue, sizeof r->queue, "%s", q);
        r->len = json_string_length(b);
        r->bytes = sq_malloc(r->len + 1);
        if (r->bytes == NULL) {
            continue;
        }
        memcpy(r->bytes, json_string_value(b), r->len);
        r->bytes[r->len] = '\0';
        s->nraws++;
    }
}

/* Adopt or dead-letter foreign entries; those that fail for want of the
 * broker stay queued (they are already off their list). */
void
sq_sup_raws_flush(struct sq_sup *s)
{
    size_t kept = 0;

    sq_sup_round_finish(s);

    for (size_t i = 0; i < s->nraws; i++) {
        struct sq_pend_raw *r = &s->raws[i];
        struct sq_raw_task t;
        const char *reason = "bad_envelope";
        enum sq_raw_kind k = sq_raw_classify(r->bytes, r->len,
                                             s->o->registry, &t, &reason);
        syncq_error err;
        int rc;
        if (k == SQ_RAW_ADOPT) {
            syncq_task_options o;
            char id[SYNCQ_ID_SIZE];
            syncq_task_options_init(&o);
            o.queue = r->queue;
            o.task_id = t.id[0] != '\0' ? t.id : NULL;
            rc = syncq_task_create(s->bc, t.name, t.args_json,
                                   t.kwargs_json, &o, id, NULL, &err);
            if (rc == SYNCQ_OK) {
                SQ_INFO("worker.adopted", "queue=%s task=%s task_id=%s",
                        r->queue, t.name, id);
                s->adopted_total++;
            }
            sq_raw_task_cleanup(&t);
            if (rc != SYNCQ_OK && rc != SYNCQ_ECONN) {
                /* not creatable (bad arguments, too big): poison it */
                rc = sq_broker_poison(s->bc, r->queue, r->bytes, r->len,
                                      "bad_envelope", NULL, &err);
                if (rc == SYNCQ_OK) {
                    s->poison_total++;
                }
            }
        } else {
            char pid[SYNCQ_ID_SIZE];
            rc = sq_broker_poison(s->bc, r->queue, r->bytes, r->len, reason,
                                  pid, &err);
            if (rc == SYNCQ_OK) {
                SQ_WARN("worker.poison", "queue=%s reason=%s bytes=%zu "
                        "dead_id=%s", r->queue, reason, r->len, pid);
                s->poison_total++;
            }
        }
        if (rc == SYNCQ_ECONN) {
            s->raws[kept++] = *r;
            continue;
        }
        if (rc != SYNCQ_OK) {
            char q[300];
            SQ_ERROR("worker.poison_failed", "queue=%s err=%s", r->queue,
                     sq_log_quote(err.msg, q, sizeof q));
        }
        sq_free(r->bytes);
    }
    s->nraws = kept;
}

void
sq_sup_take_lease(struct sq_sup *s, struct sq_lease_reply *rep, int start_now,
                  int max_n)
{
    int64_t now = sq_mono_ms();
    int64_t wait = 1000;

    s->next_eta_wall_ms = rep->next_eta_ms;
    for (size_t i = 0; i < rep->n; i++) {
        take_leased(s, &rep->tasks[i], (int)i < start_now);
    }
    s->need_lease = rep->n == (size_t)max_n;
    if (rep->next_eta_ms > 0) {
        int64_t d = rep->next_eta_ms - sq_now_ms();
        if (d < wait) {
            wait = d > 5 ? d : 5;
        }
    }
    s->next_lease_at = now + wait;
    handle_control(s, rep->control);
    handle_raws(s, rep->raws);
    if (s->nraws > 0) {
        s->need_lease = true; /* the list may hold real tasks behind */
    }
}

/* How many of the next `cap` leased tasks start at once (STARTED): as many
 * as idle children no waiting task is promised to; the rest are
 * prefetched (RECEIVED). */
static int
lease_start_now(const struct sq_sup *s, int cap)
{
    int idle = sq_pool_idle(s) - s->nwait;

    return idle > 0 ? (idle < cap ? idle : cap) : 0;
}

void
sq_sup_broker_round(struct sq_sup *s, int64_t now)
{
    size_t n = s->nops < OPS_PER_CALL ? s->nops : OPS_PER_CALL;
    int cap = sq_pool_capacity(s);
    /* a lease sent behind the BRPOP holds the capacity it was sized by */
    bool lease = s->state == SQ_SUP_RUNNING && cap > 0 &&
                 (s->need_lease || n > 0) && !(s->settle_only && n > 0) &&
                 !s->wake_lease.armed;
    int start_now = 0;

    s->defer_until_us = 0;
    if (s->round.active || (n == 0 && !lease)) {
        return;
    }
    if (n > 0 && s->state == SQ_SUP_RUNNING && s->nwait == 0 &&
        n < OPS_PER_CALL) {
        /* Other children are about to finish too (short tasks under
         * load): wait a moment so their outcomes and their next leases
         * share this round trip. An idle worker (nobody else busy) never
         * waits, so start latency at low load is unchanged. */
        int busy = 0;
        for (int i = 0; i < s->nch; i++) {
            busy += s->ch[i].state == SQ_CH_BUSY;
        }
        if (busy > 0 && sq_mono_us() - s->first_op_us < COALESCE_US) {
            s->defer_until_us = s->first_op_us + COALESCE_US;
            return;
        }
    }
    if (now < s->broker_retry_at || !sq_sup_broker_ok(s)) {
        return;
    }
    if (s->hb_now) {
        sq_sup_heartbeat(s, now);
        if (!s->broker_up) {
            return;
        }
    }
    if (lease) {
        start_now = lease_start_now(s, cap);
    }
    sq_sup_round_send(s, n, lease, cap, start_now);
}

bool
sq_sup_flush_ops(struct sq_sup *s)
{
    sq_sup_round_finish(s);
    for (int i = 0; i < 8 && s->nops > 0; i++) {
        size_t before = s->nops;
        sq_sup_broker_round(s, sq_mono_ms());
        sq_sup_round_finish(s);
        if (s->nops == before) {
            break;
        }
    }
    if (s->nraws > 0 && s->broker_up) {
        sq_sup_raws_flush(s);
    }
    return s->nops == 0;
}

/* ---- heartbeat --------------------------------------------------------- */

/* The lease of task `id` is no longer ours. */
static void
lease_lost(struct sq_sup *s, const char *id)
{
    struct sq_held *h = find_waiting(s, id);
    struct sq_child *c;

    SQ_WARN("task.lease_lost", "task_id=%s err=\"lease expired or taken "
            "over; stopping our copy\"", id);
    if (h != NULL) {
        sq_sup_unwait(s, h);
        s->nheld--;
        sq_held_free(h);
        return;
    }
    c = sq_pool_find_task(s, id);
    if (c != NULL && !c->lost) {
        c->lost = true;
        sq_pool_stop_child(s, c, s->o->cancel_grace_ms, SQ_KILL_LOST);
    }
}

void
sq_sup_heartbeat(struct sq_sup *s, int64_t now)
{
    const char **ids, **toks;
    size_t n = 0;
    json_t *lost = NULL, *control = NULL;
    char *info;
    syncq_error err;
    int64_t ttl = s->o->heartbeat_ms * 3;
    int rc;

    if (ttl < s->o->heartbeat_ms + 2000) {
        ttl = s->o->heartbeat_ms + 2000;
    }
    s->next_hb = now + s->o->heartbeat_ms;
    sq_sup_round_finish(s);
    if (!sq_sup_broker_ok(s)) {
        return;
    }
    s->hb_now = false;
    ids = sq_calloc((size_t)s->nheld + 1, sizeof *ids);
    toks = sq_calloc((size_t)s->nheld + 1, sizeof *toks);
    if (ids == NULL || toks == NULL) {
        sq_free(ids);
        sq_free(toks);
        return;
    }
    for (int i = 0; i < s->nch; i++) {
        if (s->ch[i].task != NULL && (int)n < s->nheld) {
            ids[n] = s->ch[i].task->id;
            toks[n++] = s->ch[i].task->token;
        }
    }
    for (struct sq_held *h = s->wait_head; h != NULL && (int)n < s->nheld;
         h = h->next) {
        ids[n] = h->id;
        toks[n++] = h->token;
    }
    info = sq_sup_info_json(s, now);
    rc = sq_broker_extend(s->bc, s->o->worker_id, s->o->lease_ms,
                          info != NULL ? info : "{}", ttl, ids, toks, n,
                          &lost, &control, &err);
    sq_free(info);
    sq_free(ids);
    sq_free(toks);
    if (rc != SYNCQ_OK) {
        broker_failed(s, rc, &err, "heartbeat");
        s->hb_now = true;
        return;
    }
    {
        size_t i;
        json_t *v;
        json_array_foreach(lost, i, v) {
            if (json_string_value(v) != NULL) {
                lease_lost(s, json_string_value(v));
            }
        }
    }
    handle_control(s, control);
    json_decref(lost);
    json_decref(control);
}

void
sq_sup_cancel(struct sq_sup *s, const char *id)
{
    struct sq_held *h = find_waiting(s, id);
    struct sq_child *c;

    if (h != NULL) {
        /* Prefetched, never started: it ends REVOKED without running. */
        sq_sup_unwait(s, h);
        sq_sup_op_revoked(s, h, "cancelled before it started", 0);
        s->tasks_revoked++;
        s->nheld--;
        SQ_INFO("task.revoked", "task_id=%s task=%s stage=prefetched", h->id,
                h->name);
        sq_held_free(h);
        return;
    }
    c = sq_pool_find_task(s, id);
    if (c == NULL) {
        SQ_DEBUG("task.cancel_unknown", "task_id=%s", id);
        return;
    }
    if (c->cancel) {
        return;
    }
    SQ_INFO("task.cancel", "task_id=%s task=%s pid=%d grace_ms=%lld", id,
            c->task->name, (int)c->pid, (long long)s->o->cancel_grace_ms);
    c->cancel = true;
    sq_pool_stop_child(s, c, s->o->cancel_grace_ms, SQ_KILL_CANCEL);
}

/* ---- wake-ups ---------------------------------------------------------- */

/* The wake connection failed or is given up: what was in flight on it is
 * gone (a lease that ran unseen lapses and is requeued, like any lease
 * whose reply was lost); look at the queues through the main round. */
static void
wake_lost(struct sq_sup *s, const char *why)
{
    if (why != NULL) {
        sq_client_drop(s->wake, why);
    }
    s->brpop_out = false;
    s->wake_pending = 0;
    s->wake_lease.armed = false;
    s->need_lease = true;
}

/* An idle worker sends its next lease right behind the BRPOP on the wake
 * connection. Redis runs a client's pipelined commands in order and holds
 * the ones behind a blocked BRPOP until it returns, so the lease runs the
 * moment a wake token (or the BRPOP's timeout) ends the wait, in the same
 * turn of Redis's loop, and both replies come back together: a task
 * enqueued to an idle worker costs one round trip less between the
 * supervisor and Redis before it starts. Only when nothing is held or
 * running and nothing waits to be settled (then the lease's size and
 * start count cannot go stale while it waits), on a plain connection (a
 * cluster's redirects and SYNCQ_BROKER_MIN_REPLICAS' WAIT are the main
 * round's business). */
static bool
wake_lease_ok(const struct sq_sup *s)
{
    return s->state == SQ_SUP_RUNNING && s->nheld == 0 && s->nops == 0 &&
           s->nraws == 0 && !s->round.active && s->broker_up &&
           sq_sup_conn_plain(s->wake);
}

/* Append the lease behind the BRPOP (nothing sent yet). */
static void
wake_lease_append(struct sq_sup *s)
{
    const char *qs[SQ_WORKER_MAX_QUEUES];
    size_t nq = sq_sup_lease_queues(s, qs);
    int cap = sq_pool_capacity(s);
    struct sq_lease_req req = {s->o->worker_id, s->o->lease_ms, cap,
                               lease_start_now(s, cap), qs, nq};
    struct sq_args la;
    syncq_error err;

    if (nq == 0 || cap <= 0) {
        return; /* every queue paused: the plain wait */
    }
    sq_args_init(&la);
    sq_lease_args(&la, &req);
    if (!la.oom &&
        sq_script_append_busy(s->wake, SQ_SCRIPT_LEASE, &la, &err) ==
            SYNCQ_OK) {
        s->wake_pending = 2;
        s->wake_lease.armed = true;
        s->wake_lease.max_n = req.max_n;
        s->wake_lease.start_now = req.start_now;
    }
    sq_args_cleanup(&la);
}

void
sq_sup_wake_arm(struct sq_sup *s, int64_t now)
{
    const char *argv[SQ_WORKER_MAX_QUEUES + 2];
    char keys[SQ_WORKER_MAX_QUEUES][160];
    char tmo[32];
    int64_t wait = s->next_lease_at - now;
    int done = 0;
    syncq_error err;

    if (s->brpop_out || s->wake == NULL) {
        return;
    }
    if (sq_client_ensure(s->wake, false, NULL, &err) != SYNCQ_OK) {
        return;
    }
    if (wait > 1000) {
        wait = 1000;
    }
    if (wait < 10) {
        wait = 10;
    }
    argv[0] = "BRPOP";
    for (size_t i = 0; i < s->o->nqueues; i++) {
        argv[1 + i] = sq_key(s->wake, keys[i], sizeof keys[i], "wake:%s",
                             s->o->queues[i]);
    }
    snprintf(tmo, sizeof tmo, "%.3f", (double)wait / 1000.0);
    argv[1 + s->o->nqueues] = tmo;
    if (sq_conn_append_argv(s->wake, (int)s->o->nqueues + 2, argv,
                               NULL) != REDIS_OK) {
        sq_client_drop(s->wake, "append failed");
        return;
    }
    s->wake_pending = 1;
    s->wake_lease.armed = false;
    if (wake_lease_ok(s)) {
        wake_lease_append(s);
    }
    while (!done) {
        if (sq_conn_buffer_write(s->wake, &done) != REDIS_OK) {
            wake_lost(s, s->wake->rc->errstr);
            return;
        }
    }
    s->brpop_out = true;
}

/* One reply of the wake connection: the BRPOP's (a token or a timeout:
 * either way look at the queues, which the lease behind it, if any, has
 * just done; promotion of due delayed tasks happens in the lease). */
static void
wake_reply(struct sq_sup *s, redisReply *r)
{
    syncq_error err;

    if (--s->wake_pending > 0) {
        return; /* the BRPOP's: the lease's reply follows */
    }
    if (!s->wake_lease.armed) {
        s->need_lease = true; /* a BRPOP alone */
        return;
    }
    s->wake_lease.armed = false;
    if (sq_script_reply_check(s->wake, SQ_SCRIPT_LEASE, r, &err) ==
        SYNCQ_OK) {
        struct sq_lease_reply rep;
        if (sq_lease_parse_view(r, &rep, &err) == SYNCQ_OK) { /* borrows r */
            sq_sup_take_lease(s, &rep, s->wake_lease.start_now,
                              s->wake_lease.max_n);
            sq_lease_reply_cleanup(&rep);
            return;
        }
        sq_lease_reply_cleanup(&rep);
    }
    /* refused (the library gone, say): the main round leases instead,
     * and reports what stays wrong */
    s->need_lease = true;
}

void
sq_sup_wake_readable(struct sq_sup *s)
{
    if (!s->brpop_out || s->wake->rc == NULL) {
        wake_lost(s, NULL);
        return;
    }
    if (sq_conn_buffer_read(s->wake) != REDIS_OK) {
        wake_lost(s, s->wake->rc->errstr);
        return;
    }
    while (s->wake_pending > 0 && s->wake->rc != NULL) {
        void *reply = NULL;
        if (sq_conn_reply_from_reader(s->wake, &reply) != REDIS_OK) {
            wake_lost(s, "bad reply");
            return;
        }
        if (reply == NULL) {
            return; /* partial reply */
        }
        wake_reply(s, reply);
        freeReplyObject(reply);
    }
    s->brpop_out = false;
    s->wake_pending = 0;
}

void
sq_sup_wake_disarm(struct sq_sup *s, const char *why)
{
    int64_t end = sq_mono_ms() + 2000;

    if (!s->brpop_out || !s->wake_lease.armed || s->wake->rc == NULL) {
        return;
    }
    /* Half-close: Redis sees the end of our requests and frees the
     * client. A BRPOP still blocked then never returns and the lease
     * behind it never runs; a lease that already ran wrote its reply
     * before Redis read our end, and it is read here: its tasks are
     * taken as any leased task (handed back when a shutdown began:
     * take_leased). */
    shutdown(s->wake->rc->fd, SHUT_WR);
    while (s->brpop_out && s->wake->rc != NULL) {
        struct pollfd p = {s->wake->rc->fd, POLLIN, 0};
        int64_t left = end - sq_mono_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            break;
        }
        sq_sup_wake_readable(s);
    }
    wake_lost(s, why);
}

void
sq_sup_unregister(struct sq_sup *s)
{
    redisReply *r = NULL;
    char key[400];

    sq_sup_round_finish(s);
    if (!sq_sup_broker_ok(s)) {
        return;
    }
    if (sq_client_cmd(s->bc, &r, NULL, "DEL %s",
                      sq_key(s->bc, key, sizeof key, "w:%s",
                             s->o->worker_id)) == SYNCQ_OK) {
        freeReplyObject(r);
    }
    /* A clean stop leaves the set of workers too: health must not report
     * a worker stopped on purpose as one whose heartbeat went stale. */
    if (sq_client_cmd(s->bc, &r, NULL, "ZREM %s %s",
                      sq_key(s->bc, key, sizeof key, "workers"),
                      s->o->worker_id) == SYNCQ_OK) {
        freeReplyObject(r);
    }
}
