/* SPDX-License-Identifier: MIT
 *
 * worker_sup.h: the supervisor's state, shared by its files:
 *   worker_supervisor.c  the event loop, signals, shutdown
 *   worker_pool.c        children: fork, pipes, dispatch, limits, reaping,
 *                        recycling
 *   worker_broker.c      outcomes to settle, lease, heartbeat, cancels,
 *                        wake-ups, foreign queue entries
 *   worker_info.c        heartbeat info JSON and the liveness file
 * One thread; every function here runs in the supervisor's loop.
 */
#ifndef SQ_WORKER_SUP_H
#define SQ_WORKER_SUP_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker/broker.h"
#include "sq_buf.h"
#include "worker/worker.h"
#include "worker/worker_reply.h"

/* A task leased by this worker: waiting for a child or running. */
struct sq_held {
    struct sq_held *next;      /* waiting FIFO */
    char id[SYNCQ_ID_SIZE];
    char token[32];
    char name[201];
    char queue[101];
    const syncq_task_def *def; /* NULL: not registered here */
    char *policy;              /* record's per-call policy JSON, or NULL */
    int max_retries;           /* record's maxr, -1 unset */
    int retries;
    int attempt;
    int64_t time_limit_ms;     /* resolved: record, task, worker default */
    int64_t soft_limit_ms;
    bool started;              /* leased STARTED (else RECEIVED) */
    bool plain;                /* sq_leased.plain: no batch, root, rexp */
    struct sq_buf frame;       /* the TASK frame for the child */
};

enum sq_child_state {
    SQ_CH_EMPTY = 0, /* slot without a process (respawn pending) */
    SQ_CH_STARTING,  /* forked, READY not yet received */
    SQ_CH_IDLE,
    SQ_CH_BUSY,
    SQ_CH_EXITING    /* pipe closed: recycling or shutting down */
};

/* Why the supervisor killed a child (decides what happens to its task). */
enum sq_kill_reason {
    SQ_KILL_NONE = 0, /* not killed by us: a crash */
    SQ_KILL_TIMEOUT,  /* hard time limit */
    SQ_KILL_CANCEL,   /* cancel grace ran out */
    SQ_KILL_LOST,     /* lease lost and the task did not stop */
    SQ_KILL_SHUTDOWN, /* warm grace ran out, or cold shutdown */
    SQ_KILL_PROTOCOL  /* the child sent garbage */
};

struct sq_child {
    pid_t pid;                 /* 0 when the slot is empty */
    int to_fd, from_fd;        /* supervisor's ends, non-blocking */
    enum sq_child_state state;
    struct sq_buf rbuf;        /* bytes read from the child */
    size_t roff;               /* parsed up to here */
    struct sq_buf wbuf;        /* bytes not yet written to the child */
    size_t woff;
    bool eof;                  /* the child closed its end */
    int poll_slot;             /* from_fd's index in the poll set; -1: none */
    struct sq_held *task;      /* running task, or NULL */
    int64_t task_start_ms;     /* monotonic */
    int64_t task_start_wall_ms;
    int64_t soft_at, hard_at;  /* monotonic deadlines, 0: none */
    int64_t kill_at;           /* cancel / lost / shutdown kill deadline */
    bool soft_sent;
    bool cancel;               /* a cancel is being carried out */
    bool lost;                 /* the lease was taken from us */
    bool shutdown_stop;        /* told to stop by a warm shutdown */
    enum sq_kill_reason kill_reason;
    int64_t spawned_ms;
    int64_t respawn_at;        /* EMPTY slot: fork again at this time */
    int64_t respawn_backoff_ms;
    long tasks_done;           /* by this process */
    long baseline_kb;          /* RSS when it became READY */
    long rss_kb;
    long long cpu_prev;        /* ticks at the last heartbeat */
    int64_t cpu_prev_ms;
    double cpu_pct;
};

/* An outcome waiting to be settled (kept across Redis outages). */
struct sq_pend_op {
    enum sq_settle_kind kind;
    char id[SYNCQ_ID_SIZE];
    char token[32];
    char *result;      /* OK: owned */
    char err_class[32];
    char *msg;         /* FAIL/RETRY/REVOKED: owned */
    const char *reason; /* REQUEUE: static string */
    int64_t runtime_ms;
    int64_t delay_ms;
    bool dead;
    bool plain;        /* OK: sq_settle_op.plain (from its sq_held) */
};

/* A foreign queue entry still to be adopted or dead-lettered. */
struct sq_pend_raw {
    char queue[101];
    char *bytes;
    size_t len;
};

enum sq_sup_state { SQ_SUP_RUNNING, SQ_SUP_WARM, SQ_SUP_COLD };

