/* SPDX-License-Identifier: MIT
 *
 * broker_io.c: the connection layer of broker_io.h: opening (direct,
 * through Sentinel or to the Redis Cluster node of the namespace's slot,
 * plain or TLS), the I/O calls callers use instead of hiredis's, READONLY
 * as a connection loss, cluster redirects (broker_cluster.h), and WAIT
 * for SYNCQ_BROKER_MIN_REPLICAS after enqueue/outcome scripts.
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
#include <limits.h>
#include <sds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void
copy_setting(char *dst, size_t cap, const char *url_value,
             const syncq_config *cfg, const char *key)
{
    snprintf(dst, cap, "%s",
             url_value[0] != '\0' ? url_value : syncq_config_str(cfg, key));
}

int
sq_conn_init(syncq_client *c, syncq_error *err)
{
    struct sq_conn *k = sq_calloc(1, sizeof *k);
    const struct sq_redis_url *u = &c->url;

    if (k == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory opening client");
    }
    sq_conn_destroy(c);
    c->conn = k;
    k->tls = u->tls;
    k->tls_verify = u->tls_verify >= 0
                        ? u->tls_verify
                        : strcmp(syncq_config_str(c->cfg,
                                                  "SYNCQ_BROKER_TLS_VERIFY"),
                                 "none") != 0;
    copy_setting(k->ca_file, sizeof k->ca_file, u->ca_file, c->cfg,
                 "SYNCQ_BROKER_TLS_CA_FILE");
    copy_setting(k->ca_dir, sizeof k->ca_dir, "", c->cfg,
                 "SYNCQ_BROKER_TLS_CA_DIR");
    copy_setting(k->cert_file, sizeof k->cert_file, u->cert_file, c->cfg,
                 "SYNCQ_BROKER_TLS_CERT_FILE");
    copy_setting(k->key_file, sizeof k->key_file, u->key_file, c->cfg,
                 "SYNCQ_BROKER_TLS_KEY_FILE");
    copy_setting(k->server_name, sizeof k->server_name, "", c->cfg,
                 "SYNCQ_BROKER_TLS_SERVER_NAME");
    k->min_replicas = (int)syncq_config_int(c->cfg,
                                            "SYNCQ_BROKER_MIN_REPLICAS");
    k->min_replicas_timeout_ms =
        syncq_config_ms(c->cfg, "SYNCQ_BROKER_MIN_REPLICAS_TIMEOUT");
    if (c->url.user[0] == '\0') {
        snprintf(c->url.user, sizeof c->url.user, "%s",
                 syncq_config_str(c->cfg, "SYNCQ_BROKER_USERNAME"));
    }
    if (k->tls && k->key_file[0] != '\0' && k->cert_file[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL,
                       "SYNCQ_BROKER_TLS_KEY_FILE is set without "
                       "SYNCQ_BROKER_TLS_CERT_FILE");
    }
    return u->cluster ? sq_cluster_init(c, err) : SYNCQ_OK;
}

/* ---- cluster: copies of the commands in flight ------------------------ */

static void
cq_reset(struct sq_conn *k)
{
    while (k->cq_len > 0) {
        redisFreeCommand(k->cq[k->cq_head].buf);
        k->cq_head = (k->cq_head + 1) % k->cq_cap;
        k->cq_len--;
    }
    k->cq_head = 0;
}

/* Keep `buf` (len bytes, owned from now on) as the next command sent. */
static int
cq_push(struct sq_conn *k, char *buf, size_t len, bool durable)
{
    if (k->cq_len == k->cq_cap) {
        size_t ncap = k->cq_cap ? k->cq_cap * 2 : 16;
        struct sq_cmd_copy *n = sq_malloc(ncap * sizeof *n);
        if (n == NULL) {
            redisFreeCommand(buf);
            return REDIS_ERR;
        }
        for (size_t i = 0; i < k->cq_len; i++) {
            n[i] = k->cq[(k->cq_head + i) % k->cq_cap];
        }
        sq_free(k->cq);
        k->cq = n;
        k->cq_cap = ncap;
        k->cq_head = 0;
    }
    k->cq[(k->cq_head + k->cq_len) % k->cq_cap] =
        (struct sq_cmd_copy){buf, len, durable};
    k->cq_len++;
    return REDIS_OK;
}

