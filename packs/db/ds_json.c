/* SPDX-License-Identifier: MIT
 *
 * ds_json.c: parsing stored or imported JSON text so that a failed
 * allocation is never mistaken for a bad record. jansson 2.14 reports an
 * allocation failure inside the parser as a syntax error ("string or '}'
 * expected") or with an empty message, so when json_loadb fails the text
 * is checked again by a small validator that allocates nothing: valid
 * text means the parser ran out of memory (the caller retries later);
 * invalid text is a bad record (reported, skipped). The validator accepts
 * what jansson accepts with its default flags: RFC 8259 JSON, UTF-8, no
 * \u0000, integers that fit in 64 bits, nesting up to 2048.
 */
#include "db/ds_util.h"
#include "core/sq_error.h"
#include "core/sq_utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2048

struct vp {
    const char *s;
    size_t n;
    size_t i;
};

static void
ws(struct vp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
                           p->s[p->i] == '\n' || p->s[p->i] == '\r')) {
        p->i++;
    }
}

static bool
hex4(struct vp *p, unsigned *out)
{
    unsigned v = 0;

    if (p->i + 4 > p->n) {
        return false;
    }
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return false;
        }
    }
    *out = v;
    return true;
}

static bool
string(struct vp *p)
{
    size_t start;

    if (p->i >= p->n || p->s[p->i] != '"') {
        return false;
    }
    p->i++;
    start = p->i;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            bool ok = sq_utf8_valid(p->s + start, p->i - start);
            p->i++;
            return ok;
        }
        if (c < 0x20) {
            return false;
        }
        if (c != '\\') {
            p->i++;
            continue;
        }
        p->i++;
        if (p->i >= p->n) {
            return false;
        }
        c = (unsigned char)p->s[p->i++];
        if (c == 'u') {
            unsigned u;
            if (!hex4(p, &u) || u == 0) {
                return false;
            }
            if (u >= 0xd800 && u <= 0xdbff) {
                unsigned lo;
                if (p->i + 2 > p->n || p->s[p->i] != '\\' ||
                    p->s[p->i + 1] != 'u') {
                    return false;
                }
                p->i += 2;
                if (!hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                    return false;
                }
            } else if (u >= 0xdc00 && u <= 0xdfff) {
                return false;
            }
        } else if (strchr("\"\\/bfnrt", (int)c) == NULL || c == '\0') {
            return false;
        }
    }
    return false;
}

static bool
number(struct vp *p)
{
    size_t digits = 0;
    size_t start = p->i;
    bool real = false;
    bool neg = false;

    if (p->s[p->i] == '-') {
        neg = true;
        p->i++;
    }
    if (p->i >= p->n) {
        return false;
    }
    if (p->s[p->i] == '0') {
        p->i++;
        digits = 1;
    } else if (p->s[p->i] >= '1' && p->s[p->i] <= '9') {
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            p->i++;
            digits++;
        }
    } else {
        return false;
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        size_t f = 0;
        real = true;
        p->i++;
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            p->i++;
            f++;
        }
        if (f == 0) {
            return false;
        }
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        size_t e = 0;
        real = true;
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) {
            p->i++;
        }
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            p->i++;
            e++;
        }
        if (e == 0) {
            return false;
        }
    }
    if (real) {
        /* jansson refuses a real that overflows to infinity. */
        char buf[350];
        size_t len = p->i - start;
        double d;
        if (len >= sizeof buf) {
            return true;
        }
        memcpy(buf, p->s + start, len);
        buf[len] = '\0';
        errno = 0;
        d = strtod(buf, NULL);
        return !(errno == ERANGE && d != 0.0);
    }
    /* jansson refuses integers outside int64 ("too big integer"). */
    if (digits != 19) {
        return digits < 19;
    }
    return memcmp(p->s + p->i - 19,
                  neg ? "9223372036854775808" : "9223372036854775807", 19) <= 0;
}

static bool
literal(struct vp *p, const char *word)
{
    size_t k = strlen(word);

    if (p->n - p->i < k || memcmp(p->s + p->i, word, k) != 0) {
        return false;
    }
    p->i += k;
    return true;
}

static bool
value(struct vp *p, int depth)
{
    ws(p);
    if (p->i >= p->n || depth > MAX_DEPTH) {
        return false;
    }
    switch (p->s[p->i]) {
    case '{':
        p->i++;
        ws(p);
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            return true;
        }
        for (;;) {
            ws(p);
            if (!string(p)) {
                return false;
            }
            ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') {
                return false;
            }
            p->i++;
            if (!value(p, depth + 1)) {
                return false;
            }
            ws(p);
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->n && p->s[p->i] == '}') {
                p->i++;
                return true;
            }
            return false;
        }
    case '[':
        p->i++;
        ws(p);
        if (p->i < p->n && p->s[p->i] == ']') {
            p->i++;
            return true;
        }
        for (;;) {
            if (!value(p, depth + 1)) {
                return false;
            }
            ws(p);
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->n && p->s[p->i] == ']') {
                p->i++;
                return true;
            }
            return false;
        }
    case '"':
        return string(p);
    case 't':
        return literal(p, "true");
    case 'f':
        return literal(p, "false");
    case 'n':
        return literal(p, "null");
    default:
        return number(p);
    }
}

bool
sq_ds_json_valid(const char *s, size_t n)
{
    struct vp p = {s, n, 0};

    /* jansson's root must be an object or an array. */
    ws(&p);
    if (p.i >= p.n || (s[p.i] != '{' && s[p.i] != '[')) {
        return false;
    }
    if (!value(&p, 1)) {
        return false;
    }
    ws(&p);
    return p.i == p.n;
}

int
sq_ds_json_parse(const char *s, size_t n, json_t **out, char *msg, size_t cap,
                 syncq_error *err)
{
    json_error_t jerr;

    *out = NULL;
    if (memchr(s, '\0', n) != NULL) {
        /* jansson silently skips a NUL outside strings: refuse it here
         * so a record never means something its bytes do not say. */
        snprintf(msg, cap, "not JSON: a NUL byte in the text");
        return SYNCQ_EINVAL;
    }
    *out = json_loadb(s, n, 0, &jerr);
    if (*out != NULL) {
        return SYNCQ_OK;
    }
    if (sq_ds_json_valid(s, n)) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing JSON");
    }
    snprintf(msg, cap, "not JSON: %s (line %d, column %d)",
             jerr.text[0] != '\0' ? jerr.text : "syntax error", jerr.line,
             jerr.column);
    return SYNCQ_EINVAL;
}
