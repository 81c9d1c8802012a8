/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_crypto.h: OpenSSL's libcrypto loaded on first use (see
 * sq_lazy.h): linked eagerly it costs every process ~3.4 MB of RSS, and
 * a worker supervisor never hashes anything. Include after the OpenSSL
 * headers. Unlike the other shims no explicit load call is needed: the
 * first call loads the library. Should it be missing (it is part of every
 * Debian system), every function fails cleanly (NULL, 0 or -1, as the
 * real one does on error) and the reason is logged once.
 */
#ifndef SQ_LAZY_CRYPTO_H
#define SQ_LAZY_CRYPTO_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <syncq/error.h>

#define SQ_CRYPTO_FUNCS(X) \
    X(EVP_MD_CTX_new) \
    X(EVP_MD_CTX_free) \
    X(EVP_DigestInit_ex) \
    X(EVP_DigestUpdate) \
    X(EVP_DigestFinal_ex) \
    X(EVP_Digest) \
    X(EVP_MD_get_size) \
    X(EVP_sha1) \
    X(EVP_sha256) \
    X(EVP_DecodeBlock) \
    X(EVP_EncodeBlock) \
    X(HMAC)

struct sq_crypto_api {
#define SQ_X(f) __typeof__(&f) f;
    SQ_CRYPTO_FUNCS(SQ_X)
#undef SQ_X
};

/* The table, loaded on first call (thread-safe); never NULL. */
const struct sq_crypto_api *sq_crypto_api(void);

/* Load now; SYNCQ_OK or SYNCQ_ENOTSUP with the reason. */
int sq_lazy_crypto_load(syncq_error *err);

#ifndef SQ_LAZY_IMPL
#define EVP_MD_CTX_new (*sq_crypto_api()->EVP_MD_CTX_new)
#define EVP_MD_CTX_free (*sq_crypto_api()->EVP_MD_CTX_free)
#define EVP_DigestInit_ex (*sq_crypto_api()->EVP_DigestInit_ex)
#define EVP_DigestUpdate (*sq_crypto_api()->EVP_DigestUpdate)
#define EVP_DigestFinal_ex (*sq_crypto_api()->EVP_DigestFinal_ex)
#define EVP_Digest (*sq_crypto_api()->EVP_Digest)
#undef EVP_MD_get_size
#define EVP_MD_get_size (*sq_crypto_api()->EVP_MD_get_size)
#define EVP_sha1 (*sq_crypto_api()->EVP_sha1)
#define EVP_sha256 (*sq_crypto_api()->EVP_sha256)
#define EVP_DecodeBlock (*sq_crypto_api()->EVP_DecodeBlock)
#define EVP_EncodeBlock (*sq_crypto_api()->EVP_EncodeBlock)
#define HMAC (*sq_crypto_api()->HMAC)
#endif

#endif
