/* SPDX-License-Identifier: MIT
 *
 * plugin_recovery.c: tasks for the recovery end-to-end tests, loaded by
 * `syncq worker --plugin`. They report to files in the directory given by
 * kwarg "dir" (the test's temp dir), so a test sees the child's pid, the
 * step it reached and when each attempt started, without any mock.
 *
 *   rtest.sum_steps  total=100, step_ms=20, dir
 *       An order-dependent running hash over steps 1..total with a JSON
 *       checkpoint {step, acc} after every step: only a correct resume
 *       from the last good checkpoint gives the uninterrupted result.
 *       Writes "<pid> <step>" to <dir>/<id>.step after each step and
 *       appends the first step of each run to <dir>/<id>.runs.
 *   rtest.auto_steps  total=100, step_ms=20, dir
 *       Reports progress only, with the worker's automatic checkpoints
 *       ({"current", "total"} per progress write); resumes from the
 *       latest one. Same .step / .runs files as sum_steps.
 *   rtest.flaky  class='network', message, retry_after_ms=0, ok_file,
 *                fail_times, dir
 *       Appends the wall-clock ms of each attempt to <dir>/<id>.attempts,
 *       then fails with `class` unless `ok_file` exists or the attempt is
 *       past `fail_times` (then succeeds with {"attempt": n}).
 *   rtest.defer  delay_ms=50, dir
 *       Appends each attempt to <dir>/<id>.attempts like flaky, then
 *       defers (syncq_ctx_defer, rate_limited) for delay_ms: for ever.
 *   rtest.ugly_error
 *       Fails (class network) with a message holding invalid UTF-8,
 *       control bytes, quotes and 4 KiB of text, plus a nested detail:
 *       the C analogue of an exception that cannot be serialised (C32).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/syncq.h>
#include <time.h>
#include <unistd.h>

#include "plugin_util.h"

int syncq_plugin_init(syncq_registry *r, int abi, syncq_error *err);

static const char *
kw_str(syncq_ctx *ctx, const char *k, const char *def)
{
    const char *v = json_string_value(json_object_get(syncq_ctx_kwargs(ctx),
                                                      k));
    return v != NULL ? v : def;
}

static long long
kw_int(syncq_ctx *ctx, const char *k, long long def)
{
    json_t *v = json_object_get(syncq_ctx_kwargs(ctx), k);

    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

static long long
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write (mode "w") or append ("a") the line "a b" to <dir>/<id><suffix>. */
static void
report(syncq_ctx *ctx, const char *suffix, const char *mode, long long a,
       long long b)
{
    const char *dir = kw_str(ctx, "dir", NULL);
    char path[512], tmp[520];
    FILE *f;

    if (dir == NULL) {
        return;
    }
    snprintf(path, sizeof path, "%s/%s%s", dir, syncq_ctx_id(ctx), suffix);
    /* whole-line writes: a reader never sees half a "step" file */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(mode[0] == 'w' ? tmp : path, mode);
    if (f == NULL) {
        return;
    }
    fprintf(f, "%lld %lld\n", a, b);
    fclose(f);
    if (mode[0] == 'w') {
        rename(tmp, path);
    }
}

static int
sum_steps(syncq_ctx *ctx)
{
    long long total = kw_int(ctx, "total", 100);
    long long step_ms = kw_int(ctx, "step_ms", 20);
    long long first = 1, acc = 7;
    json_t *st = NULL;
    int64_t seq = 0;

    if (total < 1 || total > 1000000 || step_ms < 0 || step_ms > 60000) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "total 1..1000000, step_ms 0..60000");
    }
    if (syncq_ctx_checkpoint_load_json(ctx, &st, &seq, NULL) == SYNCQ_OK) {
        json_t *s = json_object_get(st, "step");
        json_t *a = json_object_get(st, "acc");
        if (json_is_integer(s) && json_is_integer(a) &&
            json_integer_value(s) == seq) {
            first = (long long)json_integer_value(s) + 1;
            acc = (long long)json_integer_value(a);
        }
        json_decref(st);
    }
    report(ctx, ".runs", "a", first, (long long)getpid());
    for (long long i = first; i <= total; i++) {
        json_t *cp;
        if (step_ms > 0) {
            usleep((useconds_t)step_ms * 1000);
        }
        acc = (acc * 31 + i * i) % 1000000007LL;
        cp = json_pack("{s:I, s:I}", "step", (json_int_t)i, "acc",
                       (json_int_t)acc);
        if (cp == NULL ||
            syncq_ctx_checkpoint_save_json(ctx, cp, i, NULL) != SYNCQ_OK) {
            json_decref(cp);
            return syncq_ctx_fail(ctx, SYNCQ_ERR_NETWORK,
                                  "checkpoint of step %lld not saved", i);
        }
        json_decref(cp);
        report(ctx, ".step", "w", (long long)getpid(), i);
        syncq_ctx_progress(ctx, i, total, NULL, NULL);
    }
    return syncq_ctx_succeed(ctx, json_pack("{s:I, s:I, s:I}", "steps",
                                            (json_int_t)total, "acc",
                                            (json_int_t)acc, "resumed_from",
                                            (json_int_t)(first - 1)));
}

