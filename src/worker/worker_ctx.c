/* SPDX-License-Identifier: MIT
 *
 * worker_ctx.c: the task context of syncq/task.h (accessors, progress,
 * sub-task enqueue, finishing, logging) and syncq_task_run_local.
 *
 * The same context serves a worker child (fenced by the lease token, the
 * child's own Redis connection opened on first use) and an in-process run
 * (no token; broker writes only when a client is given). Checkpoints live
 * in worker_ckpt.c, the retry decision in worker_outcome.c. A context
 * never exits the process and never blocks on the broker for longer than
 * the client's timeout.
 */
#include "worker/worker_ctx.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "sq_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t sq_worker_stop_flag;

/* Progress writes are throttled to one per this many ms (task.h). */
#define PROGRESS_EVERY_MS 100

void
sq_ctx_init(struct syncq_ctx *ctx, const syncq_task_def *def, const char *id,
            const char *name, json_t *args, json_t *kwargs,
            const syncq_config *cfg)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->def = def;
    ctx->id = id;
    ctx->name = name;
    ctx->queue = "";
    ctx->args = args;
    ctx->kwargs = kwargs;
    ctx->cfg = cfg;
    ctx->attempt = 1;
    ctx->max_retries = -1;
    ctx->deferrals = -1;
    ctx->error_class = SYNCQ_ERR_NONE;
}

void
sq_ctx_cleanup(struct syncq_ctx *ctx)
{
    json_decref(ctx->result);
    json_decref(ctx->error_detail);
    sq_free(ctx->local_ckpt);
    ctx->result = NULL;
    ctx->error_detail = NULL;
    ctx->local_ckpt = NULL;
}

/* The broker connection for this context: the lent one, or one opened
 * into the owner's slot on first use. Reopening after a failure waits
 * with a backoff so a task calling progress in a loop during an outage
 * does not stall on connect timeouts. */
static syncq_client *
ctx_broker(struct syncq_ctx *ctx, syncq_error *err)
{
    static int64_t next_try_ms;
    static int64_t backoff_ms = 500;
    int rc;

    if (ctx->client != NULL) {
        return ctx->client;
    }
    if (ctx->client_slot == NULL) {
        sq_fail(err, SYNCQ_ENOTSUP, "no broker: the task runs without one "
                "(syncq task run without --broker access)");
        return NULL;
    }
    if (*ctx->client_slot != NULL) {
        ctx->client = *ctx->client_slot;
        return ctx->client;
    }
    if (sq_mono_ms() < next_try_ms) {
        sq_fail(err, SYNCQ_ECONN, "broker unreachable (retrying later)");
        return NULL;
    }
    rc = syncq_client_open(NULL, ctx->cfg, ctx->client_slot, err);
    if (rc != SYNCQ_OK) {
        next_try_ms = sq_mono_ms() + backoff_ms;
        backoff_ms = backoff_ms < 16000 ? backoff_ms * 2 : 30000;
        if (!ctx->client_failed_logged) {
            char q[300];
            SQ_WARN("task.broker_unavailable", "task_id=%s err=%s", ctx->id,
                    sq_log_quote(err != NULL ? err->msg : "", q, sizeof q));
            ctx->client_failed_logged = true;
        }
        *ctx->client_slot = NULL;
        return NULL;
    }
    backoff_ms = 500;
    ctx->client = *ctx->client_slot;
    return ctx->client;
}

/* ---- accessors -------------------------------------------------------- */

const char *
syncq_ctx_id(const syncq_ctx *ctx)
{
    return ctx->id;
}

const char *
syncq_ctx_name(const syncq_ctx *ctx)
{
    return ctx->name;
}

const char *
syncq_ctx_queue(const syncq_ctx *ctx)
{
    return ctx->queue != NULL ? ctx->queue : "";
}

json_t *
syncq_ctx_args(const syncq_ctx *ctx)
{
    return ctx->args;
}

json_t *
syncq_ctx_kwargs(const syncq_ctx *ctx)
{
    return ctx->kwargs;
}

int
syncq_ctx_attempt(const syncq_ctx *ctx)
{
    return ctx->attempt;
}

