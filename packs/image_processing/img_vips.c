/* SPDX-License-Identifier: MIT
 *
 * img_vips.c: everything that touches libvips (img.h). Files are read
 * through VipsSource (no "[options]" parsing of file names), every
 * VipsObject is unreffed on every path by the function that made it, and
 * libvips errors are copied into the syncq_error and cleared so one
 * image's failure never leaks into the next message.
 */
#include "image_processing/img.h"
#include "core/sq_error.h"
#include "core/sq_id.h"
#include "core/sq_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>
#include "core/sq_lazy_vips.h"

static bool vips_started;

const char *
sq_img_fmt_ext(enum sq_img_fmt f)
{
    switch (f) {
    case SQ_IMG_JPEG:
        return "jpg";
    case SQ_IMG_PNG:
        return "png";
    case SQ_IMG_WEBP:
        return "webp";
    case SQ_IMG_GIF:
        return "gif";
    default:
        return "";
    }
}

const char *
sq_img_fmt_mime(enum sq_img_fmt f)
{
    switch (f) {
    case SQ_IMG_JPEG:
        return "image/jpeg";
    case SQ_IMG_PNG:
        return "image/png";
    case SQ_IMG_WEBP:
        return "image/webp";
    case SQ_IMG_GIF:
        return "image/gif";
    default:
        return "application/octet-stream";
    }
}

enum sq_img_fmt
sq_img_fmt_parse(const char *s, bool *ok)
{
    *ok = true;
    if (s == NULL || strcmp(s, "same") == 0) {
        return SQ_IMG_NONE;
    }
    if (strcmp(s, "jpg") == 0 || strcmp(s, "jpeg") == 0) {
        return SQ_IMG_JPEG;
    }
    if (strcmp(s, "png") == 0) {
        return SQ_IMG_PNG;
    }
    if (strcmp(s, "webp") == 0) {
        return SQ_IMG_WEBP;
    }
    *ok = false;
    return SQ_IMG_NONE;
}

enum sq_img_fmt
sq_img_sniff(const unsigned char *h, size_t n)
{
    if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff) {
        return SQ_IMG_JPEG;
    }
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) {
        return SQ_IMG_PNG;
    }
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0) {
        return SQ_IMG_WEBP;
    }
    if (n >= 6 &&
        (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0)) {
        return SQ_IMG_GIF;
    }
    return SQ_IMG_NONE;
}

enum sq_img_fmt
sq_img_output_fmt(enum sq_img_fmt src, enum sq_img_fmt want)
{
    if (want != SQ_IMG_NONE) {
        return want;
    }
    return src == SQ_IMG_GIF || src == SQ_IMG_NONE ? SQ_IMG_PNG : src;
}

/* libvips reports warnings (e.g. "Premature end of JPEG file") through
 * GLib, which prints to stderr by default; the library must not. They
 * go to the log at debug level; the error that matters comes back
 * through vips_error_buffer(). */
static void
on_glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
            gpointer ud)
{
    char q[400];

    (void)ud;
    (void)level;
    SQ_DEBUG("image.vips_warning", "domain=%s msg=%s",
             domain != NULL ? domain : "glib",
             sq_log_quote(msg != NULL ? msg : "", q, sizeof q));
}

int
sq_img_init(syncq_error *err)
{
    if (vips_started) {
        return SYNCQ_OK;
    }
    /* libvips (and glib) are loaded on first use, in the child that needs
     * them: a worker that runs no image task never maps them. */
    if (sq_lazy_vips_load(err) != SYNCQ_OK) {
        return SYNCQ_ENOTSUP;
    }
    g_log_set_handler("VIPS",
                      G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                          G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                      on_glib_log, NULL);
    g_log_set_handler("GLib-GObject", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE,
                      on_glib_log, NULL);
    if (VIPS_INIT("syncq") != 0) {
        return sq_fail(err, SYNCQ_EINTERNAL, "cannot start libvips: %s",
                       vips_error_buffer());
    }
    /* One worker thread and a small cache: worker children run one image
     * at a time, and RSS matters more than a few percent of speed. */
    vips_concurrency_set(1);
    vips_cache_set_max(16);
    vips_cache_set_max_mem(16 * 1024 * 1024);
    vips_cache_set_max_files(8);
    vips_started = true;
    return SYNCQ_OK;
}

