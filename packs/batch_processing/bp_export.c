/* SPDX-License-Identifier: MIT
 *
 * bp_export.c: batch_export (bp.h). Products are read in keyset pages of
 * offer ids (constant memory whatever the table size), each written as
 * its canonical record (JSONL) or its CSV rows into a temp file next to
 * the target, which is fsynced and renamed into place at the end: a
 * reader sees the old file or the whole new one, never half of it. An
 * existing file is replaced only when asked (overwrite), and exports may
 * be confined to a directory (SYNCQ_EXPORT_DIR, bp_export_path).
 */
#include "batch_processing/bp.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include <syncq/time.h>
#include "data_sync/ds_catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 500

static int
write_all(int fd, const char *p, size_t n, const char *path, syncq_error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return sq_fail_errno(err, SYNCQ_EIO, "cannot write %s: %s", path,
                                 strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return SYNCQ_OK;
}

int
bp_export_path(const char *export_dir, const char *path, char *out,
               size_t cap, syncq_error *err)
{
    char root[PATH_MAX], dir[PATH_MAX], joined[PATH_MAX];
    const char *base;
    size_t rlen;
    struct stat st;
    int n;

    if (export_dir == NULL || export_dir[0] == '\0') {
        n = snprintf(out, cap, "%s", path);
        return n < 0 || (size_t)n >= cap
                   ? sq_fail(err, SYNCQ_EINVAL, "path too long")
                   : SYNCQ_OK;
    }
    if (realpath(export_dir, root) == NULL) {
        return sq_fail_errno(err, SYNCQ_ENOTFOUND,
                             "export directory %s (SYNCQ_EXPORT_DIR): %s",
                             export_dir, strerror(errno));
    }
    n = path[0] == '/' ? snprintf(joined, sizeof joined, "%s", path)
                       : snprintf(joined, sizeof joined, "%s/%s", root, path);
    if (n < 0 || (size_t)n >= sizeof joined) {
        return sq_fail(err, SYNCQ_EINVAL, "path too long");
    }
    base = strrchr(joined, '/') + 1; /* joined holds a '/' either way */
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return sq_fail(err, SYNCQ_EINVAL, "path %s names no file", path);
    }
    joined[base - joined - 1] = '\0';
    if (realpath(joined[0] != '\0' ? joined : "/", dir) == NULL) {
        return sq_fail_errno(err, SYNCQ_ENOTFOUND, "directory of %s: %s",
                             path, strerror(errno));
    }
    rlen = strlen(root);
    if (strncmp(dir, root, rlen) != 0 ||
        (dir[rlen] != '\0' && dir[rlen] != '/' && strcmp(root, "/") != 0)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "path %s is outside the export directory %s "
                       "(SYNCQ_EXPORT_DIR)",
                       path, root);
    }
    n = snprintf(out, cap, "%s/%s", dir, base);
    if (n < 0 || (size_t)n >= cap) {
        return sq_fail(err, SYNCQ_EINVAL, "path too long");
    }
    if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "path %s is a symbolic link; exports inside "
                       "SYNCQ_EXPORT_DIR do not follow links",
                       path);
    }
    return SYNCQ_OK;
}

/* Put the finished temp file in place: renamed over an existing file only
 * when `overwrite`, else linked (link() never replaces a file). */
static int
put_in_place(const char *tmp, const char *path, bool overwrite,
             syncq_error *err)
{
    if (overwrite) {
        if (rename(tmp, path) != 0) {
            return sq_fail_errno(err, SYNCQ_EIO, "cannot rename %s to %s: %s",
                                 tmp, path, strerror(errno));
        }
        return SYNCQ_OK;
    }
    if (link(tmp, path) != 0) {
        if (errno == EEXIST) {
            return sq_fail(err, SYNCQ_EEXIST,
                           "%s exists (written meanwhile); pass overwrite: "
                           "true to replace it",
                           path);
        }
        return sq_fail_errno(err, SYNCQ_EIO, "cannot link %s to %s: %s", tmp,
                             path, strerror(errno));
    }
    unlink(tmp);
    return SYNCQ_OK;
}

