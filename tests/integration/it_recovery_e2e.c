/* SPDX-License-Identifier: MIT
 *
 * it_recovery_e2e.c: recovery with real `syncq worker` processes and the
 * test plugin (tests/plugins/plugin_recovery.c):
 *   - a 100-step task saving a checkpoint each step, its child SIGKILLed
 *     at step 60: it resumes at step >= 60 and ends with the same result
 *     as an uninterrupted run of the same task;
 *   - the whole worker SIGKILLed at step 60: after the lease expires a
 *     new worker resumes it;
 *   - automatic checkpoints (progress-based, auto mode) resume a task
 *     after its child is killed;
 *   - the latest checkpoint corrupted in Redis while no worker runs: the
 *     previous one is used (and counted);
 *   - retries exhausted: FAILURE in the dead-letter queue; requeued with
 *     `syncq recovery dead requeue`, it runs again and succeeds;
 *   - a non-retryable class fails at once, outside the DLQ;
 *   - C32: an error that cannot be printed cleanly is stored as class +
 *     message, retried twice, then FAILURE, and the worker stays up;
 *   - Retry-After: the retry waits at least the server-given time.
 * TEST_TIMEOUT: 240
 */
#include "sq_test.h"

#include "sq_alloc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static syncq_client *cl;
static char plugin[1024];
static int worker_pid;

static void
start_worker(int concurrency)
{
    worker_pid = sqt_spawn(NULL, "worker -Q recovery_test,default -c %d "
                           "--plugin %s -n w-%d",
                           concurrency, plugin, (int)getpid());
    assert_true(worker_pid > 0);
}

/* Stop the worker and its children: TERM to the group, KILL if slow. */
/* Sanitizer reports of a worker (supervisor or child) land in its log:
 * any is a failure, even when the task itself recovered. */
static void
check_worker_log(int pid)
{
    char path[600];
    char *log;

    snprintf(path, sizeof path, "%s/bg-%d.log", sqt_tmpdir(), pid);
    log = sqt_read_file(path, NULL);
    if (log == NULL) {
        fail_msg("worker log %s missing", path);
    }
    if (strstr(log, "AddressSanitizer") != NULL ||
        strstr(log, "LeakSanitizer") != NULL ||
        strstr(log, "runtime error:") != NULL) {
        fail_msg("sanitizer report in worker log %s", path);
    }
    free(log);
}

static void
stop_worker(void)
{
    if (worker_pid > 0) {
        kill(-worker_pid, SIGTERM);
        if (sqt_kill_wait(worker_pid, SIGTERM, 15000) == -1) {
            kill(-worker_pid, SIGKILL);
            sqt_kill_wait(worker_pid, SIGKILL, 5000);
        }
        kill(-worker_pid, SIGKILL); /* stragglers of the group */
        check_worker_log(worker_pid);
        worker_pid = 0;
    }
}

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
    stop_worker();
    syncq_client_close(cl);
    return 0;
}

static void
create(const char *name, const char *kwargs, const char *policy,
       char id[SYNCQ_ID_SIZE])
{
    syncq_task_options o;
    syncq_error err;

    syncq_task_options_init(&o);
    o.queue = "recovery_test";
    o.retry_policy_json = policy;
    if (syncq_task_create(cl, name, NULL, kwargs, &o, id, NULL, &err) !=
        SYNCQ_OK) {
        fail_msg("create %s: %s", name, err.msg);
    }
}

/* Wait for a final state; returns the record (caller decrefs). */
static json_t *
wait_final(const char *id, int timeout_ms)
{
    json_t *t = NULL;
    syncq_error err;
    int rc = syncq_task_wait(cl, id, timeout_ms, &t, &err);

    if (rc != SYNCQ_OK) {
        char *s = t ? json_dumps(t, JSON_COMPACT) : NULL;
        fail_msg("wait %s: %s (record %s)", id, err.msg, s ? s : "-");
    }
    return t;
}

static const char *
jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

