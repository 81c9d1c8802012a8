/* SPDX-License-Identifier: MIT
 *
 * it_worker_util.h: helpers of the worker integration tests
 * (it_worker_*.c): start real `syncq worker` processes, find their
 * children, create tasks, wait for states, read Redis. Static functions
 * only, so each test binary gets its own copy (tests/CMakeLists.txt
 * builds one file per test).
 */
#ifndef IT_WORKER_UTIL_H
#define IT_WORKER_UTIL_H

#include "sq_test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WK_UNUSED __attribute__((unused))
#define WK_NS "{syncq}:"

WK_UNUSED static int64_t
wk_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

WK_UNUSED static int64_t
wk_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

WK_UNUSED static void
wk_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Fast timings for crash tests (real deployments use seconds: 30 s
 * leases, 2 s heartbeats; here 2 s and 0.3 s so lapses take seconds). */
WK_UNUSED static void
wk_fast_env(void)
{
    setenv("SYNCQ_LEASE_TIMEOUT", "2", 1);
    setenv("SYNCQ_HEARTBEAT_INTERVAL", "300ms", 1);
    setenv("SYNCQ_CANCEL_GRACE", "1", 1);
    setenv("SYNCQ_SHUTDOWN_GRACE", "3", 1);
    setenv("SYNCQ_RECONNECT_MAX_DELAY", "500ms", 1);
    setenv("SYNCQ_WORKER_QUEUES", "default", 1);
}

/* Workers started by this test, killed by wk_reap_all (teardown) so a
 * failed assertion never leaves one serving the next test's tasks. */
static int wk_pids[64];
static int wk_npids;

/* Start `syncq worker -n NAME ARGS` (log in the test dir); returns pid. */
WK_UNUSED static int
wk_start(const char *name, const char *args)
{
    char log[512];
    int pid;

    snprintf(log, sizeof log, "%s/worker-%s.log", sqt_tmpdir(), name);
    pid = sqt_spawn(log, "worker -n %s %s", name, args != NULL ? args : "");
    if (wk_npids < 64) {
        wk_pids[wk_npids++] = pid;
    }
    return pid;
}

/* Sanitizer reports in any worker log of this test fail it: a daemon's
 * ASan/UBSan finding must not hide behind a passing assertion. */
WK_UNUSED static void
wk_check_logs(void)
{
    DIR *d = opendir(sqt_tmpdir());
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[1024];
        char *text;
        if (strncmp(e->d_name, "worker-", 7) != 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", sqt_tmpdir(), e->d_name);
        text = sqt_read_file(path, NULL);
        if (text != NULL && (strstr(text, "ERROR: AddressSanitizer") ||
                             strstr(text, "ERROR: LeakSanitizer") ||
                             strstr(text, "runtime error:"))) {
            free(text);
            closedir(d);
            fail_msg("sanitizer report in %s", path);
        }
        free(text);
    }
    if (d != NULL) {
        closedir(d);
    }
}

WK_UNUSED static void
wk_reap_all(void)
{
    for (int i = 0; i < wk_npids; i++) {
        int st;
        if (waitpid(wk_pids[i], &st, WNOHANG) == 0) {
            kill(-wk_pids[i], SIGKILL);
            sqt_kill_wait(wk_pids[i], SIGKILL, 3000);
        }
    }
    wk_npids = 0;
    wk_check_logs();
}

WK_UNUSED static bool
wk_key_exists(void *key)
{
    redisReply *r = sqt_cmd("EXISTS %s", (const char *)key);
    bool yes = r->type == REDIS_REPLY_INTEGER && r->integer == 1;

    freeReplyObject(r);
    return yes;
}

/* Wait until worker NAME has sent its first heartbeat. */
WK_UNUSED static void
wk_wait_ready(const char *name)
{
    char key[256];

    snprintf(key, sizeof key, WK_NS "w:%s", name);
    if (!sqt_wait_until(wk_key_exists, key, 15000)) {
        fail_msg("worker %s did not register within 15 s", name);
    }
    wk_sleep_ms(150); /* children READY */
}

