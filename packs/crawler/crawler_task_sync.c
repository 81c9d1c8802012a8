/* SPDX-License-Identifier: MIT
 *
 * crawler_task_sync.c: crawler.fetch_suppliers (shop info of many suppliers)
 * and crawler.sync_category (a whole category, page by page, with
 * resume). Shared parts: crawler_task.h.
 */
#include "crawler/crawler_task.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "core/sq_utf8.h"
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

/* ---- crawler.fetch_suppliers
 * -------------------------------------------------- */

int
sq_crawl_task_fetch_suppliers(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"supplier_ids", "shop_url",
                                          "base_url", "page_url", NULL};
    struct crawl cr;
    const json_t *ids = sq_crawl_arg(ctx, "supplier_ids", 0);
    json_t *one = NULL;
    json_t *state = NULL, *fetched = NULL, *missing = NULL;
    int64_t seq = 0, next = 0;
    size_t n;
    syncq_error err;
    int rc;

    rc = sq_crawl_check_args(ctx, allowed, 1);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (json_is_string(ids) || json_is_integer(ids)) {
        /* one id given alone */
        one = json_array();
        if (one == NULL || json_array_append(one, (json_t *)ids) != 0) {
            json_decref(one);
            return syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL, "out of memory");
        }
        ids = one;
    }
    n = json_array_size(ids);
    if (!json_is_array(ids) || n == 0 || n > MAX_SUPPLIERS) {
        json_decref(one);
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "argument supplier_ids: expected 1..%d member "
                              "ids (b2b-...) or seller user ids",
                              MAX_SUPPLIERS);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(ids, i);
        int64_t uid;
        if (!(json_is_string(v) && json_string_length(v) > 0 &&
              json_string_length(v) < 100) &&
            !(sq_1688_json_int(v, &uid) && uid > 0)) {
            json_decref(one);
            return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                                  "argument supplier_ids[%zu]: expected a "
                                  "member id or a seller user id",
                                  i);
        }
    }
    rc = sq_crawl_open(ctx, &cr);
    if (rc != SYNCQ_OK) {
        json_decref(one);
        return rc;
    }
    /* resume: which suppliers were done by an earlier attempt */
    if (syncq_ctx_checkpoint_load_json(ctx, &state, &seq, &err) == SYNCQ_OK) {
        next = json_integer_value(json_object_get(state, "next"));
        fetched = json_incref(json_object_get(state, "fetched"));
        missing = json_incref(json_object_get(state, "not_found"));
        json_decref(state);
    }
    if (!json_is_array(fetched)) {
        json_decref(fetched);
        fetched = json_array();
    }
    if (!json_is_array(missing)) {
        json_decref(missing);
        missing = json_array();
    }
    for (size_t i = (size_t)(next > 0 ? next : 0); i < n; i++) {
        const json_t *v = json_array_get(ids, i);
        struct sq_fetch_result res = {0};
        char idtxt[128], what[160];
        char *url;
        json_t *rec = NULL;
        syncq_error perr;
        bool numeric = !json_is_string(v);
        if (numeric) {
            int64_t uid = 0;
            sq_1688_json_int(v, &uid);
            snprintf(idtxt, sizeof idtxt, "%lld", (long long)uid);
        } else {
            snprintf(idtxt, sizeof idtxt, "%s", json_string_value(v));
            numeric = idtxt[0] != '\0' &&
                      strspn(idtxt, "0123456789") == strlen(idtxt);
        }
        {
            /* the member id goes into a query string: escape it */
            struct sq_aop_params q;
            char *qs;
            sq_aop_params_init(&q);
            sq_aop_params_set(&q, numeric ? "seller_id" : "member_id", idtxt,
                              NULL);
            if (cr.shop_token != NULL && cr.shop_token[0] != '\0') {
                sq_aop_params_set(&q, "apiToken", cr.shop_token, NULL);
            }
            qs = sq_aop_form_encode(&q);
            sq_aop_params_cleanup(&q);
            url = qs != NULL ? sq_asprintf("%s?%s", cr.shop, qs) : NULL;
            sq_free(qs);
        }
        snprintf(what, sizeof what, "shop_info %.100s", idtxt);
        if (url == NULL) {
            rc = syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL, "out of memory");
            break;
        }
        rc = sq_fetch(cr.f, url, NULL, SQ_1688_EXPECT_JSON, &res, &err);
        sq_free(url);
        if (rc != SYNCQ_OK) {
            sq_fetch_result_cleanup(&res);
            rc = syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION, "%s", err.msg);
            break;
        }
        if (res.verdict.outcome == SQ_1688_NOT_FOUND) {
            json_array_append_new(missing, json_string(idtxt));
            sq_fetch_result_cleanup(&res);
        } else if (res.verdict.outcome != SQ_1688_OK) {
            rc = sq_crawl_fail_fetch(&cr, what, &res);
            sq_fetch_result_cleanup(&res);
            break;
        } else {
            rc = sq_1688_supplier_parse(res.resp.body, res.resp.len, &rec,
                                        &perr);
            if (rc != SYNCQ_OK) {
                rc = sq_crawl_fail_parse(&cr, what, "shop", idtxt, &res, &perr);
                sq_fetch_result_cleanup(&res);
                break;
            }
            sq_crawl_stamp(rec);
            {
                /* key: seller user id, else member id (normalized doc) */
                char key[128];
                json_t *uid = json_object_get(rec, "seller_user_id");
                if (json_is_integer(uid)) {
                    snprintf(key, sizeof key, "%lld",
                             (long long)json_integer_value(uid));
                } else {
                    snprintf(key, sizeof key, "%s", idtxt);
                }
                rc = sq_crawl_store_raw(&cr, "shop", key, &res, "ok", rec);
            }
            sq_fetch_result_cleanup(&res);
            if (rc != SYNCQ_OK) {
                json_decref(rec);
                break;
            }
            json_array_append_new(
                fetched,
                json_pack("{s:s,s:O,s:O,s:O}", "id", idtxt, "seller_user_id",
                          json_object_get(rec, "seller_user_id"), "member_id",
                          json_object_get(rec, "member_id"), "company_name",
                          json_object_get(rec, "company_name")));
            json_decref(rec);
        }
        /* remember progress so a retry skips what is done */
        state = json_pack("{s:I,s:O,s:O}", "next", (json_int_t)(i + 1),
                          "fetched", fetched, "not_found", missing);
        if (state != NULL) {
            syncq_ctx_checkpoint_save_json(ctx, state, (int64_t)(i + 1), NULL);
            json_decref(state);
        }
        syncq_ctx_progress(ctx, (int64_t)(i + 1), (int64_t)n, "suppliers",
                           NULL);
        if (syncq_ctx_stop_requested(ctx) && i + 1 < n) {
            rc = syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                                "stopped after %zu of %zu suppliers "
                                "(checkpointed; a retry continues)",
                                i + 1, n);
            break;
        }
    }
    json_decref(one);
    if (rc != SYNCQ_OK) {
        json_decref(fetched);
        json_decref(missing);
        return rc;
    }
    return syncq_ctx_succeed(
        ctx, json_pack("{s:I,s:I,s:o,s:o}", "requested", (json_int_t)n,
                       "fetched", (json_int_t)json_array_size(fetched),
                       "suppliers", fetched, "not_found", missing));
}

