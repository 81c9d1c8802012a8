/* SPDX-License-Identifier: MIT
 *
 * it_batch_waves.c: batches and their completion (C38), with chunks sent
 * all at once (the engine's syncq_batch_create) and in waves
 * (syncq_batch_submit: max in flight, rate, fail fast). Chunks are run by
 * a worker simulated in this test through the broker's real lease and
 * settle scripts (the worker's own calls), so outcomes, retries and the
 * exactly-once completion go through the production code.
 * TEST_TIMEOUT: 180
 */
#include "it_beat_util.h"

#include "broker/broker.h"

#include <syncq/schedule.h>

#define CB "batch_processing.report"

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    cl = sqt_client();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    syncq_client_close(cl);
    return 0;
}

struct sim {
    const int *fail; /* item values whose chunk always fails */
    int nfail;
    int max_retries;   /* retries before the failure is final */
    const char *batch; /* batch to watch for the in-flight cap */
    int max_in_flight; /* 0: not checked */
    int chunks_run;    /* chunk attempts seen */
    int callbacks;     /* completion tasks run */
    json_t *cb_kwargs; /* the last completion's kwargs */
    int peak_running;
};

static bool
chunk_fails(const struct sim *s, json_t *rec)
{
    json_t *items = json_object_get(json_object_get(rec, "kwargs"), "items");
    size_t i;
    json_t *v;

    json_array_foreach(items, i, v)
    {
        for (int k = 0; k < s->nfail; k++) {
            if (json_integer_value(v) == s->fail[k]) {
                return true;
            }
        }
    }
    return false;
}

/* Lease and settle until `until_callbacks` completions ran or `ms` pass. */
static void
simulate_worker(struct sim *s, const char *queue, int until_callbacks, long ms)
{
    const char *queues[] = {queue};
    long long deadline = it_now() + ms;

    while (s->callbacks < until_callbacks && it_now() < deadline) {
        struct sq_lease_req lr;
        struct sq_lease_reply out;
        struct sq_settle_op ops[8];
        int st[8];
        syncq_error err;
        memset(&lr, 0, sizeof lr);
        lr.worker = "sim";
        lr.lease_ms = 30000;
        lr.max_n = 8;
        lr.start_now = 8;
        lr.queues = queues;
        lr.nqueues = 1;
        if (sq_broker_settle_lease(cl, NULL, 0, NULL, &lr, &out, &err) !=
            SYNCQ_OK) {
            fail_msg("lease: %s", err.msg);
        }
        if (s->batch != NULL && s->max_in_flight > 0) {
            json_t *b = NULL;
            assert_int_equal(syncq_batch_progress(cl, s->batch, &b, NULL),
                             SYNCQ_OK);
            if (json_integer_value(json_object_get(b, "running")) >
                s->peak_running) {
                s->peak_running =
                    (int)json_integer_value(json_object_get(b, "running"));
            }
            json_decref(b);
        }
        for (size_t i = 0; i < out.n; i++) {
            json_t *rec = out.tasks[i].rec;
            const char *name = json_string_value(json_object_get(rec, "name"));
            memset(&ops[i], 0, sizeof ops[i]);
            ops[i].id = out.tasks[i].id;
            ops[i].token = out.tasks[i].token;
            ops[i].result_json = "";
            if (name != NULL && strcmp(name, CB) == 0) {
                s->callbacks++;
                json_decref(s->cb_kwargs);
                s->cb_kwargs = json_incref(json_object_get(rec, "kwargs"));
                ops[i].kind = SQ_SETTLE_OK;
            } else {
                s->chunks_run++;
                if (chunk_fails(s, rec)) {
                    int retries = (int)json_integer_value(
                        json_object_get(rec, "retries"));
                    ops[i].kind = retries < s->max_retries ? SQ_SETTLE_RETRY
                                                           : SQ_SETTLE_FAIL;
                    ops[i].err_class = "validation";
                    ops[i].err_msg = "always fails";
                } else {
                    ops[i].kind = SQ_SETTLE_OK;
                }
            }
        }
        if (out.n > 0 && sq_broker_settle_lease(cl, ops, out.n, st, NULL, NULL,
                                                &err) != SYNCQ_OK) {
            fail_msg("settle: %s", err.msg);
        }
        sq_lease_reply_cleanup(&out);
        if (out.n == 0) {
            it_sleep_ms(5);
        }
    }
}

