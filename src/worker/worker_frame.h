/* SPDX-License-Identifier: MIT
 *
 * worker_frame.h: the messages a worker supervisor and its children
 * exchange over their pipes. A frame is
 *
 *     u32 length (little-endian, bytes after this word)
 *     u8  type   (SQ_FRAME_*)
 *     then fields: u8 tag (SQ_F_*), u32 length (LE), that many bytes
 *
 * Fields may hold any bytes (JSON with NUL escapes, binary); a decoder
 * borrows them from the input buffer. The decoder checks every length
 * against the bytes present and a caller-given frame limit, so a corrupt
 * or hostile stream yields SYNCQ_EPROTO, never a read past the buffer.
 * Knows nothing of processes or Redis.
 */
#ifndef SQ_WORKER_FRAME_H
#define SQ_WORKER_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

#include "sq_buf.h"

/* Frame types. */
enum sq_frame_type {
    SQ_FRAME_READY = 'R', /* child -> supervisor: started (pid, rss) */
    SQ_FRAME_TASK = 'T',  /* supervisor -> child: run this task */
    SQ_FRAME_DONE = 'D'   /* child -> supervisor: outcome of the task */
};

/* Field tags (small integers, one slot each in struct sq_frame). */
enum sq_frame_tag {
    SQ_F_ID = 1,       /* task id */
    SQ_F_TOKEN,        /* lease token */
    SQ_F_NAME,         /* task name */
    SQ_F_QUEUE,        /* queue */
    SQ_F_ARGS,         /* JSON array text as stored (the child checks) */
    SQ_F_KWARGS,       /* JSON object text as stored (the child checks) */
    SQ_F_ATTEMPT,      /* decimal */
    SQ_F_RETRIES,      /* decimal */
    SQ_F_MAXR,         /* decimal; -1 unset */
    SQ_F_POLICY,       /* per-call retry policy JSON */
    SQ_F_BATCH,        /* batch id */
    SQ_F_PARENT,       /* parent task id */
    SQ_F_ROOT,         /* root task id */
    SQ_F_KIND,         /* DONE: ok | fail | retry */
    SQ_F_RESULT,       /* DONE ok: result JSON text */
    SQ_F_CLASS,        /* DONE fail/retry: error class name */
    SQ_F_MSG,          /* DONE fail/retry: message */
    SQ_F_RUNTIME,      /* DONE: runtime in ms */
    SQ_F_DELAY,        /* DONE retry: delay in ms */
    SQ_F_DEAD,         /* DONE fail: "1" when the policy dead-letters */
    SQ_F_RSS,          /* READY/DONE: child RSS in KB */
    SQ_F_PID,          /* READY: child pid */
    SQ_F_STOPPED,      /* DONE: "1" if the task saw a stop request */
    SQ_F__COUNT
};

/* Hard cap of one frame whatever the configuration says (1 GiB). */
#define SQ_FRAME_MAX_LIMIT ((size_t)1 << 30)

struct sq_frame_field {
    const char *p; /* borrowed from the decoded buffer; NULL if absent */
    size_t n;
};

/* A decoded frame. Field pointers borrow the input buffer. */
struct sq_frame {
    int type;
    struct sq_frame_field f[SQ_F__COUNT];
};

/* Start a frame of `type` in `b` (appended; b may hold earlier frames).
 * Returns the offset of its length word for sq_frame_end, or (size_t)-1
 * when the buffer cannot grow. */
size_t sq_frame_begin(struct sq_buf *b, int type);

/* Append a field. Returns 0, or -1 (out of memory or buffer limit). */
int sq_frame_add(struct sq_buf *b, int tag, const void *p, size_t n);
int sq_frame_adds(struct sq_buf *b, int tag, const char *s);
int sq_frame_addll(struct sq_buf *b, int tag, long long v);

/* Patch the length word of the frame begun at `start`. Returns 0, or -1
 * if the frame is over SQ_FRAME_MAX_LIMIT. */
int sq_frame_end(struct sq_buf *b, size_t start);

/* Decode the frame at the start of `buf` (`len` bytes available).
 * Returns 1 with *out filled and *used = its size, 0 if more bytes are
 * needed (nothing consumed), or SYNCQ_EPROTO (err says why: over `limit`
 * bytes, bad type, field running past the frame, unknown tag, repeated
 * tag). The stream cannot be resynchronised after an error. */
int sq_frame_parse(const char *buf, size_t len, size_t limit,
                   struct sq_frame *out, size_t *used, syncq_error *err);

/* Copy field `tag` into `dst` (cap bytes, NUL-terminated, truncated).
 * Absent fields give "". Returns dst. */
const char *sq_frame_str(const struct sq_frame *f, int tag, char *dst,
                         size_t cap);

/* Field `tag` as a decimal integer; `def` if absent or not a number. */
long long sq_frame_ll(const struct sq_frame *f, int tag, long long def);

/* True if field `tag` is present. */
bool sq_frame_has(const struct sq_frame *f, int tag);

#endif
