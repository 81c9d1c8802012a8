/* SPDX-License-Identifier: MIT
 *
 * img_tasks.c: the image_processing.* tasks (queue image_processing).
 *
 * Outcome rules (docs/tasks.md): every named image ends with a status of
 * its own; a permanent per-image problem (404, truncated or non-image
 * file: classes not_found / validation) is reported in the result and
 * the rest of the batch carries on, the task succeeds. A temporary one
 * (network, timeout, 5xx, 429) fails the task with that class after the
 * whole batch was tried, so the retry downloads only what is missing
 * (stored images are found by URL key and skipped). Bad arguments fail
 * the task with class validation.
 */
#include "image_processing/img_pack.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "db/ds_task.h"
#include "image_processing/img_ops.h"

#include <stdio.h>
#include <string.h>

static void
env_init(struct sq_img_env *env, syncq_ctx *ctx, struct sq_db *db)
{
    const syncq_config *cfg = syncq_ctx_config(ctx);

    memset(env, 0, sizeof *env);
    env->db = db;
    env->media_dir = syncq_config_str(cfg, "SYNCQ_MEDIA_DIR");
    env->fetch.connect_timeout_ms =
        syncq_config_ms(cfg, "SYNCQ_CRAWLER_CONNECT_TIMEOUT");
    env->fetch.timeout_ms = syncq_config_ms(cfg, "SYNCQ_CRAWLER_TIMEOUT");
    env->fetch.max_bytes = syncq_config_int(cfg, "SYNCQ_IMAGE_MAX_BYTES");
    env->fetch.user_agent = syncq_config_str(cfg, "SYNCQ_CRAWLER_USER_AGENT");
    env->quality = (int)syncq_config_int(cfg, "SYNCQ_IMAGE_QUALITY");
    /* Rows are written once per task (sq_img_flush), not once per row:
     * with NULL (no memory) they are simply written at once. */
    env->pending = json_array();
}

typedef int (*impl_fn)(syncq_ctx *ctx, const struct sq_img_env *env);

/* Open the database, run `impl`, then write the rows it collected. A
 * failure to write them fails the task (class network: retried; the
 * files are in place and the retry records them). */
static int
with_env(syncq_ctx *ctx, impl_fn impl)
{
    struct sq_img_env env;
    struct sq_db *db = sq_task_db(ctx);
    syncq_error err;
    int rc;

    if (db == NULL) {
        return SYNCQ_EDB;
    }
    env_init(&env, ctx, db);
    rc = impl(ctx, &env);
    if (sq_img_flush(&env, &err) != SYNCQ_OK) {
        rc = syncq_ctx_fail(ctx, SYNCQ_ERR_NETWORK,
                            "cannot record the "
                            "images in the database: %s",
                            err.msg);
    }
    json_decref(env.pending);
    return rc;
}

/* Common arguments of the thumbnail/resize/optimize tasks. */
static int
read_quality_format(syncq_ctx *ctx, struct sq_img_env *env,
                    enum sq_img_fmt *want, syncq_error *err)
{
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    const char *fmt = NULL;
    int64_t q;
    bool ok;
    int rc;

    rc = sq_task_arg_int(a, k, "quality", -1, env->quality, 1, 100, &q, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    env->quality = (int)q;
    rc = sq_task_arg_str(a, k, "format", -1, "same", &fmt, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *want = sq_img_fmt_parse(fmt, &ok);
    if (!ok) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "argument format: '%.20s', "
                       "expected same, jpg, png or webp",
                       fmt);
    }
    return SYNCQ_OK;
}

