/* SPDX-License-Identifier: MIT
 *
 * syncq/task.h: writing tasks in C. A task is a function registered by
 * name with its defaults (queue, priority, time limits, retries). The
 * worker runs it in a child process with a context (syncq_ctx) that gives
 * the arguments and lets it report progress, save and load checkpoints,
 * check whether it should stop, fan out sub-tasks, and finish with a JSON
 * result or an error of a class.
 *
 * The 1688 packs (packs/) and plugins (`syncq worker --plugin x.so`)
 * register through this header only. A plugin exports
 *
 *     int syncq_plugin_init(syncq_registry *r, int abi_version,
 *                           syncq_error *err);
 *
 * which checks abi_version == SYNCQ_PLUGIN_ABI (return SYNCQ_ENOTSUP
 * otherwise) and calls syncq_registry_add() for each task. See
 * examples/custom_task/.
 *
 * Thread-safety: a registry is filled before the worker forks and only
 * read afterwards. A syncq_ctx belongs to the one task run it was made
 * for; its functions are called from the task's thread.
 */
#ifndef SYNCQ_TASK_H
#define SYNCQ_TASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYNCQ_PLUGIN_ABI 2 /* 2: syncq_task_def gained `args` */

/* Error classes of a failed task: data in the task record, driving the
 * retry policy (syncq/recovery.h has the defaults per class). */
enum syncq_error_class {
    SYNCQ_ERR_NONE = 0,
    SYNCQ_ERR_NETWORK,        /* connect/reset/DNS: retried */
    SYNCQ_ERR_TIMEOUT,        /* time limit or I/O timeout: retried */
    SYNCQ_ERR_RATE_LIMITED,   /* 429 / platform rate limit: retried after
                                 Retry-After */
    SYNCQ_ERR_HTTP_5XX,       /* server error: retried */
    SYNCQ_ERR_PARSE,          /* malformed response: not retried */
    SYNCQ_ERR_VALIDATION,     /* bad arguments or data: not retried */
    SYNCQ_ERR_NOT_FOUND,      /* 404 / offer delisted: not retried */
    SYNCQ_ERR_AUTH,           /* 401/403, bad signature, no quota: not
                                 retried */
    SYNCQ_ERR_INTERNAL,       /* a bug in the task: not retried */
    SYNCQ_ERR_NOT_REGISTERED, /* no task of that name in this worker */
    SYNCQ_ERR_BLOCKED,        /* captcha / anti-bot page: host cool-down,
                                 then retried */
    SYNCQ_ERR_WORKER_LOST,    /* the child died (signal, OOM) */
    SYNCQ_ERR_REVOKED,        /* cancelled */
    SYNCQ_ERR__COUNT
};

/* Stable lowercase name of an error class ("rate_limited"); "none" for 0,
 * "unknown" outside the enum. Thread-safe. */
SYNCQ_API const char *syncq_error_class_name(int cls);

/* Parse a class name; returns the class or -1. */
SYNCQ_API int syncq_error_class_parse(const char *name);

typedef struct syncq_ctx syncq_ctx;
typedef struct syncq_registry syncq_registry;

/* A task function. Return syncq_ctx_succeed(...) or syncq_ctx_fail(...) /
 * syncq_ctx_retry(...). Returning SYNCQ_OK without calling any of them
 * means success with a null result. The function must not exit() or
 * abort(); a crash is contained (the child dies and the task is handled
 * per its policy), but it costs a delivery. */
typedef int (*syncq_task_fn)(syncq_ctx *ctx);

/* A task's registration. Strings must outlive the registry (use string
 * literals or memory the plugin keeps). */
/* ---- declared arguments ------------------------------------------------
 * A task may declare its arguments in its registration (syncq_task_def
 * .args). Every producer door checks a task's args/kwargs against its
 * declaration before anything is written to Redis: syncq_task_create and
 * syncq_task_create_many, batches (chunks and the completion task),
 * schedules at add time, `syncq task create`, the HTTP API. A task with
 * no declaration (args NULL) is not checked at the door; it checks its
 * own arguments when it runs. docs/tasks.md ("Declared arguments"). */

