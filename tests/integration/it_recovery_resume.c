/* SPDX-License-Identifier: MIT
 *
 * it_recovery_resume.c: resume strategies and the dead-letter queue
 * against a real Redis (lua/resume.lua, lua/dead_purge.lua through the
 * public API): each strategy's effect on the record, queues, DLQ and
 * checkpoints; auto choosing RESUME or RETRY by checkpoint health; every
 * refusal leaving the task untouched; dead list / requeue (one, all, to
 * another queue) / purge / delete; batch counters; checkpoint listing
 * and cleanup.
 */
#include "sq_test.h"

#include "broker/broker.h"
#include "core/sq_time.h"
#include "sq_alloc.h"
#include "recovery/recovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
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

static void
create(const char *queue, char id[SYNCQ_ID_SIZE])
{
    syncq_task_options o;
    syncq_error err;

    syncq_task_options_init(&o);
    o.queue = queue;
    if (syncq_task_create(cl, "crawler.fetch_products", NULL,
                          "{\"category_id\":\"1\"}", &o, id, NULL,
                          &err) != SYNCQ_OK) {
        fail_msg("create: %s", err.msg);
    }
}

/* Lease the next task of `queue`; copies its token. */
static void
lease_one(const char *queue, const char *want_id, char token[32])
{
    const char *q[] = {queue};
    struct sq_lease_req req = {"w1:1", 60000, 1, 1, q, 1};
    struct sq_lease_reply r;
    syncq_error err;

    memset(&r, 0, sizeof r);
    if (sq_broker_settle_lease(cl, NULL, 0, NULL, &req, &r, &err) !=
        SYNCQ_OK) {
        fail_msg("lease: %s", err.msg);
    }
    assert_int_equal(r.n, 1);
    assert_string_equal(r.tasks[0].id, want_id);
    snprintf(token, 32, "%s", r.tasks[0].token);
    sq_lease_reply_cleanup(&r);
}

static void
settle(enum sq_settle_kind kind, const char *id, const char *token,
       bool dead)
{
    struct sq_settle_op op;
    syncq_error err;
    int st = -1;

    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.id = id;
    op.token = token;
    op.result_json = "{\"ok\":true}";
    op.err_class = "network";
    op.err_msg = "connection reset by peer";
    op.runtime_ms = 12;
    op.delay_ms = 60000;
    op.dead = dead;
    if (sq_broker_settle_lease(cl, &op, 1, &st, NULL, NULL, &err) !=
        SYNCQ_OK) {
        fail_msg("settle: %s", err.msg);
    }
    assert_int_equal(st, SQ_SETTLED);
}

/* A task that ran once and ended FAILURE (also dead-lettered when
 * `dead`, as a policy with dead_letter does). */
static void
make_failed(const char *queue, bool dead, char id[SYNCQ_ID_SIZE])
{
    char token[32];

    create(queue, id);
    lease_one(queue, id, token);
    settle(SQ_SETTLE_FAIL, id, token, dead);
}

static char *
field(const char *id, const char *f)
{
    static char buf[4096];
    redisReply *r = sqt_cmd("HGET {syncq}:t:%s %s", id, f);

    if (r->type == REDIS_REPLY_STRING) {
        snprintf(buf, sizeof buf, "%s", r->str);
    } else {
        buf[0] = '\0';
    }
    freeReplyObject(r);
    return buf;
}

/* Dead letters of `queue` per {syncq}:dlqn (0 when absent). */
static long long
dlqn(const char *queue)
{
    redisReply *r = sqt_cmd("HGET {syncq}:dlqn %s", queue);
    long long n = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;

    freeReplyObject(r);
    return n;
}

/* Is `id` in the dead-letter queue? */
static bool
in_dlq(const char *id)
{
    redisReply *r = sqt_cmd("ZSCORE {syncq}:dlq %s", id);
    bool yes = r->type == REDIS_REPLY_STRING;

    freeReplyObject(r);
    return yes;
}

static long long
stat_of(const char *f)
{
    redisReply *r = sqt_cmd("HGET {syncq}:stats %s", f);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;

    freeReplyObject(r);
    return v;
}

