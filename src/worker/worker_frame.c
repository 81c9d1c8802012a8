/* SPDX-License-Identifier: MIT
 *
 * worker_frame.c: encode and decode supervisor <-> child pipe frames
 * (format in worker_frame.h). Little-endian lengths are written byte by
 * byte so the code has no alignment or endianness assumptions. The
 * decoder trusts nothing: every length is checked before use.
 */
#include "worker/worker_frame.h"
#include "sq_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

static uint32_t
get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

size_t
sq_frame_begin(struct sq_buf *b, int type)
{
    unsigned char hdr[5] = {0, 0, 0, 0, (unsigned char)type};
    size_t start = b->len;

    if (sq_buf_add(b, hdr, sizeof hdr) != 0) {
        return (size_t)-1;
    }
    return start;
}

int
sq_frame_add(struct sq_buf *b, int tag, const void *p, size_t n)
{
    unsigned char hdr[5];

    if (n > SQ_FRAME_MAX_LIMIT) {
        return -1;
    }
    hdr[0] = (unsigned char)tag;
    put_u32(hdr + 1, (uint32_t)n);
    if (sq_buf_add(b, hdr, sizeof hdr) != 0) {
        return -1;
    }
    if (n > 0 && sq_buf_add(b, p, n) != 0) {
        b->len -= sizeof hdr; /* leave the buffer as it was */
        b->data[b->len] = '\0';
        return -1;
    }
    return 0;
}

int
sq_frame_adds(struct sq_buf *b, int tag, const char *s)
{
    if (s == NULL) {
        return 0; /* absent field */
    }
    return sq_frame_add(b, tag, s, strlen(s));
}

int
sq_frame_addll(struct sq_buf *b, int tag, long long v)
{
    /* by hand: snprintf was a twentieth of the supervisor's instructions
     * per task (three numbers a frame) */
    char num[24];
    char *p = num + sizeof num;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        *--p = '-';
    }
    return sq_frame_add(b, tag, p, (size_t)(num + sizeof num - p));
}

int
sq_frame_end(struct sq_buf *b, size_t start)
{
    size_t body;

    if (start == (size_t)-1 || start + 4 > b->len) {
        return -1;
    }
    body = b->len - start - 4;
    if (body > SQ_FRAME_MAX_LIMIT) {
        return -1;
    }
    put_u32((unsigned char *)b->data + start, (uint32_t)body);
    return 0;
}

int
sq_frame_parse(const char *buf, size_t len, size_t limit, struct sq_frame *out,
               size_t *used, syncq_error *err)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t body, pos;

    memset(out, 0, sizeof *out);
    *used = 0;
    if (limit == 0 || limit > SQ_FRAME_MAX_LIMIT) {
        limit = SQ_FRAME_MAX_LIMIT;
    }
    if (len < 4) {
        return 0;
    }
    body = get_u32(p);
    if (body < 1) {
        return sq_fail(err, SYNCQ_EPROTO, "empty frame");
    }
    if (body > limit) {
        return sq_fail(err, SYNCQ_EPROTO, "frame of %zu bytes over the "
                       "limit of %zu", body, limit);
    }
    if (len - 4 < body) {
        return 0;
    }
    out->type = p[4];
    if (out->type != SQ_FRAME_READY && out->type != SQ_FRAME_TASK &&
        out->type != SQ_FRAME_DONE) {
        return sq_fail(err, SYNCQ_EPROTO, "unknown frame type 0x%02x",
                       (unsigned)out->type);
    }
    pos = 5;
    while (pos < 4 + body) {
        size_t left = 4 + body - pos;
        unsigned tag;
        size_t n;
        if (left < 5) {
            return sq_fail(err, SYNCQ_EPROTO, "truncated field header at "
                           "byte %zu", pos);
        }
        tag = p[pos];
        n = get_u32(p + pos + 1);
        if (tag == 0 || tag >= SQ_F__COUNT) {
            return sq_fail(err, SYNCQ_EPROTO, "unknown field tag %u", tag);
        }
        if (n > left - 5) {
            return sq_fail(err, SYNCQ_EPROTO, "field %u of %zu bytes runs "
                           "past the frame", tag, n);
        }
        if (out->f[tag].p != NULL) {
            return sq_fail(err, SYNCQ_EPROTO, "field %u repeated", tag);
        }
        out->f[tag].p = buf + pos + 5;
        out->f[tag].n = n;
        pos += 5 + n;
    }
    *used = 4 + body;
    return 1;
}

const char *
sq_frame_str(const struct sq_frame *f, int tag, char *dst, size_t cap)
{
    size_t n;

    if (cap == 0) {
        return dst;
    }
    if (tag <= 0 || tag >= SQ_F__COUNT || f->f[tag].p == NULL) {
        dst[0] = '\0';
        return dst;
    }
    n = f->f[tag].n < cap - 1 ? f->f[tag].n : cap - 1;
    memcpy(dst, f->f[tag].p, n);
    dst[n] = '\0';
    return dst;
}

long long
sq_frame_ll(const struct sq_frame *f, int tag, long long def)
{
    char num[32];
    char *end = NULL;
    long long v;

    if (!sq_frame_has(f, tag) || f->f[tag].n == 0 ||
        f->f[tag].n >= sizeof num) {
        return def;
    }
    sq_frame_str(f, tag, num, sizeof num);
    errno = 0;
    v = strtoll(num, &end, 10);
    if (errno != 0 || end == num || *end != '\0') {
        return def;
    }
    return v;
}

bool
sq_frame_has(const struct sq_frame *f, int tag)
{
    return tag > 0 && tag < SQ_F__COUNT && f->f[tag].p != NULL;
}
