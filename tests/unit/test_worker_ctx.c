/* SPDX-License-Identifier: MIT
 *
 * test_worker_ctx.c: the task context and syncq_task_run_local without a
 * broker: the built-in syncq.* tasks, byte-exact arguments (C37), error
 * classes, not_registered, result size limit, stop requests, local
 * checkpoints, tasks that return without finishing, the retry decision of
 * worker_outcome.c, and allocation failures at every step.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "worker/worker_ctx.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static syncq_config *cfg;

static int
setup(void **state)
{
    (void)state;
    if (syncq_config_new(&cfg, NULL) != SYNCQ_OK) {
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    syncq_config_free(cfg);
    return 0;
}

/* Run `name` with kwargs text (NULL: {}) and no broker. */
static int
run(const char *name, const char *kwargs, syncq_local_result *out)
{
    json_t *kw = NULL;
    int rc;

    if (kwargs != NULL) {
        kw = json_loads(kwargs, JSON_ALLOW_NUL, NULL);
        assert_non_null(kw);
    }
    rc = syncq_task_run_local(NULL, name, NULL, kw, NULL, cfg, NULL, out,
                              NULL);
    json_decref(kw);
    return rc;
}

static void
noop_returns_null(void **state)
{
    syncq_local_result r;

    (void)state;
    assert_int_equal(run("syncq.noop", NULL, &r), SYNCQ_OK);
    assert_int_equal(r.ok, 1);
    assert_true(json_is_null(r.result));
    syncq_local_result_cleanup(&r);
}

static void
echo_is_byte_exact(void **state)
{
    /* C37: Chinese, emoji, an embedded NUL survive unchanged. */
    const char *kw = "{\"title\":\"女装连衣裙 2024新款\",\"e\":\"😀\","
                     "\"nul\":\"a\\u0000b\",\"n\":[1,2.5,null,true]}";
    syncq_local_result r;
    json_t *want = json_loads(kw, JSON_ALLOW_NUL, NULL);

    (void)state;
    assert_int_equal(run("syncq.echo", kw, &r), SYNCQ_OK);
    assert_int_equal(r.ok, 1);
    assert_true(json_equal(r.result, want));
    assert_int_equal(json_string_length(json_object_get(r.result, "nul")), 3);
    assert_memory_equal(json_string_value(json_object_get(r.result, "nul")),
                        "a\0b", 3);
    json_decref(want);
    syncq_local_result_cleanup(&r);
}

static void
fail_reports_the_class_and_retry_after(void **state)
{
    syncq_local_result r;

    (void)state;
    assert_int_equal(run("syncq.fail",
                         "{\"class\":\"rate_limited\",\"message\":\"slow "
                         "down\\nplease\",\"retry_after_ms\":1500,"
                         "\"detail\":{\"body\":\"<html>\"}}",
                         &r),
                     SYNCQ_OK);
    assert_int_equal(r.ok, 0);
    assert_int_equal(r.error_class, SYNCQ_ERR_RATE_LIMITED);
    /* messages are one line */
    assert_string_equal(r.error_msg, "slow down please");
    assert_int_equal(r.retry_after_ms, 1500);
    assert_string_equal(json_string_value(json_object_get(r.error_detail,
                                                          "body")),
                        "<html>");
    syncq_local_result_cleanup(&r);
    assert_int_equal(run("syncq.fail", "{\"class\":\"bogus\"}", &r), SYNCQ_OK);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    assert_non_null(strstr(r.error_msg, "bogus"));
    syncq_local_result_cleanup(&r);
}

static void
unknown_task_is_not_registered(void **state)
{
    syncq_local_result r;
    syncq_error err;

    (void)state;
    assert_int_equal(syncq_task_run_local(NULL, "crawler.nope", NULL, NULL,
                                          NULL, cfg, NULL, &r, &err),
                     SYNCQ_ENOTFOUND);
    assert_int_equal(r.ok, 0);
    assert_int_equal(r.error_class, SYNCQ_ERR_NOT_REGISTERED);
    assert_non_null(strstr(err.msg, "crawler.nope"));
}

