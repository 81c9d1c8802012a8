/* SPDX-License-Identifier: MIT
 *
 * broker.h: internal broker API shared by the client (producer) side, the
 * worker, the beat, recovery and the monitor. The public producer API is
 * syncq/client.h; this header adds the worker-side operations (lease,
 * settle, extend, progress, promote) and the plumbing (connection, script
 * runner, key names, record decoding).
 *
 * Redis key layout: docs/redis-keys.md. Every key starts with the prefix
 * "{<namespace>}:" so a namespace is one Redis Cluster slot.
 *
 * A syncq_client owns one hiredis connection. It reconnects with capped
 * exponential backoff (logged once per state change, DESIGN contract 10)
 * and reloads the scripts after a reconnect. Not thread-safe.
 */
#ifndef SQ_BROKER_H
#define SQ_BROKER_H

#include <hiredis.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/config.h>

#include "broker/broker_fault.h"
#include "core/sq_task.h"
#include "sq_url.h"

/* How a task's args and kwargs text is parsed on every way in (one task or
 * many): any JSON value (the caller checks array/object), NUL allowed in
 * strings (binary-safe payloads), an object key given twice refused
 * (which value was meant cannot be known; the HTTP API refuses it too). */
#define SQ_TASK_JSON_FLAGS                                                  \
    (JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES)

/* The scripts, in src/broker/lua/ (the prelude, the final states and
 * lib*.lua, is prepended to each: broker_script.c). */
enum sq_script_id {
    SQ_SCRIPT_ENQUEUE,
    SQ_SCRIPT_LEASE,
    SQ_SCRIPT_SETTLE,
    SQ_SCRIPT_EXTEND,
    SQ_SCRIPT_REVOKE,
    SQ_SCRIPT_PROGRESS,
    SQ_SCRIPT_PROMOTE,
    SQ_SCRIPT_BATCH,
    SQ_SCRIPT_POISON,
    SQ_SCRIPT_CHECKPOINT_SAVE, /* recovery */
    SQ_SCRIPT_CHECKPOINT_BAD,  /* recovery */
    SQ_SCRIPT_RESUME,          /* recovery */
    SQ_SCRIPT_DEAD_PURGE,      /* recovery */
    SQ_SCRIPT_RATELIMIT,       /* crawler: per-host token bucket */
    SQ_SCRIPT_BEAT,            /* beat: poll (lock, promote, due work) */
    SQ_SCRIPT_BEAT_LOCK,       /* beat: leader lock on its own */
    SQ_SCRIPT_SCHEDULE_PUT,    /* beat: schedule definitions */
    SQ_SCRIPT_SCHEDULE_TICK,   /* beat: fire ticks (fenced, CAS, dedupe) */
    SQ_SCRIPT_BATCH_DISPATCH,  /* beat: batches in waves */
    SQ_SCRIPT__COUNT
};

struct sq_conn;

struct syncq_client {
    redisContext *rc;          /* NULL while disconnected */
    struct sq_conn *conn;      /* transport: TLS, Sentinel (broker_io.h) */
    struct sq_redis_url url;
    char *url_shown;           /* redacted, for messages and logs */
    syncq_config *cfg;         /* owned copy or loaded defaults */
    char prefix[128];          /* "{syncq}:" */
    char meta_key[160];        /* "{syncq}:meta" */
    char cfgarg[96];           /* ARGV[1] of every script */
    int64_t timeout_ms;        /* connect + command timeout */
    int64_t reconnect_max_ms;  /* backoff cap */
    int64_t max_payload;       /* bytes */
    int64_t unique_window_ms;
    int64_t result_expires_ms;
    int default_max_retries;
    char default_queue[128];
    /* reconnect state */
    int failures;              /* consecutive failed connects */
    int64_t next_try_ms;       /* monotonic ms of the next connect try */
    bool down_logged;          /* "broker.down" logged for this outage */
    bool ever_connected;
    struct sq_fault fault;     /* error replies (broker_fault.h) */
    char drop_why[64];         /* why the connection was dropped */
    char redis_version[32];
    char sha[SQ_SCRIPT__COUNT][41];
    bool fcall;                /* calls are FCALL (functions), else EVALSHA */
    /* the declared keys of each script that takes none from its
     * arguments (sq_script_keys_fixed), made on its first call and kept:
     * a call of a hot script pays no key building; NUL-ended keys */
    char *fixed_keys[SQ_SCRIPT__COUNT];
    size_t fixed_keys_len[SQ_SCRIPT__COUNT];
    int fixed_nk[SQ_SCRIPT__COUNT];
};

