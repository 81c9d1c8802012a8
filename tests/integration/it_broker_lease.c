/* SPDX-License-Identifier: MIT
 *
 * it_broker_lease.c: the worker-side scripts against a real Redis: strict
 * priorities and FIFO, leases and fencing, settle outcomes, retries via
 * the delayed set, lapsed leases and the dead-letter queue, revoke at
 * every stage, progress fencing and sticky final states, poison entries,
 * events and counters (it_broker_settle_stats.c: what a call writes
 * besides the records). Each script is exercised through its C wrapper.
 */
#include "it_broker_util.h"

#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
strict_priority_then_fifo(void **state)
{
    static const int pris[] = {0, 5, 10, 8, 5, 0, 10};
    char ids[7][SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    /* expected lease order: 10 (2), 10 (6), 8 (3), 5 (1), 5 (4), 0 (0), 0 (5) */
    static const int order[] = {2, 6, 3, 1, 4, 0, 5};

    (void)state;
    for (int i = 0; i < 7; i++) {
        create("syncq.noop", pris[i], NULL, ids[i]);
    }
    lease(q, 1, 7, 30000, &r);
    assert_int_equal(r.n, 7);
    for (int i = 0; i < 7; i++) {
        assert_string_equal(r.tasks[i].id, ids[order[i]]);
        assert_string_equal(json_string_value(json_object_get(r.tasks[i].rec,
                                                              "state")),
                            "STARTED");
        assert_int_equal(json_integer_value(json_object_get(r.tasks[i].rec,
                                                            "attempt")),
                         1);
    }
    sq_lease_reply_cleanup(&r);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:active"), 7);
}

static void
queues_served_in_order_of_preference(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    const char *q[] = {"crawler", "default"};
    struct sq_lease_reply r;

    (void)state;
    create("syncq.noop", 10, "default", a);
    create("syncq.noop", 0, "crawler", b);
    lease(q, 2, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.tasks[0].id, b);
    sq_lease_reply_cleanup(&r);
}

static void
ack_with_token_and_fencing(void **state)
{
    char id[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};
    json_t *t;

    (void)state;
    create("syncq.echo", 5, NULL, id);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    op.kind = SQ_SETTLE_OK;
    op.id = id;
    op.token = "999999";
    op.result_json = "{\"bad\":true}";
    op.runtime_ms = 3;
    /* a stale token changes nothing */
    assert_int_equal(settle1(&op), SQ_SETTLE_STALE);
    assert_string_equal(sqt_task_state(cl, id), "STARTED");
    op.token = r.tasks[0].token;
    op.result_json = "{\"ok\":1}";
    assert_int_equal(settle1(&op), SQ_SETTLED);
    assert_int_equal(syncq_task_info(cl, id, &t, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t, "state")),
                        "SUCCESS");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(t, "result"), "ok")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(t, "runtime_ms")), 3);
    assert_null(json_object_get(t, "lease_token"));
    json_decref(t);
    /* settling twice: nothing changes (exactly once); the same lease
     * re-sending is answered "already", not counted as a lost lease */
    op.result_json = "{\"ok\":2}";
    assert_int_equal(settle1(&op), SQ_SETTLE_ALREADY);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:active"), 0);
    assert_true(sqt_cmd_int("PTTL {syncq}:t:%s", id) > 0);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:recent"), 1);
    {
        redisReply *x = sqt_cmd("HGET {syncq}:stats "
                                "lease_lost|default|syncq.echo");
        assert_string_equal(x->str, "1");
        freeReplyObject(x);
        x = sqt_cmd("HGET {syncq}:stats runtime|default|syncq.echo|le|5");
        assert_string_equal(x->str, "1");
        freeReplyObject(x);
    }
    sq_lease_reply_cleanup(&r);
}

static void
retry_goes_through_the_delayed_set(void **state)
{
    char id[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};
    json_t *t;

    (void)state;
    create("syncq.fail", 5, NULL, id);
    lease(q, 1, 1, 30000, &r);
    op.kind = SQ_SETTLE_RETRY;
    op.id = id;
    op.token = r.tasks[0].token;
    op.err_class = "network";
    op.err_msg = "connection reset";
    op.delay_ms = 300;
    assert_int_equal(settle1(&op), SQ_SETTLED);
    sq_lease_reply_cleanup(&r);
    assert_int_equal(syncq_task_info(cl, id, &t, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t, "state")),
                        "RETRY");
    assert_int_equal(json_integer_value(json_object_get(t, "retries")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(t, "errors"), 0),
                                                          "class")),
                        "network");
    json_decref(t);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 1);
    /* not before its ETA */
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 0);
    assert_true(r.next_eta_ms > 0);
    sq_lease_reply_cleanup(&r);
    sq_sleep_ms(350);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.tasks[0].id, id);
    assert_int_equal(json_integer_value(json_object_get(r.tasks[0].rec,
                                                        "attempt")),
                     2);
    sq_lease_reply_cleanup(&r);
}

static void
lapsed_leases_requeue_then_dead_letter(void **state)
{
    char id[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    json_t *t;

    (void)state;
    create("syncq.crash", 5, NULL, id);
    /* SYNCQ_MAX_DELIVERIES defaults to 5 */
    for (int i = 1; i <= 5; i++) {
        lease(q, 1, 1, 50, &r);
        assert_int_equal(r.n, 1);
        assert_string_equal(r.tasks[0].id, id);
        sq_lease_reply_cleanup(&r);
        sq_sleep_ms(80);
        {
            int64_t promoted, requeued;
            assert_int_equal(sq_broker_promote(cl, 100, 100, &promoted,
                                               &requeued, NULL, NULL),
                             SYNCQ_OK);
            assert_int_equal(requeued, 1);
        }
    }
    assert_int_equal(syncq_task_info(cl, id, &t, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t, "state")), "DEAD");
    assert_string_equal(json_string_value(json_object_get(t, "dead_reason")),
                        "worker_lost");
    assert_int_equal(json_integer_value(json_object_get(t, "lost")), 5);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "error"), "message")),
                        "lost 5 times (lease expired)");
    assert_int_equal(json_array_size(json_object_get(t, "errors")), 5);
    json_decref(t);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 1);
    {
        /* a dead letter is an unsuccessful end: counted as failed once
         * (not per loss), so the error rate sees it */
        redisReply *x = sqt_cmd("HGET {syncq}:stats "
                                "failed|default|syncq.crash");
        assert_string_equal(x->str, "1");
        freeReplyObject(x);
    }
    /* dead records never expire */
    assert_int_equal(sqt_cmd_int("PTTL {syncq}:t:%s", id), -1);
    lease(q, 1, 1, 50, &r);
    assert_int_equal(r.n, 0);
    sq_lease_reply_cleanup(&r);
}

