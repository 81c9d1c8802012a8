/* SPDX-License-Identifier: MIT
 *
 * crawler_task_offer.c: crawler.fetch_product_details (one offer, by API or
 * page) and crawler.fetch_products (one listing page, optionally fanning out
 * the details). Shared parts: crawler_task.h.
 */
#include "crawler/crawler_task.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include <syncq/log.h>
#include <syncq/time.h>
#include "sq_utf8.h"
#include "crawler/crawler_fetch.h"
#include "crawler/crawler_parse.h"
#include "crawler/crawler_sign.h"
#include "crawler/crawler_values.h"
#include "db/sq_db.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>
#include <unistd.h>

/* ---- crawler.fetch_product_details -----------------------------------------
 */

/* The unique image URLs of an offer, main first. */
static json_t *
image_urls(const json_t *offer)
{
    json_t *urls = json_array();
    json_t *seen = json_object();
    static const char *const order[] = {"main", "white", "sku", "desc"};

    for (size_t r = 0; r < 4 && urls != NULL && seen != NULL; r++) {
        size_t i;
        json_t *img;
        json_array_foreach(json_object_get(offer, "images"), i, img)
        {
            const char *role = json_string_value(json_object_get(img, "role"));
            const char *u = json_string_value(json_object_get(img, "url"));
            if (role == NULL || u == NULL || strcmp(role, order[r]) != 0 ||
                json_object_get(seen, u) != NULL) {
                continue;
            }
            json_object_set_new(seen, u, json_true());
            json_array_append_new(urls, json_string(u));
        }
    }
    json_decref(seen);
    return urls;
}

/* Fetch, store and fan out one offer. On success *rec_out (may be NULL)
 * receives the normalised offer. Returns SYNCQ_OK or the task's failure
 * (already reported). */
