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

/* A counter summed over the per-minute hashes ({syncq}:m:<minute>: the
 * calls may straddle a minute). */
static long long
minute_ll(const char *field)
{
    redisReply *keys = sqt_cmd("KEYS {syncq}:m:*");
    long long sum = 0;

    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *x = sqt_cmd("HGET %s %s", keys->element[i]->str, field);
        sum += x->type == REDIS_REPLY_STRING ? atoll(x->str) : 0;
        freeReplyObject(x);
    }
    freeReplyObject(keys);
    return sum;
}

/* One settle call mixing outcomes of two task names (runs of successes
 * are summed in Lua, settle.lua) with stale, gone and already ops, runtimes
 * in and out of the first bucket and a negative one (counted as 0), "okp"
 * and plain "ok" ops: every counter comes out as if counted op by op. */
static void
counters_exact_after_a_mix_of_outcomes(void **state)
{
    const char *q[] = {"default"};
    /* name (0: syncq.noop, 1: other.task), runtime, what the op is */
    enum { OK, STALE, GONE, AGAIN };
    static const struct {
        int name;
        int64_t rt;
        int what;
        bool plain;
    } mix[] = {
        {0, 0, OK, true},  {0, 3, OK, true},    {0, 7, OK, true},
        {0, 2, OK, false}, {0, 1, STALE, true}, {1, 1, OK, false},
        {0, 4, OK, true},  {0, 0, GONE, true},  {1, 5, OK, true},
        {0, 0, AGAIN, true}, {0, -3, OK, true}, {1, 30, OK, true},
        {1, 2, OK, true},
    };
    enum { N = sizeof mix / sizeof mix[0] };
    static const int want_st[N] = {
        SQ_SETTLED, SQ_SETTLED, SQ_SETTLED, SQ_SETTLED, SQ_SETTLE_STALE,
        SQ_SETTLED, SQ_SETTLED, SQ_SETTLE_GONE, SQ_SETTLED,
        SQ_SETTLE_ALREADY, SQ_SETTLED, SQ_SETTLED, SQ_SETTLED};
    static const char *names[] = {"syncq.noop", "other.task"};
    char ids[N][SYNCQ_ID_SIZE];
    struct sq_settle_op ops[N];
    int st[N];
    struct sq_lease_reply r;
    struct sq_lease_req req = {"w1:1", 30000, N, 0, q, 1};
    syncq_error err;

    (void)state;
    memset(ops, 0, sizeof ops);
    for (int i = 0; i < N; i++) {
        if (mix[i].what == OK || mix[i].what == STALE) {
            create(names[mix[i].name], 5, NULL, ids[i]);
        }
    }
    assert_int_equal(sq_broker_settle_lease(cl, NULL, 0, NULL, &req, &r,
                                            &err),
                     SYNCQ_OK);
    for (int i = 0, t = 0; i < N; i++) {
        ops[i].kind = SQ_SETTLE_OK;
        ops[i].result_json = "null";
        ops[i].runtime_ms = mix[i].rt;
        ops[i].plain = mix[i].plain;
        if (mix[i].what == GONE) {
            ops[i].id = "no-such-task";
            ops[i].token = "1";
            continue;
        }
        if (mix[i].what == AGAIN) {
            ops[i].id = ops[0].id; /* op 0 re-sent in the same call */
            ops[i].token = ops[0].token;
            continue;
        }
        assert_true((size_t)t < r.n);
        assert_string_equal(r.tasks[t].id, ids[i]); /* FIFO */
        assert_true(r.tasks[t].plain);
        ops[i].id = r.tasks[t].id;
        ops[i].token = mix[i].what == STALE ? "999999" : r.tasks[t].token;
        t++;
    }
    assert_int_equal(sq_broker_settle_lease(cl, ops, N, st, NULL, NULL,
                                            &err),
                     SYNCQ_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(st[i], want_st[i]);
    }
    /* syncq.noop: rt 0 3 7 2 4 -3(0); other.task: rt 1 5 30 2 */
    assert_int_equal(stats_ll("stats", "succeeded|default|syncq.noop"), 6);
    assert_int_equal(stats_ll("stats", "runtime|default|syncq.noop|count"),
                     6);
    assert_int_equal(stats_ll("stats", "runtime|default|syncq.noop|sum"),
                     16);
    assert_int_equal(stats_ll("stats", "runtime|default|syncq.noop|le|5"),
                     5);
    assert_int_equal(stats_ll("stats", "runtime|default|syncq.noop|le|10"),
                     1);
    assert_int_equal(stats_ll("stats", "lease_lost|default|syncq.noop"), 1);
    assert_int_equal(stats_ll("stats", "succeeded|default|other.task"), 4);
    assert_int_equal(stats_ll("stats", "runtime|default|other.task|count"),
                     4);
    assert_int_equal(stats_ll("stats", "runtime|default|other.task|sum"),
                     38);
    assert_int_equal(stats_ll("stats", "runtime|default|other.task|le|5"),
                     3);
    assert_int_equal(stats_ll("stats", "runtime|default|other.task|le|50"),
                     1);
    assert_int_equal(stats_ll("stats", "lease_lost|default|other.task"), -1);
    assert_int_equal(minute_ll("succeeded|default|syncq.noop"), 6);
    assert_int_equal(minute_ll("runtime|default|syncq.noop|sum"), 16);
    assert_int_equal(minute_ll("runtime|default|syncq.noop|count"), 6);
    assert_int_equal(minute_ll("succeeded|default|other.task"), 4);
    assert_int_equal(minute_ll("runtime|default|other.task|sum"), 38);
    assert_int_equal(minute_ll("lease_lost|default|syncq.noop"), 1);
    for (int i = 0; i < N; i++) {
        if (mix[i].what == OK) {
            redisReply *x;
            char key[80];
            assert_string_equal(sqt_task_state(cl, ids[i]), "SUCCESS");
            assert_int_equal(hget_ll(ids[i], "rt"), mix[i].rt);
            assert_int_equal(sqt_task_events(ids[i], "task-succeeded"), 1);
            snprintf(key, sizeof key, "{syncq}:t:%s", ids[i]);
            x = sqt_cmd("PTTL %s", key);
            assert_true(x->integer > 0); /* the namespace's result TTL */
            freeReplyObject(x);
        }
    }
    sq_lease_reply_cleanup(&r);
}

