/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_ssl.h: OpenSSL's libssl loaded on first use (see sq_lazy.h and
 * sq_lazy_crypto.h): only a process whose broker URL is rediss:// or
 * sentinel+tls:// maps it. Include after <openssl/ssl.h>. Code must call
 * sq_lazy_ssl_load() (clear error when libssl is missing) before the
 * first call; the table is filled once (pthread_once), thread-safe.
 * The few libcrypto functions the TLS transport needs (error queue,
 * verification messages) are resolved through libssl's handle, which
 * depends on libcrypto.
 */
#ifndef SQ_LAZY_SSL_H
#define SQ_LAZY_SSL_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <syncq/error.h>

#define SQ_SSL_FUNCS(X) \
    X(TLS_client_method) \
    X(SSL_CTX_new) \
    X(SSL_CTX_free) \
    X(SSL_CTX_set_verify) \
    X(SSL_CTX_set_default_verify_paths) \
    X(SSL_CTX_load_verify_locations) \
    X(SSL_CTX_use_certificate_chain_file) \
    X(SSL_CTX_use_PrivateKey_file) \
    X(SSL_CTX_check_private_key) \
    X(SSL_CTX_ctrl) \
    X(SSL_CTX_set_client_cert_cb) \
    X(SSL_new) \
    X(SSL_free) \
    X(SSL_set_fd) \
    X(SSL_ctrl) \
    X(SSL_get0_param) \
    X(SSL_connect) \
    X(SSL_read) \
    X(SSL_peek) \
    X(SSL_write) \
    X(SSL_pending) \
    X(SSL_get_error) \
    X(SSL_get_verify_result) \
    X(SSL_get_version) \
    X(X509_VERIFY_PARAM_set1_host) \
    X(X509_VERIFY_PARAM_set1_ip_asc) \
    X(X509_verify_cert_error_string) \
    X(ERR_get_error) \
    X(ERR_error_string_n) \
    X(ERR_clear_error)

struct sq_ssl_api {
#define SQ_X(f) __typeof__(&f) f;
    SQ_SSL_FUNCS(SQ_X)
#undef SQ_X
};

/* The table; valid after sq_lazy_ssl_load() returned SYNCQ_OK. */
extern struct sq_ssl_api sq_ssl_api;

/* Load libssl now; SYNCQ_OK or SYNCQ_ENOTSUP naming the package. */
int sq_lazy_ssl_load(syncq_error *err);

#ifndef SQ_LAZY_IMPL
#define TLS_client_method (*sq_ssl_api.TLS_client_method)
#define SSL_CTX_new (*sq_ssl_api.SSL_CTX_new)
#define SSL_CTX_free (*sq_ssl_api.SSL_CTX_free)
#define SSL_CTX_set_verify (*sq_ssl_api.SSL_CTX_set_verify)
#define SSL_CTX_set_default_verify_paths \
    (*sq_ssl_api.SSL_CTX_set_default_verify_paths)
#define SSL_CTX_load_verify_locations \
    (*sq_ssl_api.SSL_CTX_load_verify_locations)
#define SSL_CTX_use_certificate_chain_file \
    (*sq_ssl_api.SSL_CTX_use_certificate_chain_file)
#define SSL_CTX_use_PrivateKey_file (*sq_ssl_api.SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_check_private_key (*sq_ssl_api.SSL_CTX_check_private_key)
#define SSL_CTX_ctrl (*sq_ssl_api.SSL_CTX_ctrl)
#define SSL_CTX_set_client_cert_cb (*sq_ssl_api.SSL_CTX_set_client_cert_cb)
#define SSL_new (*sq_ssl_api.SSL_new)
#define SSL_free (*sq_ssl_api.SSL_free)
#define SSL_set_fd (*sq_ssl_api.SSL_set_fd)
#define SSL_ctrl (*sq_ssl_api.SSL_ctrl)
#define SSL_get0_param (*sq_ssl_api.SSL_get0_param)
#define SSL_connect (*sq_ssl_api.SSL_connect)
#define SSL_read (*sq_ssl_api.SSL_read)
#define SSL_peek (*sq_ssl_api.SSL_peek)
#define SSL_write (*sq_ssl_api.SSL_write)
#define SSL_pending (*sq_ssl_api.SSL_pending)
#define SSL_get_error (*sq_ssl_api.SSL_get_error)
#define SSL_get_verify_result (*sq_ssl_api.SSL_get_verify_result)
#define SSL_get_version (*sq_ssl_api.SSL_get_version)
#define X509_VERIFY_PARAM_set1_host (*sq_ssl_api.X509_VERIFY_PARAM_set1_host)
#define X509_VERIFY_PARAM_set1_ip_asc \
    (*sq_ssl_api.X509_VERIFY_PARAM_set1_ip_asc)
#define X509_verify_cert_error_string \
    (*sq_ssl_api.X509_verify_cert_error_string)
#define ERR_get_error (*sq_ssl_api.ERR_get_error)
#define ERR_error_string_n (*sq_ssl_api.ERR_error_string_n)
#define ERR_clear_error (*sq_ssl_api.ERR_clear_error)
#endif

#endif
