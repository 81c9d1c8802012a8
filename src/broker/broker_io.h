/* SPDX-License-Identifier: MIT
 *
 * broker_io.h: the connection layer under every syncq_client. hiredis
 * 0.14 formats commands and parses replies; this layer owns the socket
 * I/O so that a connection can be plain TCP, a unix socket or TLS
 * (OpenSSL, broker_tls.c), and so that the master can be found through
 * Sentinel (broker_sentinel.c), or the Redis Cluster node serving the
 * namespace's slot (broker_cluster.h). Callers use sq_conn_* instead of
 * redisCommand / redisAppendCommand / redisGetReply / redisBuffer* on
 * c->rc: those would write plain text to a TLS socket, and would bypass
 * two rules applied here for every command:
 *   - a READONLY error reply (the master was demoted by a failover) is
 *     turned into a connection error and noted as a transient fault
 *     (broker_fault.h: logged once, the one backoff), so the caller drops
 *     the connection and the reconnect after the backoff asks the
 *     sentinels for the new master;
 *   - with SYNCQ_BROKER_MIN_REPLICAS=N every enqueue/outcome script call
 *     is followed by WAIT N; its reply is only handed out once N replicas
 *     confirmed, otherwise the connection fails ("not acknowledged").
 * Return values follow hiredis (REDIS_OK / REDIS_ERR with c->rc->err and
 * c->rc->errstr set). Not thread-safe (one client, one thread).
 */
#ifndef SQ_BROKER_IO_H
#define SQ_BROKER_IO_H

#include <hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

struct ssl_st;
struct ssl_ctx_st;
struct sq_redis_url;

/* Transport state of one client (c->conn). */
struct sq_conn {
    /* settings (URL first, then SYNCQ_BROKER_TLS_* / _MIN_REPLICAS) */
    bool tls;
    int tls_verify;             /* 1: verify chain and name; 0: off */
    char ca_file[512];
    char ca_dir[512];
    char cert_file[512];
    char key_file[512];
    char server_name[256];      /* SNI / name checked, "" = the host */
    int min_replicas;
    int64_t min_replicas_timeout_ms;
    /* TLS */
    struct ssl_ctx_st *ctx;     /* built on the first TLS connect */
    struct ssl_st *ssl;         /* session of c->rc, NULL when plain */
    /* topology seen (status, monitor) */
    char host[256];             /* address in use ("" for unix) */
    int port;
    int failovers;              /* master address changes seen */
    int64_t last_failover_ms;   /* wall clock of the last one, 0: none */
    /* WAIT bookkeeping: one flag per command in flight */
    unsigned char *wq;
    size_t wq_head;
    size_t wq_len;
    size_t wq_cap;
    redisReply *stash;          /* script reply waiting for its WAIT */
    /* how the last command was lost (sq_conn_loss) */
    size_t tail_len;            /* bytes appended after it (its WAIT) */
    int loss;                   /* enum sq_conn_loss */
    bool not_run;               /* the last failure was a redirect: the
                                   command did not run (broker_cluster.c) */
    int64_t heard_us;           /* sq_mono_us() of the last reply read
                                   (sq_conn_closed_while_idle) */
    /* Redis Cluster (NULL for other URLs): slot map, redirects */
    struct sq_cluster *cl;
    /* cluster only: a copy of each command in flight (formatted bytes),
     * so a MOVED or ASK reply can be followed on another node */
    struct sq_cmd_copy *cq;
    size_t cq_head;
    size_t cq_len;
    size_t cq_cap;
};

/* One command as sent (hiredis's formatted bytes, owned). */
struct sq_cmd_copy {
    char *buf;
    size_t len;
    bool durable;               /* followed by WAIT (MIN_REPLICAS) */
};

/* How the last command sent with sq_conn_command* failed, for the
 * caller's decision to send it again on a fresh connection (issue 12
 * item 3). */
enum sq_conn_loss {
    SQ_LOSS_NONE,   /* no failure, or not a lost connection */
    SQ_LOSS_UNSENT, /* the write failed before its last byte left: Redis
                       cannot have run it (it runs whole commands only) */
    SQ_LOSS_SENT    /* lost after it was sent (a reset, an EOF, a
                       timeout): Redis may have run it */
};

/* Read the transport settings into a new c->conn (called when the client
 * is opened or cloned). Errors: SYNCQ_EINVAL (TLS options on a non-TLS
 * URL, unreadable file), SYNCQ_ENOMEM. */
int sq_conn_init(syncq_client *c, syncq_error *err);

/* Free c->conn (and the connection, if any). */
void sq_conn_destroy(syncq_client *c);

/* Connect c->rc: socket (the master from Sentinel for sentinel URLs),
 * then the TLS handshake for TLS URLs. Not authenticated yet.
 * Errors: SYNCQ_ECONN (unreachable), SYNCQ_EAUTH (the server's
 * certificate failed verification), SYNCQ_EINVAL (not a TLS server,
 * bad certificate or key file), SYNCQ_ENOTSUP (libssl missing),
 * SYNCQ_ENOMEM. Messages are one line and never hold a password. */
int sq_conn_open(syncq_client *c, syncq_error *err);

/* After AUTH: for sentinel URLs, check with ROLE that the server is a
 * master (SYNCQ_ECONN otherwise, so the reconnect asks again) and log a
 * failover when the address changed. No-op for other URLs. */