static int
read_mode(syncq_ctx *ctx, bool *crop, syncq_error *err)
{
    const char *mode = NULL;
    int rc = sq_task_arg_str(syncq_ctx_args(ctx), syncq_ctx_kwargs(ctx), "mode",
                             -1, "fit", &mode, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (strcmp(mode, "crop") == 0) {
        *crop = true;
    } else if (strcmp(mode, "fit") == 0) {
        *crop = false;
    } else {
        return sq_fail(err, SYNCQ_EINVAL,
                       "argument mode: '%.20s', expected "
                       "fit or crop",
                       mode);
    }
    return SYNCQ_OK;
}

/* Thumbnails of `t[0..n)` in every box; counts into res. Returns an
 * infrastructure error or SYNCQ_OK (per-image failures are in the
 * list). Stops early when `p` asks (res "stopped": true). */
static int
make_thumbs(const struct sq_img_env *env, const struct sq_img_target *t,
            size_t n, const struct sq_wxh *boxes, int nboxes, bool crop,
            enum sq_img_fmt want, const struct sq_progress *p, json_t *res,
            syncq_error *err)
{
    json_t *list = json_array();
    int64_t created = 0;
    int64_t exists = 0;
    int64_t failed = 0;
    int rc = SYNCQ_OK;

    if (list == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
        char msg[96];
        if (sq_progress_stop(p)) {
            json_object_set_new(res, "stopped", json_true());
            break;
        }
        for (int b = 0; b < nboxes && rc == SYNCQ_OK; b++) {
            bool made = false;
            size_t before = json_array_size(list);
            rc = sq_img_variant(env, &t[i], SQ_VAR_THUMB, boxes[b], crop, want,
                                list, &made, err);
            if (rc == SYNCQ_OK && json_array_size(list) > before) {
                const char *st = json_string_value(
                    json_object_get(json_array_get(list, before), "status"));
                if (strcmp(st, "failed") == 0) {
                    failed++;
                } else if (made) {
                    created++;
                } else {
                    exists++;
                }
            }
        }
        snprintf(msg, sizeof msg, "image %zu of %zu", i + 1, n);
        if (sq_progress_report(p, (int64_t)i + 1, (int64_t)n, msg) != 0) {
            json_object_set_new(res, "stopped", json_true());
            break;
        }
    }
    json_object_set_new(res, "images", json_integer((json_int_t)n));
    json_object_set_new(res, "created", json_integer(created));
    json_object_set_new(res, "exists", json_integer(exists));
    json_object_set_new(res, "failed", json_integer(failed));
    json_object_set_new(res, "thumbnails", list);
    return rc;
}

/* The most urgent retryable class among failed images, or 0. */
static int
retry_class(json_t *images, int64_t *retry_after_ms)
{
    static const int order[] = {SYNCQ_ERR_RATE_LIMITED, SYNCQ_ERR_HTTP_5XX,
                                SYNCQ_ERR_TIMEOUT, SYNCQ_ERR_NETWORK};
    int best = -1;
    size_t i;
    json_t *e;

    *retry_after_ms = 0;
    json_array_foreach(images, i, e)
    {
        int cls = syncq_error_class_parse(
            json_string_value(json_object_get(e, "error_class")));
        const char *st = sq_ds_get_str(e, "status");
        if (st == NULL || strcmp(st, "failed") != 0) {
            continue; /* deferred ones are not failures */
        }
        for (int k = 0; k < 4; k++) {
            if (cls == order[k] && (best < 0 || k < best)) {
                best = k;
            }
        }
        if (cls == SYNCQ_ERR_RATE_LIMITED) {
            int64_t ra = (int64_t)json_integer_value(
                json_object_get(e, "retry_after_ms"));
            if (ra > *retry_after_ms) {
                *retry_after_ms = ra;
            }
        }
    }
    return best < 0 ? 0 : order[best];
}

/* True when `sha` has no thumbnail recorded yet. */
static bool
needs_thumbs(struct sq_db *db, const char *sha)
{
    struct sq_db_stmt *st;
    bool need = true;

    if (sq_db_prepare(db,
                      "SELECT COUNT(*) FROM image_variant WHERE "
                      "sha256 = ? AND kind LIKE 'thumb%'",
                      &st, NULL) != SYNCQ_OK) {
        return true;
    }
    sq_db_bind_text(st, 1, sha);
    if (sq_db_step(st, NULL) == 1) {
        need = sq_db_col_i64(st, 0) == 0;
        sq_db_reset(st);
    }
    return need;
}

/* The failed entry of urls[i] that is neither a URL string nor an object
 * with a string "url" (its value shown, cut to 60 bytes). */
static json_t *
bad_item_json(size_t i, const json_t *item)
{
    char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
    char msg[160];

    snprintf(msg, sizeof msg,
             "urls[%zu] is not an image URL nor {\"url\": ...} (got %.60s)",
             i, text != NULL ? text : "?");
    sq_free(text); /* jansson allocates with sq_malloc (sq_alloc.c) */
    return json_pack("{s:s, s:s, s:s, s:s}", "url", "", "status", "failed",
                     "error_class",
                     syncq_error_class_name(SYNCQ_ERR_VALIDATION), "error",
                     msg);
}

static int
download_images_impl(syncq_ctx *ctx, const struct sq_img_env *shared)
{
    static const char *const allowed[] = {"product_id", "urls", "thumbnails",
                                          "sizes",      "mode", NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    const json_t *urls;
    const json_t *thumbs_arg;
    struct sq_img_env env;
    struct sq_progress p;
    struct sq_wxh boxes[SQ_IMG_MAX_SIZES];
    int nboxes = 0;
    bool crop = false;
    bool inline_thumbs = false;
    bool want_thumbs = true;
    struct sq_db *db;
    json_t *images = NULL;
    json_t *res = NULL;
    json_t *fresh = NULL;
    int64_t product_id = 0;
    int64_t n_down = 0, n_exist = 0, n_fail = 0, bytes = 0;
    int64_t n_defer = 0, n_refused = 0, defer_ms = 0;
    int defer_class = SYNCQ_ERR_RATE_LIMITED;
    syncq_error err;
    size_t i;
    const json_t *u;
    int cls;
    int64_t retry_after = 0;
    int rc;

    rc = sq_task_args_check(a, k, allowed, 2, &err);
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_int(a, k, "product_id", 0, 0, 0, INT64_MAX,
                             &product_id, &err);
    }
    urls = sq_task_arg(a, k, "urls", 1);
    if (rc == SYNCQ_OK &&
        (!json_is_array(urls) || json_array_size(urls) > SQ_IMG_MAX_PER_TASK)) {
        rc = sq_fail(&err, SYNCQ_EINVAL,
                     "argument urls: expected a list of "
                     "at most %d image URLs",
                     SQ_IMG_MAX_PER_TASK);
    }
    thumbs_arg = sq_task_arg(a, k, "thumbnails", -1);
    if (rc == SYNCQ_OK && thumbs_arg != NULL) {
        if (json_is_string(thumbs_arg) &&
            strcmp(json_string_value(thumbs_arg), "inline") == 0) {
            inline_thumbs = true;
        } else if (json_is_boolean(thumbs_arg)) {
            want_thumbs = json_is_true(thumbs_arg);
        } else {
            rc = sq_fail(&err, SYNCQ_EINVAL,
                         "argument thumbnails: expected "
                         "true, false or \"inline\"");
        }
    }
    if (rc == SYNCQ_OK) {
        rc = read_mode(ctx, &crop, &err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_img_parse_sizes(
            sq_task_arg(a, k, "sizes", -1),
            syncq_config_str(syncq_ctx_config(ctx), "SYNCQ_THUMBNAIL_SIZES"),
            boxes, &nboxes, &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "download_images");
    }
    db = shared->db;
    env = *shared;
    rc = sq_img_fetch_setup(&env.fetch, ctx, &err);
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "download_images");
    }
    sq_task_progress_init(&p, ctx);
    /* Half downloads of killed workers: gone after an hour. */
    sq_img_sweep_tmp(env.media_dir, 3600);
    images = json_array();
    fresh = json_array();
    if (images == NULL || fresh == NULL) {
        rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
        goto fail;
    }
    json_array_foreach(urls, i, u)
    {
        const char *url =
            json_is_string(u) ? json_string_value(u) : sq_ds_get_str(u, "url");
        json_t *one = NULL;
        bool is_new = false;
        const char *st;
        char msg[96];
        if (syncq_ctx_stop_requested(ctx)) {
            break;
        }
        if (url == NULL) {
            /* not a URL string nor an object with one: said with the
             * value given, not as an empty URL */
            one = bad_item_json(i, u);
            if (one == NULL) {
                rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
                goto fail;
            }
        } else {
            rc = sq_img_download_one(&env, url, &one, &is_new, &err);
            if (rc != SYNCQ_OK) {
                goto fail;
            }
        }
        json_array_append_new(images, one);
        st = json_string_value(json_object_get(one, "status"));
        if (strcmp(st, "deferred") == 0) {
            n_defer++;
            defer_class = (int)syncq_error_class_parse(
                json_string_value(json_object_get(one, "error_class")));
            if (json_integer_value(json_object_get(one, "retry_after_ms")) >
                defer_ms) {
                defer_ms = json_integer_value(
                    json_object_get(one, "retry_after_ms"));
            }
        } else if (strcmp(st, "failed") == 0) {
            n_fail++;
            n_refused += json_is_true(json_object_get(one, "refused"));
        } else {
            const char *sha = json_string_value(json_object_get(one, "sha256"));
            if (strcmp(st, "downloaded") == 0) {
                n_down++;
                bytes +=
                    (int64_t)json_integer_value(json_object_get(one, "bytes"));
            } else {
                n_exist++;
            }
            if (want_thumbs && sha != NULL &&
                (is_new || needs_thumbs(db, sha))) {
                json_array_append_new(fresh, json_string(sha));
            }
        }
        snprintf(msg, sizeof msg, "image %zu of %zu", i + 1,
                 json_array_size(urls));
        syncq_ctx_progress(ctx, (int64_t)i + 1, (int64_t)json_array_size(urls),
                           msg, NULL);
    }
    res = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:n}",
                    "product_id", (json_int_t)product_id, "total",
                    (json_int_t)json_array_size(urls), "downloaded",
                    (json_int_t)n_down, "exists", (json_int_t)n_exist, "failed",
                    (json_int_t)n_fail, "refused", (json_int_t)n_refused,
                    "deferred", (json_int_t)n_defer, "bytes",
                    (json_int_t)bytes, "images", images, "thumbnails_task");
    if (res == NULL) {
        rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
        goto fail;
    }
    /* Rows first: the thumbnails task (or the inline step) finds the
     * images in the database by content. */
    rc = sq_img_flush(&env, &err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    if (json_array_size(fresh) > 0 && !inline_thumbs) {
        char id[SYNCQ_ID_SIZE];
        json_t *kw = json_pack("{s:O, s:s}", "sha256", fresh, "mode",
                               crop ? "crop" : "fit");
        char *kwtext;
        if (kw != NULL && sq_task_arg(a, k, "sizes", -1) != NULL) {
            json_object_set(kw, "sizes",
                            (json_t *)sq_task_arg(a, k, "sizes", -1));
        }
        kwtext = kw != NULL ? json_dumps(kw, JSON_COMPACT) : NULL;
        json_decref(kw);
        if (kwtext == NULL) {
            rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
            goto fail;
        }
        rc = syncq_ctx_enqueue(ctx, "image_processing.generate_thumbnails",
                               NULL, kwtext, NULL, id, &err);
        sq_free(kwtext);
        if (rc == SYNCQ_OK) {
            json_object_set_new(res, "thumbnails_task", json_string(id));
        } else if (rc == SYNCQ_ENOTSUP) {
            inline_thumbs = true; /* run without a broker: do it here */
        } else {
            /* Images are stored; the retry enqueues the thumbnails of
             * those still without any. */
            syncq_ctx_set_error_detail(ctx, res);
            json_decref(images);
            json_decref(fresh);
            return syncq_ctx_fail(ctx, SYNCQ_ERR_NETWORK,
                                  "cannot enqueue "
                                  "generate_thumbnails: %s",
                                  err.msg);
        }
    }
    if (json_array_size(fresh) > 0 && inline_thumbs) {
        struct sq_img_target *t = NULL;
        size_t nt = 0;
        json_t *kw = json_pack("{s:O}", "sha256", fresh);
        json_t *missing = json_array();
        json_t *tres = json_object();
        rc = (kw != NULL && missing != NULL && tres != NULL)
                 ? sq_img_targets(db, kw, &t, &nt, missing, &err)
                 : sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
        if (rc == SYNCQ_OK) {
            rc = make_thumbs(&env, t, nt, boxes, nboxes, crop, SQ_IMG_NONE,
                             NULL, tres, &err);
        }
        sq_free(t);
        json_decref(kw);
        json_decref(missing);
        if (rc != SYNCQ_OK) {
            json_decref(tres);
            goto fail;
        }
        json_object_set_new(res, "thumbnails", tres);
    }
    json_decref(images);
    json_decref(fresh);
    if (n_refused > 0 && n_refused == (int64_t)json_array_size(urls)) {
        syncq_ctx_set_error_detail(ctx, res);
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "every image URL (%lld) was refused: %s",
                              (long long)n_refused,
                              sq_ds_get_str(json_array_get(json_object_get(
                                                res, "images"), 0),
                                            "error"));
    }
    cls = retry_class(json_object_get(res, "images"), &retry_after);
    if (cls == 0 && n_defer > 0) {
        syncq_ctx_set_error_detail(ctx, res);
        return syncq_ctx_defer(ctx, defer_class, defer_ms,
                               "%lld of %lld images deferred: their host "
                               "asked to wait (see error.detail)",
                               (long long)n_defer,
                               (long long)json_array_size(urls));
    }
    if (cls != 0) {
        syncq_ctx_set_error_detail(ctx, res);
        return syncq_ctx_retry_after(ctx, cls, retry_after,
                                     "%lld of %lld images failed for a "
                                     "reason worth a retry (see "
                                     "error.detail)",
                                     (long long)n_fail,
                                     (long long)json_array_size(urls));
    }
    if (n_fail > 0 && n_fail == (int64_t)json_array_size(urls)) {
        /* nothing stored and nothing worth a retry: the task failed (a
         * batch counts the chunk failed), with the first image's reason */
        const json_t *f0 = json_array_get(json_object_get(res, "images"), 0);
        int c0 = syncq_error_class_parse(sq_ds_get_str(f0, "error_class"));
        syncq_ctx_set_error_detail(ctx, res);
        return syncq_ctx_fail(ctx, c0 > 0 ? c0 : SYNCQ_ERR_VALIDATION,
                              "every image (%lld) failed: %s",
                              (long long)n_fail, sq_ds_get_str(f0, "error"));
    }
    if (syncq_ctx_stop_requested(ctx) &&
        n_down + n_exist + n_fail < (int64_t)json_array_size(urls)) {
        syncq_ctx_set_error_detail(ctx, res);
        return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                              "stopped after %lld of "
                              "%zu images; the retry skips stored ones",
                              (long long)(n_down + n_exist + n_fail),
                              json_array_size(urls));
    }
    return syncq_ctx_succeed(ctx, res);