/* "<type><n>\r\n" at s; returns the end. */
static char *
resp_header(char *s, char type, size_t n)
{
    char d[24];
    int k = 0;

    *s++ = type;
    do {
        d[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (k > 0) {
        *s++ = d[--k];
    }
    *s++ = '\r';
    *s++ = '\n';
    return s;
}

/* Length of argument i: lens[i], or strlen when lens is NULL (as
 * redisAppendCommandArgv takes it). */
static size_t
arg_len(const char **argv, const size_t *lens, int i)
{
    return lens != NULL ? lens[i] : strlen(argv[i]);
}

/* Declared in broker_io.h (why it is not hiredis's formatter, and how its
 * bytes are held equal to hiredis's). The memory is plain malloc, which
 * hiredis may free: append_formatted hands it to redisFreeCommand or the
 * cluster queue. */
int
sq_resp_format_argv(char **out, int argc, const char **argv,
                    const size_t *lens)
{
    size_t total = 24;
    char *cmd, *s;

    *out = NULL;
    for (int i = 0; i < argc; i++) {
        total += 24 + arg_len(argv, lens, i) + 2;
    }
    if (total > INT_MAX || (cmd = malloc(total)) == NULL) {
        return -1;
    }
    s = resp_header(cmd, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t n = arg_len(argv, lens, i);
        s = resp_header(s, '$', n);
        if (n > 0) {
            memcpy(s, argv[i], n);
        }
        s += n;
        *s++ = '\r';
        *s++ = '\n';
    }
    *out = cmd;
    return (int)(s - cmd);
}

/* Append a formatted command to c->rc; in cluster mode keep a copy. */
static int
append_formatted(syncq_client *c, char *cmd, int len, bool durable)
{
    struct sq_conn *k = c->conn;
    int rc;

    if (len < 0) {
        return REDIS_ERR;
    }
    rc = redisAppendFormattedCommand(c->rc, cmd, (size_t)len);
    if (rc != REDIS_OK || k == NULL || k->cl == NULL) {
        redisFreeCommand(cmd);
        return rc;
    }
    return cq_push(k, cmd, (size_t)len, durable);
}

static void
wq_reset(struct sq_conn *k)
{
    cq_reset(k);
    k->wq_head = 0;
    k->wq_len = 0;
    if (k->stash != NULL) {
        freeReplyObject(k->stash);
        k->stash = NULL;
    }
}

void
sq_conn_free(syncq_client *c)
{
    struct sq_conn *k = c->conn;

    if (k != NULL) {
        sq_tls_close(k->ssl);
        k->ssl = NULL;
        wq_reset(k);
    }
    if (c->rc != NULL) {
        redisFree(c->rc);
        c->rc = NULL;
    }
}

void
sq_conn_destroy(syncq_client *c)
{
    struct sq_conn *k = c->conn;

    sq_conn_free(c);
    if (k == NULL) {
        return;
    }
    sq_tls_ctx_free(k);
    sq_cluster_free(k->cl);
    sq_free(k->cq);
    sq_free(k->wq);
    sq_free(k);
    c->conn = NULL;
}

static struct timeval
tv_of(int64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

/* The master in use is host:port: a change is a failover (Sentinel
 * named another master; the cluster map named another master of our
 * slot after a lost connection) or, for a cluster slot a MOVED reply
 * pointed at (`moved`), a slot move (a reshard, or a failover seen
 * through a node's redirect). Logged once per change. */
static void
note_master(syncq_client *c, const char *host, int port, bool moved)
{
    struct sq_conn *k = c->conn;

    if (k->host[0] != '\0' && (strcmp(k->host, host) != 0 ||
                               k->port != port)) {
        if (moved) {
            k->cl->slot_moves++;
            SQ_WARN("broker.slot_moved", "slot=%d namespace=%s "
                    "previous=%s:%d addr=%s:%d", k->cl->slot, k->cl->tag,
                    k->host, k->port, host, port);
        } else if (c->url.sentinel || k->cl != NULL) {
            k->failovers++;
            k->last_failover_ms = sq_now_ms();
            if (k->cl != NULL) {
                SQ_WARN("broker.failover", "cluster_slot=%d previous=%s:%d "
                        "addr=%s:%d", k->cl->slot, k->host, k->port, host,
                        port);
            } else {
                SQ_WARN("broker.failover", "master=%s previous=%s:%d "
                        "addr=%s:%d", c->url.master, k->host, k->port, host,
                        port);
            }
        }
    }
    snprintf(k->host, sizeof k->host, "%s", host);
    k->port = port;
}

int
sq_conn_open(syncq_client *c, syncq_error *err)
{
    struct sq_conn *k = c->conn;
    struct timeval tv = tv_of(c->timeout_ms);
    char host[256];
    int port = c->url.port;
    redisContext *rc;
    bool moved = false;
    int rc2 = SYNCQ_OK;

    sq_conn_free(c);
    snprintf(host, sizeof host, "%s", c->url.host);
    if (c->url.sentinel) {
        rc2 = sq_sentinel_master(k, &c->url, c->timeout_ms, host,
                                 sizeof host, &port, err);
    } else if (k->cl != NULL) {
        rc2 = sq_cluster_locate(c, host, sizeof host, &port, &moved, err);
    }
    if (rc2 != SYNCQ_OK) {
        return rc2;
    }
    if (c->url.is_unix) {
        rc = redisConnectUnixWithTimeout(c->url.path, tv);
    } else {
        rc = redisConnectWithTimeout(host, port, tv);
    }
    if (rc == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory connecting");
    }
    if (rc->err && k->cl != NULL) {
        rc2 = sq_fail(err, SYNCQ_ECONN, "Redis Cluster node %s:%d (slot %d "
                      "of namespace '%s') unreachable: %s", host, port,
                      k->cl->slot, k->cl->tag, rc->errstr);
        redisFree(rc);
        return rc2;
    }
    if (rc->err) {
        rc2 = sq_fail(err, SYNCQ_ECONN, "Redis at %s unreachable: %s",
                      c->url_shown, rc->errstr);
        redisFree(rc);
        return rc2;
    }
    if (k->min_replicas > 0) {
        /* A WAIT may block for its own timeout: reads must outlast it. */
        tv = tv_of(c->timeout_ms + k->min_replicas_timeout_ms);
    }
    redisSetTimeout(rc, tv);
    if (!c->url.is_unix) {
        redisEnableKeepAlive(rc);
    }
    if (k->tls) {
        rc2 = sq_tls_handshake(k, rc, host, port, &k->ssl, err);
        if (rc2 != SYNCQ_OK) {
            redisFree(rc);
            return rc2;
        }
    }
    c->rc = rc;
    note_master(c, host, port, moved);
    return SYNCQ_OK;
}

int
sq_conn_check_role(syncq_client *c, syncq_error *err)
{
    const char *argv[1] = {"ROLE"};
    redisReply *r;
    int rc = SYNCQ_OK;

    if (!c->url.sentinel) {
        return SYNCQ_OK;
    }
    r = sq_conn_command_argv(c, 1, argv, NULL);
    if (r == NULL) {
        return sq_fail(err, SYNCQ_ECONN, "Redis at %s:%d: %s", c->conn->host,
                       c->conn->port, c->rc->errstr);
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "master") != 0) {
        rc = sq_fail(err, SYNCQ_ECONN,
                     "Redis at %s:%d, named master '%s' by Sentinel, is not "
                     "a master (ROLE says %s); asking again",
                     c->conn->host, c->conn->port, c->url.master,
                     r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                             r->element[0]->type == REDIS_REPLY_STRING
                         ? r->element[0]->str
                         : "?");
    }
    freeReplyObject(r);
    return rc;
}

/* ---- I/O -------------------------------------------------------------- */

/* A restart or a CLIENT KILL within a millisecond of the connection's
 * last answer is not seen before the call (the peek never closed that
 * race either: Redis may close it right after the peek); it shows as a
 * lost connection on the call itself. */
#define SQ_CONN_PEEK_IDLE_US 1000

bool
sq_conn_closed_while_idle(syncq_client *c)
{
    char b;
    ssize_t n;

    if (c->conn != NULL && c->conn->heard_us != 0 &&
        sq_mono_us() - c->conn->heard_us < SQ_CONN_PEEK_IDLE_US) {
        return false;
    }
    if (c->conn != NULL && c->conn->ssl != NULL) {
        return sq_tls_closed_while_idle(c->rc, c->conn->ssl);
    }
    n = recv(c->rc->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        return true;
    }
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
           errno != EINTR;
}

static int
link_write(redisContext *rc, struct ssl_st *ssl, int *done)
{
    return ssl != NULL ? sq_tls_write(rc, ssl, done)
                       : redisBufferWrite(rc, done);
}

static int
link_read(redisContext *rc, struct ssl_st *ssl)
{
    return ssl != NULL ? sq_tls_read(rc, ssl) : redisBufferRead(rc);
}

/* redisGetReply of hiredis 0.14, over link_write/link_read. */
int
sq_link_get_reply(redisContext *rc, struct ssl_st *ssl, void **reply)
{
    void *aux = NULL;
    int done = 0;

    if (redisGetReplyFromReader(rc, &aux) != REDIS_OK) {
        return REDIS_ERR;
    }
    if (aux == NULL) {
        do {
            if (link_write(rc, ssl, &done) != REDIS_OK) {
                return REDIS_ERR;
            }
        } while (!done);
        do {
            if (link_read(rc, ssl) != REDIS_OK ||
                redisGetReplyFromReader(rc, &aux) != REDIS_OK) {
                return REDIS_ERR;
            }
        } while (aux == NULL);
    }
    *reply = aux;
    return REDIS_OK;
}

redisReply *
sq_link_command_argv(redisContext *rc, struct ssl_st *ssl, int argc,
                     const char **argv)
{
    void *r = NULL;

    if (redisAppendCommandArgv(rc, argc, argv, NULL) != REDIS_OK ||
        sq_link_get_reply(rc, ssl, &r) != REDIS_OK) {
        return NULL;
    }
    return r;
}


/* READONLY: this server became a replica (a failover). Every reply of
 * every caller, pipelined or not, passes here: it becomes a lost
 * connection, so the caller drops it, and a transient fault
 * (broker_fault.c: logged once, counted, the one backoff), so the
 * reconnect after the backoff asks the sentinels for the new master. */
static int
check_readonly(syncq_client *c, void **reply)
{
    redisReply *r = *reply;
    int64_t wait;

    /* Plain commands answer "READONLY ..."; a script's write wraps it
     * ("ERR ... -READONLY You can't write against a read only replica"). */
    if (r != NULL && r->type == REDIS_REPLY_ERROR &&
        (strncmp(r->str, "READONLY", 8) == 0 ||
         strstr(r->str, "READONLY You can't write") != NULL)) {
        wait = sq_fault_note_transient(c, "READONLY You can't write against "
                                          "a read only replica",
                                       "reply");
        freeReplyObject(r);
        *reply = NULL;
        c->rc->err = REDIS_ERR_IO;
        snprintf(c->rc->errstr, sizeof c->rc->errstr,
                 "server became a replica (READONLY: failover); retrying "
                 "in %lld ms",
                 (long long)wait);
        return REDIS_ERR;
    }
    return REDIS_OK;
}

/* Scripts whose effect must be on SYNCQ_BROKER_MIN_REPLICAS replicas
 * before the caller may report it: enqueues and outcomes. */
static bool
is_durable(const syncq_client *c, int argc, const char **argv)
{
    static const enum sq_script_id ids[] = {
        SQ_SCRIPT_ENQUEUE,       SQ_SCRIPT_SETTLE, SQ_SCRIPT_BATCH,
        SQ_SCRIPT_REVOKE,        SQ_SCRIPT_RESUME, SQ_SCRIPT_SCHEDULE_TICK,
        SQ_SCRIPT_BATCH_DISPATCH};

    if (argc < 2) {
        return false;
    }
    if (strcasecmp(argv[0], "EVAL") == 0) {
        return true; /* the NOSCRIPT fallback: rare, assume a write */
    }
    if (strcasecmp(argv[0], "FCALL") == 0) {
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            if (strcmp(argv[1], sq_script_fname(ids[i])) == 0) {
                return true;
            }
        }
        return false;
    }
    if (strcasecmp(argv[0], "EVALSHA") != 0) {
        return false;
    }
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (strncmp(argv[1], c->sha[ids[i]], 40) == 0) {
            return true;
        }
    }
    return false;
}