/* Type of a declared argument. JSON null counts as "not given". */
enum syncq_arg_type {
    SYNCQ_ARG_ANY = 0, /* any JSON value */
    SYNCQ_ARG_STRING,  /* JSON string */
    SYNCQ_ARG_INT,     /* integer: JSON integer, integral number, or a
                          string of digits ("500", as the seed sent) */
    SYNCQ_ARG_NUMBER,  /* JSON integer or real */
    SYNCQ_ARG_BOOL,    /* true/false, 0/1, "true"/"false"/"1"/"0" */
    SYNCQ_ARG_ARRAY,   /* JSON array (elements of .item_type) */
    SYNCQ_ARG_OBJECT,  /* JSON object */
    SYNCQ_ARG_URL,     /* string starting http:// or https:// */
    SYNCQ_ARG_ID,      /* a 1688 id: an INT that is >= 0 (ids are sent
                          as numbers and as strings) */
    SYNCQ_ARG_REST,    /* not an argument: "any other argument, by name
                          or positional, is accepted" (name it
                          "**kwargs") */
    SYNCQ_ARG__COUNT
};

#define SYNCQ_ARG_REQUIRED 0x1u /* must be given (not null) */
#define SYNCQ_ARG_ITEMS 0x2u    /* an array argument a batch fills: each
                                   chunk's items go here (syncq/batch.h);
                                   at most one per task */
#define SYNCQ_ARG_KEYWORD 0x4u  /* by name only: not taken from args[] */

/* One declared argument. Declaration order is also the order of
 * positional args: args[i] is the i-th declared argument that is not
 * SYNCQ_ARG_KEYWORD; more positional args than those are refused. Strings are
 * borrowed for the registry's life, like the rest of syncq_task_def. */
typedef struct syncq_arg_def {
    const char *name;         /* "page_size"; NULL ends the array */
    int type;                 /* enum syncq_arg_type */
    unsigned flags;           /* SYNCQ_ARG_REQUIRED | _ITEMS | _KEYWORD */
    int64_t min, max;         /* inclusive range; both 0: none. INT/NUMBER/
                                 ID: the value; STRING/URL: length in bytes;
                                 ARRAY: element count. INT64_MIN/INT64_MAX
                                 leave one side open */
    const char *choices;      /* STRING: allowed values "a|b|c"; NULL: any */
    int item_type;            /* ARRAY: type of every element; 0: any */
    const char *default_json; /* the default as JSON text, shown by `task
                                 describe`; NULL: none (or computed: say
                                 so in doc) */
    const char *doc;          /* one line */
} syncq_arg_def;

/* The batch summary a batch's completion task receives as kwargs
 * (syncq/batch.h: on_complete): declare it in a task meant to run as
 * one, e.g. { ..., SYNCQ_ARGS_BATCH_SUMMARY, {0} }. A declared task
 * without it is refused as a completion task when the batch is made. */
#define SYNCQ_ARGS_BATCH_SUMMARY                                            \
    {.name = "batch_id", .type = SYNCQ_ARG_STRING,                          \
     .flags = SYNCQ_ARG_KEYWORD, .min = 1, .max = 64,                       \
     .doc = "run as a batch's completion task: the batch"},                 \
    {.name = "total", .type = SYNCQ_ARG_INT, .flags = SYNCQ_ARG_KEYWORD,    \
     .min = 0, .max = INT64_MAX, .doc = "completion: chunks in the batch"}, \
    {.name = "succeeded", .type = SYNCQ_ARG_INT,                            \
     .flags = SYNCQ_ARG_KEYWORD, .min = 0, .max = INT64_MAX,                \
     .doc = "completion: chunks that ended SUCCESS"},                       \
    {.name = "failed", .type = SYNCQ_ARG_INT, .flags = SYNCQ_ARG_KEYWORD,   \
     .min = 0, .max = INT64_MAX, .doc = "completion: chunks that did not"}

