/* SPDX-License-Identifier: MIT
 *
 * sq_rate.h: a rate, N events per period, and its text syntax.
 */
#ifndef SQ_RATE_H
#define SQ_RATE_H

#include <stdint.h>
#include <syncq/error.h>

/* A rate: `limit` requests per `period_ms`. */
struct sq_rate {
    int64_t limit;
    int64_t period_ms;
};

/* The one rate grammar of syncq (SYNCQ_CRAWLER_RATE, batch --rate and the
 * public syncq_rate_parse): "20" (per second), "20/s", "20/sec",
 * "300/m", "300/min", "1000/h", "20/10s", "5/1500ms" (N per a duration of
 * syncq_duration_parse_ms); blanks around the number and the unit are
 * allowed. `out` may not be NULL.
 * Errors: SYNCQ_EINVAL with the accepted forms (N must be 1..1000000, the
 * period 1 ms..1 day); *out is unchanged then. Thread-safe. */
int sq_rate_parse(const char *s, struct sq_rate *out, syncq_error *err);

#endif
