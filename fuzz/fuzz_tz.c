/* SPDX-License-Identifier: MIT
 *
 * fuzz_tz.c: the TZif reader and the POSIX TZ rule parser on any bytes
 * (zone files are read from disk; rules come from a TZif footer or a
 * setting). First byte even: the rest is TZif; odd: a POSIX rule. A zone
 * that parses answers offsets within +-26 h and conversions both ways
 * without a crash, however odd its data.
 */
#include "core/sq_tz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
exercise(const struct sq_tz *z)
{
    static const int64_t at[] = {-2208988800LL, 0, 1700000000LL,
                                 4102444800LL, 253402300799LL};
    int64_t t, pair[2];
    struct tm tm;

    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        long off = sq_tz_offset_at(z, at[i]);
        if (off < -26 * 3600 || off > 26 * 3600) {
            abort();
        }
        (void)sq_tz_to_local(z, at[i], &tm);
        (void)sq_tz_next_transition(z, at[i], &t, NULL, NULL);
        (void)sq_tz_prev_transition(z, at[i], &t, NULL, NULL);
        (void)sq_tz_from_civil(z, at[i] + off, pair);
    }
    (void)sq_tz_from_local(z, 2026, 3, 29, 2, 30, 0, pair);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sq_tz *z = NULL;
    syncq_error err;

    if (size == 0) {
        return 0;
    }
    if ((data[0] & 1) == 0) {
        if (sq_tz_parse_tzif("fuzz", data + 1, size - 1, &z, &err) ==
            SYNCQ_OK) {
            exercise(z);
        }
    } else {
        char *rule = malloc(size);
        if (rule == NULL) {
            return 0;
        }
        memcpy(rule, data + 1, size - 1);
        rule[size - 1] = '\0';
        if (sq_tz_parse_posix(rule, &z, &err) == SYNCQ_OK) {
            exercise(z);
        }
        free(rule);
    }
    sq_tz_free(z);
    return 0;
}