static void
requeue_after_child_death_counts_a_delivery(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};

    (void)state;
    create("syncq.noop", 5, NULL, a);
    create("syncq.noop", 5, NULL, b);
    lease(q, 1, 1, 30000, &r);
    assert_string_equal(r.tasks[0].id, a);
    op.kind = SQ_SETTLE_REQUEUE;
    op.id = a;
    op.token = r.tasks[0].token;
    op.reason = "worker_lost";
    assert_int_equal(settle1(&op), SQ_SETTLED);
    sq_lease_reply_cleanup(&r);
    /* back at the front of the line, ahead of b */
    lease(q, 1, 1, 30000, &r);
    assert_string_equal(r.tasks[0].id, a);
    assert_int_equal(json_integer_value(json_object_get(r.tasks[0].rec,
                                                        "lost")),
                     1);
    /* a warm-shutdown requeue is not counted */
    op.token = r.tasks[0].token;
    op.reason = "shutdown";
    assert_int_equal(settle1(&op), SQ_SETTLED);
    sq_lease_reply_cleanup(&r);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(json_integer_value(json_object_get(r.tasks[0].rec,
                                                        "lost")),
                     1);
    sq_lease_reply_cleanup(&r);
}

static void
revoke_at_every_stage(void **state)
{
    char queued[SYNCQ_ID_SIZE], delayed[SYNCQ_ID_SIZE], running[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    syncq_task_options o;
    int outcome;
    char st[16];
    json_t *lost = NULL, *ctl = NULL;

    (void)state;
    create("syncq.sleep", 5, NULL, running);
    create("syncq.noop", 5, NULL, queued);
    syncq_task_options_init(&o);
    o.countdown_ms = 60000;
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o,
                                       delayed, NULL, NULL),
                     SYNCQ_OK);
    lease(q, 1, 1, 30000, &r);
    assert_string_equal(r.tasks[0].id, running);

    assert_int_equal(syncq_task_revoke(cl, queued, "test", &outcome, st, NULL),
                     SYNCQ_OK);
    assert_int_equal(outcome, SYNCQ_REVOKE_DONE);
    assert_string_equal(sqt_task_state(cl, queued), "REVOKED");
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 0);

    assert_int_equal(syncq_task_revoke(cl, delayed, "test", &outcome, st,
                                       NULL),
                     SYNCQ_OK);
    assert_int_equal(outcome, SYNCQ_REVOKE_DONE);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 0);

    assert_int_equal(syncq_task_revoke(cl, running, "test", &outcome, st,
                                       NULL),
                     SYNCQ_OK);
    assert_int_equal(outcome, SYNCQ_REVOKE_REQUESTED);
    assert_string_equal(st, "STARTED");
    /* the holder learns it from its heartbeat */
    {
        const char *ids[] = {running};
        const char *toks[] = {r.tasks[0].token};
        assert_int_equal(sq_broker_extend(cl, "w1:1", 30000, "{}", 10000, ids,
                                          toks, 1, &lost, &ctl, NULL),
                         SYNCQ_OK);
        assert_int_equal(json_array_size(lost), 0);
        assert_int_equal(json_array_size(ctl), 1);
        assert_string_equal(json_string_value(json_array_get(ctl, 0)),
                            running);
        json_decref(lost);
        json_decref(ctl);
    }
    {
        struct sq_settle_op op = {0};
        op.kind = SQ_SETTLE_REVOKED;
        op.id = running;
        op.token = r.tasks[0].token;
        op.err_msg = "stopped after cancel";
        assert_int_equal(settle1(&op), SQ_SETTLED);
    }
    assert_string_equal(sqt_task_state(cl, running), "REVOKED");
    assert_int_equal(syncq_task_revoke(cl, running, "test", &outcome, st,
                                       NULL),
                     SYNCQ_OK);
    assert_int_equal(outcome, SYNCQ_REVOKE_FINAL);
    assert_string_equal(st, "REVOKED");
    assert_int_equal(syncq_task_revoke(cl,
                                       "00000000-0000-4000-8000-000000000000",
                                       "test", &outcome, st, NULL),
                     SYNCQ_ENOTFOUND);
    sq_lease_reply_cleanup(&r);
}

static void
progress_is_fenced_and_final_is_sticky(void **state)
{
    char id[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    int status;
    int64_t cur;
    json_t *t;

    (void)state;
    create("syncq.sleep", 5, NULL, id);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(sq_broker_progress(cl, id, r.tasks[0].token, false, 40,
                                        100, "forty", &status, &cur, NULL),
                     SYNCQ_OK);
    assert_int_equal(status, 0);
    assert_int_equal(cur, 40);
    /* never goes down inside an attempt */
    assert_int_equal(sq_broker_progress(cl, id, r.tasks[0].token, false, 30,
                                        100, NULL, &status, &cur, NULL),
                     SYNCQ_OK);
    assert_int_equal(cur, 40);
    /* increments are capped at total */
    assert_int_equal(sq_broker_progress(cl, id, r.tasks[0].token, true, 80,
                                        100, NULL, &status, &cur, NULL),
                     SYNCQ_OK);
    assert_int_equal(cur, 100);
    assert_int_equal(sq_broker_progress(cl, id, "stale-token", false, 50, 100, NULL,
                                        &status, &cur, NULL),
                     SYNCQ_OK);
    assert_int_equal(status, 1);
    {
        struct sq_settle_op op = {0};
        op.kind = SQ_SETTLE_OK;
        op.id = id;
        op.token = r.tasks[0].token;
        assert_int_equal(settle1(&op), SQ_SETTLED);
    }
    /* C40: a late update after completion is dropped */
    assert_int_equal(sq_broker_progress(cl, id, r.tasks[0].token, false, 10,
                                        100, "late", &status, &cur, NULL),
                     SYNCQ_OK);
    assert_int_equal(status, 2);
    assert_int_equal(syncq_task_info(cl, id, &t, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t, "state")),
                        "SUCCESS");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(t, "progress"), "current")),
                     100);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "progress"), "message")),
                        "forty");
    json_decref(t);
    sq_lease_reply_cleanup(&r);
}