fail:
    json_decref(images);
    json_decref(fresh);
    json_decref(res);
    return sq_task_fail_err(ctx, &err, "download_images");
}

/* Shared start of the tasks that work on stored images. */
static int
targets_for(syncq_ctx *ctx, struct sq_db *db, struct sq_img_target **t,
            size_t *n, json_t *missing, syncq_error *err)
{
    int rc = sq_img_targets(db, syncq_ctx_kwargs(ctx), t, n, missing, err);

    if (rc == SYNCQ_OK && *n == 0) {
        rc = sq_fail(err, SYNCQ_ENOTFOUND,
                     "none of the named images is "
                     "downloaded");
    }
    return rc;
}

static int
generate_thumbnails_impl(syncq_ctx *ctx, const struct sq_img_env *shared)
{
    static const char *const allowed[] = {"sha256",  "image_ids", "product_id",
                                          "sizes",   "mode",      "format",
                                          "quality", NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct sq_img_env env;
    struct sq_progress p;
    struct sq_wxh boxes[SQ_IMG_MAX_SIZES];
    int nboxes = 0;
    bool crop = false;
    enum sq_img_fmt want = SQ_IMG_NONE;
    struct sq_img_target *t = NULL;
    size_t n = 0;
    struct sq_db *db;
    json_t *res = NULL;
    json_t *missing = NULL;
    syncq_error err;
    int rc;

    rc = sq_task_args_check(a, k, allowed, 0, &err);
    if (rc == SYNCQ_OK) {
        rc = read_mode(ctx, &crop, &err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_img_parse_sizes(
            json_object_get(k, "sizes"),
            syncq_config_str(syncq_ctx_config(ctx), "SYNCQ_THUMBNAIL_SIZES"),
            boxes, &nboxes, &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "generate_thumbnails");
    }
    db = shared->db;
    env = *shared;
    rc = read_quality_format(ctx, &env, &want, &err);
    missing = json_array();
    res = json_object();
    if (rc == SYNCQ_OK && (missing == NULL || res == NULL)) {
        rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
    }
    if (rc == SYNCQ_OK) {
        rc = targets_for(ctx, db, &t, &n, missing, &err);
    }
    if (rc == SYNCQ_OK) {
        sq_task_progress_init(&p, ctx);
        rc = make_thumbs(&env, t, n, boxes, nboxes, crop, want, &p, res, &err);
    }
    sq_free(t);
    if (rc != SYNCQ_OK) {
        json_decref(missing);
        json_decref(res);
        return sq_task_fail_err(ctx, &err, "generate_thumbnails");
    }
    json_object_set_new(res, "missing", missing);
    if (json_is_true(json_object_get(res, "stopped"))) {
        syncq_ctx_set_error_detail(ctx, res);
        return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                              "stopped early; the "
                              "retry skips thumbnails already made");
    }
    return syncq_ctx_succeed(ctx, res);
}

static int
resize_images_impl(syncq_ctx *ctx, const struct sq_img_env *shared)
{
    static const char *const allowed[] = {"sha256",  "image_ids", "product_id",
                                          "width",   "height",    "format",
                                          "quality", NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct sq_img_env env;
    struct sq_wxh box;
    enum sq_img_fmt want = SQ_IMG_NONE;
    struct sq_img_target *t = NULL;
    size_t n = 0;
    struct sq_db *db;
    json_t *list = NULL;
    json_t *missing = NULL;
    int64_t w = 800, h = 800, created = 0, exists = 0, failed = 0;
    syncq_error err;
    int rc;

    rc = sq_task_args_check(a, k, allowed, 0, &err);
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_int(a, k, "width", -1, 800, 16, 8192, &w, &err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_task_arg_int(a, k, "height", -1, w, 16, 8192, &h, &err);
    }
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "resize_images");
    }
    db = shared->db;
    env = *shared;
    rc = read_quality_format(ctx, &env, &want, &err);
    list = json_array();
    missing = json_array();
    if (rc == SYNCQ_OK && (list == NULL || missing == NULL)) {
        rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
    }
    if (rc == SYNCQ_OK) {
        rc = targets_for(ctx, db, &t, &n, missing, &err);
    }
    box.w = (int)w;
    box.h = (int)h;
    for (size_t i = 0; rc == SYNCQ_OK && i < n; i++) {
        bool made = false;
        const char *st;
        rc = sq_img_variant(&env, &t[i], SQ_VAR_RESIZE, box, false, want, list,
                            &made, &err);
        if (rc != SYNCQ_OK) {
            break;
        }
        st = json_string_value(json_object_get(
            json_array_get(list, json_array_size(list) - 1), "status"));
        if (strcmp(st, "failed") == 0) {
            failed++;
        } else if (made) {
            created++;
        } else {
            exists++;
        }
        syncq_ctx_progress(ctx, (int64_t)i + 1, (int64_t)n, NULL, NULL);
    }
    sq_free(t);
    if (rc != SYNCQ_OK) {
        json_decref(list);
        json_decref(missing);
        return sq_task_fail_err(ctx, &err, "resize_images");
    }
    return syncq_ctx_succeed(
        ctx, json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}", "images",
                       (json_int_t)n, "created", (json_int_t)created, "exists",
                       (json_int_t)exists, "failed", (json_int_t)failed,
                       "resized", list, "missing", missing));
}

