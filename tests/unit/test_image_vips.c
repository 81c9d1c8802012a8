/* SPDX-License-Identifier: MIT
 *
 * test_image_vips.c: the image building blocks on real images made with
 * libvips: validation of whole, truncated and non-image files in every
 * accepted format, thumbnails (fit, crop, never enlarged), re-encoding
 * that strips metadata and saves bytes, atomic commits into the
 * content-addressed store, size-list parsing and file hashing.
 */
#include "sq_test.h"

#include "sq_hash.h"
#include "image_processing/img.h"
#include "image_processing/img_ops.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

static char dir[600];

static const char *
path_of(const char *name)
{
    static char buf[4][700];
    static int k;

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* A w x h noise image with `bands` bands (3 RGB, 4 RGBA). Owned. */
static VipsImage *
noise(int w, int h, int bands)
{
    VipsImage *n = NULL;
    VipsImage *c = NULL;
    VipsImage *out = NULL;
    VipsImage *parts[4];

    assert_int_equal(
        vips_gaussnoise(&n, w, h, "mean", 128.0, "sigma", 40.0, NULL), 0);
    assert_int_equal(vips_cast(n, &c, VIPS_FORMAT_UCHAR, NULL), 0);
    for (int i = 0; i < bands; i++) {
        parts[i] = c;
    }
    assert_int_equal(vips_bandjoin(parts, &out, bands, NULL), 0);
    g_object_unref(n);
    g_object_unref(c);
    out->Type = VIPS_INTERPRETATION_sRGB;
    return out;
}

/* Whole file, binary-safe (sqt_read_file's length stops at a NUL). */
static char *
read_bin(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void
write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static int
setup(void **state)
{
    VipsImage *im;
    VipsImage *rgba;
    VipsImage *small;
    static const char xmp[] =
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf="
        "'http://www.w3.org/1999/02/22-rdf-syntax-ns#'/></x:xmpmeta>";
    char *buf;
    size_t len;

    (void)state;
    snprintf(dir, sizeof dir, "%s/imgtest-%d", sqt_tmpdir(), (int)getpid());
    mkdir(dir, 0755);
    if (sq_img_init(NULL) != SYNCQ_OK) {
        return -1;
    }
    im = noise(320, 240, 3);
    /* Metadata that optimize must strip. */
    vips_image_set_blob_copy(im, "xmp-data", xmp, sizeof xmp - 1);
    assert_int_equal(vips_jpegsave(im, path_of("big.jpg"), "Q", 100, NULL), 0);
    assert_int_equal(vips_pngsave(im, path_of("rgb.png"), NULL), 0);
    assert_int_equal(vips_webpsave(im, path_of("rgb.webp"), "Q", 80, NULL), 0);
    assert_int_equal(vips_gifsave(im, path_of("rgb.gif"), NULL), 0);
    rgba = noise(200, 100, 4);
    assert_int_equal(vips_pngsave(rgba, path_of("alpha.png"), NULL), 0);
    small = noise(64, 48, 3);
    assert_int_equal(vips_jpegsave(small, path_of("small.jpg"), NULL), 0);
    g_object_unref(im);
    g_object_unref(rgba);
    g_object_unref(small);
    /* Truncated copies and impostors. */
    buf = read_bin(path_of("big.jpg"), &len);
    write_file(path_of("trunc.jpg"), buf, len / 2);
    free(buf);
    buf = read_bin(path_of("rgb.png"), &len);
    write_file(path_of("trunc.png"), buf, len * 2 / 3);
    free(buf);
    write_file(path_of("page.jpg"), "<html><body>captcha</body></html>", 33);
    write_file(path_of("empty.jpg"), "", 0);
    {
        static const char fake[] = "\xff\xd8\xff\xe0 garbage garbage";
        write_file(path_of("fakehead.jpg"), fake, sizeof fake - 1);
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void
validate_accepts_whole_images(void **state)
{
    static const struct {
        const char *name;
        enum sq_img_fmt fmt;
        int w, h;
    } ok[] = {
        {"big.jpg", SQ_IMG_JPEG, 320, 240},  {"rgb.png", SQ_IMG_PNG, 320, 240},
        {"rgb.webp", SQ_IMG_WEBP, 320, 240}, {"rgb.gif", SQ_IMG_GIF, 320, 240},
        {"alpha.png", SQ_IMG_PNG, 200, 100},
    };

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct sq_img_info info;
        syncq_error err;
        if (sq_img_validate(path_of(ok[i].name), &info, &err) != SYNCQ_OK) {
            fail_msg("%s: %s", ok[i].name, err.msg);
        }
        assert_int_equal(info.fmt, ok[i].fmt);
        assert_int_equal(info.width, ok[i].w);
        assert_int_equal(info.height, ok[i].h);
    }
}

static void
validate_rejects_broken_files(void **state)
{
    static const struct {
        const char *name;
        const char *why;
    } bad[] = {
        {"trunc.jpg", "truncated or corrupt"},
        {"trunc.png", ""},
        {"page.jpg", "not an image"},
        {"empty.jpg", "empty file"},
        {"fakehead.jpg", ""},
    };
    struct sq_img_info info;
    syncq_error err;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sq_img_validate(path_of(bad[i].name), &info, &err);
        if (rc != SYNCQ_EINVAL || strstr(err.msg, bad[i].why) == NULL) {
            fail_msg("%s: rc %d '%s', want EINVAL with '%s'", bad[i].name, rc,
                     err.msg, bad[i].why);
        }
    }
    assert_int_equal(sq_img_validate(path_of("nope.jpg"), &info, &err),
                     SYNCQ_EIO);
}

static void
scale_fits_crops_and_never_enlarges(void **state)
{
    struct sq_img_info out;
    struct sq_img_info chk;
    int64_t bytes = 0;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_img_scale(path_of("big.jpg"), path_of("t/fit.jpg"), 100,
                                  100, false, SQ_IMG_JPEG, 80, &out, &bytes,
                                  &err),
                     SYNCQ_OK);
    assert_int_equal(out.width, 100);
    assert_int_equal(out.height, 75);
    assert_true(bytes > 0);
    assert_int_equal(sq_img_file_size(path_of("t/fit.jpg")), bytes);
    assert_int_equal(sq_img_validate(path_of("t/fit.jpg"), &chk, &err),
                     SYNCQ_OK);
    assert_int_equal(chk.width, 100);
    assert_int_equal(chk.height, 75);

    assert_int_equal(sq_img_scale(path_of("big.jpg"), path_of("t/crop.webp"),
                                  100, 100, true, SQ_IMG_WEBP, 80, &out, &bytes,
                                  &err),
                     SYNCQ_OK);
    assert_int_equal(out.width, 100);
    assert_int_equal(out.height, 100);
    assert_int_equal(sq_img_validate(path_of("t/crop.webp"), &chk, &err),
                     SYNCQ_OK);
    assert_int_equal(chk.fmt, SQ_IMG_WEBP);

    assert_int_equal(sq_img_scale(path_of("small.jpg"), path_of("t/up.jpg"),
                                  220, 220, false, SQ_IMG_JPEG, 80, &out,
                                  &bytes, &err),
                     SYNCQ_OK);
    assert_int_equal(out.width, 64);
    assert_int_equal(out.height, 48);

    /* Transparency flattened for JPEG, kept for PNG. */
    assert_int_equal(sq_img_scale(path_of("alpha.png"), path_of("t/a.jpg"), 50,
                                  50, false, SQ_IMG_JPEG, 80, &out, &bytes,
                                  &err),
                     SYNCQ_OK);
    assert_int_equal(out.width, 50);
    assert_int_equal(out.height, 25);
    assert_int_equal(sq_img_validate(path_of("t/a.jpg"), &chk, &err), SYNCQ_OK);

    /* A source that is no image is an EINVAL, and no file appears.
     * (Sources are validated originals; a truncated one never gets this
     * far: download_images refuses it.) */
    assert_int_equal(sq_img_scale(path_of("page.jpg"), path_of("t/bad.jpg"), 50,
                                  50, false, SQ_IMG_JPEG, 80, &out, &bytes,
                                  &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_img_file_size(path_of("t/bad.jpg")), -1);
}

static bool
file_has(const char *path, const char *needle)
{
    size_t len = 0;
    char *buf = read_bin(path, &len);
    bool found = false;

    assert_non_null(buf);
    for (size_t i = 0; i + strlen(needle) <= len && !found; i++) {
        found = memcmp(buf + i, needle, strlen(needle)) == 0;
    }
    free(buf);
    return found;
}

static void
reencode_strips_metadata_and_saves_bytes(void **state)
{
    int64_t bytes = 0;
    struct sq_img_info chk;
    syncq_error err;

    (void)state;
    assert_true(file_has(path_of("big.jpg"), "adobe:ns:meta"));
    assert_int_equal(sq_img_reencode(path_of("big.jpg"), path_of("o/q60.jpg"),
                                     SQ_IMG_JPEG, 60, &bytes, &err),
                     SYNCQ_OK);
    assert_true(bytes > 0);
    assert_true(bytes < sq_img_file_size(path_of("big.jpg")));
    assert_false(file_has(path_of("o/q60.jpg"), "adobe:ns:meta"));
    assert_int_equal(sq_img_validate(path_of("o/q60.jpg"), &chk, &err),
                     SYNCQ_OK);
    assert_int_equal(chk.width, 320);
    /* To WebP. */
    assert_int_equal(sq_img_reencode(path_of("rgb.png"), path_of("o/x.webp"),
                                     SQ_IMG_WEBP, 70, &bytes, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_img_validate(path_of("o/x.webp"), &chk, &err),
                     SYNCQ_OK);
    assert_int_equal(chk.fmt, SQ_IMG_WEBP);
}

static void
store_paths_and_commit(void **state)
{
    char rel[200];
    char tmp[700];
    char final[700];
    char sha[65];
    int64_t n = 0;
    int fd = -1;
    syncq_error err;

    (void)state;
    sq_img_original_rel("abcdef0123", SQ_IMG_WEBP, rel, sizeof rel);
    assert_string_equal(rel, "ab/cd/abcdef0123.webp");
    assert_int_equal(sq_img_temp(dir, tmp, sizeof tmp, &fd, &err), SYNCQ_OK);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello", 5), 5);
    close(fd);
    assert_int_equal(sq_img_sha256_file(tmp, sha, &n, &err), SYNCQ_OK);
    assert_int_equal(n, 5);
    assert_string_equal(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa742"
                             "5e73043362938b9824");
    snprintf(final, sizeof final, "%s/2c/f2/%s.jpg", dir, sha);
    assert_int_equal(sq_img_commit(tmp, final, &err), SYNCQ_OK);
    assert_int_equal(sq_img_file_size(final), 5);
    assert_int_equal(access(tmp, F_OK), -1);
    /* Committing the same content again drops the temp file. */
    assert_int_equal(sq_img_temp(dir, tmp, sizeof tmp, &fd, &err), SYNCQ_OK);
    assert_int_equal(write(fd, "hello", 5), 5);
    close(fd);
    assert_int_equal(sq_img_commit(tmp, final, &err), SYNCQ_OK);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(sq_img_file_size(final), 5);
}

static void
formats_and_sizes_parse(void **state)
{
    struct sq_wxh b[SQ_IMG_MAX_SIZES];
    json_t *v;
    int n = 0;
    bool ok;
    syncq_error err;
    const unsigned char webp[] = "RIFF\0\0\0\0WEBPVP8 ";

    (void)state;
    assert_int_equal(sq_img_fmt_parse("jpeg", &ok), SQ_IMG_JPEG);
    assert_true(ok);
    assert_int_equal(sq_img_fmt_parse("same", &ok), SQ_IMG_NONE);
    assert_true(ok);
    sq_img_fmt_parse("tiff", &ok);
    assert_false(ok);
    assert_int_equal(sq_img_sniff(webp, 16), SQ_IMG_WEBP);
    assert_int_equal(sq_img_output_fmt(SQ_IMG_GIF, SQ_IMG_NONE), SQ_IMG_PNG);
    assert_int_equal(sq_img_fmt_of_path("a/b/c.webp"), SQ_IMG_WEBP);

    assert_int_equal(sq_img_parse_sizes(NULL, "220x220, 400x300", b, &n, &err),
                     SYNCQ_OK);
    assert_int_equal(n, 2);
    assert_int_equal(b[1].w, 400);
    assert_int_equal(b[1].h, 300);
    v = json_loads("[\"100x100\", [64, 32]]", 0, NULL);
    assert_int_equal(sq_img_parse_sizes(v, NULL, b, &n, &err), SYNCQ_OK);
    assert_int_equal(n, 2);
    assert_int_equal(b[1].h, 32);
    json_decref(v);
    v = json_loads("[\"10x10\"]", 0, NULL);
    assert_int_equal(sq_img_parse_sizes(v, NULL, b, &n, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "16..4096"));
    json_decref(v);
    v = json_loads("{\"a\": 1}", 0, NULL);
    assert_int_equal(sq_img_parse_sizes(v, NULL, b, &n, &err), SYNCQ_EINVAL);
    json_decref(v);
    assert_int_equal(sq_img_parse_sizes(NULL, "220x", b, &n, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_img_parse_sizes(NULL, "", b, &n, &err), SYNCQ_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validate_accepts_whole_images),
        cmocka_unit_test(validate_rejects_broken_files),
        cmocka_unit_test(scale_fits_crops_and_never_enlarges),
        cmocka_unit_test(reencode_strips_metadata_and_saves_bytes),
        cmocka_unit_test(store_paths_and_commit),
        cmocka_unit_test(formats_and_sizes_parse),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);

    vips_shutdown();
    return rc;
}
