/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_mhd.h: libmicrohttpd loaded on first use (see sq_lazy.h).
 * Include after microhttpd.h; call sq_lazy_mhd_load() before the
 * first call. Generated list of the functions syncq uses.
 */
#ifndef SQ_LAZY_MHD_H
#define SQ_LAZY_MHD_H

#include <microhttpd.h>
#include <syncq/error.h>

#define SQ_MHD_FUNCS(X) \
    X(MHD_add_response_header) \
    X(MHD_create_response_from_buffer) \
    X(MHD_create_response_from_buffer_with_free_callback) \
    X(MHD_destroy_response) \
    X(MHD_get_connection_values) \
    X(MHD_get_daemon_info) \
    X(MHD_lookup_connection_value) \
    X(MHD_queue_response) \
    X(MHD_start_daemon) \
    X(MHD_stop_daemon)

struct sq_mhd_api {
#define SQ_X(f) __typeof__(&f) f;
    SQ_MHD_FUNCS(SQ_X)
#undef SQ_X
};

/* The table (pointers are NULL until sq_lazy_mhd_load succeeded). */
extern struct sq_mhd_api sq_mhd_fn;

/* Load the library once per process. SYNCQ_OK, or SYNCQ_ENOTSUP with a
 * message naming the missing library and its Debian package. Thread-safe;
 * later calls return the first outcome. */
int sq_lazy_mhd_load(syncq_error *err);

#ifndef SQ_LAZY_IMPL
#define MHD_add_response_header (*sq_mhd_fn.MHD_add_response_header)
#define MHD_create_response_from_buffer (*sq_mhd_fn.MHD_create_response_from_buffer)
#define MHD_create_response_from_buffer_with_free_callback (*sq_mhd_fn.MHD_create_response_from_buffer_with_free_callback)
#define MHD_destroy_response (*sq_mhd_fn.MHD_destroy_response)
#define MHD_get_connection_values (*sq_mhd_fn.MHD_get_connection_values)
#define MHD_get_daemon_info (*sq_mhd_fn.MHD_get_daemon_info)
#define MHD_lookup_connection_value (*sq_mhd_fn.MHD_lookup_connection_value)
#define MHD_queue_response (*sq_mhd_fn.MHD_queue_response)
#define MHD_start_daemon (*sq_mhd_fn.MHD_start_daemon)
#define MHD_stop_daemon (*sq_mhd_fn.MHD_stop_daemon)
#endif

#endif