static void
raw_entries_come_back_and_poison_is_dead_lettered(void **state)
{
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    char pid[SYNCQ_ID_SIZE];
    json_t *t;

    (void)state;
    freeReplyObject(sqt_cmd("LPUSH {syncq}:q:default:5 %s", "not json"));
    freeReplyObject(sqt_cmd("LPUSH {syncq}:q:default:5 %b", "\xff\xfe", 2));
    lease(q, 1, 5, 30000, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(json_array_size(r.raws), 2);
    assert_string_equal(json_string_value(json_array_get(
                            json_array_get(r.raws, 0), 0)),
                        "default");
    assert_string_equal(json_string_value(json_array_get(
                            json_array_get(r.raws, 0), 1)),
                        "not json");
    sq_lease_reply_cleanup(&r);
    assert_int_equal(sq_broker_poison(cl, "default", "not json", 8,
                                      "not_json", pid, NULL),
                     SYNCQ_OK);
    assert_int_equal(syncq_task_info(cl, pid, &t, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t, "state")), "DEAD");
    assert_string_equal(json_string_value(json_object_get(t, "dead_reason")),
                        "poison:not_json");
    assert_string_equal(json_string_value(json_object_get(t, "raw")),
                        "not json");
    json_decref(t);
    {
        redisReply *x = sqt_cmd("HGET {syncq}:stats poison_messages_total");
        assert_string_equal(x->str, "1");
        freeReplyObject(x);
        x = sqt_cmd("HGET {syncq}:stats failed|default|(poison)");
        assert_string_equal(x->str, "1");
        freeReplyObject(x);
    }
}

/* A queue, active-set or delayed-set entry whose record key someone made
 * another type (WRONGTYPE on HGETALL/HMGET): the entry alone is set aside
 * and every real task goes on. The lease used to fail at that entry after
 * popping the entries before it, and Redis does not undo a script's
 * writes: they were lost (newcomer report); an active or delayed entry
 * failed every lease call. */
static void
wrong_type_records_lose_nothing(void **state)
{
    const char *q[] = {"default"};
    const char *bad = "00000000-0000-4000-8000-00000000000b";
    struct sq_lease_reply r;
    struct sq_settle_op ops[2] = {{0}, {0}};
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE], c[SYNCQ_ID_SIZE];
    int st[2] = {-1, -1};
    syncq_error err;

    (void)state;
    create("syncq.noop", 5, "default", a);
    freeReplyObject(sqt_cmd("SET {syncq}:t:%s garbage", bad));
    freeReplyObject(sqt_cmd("LPUSH {syncq}:q:default:5 %s", bad));
    create("syncq.noop", 5, "default", b);
    lease(q, 1, 5, 30000, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.tasks[0].id, a);
    assert_string_equal(r.tasks[1].id, b);
    /* handed to the client as a foreign entry (it dead-letters it) */
    assert_int_equal(json_array_size(r.raws), 1);
    assert_string_equal(json_string_value(json_array_get(
                            json_array_get(r.raws, 0), 1)),
                        bad);
    /* a settle op for such an id answers "gone"; the call goes on */
    ops[0].kind = SQ_SETTLE_OK;
    ops[0].id = bad;
    ops[0].token = "1";
    ops[1].kind = SQ_SETTLE_OK;
    ops[1].id = r.tasks[0].id;
    ops[1].token = r.tasks[0].token;
    assert_int_equal(sq_broker_settle_lease(cl, ops, 2, st, NULL, NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(st[0], SQ_SETTLE_GONE);
    assert_int_equal(st[1], SQ_SETTLED);
    assert_string_equal(sqt_task_state(cl, a), "SUCCESS");
    sq_lease_reply_cleanup(&r);
    /* a lapsed lease and a due delayed entry of that id: dropped from
     * their sets, and the lease goes on */
    freeReplyObject(sqt_cmd("ZADD {syncq}:active 1 %s", bad));
    freeReplyObject(sqt_cmd("ZADD {syncq}:delayed 1 %s", bad));
    create("syncq.noop", 5, "default", c);
    lease(q, 1, 5, 30000, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.tasks[0].id, c);
    sq_lease_reply_cleanup(&r);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 0);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:active"), 2); /* b, c */
}

static void
events_record_every_state_change(void **state)
{
    char id[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};
    redisReply *x;
    static const char *want[] = {"task-sent", "task-started",
                                 "task-progress", "task-succeeded"};

    (void)state;
    create("syncq.noop", 5, NULL, id);
    lease(q, 1, 1, 30000, &r);
    sq_broker_progress(cl, id, r.tasks[0].token, false, 1, 1, NULL, NULL,
                       NULL, NULL);
    op.kind = SQ_SETTLE_OK;
    op.id = id;
    op.token = r.tasks[0].token;
    settle1(&op);
    sq_lease_reply_cleanup(&r);
    x = sqt_cmd("XRANGE {syncq}:events - +");
    assert_int_equal(x->elements, 4);
    for (size_t i = 0; i < 4; i++) {
        redisReply *fields = x->element[i]->element[1];
        assert_string_equal(fields->element[0]->str, "e");
        assert_string_equal(fields->element[1]->str, want[i]);
        assert_string_equal(fields->element[3]->str, id);
    }
    freeReplyObject(x);
}

