/* SPDX-License-Identifier: MIT
 *
 * it_crawler_fetch.c: the crawler's polite fetch against the real fixture
 * server over loopback HTTP (started in-process, one per fault setting)
 * with the shared limiter on the private Redis. Asserts the verdict and
 * error class of every fault kind, the host-wide pauses they cause in
 * Redis (429 and QoS: the Retry-After; captcha: SYNCQ_CRAWLER_COOLDOWN),
 * deferral of other requests to a paused host with the pausing class,
 * that the fourth try of a faulted request succeeds, timeouts, refused
 * connections, the body size limit, truncated images and malformed JSON.
 * TEST_TIMEOUT: 180
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "core/sq_time.h"
#include "crawler/crawler_fetch.h"
#include "crawler/crawler_sign.h"
#include "fixture/fixture.h"

#include <stdlib.h>
#include <string.h>

static struct fx_server *
serve_log(const char *faults, const char *log)
{
    struct fx_server_opts o;
    struct fx_server *s = NULL;
    syncq_error err;

    memset(&o, 0, sizeof o);
    o.listen = "127.0.0.1:0";
    o.products = 60;
    o.categories = 3;
    o.seed = 5;
    o.faults = faults;
    o.log_path = log;
    if (fx_server_start(&o, &s, &err) != SYNCQ_OK) {
        fail_msg("fixture server: %s", err.msg);
    }
    return s;
}

static struct fx_server *
serve(const char *faults)
{
    return serve_log(faults, NULL);
}

static struct sq_fetcher *
fetcher(syncq_client *c, int64_t max_wait_ms, int64_t timeout_ms,
        size_t max_body)
{
    struct sq_fetcher_opts o;
    struct sq_fetcher *f = NULL;
    syncq_error err;

    memset(&o, 0, sizeof o);
    o.client = c;
    o.policy.rate.limit = 1000;
    o.policy.rate.period_ms = 1000;
    o.policy.burst = 1;
    o.policy.concurrency = 8;
    o.policy.slot_lease_ms = 30000;
    o.max_wait_ms = max_wait_ms;
    o.cooldown_ms = 1500;
    o.http.connect_timeout_ms = 2000;
    o.http.timeout_ms = timeout_ms;
    o.http.user_agent = "syncq-test/1";
    o.http.max_body_bytes = max_body;
    assert_int_equal(sq_fetcher_open(&o, &f, &err), SYNCQ_OK);
    return f;
}

static char *
page_url(struct fx_server *s, int i)
{
    return sq_asprintf("%s/offer/%lld.html", fx_server_url(s),
                       (long long)fx_server_catalog(s)->offers[i].id);
}

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
    return 0;
}

static void
ok_page_and_api(void **state)
{
    struct fx_server *s = serve(NULL);
    syncq_client *c = sqt_client();
    struct sq_fetcher *f = fetcher(c, 2000, 5000, 0);
    struct sq_fetch_result res;
    struct sq_aop_params ps;
    char *url = page_url(s, 3), *api, *form;
    json_t *o = NULL;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_fetch(f, url, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_OK);
    assert_true(res.sent);
    assert_int_equal(res.resp.status, 200);
    assert_non_null(strstr(res.resp.content_type, "text/html"));
    assert_int_equal(sq_1688_offer_parse(res.resp.body, res.resp.len,
                                         fx_server_catalog(s)->offers[3].id, &o,
                                         &err),
                     SYNCQ_OK);
    json_decref(o);
    sq_fetch_result_cleanup(&res);
    /* a signed-less POST to the API (no secret configured on the server) */
    sq_aop_params_init(&ps);
    sq_aop_params_set(&ps, "categoryId", "0", &err);
    form = sq_aop_form_encode(&ps);
    api = sq_asprintf("%s/openapi/param2/1/com.alibaba.fenxiao.crossborder/"
                      "category.translation.getById/1",
                      fx_server_url(s));
    assert_int_equal(sq_fetch(f, api, form, SQ_1688_EXPECT_JSON, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_OK);
    assert_int_equal(
        sq_1688_category_parse(res.resp.body, res.resp.len, &o, &err),
        SYNCQ_OK);
    assert_int_equal(json_array_size(json_object_get(o, "children")), 3);
    json_decref(o);
    sq_fetch_result_cleanup(&res);
    /* an unknown offer: the site's wrong-page redirect */
    sq_free(url);
    url = sq_asprintf("%s/offer/1.html", fx_server_url(s));
    assert_int_equal(sq_fetch(f, url, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_NOT_FOUND);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_NOT_FOUND);
    sq_fetch_result_cleanup(&res);
    sq_aop_params_cleanup(&ps);
    sq_free(form);
    sq_free(api);
    sq_free(url);
    sq_fetcher_close(f);
    syncq_client_close(c);
    fx_server_stop(s);
}

