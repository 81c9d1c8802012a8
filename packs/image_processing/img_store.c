/* SPDX-License-Identifier: MIT
 *
 * img_store.c: the media store's file handling (img.h): content-addressed
 * paths, temp files inside the media directory (same file system, so
 * rename is atomic), commit by fsync + rename, and file hashing.
 */
#include "image_processing/img.h"
#include "core/sq_error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include "core/sq_lazy_crypto.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
sq_img_original_rel(const char *sha, enum sq_img_fmt f, char *out, size_t cap)
{
    snprintf(out, cap, "%.2s/%.2s/%s.%s", sha, sha + 2, sha, sq_img_fmt_ext(f));
}

int
sq_img_join(const char *media, const char *rel, char *out, size_t cap,
            syncq_error *err)
{
    int w = snprintf(out, cap, "%s/%s", media, rel);

    if (w < 0 || (size_t)w >= cap) {
        return sq_fail(err, SYNCQ_EINVAL, "media path too long: %s/%s", media,
                       rel);
    }
    return SYNCQ_OK;
}

int
sq_img_mkdirs_for(const char *path, syncq_error *err)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof buf) {
        return sq_fail(err, SYNCQ_EINVAL, "path too long: %.100s", path);
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/') {
            continue;
        }
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            return sq_fail_errno(err, SYNCQ_EIO,
                                 "cannot create directory "
                                 "%s: %s",
                                 buf, strerror(errno));
        }
        buf[i] = '/';
    }
    return SYNCQ_OK;
}

int
sq_img_temp(const char *media, char *path, size_t cap, int *fd,
            syncq_error *err)
{
    int w = snprintf(path, cap, "%s/.tmp/dl-XXXXXX", media);
    int rc;

    *fd = -1;
    if (w < 0 || (size_t)w >= cap) {
        return sq_fail(err, SYNCQ_EINVAL, "media path too long: %s", media);
    }
    rc = sq_img_mkdirs_for(path, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *fd = mkstemp(path);
    if (*fd < 0) {
        return sq_fail_errno(err, SYNCQ_EIO,
                             "cannot create a temp file in "
                             "%s/.tmp: %s",
                             media, strerror(errno));
    }
    return SYNCQ_OK;
}

int
sq_img_sweep_tmp(const char *media, int64_t max_age_s)
{
    char dir[4096];
    char path[4400];
    struct dirent *e;
    time_t now = time(NULL);
    DIR *d;
    int removed = 0;

    if (snprintf(dir, sizeof dir, "%s/.tmp", media) >= (int)sizeof dir) {
        return 0;
    }
    d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(e->d_name, "dl-", 3) != 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            now - st.st_mtime > max_age_s && unlink(path) == 0) {
            removed++;
        }
    }
    closedir(d);
    return removed;
}

int
sq_img_commit(const char *tmp, const char *final, syncq_error *err)
{
    int fd;
    int rc;

    if (sq_img_file_size(final) > 0) {
        unlink(tmp); /* same bytes already stored under that name */
        return SYNCQ_OK;
    }
    rc = sq_img_mkdirs_for(final, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    if (rename(tmp, final) != 0) {
        rc = sq_fail_errno(err, SYNCQ_EIO, "cannot move %s to %s: %s", tmp,
                           final, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return SYNCQ_OK;
}

int64_t
sq_img_file_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        return -1;
    }
    return (int64_t)st.st_size;
}

int
sq_img_sha256_file(const char *path, char out[65], int64_t *bytes,
                   syncq_error *err)
{
    unsigned char buf[65536];
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = NULL;
    int64_t total = 0;
    int fd;
    int rc = SYNCQ_OK;

    out[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "cannot open %s: %s", path,
                             strerror(errno));
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "cannot start SHA-256");
        goto done;
    }
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = sq_fail_errno(err, SYNCQ_EIO, "cannot read %s: %s", path,
                               strerror(errno));
            goto done;
        }
        if (r == 0) {
            break;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)r);
        total += r;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (unsigned i = 0; i < mdlen; i++) {
        snprintf(out + i * 2, 3, "%02x", md[i]);
    }
    if (bytes != NULL) {
        *bytes = total;
    }
done:
    EVP_MD_CTX_free(ctx);
    close(fd);
    return rc;
}
