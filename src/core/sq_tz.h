/* SPDX-License-Identifier: MIT
 *
 * sq_tz.h: IANA time zones from the system tz database (TZif files under
 * /usr/share/zoneinfo, RFC 8536, including the POSIX TZ footer rule used
 * after the last listed transition), read by our own reader so
 * conversions are reentrant and thread-safe (no TZ environment juggling).
 * Zones looked up by name are loaded once and cached for the life of the
 * process. Shared by the library, the daemons and the CLI.
 *
 * Instants are Unix epoch seconds (UTC). "Civil" or "local" seconds are
 * the wall-clock fields of a zone counted as if they were UTC, so
 * civil = instant + offset.
 */
#ifndef SQ_TZ_H
#define SQ_TZ_H

#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>
#include <time.h>

struct sq_tz; /* a loaded zone */

/* Look up zone `name` ("Asia/Shanghai", "UTC", "Etc/GMT-8"). NULL or ""
 * means UTC. On SYNCQ_OK *out is a cached zone valid for the process life
 * (never freed by callers).
 * Errors: SYNCQ_EINVAL (name with "..", absolute path, over 100 bytes or
 *         characters outside [A-Za-z0-9/_+-]), SYNCQ_ENOTFOUND (no such
 *         zone file), SYNCQ_EPROTO (not a valid TZif file), SYNCQ_ENOMEM.
 * Thread-safe. */
int sq_tz_get(const char *name, const struct sq_tz **out, syncq_error *err);

/* Parse TZif bytes (`len` bytes at `data`) as zone `name` (for tests and
 * fuzzing; sq_tz_get reads the files). *out is owned: sq_tz_free it.
 * Errors: SYNCQ_EPROTO (truncated or inconsistent data), SYNCQ_ENOMEM. */
int sq_tz_parse_tzif(const char *name, const unsigned char *data, size_t len,
                     struct sq_tz **out, syncq_error *err);

/* A zone made of a POSIX TZ rule alone ("CET-1CEST,M3.5.0,M10.5.0/3",
 * POSIX.1-2017 8.3 with the RFC 8536 hour extensions). *out is owned:
 * sq_tz_free it. Errors: SYNCQ_EINVAL (malformed rule), SYNCQ_ENOMEM. */
int sq_tz_parse_posix(const char *rule, struct sq_tz **out, syncq_error *err);

/* Free a zone from sq_tz_parse_tzif/sq_tz_parse_posix. NULL is a no-op;
 * zones from sq_tz_get are ignored (they belong to the cache). */
void sq_tz_free(struct sq_tz *tz);

/* UTC offset in seconds east of Greenwich at instant `epoch_s`. */
long sq_tz_offset_at(const struct sq_tz *tz, int64_t epoch_s);

/* Break `epoch_s` into local fields of `tz` (tm_isdst and tm_gmtoff set).
 * Returns 0. */
int sq_tz_to_local(const struct sq_tz *tz, int64_t epoch_s, struct tm *out);

/* The instants whose local time in `tz` is the given wall time
 * (year, month 1-12, day, hour, minute, second). Returns how many there
 * are: 0 in a spring-forward gap, 1 normally, 2 in a fall-back overlap
 * (earliest first in out[0], out[1]). */
int sq_tz_from_local(const struct sq_tz *tz, int year, int month, int day,
                     int hour, int min, int sec, int64_t out[2]);

/* As sq_tz_from_local, with the wall time given as civil seconds. */
int sq_tz_from_civil(const struct sq_tz *tz, int64_t civil_s, int64_t out[2]);

/* The first instant after `after_s` (strictly) where the zone's UTC
 * offset changes. Transitions that change only the abbreviation or the
 * DST flag are not counted. Returns 1 and fills *at_s, *off_before,
 * *off_after (any may be NULL), or 0 when there is none. */
int sq_tz_next_transition(const struct sq_tz *tz, int64_t after_s,
                          int64_t *at_s, long *off_before, long *off_after);

/* The last instant at or before `at_or_before_s` where the offset
 * changes (same contract as sq_tz_next_transition). */
int sq_tz_prev_transition(const struct sq_tz *tz, int64_t at_or_before_s,
                          int64_t *at_s, long *off_before, long *off_after);

/* Zone name as given to sq_tz_get ("UTC" for the default). */
const char *sq_tz_name(const struct sq_tz *tz);

/* Convenience for display code: local fields and offset of `epoch_s` in
 * zone `name`. Returns 0, or -1 if the zone cannot be loaded. */
int sq_tz_localtime(const char *name, int64_t epoch_s, struct tm *out,
                    long *gmtoff);

/* Calendar helpers (proleptic Gregorian): days since 1970-01-01 of a
 * date, and back; weekday of a day number (0 = Sunday). */
int64_t sq_days_from_civil(int64_t y, int m, int d);
void sq_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int sq_weekday_of_days(int64_t days);
int sq_days_in_month(int64_t y, int m);

#endif
