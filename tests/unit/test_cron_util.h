/* SPDX-License-Identifier: MIT
 *
 * test_cron_util.h: helpers of the cron tests (test_cron.c: the oracle
 * tables and DST; test_cron_syntax.c: syntax, errors, special dates).
 * Static functions, so each test binary has its own copy.
 */
#ifndef TEST_CRON_UTIL_H
#define TEST_CRON_UTIL_H

#include "sq_test.h"

#include "beat/beat_cron.h"
#include "sq_alloc.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define CRON_UNUSED __attribute__((unused))

CRON_UNUSED static const struct sq_tz *
zone(const char *name)
{
    const struct sq_tz *z = NULL;
    syncq_error err;

    if (sq_tz_get(name, &z, &err) != SYNCQ_OK) {
        fail_msg("zone %s: %s", name, err.msg);
    }
    return z;
}

CRON_UNUSED static struct sq_cron *
parse_ok(const char *expr)
{
    struct sq_cron *c = NULL;
    syncq_error err;

    if (sq_cron_parse(expr, &c, &err) != SYNCQ_OK) {
        fail_msg("'%s' refused: %s", expr, err.msg);
    }
    return c;
}

/* Fire times of `expr` in zone within [from, to). */
CRON_UNUSED static int
fires_between(const char *expr, const char *zn, int64_t from, int64_t to,
              int64_t *out, int max)
{
    struct sq_cron *c = parse_ok(expr);
    const struct sq_tz *z = zone(zn);
    int64_t t = from - 1, x;
    int n = 0;

    while (sq_cron_next(c, z, t, &x) == SYNCQ_OK && x < to && n < max) {
        out[n++] = x;
        t = x;
    }
    sq_cron_free(c);
    return n;
}

#endif
