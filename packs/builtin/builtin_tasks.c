/* SPDX-License-Identifier: MIT
 *
 * builtin_tasks.c: the syncq.* diagnostic tasks. They exercise every part
 * of the task context and of the worker's delivery contract, so tests,
 * benchmarks and operators can check a deployment without a real task
 * pack:
 *
 *   syncq.noop    nothing; returns null
 *   syncq.echo    returns its kwargs
 *   syncq.sleep   sleeps, reports progress, honours stop requests
 *   syncq.fail    fails with the error class named in its kwargs
 *   syncq.crash   kills its own process (segfault); for tests only
 *   syncq.stamp   returns the wall clock (us) at start and its pid
 *   syncq.alloc   allocates (and by default keeps) memory: recycling tests
 *   syncq.fanout  enqueues sub-tasks (parent/root recorded)
 *   syncq.steps   a resumable loop with a checkpoint per step
 *
 * Every kwarg is checked; a bad one fails the task with class validation.
 * Optional Redis side effects (`mark`, `beat` list keys) let tests count
 * executions independently of the task records.
 */
#include "builtin/builtin.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include <syncq/time.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <syncq/client.h>
#include <unistd.h>

/* ---- kwargs helpers -------------------------------------------------- */

/* Number kwarg `key` in [lo, hi] (def when absent). Returns 0, or -1
 * after failing the task with class validation. */
static int
kw_number(syncq_ctx *ctx, const char *key, double lo, double hi, double def,
          double *out)
{
    json_t *v = json_object_get(syncq_ctx_kwargs(ctx), key);

    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v) || !(json_number_value(v) >= lo) ||
        !(json_number_value(v) <= hi)) {
        syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                       "kwarg %s must be a number in %g..%g", key, lo, hi);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* String kwarg (NULL when absent). -1 after failing on a non-string. */
static int
kw_string(syncq_ctx *ctx, const char *key, const char **out)
{
    json_t *v = json_object_get(syncq_ctx_kwargs(ctx), key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > 512) {
        syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                       "kwarg %s must be a string of 1..512 bytes", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static bool
kw_bool(syncq_ctx *ctx, const char *key, bool def)
{
    json_t *v = json_object_get(syncq_ctx_kwargs(ctx), key);

    return v == NULL || !json_is_boolean(v) ? def : json_is_true(v);
}

/* RPUSH `value` to the list `key` (a test's execution log). Best-effort
 * when the broker is down; a task run without a broker skips it. */
static void
push_mark(syncq_ctx *ctx, const char *key, const char *value)
{
    syncq_client *c = syncq_ctx_client(ctx);
    const char *argv[3] = {"RPUSH", key, value};

    if (c == NULL || key == NULL) {
        return;
    }
    syncq_client_command(c, 3, argv, NULL, NULL, NULL);
}

static int64_t
wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleep up to `ms`, waking early (false) when a stop is requested. */
static bool
nap(syncq_ctx *ctx, int64_t ms, bool ignore_stop)
{
    int64_t end = syncq_mono_ms() + ms;

    for (;;) {
        int64_t left = end - syncq_mono_ms();
        struct timespec ts;
        if (!ignore_stop && syncq_ctx_stop_requested(ctx)) {
            return false;
        }
        if (left <= 0) {
            return true;
        }
        if (left > 50) {
            left = 50; /* notice a stop request within 50 ms */
        }
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        nanosleep(&ts, NULL);
    }
}

/* ---- the tasks -------------------------------------------------------- */

static int
task_noop(syncq_ctx *ctx)
{
    return syncq_ctx_succeed(ctx, NULL);
}

static int
task_echo(syncq_ctx *ctx)
{
    return syncq_ctx_succeed(ctx, json_incref(syncq_ctx_kwargs(ctx)));
}

static int
task_sleep(syncq_ctx *ctx)
{
    double seconds, tick;
    const char *mark, *beat;
    bool ignore_stop = kw_bool(ctx, "ignore_stop", false);
    bool progress = kw_bool(ctx, "progress", true);
    int64_t total_ms, start, done_ms = 0;
    char val[160];

    if (kw_number(ctx, "seconds", 0, 86400, 1, &seconds) != 0 ||
        kw_number(ctx, "tick_ms", 1, 60000, 100, &tick) != 0 ||
        kw_string(ctx, "mark", &mark) != 0 ||
        kw_string(ctx, "beat", &beat) != 0) {
        return SYNCQ_EINVAL;
    }
    total_ms = (int64_t)(seconds * 1000.0 + 0.5);
    start = syncq_mono_ms();
    snprintf(val, sizeof val, "%s|%d|%lld", syncq_ctx_id(ctx),
             syncq_ctx_attempt(ctx), (long long)syncq_now_ms());
    push_mark(ctx, mark, val);
    while (done_ms < total_ms) {
        int64_t step = total_ms - done_ms < (int64_t)tick
                           ? total_ms - done_ms
                           : (int64_t)tick;
        if (!nap(ctx, step, ignore_stop)) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                                  "stopped after %lld of %lld ms",
                                  (long long)(syncq_mono_ms() - start),
                                  (long long)total_ms);
        }
        done_ms = syncq_mono_ms() - start;
        if (beat != NULL) {
            snprintf(val, sizeof val, "%s|%lld", syncq_ctx_id(ctx),
                     (long long)syncq_now_ms());
            push_mark(ctx, beat, val);
        }
        if (progress) {
            syncq_ctx_progress(ctx, done_ms < total_ms ? done_ms : total_ms,
                               total_ms, "sleeping", NULL);
        }
    }
    return syncq_ctx_succeed(ctx, json_pack("{s:I}", "slept_ms",
                                            (json_int_t)(syncq_mono_ms() -
                                                         start)));
}