/* The eight event types of the issue, each at its state change; a fail or
 * retry with a stale lease token changes nothing; finished records keep
 * SYNCQ_RESULT_EXPIRES (default 1 day) or their own result_expires. */
static void
every_event_type_stale_fail_retry_and_result_ttl(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE], c[SYNCQ_ID_SIZE],
        d[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_req req = {"w1:1", 30000, 1, 0, q, 1};
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};
    syncq_task_options o;
    char t1[32];
    int64_t promoted, requeued;
    long long ttl;

    (void)state;
    create("syncq.noop", 5, NULL, a);
    /* leased but not started yet: task-received, then task-started */
    assert_int_equal(sq_broker_settle_lease(cl, NULL, 0, NULL, &req, &r,
                                            NULL),
                     SYNCQ_OK);
    assert_int_equal(r.n, 1);
    snprintf(t1, sizeof t1, "%s", r.tasks[0].token);
    sq_lease_reply_cleanup(&r);
    assert_string_equal(sqt_task_state(cl, a), "RECEIVED");
    op.id = a;
    op.token = t1;
    op.kind = SQ_SETTLE_START;
    assert_int_equal(settle1(&op), SQ_SETTLED);
    /* retry later (no delay): task-retried, back through the delayed set */
    op.kind = SQ_SETTLE_RETRY;
    op.err_class = "network";
    op.err_msg = "reset";
    op.delay_ms = 0;
    assert_int_equal(settle1(&op), SQ_SETTLED);
    assert_string_equal(sqt_task_state(cl, a), "RETRY");
    sq_sleep_ms(5);
    assert_int_equal(sq_broker_promote(cl, 100, 100, &promoted, &requeued,
                                       NULL, NULL),
                     SYNCQ_OK);
    assert_int_equal(promoted, 1);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    /* the old lease ended when its retry was recorded: neither fail nor
     * retry from it changes a thing; it is answered "already" (recorded
     * by that lease), not "stale" (issue 12 item 7) */
    op.token = t1;
    op.kind = SQ_SETTLE_FAIL;
    op.err_class = "parse";
    assert_int_equal(settle1(&op), SQ_SETTLE_ALREADY);
    op.kind = SQ_SETTLE_RETRY;
    assert_int_equal(settle1(&op), SQ_SETTLE_ALREADY);
    assert_string_equal(sqt_task_state(cl, a), "STARTED");
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 0);
    assert_int_equal(sqt_task_events(a, "task-failed"), 0);
    assert_int_equal(sqt_task_events(a, "task-retried"), 1);
    /* the current token fails it: task-failed */
    op.token = r.tasks[0].token;
    op.kind = SQ_SETTLE_FAIL;
    assert_int_equal(settle1(&op), SQ_SETTLED);
    sq_lease_reply_cleanup(&r);
    assert_string_equal(sqt_task_state(cl, a), "FAILURE");
    ttl = sqt_cmd_int("PTTL {syncq}:t:%s", a);
    assert_true(ttl > 86400000LL - 60000 && ttl <= 86400000LL);

    /* revoked while queued: task-revoked */
    create("syncq.noop", 5, NULL, b);
    assert_int_equal(syncq_task_revoke(cl, b, "test", NULL, NULL, NULL),
                     SYNCQ_OK);
    /* expired before it was leased: task-expired */
    syncq_task_options_init(&o);
    o.expires_ms = sq_now_ms() + 50;
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o, c,
                                       NULL, NULL),
                     SYNCQ_OK);
    sq_sleep_ms(80);
    /* a short result_expires of its own: task-succeeded */
    syncq_task_options_init(&o);
    o.result_expires_ms = 5000;
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o, d,
                                       NULL, NULL),
                     SYNCQ_OK);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.tasks[0].id, d);
    memset(&op, 0, sizeof op);
    op.kind = SQ_SETTLE_OK;
    op.id = d;
    op.token = r.tasks[0].token;
    assert_int_equal(settle1(&op), SQ_SETTLED);
    sq_lease_reply_cleanup(&r);
    ttl = sqt_cmd_int("PTTL {syncq}:t:%s", d);
    assert_true(ttl > 0 && ttl <= 5000);
    assert_string_equal(sqt_task_state(cl, c), "EXPIRED");

    assert_int_equal(sqt_task_events(a, "task-sent"), 1);
    assert_int_equal(sqt_task_events(a, "task-received"), 1);
    assert_int_equal(sqt_task_events(a, "task-started"), 2);
    assert_int_equal(sqt_task_events(a, "task-retried"), 1);
    assert_int_equal(sqt_task_events(a, "task-failed"), 1);
    assert_int_equal(sqt_task_events(b, "task-revoked"), 1);
    assert_int_equal(sqt_task_events(c, "task-expired"), 1);
    assert_int_equal(sqt_task_events(d, "task-succeeded"), 1);
}

/* A batch records when its first chunk started (the rate and ETA of the
 * monitor run from there), once. */
static void
batch_started_at_is_the_first_chunk_lease(void **state)
{
    char bid[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    syncq_batch_options bo = {0};
    syncq_task_options to;
    json_t *b = NULL;
    char first[40];

    (void)state;
    syncq_task_options_init(&to);
    to.queue = "default";
    bo.task = &to;
    assert_int_equal(syncq_batch_create(cl, "syncq.noop", "[1,2,3]", 1, &bo,
                                        bid, NULL, NULL),
                     SYNCQ_OK);
    assert_int_equal(syncq_batch_info(cl, bid, &b, NULL), SYNCQ_OK);
    assert_null(json_object_get(b, "started_at"));
    json_decref(b);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    sq_lease_reply_cleanup(&r);
    assert_int_equal(syncq_batch_info(cl, bid, &b, NULL), SYNCQ_OK);
    assert_true(json_is_string(json_object_get(b, "started_at")));
    snprintf(first, sizeof first, "%s",
             json_string_value(json_object_get(b, "started_at")));
    json_decref(b);
    sq_sleep_ms(5);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    sq_lease_reply_cleanup(&r);
    assert_int_equal(syncq_batch_info(cl, bid, &b, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(b, "started_at")),
                        first);
    json_decref(b);
    /* a chunk whose batch record is gone does not bring it back */
    sqt_cmd_int("DEL {syncq}:b:%s", bid);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    sq_lease_reply_cleanup(&r);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:b:%s", bid), 0);
}

static void
expired_task_is_never_leased(void **state)
{
    char id[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    syncq_task_options o;

    (void)state;
    syncq_task_options_init(&o);
    o.expires_ms = sq_now_ms() + 100;
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o, id,
                                       NULL, NULL),
                     SYNCQ_OK);
    sq_sleep_ms(150);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 0);
    sq_lease_reply_cleanup(&r);
    assert_string_equal(sqt_task_state(cl, id), "EXPIRED");
}