static const char *
items_json(int n, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n && k + 12 < cap; i++) {
        k += (size_t)snprintf(buf + k, cap - k, "%s%d", i ? "," : "", i);
    }
    snprintf(buf + k, cap - k, "]");
    return buf;
}

static void
create(bool waves, int nitems, int max_in_flight, bool fail_fast,
       char id[SYNCQ_ID_SIZE])
{
    syncq_batch_options bo;
    syncq_task_options to;
    syncq_batch_wave_options wo;
    char items[4096];
    syncq_error err;
    int rc;

    memset(&bo, 0, sizeof bo);
    syncq_task_options_init(&to);
    to.queue = "bq";
    to.max_retries = 1;
    bo.task = &to;
    bo.on_complete = CB;
    bo.on_complete_queue = "bq";
    items_json(nitems, items, sizeof items);
    if (waves) {
        memset(&wo, 0, sizeof wo);
        wo.max_in_flight = max_in_flight;
        wo.fail_fast = fail_fast;
        rc = syncq_batch_submit(cl, "batch_processing.work", items, 1, &bo, &wo,
                                id, &err);
    } else {
        rc = syncq_batch_create(cl, "batch_processing.work", items, 1, &bo, id,
                                NULL, &err);
    }
    if (rc != SYNCQ_OK) {
        fail_msg("batch: %s", err.msg);
    }
}

