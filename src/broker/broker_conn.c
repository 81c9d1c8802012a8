/* SPDX-License-Identifier: MIT
 *
 * broker_conn.c: the client handle, its Redis connection and reconnects.
 *
 * One hiredis connection per client. On an I/O error the connection is
 * dropped; the next call reconnects, with capped exponential backoff
 * between failed attempts (100 ms doubling to SYNCQ_RECONNECT_MAX_DELAY).
 * "broker.down" is logged once when an outage starts and "broker.up" once
 * when it ends (DESIGN contract 10). Never logs a password.
 */
#include "broker/broker.h"
#include "broker/broker_cluster.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "core/sq_config.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* An error reply while connecting (AUTH, SELECT, PING). LOADING or BUSY
 * is an outage (the caller's backoff decides). MISCONF, READONLY, OOM...
 * answer PING too (health checks see them), yet the link works: the
 * calls meet the error and its backoff (broker_fault.c). */
static int
connect_reply_error(redisReply *r, syncq_error *err, const char *what)
{
    switch (sq_fault_classify(r->str)) {
    case SQ_FAULT_AUTH:
        return sq_fail(err, SYNCQ_EAUTH, "%s: %s", what, r->str);
    case SQ_FAULT_TRANSIENT:
        if (strncmp(r->str, "LOADING", 7) != 0 &&
            strncmp(r->str, "BUSY", 4) != 0) {
            return SYNCQ_OK;
        }
        return sq_fail(err, SYNCQ_ECONN, "%s: %s", what, r->str);
    default:
        return sq_fail(err, SYNCQ_EPROTO, "%s: %s", what, r->str);
    }
}

/* Why c->rc failed, in words: a read that timed out (hiredis says
 * "Resource temporarily unavailable") says how long it waited and which
 * setting decides. */
static const char *
io_reason(const syncq_client *c, char *buf, size_t cap)
{
    if (c->rc->err == REDIS_ERR_IO &&
        strcmp(c->rc->errstr, strerror(EAGAIN)) == 0) {
        snprintf(buf, cap, "no reply within %lld ms (SYNCQ_REDIS_TIMEOUT; "
                 "the server is stalled or overloaded)",
                 (long long)c->timeout_ms);
        return buf;
    }
    return c->rc->errstr[0] ? c->rc->errstr : "connection lost";
}

static int
simple(syncq_client *c, syncq_error *err, const char *what, int argc,
       const char **argv)
{
    redisReply *r = sq_conn_command_argv(c, argc, argv, NULL);
    int rc2 = SYNCQ_OK;
    char why[160];

    if (r == NULL && c->rc->err == REDIS_ERR_PROTOCOL) {
        /* an HTTP server or the like on that port: hiredis would say
         * "Protocol error, got "H" as reply type byte" */
        return sq_fail(err, SYNCQ_ECONN, "not a Redis server (its answer "
                       "to %s is not the Redis protocol)", what);
    }
    if (r == NULL) {
        return sq_fail(err, SYNCQ_ECONN, "%s: %s", what,
                       io_reason(c, why, sizeof why));
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rc2 = connect_reply_error(r, err, what);
    }
    freeReplyObject(r);
    return rc2;
}

/* One connect attempt: socket, AUTH, SELECT, version, scripts. */
static int
connect_once(syncq_client *c, syncq_error *err)
{
    int rc2 = sq_conn_open(c, err);

    if (rc2 != SYNCQ_OK) {
        return rc2;
    }
    /* A user named without a password is still that user (an ACL user
     * with `nopass` accepts any password, the empty one included);
     * connecting as `default` instead would give it other rights. */
    if (c->url.has_pass || c->url.user[0] != '\0') {
        const char *argv[3] = {"AUTH", c->url.user, c->url.pass};
        if (c->url.user[0] != '\0') {
            rc2 = simple(c, err, "AUTH", 3, argv);
        } else {
            argv[1] = c->url.pass;
            rc2 = simple(c, err, "AUTH", 2, argv);
        }
        if (rc2 != SYNCQ_OK) {
            if (rc2 == SYNCQ_EPROTO) {
                rc2 = SYNCQ_EAUTH;
                if (err != NULL) {
                    err->code = rc2;
                }
            }
            sq_error_prefix(err, c->url_shown);
            sq_conn_free(c);
            return rc2;
        }
    }
    if (c->url.db != 0) {
        char db[16];
        const char *argv[2] = {"SELECT", db};
        snprintf(db, sizeof db, "%d", c->url.db);
        rc2 = simple(c, err, "SELECT", 2, argv);
        if (rc2 != SYNCQ_OK) {
            sq_error_prefix(err, c->url_shown);
            sq_conn_free(c);
            return rc2;
        }
    }
    /* PING first: an unauthenticated client that sends a large bulk (our
     * scripts) is disconnected by Redis 7 before it can answer NOAUTH. */
    {
        const char *argv[1] = {"PING"};
        rc2 = simple(c, err, "PING", 1, argv);
        if (rc2 == SYNCQ_EAUTH) {
            if (err != NULL) {
                snprintf(err->msg, sizeof err->msg,
                         "Redis at %s needs a password (NOAUTH): put it in "
                         "the URL, redis://:PASSWORD@host:port/db or "
                         "unix:///path?password=PASSWORD",
                         c->url_shown);
            }
            sq_conn_free(c);
            return rc2;
        }
        if (rc2 != SYNCQ_OK) {
            sq_error_prefix(err, c->url_shown);
            sq_conn_free(c);
            return rc2;
        }
    }
    rc2 = sq_conn_check_role(c, err);
    if (rc2 == SYNCQ_OK) {
        rc2 = sq_script_load_all(c, err);
    }
    if (rc2 == SYNCQ_OK) {
        sq_cluster_mark_meta(c);
    }
    if (rc2 != SYNCQ_OK) {
        sq_conn_free(c);
        return rc2;
    }
    return SYNCQ_OK;
}

void
sq_client_drop(syncq_client *c, const char *why)
{
    if (c->rc != NULL) {
        SQ_DEBUG("broker.drop", "url=%s why=\"%s\"", c->url_shown,
                 why ? why : "");
        snprintf(c->drop_why, sizeof c->drop_why, "%s",
                 why != NULL && why[0] != '\0' ? why : "connection lost");
        sq_conn_free(c);
    }
}

static int64_t
backoff_ms(const syncq_client *c)
{
    return sq_fault_backoff_ms(c->failures, c->reconnect_max_ms);
}

/* Connected again: one line per change of state (DESIGN contract 10). */
/* A process that cannot reach Redis at start opens a new client on each
 * attempt (beat, monitor): "broker.down" logged by one of them stands for
 * the outage in the whole process until some client connects, which then
 * logs "broker.up". One line per state change, not one per attempt. */
static _Atomic bool g_open_down_logged;

static void
log_connected(syncq_client *c)
{
    bool open_outage = atomic_exchange(&g_open_down_logged, false);

    if (c->down_logged || (open_outage && !c->ever_connected)) {
        SQ_WARN("broker.up", "url=%s after_attempts=%d", c->url_shown,
                c->failures);
    } else if (c->ever_connected && c->fault.since_ms == 0) {
        char q[100];
        SQ_WARN("broker.reconnected", "url=%s why=%s", c->url_shown,
                sq_log_quote(c->drop_why, q, sizeof q));
    }
    if (c->ever_connected) {
        sq_fault_count_reconnect();
    }
}

/* Fail at once while the backoff holds calls back. */
static int
held_back(syncq_client *c, int64_t now, syncq_error *err)
{
    if (c->fault.since_ms != 0) {
        return sq_fail(err, SYNCQ_ECONN,
                       "Redis at %s answered %s (retrying in %lld ms)",
                       c->url_shown, c->fault.code,
                       (long long)(c->next_try_ms - now));
    }
    return sq_fail(err, SYNCQ_ECONN,
                   "Redis at %s unreachable (retrying in %lld ms)",
                   c->url_shown, (long long)(c->next_try_ms - now));
}

int
sq_client_ensure(syncq_client *c, bool wait, volatile int *stop,
                 syncq_error *err)
{
    syncq_error mine;

    if (err == NULL) {
        /* the caller wants no message, but broker.down below logs one */
        mine.msg[0] = '\0';
        err = &mine;
    }
    if (c->conn != NULL) {
        c->conn->loss = SQ_LOSS_NONE; /* a new call: nothing lost yet */
    }
    if (c->rc != NULL && sq_cluster_take_switch(c)) {
        /* a MOVED named our slot on another node: nothing is in flight
         * between calls, so the main connection moves now */
        sq_client_drop(c, "cluster slot moved");
        c->next_try_ms = 0;
    }
    for (;;) {
        int rc;
        int64_t now = sq_mono_ms();
        if (c->rc != NULL && c->rc->err == 0) {
            /* Redis closed it while idle (a restart, a timeout, CLIENT
             * KILL): nothing was sent on it, so a new connection takes
             * the call transparently (issue 12 item 3). */
            if (!sq_conn_closed_while_idle(c)) {
                return SYNCQ_OK;
            }
            sq_fault_count_conn();
            sq_client_drop(c, "closed while idle");
            c->next_try_ms = 0; /* nothing was sent: reconnect at once */
        }
        if (c->rc != NULL) {
            sq_client_drop(c, c->rc->errstr);
        }
        if (now < c->next_try_ms) {
            if (!wait) {
                return held_back(c, now, err);
            }
            sq_sleep_ms(c->next_try_ms - now > 100 ? 100
                                                   : c->next_try_ms - now);
            if (stop != NULL && *stop) {
                return sq_fail(err, SYNCQ_ECONN, "stopped while waiting "
                                                 "for Redis");
            }
            continue;
        }
        rc = connect_once(c, err);
        if (rc == SYNCQ_OK) {
            log_connected(c);
            c->failures = 0;
            c->down_logged = false;
            c->next_try_ms = 0;
            c->ever_connected = true;
            return SYNCQ_OK;
        }
        if (rc == SYNCQ_EAUTH || rc == SYNCQ_ENOMEM || rc == SYNCQ_EINVAL ||
            rc == SYNCQ_ENOTSUP) {
            return rc; /* configuration: retrying cannot help */
        }
        c->failures++;
        sq_fault_count_conn();
        c->next_try_ms = sq_mono_ms() + backoff_ms(c);
        if (!c->down_logged && c->fault.since_ms == 0) {
            char q[300];
            if (c->ever_connected ||
                !atomic_exchange(&g_open_down_logged, true)) {
                SQ_ERROR("broker.down", "url=%s err=%s next_try_ms=%lld",
                         c->url_shown,
                         sq_log_quote(err ? err->msg : "", q, sizeof q),
                         (long long)backoff_ms(c));
            }
            c->down_logged = true;
        }
        if (!wait || (stop != NULL && *stop)) {
            return rc;
        }
    }
}

static int
load_settings(syncq_client *c, syncq_error *err)
{
    const syncq_config *cfg = c->cfg;
    const char *ns = syncq_config_str(cfg, "SYNCQ_NAMESPACE");

    if (ns[0] == '\0' || strlen(ns) > 64 || strpbrk(ns, "{}: \t") != NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "SYNCQ_NAMESPACE '%.64s' must be 1..64 characters "
                       "without braces, colons or spaces",
                       ns);
    }
    snprintf(c->prefix, sizeof c->prefix, "{%s}:", ns);
    snprintf(c->meta_key, sizeof c->meta_key, "%smeta", c->prefix);
    c->timeout_ms = syncq_config_ms(cfg, "SYNCQ_REDIS_TIMEOUT");
    c->reconnect_max_ms = syncq_config_ms(cfg, "SYNCQ_RECONNECT_MAX_DELAY");
    c->max_payload = syncq_config_int(cfg, "SYNCQ_MAX_PAYLOAD");
    c->unique_window_ms = syncq_config_ms(cfg, "SYNCQ_UNIQUE_WINDOW");
    c->result_expires_ms = syncq_config_ms(cfg, "SYNCQ_RESULT_EXPIRES");
    c->default_max_retries =
        (int)syncq_config_int(cfg, "SYNCQ_TASK_MAX_RETRIES");
    snprintf(c->default_queue, sizeof c->default_queue, "%s",
             syncq_config_str(cfg, "SYNCQ_TASK_DEFAULT_QUEUE"));
    if (syncq_queue_name_check(c->default_queue, err) != SYNCQ_OK) {
        sq_error_prefix(err, "SYNCQ_TASK_DEFAULT_QUEUE");
        return SYNCQ_EINVAL;
    }
    snprintf(c->cfgarg, sizeof c->cfgarg, "%lld|%lld|%lld|%d",
             (long long)syncq_config_int(cfg, "SYNCQ_EVENTS_MAXLEN"),
             (long long)c->result_expires_ms,
             (long long)syncq_config_int(cfg, "SYNCQ_MAX_DELIVERIES"),
             (int)syncq_config_int(cfg, "SYNCQ_TASKS_RECENT_MAX"));
    return sq_conn_init(c, err);
}