struct sq_sup {
    const struct sq_worker_opts *o;
    syncq_client *bc;           /* main connection */
    syncq_client *wake;         /* blocking waits (BRPOP) */
    const char *qptr[SQ_WORKER_MAX_QUEUES];
    struct sq_child *ch;
    int nch;
    struct sq_held *wait_head, *wait_tail;
    int nwait;
    int nheld;                  /* waiting + running */
    struct sq_pend_op *ops;
    size_t nops, capops;
    struct sq_pend_raw *raws;
    size_t nraws, capraws;
    enum sq_sup_state state;
    int64_t warm_deadline;
    int64_t warm_stop_at;       /* when running tasks are asked to stop */
    bool warm_stop_sent;
    bool broker_up;
    int64_t broker_retry_at;    /* after a non-connection error */
    bool settle_only;           /* a fused call was refused: split it */
    int64_t first_op_us;        /* monotonic us when `ops` became non-empty */
    int64_t defer_until_us;     /* round held back to batch, or 0 */
    struct {
        bool active;            /* replies still to read */
        int pending;            /* how many */
        size_t nops;            /* ops at the front of `ops` in flight */
        bool settle_done;
        bool lease;
        int max_n, start_now;
        int64_t sent_ms;
    } round;
    struct sq_reply_arena replies; /* the round's replies (worker_reply.c) */
    bool need_lease;            /* the queues may hold work for us */
    int64_t next_lease_at;      /* idle housekeeping lease */
    int64_t next_eta_wall_ms;   /* earliest delayed task, or -1 */
    bool brpop_out;             /* a BRPOP is in flight on `wake` */
    int wake_pending;           /* its replies still to read (1 or 2) */
    struct {                    /* a lease sent behind the BRPOP */
        bool armed;             /* sent, its reply not read yet */
        int max_n, start_now;
    } wake_lease;
    int64_t next_hb;
    bool hb_now;                /* heartbeat before the next lease */
    int64_t next_status;
    int64_t started_wall_ms;
    long long tasks_done, tasks_failed, tasks_retried, tasks_revoked;
    long long tasks_lost, tasks_requeued, poison_total, adopted_total;
    long long outcomes_refused; /* refused for good by settle.lua */
    bool memcap_alert;
    long sup_rss_kb;
    int sigpipe[2];
    struct sq_control *ctl;     /* remote control (worker_control.c) */
    struct sq_ratelimits *rl;   /* task rate limits (worker_ratelimit.c) */
};

/* ---- worker_pool.c ---- */
int sq_pool_init(struct sq_sup *s, syncq_error *err);
void sq_pool_free(struct sq_sup *s);
int sq_pool_spawn(struct sq_sup *s, struct sq_child *c);
void sq_pool_reap(struct sq_sup *s);
void sq_pool_readable(struct sq_sup *s, struct sq_child *c);
void sq_pool_flush_writes(struct sq_sup *s, struct sq_child *c);
void sq_pool_dispatch(struct sq_sup *s);
void sq_pool_check_timers(struct sq_sup *s, int64_t now);
int64_t sq_pool_next_deadline(struct sq_sup *s, int64_t now);
void sq_pool_respawn(struct sq_sup *s, int64_t now);
/* Stop-request (SIGUSR1) and schedule a kill after `grace_ms`. */
void sq_pool_stop_child(struct sq_sup *s, struct sq_child *c,
                        int64_t grace_ms, enum sq_kill_reason why);
void sq_pool_close_child(struct sq_sup *s, struct sq_child *c);
/* In a forked process: close the supervisor's and the children's
 * descriptors (all but those of `self`, which may be NULL). */
void sq_pool_close_inherited(struct sq_sup *s, struct sq_child *self);
int sq_pool_live(const struct sq_sup *s);     /* processes alive */
int sq_pool_idle(const struct sq_sup *s);     /* IDLE children */
int sq_pool_capacity(const struct sq_sup *s); /* tasks we may still lease */
struct sq_child *sq_pool_find_task(struct sq_sup *s, const char *id);

/* ---- worker_broker.c ---- */
void sq_held_free(struct sq_held *h);
void sq_sup_op_ok(struct sq_sup *s, const struct sq_held *h,
                  const char *result, size_t len, int64_t runtime_ms);
void sq_sup_op_fail(struct sq_sup *s, const struct sq_held *h,
                    enum sq_settle_kind kind, const char *cls,
                    const char *msg, int64_t runtime_ms, int64_t delay_ms,
                    bool dead);
void sq_sup_op_requeue(struct sq_sup *s, const struct sq_held *h,
                       const char *reason);
void sq_sup_op_start(struct sq_sup *s, const struct sq_held *h);
void sq_sup_op_revoked(struct sq_sup *s, const struct sq_held *h,
                       const char *msg, int64_t runtime_ms);
/* Fail `h` with class `cls` per its retry policy (queues the op). */
void sq_sup_fail_by_policy(struct sq_sup *s, const struct sq_held *h,
                           int cls, const char *msg, int64_t runtime_ms);
