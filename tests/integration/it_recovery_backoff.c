/* SPDX-License-Identifier: MIT
 *
 * it_recovery_backoff.c: known-failures C33 with a real worker. A task
 * with backoff base 2 s, factor 2, jitter off fails 5 times, then
 * succeeds: the gaps between attempts are 2, 4, 8, 16, 32 s (+-1 s),
 * exponential and not linear; the record ends with attempt == 6 and
 * retries == 5 and keeps the 5 errors. While it waits, `syncq task info`
 * shows next_retry_at = the ETA of the delayed retry. The worker is
 * SIGKILLed during the 16 s wait and a new one started: the retry lives
 * in Redis and still fires on time.
 * TEST_TIMEOUT: 240
 * TEST_LABELS: slow
 */
#include "sq_test.h"

#include "core/sq_time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static syncq_client *cl;
static char plugin[1024];
static int worker_pid;

static void
start_worker(void)
{
    worker_pid = sqt_spawn(NULL, "worker -Q recovery_test -c 1 --plugin %s",
                           plugin);
    assert_true(worker_pid > 0);
}

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
kill_worker(int sig)
{
    if (worker_pid > 0) {
        kill(-worker_pid, sig);
        if (sqt_kill_wait(worker_pid, sig, 15000) == -1) {
            kill(-worker_pid, SIGKILL);
            sqt_kill_wait(worker_pid, SIGKILL, 5000);
        }
        kill(-worker_pid, SIGKILL);
        check_worker_log(worker_pid);
        worker_pid = 0;
    }
}

/* Attempt start times (wall ms) the plugin wrote. */
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

struct attempts_wait {
    const char *id;
    int n;
};

static bool
attempts_reached(void *ud)
{
    struct attempts_wait *w = ud;
    long long ms[16];

    return attempt_times(w->id, ms, 16) >= w->n &&
           strcmp(sqt_task_state(cl, w->id), "RETRY") == 0;
}

/* The value printed after `label` by `syncq task info`. */
static void
info_line(const char *id, const char *label, char *out, size_t cap)
{
    struct sqt_out o = sqt_cli(NULL, "task info %s", id);
    const char *p;
    size_t n;

    out[0] = '\0';
    assert_int_equal(o.status, 0);
    p = strstr(o.out, label);
    if (p != NULL) {
        p += strlen(label);
        while (*p == ' ') {
            p++;
        }
        n = strcspn(p, "\n");
        snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    }
    sqt_out_free(&o);
}

static void
c33_gaps_2_4_8_16_32_across_a_worker_restart(void **state)
{
    const char *pol = "{\"network\":{\"base\":\"2s\",\"factor\":2,"
                      "\"max\":\"10m\",\"max_retries\":5,\"jitter\":false}}";
    const long long want[] = {2000, 4000, 8000, 16000, 32000};
    char id[SYNCQ_ID_SIZE], kw[800], next[64], eta[64];
    struct attempts_wait w;
    syncq_task_options o;
    syncq_error err;
    long long ms[16];
    json_t *t = NULL;
    int64_t next_ms = 0;

    (void)state;
    sqt_flush();
    cl = sqt_client();
    start_worker();
    snprintf(kw, sizeof kw, "{\"fail_times\":5,\"dir\":\"%s\","
             "\"message\":\"connection refused\"}", sqt_tmpdir());
    syncq_task_options_init(&o);
    o.queue = "recovery_test";
    o.retry_policy_json = pol;
    assert_int_equal(syncq_task_create(cl, "rtest.flaky", NULL, kw, &o, id,
                                       NULL, &err),
                     SYNCQ_OK);

    /* after the first failure: RETRY with next_retry_at shown */
    w.id = id;
    w.n = 1;
    assert_true(sqt_wait_until(attempts_reached, &w, 20000));
    info_line(id, "\nnext_retry_at", next, sizeof next);
    info_line(id, "\neta", eta, sizeof eta);
    assert_true(next[0] != '\0');
    assert_string_equal(next, eta);
    assert_int_equal(sq_time_parse_iso8601(next, &next_ms, &err), SYNCQ_OK);
    assert_int_equal(attempt_times(id, ms, 16), 1);
    /* the ETA is the failure time + 2 s (the first attempt is quick) */
    assert_true(next_ms - ms[0] >= 2000 - 50);
    assert_true(next_ms - ms[0] <= 2000 + 1000);

    /* during the 16 s wait (after attempt 4) the worker dies and a new
     * one takes over: the delayed retry is in Redis, not in the worker */
    w.n = 4;
    assert_true(sqt_wait_until(attempts_reached, &w, 60000));
    sleep(2);
    kill_worker(SIGKILL);
    assert_string_equal(sqt_task_state(cl, id), "RETRY");
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 1);
    start_worker();

    assert_int_equal(syncq_task_wait(cl, id, 120000, &t, &err), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t, "state")),
                        "SUCCESS");
    assert_int_equal(json_integer_value(json_object_get(t, "attempt")), 6);
    assert_int_equal(json_integer_value(json_object_get(t, "retries")), 5);
    assert_int_equal(json_array_size(json_object_get(t, "errors")), 5);
    json_decref(t);
    assert_int_equal(attempt_times(id, ms, 16), 6);
    for (int i = 0; i < 5; i++) {
        long long gap = ms[i + 1] - ms[i];
        print_message("gap %d: %lld ms (want %lld)\n", i + 1, gap, want[i]);
        assert_true(gap >= want[i] - 1000);
        assert_true(gap <= want[i] + 1000);
    }
    kill_worker(SIGTERM);
    syncq_client_close(cl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(c33_gaps_2_4_8_16_32_across_a_worker_restart),
    };
    const char *b = getenv("SYNCQ_BUILD_DIR");

    if (b == NULL) {
        fprintf(stderr, "SYNCQ_BUILD_DIR unset: run through ctest\n");
        return 1;
    }
    snprintf(plugin, sizeof plugin, "%s/tests/plugins/plugin_recovery.so", b);
    if (access(plugin, R_OK) != 0) {
        fprintf(stderr, "test plugin %s missing\n", plugin);
        return 1;
    }
    setenv("SYNCQ_LEASE_TIMEOUT", "5", 1);
    setenv("SYNCQ_HEARTBEAT_INTERVAL", "500ms", 1);
    setenv("SYNCQ_SHUTDOWN_GRACE", "2", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