typedef struct syncq_task_def {
    const char *name;       /* "crawler.fetch_products" */
    syncq_task_fn fn;
    const char *queue;      /* default queue; NULL: syncq_registry_route */
    int priority;           /* default priority 0..10; -1: 5 */
    int64_t time_limit_ms;  /* 0: worker default */
    int64_t soft_time_limit_ms; /* 0: worker default */
    int max_retries;        /* -1: SYNCQ_TASK_MAX_RETRIES */
    const char *retry_policy_json; /* per-class overrides, or NULL */
    const char *signature;  /* arguments for docs/CLI help:
                               "category_id, page=1, page_size=50" */
    const char *doc;        /* one line */
    const syncq_arg_def *args; /* declared arguments, ended by an entry
                                  whose name is NULL; NULL: not declared
                                  (not checked at the door) */
} syncq_task_def;

/* Add a task. The def is copied (its strings and args are borrowed for
 * the registry's life). Errors: SYNCQ_EINVAL (bad name, NULL fn, bad
 * priority, a malformed argument declaration: the message names the
 * argument), SYNCQ_EEXIST (name taken), SYNCQ_ENOMEM. */
SYNCQ_API int syncq_registry_add(syncq_registry *r, const syncq_task_def *def,
                                 syncq_error *err);

/* Give registered task `task` a rate limit: Celery's task rate_limit,
 * per worker. `rate` is "10/s", "100/m", "1000/h" (any form of
 * syncq_rate_parse; copied); NULL removes it. A worker then starts tasks
 * of that name at most that often, spaced period/N apart (10/s: one
 * every 100 ms); a task over its limit waits in the worker holding its
 * lease (not failed) while tasks of other names pass it. `syncq worker
 * control rate-limit TASK RATE` changes it at run time.
 * Errors: SYNCQ_ENOTFOUND (not registered), SYNCQ_EINVAL (bad rate: the
 * message names the task and the accepted forms), SYNCQ_ETOOBIG (more
 * than 64 tasks with a limit). Not thread-safe: call while registering. */
SYNCQ_API int syncq_registry_set_rate_limit(syncq_registry *r,
                                            const char *task,
                                            const char *rate,
                                            syncq_error *err);

/* The rate limit declared for `task` ("10/s"), or NULL for none.
 * Borrowed: valid until the next set call for that task. */
SYNCQ_API const char *syncq_registry_rate_limit(const syncq_registry *r,
                                                const char *task);

/* Find a task by name (long seed names accepted). Borrowed; NULL if not
 * registered. */
SYNCQ_API const syncq_task_def *syncq_registry_find(const syncq_registry *r,
                                                    const char *name);

/* Declare that unregistered tasks named `<ns>.<...>` go to `queue` when
 * the producer names none (a pack's namespace: the 1688 packs route
 * crawler.* to queue "crawler"). A registered task's own queue wins;
 * the longest matching namespace wins. Strings are borrowed for the
 * registry's life. Errors: SYNCQ_EINVAL (ns not a task name, bad queue
 * name), SYNCQ_EEXIST (ns already routed), SYNCQ_ETOOBIG (more than 32
 * namespaces). Not thread-safe: register before producing. */
SYNCQ_API int syncq_registry_add_route(syncq_registry *r, const char *ns,
                                       const char *queue, syncq_error *err);

/* The queue a task goes to when the producer names none: its
 * registration's queue, else its namespace's route, else NULL (then
 * SYNCQ_TASK_DEFAULT_QUEUE). Long seed names accepted. Borrowed. */
SYNCQ_API const char *syncq_registry_route(const syncq_registry *r,
                                           const char *name);

/* The queues a worker serves when none are configured: "default" (the
 * SYNCQ_TASK_DEFAULT_QUEUE of a producer naming none), then every route's
 * queue in the order the routes were added, then every registered task's
 * own queue (by task name), each once. Up to `max` names are stored in
 * `out` (borrowed for the registry's life); returns how many there are in
 * all (more than `max`: the caller's array was short). r NULL: only
 * "default". Not thread-safe against registration. */
SYNCQ_API size_t syncq_registry_queues(const syncq_registry *r,
                                       const char **out, size_t max);

/* Number of tasks, and the i-th (0-based, sorted by name) for listings. */
SYNCQ_API size_t syncq_registry_count(const syncq_registry *r);
SYNCQ_API const syncq_task_def *syncq_registry_at(const syncq_registry *r,
                                                  size_t i);

/* The process-wide registry holding the built-in packs (syncq.*,
 * crawler.*, image_processing.*, data_sync.*, batch_processing.*),
 * created on first use. Never NULL except on out-of-memory. Not
 * thread-safe on first call. */
