/* SPDX-License-Identifier: MIT
 *
 * syncq/log.h: where the library's log events go.
 *
 * The library never writes to stdout or stderr. It hands each event to the
 * handler installed with syncq_log_set_handler() (default: none, events are
 * dropped). The daemons and the CLI install a writer that prints one logfmt
 * or JSON line per event. `event` is a stable dotted name
 * ("broker.reconnect"); `kv` is a logfmt string of extra fields
 * (`attempt=3 delay_ms=800 err="connection refused"`), possibly empty.
 */
#ifndef SYNCQ_LOG_H
#define SYNCQ_LOG_H

#include <stddef.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

enum syncq_log_level {
    SYNCQ_LOG_ERROR = 0,
    SYNCQ_LOG_WARN = 1,
    SYNCQ_LOG_INFO = 2,
    SYNCQ_LOG_DEBUG = 3
};

/* A log handler. `event` and `kv` are lent for the duration of the call.
 * It runs in the thread that logged; it must not call back into syncq. */
typedef void (*syncq_log_fn)(void *userdata, int level, const char *event,
                             const char *kv);

/* Install `fn` (NULL: drop events) with `userdata`. Not thread-safe: call
 * it before starting threads. */
SYNCQ_API void syncq_log_set_handler(syncq_log_fn fn, void *userdata);

/* Events above `level` are skipped before their arguments are formatted.
 * Default SYNCQ_LOG_INFO. */
SYNCQ_API void syncq_log_set_level(int level);

/* Log `event` (a stable dotted name, "crawler.cool_down") at `level`
 * (SYNCQ_LOG_*) with logfmt fields printf-formatted from `fmt` (NULL or
 * "": none; the fields are cut at 2 KiB). The event goes to the installed
 * handler; nothing is formatted when no handler is installed or the level
 * is filtered out. For code outside the library (task packs, plugins):
 * the host's handler and level apply. Never log a secret. Thread-safe as
 * far as the handler is. */
SYNCQ_API void syncq_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy `s` into `out` (`cap` bytes, > 0) as one logfmt value: quoted and
 * escaped when it holds spaces, quotes, '=' or control bytes; invalid
 * UTF-8 becomes U+FFFD; cut to fit. Returns `out`. Thread-safe. */
SYNCQ_API const char *syncq_log_quote(const char *s, char *out, size_t cap);

/* Parse "debug|info|warning|warn|error" (case-insensitive).
 * Returns the level, or -1 for anything else. */
SYNCQ_API int syncq_log_level_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif
