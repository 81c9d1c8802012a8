/* SPDX-License-Identifier: MIT
 *
 * bp_reader.c: streaming readers of the batch_processing pack (bp.h):
 * lines (JSONL) and RFC 4180 CSV records, over a fixed 256 KiB read
 * buffer, with the byte offset and line number of every record so an
 * import can commit "everything before offset X" and resume there. A
 * malformed record is reported and skipped up to the end of its line;
 * the next call carries on, so one bad row never ends a file. Limits:
 * BP_MAX_RECORD bytes a record, BP_MAX_FIELDS fields.
 */
#include "batch_processing/bp.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define READ_BUF (256 * 1024)

int
bp_reader_open(struct bp_reader *r, const char *path, int64_t offset,
               int64_t line, syncq_error *err)
{
    memset(r, 0, sizeof *r);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        return sq_fail_errno(err, e == ENOENT ? SYNCQ_ENOTFOUND : SYNCQ_EIO,
                             "cannot open %s: %s", path, strerror(e));
    }
    if (offset > 0 && lseek(r->fd, (off_t)offset, SEEK_SET) != offset) {
        int rc = sq_fail_errno(err, SYNCQ_EIO, "cannot seek %s to %lld: %s",
                               path, (long long)offset, strerror(errno));
        close(r->fd);
        r->fd = -1;
        return rc;
    }
    r->buf = sq_malloc(READ_BUF);
    if (r->buf == NULL) {
        close(r->fd);
        r->fd = -1;
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory opening %s", path);
    }
    r->cap = READ_BUF;
    r->offset = offset;
    r->line = line > 0 ? line : 1;
    return SYNCQ_OK;
}

int
bp_reader_open_mem(struct bp_reader *r, const void *data, size_t len,
                   syncq_error *err)
{
    (void)err;
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->buf = (char *)data;
    r->cap = len;
    r->end = len;
    r->line = 1;
    r->eof = true;
    r->borrowed = true;
    return SYNCQ_OK;
}