SYNCQ_API syncq_registry *syncq_registry_default(void);

/* Check positional `args` (array or NULL) and keyword `kwargs` (object
 * or NULL) against the declaration `decl` (ended by a NULL name; NULL:
 * nothing declared, always SYNCQ_OK). Unknown kwargs (with the nearest
 * declared name), missing required arguments, wrong types, values out of
 * range or not among the choices, too many positional arguments and an
 * argument given both ways are each one problem. Both borrowed.
 * *problems (may be NULL): on SYNCQ_EINVAL a new array of {"field":
 * name, "error": text} objects, one per bad field, in declaration order
 * then unknown names; NULL otherwise. err->msg is "field: error" of the
 * first problem, then "; ..." for the others as far as they fit.
 * Errors: SYNCQ_EINVAL, SYNCQ_ENOMEM. Pure and thread-safe. */
SYNCQ_API int syncq_args_check(const syncq_arg_def *decl, json_t *args,
                               json_t *kwargs, json_t **problems,
                               syncq_error *err);

/* Check task `name`'s args and kwargs (JSON texts; NULL: none) against
 * its declaration: from the default registry when the task is
 * registered in this process, else from the declarations workers publish
 * to Redis at start (syncq_registry_publish), looked up through `c` (may
 * be NULL: registry only). No declaration known: SYNCQ_OK (unchecked; the
 * task checks its arguments when it runs). Errors and *problems as
 * syncq_args_check; SYNCQ_ECONN when the lookup in Redis fails.
 * Thread-safety: as `c` (syncq/client.h). */
SYNCQ_API int syncq_task_args_check(syncq_client *c, const char *name,
                                    const char *args_json,
                                    const char *kwargs_json,
                                    json_t **problems, syncq_error *err);

/* A task's declaration as JSON: {"task", "queue", "doc", "signature",
 * "declared": bool, "source": "registry"|"redis", "args": [{"name",
 * "type", "required", "items", "keyword", "min", "max", "choices",
 * "item_type", "default", "doc"}...]} (absent keys: not set). Looked up like
 * syncq_task_args_check. *out: new reference.
 * Errors: SYNCQ_ENOTFOUND (no task of that name known here or in Redis;
 *         the message names the nearest known task: "did you mean ...?"),
 *         SYNCQ_EINVAL (bad name), SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_task_describe(syncq_client *c, const char *name,
                                  json_t **out, syncq_error *err);

/* Publish the declarations of every task of `r` to Redis (hash
 * {ns}:taskargs, field = task name, value = the syncq_task_describe JSON
 * with "v": 1), so producers that have not registered the task can check
 * its arguments. Workers call it at start; the last writer of a name
 * wins. Tasks without a declaration are published as "declared": false.
 * Errors: SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_registry_publish(syncq_client *c, const syncq_registry *r,
                                     syncq_error *err);

/* dlopen `path` and call its syncq_plugin_init. Errors: SYNCQ_EIO (cannot
 * load: dlerror text), SYNCQ_EINVAL (no syncq_plugin_init symbol),
 * SYNCQ_ENOTSUP (ABI mismatch), or what the plugin returned. */
SYNCQ_API int syncq_registry_load_plugin(syncq_registry *r, const char *path,
                                         syncq_error *err);

/* ---- the context a task runs with -------------------------------------
 * Pointers returned by these accessors are borrowed and valid until the
 * task function returns. */

SYNCQ_API const char *syncq_ctx_id(const syncq_ctx *ctx);
SYNCQ_API const char *syncq_ctx_name(const syncq_ctx *ctx);
SYNCQ_API const char *syncq_ctx_queue(const syncq_ctx *ctx);
/* JSON array of positional arguments (never NULL; borrowed). */
SYNCQ_API json_t *syncq_ctx_args(const syncq_ctx *ctx);
/* JSON object of keyword arguments (never NULL; borrowed). */
SYNCQ_API json_t *syncq_ctx_kwargs(const syncq_ctx *ctx);
/* 1 on the first execution, +1 each time the task is leased again. */
SYNCQ_API int syncq_ctx_attempt(const syncq_ctx *ctx);
/* Retries scheduled so far by the retry policy (0 on the first run). */
SYNCQ_API int syncq_ctx_retries(const syncq_ctx *ctx);
/* The batch this task belongs to, or NULL. */
SYNCQ_API const char *syncq_ctx_batch_id(const syncq_ctx *ctx);
/* The child's broker connection (open; borrowed) for the task's own Redis
 * needs, e.g. a shared rate limiter. NULL when run without a broker. */
