/* SPDX-License-Identifier: MIT
 *
 * crawler_tasks.c: the crawler.* tasks (queue `crawler`):
 *   fetch_products(category_id, page=1, page_size=50, fetch_details=false)
 *   fetch_product_details(product_id, source=SYNCQ_1688_DETAIL_SOURCE,
 *                         images=true)
 *   fetch_suppliers(supplier_ids)
 *   sync_category(category_id, max_pages=None, page_size=50,
 *                 fetch_details=true, full=false, source=...)
 * Every request goes through the polite fetcher (crawler_fetch.h): shared
 * per-host rate limit and concurrency cap, cool-downs, verdicts. Raw
 * bodies and normalised records go to the catalog database's staging
 * table (sq_db_raw_put); data_sync.* turns them into rows. Arguments,
 * results and error classes: docs/crawler.md.
 */
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "core/sq_utf8.h"
#include "crawler/crawler_fetch.h"
#include "crawler/crawler_pack.h"
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

#define NS_XB "com.alibaba.fenxiao.crossborder"
#define DETAIL_KEEP_BYTES (64 * 1024) /* raw body kept in error.detail */
#define MAX_SUPPLIERS 500
#define MAX_PAGE_SIZE 50 /* the platform's maximum */

/* ---- per-process fetcher ---------------------------------------------- */

/* One fetcher per process (its HTTP handle keeps connections alive across
 * tasks); made again after fork or when the settings change. */
static struct sq_fetcher *proc_fetcher;
static pid_t proc_pid;
static struct sq_fetcher_opts proc_opts;
static char proc_ua[256];

static bool
same_opts(const struct sq_fetcher_opts *a, const struct sq_fetcher_opts *b,
          const char *ua)
{
    return a->policy.rate.limit == b->policy.rate.limit &&
           a->policy.rate.period_ms == b->policy.rate.period_ms &&
           a->policy.burst == b->policy.burst &&
           a->policy.concurrency == b->policy.concurrency &&
           a->policy.slot_lease_ms == b->policy.slot_lease_ms &&
           a->max_wait_ms == b->max_wait_ms &&
           a->cooldown_ms == b->cooldown_ms &&
           a->http.connect_timeout_ms == b->http.connect_timeout_ms &&
           a->http.timeout_ms == b->http.timeout_ms &&
           strcmp(proc_ua, ua != NULL ? ua : "") == 0;
}

static bool
stop_fn(void *ud)
{
    return syncq_ctx_stop_requested(ud);
}

/* The state of one task run. */
struct crawl {
    syncq_ctx *ctx;
    const syncq_config *cfg;
    struct sq_fetcher *f;
    char base[512]; /* Open Platform gateway base */
    char page[512]; /* offer page base */
    char shop[512]; /* shop info endpoint */
    const char *app_key, *app_secret, *token, *lang, *shop_token;
};

static void
trim_slash(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/') {
        s[--n] = '\0';
    }
}

/* Take `key` from kwargs when given (a string), else the setting. */
static int
url_setting(struct crawl *cr, const char *key, const char *setting, char *out,
            size_t cap)
{
    const json_t *v = json_object_get(syncq_ctx_kwargs(cr->ctx), key);
    const char *s = syncq_config_str(cr->cfg, setting);

    if (v != NULL) {
        if (!json_is_string(v) ||
            (strncmp(json_string_value(v), "http://", 7) != 0 &&
             strncmp(json_string_value(v), "https://", 8) != 0)) {
            return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_VALIDATION,
                                  "argument %s: expected an http(s) URL", key);
        }
        s = json_string_value(v);
    }
    snprintf(out, cap, "%s", s != NULL ? s : "");
    trim_slash(out);
    return SYNCQ_OK;
}

