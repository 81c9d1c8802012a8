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
 * Arguments and replies go through the broker's lease/settle codec
 * (broker.h), the same code sq_broker_settle_lease runs; this file only
 * schedules the calls. A connection lost mid-round keeps the outcomes
 * queued for the next round.
 */
#include "worker/worker_sup.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "broker/broker_io.h"

#include <stdio.h>
#include <string.h>

/* One pending op as the codec's settle op (strings borrowed from `p`). */
static void
op_view(const struct sq_pend_op *p, struct sq_settle_op *op)
{
    memset(op, 0, sizeof *op);
    op->kind = p->kind;
    op->id = p->id;
    op->token = p->token;
    op->result_json = p->result;
    op->err_class = p->err_class;
    op->err_msg = p->msg;
    op->reason = p->reason;
    op->runtime_ms = p->runtime_ms;
    op->delay_ms = p->delay_ms;
    op->dead = p->dead;
    op->plain = p->plain;
}

/* Drop the first `n` ops (settled, or refused for good); `status`
 * (may be NULL) is what settle.lua answered for each. */
static void
ops_consume(struct sq_sup *s, size_t n, const int *status)
{
    for (size_t i = 0; i < n; i++) {
        struct sq_pend_op *op = &s->ops[i];
        if (status != NULL && status[i] == SQ_SETTLE_STALE) {
            SQ_WARN("task.lease_lost", "task_id=%s op=%s err=\"another "
                    "worker holds the task now; outcome not recorded\"",
                    op->id, sq_settle_kind_name(op->kind));
        } else if (status != NULL && status[i] == SQ_SETTLE_GONE) {
            SQ_INFO("task.gone", "task_id=%s op=%s", op->id,
                    sq_settle_kind_name(op->kind));
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
        if (rc == SYNCQ_OK) {
            int *st = sq_calloc(s->round.nops, sizeof *st);
            syncq_error perr;
            if (sq_settle_parse(r, s->round.nops, st, &perr) != SYNCQ_OK) {
                sq_sup_outcomes_refused(s, s->round.nops,
                                        "unexpected reply");
                ops_consume(s, s->round.nops, NULL);
            } else {
                ops_consume(s, s->round.nops, st);
                s->settle_only = false;
            }
            sq_free(st);
        } else if (rc == SYNCQ_EPROTO) {
            /* Refused by the script: no retry can fix it (a transient
             * reply is SYNCQ_ECONN and kept). Each outcome is logged
             * with its task for an operator; the leases lapse. */
            sq_sup_outcomes_refused(s, s->round.nops, err.msg);
            ops_consume(s, s->round.nops, NULL);
        } else {
            round_abort(s, rc, &err); /* kept for the next round */
            return;
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
        rc = sq_lease_parse_view(r, &rep, &err); /* borrows r */
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
    /* paused and cancelled queues are left out (worker_control.c) */
    const char *qs[SQ_WORKER_MAX_QUEUES];
    size_t nq = lease ? sq_sup_lease_queues(s, qs) : 0;

    if (lease && nq == 0) {
        /* every queue paused: nothing to lease from; look again later */
        lease = false;
        s->need_lease = false;
        s->next_lease_at = sq_mono_ms() + 1000;
    }
    if (s->round.active || (n == 0 && !lease)) {
        return SYNCQ_OK;
    }
    sq_args_init(&sa);
    sq_args_init(&la);
    memset(&s->round, 0, sizeof s->round);
    /* The caller has just checked the connection (sq_sup_broker_ok): the
     * calls are appended without checking it again, which cost a
     * MSG_PEEK system call each (0.4 a task in a drain). */
    if (n > 0) {
        sq_settle_args_begin(&sa, n);
        for (size_t i = 0; i < n; i++) {
            struct sq_settle_op op;
            op_view(&s->ops[i], &op);
            sq_settle_args_add(&sa, &op);
        }
        rc = sq_script_append_busy(s->bc, SQ_SCRIPT_SETTLE, &sa, &err);
        if (rc == SYNCQ_OK) {
            s->round.pending++;
            s->round.nops = n;
        }
    }
    if (rc == SYNCQ_OK && lease) {
        struct sq_lease_req req = {s->o->worker_id, s->o->lease_ms, max_n,
                                   start_now, qs, nq};
        sq_lease_args(&la, &req);
        rc = sq_script_append_busy(s->bc, SQ_SCRIPT_LEASE, &la, &err);
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
    if (sq_sup_conn_plain(s->bc)) {
        sq_reply_arena_attach(&s->replies, s->bc->rc);
    }
    return SYNCQ_OK;
}

bool
sq_sup_conn_plain(const syncq_client *c)
{
    return c->conn == NULL ||
           (c->conn->cl == NULL && c->conn->min_replicas <= 0);
}

/* The round is over: the connection builds hiredis's own replies again
 * (the synchronous calls free theirs with freeReplyObject). */
static void
round_detach(struct sq_sup *s)
{
    if (!s->round.active) {
        sq_reply_arena_detach(&s->replies, s->bc->rc);
    }
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
        sq_reply_arena_release(&s->replies, r);
    }
    round_detach(s);
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
            round_detach(s);
            return;
        }
        round_reply(s, r);
        sq_reply_arena_release(&s->replies, r);
    }
    s->round.active = false;
    round_detach(s);
}