static void
bad_argument_types_are_refused(void **state)
{
    syncq_local_result r;
    syncq_error err;
    json_t *obj = json_object(), *arr = json_array();

    (void)state;
    assert_int_equal(syncq_task_run_local(NULL, "syncq.noop", obj, NULL, NULL,
                                          cfg, NULL, &r, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_task_run_local(NULL, "syncq.noop", NULL, arr, NULL,
                                          cfg, NULL, &r, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "kwargs"));
    json_decref(obj);
    json_decref(arr);
}

static void
validation_of_builtin_kwargs(void **state)
{
    syncq_local_result r;

    (void)state;
    assert_int_equal(run("syncq.sleep", "{\"seconds\":-1}", &r), SYNCQ_OK);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    syncq_local_result_cleanup(&r);
    assert_int_equal(run("syncq.sleep", "{\"seconds\":\"1\"}", &r), SYNCQ_OK);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    syncq_local_result_cleanup(&r);
    assert_int_equal(run("syncq.crash", "{\"how\":\"gently\"}", &r),
                     SYNCQ_OK);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    syncq_local_result_cleanup(&r);
    assert_int_equal(run("syncq.alloc", "{\"kb\":0}", &r), SYNCQ_OK);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    syncq_local_result_cleanup(&r);
    /* fan-out needs a broker */
    assert_int_equal(run("syncq.fanout", "{\"count\":2}", &r), SYNCQ_OK);
    assert_int_equal(r.ok, 0);
    assert_non_null(strstr(r.error_msg, "no broker"));
    syncq_local_result_cleanup(&r);
}

static void
result_over_the_payload_limit_fails_internal(void **state)
{
    syncq_local_result r;
    syncq_config *small = NULL;
    char *kw = malloc(3000);
    json_t *k;

    (void)state;
    assert_int_equal(syncq_config_new(&small, NULL), SYNCQ_OK);
    assert_int_equal(syncq_config_set(small, "SYNCQ_MAX_PAYLOAD", "1024",
                                      NULL, NULL),
                     SYNCQ_OK);
    memcpy(kw, "{\"x\":\"", 6);
    memset(kw + 6, 'a', 2000);
    memcpy(kw + 2006, "\"}", 3);
    k = json_loads(kw, 0, NULL);
    assert_int_equal(syncq_task_run_local(NULL, "syncq.echo", NULL, k, NULL,
                                          small, NULL, &r, NULL),
                     SYNCQ_OK);
    assert_int_equal(r.ok, 0);
    assert_int_equal(r.error_class, SYNCQ_ERR_INTERNAL);
    assert_non_null(strstr(r.error_msg, "result too large: 2008 bytes"));
    assert_null(r.result);
    syncq_local_result_cleanup(&r);
    json_decref(k);
    free(kw);
    syncq_config_free(small);
}

static void
on_alarm(int sig)
{
    (void)sig;
    sq_worker_stop_flag = 1;
}

static void
sleep_stops_when_asked(void **state)
{
    struct itimerval it = {{0, 0}, {0, 200000}}; /* 200 ms */
    syncq_local_result r;

    (void)state;
    signal(SIGALRM, on_alarm);
    setitimer(ITIMER_REAL, &it, NULL);
    assert_int_equal(run("syncq.sleep", "{\"seconds\":20}", &r), SYNCQ_OK);
    signal(SIGALRM, SIG_DFL);
    assert_int_equal(r.ok, 0);
    assert_int_equal(r.error_class, SYNCQ_ERR_TIMEOUT);
    assert_non_null(strstr(r.error_msg, "stopped after"));
    assert_true(r.runtime_ms >= 150 && r.runtime_ms < 2000);
    syncq_local_result_cleanup(&r);
    sq_worker_stop_flag = 0;
}

static void
sleep_finishes_and_reports(void **state)
{
    syncq_local_result r;

    (void)state;
    assert_int_equal(run("syncq.sleep", "{\"seconds\":0.05,\"tick_ms\":10}",
                         &r),
                     SYNCQ_OK);
    assert_int_equal(r.ok, 1);
    assert_true(json_integer_value(json_object_get(r.result, "slept_ms")) >=
                50);
    syncq_local_result_cleanup(&r);
}

static void
steps_keep_a_local_checkpoint(void **state)
{
    syncq_local_result r;

    (void)state;
    assert_int_equal(run("syncq.steps", "{\"total\":5,\"step_ms\":0}", &r),
                     SYNCQ_OK);
    assert_int_equal(r.ok, 1);
    assert_int_equal(json_integer_value(json_object_get(r.result, "ran")), 5);
    assert_int_equal(
        json_integer_value(json_object_get(r.result, "resumed_from")), 0);
    syncq_local_result_cleanup(&r);
}

static void
stamp_and_alloc_report(void **state)
{
    syncq_local_result r;

    (void)state;
    assert_int_equal(run("syncq.stamp", NULL, &r), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(r.result, "pid")),
                     getpid());
    assert_int_equal(json_integer_value(json_object_get(r.result,
                                                        "attempt")),
                     1);
    syncq_local_result_cleanup(&r);
    assert_int_equal(run("syncq.alloc", "{\"kb\":64,\"hold\":false}", &r),
                     SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(r.result, "kb")), 64);
    syncq_local_result_cleanup(&r);
}