static int
crawl_open(syncq_ctx *ctx, struct crawl *cr)
{
    struct sq_fetcher_opts o;
    syncq_error err;
    int rc;

    memset(cr, 0, sizeof *cr);
    cr->ctx = ctx;
    cr->cfg = syncq_ctx_config(ctx);
    rc = sq_fetcher_opts_from_config(cr->cfg, syncq_ctx_client(ctx), &o, &err);
    if (rc != SYNCQ_OK) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION, "%s", err.msg);
    }
    if (proc_fetcher != NULL &&
        (proc_pid != getpid() ||
         !same_opts(&proc_opts, &o, o.http.user_agent))) {
        /* after fork the parent's handle is not ours to use */
        if (proc_pid == getpid()) {
            sq_fetcher_close(proc_fetcher);
        }
        proc_fetcher = NULL;
    }
    if (proc_fetcher == NULL) {
        rc = sq_fetcher_open(&o, &proc_fetcher, &err);
        if (rc != SYNCQ_OK) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_INTERNAL,
                                  "cannot make the HTTP client: %s", err.msg);
        }
        proc_pid = getpid();
        proc_opts = o;
        snprintf(proc_ua, sizeof proc_ua, "%s",
                 o.http.user_agent != NULL ? o.http.user_agent : "");
    }
    cr->f = proc_fetcher;
    sq_fetcher_set_client(cr->f, syncq_ctx_client(ctx));
    sq_fetcher_set_stop(cr->f, stop_fn, ctx);
    sq_fetcher_set_ticket(cr->f, syncq_ctx_id(ctx));
    cr->app_key = syncq_config_str(cr->cfg, "SYNCQ_1688_APP_KEY");
    cr->app_secret = syncq_config_str(cr->cfg, "SYNCQ_1688_APP_SECRET");
    cr->token = syncq_config_str(cr->cfg, "SYNCQ_1688_ACCESS_TOKEN");
    cr->lang = syncq_config_str(cr->cfg, "SYNCQ_1688_LANGUAGE");
    cr->shop_token = syncq_config_str(cr->cfg, "SYNCQ_1688_SHOP_API_TOKEN");
    rc = url_setting(cr, "base_url", "SYNCQ_1688_BASE_URL", cr->base,
                     sizeof cr->base);
    if (rc == SYNCQ_OK) {
        rc = url_setting(cr, "page_url", "SYNCQ_1688_PAGE_URL", cr->page,
                         sizeof cr->page);
    }
    if (rc == SYNCQ_OK) {
        rc = url_setting(cr, "shop_url", "SYNCQ_1688_SHOP_API_URL", cr->shop,
                         sizeof cr->shop);
    }
    return rc;
}

/* ---- arguments ---------------------------------------------------------- */

/* Argument `name`: kwargs first, then positional `pos` (-1: none). */
static const json_t *
arg(syncq_ctx *ctx, const char *name, int pos)
{
    const json_t *v = json_object_get(syncq_ctx_kwargs(ctx), name);

    if (v == NULL && pos >= 0) {
        v = json_array_get(syncq_ctx_args(ctx), (size_t)pos);
    }
    return v;
}

/* Refuse unknown kwargs and too many positional args (a typo must not be
 * silently ignored). */
static int
check_args(syncq_ctx *ctx, const char *const *allowed, size_t max_pos)
{
    const char *k;
    json_t *v;

    if (json_array_size(syncq_ctx_args(ctx)) > max_pos) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "%zu positional arguments given, at most %zu",
                              json_array_size(syncq_ctx_args(ctx)), max_pos);
    }
    json_object_foreach(syncq_ctx_kwargs(ctx), k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL; i++) {
            if (strcmp(k, allowed[i]) == 0) {
                ok = true;
            }
        }
        if (!ok) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                                  "unknown argument '%.60s'", k);
        }
    }
    return SYNCQ_OK;
}

/* A positive integer argument (a number or a string of digits). */
static int
arg_id(syncq_ctx *ctx, const char *name, int pos, bool required, int64_t def,
       int64_t lo, int64_t hi, int64_t *out)
{
    const json_t *v = arg(ctx, name, pos);

    if (v == NULL || json_is_null(v)) {
        if (required) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                                  "argument %s is required", name);
        }
        *out = def;
        return SYNCQ_OK;
    }
    if (!sq_1688_json_int(v, out) || *out < lo || *out > hi) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "argument %s: expected an integer in "
                              "%lld..%lld",
                              name, (long long)lo, (long long)hi);
    }
    return SYNCQ_OK;
}

