/* SPDX-License-Identifier: MIT
 *
 * mon_session.c: signed, expiring session cookies of the dashboard
 * (mon_session.h). Stateless: the MAC is keyed with the token itself.
 */
#include "monitor/mon_session.h"
#include "sq_hash.h"
#include "sq_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Constant-time equality of two strings of `n` bytes. */
static bool
same_n(const char *a, const char *b, size_t n)
{
    unsigned char d = 0;

    for (size_t i = 0; i < n; i++) {
        d |= (unsigned char)(a[i] ^ b[i]);
    }
    return d == 0;
}

static bool
same_str(const char *a, const char *b)
{
    size_t n = strlen(a);

    return n == strlen(b) && same_n(a, b, n);
}

void
sq_session_make(char level, int64_t exp_s, const char *key,
                char out[SQ_SESSION_MAX])
{
    char body[48], mac[65];
    int n = snprintf(body, sizeof body, "v1.%c.%lld", level,
                     (long long)exp_s);

    sq_hmac_sha256_hex(key, strlen(key), body, (size_t)n, mac);
    snprintf(out, SQ_SESSION_MAX, "%s.%s", body, mac);
}

/* The value of cookie `name` in a Cookie header into out[cap]; false
 * when absent or too long. */
static bool
cookie_value(const char *hdr, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = hdr;

    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == ';') {
            p++;
        }
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = strcspn(v, "; ");
            if (vl == 0 || vl >= cap) {
                return false;
            }
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

/* Does `value` carry a valid MAC under `key`, not expired at now_s? */
static bool
valid_under(const char *value, const char *key, int64_t now_s)
{
    char want[SQ_SESSION_MAX];
    const char *dot3;
    char *end;
    long long exp;

    if (key[0] == '\0' || strncmp(value, "v1.", 3) != 0 ||
        (value[3] != 'r' && value[3] != 'w') || value[4] != '.') {
        return false;
    }
    exp = strtoll(value + 5, &end, 10);
    dot3 = end;
    if (end == value + 5 || *dot3 != '.' || exp <= now_s) {
        return false;
    }
    sq_session_make(value[3], exp, key, want);
    /* a failed HMAC (OpenSSL missing) gives zeros: never accept them */
    if (strstr(want, "0000000000000000000000000000000000000000") != NULL) {
        return false;
    }
    return same_str(want, value);
}

char
sq_session_check(const char *cookie_header, const char *read_token,
                 const char *write_token, int64_t now_s)
{
    char v[SQ_SESSION_MAX];

    if (cookie_header == NULL ||
        !cookie_value(cookie_header, SQ_SESSION_COOKIE, v, sizeof v)) {
        return 0;
    }
    if (v[3] == 'w' && valid_under(v, write_token, now_s)) {
        return 'w';
    }
    if (v[3] == 'r' && valid_under(v, read_token, now_s)) {
        return 'r';
    }
    return 0;
}

char
sq_session_level_of(const char *given, const char *read_token,
                    const char *write_token)
{
    if (given == NULL || given[0] == '\0') {
        return 0;
    }
    if (write_token[0] != '\0' && same_str(given, write_token)) {
        return 'w';
    }
    if (read_token[0] != '\0' && same_str(given, read_token)) {
        return 'r';
    }
    return 0;
}

bool
sq_session_form_field(const char *body, size_t len, const char *name,
                      char *out, size_t cap)
{
    size_t nl = strlen(name);
    size_t i = 0;

    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&') {
            end++;
        }
        if (end - i > nl && memcmp(body + i, name, nl) == 0 &&
            body[i + nl] == '=') {
            size_t w = 0;
            for (size_t k = i + nl + 1; k < end; k++) {
                int c = (unsigned char)body[k];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%' && k + 2 < end + 1 && k + 2 < len &&
                           sq_hexval(body[k + 1]) >= 0 &&
                           sq_hexval(body[k + 2]) >= 0) {
                    c = sq_hexval(body[k + 1]) * 16 + sq_hexval(body[k + 2]);
                    k += 2;
                }
                if (c < 0x20 || c == 0x7f || w + 1 >= cap) {
                    return false;
                }
                out[w++] = (char)c;
            }
            out[w] = '\0';
            return true;
        }
        i = end + 1;
    }
    return false;
}

bool
sq_session_next_ok(const char *next)
{
    size_t n;

    if (next == NULL || next[0] != '/' || next[1] == '/' ||
        next[1] == '\\') {
        return false;
    }
    n = strlen(next);
    if (n >= 512) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)next[i];
        if (c < 0x21 || c > 0x7e || c == '\\') {
            return false;
        }
    }
    return true;
}
