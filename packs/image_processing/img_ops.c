/* SPDX-License-Identifier: MIT
 *
 * img_ops.c: image_processing operations (img_ops.h). The database says
 * what is known about an image (table image, keyed by the normalised URL;
 * image_variant, keyed by content hash and kind); the media store holds
 * the bytes. A row says "downloaded" only after its file was committed,
 * and a file found without its row is simply recorded again, so a worker
 * killed at any point leaves a state the next run completes.
 */
#include "image_processing/img_ops.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "db/ds_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>
#include <unistd.h>

static int
oom(syncq_error *err)
{
    return sq_fail(err, SYNCQ_ENOMEM, "out of memory in image processing");
}

/* ---- downloads ------------------------------------------------------- */

static json_t *
failed_json(const char *url, int cls, const char *msg, long http_status)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s}", "url", url, "status", "failed",
                  "error_class", syncq_error_class_name(cls), "error", msg);

    if (o != NULL && http_status > 0) {
        json_object_set_new(o, "http_status", json_integer(http_status));
    }
    return o;
}

/* ---- deferred writes ---------------------------------------------------
 * Every row write is an "op" (a JSON object). With env->pending set the
 * ops are collected and sq_img_flush writes them in one transaction (one
 * fsync for a whole task instead of one per row); otherwise each is
 * written at once. Files are always committed before their op exists, so
 * a row never names a missing file. */