static void
save_cp(const char *id, int64_t seq, const char *data)
{
    syncq_error err;

    if (sq_checkpoint_save(cl, id, NULL, data, strlen(data), seq, &err) !=
        SYNCQ_OK) {
        fail_msg("save: %s", err.msg);
    }
}

static int
resume(const char *id, int strategy, syncq_resume_result *res,
       syncq_error *err)
{
    syncq_resume_options o = {"alice", NULL};

    return syncq_task_resume(cl, id, strategy, &o, res, err);
}

/* The task is PENDING, first in `queue` (priority 5), persistent. */
static void
assert_requeued(const char *id, const char *queue)
{
    redisReply *r;

    assert_string_equal(sqt_task_state(cl, id), "PENDING");
    r = sqt_cmd("LRANGE {syncq}:q:%s:5 0 -1", queue);
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, id);
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("PTTL {syncq}:t:%s", id), -1);
    assert_false(in_dlq(id));
    assert_string_equal(field(id, "lost"), "0");
    assert_string_equal(field(id, "retries"), "0");
    assert_string_equal(field(id, "dt"), "");
    assert_string_equal(field(id, "dead_reason"), "");
}

static void
retry_from_failure_keeps_history_and_checkpoints(void **state)
{
    char id[SYNCQ_ID_SIZE], token[32];
    syncq_resume_result res;
    syncq_error err;
    json_t *t = NULL, *hist;

    (void)state;
    make_failed("crawler", false, id);
    save_cp(id, 7, "page 7");
    assert_true(sqt_cmd_int("PTTL {syncq}:t:%s", id) > 0);
    sqt_cmd_int("HSET {syncq}:t:%s lost 2 retries 3", id);
    assert_int_equal(resume(id, SYNCQ_RESUME_RETRY, &res, &err), SYNCQ_OK);
    assert_int_equal(res.strategy, SYNCQ_RESUME_RETRY);
    assert_string_equal(res.prev_state, "FAILURE");
    assert_int_equal(res.checkpoint_seq, -1);
    assert_requeued(id, "crawler");
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:%s", id), 1);
    /* the record tells what happened, errors are kept */
    assert_int_equal(syncq_task_info(cl, id, &t, &err), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t,
                                                          "resume_strategy")),
                        "retry");
    assert_int_equal(json_array_size(json_object_get(t, "errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(t, "attempt")), 1);
    json_decref(t);
    hist = json_loads(field(id, "rhist"), 0, NULL);
    assert_non_null(hist);
    assert_int_equal(json_array_size(hist), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(hist, 0), "by")),
                        "alice");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(hist, 0), "from")),
                        "FAILURE");
    json_decref(hist);
    /* it runs again: a worker leases it and it can succeed */
    lease_one("crawler", id, token);
    assert_string_equal(field(id, "attempt"), "2");
    settle(SQ_SETTLE_OK, id, token, false);
    assert_string_equal(sqt_task_state(cl, id), "SUCCESS");
    assert_true(sqt_cmd_int("PTTL {syncq}:t:%s", id) > 0);
    /* listed once among the recent, not twice */
    {
        redisReply *r = sqt_cmd("LPOS {syncq}:recent %s COUNT 0", id);
        assert_int_equal(r->elements, 1);
        freeReplyObject(r);
    }
}

