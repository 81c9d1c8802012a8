/* SPDX-License-Identifier: MIT
 *
 * broker_tls.c: the TLS transport of the connection layer (broker_io.h)
 * on OpenSSL's libssl, loaded on first use (sq_lazy_ssl.h). hiredis keeps
 * formatting commands into rc->obuf and parsing replies from rc->reader;
 * SSL_write drains obuf and SSL_read feeds the reader, the same contract
 * as redisBufferWrite / redisBufferRead on a blocking socket (whose
 * SO_RCVTIMEO/SO_SNDTIMEO hiredis set: a timeout surfaces as an error).
 *
 * Verification is on unless SYNCQ_BROKER_TLS_VERIFY=none or the URL says
 * ssl_cert_reqs=none: chain to the system store or the given CA, and the
 * certificate must name the host (DNS name, or IP address SAN for an
 * address). A handshake failure is one line naming the cause.
 */
#include "broker/broker_io.h"
#include "sq_error.h"
#include "core/sq_lazy_ssl.h"
#include "core/sq_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sds.h>
#include <stdio.h>
#include <string.h>

/* The first queued OpenSSL error as text, or `dflt`. Clears the queue. */
static const char *
ssl_errstr(char *buf, size_t cap, const char *dflt)
{
    unsigned long e = ERR_get_error();

    if (e == 0) {
        snprintf(buf, cap, "%s", dflt);
    } else {
        ERR_error_string_n(e, buf, cap);
    }
    ERR_clear_error();
    return buf;
}

static int
ctx_files(struct sq_conn *k, syncq_error *err)
{
    char e[256];

    if (k->tls_verify) {
        int ok;
        if (k->ca_file[0] != '\0' || k->ca_dir[0] != '\0') {
            ok = SSL_CTX_load_verify_locations(
                k->ctx, k->ca_file[0] ? k->ca_file : NULL,
                k->ca_dir[0] ? k->ca_dir : NULL);
        } else {
            ok = SSL_CTX_set_default_verify_paths(k->ctx);
        }
        if (ok != 1) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "TLS: cannot load the CA certificates %s%s: %s",
                           k->ca_file[0] ? k->ca_file : k->ca_dir,
                           k->ca_file[0] || k->ca_dir[0] ? "" : "(system)",
                           ssl_errstr(e, sizeof e, "unreadable"));
        }
        SSL_CTX_set_verify(k->ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(k->ctx, SSL_VERIFY_NONE, NULL);
    }
    if (k->cert_file[0] != '\0' &&
        (SSL_CTX_use_certificate_chain_file(k->ctx, k->cert_file) != 1 ||
         SSL_CTX_use_PrivateKey_file(k->ctx, k->key_file[0] ? k->key_file
                                                           : k->cert_file,
                                     SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(k->ctx) != 1)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "TLS: cannot use client certificate %s with key %s: "
                       "%s",
                       k->cert_file, k->key_file[0] ? k->key_file
                                                    : k->cert_file,
                       ssl_errstr(e, sizeof e, "unreadable"));
    }
    return SYNCQ_OK;
}

/* The session whose server asked for a client certificate we do not
 * have. With TLS 1.3 a server that requires one only says so after the
 * handshake, by dropping the connection at the first command: this lets
 * that error name the cause. */
static __thread SSL *cert_wanted;

static int
no_client_cert(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    (void)x509;
    (void)pkey;
    cert_wanted = ssl;
    return 0;
}

static int
ctx_build(struct sq_conn *k, syncq_error *err)
{
    int rc = sq_lazy_ssl_load(err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    k->ctx = SSL_CTX_new(TLS_client_method());
    if (k->ctx == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "TLS: out of memory");
    }
    SSL_CTX_ctrl(k->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION,
                 NULL);
    rc = ctx_files(k, err);
    if (k->cert_file[0] == '\0') {
        SSL_CTX_set_client_cert_cb(k->ctx, no_client_cert);
    }
    if (rc != SYNCQ_OK) {
        SSL_CTX_free(k->ctx);
        k->ctx = NULL;
    }
    return rc;
}

void
sq_tls_ctx_free(struct sq_conn *k)
{
    if (k->ctx != NULL) {
        SSL_CTX_free(k->ctx);
        k->ctx = NULL;
    }
}