int
syncq_ctx_retries(const syncq_ctx *ctx)
{
    return ctx->retries;
}

const char *
syncq_ctx_batch_id(const syncq_ctx *ctx)
{
    return ctx->batch_id;
}

syncq_client *
syncq_ctx_client(syncq_ctx *ctx)
{
    if (ctx->no_broker) {
        return NULL;
    }
    return ctx_broker(ctx, NULL);
}

const syncq_config *
syncq_ctx_config(const syncq_ctx *ctx)
{
    return ctx->cfg;
}

bool
syncq_ctx_stop_requested(const syncq_ctx *ctx)
{
    if (sq_worker_stop_flag) {
        /* Remembered so the worker knows the task saw the request. */
        ((struct syncq_ctx *)ctx)->saw_stop = true;
        return true;
    }
    return false;
}

/* ---- progress --------------------------------------------------------- */

/* One progress.lua call; maps the reply to task.h's error codes. */
static int
progress_write(struct syncq_ctx *ctx, bool inc, int64_t current,
               int64_t total, const char *message, syncq_error *err)
{
    syncq_client *c;
    int status = 0;
    int rc;

    if (ctx->no_broker) {
        return SYNCQ_OK;
    }
    c = ctx_broker(ctx, err);
    if (c == NULL) {
        return SYNCQ_ECONN;
    }
    rc = sq_broker_progress(c, ctx->id, ctx->token, inc, current, total,
                            message, &status, NULL, err);
    if (rc != SYNCQ_OK) {
        return rc == SYNCQ_EPROTO ? rc : SYNCQ_ECONN;
    }
    if (status == 0) {
        return SYNCQ_OK;
    }
    if (ctx->token == NULL) {
        /* Local run on an id with no live record: nothing to update. */
        return SYNCQ_OK;
    }
    return sq_fail(err, SYNCQ_ELEASE, "task %s: %s", ctx->id,
                   status == 1 ? "lease lost: another worker holds the task"
                               : "task already finished (revoked?)");
}

/* Remember a throttled progress report so a later call or the end of
 * the task writes it. */
static void
progress_hold(struct syncq_ctx *ctx, int64_t current, int64_t total,
              const char *message)
{
    ctx->progress_pending = true;
    ctx->pend_current = current;
    ctx->pend_total = total;
    if (message != NULL) {
        snprintf(ctx->pend_msg, sizeof ctx->pend_msg, "%s", message);
        ctx->pend_has_msg = true;
    }
}

int
syncq_ctx_progress(syncq_ctx *ctx, int64_t current, int64_t total,
                   const char *message, syncq_error *err)
{
    int64_t now = sq_mono_ms();
    bool final = total > 0 && current >= total;
    int rc;

    if (current < 0 || total < 0) {
        return sq_fail(err, SYNCQ_EINVAL, "progress %lld/%lld: values must "
                       "be >= 0", (long long)current, (long long)total);
    }
    if (!final && ctx->progress_last_ms != 0 &&
        now - ctx->progress_last_ms < PROGRESS_EVERY_MS) {
        progress_hold(ctx, current, total, message);
        return SYNCQ_OK;
    }
    if (message == NULL && ctx->pend_has_msg) {
        message = ctx->pend_msg; /* the held message was never written */
    }
    if (ctx->pend_inc != 0) {
        /* Increments held back by progress_add go first. */
        rc = progress_write(ctx, true, ctx->pend_inc, total, NULL, err);
        ctx->pend_inc = 0;
        if (rc != SYNCQ_OK && rc != SYNCQ_ECONN) {
            return rc;
        }
    }
    rc = progress_write(ctx, false, current, total, message, err);
    ctx->progress_last_ms = now;
    ctx->progress_pending = false;
    ctx->pend_has_msg = false;
    if (rc == SYNCQ_OK && ctx->auto_checkpoint) {
        sq_ctx_checkpoint_auto_save(ctx, current, total);
    }
    return rc;
}

