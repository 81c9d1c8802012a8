/* SPDX-License-Identifier: MIT
 *
 * syncq/time.h: the clocks and time text of syncq, for task packs and
 * plugins. Use these rather than the C library so a task and the queue
 * agree: the wall clock is the one the library stamps tasks with (tests
 * may replace it), and the text forms are the ones the task records and
 * the CLI use.
 *
 * Units: wall time is Unix epoch milliseconds, UTC (int64_t *_ms);
 * monotonic clocks only measure intervals. Thread-safety: all functions
 * are thread-safe.
 */
#ifndef SYNCQ_TIME_H
#define SYNCQ_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Wall clock, Unix epoch ms (UTC). */
SYNCQ_API int64_t syncq_now_ms(void);

/* Monotonic clock (CLOCK_MONOTONIC) in ms / in microseconds; for
 * intervals and timeouts, never for dates. */
SYNCQ_API int64_t syncq_mono_ms(void);
SYNCQ_API int64_t syncq_mono_us(void);

/* Sleep `ms` milliseconds (<= 0: return at once); a signal does not cut
 * the sleep short. */
SYNCQ_API void syncq_sleep_ms(int64_t ms);

/* Parse an ISO 8601 / RFC 3339 date-time into epoch ms (UTC):
 * 2026-12-01T02:00:00+08:00, 2026-12-01T02:00:00.250Z, 2026-12-01
 * 02:00:00Z, 2026-12-01T02:00 (no offset: UTC), 2026-12-01 (midnight
 * UTC), or a bare integer of epoch seconds. Errors: SYNCQ_EINVAL naming
 * the offending text and what was expected. */
SYNCQ_API int syncq_time_parse_iso8601(const char *s, int64_t *out_ms,
                                       syncq_error *err);

/* Format epoch ms as 2026-12-01T02:00:00Z (seconds) or, _ms, as
 * 2026-12-01T02:00:00.000Z into `buf` (`cap` >= 25 bytes; cut to fit,
 * always NUL-terminated). Returns `buf`. */
SYNCQ_API const char *syncq_time_format_iso8601(int64_t ms, char *buf,
                                                size_t cap);
SYNCQ_API const char *syncq_time_format_iso8601_ms(int64_t ms, char *buf,
                                                   size_t cap);

/* Parse a duration: "90", "90s", "15m", "2h", "7d", "1w", "1500ms",
 * "1h30m" into milliseconds (a plain number is seconds).
 * Errors: SYNCQ_EINVAL (garbage, negative, overflow), naming the text. */
SYNCQ_API int syncq_duration_parse_ms(const char *s, int64_t *out_ms,
                                      syncq_error *err);

#ifdef __cplusplus
}
#endif
#endif