static int
wq_push(struct sq_conn *k, unsigned char flag)
{
    if (k->wq_len == k->wq_cap) {
        size_t ncap = k->wq_cap ? k->wq_cap * 2 : 64;
        unsigned char *n = sq_malloc(ncap);
        if (n == NULL) {
            return REDIS_ERR;
        }
        for (size_t i = 0; i < k->wq_len; i++) {
            n[i] = k->wq[(k->wq_head + i) % k->wq_cap];
        }
        sq_free(k->wq);
        k->wq = n;
        k->wq_cap = ncap;
        k->wq_head = 0;
    }
    k->wq[(k->wq_head + k->wq_len) % k->wq_cap] = flag;
    k->wq_len++;
    return REDIS_OK;
}

static unsigned char
wq_pop(struct sq_conn *k)
{
    unsigned char f;

    if (k->wq_len == 0) {
        return 0;
    }
    f = k->wq[k->wq_head];
    k->wq_head = (k->wq_head + 1) % k->wq_cap;
    k->wq_len--;
    return f;
}

int
sq_conn_append_argv(syncq_client *c, int argc, const char **argv,
                    const size_t *lens)
{
    struct sq_conn *k = c->conn;
    bool durable;
    char n[16];
    char ms[24];
    const char *wait[3] = {"WAIT", n, ms};

    durable = k != NULL && k->min_replicas > 0 && is_durable(c, argc, argv);
    {
        char *cmd = NULL;
        int len = sq_resp_format_argv(&cmd, argc, argv, lens);
        if (append_formatted(c, cmd, len, durable) != REDIS_OK) {
            return REDIS_ERR;
        }
    }
    if (k != NULL) {
        k->tail_len = 0;
    }
    if (k == NULL || k->min_replicas <= 0) {
        return REDIS_OK;
    }
    if (wq_push(k, durable) != REDIS_OK) {
        return REDIS_ERR;
    }
    if (!durable) {
        return REDIS_OK;
    }
    snprintf(n, sizeof n, "%d", k->min_replicas);
    snprintf(ms, sizeof ms, "%lld", (long long)k->min_replicas_timeout_ms);
    {
        size_t before = sdslen(c->rc->obuf);
        if (redisAppendCommandArgv(c->rc, 3, wait, NULL) != REDIS_OK) {
            return REDIS_ERR;
        }
        k->tail_len = sdslen(c->rc->obuf) - before;
    }
    return REDIS_OK;
}