static int
optimize_images_impl(syncq_ctx *ctx, const struct sq_img_env *shared)
{
    static const char *const allowed[] = {"sha256", "image_ids", "product_id",
                                          "format", "quality",   NULL};
    const json_t *a = syncq_ctx_args(ctx);
    const json_t *k = syncq_ctx_kwargs(ctx);
    struct sq_img_env env;
    enum sq_img_fmt want = SQ_IMG_NONE;
    struct sq_img_target *t = NULL;
    size_t n = 0;
    struct sq_db *db;
    json_t *list = NULL;
    json_t *missing = NULL;
    int64_t before = 0, after = 0, failed = 0;
    syncq_error err;
    int rc;

    rc = sq_task_args_check(a, k, allowed, 0, &err);
    if (rc != SYNCQ_OK) {
        return sq_task_fail_err(ctx, &err, "optimize_images");
    }
    db = shared->db;
    env = *shared;
    rc = read_quality_format(ctx, &env, &want, &err);
    list = json_array();
    missing = json_array();
    if (rc == SYNCQ_OK && (list == NULL || missing == NULL)) {
        rc = sq_fail(&err, SYNCQ_ENOMEM, "out of memory");
    }
    if (rc == SYNCQ_OK) {
        rc = targets_for(ctx, db, &t, &n, missing, &err);
    }
    for (size_t i = 0; rc == SYNCQ_OK && i < n; i++) {
        rc = sq_img_optimize(&env, &t[i], want, list, &before, &after, &err);
        if (rc == SYNCQ_OK &&
            strcmp(
                json_string_value(json_object_get(
                    json_array_get(list, json_array_size(list) - 1), "status")),
                "failed") == 0) {
            failed++;
        }
        syncq_ctx_progress(ctx, (int64_t)i + 1, (int64_t)n, NULL, NULL);
    }
    sq_free(t);
    if (rc != SYNCQ_OK) {
        json_decref(list);
        json_decref(missing);
        return sq_task_fail_err(ctx, &err, "optimize_images");
    }
    return syncq_ctx_succeed(
        ctx, json_pack("{s:I, s:I, s:i, s:I, s:I, s:I, s:o, s:o}", "images",
                       (json_int_t)n, "failed", (json_int_t)failed, "quality",
                       env.quality, "bytes_before", (json_int_t)before,
                       "bytes_after", (json_int_t)after, "bytes_saved",
                       (json_int_t)(before - after), "optimized", list,
                       "missing", missing));
}