static int
apply_op(struct sq_db *db, const json_t *op, syncq_error *err)
{
    static const char fail_sql[] =
        "INSERT INTO image (url_key, url, status, error_class, error, "
        "fetched_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url_key) DO "
        "UPDATE SET status = excluded.status, error_class = "
        "excluded.error_class, error = excluded.error, fetched_at = "
        "excluded.fetched_at";
    static const char ok_sql[] =
        "INSERT INTO image (url_key, url, sha256, width, height, bytes, "
        "mime, local_path, status, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
        "?, 'downloaded', ?) ON CONFLICT (url_key) DO UPDATE SET "
        "sha256 = excluded.sha256, width = excluded.width, "
        "height = excluded.height, bytes = excluded.bytes, "
        "mime = excluded.mime, local_path = excluded.local_path, "
        "status = 'downloaded', error_class = NULL, error = NULL, "
        "fetched_at = excluded.fetched_at";
    static const char var_sql[] =
        "INSERT INTO image_variant (sha256, kind, path, width, height, bytes,"
        " format, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
        "(sha256, kind) DO UPDATE SET path = excluded.path, width = "
        "excluded.width, height = excluded.height, bytes = excluded.bytes, "
        "format = excluded.format, created_at = excluded.created_at";
    const char *kind = json_string_value(json_object_get(op, "op"));
    struct sq_db_stmt *st;
    char now[40];
    int rc;

    sq_ds_now_iso(now, sizeof now);
    if (strcmp(kind, "fail") == 0) {
        rc = sq_db_prepare(db, fail_sql, &st, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        sq_db_bind_text(st, 1, sq_ds_get_str(op, "url_key"));
        sq_db_bind_text(st, 2, sq_ds_get_str(op, "url"));
        sq_db_bind_text(st, 3, sq_ds_get_str(op, "status"));
        sq_db_bind_text(st, 4, sq_ds_get_str(op, "error_class"));
        sq_db_bind_text(st, 5, sq_ds_get_str(op, "error"));
        sq_db_bind_text(st, 6, now);
    } else if (strcmp(kind, "ok") == 0) {
        rc = sq_db_prepare(db, ok_sql, &st, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        sq_db_bind_text(st, 1, sq_ds_get_str(op, "url_key"));
        sq_db_bind_text(st, 2, sq_ds_get_str(op, "url"));
        sq_db_bind_text(st, 3, sq_ds_get_str(op, "sha256"));
        sq_db_bind_i64(st, 4, json_integer_value(json_object_get(op, "width")));
        sq_db_bind_i64(st, 5,
                       json_integer_value(json_object_get(op, "height")));
        sq_db_bind_i64(st, 6, json_integer_value(json_object_get(op, "bytes")));
        sq_db_bind_text(st, 7, sq_ds_get_str(op, "mime"));
        sq_db_bind_text(st, 8, sq_ds_get_str(op, "path"));
        sq_db_bind_text(st, 9, now);
    } else {
        rc = sq_db_prepare(db, var_sql, &st, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        sq_db_bind_text(st, 1, sq_ds_get_str(op, "sha256"));
        sq_db_bind_text(st, 2, sq_ds_get_str(op, "kind"));
        sq_db_bind_text(st, 3, sq_ds_get_str(op, "path"));
        sq_db_bind_i64(st, 4, json_integer_value(json_object_get(op, "width")));
        sq_db_bind_i64(st, 5,
                       json_integer_value(json_object_get(op, "height")));
        sq_db_bind_i64(st, 6, json_integer_value(json_object_get(op, "bytes")));
        sq_db_bind_text(st, 7, sq_ds_get_str(op, "format"));
        sq_db_bind_text(st, 8, now);
    }
    rc = sq_db_step(st, err);
    return rc < 0 ? rc : SYNCQ_OK;
}

/* Apply `op` now or keep it for sq_img_flush. Steals `op`. */
static int
put_op(const struct sq_img_env *env, json_t *op, syncq_error *err)
{
    int rc;

    if (op == NULL) {
        return oom(err);
    }
    if (env->pending != NULL) {
        return json_array_append_new(env->pending, op) == 0 ? SYNCQ_OK
                                                            : oom(err);
    }
    rc = apply_op(env->db, op, err);
    json_decref(op);
    return rc;
}

static int
flush_tx(struct sq_db *db, void *ud, syncq_error *err)
{
    size_t i;
    json_t *op;
    int rc = SYNCQ_OK;

    json_array_foreach((json_t *)ud, i, op)
    {
        rc = apply_op(db, op, err);
        if (rc != SYNCQ_OK) {
            break;
        }
    }
    return rc;
}

int
sq_img_flush(const struct sq_img_env *env, syncq_error *err)
{
    int rc;

    if (env->pending == NULL || json_array_size(env->pending) == 0) {
        return SYNCQ_OK;
    }
    rc = sq_db_with_tx(env->db, flush_tx, env->pending, err);
    if (rc == SYNCQ_OK) {
        json_array_clear(env->pending);
    }
    return rc;
}

/* A pending op of `kind` whose member `k1` equals `v1` (and `k2` equals
 * `v2` when given), or NULL. */
static json_t *
find_pending(const struct sq_img_env *env, const char *kind, const char *k1,
             const char *v1, const char *k2, const char *v2)
{
    size_t i;
    json_t *op;

    json_array_foreach(env->pending, i, op)
    {
        const char *a = sq_ds_get_str(op, k1);
        const char *b = k2 != NULL ? sq_ds_get_str(op, k2) : NULL;
        if (strcmp(sq_ds_get_str(op, "op"), kind) == 0 && a != NULL &&
            strcmp(a, v1) == 0 &&
            (k2 == NULL || (b != NULL && strcmp(b, v2) == 0))) {
            return op;
        }
    }
    return NULL;
}

static int
record_failure(const struct sq_img_env *env, const char *key, const char *url,
               int cls, const char *msg, syncq_error *err)
{
    return put_op(env,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "op", "fail",
                            "url_key", key, "url", url, "status",
                            cls == SYNCQ_ERR_NOT_FOUND ? "gone" : "failed",
                            "error_class", syncq_error_class_name(cls), "error",
                            msg),
                  err);
}

static int
record_success(const struct sq_img_env *env, const char *key, const char *url,
               const char *sha, const struct sq_img_info *info, int64_t bytes,
               const char *rel, syncq_error *err)
{
    return put_op(env,
                  json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:s, s:s}",
                            "op", "ok", "url_key", key, "url", url, "sha256",
                            sha, "width", info->width, "height", info->height,
                            "bytes", (json_int_t)bytes, "mime",
                            sq_img_fmt_mime(info->fmt), "path", rel),
                  err);
}