static int
detail_one(struct crawl *cr, int64_t id, const char *source, bool images,
           json_t **result_out)
{
    struct sq_fetch_result res = {0};
    char key[32], what[96];
    const char *kind;
    json_t *rec = NULL;
    syncq_error perr;
    int rc;

    snprintf(key, sizeof key, "%lld", (long long)id);
    if (strcmp(source, "page") == 0) {
        char *url = sq_asprintf("%s/offer/%lld.html", cr->page, (long long)id);
        syncq_error err;
        kind = "detail_page";
        snprintf(what, sizeof what, "offer page %lld", (long long)id);
        if (url == NULL) {
            return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL, "out of memory");
        }
        rc = sq_fetch(cr->f, url, NULL, SQ_1688_EXPECT_PAGE, &res, &err);
        sq_free(url);
        if (rc != SYNCQ_OK) {
            sq_fetch_result_cleanup(&res);
            return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_VALIDATION, "%s", err.msg);
        }
    } else {
        struct sq_aop_params ps;
        bool classic = strcmp(source, "classic") == 0;
        char param[128];
        syncq_error err;
        kind = "api_detail";
        snprintf(what, sizeof what, "%s %lld",
                 classic ? "alibaba.product.get" : "queryProductDetail",
                 (long long)id);
        sq_aop_params_init(&ps);
        if (classic) {
            rc = sq_aop_params_set(&ps, "productID", key, &err);
            if (rc == SYNCQ_OK) {
                rc = sq_aop_params_set(&ps, "webSite", "1688", &err);
            }
        } else {
            snprintf(param, sizeof param,
                     "{\"offerId\":%lld,\"country\":\"%.16s\"}", (long long)id,
                     cr->lang);
            rc = sq_aop_params_set(&ps, "offerDetailParam", param, &err);
        }
        if (rc != SYNCQ_OK) {
            sq_aop_params_cleanup(&ps);
            return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL, "%s", err.msg);
        }
        rc = sq_crawl_api_call(cr, classic ? "com.alibaba.product" : NS_XB,
                               classic ? "alibaba.product.get"
                                       : "product.search.queryProductDetail",
                               &ps, &res);
        sq_aop_params_cleanup(&ps);
        if (rc != SYNCQ_OK) {
            sq_fetch_result_cleanup(&res);
            return rc;
        }
    }
    if (res.verdict.outcome != SQ_1688_OK) {
        /* keep what the platform said: a delisted offer, a captcha page */
        if (res.verdict.outcome == SQ_1688_NOT_FOUND) {
            json_t *gone = json_pack("{s:I,s:s}", "offer_id", (json_int_t)id,
                                     "status", "delisted");
            rc = sq_crawl_store_raw(cr, kind, key, &res, "not_found", gone);
            json_decref(gone);
            if (rc != SYNCQ_OK) {
                sq_fetch_result_cleanup(&res);
                return rc;
            }
        } else if (res.verdict.outcome == SQ_1688_BLOCKED ||
                   res.verdict.outcome == SQ_1688_LOGIN_REQUIRED) {
            if (res.sent) {
                sq_crawl_store_raw(cr, kind, key, &res, "blocked", NULL);
            }
        }
        rc = sq_crawl_fail_fetch(cr, what, &res);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    rc = sq_1688_offer_parse(res.resp.body, res.resp.len, id, &rec, &perr);
    if (rc != SYNCQ_OK) {
        rc = sq_crawl_fail_parse(cr, what, kind, key, &res, &perr);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    sq_crawl_stamp(rec);
    rc = sq_crawl_store_raw(cr, kind, key, &res, "ok", rec);
    sq_fetch_result_cleanup(&res);
    if (rc != SYNCQ_OK) {
        json_decref(rec);
        return rc;
    }
    if (result_out != NULL) {
        json_t *sup = json_object_get(rec, "supplier");
        json_t *urls = image_urls(rec);
        json_t *out = json_pack(
            "{s:I,s:s,s:O,s:O,s:I,s:I,s:O,s:O,s:{s:O,s:O,s:O},s:s}", "offer_id",
            (json_int_t)id, "source",
            json_string_value(json_object_get(rec, "source")), "subject",
            json_object_get(rec, "subject"), "category_id",
            json_object_get(rec, "category_id"), "skus",
            (json_int_t)json_array_size(json_object_get(rec, "skus")), "images",
            (json_int_t)json_array_size(urls), "price_min_fen",
            json_object_get(rec, "price_min_fen"), "price_max_fen",
            json_object_get(rec, "price_max_fen"), "supplier", "seller_user_id",
            json_object_get(sup, "seller_user_id"), "member_id",
            json_object_get(sup, "member_id"), "open_id",
            json_object_get(sup, "open_id"), "stored", kind);
        json_object_set_new(out, "download_task_id", json_null());
        if (out != NULL && images && json_array_size(urls) > 0) {
            char tid[SYNCQ_ID_SIZE];
            char ukey[160];
            syncq_task_options o;
            syncq_error err;
            json_t *kwo = json_pack("{s:I,s:O}", "product_id", (json_int_t)id,
                                    "urls", urls);
            char *kw = kwo != NULL ? json_dumps(kwo, JSON_COMPACT) : NULL;
            json_decref(kwo);
            syncq_task_options_init(&o);
            /* a retried detail task must not download twice */
            snprintf(ukey, sizeof ukey, "crawler.images:%lld:%.16s",
                     (long long)id,
                     json_string_value(json_object_get(rec, "raw_sha256")));
            o.unique_key = ukey;
            if (kw == NULL) {
                rc = syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL,
                                    "out of memory");
            } else {
                rc = syncq_ctx_enqueue(cr->ctx,
                                       "image_processing.download_images", NULL,
                                       kw, &o, tid, &err);
                if (rc == SYNCQ_OK) {
                    json_object_set_new(out, "download_task_id",
                                        json_string(tid));
                } else {
                    rc = syncq_ctx_fail(cr->ctx,
                                        err.code == SYNCQ_ECONN
                                            ? SYNCQ_ERR_NETWORK
                                            : SYNCQ_ERR_INTERNAL,
                                        "enqueue download_images: %s", err.msg);
                }
            }
            sq_free(kw);
        }
        json_decref(urls);
        if (rc != SYNCQ_OK) {
            json_decref(out);
            json_decref(rec);
            return rc;
        }
        *result_out = out;
    }
    json_decref(rec);
    return SYNCQ_OK;
}