int
sq_conn_vappend(syncq_client *c, const char *fmt, va_list ap)
{
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    int rc;

    /* Formatted commands are never scripts: only the flag is recorded. */
    rc = append_formatted(c, cmd, len, false);
    if (c->conn != NULL) {
        c->conn->tail_len = 0;
    }
    if (rc == REDIS_OK && c->conn != NULL && c->conn->min_replicas > 0) {
        rc = wq_push(c->conn, 0);
    }
    return rc;
}

int
sq_conn_append(syncq_client *c, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sq_conn_vappend(c, fmt, ap);
    va_end(ap);
    return rc;
}

int
sq_conn_buffer_write(syncq_client *c, int *done)
{
    return link_write(c->rc, c->conn ? c->conn->ssl : NULL, done);
}

int
sq_conn_buffer_read(syncq_client *c)
{
    return link_read(c->rc, c->conn ? c->conn->ssl : NULL);
}

/* The reply of a durable script, once its WAIT reply is there too. */
static int
durable_reply(syncq_client *c, void **reply)
{
    struct sq_conn *k = c->conn;
    redisReply *w = NULL;
    redisReply *s;

    if (redisGetReplyFromReader(c->rc, (void **)&w) != REDIS_OK) {
        return REDIS_ERR;
    }
    if (w == NULL) {
        return REDIS_OK; /* WAIT still running */
    }
    s = k->stash;
    k->stash = NULL;
    if (s->type != REDIS_REPLY_ERROR &&
        (w->type != REDIS_REPLY_INTEGER || w->integer < k->min_replicas)) {
        long long got = w->type == REDIS_REPLY_INTEGER ? w->integer : -1;
        freeReplyObject(s);
        freeReplyObject(w);
        c->rc->err = REDIS_ERR_IO;
        snprintf(c->rc->errstr, sizeof c->rc->errstr,
                 "not acknowledged: %lld of %d replica(s) confirmed within "
                 "%lld ms (SYNCQ_BROKER_MIN_REPLICAS)",
                 got, k->min_replicas, (long long)k->min_replicas_timeout_ms);
        return REDIS_ERR;
    }
    freeReplyObject(w);
    *reply = s;
    return REDIS_OK;
}

