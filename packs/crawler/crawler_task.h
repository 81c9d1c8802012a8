/* SPDX-License-Identifier: MIT
 *
 * crawler_task.h: what the crawler.* tasks share (crawler_tasks.c): the
 * state of one task run over the per-process fetcher, argument reading,
 * storage of raw bodies, failure classes and Open Platform calls. The
 * tasks themselves: crawler_task_offer.c (fetch_product_details,
 * fetch_products), crawler_task_sync.c (fetch_suppliers, sync_category).
 */
#ifndef SQ_CRAWLER_TASK_H
#define SQ_CRAWLER_TASK_H

#include "crawler/crawler_fetch.h"
#include "crawler/crawler_sign.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <syncq/task.h>

#define NS_XB "com.alibaba.fenxiao.crossborder"
#define DETAIL_KEEP_BYTES (64 * 1024) /* raw body kept in error.detail */
#define MAX_SUPPLIERS 500
#define MAX_PAGE_SIZE 50 /* the platform's maximum */

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

/* Set up `cr` for the task of `ctx`: settings, endpoints and the
 * per-process fetcher. Returns SYNCQ_OK or the task's failure. */
int sq_crawl_open(syncq_ctx *ctx, struct crawl *cr);

/* Argument `name`: kwargs first, then positional `pos` (-1: none). */
const json_t *sq_crawl_arg(syncq_ctx *ctx, const char *name, int pos);

/* Refuse unknown kwargs and too many positional args (a typo must not be
 * silently ignored). */
int sq_crawl_check_args(syncq_ctx *ctx, const char *const *allowed,
                        size_t max_pos);

/* A positive integer argument (a number or a string of digits). */
int sq_crawl_arg_id(syncq_ctx *ctx, const char *name, int pos, bool required,
                    int64_t def, int64_t lo, int64_t hi, int64_t *out);

/* A boolean argument (true/false, 1/0, "true"/"false"). */
int sq_crawl_arg_bool(syncq_ctx *ctx, const char *name, int pos, bool def,
                      bool *out);

/* Store a fetched body (and its normalised record, may be NULL). A
 * database error fails the task as retryable: the data was fetched but
 * not kept. */
int sq_crawl_store_raw(struct crawl *cr, const char *kind, const char *key,
                       const struct sq_fetch_result *res, const char *outcome,
                       json_t *normalized);

/* Finish the task from a fetch that did not give data. */
int sq_crawl_fail_fetch(struct crawl *cr, const char *what,
                        const struct sq_fetch_result *res);

/* A parse failure: the raw body is kept (database and error detail). */
int sq_crawl_fail_parse(struct crawl *cr, const char *what, const char *kind,
                        const char *key, const struct sq_fetch_result *res,
                        const syncq_error *perr);

/* Add the fetch time stamp to a normalised record. */
void sq_crawl_stamp(json_t *rec);

/* Call <ns>/<api> with `ps` (signed), POST form; res filled. Returns
 * SYNCQ_OK with a verdict, or a task failure (already reported). */
int sq_crawl_api_call(struct crawl *cr, const char *ns, const char *api,
                      struct sq_aop_params *ps, struct sq_fetch_result *res);

/* The detail source (api|page|classic) from the arguments or the
 * setting; *bad is set when it names none of them. */
const char *sq_crawl_detail_source(struct crawl *cr, int *bad);

/* Fetch listing page `page` of `cat`, store it; *listing_out the
 * normalised page. Returns SYNCQ_OK or the task's failure; a listing the
 * platform answers as empty (total 0: an unknown or empty category) is a
 * not_found failure. */
int sq_crawl_listing_page(struct crawl *cr, int64_t cat, int64_t page,
                          int64_t size, json_t **listing_out);

/* Enqueue fetch_product_details for each offer of a listing; the unique
 * key (run root + offer) keeps one detail task per offer per sync run,
 * across retries and across pages that list an offer twice. */
int sq_crawl_fan_out_details(struct crawl *cr, const json_t *listing,
                             const char *source, bool full, int64_t *enqueued);

/* The task functions, registered by crawler_tasks.c. */
int sq_crawl_task_fetch_product_details(syncq_ctx *ctx);

int sq_crawl_task_fetch_products(syncq_ctx *ctx);

int sq_crawl_task_fetch_suppliers(syncq_ctx *ctx);

int sq_crawl_task_sync_category(syncq_ctx *ctx);

#endif