/* The stored image of `key` if its file is still there. */
static int
lookup_stored(const struct sq_img_env *env, const char *key, json_t **out,
              syncq_error *err)
{
    static const char sql[] =
        "SELECT sha256, local_path, width, height, bytes, mime FROM image "
        "WHERE url_key = ? AND status = 'downloaded'";
    struct sq_db_stmt *st;
    char abs[4200];
    int rc;

    *out = NULL;
    {
        /* Stored earlier in this task, not yet flushed. */
        json_t *op = find_pending(env, "ok", "url_key", key, NULL, NULL);
        if (op != NULL) {
            *out = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:O}", "status",
                             "exists", "sha256", json_object_get(op, "sha256"),
                             "path", json_object_get(op, "path"), "width",
                             json_object_get(op, "width"), "height",
                             json_object_get(op, "height"), "bytes",
                             json_object_get(op, "bytes"), "mime",
                             json_object_get(op, "mime"));
            return *out != NULL ? SYNCQ_OK : oom(err);
        }
    }
    rc = sq_db_prepare(env->db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_text(st, 1, key);
    rc = sq_db_step(st, err);
    if (rc <= 0) {
        return rc;
    }
    if (sq_db_col_text(st, 1) != NULL &&
        sq_img_join(env->media_dir, sq_db_col_text(st, 1), abs, sizeof abs,
                    NULL) == SYNCQ_OK &&
        sq_img_file_size(abs) > 0) {
        *out = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "status", "exists", "sha256",
            sq_db_col_text(st, 0) ? sq_db_col_text(st, 0) : "", "path",
            sq_db_col_text(st, 1), "width", (json_int_t)sq_db_col_i64(st, 2),
            "height", (json_int_t)sq_db_col_i64(st, 3), "bytes",
            (json_int_t)sq_db_col_i64(st, 4), "mime",
            sq_db_col_text(st, 5) ? sq_db_col_text(st, 5) : "");
        if (*out == NULL) {
            sq_db_reset(st);
            return oom(err);
        }
    }
    sq_db_reset(st);
    return SYNCQ_OK;
}

