/* SPDX-License-Identifier: MIT
 *
 * it_worker_sched.c: which task runs when.
 *   priorities: with one child, 100 LOW then 100 URGENT queued before the
 *       worker starts: every URGENT task starts before the first LOW one
 *   -Q order of preference wins over priorities in later queues
 *   C22 out-of-range priorities are refused; a priority-10 task queued
 *       behind 100 priority-0 tasks is the 2nd to start; FIFO otherwise
 *   C24 a busy worker holds one task (prefetch 1); a second worker runs
 *       the short ones (some with a countdown)
 *   C01 countdown longer than the lease (3 s vs 2 s, instead of 3700 s vs
 *       3600 s): every task runs exactly once, within [ETA, ETA + 5 s]
 *   C28 delayed tasks stay in Redis: 20,000 of 2 KB each (a tenth of the
 *       scenario's 200,000, for a shared 2-core machine) leave the
 *       workers' memory flat
 * TEST_TIMEOUT: 300
 */
#include "it_worker_util.h"

#include "core/sq_time.h"

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

/* The ids in the mark list `key`, in start order ("id|attempt|ms"). */
static int
marks(const char *key, char (*out)[SYNCQ_ID_SIZE], int64_t *ms, int cap)
{
    redisReply *r = sqt_cmd("LRANGE %s 0 -1", key);
    int n = 0;

    for (size_t i = 0; i < r->elements && n < cap; i++) {
        const char *s = r->element[i]->str;
        const char *bar = strchr(s, '|');
        if (bar == NULL || bar - s != 36) {
            continue;
        }
        memcpy(out[n], s, 36);
        out[n][36] = '\0';
        if (ms != NULL) {
            const char *bar2 = strchr(bar + 1, '|');
            ms[n] = bar2 != NULL ? atoll(bar2 + 1) : 0;
        }
        n++;
    }
    freeReplyObject(r);
    return n;
}

static int
index_of(char (*ids)[SYNCQ_ID_SIZE], int n, const char *id)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0) {
            return i;
        }
    }
    return -1;
}

static void
create_many(const char *name, const char *kwargs, int pri, int n,
            char (*ids)[SYNCQ_ID_SIZE], int64_t countdown_ms)
{
    syncq_task_spec *specs = calloc((size_t)n, sizeof *specs);
    syncq_task_options o;
    syncq_error err;

    syncq_task_options_init(&o);
    o.priority = pri;
    if (countdown_ms >= 0) {
        o.countdown_ms = countdown_ms;
    }
    for (int i = 0; i < n; i++) {
        specs[i].name = name;
        specs[i].kwargs_json = kwargs;
        specs[i].opts = &o;
    }
    if (syncq_task_create_many(cl, specs, (size_t)n, ids, NULL, &err) !=
        SYNCQ_OK) {
        fail_msg("create_many: %s", err.msg);
    }
    free(specs);
}