static long long
jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* The plugin's running hash over 1..total, computed here. */
static long long
expected_acc(long long total)
{
    long long acc = 7;

    for (long long i = 1; i <= total; i++) {
        acc = (acc * 31 + i * i) % 1000000007LL;
    }
    return acc;
}

struct step_wait {
    char path[600];
    long long at_least;
    long long pid, step;
};

static bool
step_reached(void *ud)
{
    struct step_wait *w = ud;
    FILE *f = fopen(w->path, "r");
    bool ok = false;

    if (f != NULL) {
        if (fscanf(f, "%lld %lld", &w->pid, &w->step) == 2) {
            ok = w->step >= w->at_least;
        }
        fclose(f);
    }
    return ok;
}

/* Wait until task `id` reached step `n`; returns its child's pid. */
static long long
wait_step(const char *id, long long n, long long *step)
{
    struct step_wait w;

    memset(&w, 0, sizeof w);
    snprintf(w.path, sizeof w.path, "%s/%s.step", sqt_tmpdir(), id);
    w.at_least = n;
    if (!sqt_wait_until(step_reached, &w, 60000)) {
        fail_msg("task %s never reached step %lld", id, n);
    }
    *step = w.step;
    return w.pid;
}

static char *
kwargs_steps(int step_ms)
{
    static char kw[800];

    snprintf(kw, sizeof kw, "{\"total\":100,\"step_ms\":%d,\"dir\":\"%s\"}",
             step_ms, sqt_tmpdir());
    return kw;
}

/* Lines of <tmp>/<id><suffix> (0 if absent). */
static int
count_lines(const char *id, const char *suffix)
{
    char path[600];
    char *text;
    int n = 0;

    snprintf(path, sizeof path, "%s/%s%s", sqt_tmpdir(), id, suffix);
    text = sqt_read_file(path, NULL);
    if (text == NULL) {
        return 0;
    }
    for (char *p = text; *p; p++) {
        n += *p == '\n';
    }
    free(text);
    return n;
}

static void
child_killed_at_step_60_resumes_with_same_result(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
    long long pid, step;
    json_t *ta, *tb;
    char path[600];
    char *runs;
    long long first2 = 0, pid1 = 0, pid2 = 0, first1 = 0;

    (void)state;
    start_worker(2);
    create("rtest.sum_steps", kwargs_steps(30), NULL, a);
    create("rtest.sum_steps", kwargs_steps(30), NULL, b);
    pid = wait_step(a, 60, &step);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    ta = wait_final(a, 90000);
    tb = wait_final(b, 90000);
    assert_string_equal(jstr(ta, "state"), "SUCCESS");
    assert_string_equal(jstr(tb, "state"), "SUCCESS");
    /* same result as the uninterrupted run, and as computed here */
    assert_int_equal(jint(json_object_get(ta, "result"), "acc"),
                     jint(json_object_get(tb, "result"), "acc"));
    assert_int_equal(jint(json_object_get(ta, "result"), "acc"),
                     expected_acc(100));
    assert_int_equal(jint(json_object_get(ta, "result"), "steps"), 100);
    assert_int_equal(jint(json_object_get(tb, "result"), "resumed_from"), 0);
    /* resumed at the step it was killed at (>= 60), not from zero */
    assert_true(jint(json_object_get(ta, "result"), "resumed_from") >= 60);
    assert_true(jint(json_object_get(ta, "result"), "resumed_from") >=
                step);
    assert_int_equal(jint(ta, "attempt"), 2);
    /* two runs in two different children */
    snprintf(path, sizeof path, "%s/%s.runs", sqt_tmpdir(), a);
    runs = sqt_read_file(path, NULL);
    assert_non_null(runs);
    assert_int_equal(sscanf(runs, "%lld %lld\n%lld %lld", &first1, &pid1,
                            &first2, &pid2),
                     4);
    assert_int_equal(first1, 1);
    assert_true(first2 >= 61);
    assert_true(pid1 != pid2);
    assert_int_equal(pid1, pid);
    free(runs);
    json_decref(ta);
    json_decref(tb);
}