int
sq_img_download_one(const struct sq_img_env *env, const char *url, json_t **out,
                    bool *is_new, syncq_error *err)
{
    char key[2048];
    char tmp[4200];
    char rel[320];
    char final[4200];
    struct sq_img_fetch_result fr;
    struct sq_img_info info;
    syncq_error lerr;
    json_t *o = NULL;
    int fd = -1;
    int rc;

    *out = NULL;
    *is_new = false;
    if (sq_ds_image_url_key(url, key, sizeof key, &lerr) != SYNCQ_OK) {
        *out = failed_json(url != NULL ? url : "", SYNCQ_ERR_VALIDATION,
                           lerr.msg, 0);
        return *out != NULL ? SYNCQ_OK : oom(err);
    }
    rc = lookup_stored(env, key, &o, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (o != NULL) {
        json_object_set_new(o, "url", json_string(url));
        json_object_set_new(o, "url_key", json_string(key));
        *out = o;
        return SYNCQ_OK;
    }
    rc = sq_img_temp(env->media_dir, tmp, sizeof tmp, &fd, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_img_fetch(url, fd, &env->fetch, &fr, &lerr);
    close(fd);
    if (rc == SYNCQ_EIO || rc == SYNCQ_ENOMEM) {
        unlink(tmp);
        if (err != NULL) {
            *err = lerr;
        }
        return rc;
    }
    if (rc != SYNCQ_OK && fr.deferred) {
        /* the host asked to wait: not a failure of the image */
        unlink(tmp);
        *out = json_pack("{s:s, s:s, s:s, s:s, s:I}", "url", url, "status",
                         "deferred", "error_class",
                         syncq_error_class_name(fr.error_class), "error",
                         fr.error, "retry_after_ms",
                         (json_int_t)fr.retry_after_ms);
        return *out != NULL ? SYNCQ_OK : oom(err);
    }
    if (rc != SYNCQ_OK) {
        unlink(tmp);
        rc = record_failure(env, key, url, fr.error_class, fr.error, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        *out = failed_json(url, fr.error_class, fr.error, fr.http_status);
        if (*out != NULL && fr.refused) {
            json_object_set_new(*out, "refused", json_true());
        }
        if (*out != NULL && fr.retry_after_ms > 0) {
            json_object_set_new(*out, "retry_after_ms",
                                json_integer(fr.retry_after_ms));
        }
        return *out != NULL ? SYNCQ_OK : oom(err);
    }
    rc = sq_img_validate(tmp, &info, &lerr);
    if (rc != SYNCQ_OK) {
        unlink(tmp);
        if (rc != SYNCQ_EINVAL) {
            if (err != NULL) {
                *err = lerr;
            }
            return rc;
        }
        rc = record_failure(env, key, url, SYNCQ_ERR_VALIDATION, lerr.msg, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        *out = failed_json(url, SYNCQ_ERR_VALIDATION, lerr.msg, fr.http_status);
        return *out != NULL ? SYNCQ_OK : oom(err);
    }
    sq_img_original_rel(fr.sha256, info.fmt, rel, sizeof rel);
    rc = sq_img_join(env->media_dir, rel, final, sizeof final, err);
    if (rc == SYNCQ_OK) {
        rc = sq_img_commit(tmp, final, err);
    }
    if (rc != SYNCQ_OK) {
        unlink(tmp);
        return rc;
    }
    rc = record_success(env, key, url, fr.sha256, &info, fr.bytes, rel, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:s}", "url",
                     url, "url_key", key, "status", "downloaded", "sha256",
                     fr.sha256, "path", rel, "width", info.width, "height",
                     info.height, "bytes", (json_int_t)fr.bytes, "mime",
                     sq_img_fmt_mime(info.fmt));
    if (*out == NULL) {
        return oom(err);
    }
    *is_new = true;
    return SYNCQ_OK;
}

/* ---- choosing images --------------------------------------------------- */

static bool
is_sha256_hex(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n])) {
            return false;
        }
    }
    return n == 64;
}

struct tlist {
    struct sq_img_target *v;
    size_t n;
    size_t cap;
};

static int
add_target(struct tlist *l, int64_t id, const char *sha, const char *rel,
           syncq_error *err)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].sha256, sha) == 0) {
            return SYNCQ_OK; /* one job per content */
        }
    }
    if (l->n == SQ_IMG_MAX_PER_TASK) {
        return sq_fail(err, SYNCQ_EINVAL, "more than %d images named",
                       SQ_IMG_MAX_PER_TASK);
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct sq_img_target *v = sq_realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            return oom(err);
        }
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    l->v[l->n].image_id = id;
    snprintf(l->v[l->n].sha256, sizeof l->v[l->n].sha256, "%s", sha);
    snprintf(l->v[l->n].rel, sizeof l->v[l->n].rel, "%s", rel);
    l->n++;
    return SYNCQ_OK;
}

static void
note_missing(json_t *missing, json_t *ref, const char *why)
{
    json_t *o = json_pack("{s:O, s:s}", "ref", ref, "error", why);

    if (o != NULL) {
        json_array_append_new(missing, o);
    }
}

/* Run `sql` (one bound value) and add every (image_id, sha256,
 * local_path) row. Returns the number added through *added. */