/* Progress only, with the worker's automatic checkpoints; resumes from
 * the "current" of the latest one. */
static int
auto_steps(syncq_ctx *ctx)
{
    long long total = kw_int(ctx, "total", 100);
    long long step_ms = kw_int(ctx, "step_ms", 20);
    long long first = 1;
    json_t *st = NULL;
    int64_t seq = 0;

    syncq_ctx_checkpoint_auto(ctx, true);
    if (syncq_ctx_checkpoint_load_json(ctx, &st, &seq, NULL) == SYNCQ_OK) {
        json_t *cur = json_object_get(st, "current");
        if (json_is_integer(cur) && json_integer_value(cur) == seq) {
            first = (long long)json_integer_value(cur) + 1;
        }
        json_decref(st);
    }
    report(ctx, ".runs", "a", first, (long long)getpid());
    for (long long i = first; i <= total; i++) {
        usleep((useconds_t)step_ms * 1000);
        report(ctx, ".step", "w", (long long)getpid(), i);
        syncq_ctx_progress(ctx, i, total, NULL, NULL);
    }
    return syncq_ctx_succeed(ctx, json_pack("{s:I, s:I}", "steps",
                                            (json_int_t)total, "resumed_from",
                                            (json_int_t)(first - 1)));
}

static int
flaky(syncq_ctx *ctx)
{
    const char *ok = kw_str(ctx, "ok_file", NULL);
    const char *cls = kw_str(ctx, "class", "network");
    int c = syncq_error_class_parse(cls);
    long long fail_times = kw_int(ctx, "fail_times", -1);

    report(ctx, ".attempts", "a", wall_ms(),
           (long long)syncq_ctx_attempt(ctx));
    if ((ok != NULL && access(ok, F_OK) == 0) ||
        (fail_times >= 0 && syncq_ctx_attempt(ctx) > fail_times)) {
        return syncq_ctx_succeed(ctx, json_pack("{s:i}", "attempt",
                                                syncq_ctx_attempt(ctx)));
    }
    if (c <= 0) {
        c = SYNCQ_ERR_INTERNAL;
    }
    return syncq_ctx_retry_after(ctx, c, kw_int(ctx, "retry_after_ms", 0),
                                 "%s", kw_str(ctx, "message", "flaky"));
}

static int
ugly_error(syncq_ctx *ctx)
{
    char msg[4200];
    size_t n = 0;
    const char head[] = "socket <fd 7> \xff\xfe\x01\"quoted\"\\ \xe4\xb8";

    memcpy(msg, head, sizeof head - 1);
    n = sizeof head - 1;
    while (n < 4096) {
        msg[n] = "0123456789abcdef"[n % 16];
        n++;
    }
    msg[n] = '\0';
    report(ctx, ".attempts", "a", wall_ms(),
           (long long)syncq_ctx_attempt(ctx));
    syncq_ctx_set_error_detail(ctx, json_pack("{s:[i,i], s:{s:n}}", "fds",
                                              7, 8, "obj", "self"));
    return syncq_ctx_fail(ctx, SYNCQ_ERR_NETWORK, "%s", msg);
}

/* Always hands itself back (syncq_ctx_defer, class rate_limited) after
 * `delay_ms`: a host that never ends its cool-down. */
static int
defer_always(syncq_ctx *ctx)
{
    report(ctx, ".attempts", "a", wall_ms(),
           (long long)syncq_ctx_attempt(ctx));
    return syncq_ctx_defer(ctx, SYNCQ_ERR_RATE_LIMITED,
                           kw_int(ctx, "delay_ms", 50),
                           "host h is cooling down");
}

static const syncq_task_def defs[] = {
    {"rtest.sum_steps", sum_steps, "recovery_test", -1, 0, 0, -1, NULL,
     "total=100, step_ms=20, dir", "checkpointed running hash", NULL},
    {"rtest.auto_steps", auto_steps, "recovery_test", -1, 0, 0, -1, NULL,
     "total=100, step_ms=20, dir", "progress with automatic checkpoints",
     NULL},
    {"rtest.flaky", flaky, "recovery_test", -1, 0, 0, -1, NULL,
     "class='network', message, retry_after_ms=0, ok_file, fail_times, dir",
     "fail until a file exists", NULL},
    {"rtest.ugly_error", ugly_error, "recovery_test", -1, 0, 0, -1, NULL,
     "", "fail with an unprintable error", NULL},
    {"rtest.defer", defer_always, "recovery_test", -1, 0, 0, -1, NULL,
     "delay_ms=50, dir", "defer for ever", NULL},
};

int
syncq_plugin_init(syncq_registry *r, int abi, syncq_error *err)
{
    return sq_test_plugin_register(r, abi, defs, sizeof defs / sizeof defs[0],
                                   err);
}
