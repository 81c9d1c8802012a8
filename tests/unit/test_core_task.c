/* SPDX-License-Identifier: MIT
 *
 * test_core_task.c: the task model (core/sq_task.h): the states and which
 * are final, in C and in the Lua prelude every broker script gets (they
 * must agree: DEAD is final in both); name, queue, priority and
 * max_retries rules; the record field table both ways; the effective
 * settings (options, then definition, then configuration); the retry
 * policy check enqueue and the CLI share.
 */
#include "sq_test.h"

#include "broker/broker.h"
#include "sq_alloc.h"
#include "core/sq_task.h"

#include <stdio.h>
#include <string.h>

static void
states_have_names_and_final_ones_are_six(void **state)
{
    static const char *finals[] = {"SUCCESS", "FAILURE", "REVOKED",
                                   "EXPIRED", "SKIPPED", "DEAD"};
    int nfinal = 0;

    (void)state;
    for (int i = 0; i < SQ_STATE__COUNT; i++) {
        const char *n = sq_task_state_name((enum sq_task_state)i);
        assert_non_null(n);
        assert_int_equal(sq_task_state_parse(n), i);
        nfinal += sq_task_state_final((enum sq_task_state)i);
    }
    assert_int_equal(SQ_STATE__COUNT, 11);
    assert_int_equal(nfinal, 6);
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        assert_true(sq_state_is_final(finals[i]));
    }
    assert_false(sq_state_is_final("RETRY"));
    assert_false(sq_state_is_final("PENDING"));
    assert_false(sq_state_is_final("dead")); /* names are exact */
    assert_false(sq_state_is_final(NULL));
    assert_int_equal(sq_task_state_parse("BOGUS"), -1);
    assert_null(sq_task_state_name(SQ_STATE__COUNT));
}

/* Lua's FINAL is generated from the C table and heads every script. */
static void
lua_final_states_agree_with_c(void **state)
{
    char line[256], tiny[8];
    size_t n = sq_task_lua_states(line, sizeof line);

    (void)state;
    assert_int_equal(n, strlen(line));
    /* truncated, still terminated, and the length says what it needs */
    assert_int_equal(sq_task_lua_states(tiny, sizeof tiny), n);
    assert_string_equal(tiny, "local F");
    assert_string_equal(line, "local FINAL = {SUCCESS = true, FAILURE = "
                              "true, REVOKED = true, EXPIRED = true, "
                              "SKIPPED = true, DEAD = true}\n");
    for (int i = 0; i < SQ_STATE__COUNT; i++) {
        char want[32];
        snprintf(want, sizeof want, "%s = true",
                 sq_task_state_name((enum sq_task_state)i));
        assert_int_equal(strstr(line, want) != NULL,
                         sq_task_state_final((enum sq_task_state)i));
    }
    for (int id = 0; id < SQ_SCRIPT__COUNT; id++) {
        char *src = sq_script_source((enum sq_script_id)id);
        assert_non_null(src);
        assert_int_equal(strncmp(src, line, strlen(line)), 0);
        /* no script keeps a state list of its own */
        assert_null(strstr(src, "TERMINAL"));
        sq_free(src);
    }
}

