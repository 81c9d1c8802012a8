/* SPDX-License-Identifier: MIT
 *
 * it_worker_limits.c: soft and hard time limits (the task is told, then
 * its child is killed and replaced; FAILURE timeout or a retry per the
 * policy), cancel of a running, a stubborn, a prefetched and a queued
 * task (C25, grace 1 s instead of 5 s), recycling by task count and by
 * memory with the C27 guard against restart loops, and warm and cold
 * shutdown (nothing lost, interrupted tasks not counted as lost).
 * TEST_TIMEOUT: 300
 */
#include "it_worker_util.h"

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
    wk_fast_env();
    cl = sqt_client();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    wk_reap_all();
    syncq_client_close(cl);
    return 0;
}

static const char *
err_class(json_t *t)
{
    const char *s = json_string_value(json_object_get(
        json_object_get(t, "error"), "class"));

    return s != NULL ? s : "";
}

static const char *
err_msg(json_t *t)
{
    const char *s = json_string_value(json_object_get(
        json_object_get(t, "error"), "message"));

    return s != NULL ? s : "";
}

/* /proc/<pid>/timerslack_ns, or -1. */
static long
timer_slack_ns(int pid)
{
    char path[64];
    long v = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/timerslack_ns", pid);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1) {
            v = -1;
        }
        fclose(f);
    }
    return v;
}

static const char *no_retry_timeout =
    "{\"timeout\":{\"retryable\":false,\"dead_letter\":false}}";

