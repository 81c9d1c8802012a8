/* SPDX-License-Identifier: MIT
 *
 * test_worker_proc.c: /proc parsers behind worker heartbeats and memory
 * recycling (comm fields with spaces and parentheses, garbage, overflow),
 * the live readers on this process, and the worker's settings: queue
 * lists, the lease/heartbeat relation, worker names and plugin loading
 * errors.
 */
#include "sq_test.h"

#include "worker/worker.h"

#include <string.h>
#include <unistd.h>

static long long
stat_of(const char *s)
{
    return sq_proc_parse_stat(s, strlen(s));
}

static void
stat_lines(void **state)
{
    (void)state;
    assert_int_equal(stat_of("4121 (syncq) S 1 4121 4121 0 -1 4194560 100 0 "
                             "0 0 250 75 0 0 20 0 1 0 123 4096 10\n"),
                     325);
    /* a comm with spaces and ')' does not shift the fields */
    assert_int_equal(stat_of("7 (a) b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0\n"),
                     7);
    assert_int_equal(stat_of(""), -1);
    assert_int_equal(stat_of("no parenthesis here 1 2 3"), -1);
    assert_int_equal(stat_of("1 (x) S 1 2"), -1);                 /* short */
    assert_int_equal(stat_of("1 (x) S 1 2 3 4 5 6 7 8 9 x 11"), -1); /* NaN */
    assert_int_equal(stat_of("1 (x) S 1 2 3 4 5 6 7 8 9 "
                             "99999999999999999999999999 1"),
                     -1); /* overflow */
}

static void
statm_lines(void **state)
{
    (void)state;
    assert_int_equal(sq_proc_parse_statm("2000 350 200 100 0 500 0\n", 26),
                     350);
    assert_int_equal(sq_proc_parse_statm("", 0), -1);
    assert_int_equal(sq_proc_parse_statm("abc", 3), -1);
    assert_int_equal(sq_proc_parse_statm("12", 2), -1);
}

static void
live_readers(void **state)
{
    (void)state;
    assert_true(sq_proc_rss_kb(0) > 100);
    assert_true(sq_proc_rss_kb(getpid()) > 100);
    assert_true(sq_proc_cpu_ticks(0) >= 0);
    assert_int_equal(sq_proc_rss_kb(999999999), -1);
    assert_int_equal(sq_proc_cpu_ticks(999999999), -1);
}

static void
options_from_the_config(void **state)
{
    syncq_config *cfg = NULL;
    struct sq_worker_opts o;
    syncq_error err;

    (void)state;
    assert_int_equal(syncq_config_new(&cfg, NULL), SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_WORKER_QUEUES",
                                      " crawler , default,x.y-z_1", NULL,
                                      NULL),
                     SYNCQ_OK);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_OK);
    assert_int_equal(o.nqueues, 3);
    assert_string_equal(o.queues[0], "crawler");
    assert_string_equal(o.queues[1], "default");
    assert_string_equal(o.queues[2], "x.y-z_1");
    assert_int_equal(o.concurrency, 4);
    assert_int_equal(o.prefetch, 1);
    assert_int_equal(o.time_limit_ms, 1800000);
    assert_int_equal(o.soft_time_limit_ms, 1500000);
    /* a stable name: the host and an index claimed at start */
    assert_string_equal(o.name_pattern, "%h-%i");
    assert_int_equal(strcmp(o.worker_id + strlen(o.hostname), "-1"), 0);
    /* bad lists */
    syncq_config_set(cfg, "SYNCQ_WORKER_QUEUES", "a,,b", NULL, NULL);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_WORKER_QUEUES"));
    syncq_config_set(cfg, "SYNCQ_WORKER_QUEUES", "a,b,a", NULL, NULL);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "twice"));
    syncq_config_set(cfg, "SYNCQ_WORKER_QUEUES", "bad name", NULL, NULL);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_EINVAL);
    syncq_config_set(cfg, "SYNCQ_WORKER_QUEUES", ",", NULL, NULL);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_EINVAL);
    /* empty: default, then the queues registered tasks route to (none) */
    syncq_config_set(cfg, "SYNCQ_WORKER_QUEUES", "", NULL, NULL);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_OK);
    assert_int_equal(o.nqueues, 1);
    assert_string_equal(o.queues[0], "default");
    syncq_config_set(cfg, "SYNCQ_WORKER_QUEUES", "default", NULL, NULL);
    /* a lease shorter than two heartbeats would lapse under a live task */
    syncq_config_set(cfg, "SYNCQ_LEASE_TIMEOUT", "3", NULL, NULL);
    syncq_config_set(cfg, "SYNCQ_HEARTBEAT_INTERVAL", "2", NULL, NULL);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_LEASE_TIMEOUT"));
    syncq_config_set(cfg, "SYNCQ_HEARTBEAT_INTERVAL", "1", NULL, NULL);
    /* names */
    syncq_config_set(cfg, "SYNCQ_WORKER_HOSTNAME", "crawl-01", NULL, NULL);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_OK);
    assert_string_equal(o.worker_id, "crawl-01");
    syncq_config_set(cfg, "SYNCQ_WORKER_HOSTNAME", "a b", NULL, NULL);
    assert_int_equal(sq_worker_opts_init(&o, cfg, NULL, &err), SYNCQ_EINVAL);
    syncq_config_free(cfg);
}

static void
plugin_errors_name_the_file(void **state)
{
    syncq_registry *r = syncq_registry_default();
    const char *paths[] = {"/nonexistent/plugin.so"};
    syncq_error err;

    (void)state;
    assert_int_equal(sq_worker_load_plugins(r, NULL, NULL, 0, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_worker_load_plugins(r, " , ", NULL, 0, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_worker_load_plugins(r, NULL, paths, 1, &err),
                     SYNCQ_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/plugin.so"));
    assert_int_equal(sq_worker_load_plugins(r, "/nonexistent/b.so", NULL, 0,
                                            &err),
                     SYNCQ_EIO);
    assert_non_null(strstr(err.msg, "b.so"));
    /* a shared object without syncq_plugin_init */
    assert_int_equal(sq_worker_load_plugins(r, "libm.so.6", NULL, 0, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "syncq_plugin_init"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stat_lines),
        cmocka_unit_test(statm_lines),
        cmocka_unit_test(live_readers),
        cmocka_unit_test(options_from_the_config),
        cmocka_unit_test(plugin_errors_name_the_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