/* Name checks: an address literal is matched against IP SANs, a name
 * against DNS names; SNI only for names (RFC 6066 forbids addresses). */
static int
set_peer_name(SSL *ssl, const char *name, bool verify)
{
    unsigned char tmp[16];
    bool is_ip = inet_pton(AF_INET, name, tmp) == 1 ||
                 inet_pton(AF_INET6, name, tmp) == 1;

    if (!is_ip) {
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
                 TLSEXT_NAMETYPE_host_name, (void *)name);
    }
    if (!verify) {
        return 1;
    }
    return is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
                 : X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), name, 0);
}

/* The one-line reason of a failed SSL_connect. */
static int
handshake_error(SSL *ssl, int ret, const char *where, syncq_error *err)
{
    long v = SSL_get_verify_result(ssl);
    char e[256];
    const char *why;

    if (v != X509_V_OK) {
        const char *hint = "";
        if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
            v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
            hint = " (the certificate does not name this host; see "
                   "SYNCQ_BROKER_TLS_SERVER_NAME)";
        } else if (v == X509_V_ERR_CERT_HAS_EXPIRED) {
            hint = " (renew the server certificate)";
        } else {
            hint = " (trust its CA with SYNCQ_BROKER_TLS_CA_FILE)";
        }
        ERR_clear_error();
        return sq_fail(err, SYNCQ_EAUTH,
                       "TLS handshake with %s failed: certificate verify "
                       "failed: %s%s",
                       where, X509_verify_cert_error_string(v), hint);
    }
    why = ssl_errstr(e, sizeof e, "");
    if (strstr(why, "wrong version number") != NULL ||
        strstr(why, "packet length too long") != NULL ||
        strstr(why, "record layer failure") != NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "TLS handshake with %s failed: the server does not "
                       "speak TLS on this port (a plain-text Redis? use "
                       "redis:// for it)",
                       where);
    }
    if (why[0] == '\0') {
        int se = SSL_get_error(ssl, ret);
        why = se == SSL_ERROR_SYSCALL && errno == 0
                  ? "the server closed the connection (does it speak TLS, "
                    "and does it require a client certificate?)"
                  : (errno == EAGAIN
                         ? "no TLS answer before SYNCQ_REDIS_TIMEOUT (a "
                           "plain-text Redis on this port? use redis:// for "
                           "it)"
                         : strerror(errno));
    }
    return sq_fail(err, SYNCQ_ECONN, "TLS handshake with %s failed: %s",
                   where, why);
}

int
sq_tls_handshake(struct sq_conn *k, redisContext *rc, const char *host,
                 int port, SSL **out, syncq_error *err)
{
    const char *name = k->server_name[0] ? k->server_name : host;
    char where[300];
    SSL *ssl;
    int ret;

    *out = NULL;
    snprintf(where, sizeof where, "%s:%d", host, port);
    if (k->ctx == NULL) {
        int rc2 = ctx_build(k, err);
        if (rc2 != SYNCQ_OK) {
            return rc2;
        }
    }
    ssl = SSL_new(k->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, rc->fd) != 1 ||
        set_peer_name(ssl, name, k->tls_verify != 0) != 1) {
        sq_tls_close(ssl);
        return sq_fail(err, SYNCQ_ENOMEM, "TLS: out of memory");
    }
    ERR_clear_error();
    errno = 0;
    cert_wanted = NULL;
    ret = SSL_connect(ssl);
    if (ret != 1) {
        int rc2 = handshake_error(ssl, ret, where, err);
        SSL_free(ssl);
        return rc2;
    }
    if (!k->tls_verify) {
        SQ_WARN("broker.tls_unverified",
                "addr=%s why=\"SYNCQ_BROKER_TLS_VERIFY=none: the server's "
                "certificate is NOT checked; anyone on the path can read "
                "and change the traffic\"",
                where);
    }
    *out = ssl;
    return SYNCQ_OK;
}

void
sq_tls_close(SSL *ssl)
{
    if (ssl != NULL) {
        SSL_free(ssl);
    }
}

const char *
sq_tls_version(const struct sq_conn *k)
{
    return k->ssl != NULL ? SSL_get_version(k->ssl) : "off";
}

