/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_ssl.c: the libssl table of sq_lazy_ssl.h. Unlike libcrypto's
 * there are no failing stand-ins: the only user (the broker's TLS
 * transport) checks sq_lazy_ssl_load() before its first call.
 */
#define SQ_LAZY_IMPL 1
#include "core/sq_lazy_ssl.h"
#include "sq_lazy.h"

#include <pthread.h>
#include <string.h>

struct sq_ssl_api sq_ssl_api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static syncq_error load_err;

static void
load(void)
{
    static const char *const sonames[] = {"libssl.so.3", NULL};
    static const char *const names[] = {
#define SQ_X(f) #f,
        SQ_SSL_FUNCS(SQ_X)
#undef SQ_X
    };
    void *slots[sizeof names / sizeof names[0]];
    int rc;

    _Static_assert(sizeof(struct sq_ssl_api) == sizeof slots,
                   "one pointer per function");
    rc = sq_lazy_open("libssl (OpenSSL)", "libssl3", sonames, names, slots,
                      (int)(sizeof names / sizeof names[0]), &load_err);
    load_err.code = rc;
    if (rc == SYNCQ_OK) {
        memcpy(&sq_ssl_api, slots, sizeof sq_ssl_api);
    }
}

int
sq_lazy_ssl_load(syncq_error *err)
{
    pthread_once(&once, load);
    if (load_err.code != SYNCQ_OK && err != NULL) {
        *err = load_err;
    }
    return load_err.code;
}