static int
count_named(const char *name)
{
    int n = 0;
    char cursor[32] = "0";
    redisContext *rc = sqt_redis();

    do {
        redisReply *r =
            redisCommand(rc, "SCAN %s MATCH {syncq}:t:* COUNT 1000", cursor);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            redisReply *h = redisCommand(rc, "HGET %s name",
                                         r->element[1]->element[i]->str);
            if (h->type == REDIS_REPLY_STRING && strcmp(h->str, name) == 0) {
                n++;
            }
            freeReplyObject(h);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redisFree(rc);
    return n;
}

static void
expect_kwargs(json_t *kw, const char *id, long long total, long long ok,
              long long failed)
{
    assert_non_null(kw);
    assert_string_equal(json_string_value(json_object_get(kw, "batch_id")), id);
    assert_int_equal(json_integer_value(json_object_get(kw, "total")), total);
    assert_int_equal(json_integer_value(json_object_get(kw, "succeeded")), ok);
    assert_int_equal(json_integer_value(json_object_get(kw, "failed")), failed);
}

/* C38 batch 1: 100 children, 3 always fail (1 retry each). */
static void
c38_hundred_children_three_fail(void **state)
{
    static const int fail[] = {7, 42, 77};

    (void)state;
    for (int waves = 0; waves < 2; waves++) {
        struct sim s = {fail, 3, 1, NULL, 0, 0, 0, NULL, 0};
        char id[SYNCQ_ID_SIZE];
        json_t *b = NULL;
        sqt_flush();
        create(waves, 100, waves ? 10 : 0, false, id);
        if (waves) {
            s.batch = id;
            s.max_in_flight = 10;
        }
        simulate_worker(&s, "bq", 1, 30000);
        /* let a second completion show up if there were one */
        simulate_worker(&s, "bq", 2, 300);
        assert_int_equal(s.callbacks, 1);
        assert_int_equal(count_named(CB), 1);
        expect_kwargs(s.cb_kwargs, id, 100, 97, 3);
        assert_int_equal(s.chunks_run, 103); /* 3 retried once */
        assert_int_equal(syncq_batch_progress(cl, id, &b, NULL), SYNCQ_OK);
        assert_int_equal(json_integer_value(json_object_get(b, "done")), 97);
        assert_int_equal(json_integer_value(json_object_get(b, "failed")), 3);
        assert_int_equal(json_integer_value(json_object_get(b, "pending")), 0);
        assert_int_equal(json_integer_value(json_object_get(b, "running")), 0);
        assert_string_equal(json_string_value(json_object_get(b, "state")),
                            "finished");
        if (waves) {
            /* never more than 10 chunks queued or running at once */
            assert_true(s.peak_running <= 10);
            assert_true(s.peak_running >= 8);
            assert_int_equal(
                json_integer_value(json_object_get(b, "max_in_flight")), 10);
        }
        json_decref(b);
        json_decref(s.cb_kwargs);
    }
}

/* C38 batches 2 and 3: no children; one child that fails. */
static void
c38_empty_and_single_failing(void **state)
{
    static const int fail[] = {0};

    (void)state;
    for (int waves = 0; waves < 2; waves++) {
        struct sim s = {fail, 1, 0, NULL, 0, 0, 0, NULL, 0};
        char id[SYNCQ_ID_SIZE];
        sqt_flush();
        create(waves, 0, waves ? 5 : 0, false, id);
        /* fires at once: the completion task is already queued */
        assert_int_equal(count_named(CB), 1);
        simulate_worker(&s, "bq", 1, 5000);
        assert_int_equal(s.callbacks, 1);
        expect_kwargs(s.cb_kwargs, id, 0, 0, 0);
        json_decref(s.cb_kwargs);
        s.cb_kwargs = NULL;
        s.callbacks = 0;
        sqt_flush();
        create(waves, 1, waves ? 5 : 0, false, id);
        s.max_retries = 0;
        simulate_worker(&s, "bq", 1, 5000);
        assert_int_equal(s.callbacks, 1);
        expect_kwargs(s.cb_kwargs, id, 1, 0, 1);
        json_decref(s.cb_kwargs);
    }
}

/* fail_fast: the first failure ends the batch and runs the completion;
 * undispatched chunks never run; nothing fires twice. */
static void
fail_fast_ends_at_the_first_failure(void **state)
{
    static const int fail[] = {2};
    struct sim s = {fail, 1, 0, NULL, 0, 0, 0, NULL, 0};
    char id[SYNCQ_ID_SIZE];
    json_t *b = NULL;

    (void)state;
    sqt_flush();
    create(true, 20, 4, true, id);
    simulate_worker(&s, "bq", 1, 10000);
    assert_int_equal(s.callbacks, 1);
    assert_int_equal(json_integer_value(json_object_get(s.cb_kwargs, "failed")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(s.cb_kwargs, "total")),
                     20);
    /* the chunks still in flight end; no second completion */
    simulate_worker(&s, "bq", 2, 500);
    assert_int_equal(s.callbacks, 1);
    assert_int_equal(count_named(CB), 1);
    assert_int_equal(syncq_batch_progress(cl, id, &b, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(b, "state")),
                        "finished");
    assert_true(json_integer_value(json_object_get(b, "cancelled")) >= 12);
    assert_int_equal(json_integer_value(json_object_get(b, "waiting")), 0);
    assert_true(s.chunks_run <= 8);
    assert_int_equal(json_integer_value(json_object_get(b, "dispatched")),
                     s.chunks_run);
    assert_true(json_is_true(json_object_get(b, "fail_fast")));
    json_decref(b);
    json_decref(s.cb_kwargs);
}

/* Rate 2/s with no worker and no creator left: the leader beat sends
 * the waves (a burst of 2, then one every 500 ms). */
static void
rate_waves_are_sent_by_the_beat(void **state)
{
    syncq_batch_wave_options wo;
    syncq_batch_options bo;
    syncq_task_options to;
    char id[SYNCQ_ID_SIZE];
    struct it_task *t = NULL;
    long long ct[8];
    int pid, n = 0;
    json_t *b = NULL;

    (void)state;
    sqt_flush();
    pid = it_beat_start("rate", "--lock-ttl 2");
    it_sleep_ms(300);
    memset(&bo, 0, sizeof bo);
    memset(&wo, 0, sizeof wo);
    syncq_task_options_init(&to);
    to.queue = "rq";
    bo.task = &to;
    wo.rate_count = 2;
    wo.rate_period_ms = 1000;
    assert_int_equal(syncq_batch_submit(cl, "batch_processing.work",
                                        "[1,2,3,4,5,6]", 1, &bo, &wo, id, NULL),
                     SYNCQ_OK);
    it_sleep_ms(3000);
    it_beat_stop(pid);
    (void)t;
    {
        redisReply *r = sqt_cmd("LRANGE {syncq}:q:rq:5 0 -1");
        n = (int)r->elements;
        for (int i = 0; i < n && i < 8; i++) {
            redisReply *h =
                sqt_cmd("HGET {syncq}:t:%s ct", r->element[n - 1 - i]->str);
            ct[i] = strtoll(h->str, NULL, 10);
            freeReplyObject(h);
        }
        freeReplyObject(r);
    }
    assert_int_equal(n, 6);
    assert_true(ct[1] - ct[0] < 50); /* the burst */
    for (int i = 2; i < 6; i++) {
        long long want = (long long)(i - 1) * 500;
        if (ct[i] - ct[0] < want - 30 || ct[i] - ct[0] > want + 250) {
            fail_msg("chunk %d dispatched %lld ms after the first, want ~%lld",
                     i, ct[i] - ct[0], want);
        }
    }
    assert_int_equal(syncq_batch_progress(cl, id, &b, NULL), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(b, "dispatched")), 6);
    assert_string_equal(json_string_value(json_object_get(b, "rate")), "2/s");
    json_decref(b);
}