int
syncq_ctx_progress_add(syncq_ctx *ctx, int64_t delta, int64_t total,
                       const char *message, syncq_error *err)
{
    int64_t now = sq_mono_ms();
    int rc;

    if (delta < 0 || total < 0) {
        return sq_fail(err, SYNCQ_EINVAL, "progress increment %lld/%lld: "
                       "values must be >= 0", (long long)delta,
                       (long long)total);
    }
    ctx->pend_inc += delta;
    if (total > 0) {
        ctx->pend_total = total;
    }
    if (message != NULL) {
        snprintf(ctx->pend_msg, sizeof ctx->pend_msg, "%s", message);
        ctx->pend_has_msg = true;
    }
    if (ctx->progress_last_ms != 0 &&
        now - ctx->progress_last_ms < PROGRESS_EVERY_MS) {
        return SYNCQ_OK;
    }
    rc = progress_write(ctx, true, ctx->pend_inc, total,
                        ctx->pend_has_msg ? ctx->pend_msg : NULL, err);
    ctx->progress_last_ms = now;
    ctx->pend_inc = 0;
    ctx->pend_has_msg = false;
    return rc;
}

void
sq_ctx_progress_flush(struct syncq_ctx *ctx)
{
    syncq_error err;

    if (ctx->pend_inc != 0) {
        progress_write(ctx, true, ctx->pend_inc, ctx->pend_total,
                       ctx->pend_has_msg ? ctx->pend_msg : NULL, &err);
        ctx->pend_inc = 0;
        if (!ctx->progress_pending) {
            ctx->pend_has_msg = false;
        }
    }
    if (ctx->progress_pending) {
        progress_write(ctx, false, ctx->pend_current, ctx->pend_total,
                       ctx->pend_has_msg ? ctx->pend_msg : NULL, &err);
        ctx->progress_pending = false;
        ctx->pend_has_msg = false;
    }
}

void
syncq_ctx_checkpoint_auto(syncq_ctx *ctx, bool on)
{
    ctx->auto_checkpoint = on;
}

/* ---- sub-tasks -------------------------------------------------------- */

int
syncq_ctx_enqueue(syncq_ctx *ctx, const char *name, const char *args_json,
                  const char *kwargs_json, const syncq_task_options *opts,
                  char id_out[SYNCQ_ID_SIZE], syncq_error *err)
{
    syncq_task_options o;
    syncq_client *c;

    if (ctx->no_broker) {
        return sq_fail(err, SYNCQ_ENOTSUP, "cannot enqueue %s: this run has "
                       "no broker", name != NULL ? name : "(null)");
    }
    c = ctx_broker(ctx, err);
    if (c == NULL) {
        return err != NULL && err->code != SYNCQ_OK ? err->code : SYNCQ_ECONN;
    }
    if (opts != NULL) {
        o = *opts;
    } else {
        syncq_task_options_init(&o);
    }
    /* The family tree is the context's to set, not the caller's. */
    o.parent_id = ctx->id;
    o.root_id = ctx->root_id != NULL && ctx->root_id[0] != '\0'
                    ? ctx->root_id
                    : ctx->id;
    return syncq_task_create(c, name, args_json, kwargs_json, &o, id_out,
                             NULL, err);
}

/* ---- finishing -------------------------------------------------------- */

int
syncq_ctx_succeed(syncq_ctx *ctx, json_t *result)
{
    json_decref(ctx->result);
    ctx->result = result != NULL ? result : json_null();
    ctx->outcome = SQ_CTX_OK;
    ctx->deferred = false;
    ctx->error_class = SYNCQ_ERR_NONE;
    ctx->error_msg[0] = '\0';
    return SYNCQ_OK;
}

