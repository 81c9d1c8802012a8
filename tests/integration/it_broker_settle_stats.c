/* SPDX-License-Identifier: MIT
 *
 * it_broker_settle_stats.c: what one lease/settle call writes besides the
 * task records, against a real Redis: the start time of a task settled
 * while still RECEIVED, the events stream capped once per call, and the
 * counters and histograms summed per call (split from it_broker_lease.c).
 */
#include "it_broker_util.h"

#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A hash field of the namespace as a number, -1 when missing: key
 * "stats", or "t:<id>" for a task record. */
static long long
stats_ll(const char *key, const char *field)
{
    redisReply *x = sqt_cmd("HGET {syncq}:%s %s", key, field);
    long long v = x->type == REDIS_REPLY_STRING ? atoll(x->str) : -1;

    freeReplyObject(x);
    return v;
}

static long long
hget_ll(const char *id, const char *field)
{
    char key[80];

    snprintf(key, sizeof key, "t:%s", id);
    return stats_ll(key, field);
}

/* An outcome for a task still RECEIVED (its start op folded into it by
 * the worker) records the start too: st = end - runtime, one event. */
static void
outcome_of_a_received_task_records_its_start(void **state)
{
    char a[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_req req = {"w1:1", 30000, 1, 0, q, 1};
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};
    long long st, dt;

    (void)state;
    create("syncq.noop", 5, NULL, a);
    assert_int_equal(sq_broker_settle_lease(cl, NULL, 0, NULL, &req, &r,
                                            NULL),
                     SYNCQ_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(sqt_task_state(cl, a), "RECEIVED");
    op.kind = SQ_SETTLE_OK;
    op.id = a;
    op.token = r.tasks[0].token;
    op.runtime_ms = 7;
    assert_int_equal(settle1(&op), SQ_SETTLED);
    sq_lease_reply_cleanup(&r);
    assert_string_equal(sqt_task_state(cl, a), "SUCCESS");
    st = hget_ll(a, "st");
    dt = hget_ll(a, "dt");
    assert_true(st > 0);
    assert_int_equal(dt - st, 7);
    assert_int_equal(hget_ll(a, "rt"), 7);
    assert_int_equal(sqt_task_events(a, "task-received"), 1);
    assert_int_equal(sqt_task_events(a, "task-started"), 0);
    assert_int_equal(sqt_task_events(a, "task-succeeded"), 1);
}

/* A bulk enqueue, lease and settle append their events untrimmed and
 * trim the stream once per call: it stays capped near
 * SYNCQ_EVENTS_MAXLEN ("~": Redis drops whole stream nodes of 100
 * entries, so 100-199 remain), and the counters and histograms summed per
 * call in Lua come out as if written task by task. The calls group their
 * tasks' events into a few entries, so the stream is filled beyond the
 * cap first (300 other entries) to see each call trim it. */
static void
events_capped_and_counters_summed_per_call(void **state)
{
    const char *q[] = {"default"};
    syncq_client *small;
    syncq_error err;
    static syncq_task_spec specs[300];
    static char ids[300][SYNCQ_ID_SIZE];
    long long leased = 0;
    redisReply *x;

    (void)state;
    setenv("SYNCQ_EVENTS_MAXLEN", "100", 1);
    small = sqt_client();
    unsetenv("SYNCQ_EVENTS_MAXLEN");
    for (int i = 0; i < 300; i++) {
        specs[i].name = "syncq.noop";
        freeReplyObject(sqt_cmd("XADD {syncq}:events * e filler"));
    }
    /* one bulk call: its task-sent entry appended, the stream trimmed */
    assert_int_equal(syncq_task_create_many(small, specs, 300, ids, NULL,
                                            &err),
                     SYNCQ_OK);
    x = sqt_cmd("XLEN {syncq}:events");
    assert_true(x->integer >= 100 && x->integer < 200);
    freeReplyObject(x);
    for (;;) {
        struct sq_lease_req req = {"w1:1", 30000, 64, 2, q, 1};
        struct sq_settle_op ops[64];
        int st[64];
        struct sq_lease_reply r;
        if (sq_broker_settle_lease(small, NULL, 0, NULL, &req, &r, &err) !=
            SYNCQ_OK) {
            fail_msg("lease: %s", err.msg);
        }
        if (r.n == 0) {
            sq_lease_reply_cleanup(&r);
            break;
        }
        memset(ops, 0, sizeof ops);
        for (size_t i = 0; i < r.n; i++) {
            ops[i].kind = SQ_SETTLE_OK;
            ops[i].id = r.tasks[i].id;
            ops[i].token = r.tasks[i].token;
            ops[i].result_json = "null";
            ops[i].runtime_ms = 7;
        }
        assert_int_equal(sq_broker_settle_lease(small, ops, r.n, st, NULL,
                                                NULL, &err),
                         SYNCQ_OK);
        for (size_t i = 0; i < r.n; i++) {
            assert_int_equal(st[i], SQ_SETTLED);
        }
        leased += (long long)r.n;
        sq_lease_reply_cleanup(&r);
    }
    assert_int_equal(leased, 300);
    /* 900 task events were appended (sent, received or started,
     * succeeded): each call trimmed the stream */
    x = sqt_cmd("XLEN {syncq}:events");
    assert_true(x->integer >= 100 && x->integer < 200);
    freeReplyObject(x);
    assert_int_equal(stats_ll("stats", "succeeded|default|syncq.noop"), 300);
    assert_int_equal(stats_ll("stats", "runtime|default|syncq.noop|count"),
                     300);
    assert_int_equal(stats_ll("stats", "runtime|default|syncq.noop|sum"),
                     2100);
    assert_int_equal(stats_ll("stats", "runtime|default|syncq.noop|le|10"),
                     300);
    assert_int_equal(stats_ll("stats", "wait|default|*|count"), 300);
    syncq_client_close(small);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(outcome_of_a_received_task_records_its_start),
        T(events_capped_and_counters_summed_per_call),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