int
bp_export(struct sq_db *db, const char *path, const char *format,
          bool overwrite, const json_t *filter, const struct sq_progress *p,
          json_t **result, syncq_error *err)
{
    struct bp_filter f;
    struct sq_buf out;
    char tmp[4200];
    char rnd[37];
    char *count_sql = NULL;
    char *page_sql = NULL;
    int64_t total = 0;
    int64_t written = 0;
    int64_t rows = 0;
    int64_t bytes = 0;
    int64_t cursor = 0;
    int64_t started = syncq_mono_ms();
    bool csv;
    int fd = -1;
    int rc;

    *result = NULL;
    if (format == NULL ||
        (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)) {
        return sq_fail(err, SYNCQ_EINVAL, "format must be csv or jsonl");
    }
    if (path == NULL || path[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "path is empty");
    }
    {
        struct stat st;
        if (!overwrite && lstat(path, &st) == 0) {
            return sq_fail(err, SYNCQ_EEXIST,
                           "%s exists; pass overwrite: true to replace it",
                           path);
        }
    }
    csv = strcmp(format, "csv") == 0;
    rc = bp_filter_compile(filter, &f, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_buf_init(&out, 0);
    count_sql =
        bp_filter_sql(db, "SELECT COUNT(*) FROM product WHERE ", &f, "");
    page_sql = bp_filter_sql(db,
                             "SELECT offer_id FROM product WHERE "
                             "offer_id > ? AND ",
                             &f, " ORDER BY offer_id LIMIT ?");
    if (count_sql == NULL || page_sql == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        goto done;
    }
    {
        struct sq_db_stmt *st;
        rc = sq_db_prepare(db, count_sql, &st, err);
        if (rc == SYNCQ_OK) {
            bp_filter_bind(st, 1, &f);
            rc = sq_db_step(st, err);
            if (rc == 1) {
                total = sq_db_col_i64(st, 0);
                sq_db_reset(st);
            }
            rc = rc < 0 ? rc : SYNCQ_OK;
        }
        if (rc != SYNCQ_OK) {
            goto done;
        }
    }
    sq_uuid_new(rnd);
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%.8s", path, rnd) >=
        (int)sizeof tmp) {
        rc = sq_fail(err, SYNCQ_EINVAL, "path too long");
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = sq_fail_errno(err, errno == ENOENT ? SYNCQ_ENOTFOUND : SYNCQ_EIO,
                           "cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (csv) {
        rc = bp_csv_format_header(&out, err);
        if (rc != SYNCQ_OK) {
            goto done;
        }
    }
    for (;;) {
        int64_t ids[PAGE];
        int n = 0;
        struct sq_db_stmt *st;
        rc = sq_db_prepare(db, page_sql, &st, err);
        if (rc != SYNCQ_OK) {
            goto done;
        }
        sq_db_bind_i64(st, 1, cursor);
        sq_db_bind_i64(st, bp_filter_bind(st, 2, &f), PAGE);
        while ((rc = sq_db_step(st, err)) == 1) {
            ids[n++] = sq_db_col_i64(st, 0);
        }
        if (rc < 0) {
            goto done;
        }
        for (int i = 0; i < n; i++) {
            json_t *rec = NULL;
            rc = sq_ds_offer_load(db, ids[i], &rec, err);
            if (rc == SYNCQ_ENOTFOUND) {
                continue; /* deleted meanwhile */
            }
            if (rc != SYNCQ_OK) {
                goto done;
            }
            if (csv) {
                size_t skus = json_array_size(json_object_get(rec, "skus"));
                rc = bp_csv_format_offer(rec, &out, err);
                rows += skus > 0 ? (int64_t)skus : 1;
            } else {
                char *line = json_dumps(rec, JSON_COMPACT);
                if (line == NULL || sq_buf_adds(&out, line) != 0 ||
                    sq_buf_add(&out, "\n", 1) != 0) {
                    rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
                }
                sq_free(line);
                rows++;
            }
            json_decref(rec);
            if (rc != SYNCQ_OK) {
                goto done;
            }
            written++;
            cursor = ids[i];
            if (out.len >= 1 << 20) {
                rc = write_all(fd, out.data, out.len, tmp, err);
                if (rc != SYNCQ_OK) {
                    goto done;
                }
                bytes += (int64_t)out.len;
                sq_buf_reset(&out);
            }
        }
        if (n > 0) {
            cursor = ids[n - 1];
        }
        if (sq_progress_report(p, written, total, "exporting") != 0 ||
            sq_progress_stop(p)) {
            rc = sq_fail(err, SYNCQ_ETIMEDOUT,
                         "export stopped after %lld "
                         "products; nothing was written to %s",
                         (long long)written, path);
            goto done;
        }
        if (n < PAGE) {
            break;
        }
    }
    if (out.len > 0) {
        rc = write_all(fd, out.data, out.len, tmp, err);
        if (rc != SYNCQ_OK) {
            goto done;
        }
        bytes += (int64_t)out.len;
    }
    if (fsync(fd) != 0) {
        rc = sq_fail_errno(err, SYNCQ_EIO, "cannot sync %s: %s", tmp,
                           strerror(errno));
        goto done;
    }
    close(fd);
    fd = -1;
    rc = put_in_place(tmp, path, overwrite, err);
    if (rc != SYNCQ_OK) {
        goto done;
    }
    tmp[0] = '\0';
    *result = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "path", path,
                        "format", format, "products", (json_int_t)written,
                        "rows", (json_int_t)rows, "bytes", (json_int_t)bytes,
                        "elapsed_ms", (json_int_t)(syncq_mono_ms() - started));
    if (*result == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
done:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != SYNCQ_OK && tmp[0] != '\0') {
        unlink(tmp);
    }
    sq_buf_cleanup(&out);
    sq_free(count_sql);
    sq_free(page_sql);
    bp_filter_cleanup(&f);
    return rc;
}
