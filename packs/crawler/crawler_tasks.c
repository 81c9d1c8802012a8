/* SPDX-License-Identifier: MIT
 *
 * crawler_tasks.c: the crawler.* tasks (queue `crawler`), their shared
 * parts (crawler_task.h) and their registration; the tasks themselves are
 * in crawler_task_offer.c and crawler_task_sync.c:
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
#include "sq_alloc.h"
#include "sq_error.h"
#include <syncq/log.h>
#include <syncq/time.h>
#include "sq_utf8.h"
#include "crawler/crawler_fetch.h"
#include "crawler/crawler_pack.h"
#include "crawler/crawler_task.h"
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

int
sq_crawl_open(syncq_ctx *ctx, struct crawl *cr)
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
    if (rc == SYNCQ_OK) {
        /* endpoints named by the task, not by the operator: guarded */
        const json_t *kw = syncq_ctx_kwargs(ctx);
        bool from_args = json_object_get(kw, "base_url") != NULL ||
                         json_object_get(kw, "page_url") != NULL ||
                         json_object_get(kw, "shop_url") != NULL;
        if (sq_fetcher_guard(cr->f, from_args, cr->cfg, &err) != SYNCQ_OK) {
            return syncq_ctx_fail(ctx, SYNCQ_ERR_VALIDATION, "%s", err.msg);
        }
    }
    return rc;
}

/* ---- arguments ---------------------------------------------------------- */

/* Argument `name`: kwargs first, then positional `pos` (-1: none). */
const json_t *
sq_crawl_arg(syncq_ctx *ctx, const char *name, int pos)
{
    const json_t *v = json_object_get(syncq_ctx_kwargs(ctx), name);

    if (v == NULL && pos >= 0) {
        v = json_array_get(syncq_ctx_args(ctx), (size_t)pos);
    }
    return v;
}

/* Refuse unknown kwargs and too many positional args (a typo must not be
 * silently ignored). */