static int
task_download_images(syncq_ctx *ctx)
{
    return with_env(ctx, download_images_impl);
}

static int
task_generate_thumbnails(syncq_ctx *ctx)
{
    return with_env(ctx, generate_thumbnails_impl);
}

static int
task_resize_images(syncq_ctx *ctx)
{
    return with_env(ctx, resize_images_impl);
}

static int
task_optimize_images(syncq_ctx *ctx)
{
    return with_env(ctx, optimize_images_impl);
}

/* Declared arguments (syncq/task.h): every producer door checks them
 * before a task is written; the task functions still check what they
 * read (sizes, digests, image rows). */
#define I_KW SYNCQ_ARG_KEYWORD
#define I_SELECT                                                            \
    {.name = "sha256", .type = SYNCQ_ARG_ANY, .flags = I_KW,                \
     .doc = "image content digests (a list, or one string)"},               \
    {.name = "image_ids", .type = SYNCQ_ARG_ARRAY,                          \
     .flags = I_KW | SYNCQ_ARG_ITEMS, .min = 0,                             \
     .max = SQ_IMG_MAX_PER_TASK, .item_type = SYNCQ_ARG_INT,                \
     .doc = "image ids; a batch's items"},                                  \
    {.name = "product_id", .type = SYNCQ_ARG_ID, .flags = I_KW,             \
     .doc = "every downloaded image of this offer"}