static int
collect(struct sq_db *db, const char *sql, const json_t *val, struct tlist *l,
        int *added, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, sql, &st, err);

    *added = 0;
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (json_is_integer(val)) {
        sq_db_bind_i64(st, 1, (int64_t)json_integer_value(val));
    } else {
        sq_db_bind_text(st, 1, json_string_value(val));
    }
    while ((rc = sq_db_step(st, err)) == 1) {
        const char *sha = sq_db_col_text(st, 1);
        const char *rel = sq_db_col_text(st, 2);
        if (sha == NULL || rel == NULL) {
            continue;
        }
        rc = add_target(l, sq_db_col_i64(st, 0), sha, rel, err);
        if (rc != SYNCQ_OK) {
            sq_db_reset(st);
            return rc;
        }
        (*added)++;
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

int
sq_img_targets(struct sq_db *db, const json_t *kwargs,
               struct sq_img_target **out, size_t *n, json_t *missing,
               syncq_error *err)
{
    static const char by_sha[] =
        "SELECT image_id, sha256, local_path FROM image WHERE sha256 = ? "
        "AND status = 'downloaded' ORDER BY image_id LIMIT 1";
    static const char by_id[] =
        "SELECT image_id, sha256, local_path FROM image WHERE image_id = ? "
        "AND status = 'downloaded'";
    static const char by_product[] =
        "SELECT i.image_id, i.sha256, i.local_path FROM product_image pi "
        "JOIN image i ON i.image_id = pi.image_id WHERE pi.offer_id = ? "
        "AND i.status = 'downloaded' ORDER BY pi.role, pi.ord";
    const json_t *shas = json_object_get(kwargs, "sha256");
    const json_t *ids = json_object_get(kwargs, "image_ids");
    const json_t *pid = json_object_get(kwargs, "product_id");
    struct tlist l = {NULL, 0, 0};
    size_t i;
    const json_t *v;
    int added;
    int rc = SYNCQ_OK;
    json_t *one = NULL;

    *out = NULL;
    *n = 0;

    if (json_is_string(shas)) {
        one = json_pack("[O]", (json_t *)shas);
        if (one == NULL) {
            return oom(err);
        }
        shas = one;
    }
    if (shas == NULL && ids == NULL && pid == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "name the images: sha256 (list), "
                       "image_ids (list) or product_id");
    }
    if (shas != NULL &&
        (!json_is_array(shas) || json_array_size(shas) > SQ_IMG_MAX_PER_TASK)) {
        rc = sq_fail(err, SYNCQ_EINVAL,
                     "argument sha256: a list of at "
                     "most %d hex digests",
                     SQ_IMG_MAX_PER_TASK);
        goto fail;
    }
    if (ids != NULL &&
        (!json_is_array(ids) || json_array_size(ids) > SQ_IMG_MAX_PER_TASK)) {
        rc = sq_fail(err, SYNCQ_EINVAL,
                     "argument image_ids: a list of at "
                     "most %d integers",
                     SQ_IMG_MAX_PER_TASK);
        goto fail;
    }
    json_array_foreach(shas, i, v)
    {
        if (!json_is_string(v) || !is_sha256_hex(json_string_value(v))) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "argument sha256[%zu]: not a "
                         "lowercase hex SHA-256",
                         i);
            goto fail;
        }
        rc = collect(db, by_sha, v, &l, &added, err);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
        if (added == 0) {
            note_missing(missing, (json_t *)v,
                         "no downloaded image with "
                         "this content");
        }
    }
    json_array_foreach(ids, i, v)
    {
        if (!json_is_integer(v)) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "argument image_ids[%zu]: not an "
                         "integer",
                         i);
            goto fail;
        }
        rc = collect(db, by_id, v, &l, &added, err);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
        if (added == 0) {
            note_missing(missing, (json_t *)v,
                         "no downloaded image with "
                         "this id");
        }
    }
    if (pid != NULL) {
        json_t *num = NULL;
        int64_t p;
        json_t *wrap = json_pack("{sO}", "p", (json_t *)pid);
        if (wrap == NULL) {
            rc = oom(err);
            goto fail;
        }
        if (!sq_ds_get_i64(wrap, "p", &p) || p <= 0) {
            json_decref(wrap);
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "argument product_id: not a "
                         "positive integer");
            goto fail;
        }
        json_decref(wrap);
        num = json_integer(p);
        rc = num != NULL ? collect(db, by_product, num, &l, &added, err)
                         : oom(err);
        if (rc == SYNCQ_OK && added == 0) {
            note_missing(missing, num, "product has no downloaded images");
        }
        json_decref(num);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
    }
    json_decref(one);
    *out = l.v;
    *n = l.n;
    return SYNCQ_OK;
