/* SPDX-License-Identifier: MIT
 *
 * sq_alloc.c: the replaceable allocator and the failure injector.
 */
#include "sq_alloc.h"
#include "syncq/syncq.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *(*alloc_fn)(size_t) = malloc;
static void *(*realloc_fn)(void *, size_t) = realloc;
static void (*free_fn)(void *) = free;

static long fail_nth;   /* 0: injection off */
static long alloc_count; /* allocations since the last sq_alloc_fail_at */

/* Counted only while injection is on: a sync parses on a second thread
 * (packs/data_sync), and a counter written by both threads at every
 * allocation would bounce its cache line between the cores. */
static int
should_fail(void)
{
    long nth = __atomic_load_n(&fail_nth, __ATOMIC_RELAXED);

    return nth > 0 &&
           __atomic_add_fetch(&alloc_count, 1, __ATOMIC_RELAXED) >= nth;
}

void *
sq_malloc(size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return alloc_fn(n == 0 ? 1 : n);
}

void *
sq_calloc(size_t count, size_t n)
{
    void *p;

    if (n != 0 && count > (size_t)-1 / n) {
        return NULL;
    }
    p = sq_malloc(count * n);
    if (p != NULL) {
        memset(p, 0, count * n);
    }
    return p;
}

void *
sq_realloc(void *p, size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc_fn(p, n == 0 ? 1 : n);
}

void
sq_free(void *p)
{
    if (p != NULL) {
        free_fn(p);
    }
}

char *
sq_strndup(const char *s, size_t n)
{
    char *d;

    if (s == NULL) {
        return NULL;
    }
    d = sq_malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *
sq_strdup(const char *s)
{
    return s == NULL ? NULL : sq_strndup(s, strlen(s));
}

char *
sq_asprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    s = sq_malloc((size_t)n + 1);
    if (s == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

long
sq_alloc_fail_at(long nth)
{
    long seen = __atomic_exchange_n(&alloc_count, 0, __ATOMIC_RELAXED);

    __atomic_store_n(&fail_nth, nth, __ATOMIC_RELAXED);
    return seen;
}

void
syncq_set_allocator(void *(*malloc_fn)(size_t),
                    void *(*realloc_fn_)(void *, size_t),
                    void (*free_fn_)(void *))
{
    alloc_fn = malloc_fn != NULL ? malloc_fn : malloc;
    realloc_fn = realloc_fn_ != NULL ? realloc_fn_ : realloc;
    free_fn = free_fn_ != NULL ? free_fn_ : free;
}

void
syncq_free(void *p)
{
    sq_free(p);
}

/* jansson allocates through us, so injected failures reach JSON code too. */
__attribute__((constructor)) static void
install_jansson_hooks(void)
{
    json_set_alloc_funcs(sq_malloc, sq_free);
}
