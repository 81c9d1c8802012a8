/* SPDX-License-Identifier: MIT
 *
 * it_worker_delivery.c: the delivery contract under faults, as the D
 * cases of known-failures.md state it, with short times (lease = the
 * "visibility timeout" of 2 s instead of 30 s/3600 s, heartbeat 0.3 s,
 * tasks of seconds instead of minutes):
 *   C02 a child killed as by the OOM killer is redelivered, never acked,
 *       and dead-lettered (worker_lost) after max deliveries
 *   C03 kill -9 of the whole worker loses neither running nor prefetched
 *   C04 jobs of a SIGKILLed worker come back with attempt 2 and finish
 *   C05 leases are renewed while running and while prefetched; a worker
 *       frozen past its lease cannot record a second outcome (lease_lost)
 *   poison: syncq.crash is dead-lettered after N deliveries while 1,000
 *       other tasks succeed and the supervisor stays up
 *   an idle worker's lease sent behind its BRPOP is handed back, not left
 *       to lapse, when a shutdown begins as tasks arrive, and is sent
 *       again without a queue paused meanwhile
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
    unsetenv("SYNCQ_MAX_DELIVERIES");
    cl = sqt_client();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    wk_reap_all();
    unsetenv("SYNCQ_MAX_DELIVERIES");
    syncq_client_close(cl);
    return 0;
}

static bool
llen_at_least(const char *key, long long n, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if (sqt_cmd_int("LLEN %s", key) >= n) {
            return true;
        }
        wk_sleep_ms(20);
    }
    return false;
}

/* C02: task A is "OOM-killed" on every delivery; B is normal. */
static void
oom_killed_child_is_redelivered_then_dead(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    syncq_task_options o;
    json_t *t;
    int pid;

    (void)state;
    setenv("SYNCQ_MAX_DELIVERIES", "3", 1);
    pid = wk_start("it-c02", "-c 1");
    wk_wait_ready("it-c02");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.sleep", "{\"seconds\":30,\"mark\":\"it:a\"}", &o, a);
    wk_create(cl, "syncq.echo", "{\"b\":1}", &o, b);
    for (int delivery = 1; delivery <= 3; delivery++) {
        int kids[2];
        assert_true(llen_at_least("it:a", delivery, 5000));
        assert_int_equal(wk_children(pid, kids, 2), 1);
        kill(kids[0], SIGKILL); /* what the OOM killer does */
        if (delivery < 3) {
            /* lost, not acked: back to PENDING or leased again */
            for (int i = 0; i < 100; i++) {
                json_t *r = NULL;
                syncq_task_info(cl, a, &r, NULL);
                if (wk_int(r, "lost") == delivery) {
                    json_decref(r);
                    break;
                }
                json_decref(r);
                wk_sleep_ms(20);
            }
        }
    }
    t = wk_wait(cl, a, 10000);
    assert_string_equal(wk_state(t), "DEAD");
    assert_string_equal(json_string_value(json_object_get(t, "dead_reason")),
                        "worker_lost");
    assert_int_equal(wk_int(t, "lost"), 3);
    assert_int_equal(wk_int(t, "attempt"), 3);
    assert_int_equal(json_array_size(json_object_get(t, "errors")), 3);
    assert_null(json_object_get(t, "result"));
    json_decref(t);
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "dlq"), 1);
    assert_int_equal(sqt_cmd_int("LLEN it:a"), 3);
    t = wk_wait(cl, b, 10000);
    assert_string_equal(wk_state(t), "SUCCESS");
    json_decref(t);
    assert_true(wk_alive(pid));
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static int
count_states(char (*ids)[SYNCQ_ID_SIZE], int n, const char *a, const char *b)
{
    int k = 0;

    for (int i = 0; i < n; i++) {
        const char *s = sqt_task_state(cl, ids[i]);
        k += strcmp(s, a) == 0 || (b != NULL && strcmp(s, b) == 0);
    }
    return k;
}