static void
progress_list_and_bad_input(void **state)
{
    char id1[SYNCQ_ID_SIZE], id2[SYNCQ_ID_SIZE];
    syncq_batch_wave_options wo;
    syncq_batch_options bo;
    syncq_error err;
    json_t *list = NULL, *b = NULL;

    (void)state;
    sqt_flush();
    memset(&wo, 0, sizeof wo);
    memset(&bo, 0, sizeof bo);
    wo.max_in_flight = 2;
    assert_int_equal(syncq_batch_submit(cl, "batch_processing.work",
                                        "[1,2,3,4,5]", 2, &bo, &wo, id1, NULL),
                     SYNCQ_OK);
    it_sleep_ms(5);
    assert_int_equal(syncq_batch_create(cl, "batch_processing.work",
                                        "[\"a\",\"b\"]", 10, NULL, id2, NULL,
                                        NULL),
                     SYNCQ_OK);
    assert_int_equal(syncq_batch_progress(cl, id1, &b, NULL), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(b, "items")), 5);
    assert_int_equal(json_integer_value(json_object_get(b, "dispatched")), 2);
    assert_int_equal(json_integer_value(json_object_get(b, "waiting")), 1);
    assert_int_equal(json_integer_value(json_object_get(b, "running")), 2);
    assert_int_equal(json_integer_value(json_object_get(b, "pending")), 3);
    assert_string_equal(json_string_value(json_object_get(b, "state")),
                        "running");
    json_decref(b);
    assert_int_equal(syncq_batch_list(cl, 0, 10, &list, NULL), SYNCQ_OK);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(list, 0), "id")),
        id2); /* newest first */
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(list, 0), "waiting")),
        0);
    json_decref(list);
    /* bad input: nothing is created */
    assert_int_equal(
        syncq_batch_submit(cl, "bad name!", "[1]", 1, &bo, &wo, id1, &err),
        SYNCQ_EINVAL);
    assert_int_equal(
        syncq_batch_submit(cl, "t.x", "{\"a\":1}", 1, &bo, &wo, id1, &err),
        SYNCQ_EINVAL);
    assert_int_equal(
        syncq_batch_submit(cl, "t.x", "[1]", 0, &bo, &wo, id1, &err),
        SYNCQ_EINVAL);
    bo.kwargs_json = "{\"items\":1}";
    assert_int_equal(
        syncq_batch_submit(cl, "t.x", "[1]", 1, &bo, &wo, id1, &err),
        SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "items"));
    bo.kwargs_json = NULL;
    wo.max_in_flight = -1;
    assert_int_equal(
        syncq_batch_submit(cl, "t.x", "[1]", 1, &bo, &wo, id1, &err),
        SYNCQ_EINVAL);
    wo.max_in_flight = 0;
    {
        /* a chunk over the payload limit (default 8 MiB) */
        size_t big = 9u << 20;
        char *s = malloc(big + 8);
        memset(s, 'x', big + 8);
        s[0] = '[';
        s[1] = '"';
        s[big + 5] = '"';
        s[big + 6] = ']';
        s[big + 7] = '\0';
        assert_int_equal(
            syncq_batch_submit(cl, "t.x", s, 1, &bo, &wo, id1, &err),
            SYNCQ_ETOOBIG);
        assert_non_null(strstr(err.msg, "chunk 0"));
        free(s);
    }
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:batches"), 2);
    assert_int_equal(syncq_batch_progress(cl, "no-such-batch", &b, &err),
                     SYNCQ_ENOTFOUND);
    assert_int_equal(syncq_batch_progress(cl, "bad id!", &b, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(
        syncq_batch_dispatch(cl, "no-such-batch", NULL, NULL, &err),
        SYNCQ_ENOTFOUND);
}

static void
no_sanitizer_reports_in_beat_logs(void **state)
{
    (void)state;
    it_logs_clean();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(c38_hundred_children_three_fail),
        cmocka_unit_test(c38_empty_and_single_failing),
        cmocka_unit_test(fail_fast_ends_at_the_first_failure),
        cmocka_unit_test(rate_waves_are_sent_by_the_beat),
        cmocka_unit_test(progress_list_and_bad_input),
        cmocka_unit_test(no_sanitizer_reports_in_beat_logs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
