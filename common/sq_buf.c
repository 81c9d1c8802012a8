/* SPDX-License-Identifier: MIT
 *
 * sq_buf.c: growable buffer.
 */
#include "sq_buf.h"
#include "sq_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_LIMIT ((size_t)1 << 30)

void
sq_buf_init(struct sq_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit ? limit : DEFAULT_LIMIT;
}

void
sq_buf_cleanup(struct sq_buf *b)
{
    sq_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
sq_buf_reset(struct sq_buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

static int
grow(struct sq_buf *b, size_t need)
{
    size_t cap;
    char *p;

    if (need > b->limit) {
        return -1;
    }
    if (need + 1 <= b->cap) {
        return 0;
    }
    cap = b->cap ? b->cap : 64;
    while (cap < need + 1) {
        cap *= 2;
    }
    p = sq_realloc(b->data, cap);
    if (p == NULL) {
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int
sq_buf_add(struct sq_buf *b, const void *p, size_t n)
{
    if (n > b->limit || grow(b, b->len + n) != 0) {
        return -1;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
sq_buf_reserve(struct sq_buf *b, size_t n)
{
    return n > b->limit ? -1 : grow(b, b->len + n);
}

int
sq_buf_adds(struct sq_buf *b, const char *s)
{
    return sq_buf_add(b, s, strlen(s));
}

int
sq_buf_printf(struct sq_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, b->len + (size_t)n) != 0) {
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *
sq_buf_steal(struct sq_buf *b)
{
    char *p = b->data;

    if (p == NULL) {
        p = sq_strdup("");
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
