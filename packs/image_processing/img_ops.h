/* SPDX-License-Identifier: MIT
 *
 * img_ops.h: the image_processing operations on one image at a time,
 * over the catalog database (table image, image_variant) and the media
 * store. A per-image problem (404, truncated file, not an image) is data
 * in the returned JSON, never an error of the call; errors of the call
 * are infrastructure (database, media directory, memory) and fail the
 * task. JSON shapes: docs/tasks.md.
 */
#ifndef SQ_IMG_OPS_H
#define SQ_IMG_OPS_H

#include "sq_wxh.h"
#include "db/sq_db.h"
#include "image_processing/img.h"

#include <jansson.h>
#include <stdbool.h>

#define SQ_IMG_MAX_PER_TASK 1000 /* images named by one task */
#define SQ_IMG_MAX_SIZES SQ_WXH_LIST_MAX /* thumbnail sizes per task */

struct sq_img_env {
    struct sq_db *db;
    const char *media_dir;
    struct sq_img_fetch_opts fetch;
    int quality;     /* 1..100 */
    json_t *pending; /* NULL: write rows at once; else a JSON
                        array collecting them for sq_img_flush */
};

/* Write the rows collected in env->pending in one transaction (retried
 * on lock conflicts) and empty it. Errors: SYNCQ_EDB. */
int sq_img_flush(const struct sq_img_env *env, syncq_error *err);

/* Download `url` unless an image with its URL key is already stored and
 * on disk; validate it, store it content-addressed and record it.
 * *out (new): {"url", "url_key", "status": "downloaded" | "exists" |
 * "failed", "sha256", "path", "width", "height", "bytes", "mime"} or, when
 * failed, {"url", "status", "error_class", "error", "http_status",
 * "refused" (the guard refused the address)}, or when the host asked to
 * wait (cool-down, Retry-After; nothing recorded) {"url", "status":
 * "deferred", "error_class", "error", "retry_after_ms"}.
 * *is_new: stored by this call (thumbnails are due).
 * Errors: SYNCQ_EDB, SYNCQ_EIO (media directory), SYNCQ_ENOMEM. */
int sq_img_download_one(const struct sq_img_env *env, const char *url,
                        json_t **out, bool *is_new, syncq_error *err);

/* An image to work on. */
struct sq_img_target {
    int64_t image_id;
    char sha256[65];
    char rel[320]; /* local_path, relative to the media dir */
};

/* Resolve the images named by kwargs "sha256" (list of hex digests),
 * "image_ids" (list of integers) or "product_id" (its linked images) to
 * downloaded images, one per content. Names that resolve to nothing are
 * appended to `missing` as {"ref", "error"}. *out: sq_free.
 * Errors: SYNCQ_EINVAL (bad argument types, nothing named, over
 * SQ_IMG_MAX_PER_TASK), SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_img_targets(struct sq_db *db, const json_t *kwargs,
                   struct sq_img_target **out, size_t *n, json_t *missing,
                   syncq_error *err);

/* Parse sizes: "220x220,400x400", ["220x220", [400, 400]], each side
 * 16..4096, at most SQ_IMG_MAX_SIZES. Errors: SYNCQ_EINVAL. */
int sq_img_parse_sizes(const json_t *v, const char *fallback,
                       struct sq_wxh *out, int *n, syncq_error *err);

enum sq_img_variant {
    SQ_VAR_THUMB,  /* thumbs/<sha>_<w>x<h>[_crop].<ext> */
    SQ_VAR_RESIZE, /* resized/<sha>_<w>x<h>.<ext> */
};

/* Make (or find) the scaled variant of `t` for `box`; appends
 * {"sha256", "kind", "status": "created" | "exists" | "failed", "path",
 * "width", "height", "bytes"} (or "error_class"/"error") to `list`.
 * *created is set when a file was written.
 * Errors: SYNCQ_EDB, SYNCQ_EIO, SYNCQ_ENOMEM. */
int sq_img_variant(const struct sq_img_env *env, const struct sq_img_target *t,
                   enum sq_img_variant kind, struct sq_wxh box, bool crop,
                   enum sq_img_fmt want, json_t *list, bool *created,
                   syncq_error *err);

/* Re-encode `t` with metadata stripped at env->quality in `want` (NONE:
 * same format; GIF becomes PNG). Keeps the result only when smaller than
 * the original (else "kept_original": true, 0 bytes saved). Appends
 * {"sha256", "status", "path", "bytes_before", "bytes_after",
 * "bytes_saved", "kept_original"} to `list`; adds to *saved.
 * Errors: SYNCQ_EDB, SYNCQ_EIO, SYNCQ_ENOMEM. */
int sq_img_optimize(const struct sq_img_env *env, const struct sq_img_target *t,
                    enum sq_img_fmt want, json_t *list, int64_t *before,
                    int64_t *after, syncq_error *err);

#endif
