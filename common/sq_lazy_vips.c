/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_vips.c: the libvips table of sq_lazy_vips.h.
 */
#define SQ_LAZY_IMPL 1
#include "sq_lazy_vips.h"
#include "sq_lazy.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sq_vips_api sq_vips_fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static syncq_error load_err;

static void
load(void)
{
    static const char *const sonames[] = {"libvips.so.42", NULL};
    static const char *const names[] = {
#define SQ_X(f) #f,
        SQ_VIPS_FUNCS(SQ_X)
#undef SQ_X
    };
    void *slots[sizeof names / sizeof names[0]];
    _Static_assert(sizeof(struct sq_vips_api) == sizeof slots,
                   "one pointer per function");
    int rc = sq_lazy_open("libvips", "libvips42", sonames, names, slots,
                          (int)(sizeof names / sizeof names[0]), &load_err);
    if (rc == SYNCQ_OK) {
        /* Same order as the struct: copy pointer by pointer. */
        memcpy(&sq_vips_fn, slots, sizeof sq_vips_fn);
    }
    load_err.code = rc;
}

int
sq_lazy_vips_load(syncq_error *err)
{
    pthread_once(&once, load);
    if (load_err.code != SYNCQ_OK && err != NULL) {
        *err = load_err;
    }
    return load_err.code;
}

static void
shutdown_vips(void)
{
    sq_vips_fn.vips_shutdown();
}

int
sq_vips_init(const char *argv0)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int registered;
    int rc;

    if (sq_lazy_vips_load(NULL) != SYNCQ_OK) {
        return -1;
    }
    rc = sq_vips_fn.vips_init(argv0);
    pthread_mutex_lock(&mu);
    if (rc == 0 && !registered) {
        registered = 1;
        atexit(shutdown_vips);
    }
    pthread_mutex_unlock(&mu);
    return rc;
}