/* Every reply to a command (not to its WAIT) passes here once: READONLY,
 * then the cluster's redirects with the command's copy. */
static int
judge_reply(syncq_client *c, void **reply)
{
    struct sq_conn *k = c->conn;
    struct sq_cmd_copy cmd = {NULL, 0, false};
    int rc;

    if (*reply == NULL) {
        return REDIS_OK;
    }
    if (k != NULL && k->cl != NULL && k->cq_len > 0) {
        cmd = k->cq[k->cq_head];
        k->cq_head = (k->cq_head + 1) % k->cq_cap;
        k->cq_len--;
    }
    rc = check_readonly(c, reply);
    if (rc == REDIS_OK && k != NULL && k->cl != NULL) {
        rc = sq_cluster_check_reply(c, (redisReply **)reply,
                                    cmd.buf != NULL ? &cmd : NULL);
    }
    redisFreeCommand(cmd.buf);
    return rc;
}

int
sq_conn_reply_from_reader(syncq_client *c, void **reply)
{
    struct sq_conn *k = c->conn;

    *reply = NULL;
    if (k == NULL || k->min_replicas <= 0 || k->stash == NULL) {
        void *r = NULL;
        if (redisGetReplyFromReader(c->rc, &r) != REDIS_OK) {
            return REDIS_ERR;
        }
        if (r == NULL) {
            return REDIS_OK;
        }
        if (k != NULL) {
            /* heard from: not peeked for a close before the next call
             * (a worker's asynchronous rounds read their replies here) */
            k->heard_us = sq_mono_us();
        }
        if (k == NULL || k->min_replicas <= 0 || !wq_pop(k)) {
            *reply = r;
            return judge_reply(c, reply);
        }
        k->stash = r;
    }
    if (durable_reply(c, reply) != REDIS_OK) {
        return REDIS_ERR;
    }
    return judge_reply(c, reply);
}

