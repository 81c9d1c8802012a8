/* SPDX-License-Identifier: MIT
 *
 * worker.h: the worker daemon (`syncq worker`): a single-threaded
 * supervisor and N prefork children. The supervisor owns the Redis
 * connections, leases tasks for idle children, settles outcomes in
 * batches fused with the next lease, heartbeats (renewing leases and
 * reading cancels), enforces time limits, recycles children and survives
 * Redis outages. Children run one task at a time and talk to the
 * supervisor over pipes (worker_frame.h). docs/worker.md is the user's
 * page; DESIGN.md contract items 2-4, 6-7, 9-10 are what this keeps.
 *
 * Internal to syncq (the CLI and tests use it); not thread-safe.
 */
#ifndef SQ_WORKER_H
#define SQ_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/config.h>
#include <syncq/task.h>

#define SQ_WORKER_MAX_QUEUES 64

/* Everything the worker runs with, resolved from the configuration
 * (defaults, .env, environment, command-line flags). */
struct sq_worker_opts {
    const syncq_config *cfg;      /* borrowed for the worker's life */
    syncq_registry *registry;     /* borrowed; filled before the run */
    char queues[SQ_WORKER_MAX_QUEUES][101]; /* in order of preference */
    size_t nqueues;
    int concurrency;              /* children */
    int prefetch;                 /* tasks held per child */
    int64_t max_tasks_per_child;  /* 0: never recycle by count */
    int64_t max_memory_kb;        /* 0: never recycle by RSS */
    int64_t time_limit_ms;        /* default hard limit; 0: none */
    int64_t soft_time_limit_ms;   /* default soft limit; 0: none */
    int64_t heartbeat_ms;         /* heartbeat and lease renewal period */
    int64_t lease_ms;             /* lease length */
    int64_t cancel_grace_ms;      /* stop request -> kill */
    int64_t shutdown_grace_ms;    /* warm shutdown budget */
    int64_t max_payload;          /* bytes of a result / frame payload */
    char hostname[256];           /* host name shown in the heartbeat */
    char worker_id[300];          /* the name, claimed at start */
    char name_pattern[300];       /* -n / SYNCQ_WORKER_HOSTNAME, "%h-%i" */
    char status_file[1024];       /* liveness file, "" for none */
};

/* Fill `o` from `cfg` (borrowed, must outlive the worker): queues from
 * SYNCQ_WORKER_QUEUES (comma-separated, each checked), the worker name
 * pattern from SYNCQ_WORKER_HOSTNAME (default "%h-%i": the host name and
 * the first index no running worker of the host holds, claimed in Redis
 * at start so a restarted worker keeps its name and metric series;
 * worker_id holds the pattern with index 1 until then).
 * Errors: SYNCQ_EINVAL (a bad queue name, too many queues, a lease not
 *         longer than two heartbeats), with the offending setting named. */
int sq_worker_opts_init(struct sq_worker_opts *o, const syncq_config *cfg,
                        syncq_registry *r, syncq_error *err);

/* With SYNCQ_CELERY on, add the Celery queues (SYNCQ_CELERY_QUEUES, else
 * the worker's own) missing from o->queues: tasks taken from a Celery
 * queue are served from the syncq queue of the same name.
 * Errors: SYNCQ_EINVAL (a bad Celery queue name or priority steps). */
int sq_worker_celery_queues(struct sq_worker_opts *o, syncq_error *err);

/* Load the plugins of `csv` (SYNCQ_PLUGINS: comma-separated paths, may be
 * NULL or "") and then `paths[0..n)` (--plugin) into `r`.
 * Errors: as syncq_registry_load_plugin (the message names the file). */
int sq_worker_load_plugins(syncq_registry *r, const char *csv,
                           const char *const *paths, size_t n,
                           syncq_error *err);

/* Run the worker until a shutdown signal: SIGTERM/SIGINT warm shutdown,
 * a second one or SIGQUIT cold shutdown, SIGHUP reopens the log file.
 * Returns the process exit status (0 after a shutdown by signal, 1 when
 * it could not start: the error is in err). Never returns in a child. */
int sq_worker_run(const struct sq_worker_opts *o, syncq_error *err);

/* ---- used by the supervisor, the child and the tests ---------------- */

/* Resident set size of `pid` (0: this process) in KB from
 * /proc/<pid>/statm; -1 if unreadable. */
long sq_proc_rss_kb(int pid);

/* utime + stime of `pid` in clock ticks from /proc/<pid>/stat; -1 if
 * unreadable. */
long long sq_proc_cpu_ticks(int pid);

/* Parse the text of /proc/<pid>/stat (`len` bytes, need not be
 * NUL-terminated): utime + stime in ticks, or -1 if malformed. */
long long sq_proc_parse_stat(const char *text, size_t len);

/* Parse the text of /proc/<pid>/statm: resident pages, or -1. */
long sq_proc_parse_statm(const char *text, size_t len);

/* What a foreign queue entry (not a task id) is (C36). */
enum sq_raw_kind {
    SQ_RAW_EMPTY,          /* 0 bytes */
    SQ_RAW_INVALID_UTF8,   /* not UTF-8 text */
    SQ_RAW_NOT_JSON,       /* text that does not parse */
    SQ_RAW_BAD_ENVELOPE,   /* JSON without a usable task name */
    SQ_RAW_NOT_REGISTERED, /* an envelope naming a task unknown here */
    SQ_RAW_UNKNOWN_ID,     /* looks like a task id whose record is gone */
    SQ_RAW_ADOPT           /* an envelope of a registered task: enqueue */
};

/* A foreign message decoded for adoption (SQ_RAW_ADOPT). */
struct sq_raw_task {
    char name[201];
    char id[37];         /* "" when the envelope has none */
    char *args_json;     /* owned; "[]" when absent */
    char *kwargs_json;   /* owned; "{}" when absent */
    int priority;        /* -1: default */
};

/* Classify `len` bytes found on a ready list. Envelopes understood: a
 * Celery/kombu message (headers.task, body base64 [args, kwargs, embed])
 * and a plain {"task"|"name": ..., "args": [...], "kwargs": {...}}.
 * When the result is SQ_RAW_ADOPT, *task is filled (free with
 * sq_raw_task_cleanup); otherwise it is zeroed. `r` may be NULL (every
 * named task counts as not registered). `reason_out` gets the reason
 * code used by poison.lua (empty, invalid_utf8, not_json, bad_envelope,
 * not_registered, unknown_id). Never fails on any input. */
enum sq_raw_kind sq_raw_classify(const char *raw, size_t len,
                                 const syncq_registry *r,
                                 struct sq_raw_task *task,
                                 const char **reason_out);

void sq_raw_task_cleanup(struct sq_raw_task *t);

#endif
