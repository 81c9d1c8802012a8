/* SPDX-License-Identifier: MIT
 *
 * fuzz_mon_query.c: the monitor server's percent-decoder and its query
 * numbers (limit, offset) on any bytes. Input: "<to decode>\n<number>".
 * The decoded text is never longer than the input and is left whole when
 * it holds %00; a number is accepted only as digits within its bounds.
 */
#include "monitor/mon_route.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_number(const char *s)
{
    long v = -1;

    if (sq_mon_query_num(s, 0, 1000000, &v)) {
        char back[32];
        if (v < 0 || v > 1000000 || strspn(s, "0123456789") != strlen(s)) {
            abort();
        }
        snprintf(back, sizeof back, "%ld", v);
        if (strcmp(back, s + strspn(s, "0") - (v == 0 ? 1 : 0)) != 0 &&
            v != 0) {
            abort(); /* same value as written, leading zeros aside */
        }
    }
    if (sq_mon_query_num(s, 1, 500, &v) && (v < 1 || v > 500)) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *nl;
    size_t before, after;

    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    nl = strchr(buf, '\n');
    if (nl != NULL) {
        *nl = '\0';
        check_number(nl + 1);
    }
    before = strlen(buf);
    after = sq_mon_unescape(buf);
    if (after > before || after != strlen(buf)) {
        abort();
    }
    free(buf);
    return 0;
}