/* ---- crawler.sync_category
 * ------------------------------------------------------ */

/* Fetch and store the category node (name, leaf, children). */
static int
category_node(struct crawl *cr, int64_t cat, json_t **out)
{
    struct sq_aop_params ps;
    struct sq_fetch_result res = {0};
    char id[32], what[64];
    syncq_error err, perr;
    json_t *rec = NULL;
    int rc;

    *out = NULL;
    snprintf(id, sizeof id, "%lld", (long long)cat);
    snprintf(what, sizeof what, "category %lld", (long long)cat);
    sq_aop_params_init(&ps);
    rc = sq_aop_params_set(&ps, "categoryId", id, &err);
    if (rc == SYNCQ_OK) {
        rc = sq_aop_params_set(&ps, "language", cr->lang, &err);
    }
    if (rc != SYNCQ_OK) {
        sq_aop_params_cleanup(&ps);
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL, "%s", err.msg);
    }
    rc =
        sq_crawl_api_call(cr, NS_XB, "category.translation.getById", &ps, &res);
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
    rc = sq_1688_category_parse(res.resp.body, res.resp.len, &rec, &perr);
    if (rc != SYNCQ_OK) {
        rc = sq_crawl_fail_parse(cr, what, "category", id, &res, &perr);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    sq_crawl_stamp(rec);
    rc = sq_crawl_store_raw(cr, "category", id, &res, "ok", rec);
    sq_fetch_result_cleanup(&res);
    if (rc != SYNCQ_OK) {
        json_decref(rec);
        return rc;
    }
    *out = rec;
    return SYNCQ_OK;
}