enum sq_conn_loss
sq_conn_loss(const syncq_client *c)
{
    return c->conn != NULL ? (enum sq_conn_loss)c->conn->loss : SQ_LOSS_NONE;
}

/* A lost connection while the buffer was written: the last command is
 * unsent while more of the buffer than what follows it (its WAIT) is
 * still there, i.e. its own last byte never left. */
static void
note_loss(syncq_client *c, bool writing)
{
    struct sq_conn *k = c->conn;

    if (k == NULL || (c->rc->err != REDIS_ERR_IO &&
                      c->rc->err != REDIS_ERR_EOF)) {
        return; /* a protocol or memory error, not a lost connection */
    }
    k->loss = (writing && sdslen(c->rc->obuf) > k->tail_len) || k->not_run
                  ? SQ_LOSS_UNSENT
                  : SQ_LOSS_SENT;
}

int
sq_conn_get_reply(syncq_client *c, void **reply)
{
    int done = 0;

    if (c->conn != NULL) {
        c->conn->loss = SQ_LOSS_NONE;
        c->conn->not_run = false;
    }
    if (sq_conn_reply_from_reader(c, reply) != REDIS_OK) {
        note_loss(c, false);
        return REDIS_ERR;
    }
    if (*reply != NULL) {
        return REDIS_OK;
    }
    do {
        if (sq_conn_buffer_write(c, &done) != REDIS_OK) {
            note_loss(c, true);
            return REDIS_ERR;
        }
    } while (!done);
    do {
        if (sq_conn_buffer_read(c) != REDIS_OK ||
            sq_conn_reply_from_reader(c, reply) != REDIS_OK) {
            note_loss(c, false);
            return REDIS_ERR;
        }
    } while (*reply == NULL);
    return REDIS_OK;
}

redisReply *
sq_conn_command_argv(syncq_client *c, int argc, const char **argv,
                     const size_t *lens)
{
    void *r = NULL;

    if (sq_conn_append_argv(c, argc, argv, lens) != REDIS_OK ||
        sq_conn_get_reply(c, &r) != REDIS_OK) {
        return NULL;
    }
    return r;
}

redisReply *
sq_conn_vcommand(syncq_client *c, const char *fmt, va_list ap)
{
    void *r = NULL;

    if (sq_conn_vappend(c, fmt, ap) != REDIS_OK ||
        sq_conn_get_reply(c, &r) != REDIS_OK) {
        return NULL;
    }
    return r;
}

redisReply *
sq_conn_command(syncq_client *c, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = sq_conn_vcommand(c, fmt, ap);
    va_end(ap);
    return r;
}
