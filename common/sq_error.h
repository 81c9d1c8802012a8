/* SPDX-License-Identifier: MIT
 *
 * sq_error.h: internal helpers to fill a syncq_error (shared by the library,
 * the daemons and the CLI, like curl's curlx_).
 */
#ifndef SQ_ERROR_H
#define SQ_ERROR_H

#include <syncq/error.h>

/* Fill `err` (may be NULL) with `code` and a printf-formatted message;
 * returns `code` so callers can `return sq_fail(...)`. */
int sq_fail(syncq_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As sq_fail, also records errno (read before anything else runs). */
int sq_fail_errno(syncq_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reset `err` (may be NULL) to SYNCQ_OK with an empty message. */
void sq_error_clear(syncq_error *err);

/* Prefix the message in `err` with "`prefix`: " (no-op when err is NULL). */
void sq_error_prefix(syncq_error *err, const char *prefix);

#endif