static void
workflow_counts_a_task_tree(void **state)
{
    char root[SYNCQ_ID_SIZE], kid[3][SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    syncq_task_options o;
    json_t *w = NULL;
    static const char *names[] = {"crawler.fetch_product_details",
                                  "crawler.fetch_product_details",
                                  "image_processing.download_images"};

    (void)state;
    assert_int_equal(syncq_workflow_info(
                         cl, "00000000-0000-4000-8000-000000000000", &w, NULL),
                     SYNCQ_ENOTFOUND); /* no such root: not an empty tree */
    assert_null(w);
    create("crawler.sync_category", 5, "default", root);
    assert_int_equal(syncq_workflow_info(cl, root, &w, NULL), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(w, "total")), 0);
    json_decref(w);
    syncq_task_options_init(&o);
    o.queue = "default";
    o.root_id = root;
    o.parent_id = root;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(syncq_task_create(cl, names[i], NULL, NULL, &o,
                                           kid[i], NULL, NULL),
                         SYNCQ_OK);
    }
    lease(q, 1, 4, 30000, &r);
    assert_int_equal(r.n, 4);
    for (size_t i = 0; i < r.n; i++) {
        struct sq_settle_op op = {0};
        op.id = r.tasks[i].id;
        op.token = r.tasks[i].token;
        if (strcmp(op.id, kid[1]) == 0) {
            op.kind = SQ_SETTLE_FAIL;
            op.err_class = "parse";
            op.err_msg = "bad body";
        } else if (strcmp(op.id, kid[2]) == 0) {
            continue; /* still running */
        } else {
            op.kind = SQ_SETTLE_OK;
        }
        assert_int_equal(settle1(&op), SQ_SETTLED);
    }
    sq_lease_reply_cleanup(&r);
    assert_int_equal(syncq_workflow_info(cl, root, &w, NULL), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(w, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(w, "done")), 1);
    assert_int_equal(json_integer_value(json_object_get(w, "failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(w, "pending")), 1);
    {
        json_t *d = json_object_get(json_object_get(w, "by_task"),
                                    "crawler.fetch_product_details");
        assert_int_equal(json_integer_value(json_object_get(d, "total")), 2);
        assert_int_equal(json_integer_value(json_object_get(d, "pending")), 0);
        d = json_object_get(json_object_get(w, "by_task"),
                            "image_processing.download_images");
        assert_int_equal(json_integer_value(json_object_get(d, "pending")), 1);
    }
    json_decref(w);
    assert_true(sqt_cmd_int("PTTL {syncq}:r:%s", root) > 0);
}

/* A stats counter (0 when absent; HINCRBY by 0 reads it as a number). */
static long long
stat_of(const char *field)
{
    return sqt_cmd_int("HINCRBY {syncq}:stats %s 0", field);
}

/* Field `k` of the last `e` event about task `id` ("" when none). */
static void
event_field(const char *id, const char *e, const char *k, char *out,
            size_t cap)
{
    redisReply *x = sqt_cmd("XRANGE {syncq}:events - +");

    out[0] = '\0';
    for (size_t i = 0; i < x->elements; i++) {
        struct sq_event te;
        for (bool more = sq_event_first(x->element[i]->element[1], &te); more;
             more = sq_event_next(&te)) {
            const char *v = sq_event_get(&te, k);
            if (te.e != NULL && te.id != NULL && strcmp(te.e, e) == 0 &&
                strcmp(te.id, id) == 0) {
                snprintf(out, cap, "%s", v != NULL ? v : "");
            }
        }
    }
    freeReplyObject(x);
}

/* Issue 12 item 7: an outcome re-sent by the lease that recorded it (its
 * first reply was lost) is answered "already recorded": nothing changes
 * and no lease is counted lost. Only a real takeover is "stale". */
static void
resent_outcome_is_already_recorded_not_a_lost_lease(void **state)
{
    const char *q[] = {"default"};
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE], old_token[32];
    struct sq_settle_op op;
    struct sq_lease_reply r;
    json_t *t;

    (void)state;
    create("syncq.echo", 5, NULL, a);
    lease(q, 1, 1, 30000, &r);
    op = (struct sq_settle_op){.kind = SQ_SETTLE_OK, .id = a,
                               .token = r.tasks[0].token,
                               .result_json = "{\"ok\":1}"};
    assert_int_equal(settle1(&op), SQ_SETTLED);
    op.result_json = "{\"ok\":2}";
    assert_int_equal(settle1(&op), SQ_SETTLE_ALREADY);
    sq_lease_reply_cleanup(&r);
    assert_int_equal(syncq_task_info(cl, a, &t, NULL), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(t, "result"), "ok")),
                     1);
    json_decref(t);
    assert_int_equal(stat_of("succeeded|default|syncq.echo"), 1);
    assert_int_equal(stat_of("lease_lost|default|syncq.echo"), 0);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:recent"), 1);

    /* a retry re-sent: still one retry scheduled, one error recorded */
    create("syncq.fail", 5, NULL, b);
    lease(q, 1, 1, 30000, &r);
    op = (struct sq_settle_op){.kind = SQ_SETTLE_RETRY, .id = b,
                               .token = r.tasks[0].token,
                               .err_class = "network", .err_msg = "reset",
                               .delay_ms = 60000};
    assert_int_equal(settle1(&op), SQ_SETTLED);
    assert_int_equal(settle1(&op), SQ_SETTLE_ALREADY);
    sq_lease_reply_cleanup(&r);
    assert_string_equal(sqt_task_state(cl, b), "RETRY");
    assert_int_equal(sqt_cmd_int("HINCRBY {syncq}:t:%s retries 0", b), 1);
    assert_int_equal(stat_of("retried|default|syncq.fail"), 1);
    assert_int_equal(stat_of("lease_lost|default|syncq.fail"), 0);

    /* a real takeover: the lease lapsed and another worker holds it */
    sqt_cmd_int("DEL {syncq}:delayed");
    sqt_cmd_int("LPUSH {syncq}:q:default:5 %s", b);
    lease(q, 1, 1, 50, &r);
    assert_string_equal(r.tasks[0].id, b);
    snprintf(old_token, sizeof old_token, "%s", r.tasks[0].token);
    sq_lease_reply_cleanup(&r);
    sq_sleep_ms(80);
    lease(q, 1, 1, 30000, &r); /* requeues the lapsed lease, leases again */
    assert_int_equal(r.n, 1);
    assert_string_not_equal(r.tasks[0].token, old_token);
    sq_lease_reply_cleanup(&r);
    op.token = old_token;
    assert_int_equal(settle1(&op), SQ_SETTLE_STALE);
    assert_int_equal(stat_of("lease_lost|default|syncq.fail"), 1);
}