SYNCQ_API syncq_client *syncq_ctx_client(syncq_ctx *ctx);
/* The worker's configuration (borrowed). */
SYNCQ_API const syncq_config *syncq_ctx_config(const syncq_ctx *ctx);

/* True once the task should stop: soft time limit reached, a cancel
 * arrived, or a warm shutdown's grace period is about to end. The task
 * should checkpoint
 * and return (any outcome); the worker kills it at the hard limit or
 * after the cancel grace period. Cheap: reads a flag set by SIGUSR1. */
SYNCQ_API bool syncq_ctx_stop_requested(const syncq_ctx *ctx);

/* Report progress: `current` of `total` units (total 0: unknown) and an
 * optional message (NULL keeps the previous one). Fenced by the lease;
 * writes are throttled to one per 100 ms except the final one
 * (current == total), so calling it per item is fine. Rate and ETA are
 * derived by the broker and the monitor.
 * Errors: SYNCQ_ELEASE (the lease was lost: stop working),
 *         SYNCQ_ECONN (broker down; progress is best-effort, carry on). */
SYNCQ_API int syncq_ctx_progress(syncq_ctx *ctx, int64_t current,
                                 int64_t total, const char *message,
                                 syncq_error *err);

/* Add `delta` to current progress atomically (parallel sub-steps); capped
 * at total. Same errors as syncq_ctx_progress. */
SYNCQ_API int syncq_ctx_progress_add(syncq_ctx *ctx, int64_t delta,
                                     int64_t total, const char *message,
                                     syncq_error *err);

/* Save a checkpoint: `len` bytes (copied) with step number `seq`
 * (monotonic per task). Stored with its SHA-256, size and time; the last
 * SYNCQ_CHECKPOINT_HISTORY are kept for SYNCQ_CHECKPOINT_TTL.
 * Errors: SYNCQ_ETOOBIG (over SYNCQ_CHECKPOINT_MAX; message says the
 *         limit), SYNCQ_ELEASE (lease lost), SYNCQ_ECONN. */
SYNCQ_API int syncq_ctx_checkpoint_save(syncq_ctx *ctx, const void *data,
                                        size_t len, int64_t seq,
                                        syncq_error *err);

/* Load the latest checkpoint whose checksum verifies. A corrupt one is
 * skipped (logged and counted) and the previous good one is returned.
 * *data: new buffer (free with syncq_free), *len its size, *seq its step.
 * Errors: SYNCQ_ENOTFOUND (no good checkpoint: start from zero),
 *         SYNCQ_ECONN. */
SYNCQ_API int syncq_ctx_checkpoint_load(syncq_ctx *ctx, void **data,
                                        size_t *len, int64_t *seq,
                                        syncq_error *err);

/* JSON forms of the two above. save: `state` borrowed. load: *state is a
 * new reference. Errors as above, plus SYNCQ_EPROTO (not JSON). */
SYNCQ_API int syncq_ctx_checkpoint_save_json(syncq_ctx *ctx, json_t *state,
                                             int64_t seq, syncq_error *err);
SYNCQ_API int syncq_ctx_checkpoint_load_json(syncq_ctx *ctx, json_t **state,
                                             int64_t *seq, syncq_error *err);

/* Ask the worker to save a checkpoint of the latest progress
 * automatically ({"current": n, "total": m}) with every progress report
 * (auto mode; manual saves still work). */
SYNCQ_API void syncq_ctx_checkpoint_auto(syncq_ctx *ctx, bool on);

/* Enqueue a sub-task (fan-out); its parent_id is this task and its
 * root_id this task's root. Arguments as syncq_task_create.
 * Errors: as syncq_task_create. */