int
sq_crawl_task_sync_category(syncq_ctx *ctx)
{
    static const char *const allowed[] = {
        "category_id", "max_pages", "page_size", "fetch_details", "full",
        "source",      "base_url",  "page_url",  "shop_url",      NULL};
    struct crawl cr;
    int64_t cat, max_pages, size, page = 1, total_pages = -1;
    int64_t offers = 0, enq = 0, pages_done = 0, seq = 0;
    bool details, full;
    const char *source = NULL;
    json_t *state = NULL, *name = NULL;
    syncq_error err;
    int bad, rc;

    rc = sq_crawl_check_args(ctx, allowed, 2);
    if (rc == SYNCQ_OK) {
        rc =
            sq_crawl_arg_id(ctx, "category_id", 0, true, 0, 0, INT64_MAX, &cat);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_id(ctx, "max_pages", 1, false, 0, 0, 100000,
                             &max_pages);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_id(ctx, "page_size", -1, false, MAX_PAGE_SIZE, 1,
                             MAX_PAGE_SIZE, &size);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_crawl_arg_bool(ctx, "fetch_details", -1, true, &details);
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
    /* A killed or retried sync resumes at the page after the last one
     * whose details were enqueued, never at page 1. */
    rc = syncq_ctx_checkpoint_load_json(ctx, &state, &seq, &err);
    if (rc == SYNCQ_OK) {
        page = json_integer_value(json_object_get(state, "next_page"));
        total_pages = json_integer_value(json_object_get(state, "total_pages"));
        offers = json_integer_value(json_object_get(state, "offers_seen"));
        enq = json_integer_value(json_object_get(state, "details_enqueued"));
        pages_done = json_integer_value(json_object_get(state, "pages_done"));
        name = json_incref(json_object_get(state, "category_name"));
        json_decref(state);
        if (page < 1) {
            page = 1;
        }
        syncq_ctx_log(ctx, SYNCQ_LOG_INFO,
                      "resuming category %lld at page %lld (checkpoint %lld)",
                      (long long)cat, (long long)page, (long long)seq);
    } else if (rc != SYNCQ_ENOTFOUND && rc != SYNCQ_ENOTSUP) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_NETWORK,
                              "loading the checkpoint: %s", err.msg);
    } else {
        json_t *node = NULL;
        rc = category_node(&cr, cat, &node);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        name = json_incref(json_object_get(node, "name_zh"));
        json_decref(node);
    }
    for (;;) {
        json_t *listing = NULL;
        int64_t n;
        char msg[160];
        if (max_pages > 0 && page > max_pages) {
            break;
        }
        if (total_pages >= 0 && page > total_pages) {
            break;
        }
        if (syncq_ctx_stop_requested(ctx)) {
            json_decref(name);
            return syncq_ctx_fail(ctx, SYNCQ_ERR_TIMEOUT,
                                  "stopped before page %lld (checkpointed; "
                                  "a retry resumes there)",
                                  (long long)page);
        }
        rc = sq_crawl_listing_page(&cr, cat, page, size, &listing);
        if (rc != SYNCQ_OK) {
            json_decref(name);
            return rc;
        }
        total_pages =
            json_integer_value(json_object_get(listing, "total_pages"));
        n = (int64_t)json_array_size(json_object_get(listing, "offers"));
        if (details) {
            rc = sq_crawl_fan_out_details(&cr, listing, source, full, &enq);
            if (rc != SYNCQ_OK) {
                json_decref(listing);
                json_decref(name);
                return rc;
            }
        }
        json_decref(listing);
        offers += n;
        pages_done++;
        page++;
        state = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:O*}", "next_page", (json_int_t)page,
            "total_pages", (json_int_t)total_pages, "offers_seen",
            (json_int_t)offers, "details_enqueued", (json_int_t)enq,
            "pages_done", (json_int_t)pages_done, "category_name", name);
        if (state == NULL || syncq_ctx_checkpoint_save_json(
                                 ctx, state, page - 1, &err) != SYNCQ_OK) {
            json_decref(state);
            if (state == NULL) {
                json_decref(name);
                return syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL, "out of memory");
            }
            if (err.code == SYNCQ_ELEASE) {
                json_decref(name);
                return syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL,
                                      "lease lost at page %lld: %s",
                                      (long long)(page - 1), err.msg);
            }
            /* a local run without a broker has no checkpoints */
        } else {
            json_decref(state);
        }
        snprintf(msg, sizeof msg, "page %lld/%lld, %lld offers",
                 (long long)(page - 1), (long long)total_pages,
                 (long long)offers);
        syncq_ctx_progress(
            ctx, page - 1,
            max_pages > 0 && max_pages < total_pages ? max_pages : total_pages,
            msg, NULL);
        if (n == 0) {
            break; /* past the end (the platform stops at 2000 results) */
        }
    }
    {
        json_t *res = json_pack(
            "{s:I,s:O*,s:I,s:I,s:I,s:I,s:b}", "category_id", (json_int_t)cat,
            "category_name", name, "pages", (json_int_t)pages_done,
            "total_pages", (json_int_t)(total_pages > 0 ? total_pages : 0),
            "offers_seen", (json_int_t)offers, "details_enqueued",
            (json_int_t)enq, "full", full);
        json_decref(name);
        return syncq_ctx_succeed(ctx, res);
    }
}
