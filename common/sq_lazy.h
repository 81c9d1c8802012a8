/* SPDX-License-Identifier: MIT
 *
 * sq_lazy.h: heavy libraries (libvips, libcurl, libpq, libmicrohttpd)
 * are loaded with dlopen() the first time a process needs them, not at
 * start-up. A worker supervisor or a child that only runs crawler-free,
 * image-free tasks then maps none of them: libvips alone (with glib,
 * librsvg, ICU ...) costs about 20 MB of RSS per process.
 *
 * Each library has a shim header (sq_lazy_curl.h, sq_lazy_vips.h,
 * sq_lazy_pq.h, sq_lazy_mhd.h) to include AFTER the library's own header.
 * It redirects the functions the project uses through a table of
 * pointers filled on first use, so call sites keep the library's names.
 * Code must call sq_lazy_<lib>_load() (which reports a clear error when
 * the library is missing) before the first call into the library.
 * Thread-safe (pthread_once).
 */
#ifndef SQ_LAZY_H
#define SQ_LAZY_H

#include <syncq/error.h>

/* Open the first of `sonames` (NULL-terminated) that loads, RTLD_NOW |
 * RTLD_GLOBAL, and resolve `n` symbols `names[i]` into `slots[i]`.
 * Errors: SYNCQ_ENOTSUP (library or symbol missing: the message names it
 * and says which package provides it). */
int sq_lazy_open(const char *what, const char *package,
                 const char *const *sonames, const char *const *names,
                 void **slots, int n, syncq_error *err);

#endif
