/* SPDX-License-Identifier: MIT
 *
 * bench_crawler.c: how fast the crawler's own parts are, so the network
 * and the platform's rate limit stay the only bottlenecks:
 *   parse    offers parsed per second, per shape (the two real offer-page
 *            samples and a fixture cross-border detail)
 *   render   fixture answers rendered per second (detail JSON, offer page)
 *   http     fixture detail API over loopback, one keep-alive client,
 *            through the polite fetcher (limiter in-process, rate open)
 *   limiter  acquire+release round trips per second on Redis (when
 *            SYNCQ_BROKER_URL is set)
 * Each figure is the median of 5 runs. Usage:
 *   SYNCQ_FIXTURES=tests/fixtures build/bench_crawler
 *   (with a Redis: SYNCQ_BROKER_URL=unix:///path/redis.sock ...)
 */
#include "sq_alloc.h"
#include "core/sq_time.h"
#include "crawler/crawler_fetch.h"
#include "crawler/crawler_parse.h"
#include <syncq/ratelimit.h>
#include "fixture/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/syncq.h>

#define RUNS 5

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(double *v)
{
    qsort(v, RUNS, sizeof *v, cmp_d);
    return v[RUNS / 2];
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    if (b == NULL || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

static void
bench_parse(const char *name, const char *body, size_t len, int64_t id, int n)
{
    double rate[RUNS], mbps[RUNS];

    for (int r = 0; r < RUNS; r++) {
        int64_t t0 = sq_mono_us();
        for (int i = 0; i < n; i++) {
            json_t *o = NULL;
            syncq_error err;
            if (sq_1688_offer_parse(body, len, id, &o, &err) != SYNCQ_OK) {
                fprintf(stderr, "parse %s: %s\n", name, err.msg);
                exit(1);
            }
            json_decref(o);
        }
        {
            double s = (double)(sq_mono_us() - t0) / 1e6;
            rate[r] = n / s;
            mbps[r] = (double)len * n / s / 1e6;
        }
    }
    printf("parse    %-34s %7zu B  %9.0f offers/s  %7.1f MB/s\n", name, len,
           median(rate), median(mbps));
}

int
main(void)
{
    const char *fx = getenv("SYNCQ_FIXTURES");
    struct fx_catalog *cat = NULL;
    syncq_error err;
    char path[1024];
    char *page_sku, *page_range, *detail;
    size_t l1 = 0, l2 = 0;
    double v[RUNS];

    if (fx == NULL) {
        fx = "tests/fixtures";
    }
    snprintf(path, sizeof path,
             "%s/1688/raw/"
             "detail-page-init-data-sku-priced.json",
             fx);
    page_sku = slurp(path, &l1);
    snprintf(path, sizeof path,
             "%s/1688/raw/"
             "detail-page-init-data-range-priced.json",
             fx);
    page_range = slurp(path, &l2);
    if (page_sku == NULL || page_range == NULL) {
        fprintf(stderr, "bench_crawler: set SYNCQ_FIXTURES to "
                        "tests/fixtures\n");
        return 1;
    }
    if (fx_catalog_build(1688, 1000, 3, &cat, &err) != SYNCQ_OK) {
        fprintf(stderr, "catalog: %s\n", err.msg);
        return 1;
    }
    detail =
        fx_render_detail(cat, &cat->offers[10], "http://127.0.0.1:1", "en");
    bench_parse("page (sku-priced sample, 10 SKUs)", page_sku, l1, 0, 400);
    bench_parse("page (range-priced sample)", page_range, l2, 0, 800);
    bench_parse("cross-border detail (fixture)", detail, strlen(detail),
                cat->offers[10].id, 4000);
    sq_free(detail);
    /* rendering of the fixture server */
    for (int r = 0; r < RUNS; r++) {
        int64_t t0 = sq_mono_us();
        for (int i = 0; i < 2000; i++) {
            char *s = fx_render_detail(cat, &cat->offers[i % cat->noffers],
                                       "http://127.0.0.1:1", "en");
            sq_free(s);
        }
        v[r] = 2000 / ((double)(sq_mono_us() - t0) / 1e6);
    }
    printf("render   %-34s %9.0f answers/s\n", "fixture detail JSON",
           median(v));
    for (int r = 0; r < RUNS; r++) {
        int64_t t0 = sq_mono_us();
        for (int i = 0; i < 1000; i++) {
            char *s = fx_render_page(cat, &cat->offers[i % cat->noffers],
                                     "http://127.0.0.1:1");
            sq_free(s);
        }
        v[r] = 1000 / ((double)(sq_mono_us() - t0) / 1e6);
    }
    printf("render   %-34s %9.0f answers/s\n", "fixture offer page", median(v));
    fx_catalog_free(cat);
    /* the fixture detail API over loopback through the polite fetcher */
    {
        struct fx_server_opts so;
        struct fx_server *srv = NULL;
        struct sq_fetcher_opts fo;
        struct sq_fetcher *f = NULL;
        memset(&so, 0, sizeof so);
        so.listen = "127.0.0.1:0";
        so.products = 1000;
        so.categories = 3;
        so.seed = 1688;
        memset(&fo, 0, sizeof fo);
        fo.policy.rate.limit = 1000000;
        fo.policy.rate.period_ms = 1000;
        fo.policy.burst = 1000;
        fo.policy.slot_lease_ms = 60000;
        fo.max_wait_ms = 1000;
        fo.http.connect_timeout_ms = 5000;
        fo.http.timeout_ms = 10000;
        if (fx_server_start(&so, &srv, &err) != SYNCQ_OK ||
            sq_fetcher_open(&fo, &f, &err) != SYNCQ_OK) {
            fprintf(stderr, "http: %s\n", err.msg);
            return 1;
        }
        for (int r = 0; r < RUNS; r++) {
            int64_t t0 = sq_mono_us();
            for (int i = 0; i < 500; i++) {
                const struct fx_catalog *c = fx_server_catalog(srv);
                char *url = sq_asprintf(
                    "%s/openapi/param2/1/com.alibaba.fenxiao.crossborder/"
                    "product.search.queryProductDetail/1?offerDetailParam="
                    "%%7B%%22offerId%%22%%3A%lld%%7D",
                    fx_server_url(srv),
                    (long long)c->offers[(r * 500 + i) % c->noffers].id);
                struct sq_fetch_result res;
                if (sq_fetch(f, url, NULL, SQ_1688_EXPECT_JSON, &res, &err) !=
                        SYNCQ_OK ||
                    res.verdict.outcome != SQ_1688_OK) {
                    fprintf(stderr, "http: %s\n", res.verdict.message);
                    return 1;
                }
                sq_fetch_result_cleanup(&res);
                sq_free(url);
            }
            v[r] = 500 / ((double)(sq_mono_us() - t0) / 1e6);
        }
        printf("http     %-34s %9.0f requests/s\n",
               "fixture detail API, 1 client", median(v));
        sq_fetcher_close(f);
        fx_server_stop(srv);
    }
    /* the shared limiter on Redis */
    if (getenv("SYNCQ_BROKER_URL") != NULL) {
        syncq_client *c = NULL;
        struct syncq_rl_policy p = {{1000000, 1000}, 1000000, 64, 60000};
        if (syncq_client_open(NULL, NULL, &c, &err) != SYNCQ_OK) {
            fprintf(stderr, "limiter: %s\n", err.msg);
            return 1;
        }
        for (int r = 0; r < RUNS; r++) {
            int64_t t0 = sq_mono_us();
            for (int i = 0; i < 2000; i++) {
                struct syncq_rl_answer a;
                char holder[32];
                snprintf(holder, sizeof holder, "b%d", i);
                if (syncq_rl_acquire(c, "bench.example", &p, holder, NULL, 1000,
                                  &a, &err) != SYNCQ_OK ||
                    syncq_rl_release(c, "bench.example", holder, &err) !=
                        SYNCQ_OK) {
                    fprintf(stderr, "limiter: %s\n", err.msg);
                    return 1;
                }
            }
            v[r] = 2000 / ((double)(sq_mono_us() - t0) / 1e6);
        }
        printf("limiter  %-34s %9.0f acquire+release/s\n",
               "Redis, one connection", median(v));
        syncq_client_close(c);
    }
    free(page_sku);
    free(page_range);
    return 0;
}