int
sq_crawl_check_args(syncq_ctx *ctx, const char *const *allowed, size_t max_pos)
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
int
sq_crawl_arg_id(syncq_ctx *ctx, const char *name, int pos, bool required,
                int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    const json_t *v = sq_crawl_arg(ctx, name, pos);

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

int
sq_crawl_arg_bool(syncq_ctx *ctx, const char *name, int pos, bool def,
                  bool *out)
{
    const json_t *v = sq_crawl_arg(ctx, name, pos);

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
int
sq_crawl_store_raw(struct crawl *cr, const char *kind, const char *key,
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
int
sq_crawl_fail_fetch(struct crawl *cr, const char *what,
                    const struct sq_fetch_result *res)
{
    int cls = res->verdict.error_class;

    if (cls <= SYNCQ_ERR_NONE) {
        cls = SYNCQ_ERR_PARSE;
    }
    syncq_ctx_set_error_detail(cr->ctx, fetch_detail(what, res));
    if (res->deferred ||
        (res->verdict.outcome == SQ_1688_RATE_LIMITED &&
         res->resp.retry_after_ms > 0)) {
        /* the host's cool-down, not a failure of the task: nothing was
         * sent, or the server said when to come back (Retry-After) */
        return syncq_ctx_defer(cr->ctx, cls, res->verdict.retry_after_ms,
                               "%s: %s", what, res->verdict.message);
    }
    if (retryable(cls)) {
        return syncq_ctx_retry_after(cr->ctx, cls, res->verdict.retry_after_ms,
                                     "%s: %s", what, res->verdict.message);
    }
    return syncq_ctx_fail(cr->ctx, cls, "%s: %s", what, res->verdict.message);
}

/* A parse failure: the raw body is kept (database and error detail). */
int
sq_crawl_fail_parse(struct crawl *cr, const char *what, const char *kind,
                    const char *key, const struct sq_fetch_result *res,
                    const syncq_error *perr)
{
    if (perr->code == SYNCQ_ENOMEM) {
        return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_INTERNAL, "%s: %s", what,
                              perr->msg);
    }
    sq_crawl_store_raw(cr, kind, key, res, "parse_error", NULL);
    syncq_ctx_set_error_detail(cr->ctx, fetch_detail(what, res));
    return syncq_ctx_fail(cr->ctx, SYNCQ_ERR_PARSE, "%s: %s", what, perr->msg);
}

void
sq_crawl_stamp(json_t *rec)
{
    char now[40];
    syncq_time_format_iso8601(syncq_now_ms(), now, sizeof now);
    json_object_set_new(rec, "fetched_at", json_string(now));
}

/* ---- Open Platform calls ---------------------------------------------------
 */

/* Call <ns>/<api> with `ps` (signed), POST form; res filled. Returns
 * SYNCQ_OK with a verdict, or a task failure (already reported). */
int
sq_crawl_api_call(struct crawl *cr, const char *ns, const char *api,
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
    snprintf(ts, sizeof ts, "%lld", (long long)syncq_now_ms());
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

/* Declared arguments (syncq/task.h): every producer door checks them
 * before a task is written; the task functions still check what they
 * read. Positional order: category_id/product_id/supplier_ids first. */
#define C_URLS                                                              \
    {.name = "base_url", .type = SYNCQ_ARG_URL, .flags = SYNCQ_ARG_KEYWORD, \
     .min = 8, .max = 400,                                                  \
     .doc = "open-platform API base (default SYNCQ_1688_BASE_URL)"},        \
    {.name = "page_url", .type = SYNCQ_ARG_URL, .flags = SYNCQ_ARG_KEYWORD, \
     .min = 8, .max = 400,                                                  \
     .doc = "offer page base (default SYNCQ_1688_PAGE_URL)"},               \
    {.name = "shop_url", .type = SYNCQ_ARG_URL, .flags = SYNCQ_ARG_KEYWORD, \
     .min = 8, .max = 400,                                                  \
     .doc = "shop API base (default SYNCQ_1688_SHOP_API_URL)"}
#define C_SOURCE                                                            \
    {.name = "source", .type = SYNCQ_ARG_STRING,                            \
     .flags = SYNCQ_ARG_KEYWORD, .choices = "api|page|classic",             \
     .doc = "where offer details come from (default "                       \
            "SYNCQ_1688_DETAIL_SOURCE)"}
#define C_FULL                                                              \
    {.name = "full", .type = SYNCQ_ARG_BOOL, .flags = SYNCQ_ARG_KEYWORD,    \
     .default_json = "false",                                               \
     .doc = "refetch offers already stored and unchanged"}

static const syncq_arg_def fetch_products_args[] = {
    {.name = "category_id", .type = SYNCQ_ARG_ID, .flags = SYNCQ_ARG_REQUIRED,
     .doc = "1688 category id"},
    {.name = "page", .type = SYNCQ_ARG_INT, .min = 1, .max = 100000,
     .default_json = "1", .doc = "listing page, from 1"},
    {.name = "page_size", .type = SYNCQ_ARG_INT, .min = 1,
     .max = MAX_PAGE_SIZE, .default_json = "50",
     .doc = "offers per page (the platform's maximum is 50)"},
    {.name = "fetch_details", .type = SYNCQ_ARG_BOOL,
     .flags = SYNCQ_ARG_KEYWORD, .default_json = "false",
     .doc = "enqueue crawler.fetch_product_details for each offer"},
    C_SOURCE,
    C_FULL,
    C_URLS,
    {0},
};
static const syncq_arg_def fetch_details_args[] = {
    {.name = "product_id", .type = SYNCQ_ARG_ID, .flags = SYNCQ_ARG_REQUIRED,
     .min = 1, .max = INT64_MAX, .doc = "1688 offer id"},
    C_SOURCE,
    {.name = "images", .type = SYNCQ_ARG_BOOL, .flags = SYNCQ_ARG_KEYWORD,
     .default_json = "true",
     .doc = "enqueue image_processing.download_images for new images"},
    C_FULL,
    C_URLS,
    {0},
};
static const syncq_arg_def fetch_suppliers_args[] = {
    {.name = "supplier_ids", .type = SYNCQ_ARG_ARRAY,
     .flags = SYNCQ_ARG_REQUIRED | SYNCQ_ARG_ITEMS, .min = 1,
     .max = MAX_SUPPLIERS,
     .doc = "member ids (b2b-...) or seller user ids; a batch's items"},
    C_URLS,
    {0},
};
static const syncq_arg_def sync_category_args[] = {
    {.name = "category_id", .type = SYNCQ_ARG_ID, .flags = SYNCQ_ARG_REQUIRED,
     .doc = "1688 category id"},
    {.name = "max_pages", .type = SYNCQ_ARG_INT, .min = 0, .max = 100000,
     .default_json = "0", .doc = "stop after this many pages (0: all)"},
    {.name = "page_size", .type = SYNCQ_ARG_INT, .flags = SYNCQ_ARG_KEYWORD,
     .min = 1, .max = MAX_PAGE_SIZE, .default_json = "50",
     .doc = "offers per page"},
    {.name = "fetch_details", .type = SYNCQ_ARG_BOOL,
     .flags = SYNCQ_ARG_KEYWORD, .default_json = "true",
     .doc = "enqueue offer details for each page"},
    C_FULL,
    C_SOURCE,
    C_URLS,
    {0},
};

int
sq_pack_crawler_init(syncq_registry *r, int abi, syncq_error *err)
{
    static const syncq_task_def defs[] = {
        {"crawler.fetch_products", sq_crawl_task_fetch_products, "crawler", -1,
         0, 0, -1, crawler_policy,
         "category_id, page=1, page_size=50, fetch_details=false",
         "one listing page of a category: offer ids and summaries",
         fetch_products_args},
        {"crawler.fetch_product_details", sq_crawl_task_fetch_product_details,
         "crawler", -1, 0, 0, -1, crawler_policy,
         "product_id, source=api|page|classic, images=true",
         "one offer: SKUs, price tiers, images, supplier; stores raw and "
         "normalised; fans out download_images",
         fetch_details_args},
        {"crawler.fetch_suppliers", sq_crawl_task_fetch_suppliers, "crawler",
         -1, 0, 0, -1, crawler_policy, "supplier_ids",
         "shop/company info of suppliers (member ids or seller user ids)",
         fetch_suppliers_args},
        {"crawler.sync_category", sq_crawl_task_sync_category, "crawler", -1, 0,
         0, -1, crawler_policy,
         "category_id, max_pages=None, page_size=50, fetch_details=true, "
         "full=false",
         "every listing page of a category with a checkpoint per page; fans "
         "out offer details",
         sync_category_args},
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