/* ---- connection ------------------------------------------------------ */

/* (Re)connect if disconnected. With `wait` false, one attempt at most
 * (none if the backoff says not yet: SYNCQ_ECONN at once). With `wait`
 * true, keep trying with backoff until connected or *stop becomes true
 * (stop may be NULL). Errors: SYNCQ_ECONN, SYNCQ_EAUTH. */
int sq_client_ensure(syncq_client *c, bool wait, volatile int *stop,
                     syncq_error *err);

/* Drop the connection after an I/O error (the next call reconnects). */
void sq_client_drop(syncq_client *c, const char *why);

/* After a call lost its connection (it was dropped): may it be sent once
 * more on a fresh connection? Yes when it never reached Redis (its write
 * failed before its last byte: EPIPE, ECONNRESET, a send timeout), or
 * when it did but is `safe` to run twice (a read; a script that is
 * idempotent or fenced, docs/internals.md "Sending a call again"); never
 * while a fault state holds calls back. Logs broker.resend. */
bool sq_client_may_resend(syncq_client *c, bool safe, const char *what);

/* Run a command (redisCommandArgv); a lost connection is retried once
 * as sq_client_may_resend says (reads are safe, writes only when unsent).
 * *reply owned by the caller (freeReplyObject).
 * A Redis error reply becomes SYNCQ_EPROTO (or EAUTH for NOAUTH/WRONGPASS)
 * with its text. */
int sq_client_cmd(syncq_client *c, redisReply **reply, syncq_error *err,
                  const char *fmt, ...);
int sq_client_cmdargv(syncq_client *c, int argc, const char **argv,
                      const size_t *lens, redisReply **reply,
                      syncq_error *err);

/* Open a second, independent connection on the same URL (for blocking
 * waits). Free with syncq_client_close. */
int sq_client_clone(const syncq_client *c, syncq_client **out,
                    syncq_error *err);

/* ---- keys ------------------------------------------------------------ */