fail:
    json_decref(one);
    sq_free(l.v);
    return rc;
}

/* ---- sizes ------------------------------------------------------------- */

int
sq_img_parse_sizes(const json_t *v, const char *fallback,
                   struct sq_wxh *out, int *n, syncq_error *err)
{
    *n = 0;
    if (v == NULL || json_is_null(v)) {
        return sq_wxh_list_parse(fallback, out, SQ_IMG_MAX_SIZES, n, err);
    } else if (json_is_string(v)) {
        return sq_img_parse_sizes(NULL, json_string_value(v), out, n, err);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            bool ok = false;
            if (*n == SQ_IMG_MAX_SIZES) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "argument sizes: at most "
                               "%d sizes",
                               SQ_IMG_MAX_SIZES);
            }
            if (json_is_string(e)) {
                ok = sq_wxh_parse(json_string_value(e), &out[*n]);
            } else if (json_is_array(e) && json_array_size(e) == 2 &&
                       json_is_integer(json_array_get(e, 0)) &&
                       json_is_integer(json_array_get(e, 1))) {
                json_int_t w = json_integer_value(json_array_get(e, 0));
                json_int_t h = json_integer_value(json_array_get(e, 1));
                out[*n].w = (int)w;
                out[*n].h = (int)h;
                ok = w >= 16 && w <= 4096 && h >= 16 && h <= 4096;
            }
            if (!ok) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "argument sizes[%zu]: "
                               "expected \"WxH\" or [W, H] with sides "
                               "16..4096",
                               i);
            }
            (*n)++;
        }
    } else {
        return sq_fail(err, SYNCQ_EINVAL,
                       "argument sizes: expected a list "
                       "like [\"220x220\", \"400x400\"]");
    }
    if (*n == 0) {
        return sq_fail(err, SYNCQ_EINVAL, "no thumbnail sizes given");
    }
    return SYNCQ_OK;
}

/* ---- variants ---------------------------------------------------------- */

static int
upsert_variant(const struct sq_img_env *env, const char *sha, const char *kind,
               const char *rel, int w, int h, int64_t bytes,
               enum sq_img_fmt fmt, syncq_error *err)
{
    return put_op(env,
                  json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:s}", "op",
                            "variant", "sha256", sha, "kind", kind, "path", rel,
                            "width", w, "height", h, "bytes", (json_int_t)bytes,
                            "format", sq_img_fmt_ext(fmt)),
                  err);
}

