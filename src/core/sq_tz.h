/* SPDX-License-Identifier: MIT
 *
 * sq_tz.h: IANA time zones from the system tz database (TZif files under
 * /usr/share/zoneinfo, RFC 8536), read by our own reader so conversions are
 * reentrant and thread-safe (no TZ environment juggling). Zones are loaded
 * once and cached for the life of the process.
 */
#ifndef SQ_TZ_H
#define SQ_TZ_H

#include <stdint.h>
#include <time.h>
#include <syncq/error.h>

struct sq_tz; /* a loaded zone; owned by the cache, never freed by callers */

/* Look up zone `name` ("Asia/Shanghai", "UTC", "Etc/GMT-8"). NULL or ""
 * means UTC. On SYNCQ_OK *out is a cached zone valid for the process life.
 * Errors: SYNCQ_EINVAL (name with "..", absolute path or not a valid name),
 *         SYNCQ_ENOTFOUND (no such zone file), SYNCQ_EPROTO (bad TZif).
 * Thread-safe. */
int sq_tz_get(const char *name, const struct sq_tz **out, syncq_error *err);

/* UTC offset in seconds east of Greenwich at instant `epoch_s`. */
long sq_tz_offset_at(const struct sq_tz *tz, int64_t epoch_s);

/* Break `epoch_s` into local fields of `tz` (tm_isdst set, tm_gmtoff too).
 * Returns 0. */
int sq_tz_to_local(const struct sq_tz *tz, int64_t epoch_s, struct tm *out);

/* The instants whose local time in `tz` is the given wall time
 * (year, month 1-12, day, hour, minute, second). Returns how many there
 * are: 0 in a spring-forward gap, 1 normally, 2 in a fall-back overlap
 * (earliest first in out[0], out[1]). */
int sq_tz_from_local(const struct sq_tz *tz, int year, int month, int day,
                     int hour, int min, int sec, int64_t out[2]);

/* Zone name as given to sq_tz_get ("UTC" for the default). */
const char *sq_tz_name(const struct sq_tz *tz);

/* Convenience for display code: local fields and offset of `epoch_s` in
 * zone `name`. Returns 0, or -1 if the zone cannot be loaded. */
int sq_tz_localtime(const char *name, int64_t epoch_s, struct tm *out,
                    long *gmtoff);

#endif