/* Remove a waiting task from the FIFO (true if it was there). */
bool sq_sup_unwait(struct sq_sup *s, struct sq_held *h);
struct sq_held *sq_sup_pop_wait(struct sq_sup *s);
bool sq_sup_broker_ok(struct sq_sup *s);
void sq_sup_broker_round(struct sq_sup *s, int64_t now);
void sq_sup_heartbeat(struct sq_sup *s, int64_t now);
void sq_sup_cancel(struct sq_sup *s, const char *id);
void sq_sup_wake_arm(struct sq_sup *s, int64_t now);
void sq_sup_wake_readable(struct sq_sup *s);
/* What a lease sent behind the BRPOP was sized or aimed by changed (a
 * shutdown, the paused queues, a control command): it must not run any
 * more, or, if it ran, its tasks are taken now (handed back when no longer
 * running); the wake connection is closed (worker_broker.c). */
void sq_sup_wake_disarm(struct sq_sup *s, const char *why);
/* Not a cluster's and no WAIT after writes: replies are the scripts' own,
 * one per call (worker_round.c). */
bool sq_sup_conn_plain(const syncq_client *c);
void sq_sup_raws_flush(struct sq_sup *s);
/* worker_round.c: the asynchronous settle + lease round. */
int sq_sup_round_send(struct sq_sup *s, size_t n, bool lease, int max_n,
                      int start_now);
void sq_sup_round_readable(struct sq_sup *s);
void sq_sup_round_finish(struct sq_sup *s);
void sq_sup_take_lease(struct sq_sup *s, struct sq_lease_reply *rep,
                       int start_now, int max_n);
/* Settle what is pending now (shutdown): true when nothing is left. */
bool sq_sup_flush_ops(struct sq_sup *s);
void sq_sup_unregister(struct sq_sup *s);
/* worker_supervisor.c: outcomes settle.lua refused for good (the first
 * `n` pending ops): each logged with its task and outcome, counted. */
void sq_sup_outcomes_refused(struct sq_sup *s, size_t n, const char *why);

/* ---- worker_celery.c: the Celery consumer process (--celery) ---- */
void sq_sup_celery_start(struct sq_sup *s);
/* Stop it once the worker is shutting down; respawn it if it died. */
void sq_sup_celery_check(struct sq_sup *s, int64_t now);
/* At exit: SIGTERM, wait up to 3 s, then SIGKILL. */
void sq_sup_celery_stop(struct sq_sup *s);

/* ---- worker_control.c: remote control, paused queues, names ---- */
int sq_sup_control_init(struct sq_sup *s);
void sq_sup_control_free(struct sq_sup *s);
/* Each loop turn: retire children past the pool target; once a second
 * read commands and the paused set, apply and acknowledge. */
void sq_sup_control_tick(struct sq_sup *s, int64_t now);
/* A shutdown command arrived (start a warm shutdown). */
bool sq_sup_control_shutdown(const struct sq_sup *s);
/* The pool size wanted (grow/shrink), for the heartbeat. */
int sq_sup_pool_target(const struct sq_sup *s);
/* Queues consumed now (configured ones not cancelled, then added ones)
 * into qs[SQ_WORKER_MAX_QUEUES]; the count. */
size_t sq_sup_consumed_queues(const struct sq_sup *s, const char **qs);
/* The same without paused queues: what the lease call asks for. */
size_t sq_sup_lease_queues(const struct sq_sup *s, const char **qs);
/* Claim o->worker_id from o->name_pattern (first free %i index). */
int sq_sup_claim_name(struct sq_sup *s, struct sq_worker_opts *o,
                      syncq_error *err);
void sq_sup_release_name(struct sq_sup *s);

/* ---- worker_ratelimit.c: per-task rate limits (Celery's rate_limit) ---- */
int sq_sup_rl_init(struct sq_sup *s);
void sq_sup_rl_free(struct sq_sup *s);
/* The next task to give a child: the first waiting one its task's rate
 * limit lets start now (taken off the FIFO), or NULL. */
struct sq_held *sq_sup_rl_next(struct sq_sup *s);
/* `next` (monotonic ms), or earlier when a waiting task's turn comes
 * first and a child is idle. */
int64_t sq_sup_rl_deadline(struct sq_sup *s, int64_t now, int64_t next);
/* Set task's limit to `rate` ("10/s"; "0" or "": none); msg gets what
 * happened or why not (a bad rate): -1 then. */
int sq_sup_rl_set(struct sq_sup *s, const char *task, const char *rate,
                  char *msg, size_t cap);
/* {"task": "10/s", ...}: the limits in force (new object). */
json_t *sq_sup_rl_json(struct sq_sup *s);

/* ---- worker_info.c ---- */
char *sq_sup_info_json(struct sq_sup *s, int64_t now);
void sq_sup_status_file(struct sq_sup *s, int64_t now);

#endif