const char *
sq_crawl_detail_source(struct crawl *cr, int *bad)
{
    const json_t *v = sq_crawl_arg(cr->ctx, "source", -1);
    const char *s;

    *bad = 0;
    if (v == NULL || json_is_null(v)) {
        return syncq_config_str(cr->cfg, "SYNCQ_1688_DETAIL_SOURCE");
    }
    s = json_string_value(v);
    if (s == NULL || (strcmp(s, "api") != 0 && strcmp(s, "page") != 0 &&
                      strcmp(s, "classic") != 0)) {
        *bad = 1;
        return NULL;
    }
    return s;
}

int
sq_crawl_task_fetch_product_details(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"product_id", "source",   "images",
                                          "full",       "base_url", "page_url",
                                          "shop_url",   NULL};
    struct crawl cr;
    int64_t id;
    bool images, full;
    const char *source;
    json_t *out = NULL;
    int bad, rc;

    rc = sq_crawl_check_args(ctx, allowed, 1);
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_id(ctx, "product_id", 0, true, 0, 1, INT64_MAX, &id);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_bool(ctx, "images", -1, true, &images);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_bool(ctx, "full", -1, false, &full);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_crawl_open(ctx, &cr);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    source = sq_crawl_detail_source(&cr, &bad);
    if (bad) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "argument source: expected api, page or "
                              "classic");
    }
    rc = detail_one(&cr, id, source, images, &out);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    return syncq_ctx_succeed(ctx, out);
}

/* ---- listing pages
 * ----------------------------------------------------------- */

/* Fetch listing page `page` of `cat`, store it; *listing_out the
 * normalised page. Returns SYNCQ_OK or the task's failure. */