int sq_conn_check_role(syncq_client *c, syncq_error *err);

/* Close c->rc (and its TLS session); c->rc becomes NULL. */
void sq_conn_free(syncq_client *c);

/* True when the server closed (or reset) c->rc while it was idle: a
 * non-blocking peek sees the end of the stream (for TLS: a close_notify,
 * an EOF or a reset, after any pending handshake records such as session
 * tickets were consumed). A connection that answered less than
 * SQ_CONN_PEEK_IDLE_US ago is not idle and not peeked: a producer's
 * calls back to back pay no recv per call for it. Call only with nothing
 * in flight. */
bool sq_conn_closed_while_idle(syncq_client *c);

/* Why the last sq_conn_command* / sq_conn_get_reply call failed. Kept
 * after the connection is dropped; reset by the next command. */
enum sq_conn_loss sq_conn_loss(const syncq_client *c);

/* The hiredis calls, through the transport. */
int sq_conn_append_argv(syncq_client *c, int argc, const char **argv,
                        const size_t *lens);
int sq_conn_append(syncq_client *c, const char *fmt, ...);
int sq_conn_vappend(syncq_client *c, const char *fmt, va_list ap);
int sq_conn_buffer_write(syncq_client *c, int *done);
int sq_conn_buffer_read(syncq_client *c);
int sq_conn_reply_from_reader(syncq_client *c, void **reply);
int sq_conn_get_reply(syncq_client *c, void **reply);
redisReply *sq_conn_command_argv(syncq_client *c, int argc,
                                 const char **argv, const size_t *lens);
redisReply *sq_conn_command(syncq_client *c, const char *fmt, ...);
redisReply *sq_conn_vcommand(syncq_client *c, const char *fmt, va_list ap);

/* The topology in use, for status, monitor and /metrics: a new object
 * {transport: "tcp"|"tls"|"unix", tls: "TLSv1.3"|"off", tls_verify,
 *  master: "host:port" (for a cluster: the node serving the namespace's
 *  slot), sentinel_master (sentinel URLs), cluster (cluster URLs:
 *  broker_cluster.h sq_cluster_topology), failovers (master changes this
 *  process saw), last_failover_ms (wall clock, 0: none), min_replicas,
 *  replicas: [{addr, state, lag_s}]} (replicas from INFO replication,
 *  one more round trip; absent if refused).
 * Never holds a password. NULL on OOM or without a connection. */
struct json_t;
struct json_t *sq_conn_topology(syncq_client *c);

/* The same from an INFO reply the caller already has (`info`: the text of
 * INFO with its replication section, or NULL: no replicas member); sends
 * nothing. */
struct json_t *sq_conn_topology_info(syncq_client *c, const char *info);

/* ---- inside the layer (broker_tls.c, broker_sentinel.c) -------------- */

/* Build k->ctx if needed and run the handshake on rc's socket, checking
 * the certificate against `host` (or k->server_name). *ssl owned by the
 * caller (sq_tls_close). Errors as sq_conn_open. */
int sq_tls_handshake(struct sq_conn *k, redisContext *rc, const char *host,
                     int port, struct ssl_st **ssl, syncq_error *err);
void sq_tls_close(struct ssl_st *ssl);
void sq_tls_ctx_free(struct sq_conn *k);
int sq_tls_write(redisContext *rc, struct ssl_st *ssl, int *done);
int sq_tls_read(redisContext *rc, struct ssl_st *ssl);
/* sq_conn_closed_while_idle for a TLS session. */
bool sq_tls_closed_while_idle(redisContext *rc, struct ssl_st *ssl);
/* "TLSv1.3" or "off" for status. */
const char *sq_tls_version(const struct sq_conn *k);

/* One blocking command on a bare link (rc, ssl may be NULL). */
redisReply *sq_link_command_argv(redisContext *rc, struct ssl_st *ssl,
                                 int argc, const char **argv);

/* hiredis's redisGetReply over a bare link (rc, ssl may be NULL). */
int sq_link_get_reply(redisContext *rc, struct ssl_st *ssl, void **reply);

/* Ask the sentinels of url for the master's address. Errors: SYNCQ_ECONN
 * (no sentinel reachable / none knows the master), others as sq_conn_open
 * for sentinel+tls. */
int sq_sentinel_master(struct sq_conn *k, const struct sq_redis_url *url,
                       int64_t timeout_ms, char *host, size_t cap,
                       int *port, syncq_error *err);

/* argv as one RESP command (a multi-bulk array of bulk strings, the Redis
 * protocol spec's request form) in *out: the same bytes as hiredis's
 * redisFormatCommandArgv, made in one pass. hiredis appends each argument
 * with sdscatfmt, which was a tenth of a worker's instructions per task
 * (bench/worker_ir.sh); tests/unit/test_broker_resp.c and
 * fuzz/fuzz_resp_format.c compare the two byte for byte. lens[i] is the
 * length of argv[i], or lens is NULL and every argument is a C string.
 * Returns the length; *out is then owned by the caller (free() or
 * redisFreeCommand). Returns -1 with *out NULL when out of memory or the
 * command would pass INT_MAX bytes. Thread-safe (no shared state). */
int sq_resp_format_argv(char **out, int argc, const char **argv,
                        const size_t *lens);

#endif