static void
worker_killed_at_step_60_resumes_after_lease_expiry(void **state)
{
    char a[SYNCQ_ID_SIZE];
    long long step;
    json_t *t;

    (void)state;
    start_worker(1);
    create("rtest.sum_steps", kwargs_steps(30), NULL, a);
    wait_step(a, 60, &step);
    /* the supervisor and its children at once: nobody requeues it */
    kill(-worker_pid, SIGKILL);
    sqt_kill_wait(worker_pid, SIGKILL, 5000);
    check_worker_log(worker_pid);
    worker_pid = 0;
    assert_string_equal(sqt_task_state(cl, a), "PROGRESS");
    start_worker(1);
    t = wait_final(a, 90000);
    assert_string_equal(jstr(t, "state"), "SUCCESS");
    assert_int_equal(jint(json_object_get(t, "result"), "acc"),
                     expected_acc(100));
    assert_true(jint(json_object_get(t, "result"), "resumed_from") >= 60);
    assert_int_equal(jint(t, "lost"), 1);
    assert_int_equal(jint(t, "attempt"), 2);
    json_decref(t);
}

static void
auto_mode_checkpoints_resume_after_a_kill(void **state)
{
    char a[SYNCQ_ID_SIZE];
    long long pid, step;
    json_t *t, *cps = NULL;
    syncq_error err;
    json_t *first;

    (void)state;
    start_worker(1);
    create("rtest.auto_steps", kwargs_steps(30), NULL, a);
    pid = wait_step(a, 40, &step);
    /* the worker saved {"current", "total"} with the progress writes */
    assert_int_equal(syncq_checkpoint_list(cl, a, &cps, &err), SYNCQ_OK);
    assert_true(json_array_size(cps) >= 1);
    first = json_array_get(cps, 0);
    assert_true(json_is_true(json_object_get(first, "ok")));
    assert_true(json_integer_value(json_object_get(first, "seq")) >= 30);
    json_decref(cps);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    t = wait_final(a, 90000);
    assert_string_equal(jstr(t, "state"), "SUCCESS");
    assert_int_equal(jint(json_object_get(t, "result"), "steps"), 100);
    /* resumed near the kill (auto checkpoints come with the throttled
     * progress writes, at most ~100 ms apart), not from zero */
    assert_true(jint(json_object_get(t, "result"), "resumed_from") >= 30);
    assert_true(jint(json_object_get(t, "result"), "resumed_from") <=
                step + 3);
    assert_int_equal(count_lines(a, ".runs"), 2);
    json_decref(t);
}

static void
corrupt_latest_checkpoint_uses_previous(void **state)
{
    char a[SYNCQ_ID_SIZE];
    long long step, latest = 0;
    redisReply *r, *w;
    char *copy;
    json_t *t;

    (void)state;
    start_worker(1);
    create("rtest.sum_steps", kwargs_steps(30), NULL, a);
    wait_step(a, 60, &step);
    kill(-worker_pid, SIGKILL);
    sqt_kill_wait(worker_pid, SIGKILL, 5000);
    check_worker_log(worker_pid);
    worker_pid = 0;
    /* damage one data byte of the newest checkpoint */
    r = sqt_cmd("LINDEX {syncq}:cp:%s 0", a);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(sscanf(r->str, "SQCP1 %lld", &latest), 1);
    assert_true(latest >= 60);
    copy = malloc(r->len);
    memcpy(copy, r->str, r->len);
    copy[r->len - 2] ^= 0x01;
    w = sqt_cmd("LSET {syncq}:cp:%s 0 %b", a, copy, r->len);
    freeReplyObject(w);
    free(copy);
    freeReplyObject(r);
    start_worker(1);
    t = wait_final(a, 90000);
    assert_string_equal(jstr(t, "state"), "SUCCESS");
    /* resumed from the previous good one, with the right state */
    assert_int_equal(jint(json_object_get(t, "result"), "resumed_from"),
                     latest - 1);
    assert_int_equal(jint(json_object_get(t, "result"), "acc"),
                     expected_acc(100));
    json_decref(t);
    r = sqt_cmd("HGET {syncq}:stats checkpoint_corrupt_total");
    assert_string_equal(r->str, "1");
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cpbad:%s", a), 1);
}