static void
soft_limit_asks_the_task_to_stop(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    syncq_task_options o;
    int kids[4], before[4];
    json_t *t;
    int pid;

    (void)state;
    pid = wk_start("it-soft", "-c 2 --soft-time-limit 1 --time-limit 20");
    wk_wait_ready("it-soft");
    assert_int_equal(wk_children(pid, before, 4), 2);
    /* children sleep to the microsecond (not the kernel's 50 us slack) */
    assert_int_equal(timer_slack_ns(before[0]), 1000);
    assert_int_equal(timer_slack_ns(before[1]), 1000);
    syncq_task_options_init(&o);
    o.retry_policy_json = no_retry_timeout;
    /* the worker's default soft limit (1 s) */
    wk_create(cl, "syncq.sleep", "{\"seconds\":20}", &o, a);
    /* the task's own, shorter one (400 ms) */
    o.soft_time_limit_ms = 400;
    wk_create(cl, "syncq.sleep", "{\"seconds\":20}", &o, b);
    t = wk_wait(cl, a, 10000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_string_equal(err_class(t), "timeout");
    assert_non_null(strstr(err_msg(t), "stopped after"));
    assert_true(wk_int(t, "runtime_ms") >= 950);
    assert_true(wk_int(t, "runtime_ms") < 5000);
    json_decref(t);
    t = wk_wait(cl, b, 10000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_true(wk_int(t, "runtime_ms") >= 380);
    assert_true(wk_int(t, "runtime_ms") < 900);
    json_decref(t);
    /* the children were asked, not killed */
    assert_int_equal(wk_children(pid, kids, 4), 2);
    assert_true((kids[0] == before[0] && kids[1] == before[1]) ||
                (kids[0] == before[1] && kids[1] == before[0]));
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static void
hard_limit_kills_and_replaces_the_child(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    syncq_task_options o;
    int before[4], after[4];
    json_t *t;
    int pid, n;

    (void)state;
    pid = wk_start("it-hard", "-c 1");
    wk_wait_ready("it-hard");
    assert_int_equal(wk_children(pid, before, 4), 1);
    syncq_task_options_init(&o);
    o.time_limit_ms = 1000;
    o.retry_policy_json = no_retry_timeout;
    wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"ignore_stop\":true}", &o,
              a);
    t = wk_wait(cl, a, 10000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_string_equal(err_class(t), "timeout");
    assert_non_null(strstr(err_msg(t), "hard time limit of 1000 ms"));
    assert_true(wk_int(t, "runtime_ms") >= 990);
    assert_true(wk_int(t, "runtime_ms") < 3000);
    json_decref(t);
    /* the default timeout policy retries (here 1 retry after 100 ms), then
     * dead-letters */
    o.max_retries = 1;
    o.retry_policy_json = "{\"timeout\":{\"base_ms\":100,\"jitter\":false}}";
    o.time_limit_ms = 500;
    wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"ignore_stop\":true}", &o,
              b);
    t = wk_wait(cl, b, 10000);
    /* DESIGN contract 7: the task ends FAILURE (and is dead-lettered) */
    assert_string_equal(wk_state(t), "FAILURE");
    assert_string_equal(json_string_value(json_object_get(t, "dead_reason")),
                        "timeout");
    assert_int_equal(wk_int(t, "attempt"), 2);
    assert_int_equal(wk_int(t, "retries"), 1);
    json_decref(t);
    /* a fresh child took the killed one's place */
    n = wk_children(pid, after, 4);
    assert_int_equal(n, 1);
    assert_int_not_equal(after[0], before[0]);
    assert_true(wk_alive(pid));
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static bool
list_nonempty(void *key)
{
    return sqt_cmd_int("LLEN %s", (const char *)key) > 0;
}

/* C25 T1: a running task is stopped; its heartbeats end. */
static void
cancel_a_running_task(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    syncq_task_options o;
    struct sqt_out out;
    json_t *t;
    long long n1;
    int64_t t0;
    int pid, kids[4];

    (void)state;
    pid = wk_start("it-cancel", "-c 2");
    wk_wait_ready("it-cancel");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.sleep", "{\"seconds\":60,\"tick_ms\":100,"
              "\"beat\":\"it:beat:a\"}", &o, a);
    /* stubborn: ignores the stop request, killed after the 1 s grace */
    wk_create(cl, "syncq.sleep", "{\"seconds\":60,\"tick_ms\":100,"
              "\"beat\":\"it:beat:b\",\"ignore_stop\":true}", &o, b);
    assert_true(sqt_wait_until(list_nonempty, "it:beat:a", 5000));
    assert_true(sqt_wait_until(list_nonempty, "it:beat:b", 5000));
    t0 = wk_now_ms();
    out = sqt_cli(NULL, "task cancel %s %s", a, b);
    assert_int_equal(out.status, 0);
    sqt_out_free(&out);
    t = wk_wait(cl, a, 5000);
    assert_string_equal(wk_state(t), "REVOKED");
    assert_true(wk_now_ms() - t0 < 1000); /* it stopped when asked */
    json_decref(t);
    t = wk_wait(cl, b, 5000);
    assert_string_equal(wk_state(t), "REVOKED");
    assert_true(wk_now_ms() - t0 >= 950); /* only after the grace */
    assert_non_null(strstr(err_msg(t), "killed"));
    json_decref(t);
    /* no beat after cancel + grace + 0.5 s */
    wk_sleep_ms(300);
    n1 = sqt_cmd_int("LLEN it:beat:b");
    wk_sleep_ms(800);
    assert_int_equal(sqt_cmd_int("LLEN it:beat:b"), n1);
    assert_int_equal(wk_children(pid, kids, 4), 2);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* C25 T2, T3: a prefetched and a queued task never start. */
static void
cancel_prefetched_and_queued_tasks(void **state)
{
    char t1[SYNCQ_ID_SIZE], t2[SYNCQ_ID_SIZE], t3[SYNCQ_ID_SIZE];
    syncq_task_options o;
    struct sqt_out out;
    json_t *t;
    int pid;

    (void)state;
    pid = wk_start("it-cancel2", "-c 1 --prefetch 2");
    wk_wait_ready("it-cancel2");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"mark\":\"it:starts\"}",
              &o, t1);
    wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"mark\":\"it:starts\"}",
              &o, t2);
    wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"mark\":\"it:starts\"}",
              &o, t3);
    assert_true(sqt_wait_until(list_nonempty, "it:starts", 5000));
    for (int i = 0; i < 50 &&
                    strcmp(sqt_task_state(cl, t2), "RECEIVED") != 0;
         i++) {
        wk_sleep_ms(50);
    }
    assert_string_equal(sqt_task_state(cl, t2), "RECEIVED");
    assert_string_equal(sqt_task_state(cl, t3), "PENDING");
    out = sqt_cli(NULL, "task cancel %s %s %s", t1, t2, t3);
    assert_int_equal(out.status, 0);
    sqt_out_free(&out);
    for (int i = 0; i < 3; i++) {
        t = wk_wait(cl, i == 0 ? t1 : i == 1 ? t2 : t3, 5000);
        assert_string_equal(wk_state(t), "REVOKED");
        json_decref(t);
    }
    wk_sleep_ms(500);
    /* only T1 ever started */
    assert_int_equal(sqt_cmd_int("LLEN it:starts"), 1);
    {
        redisReply *r = sqt_cmd("LINDEX it:starts 0");
        assert_non_null(strstr(r->str, t1));
        freeReplyObject(r);
    }
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* Run `n` syncq.stamp tasks one after another; pids[i] of each. */
static void
stamps(int n, int *pids)
{
    syncq_task_options o;

    syncq_task_options_init(&o);
    for (int i = 0; i < n; i++) {
        char id[SYNCQ_ID_SIZE];
        json_t *t;
        wk_create(cl, "syncq.stamp", NULL, &o, id);
        t = wk_wait(cl, id, 10000);
        assert_string_equal(wk_state(t), "SUCCESS");
        pids[i] = (int)wk_int(json_object_get(t, "result"), "pid");
        json_decref(t);
    }
}

static int
distinct(const int *v, int n)
{
    int d = 0;

    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) {
            seen |= v[j] == v[i];
        }
        d += !seen;
    }
    return d;
}