/* Write "<prefix><suffix>" into buf; returns buf. */
const char *sq_key(const syncq_client *c, char *buf, size_t cap,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- scripts --------------------------------------------------------- */

/* Argument vector under construction for a script call. */
struct sq_args {
    const char **argv;
    size_t *lens;
    char **owned; /* strings to free */
    size_t n, cap, nowned, capowned;
    bool oom;
};
void sq_args_init(struct sq_args *a);
void sq_args_cleanup(struct sq_args *a);
/* Borrowed string (must outlive the call). */
void sq_args_add(struct sq_args *a, const char *s);
void sq_args_addn(struct sq_args *a, const char *s, size_t n);
/* Copied/formatted string. */
void sq_args_addf(struct sq_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sq_args_addll(struct sq_args *a, long long v);
/* Add an owned string (freed with the args; NULL marks out-of-memory). */
void sq_args_take(struct sq_args *a, char *s);
/* Free `s` (sq_malloc'ed; may be NULL only on out-of-memory, which marks
 * it) with the args, without adding it as an argument: a block the
 * borrowed arguments point into. */
void sq_args_own(struct sq_args *a, char *s);
/* Replace argument `pos` with an owned string. */
void sq_args_set_take(struct sq_args *a, size_t pos, char *s);

/* Run script `id` with ARGV = cfgarg followed by `a`. NOSCRIPT is handled
 * (EVAL with the source). A call that lost its connection goes once more
 * on a fresh one if it never reached Redis, or if the script is safe to
 * run twice (resend_safe in broker_script.c); otherwise SYNCQ_ECONN.
 * Errors: SYNCQ_ECONN, SYNCQ_EPROTO (script error: message has its text),
 *         SYNCQ_ENOMEM. */
int sq_script_call(syncq_client *c, enum sq_script_id id,
                   const struct sq_args *a, redisReply **reply,
                   syncq_error *err);

/* Pipelining: append calls, then read their replies in order. */
int sq_script_append(syncq_client *c, enum sq_script_id id,
                     const struct sq_args *a, syncq_error *err);
int sq_client_read_reply(syncq_client *c, redisReply **reply,
                         syncq_error *err);
/* sq_script_append on a connection with calls in flight (a pipeline's):
 * it is not idle, so it is not checked for a close first (sq_client_ensure
 * peeks at the socket, a system call per call); a lost connection shows
 * in the answers awaited on it. Without a connection: sq_script_append. */
int sq_script_append_busy(syncq_client *c, enum sq_script_id id,
                          const struct sq_args *a, syncq_error *err);

/* Turn an error reply of a pipelined script call into an error code
 * (NOSCRIPT drops the connection so the next call reloads the scripts).
 * Returns SYNCQ_OK for any other reply. */
int sq_script_reply_check(syncq_client *c, enum sq_script_id id,
                          redisReply *r, syncq_error *err);

/* Load the broker's Lua on connect and after NOSCRIPT (broker_conn.c):
 * the function library when the server has functions (Redis >= 7) and
 * lacks this version of it, else every script (pipelined SCRIPT LOAD).
 * Errors: SYNCQ_ECONN, SYNCQ_EAUTH, SYNCQ_ENOTSUP (Redis < 5) and the
 * codes of sq_script_reply_check. */
int sq_script_load_all(syncq_client *c, syncq_error *err);

/* Source text of a script (prelude + op), for tests. Owned. */
char *sq_script_source(enum sq_script_id id);

/* The FCALL name of op `id` in this build's function library ("" before
 * the first load). Read-only after it; thread-safe. */
const char *sq_script_fname(enum sq_script_id id);

/* ---- enqueue (broker_enqueue.c) -------------------------------------- */

/* Validate one task (the same checks as syncq_task_create) and append
 * its enqueue run to `a` (a batch's chunks, broker_batch.c); the id goes
 * to id_out (SYNCQ_ID_SIZE bytes). `a` owns what the run needs except
 * the strings of `o` (unique key, batch, parent and root ids): borrowed,
 * they must outlive `a`. Errors: as syncq_task_create. */
int sq_enqueue_prepare_run(syncq_client *c, struct sq_args *a, const char *name,
                           const char *args_json, const char *kwargs_json,
                           const syncq_task_options *o,
                           char id_out[SYNCQ_ID_SIZE], syncq_error *err);
/* The same for a whole enqueue.lua call of that one task (its count,
 * its queue and priority, whether the caller chose its id, then the run
 * without its queue): syncq_task_create. `c` answers the declaration
 * lookups only. */
int sq_enqueue_prepare_call(syncq_client *c, struct sq_args *a,
                            const char *name, const char *args_json,
                            const char *kwargs_json,
                            const syncq_task_options *o,
                            char id_out[SYNCQ_ID_SIZE], syncq_error *err);
/* enqueue.lua's ARGV[2..6] before runs made by sq_enqueue_prepare_run
 * (each names its queue): `n` tasks, `each` (every task answered as a
 * call of its own) or all or nothing, `k` ids chosen by the caller (their
 * positions follow: the caller appends them). */
void sq_enqueue_head(struct sq_args *a, size_t n, bool each, size_t k);
/* enqueue.lua's ARGV[2..] before the runs of an all-or-nothing call of
 * `n` tasks whose ids were all chosen by the caller (a batch's chunk
 * ids): each is looked up. */
void sq_enqueue_all_chosen(struct sq_args *a, size_t n);
/* Whether enqueue.lua's reply `r` to a call of `n` tasks says that every
 * one was created "new" (the integer n instead of an id and a status per
 * task): their ids are the ones the call sent. */
bool sq_enqueue_all_new(const redisReply *r, size_t n);

/* ---- records --------------------------------------------------------- */

/* Decode a flat HGETALL array (`fields` elements from index `from`) of
 * task `id` into the JSON object described in syncq/client.h. */
json_t *sq_record_to_json(const char *id, redisReply **fields, size_t n,
                          int64_t default_result_ttl_ms);

/* The same without the record's times (created_at, leased_at, started_at,
 * eta, expires, ..., result_expires_at): a leased task's record as
 * sq_lease_parse gives it (the worker reads sq_lease_parse_view's fields
 * instead, no record at all). */
json_t *sq_record_to_json_untimed(const char *id, redisReply **fields,
                                  size_t n);

/* Final states: sq_state_is_final in core/sq_task.h. */

/* ---- the events stream ---------------------------------------------- */

/* One task's event out of an events-stream entry (broker_event.c): an
 * entry is about one task or, written by the hot scripts, several (the
 * first task's fields in full, each later one from its own "id" with
 * the fields that differ). Walk an entry's field array `kv` (the second
 * element of an XRANGE/XREAD entry) with
 *   for (bool more = sq_event_first(kv, &ev); more;
 *        more = sq_event_next(&ev)) { ... ev.e, ev.id, sq_event_get ... }
 * An entry that names no task (schedule events ...) gives one event with
 * id NULL. The strings point into kv: valid while it lives. Not
 * thread-safe on one sq_event; kv is only read. */
struct sq_event {
    const char *e;  /* the kind ("task-succeeded" ...), NULL if missing */
    const char *id; /* the task id, NULL for an entry naming no task */
    const redisReply *kv;
    size_t from, to;             /* this task's fields: kv[from, to) */
    size_t first_from, first_to; /* the first task's fields */
    bool has_id;               /* the entry names at least one task */
};

/* Start on the entry's first task; false when kv is not a field array. */
bool sq_event_first(const redisReply *kv, struct sq_event *ev);

/* Move to the entry's next task; false after the last. */
bool sq_event_next(struct sq_event *ev);

/* Field `name` of the current task: its own, else the first task's, else
 * the entry's head (the fields before the first "id"); NULL if none. */
const char *sq_event_get(const struct sq_event *ev, const char *name);

/* ---- worker-side operations ----------------------------------------- */

/* Bytes of a reply string (hiredis ends each with a NUL beyond n). */
struct sq_text {
    const char *p; /* NULL: the field is absent */
    size_t n;
};

/* What a worker runs a leased task with, read from lease.lua's reply
 * without a JSON record (sq_lease_parse_view): the texts point into the
 * reply, valid while it lives; args, kwargs and the retry policy are the
 * JSON text as stored, unchecked. */
struct sq_leased_view {
    struct sq_text name, queue, args, kwargs, policy, batch, root;
    long long attempt;            /* this lease's attempt (stored + 1) */
    long long retries;            /* 0 if absent */
    long long max_retries;        /* -1 if absent */
    long long time_limit_ms;      /* 0 if absent */
    long long soft_time_limit_ms; /* 0 if absent */
};

struct sq_leased {
    char id[SYNCQ_ID_SIZE];
    char token[32];
    json_t *rec;  /* record as sq_record_to_json_untimed gives it (owned);
                   * NULL from sq_lease_parse_view */
    struct sq_leased_view v; /* sq_lease_parse_view only */
    bool plain;   /* its record has no batch, root or rexp field (both
                   * parsers): its ok op may say so (sq_settle_op.plain) */
};

struct sq_lease_reply {
    int64_t next_eta_ms;   /* earliest delayed ETA, or -1 */
    json_t *control;       /* array of task ids to cancel (owned) */
    json_t *raws;          /* array of [queue, bytes] foreign entries */
    struct sq_leased *tasks;
    size_t n;
};

void sq_lease_reply_cleanup(struct sq_lease_reply *r);

/* Parameters of a lease call. */
struct sq_lease_req {
    const char *worker;        /* worker id */
    int64_t lease_ms;
    int max_n;                 /* 0: housekeeping only */
    int start_now;             /* leading tasks marked STARTED */
    const char *const *queues; /* in order of preference */
    size_t nqueues;
};

enum sq_settle_kind {
    SQ_SETTLE_OK,
    SQ_SETTLE_FAIL,
    SQ_SETTLE_RETRY,
    SQ_SETTLE_REQUEUE,
    SQ_SETTLE_START,
    SQ_SETTLE_REVOKED,
    SQ_SETTLE_DEFER /* as RETRY, without counting a retry */
};

struct sq_settle_op {
    enum sq_settle_kind kind;
    const char *id;
    const char *token;
    const char *result_json; /* OK: serialised result ("" for none) */
    const char *err_class;   /* FAIL/RETRY/DEFER */
    const char *err_msg;     /* FAIL/RETRY/DEFER/REVOKED */
    const char *reason;      /* REQUEUE: shutdown | worker_lost | timeout */
    int64_t runtime_ms;
    int64_t delay_ms;        /* RETRY/DEFER */
    bool dead;               /* FAIL: also to the dead-letter queue */
    bool plain;              /* OK: the leased record had no batch, root
                              * or rexp (sq_leased.plain), so settle.lua
                              * does not look for them; false is always
                              * right, only slower */
};

/* What settle.lua answered for one op: recorded now; recorded already by
 * this very lease (a re-sent op whose first reply was lost); refused
 * because the lease is no longer the task's (lapsed, taken over: a lost
 * lease); the task record is gone. */
enum { SQ_SETTLED = 0, SQ_SETTLE_STALE = 1, SQ_SETTLE_GONE = 2,
       SQ_SETTLE_ALREADY = 3 };

/* ---- the lease/settle codec (broker_lease.c) -------------------------
 * The one encoder of settle.lua's and lease.lua's arguments and decoder
 * of their replies, used by sq_broker_settle_lease and by the worker's
 * asynchronous round. Thread-safe (no state). */

/* "ok" "fail" "retry" "requeue" "start" "revoked" (settle.lua's words). */
const char *sq_settle_kind_name(enum sq_settle_kind k);

/* settle.lua's arguments: the op count, then each op (strings borrowed
 * from `op` until the call is sent). */
void sq_settle_args_begin(struct sq_args *a, size_t n);
void sq_settle_args_add(struct sq_args *a, const struct sq_settle_op *op);

/* lease.lua's arguments (strings borrowed from `L`). */
void sq_lease_args(struct sq_args *a, const struct sq_lease_req *L);

/* Decode settle.lua's reply to `n` ops into status[i] (SQ_SETTLED ...;
 * status may be NULL). Errors: SYNCQ_EPROTO (not an array of n). */
int sq_settle_parse(const redisReply *r, size_t n, int *status,
                    syncq_error *err);

/* Decode lease.lua's reply into *out (initialised here; release with
 * sq_lease_reply_cleanup, also on error). Malformed task entries are
 * skipped. Errors: SYNCQ_EPROTO, SYNCQ_ENOMEM. */
int sq_lease_parse(const syncq_client *c, const redisReply *r,
                   struct sq_lease_reply *out, syncq_error *err);

/* The same for a worker: no JSON records (tasks[i].rec NULL; building
 * them was a third of the supervisor's instructions per task); each
 * task's tasks[i].v borrows from `r`, so use it before freeing r. */
int sq_lease_parse_view(const redisReply *r, struct sq_lease_reply *out,
                        syncq_error *err);

/* Settle `n` ops (one script call; n == 0 is a no-op), then, if `lease`
 * is not NULL, lease in the same round trip (pipelined). status[i] gets
 * SQ_SETTLED / SQ_SETTLE_ALREADY / SQ_SETTLE_STALE / SQ_SETTLE_GONE.
 * Errors: SYNCQ_ECONN (outcomes not recorded: keep and resend them;
 *         resending is safe, a settled op answers "already"),
 *         SYNCQ_EPROTO. */
int sq_broker_settle_lease(syncq_client *c, const struct sq_settle_op *ops,
                           size_t n, int *status,
                           const struct sq_lease_req *lease,
                           struct sq_lease_reply *out, syncq_error *err);

/* Heartbeat: store `info_json` for ttl_ms, renew the leases (ids/tokens,
 * n), collect lost leases and control messages (*lost, *control: new
 * arrays). */
int sq_broker_extend(syncq_client *c, const char *worker, int64_t lease_ms,
                     const char *info_json, int64_t ttl_ms,
                     const char *const *ids, const char *const *tokens,
                     size_t n, json_t **lost, json_t **control,
                     syncq_error *err);

/* Progress write (progress.lua). token NULL: unfenced local run (writes
 * only if the task exists and is not final). *status_out: 0 ok, 1 stale,
 * 2 final. */
int sq_broker_progress(syncq_client *c, const char *id, const char *token,
                       bool inc, int64_t current, int64_t total,
                       const char *message, int *status_out,
                       int64_t *current_out, syncq_error *err);

/* Housekeeping (promote.lua). Outputs may be NULL. */
/* Known-failures C34: read Redis's maxmemory-policy (INFO memory, so it
 * works where CONFIG is disabled) and, when it may evict keys without a
 * TTL (allkeys-*), log one warning "broker.eviction_unsafe" naming `who`.
 * Returns 1 when unsafe, 0 when safe or unknown (errors are ignored:
 * this is advice, not a reason not to start). */
int sq_broker_check_eviction(syncq_client *c, const char *who);

/* Copy the value of `name` in an INFO reply's text ("name:value" lines)
 * into out (cap bytes, truncated). False when absent. Thread-safe. */
bool sq_info_field(const char *info, const char *name, char *out,
                   size_t cap);

/* True when Redis maxmemory-policy `policy` never evicts keys without a
 * TTL (noeviction, volatile-*): queues, delayed sets and running tasks
 * are safe. NULL or "" (unknown) is treated as safe. */
bool sq_eviction_safe(const char *policy);

int sq_broker_promote(syncq_client *c, int max_promote, int max_requeue,
                      int64_t *promoted, int64_t *requeued,
                      int64_t *next_eta_ms, syncq_error *err);

/* Move a foreign/poison queue entry to the dead-letter queue as a new
 * record (state DEAD, reason, raw bytes kept up to 64 KiB).
 * id_out gets the new record's id. */
int sq_broker_poison(syncq_client *c, const char *queue, const char *raw,
                     size_t raw_len, const char *reason,
                     char id_out[SYNCQ_ID_SIZE], syncq_error *err);

/* ---- names and routing ---------------------------------------------- */

/* Route of a normalised task name when no queue is given: its route in
 * the default registry (syncq_registry_route: the task's declared queue,
 * else its namespace's), else the queue the workers published with its
 * declaration (sq_decl_queue: one cached HGET), else the client's default
 * queue (SYNCQ_TASK_DEFAULT_QUEUE). */
const char *sq_route_queue(syncq_client *c, const char *name);

#endif
