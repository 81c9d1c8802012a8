/* SPDX-License-Identifier: MIT
 *
 * test_worker_defer.c: syncq_ctx_defer, the re-run that is not a failure
 * (issue 20: waiting out a host's cool-down must not use the retry
 * budget). The worker child's outcome is DEFER with the asked delay and
 * the class, whatever the retries done and max_retries (a retry at the
 * same point would be a final FAILURE); a later fail or succeed in the
 * same run replaces it; a zero delay becomes 1 ms; a local run reports it
 * as a failure with retry_after_ms; the deferral past
 * SYNCQ_TASK_MAX_DEFERRALS is a dead letter. The broker side (settle.lua
 * "defer": RETRY without counting, `deferrals` counted) is proven end to
 * end by tests/integration/it_crawler_cooldown.sh, the bound by
 * it_worker_defer_bound.sh.
 */
#include "sq_test.h"

#include "worker/worker_ctx.h"

#include <string.h>

static int
t_defer(syncq_ctx *ctx)
{
    return syncq_ctx_defer(ctx, SYNCQ_ERR_RATE_LIMITED, 4000,
                           "host %s is cooling down", "h");
}

static int
t_defer_then_fail(syncq_ctx *ctx)
{
    syncq_ctx_defer(ctx, SYNCQ_ERR_RATE_LIMITED, 0, "wait");
    return syncq_ctx_fail(ctx, SYNCQ_ERR_NETWORK, "then broke");
}

static int
t_defer_zero(syncq_ctx *ctx)
{
    return syncq_ctx_defer(ctx, SYNCQ_ERR_BLOCKED, 0, "no delay given");
}

/* The outcome of one run of `def` after `retries` retries and
 * `deferrals` deferrals (-1: unknown), with SYNCQ_TASK_MAX_DEFERRALS
 * `max` ("": the default). */
static struct sq_outcome
run_outcome(const syncq_task_def *def, int retries, int max_retries,
            int64_t deferrals, const char *max)
{
    syncq_config *cfg = NULL;
    struct syncq_ctx ctx;
    struct sq_outcome o;
    json_t *a = json_array(), *k = json_object();

    assert_int_equal(syncq_config_new(&cfg, NULL), SYNCQ_OK);
    if (max[0] != '\0') {
        assert_int_equal(syncq_config_set(cfg, "SYNCQ_TASK_MAX_DEFERRALS", max,
                                          NULL, NULL),
                         SYNCQ_OK);
    }
    sq_ctx_init(&ctx, def, "id", def->name, a, k, cfg);
    ctx.retries = retries;
    ctx.max_retries = max_retries;
    ctx.deferrals = deferrals; /* as read from the record */
    sq_ctx_run(&ctx);
    assert_int_equal(sq_outcome_from_ctx(&ctx, 1 << 20, &o, NULL), SYNCQ_OK);
    sq_ctx_cleanup(&ctx);
    json_decref(a);
    json_decref(k);
    syncq_config_free(cfg);
    return o;
}

static struct sq_outcome
outcome_of(const syncq_task_def *def, int retries, int max_retries)
{
    return run_outcome(def, retries, max_retries, -1, "");
}

static void
defer_is_not_a_failure(void **state)
{
    static const syncq_task_def def = {"test.defer", t_defer, NULL, -1, 0,
                                       0,            -1,      NULL, "", "", NULL};
    struct sq_outcome o;

    (void)state;
    /* budget used up: a failure now would be final */
    o = outcome_of(&def, 3, 3);
    assert_int_equal(o.kind, SQ_OUT_DEFER);
    assert_int_equal(o.delay_ms, 4000);
    assert_string_equal(o.err_class, "rate_limited");
    assert_string_equal(o.err_msg, "host h is cooling down");
    assert_false(o.dead);
    sq_outcome_cleanup(&o);
    o = outcome_of(&def, 0, 0);
    assert_int_equal(o.kind, SQ_OUT_DEFER);
    sq_outcome_cleanup(&o);
}