static void
resume_needs_a_good_checkpoint_and_records_its_step(void **state)
{
    char id[SYNCQ_ID_SIZE];
    syncq_resume_result res;
    syncq_error err;

    (void)state;
    make_failed("crawler", false, id);
    assert_int_equal(resume(id, SYNCQ_RESUME_RESUME, &res, &err),
                     SYNCQ_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no good checkpoint"));
    assert_non_null(strstr(err.msg, "retry"));
    assert_string_equal(sqt_task_state(cl, id), "FAILURE");
    save_cp(id, 41, "at 41");
    save_cp(id, 42, "at 42");
    assert_int_equal(resume(id, SYNCQ_RESUME_RESUME, &res, &err), SYNCQ_OK);
    assert_int_equal(res.strategy, SYNCQ_RESUME_RESUME);
    assert_int_equal(res.checkpoint_seq, 42);
    assert_requeued(id, "crawler");
    assert_string_equal(field(id, "resume"), "resume");
    assert_string_equal(field(id, "resume_seq"), "42");
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:%s", id), 2);
}

static void
auto_picks_resume_or_retry(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE], c2[SYNCQ_ID_SIZE];
    syncq_resume_result res;
    syncq_error err;
    redisReply *r;

    (void)state;
    make_failed("crawler", true, a);
    save_cp(a, 3, "three");
    assert_int_equal(resume(a, SYNCQ_RESUME_AUTO, &res, &err), SYNCQ_OK);
    assert_int_equal(res.strategy, SYNCQ_RESUME_RESUME);
    assert_int_equal(res.checkpoint_seq, 3);
    assert_string_equal(res.prev_state, "FAILURE"); /* dead-lettered */
    assert_string_equal(field(a, "resume"), "resume");

    make_failed("data_sync", false, b);
    assert_int_equal(resume(b, SYNCQ_RESUME_AUTO, &res, &err), SYNCQ_OK);
    assert_int_equal(res.strategy, SYNCQ_RESUME_RETRY);
    assert_string_equal(field(b, "resume"), "retry");

    /* only a corrupt checkpoint: auto falls back to retry */
    make_failed("image_processing", false, c2);
    save_cp(c2, 9, "nine");
    r = sqt_cmd("LSET {syncq}:cp:%s 0 %s", c2, "SQCP1 9 1 4 bad\nnine");
    freeReplyObject(r);
    assert_int_equal(resume(c2, SYNCQ_RESUME_AUTO, &res, &err), SYNCQ_OK);
    assert_int_equal(res.strategy, SYNCQ_RESUME_RETRY);
    assert_int_equal(res.checkpoint_seq, -1);
    assert_string_equal(field(c2, "resume_seq"), "");
}

static void
restart_drops_checkpoints_and_progress(void **state)
{
    char id[SYNCQ_ID_SIZE];
    syncq_resume_result res;
    syncq_error err;

    (void)state;
    make_failed("crawler", false, id);
    save_cp(id, 5, "five");
    sqt_cmd_int("LPUSH {syncq}:cpbad:%s junk", id);
    sqt_cmd_int("HSET {syncq}:t:%s progress {\"current\":5,\"total\":9}", id);
    assert_int_equal(resume(id, SYNCQ_RESUME_RESTART, &res, &err), SYNCQ_OK);
    assert_int_equal(res.strategy, SYNCQ_RESUME_RESTART);
    assert_requeued(id, "crawler");
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:%s", id), 0);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cpbad:%s", id), 0);
    assert_string_equal(field(id, "progress"), "");
    assert_string_equal(field(id, "cp_seq"), "");
}

static void
skip_marks_done_without_running(void **state)
{
    char id[SYNCQ_ID_SIZE], pend[SYNCQ_ID_SIZE], ret[SYNCQ_ID_SIZE];
    char token[32];
    syncq_resume_result res;
    syncq_error err;
    json_t *t = NULL;

    (void)state;
    make_failed("crawler", true, id);
    assert_int_equal(resume(id, SYNCQ_RESUME_SKIP, &res, &err), SYNCQ_OK);
    assert_int_equal(syncq_task_info(cl, id, &t, &err), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t, "state")),
                        "SKIPPED");
    assert_string_equal(json_string_value(json_object_get(t, "skipped_by")),
                        "alice");
    assert_non_null(json_object_get(t, "skipped_at"));
    json_decref(t);
    assert_false(in_dlq(id));
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 0);
    /* final: it expires like any finished task */
    assert_true(sqt_cmd_int("PTTL {syncq}:t:%s", id) > 0);
    assert_int_equal(stat_of("skipped|crawler|crawler.fetch_products"), 1);

    /* a queued task: taken off its queue */
    create("crawler", pend);
    assert_int_equal(resume(pend, SYNCQ_RESUME_SKIP, &res, &err), SYNCQ_OK);
    assert_string_equal(res.prev_state, "PENDING");
    assert_string_equal(sqt_task_state(cl, pend), "SKIPPED");
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 0);
    /* a task waiting for its retry: taken out of the delayed set */
    create("crawler", ret);
    lease_one("crawler", ret, token);
    settle(SQ_SETTLE_RETRY, ret, token, false);
    assert_string_equal(sqt_task_state(cl, ret), "RETRY");
    assert_int_equal(resume(ret, SYNCQ_RESUME_SKIP, &res, &err), SYNCQ_OK);
    assert_string_equal(sqt_task_state(cl, ret), "SKIPPED");
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 0);
}