/* C03: 2 running + 2 reserved, kill -9 everything, a new worker. */
static void
kill9_loses_neither_running_nor_prefetched(void **state)
{
    char ids[6][SYNCQ_ID_SIZE];
    syncq_task_options o;
    int pid, lost1 = 0, unleased = 0;

    (void)state;
    pid = wk_start("it-c03", "-c 2 --prefetch 2");
    wk_wait_ready("it-c03");
    syncq_task_options_init(&o);
    for (int i = 0; i < 6; i++) {
        wk_create(cl, "syncq.sleep", "{\"seconds\":2}", &o, ids[i]);
    }
    for (int i = 0; i < 200; i++) {
        if (count_states(ids, 6, "STARTED", "PROGRESS") == 2 &&
            count_states(ids, 6, "RECEIVED", NULL) == 2) {
            break;
        }
        wk_sleep_ms(20);
    }
    assert_int_equal(count_states(ids, 6, "STARTED", "PROGRESS"), 2);
    assert_int_equal(count_states(ids, 6, "RECEIVED", NULL), 2);
    wk_kill_all(pid);
    pid = wk_start("it-c03b", "-c 2 --prefetch 2");
    for (int i = 0; i < 6; i++) {
        json_t *t = wk_wait(cl, ids[i], 60000);
        assert_string_equal(wk_state(t), "SUCCESS");
        lost1 += wk_int(t, "lost") == 1;
        unleased += wk_int(t, "lost") == 0;
        json_decref(t);
    }
    /* the 4 leased ones were recovered by lease expiry, 2 never leased */
    assert_int_equal(lost1, 4);
    assert_int_equal(unleased, 2);
    assert_int_equal(wk_stat("succeeded|default|syncq.sleep"), 6);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* C04: 10 running jobs of a SIGKILLed worker. */
static void
sigkilled_jobs_come_back(void **state)
{
    char ids[10][SYNCQ_ID_SIZE];
    syncq_task_options o;
    int pid;

    (void)state;
    pid = wk_start("it-c04", "-c 10");
    wk_wait_ready("it-c04");
    syncq_task_options_init(&o);
    o.max_retries = 3;
    for (int i = 0; i < 10; i++) {
        wk_create(cl, "syncq.sleep", "{\"seconds\":2.5,\"mark\":\"it:c04\"}",
                  &o, ids[i]);
    }
    assert_true(llen_at_least("it:c04", 10, 5000));
    wk_kill_all(pid);
    pid = wk_start("it-c04b", "-c 10");
    for (int i = 0; i < 10; i++) {
        json_t *t = wk_wait(cl, ids[i], 30000);
        json_t *errs = json_object_get(t, "errors");
        assert_string_equal(wk_state(t), "SUCCESS");
        assert_int_equal(wk_int(t, "attempt"), 2);
        /* the killed attempt is in the history */
        assert_int_equal(json_array_size(errs), 1);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(errs, 0), "class")),
                            "worker_lost");
        json_decref(t);
    }
    assert_int_equal(wk_stat("succeeded|default|syncq.sleep"), 10);
    assert_int_equal(wk_stat("failed|default|syncq.sleep"), 0);
    assert_int_equal(wk_stat("dead|default|syncq.sleep"), 0);
    assert_int_equal(sqt_cmd_int("LLEN it:c04"), 20);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* C05 variants 1 and 2: a task running 3x its lease, and one prefetched
 * behind it for 2.5x the lease, each start exactly once. */