void
bp_reader_close(struct bp_reader *r)
{
    if (r->fd >= 0) {
        close(r->fd);
    }
    if (!r->borrowed) {
        sq_free(r->buf);
    }
    sq_free(r->rec);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* Refill: 1 bytes available, 0 end of input, -1 read error. */
static int
fill(struct bp_reader *r)
{
    ssize_t n;

    if (r->pos < r->end) {
        return 1;
    }
    if (r->eof) {
        return 0;
    }
    do {
        n = read(r->fd, r->buf, r->cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -1;
    }
    r->pos = 0;
    r->end = (size_t)n;
    if (n == 0) {
        r->eof = true;
        return 0;
    }
    return 1;
}

/* Next byte, -1 at the end, -2 on a read error. */
static inline int
getb(struct bp_reader *r)
{
    unsigned char c;

    if (r->pos == r->end) {
        int f = fill(r);
        if (f <= 0) {
            return f == 0 ? -1 : -2;
        }
    }
    c = (unsigned char)r->buf[r->pos++];
    r->offset++;
    if (c == '\n') {
        r->line++;
    }
    return c;
}

/* Peek at the next byte without consuming it (-1 at the end). */
static int
peekb(struct bp_reader *r)
{
    if (r->pos == r->end && fill(r) <= 0) {
        return -1;
    }
    return (unsigned char)r->buf[r->pos];
}

static int
rec_add(struct bp_reader *r, const char *p, size_t n)
{
    if (r->rec_len + n > BP_MAX_RECORD) {
        return -1;
    }
    if (r->rec_len + n + 1 > r->rec_cap) {
        size_t cap = r->rec_cap ? r->rec_cap : 4096;
        char *nb;
        while (cap < r->rec_len + n + 1) {
            cap *= 2;
        }
        nb = sq_realloc(r->rec, cap);
        if (nb == NULL) {
            return -2;
        }
        r->rec = nb;
        r->rec_cap = cap;
    }
    memcpy(r->rec + r->rec_len, p, n);
    r->rec_len += n;
    r->rec[r->rec_len] = '\0';
    return 0;
}

int
bp_next_line(struct bp_reader *r, syncq_error *err)
{
    bool too_long = false;
    bool any = false;

    r->rec_len = 0;
    r->nfields = 0;
    r->rec_line = r->line;
    r->rec_offset = r->offset;
    if (r->rec != NULL) {
        r->rec[0] = '\0';
    }
    for (;;) {
        char *start;
        char *nl;
        size_t chunk;
        int f = fill(r);
        if (f < 0) {
            return sq_fail_errno(err, SYNCQ_EIO, "read error: %s",
                                 strerror(errno));
        }
        if (f == 0) {
            if (!any) {
                return 0;
            }
            break;
        }
        any = true;
        start = r->buf + r->pos;
        nl = memchr(start, '\n', r->end - r->pos);
        chunk = nl != NULL ? (size_t)(nl - start) : r->end - r->pos;
        if (!too_long) {
            int a = rec_add(r, start, chunk);
            if (a == -2) {
                return sq_fail(err, SYNCQ_ENOMEM,
                               "out of memory reading "
                               "line %lld",
                               (long long)r->rec_line);
            }
            too_long = a == -1;
        }
        r->pos += chunk;
        r->offset += (int64_t)chunk;
        if (nl != NULL) {
            r->pos++;
            r->offset++;
            r->line++;
            break;
        }
    }
    if (too_long) {
        r->rec_len = 0;
        return sq_fail(err, SYNCQ_ETOOBIG, "line %lld is over %d bytes",
                       (long long)r->rec_line, BP_MAX_RECORD);
    }
    if (r->rec_len > 0 && r->rec[r->rec_len - 1] == '\r') {
        r->rec[--r->rec_len] = '\0';
    }
    if (r->rec == NULL && rec_add(r, "", 0) != 0) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    return 1;
}

/* Skip to just after the next newline (resynchronise after an error). */
static void
skip_line(struct bp_reader *r)
{
    int c;

    do {
        c = getb(r);
    } while (c >= 0 && c != '\n');
}

enum csv_state { F_START, F_PLAIN, F_QUOTED, F_QUOTE_END };

static int
end_field(struct bp_reader *r, size_t start)
{
    if (r->nfields == BP_MAX_FIELDS) {
        return -1;
    }
    r->fstart[r->nfields] = start;
    r->flen[r->nfields] = r->rec_len - start;
    r->nfields++;
    return 0;
}

static int
csv_record(struct bp_reader *r, syncq_error *err)
{
    enum csv_state st = F_START;
    size_t fstart = 0;
    bool any = false;
    bool quoted_any = false;
    char ch;
    int c;

    r->rec_len = 0;
    r->nfields = 0;
    r->rec_line = r->line;
    r->rec_offset = r->offset;
    if (rec_add(r, "", 0) != 0) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (;;) {
        c = getb(r);
        if (c == -2) {
            return sq_fail_errno(err, SYNCQ_EIO, "read error: %s",
                                 strerror(errno));
        }
        if (c == -1) {
            if (!any) {
                return 0;
            }
            if (st == F_QUOTED) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "line %lld: quoted field "
                               "not closed before the end of the file",
                               (long long)r->rec_line);
            }
            break;
        }
        any = true;
        if (c == '\r' && st != F_QUOTED && peekb(r) == '\n') {
            continue; /* CRLF line end */
        }
        switch (st) {
        case F_START:
        case F_PLAIN:
            if (c == ',' || c == '\n') {
                if (end_field(r, fstart) != 0) {
                    goto too_many;
                }
                fstart = r->rec_len;
                if (c == '\n') {
                    goto done;
                }
                st = F_START;
                continue;
            }
            if (c == '"') {
                if (st == F_PLAIN) {
                    skip_line(r);
                    return sq_fail(err, SYNCQ_EINVAL,
                                   "line %lld: quote "
                                   "inside an unquoted field (field %d)",
                                   (long long)r->rec_line, r->nfields + 1);
                }
                st = F_QUOTED;
                quoted_any = true;
                continue;
            }
            st = F_PLAIN;
            break;
        case F_QUOTED:
            if (c == '"') {
                st = F_QUOTE_END;
                continue;
            }
            break;
        case F_QUOTE_END:
            if (c == '"') {
                st = F_QUOTED; /* "" is one quote */
                break;
            }
            if (c == ',' || c == '\n') {
                if (end_field(r, fstart) != 0) {
                    goto too_many;
                }
                fstart = r->rec_len;
                if (c == '\n') {
                    goto done;
                }
                st = F_START;
                continue;
            }
            skip_line(r);
            return sq_fail(err, SYNCQ_EINVAL,
                           "line %lld: text after a "
                           "closing quote (field %d)",
                           (long long)r->rec_line, r->nfields + 1);
        }
        ch = (char)c;
        {
            int a = rec_add(r, &ch, 1);
            if (a == -2) {
                return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
            }
            if (a == -1) {
                if (st != F_QUOTED) {
                    skip_line(r);
                }
                return sq_fail(err, SYNCQ_ETOOBIG,
                               "line %lld: record over "
                               "%d bytes",
                               (long long)r->rec_line, BP_MAX_RECORD);
            }
        }
    }
    if (end_field(r, fstart) != 0) {
        goto too_many;
    }
done:
    if (r->nfields == 1 && r->flen[0] == 0 && !quoted_any) {
        return 2; /* an empty line */
    }
    return 1;
too_many:
    if (c != '\n') {
        skip_line(r);
    }
    return sq_fail(err, SYNCQ_EINVAL, "line %lld: more than %d fields",
                   (long long)r->rec_line, BP_MAX_FIELDS);
}

int
bp_next_csv(struct bp_reader *r, syncq_error *err)
{
    int rc;

    do {
        rc = csv_record(r, err);
    } while (rc == 2);
    return rc;
}

const char *
bp_field(const struct bp_reader *r, int i)
{
    return r->rec + r->fstart[i];
}

int64_t
bp_reader_tell(const struct bp_reader *r)
{
    return r->offset;
}