/* Copy libvips' error text (first line) into err and clear it. */
static int
fail_vips(syncq_error *err, int code, const char *what)
{
    char line[200];
    const char *buf = vips_error_buffer();
    size_t n = strcspn(buf, "\n");

    if (n >= sizeof line) {
        n = sizeof line - 1;
    }
    memcpy(line, buf, n);
    line[n] = '\0';
    vips_error_clear();
    return sq_fail(err, code, "%s%s%s", what, line[0] ? ": " : "", line);
}

static int
read_head(const char *path, unsigned char *head, size_t cap, size_t *n,
          syncq_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t r;

    if (fd < 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "cannot open %s: %s", path,
                             strerror(errno));
    }
    r = read(fd, head, cap);
    close(fd);
    if (r < 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "cannot read %s: %s", path,
                             strerror(errno));
    }
    *n = (size_t)r;
    return SYNCQ_OK;
}

int
sq_img_validate(const char *path, struct sq_img_info *info, syncq_error *err)
{
    unsigned char head[16];
    size_t n = 0;
    VipsSource *src = NULL;
    VipsImage *im = NULL;
    double avg;
    int rc;

    memset(info, 0, sizeof *info);
    rc = read_head(path, head, sizeof head, &n, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    info->fmt = sq_img_sniff(head, n);
    if (n == 0) {
        return sq_fail(err, SYNCQ_EINVAL, "empty file, not an image");
    }
    if (info->fmt == SQ_IMG_NONE) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "not an image (no JPEG, PNG, WebP "
                       "or GIF signature)");
    }
    rc = sq_img_init(err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    vips_error_clear();
    src = vips_source_new_from_file(path);
    if (src == NULL) {
        return fail_vips(err, SYNCQ_EIO, "cannot open image");
    }
    im = vips_image_new_from_source(src, "", "access", VIPS_ACCESS_SEQUENTIAL,
                                    "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    if (im == NULL) {
        rc = fail_vips(err, SYNCQ_EINVAL, "corrupt image header");
        goto done;
    }
    info->width = vips_image_get_width(im);
    info->height = vips_image_get_height(im);
    if ((int64_t)info->width * info->height > SQ_IMG_MAX_PIXELS) {
        rc = sq_fail(err, SYNCQ_EINVAL,
                     "image too large: %dx%d pixels, "
                     "limit %lld",
                     info->width, info->height, (long long)SQ_IMG_MAX_PIXELS);
        goto done;
    }
    /* vips_avg reads every pixel: truncation and bad data show here. */
    if (vips_avg(im, &avg, NULL) != 0) {
        rc = fail_vips(err, SYNCQ_EINVAL, "truncated or corrupt image");
        goto done;
    }
    rc = SYNCQ_OK;
done:
    if (im != NULL) {
        g_object_unref(im);
    }
    g_object_unref(src);
    return rc;
}