static void
urgent_before_low_with_one_child(void **state)
{
    char low[100][SYNCQ_ID_SIZE], urgent[100][SYNCQ_ID_SIZE];
    char order[200][SYNCQ_ID_SIZE];
    int pid, n;

    (void)state;
    create_many("syncq.sleep", "{\"seconds\":0,\"mark\":\"it:order\"}",
                SYNCQ_PRIORITY_LOW, 100, low, -1);
    create_many("syncq.sleep", "{\"seconds\":0,\"mark\":\"it:order\"}",
                SYNCQ_PRIORITY_URGENT, 100, urgent, -1);
    pid = wk_start("it-pri", "-c 1");
    for (int i = 0; i < 100; i++) {
        json_decref(wk_wait(cl, low[i], 30000));
    }
    n = marks("it:order", order, NULL, 200);
    assert_int_equal(n, 200);
    for (int i = 0; i < 100; i++) {
        /* first the 100 URGENT, in creation order (FIFO) */
        assert_string_equal(order[i], urgent[i]);
        assert_string_equal(order[100 + i], low[i]);
    }
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* -Q is an order of preference: the first queue's tasks go first, even
 * at priority 0 against priority 10 in the next queue. */
static void
queue_order_of_preference(void **state)
{
    char first[20][SYNCQ_ID_SIZE], second[20][SYNCQ_ID_SIZE];
    char order[40][SYNCQ_ID_SIZE];
    syncq_task_spec specs[20];
    syncq_task_options o1, o2;
    syncq_error err;
    int pid, n;

    (void)state;
    syncq_task_options_init(&o1);
    o1.queue = "bulk";
    o1.priority = 10;
    syncq_task_options_init(&o2);
    o2.queue = "interactive";
    o2.priority = 0;
    for (int i = 0; i < 20; i++) {
        specs[i].name = "syncq.sleep";
        specs[i].args_json = NULL;
        specs[i].kwargs_json = "{\"seconds\":0,\"mark\":\"it:qo\"}";
        specs[i].opts = &o1;
    }
    assert_int_equal(syncq_task_create_many(cl, specs, 20, second, NULL,
                                            &err),
                     SYNCQ_OK);
    for (int i = 0; i < 20; i++) {
        specs[i].opts = &o2;
    }
    assert_int_equal(syncq_task_create_many(cl, specs, 20, first, NULL,
                                            &err),
                     SYNCQ_OK);
    pid = wk_start("it-qorder", "-c 1 -Q interactive,bulk");
    for (int i = 0; i < 20; i++) {
        json_decref(wk_wait(cl, second[i], 20000));
    }
    n = marks("it:qo", order, NULL, 40);
    assert_int_equal(n, 40);
    for (int i = 0; i < 20; i++) {
        assert_string_equal(order[i], first[i]);
        assert_string_equal(order[20 + i], second[i]);
    }
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static void
c22_priority_ten_jumps_the_queue(void **state)
{
    char zero[100][SYNCQ_ID_SIZE], ten[SYNCQ_ID_SIZE];
    char order[101][SYNCQ_ID_SIZE];
    syncq_task_options o;
    struct sqt_out out;
    /* C22 lists "high" too; in syncq HIGH is a named priority (8), so a
     * word that is not one of the names stands in for it. */
    const char *bad[] = {"11", "-1", "50", "highest"};
    int pid, n;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        out = sqt_cli(NULL, "task create syncq.noop -p %s", bad[i]);
        assert_int_not_equal(out.status, 0);
        assert_non_null(strstr(out.err, "priority"));
        sqt_out_free(&out);
    }
    assert_int_equal(sqt_cmd_int("DBSIZE"), 0); /* nothing queued */
    pid = wk_start("it-c22", "-c 1");
    wk_wait_ready("it-c22");
    /* The first one runs long enough for the rest to queue behind it,
     * and the rest are created only once it runs: created at once, a
     * worker slow to lease (a loaded machine) found the priority-10 task
     * already there and rightly ran it first. */
    syncq_task_options_init(&o);
    o.priority = 0;
    wk_create(cl, "syncq.sleep", "{\"seconds\":3,\"mark\":\"it:c22\"}", &o,
              zero[0]);
    for (int i = 0; i < 2000 && wk_llen("it:c22") == 0; i++) {
        wk_sleep_ms(10);
    }
    assert_int_equal(wk_llen("it:c22"), 1); /* it started */
    create_many("syncq.sleep", "{\"seconds\":0.01,\"mark\":\"it:c22\"}", 0,
                99, zero + 1, -1);
    o.priority = 10;
    wk_create(cl, "syncq.sleep", "{\"seconds\":0.02,\"mark\":\"it:c22\"}", &o,
              ten);
    json_decref(wk_wait(cl, ten, 20000));
    for (int i = 0; i < 100; i++) {
        json_decref(wk_wait(cl, zero[i], 20000));
    }
    n = marks("it:c22", order, NULL, 101);
    assert_int_equal(n, 101);
    /* the one already running, then the priority-10 task */
    assert_string_equal(order[0], zero[0]);
    assert_string_equal(order[1], ten);
    for (int i = 1; i < 100; i++) {
        assert_string_equal(order[i + 1], zero[i]); /* FIFO */
    }
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* C24: W1 is busy with a long task and must not hold the short ones. */
static void
c24_busy_worker_holds_nothing_hostage(void **state)
{
    char longt[SYNCQ_ID_SIZE], shorts[10][SYNCQ_ID_SIZE];
    syncq_task_options o;
    int w1, w2;
    long long max_held = 0;
    int64_t t0;

    (void)state;
    w1 = wk_start("it-c24a", "-c 1");
    wk_wait_ready("it-c24a");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.sleep", "{\"seconds\":12}", &o, longt);
    wk_sleep_ms(300);
    t0 = wk_now_ms();
    for (int i = 0; i < 10; i++) {
        o.countdown_ms = i % 3 == 0 ? 2000 : -1;
        wk_create(cl, "syncq.sleep", "{\"seconds\":0.5}", &o, shorts[i]);
    }
    /* W2 after 2 s; sample W1's heartbeat meanwhile */
    while (wk_now_ms() - t0 < 2000) {
        redisReply *r = sqt_cmd("GET " WK_NS "w:it-c24a");
        if (r->type == REDIS_REPLY_STRING) {
            json_t *info = json_loads(r->str, 0, NULL);
            if (wk_int(info, "held") > max_held) {
                max_held = wk_int(info, "held");
            }
            json_decref(info);
        }
        freeReplyObject(r);
        wk_sleep_ms(100);
    }
    w2 = wk_start("it-c24b", "-c 1");
    for (int i = 0; i < 10; i++) {
        json_t *t = wk_wait(cl, shorts[i], 20000);
        assert_string_equal(wk_state(t), "SUCCESS");
        json_decref(t);
    }
    assert_true(wk_now_ms() - t0 <= 20000);
    {
        redisReply *r = sqt_cmd("GET " WK_NS "w:it-c24a");
        json_t *info = json_loads(r->str, 0, NULL);
        /* W1 ran none of them and never reserved more than one */
        assert_int_equal(wk_int(info, "tasks_done"), 0);
        if (wk_int(info, "held") > max_held) {
            max_held = wk_int(info, "held");
        }
        json_decref(info);
        freeReplyObject(r);
    }
    assert_int_equal(max_held, 1);
    assert_true(strcmp(sqt_task_state(cl, longt), "SUCCESS") != 0);
    assert_int_equal(wk_stop(w2, 10000), 0);
    wk_kill_all(w1);
}

/* C01: countdown (3 s) longer than the lease (2 s). */
static void
c01_countdown_longer_than_lease_runs_once(void **state)
{
    enum { N = 200 };
    char ids[N][SYNCQ_ID_SIZE], started[2 * N][SYNCQ_ID_SIZE];
    int64_t ms[2 * N];
    int w1, w2, n;

    (void)state;
    w1 = wk_start("it-c01a", "-c 4");
    w2 = wk_start("it-c01b", "-c 4");
    wk_wait_ready("it-c01a");
    wk_wait_ready("it-c01b");
    create_many("syncq.sleep", "{\"seconds\":0,\"mark\":\"it:c01\"}", 5, N,
                ids, 3000);
    for (int i = 0; i < N; i++) {
        json_t *t = wk_wait(cl, ids[i], 30000);
        char eta_s[40];
        int64_t eta = 0;
        int k;
        assert_string_equal(wk_state(t), "SUCCESS");
        assert_int_equal(wk_int(t, "attempt"), 1);
        snprintf(eta_s, sizeof eta_s, "%s",
                 json_string_value(json_object_get(t, "eta")));
        json_decref(t);
        assert_int_equal(sq_time_parse_iso8601(eta_s, &eta, NULL),
                         SYNCQ_OK);
        n = marks("it:c01", started, ms, 2 * N);
        k = index_of(started, n, ids[i]);
        assert_true(k >= 0);
        /* never before the ETA, and at most 5 s after it */
        if (ms[k] < eta - 5 || ms[k] > eta + 5000) {
            fail_msg("task %d started at %lld, ETA %lld", i,
                     (long long)ms[k], (long long)eta);
        }
    }
    wk_sleep_ms(2500); /* past another lease period: nothing runs again */
    n = marks("it:c01", started, NULL, 2 * N);
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(index_of(started, n, started[i]), i); /* unique */
    }
    assert_int_equal(wk_stat("succeeded|default|syncq.sleep"), N);
    assert_int_equal(wk_stop(w1, 10000), 0);
    assert_int_equal(wk_stop(w2, 10000), 0);
}

static long
vmrss(int pid)
{
    char path[64], line[256];
    FILE *f;
    long v = -1;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            v = atol(line + 6);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return v;
}

/* C28: many delayed tasks never enter worker memory. */
static void
c28_delayed_tasks_stay_in_redis(void **state)
{
    enum { N = 20000, CHUNK = 2000 };
    char (*ids)[SYNCQ_ID_SIZE] = calloc(CHUNK, SYNCQ_ID_SIZE);
    char *kw = malloc(2200);
    int w1, w2, kids1[4], kids2[4];
    long r1, r2, r1b, r2b;

    (void)state;
    memcpy(kw, "{\"pad\":\"", 8);
    memset(kw + 8, 'p', 2000);
    memcpy(kw + 2008, "\"}", 3);
    w1 = wk_start("it-c28a", "-c 2");
    w2 = wk_start("it-c28b", "-c 2");
    wk_wait_ready("it-c28a");
    wk_wait_ready("it-c28b");
    r1 = vmrss(w1);
    r2 = vmrss(w2);
    for (int i = 0; i < N; i += CHUNK) {
        create_many("syncq.noop", kw, 5, CHUNK, ids, 86400000);
    }
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "delayed"), N);
    wk_sleep_ms(3000); /* several idle lease/promote cycles */
    r1b = vmrss(w1);
    r2b = vmrss(w2);
    assert_true(r1b - r1 < 5000);
    assert_true(r2b - r2 < 5000);
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "delayed"), N);
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "active"), 0);
    /* no restarts */
    assert_true(wk_alive(w1) && wk_alive(w2));
    assert_int_equal(wk_children(w1, kids1, 4), 2);
    assert_int_equal(wk_children(w2, kids2, 4), 2);
    assert_int_equal(wk_stop(w1, 10000), 0);
    assert_int_equal(wk_stop(w2, 10000), 0);
    free(ids);
    free(kw);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(urgent_before_low_with_one_child,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(queue_order_of_preference, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(c22_priority_ten_jumps_the_queue,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(c24_busy_worker_holds_nothing_hostage,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            c01_countdown_longer_than_lease_runs_once, setup, teardown),
        cmocka_unit_test_setup_teardown(c28_delayed_tasks_stay_in_redis,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