static int
task_fail(syncq_ctx *ctx)
{
    const char *cls_name, *msg;
    double after;
    json_t *detail = json_object_get(syncq_ctx_kwargs(ctx), "detail");
    int cls;

    if (kw_string(ctx, "class", &cls_name) != 0 ||
        kw_string(ctx, "message", &msg) != 0 ||
        kw_number(ctx, "retry_after_ms", 0, 86400000.0, 0, &after) != 0) {
        return SYNCQ_EINVAL;
    }
    cls = syncq_error_class_parse(cls_name != NULL ? cls_name : "internal");
    if (cls <= SYNCQ_ERR_NONE) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "unknown error class '%.64s'", cls_name);
    }
    if (kw_bool(ctx, "garbage", false)) {
        /* C32: an error whose payload cannot be serialised (a string that
         * is not UTF-8) and whose message holds raw bytes and a newline.
         * The worker must store what it can and carry on. */
        syncq_ctx_set_error_detail(ctx, json_stringn_nocheck("\xff\xfe", 2));
        return syncq_ctx_retry_after(ctx, cls, (int64_t)after,
                                     "bad bytes \xff\xfe\nsecond line");
    }
    if (detail != NULL) {
        syncq_ctx_set_error_detail(ctx, json_incref(detail));
    }
    return syncq_ctx_retry_after(ctx, cls, (int64_t)after, "%s",
                                 msg != NULL ? msg : "failing on purpose");
}

static int
task_crash(syncq_ctx *ctx)
{
    const char *how;
    int sig = SIGSEGV;

    if (kw_string(ctx, "how", &how) != 0) {
        return SYNCQ_EINVAL;
    }
    if (how != NULL && strcmp(how, "abort") == 0) {
        sig = SIGABRT;
    } else if (how != NULL && strcmp(how, "kill") == 0) {
        sig = SIGKILL;
    } else if (how != NULL && strcmp(how, "segv") != 0) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "kwarg how must be segv, abort or kill");
    }
    /* Default disposition first, so no sanitizer or host handler turns
     * the crash into an orderly exit: the worker must see a real death. */
    signal(sig, SIG_DFL);
    raise(sig);
    return syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL, "signal %d did not kill "
                          "the process", sig);
}

static int
task_stamp(syncq_ctx *ctx)
{
    return syncq_ctx_succeed(ctx, json_pack("{s:I,s:i,s:i}", "start_us",
                                            (json_int_t)wall_us(), "pid",
                                            (int)getpid(), "attempt",
                                            syncq_ctx_attempt(ctx)));
}

/* Blocks kept by syncq.alloc for the life of the process (a simulated
 * leak); reachable from here, so leak checkers do not flag them. */
static struct held_block {
    struct held_block *next;
} *held_blocks;
static int64_t held_kb;