static void
manual_parks_in_the_dead_letter_queue(void **state)
{
    char id[SYNCQ_ID_SIZE], ret[SYNCQ_ID_SIZE], token[32];
    syncq_resume_result res;
    syncq_error err;

    (void)state;
    make_failed("crawler", false, id);
    assert_int_equal(resume(id, SYNCQ_RESUME_MANUAL, &res, &err), SYNCQ_OK);
    assert_string_equal(sqt_task_state(cl, id), "DEAD");
    assert_string_equal(field(id, "dead_reason"), "manual");
    assert_int_equal(sqt_cmd_int("PTTL {syncq}:t:%s", id), -1);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 1);
    /* again on a dead one: stays, decision recorded */
    assert_int_equal(resume(id, SYNCQ_RESUME_MANUAL, &res, &err), SYNCQ_OK);
    assert_string_equal(res.prev_state, "DEAD");
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 1);
    /* a retrying task can be parked too */
    create("crawler", ret);
    lease_one("crawler", ret, token);
    settle(SQ_SETTLE_RETRY, ret, token, false);
    assert_int_equal(resume(ret, SYNCQ_RESUME_MANUAL, &res, &err), SYNCQ_OK);
    assert_string_equal(sqt_task_state(cl, ret), "DEAD");
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 0);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 2);
}

