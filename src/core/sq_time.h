/* SPDX-License-Identifier: MIT
 *
 * sq_time.h: clocks and time text. Wall time is Unix epoch milliseconds,
 * UTC (int64_t *_ms). The wall clock can be replaced for tests
 * (sq_clock_set) so ETA, lease and cron code never sleeps in unit tests.
 */
#ifndef SQ_TIME_H
#define SQ_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

/* Wall clock, Unix epoch ms (UTC). Uses the injected clock if one is set. */
int64_t sq_now_ms(void);

/* Monotonic clock in ms (CLOCK_MONOTONIC); for intervals and timeouts. */
int64_t sq_mono_ms(void);
/* Monotonic clock in microseconds. */
int64_t sq_mono_us(void);

/* Replace the wall clock (NULL restores the real one). Not thread-safe. */
void sq_clock_set(int64_t (*now_ms_fn)(void));

/* Sleep `ms` milliseconds (restarts on EINTR unless `interruptible`). */
void sq_sleep_ms(int64_t ms);

/* Parse an ISO 8601 / RFC 3339 date-time into epoch ms (UTC):
 *   2026-12-01T02:00:00+08:00, 2026-12-01T02:00:00.250Z,
 *   2026-12-01 02:00:00Z, 2026-12-01T02:00 (no offset: UTC),
 *   2026-12-01 (midnight UTC), or a bare integer of epoch seconds.
 * Errors: SYNCQ_EINVAL with the offending text and what was expected. */
int sq_time_parse_iso8601(const char *s, int64_t *out_ms, syncq_error *err);

/* Format epoch ms as 2026-12-01T02:00:00.000Z into `buf` (>= 25 bytes). */
const char *sq_time_format_iso8601_ms(int64_t ms, char *buf, size_t cap);
/* Format epoch ms as 2026-12-01T02:00:00Z (seconds precision). */
const char *sq_time_format_iso8601(int64_t ms, char *buf, size_t cap);

/* Format epoch ms in IANA zone `tz` (NULL/"" = UTC) with its offset:
 * 2026-12-01T10:00:00+08:00. Uses the system tz database. */
const char *sq_time_format_zone(int64_t ms, const char *tz, char *buf,
                                size_t cap);

/* Parse a duration: "90", "90s", "15m", "2h", "7d", "1w", "1500ms",
 * "1h30m" into milliseconds (plain numbers are seconds).
 * Errors: SYNCQ_EINVAL (garbage, negative, overflow). */
int sq_duration_parse_ms(const char *s, int64_t *out_ms, syncq_error *err);

/* Format ms as a short human duration ("1.2s", "3m05s", "2h10m", "4d3h"). */
const char *sq_duration_format(int64_t ms, char *buf, size_t cap);

#endif