static void
recycle_after_max_tasks(void **state)
{
    int pids[7];
    int pid;

    (void)state;
    pid = wk_start("it-recycle", "-c 1 --max-tasks-per-child 3");
    wk_wait_ready("it-recycle");
    stamps(7, pids);
    assert_int_equal(pids[0], pids[1]);
    assert_int_equal(pids[1], pids[2]);
    assert_int_not_equal(pids[2], pids[3]);
    assert_int_equal(pids[3], pids[4]);
    assert_int_equal(pids[4], pids[5]);
    assert_int_not_equal(pids[5], pids[6]);
    assert_int_equal(distinct(pids, 7), 3);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static void
recycle_past_the_memory_cap(void **state)
{
    char id[SYNCQ_ID_SIZE];
    syncq_task_options o;
    int pids[3];
    int pid, kids[2];
    char args[128];
    long base;
    json_t *t;

    (void)state;
    /* measure a fresh child, then cap 40 MB above it */
    pid = wk_start("it-mem0", "-c 1");
    wk_wait_ready("it-mem0");
    assert_int_equal(wk_children(pid, kids, 2), 1);
    {
        char path[64], line[256];
        FILE *f;
        snprintf(path, sizeof path, "/proc/%d/status", kids[0]);
        f = fopen(path, "r");
        base = -1;
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "VmRSS:", 6) == 0) {
                base = atol(line + 6);
            }
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    assert_true(base > 0);
    assert_int_equal(wk_stop(pid, 10000), 0);
    snprintf(args, sizeof args, "-c 1 --max-memory-per-child %ld",
             base + 40000);
    pid = wk_start("it-mem", args);
    wk_wait_ready("it-mem");
    stamps(1, pids);
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.alloc", "{\"kb\":60000}", &o, id);
    t = wk_wait(cl, id, 10000);
    assert_string_equal(wk_state(t), "SUCCESS");
    assert_int_equal(wk_int(json_object_get(t, "result"), "held_kb"), 60000);
    json_decref(t);
    stamps(2, pids + 1);
    /* the child that grew past the cap was replaced after its task */
    assert_int_not_equal(pids[0], pids[1]);
    assert_int_equal(pids[1], pids[2]);
    /* ... and that task ran once and its outcome was recorded once: the
     * recycling is no crash, nothing is delivered again */
    assert_int_equal(sqt_task_events(id, "task-started"), 1);
    assert_int_equal(sqt_task_events(id, "task-succeeded"), 1);
    assert_int_equal(sqt_task_events(id, "task-failed"), 0);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* C27: a cap the baseline already reaches must not recycle every task. */
static void
memory_cap_below_baseline_no_restart_loop(void **state)
{
    int pids[40];
    int pid;
    redisReply *r;
    char *log;
    char path[512];

    (void)state;
    pid = wk_start("it-memlow", "-c 1 --max-memory-per-child 1000");
    wk_wait_ready("it-memlow");
    stamps(40, pids);
    /* recycled at most once per 10 tasks: at most 4 distinct children */
    assert_true(distinct(pids, 40) <= 4);
    assert_true(distinct(pids, 40) >= 2); /* but the cap still applies */
    for (int i = 0; i < 9; i++) {
        assert_int_equal(pids[i], pids[0]);
    }
    wk_sleep_ms(500);
    r = sqt_cmd("GET " WK_NS "w:it-memlow");
    assert_non_null(strstr(r->str, "memory_cap_too_low"));
    freeReplyObject(r);
    assert_int_equal(wk_stop(pid, 10000), 0);
    snprintf(path, sizeof path, "%s/worker-it-memlow.log", sqt_tmpdir());
    log = sqt_read_file(path, NULL);
    /* logged once, not per task */
    {
        int n = 0;
        for (char *p = strstr(log, "worker.memory_cap_too_low"); p != NULL;
             p = strstr(p + 1, "worker.memory_cap_too_low")) {
            n++;
        }
        assert_int_equal(n, 1);
    }
    free(log);
}

static void
warm_shutdown_finishes_or_requeues(void **state)
{
    char quick[SYNCQ_ID_SIZE], stubborn[SYNCQ_ID_SIZE];
    char polite[SYNCQ_ID_SIZE], queued[SYNCQ_ID_SIZE];
    char finishes[SYNCQ_ID_SIZE];
    syncq_task_options o;
    json_t *t;
    int pid, st;
    int64_t t0;

    (void)state;
    setenv("SYNCQ_SHUTDOWN_GRACE", "2", 1);
    pid = wk_start("it-warm", "-c 4");
    wk_wait_ready("it-warm");
    syncq_task_options_init(&o);
    /* honours stop requests, but ends within the grace: a warm shutdown
     * lets it finish (it is asked to stop only near the grace's end) */
    wk_create(cl, "syncq.sleep", "{\"seconds\":0.8,\"mark\":\"it:w\"}",
              &o, finishes);
    wk_create(cl, "syncq.sleep", "{\"seconds\":1,\"ignore_stop\":true,"
              "\"mark\":\"it:w\"}", &o, quick);
    wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"ignore_stop\":true,"
              "\"mark\":\"it:w\"}", &o, stubborn);
    wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"mark\":\"it:w\"}", &o,
              polite);
    for (int i = 0; i < 100 && sqt_cmd_int("LLEN it:w") < 4; i++) {
        wk_sleep_ms(20);
    }
    assert_int_equal(sqt_cmd_int("LLEN it:w"), 4);
    wk_create(cl, "syncq.noop", NULL, &o, queued);
    t0 = wk_now_ms();
    st = wk_stop(pid, 10000);
    assert_int_equal(st, 0);
    /* the grace was used, not exceeded by much */
    assert_true(wk_now_ms() - t0 >= 1900);
    assert_true(wk_now_ms() - t0 < 4000);
    t = wk_wait(cl, quick, 1000);
    assert_string_equal(wk_state(t), "SUCCESS");
    json_decref(t);
    t = wk_wait(cl, finishes, 1000);
    assert_string_equal(wk_state(t), "SUCCESS");
    json_decref(t);
    /* interrupted tasks are back in the queue, not counted as lost */
    assert_string_equal(sqt_task_state(cl, stubborn), "PENDING");
    assert_string_equal(sqt_task_state(cl, polite), "PENDING");
    assert_string_equal(sqt_task_state(cl, queued), "PENDING");
    {
        json_t *s = NULL, *p = NULL, *q = NULL;
        syncq_task_info(cl, stubborn, &s, NULL);
        syncq_task_info(cl, polite, &p, NULL);
        syncq_task_info(cl, queued, &q, NULL);
        assert_int_equal(wk_int(s, "lost"), 0);
        assert_int_equal(wk_int(p, "lost"), 0);
        assert_int_equal(wk_int(q, "attempt"), 0); /* never leased */
        json_decref(s);
        json_decref(p);
        json_decref(q);
    }
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "active"), 0);
    assert_int_equal(sqt_cmd_int("EXISTS " WK_NS "w:it-warm"), 0);
    setenv("SYNCQ_SHUTDOWN_GRACE", "3", 1);
}

