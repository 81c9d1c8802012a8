/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_vips.h: libvips (with glib/gobject) loaded on first use (see
 * sq_lazy.h). Include after <vips/vips.h>; call sq_lazy_vips_load()
 * before the first call (VIPS_INIT is redirected too). libvips is by far
 * the biggest library syncq uses: loading it lazily keeps a worker that
 * runs no image task about 20 MB smaller.
 */
#ifndef SQ_LAZY_VIPS_H
#define SQ_LAZY_VIPS_H

#include <vips/vips.h>
#include <syncq/error.h>

#define SQ_VIPS_FUNCS(X) \
    X(g_free) \
    X(g_log_set_handler) \
    X(g_object_ref) \
    X(g_object_unref) \
    X(vips_area_unref) \
    X(vips_array_double_newv) \
    X(vips_avg) \
    X(vips_cache_set_max) \
    X(vips_cache_set_max_files) \
    X(vips_cache_set_max_mem) \
    X(vips_concurrency_set) \
    X(vips_error_buffer) \
    X(vips_error_clear) \
    X(vips_flatten) \
    X(vips_image_get_height) \
    X(vips_image_get_width) \
    X(vips_image_hasalpha) \
    X(vips_image_new_from_memory_copy) \
    X(vips_image_new_from_source) \
    X(vips_image_write_to_buffer) \
    X(vips_jpegsave) \
    X(vips_pngsave) \
    X(vips_source_new_from_file) \
    X(vips_thumbnail_image) \
    X(vips_thumbnail_source) \
    X(vips_thread_shutdown) \
    X(vips_webpsave) \
    X(vips_init) \
    X(vips_shutdown)

struct sq_vips_api {
#define SQ_X(f) __typeof__(&f) f;
    SQ_VIPS_FUNCS(SQ_X)
#undef SQ_X
};

/* The table (pointers are NULL until sq_lazy_vips_load succeeded). */
extern struct sq_vips_api sq_vips_fn;

/* Load libvips once per process. SYNCQ_OK, or SYNCQ_ENOTSUP naming the
 * missing library and its Debian package. Thread-safe. */
int sq_lazy_vips_load(syncq_error *err);

/* vips_init(argv0), and on the first success an atexit() handler that
 * shuts libvips down (its worker threads must be gone before a leak
 * checker stops the world at exit). Returns what vips_init returns. */
int sq_vips_init(const char *argv0);

#ifndef SQ_LAZY_IMPL
/* glib's type-safe function-like macros would hide our redirects. */
#undef g_object_ref
#undef VIPS_INIT
#define VIPS_INIT(argv0) (sq_vips_init(argv0))
#define g_free (*sq_vips_fn.g_free)
#define g_log_set_handler (*sq_vips_fn.g_log_set_handler)
#define g_object_ref (*sq_vips_fn.g_object_ref)
#define g_object_unref (*sq_vips_fn.g_object_unref)
#define vips_area_unref (*sq_vips_fn.vips_area_unref)
#define vips_array_double_newv (*sq_vips_fn.vips_array_double_newv)
#define vips_avg (*sq_vips_fn.vips_avg)
#define vips_cache_set_max (*sq_vips_fn.vips_cache_set_max)
#define vips_cache_set_max_files (*sq_vips_fn.vips_cache_set_max_files)
#define vips_cache_set_max_mem (*sq_vips_fn.vips_cache_set_max_mem)
#define vips_concurrency_set (*sq_vips_fn.vips_concurrency_set)
#define vips_error_buffer (*sq_vips_fn.vips_error_buffer)
#define vips_error_clear (*sq_vips_fn.vips_error_clear)
#define vips_flatten (*sq_vips_fn.vips_flatten)
#define vips_image_get_height (*sq_vips_fn.vips_image_get_height)
#define vips_image_get_width (*sq_vips_fn.vips_image_get_width)
#define vips_image_hasalpha (*sq_vips_fn.vips_image_hasalpha)
#define vips_image_new_from_memory_copy (*sq_vips_fn.vips_image_new_from_memory_copy)
#define vips_image_new_from_source (*sq_vips_fn.vips_image_new_from_source)
#define vips_image_write_to_buffer (*sq_vips_fn.vips_image_write_to_buffer)
#define vips_jpegsave (*sq_vips_fn.vips_jpegsave)
#define vips_pngsave (*sq_vips_fn.vips_pngsave)
#define vips_source_new_from_file (*sq_vips_fn.vips_source_new_from_file)
#define vips_thumbnail_image (*sq_vips_fn.vips_thumbnail_image)
#define vips_thumbnail_source (*sq_vips_fn.vips_thumbnail_source)
#define vips_thread_shutdown (*sq_vips_fn.vips_thread_shutdown)
#define vips_webpsave (*sq_vips_fn.vips_webpsave)
#define vips_shutdown (*sq_vips_fn.vips_shutdown)
#endif

#endif
