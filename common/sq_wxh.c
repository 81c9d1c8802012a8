/* SPDX-License-Identifier: MIT
 *
 * sq_wxh.c: "220x220,400x400" size lists.
 */
#include "sq_wxh.h"
#include "sq_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
sq_wxh_parse(const char *s, struct sq_wxh *out)
{
    char *end = NULL;
    long w;
    long h;

    out->w = out->h = 0;
    w = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X')) {
        return false;
    }
    s = end + 1;
    h = strtol(s, &end, 10);
    if (end == s || *end != '\0') {
        return false;
    }
    if (w < SQ_WXH_MIN || w > SQ_WXH_MAX || h < SQ_WXH_MIN ||
        h > SQ_WXH_MAX) {
        return false;
    }
    out->w = (int)w;
    out->h = (int)h;
    return true;
}

int
sq_wxh_list_parse(const char *text, struct sq_wxh *out, int max, int *n,
                  syncq_error *err)
{
    const char *p = text != NULL ? text : "";

    *n = 0;
    while (*p != '\0') {
        char tok[48];
        size_t len;
        p += strspn(p, ", ");
        len = strcspn(p, ", ");
        if (len == 0) {
            break;
        }
        snprintf(tok, sizeof tok, "%.*s", (int)(len < 47 ? len : 47), p);
        if (*n == max || len > 40 || !sq_wxh_parse(tok, &out[*n])) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "size '%.40s' is not WxH with sides %d..%d (at "
                           "most %d sizes)",
                           tok, SQ_WXH_MIN, SQ_WXH_MAX, max);
        }
        (*n)++;
        p += len;
    }
    if (*n == 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "no size given (expected e.g. 220x220,400x400)");
    }
    return SYNCQ_OK;
}