static void
rate_limit_pauses_host(void **state)
{
    struct fx_server *s = serve("429=100%:2s");
    syncq_client *c = sqt_client();
    struct sq_fetcher *f = fetcher(c, 0, 5000, 0);
    struct sq_fetch_result res;
    char *u1 = page_url(s, 1), *u2 = page_url(s, 2);
    int64_t cool = 0, inflight;
    char why[64];
    syncq_error err;

    (void)state;
    assert_int_equal(sq_fetch(f, u1, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_true(res.sent);
    assert_int_equal(res.resp.status, 429);
    assert_int_equal(res.verdict.outcome, SQ_1688_RATE_LIMITED);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_RATE_LIMITED);
    assert_int_equal(res.verdict.retry_after_ms, 2000); /* Retry-After: 2 */
    assert_int_equal(syncq_rl_peek(c, res.host, &cool, why, &inflight, &err),
                     SYNCQ_OK);
    assert_string_equal(why, "rate_limited:429");
    assert_in_range(cool - sq_now_ms(), 1500, 2100);
    assert_int_equal(inflight, 0); /* the slot was given back */
    sq_fetch_result_cleanup(&res);
    /* another request to the paused host is not even sent */
    assert_int_equal(sq_fetch(f, u2, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_false(res.sent);
    assert_true(res.deferred);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_RATE_LIMITED);
    assert_in_range(res.verdict.retry_after_ms, 1000, 2100);
    sq_fetch_result_cleanup(&res);
    sq_free(u1);
    sq_free(u2);
    sq_fetcher_close(f);
    syncq_client_close(c);
    fx_server_stop(s);
}

static void
captcha_cools_host_then_recovers(void **state)
{
    struct fx_server *s = serve("captcha=1");
    syncq_client *c = sqt_client();
    struct sq_fetcher *f = fetcher(c, 0, 5000, 0);
    struct sq_fetcher *patient = fetcher(c, 3000, 5000, 0);
    struct sq_fetch_result res;
    char *u1 = page_url(s, 1), *u2 = page_url(s, 2);
    int64_t cool = 0, inflight;
    char why[64];
    syncq_error err;

    (void)state;
    assert_int_equal(sq_fetch(f, u1, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.resp.status, 200); /* blocked answers are 200s */
    assert_int_equal(res.verdict.outcome, SQ_1688_BLOCKED);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_BLOCKED);
    assert_int_equal(res.verdict.retry_after_ms, 1500);
    assert_int_equal(syncq_rl_peek(c, res.host, &cool, why, &inflight, &err),
                     SYNCQ_OK);
    assert_string_equal(why, "blocked:_____tmd_____");
    sq_fetch_result_cleanup(&res);
    /* others defer with class blocked while the host cools down */
    assert_int_equal(sq_fetch(f, u2, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_true(res.deferred);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_BLOCKED);
    sq_fetch_result_cleanup(&res);
    /* a fetcher willing to wait sleeps through the pause and succeeds */
    assert_int_equal(
        sq_fetch(patient, u2, NULL, SQ_1688_EXPECT_PAGE, &res, &err), SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_OK);
    assert_true(res.waited_ms >= 1000);
    sq_fetch_result_cleanup(&res);
    sq_free(u1);
    sq_free(u2);
    sq_fetcher_close(f);
    sq_fetcher_close(patient);
    syncq_client_close(c);
    fx_server_stop(s);
}

static void
server_errors_then_success(void **state)
{
    struct fx_server *s = serve("5xx=100%:502");
    syncq_client *c = sqt_client();
    struct sq_fetcher *f = fetcher(c, 200, 5000, 0);
    struct sq_fetch_result res;
    char *u = page_url(s, 4);
    syncq_error err;

    (void)state;
    /* faults stop after FX_FAULT_MAX_ATTEMPTS tries of one request */
    for (int i = 0; i < FX_FAULT_MAX_ATTEMPTS; i++) {
        assert_int_equal(sq_fetch(f, u, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                         SYNCQ_OK);
        if (res.resp.status != 502) {
            fail_msg("try %d: %s", i, res.verdict.message);
        }
        assert_int_equal(res.verdict.outcome, SQ_1688_TRANSIENT);
        assert_int_equal(res.verdict.error_class, SYNCQ_ERR_HTTP_5XX);
        sq_fetch_result_cleanup(&res);
    }
    assert_int_equal(sq_fetch(f, u, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_OK);
    sq_fetch_result_cleanup(&res);
    sq_free(u);
    sq_fetcher_close(f);
    syncq_client_close(c);
    fx_server_stop(s);
}

static void
gateway_qos_and_burst(void **state)
{
    struct fx_server *s = serve("qos=1,429=1:1s:2s");
    syncq_client *c = sqt_client();
    struct sq_fetcher *f = fetcher(c, 3000, 5000, 0);
    struct sq_fetch_result res;
    struct sq_aop_params ps;
    char *api, *form;
    syncq_error err;

    (void)state;
    sq_aop_params_init(&ps);
    sq_aop_params_set(&ps, "categoryId", "0", &err);
    form = sq_aop_form_encode(&ps);
    api = sq_asprintf("%s/openapi/param2/1/com.alibaba.fenxiao.crossborder/"
                      "category.translation.getById/1",
                      fx_server_url(s));
    /* 1st: the gateway's frequency-limit error (HTTP 400 + error_code) */
    assert_int_equal(sq_fetch(f, api, form, SQ_1688_EXPECT_JSON, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.resp.status, 400);
    assert_int_equal(res.verdict.outcome, SQ_1688_RATE_LIMITED);
    assert_string_equal(res.verdict.code, "gw.QosAppFrequencyLimit");
    assert_int_equal(res.verdict.retry_after_ms, 1000); /* default pause */
    sq_fetch_result_cleanup(&res);
    /* 2nd (after the 1 s pause, slept in place): the 429 that opens a 2 s
     * burst; the 3rd, another key, lands in the burst */
    assert_int_equal(sq_fetch(f, api, form, SQ_1688_EXPECT_JSON, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.resp.status, 429);
    sq_fetch_result_cleanup(&res);
    sq_free(api);
    api = sq_asprintf("%s/openapi/param2/1/com.alibaba.fenxiao.crossborder/"
                      "category.translation.getById/1?categoryId=97",
                      fx_server_url(s));
    assert_int_equal(sq_fetch(f, api, NULL, SQ_1688_EXPECT_JSON, &res, &err),
                     SYNCQ_OK);
    /* waited out the 1 s pause of the 429, still inside the 2 s burst */
    assert_int_equal(res.resp.status, 429);
    assert_int_equal(res.verdict.outcome, SQ_1688_RATE_LIMITED);
    assert_in_range(res.verdict.retry_after_ms, 1000, 2000);
    sq_fetch_result_cleanup(&res);
    sq_aop_params_cleanup(&ps);
    sq_free(form);
    sq_free(api);
    sq_fetcher_close(f);
    syncq_client_close(c);
    fx_server_stop(s);
}

static void
timeouts_refusals_and_limits(void **state)
{
    struct fx_server *s = serve("slow=100%:2s");
    syncq_client *c = sqt_client();
    struct sq_fetcher *f = fetcher(c, 0, 700, 0);
    struct sq_fetcher *small = fetcher(c, 0, 5000, 1000);
    struct sq_fetch_result res;
    char *u = page_url(s, 5);
    int64_t t0 = sq_mono_ms();
    syncq_error err;

    (void)state;
    assert_int_equal(sq_fetch(f, u, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_TIMEOUT);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_TIMEOUT);
    assert_true(sq_mono_ms() - t0 < 1900);
    assert_null(strstr(res.verdict.message, "?")); /* no query in messages */
    sq_fetch_result_cleanup(&res);
    /* nobody listens on port 9 of loopback */
    assert_int_equal(sq_fetch(f, "http://127.0.0.1:9/x", NULL,
                              SQ_1688_EXPECT_JSON, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_NETWORK);
    sq_fetch_result_cleanup(&res);
    /* bodies over the limit are refused, not truncated silently */
    assert_int_equal(sq_fetch(small, u, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_PARSE);
    assert_non_null(strstr(res.verdict.message, "over 1000 bytes"));
    sq_fetch_result_cleanup(&res);
    assert_int_equal(
        sq_fetch(f, "ftp://x/y", NULL, SQ_1688_EXPECT_JSON, &res, &err),
        SYNCQ_EINVAL);
    sq_fetch_result_cleanup(&res);
    sq_free(u);
    sq_fetcher_close(f);
    sq_fetcher_close(small);
    syncq_client_close(c);
    fx_server_stop(s);
}

static void
truncated_images_and_malformed_json(void **state)
{
    struct fx_server *s = serve("truncated_image=100%,malformed=100%");
    syncq_client *c = sqt_client();
    struct sq_fetcher *f = fetcher(c, 0, 10000, 0);
    const struct fx_catalog *cat = fx_server_catalog(s);
    const struct fx_offer *o = &cat->offers[0];
    struct sq_fetch_result res;
    char *img = fx_image_url(cat, o, 0, fx_server_url(s));
    char *api;
    void *full = NULL;
    size_t full_len = 0;
    json_t *rec = NULL;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_fetch(f, img, NULL, SQ_1688_EXPECT_JSON, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.resp.status, 200);
    assert_int_equal(fx_image_encode(o->images[0].key, o->images[0].ext, 0,
                                     &full, &full_len, &err),
                     SYNCQ_OK);
    assert_int_equal(res.resp.len, full_len / 2); /* the tail is missing */
    assert_memory_equal(res.resp.body, full, res.resp.len);
    sq_fetch_result_cleanup(&res);
    sq_free(full);
    api = sq_asprintf("%s/openapi/param2/1/com.alibaba.fenxiao.crossborder/"
                      "product.search.queryProductDetail/1?offerDetailParam="
                      "%%7B%%22offerId%%22%%3A%lld%%7D",
                      fx_server_url(s), (long long)o->id);
    assert_int_equal(sq_fetch(f, api, NULL, SQ_1688_EXPECT_JSON, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_OK); /* looks fine ... */
    assert_int_equal(
        sq_1688_offer_parse(res.resp.body, res.resp.len, o->id, &rec, &err),
        SYNCQ_EPROTO); /* ... but is cut short */
    assert_non_null(strstr(err.msg, "not JSON"));
    sq_fetch_result_cleanup(&res);
    sq_free(api);
    sq_free(img);
    sq_fetcher_close(f);
    syncq_client_close(c);
    fx_server_stop(s);
}

static void
headers_and_proxy_environment(void **state)
{
    char log[512];
    struct fx_server *s;
    syncq_client *c = sqt_client();
    struct sq_fetcher *f;
    struct sq_fetch_result res;
    char *u, *text;
    syncq_error err;

    (void)state;
    snprintf(log, sizeof log, "%s/headers.log", sqt_tmpdir());
    s = serve_log(NULL, log);
    f = fetcher(c, 1000, 5000, 0);
    u = page_url(s, 6);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    assert_int_equal(sq_fetch(f, u, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_OK);
    sq_fetch_result_cleanup(&res);
    text = sqt_read_file(log, NULL);
    /* the configured User-Agent, and every compression offered */
    assert_non_null(strstr(text, "\"ua\":\"syncq-test/1\""));
    assert_non_null(strstr(text, "gzip"));
    free(text);
    /* http_proxy is honoured: a dead proxy fails the request ... */
    setenv("http_proxy", "http://127.0.0.1:9", 1);
    assert_int_equal(sq_fetch(f, u, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.error_class, SYNCQ_ERR_NETWORK);
    sq_fetch_result_cleanup(&res);
    /* ... and no_proxy exempts the host */
    setenv("no_proxy", "127.0.0.1", 1);
    assert_int_equal(sq_fetch(f, u, NULL, SQ_1688_EXPECT_PAGE, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(res.verdict.outcome, SQ_1688_OK);
    sq_fetch_result_cleanup(&res);
    unsetenv("http_proxy");
    unsetenv("no_proxy");
    sq_free(u);
    sq_fetcher_close(f);
    syncq_client_close(c);
    fx_server_stop(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(ok_page_and_api, setup),
        cmocka_unit_test_setup(rate_limit_pauses_host, setup),
        cmocka_unit_test_setup(captcha_cools_host_then_recovers, setup),
        cmocka_unit_test_setup(server_errors_then_success, setup),
        cmocka_unit_test_setup(gateway_qos_and_burst, setup),
        cmocka_unit_test_setup(timeouts_refusals_and_limits, setup),
        cmocka_unit_test_setup(truncated_images_and_malformed_json, setup),
        cmocka_unit_test_setup(headers_and_proxy_environment, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