/* A leased record with a batch, a root or a result TTL of its own is not
 * "plain" (its ok op must not be "okp": settle.lua would not look for
 * them); one without is. Settled as leased, each gets its own TTL. */
static void
plain_only_without_batch_root_or_rexp(void **state)
{
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    syncq_task_options o;
    syncq_error err;
    char plain[SYNCQ_ID_SIZE], rexp[SYNCQ_ID_SIZE], rooted[SYNCQ_ID_SIZE];
    redisReply *x;

    (void)state;
    create("syncq.noop", 5, NULL, plain);
    syncq_task_options_init(&o);
    o.result_expires_ms = 5000;
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o, rexp,
                                       NULL, &err),
                     SYNCQ_OK);
    syncq_task_options_init(&o);
    o.root_id = plain;
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o,
                                       rooted, NULL, &err),
                     SYNCQ_OK);
    lease(q, 1, 3, 30000, &r);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < r.n; i++) {
        struct sq_settle_op op = {0};
        assert_int_equal(r.tasks[i].plain,
                         strcmp(r.tasks[i].id, plain) == 0);
        op.kind = SQ_SETTLE_OK;
        op.id = r.tasks[i].id;
        op.token = r.tasks[i].token;
        op.plain = r.tasks[i].plain;
        assert_int_equal(settle1(&op), SQ_SETTLED);
    }
    x = sqt_cmd("PTTL {syncq}:t:%s", rexp);
    assert_true(x->integer > 0 && x->integer <= 5000);
    freeReplyObject(x);
    x = sqt_cmd("PTTL {syncq}:t:%s", plain);
    assert_true(x->integer > 5000);
    freeReplyObject(x);
    x = sqt_cmd("HGET {syncq}:r:%s done", plain);
    assert_int_equal(x->type, REDIS_REPLY_STRING);
    assert_string_equal(x->str, "1");
    freeReplyObject(x);
    sq_lease_reply_cleanup(&r);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(outcome_of_a_received_task_records_its_start),
        T(events_capped_and_counters_summed_per_call),
        T(counters_exact_after_a_mix_of_outcomes),
        T(plain_only_without_batch_root_or_rexp),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