/* The last task-lost event of `id` has `reason` and `lost`, and the
 * counters of syncq.noop stand at `lost` and `expired`. */
static void
expect_lost(const char *id, const char *reason, const char *lost,
            long long lost_total, long long expired_total)
{
    char v[64];

    event_field(id, "task-lost", "reason", v, sizeof v);
    assert_string_equal(v, reason);
    event_field(id, "task-lost", "lost", v, sizeof v);
    assert_string_equal(v, lost);
    assert_int_equal(stat_of("lost|default|syncq.noop"), lost_total);
    assert_int_equal(stat_of("lease_expired|default|syncq.noop"),
                     expired_total);
}

/* Issue 12 item 8: a lapsed lease is a lost delivery like a child's
 * death: its task-lost event carries its reason, and it is counted under
 * `lost` (every lost delivery, docs/monitor.md) and `lease_expired` (this
 * cause); a child's death counts `lost` with reason worker_lost. */
static void
lost_deliveries_carry_their_reason_and_counters(void **state)
{
    char a[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    struct sq_settle_op op;
    int64_t promoted, requeued;
    json_t *t, *e;

    (void)state;
    create("syncq.noop", 5, NULL, a);
    lease(q, 1, 1, 50, &r);
    sq_lease_reply_cleanup(&r);
    sq_sleep_ms(80);
    assert_int_equal(sq_broker_promote(cl, 100, 100, &promoted, &requeued,
                                       NULL, NULL),
                     SYNCQ_OK);
    assert_int_equal(requeued, 1);
    expect_lost(a, "lease_expired", "1", 1, 1);
    /* its error history entry has the attempt, as every other path's */
    assert_int_equal(syncq_task_info(cl, a, &t, NULL), SYNCQ_OK);
    e = json_array_get(json_object_get(t, "errors"), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "attempt")), 1);
    assert_string_equal(json_string_value(json_object_get(e, "class")),
                        "worker_lost");
    json_decref(t);

    /* a child's death */
    lease(q, 1, 1, 30000, &r); /* a again, at the front */
    assert_string_equal(r.tasks[0].id, a);
    op = (struct sq_settle_op){.kind = SQ_SETTLE_REQUEUE, .id = a,
                               .token = r.tasks[0].token,
                               .reason = "worker_lost"};
    assert_int_equal(settle1(&op), SQ_SETTLED);
    sq_lease_reply_cleanup(&r);
    expect_lost(a, "worker_lost", "2", 2, 1);
}

/* Issue 14: one lease call writes one task-started and one task-received
 * entry for all its tasks, one settle call one task-succeeded entry for
 * its successes; each task still reads as an event of its own
 * (sq_event_*: sqt_task_events, event_field) with its own fields; a
 * failure keeps an entry of its own. The leased records carry what the
 * lease wrote (laid over by the client from the reply's header). */
static void
grouped_events_read_per_task(void **state)
{
    char id[4][SYNCQ_ID_SIZE], v[64], rt[8];
    const char *q[] = {"default"};
    struct sq_lease_req req = {"w1:1", 30000, 4, 1, q, 1};
    struct sq_lease_reply r;
    struct sq_settle_op ops[4];
    int st[4];
    syncq_error err;
    long long tok0;

    (void)state;
    for (int i = 0; i < 4; i++) {
        create(i == 2 ? "syncq.other" : "syncq.noop", 5, NULL, id[i]);
    }
    assert_int_equal(sq_broker_settle_lease(cl, NULL, 0, NULL, &req, &r,
                                            &err),
                     SYNCQ_OK);
    assert_int_equal(r.n, 4);
    tok0 = atoll(r.tasks[0].token);
    memset(ops, 0, sizeof ops);
    for (int i = 0; i < 4; i++) {
        const json_t *rec = r.tasks[i].rec;
        assert_string_equal(r.tasks[i].id, id[i]);
        assert_int_equal(atoll(r.tasks[i].token), tok0 + i);
        assert_string_equal(json_string_value(json_object_get(rec, "state")),
                            i == 0 ? "STARTED" : "RECEIVED");
        assert_int_equal(json_integer_value(json_object_get(rec, "attempt")),
                         1);
        assert_string_equal(json_string_value(json_object_get(rec, "worker")),
                            "w1:1");
        assert_int_equal(sqt_task_events(id[i], i == 0 ? "task-started"
                                                       : "task-received"),
                         1);
        event_field(id[i], i == 0 ? "task-started" : "task-received", "w", v,
                    sizeof v);
        assert_string_equal(v, "w1:1");
        ops[i].kind = i < 3 ? SQ_SETTLE_OK : SQ_SETTLE_FAIL;
        ops[i].id = id[i];
        ops[i].token = r.tasks[i].token;
        ops[i].result_json = "";
        ops[i].err_class = "boom";
        ops[i].err_msg = "it failed";
        ops[i].runtime_ms = 10 + i;
    }
    assert_int_equal(sq_broker_settle_lease(cl, ops, 4, st, NULL, NULL, &err),
                     SYNCQ_OK);
    sq_lease_reply_cleanup(&r);
    /* 4 task-sent, then one entry per kind: started, received, failed,
     * succeeded (the grouped ones written last in their call) */
    assert_int_equal(sqt_cmd_int("XLEN {syncq}:events"), 8);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(st[i], SQ_SETTLED);
        assert_int_equal(sqt_task_events(id[i], "task-succeeded"), 1);
        event_field(id[i], "task-succeeded", "rt", v, sizeof v);
        snprintf(rt, sizeof rt, "%d", 10 + i);
        assert_string_equal(v, rt);
        event_field(id[i], "task-succeeded", "name", v, sizeof v);
        assert_string_equal(v, i == 2 ? "syncq.other" : "syncq.noop");
        event_field(id[i], "task-succeeded", "q", v, sizeof v);
        assert_string_equal(v, "default");
    }
    assert_int_equal(sqt_task_events(id[3], "task-succeeded"), 0);
    assert_int_equal(sqt_task_events(id[3], "task-failed"), 1);
    event_field(id[3], "task-failed", "class", v, sizeof v);
    assert_string_equal(v, "boom");
}

