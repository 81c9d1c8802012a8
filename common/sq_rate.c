/* SPDX-License-Identifier: MIT
 *
 * sq_rate.c: the rate syntax ("20/s", "300/min", "20/10s"), in core so
 * the settings table can check SYNCQ_CRAWLER_RATE when it is loaded.
 */
#include "sq_rate.h"
#include "sq_error.h"
#include <syncq/time.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
sq_rate_parse(const char *s, struct sq_rate *out, syncq_error *err)
{
    char *end = NULL;
    long long n;
    const char *unit;
    int64_t ms = 0;
    char ubuf[32];

    if (s == NULL) {
        goto bad;
    }
    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (!isdigit((unsigned char)*s)) {
        goto bad;
    }
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno != 0 || n < 1 || n > 1000000) {
        goto bad;
    }
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (*end == '\0') {
        unit = "s"; /* a bare N is N per second */
    } else if (*end != '/') {
        goto bad;
    } else {
        unit = end + 1;
    }
    while (isspace((unsigned char)*unit)) {
        unit++;
    }
    /* trailing blanks, like the leading ones */
    {
        size_t n_unit = strlen(unit);
        while (n_unit > 0 && isspace((unsigned char)unit[n_unit - 1])) {
            n_unit--;
        }
        if (n_unit >= sizeof ubuf) {
            goto bad;
        }
        memcpy(ubuf, unit, n_unit);
        ubuf[n_unit] = '\0';
        unit = ubuf;
    }
    if (strcmp(unit, "s") == 0 || strcmp(unit, "sec") == 0 ||
        strcmp(unit, "second") == 0) {
        ms = 1000;
    } else if (strcmp(unit, "m") == 0 || strcmp(unit, "min") == 0 ||
               strcmp(unit, "minute") == 0) {
        ms = 60000;
    } else if (strcmp(unit, "h") == 0 || strcmp(unit, "hour") == 0) {
        ms = 3600000;
    } else if (isdigit((unsigned char)*unit)) {
        syncq_error e2;
        if (syncq_duration_parse_ms(unit, &ms, &e2) != SYNCQ_OK) {
            goto bad;
        }
    } else {
        goto bad;
    }
    if (ms < 1 || ms > 86400000) {
        goto bad;
    }
    out->limit = n;
    out->period_ms = ms;
    return SYNCQ_OK;
bad:
    return sq_fail(err, SYNCQ_EINVAL,
                   "rate '%.40s': expected N (per second), N/s, N/min, N/h "
                   "or N/<duration> (e.g. 20/s, 300/min, 20/10s) with N in "
                   "1..1000000 and a period of at most 1 day",
                   s != NULL ? s : "");
}
