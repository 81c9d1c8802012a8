/* SPDX-License-Identifier: MIT
 *
 * fuzz_iso8601.c: any bytes as an ISO 8601 time and as a duration; a
 * parsed time formats back without overflow.
 */
#include "core/sq_time.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    int64_t ms;
    char buf[64];

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if (sq_time_parse_iso8601(s, &ms, NULL) == 0) {
        sq_time_format_iso8601_ms(ms, buf, sizeof buf);
    }
    if (sq_duration_parse_ms(s, &ms, NULL) == 0) {
        sq_duration_format(ms, buf, sizeof buf);
    }
    free(s);
    return 0;
}