int
sq_crawl_listing_page(struct crawl *cr, int64_t cat, int64_t page, int64_t size,
                      json_t **listing_out)
{
    struct sq_aop_params ps;
    struct sq_fetch_result res = {0};
    char param[256], key[64], what[96];
    json_t *rec = NULL;
    syncq_error err, perr;
    int rc;

    *listing_out = NULL;
    snprintf(param, sizeof param,
             "{\"keyword\":\"\",\"beginPage\":%lld,\"pageSize\":%lld,"
             "\"country\":\"%.16s\",\"categoryId\":%lld}",
             (long long)page, (long long)size, cr->lang, (long long)cat);
    snprintf(key, sizeof key, "%lld:%lld", (long long)cat, (long long)page);
    snprintf(what, sizeof what, "keywordQuery category %lld page %lld",
             (long long)cat, (long long)page);
    sq_aop_params_init(&ps);
    rc = sq_aop_params_set(&ps, "offerQueryParam", param, &err);
    if (rc != SYNCQ_OK) {
        sq_aop_params_cleanup(&ps);
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL, "%s", err.msg);
    }
    rc = sq_crawl_api_call(cr, NS_XB, "product.search.keywordQuery", &ps, &res);
    sq_aop_params_cleanup(&ps);
    if (rc != SYNCQ_OK) {
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    if (res.verdict.outcome != SQ_1688_OK) {
        rc = sq_crawl_fail_fetch(cr, what, &res);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    rc = sq_1688_listing_parse(res.resp.body, res.resp.len, cat, &rec, &perr);
    if (rc != SYNCQ_OK) {
        rc = sq_crawl_fail_parse(cr, what, "search", key, &res, &perr);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    sq_crawl_stamp(rec);
    rc = sq_crawl_store_raw(cr, "search", key, &res, "ok", rec);
    sq_fetch_result_cleanup(&res);
    if (rc != SYNCQ_OK) {
        json_decref(rec);
        return rc;
    }
    if (json_integer_value(json_object_get(rec, "total")) == 0 &&
        json_array_size(json_object_get(rec, "offers")) == 0) {
        /* nothing to crawl is an answer, not a success with 0 offers */
        json_decref(rec);
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_NOT_FOUND,
                              "category %lld: the platform lists no offers "
                              "(an unknown or empty category)",
                              (long long)cat);
    }
    *listing_out = rec;
    return SYNCQ_OK;
}

/* Enqueue fetch_product_details for each offer of a listing; the unique
 * key (run root + offer) keeps one detail task per offer per sync run,
 * across retries and across pages that list an offer twice. */
int
sq_crawl_fan_out_details(struct crawl *cr, const json_t *listing,
                         const char *source, bool full, int64_t *enqueued)
{
    json_t *o;
    size_t i;

    json_array_foreach(json_object_get(listing, "offers"), i, o)
    {
        int64_t id = json_integer_value(json_object_get(o, "offer_id"));
        char kw[160], ukey[160], tid[SYNCQ_ID_SIZE];
        syncq_task_options opts;
        syncq_error err;
        int rc;
        snprintf(kw, sizeof kw, "{\"product_id\":%lld%s%s%s%s}", (long long)id,
                 source != NULL ? ",\"source\":\"" : "",
                 source != NULL ? source : "", source != NULL ? "\"" : "",
                 full ? ",\"full\":true" : "");
        syncq_task_options_init(&opts);
        snprintf(ukey, sizeof ukey, "crawler.detail:%.40s:%lld",
                 syncq_ctx_id(cr->ctx), (long long)id);
        opts.unique_key = ukey;
        rc = syncq_ctx_enqueue(cr->ctx, "crawler.fetch_product_details", NULL,
                               kw, &opts, tid, &err);
        if (rc != SYNCQ_OK) {
            return syncq_ctx_fail(cr->ctx,
                                  err.code == SYNCQ_ECONN ? SYNCQ_ERR_NETWORK
                                                          : SYNCQ_ERR_INTERNAL,
                                  "enqueue fetch_product_details %lld: %s",
                                  (long long)id, err.msg);
        }
        (*enqueued)++;
    }
    return SYNCQ_OK;
}

int
sq_crawl_task_fetch_products(syncq_ctx *ctx)
{
    static const char *const allowed[] = {
        "category_id", "page",     "page_size", "fetch_details", "source",
        "full",        "base_url", "page_url",  "shop_url",      NULL};
    struct crawl cr;
    int64_t cat, page, size, enq = 0;
    bool details, full;
    json_t *listing = NULL, *ids, *o, *out;
    const char *source = NULL;
    size_t i;
    int bad, rc;

    rc = sq_crawl_check_args(ctx, allowed, 3);
    if (rc == SYNCQ_OK) {
        rc =
            sq_crawl_arg_id(ctx, "category_id", 0, true, 0, 0, INT64_MAX, &cat);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_id(ctx, "page", 1, false, 1, 1, 100000, &page);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_id(ctx, "page_size", 2, false, MAX_PAGE_SIZE, 1,
                             MAX_PAGE_SIZE, &size);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_bool(ctx, "fetch_details", -1, false, &details);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_bool(ctx, "full", -1, false, &full);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_crawl_open(ctx, &cr);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (sq_crawl_arg(ctx, "source", -1) != NULL) {
        source = sq_crawl_detail_source(&cr, &bad);
        if (bad) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                                  "argument source: expected api, page or "
                                  "classic");
        }
    }
    rc = sq_crawl_listing_page(&cr, cat, page, size, &listing);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (details) {
        rc = sq_crawl_fan_out_details(&cr, listing, source, full, &enq);
        if (rc != SYNCQ_OK) {
            json_decref(listing);
            return rc;
        }
    }
    ids = json_array();
    json_array_foreach(json_object_get(listing, "offers"), i, o)
    {
        json_array_append(ids, json_object_get(o, "offer_id"));
    }
    out = json_pack("{s:I,s:O,s:O,s:O,s:O,s:o,s:O,s:I}", "category_id",
                    (json_int_t)cat, "page", json_object_get(listing, "page"),
                    "page_size", json_object_get(listing, "page_size"), "total",
                    json_object_get(listing, "total"), "total_pages",
                    json_object_get(listing, "total_pages"), "offer_ids", ids,
                    "offers", json_object_get(listing, "offers"),
                    "details_enqueued", (json_int_t)enq);
    json_decref(listing);
    return syncq_ctx_succeed(ctx, out);
}