/* What lease.lua writes into a task and what the client lays over the
 * record it read (broker_lease.c, leased_record) are one rule in two
 * places: a leased record must equal the stored record read back after
 * the lease, field for field, for a started and a prefetched task, and
 * for one leased again after a lost delivery with progress reported
 * (attempt 2, pst reset). */
static void
leased_record_is_what_the_lease_stored(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE], c[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_req req = {"w2:7", 30000, 3, 1, q, 1};
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};
    int status;
    int64_t cur;
    syncq_error err;

    (void)state;
    create("syncq.sleep", 5, NULL, a);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(sq_broker_progress(cl, a, r.tasks[0].token, false, 40,
                                        100, "forty", &status, &cur, NULL),
                     SYNCQ_OK);
    op.kind = SQ_SETTLE_REQUEUE;
    op.id = a;
    op.token = r.tasks[0].token;
    op.reason = "worker_lost";
    assert_int_equal(settle1(&op), SQ_SETTLED);
    sq_lease_reply_cleanup(&r);
    create("syncq.noop", 5, NULL, b);
    create("syncq.echo", 5, NULL, c);
    assert_int_equal(sq_broker_settle_lease(cl, NULL, 0, NULL, &req, &r, &err),
                     SYNCQ_OK);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < r.n; i++) {
        redisReply *h = sqt_cmd("HGETALL {syncq}:t:%s", r.tasks[i].id);
        json_t *stored = sq_record_to_json_untimed(r.tasks[i].id, h->element,
                                                   h->elements);
        if (!json_equal(r.tasks[i].rec, stored)) {
            char *x = json_dumps(r.tasks[i].rec, JSON_SORT_KEYS);
            char *y = json_dumps(stored, JSON_SORT_KEYS);
            fail_msg("task %zu: leased %s\nstored %s", i, x, y);
        }
        json_decref(stored);
        freeReplyObject(h);
    }
    assert_string_equal(r.tasks[0].id, a);
    assert_string_equal(json_string_value(json_object_get(r.tasks[0].rec,
                                                          "state")),
                        "STARTED");
    assert_int_equal(json_integer_value(json_object_get(r.tasks[0].rec,
                                                        "attempt")),
                     2);
    assert_string_equal(json_string_value(json_object_get(r.tasks[1].rec,
                                                          "state")),
                        "RECEIVED");
    assert_string_equal(json_string_value(json_object_get(r.tasks[2].rec,
                                                          "worker")),
                        "w2:7");
    sq_lease_reply_cleanup(&r);
}

/* A view's text (NULL when absent) as a new string for comparing. */
static char *
view_text(const struct sq_text *t)
{
    return t->p != NULL ? strndup(t->p, t->n) : NULL;
}

/* The view member `t` (stored JSON text) parses to record member `key`. */
static void
same_json(const struct sq_text *t, const json_t *rec, const char *key)
{
    json_t *v = t->p != NULL ? json_loadb(t->p, t->n, 0, NULL) : NULL;
    const json_t *r = json_object_get(rec, key);

    /* absent from the record: the record reads it as empty (the child
     * runs a task without args with [] and without kwargs with {}) */
    bool empty = r == NULL || json_is_null(r) ||
                 (json_is_array(r) && json_array_size(r) == 0) ||
                 (json_is_object(r) && json_object_size(r) == 0);
    if (!(v == NULL ? empty : json_equal(v, r))) {
        char *x = json_dumps(r, JSON_ENCODE_ANY);
        fail_msg("%s: view '%.*s', record %s", key, (int)t->n,
                 t->p != NULL ? t->p : "", x != NULL ? x : "(none)");
    }
    json_decref(v);
}

/* The same for a text member: the record's string. */
static void
same_str(const struct sq_text *t, const json_t *rec, const char *key)
{
    char *v = view_text(t);
    const char *r = json_string_value(json_object_get(rec, key));

    if (!(v == NULL ? r == NULL : r != NULL && strcmp(v, r) == 0)) {
        fail_msg("%s: view '%s', record '%s'", key, v ? v : "(none)",
                 r ? r : "(none)");
    }
    free(v);
}

/* The worker reads a leased task through a view of the lease reply
 * (sq_lease_parse_view: field names matched in broker_lease.c), everyone
 * else through the record (the field table of core/sq_task.c): both read
 * of one reply give the same name, queue, arguments, policy, attempt,
 * retries and limits, with and without the optional fields. */
