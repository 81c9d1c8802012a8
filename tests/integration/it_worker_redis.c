/* SPDX-License-Identifier: MIT
 *
 * it_worker_redis.c: workers survive Redis outages (DESIGN contract 10).
 *   restart mid-run with AOF (appendfsync always): no task lost, each
 *       outcome recorded once
 *   SIGSTOP for 5 s: workers and clients recover without a restart
 *   a task that finishes while Redis is down keeps its outcome and
 *       reports it when Redis is back (no second run)
 *   C30: an outage longer than the blocking wait (6 s vs 1 s; the
 *       scenario's 30 s and 5 min are the same code path): afterwards 10
 *       tasks finish within 15 s and a cancel takes effect within 2 s
 *   a worker started before Redis waits for it, logging the outage once
 *   C43 (worker side): the liveness file stays fresh while Redis is down
 *       and goes stale when the supervisor's loop stalls
 * TEST_TIMEOUT: 300
 */
#include "it_worker_util.h"

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
    wk_fast_env();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    wk_reap_all();
    sqt_redisctl("resume");
    if (sqt_redisctl("pid") != 0) {
        sqt_redisctl("start");
    }
    return 0;
}

/* State of a task by a raw HGET on a fresh connection. */
static const char *
raw_state(const char *id)
{
    static char buf[32];
    redisReply *r = sqt_cmd("HGET " WK_NS "t:%s state", id);

    snprintf(buf, sizeof buf, "%s",
             r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return buf;
}

static int
count_success(char (*ids)[SYNCQ_ID_SIZE], int n)
{
    int k = 0;

    for (int i = 0; i < n; i++) {
        k += strcmp(raw_state(ids[i]), "SUCCESS") == 0;
    }
    return k;
}

static void
create_n(int n, const char *kwargs, char (*ids)[SYNCQ_ID_SIZE])
{
    syncq_client *c = sqt_client();
    syncq_task_spec *specs = calloc((size_t)n, sizeof *specs);
    syncq_error err;

    for (int i = 0; i < n; i++) {
        specs[i].name = "syncq.sleep";
        specs[i].kwargs_json = kwargs;
    }
    if (syncq_task_create_many(c, specs, (size_t)n, ids, NULL, &err) !=
        SYNCQ_OK) {
        fail_msg("create: %s", err.msg);
    }
    free(specs);
    syncq_client_close(c);
}

/* True when task `id`'s record proves one whole run of syncq.sleep of
 * `ms`: SUCCESS on the first lease, with the slept time as its result. */
static bool
ran_once_by_record(const char *id, int ms)
{
    redisReply *r =
        sqt_cmd("HMGET " WK_NS "t:%s state attempt result", id);
    json_t *res = NULL;
    bool ok = false;

    if (r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[2]->type == REDIS_REPLY_STRING) {
        res = json_loads(r->element[2]->str, 0, NULL);
        ok = strcmp(r->element[0]->str, "SUCCESS") == 0 &&
             strcmp(r->element[1]->str, "1") == 0 &&
             json_integer_value(json_object_get(res, "slept_ms")) >= ms;
    }
    json_decref(res);
    freeReplyObject(r);
    return ok;
}

/* Executions per task from the mark list: how many ran more than once.
 * The mark is a best-effort RPUSH at the task's start from the child's
 * own connection; a child whose connection is still in its reconnect
 * backoff right after the restart runs the task but drops the mark (seen:
 * leased 10 ms after the supervisor was back, 135 ms before the child
 * was). Such a task counts as run when its record proves one whole run
 * (*unmarked); a task with neither is *missing. */
static int
duplicates(const char *key, char (*ids)[SYNCQ_ID_SIZE], int n, int *missing,
           int *unmarked)
{
    redisReply *r = sqt_cmd("LRANGE %s 0 -1", key);
    int dup = 0;

    *missing = 0;
    *unmarked = 0;
    for (int i = 0; i < n; i++) {
        int runs = 0;
        for (size_t j = 0; j < r->elements; j++) {
            runs += strncmp(r->element[j]->str, ids[i], 36) == 0;
        }
        dup += runs > 1;
        if (runs == 0 && ran_once_by_record(ids[i], 20)) {
            (*unmarked)++;
        } else if (runs == 0) {
            (*missing)++;
        }
    }
    freeReplyObject(r);
    return dup;
}

static void
restart_mid_run_loses_nothing(void **state)
{
    enum { N = 300 };
    char ids[N][SYNCQ_ID_SIZE];
    int pid, dup, missing, unmarked;

    (void)state;
    freeReplyObject(sqt_cmd("CONFIG SET appendfsync always"));
    pid = wk_start("it-restart", "-c 2");
    wk_wait_ready("it-restart");
    create_n(N, "{\"seconds\":0.02,\"mark\":\"it:rs\"}", ids);
    while (sqt_cmd_int("LLEN it:rs") < N / 4) {
        wk_sleep_ms(20);
    }
    assert_int_equal(sqt_redisctl("restart"), 0);
    freeReplyObject(sqt_cmd("CONFIG SET appendfsync always"));
    for (int i = 0; i < 600 && count_success(ids, N) < N; i++) {
        wk_sleep_ms(100);
    }
    assert_int_equal(count_success(ids, N), N);
    dup = duplicates("it:rs", ids, N, &missing, &unmarked);
    assert_int_equal(missing, 0);
    print_message("restart: %d of %d tasks ran twice (at-least-once), "
                  "%d ran with their mark lost in the outage\n",
                  dup, N, unmarked);
    assert_true(dup <= 4); /* at most the leases in flight at the restart */
    /* each outcome was recorded once */
    assert_int_equal(wk_stat("succeeded|default|syncq.sleep"), N);
    assert_true(wk_alive(pid));
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static void
paused_redis_is_survived(void **state)
{
    enum { N = 200 };
    char ids[N][SYNCQ_ID_SIZE];
    int pid, kids[4], before[4];
    int64_t t0;

    (void)state;
    pid = wk_start("it-pause", "-c 2");
    wk_wait_ready("it-pause");
    wk_children(pid, before, 4);
    create_n(N, "{\"seconds\":0.02,\"mark\":\"it:ps\"}", ids);
    while (sqt_cmd_int("LLEN it:ps") < N / 4) {
        wk_sleep_ms(20);
    }
    assert_int_equal(sqt_redisctl("pause"), 0);
    wk_sleep_ms(5000);
    assert_int_equal(sqt_redisctl("resume"), 0);
    t0 = wk_now_ms();
    for (int i = 0; i < 600 && count_success(ids, N) < N; i++) {
        wk_sleep_ms(100);
    }
    assert_int_equal(count_success(ids, N), N);
    print_message("pause: all done %lld ms after the resume\n",
                  (long long)(wk_now_ms() - t0));
    assert_true(wk_now_ms() - t0 < 30000);
    /* the same processes: no restart needed */
    assert_true(wk_alive(pid));
    assert_int_equal(wk_children(pid, kids, 4), 2);
    assert_int_equal(wk_stat("succeeded|default|syncq.sleep"), N);
    /* a client that was open across the pause works again */
    {
        syncq_client *c = sqt_client();
        char id[SYNCQ_ID_SIZE];
        wk_create(c, "syncq.noop", NULL, NULL, id);
        json_decref(wk_wait(c, id, 10000));
        syncq_client_close(c);
    }
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static void
outcome_during_outage_is_reported_later(void **state)
{
    char ids[1][SYNCQ_ID_SIZE];
    int pid;

    (void)state;
    unsetenv("SYNCQ_RECONNECT_MAX_DELAY");
    pid = wk_start("it-late", "-c 1");
    wk_wait_ready("it-late");
    create_n(1, "{\"seconds\":1.5,\"mark\":\"it:late\"}", ids);
    while (sqt_cmd_int("LLEN it:late") < 1) {
        wk_sleep_ms(20);
    }
    assert_int_equal(sqt_redisctl("stop"), 0);
    wk_sleep_ms(3000); /* the task ends while Redis is down */
    assert_int_equal(sqt_redisctl("start"), 0);
    for (int i = 0; i < 300 && strcmp(raw_state(ids[0]), "SUCCESS") != 0;
         i++) {
        wk_sleep_ms(100);
    }
    assert_string_equal(raw_state(ids[0]), "SUCCESS");
    /* reported, not run again */
    assert_int_equal(sqt_cmd_int("LLEN it:late"), 1);
    {
        redisReply *r = sqt_cmd("HGET " WK_NS "t:%s attempt", ids[0]);
        assert_string_equal(r->str, "1");
        freeReplyObject(r);
    }
    assert_true(wk_alive(pid));
    assert_int_equal(wk_stop(pid, 10000), 0);
    setenv("SYNCQ_RECONNECT_MAX_DELAY", "500ms", 1);
}

static bool
list_nonempty(void *key)
{
    return sqt_cmd_int("LLEN %s", (const char *)key) > 0;
}

static void
c30_long_outage_then_work_and_cancel(void **state)
{
    char ids[10][SYNCQ_ID_SIZE], longt[1][SYNCQ_ID_SIZE];
    struct sqt_out out;
    int pid;
    int64_t t0;

    (void)state;
    /* the product's default reconnect cap (10 s), not the fast one */
    unsetenv("SYNCQ_RECONNECT_MAX_DELAY");
    pid = wk_start("it-c30", "-c 2");
    wk_wait_ready("it-c30");
    assert_int_equal(sqt_redisctl("stop"), 0);
    wk_sleep_ms(6000);
    assert_int_equal(sqt_redisctl("start"), 0);
    t0 = wk_now_ms();
    create_n(10, "{\"seconds\":0.1}", ids);
    for (int i = 0; i < 200 && count_success(ids, 10) < 10; i++) {
        wk_sleep_ms(100);
    }
    assert_int_equal(count_success(ids, 10), 10);
    print_message("c30: 10 tasks done %lld ms after Redis returned\n",
                  (long long)(wk_now_ms() - t0));
    assert_true(wk_now_ms() - t0 <= 15000);
    /* the control channel works: cancel a running task */
    create_n(1, "{\"seconds\":60,\"beat\":\"it:c30beat\"}", longt);
    assert_true(sqt_wait_until(list_nonempty, "it:c30beat", 5000));
    t0 = wk_now_ms();
    out = sqt_cli(NULL, "task cancel %s", longt[0]);
    assert_int_equal(out.status, 0);
    sqt_out_free(&out);
    for (int i = 0; i < 100 && strcmp(raw_state(longt[0]), "REVOKED") != 0;
         i++) {
        wk_sleep_ms(20);
    }
    assert_string_equal(raw_state(longt[0]), "REVOKED");
    assert_true(wk_now_ms() - t0 <= 2000);
    assert_int_equal(wk_stop(pid, 10000), 0);
    setenv("SYNCQ_RECONNECT_MAX_DELAY", "500ms", 1);
}

/* A worker started while Redis is down waits (logging it once) and
 * serves as soon as Redis comes. */
static void
worker_started_before_redis(void **state)
{
    char ids[1][SYNCQ_ID_SIZE];
    char path[600];
    char *log;
    int pid, n = 0;

    (void)state;
    assert_int_equal(sqt_redisctl("stop"), 0);
    pid = wk_start("it-early", "-c 1");
    wk_sleep_ms(2500);
    assert_true(wk_alive(pid));
    assert_int_equal(sqt_redisctl("start"), 0);
    wk_wait_ready("it-early");
    create_n(1, "{\"seconds\":0}", ids);
    for (int i = 0; i < 100 && strcmp(raw_state(ids[0]), "SUCCESS") != 0;
         i++) {
        wk_sleep_ms(50);
    }
    assert_string_equal(raw_state(ids[0]), "SUCCESS");
    assert_int_equal(wk_stop(pid, 10000), 0);
    snprintf(path, sizeof path, "%s/worker-it-early.log", sqt_tmpdir());
    log = sqt_read_file(path, NULL);
    for (char *p = strstr(log, "event=broker.down"); p != NULL;
         p = strstr(p + 1, "event=broker.down")) {
        n++;
    }
    assert_int_equal(n, 1); /* once per outage, not per attempt */
    free(log);
}

static json_t *
read_status(const char *path)
{
    char *text = sqt_read_file(path, NULL);
    json_t *st = text != NULL ? json_loads(text, 0, NULL) : NULL;

    free(text);
    assert_non_null(st);
    return st;
}

/* C43, the worker's part: the liveness file says live while Redis is
 * down (ready fails on "broker": "down"), and goes stale when the loop
 * itself stalls. The health check reading it is the monitor's. */
static void
liveness_file_tracks_the_loop_not_the_broker(void **state)
{
    char sf[512], args[700];
    json_t *st;
    int pid;

    (void)state;
    snprintf(sf, sizeof sf, "%s/live.json", sqt_tmpdir());
    snprintf(args, sizeof args, "-c 1 --status-file %s", sf);
    pid = wk_start("it-live", args);
    wk_wait_ready("it-live");
    wk_sleep_ms(1200);
    st = read_status(sf);
    assert_string_equal(json_string_value(json_object_get(st, "broker")),
                        "up");
    json_decref(st);
    assert_int_equal(sqt_redisctl("stop"), 0);
    wk_sleep_ms(2500);
    st = read_status(sf);
    assert_string_equal(json_string_value(json_object_get(st, "broker")),
                        "down");
    assert_true(wk_wall_ms() - wk_int(st, "loop_at_ms") < 2000);
    json_decref(st);
    assert_true(wk_alive(pid));
    /* a stalled loop: the file stops moving */
    kill(pid, SIGSTOP);
    wk_sleep_ms(3000);
    st = read_status(sf);
    assert_true(wk_wall_ms() - wk_int(st, "loop_at_ms") >= 2500);
    json_decref(st);
    kill(pid, SIGCONT);
    wk_sleep_ms(1500);
    st = read_status(sf);
    assert_true(wk_wall_ms() - wk_int(st, "loop_at_ms") < 2000);
    json_decref(st);
    assert_int_equal(sqt_redisctl("start"), 0);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(restart_mid_run_loses_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(paused_redis_is_survived, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            outcome_during_outage_is_reported_later, setup, teardown),
        cmocka_unit_test_setup_teardown(c30_long_outage_then_work_and_cancel,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(worker_started_before_redis, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            liveness_file_tracks_the_loop_not_the_broker, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
