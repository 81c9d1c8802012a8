/* SPDX-License-Identifier: MIT
 *
 * worker_round.c: the supervisor's settle + lease round trip, run
 * asynchronously. The round is the same pair of script calls as
 * sq_broker_settle_lease (settle.lua then lease.lua, pipelined), but the
 * supervisor does not wait for the replies: it sends the round, goes on
 * dispatching prefetched tasks and collecting outcomes while Redis runs
 * the scripts, and reads the replies when the socket is readable. Redis
 * and the children then work at the same time instead of in turn, which
 * is what throughput on a small machine needs. One round is in flight at
 * a time; outcomes finished meanwhile ride on the next one, so batches
 * grow by themselves under load.
 *
 * Synchronous broker calls (heartbeat, poison entries) first finish the
 * round in flight (sq_sup_round_finish) so replies never interleave.
 * Encoding follows settle.lua's and lease.lua's headers; a connection
 * lost mid-round keeps the outcomes queued for the next round.
 */
#include "worker/worker_sup.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "broker/broker_io.h"

#include <stdio.h>
#include <string.h>

int sq_script_reply_check(syncq_client *c, enum sq_script_id id,
                          redisReply *r, syncq_error *err);

static const char *kind_names[] = {"ok", "fail", "retry", "requeue", "start",
                                   "revoked"};

/* One op's arguments, as settle.lua reads them. */
static void
add_op(struct sq_args *a, const struct sq_pend_op *op)
{
    sq_args_add(a, kind_names[op->kind]);
    sq_args_add(a, op->id);
    sq_args_add(a, op->token);
    switch (op->kind) {
    case SQ_SETTLE_OK:
        sq_args_add(a, op->result != NULL ? op->result : "");
        sq_args_addll(a, op->runtime_ms);
        break;
    case SQ_SETTLE_FAIL:
        sq_args_add(a, op->err_class[0] ? op->err_class : "internal");
        sq_args_add(a, op->msg != NULL ? op->msg : "");
        sq_args_addll(a, op->runtime_ms);
        sq_args_add(a, op->dead ? "1" : "0");
        break;
    case SQ_SETTLE_RETRY:
        sq_args_add(a, op->err_class[0] ? op->err_class : "internal");
        sq_args_add(a, op->msg != NULL ? op->msg : "");
        sq_args_addll(a, op->runtime_ms);
        sq_args_addll(a, op->delay_ms);
        break;
    case SQ_SETTLE_REQUEUE:
        sq_args_add(a, op->reason != NULL ? op->reason : "shutdown");
        break;
    case SQ_SETTLE_START:
        break;
    case SQ_SETTLE_REVOKED:
        sq_args_add(a, op->msg != NULL ? op->msg : "cancelled");
        sq_args_addll(a, op->runtime_ms);
        break;
    }
}

/* The lease.lua reply as struct sq_lease_reply (same layout as the
 * broker's own decoder: next_eta, control, raws, then the tasks). */
static int
parse_lease(syncq_client *c, redisReply *r, struct sq_lease_reply *out,
            syncq_error *err)
{
    size_t n;

    memset(out, 0, sizeof *out);
    out->next_eta_ms = -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        return sq_fail(err, SYNCQ_EPROTO, "lease: unexpected reply");
    }
    out->next_eta_ms = r->element[0]->integer;
    out->control = json_array();
    out->raws = json_array();
    if (out->control == NULL || out->raws == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (r->element[1]->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            redisReply *e = r->element[1]->element[i];
            if (e->type == REDIS_REPLY_STRING) {
                json_array_append_new(out->control,
                                      json_stringn_nocheck(e->str, e->len));
            }
        }
    }
    if (r->element[2]->type == REDIS_REPLY_ARRAY) {
        redisReply *rw = r->element[2];
        for (size_t i = 0; i + 1 < rw->elements; i += 2) {
            if (rw->element[i]->type != REDIS_REPLY_STRING ||
                rw->element[i + 1]->type != REDIS_REPLY_STRING) {
                continue;
            }
            json_array_append_new(
                out->raws,
                json_pack("[s#o]", rw->element[i]->str,
                          (int)rw->element[i]->len,
                          json_stringn_nocheck(rw->element[i + 1]->str,
                                               rw->element[i + 1]->len)));
        }
    }
    n = r->elements - 3;
    if (n == 0) {
        return SYNCQ_OK;
    }
    out->tasks = sq_calloc(n, sizeof *out->tasks);
    if (out->tasks == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *t = r->element[3 + i];
        struct sq_leased *L = &out->tasks[out->n];
        if (t->type != REDIS_REPLY_ARRAY || t->elements < 2 ||
            t->element[0]->type != REDIS_REPLY_STRING ||
            t->element[1]->type != REDIS_REPLY_STRING) {
            continue;
        }
        snprintf(L->id, sizeof L->id, "%s", t->element[0]->str);
        snprintf(L->token, sizeof L->token, "%s", t->element[1]->str);
        L->rec = sq_record_to_json(L->id, t->element + 2, t->elements - 2,
                                   c->result_expires_ms);
        if (L->rec == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        out->n++;
    }
    return SYNCQ_OK;
}