static void
later_outcome_replaces_it(void **state)
{
    static const syncq_task_def fail = {"test.defer_fail", t_defer_then_fail,
                                        NULL, -1, 0, 0, -1, NULL, "", "", NULL};
    static const syncq_task_def zero = {"test.defer_zero", t_defer_zero,
                                        NULL, -1, 0, 0, -1, NULL, "", "", NULL};
    struct sq_outcome o;

    (void)state;
    o = outcome_of(&fail, 0, 0); /* network, no retries left: final */
    assert_int_equal(o.kind, SQ_OUT_FAIL);
    assert_string_equal(o.err_class, "network");
    sq_outcome_cleanup(&o);
    o = outcome_of(&zero, 0, 3);
    assert_int_equal(o.kind, SQ_OUT_DEFER);
    assert_int_equal(o.delay_ms, 1);
    assert_string_equal(o.err_class, "blocked");
    sq_outcome_cleanup(&o);
}

/* The outcome of t_defer after `deferrals` earlier deferrals, with
 * SYNCQ_TASK_MAX_DEFERRALS `max` ("" : the default). */
static struct sq_outcome
outcome_after(int64_t deferrals, const char *max)
{
    static const syncq_task_def def = {"test.defer", t_defer, NULL, -1, 0,
                                       0,            -1,      NULL, "", "", NULL};

    return run_outcome(&def, 0, -1, deferrals, max);
}

/* Deferrals are bounded: the one past SYNCQ_TASK_MAX_DEFERRALS (default
 * 200) ends the task FAILURE, dead-lettered, with the reason and the
 * last wait, never one more RETRY. Unknown (-1: Redis could not tell)
 * defers. */
static void
deferrals_are_bounded(void **state)
{
    struct sq_outcome o;

    (void)state;
    o = outcome_after(2, "3");
    assert_int_equal(o.kind, SQ_OUT_DEFER);
    assert_int_equal(o.delay_ms, 4000);
    sq_outcome_cleanup(&o);
    o = outcome_after(3, "3");
    assert_int_equal(o.kind, SQ_OUT_FAIL);
    assert_true(o.dead);
    assert_string_equal(o.err_class, "rate_limited");
    assert_string_equal(o.err_msg,
                        "deferred 3 times, the limit "
                        "(SYNCQ_TASK_MAX_DEFERRALS); last wait: host h is "
                        "cooling down");
    sq_outcome_cleanup(&o);
    o = outcome_after(199, "");
    assert_int_equal(o.kind, SQ_OUT_DEFER);
    sq_outcome_cleanup(&o);
    o = outcome_after(200, "");
    assert_int_equal(o.kind, SQ_OUT_FAIL);
    assert_true(o.dead);
    sq_outcome_cleanup(&o);
    o = outcome_after(-1, "1");
    assert_int_equal(o.kind, SQ_OUT_DEFER);
    sq_outcome_cleanup(&o);
}

static void
local_run_reports_the_wait(void **state)
{
    static const syncq_task_def def = {"test.defer_local", t_defer, NULL, -1,
                                       0, 0, -1, NULL, "", "", NULL};
    syncq_registry *r = syncq_registry_default();
    syncq_local_result res;
    syncq_config *cfg = NULL;

    (void)state;
    assert_int_equal(syncq_config_new(&cfg, NULL), SYNCQ_OK);
    if (syncq_registry_find(r, def.name) == NULL) {
        assert_int_equal(syncq_registry_add(r, &def, NULL), SYNCQ_OK);
    }
    assert_int_equal(syncq_task_run_local(r, def.name, NULL, NULL, NULL, cfg,
                                          NULL, &res, NULL),
                     SYNCQ_OK);
    assert_int_equal(res.ok, 0);
    assert_int_equal(res.error_class, SYNCQ_ERR_RATE_LIMITED);
    assert_int_equal(res.retry_after_ms, 4000);
    syncq_local_result_cleanup(&res);
    syncq_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defer_is_not_a_failure),
        cmocka_unit_test(later_outcome_replaces_it),
        cmocka_unit_test(deferrals_are_bounded),
        cmocka_unit_test(local_run_reports_the_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