/* The variant row (sha, kind) whose file is on disk, as JSON, or NULL. */
static int
existing_variant(const struct sq_img_env *env, const char *sha,
                 const char *kind, json_t **out, syncq_error *err)
{
    static const char sql[] =
        "SELECT path, width, height, bytes FROM image_variant WHERE "
        "sha256 = ? AND kind = ?";
    struct sq_db_stmt *st;
    char abs[4200];
    int rc;

    *out = NULL;
    {
        json_t *op = find_pending(env, "variant", "sha256", sha, "kind", kind);
        if (op != NULL) {
            *out = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O}", "sha256",
                             sha, "kind", kind, "status", "exists", "path",
                             json_object_get(op, "path"), "width",
                             json_object_get(op, "width"), "height",
                             json_object_get(op, "height"), "bytes",
                             json_object_get(op, "bytes"));
            return *out != NULL ? SYNCQ_OK : oom(err);
        }
    }
    rc = sq_db_prepare(env->db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_text(st, 1, sha);
    sq_db_bind_text(st, 2, kind);
    rc = sq_db_step(st, err);
    if (rc <= 0) {
        return rc;
    }
    if (sq_db_col_text(st, 0) != NULL &&
        sq_img_join(env->media_dir, sq_db_col_text(st, 0), abs, sizeof abs,
                    NULL) == SYNCQ_OK &&
        sq_img_file_size(abs) > 0) {
        *out = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "sha256", sha,
                         "kind", kind, "status", "exists", "path",
                         sq_db_col_text(st, 0), "width",
                         (json_int_t)sq_db_col_i64(st, 1), "height",
                         (json_int_t)sq_db_col_i64(st, 2), "bytes",
                         (json_int_t)sq_db_col_i64(st, 3));
    }
    sq_db_reset(st);
    return SYNCQ_OK;
}

static int
append(json_t *list, json_t *o, syncq_error *err)
{
    if (o == NULL || json_array_append_new(list, o) != 0) {
        return oom(err);
    }
    return SYNCQ_OK;
}

static int
variant_failed(json_t *list, const char *sha, const char *kind, int cls,
               const char *msg, syncq_error *err)
{
    return append(list,
                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "sha256", sha, "kind",
                            kind, "status", "failed", "error_class",
                            syncq_error_class_name(cls), "error", msg),
                  err);
}