/* ---- a task written against the context directly ----------------------- */

static int
t_ctx_api(syncq_ctx *ctx)
{
    void *data = NULL;
    size_t len = 0;
    int64_t seq = 0;
    syncq_error err;
    json_t *st = NULL;

    assert_int_equal(syncq_ctx_checkpoint_load(ctx, &data, &len, &seq, &err),
                     SYNCQ_ENOTFOUND);
    assert_int_equal(syncq_ctx_checkpoint_save(ctx, "abc\0d", 5, 7, &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_ctx_checkpoint_load(ctx, &data, &len, &seq, &err),
                     SYNCQ_OK);
    assert_int_equal(len, 5);
    assert_int_equal(seq, 7);
    assert_memory_equal(data, "abc\0d", 5);
    syncq_free(data);
    assert_int_equal(syncq_ctx_checkpoint_load_json(ctx, &st, &seq, &err),
                     SYNCQ_EPROTO); /* "abc\0d" is not JSON */
    st = json_pack("{s:i}", "page", 3);
    assert_int_equal(syncq_ctx_checkpoint_save_json(ctx, st, 8, &err),
                     SYNCQ_OK);
    json_decref(st);
    assert_int_equal(syncq_ctx_checkpoint_load_json(ctx, &st, &seq, &err),
                     SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(st, "page")), 3);
    json_decref(st);
    /* progress without a broker is accepted and dropped */
    assert_int_equal(syncq_ctx_progress(ctx, 1, 10, "x", &err), SYNCQ_OK);
    assert_int_equal(syncq_ctx_progress(ctx, -1, 10, "x", &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_ctx_progress_add(ctx, 2, 10, NULL, &err),
                     SYNCQ_OK);
    assert_null(syncq_ctx_client(ctx));
    assert_int_equal(syncq_ctx_attempt(ctx), 1);
    assert_int_equal(syncq_ctx_retries(ctx), 0);
    assert_null(syncq_ctx_batch_id(ctx));
    assert_non_null(syncq_ctx_config(ctx));
    assert_string_equal(syncq_ctx_name(ctx), "test.ctx_api");
    assert_string_equal(syncq_ctx_id(ctx),
                        "11111111-2222-4333-8444-555555555555");
    assert_false(syncq_ctx_stop_requested(ctx));
    syncq_ctx_log(ctx, SYNCQ_LOG_INFO, "hello %d", 1);
    return syncq_ctx_succeed(ctx, json_string("done"));
}

static int
t_forgets_to_finish(syncq_ctx *ctx)
{
    (void)ctx;
    return SYNCQ_ECONN;
}

static int
t_big_checkpoint(syncq_ctx *ctx)
{
    static char buf[64];
    syncq_error err;

    if (syncq_ctx_checkpoint_save(ctx, buf, sizeof buf, 1, &err) !=
        SYNCQ_ETOOBIG) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL, "no limit");
    }
    return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION, "%s", err.msg);
}