static void
leases_renewed_while_running_and_prefetched(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    syncq_task_options o;
    json_t *t;
    int pid;

    (void)state;
    pid = wk_start("it-c05", "-c 1 --prefetch 2");
    wk_wait_ready("it-c05");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.sleep", "{\"seconds\":6,\"mark\":\"it:c05a\"}", &o,
              a);
    wk_create(cl, "syncq.sleep", "{\"seconds\":0.1,\"mark\":\"it:c05b\"}",
              &o, b);
    wk_sleep_ms(1000);
    assert_string_equal(sqt_task_state(cl, b), "RECEIVED");
    t = wk_wait(cl, a, 15000);
    assert_string_equal(wk_state(t), "SUCCESS");
    assert_int_equal(wk_int(t, "attempt"), 1);
    json_decref(t);
    t = wk_wait(cl, b, 5000);
    assert_string_equal(wk_state(t), "SUCCESS");
    assert_int_equal(wk_int(t, "attempt"), 1);
    json_decref(t);
    assert_int_equal(sqt_cmd_int("LLEN it:c05a"), 1);
    assert_int_equal(sqt_cmd_int("LLEN it:c05b"), 1);
    assert_int_equal(wk_stat("lease_expired|default|syncq.sleep"), 0);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* C05 variant 3: worker 1 freezes (no heartbeat) past the lease while
 * its child runs; worker 2 takes the task over. Only one outcome is
 * recorded; worker 1's late one is refused and counted as lease_lost. */
static void
frozen_worker_cannot_record_a_second_outcome(void **state)
{
    char a[SYNCQ_ID_SIZE];
    syncq_task_options o;
    json_t *t;
    int w1, w2;

    (void)state;
    w1 = wk_start("it-c05f", "-c 1");
    wk_wait_ready("it-c05f");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.sleep", "{\"seconds\":4,\"mark\":\"it:c05f\"}", &o,
              a);
    assert_true(llen_at_least("it:c05f", 1, 5000));
    kill(w1, SIGSTOP); /* the supervisor stops; its child runs on */
    w2 = wk_start("it-c05g", "-c 1");
    assert_true(llen_at_least("it:c05f", 2, 10000)); /* taken over */
    kill(w1, SIGCONT);
    t = wk_wait(cl, a, 15000);
    assert_string_equal(wk_state(t), "SUCCESS");
    json_decref(t);
    wk_sleep_ms(5000); /* worker 1's copy ends (stop or finish) */
    t = wk_wait(cl, a, 1000);
    assert_string_equal(wk_state(t), "SUCCESS");
    json_decref(t);
    assert_int_equal(wk_stat("succeeded|default|syncq.sleep"), 1);
    assert_true(wk_stat("lease_lost|default|syncq.sleep") >= 1);
    assert_int_equal(wk_stat("lease_expired|default|syncq.sleep"), 1);
    assert_int_equal(wk_stop(w1, 10000), 0);
    assert_int_equal(wk_stop(w2, 10000), 0);
}

/* syncq.crash among 1,000 good tasks. */
static void
poison_task_dead_lettered_others_succeed(void **state)
{
    syncq_task_spec *specs = calloc(1000, sizeof *specs);
    char (*ids)[SYNCQ_ID_SIZE] = calloc(1000, SYNCQ_ID_SIZE);
    char crash[SYNCQ_ID_SIZE];
    syncq_task_options o;
    syncq_error err;
    json_t *t;
    int pid;

    (void)state;
    pid = wk_start("it-poison2", "-c 2");
    wk_wait_ready("it-poison2");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.crash", NULL, &o, crash);
    for (int i = 0; i < 1000; i++) {
        specs[i].name = "syncq.noop";
    }
    assert_int_equal(syncq_task_create_many(cl, specs, 1000, ids, NULL, &err),
                     SYNCQ_OK);
    t = wk_wait(cl, crash, 30000);
    assert_string_equal(wk_state(t), "DEAD");
    assert_string_equal(json_string_value(json_object_get(t, "dead_reason")),
                        "worker_lost");
    assert_int_equal(wk_int(t, "lost"), 5); /* SYNCQ_MAX_DELIVERIES */
    json_decref(t);
    for (int i = 0; i < 1000; i++) {
        t = wk_wait(cl, ids[i], 30000);
        if (strcmp(wk_state(t), "SUCCESS") != 0) {
            fail_msg("task %d: %s", i, wk_state(t));
        }
        json_decref(t);
    }
    assert_int_equal(wk_stat("succeeded|default|syncq.noop"), 1000);
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "dlq"), 1);
    assert_true(wk_alive(pid)); /* the supervisor never went down */
    assert_int_equal(wk_stop(pid, 10000), 0);
    free(specs);
    free(ids);
}

/* An idle worker sends its next lease behind its BRPOP (worker_broker.c):
 * a shutdown that begins as tasks arrive must hand back what that lease
 * took, never leave it leased to lapse (a lost delivery). 20 times, a
 * SIGTERM and three creates at once (in both orders, a few ms apart);
 * then no task is leased, none lost a delivery, and a new worker runs
 * each of them once. */