/* Mark the hiredis context broken the way hiredis itself would. */
static int
io_error(redisContext *rc, SSL *ssl, int ret, const char *what)
{
    int se = SSL_get_error(ssl, ret);
    char e[128];

    rc->err = REDIS_ERR_IO;
    if (se == SSL_ERROR_ZERO_RETURN || (se == SSL_ERROR_SYSCALL &&
                                        errno == 0)) {
        rc->err = REDIS_ERR_EOF;
        snprintf(rc->errstr, sizeof rc->errstr, "Server closed the "
                                                "connection");
    } else if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE ||
               errno == EAGAIN) {
        snprintf(rc->errstr, sizeof rc->errstr, "%s: %s", what,
                 "Resource temporarily unavailable (timeout)");
    } else if (se == SSL_ERROR_SYSCALL) {
        snprintf(rc->errstr, sizeof rc->errstr, "%s: %s", what,
                 strerror(errno));
    } else {
        snprintf(rc->errstr, sizeof rc->errstr, "TLS %s: %s", what,
                 ssl_errstr(e, sizeof e, "protocol error"));
    }
    if (ssl == cert_wanted) {
        snprintf(rc->errstr, sizeof rc->errstr,
                 "TLS session refused by the server after it asked for a "
                 "client certificate (set SYNCQ_BROKER_TLS_CERT_FILE and "
                 "_KEY_FILE)");
    }
    ERR_clear_error();
    return REDIS_ERR;
}

int
sq_tls_write(redisContext *rc, SSL *ssl, int *done)
{
    size_t len;

    if (rc->err) {
        return REDIS_ERR;
    }
    len = sdslen(rc->obuf);
    if (len > 0) {
        int n;
        errno = 0;
        n = SSL_write(ssl, rc->obuf, len > 1 << 30 ? 1 << 30 : (int)len);
        if (n <= 0) {
            return io_error(rc, ssl, n, "write");
        }
        if ((size_t)n == len) {
            sdsfree(rc->obuf);
            rc->obuf = sdsempty();
            if (rc->obuf == NULL) {
                rc->err = REDIS_ERR_OOM;
                snprintf(rc->errstr, sizeof rc->errstr, "Out of memory");
                return REDIS_ERR;
            }
        } else {
            sdsrange(rc->obuf, n, -1);
        }
    }
    if (done != NULL) {
        *done = sdslen(rc->obuf) == 0;
    }
    return REDIS_OK;
}

/* Raw bytes on an idle TLS connection are not data: they are a session
 * ticket (TLS 1.3 sends them after the handshake) or the server's
 * close_notify. A non-blocking SSL_peek consumes the first and reports
 * the second; the socket goes back to blocking (hiredis's mode). */
bool
sq_tls_closed_while_idle(redisContext *rc, SSL *ssl)
{
    int fl = fcntl(rc->fd, F_GETFL);
    char b;
    int n;
    int se;

    if (fl < 0 || fcntl(rc->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return false; /* cannot tell: the call finds out */
    }
    ERR_clear_error();
    errno = 0;
    n = SSL_peek(ssl, &b, 1);
    se = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, n);
    if (se == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EINTR)) {
        se = SSL_ERROR_WANT_READ;
    }
    ERR_clear_error();
    fcntl(rc->fd, F_SETFL, fl);
    return se == SSL_ERROR_ZERO_RETURN || se == SSL_ERROR_SYSCALL ||
           se == SSL_ERROR_SSL;
}

/* Read one record and everything OpenSSL already decrypted, so no reply
 * hides in its buffer while the caller polls the socket. */
int
sq_tls_read(redisContext *rc, SSL *ssl)
{
    char buf[16384];
    int n;

    if (rc->err) {
        return REDIS_ERR;
    }
    do {
        errno = 0;
        n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) {
            return io_error(rc, ssl, n, "read");
        }
        if (redisReaderFeed(rc->reader, buf, (size_t)n) != REDIS_OK) {
            rc->err = rc->reader->err;
            snprintf(rc->errstr, sizeof rc->errstr, "%s", rc->reader->errstr);
            return REDIS_ERR;
        }
    } while (SSL_pending(ssl) > 0);
    return REDIS_OK;
}