SYNCQ_API int syncq_ctx_enqueue(syncq_ctx *ctx, const char *name,
                                const char *args_json,
                                const char *kwargs_json,
                                const syncq_task_options *opts,
                                char id_out[SYNCQ_ID_SIZE],
                                syncq_error *err);

/* Finish with `result` (stolen, even on error; NULL means JSON null).
 * Returns SYNCQ_OK; return that value from the task function. The result
 * must serialise within SYNCQ_MAX_PAYLOAD or the task fails with class
 * internal ("result too large"). */
SYNCQ_API int syncq_ctx_succeed(syncq_ctx *ctx, json_t *result);

/* Finish with an error of `cls` (enum syncq_error_class) and a printf
 * message (one line; truncated at 1 KiB). The retry policy of the class
 * decides between RETRY (with backoff), FAILURE and the dead-letter
 * queue. Returns a negative value; return it from the task function. */
SYNCQ_API int syncq_ctx_fail(syncq_ctx *ctx, int cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As syncq_ctx_fail, with a server-given wait: the retry waits at least
 * `retry_after_ms` (HTTP Retry-After), whatever the backoff says. */
SYNCQ_API int syncq_ctx_retry_after(syncq_ctx *ctx, int cls,
                                    int64_t retry_after_ms, const char *fmt,
                                    ...) __attribute__((format(printf, 4, 5)));

/* Hand the task back to run again in `delay_ms` (at least 1 ms) without
 * counting a failure: for waits the task did not cause, such as a host's
 * cool-down after a 429 with Retry-After or a rate-limit slot booked for
 * later. The task goes to RETRY with class `cls` and the message, like a
 * retry, but its `retries` counter is untouched, so deferrals never use
 * up max_retries; the record's `deferrals` field counts them. A task
 * already deferred SYNCQ_TASK_MAX_DEFERRALS times (default 200) that
 * defers again ends FAILURE in the dead-letter queue with class `cls`
 * (its dead_reason) and the
 * message "deferred N times, the limit (SYNCQ_TASK_MAX_DEFERRALS); last
 * wait: <message>"; its `expires` may end it sooner. In
 * syncq_task_run_local it is a failure with retry_after_ms = delay_ms.
 * Returns a negative value; return it from the task function. */
SYNCQ_API int syncq_ctx_defer(syncq_ctx *ctx, int cls, int64_t delay_ms,
                              const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Attach a partial result to a failure (e.g. the raw body kept for
 * inspection, or the offending ids); stolen. Shown as `error.detail`. */
SYNCQ_API void syncq_ctx_set_error_detail(syncq_ctx *ctx, json_t *detail);

/* Log from a task: one event "task.log" with the task id, at `level`
 * (syncq/log.h). */
SYNCQ_API void syncq_ctx_log(syncq_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- running a task in-process (tests, `syncq task run`) -------------- */

/* Outcome of a local run. Strings/JSON owned by the struct; release with
 * syncq_local_result_cleanup. */
typedef struct syncq_local_result {
    int ok;           /* 1 SUCCESS, 0 failed */
    json_t *result;   /* SUCCESS: the result (may be json null) */
    int error_class;  /* failed: the class */
    char error_msg[1024];
    int64_t retry_after_ms; /* failed: server-given wait, or 0 */
    json_t *error_detail;   /* or NULL */
    int64_t runtime_ms;
} syncq_local_result;

/* Run task `name` from `r` in this process, with a context that has no
 * lease (progress and checkpoints go to the broker through `c` when it is
 * not NULL, unfenced, under task id `id` or a fresh one). Used by tests
 * and by `syncq task run`. args/kwargs borrowed (NULL: []/{}).
 * Errors: SYNCQ_ENOTFOUND (not registered; out->error_class is
 *         SYNCQ_ERR_NOT_REGISTERED), SYNCQ_ENOMEM. The task's own failure
 *         is not an error of this call: see out->ok. */
SYNCQ_API int syncq_task_run_local(syncq_registry *r, const char *name,
                                   json_t *args, json_t *kwargs,
                                   syncq_client *c, const syncq_config *cfg,
                                   const char *id, syncq_local_result *out,
                                   syncq_error *err);

SYNCQ_API void syncq_local_result_cleanup(syncq_local_result *res);

#ifdef __cplusplus
}
#endif
#endif
