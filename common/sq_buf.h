/* SPDX-License-Identifier: MIT
 *
 * sq_buf.h: a growable byte buffer with a hard size limit (curl dynbuf).
 * Always NUL-terminated for text users; may hold NUL bytes.
 */
#ifndef SQ_BUF_H
#define SQ_BUF_H

#include <stddef.h>

struct sq_buf {
    char *data;   /* NULL until the first append */
    size_t len;   /* bytes used, without the trailing NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* appends past this many bytes fail; 0 = 1 GiB */
};

/* Initialise an empty buffer that may grow to `limit` bytes (0: 1 GiB). */
void sq_buf_init(struct sq_buf *b, size_t limit);
/* Free the storage; the buffer is empty and reusable afterwards. */
void sq_buf_cleanup(struct sq_buf *b);
/* Empty the buffer, keeping its storage. */
void sq_buf_reset(struct sq_buf *b);
/* Append bytes. Returns 0, or -1 on allocation failure or limit (the
 * buffer is unchanged then). */
int sq_buf_add(struct sq_buf *b, const void *p, size_t n);
int sq_buf_adds(struct sq_buf *b, const char *s);
/* Make room for `n` more bytes in one allocation, so the appends that
 * follow do not grow the buffer step by step. Returns 0, or -1 on
 * allocation failure or limit (the buffer is unchanged then). */
int sq_buf_reserve(struct sq_buf *b, size_t n);
int sq_buf_printf(struct sq_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Take the storage (caller frees with sq_free); the buffer becomes empty.
 * Returns "" (owned) for an empty buffer, NULL on allocation failure. */
char *sq_buf_steal(struct sq_buf *b);

#endif
