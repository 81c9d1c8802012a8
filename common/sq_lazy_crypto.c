/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_crypto.c: the libcrypto table of sq_lazy_crypto.h, with
 * failing stand-ins used only if the library cannot be loaded.
 */
#define SQ_LAZY_IMPL 1
#include "sq_lazy_crypto.h"
#include "sq_lazy.h"
#include <syncq/log.h>

#include <pthread.h>
#include <string.h>

static EVP_MD_CTX *
no_ctx_new(void)
{
    return NULL;
}

static void
no_ctx_free(EVP_MD_CTX *c)
{
    (void)c;
}

static int
no_init(EVP_MD_CTX *c, const EVP_MD *t, ENGINE *e)
{
    (void)c;
    (void)t;
    (void)e;
    return 0;
}

static int
no_update(EVP_MD_CTX *c, const void *d, size_t n)
{
    (void)c;
    (void)d;
    (void)n;
    return 0;
}

static int
no_final(EVP_MD_CTX *c, unsigned char *md, unsigned int *n)
{
    (void)c;
    (void)md;
    (void)n;
    return 0;
}

static int
no_digest(const void *d, size_t n, unsigned char *md, unsigned int *mdn,
          const EVP_MD *t, ENGINE *e)
{
    (void)d;
    (void)n;
    (void)md;
    (void)mdn;
    (void)t;
    (void)e;
    return 0;
}

static int
no_size(const EVP_MD *t)
{
    (void)t;
    return 0;
}

static const EVP_MD *
no_md(void)
{
    return NULL;
}

static int
no_decode(unsigned char *t, const unsigned char *f, int n)
{
    (void)t;
    (void)f;
    (void)n;
    return -1;
}

static unsigned char *
no_hmac(const EVP_MD *e, const void *k, int kl, const unsigned char *d,
        size_t n, unsigned char *md, unsigned int *mdl)
{
    (void)e;
    (void)k;
    (void)kl;
    (void)d;
    (void)n;
    (void)md;
    (void)mdl;
    return NULL;
}

static struct sq_crypto_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static syncq_error load_err;

static void
load(void)
{
    static const char *const sonames[] = {"libcrypto.so.3", NULL};
    static const char *const names[] = {
#define SQ_X(f) #f,
        SQ_CRYPTO_FUNCS(SQ_X)
#undef SQ_X
    };
    void *slots[sizeof names / sizeof names[0]];
    int rc;

    _Static_assert(sizeof(struct sq_crypto_api) == sizeof slots,
                   "one pointer per function");
    rc = sq_lazy_open("libcrypto (OpenSSL)", "libssl3", sonames, names,
                      slots, (int)(sizeof names / sizeof names[0]),
                      &load_err);
    load_err.code = rc;
    if (rc == SYNCQ_OK) {
        memcpy(&api, slots, sizeof api);
        return;
    }
    syncq_log(SYNCQ_LOG_ERROR, "crypto.unavailable", "err=\"%s\"", load_err.msg);
    api.EVP_MD_CTX_new = no_ctx_new;
    api.EVP_MD_CTX_free = no_ctx_free;
    api.EVP_DigestInit_ex = no_init;
    api.EVP_DigestUpdate = no_update;
    api.EVP_DigestFinal_ex = no_final;
    api.EVP_Digest = no_digest;
    api.EVP_MD_get_size = no_size;
    api.EVP_sha1 = no_md;
    api.EVP_sha256 = no_md;
    api.EVP_DecodeBlock = no_decode;
    api.HMAC = no_hmac;
}

const struct sq_crypto_api *
sq_crypto_api(void)
{
    pthread_once(&once, load);
    return &api;
}

int
sq_lazy_crypto_load(syncq_error *err)
{
    pthread_once(&once, load);
    if (load_err.code != SYNCQ_OK && err != NULL) {
        *err = load_err;
    }
    return load_err.code;
}