int
sq_img_header(const char *path, struct sq_img_info *info, syncq_error *err)
{
    unsigned char head[16];
    size_t n = 0;
    VipsSource *src;
    VipsImage *im;
    int rc;

    memset(info, 0, sizeof *info);
    rc = read_head(path, head, sizeof head, &n, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    info->fmt = sq_img_sniff(head, n);
    if (info->fmt == SQ_IMG_NONE) {
        return sq_fail(err, SYNCQ_EINVAL, "not an image");
    }
    rc = sq_img_init(err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    src = vips_source_new_from_file(path);
    if (src == NULL) {
        return fail_vips(err, SYNCQ_EIO, "cannot open image");
    }
    im = vips_image_new_from_source(src, "", NULL);
    if (im == NULL) {
        g_object_unref(src);
        return fail_vips(err, SYNCQ_EINVAL, "corrupt image header");
    }
    info->width = vips_image_get_width(im);
    info->height = vips_image_get_height(im);
    g_object_unref(im);
    g_object_unref(src);
    return SYNCQ_OK;
}

enum sq_img_fmt
sq_img_fmt_of_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    bool ok;
    enum sq_img_fmt f;

    if (dot == NULL) {
        return SQ_IMG_NONE;
    }
    if (strcmp(dot + 1, "gif") == 0) {
        return SQ_IMG_GIF;
    }
    f = sq_img_fmt_parse(dot + 1, &ok);
    return ok ? f : SQ_IMG_NONE;
}

/* Flatten transparency onto white for formats without alpha. */
static int
prepare_for(VipsImage *in, enum sq_img_fmt fmt, VipsImage **out)
{
    if (fmt == SQ_IMG_JPEG && vips_image_hasalpha(in)) {
        VipsArrayDouble *bg = vips_array_double_newv(1, 255.0);
        int rc = vips_flatten(in, out, "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        return rc;
    }
    g_object_ref(in);
    *out = in;
    return 0;
}

static int
save_as(VipsImage *im, const char *path, enum sq_img_fmt fmt, int quality)
{
    switch (fmt) {
    case SQ_IMG_JPEG:
        return vips_jpegsave(im, path, "Q", quality, "strip", TRUE,
                             "optimize_coding", TRUE, "interlace", TRUE, NULL);
    case SQ_IMG_WEBP:
        return vips_webpsave(im, path, "Q", quality, "strip", TRUE, NULL);
    default:
        return vips_pngsave(im, path, "compression", 9, "strip", TRUE, NULL);
    }
}

/* Save `im` atomically as `dest`: a temp file next to it, then rename. */
static int
write_atomic(VipsImage *im, const char *dest, enum sq_img_fmt fmt, int quality,
             int64_t *bytes, syncq_error *err)
{
    char tmp[4200];
    char rnd[37];
    VipsImage *ready = NULL;
    int rc;

    rc = sq_img_mkdirs_for(dest, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_uuid_new(rnd);
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%.8s", dest, rnd) >=
        (int)sizeof tmp) {
        return sq_fail(err, SYNCQ_EINVAL, "path too long: %s", dest);
    }
    if (prepare_for(im, fmt, &ready) != 0) {
        return fail_vips(err, SYNCQ_EINVAL, "cannot convert image");
    }
    if (save_as(ready, tmp, fmt, quality) != 0) {
        g_object_unref(ready);
        unlink(tmp);
        return fail_vips(err, SYNCQ_EIO, "cannot write image");
    }
    g_object_unref(ready);
    *bytes = sq_img_file_size(tmp);
    {
        /* Data on disk before the name: a crash never shows a torn file
         * under the final name. */
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
    }
    if (rename(tmp, dest) != 0) {
        rc = sq_fail_errno(err, SYNCQ_EIO, "cannot rename %s: %s", tmp,
                           strerror(errno));
        unlink(tmp);
        return rc;
    }
    return SYNCQ_OK;
}

int
sq_img_scale(const char *src_path, const char *dest, int w, int h, bool crop,
             enum sq_img_fmt fmt, int quality, struct sq_img_info *out,
             int64_t *bytes, syncq_error *err)
{
    VipsSource *src = NULL;
    VipsImage *im = NULL;
    int rc = sq_img_init(err);

    memset(out, 0, sizeof *out);
    *bytes = 0;
    if (rc != SYNCQ_OK) {
        return rc;
    }
    vips_error_clear();
    src = vips_source_new_from_file(src_path);
    if (src == NULL) {
        return fail_vips(err, SYNCQ_EIO, "cannot open image");
    }
    if (vips_thumbnail_source(
            src, &im, w, "height", h, "size", VIPS_SIZE_DOWN, "crop",
            crop ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE, "fail_on",
            VIPS_FAIL_ON_ERROR, NULL) != 0) {
        g_object_unref(src);
        return fail_vips(err, SYNCQ_EINVAL, "cannot scale image");
    }
    rc = write_atomic(im, dest, fmt, quality, bytes, err);
    if (rc == SYNCQ_OK) {
        out->fmt = fmt;
        out->width = vips_image_get_width(im);
        out->height = vips_image_get_height(im);
    }
    g_object_unref(im);
    g_object_unref(src);
    return rc;
}

int
sq_img_reencode(const char *src_path, const char *dest, enum sq_img_fmt fmt,
                int quality, int64_t *bytes, syncq_error *err)
{
    VipsSource *src = NULL;
    VipsImage *im = NULL;
    int rc = sq_img_init(err);

    *bytes = 0;
    if (rc != SYNCQ_OK) {
        return rc;
    }
    vips_error_clear();
    src = vips_source_new_from_file(src_path);
    if (src == NULL) {
        return fail_vips(err, SYNCQ_EIO, "cannot open image");
    }
    im = vips_image_new_from_source(src, "", "access", VIPS_ACCESS_SEQUENTIAL,
                                    "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    if (im == NULL) {
        g_object_unref(src);
        return fail_vips(err, SYNCQ_EINVAL, "cannot read image");
    }
    rc = write_atomic(im, dest, fmt, quality, bytes, err);
    g_object_unref(im);
    g_object_unref(src);
    return rc;
}