static void
names_queues_priorities_retries(void **state)
{
    char out[256];
    syncq_error err;
    int p = -1;

    (void)state;
    assert_int_equal(syncq_task_name_normalize("src.queue.tasks.crawler.x",
                                               out, sizeof out, &err),
                     SYNCQ_OK);
    assert_string_equal(out, "crawler.x");
    assert_int_equal(syncq_task_name_normalize("bad name", out, sizeof out,
                                               &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_queue_name_check("q:1", &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "':'"));
    assert_int_equal(syncq_priority_parse("high", &p, &err), SYNCQ_OK);
    assert_int_equal(p, 8);
    assert_int_equal(sq_task_priority_check(11, &err), SYNCQ_EINVAL);
    assert_string_equal(err.msg,
                        "priority 11 out of range 0..10 (10 is highest)");
    assert_int_equal(sq_task_priority_check(0, &err), SYNCQ_OK);
    assert_int_equal(sq_task_max_retries_check(-1, true, &err), SYNCQ_OK);
    assert_int_equal(sq_task_max_retries_check(-1, false, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_task_max_retries_check(1001, true, &err),
                     SYNCQ_EINVAL);
    assert_string_equal(err.msg, "max_retries 1001 out of range 0..1000");
    assert_int_equal(sq_task_text_check("unique key", "a\tb", &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "offset 1"));
}

static void
field_names_both_ways(void **state)
{
    const struct sq_task_field *f;

    (void)state;
    f = sq_task_field_short("pri", 3);
    assert_non_null(f);
    assert_string_equal(f->key, "priority");
    assert_int_equal(f->kind, SQ_FIELD_INT);
    assert_ptr_equal(sq_task_field_long("priority"), f);
    f = sq_task_field_short("priority", 3); /* only the first 3 bytes */
    assert_non_null(f);
    assert_string_equal(f->field, "pri");
    assert_null(sq_task_field_short("pst", 3)); /* internal bookkeeping */
    assert_null(sq_task_field_short("pr", 2));
    assert_string_equal(sq_task_field_long("retry_policy")->field, "pol");
    assert_int_equal(sq_task_field_long("created_at")->kind, SQ_FIELD_TIME);
    assert_null(sq_task_field_long("nope"));
}

static int
noop(syncq_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static void
settings_options_then_definition_then_configuration(void **state)
{
    syncq_task_def def = {"t.x", noop, "defq", 7, 9000, 0, 4,
                          "{\"*\":{\"max_retries\":2}}", NULL, NULL, NULL};
    struct sq_task_settings given, conf, eff;

    (void)state;
    sq_task_settings_init(&given);
    sq_task_settings_init(&conf);
    conf.queue = "confq";
    conf.time_limit_ms = 60000;
    conf.soft_time_limit_ms = 50000;
    /* nothing given: the definition, then the configuration */
    sq_task_resolve(&def, &given, &conf, &eff);
    assert_string_equal(eff.queue, "defq");
    assert_int_equal(eff.priority, 7);
    assert_int_equal(eff.time_limit_ms, 9000);
    assert_int_equal(eff.soft_time_limit_ms, 50000);
    assert_int_equal(eff.max_retries, 4);
    assert_string_equal(eff.task_policy, "{\"*\":{\"max_retries\":2}}");
    assert_null(eff.call_policy);
    /* given: wins, including the "zero" values that are set */
    given.queue = "mine";
    given.priority = 0;
    given.max_retries = 0;
    given.time_limit_ms = 100;
    given.call_policy = "{}";
    sq_task_resolve(&def, &given, &conf, &eff);
    assert_string_equal(eff.queue, "mine");
    assert_int_equal(eff.priority, 0);
    assert_int_equal(eff.max_retries, 0);
    assert_int_equal(eff.time_limit_ms, 100);
    assert_string_equal(eff.call_policy, "{}");
    /* no definition, no configuration: the built-in defaults */
    sq_task_settings_init(&given);
    sq_task_resolve(NULL, &given, NULL, &eff);
    assert_null(eff.queue);
    assert_int_equal(eff.priority, SQ_PRIORITY_DEFAULT);
    assert_int_equal(eff.max_retries, -1);
    assert_int_equal(eff.time_limit_ms, 0);
    assert_null(eff.task_policy);
}

/* The one check: what passes is what the worker can use. */
static void
retry_policy_checked_whole(void **state)
{
    static const char *bad[] = {
        "{\"network\":{\"factor\":\"x\"}}",
        "{\"no_such_class\":{\"max_retries\":1}}",
        "{\"timeout\":{\"max_retries\":-3}}",
        "[1]",
        "{",
    };
    static const char good[] =
        "{\"network\":{\"max_retries\":3,\"dead_letter\":true}}";
    syncq_error err;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        if (sq_task_policy_check(bad[i], strlen(bad[i]), &err) !=
            SYNCQ_EINVAL) {
            fail_msg("accepted %s", bad[i]);
        }
        assert_non_null(strstr(err.msg, "retry policy"));
    }
    assert_int_equal(sq_task_policy_check(good, strlen(good), &err),
                     SYNCQ_OK);
}

/* A definition meets the same rules as a call's options. */
static void
registry_refuses_what_a_worker_could_not_use(void **state)
{
    syncq_registry *r = syncq_registry_default();
    syncq_task_def def = {"t.badpolicy", noop, NULL, -1, 0, 0, -1,
                          "{\"network\":{\"factor\":\"x\"}}", NULL,
                          NULL, NULL};
    syncq_error err;

    (void)state;
    assert_non_null(r);
    assert_int_equal(syncq_registry_add(r, &def, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "t.badpolicy: retry policy"));
    def.retry_policy_json = NULL;
    def.max_retries = 1001;
    assert_int_equal(syncq_registry_add(r, &def, &err), SYNCQ_EINVAL);
    assert_string_equal(err.msg,
                        "t.badpolicy: max_retries 1001 out of range 0..1000");
    assert_null(syncq_registry_find(r, "t.badpolicy"));
    def.max_retries = 3;
    def.retry_policy_json = "{\"network\":{\"max_retries\":2}}";
    assert_int_equal(syncq_registry_add(r, &def, &err), SYNCQ_OK);
    assert_non_null(syncq_registry_find(r, "t.badpolicy"));
}

/* Routes: a registered task's queue, else its namespace's (the longest),
 * else none (the caller's default queue); the library itself knows no
 * namespace. */
static void
registry_routes_by_declaration_only(void **state)
{
    syncq_registry *r = syncq_registry_default();
    syncq_task_def def = {"rt.own", noop, "ownq", -1, 0, 0, -1, NULL, NULL,
                          NULL, NULL};
    syncq_error err;

    (void)state;
    /* nothing declared: not even the 1688 packs' names route anywhere */
    assert_null(syncq_registry_route(r, "crawler.fetch_products"));
    assert_null(syncq_registry_route(r, "rt.x"));
    assert_int_equal(syncq_registry_add_route(r, "rt", "rtq", &err), SYNCQ_OK);
    assert_int_equal(syncq_registry_add_route(r, "rt.deep", "deepq", &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_registry_add(r, &def, &err), SYNCQ_OK);
    assert_string_equal(syncq_registry_route(r, "rt.x"), "rtq");
    assert_string_equal(syncq_registry_route(r, "src.queue.tasks.rt.x"), "rtq");
    assert_string_equal(syncq_registry_route(r, "rt.deep.y"), "deepq");
    assert_string_equal(syncq_registry_route(r, "rt.own"), "ownq");
    assert_null(syncq_registry_route(r, "rtx.y"));
    assert_null(syncq_registry_route(r, "rt"));
    assert_int_equal(syncq_registry_add_route(r, "rt", "other", &err),
                     SYNCQ_EEXIST);
    assert_string_equal(err.msg, "namespace rt already routes to queue rtq");
    assert_int_equal(syncq_registry_add_route(r, "rt.", "q", &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_registry_add_route(r, "src.queue.tasks.z", "q",
                                              &err),
                     SYNCQ_EINVAL);
    assert_string_equal(err.msg, "route namespace 'src.queue.tasks.z': give "
                                 "it as 'z'");
    assert_int_equal(syncq_registry_add_route(r, "z", "a b", &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "z: "));
    assert_int_equal(syncq_registry_add_route(r, NULL, "q", &err),
                     SYNCQ_EINVAL);
}

/* A worker without -Q serves default, the routes' queues in the order
 * they were added, then tasks' own queues: each once, counted past max. */
static void
registry_queues_default_routes_then_own(void **state)
{
    syncq_registry *r = syncq_registry_default();
    syncq_task_def own = {"qq.own", noop, "ownq", -1, 0, 0, -1, NULL, NULL,
                          NULL, NULL};
    syncq_task_def same = {"qq.same", noop, "qq1", -1, 0, 0, -1, NULL, NULL,
                           NULL, NULL};
    syncq_task_def none = {"qq.none", noop, NULL, -1, 0, 0, -1, NULL, NULL,
                           NULL, NULL};
    const char *q[8];
    syncq_error err;

    (void)state;
    assert_int_equal(syncq_registry_queues(NULL, q, 8), 1);
    assert_string_equal(q[0], "default");
    assert_int_equal(syncq_registry_add_route(r, "qq", "qq1", &err), SYNCQ_OK);
    assert_int_equal(syncq_registry_add_route(r, "qb", "default", &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_registry_add(r, &own, &err), SYNCQ_OK);
    assert_int_equal(syncq_registry_add(r, &same, &err), SYNCQ_OK);
    assert_int_equal(syncq_registry_add(r, &none, &err), SYNCQ_OK);
    /* the earlier test routed rt -> rtq, rt.deep -> deepq, rt.own -> ownq */
    assert_int_equal(syncq_registry_queues(r, q, 8), 5);
    assert_string_equal(q[0], "default");
    assert_string_equal(q[1], "rtq");
    assert_string_equal(q[2], "deepq");
    assert_string_equal(q[3], "qq1");
    assert_string_equal(q[4], "ownq");
    /* a short array gets the first names and the whole count */
    q[2] = NULL;
    assert_int_equal(syncq_registry_queues(r, q, 2), 5);
    assert_string_equal(q[1], "rtq");
    assert_null(q[2]);
}

/* One bound for every door: at most SYNCQ_ETA_MAX_MS (365 days) ahead,
 * by countdown or by eta. */
static void
eta_at_most_365_days_ahead(void **state)
{
    const int64_t now = 1765000000000LL, day = 86400000LL;
    syncq_error err;

    (void)state;
    assert_int_equal(SYNCQ_ETA_MAX_MS, 365 * day);
    assert_int_equal(sq_task_eta_check(0, -1, now, &err), SYNCQ_OK);
    assert_int_equal(sq_task_eta_check(0, 365 * day, now, &err), SYNCQ_OK);
    assert_int_equal(sq_task_eta_check(now + 365 * day, -1, now, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_task_eta_check(0, 365 * day + 1, now, &err),
                     SYNCQ_EINVAL);
    assert_string_equal(err.msg, "countdown 365d0h is more than 365 days "
                                 "(SYNCQ_ETA_MAX_MS)");
    assert_int_equal(sq_task_eta_check(now + 366 * day, -1, now, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "is more than 365 days ahead "
                                    "(SYNCQ_ETA_MAX_MS)"));
    /* an eta in the past is the caller's business (it runs at once) */
    assert_int_equal(sq_task_eta_check(now - day, -1, now, &err), SYNCQ_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(states_have_names_and_final_ones_are_six),
        cmocka_unit_test(lua_final_states_agree_with_c),
        cmocka_unit_test(names_queues_priorities_retries),
        cmocka_unit_test(field_names_both_ways),
        cmocka_unit_test(settings_options_then_definition_then_configuration),
        cmocka_unit_test(retry_policy_checked_whole),
        cmocka_unit_test(registry_refuses_what_a_worker_could_not_use),
        cmocka_unit_test(registry_routes_by_declaration_only),
        cmocka_unit_test(registry_queues_default_routes_then_own),
        cmocka_unit_test(eta_at_most_365_days_ahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