/* Every refusal: clear error, record unchanged. */
static void
refusals_change_nothing(void **state)
{
    char run[SYNCQ_ID_SIZE], ok[SYNCQ_ID_SIZE], pend[SYNCQ_ID_SIZE];
    char token[32], poison[SYNCQ_ID_SIZE];
    syncq_resume_result res;
    syncq_error err;
    redisReply *before, *after;

    (void)state;
    create("crawler", run);
    lease_one("crawler", run, token);
    before = sqt_cmd("HGETALL {syncq}:t:%s", run);
    for (int s = 0; s < SYNCQ_RESUME__COUNT; s++) {
        assert_int_equal(resume(run, s, &res, &err), SYNCQ_ESTATE);
        assert_non_null(strstr(err.msg, "is running (STARTED on worker "
                                        "w1:1)"));
    }
    after = sqt_cmd("HGETALL {syncq}:t:%s", run);
    assert_int_equal(before->elements, after->elements);
    for (size_t i = 0; i < before->elements; i++) {
        assert_string_equal(before->element[i]->str, after->element[i]->str);
    }
    freeReplyObject(before);
    freeReplyObject(after);

    settle(SQ_SETTLE_OK, run, token, false);
    snprintf(ok, sizeof ok, "%s", run);
    for (int s = 0; s < SYNCQ_RESUME__COUNT; s++) {
        assert_int_equal(resume(ok, s, &res, &err), SYNCQ_ESTATE);
        assert_non_null(strstr(err.msg, "already succeeded"));
    }
    assert_string_equal(sqt_task_state(cl, ok), "SUCCESS");

    create("crawler", pend);
    assert_int_equal(resume(pend, SYNCQ_RESUME_RETRY, &res, &err),
                     SYNCQ_ESTATE);
    assert_non_null(strstr(err.msg, "already waiting to run (PENDING)"));
    assert_int_equal(resume(pend, SYNCQ_RESUME_RESTART, &res, &err),
                     SYNCQ_ESTATE);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 1);
    assert_int_equal(resume(pend, SYNCQ_RESUME_SKIP, &res, &err), SYNCQ_OK);
    assert_int_equal(resume(pend, SYNCQ_RESUME_RETRY, &res, &err),
                     SYNCQ_ESTATE);
    assert_non_null(strstr(err.msg, "already skipped"));

    assert_int_equal(resume("no-such-task", SYNCQ_RESUME_AUTO, &res, &err),
                     SYNCQ_ENOTFOUND);
    assert_int_equal(resume("", SYNCQ_RESUME_AUTO, &res, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(resume(pend, 17, &res, &err), SYNCQ_EINVAL);
    {
        syncq_resume_options o = {"bob", "bad queue!"};
        assert_int_equal(syncq_task_resume(cl, pend, SYNCQ_RESUME_RETRY, &o,
                                           &res, &err),
                         SYNCQ_EINVAL);
    }

    assert_int_equal(sq_broker_poison(cl, "crawler", "\xff\xfe garbage", 10,
                                      "not_json", poison, &err),
                     SYNCQ_OK);
    assert_int_equal(resume(poison, SYNCQ_RESUME_RETRY, &res, &err),
                     SYNCQ_ESTATE);
    assert_non_null(strstr(err.msg, "poison entry"));
    assert_string_equal(sqt_task_state(cl, poison), "DEAD");
    /* but a person may skip it */
    assert_int_equal(resume(poison, SYNCQ_RESUME_SKIP, &res, &err),
                     SYNCQ_OK);
}

static void
expired_and_revoked_tasks_can_run_again(void **state)
{
    char exp[SYNCQ_ID_SIZE], rev[SYNCQ_ID_SIZE];
    syncq_task_options o;
    syncq_resume_result res;
    syncq_error err;
    int outcome;

    (void)state;
    syncq_task_options_init(&o);
    o.queue = "crawler";
    /* a past expiry is refused at creation: let one lapse before the
     * task is leased, which records it EXPIRED */
    o.expires_ms = sq_now_ms() + 50;
    assert_int_equal(syncq_task_create(cl, "crawler.fetch_products", NULL,
                                       "{\"category_id\":\"1\"}", &o, exp,
                                       NULL, &err),
                     SYNCQ_OK);
    usleep(100 * 1000);
    {
        const char *q[] = {"crawler"};
        struct sq_lease_req req = {"w1:1", 60000, 1, 1, q, 1};
        struct sq_lease_reply r;
        memset(&r, 0, sizeof r);
        assert_int_equal(sq_broker_settle_lease(cl, NULL, 0, NULL, &req, &r,
                                                &err),
                         SYNCQ_OK);
        assert_int_equal(r.n, 0);
        sq_lease_reply_cleanup(&r);
    }
    assert_string_equal(sqt_task_state(cl, exp), "EXPIRED");
    assert_int_equal(resume(exp, SYNCQ_RESUME_RETRY, &res, &err), SYNCQ_OK);
    assert_requeued(exp, "crawler");
    assert_string_equal(field(exp, "exp"), "");

    create("data_sync", rev);
    assert_int_equal(syncq_task_revoke(cl, rev, "test", &outcome, NULL,
                                       &err),
                     SYNCQ_OK);
    assert_string_equal(sqt_task_state(cl, rev), "REVOKED");
    assert_int_equal(resume(rev, SYNCQ_RESUME_RETRY, &res, &err), SYNCQ_OK);
    assert_requeued(rev, "data_sync");
    assert_string_equal(field(rev, "revoke_by"), "");
}

static void
dead_list_newest_first_with_filters(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE], c2[SYNCQ_ID_SIZE];
    char poison[SYNCQ_ID_SIZE];
    syncq_dead_filter f;
    json_t *arr = NULL;
    size_t total = 0;
    syncq_error err;

    (void)state;
    make_failed("crawler", true, a);
    make_failed("data_sync", true, b);
    make_failed("crawler", false, c2); /* FAILURE, not dead */
    assert_int_equal(sq_broker_poison(cl, "crawler", "raw", 3, "not_json",
                                      poison, &err),
                     SYNCQ_OK);
    /* distinct death times for a stable order */
    sqt_cmd_int("ZADD {syncq}:dlq 1000 %s 2000 %s 3000 %s", a, b, poison);
    assert_int_equal(syncq_dead_list(cl, NULL, &arr, &total, &err), SYNCQ_OK);
    assert_int_equal(total, 3);
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(arr, 0), "id")),
                        poison);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(arr, 2), "id")),
                        a);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(arr, 2), "dead_reason")),
                        "network");
    json_decref(arr);
    memset(&f, 0, sizeof f);
    f.queue = "crawler";
    assert_int_equal(syncq_dead_list(cl, &f, &arr, NULL, &err), SYNCQ_OK);
    assert_int_equal(json_array_size(arr), 2);
    json_decref(arr);
    f.reason = "poison:";
    assert_int_equal(syncq_dead_list(cl, &f, &arr, NULL, &err), SYNCQ_OK);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    memset(&f, 0, sizeof f);
    f.offset = 1;
    f.limit = 1;
    assert_int_equal(syncq_dead_list(cl, &f, &arr, NULL, &err), SYNCQ_OK);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(arr, 0), "id")),
                        b);
    json_decref(arr);
}