/* Pids of the children of `pid` (up to cap); returns how many. */
WK_UNUSED static int
wk_children(int pid, int *out, int cap)
{
    char path[128], buf[1024];
    FILE *f;
    int n = 0;
    char *p = buf;

    snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    if (fgets(buf, sizeof buf, f) == NULL) {
        buf[0] = '\0';
    }
    fclose(f);
    while (*p != '\0' && n < cap) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) {
            break;
        }
        out[n++] = (int)v;
        p = end;
    }
    return n;
}

WK_UNUSED static bool
wk_alive(int pid)
{
    char path[64], buf[512];
    FILE *f;
    bool zombie = false;

    if (kill(pid, 0) != 0) {
        return false;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fgets(buf, sizeof buf, f) != NULL) {
            char *rp = strrchr(buf, ')');
            zombie = rp != NULL && rp[1] == ' ' && rp[2] == 'Z';
        }
        fclose(f);
    }
    return !zombie;
}

/* Create a task; fails the test on error. kwargs may be NULL. */
WK_UNUSED static void
wk_create(syncq_client *c, const char *name, const char *kwargs,
          const syncq_task_options *o, char id[SYNCQ_ID_SIZE])
{
    syncq_error err;

    if (syncq_task_create(c, name, NULL, kwargs, o, id, NULL, &err) !=
        SYNCQ_OK) {
        fail_msg("create %s: %s", name, err.msg);
    }
}

/* Wait until task `id` is final; returns its record (caller decrefs). */
WK_UNUSED static json_t *
wk_wait(syncq_client *c, const char *id, int timeout_ms)
{
    json_t *t = NULL;
    syncq_error err;
    int rc = syncq_task_wait(c, id, timeout_ms, &t, &err);

    if (rc != SYNCQ_OK) {
        fail_msg("task %s not final after %d ms: %s (state %s)", id,
                 timeout_ms, err.msg,
                 t != NULL ? json_string_value(json_object_get(t, "state"))
                           : "?");
    }
    return t;
}

WK_UNUSED static const char *
wk_state(json_t *t)
{
    const char *s = json_string_value(json_object_get(t, "state"));

    return s != NULL ? s : "";
}

/* Integer field of a record (0 if absent). */
WK_UNUSED static long long
wk_int(json_t *t, const char *key)
{
    return (long long)json_integer_value(json_object_get(t, key));
}

/* Length of a Redis list / zset / hash field as an integer. */
WK_UNUSED static long long
wk_llen(const char *key)
{
    return sqt_cmd_int("LLEN %s", key);
}

WK_UNUSED static long long
wk_stat(const char *field)
{
    redisReply *r = sqt_cmd("HGET " WK_NS "stats %s", field);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;

    freeReplyObject(r);
    return v;
}

/* Count of tasks in state `state` among ids[0..n). */
WK_UNUSED static int
wk_count_state(syncq_client *c, char (*ids)[SYNCQ_ID_SIZE], int n,
               const char *state)
{
    int k = 0;

    for (int i = 0; i < n; i++) {
        k += strcmp(sqt_task_state(c, ids[i]), state) == 0;
    }
    return k;
}

/* SIGTERM and wait; returns the exit status (-1 on timeout). */
WK_UNUSED static int
wk_stop(int pid, int timeout_ms)
{
    int st = sqt_kill_wait(pid, SIGTERM, timeout_ms);

    if (st == -1) {
        kill(-pid, SIGKILL);
        sqt_kill_wait(pid, SIGKILL, 2000);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* SIGKILL the whole worker (supervisor and its process group). */
WK_UNUSED static void
wk_kill_all(int pid)
{
    kill(-pid, SIGKILL);
    sqt_kill_wait(pid, SIGKILL, 3000);
}

#endif
