/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_curl.c: the libcurl table of sq_lazy_curl.h.
 */
#define SQ_LAZY_IMPL 1
#include "sq_lazy_curl.h"
#include "sq_lazy.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct sq_curl_api sq_curl_fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static syncq_error load_err;

static void
load(void)
{
    static const char *const sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4", NULL};
    static const char *const names[] = {
#define SQ_X(f) #f,
        SQ_CURL_FUNCS(SQ_X)
#undef SQ_X
    };
    void *slots[sizeof names / sizeof names[0]];
    _Static_assert(sizeof(struct sq_curl_api) == sizeof slots,
                   "one pointer per function");
    int rc = sq_lazy_open("libcurl", "libcurl4", sonames, names, slots,
                          (int)(sizeof names / sizeof names[0]), &load_err);
    if (rc == SYNCQ_OK) {
        /* Same order as the struct: copy pointer by pointer. */
        memcpy(&sq_curl_fn, slots, sizeof sq_curl_fn);
    }
    load_err.code = rc;
}

int
sq_lazy_curl_load(syncq_error *err)
{
    pthread_once(&once, load);
    if (load_err.code != SYNCQ_OK && err != NULL) {
        *err = load_err;
    }
    return load_err.code;
}