/* Drop the first `n` ops (settled, or refused for good). */
static void
ops_consume(struct sq_sup *s, size_t n, const redisReply *statuses)
{
    for (size_t i = 0; i < n; i++) {
        struct sq_pend_op *op = &s->ops[i];
        if (statuses != NULL && i < statuses->elements &&
            statuses->element[i]->type == REDIS_REPLY_STRING) {
            const char *st = statuses->element[i]->str;
            if (strcmp(st, "stale") == 0) {
                SQ_WARN("task.lease_lost", "task_id=%s op=%s err=\"another "
                        "worker holds the task now; outcome not recorded\"",
                        op->id, kind_names[op->kind]);
            } else if (strcmp(st, "gone") == 0) {
                SQ_INFO("task.gone", "task_id=%s op=%s", op->id,
                        kind_names[op->kind]);
            }
        }
        sq_free(op->result);
        sq_free(op->msg);
    }
    memmove(s->ops, s->ops + n, (s->nops - n) * sizeof *s->ops);
    s->nops -= n;
}

static void
round_abort(struct sq_sup *s, int rc, const syncq_error *err)
{
    s->round.active = false;
    s->round.pending = 0;
    if (rc == SYNCQ_ECONN) {
        s->broker_up = false; /* the client logged broker.down */
    } else if (err != NULL) {
        char q[300];
        SQ_ERROR("worker.broker_error", "op=round code=%s err=%s",
                 syncq_code_name(rc), sq_log_quote(err->msg, q, sizeof q));
        s->broker_retry_at = sq_mono_ms() + 1000;
    }
}

void sq_sup_take_lease(struct sq_sup *s, struct sq_lease_reply *rep,
                       int start_now, int max_n);

/* Handle one reply of the round in flight. */
static void
round_reply(struct sq_sup *s, redisReply *r)
{
    syncq_error err;
    int rc;

    if (s->round.nops > 0 && !s->round.settle_done) {
        s->round.settle_done = true;
        s->round.pending--;
        rc = sq_script_reply_check(s->bc, SQ_SCRIPT_SETTLE, r, &err);
        if (rc == SYNCQ_OK && r->type == REDIS_REPLY_ARRAY &&
            r->elements == s->round.nops) {
            ops_consume(s, s->round.nops, r);
            s->settle_only = false;
        } else if (rc == SYNCQ_EPROTO) {
            /* Refused by the script: no retry can fix it (a transient
             * reply is SYNCQ_ECONN and kept). Each outcome is logged
             * with its task for an operator; the leases lapse. */
            sq_sup_outcomes_refused(s, s->round.nops, err.msg);
            ops_consume(s, s->round.nops, NULL);
        } else if (rc != SYNCQ_OK) {
            round_abort(s, rc, &err); /* kept for the next round */
            return;
        } else {
            sq_sup_outcomes_refused(s, s->round.nops, "unexpected reply");
            ops_consume(s, s->round.nops, NULL);
        }
        if (s->round.pending == 0) {
            s->round.active = false;
        }
        return;
    }
    /* the lease reply */
    s->round.pending--;
    s->round.active = false;
    rc = sq_script_reply_check(s->bc, SQ_SCRIPT_LEASE, r, &err);
    if (rc == SYNCQ_OK) {
        struct sq_lease_reply rep;
        rc = parse_lease(s->bc, r, &rep, &err);
        if (rc == SYNCQ_OK) {
            sq_sup_take_lease(s, &rep, s->round.start_now, s->round.max_n);
        }
        sq_lease_reply_cleanup(&rep);
    }
    if (rc != SYNCQ_OK) {
        round_abort(s, rc, &err);
    }
}