static int
task_alloc(syncq_ctx *ctx)
{
    double kb;
    bool hold = kw_bool(ctx, "hold", true);
    struct held_block *b;
    size_t n;

    if (kw_number(ctx, "kb", 1, 1048576, 1024, &kb) != 0) {
        return SYNCQ_EINVAL;
    }
    n = (size_t)kb * 1024;
    b = sq_malloc(n);
    if (b == NULL) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL, "cannot allocate "
                              "%zu bytes", n);
    }
    memset(b, 0xa5, n); /* touch every page so RSS grows */
    if (hold) {
        b->next = held_blocks;
        held_blocks = b;
        held_kb += (int64_t)kb;
    } else {
        sq_free(b);
    }
    return syncq_ctx_succeed(ctx, json_pack("{s:I,s:I}", "kb",
                                            (json_int_t)kb, "held_kb",
                                            (json_int_t)held_kb));
}

static int
task_fanout(syncq_ctx *ctx)
{
    const char *name, *queue;
    double count, pri;
    json_t *kw = json_object_get(syncq_ctx_kwargs(ctx), "kwargs");
    json_t *ids;
    char *kwtext = NULL;
    syncq_task_options o;
    syncq_error err;

    if (kw_string(ctx, "name", &name) != 0 ||
        kw_string(ctx, "queue", &queue) != 0 ||
        kw_number(ctx, "count", 1, 10000, 1, &count) != 0 ||
        kw_number(ctx, "priority", -1, 10, -1, &pri) != 0) {
        return SYNCQ_EINVAL;
    }
    if (kw != NULL && !json_is_object(kw)) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "kwarg kwargs must be an object");
    }
    if (kw != NULL) {
        kwtext = json_dumps(kw, JSON_COMPACT);
        if (kwtext == NULL) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL, "out of memory");
        }
    }
    syncq_task_options_init(&o);
    o.queue = queue;
    o.priority = (int)pri;
    ids = json_array();
    for (int i = 0; i < (int)count; i++) {
        char id[SYNCQ_ID_SIZE];
        int rc = syncq_ctx_enqueue(ctx, name != NULL ? name : "syncq.noop",
                                   NULL, kwtext, &o, id, &err);
        if (rc != SYNCQ_OK) {
            int cls = rc == SYNCQ_ECONN     ? SYNCQ_ERR_NETWORK
                      : rc == SYNCQ_EINVAL  ? SYNCQ_ERR_VALIDATION
                      : rc == SYNCQ_ETOOBIG ? SYNCQ_ERR_VALIDATION
                                            : SYNCQ_ERR_INTERNAL;
            sq_free(kwtext);
            syncq_ctx_set_error_detail(ctx, ids);
            return syncq_ctx_fail(ctx, cls, "enqueue %d of %d: %s", i + 1,
                                  (int)count, err.msg);
        }
        json_array_append_new(ids, json_string(id));
    }
    sq_free(kwtext);
    return syncq_ctx_succeed(ctx, json_pack("{s:o}", "ids", ids));
}

static int
task_steps(syncq_ctx *ctx)
{
    double total, step_ms;
    const char *mark;
    bool use_ckpt = kw_bool(ctx, "checkpoint", true);
    json_t *state = NULL;
    int64_t seq = 0;
    int64_t first = 1, ran = 0;
    syncq_error err;
    char val[120];

    if (kw_number(ctx, "total", 1, 1000000, 10, &total) != 0 ||
        kw_number(ctx, "step_ms", 0, 600000, 10, &step_ms) != 0 ||
        kw_string(ctx, "mark", &mark) != 0) {
        return SYNCQ_EINVAL;
    }
    if (use_ckpt &&
        syncq_ctx_checkpoint_load_json(ctx, &state, &seq, &err) == SYNCQ_OK) {
        json_t *s = json_object_get(state, "step");
        /* read back from Redis: a step past total means done (a stored
         * INT64_MAX must not overflow the next step) */
        if (json_is_integer(s) && json_integer_value(s) >= 0) {
            json_int_t v = json_integer_value(s);
            first = v < (json_int_t)total ? (int64_t)v + 1
                                          : (int64_t)total + 1;
        }
        json_decref(state);
    }
    for (int64_t i = first; i <= (int64_t)total; i++) {
        if (!nap(ctx, (int64_t)step_ms, false)) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                                  "stopped at step %lld of %lld",
                                  (long long)i, (long long)total);
        }
        snprintf(val, sizeof val, "%s|%lld", syncq_ctx_id(ctx),
                 (long long)i);
        push_mark(ctx, mark, val);
        ran++;
        if (use_ckpt) {
            json_t *st = json_pack("{s:I}", "step", (json_int_t)i);
            syncq_ctx_checkpoint_save_json(ctx, st, i, NULL);
            json_decref(st);
        }
        syncq_ctx_progress(ctx, i, (int64_t)total, NULL, NULL);
    }
    return syncq_ctx_succeed(ctx, json_pack("{s:I,s:I,s:I}", "total",
                                            (json_int_t)total,
                                            "resumed_from",
                                            (json_int_t)(first - 1), "ran",
                                            (json_int_t)ran));
}