/* Store a failure: class checked, message made one line. */
static void
set_failure(struct syncq_ctx *ctx, int cls, int64_t retry_after_ms,
            const char *fmt, va_list ap)
{
    char raw[sizeof ctx->error_msg];
    char *p;

    if (cls <= SYNCQ_ERR_NONE || cls >= SYNCQ_ERR__COUNT) {
        cls = SYNCQ_ERR_INTERNAL;
    }
    if (vsnprintf(raw, sizeof raw, fmt != NULL ? fmt : "", ap) < 0) {
        raw[0] = '\0';
    }
    /* Messages are display text stored in JSON (the errors history is
     * built by Lua's cjson): raw bytes become U+FFFD (C32, C37), lines
     * become one. */
    sq_utf8_sanitize(raw, strlen(raw), ctx->error_msg, sizeof ctx->error_msg);
    for (p = ctx->error_msg; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            *p = ' ';
        }
    }
    json_decref(ctx->result);
    ctx->result = NULL;
    ctx->outcome = SQ_CTX_FAIL;
    ctx->deferred = false;
    ctx->error_class = cls;
    ctx->retry_after_ms = retry_after_ms > 0 ? retry_after_ms : 0;
}

int
syncq_ctx_fail(syncq_ctx *ctx, int cls, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_failure(ctx, cls, 0, fmt, ap);
    va_end(ap);
    return SYNCQ_EINTERNAL;
}

int
syncq_ctx_retry_after(syncq_ctx *ctx, int cls, int64_t retry_after_ms,
                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_failure(ctx, cls, retry_after_ms, fmt, ap);
    va_end(ap);
    return SYNCQ_EINTERNAL;
}

/* The record's deferrals so far (for SYNCQ_TASK_MAX_DEFERRALS), read once
 * per run and only when the task defers; -1 when Redis cannot tell (the
 * deferral then goes ahead: the bound is checked at the next one). */
static int64_t
deferrals_so_far(struct syncq_ctx *ctx)
{
    syncq_client *c;
    redisReply *r = NULL;
    char key[256];
    int64_t n = -1;

    if (ctx->deferrals >= 0 || ctx->no_broker || ctx->token == NULL) {
        return ctx->deferrals;
    }
    c = ctx_broker(ctx, NULL);
    if (c == NULL ||
        sq_client_cmd(c, &r, NULL, "HGET %s deferrals",
                      sq_key(c, key, sizeof key, "t:%s", ctx->id)) !=
            SYNCQ_OK) {
        return -1;
    }
    if (r->type == REDIS_REPLY_NIL) {
        n = 0;
    } else if (r->type == REDIS_REPLY_STRING) {
        char *end = NULL;
        long long v = strtoll(r->str, &end, 10);
        n = end != r->str && *end == '\0' && v >= 0 ? v : -1;
    }
    freeReplyObject(r);
    ctx->deferrals = n;
    return n;
}

int
syncq_ctx_defer(syncq_ctx *ctx, int cls, int64_t delay_ms, const char *fmt,
                ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_failure(ctx, cls, delay_ms > 0 ? delay_ms : 1, fmt, ap);
    va_end(ap);
    ctx->deferred = true;
    deferrals_so_far(ctx);
    return SYNCQ_EINTERNAL;
}

void
syncq_ctx_set_error_detail(syncq_ctx *ctx, json_t *detail)
{
    json_decref(ctx->error_detail);
    ctx->error_detail = detail;
}

void
syncq_ctx_log(syncq_ctx *ctx, int level, const char *fmt, ...)
{
    char msg[1024];
    char q[1200];
    va_list ap;

    if (level > sq_log_level || !sq_log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sq_log_emit(level, "task.log", "task_id=%s task=%s attempt=%d msg=%s",
                ctx->id, ctx->name, ctx->attempt,
                sq_log_quote(msg, q, sizeof q));
}

int64_t
sq_ctx_run(struct syncq_ctx *ctx)
{
    int64_t t0 = sq_mono_us();
    int rc;

    rc = ctx->def->fn(ctx);
    if (ctx->outcome == SQ_CTX_NONE) {
        if (rc == SYNCQ_OK) {
            syncq_ctx_succeed(ctx, json_null());
        } else {
            syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL,
                           "task returned %s (%d) without calling "
                           "syncq_ctx_fail",
                           syncq_code_name(rc), rc);
        }
    }
    sq_ctx_progress_flush(ctx);
    return (sq_mono_us() - t0) / 1000;
}

/* ---- in-process runs -------------------------------------------------- */

