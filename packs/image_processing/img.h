/* SPDX-License-Identifier: MIT
 *
 * img.h: the image_processing pack's building blocks, as plain C:
 *   - the media store: content-addressed files under SYNCQ_MEDIA_DIR
 *     (ab/cd/<sha256>.<ext>, thumbs/, resized/, optimized/), written
 *     atomically (temp file in the same file system, fsync, rename) so a
 *     killed worker child never leaves a half-written image behind;
 *   - libvips work: validation (magic bytes, header, size limit, full
 *     decode to catch truncation), thumbnails (fit or crop), resizing and
 *     re-encoding with metadata stripped. libvips is started lazily in
 *     the process that uses it (never before a fork), with one worker
 *     thread and a small operation cache so a child's RSS stays small;
 *   - downloads with libcurl into a temp file, size-limited, hashed while
 *     they stream.
 * img_ops.c builds the tasks' operations from these; img_tasks.c wraps
 * them as tasks.
 */
#ifndef SQ_IMG_H
#define SQ_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

/* Largest decoded image accepted (pixels): stops decompression bombs. */
#define SQ_IMG_MAX_PIXELS (100LL * 1000 * 1000)

enum sq_img_fmt {
    SQ_IMG_NONE = 0,
    SQ_IMG_JPEG,
    SQ_IMG_PNG,
    SQ_IMG_WEBP,
    SQ_IMG_GIF,
};

/* "jpg" | "png" | "webp" | "gif" ("" for NONE). */
const char *sq_img_fmt_ext(enum sq_img_fmt f);
/* "image/jpeg" ... */
const char *sq_img_fmt_mime(enum sq_img_fmt f);
/* Parse "jpg"/"jpeg"/"png"/"webp" (not gif: never written); NONE for
 * "same" and on anything else (*ok false then). */
enum sq_img_fmt sq_img_fmt_parse(const char *s, bool *ok);
/* The format of a file's first bytes, or NONE. */
enum sq_img_fmt sq_img_sniff(const unsigned char *head, size_t n);
/* Format thumbnails/variants of a `src` image are written in: the same,
 * except GIF -> PNG (one frame, lossless). */
enum sq_img_fmt sq_img_output_fmt(enum sq_img_fmt src, enum sq_img_fmt want);

/* ---- libvips ---------------------------------------------------------- */

/* Start libvips in this process (idempotent). Errors: SYNCQ_EINTERNAL. */
int sq_img_init(syncq_error *err);

struct sq_img_info {
    enum sq_img_fmt fmt;
    int width;
    int height;
};

/* Check that `path` is a whole JPEG/PNG/WebP/GIF: known magic bytes, a
 * readable header, at most SQ_IMG_MAX_PIXELS, and every pixel decodes
 * (a truncated or corrupt file fails here).
 * Errors: SYNCQ_EINVAL (the reason: "not an image", "truncated or
 * corrupt: ...", "too large"), SYNCQ_EIO (cannot read the file). */
int sq_img_validate(const char *path, struct sq_img_info *info,
                    syncq_error *err);

/* Read only the header of `path`: format and size (cheap). Errors:
 * SYNCQ_EINVAL (not a readable image), SYNCQ_EIO. */
int sq_img_header(const char *path, struct sq_img_info *info, syncq_error *err);

/* The format named by a file name's extension, or NONE. */
enum sq_img_fmt sq_img_fmt_of_path(const char *path);

/* Scale `src` into the box w x h: crop fills the box and cuts the
 * overflow around the centre; otherwise the whole image fits inside the
 * box. Never enlarges. Writes `dest` atomically in `fmt` at `quality`
 * (1..100) with metadata stripped. *out gets the result's size, *bytes
 * the file size. The source is expected to be a validated original
 * (sq_img_validate): shrink-on-load does not read every pixel, so a
 * truncated source may scale with a grey tail instead of failing.
 * Errors: SYNCQ_EINVAL (source not an image), SYNCQ_EIO (cannot
 * write). */
int sq_img_scale(const char *src, const char *dest, int w, int h, bool crop,
                 enum sq_img_fmt fmt, int quality, struct sq_img_info *out,
                 int64_t *bytes, syncq_error *err);

/* Re-encode `src` at full size in `fmt` at `quality` with metadata
 * stripped (JPEG also Huffman-optimised and progressive), atomically to
 * `dest`. Errors as sq_img_scale. */