/* Declared arguments (syncq/task.h): what every producer door checks.
 * `mark` and `beat` name Redis list keys a test counts executions in. */
/* they read kwargs only: no argument is taken positionally */
#define KW SYNCQ_ARG_KEYWORD
#define S_MARK                                                              \
    {.name = "mark", .type = SYNCQ_ARG_STRING, .flags = KW, .min = 1,       \
     .max = 512,                                                            \
     .doc = "Redis list to RPUSH the task id to when it runs (tests)"}
#define S_ANY_KWARGS                                                        \
    {.name = "**kwargs", .type = SYNCQ_ARG_REST, .doc = "any other "       \
     "argument is accepted"}

static const syncq_arg_def noop_args[] = {
    S_ANY_KWARGS,
    {0},
};
static const syncq_arg_def sleep_args[] = {
    {.name = "seconds", .type = SYNCQ_ARG_NUMBER, .flags = KW, .min = 0, .max = 86400,
     .default_json = "1", .doc = "how long to sleep"},
    {.name = "tick_ms", .type = SYNCQ_ARG_NUMBER, .flags = KW, .min = 1, .max = 60000,
     .default_json = "100", .doc = "progress step"},
    S_MARK,
    {.name = "beat", .type = SYNCQ_ARG_STRING, .flags = KW, .min = 1, .max = 512,
     .doc = "Redis list to RPUSH \"id|time\" to every tick (tests)"},
    {.name = "ignore_stop", .type = SYNCQ_ARG_BOOL, .flags = KW, .default_json = "false",
     .doc = "keep sleeping when asked to stop (time-limit tests)"},
    {.name = "progress", .type = SYNCQ_ARG_BOOL, .flags = KW, .default_json = "true",
     .doc = "report progress every tick"},
    {0},
};
static const syncq_arg_def fail_args[] = {
    {.name = "class", .type = SYNCQ_ARG_STRING, .flags = KW, .min = 1, .max = 512,
     .default_json = "\"internal\"",
     .doc = "error class: network, timeout, rate_limited, ... (docs/recovery.md)"},
    {.name = "message", .type = SYNCQ_ARG_STRING, .flags = KW, .min = 1, .max = 512,
     .doc = "error message"},
    {.name = "retry_after_ms", .type = SYNCQ_ARG_NUMBER, .flags = KW, .min = 0,
     .max = 86400000, .default_json = "0", .doc = "server-given wait"},
    {.name = "detail", .type = SYNCQ_ARG_ANY, .flags = KW, .doc = "error detail attached"},
    {.name = "garbage", .type = SYNCQ_ARG_BOOL, .flags = KW, .default_json = "false",
     .doc = "send a malformed outcome frame (worker tests)"},
    {0},
};
static const syncq_arg_def crash_args[] = {
    {.name = "how", .type = SYNCQ_ARG_STRING, .flags = KW, .choices = "segv|abort|kill",
     .default_json = "\"segv\"", .doc = "how the child dies"},
    {0},
};
static const syncq_arg_def stamp_args[] = {
    {0},
};
static const syncq_arg_def alloc_args[] = {
    {.name = "kb", .type = SYNCQ_ARG_NUMBER, .flags = KW, .min = 1, .max = 1048576,
     .default_json = "1024", .doc = "KiB to allocate and touch"},
    {.name = "hold", .type = SYNCQ_ARG_BOOL, .flags = KW, .default_json = "true",
     .doc = "keep the memory until the child exits"},
    {0},
};
static const syncq_arg_def fanout_args[] = {
    {.name = "name", .type = SYNCQ_ARG_STRING, .flags = KW, .min = 1, .max = 512,
     .default_json = "\"syncq.noop\"", .doc = "task to enqueue"},
    {.name = "count", .type = SYNCQ_ARG_NUMBER, .flags = KW, .min = 1, .max = 10000,
     .default_json = "1", .doc = "how many sub-tasks"},
    {.name = "kwargs", .type = SYNCQ_ARG_OBJECT, .flags = KW, .default_json = "{}",
     .doc = "kwargs of every sub-task"},
    {.name = "queue", .type = SYNCQ_ARG_STRING, .flags = KW, .min = 1, .max = 512,
     .doc = "queue of the sub-tasks (default: by name)"},
    {.name = "priority", .type = SYNCQ_ARG_NUMBER, .flags = KW, .min = -1, .max = 10,
     .default_json = "-1", .doc = "priority of the sub-tasks (-1: default)"},
    {0},
};
static const syncq_arg_def steps_args[] = {
    {.name = "total", .type = SYNCQ_ARG_NUMBER, .flags = KW, .min = 1, .max = 1000000,
     .default_json = "10", .doc = "steps to count"},
    {.name = "step_ms", .type = SYNCQ_ARG_NUMBER, .flags = KW, .min = 0, .max = 600000,
     .default_json = "10", .doc = "time per step"},
    {.name = "checkpoint", .type = SYNCQ_ARG_BOOL, .flags = KW, .default_json = "true",
     .doc = "save a checkpoint each step"},
    S_MARK,
    {0},
};

