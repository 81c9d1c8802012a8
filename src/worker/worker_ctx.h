/* SPDX-License-Identifier: MIT
 *
 * worker_ctx.h: the task context (struct syncq_ctx behind syncq/task.h)
 * and how a task run ends, shared by the in-process runner
 * (syncq_task_run_local), the worker child and the supervisor.
 *
 * A context lives for one task run. It borrows the arguments and the
 * config; it owns its result, error detail and (in a worker child, when
 * the task asked for one) nothing else: the child's Redis connection is
 * owned by the child loop and lent to every context.
 */
#ifndef SQ_WORKER_CTX_H
#define SQ_WORKER_CTX_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <syncq/task.h>

/* Set by SIGUSR1 in a worker child (and SIGINT in `syncq task run`):
 * the running task should stop. Reset before each task. */
extern volatile sig_atomic_t sq_worker_stop_flag;

enum sq_ctx_outcome {
    SQ_CTX_NONE = 0, /* neither succeed nor fail was called */
    SQ_CTX_OK,
    SQ_CTX_FAIL
};

struct syncq_ctx {
    /* the task (all borrowed for the run) */
    const char *id;
    const char *name;
    const char *queue;
    const char *token;       /* lease token; NULL in a local run */
    const char *batch_id;    /* or NULL */
    const char *root_id;     /* or NULL: this task is the root */
    const char *call_policy; /* per-call retry policy JSON, or NULL */
    int attempt;
    int retries;
    int max_retries;         /* record's maxr, -1 unset */
    const syncq_task_def *def;
    json_t *args;            /* borrowed, never NULL */
    json_t *kwargs;          /* borrowed, never NULL */
    const syncq_config *cfg; /* borrowed */
    /* broker access: `client` is lent by the owner; when `client_slot`
     * is set, the context opens a connection into it on first use */
    syncq_client *client;
    syncq_client **client_slot;
    bool client_failed_logged;
    bool no_broker;          /* local run without a client */
    /* outcome */
    enum sq_ctx_outcome outcome;
    json_t *result;          /* owned */
    int error_class;
    char error_msg[1024];
    int64_t retry_after_ms;
    bool deferred;           /* syncq_ctx_defer: not a failure */
    int64_t deferrals;       /* the record's deferrals before this run,
                                read by syncq_ctx_defer; -1 unknown */
    json_t *error_detail;    /* owned */
    bool saw_stop;           /* stop_requested returned true once */
    /* progress throttle (one write per 100 ms, final one always) */
    int64_t progress_last_ms;   /* monotonic ms of the last write */
    bool progress_pending;      /* a throttled "set" not yet written */
    int64_t pend_current, pend_total;
    char pend_msg[512];
    bool pend_has_msg;
    int64_t pend_inc;           /* throttled increments not yet sent */
    bool auto_checkpoint;
    /* local runs without a broker keep the last checkpoint here */
    void *local_ckpt;
    size_t local_ckpt_len;
    int64_t local_ckpt_seq;
    bool has_local_ckpt;
};

/* Initialise a context for one run (all fields borrowed). */
void sq_ctx_init(struct syncq_ctx *ctx, const syncq_task_def *def,
                 const char *id, const char *name, json_t *args,
                 json_t *kwargs, const syncq_config *cfg);

/* Release what the context owns (result, detail, local checkpoint). */
void sq_ctx_cleanup(struct syncq_ctx *ctx);

/* Run the task function and settle what it left: a task that returned
 * SYNCQ_OK without finishing succeeded with null; a negative return
 * without syncq_ctx_fail is an internal error. Flushes throttled
 * progress. Returns the runtime in ms. */
int64_t sq_ctx_run(struct syncq_ctx *ctx);

/* Write progress that the throttle held back (best-effort). */
void sq_ctx_progress_flush(struct syncq_ctx *ctx);

/* The automatic checkpoint of a task with auto_checkpoint: saves
 * {"current":N,"total":M} (sequence N) when progress is reported
 * (worker_ckpt.c); a failure other than a lost connection is logged
 * (task.checkpoint_failed). Returns what syncq_ctx_checkpoint_save did. */
int sq_ctx_checkpoint_auto_save(struct syncq_ctx *ctx, int64_t current,
                                int64_t total);

/* What the worker does with a finished run. */
enum sq_outcome_kind {
    SQ_OUT_OK,    /* SUCCESS with result_json */
    SQ_OUT_FAIL,  /* FAILURE (dead: also to the dead-letter queue) */
    SQ_OUT_RETRY, /* RETRY after delay_ms */
    SQ_OUT_DEFER  /* RETRY after delay_ms, retries not counted */
};

struct sq_outcome {
    enum sq_outcome_kind kind;
    char *result_json;   /* OK: owned, "" never (null is "null") */
    char err_class[32];
    char err_msg[1024];
    int64_t delay_ms;
    bool dead;
};

/* Serialise the result (failing with class internal "result too large"
 * over `max_payload` bytes) or apply the retry policy to the failure
 * (syncq/recovery.h). Returns SYNCQ_OK or SYNCQ_ENOMEM. */
int sq_outcome_from_ctx(struct syncq_ctx *ctx, int64_t max_payload,
                        struct sq_outcome *out, syncq_error *err);

/* Decide a failure of class `cls` with `msg` by the retry policy of the
 * task (`def` may be NULL) and the record (`call_policy` may be NULL,
 * `max_retries` -1 unset) after `retries` retries. Never fails: a
 * malformed policy is logged and the failure is final. */
void sq_outcome_for_failure(const syncq_config *cfg, const syncq_task_def *def,
                            const char *call_policy, int max_retries,
                            int retries, int cls, const char *msg,
                            int64_t retry_after_ms, struct sq_outcome *out);

void sq_outcome_cleanup(struct sq_outcome *o);

#endif