static int
arg_bool(syncq_ctx *ctx, const char *name, int pos, bool def, bool *out)
{
    const json_t *v = arg(ctx, name, pos);

    if (v == NULL || json_is_null(v)) {
        *out = def;
        return SYNCQ_OK;
    }
    if (!sq_1688_json_bool(v, out)) {
        return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                              "argument %s: expected true or false", name);
    }
    return SYNCQ_OK;
}

/* ---- storage ------------------------------------------------------------ */

/* Store a fetched body (and its normalised record, may be NULL). A
 * database error fails the task as retryable: the data was fetched but
 * not kept. */
static int
store_raw(struct crawl *cr, const char *kind, const char *key,
          const struct sq_fetch_result *res, const char *outcome,
          json_t *normalized)
{
    struct sq_db *db = NULL;
    syncq_error err;
    char *norm = NULL;
    int rc;

    rc = sq_db_shared(cr->cfg, &db, &err);
    if (rc == SYNCQ_OK && normalized != NULL) {
        norm = json_dumps(normalized, JSON_COMPACT);
        if (norm == NULL) {
            return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL,
                                  "out of memory serialising %s %s", kind, key);
        }
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_raw_put(db, kind, key, (int)res->resp.status, outcome,
                           res->resp.body, res->resp.len, norm, &err);
    }
    sq_free(norm);
    if (rc != SYNCQ_OK) {
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_NETWORK, "storing %s %s: %s",
                              kind, key, err.msg);
    }
    return SYNCQ_OK;
}

/* ---- failures ---------------------------------------------------------- */

static bool
retryable(int cls)
{
    return cls == SYNCQ_ERR_NETWORK || cls == SYNCQ_ERR_TIMEOUT ||
           cls == SYNCQ_ERR_RATE_LIMITED || cls == SYNCQ_ERR_HTTP_5XX ||
           cls == SYNCQ_ERR_BLOCKED;
}

/* The error detail of a failed fetch: where, what, and the body (first
 * 64 KiB, as valid UTF-8) for inspection. */
static json_t *
fetch_detail(const char *what, const struct sq_fetch_result *res)
{
    json_t *d =
        json_pack("{s:s,s:s,s:i,s:s,s:s,s:b,s:I}", "request", what, "host",
                  res->host, "http_status", (int)res->resp.status, "outcome",
                  sq_1688_outcome_name(res->verdict.outcome), "code",
                  res->verdict.code, "deferred", res->deferred,
                  "retry_after_ms", (json_int_t)res->verdict.retry_after_ms);

    if (d != NULL && res->resp.body != NULL && res->resp.len > 0) {
        size_t n = res->resp.len < DETAIL_KEEP_BYTES ? res->resp.len
                                                     : DETAIL_KEEP_BYTES;
        char *txt = sq_malloc(n * 3 + 1);
        if (txt != NULL) {
            sq_utf8_sanitize(res->resp.body, n, txt, n * 3 + 1);
            json_object_set_new(d, "body", json_string(txt));
            json_object_set_new(d, "body_bytes",
                                json_integer((json_int_t)res->resp.len));
            sq_free(txt);
        }
    }
    return d;
}

/* Finish the task from a fetch that did not give data. */
static int
fail_fetch(struct crawl *cr, const char *what,
           const struct sq_fetch_result *res)
{
    int cls = res->verdict.error_class;

    if (cls <= SYNCQ_ERR_NONE) {
        cls = SYNCQ_ERR_PARSE;
    }
    syncq_ctx_set_error_detail(cr->ctx, fetch_detail(what, res));
    if (retryable(cls)) {
        return syncq_ctx_retry_after(cr->ctx, cls, res->verdict.retry_after_ms,
                                     "%s: %s", what, res->verdict.message);
    }
    return syncq_ctx_fail(cr->ctx, cls, "%s: %s", what, res->verdict.message);
}

/* A parse failure: the raw body is kept (database and error detail). */
static int
fail_parse(struct crawl *cr, const char *what, const char *kind,
           const char *key, const struct sq_fetch_result *res,
           const syncq_error *perr)
{
    if (perr->code == SYNCQ_ENOMEM) {
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL, "%s: %s", what,
                              perr->msg);
    }
    store_raw(cr, kind, key, res, "parse_error", NULL);
    syncq_ctx_set_error_detail(cr->ctx, fetch_detail(what, res));
    return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_PARSE, "%s: %s", what, perr->msg);
}