/* Auto mode: every written progress report is also a checkpoint. */
static int
t_auto_ckpt(syncq_ctx *ctx)
{
    json_t *st = NULL;
    int64_t seq = 0;
    syncq_error err;
    char buf[64];

    syncq_ctx_checkpoint_auto(ctx, true);
    assert_int_equal(syncq_ctx_progress(ctx, 3, 10, "three", &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_ctx_checkpoint_load_json(ctx, &st, &seq, &err),
                     SYNCQ_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(json_integer_value(json_object_get(st, "current")), 3);
    assert_int_equal(json_integer_value(json_object_get(st, "total")), 10);
    json_decref(st);
    /* a throttled report (within 100 ms) is not checkpointed yet... */
    assert_int_equal(syncq_ctx_progress(ctx, 4, 10, NULL, &err), SYNCQ_OK);
    assert_int_equal(syncq_ctx_checkpoint_load_json(ctx, &st, &seq, &err),
                     SYNCQ_OK);
    assert_int_equal(seq, 3);
    json_decref(st);
    /* ...the final one always is */
    assert_int_equal(syncq_ctx_progress(ctx, 10, 10, NULL, &err), SYNCQ_OK);
    assert_int_equal(syncq_ctx_checkpoint_load_json(ctx, &st, &seq, &err),
                     SYNCQ_OK);
    assert_int_equal(seq, 10);
    json_decref(st);
    snprintf(buf, sizeof buf, "ok");
    return syncq_ctx_succeed(ctx, json_string(buf));
}

static int
t_bad_result(syncq_ctx *ctx)
{
    return syncq_ctx_succeed(ctx, json_pack("{s:o}", "title",
                                            json_stringn_nocheck("\xff", 1)));
}

static void
unserialisable_result_fails_internal(void **state)
{
    static const syncq_task_def def = {"test.bad_result", t_bad_result, NULL,
                                       -1, 0, 0, -1, NULL, "", "", NULL};
    syncq_registry *r = syncq_registry_default();
    syncq_local_result res;
    struct syncq_ctx ctx;
    struct sq_outcome o;
    json_t *a = json_array(), *k = json_object();

    (void)state;
    if (syncq_registry_find(r, def.name) == NULL) {
        assert_int_equal(syncq_registry_add(r, &def, NULL), SYNCQ_OK);
    }
    assert_int_equal(syncq_task_run_local(r, def.name, NULL, NULL, NULL, cfg,
                                          NULL, &res, NULL),
                     SYNCQ_OK);
    assert_int_equal(res.ok, 0);
    assert_int_equal(res.error_class, SYNCQ_ERR_INTERNAL);
    assert_non_null(strstr(res.error_msg, "cannot be serialised"));
    syncq_local_result_cleanup(&res);
    /* the worker child's path (sq_outcome_from_ctx) says the same */
    sq_ctx_init(&ctx, &def, "id", def.name, a, k, cfg);
    sq_ctx_run(&ctx);
    assert_int_equal(sq_outcome_from_ctx(&ctx, 1 << 20, &o, NULL), SYNCQ_OK);
    assert_int_equal(o.kind, SQ_OUT_FAIL);
    assert_string_equal(o.err_class, "internal");
    assert_non_null(strstr(o.err_msg, "cannot be serialised"));
    sq_outcome_cleanup(&o);
    sq_ctx_cleanup(&ctx);
    json_decref(a);
    json_decref(k);
}

static void
checkpoint_auto_mode(void **state)
{
    static const syncq_task_def def = {"test.auto_ckpt", t_auto_ckpt, NULL,
                                       -1, 0, 0, -1, NULL, "", "", NULL};
    syncq_registry *r = syncq_registry_default();
    syncq_local_result res;

    (void)state;
    if (syncq_registry_find(r, def.name) == NULL) {
        assert_int_equal(syncq_registry_add(r, &def, NULL), SYNCQ_OK);
    }
    assert_int_equal(syncq_task_run_local(r, def.name, NULL, NULL, NULL, cfg,
                                          NULL, &res, NULL),
                     SYNCQ_OK);
    assert_int_equal(res.ok, 1);
    syncq_local_result_cleanup(&res);
}

static void
context_api_in_a_local_run(void **state)
{
    static syncq_registry *r;
    static const syncq_task_def defs[] = {
        {"test.ctx_api", t_ctx_api, NULL, -1, 0, 0, -1, NULL, "", "", NULL},
        {"test.forgets", t_forgets_to_finish, NULL, -1, 0, 0, -1, NULL, "",
         "", NULL},
        {"test.big_ckpt", t_big_checkpoint, NULL, -1, 0, 0, -1, NULL, "",
         "", NULL},
    };
    syncq_local_result res;
    syncq_config *c2 = NULL;

    (void)state;
    r = syncq_registry_default();
    for (size_t i = 0; i < 3; i++) {
        if (syncq_registry_find(r, defs[i].name) == NULL) {
            assert_int_equal(syncq_registry_add(r, &defs[i], NULL),
                             SYNCQ_OK);
        }
    }
    assert_int_equal(syncq_task_run_local(r, "test.ctx_api", NULL, NULL, NULL,
                                          cfg,
                                          "11111111-2222-4333-8444-"
                                          "555555555555",
                                          &res, NULL),
                     SYNCQ_OK);
    assert_int_equal(res.ok, 1);
    assert_string_equal(json_string_value(res.result), "done");
    syncq_local_result_cleanup(&res);
    assert_int_equal(syncq_task_run_local(r, "test.forgets", NULL, NULL, NULL,
                                          cfg, NULL, &res, NULL),
                     SYNCQ_OK);
    assert_int_equal(res.ok, 0);
    assert_int_equal(res.error_class, SYNCQ_ERR_INTERNAL);
    assert_non_null(strstr(res.error_msg, "ECONN"));
    syncq_local_result_cleanup(&res);
    assert_int_equal(syncq_config_new(&c2, NULL), SYNCQ_OK);
    assert_int_equal(syncq_config_set(c2, "SYNCQ_CHECKPOINT_MAX", "16", NULL,
                                      NULL),
                     SYNCQ_OK);
    assert_int_equal(syncq_task_run_local(r, "test.big_ckpt", NULL, NULL,
                                          NULL, c2, NULL, &res, NULL),
                     SYNCQ_OK);
    assert_int_equal(res.error_class, SYNCQ_ERR_VALIDATION);
    assert_non_null(strstr(res.error_msg, "SYNCQ_CHECKPOINT_MAX"));
    syncq_local_result_cleanup(&res);
    syncq_config_free(c2);
}

/* ---- the retry decision ----------------------------------------------- */

static void
failures_follow_the_retry_policy(void **state)
{
    struct sq_outcome o;

    (void)state;
    /* network: retryable with backoff while retries remain */
    sq_outcome_for_failure(cfg, NULL, NULL, 3, 0, SYNCQ_ERR_NETWORK, "reset",
                           0, &o);
    assert_int_equal(o.kind, SQ_OUT_RETRY);
    assert_string_equal(o.err_class, "network");
    assert_string_equal(o.err_msg, "reset");
    /* exhausted: final, and dead-lettered by the built-in policy */
    sq_outcome_for_failure(cfg, NULL, NULL, 3, 3, SYNCQ_ERR_NETWORK, "reset",
                           0, &o);
    assert_int_equal(o.kind, SQ_OUT_FAIL);
    assert_true(o.dead);
    /* validation: never retried, not dead */
    sq_outcome_for_failure(cfg, NULL, NULL, 3, 0, SYNCQ_ERR_VALIDATION, "bad",
                           0, &o);
    assert_int_equal(o.kind, SQ_OUT_FAIL);
    assert_false(o.dead);
    /* Retry-After raises the delay */
    sq_outcome_for_failure(cfg, NULL, "{\"rate_limited\":{\"jitter\":false,"
                                      "\"base_ms\":10}}",
                           3, 0, SYNCQ_ERR_RATE_LIMITED, "429", 60000, &o);
    assert_int_equal(o.kind, SQ_OUT_RETRY);
    assert_int_equal(o.delay_ms, 60000);
    /* per-call policy: timeout not retryable -> plain FAILURE */
    sq_outcome_for_failure(cfg, NULL, "{\"timeout\":{\"retryable\":false,"
                                      "\"dead_letter\":false}}",
                           3, 0, SYNCQ_ERR_TIMEOUT, "slow", 0, &o);
    assert_int_equal(o.kind, SQ_OUT_FAIL);
    assert_false(o.dead);
    /* a broken policy makes the failure final and says why */
    sq_outcome_for_failure(cfg, NULL, "{not json", 3, 0, SYNCQ_ERR_NETWORK,
                           "reset", 0, &o);
    assert_int_equal(o.kind, SQ_OUT_FAIL);
    assert_non_null(strstr(o.err_msg, "retry policy unusable"));
    /* out-of-range classes become internal */
    sq_outcome_for_failure(cfg, NULL, NULL, 0, 0, 999, "x", 0, &o);
    assert_string_equal(o.err_class, "internal");
}

static void
allocation_failures_in_a_local_run(void **state)
{
    json_t *kw = json_pack("{s:s,s:[i,i]}", "a", "女装", "b", 1, 2);

    (void)state;
    for (long nth = 1; nth < 400; nth++) {
        syncq_local_result r;
        int rc;
        sq_alloc_fail_at(nth);
        rc = syncq_task_run_local(NULL, "syncq.echo", NULL, kw, NULL, cfg,
                                  NULL, &r, NULL);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_OK) {
            if (r.ok) {
                assert_true(json_equal(r.result, kw));
                syncq_local_result_cleanup(&r);
                json_decref(kw);
                return;
            }
            /* a failed allocation inside the run: reported, not crashed */
            syncq_local_result_cleanup(&r);
        } else {
            assert_int_equal(rc, SYNCQ_ENOMEM);
        }
    }
    json_decref(kw);
    fail_msg("never succeeded");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(noop_returns_null),
        cmocka_unit_test(echo_is_byte_exact),
        cmocka_unit_test(fail_reports_the_class_and_retry_after),
        cmocka_unit_test(unknown_task_is_not_registered),
        cmocka_unit_test(bad_argument_types_are_refused),
        cmocka_unit_test(validation_of_builtin_kwargs),
        cmocka_unit_test(result_over_the_payload_limit_fails_internal),
        cmocka_unit_test(sleep_stops_when_asked),
        cmocka_unit_test(sleep_finishes_and_reports),
        cmocka_unit_test(steps_keep_a_local_checkpoint),
        cmocka_unit_test(stamp_and_alloc_report),
        cmocka_unit_test(context_api_in_a_local_run),
        cmocka_unit_test(checkpoint_auto_mode),
        cmocka_unit_test(unserialisable_result_fails_internal),
        cmocka_unit_test(failures_follow_the_retry_policy),
        cmocka_unit_test(allocation_failures_in_a_local_run),
    };

    sqt_register_packs();
    return cmocka_run_group_tests(tests, setup, teardown);
}