int
syncq_task_run_local(syncq_registry *r, const char *name, json_t *args,
                     json_t *kwargs, syncq_client *c, const syncq_config *cfg,
                     const char *id, syncq_local_result *out,
                     syncq_error *err)
{
    const syncq_task_def *def;
    struct syncq_ctx ctx;
    syncq_config *own_cfg = NULL;
    char idbuf[SYNCQ_ID_SIZE];
    json_t *a = NULL, *k = NULL;
    int64_t max_payload;
    int rc = SYNCQ_OK;

    memset(out, 0, sizeof *out);
    if (r == NULL) {
        r = syncq_registry_default();
    }
    def = syncq_registry_find(r, name);
    if (def == NULL) {
        out->error_class = SYNCQ_ERR_NOT_REGISTERED;
        snprintf(out->error_msg, sizeof out->error_msg,
                 "task %.200s is not registered", name ? name : "(null)");
        return sq_fail(err, SYNCQ_ENOTFOUND, "%s", out->error_msg);
    }
    if (args != NULL && !json_is_array(args)) {
        return sq_fail(err, SYNCQ_EINVAL, "args must be a JSON array");
    }
    if (kwargs != NULL && !json_is_object(kwargs)) {
        return sq_fail(err, SYNCQ_EINVAL, "kwargs must be a JSON object");
    }
    if (cfg == NULL) {
        if (c != NULL) {
            cfg = syncq_client_config(c);
        } else {
            rc = syncq_config_new(&own_cfg, err);
            if (rc != SYNCQ_OK) {
                return rc;
            }
            /* A malformed .env is reported by the commands that read it;
             * a local run keeps the defaults applied before it. */
            syncq_config_load(own_cfg, NULL, NULL);
            cfg = own_cfg;
        }
    }
    a = args != NULL ? json_incref(args) : json_array();
    k = kwargs != NULL ? json_incref(kwargs) : json_object();
    if (a == NULL || k == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        goto done;
    }
    if (id == NULL || id[0] == '\0') {
        sq_uuid_new(idbuf);
        id = idbuf;
    }
    sq_ctx_init(&ctx, def, id, def->name, a, k, cfg);
    ctx.queue = def->queue != NULL ? def->queue : "";
    ctx.client = c;
    ctx.no_broker = c == NULL;
    sq_worker_stop_flag = 0;
    out->runtime_ms = sq_ctx_run(&ctx);
    max_payload = syncq_config_int(cfg, "SYNCQ_MAX_PAYLOAD");
    if (ctx.outcome == SQ_CTX_OK) {
        char *s = json_dumps(ctx.result, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t n = s != NULL ? strlen(s) : 0;
        bool dumped = s != NULL;
        sq_free(s);
        if (!dumped) {
            syncq_ctx_fail(&ctx, SYNCQ_ERR_INTERNAL,
                           "result cannot be serialised (a string that is "
                           "not UTF-8, or out of memory)");
        } else if (max_payload > 0 && (int64_t)n > max_payload) {
            syncq_ctx_fail(&ctx, SYNCQ_ERR_INTERNAL,
                           "result too large: %zu bytes, limit %lld "
                           "(SYNCQ_MAX_PAYLOAD)",
                           n, (long long)max_payload);
        }
    }
    if (ctx.outcome == SQ_CTX_OK) {
        out->ok = 1;
        out->result = ctx.result;
        ctx.result = NULL;
    } else {
        out->ok = 0;
        out->error_class = ctx.error_class;
        snprintf(out->error_msg, sizeof out->error_msg, "%s", ctx.error_msg);
        out->retry_after_ms = ctx.retry_after_ms;
    }
    out->error_detail = ctx.error_detail;
    ctx.error_detail = NULL;
    sq_ctx_cleanup(&ctx);
done:
    json_decref(a);
    json_decref(k);
    syncq_config_free(own_cfg);
    return rc;
}

void
syncq_local_result_cleanup(syncq_local_result *res)
{
    if (res == NULL) {
        return;
    }
    json_decref(res->result);
    json_decref(res->error_detail);
    res->result = NULL;
    res->error_detail = NULL;
}