static void
stamp(json_t *rec)
{
    char now[40];
    sq_time_format_iso8601(sq_now_ms(), now, sizeof now);
    json_object_set_new(rec, "fetched_at", json_string(now));
}

/* ---- Open Platform calls ---------------------------------------------------
 */

/* Call <ns>/<api> with `ps` (signed), POST form; res filled. Returns
 * SYNCQ_OK with a verdict, or a task failure (already reported). */
static int
api_call(struct crawl *cr, const char *ns, const char *api,
         struct sq_aop_params *ps, struct sq_fetch_result *res)
{
    char path[512], ts[32], sig[41];
    char *url, *form;
    syncq_error err;
    int rc;

    /* Callers clean `res` up on every path, early failures included. */
    memset(res, 0, sizeof *res);
    if (cr->app_key == NULL || cr->app_key[0] == '\0') {
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_AUTH,
                              "SYNCQ_1688_APP_KEY is not set: the Open "
                              "Platform needs an app key");
    }
    rc = sq_aop_sign_path(ns, api, cr->app_key, path, sizeof path, &err);
    if (rc != SYNCQ_OK) {
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_VALIDATION, "%s", err.msg);
    }
    snprintf(ts, sizeof ts, "%lld", (long long)sq_now_ms());
    rc = sq_aop_params_set(ps, "_aop_timestamp", ts, &err);
    if (rc == SYNCQ_OK && cr->token != NULL && cr->token[0] != '\0') {
        rc = sq_aop_params_set(ps, "access_token", cr->token, &err);
    }
    if (rc == SYNCQ_OK && cr->app_secret != NULL && cr->app_secret[0] != '\0') {
        rc = sq_aop_sign(path, ps, cr->app_secret, sig, &err);
        if (rc == SYNCQ_OK) {
            rc = sq_aop_params_set(ps, "_aop_signature", sig, &err);
        }
    }
    if (rc != SYNCQ_OK) {
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL, "%s", err.msg);
    }
    url = sq_asprintf("%s/%s", cr->base, path);
    form = sq_aop_form_encode(ps);
    if (url == NULL || form == NULL) {
        sq_free(url);
        sq_free(form);
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL, "out of memory");
    }
    rc = sq_fetch(cr->f, url, form, SQ_1688_EXPECT_JSON, res, &err);
    sq_free(url);
    sq_free(form);
    if (rc != SYNCQ_OK) {
        return syncq_ctx_fail(cr->ctx,
                              rc == SYNCQ_EINVAL ? SYNCQ_ERR_VALIDATION
                                                 : SYNCQ_ERR_INTERNAL,
                              "%s", err.msg);
    }
    return SYNCQ_OK;
}

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
        rc = api_call(cr, classic ? "com.alibaba.product" : NS_XB,
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
            rc = store_raw(cr, kind, key, &res, "not_found", gone);
            json_decref(gone);
            if (rc != SYNCQ_OK) {
                sq_fetch_result_cleanup(&res);
                return rc;
            }
        } else if (res.verdict.outcome == SQ_1688_BLOCKED ||
                   res.verdict.outcome == SQ_1688_LOGIN_REQUIRED) {
            if (res.sent) {
                store_raw(cr, kind, key, &res, "blocked", NULL);
            }
        }
        rc = fail_fetch(cr, what, &res);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    rc = sq_1688_offer_parse(res.resp.body, res.resp.len, id, &rec, &perr);
    if (rc != SYNCQ_OK) {
        rc = fail_parse(cr, what, kind, key, &res, &perr);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    stamp(rec);
    rc = store_raw(cr, kind, key, &res, "ok", rec);
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
            json_t *kwo = json_pack("{s:I,s:O}", "product_id",
                                    (json_int_t)id, "urls", urls);
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

static const char *
detail_source(struct crawl *cr, int *bad)
{
    const json_t *v = arg(cr->ctx, "source", -1);
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

static int
task_fetch_product_details(syncq_ctx *ctx)
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

    rc = check_args(ctx, allowed, 1);
    if (rc == SYNCQ_OK) {
        rc = arg_id(ctx, "product_id", 0, true, 0, 1, INT64_MAX, &id);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_bool(ctx, "images", -1, true, &images);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_bool(ctx, "full", -1, false, &full);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = crawl_open(ctx, &cr);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    source = detail_source(&cr, &bad);
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
static int
listing_page(struct crawl *cr, int64_t cat, int64_t page, int64_t size,
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
    rc = api_call(cr, NS_XB, "product.search.keywordQuery", &ps, &res);
    sq_aop_params_cleanup(&ps);
    if (rc != SYNCQ_OK) {
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    if (res.verdict.outcome != SQ_1688_OK) {
        rc = fail_fetch(cr, what, &res);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    rc = sq_1688_listing_parse(res.resp.body, res.resp.len, cat, &rec, &perr);
    if (rc != SYNCQ_OK) {
        rc = fail_parse(cr, what, "search", key, &res, &perr);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    stamp(rec);
    rc = store_raw(cr, "search", key, &res, "ok", rec);
    sq_fetch_result_cleanup(&res);
    if (rc != SYNCQ_OK) {
        json_decref(rec);
        return rc;
    }
    *listing_out = rec;
    return SYNCQ_OK;
}

/* Enqueue fetch_product_details for each offer of a listing; the unique
 * key (run root + offer) keeps one detail task per offer per sync run,
 * across retries and across pages that list an offer twice. */
static int
fan_out_details(struct crawl *cr, const json_t *listing, const char *source,
                bool full, int64_t *enqueued)
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

static int
task_fetch_products(syncq_ctx *ctx)
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

    rc = check_args(ctx, allowed, 3);
    if (rc == SYNCQ_OK) {
        rc = arg_id(ctx, "category_id", 0, true, 0, 0, INT64_MAX, &cat);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_id(ctx, "page", 1, false, 1, 1, 100000, &page);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_id(ctx, "page_size", 2, false, MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE,
                    &size);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_bool(ctx, "fetch_details", -1, false, &details);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_bool(ctx, "full", -1, false, &full);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = crawl_open(ctx, &cr);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (arg(ctx, "source", -1) != NULL) {
        source = detail_source(&cr, &bad);
        if (bad) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION,
                                  "argument source: expected api, page or "
                                  "classic");
        }
    }
    rc = listing_page(&cr, cat, page, size, &listing);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (details) {
        rc = fan_out_details(&cr, listing, source, full, &enq);
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

/* ---- crawler.fetch_suppliers
 * -------------------------------------------------- */

static int
task_fetch_suppliers(syncq_ctx *ctx)
{
    static const char *const allowed[] = {"supplier_ids", "shop_url",
                                          "base_url", "page_url", NULL};
    struct crawl cr;
    const json_t *ids = arg(ctx, "supplier_ids", 0);
    json_t *one = NULL;
    json_t *state = NULL, *fetched = NULL, *missing = NULL;
    int64_t seq = 0, next = 0;
    size_t n;
    syncq_error err;
    int rc;

    rc = check_args(ctx, allowed, 1);
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
    rc = crawl_open(ctx, &cr);
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
            rc = fail_fetch(&cr, what, &res);
            sq_fetch_result_cleanup(&res);
            break;
        } else {
            rc = sq_1688_supplier_parse(res.resp.body, res.resp.len, &rec,
                                        &perr);
            if (rc != SYNCQ_OK) {
                rc = fail_parse(&cr, what, "shop", idtxt, &res, &perr);
                sq_fetch_result_cleanup(&res);
                break;
            }
            stamp(rec);
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
                rc = store_raw(&cr, "shop", key, &res, "ok", rec);
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
    rc = api_call(cr, NS_XB, "category.translation.getById", &ps, &res);
    sq_aop_params_cleanup(&ps);
    if (rc != SYNCQ_OK) {
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    if (res.verdict.outcome != SQ_1688_OK) {
        rc = fail_fetch(cr, what, &res);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    rc = sq_1688_category_parse(res.resp.body, res.resp.len, &rec, &perr);
    if (rc != SYNCQ_OK) {
        rc = fail_parse(cr, what, "category", id, &res, &perr);
        sq_fetch_result_cleanup(&res);
        return rc;
    }
    stamp(rec);
    rc = store_raw(cr, "category", id, &res, "ok", rec);
    sq_fetch_result_cleanup(&res);
    if (rc != SYNCQ_OK) {
        json_decref(rec);
        return rc;
    }
    *out = rec;
    return SYNCQ_OK;
}

static int
task_sync_category(syncq_ctx *ctx)
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

    rc = check_args(ctx, allowed, 2);
    if (rc == SYNCQ_OK) {
        rc = arg_id(ctx, "category_id", 0, true, 0, 0, INT64_MAX, &cat);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_id(ctx, "max_pages", 1, false, 0, 0, 100000, &max_pages);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_id(ctx, "page_size", -1, false, MAX_PAGE_SIZE, 1,
                    MAX_PAGE_SIZE, &size);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_bool(ctx, "fetch_details", -1, true, &details);
    }
    if (rc == SYNCQ_OK) {
        rc = arg_bool(ctx, "full", -1, false, &full);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = crawl_open(ctx, &cr);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (arg(ctx, "source", -1) != NULL) {
        source = detail_source(&cr, &bad);
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
        rc = listing_page(&cr, cat, page, size, &listing);
        if (rc != SYNCQ_OK) {
            json_decref(name);
            return rc;
        }
        total_pages =
            json_integer_value(json_object_get(listing, "total_pages"));
        n = (int64_t)json_array_size(json_object_get(listing, "offers"));
        if (details) {
            rc = fan_out_details(&cr, listing, source, full, &enq);
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

/* ---- registration
 * ------------------------------------------------------------- */

/* Retries of the crawler's transient classes. Retries are counted across
 * classes, and a task waiting for its booked rate-limit slot or for a
 * host cool-down is retried without having sent anything, so these
 * classes get room; the delays mostly come from Retry-After. */
static const char crawler_policy[] =
    "{\"rate_limited\":{\"max_retries\":200,\"base\":\"1s\",\"factor\":1,"
    "\"max\":\"2s\"},"
    "\"blocked\":{\"max_retries\":50,\"base\":\"5s\",\"factor\":1,"
    "\"max\":\"10s\"},"
    "\"http_5xx\":{\"max_retries\":20,\"base\":\"2s\",\"factor\":2,"
    "\"max\":\"1m\"},"
    "\"network\":{\"max_retries\":20,\"base\":\"2s\",\"factor\":2,"
    "\"max\":\"1m\"},"
    "\"timeout\":{\"max_retries\":20,\"base\":\"2s\",\"factor\":2,"
    "\"max\":\"1m\"}}";

int
sq_pack_crawler_init(syncq_registry *r, int abi, syncq_error *err)
{
    static const syncq_task_def defs[] = {
        {"crawler.fetch_products", task_fetch_products, "crawler", -1, 0, 0, -1,
         crawler_policy,
         "category_id, page=1, page_size=50, fetch_details=false",
         "one listing page of a category: offer ids and summaries"},
        {"crawler.fetch_product_details", task_fetch_product_details, "crawler",
         -1, 0, 0, -1, crawler_policy,
         "product_id, source=api|page|classic, images=true",
         "one offer: SKUs, price tiers, images, supplier; stores raw and "
         "normalised; fans out download_images"},
        {"crawler.fetch_suppliers", task_fetch_suppliers, "crawler", -1, 0, 0,
         -1, crawler_policy, "supplier_ids",
         "shop/company info of suppliers (member ids or seller user ids)"},
        {"crawler.sync_category", task_sync_category, "crawler", -1, 0, 0, -1,
         crawler_policy,
         "category_id, max_pages=None, page_size=50, fetch_details=true, "
         "full=false",
         "every listing page of a category with a checkpoint per page; fans "
         "out offer details"},
    };

    if (abi != SYNCQ_PLUGIN_ABI) {
        return sq_fail(err, SYNCQ_ENOTSUP, "crawler pack: ABI %d, expected %d",
                       abi, SYNCQ_PLUGIN_ABI);
    }
    /* libcurl is loaded and initialised by the first request of a task
     * (sq_http_open), never at registration: a worker supervisor or a
     * child that runs no crawler task does not map it (libcurl's
     * global init is thread-safe since 7.84). */
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        int rc = syncq_registry_add(r, &defs[i], err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return SYNCQ_OK;
}
