/* SPDX-License-Identifier: MIT
 *
 * fuzz_cron.c: any bytes as a cron expression (beat_cron.c). A parsed
 * expression must give next/previous fire times in UTC and in DST zones
 * that are strictly ordered around the instant asked about, and the
 * previous of a next must be at or before the instant: no crash, hang,
 * leak or overflow for any input. The input's first byte also picks the
 * instant, so the corpus covers DST transitions.
 */
#include "beat/beat_cron.h"
#include "core/sq_tz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const zones[] = {"UTC", "America/New_York",
                                        "Europe/Berlin", "Australia/Lord_Howe"};
    static const int64_t instants[] = {
        1709072017LL,  /* 2024-02-27 */
        1710048600LL,  /* New York spring forward - 30 min */
        1730608200LL,  /* New York fall back - 30 min */
        1729989000LL,  /* Berlin fall back - 30 min */
        -86400LL,      /* before the epoch */
        4102444800LL,  /* 2100, POSIX footer rule */
        253402000000LL /* near year 9999 */
    };
    struct sq_cron *c = NULL;
    char *s;

    if (size > 4096) {
        return 0;
    }
    s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if (sq_cron_parse(s, &c, NULL) == 0) {
        int64_t t0 = instants[(size ? data[0] : 0) % 7];
        for (int i = 0; i < 4; i++) {
            const struct sq_tz *z;
            int64_t t = t0, x, p;
            if (sq_tz_get(zones[i], &z, NULL) != 0) {
                continue;
            }
            for (int k = 0; k < 3; k++) {
                if (sq_cron_next(c, z, t, &x) != 0) {
                    break;
                }
                if (x <= t) {
                    abort(); /* next must move forward */
                }
                if (sq_cron_prev(c, z, x, &p) == 0 && p >= x) {
                    abort(); /* previous must be earlier */
                }
                t = x;
            }
            if (sq_cron_prev(c, z, t0, &p) == 0 && p >= t0) {
                abort();
            }
        }
        sq_cron_free(c);
    }
    free(s);
    return 0;
}
