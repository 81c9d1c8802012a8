/* SPDX-License-Identifier: MIT
 *
 * sq_utf8.c: UTF-8 validation (RFC 3629 table 3-7 of Unicode 15, ch. 3).
 */
#include "sq_utf8.h"

#include <string.h>

/* Length of the valid sequence at s[0..len), or 0 if it is invalid. */
static size_t
seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return (len >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = (c == 0xE0) ? 0xA0 : 0x80;
        unsigned char hi = (c == 0xED) ? 0x9F : 0xBF;
        if (len < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = (c == 0xF0) ? 0x90 : 0x80;
        unsigned char hi = (c == 0xF4) ? 0x8F : 0xBF;
        if (len < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
            (s[3] & 0xC0) != 0x80) {
            return 0;
        }
        return 4;
    }
    return 0;
}

bool
sq_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = seq_len(p + i, len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

size_t
sq_utf8_sanitize(const char *s, size_t len, char *out, size_t cap)
{
    static const char repl[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    size_t o = 0;

    if (cap == 0) {
        return 0;
    }
    while (i < len) {
        size_t n = seq_len(p + i, len - i);
        const char *src = (const char *)(p + i);
        size_t w = n;
        if (n == 0 || p[i] == 0) {
            src = repl;
            w = 3;
            n = 1;
        }
        if (o + w + 1 > cap) {
            break;
        }
        memcpy(out + o, src, w);
        o += w;
        i += n;
    }
    out[o] = '\0';
    return o;
}