/* A write to a connection Redis dropped raises SIGPIPE, whose default
 * action kills the process. hiredis cannot pass MSG_NOSIGNAL, so when the
 * host left SIGPIPE at its default we ignore it (documented in client.h);
 * a host that installed its own handler keeps it. */
static void
ignore_sigpipe(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        signal(SIGPIPE, SIG_IGN);
    }
}

int
syncq_client_open(const char *url, const syncq_config *cfg,
                  syncq_client **out, syncq_error *err)
{
    syncq_client *c;
    int rc;

    *out = NULL;
    ignore_sigpipe();
    c = sq_calloc(1, sizeof *c);
    if (c == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory opening client");
    }
    rc = syncq_config_new(&c->cfg, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    if (cfg == NULL) {
        rc = syncq_config_load(c->cfg, NULL, err);
    } else {
        rc = sq_config_copy(c->cfg, cfg, err);
    }
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    if (url == NULL) {
        url = syncq_config_str(c->cfg, "SYNCQ_BROKER_URL");
    }
    c->url_shown = sq_url_redact(url);
    if (c->url_shown == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory opening client");
        goto fail;
    }
    rc = sq_redis_url_parse(url, &c->url, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    rc = load_settings(c, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    rc = sq_client_ensure(c, false, NULL, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    *out = c;
    return SYNCQ_OK;
fail:
    syncq_client_close(c);
    return rc;
}

int
sq_client_clone(const syncq_client *c, syncq_client **out, syncq_error *err)
{
    syncq_client *n;
    int rc;

    *out = NULL;
    n = sq_calloc(1, sizeof *n);
    if (n == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = syncq_config_new(&n->cfg, err);
    if (rc == SYNCQ_OK) {
        rc = sq_config_copy(n->cfg, c->cfg, err);
    }
    if (rc != SYNCQ_OK) {
        syncq_client_close(n);
        return rc;
    }
    n->url = c->url;
    n->url_shown = sq_strdup(c->url_shown);
    rc = load_settings(n, err);
    if (rc == SYNCQ_OK && n->url_shown == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (rc != SYNCQ_OK) {
        syncq_client_close(n);
        return rc;
    }
    rc = sq_client_ensure(n, false, NULL, err);
    if (rc != SYNCQ_OK) {
        /* Keep the handle: it reconnects later. Only report. */
        if (rc == SYNCQ_EAUTH) {
            syncq_client_close(n);
            return rc;
        }
    }
    *out = n;
    return SYNCQ_OK;
}

void
syncq_client_close(syncq_client *c)
{
    if (c == NULL) {
        return;
    }
    sq_conn_destroy(c);
    for (int i = 0; i < SQ_SCRIPT__COUNT; i++) {
        sq_free(c->fixed_keys[i]);
    }
    memset(c->url.pass, 0, sizeof c->url.pass);
    memset(c->url.sentinel_pass, 0, sizeof c->url.sentinel_pass);
    sq_free(c->url_shown);
    syncq_config_free(c->cfg);
    sq_free(c);
}

const char *
syncq_client_url(const syncq_client *c)
{
    return c->url_shown;
}

const syncq_config *
syncq_client_config(const syncq_client *c)
{
    return c->cfg;
}

const char *
sq_key(const syncq_client *c, char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    size_t n = strlen(c->prefix);

    if (n >= cap) {
        buf[0] = '\0';
        return buf;
    }
    memcpy(buf, c->prefix, n);
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
    return buf;
}

/* Commands that change nothing: after a lost connection they may run
 * again on a new one (a write that may have reached Redis: never). */
static bool
is_read(const char *cmd, size_t n)
{
    static const char *const reads[] = {
        "GET", "MGET", "HGET", "HMGET", "HGETALL", "HLEN", "HEXISTS",
        "HSCAN", "EXISTS", "TYPE", "TTL", "PTTL", "LLEN", "LRANGE",
        "LINDEX", "SCARD", "SMEMBERS", "SISMEMBER", "SSCAN", "ZCARD",
        "ZCOUNT", "ZSCORE", "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE",
        "ZRANK", "ZSCAN", "SCAN", "XLEN", "XRANGE", "XREVRANGE", "XINFO",
        "TIME", "PING", "INFO", "DBSIZE", "STRLEN", "MEMORY", "OBJECT",
    };

    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        if (strlen(reads[i]) == n && strncasecmp(cmd, reads[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/* A reply came (or none): judge it. NULL reply: the connection is lost,
 * dropped here. An error reply is classified (broker_fault.c). */
static int
judge(syncq_client *c, redisReply *r, const char *what, redisReply **reply,
      syncq_error *err)
{
    int rc;

    if (r == NULL) {
        char why[160];
        rc = sq_fail(err, SYNCQ_ECONN, "Redis at %s: %s", c->url_shown,
                     io_reason(c, why, sizeof why));
        sq_fault_count_conn();
        sq_client_drop(c, c->rc->errstr);
        return rc;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rc = sq_fault_reply(c, r, what, err);
        freeReplyObject(r);
        return rc;
    }
    sq_fault_ok(c);
    *reply = r;
    return SYNCQ_OK;
}

bool
sq_client_may_resend(syncq_client *c, bool safe, const char *what)
{
    enum sq_conn_loss loss = sq_conn_loss(c);
    char op[40], q[100];

    if (loss == SQ_LOSS_NONE || c->fault.since_ms != 0 ||
        (loss == SQ_LOSS_SENT && !safe)) {
        return false;
    }
    snprintf(op, sizeof op, "%.*s", (int)strcspn(what, " "), what);
    SQ_INFO("broker.resend", "url=%s op=%s sent=%s why=%s", c->url_shown, op,
            loss == SQ_LOSS_SENT ? "maybe" : "no",
            sq_log_quote(c->drop_why, q, sizeof q));
    return true;
}

int
sq_client_cmdargv(syncq_client *c, int argc, const char **argv,
                  const size_t *lens, redisReply **reply, syncq_error *err)
{
    bool safe = argc > 0 && is_read(argv[0], lens != NULL ? lens[0]
                                                          : strlen(argv[0]));
    int rc;

    *reply = NULL;
    for (int tries = 0;; tries++) {
        rc = sq_client_ensure(c, false, NULL, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        rc = judge(c, sq_conn_command_argv(c, argc, argv, lens), argv[0],
                   reply, err);
        if (rc != SYNCQ_ECONN || tries > 0 ||
            !sq_client_may_resend(c, safe, argv[0])) {
            return rc;
        }
    }
}

int
sq_client_cmd(syncq_client *c, redisReply **reply, syncq_error *err,
              const char *fmt, ...)
{
    bool safe = is_read(fmt, strcspn(fmt, " "));
    va_list ap;
    int rc;

    *reply = NULL;
    for (int tries = 0;; tries++) {
        rc = sq_client_ensure(c, false, NULL, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        va_start(ap, fmt);
        rc = judge(c, sq_conn_vcommand(c, fmt, ap), fmt, reply, err);
        va_end(ap);
        if (rc != SYNCQ_ECONN || tries > 0 ||
            !sq_client_may_resend(c, safe, fmt)) {
            return rc;
        }
    }
}

int
sq_client_read_reply(syncq_client *c, redisReply **reply, syncq_error *err)
{
    void *r = NULL;

    *reply = NULL;
    if (c->rc == NULL) {
        return sq_fail(err, SYNCQ_ECONN, "Redis at %s: not connected",
                       c->url_shown);
    }
    if (sq_conn_get_reply(c, &r) != REDIS_OK || r == NULL) {
        return judge(c, NULL, "", reply, err);
    }
    *reply = r;
    return SYNCQ_OK;
}
