/* SPDX-License-Identifier: MIT
 *
 * it_worker_crash.c: crash safety under chaos. 5,000 tasks, 3 workers
 * with -c 2; five times during the run a random worker process (a
 * supervisor, whose whole worker then dies and is restarted, or one
 * child, which its supervisor replaces) is SIGKILLed. Every task must end
 * SUCCESS; every task must have run at least once (each run appends its
 * id to a Redis list); tasks that ran twice are counted and reported
 * (at-least-once: only tasks in flight at a kill may run again); each
 * outcome is recorded once (succeeded counter == 5,000).
 * Lease 2 s and heartbeat 0.3 s instead of 30 s / 2 s so lapses recover
 * in seconds; SYNCQ_MAX_DELIVERIES is 10 so no task can reach the
 * dead-letter queue through 5 kills.
 * TEST_TIMEOUT: 240
 * TEST_LABELS: slow
 */
#include "it_worker_util.h"

enum { N = 5000, WORKERS = 3, KILLS = 5 };

static char ids[N][SYNCQ_ID_SIZE];
static int sup[WORKERS];
static int restarts;

static void
start_worker(int i)
{
    char name[32];

    snprintf(name, sizeof name, "it-cr%d-%d", i, restarts++);
    sup[i] = wk_start(name, "-c 2");
}

/* States of all tasks with one pipelined connection: SUCCESS count. */
static int
count_success(void)
{
    redisContext *rc = sqt_redis();
    int ok = 0;

    for (int i = 0; i < N; i++) {
        redisAppendCommand(rc, "HGET " WK_NS "t:%s state", ids[i]);
    }
    for (int i = 0; i < N; i++) {
        void *r = NULL;
        if (redisGetReply(rc, &r) == REDIS_OK && r != NULL) {
            redisReply *rr = r;
            ok += rr->type == REDIS_REPLY_STRING &&
                  strcmp(rr->str, "SUCCESS") == 0;
            freeReplyObject(rr);
        }
    }
    redisFree(rc);
    return ok;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
five_kills_lose_nothing(void **state)
{
    syncq_client *cl = sqt_client();
    syncq_task_spec *specs = calloc(N, sizeof *specs);
    syncq_error err;
    unsigned seed = (unsigned)time(NULL);
    int kills_sup = 0, kills_child = 0;
    int64_t t0;
    redisReply *r;
    char **runs;
    int dup = 0, missing = 0, ok;

    (void)state;
    sqt_flush();
    wk_fast_env();
    setenv("SYNCQ_MAX_DELIVERIES", "10", 1);
    srand(seed);
    print_message("chaos seed %u\n", seed);
    for (int i = 0; i < WORKERS; i++) {
        start_worker(i);
    }
    for (int i = 0; i < N; i++) {
        specs[i].name = "syncq.sleep";
        specs[i].kwargs_json = "{\"seconds\":0.01,\"mark\":\"it:runs\"}";
    }
    assert_int_equal(syncq_task_create_many(cl, specs, N, ids, NULL, &err),
                     SYNCQ_OK);
    free(specs);
    t0 = wk_now_ms();
    for (int k = 0; k < KILLS; k++) {
        int w = rand() % WORKERS;
        int kids[4];
        int nk;
        wk_sleep_ms(600 + rand() % 400);
        nk = wk_children(sup[w], kids, 4);
        if (rand() % 10 < 3 || nk == 0) {
            /* the supervisor: its children die with it (PDEATHSIG) */
            kill(sup[w], SIGKILL);
            sqt_kill_wait(sup[w], SIGKILL, 3000);
            start_worker(w);
            kills_sup++;
        } else {
            kill(kids[rand() % nk], SIGKILL);
            kills_child++;
        }
    }
    print_message("killed %d supervisors and %d children in %lld ms\n",
                  kills_sup, kills_child, (long long)(wk_now_ms() - t0));
    ok = count_success();
    for (int i = 0; i < 1200 && ok < N; i++) {
        wk_sleep_ms(100);
        ok = count_success();
    }
    print_message("all %d SUCCESS after %lld ms\n", ok,
                  (long long)(wk_now_ms() - t0));
    assert_int_equal(ok, N);
    /* executions per task */
    r = sqt_cmd("LRANGE it:runs 0 -1");
    runs = calloc(r->elements + 1, sizeof *runs);
    for (size_t j = 0; j < r->elements; j++) {
        runs[j] = r->element[j]->str;
        runs[j][36] = '\0'; /* id|attempt|ms -> id */
    }
    qsort(runs, r->elements, sizeof *runs, cmp_str);
    {
        char *sorted[N];
        for (int i = 0; i < N; i++) {
            sorted[i] = ids[i];
        }
        qsort(sorted, N, sizeof *sorted, cmp_str);
        size_t j = 0;
        for (int i = 0; i < N; i++) {
            int n = 0;
            while (j < r->elements && strcmp(runs[j], sorted[i]) < 0) {
                j++;
            }
            while (j < r->elements && strcmp(runs[j], sorted[i]) == 0) {
                n++;
                j++;
            }
            missing += n == 0;
            dup += n > 1;
        }
    }
    print_message("executions: %zu for %d tasks; %d ran twice or more\n",
                  r->elements, N, dup);
    free(runs);
    freeReplyObject(r);
    assert_int_equal(missing, 0);
    /* only tasks in flight at a kill (2 per supervisor, 1 per child) */
    assert_true(dup <= 2 * kills_sup + kills_child);
    /* each outcome recorded once */
    assert_int_equal(wk_stat("succeeded|default|syncq.sleep"), N);
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "dlq"), 0);
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "active"), 0);
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(wk_stop(sup[i], 15000), 0);
    }
    unsetenv("SYNCQ_MAX_DELIVERIES");
    syncq_client_close(cl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_kills_lose_nothing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    wk_reap_all();
    return rc;
}