static void
dead_requeue_one_all_and_to_another_queue(void **state)
{
    char ids[4][SYNCQ_ID_SIZE], fail[SYNCQ_ID_SIZE], poison[SYNCQ_ID_SIZE];
    size_t requeued = 0, left = 0;
    syncq_error err;
    char token[32];

    (void)state;
    for (int i = 0; i < 4; i++) {
        make_failed("crawler", true, ids[i]);
    }
    make_failed("crawler", false, fail);
    assert_int_equal(sq_broker_poison(cl, "crawler", "raw", 3, "not_json",
                                      poison, &err),
                     SYNCQ_OK);
    /* per-queue dead-letter count: 4 failures + the poison entry */
    assert_int_equal(dlqn("crawler"), 5);
    /* not dead: refused */
    assert_int_equal(syncq_dead_requeue(cl, fail, NULL, "bob", &err),
                     SYNCQ_ESTATE);
    assert_non_null(strstr(err.msg, "not in the dead-letter queue"));
    assert_int_equal(syncq_dead_requeue(cl, "nope", NULL, "bob", &err),
                     SYNCQ_ENOTFOUND);
    /* one, into another queue */
    assert_int_equal(syncq_dead_requeue(cl, ids[0], "batch_processing", "bob",
                                        &err),
                     SYNCQ_OK);
    assert_requeued(ids[0], "batch_processing");
    assert_int_equal(dlqn("crawler"), 4);
    assert_int_equal(sqt_cmd_int("SISMEMBER {syncq}:queues "
                                 "batch_processing"),
                     1);
    assert_string_equal(field(ids[0], "resume_by"), "bob");
    /* it runs again there */
    lease_one("batch_processing", ids[0], token);
    settle(SQ_SETTLE_OK, ids[0], token, false);
    assert_string_equal(sqt_task_state(cl, ids[0]), "SUCCESS");
    /* all the rest; the poison entry stays */
    assert_int_equal(syncq_dead_requeue_all(cl, NULL, "bob", &requeued, &left,
                                            &err),
                     SYNCQ_OK);
    assert_int_equal(requeued, 3);
    assert_int_equal(left, 1);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 3);
    assert_true(in_dlq(poison));
    for (int i = 1; i < 4; i++) {
        assert_string_equal(sqt_task_state(cl, ids[i]), "PENDING");
    }
    assert_string_equal(sqt_task_state(cl, fail), "FAILURE");
    assert_int_equal(dlqn("crawler"), 1);
    /* purged: the count goes with it */
    assert_int_equal(syncq_dead_delete(cl, poison, &err), SYNCQ_OK);
    assert_int_equal(sqt_cmd_int("HEXISTS {syncq}:dlqn crawler"), 0);
}

static void
requeue_all_pages_through_many(void **state)
{
    size_t requeued = 0, left = 0;
    syncq_error err;

    (void)state;
    for (int i = 0; i < 250; i++) {
        char id[SYNCQ_ID_SIZE];
        make_failed("crawler", true, id);
        if (i % 50 == 0) {
            char p[SYNCQ_ID_SIZE];
            assert_int_equal(sq_broker_poison(cl, "crawler", "x", 1,
                                              "not_json", p, &err),
                             SYNCQ_OK);
        }
    }
    assert_int_equal(syncq_dead_requeue_all(cl, "crawler", NULL, &requeued,
                                            &left, &err),
                     SYNCQ_OK);
    assert_int_equal(requeued, 250);
    assert_int_equal(left, 5);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 250);
}