static void
idle_lease_is_handed_back_at_shutdown(void **state)
{
    enum { ROUNDS = 20, PER = 3 };
    char ids[ROUNDS * PER][SYNCQ_ID_SIZE];
    syncq_task_options o;
    int n = 0, pid;

    (void)state;
    syncq_task_options_init(&o);
    for (int r = 0; r < ROUNDS; r++) {
        int st;
        pid = wk_start("it-idle", "-c 2");
        wk_wait_ready("it-idle");
        wk_sleep_ms(50); /* its wait armed, the children ready */
        if (r % 2 == 0) {
            kill(pid, SIGTERM);
            wk_sleep_ms(r % 3);
        }
        for (int i = 0; i < PER; i++) {
            wk_create(cl, "syncq.noop", NULL, &o, ids[n++]);
        }
        if (r % 2 == 1) {
            wk_sleep_ms(r % 3);
            kill(pid, SIGTERM);
        }
        st = sqt_kill_wait(pid, 0, 15000);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        /* what the worker took is run or back in the queue, not leased */
        assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "active"), 0);
    }
    pid = wk_start("it-idle-after", "-c 2");
    /* ready before it is stopped (every task may be done already: a
     * SIGTERM during its start would kill it) */
    wk_wait_ready("it-idle-after");
    for (int i = 0; i < n; i++) {
        json_t *t = wk_wait(cl, ids[i], 20000);
        assert_string_equal(wk_state(t), "SUCCESS");
        /* no lost delivery (a lapsed lease leaves worker_lost here) */
        assert_int_equal(json_array_size(json_object_get(t, "errors")), 0);
        json_decref(t);
    }
    assert_int_equal(wk_stat("succeeded|default|syncq.noop"), n);
    assert_int_equal(wk_stat("lease_lost|default|syncq.noop"), 0);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static bool
log_says_paused(void *ud)
{
    char *text = sqt_read_file((const char *)ud, NULL);
    bool yes = text != NULL && strstr(text, "event=worker.paused_queues") !=
                                   NULL;

    free(text);
    return yes;
}

/* The lease an idle worker sends behind its BRPOP names the queues it
 * serves; once the worker has read a pause (its log says so), a task
 * enqueued to the paused queue is not leased by a lease sent before (it
 * is dropped and sent again), and after the resume it runs. */
static void
idle_lease_respects_a_pause(void **state)
{
    char id[SYNCQ_ID_SIZE], log[512];
    syncq_task_options o;
    json_t *t;
    int pid;

    (void)state;
    setenv("SYNCQ_WORKER_QUEUES", "pq", 1);
    snprintf(log, sizeof log, "%s/worker-it-pause.log", sqt_tmpdir());
    pid = wk_start("it-pause", "-c 2");
    wk_wait_ready("it-pause");
    wk_sleep_ms(300); /* idle: its lease waits behind the BRPOP */
    assert_int_equal(sqt_cmd_int("SADD " WK_NS "paused pq"), 1);
    assert_true(sqt_wait_until(log_says_paused, log, 5000));
    syncq_task_options_init(&o);
    o.queue = "pq";
    wk_create(cl, "syncq.noop", NULL, &o, id);
    wk_sleep_ms(1500);
    assert_string_equal(sqt_task_state(cl, id), "PENDING");
    assert_int_equal(sqt_cmd_int("SREM " WK_NS "paused pq"), 1);
    t = wk_wait(cl, id, 10000);
    assert_string_equal(wk_state(t), "SUCCESS");
    json_decref(t);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            oom_killed_child_is_redelivered_then_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(
            kill9_loses_neither_running_nor_prefetched, setup, teardown),
        cmocka_unit_test_setup_teardown(sigkilled_jobs_come_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            leases_renewed_while_running_and_prefetched, setup, teardown),
        cmocka_unit_test_setup_teardown(
            frozen_worker_cannot_record_a_second_outcome, setup, teardown),
        cmocka_unit_test_setup_teardown(
            poison_task_dead_lettered_others_succeed, setup, teardown),
        cmocka_unit_test_setup_teardown(
            idle_lease_is_handed_back_at_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_lease_respects_a_pause, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