static void
exhausted_retries_dead_letter_then_requeue_runs(void **state)
{
    char a[SYNCQ_ID_SIZE], v[SYNCQ_ID_SIZE], kw[1200], okf[700];
    const char *pol = "{\"network\":{\"base_ms\":100,\"factor\":2,"
                      "\"max_ms\":1000,\"max_retries\":2,\"jitter\":false}}";
    struct sqt_out o;
    json_t *t, *errs;
    FILE *f;

    (void)state;
    start_worker(1);
    snprintf(okf, sizeof okf, "%s/ok-dead", sqt_tmpdir());
    snprintf(kw, sizeof kw, "{\"ok_file\":\"%s\",\"dir\":\"%s\","
             "\"message\":\"upstream reset\"}", okf, sqt_tmpdir());
    create("rtest.flaky", kw, pol, a);
    t = wait_final(a, 30000);
    /* issue 5: retries exhausted -> state FAILURE, in the DLQ */
    assert_string_equal(jstr(t, "state"), "FAILURE");
    assert_string_equal(jstr(t, "dead_reason"), "network");
    assert_null(json_object_get(t, "result_expires_at"));
    assert_int_equal(jint(t, "attempt"), 3);
    assert_int_equal(jint(t, "retries"), 2);
    errs = json_object_get(t, "errors");
    assert_int_equal(json_array_size(errs), 3);
    assert_string_equal(jstr(json_array_get(errs, 2), "message"),
                        "upstream reset");
    assert_int_equal(count_lines(a, ".attempts"), 3);
    json_decref(t);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 1);
    assert_int_equal(sqt_cmd_int("PTTL {syncq}:t:%s", a), -1);
    /* the cause is fixed; a person requeues it */
    f = fopen(okf, "w");
    assert_non_null(f);
    fclose(f);
    o = sqt_cli(NULL, "recovery dead requeue %s", a);
    assert_int_equal(o.status, 0);
    sqt_out_free(&o);
    t = wait_final(a, 30000);
    assert_string_equal(jstr(t, "state"), "SUCCESS");
    assert_int_equal(jint(json_object_get(t, "result"), "attempt"), 4);
    assert_int_equal(json_array_size(json_object_get(t, "errors")), 3);
    json_decref(t);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 0);

    /* validation is not retried and not dead-lettered by default */
    snprintf(kw, sizeof kw, "{\"class\":\"validation\",\"dir\":\"%s\"}",
             sqt_tmpdir());
    create("rtest.flaky", kw, NULL, v);
    t = wait_final(v, 30000);
    assert_string_equal(jstr(t, "state"), "FAILURE");
    assert_int_equal(jint(t, "attempt"), 1);
    assert_int_equal(count_lines(v, ".attempts"), 1);
    json_decref(t);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 0);
}

static bool
pid_alive(int pid)
{
    return kill(pid, 0) == 0;
}

static void
c32_unprintable_error_retried_twice_then_failure(void **state)
{
    char a[SYNCQ_ID_SIZE], n[SYNCQ_ID_SIZE];
    const char *pol = "{\"network\":{\"base_ms\":100,\"max_retries\":2,"
                      "\"jitter\":false,\"dead_letter\":false}}";
    json_t *t, *errs;
    size_t i;
    json_t *e;

    (void)state;
    start_worker(1);
    create("rtest.ugly_error", NULL, pol, a);
    t = wait_final(a, 30000);
    assert_string_equal(jstr(t, "state"), "FAILURE");
    assert_int_equal(jint(t, "attempt"), 3);
    assert_string_equal(jstr(json_object_get(t, "error"), "class"),
                        "network");
    assert_non_null(strstr(jstr(json_object_get(t, "error"), "message"),
                           "socket <fd 7>"));
    errs = json_object_get(t, "errors");
    if (errs != NULL) {
        assert_int_equal(json_array_size(errs), 3);
        json_array_foreach(errs, i, e) {
            assert_string_equal(jstr(e, "class"), "network");
            assert_true(strlen(jstr(e, "message")) > 100);
        }
    } else {
        /* The worker passes the message bytes through unchanged, so the
         * history is not valid UTF-8 JSON and the record keeps it as text
         * (errors_raw). Every attempt must still be in it. */
        const char *raw = jstr(t, "errors_raw");
        int hits = 0;
        for (const char *p = raw; (p = strstr(p, "\"class\":\"network\""));
             p++) {
            hits++;
        }
        assert_int_equal(hits, 3);
        print_message("note: errors history stored as text (message is not "
                      "valid UTF-8)\n");
    }
    json_decref(t);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 0);
    /* the worker is still the same process and still serves */
    assert_true(pid_alive(worker_pid));
    create("syncq.noop", NULL, NULL, n);
    t = wait_final(n, 30000);
    assert_string_equal(jstr(t, "state"), "SUCCESS");
    json_decref(t);
    assert_true(pid_alive(worker_pid));
}