static void
purge_by_age_and_by_id(void **state)
{
    char old1[SYNCQ_ID_SIZE], old2[SYNCQ_ID_SIZE], young[SYNCQ_ID_SIZE];
    char fail[SYNCQ_ID_SIZE];
    size_t purged = 99;
    syncq_error err;

    (void)state;
    make_failed("crawler", true, old1);
    make_failed("crawler", true, old2);
    make_failed("crawler", true, young);
    make_failed("crawler", false, fail);
    save_cp(old1, 1, "x");
    {
        redisReply *t = sqt_cmd("TIME");
        long long now = atoll(t->element[0]->str) * 1000;
        freeReplyObject(t);
        sqt_cmd_int("ZADD {syncq}:dlq %lld %s %lld %s", now - 31LL * 86400000,
                    old1, now - 40LL * 86400000, old2);
    }
    assert_int_equal(syncq_dead_purge(cl, -1, &purged, &err), SYNCQ_EINVAL);
    assert_int_equal(syncq_dead_purge(cl, 30LL * 86400000, &purged, &err),
                     SYNCQ_OK);
    assert_int_equal(purged, 2);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:t:%s", old1), 0);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:t:%s", old2), 0);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:%s", old1), 0);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 1);
    assert_string_equal(sqt_task_state(cl, young), "FAILURE");
    assert_true(in_dlq(young));
    /* purging again finds nothing */
    assert_int_equal(syncq_dead_purge(cl, 30LL * 86400000, &purged, &err),
                     SYNCQ_OK);
    assert_int_equal(purged, 0);
    /* by id */
    assert_int_equal(syncq_dead_delete(cl, fail, &err), SYNCQ_ESTATE);
    assert_string_equal(sqt_task_state(cl, fail), "FAILURE");
    assert_int_equal(syncq_dead_delete(cl, "nope", &err), SYNCQ_ENOTFOUND);
    assert_int_equal(syncq_dead_delete(cl, young, &err), SYNCQ_OK);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:t:%s", young), 0);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 0);
}

static void
batch_counters_follow_a_resumed_chunk(void **state)
{
    char batch[SYNCQ_ID_SIZE], token[32];
    json_t *ids = NULL, *info = NULL;
    syncq_task_options o;
    syncq_batch_options bo;
    syncq_resume_result res;
    syncq_error err;
    const char *first, *second;

    (void)state;
    syncq_task_options_init(&o);
    o.queue = "batch_processing";
    memset(&bo, 0, sizeof bo);
    bo.task = &o;
    assert_int_equal(syncq_batch_create(cl, "batch_processing.process_items",
                                        "[1,2,3,4]", 2, &bo, batch, &ids,
                                        &err),
                     SYNCQ_OK);
    first = json_string_value(json_array_get(ids, 0));
    second = json_string_value(json_array_get(ids, 1));
    lease_one("batch_processing", first, token);
    settle(SQ_SETTLE_FAIL, first, token, true);
    lease_one("batch_processing", second, token);
    settle(SQ_SETTLE_OK, second, token, false);
    assert_int_equal(syncq_batch_info(cl, batch, &info, &err), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(info, "done")), 1);
    json_decref(info);
    assert_int_equal(resume(first, SYNCQ_RESUME_RETRY, &res, &err), SYNCQ_OK);
    assert_int_equal(syncq_batch_info(cl, batch, &info, &err), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "failed")), 0);
    json_decref(info);
    lease_one("batch_processing", first, token);
    settle(SQ_SETTLE_OK, first, token, false);
    assert_int_equal(syncq_batch_info(cl, batch, &info, &err), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "failed")), 0);
    assert_int_equal(json_integer_value(json_object_get(info, "done")), 2);
    json_decref(info);
    json_decref(ids);
}