#define I_FORMAT                                                            \
    {.name = "format", .type = SYNCQ_ARG_STRING, .flags = I_KW,             \
     .choices = "same|jpg|jpeg|png|webp", .default_json = "\"same\"",       \
     .doc = "output format"},                                               \
    {.name = "quality", .type = SYNCQ_ARG_INT, .flags = I_KW, .min = 1,     \
     .max = 100, .doc = "encoder quality (default SYNCQ_IMAGE_QUALITY)"}
#define I_MODE                                                              \
    {.name = "mode", .type = SYNCQ_ARG_STRING, .flags = I_KW,               \
     .choices = "fit|crop", .default_json = "\"fit\"",                      \
     .doc = "fit inside each size, or crop to fill it"}
#define I_SIZES                                                             \
    {.name = "sizes", .type = SYNCQ_ARG_ANY, .flags = I_KW,                 \
     .doc = "thumbnail sizes: [\"150x150\", ...] or \"150x150,300x300\" "     \
            "(default SYNCQ_THUMBNAIL_SIZES)"}

static const syncq_arg_def download_args[] = {
    {.name = "product_id", .type = SYNCQ_ARG_ID, .default_json = "0",
     .doc = "offer the images belong to (0: none)"},
    {.name = "urls", .type = SYNCQ_ARG_ARRAY,
     .flags = SYNCQ_ARG_REQUIRED | SYNCQ_ARG_ITEMS, .min = 0,
     .max = SQ_IMG_MAX_PER_TASK,
     .doc = "image URLs (strings or {\"url\": ...} objects); a batch's "
            "items"},
    {.name = "thumbnails", .type = SYNCQ_ARG_ANY, .flags = I_KW,
     .default_json = "true",
     .doc = "true, false, or \"inline\" (made in this task)"},
    I_SIZES,
    I_MODE,
    {0},
};
static const syncq_arg_def resize_args[] = {
    I_SELECT,
    {.name = "width", .type = SYNCQ_ARG_INT, .flags = I_KW, .min = 16,
     .max = 8192, .default_json = "800", .doc = "box width, pixels"},
    {.name = "height", .type = SYNCQ_ARG_INT, .flags = I_KW, .min = 16,
     .max = 8192, .doc = "box height, pixels (default: width)"},
    I_FORMAT,
    {0},
};
static const syncq_arg_def optimize_args[] = {
    I_SELECT,
    I_FORMAT,
    {0},
};
static const syncq_arg_def thumbnail_args[] = {
    I_SELECT,
    I_SIZES,
    I_MODE,
    I_FORMAT,
    {0},
};