int sq_img_reencode(const char *src, const char *dest, enum sq_img_fmt fmt,
                    int quality, int64_t *bytes, syncq_error *err);

/* ---- media store ------------------------------------------------------ */

/* Relative path of an original: "ab/cd/<sha>.<ext>". */
void sq_img_original_rel(const char *sha, enum sq_img_fmt f, char *out,
                         size_t cap);

/* Join media dir and a relative path. Errors: SYNCQ_EINVAL (too long). */
int sq_img_join(const char *media, const char *rel, char *out, size_t cap,
                syncq_error *err);

/* mkdir -p of the directory part of `path`. Errors: SYNCQ_EIO. */
int sq_img_mkdirs_for(const char *path, syncq_error *err);

/* A new empty temp file in <media>/.tmp: *fd open for writing, its path
 * in `path`. Errors: SYNCQ_EIO. */
int sq_img_temp(const char *media, char *path, size_t cap, int *fd,
                syncq_error *err);

/* Remove temp files in <media>/.tmp older than `max_age_s` (left by
 * workers killed mid-download). Returns how many were removed. */
int sq_img_sweep_tmp(const char *media, int64_t max_age_s);

/* Make `tmp` (already closed) the file `final`: fsync, then rename (the
 * parent directory is created). If `final` already exists, the temp
 * file is removed instead (same content: content addressed).
 * Errors: SYNCQ_EIO. */
int sq_img_commit(const char *tmp, const char *final, syncq_error *err);

/* Size of a regular non-empty file, or -1. */
int64_t sq_img_file_size(const char *path);

/* SHA-256 (hex) and size of a file. Errors: SYNCQ_EIO. */
int sq_img_sha256_file(const char *path, char out[65], int64_t *bytes,
                       syncq_error *err);

/* ---- downloads -------------------------------------------------------- */

struct sq_gate;
struct sq_netallow;
struct syncq_ctx;

struct sq_img_fetch_opts {
    int64_t connect_timeout_ms;
    int64_t timeout_ms;
    int64_t max_bytes; /* larger bodies are refused */
    const char *user_agent;
    struct sq_gate *gate; /* per-host politeness (net/net_gate.h), shared
                             by every worker; NULL: none */
    const struct sq_netallow *allow; /* addresses allowed although not
                                        public (SYNCQ_FETCH_ALLOW); NULL:
                                        none. Every download is guarded
                                        (net/net_guard.h) */
};

struct sq_img_fetch_result {
    long http_status; /* 0 when no response */
    int64_t bytes;
    char sha256[65];
    int error_class;        /* enum syncq_error_class, 0 on success */
    int64_t retry_after_ms; /* wait before asking the host again, or 0 */
    bool deferred;          /* the host is cooling down (nothing sent, or
                               a 429/503 with Retry-After answered): not
                               a failure of the image */
    bool refused;           /* the guard refused the address */
    char error[256];
};

/* Image downloads of the task of `ctx`: the per-host gate with
 * SYNCQ_IMAGE_RATE and SYNCQ_IMAGE_CONCURRENCY, waits in place up to
 * SYNCQ_CRAWLER_MAX_WAIT, and the allow-list SYNCQ_FETCH_ALLOW, into
 * o->gate and o->allow (process-wide state, valid until the next call).
 * Errors: SYNCQ_EINVAL (a bad setting, named). */
int sq_img_fetch_setup(struct sq_img_fetch_opts *o, struct syncq_ctx *ctx,
                       syncq_error *err);

/* GET `url` into the open file `fd` (truncated first), through the gate
 * when o->gate is set: a host cooling down or at its limit beyond the
 * wait defers the download (res->deferred, nothing sent); a 429 or 503
 * pauses the host for every worker for its Retry-After (1 s when none),
 * and with a Retry-After the download is deferred too. On SYNCQ_OK the
 * whole 2xx body is in the file and hashed. Otherwise the result says
 * why with a task error class: not_found (404/410), rate_limited (429),
 * http_5xx, auth (401/403), validation (other 4xx, over max_bytes, not
 * http(s), an address the guard refused), timeout, network.
 * Errors: SYNCQ_EHTTP (see res), SYNCQ_ETOOBIG, SYNCQ_EIO, SYNCQ_EINVAL. */
int sq_img_fetch(const char *url, int fd, const struct sq_img_fetch_opts *o,
                 struct sq_img_fetch_result *res, syncq_error *err);

#endif