static void
checkpoint_listing_shows_good_and_bad(void **state)
{
    json_t *arr = NULL;
    syncq_error err;
    void *data = NULL;
    size_t len;
    int64_t seq;
    redisReply *r;

    (void)state;
    save_cp("t-list", 1, "one");
    save_cp("t-list", 2, "two");
    save_cp("t-list", 3, "three");
    r = sqt_cmd("LSET {syncq}:cp:t-list 1 %s", "SQCP1 2 5 3 zz\ntwo");
    freeReplyObject(r);
    assert_int_equal(syncq_checkpoint_list(cl, "t-list", &arr, &err),
                     SYNCQ_OK);
    assert_int_equal(json_array_size(arr), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0),
                                                        "seq")),
                     3);
    assert_true(json_is_true(json_object_get(json_array_get(arr, 0), "ok")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0),
                                                        "size")),
                     5);
    assert_non_null(json_object_get(json_array_get(arr, 0), "at"));
    assert_true(json_is_false(json_object_get(json_array_get(arr, 1), "ok")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(arr, 1), "problem")),
                        "malformed header");
    json_decref(arr);
    /* listing changed nothing; a load quarantines the bad one */
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:t-list"), 3);
    r = sqt_cmd("LSET {syncq}:cp:t-list 0 %s", "broken");
    freeReplyObject(r);
    assert_int_equal(sq_checkpoint_load(cl, "t-list", &data, &len, &seq,
                                        &err),
                     SYNCQ_OK);
    assert_int_equal(seq, 1);
    sq_free(data);
    assert_int_equal(syncq_checkpoint_list(cl, "t-list", &arr, &err),
                     SYNCQ_OK);
    assert_int_equal(json_array_size(arr), 3);
    assert_true(json_is_true(json_object_get(json_array_get(arr, 0), "ok")));
    assert_true(json_is_true(json_object_get(json_array_get(arr, 1),
                                             "quarantined")));
    assert_true(json_is_true(json_object_get(json_array_get(arr, 2),
                                             "quarantined")));
    json_decref(arr);
    assert_int_equal(syncq_checkpoint_list(cl, "none-here", &arr, &err),
                     SYNCQ_OK);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
}

/* An envelope saved `age_ms` ago (written directly, as an old save). */
static void
push_old_checkpoint(const char *id, long long age_ms)
{
    redisReply *t = sqt_cmd("TIME");
    long long at = atoll(t->element[0]->str) * 1000 - age_ms;
    char sha[65], env[200];
    int n;

    freeReplyObject(t);
    assert_true(sq_checkpoint_digest(1, "old", 3, sha));
    n = snprintf(env, sizeof env, "SQCP1 1 %lld 3 %s\nold", at, sha);
    sqt_cmd_int("LPUSH {syncq}:cp:%s %b", id, env, (size_t)n);
}

static void
cleanup_removes_old_and_finished_only(void **state)
{
    char done[SYNCQ_ID_SIZE], failed[SYNCQ_ID_SIZE], token[32];
    size_t removed = 99;
    syncq_error err;

    (void)state;
    create("crawler", done);
    lease_one("crawler", done, token);
    save_cp(done, 1, "x");
    settle(SQ_SETTLE_OK, done, token, false);
    make_failed("crawler", false, failed);
    save_cp(failed, 1, "keep me");
    push_old_checkpoint("old-local", 8LL * 86400000);
    sqt_cmd_int("LPUSH {syncq}:cpbad:orphan junk");
    save_cp("young-local", 1, "keep");
    assert_int_equal(syncq_checkpoint_cleanup(cl, -5, &removed, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_checkpoint_cleanup(cl, 7LL * 86400000, &removed,
                                              &err),
                     SYNCQ_OK);
    assert_int_equal(removed, 3); /* done, old-local, orphan quarantine */
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:%s", done), 0);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:old-local"), 0);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cpbad:orphan"), 0);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:%s", failed), 1);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:young-local"), 1);
    /* --older-than 0: everything saved before now goes */
    usleep(20000);
    assert_int_equal(syncq_checkpoint_cleanup(cl, 0, &removed, &err),
                     SYNCQ_OK);
    assert_int_equal(removed, 2);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:%s", failed), 0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(retry_from_failure_keeps_history_and_checkpoints),
        T(resume_needs_a_good_checkpoint_and_records_its_step),
        T(auto_picks_resume_or_retry),
        T(restart_drops_checkpoints_and_progress),
        T(skip_marks_done_without_running),
        T(manual_parks_in_the_dead_letter_queue),
        T(refusals_change_nothing),
        T(expired_and_revoked_tasks_can_run_again),
        T(dead_list_newest_first_with_filters),
        T(dead_requeue_one_all_and_to_another_queue),
        T(requeue_all_pages_through_many),
        T(purge_by_age_and_by_id),
        T(batch_counters_follow_a_resumed_chunk),
        T(checkpoint_listing_shows_good_and_bad),
        T(cleanup_removes_old_and_finished_only),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