int
sq_pack_image_processing_init(syncq_registry *r, int abi, syncq_error *err)
{
    static const syncq_task_def defs[] = {
        {"image_processing.download_images", task_download_images,
         "image_processing", -1, 0, 0, -1, NULL,
         "product_id, urls, thumbnails=true|false|\"inline\", sizes=None, "
         "mode=fit|crop",
         "Download, validate and store images by content; fan out "
         "thumbnails for new ones",
         download_args},
        {"image_processing.resize_images", task_resize_images,
         "image_processing", -1, 0, 0, -1, NULL,
         "sha256|image_ids|product_id, width=800, height=width, "
         "format=same, quality=SYNCQ_IMAGE_QUALITY",
         "Make display-size copies that fit in width x height",
         resize_args},
        {"image_processing.optimize_images", task_optimize_images,
         "image_processing", -1, 0, 0, -1, NULL,
         "sha256|image_ids|product_id, format=same|jpg|webp, "
         "quality=SYNCQ_IMAGE_QUALITY",
         "Strip metadata and re-encode; report the bytes saved",
         optimize_args},
        /* One above NORMAL: an offer's thumbnails run before the
         * downloads queued after it, so offers finish whole in the
         * order they came and the originals waiting for thumbnails
         * stay few (FIFO would make every download of a large sync
         * first, every thumbnail last). */
        {"image_processing.generate_thumbnails", task_generate_thumbnails,
         "image_processing", SYNCQ_PRIORITY_NORMAL + 1, 0, 0, -1, NULL,
         "sha256|image_ids|product_id, sizes=SYNCQ_THUMBNAIL_SIZES, "
         "mode=fit|crop, format=same, quality",
         "Make thumbnails in each size (fit inside or crop to fill)",
         thumbnail_args},
    };
    int rc;

    if (abi != SYNCQ_PLUGIN_ABI) {
        return sq_fail(err, SYNCQ_ENOTSUP,
                       "image_processing pack: ABI %d, "
                       "host has %d",
                       SYNCQ_PLUGIN_ABI, abi);
    }
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        rc = syncq_registry_add(r, &defs[i], err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return SYNCQ_OK;
}
