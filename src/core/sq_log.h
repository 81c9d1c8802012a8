/* SPDX-License-Identifier: MIT
 *
 * sq_log.h: the library's logging front end. SQ_LOG checks the level before
 * it formats anything (Redis serverLog). Events go to the handler installed
 * by syncq_log_set_handler(); sq_logwriter.h has the daemons' writer.
 * Never log a secret: mask URLs with sq_url_redact() first.
 */
#ifndef SQ_LOG_H
#define SQ_LOG_H

#include <stddef.h>
#include <syncq/log.h>

extern int sq_log_level;

/* Format `fmt` (logfmt key=value pairs) and hand the event to the handler. */
void sq_log_emit(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when a handler is installed and `level` passes the filter. */
int sq_log_enabled(int level);

#define SQ_LOG(level, event, ...)                                              \
    do {                                                                       \
        if ((level) <= sq_log_level && sq_log_enabled(level)) {                \
            sq_log_emit((level), (event), __VA_ARGS__);                        \
        }                                                                      \
    } while (0)

#define SQ_ERROR(event, ...) SQ_LOG(SYNCQ_LOG_ERROR, event, __VA_ARGS__)
#define SQ_WARN(event, ...) SQ_LOG(SYNCQ_LOG_WARN, event, __VA_ARGS__)
#define SQ_INFO(event, ...) SQ_LOG(SYNCQ_LOG_INFO, event, __VA_ARGS__)
#define SQ_DEBUG(event, ...) SQ_LOG(SYNCQ_LOG_DEBUG, event, __VA_ARGS__)

/* Copy `s` into `out` (size `cap`) as a logfmt value: quoted and escaped
 * when it holds spaces, quotes, '=' or control bytes; invalid UTF-8 bytes
 * become U+FFFD so a log line is always valid UTF-8. Returns `out`. */
const char *sq_log_quote(const char *s, char *out, size_t cap);

#endif