int
sq_sup_round_send(struct sq_sup *s, size_t n, bool lease, int max_n,
                  int start_now)
{
    struct sq_args sa, la;
    syncq_error err;
    int rc = SYNCQ_OK;
    int done = 0;

    if (s->round.active || (n == 0 && !lease)) {
        return SYNCQ_OK;
    }
    sq_args_init(&sa);
    sq_args_init(&la);
    memset(&s->round, 0, sizeof s->round);
    if (n > 0) {
        sq_args_addll(&sa, (long long)n);
        for (size_t i = 0; i < n; i++) {
            add_op(&sa, &s->ops[i]);
        }
        rc = sq_script_append(s->bc, SQ_SCRIPT_SETTLE, &sa, &err);
        if (rc == SYNCQ_OK) {
            s->round.pending++;
            s->round.nops = n;
        }
    }
    if (rc == SYNCQ_OK && lease) {
        sq_args_add(&la, s->o->worker_id);
        sq_args_addll(&la, s->o->lease_ms);
        sq_args_addll(&la, max_n);
        sq_args_addll(&la, start_now);
        sq_args_addll(&la, (long long)s->o->nqueues);
        for (size_t i = 0; i < s->o->nqueues; i++) {
            sq_args_add(&la, s->o->queues[i]);
        }
        rc = sq_script_append(s->bc, SQ_SCRIPT_LEASE, &la, &err);
        if (rc == SYNCQ_OK) {
            s->round.pending++;
            s->round.lease = true;
            s->round.max_n = max_n;
            s->round.start_now = start_now;
        }
    }
    sq_args_cleanup(&sa);
    sq_args_cleanup(&la);
    if (rc != SYNCQ_OK) {
        if (s->round.pending > 0) {
            sq_client_drop(s->bc, "pipeline aborted");
        }
        memset(&s->round, 0, sizeof s->round);
        round_abort(s, rc, &err);
        return rc;
    }
    while (!done) {
        if (sq_conn_buffer_write(s->bc, &done) != REDIS_OK) {
            sq_fail(&err, SYNCQ_ECONN, "Redis at %s: %s",
                    syncq_client_url(s->bc), s->bc->rc->errstr);
            sq_client_drop(s->bc, "write failed");
            round_abort(s, SYNCQ_ECONN, &err);
            return SYNCQ_ECONN;
        }
    }
    s->round.active = true;
    s->round.sent_ms = sq_mono_ms();
    return SYNCQ_OK;
}

void
sq_sup_round_readable(struct sq_sup *s)
{
    syncq_error err;

    if (!s->round.active || s->bc->rc == NULL) {
        return;
    }
    if (sq_conn_buffer_read(s->bc) != REDIS_OK) {
        sq_fail(&err, SYNCQ_ECONN, "Redis at %s: %s",
                syncq_client_url(s->bc),
                s->bc->rc->errstr[0] ? s->bc->rc->errstr : "connection lost");
        sq_client_drop(s->bc, "read failed");
        round_abort(s, SYNCQ_ECONN, &err);
        return;
    }
    while (s->round.active && s->round.pending > 0) {
        void *r = NULL;
        if (sq_conn_reply_from_reader(s->bc, &r) != REDIS_OK) {
            sq_fail(&err, SYNCQ_EPROTO, "bad reply from Redis");
            sq_client_drop(s->bc, "bad reply");
            round_abort(s, SYNCQ_ECONN, &err);
            return;
        }
        if (r == NULL) {
            return; /* the rest is still on its way */
        }
        round_reply(s, r);
        freeReplyObject(r);
    }
}

void
sq_sup_round_finish(struct sq_sup *s)
{
    while (s->round.active && s->round.pending > 0) {
        redisReply *r = NULL;
        syncq_error err;
        int rc = sq_client_read_reply(s->bc, &r, &err);
        if (rc != SYNCQ_OK) {
            round_abort(s, rc, &err);
            return;
        }
        round_reply(s, r);
        freeReplyObject(r);
    }
    s->round.active = false;
}