static void
cold_shutdown_loses_nothing(void **state)
{
    char ids[4][SYNCQ_ID_SIZE];
    syncq_task_options o;
    int pid, st;
    int64_t t0;

    (void)state;
    setenv("SYNCQ_SHUTDOWN_GRACE", "30", 1);
    pid = wk_start("it-cold", "-c 2 --prefetch 2");
    wk_wait_ready("it-cold");
    syncq_task_options_init(&o);
    for (int i = 0; i < 4; i++) {
        wk_create(cl, "syncq.sleep", "{\"seconds\":1.5,\"ignore_stop\":true,"
                  "\"mark\":\"it:c\"}", &o, ids[i]);
    }
    for (int i = 0; i < 100 && sqt_cmd_int("LLEN it:c") < 2; i++) {
        wk_sleep_ms(20);
    }
    t0 = wk_now_ms();
    kill(pid, SIGTERM);      /* warm: would wait 30 s */
    wk_sleep_ms(200);
    kill(pid, SIGTERM);      /* second: cold, at once */
    st = sqt_kill_wait(pid, 0, 5000);
    assert_int_not_equal(st, -1);
    assert_true(wk_now_ms() - t0 < 3000);
    /* every task is back in its queue; none is lost or dead */
    for (int i = 0; i < 4; i++) {
        assert_string_equal(sqt_task_state(cl, ids[i]), "PENDING");
    }
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "active"), 0);
    /* a new worker runs them all */
    setenv("SYNCQ_SHUTDOWN_GRACE", "3", 1);
    pid = wk_start("it-cold2", "-c 4");
    for (int i = 0; i < 4; i++) {
        json_t *t = wk_wait(cl, ids[i], 15000);
        assert_string_equal(wk_state(t), "SUCCESS");
        assert_int_equal(wk_int(t, "lost"), 0);
        json_decref(t);
    }
    /* SIGQUIT is cold too */
    {
        char id[SYNCQ_ID_SIZE];
        wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"ignore_stop\":true,"
                  "\"mark\":\"it:q\"}", &o, id);
        for (int i = 0; i < 100 && sqt_cmd_int("LLEN it:q") < 1; i++) {
            wk_sleep_ms(20);
        }
        t0 = wk_now_ms();
        st = sqt_kill_wait(pid, SIGQUIT, 5000);
        assert_int_not_equal(st, -1);
        assert_true(wk_now_ms() - t0 < 3000);
        assert_string_equal(sqt_task_state(cl, id), "PENDING");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(soft_limit_asks_the_task_to_stop,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            hard_limit_kills_and_replaces_the_child, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_a_running_task, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cancel_prefetched_and_queued_tasks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(recycle_after_max_tasks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recycle_past_the_memory_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            memory_cap_below_baseline_no_restart_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(warm_shutdown_finishes_or_requeues,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(cold_shutdown_loses_nothing, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