static void
lease_view_reads_what_the_record_reads(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    const char *q[] = {"views"};
    struct sq_lease_req req = {"w3:1", 30000, 2, 1, q, 1};
    struct sq_lease_reply rec, view;
    struct sq_args la;
    syncq_task_options o;
    redisReply *r = NULL;
    syncq_error err;

    (void)state;
    syncq_task_options_init(&o);
    o.queue = "views";
    o.max_retries = 3;
    o.time_limit_ms = 30000;
    o.soft_time_limit_ms = 20000;
    o.retry_policy_json = "{\"network\": {\"max_retries\": 2}}";
    assert_int_equal(syncq_task_create(cl, "syncq.echo", "[1, \"x\"]",
                                       "{\"k\": {\"n\": 2}}", &o, a, NULL,
                                       &err),
                     SYNCQ_OK);
    create("syncq.noop", 5, "views", b);
    sq_args_init(&la);
    sq_lease_args(&la, &req);
    assert_int_equal(sq_script_append(cl, SQ_SCRIPT_LEASE, &la, &err),
                     SYNCQ_OK);
    sq_args_cleanup(&la);
    assert_int_equal(sq_client_read_reply(cl, &r, &err), SYNCQ_OK);
    assert_int_equal(sq_script_reply_check(cl, SQ_SCRIPT_LEASE, r, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_lease_parse(cl, r, &rec, &err), SYNCQ_OK);
    assert_int_equal(sq_lease_parse_view(r, &view, &err), SYNCQ_OK);
    assert_int_equal(rec.n, 2);
    assert_int_equal(view.n, 2);
    for (size_t i = 0; i < rec.n; i++) {
        const json_t *t = rec.tasks[i].rec;
        const struct sq_leased_view *v = &view.tasks[i].v;
        assert_string_equal(view.tasks[i].id, rec.tasks[i].id);
        assert_string_equal(view.tasks[i].token, rec.tasks[i].token);
        same_str(&v->name, t, "name");
        same_str(&v->queue, t, "queue");
        same_str(&v->batch, t, "batch_id");
        same_str(&v->root, t, "root_id");
        same_json(&v->args, t, "args");
        same_json(&v->kwargs, t, "kwargs");
        same_json(&v->policy, t, "retry_policy");
        assert_int_equal(v->attempt,
                         json_integer_value(json_object_get(t, "attempt")));
        assert_int_equal(v->retries,
                         json_integer_value(json_object_get(t, "retries")));
        assert_int_equal(v->max_retries,
                         json_object_get(t, "max_retries") != NULL
                             ? json_integer_value(
                                   json_object_get(t, "max_retries"))
                             : -1);
        assert_int_equal(v->time_limit_ms,
                         json_integer_value(
                             json_object_get(t, "time_limit_ms")));
        assert_int_equal(v->soft_time_limit_ms,
                         json_integer_value(
                             json_object_get(t, "soft_time_limit_ms")));
    }
    /* the first with every optional field, the second without */
    assert_string_equal(view.tasks[0].id, a);
    assert_int_equal(view.tasks[0].v.max_retries, 3);
    assert_int_equal(view.tasks[0].v.time_limit_ms, 30000);
    assert_int_equal(view.tasks[1].v.max_retries, -1);
    sq_lease_reply_cleanup(&rec);
    sq_lease_reply_cleanup(&view);
    freeReplyObject(r);
}

/* syncq_task_list lists finished tasks newest first, dead letters too:
 * three tasks failed for good and dead-lettered by their policy, one by
 * one, come back newest death first (they are FAILURE, in the DLQ, not in
 * the recent list). */
static void
dead_letters_listed_newest_first(void **state)
{
    const char *q[] = {"default"};
    char ids[3][SYNCQ_ID_SIZE];
    struct sq_lease_reply r;
    syncq_task_filter f = {0};
    json_t *list;
    syncq_error err;

    (void)state;
    for (int i = 0; i < 3; i++) {
        create("syncq.fail", 5, "default", ids[i]);
    }
    lease(q, 1, 3, 30000, &r);
    assert_int_equal(r.n, 3);
    for (int i = 0; i < 3; i++) {
        struct sq_settle_op op = {0};
        int st = -1;
        op.kind = SQ_SETTLE_FAIL;
        op.id = r.tasks[i].id;
        op.token = r.tasks[i].token;
        op.err_class = "validation";
        op.err_msg = "bad offer";
        op.dead = true;
        assert_int_equal(sq_broker_settle_lease(cl, &op, 1, &st, NULL, NULL,
                                                &err),
                         SYNCQ_OK);
        assert_int_equal(st, SQ_SETTLED);
        sq_sleep_ms(3); /* distinct times of death (ms) */
    }
    f.state = "FAILURE";
    assert_int_equal(syncq_task_list(cl, &f, &list, &err), SYNCQ_OK);
    assert_int_equal(json_array_size(list), 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(list, (size_t)i), "id")),
                            r.tasks[2 - i].id);
    }
    json_decref(list);
    sq_lease_reply_cleanup(&r);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(strict_priority_then_fifo),
        T(queues_served_in_order_of_preference),
        T(ack_with_token_and_fencing),
        T(retry_goes_through_the_delayed_set),
        T(lapsed_leases_requeue_then_dead_letter),
        T(requeue_after_child_death_counts_a_delivery),
        T(revoke_at_every_stage),
        T(progress_is_fenced_and_final_is_sticky),
        T(raw_entries_come_back_and_poison_is_dead_lettered),
        T(wrong_type_records_lose_nothing),
        T(events_record_every_state_change),
        T(every_event_type_stale_fail_retry_and_result_ttl),
        T(batch_started_at_is_the_first_chunk_lease),
        T(expired_task_is_never_leased),
        T(workflow_counts_a_task_tree),
        T(resent_outcome_is_already_recorded_not_a_lost_lease),
        T(lost_deliveries_carry_their_reason_and_counters),
        T(grouped_events_read_per_task),
        T(leased_record_is_what_the_lease_stored),
        T(lease_view_reads_what_the_record_reads),
        T(dead_letters_listed_newest_first),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