static const syncq_task_def builtin_defs[] = {
    {"syncq.noop", task_noop, NULL, -1, 0, 0, -1, NULL, "",
     "Do nothing and return null (benchmarks, smoke tests)", noop_args},
    {"syncq.echo", task_echo, NULL, -1, 0, 0, -1, NULL, "**kwargs",
     "Return the kwargs unchanged (byte-exact round trips)", noop_args},
    {"syncq.sleep", task_sleep, NULL, -1, 0, 0, -1, NULL,
     "seconds=1, tick_ms=100, mark=None, beat=None, ignore_stop=false",
     "Sleep, reporting progress; stops early when asked (fails timeout)",
     sleep_args},
    {"syncq.fail", task_fail, NULL, -1, 0, 0, -1, NULL,
     "class='internal', message=..., retry_after_ms=0, detail=None, "
     "garbage=false",
     "Fail with the given error class (exercises retry policies)", fail_args},
    {"syncq.crash", task_crash, NULL, -1, 0, 0, -1, NULL, "how='segv'",
     "Kill the worker child (segv, abort or kill); tests only", crash_args},
    {"syncq.stamp", task_stamp, NULL, -1, 0, 0, -1, NULL, "",
     "Return {start_us, pid, attempt}: start latency and child identity",
     stamp_args},
    {"syncq.alloc", task_alloc, NULL, -1, 0, 0, -1, NULL,
     "kb=1024, hold=true",
     "Allocate and touch memory, kept until the child exits by default",
     alloc_args},
    {"syncq.fanout", task_fanout, NULL, -1, 0, 0, -1, NULL,
     "name='syncq.noop', count=1, kwargs={}, queue=None, priority=None",
     "Enqueue sub-tasks with this task as parent; returns their ids",
     fanout_args},
    {"syncq.steps", task_steps, NULL, -1, 0, 0, -1, NULL,
     "total=10, step_ms=10, checkpoint=true, mark=None",
     "Count steps with a checkpoint each; resumes after a crash",
     steps_args},
};

int
sq_pack_builtin_init(syncq_registry *r, int abi, syncq_error *err)
{
    if (abi != SYNCQ_PLUGIN_ABI) {
        return sq_fail(err, SYNCQ_ENOTSUP, "syncq.* pack built for ABI %d, "
                       "host has %d", SYNCQ_PLUGIN_ABI, abi);
    }
    for (size_t i = 0; i < sizeof builtin_defs / sizeof builtin_defs[0];
         i++) {
        int rc = syncq_registry_add(r, &builtin_defs[i], err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return SYNCQ_OK;
}