int
sq_img_variant(const struct sq_img_env *env, const struct sq_img_target *t,
               enum sq_img_variant kind, struct sq_wxh box, bool crop,
               enum sq_img_fmt want, json_t *list, bool *created,
               syncq_error *err)
{
    enum sq_img_fmt src_fmt = sq_img_fmt_of_path(t->rel);
    enum sq_img_fmt fmt = sq_img_output_fmt(src_fmt, want);
    char kname[64];
    char rel[400];
    char src[4200];
    char dest[4200];
    struct sq_img_info info;
    syncq_error lerr;
    json_t *have = NULL;
    int64_t bytes = 0;
    int rc;

    *created = false;
    snprintf(kname, sizeof kname, "%s_%dx%d%s%s%s",
             kind == SQ_VAR_THUMB ? "thumb" : "resize", box.w, box.h,
             crop ? "_crop" : "", want != SQ_IMG_NONE ? "_" : "",
             want != SQ_IMG_NONE ? sq_img_fmt_ext(want) : "");
    snprintf(rel, sizeof rel, "%s/%s_%dx%d%s.%s",
             kind == SQ_VAR_THUMB ? "thumbs" : "resized", t->sha256, box.w,
             box.h, crop ? "_crop" : "", sq_img_fmt_ext(fmt));
    rc = existing_variant(env, t->sha256, kname, &have, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (have != NULL) {
        return append(list, have, err);
    }
    rc = sq_img_join(env->media_dir, rel, dest, sizeof dest, err);
    if (rc == SYNCQ_OK) {
        rc = sq_img_join(env->media_dir, t->rel, src, sizeof src, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (sq_img_file_size(dest) > 0) {
        /* Written by a run that died before recording it. */
        rc = sq_img_header(dest, &info, &lerr);
        bytes = sq_img_file_size(dest);
        if (rc != SYNCQ_OK) {
            unlink(dest); /* not a whole image: make it again */
        }
    } else {
        rc = SYNCQ_ENOTFOUND;
    }
    if (rc != SYNCQ_OK) {
        if (sq_img_file_size(src) <= 0) {
            return variant_failed(list, t->sha256, kname, SYNCQ_ERR_NOT_FOUND,
                                  "original file is missing", err);
        }
        rc = sq_img_scale(src, dest, box.w, box.h, crop, fmt, env->quality,
                          &info, &bytes, &lerr);
        if (rc == SYNCQ_EINVAL) {
            return variant_failed(list, t->sha256, kname, SYNCQ_ERR_VALIDATION,
                                  lerr.msg, err);
        }
        if (rc != SYNCQ_OK) {
            if (err != NULL) {
                *err = lerr;
            }
            return rc;
        }
        *created = true;
    }
    rc = upsert_variant(env, t->sha256, kname, rel, info.width, info.height,
                        bytes, fmt, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    return append(list,
                  json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I}", "sha256",
                            t->sha256, "kind", kname, "status",
                            *created ? "created" : "exists", "path", rel,
                            "width", info.width, "height", info.height, "bytes",
                            (json_int_t)bytes),
                  err);
}

int
sq_img_optimize(const struct sq_img_env *env, const struct sq_img_target *t,
                enum sq_img_fmt want, json_t *list, int64_t *before,
                int64_t *after, syncq_error *err)
{
    enum sq_img_fmt src_fmt = sq_img_fmt_of_path(t->rel);
    enum sq_img_fmt fmt = sq_img_output_fmt(src_fmt, want);
    char kname[64];
    char rel[400];
    char src[4200];
    char dest[4200];
    syncq_error lerr;
    int64_t b0;
    int64_t b1 = 0;
    bool kept = false;
    json_t *have = NULL;
    int rc;

    snprintf(kname, sizeof kname, "optimized_q%d_%s", env->quality,
             sq_img_fmt_ext(fmt));
    snprintf(rel, sizeof rel, "optimized/%s_q%d.%s", t->sha256, env->quality,
             sq_img_fmt_ext(fmt));
    rc = sq_img_join(env->media_dir, t->rel, src, sizeof src, err);
    if (rc == SYNCQ_OK) {
        rc = sq_img_join(env->media_dir, rel, dest, sizeof dest, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    b0 = sq_img_file_size(src);
    if (b0 <= 0) {
        return variant_failed(list, t->sha256, kname, SYNCQ_ERR_NOT_FOUND,
                              "original file is missing", err);
    }
    rc = existing_variant(env, t->sha256, kname, &have, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (have != NULL) {
        int64_t b = (int64_t)json_integer_value(json_object_get(have, "bytes"));
        json_object_set_new(have, "bytes_before", json_integer(b0));
        json_object_set_new(have, "bytes_after", json_integer(b));
        json_object_set_new(have, "bytes_saved", json_integer(b0 - b));
        json_object_set_new(
            have, "kept_original",
            json_boolean(
                strcmp(json_string_value(json_object_get(have, "path")),
                       t->rel) == 0));
        json_object_del(have, "bytes");
        *before += b0;
        *after += b;
        return append(list, have, err);
    }
    rc = sq_img_reencode(src, dest, fmt, env->quality, &b1, &lerr);
    if (rc == SYNCQ_EINVAL) {
        return variant_failed(list, t->sha256, kname, SYNCQ_ERR_VALIDATION,
                              lerr.msg, err);
    }
    if (rc != SYNCQ_OK) {
        if (err != NULL) {
            *err = lerr;
        }
        return rc;
    }
    if (b1 >= b0) {
        /* Re-encoding would not save anything: the original stays. */
        unlink(dest);
        kept = true;
        b1 = b0;
    }
    {
        struct sq_img_info info;
        if (sq_img_header(kept ? src : dest, &info, &lerr) != SYNCQ_OK) {
            memset(&info, 0, sizeof info);
        }
        rc = upsert_variant(env, t->sha256, kname, kept ? t->rel : rel,
                            info.width, info.height, b1, kept ? src_fmt : fmt,
                            err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *before += b0;
    *after += b1;
    return append(list,
                  json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b}",
                            "sha256", t->sha256, "kind", kname, "status",
                            "created", "path", kept ? t->rel : rel,
                            "bytes_before", (json_int_t)b0, "bytes_after",
                            (json_int_t)b1, "bytes_saved",
                            (json_int_t)(b0 - b1), "kept_original", kept),
                  err);
}
