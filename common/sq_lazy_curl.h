/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_curl.h: libcurl loaded on first use (see sq_lazy.h).
 * Include after curl/curl.h; call sq_lazy_curl_load() before the
 * first call. Generated list of the functions syncq uses.
 */
#ifndef SQ_LAZY_CURL_H
#define SQ_LAZY_CURL_H

#include <curl/curl.h>
#include <syncq/error.h>

#define SQ_CURL_FUNCS(X) \
    X(curl_easy_cleanup) \
    X(curl_easy_getinfo) \
    X(curl_easy_init) \
    X(curl_easy_perform) \
    X(curl_easy_reset) \
    X(curl_easy_setopt) \
    X(curl_easy_strerror) \
    X(curl_free) \
    X(curl_global_init) \
    X(curl_slist_append) \
    X(curl_slist_free_all) \
    X(curl_url) \
    X(curl_url_cleanup) \
    X(curl_url_get) \
    X(curl_url_set)

struct sq_curl_api {
#define SQ_X(f) __typeof__(&f) f;
    SQ_CURL_FUNCS(SQ_X)
#undef SQ_X
};

/* The table (pointers are NULL until sq_lazy_curl_load succeeded). */
extern struct sq_curl_api sq_curl_fn;

/* Load the library once per process. SYNCQ_OK, or SYNCQ_ENOTSUP with a
 * message naming the missing library and its Debian package. Thread-safe;
 * later calls return the first outcome. */
int sq_lazy_curl_load(syncq_error *err);

#ifndef SQ_LAZY_IMPL
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_cleanup (*sq_curl_fn.curl_easy_cleanup)
#define curl_easy_getinfo (*sq_curl_fn.curl_easy_getinfo)
#define curl_easy_init (*sq_curl_fn.curl_easy_init)
#define curl_easy_perform (*sq_curl_fn.curl_easy_perform)
#define curl_easy_reset (*sq_curl_fn.curl_easy_reset)
#define curl_easy_setopt (*sq_curl_fn.curl_easy_setopt)
#define curl_easy_strerror (*sq_curl_fn.curl_easy_strerror)
#define curl_free (*sq_curl_fn.curl_free)
#define curl_global_init (*sq_curl_fn.curl_global_init)
#define curl_slist_append (*sq_curl_fn.curl_slist_append)
#define curl_slist_free_all (*sq_curl_fn.curl_slist_free_all)
#define curl_url (*sq_curl_fn.curl_url)
#define curl_url_cleanup (*sq_curl_fn.curl_url_cleanup)
#define curl_url_get (*sq_curl_fn.curl_url_get)
#define curl_url_set (*sq_curl_fn.curl_url_set)
#endif

#endif