/* Attempt start times (ms) from <tmp>/<id>.attempts. */
static int
attempt_times(const char *id, long long *ms, int cap)
{
    char path[600];
    char *text, *p;
    int n = 0;

    snprintf(path, sizeof path, "%s/%s.attempts", sqt_tmpdir(), id);
    text = sqt_read_file(path, NULL);
    if (text == NULL) {
        return 0;
    }
    p = text;
    while (n < cap) {
        long long t, att;
        int used = 0;
        if (sscanf(p, "%lld %lld\n%n", &t, &att, &used) != 2 || used == 0) {
            break;
        }
        ms[n++] = t;
        p += used;
    }
    free(text);
    return n;
}

static void
retry_after_is_honoured(void **state)
{
    char a[SYNCQ_ID_SIZE], kw[1200], okf[700];
    const char *pol = "{\"rate_limited\":{\"base_ms\":50,\"max_retries\":1,"
                      "\"jitter\":false,\"dead_letter\":false}}";
    long long ms[4];
    json_t *t;

    (void)state;
    start_worker(1);
    snprintf(okf, sizeof okf, "%s/never", sqt_tmpdir());
    snprintf(kw, sizeof kw, "{\"class\":\"rate_limited\",\"retry_after_ms\":"
             "1500,\"ok_file\":\"%s\",\"dir\":\"%s\"}", okf, sqt_tmpdir());
    create("rtest.flaky", kw, pol, a);
    t = wait_final(a, 30000);
    assert_string_equal(jstr(t, "state"), "FAILURE");
    assert_string_equal(jstr(json_object_get(t, "error"), "class"),
                        "rate_limited");
    json_decref(t);
    assert_int_equal(attempt_times(a, ms, 4), 2);
    /* 50 ms by the backoff, 1.5 s by Retry-After: the longer one */
    assert_true(ms[1] - ms[0] >= 1500);
    assert_true(ms[1] - ms[0] < 4000);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(child_killed_at_step_60_resumes_with_same_result),
        T(worker_killed_at_step_60_resumes_after_lease_expiry),
        T(auto_mode_checkpoints_resume_after_a_kill),
        T(corrupt_latest_checkpoint_uses_previous),
        T(exhausted_retries_dead_letter_then_requeue_runs),
        T(c32_unprintable_error_retried_twice_then_failure),
        T(retry_after_is_honoured),
    };
#undef T
    const char *b = getenv("SYNCQ_BUILD_DIR");

    if (b == NULL) {
        fprintf(stderr, "SYNCQ_BUILD_DIR unset: run through ctest\n");
        return 1;
    }
    snprintf(plugin, sizeof plugin, "%s/tests/plugins/plugin_recovery.so", b);
    if (access(plugin, R_OK) != 0) {
        fprintf(stderr, "test plugin %s missing: build target "
                "plugin_recovery\n", plugin);
        return 1;
    }
    /* short leases so a killed worker's task comes back quickly */
    setenv("SYNCQ_LEASE_TIMEOUT", "3", 1);
    setenv("SYNCQ_HEARTBEAT_INTERVAL", "500ms", 1);
    setenv("SYNCQ_SHUTDOWN_GRACE", "2", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
