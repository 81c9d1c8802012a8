/* SPDX-License-Identifier: MIT
 *
 * it_crawler_tasks.c: the crawler.* tasks run in-process
 * (syncq_task_run_local) against the real fixture server over loopback,
 * the private Redis (limiter, fan-out, checkpoints) and a SQLite catalog
 * database. Asserts results, what is stored in raw_payload (outcome and
 * normalised record), the fan-out (download_images with the offer's
 * image URLs, fetch_product_details per listed offer, once per offer
 * per sync run), error classes for every kind of bad outcome (validation,
 * auth with a bad signature, not_found, blocked with the raw page kept,
 * parse with the raw body kept, rate_limited deferral with nothing sent),
 * that sync_category resumes from its checkpoint at the next page, that
 * a category the platform lists nothing for (unknown: 123) ends
 * not_found, and that endpoints given as task arguments (page_url ...)
 * are guarded: loopback refused unless SYNCQ_FETCH_ALLOW names it.
 * TEST_TIMEOUT: 240
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "core/sq_time.h"
#include "db/sq_db.h"
#include "fixture/fixture.h"

#include <stdlib.h>
#include <string.h>

#define APP_KEY "1000000"
#define SECRET "fixture-secret"

static struct fx_server *srv;
static char log_path[512];

static struct fx_server *
serve(const char *faults, const char *log)
{
    struct fx_server_opts o;
    struct fx_server *s = NULL;
    syncq_error err;

    memset(&o, 0, sizeof o);
    o.listen = "127.0.0.1:0";
    o.products = 150;
    o.categories = 3;
    o.seed = 11;
    o.faults = faults;
    o.app_key = APP_KEY;
    o.app_secret = SECRET;
    o.log_path = log;
    if (fx_server_start(&o, &s, &err) != SYNCQ_OK) {
        fail_msg("fixture server: %s", err.msg);
    }
    return s;
}

/* A config pointing at server `s`. */
static syncq_config *
config(struct fx_server *s, const char *rate, const char *max_wait)
{
    syncq_config *cfg = NULL;
    syncq_error err;
    char url[256], db[600];

    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
#define SET(k, v)                                                              \
    if (syncq_config_set(cfg, k, v, "test", &err) != SYNCQ_OK) {               \
        fail_msg("%s: %s", k, err.msg);                                        \
    }
    SET("SYNCQ_BROKER_URL", sqt_broker_url());
    snprintf(url, sizeof url, "%s/openapi", fx_server_url(s));
    SET("SYNCQ_1688_BASE_URL", url);
    SET("SYNCQ_1688_PAGE_URL", fx_server_url(s));
    snprintf(url, sizeof url, "%s/1688/shop/shop_info", fx_server_url(s));
    SET("SYNCQ_1688_SHOP_API_URL", url);
    SET("SYNCQ_1688_APP_KEY", APP_KEY);
    SET("SYNCQ_1688_APP_SECRET", SECRET);
    SET("SYNCQ_CRAWLER_RATE", rate);
    SET("SYNCQ_CRAWLER_MAX_WAIT", max_wait);
    SET("SYNCQ_CRAWLER_COOLDOWN", "2s");
    snprintf(db, sizeof db, "%s/catalog.db", sqt_tmpdir());
    SET("SYNCQ_DATABASE_URL", db);
#undef SET
    return cfg;
}

/* Run `name` with `kwargs_json`; returns the local result. */
static syncq_local_result
run(syncq_config *cfg, syncq_client *c, const char *name,
    const char *kwargs_json, const char *id)
{
    syncq_local_result out;
    json_t *kw = json_loads(kwargs_json, 0, NULL);
    syncq_error err;

    assert_non_null(kw);
    assert_int_equal(
        syncq_task_run_local(NULL, name, NULL, kw, c, cfg, id, &out, &err),
        SYNCQ_OK);
    json_decref(kw);
    return out;
}

static void
expect_fail(syncq_local_result *r, int cls, const char *msg_part)
{
    if (r->ok || r->error_class != cls ||
        (msg_part != NULL && strstr(r->error_msg, msg_part) == NULL)) {
        fail_msg("want %s '%s', got ok=%d %s: %s", syncq_error_class_name(cls),
                 msg_part ? msg_part : "", r->ok,
                 syncq_error_class_name(r->error_class), r->error_msg);
    }
}

/* raw_payload row: outcome and normalised JSON (owned, may be NULL). */
static char *
raw(syncq_config *cfg, const char *kind, const char *key, char outcome[32])
{
    struct sq_db *db = NULL;
    char *json = NULL;
    syncq_error err;

    assert_int_equal(sq_db_shared(cfg, &db, &err), SYNCQ_OK);
    outcome[0] = '\0';
    if (sq_db_raw_get(db, kind, key, &json, outcome, &err) != SYNCQ_OK) {
        return NULL;
    }
    return json;
}

/* Bytes of the raw body stored for kind/key. */
static size_t
raw_body_len(syncq_config *cfg, const char *kind, const char *key)
{
    struct sq_db *db = NULL;
    struct sq_db_stmt *st = NULL;
    syncq_error err;
    size_t len = 0;

    assert_int_equal(sq_db_shared(cfg, &db, &err), SYNCQ_OK);
    assert_int_equal(sq_db_prepare(db,
                                   "SELECT body FROM raw_payload WHERE "
                                   "kind = ? AND key = ?",
                                   &st, &err),
                     SYNCQ_OK);
    sq_db_bind_text(st, 1, kind);
    sq_db_bind_text(st, 2, key);
    if (sq_db_step(st, &err) == 1) {
        sq_db_col_blob(st, 0, &len);
    }
    sq_db_reset(st);
    return len;
}

static long
log_count(const char *needle)
{
    char *s = sqt_read_file(log_path, NULL);
    long n = 0;
    const char *p = s;

    while (p != NULL && (p = strstr(p, needle)) != NULL) {
        n++;
        p++;
    }
    free(s);
    return n;
}

static int
group_setup(void **state)
{
    (void)state;
    snprintf(log_path, sizeof log_path, "%s/fixture.log", sqt_tmpdir());
    srv = serve(NULL, log_path);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    fx_server_stop(srv);
    return 0;
}

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
    return 0;
}

static const struct fx_offer *
offer(size_t i)
{
    return &fx_server_catalog(srv)->offers[i];
}

static void
details_stored_and_images_fanned_out(void **state)
{
    syncq_config *cfg = config(srv, "1000/s", "2s");
    syncq_client *c = sqt_client();
    const struct fx_offer *o = offer(7);
    char kw[128], key[32], outcome[32];
    char *norm;
    json_t *rec;
    syncq_local_result r;
    redisReply *ids;
    /* every image of the offer, main and SKU, once each */
    size_t images = (size_t)o->nimages;

    (void)state;
    snprintf(kw, sizeof kw, "{\"product_id\":%lld}", (long long)o->id);
    snprintf(key, sizeof key, "%lld", (long long)o->id);
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    assert_true(r.ok);
    assert_int_equal(json_integer_value(json_object_get(r.result, "offer_id")),
                     o->id);
    assert_string_equal(json_string_value(json_object_get(r.result, "stored")),
                        "api_detail");
    assert_int_equal(json_integer_value(json_object_get(r.result, "skus")),
                     o->nskus);
    /* raw + normalised in the staging table */
    norm = raw(cfg, "api_detail", key, outcome);
    assert_non_null(norm);
    assert_string_equal(outcome, "ok");
    rec = json_loads(norm, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(rec, "offer_id")),
                     o->id);
    assert_string_equal(json_string_value(json_object_get(rec, "subject")),
                        o->subject);
    assert_non_null(json_string_value(json_object_get(rec, "fetched_at")));
    assert_true(raw_body_len(cfg, "api_detail", key) > 500);
    /* one download_images task with every image URL of the offer */
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:image_processing:5"), 1);
    ids = sqt_cmd("LRANGE {syncq}:q:image_processing:5 0 -1");
    {
        redisReply *kwr =
            sqt_cmd("HGET {syncq}:t:%s kwargs", ids->element[0]->str);
        json_t *k = json_loads(kwr->str, 0, NULL);
        assert_int_equal(json_integer_value(json_object_get(k, "product_id")),
                         o->id);
        assert_int_equal(json_array_size(json_object_get(k, "urls")), images);
        assert_non_null(strstr(
            json_string_value(json_array_get(json_object_get(k, "urls"), 0)),
            "/img/ibank/O1CN01"));
        json_decref(k);
        freeReplyObject(kwr);
    }
    freeReplyObject(ids);
    /* fetched again, same content: no second download task */
    syncq_local_result_cleanup(&r);
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    assert_true(r.ok);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:image_processing:5"), 1);
    json_decref(rec);
    free(norm);
    syncq_local_result_cleanup(&r);
    /* the page and the classic API as sources */
    snprintf(kw, sizeof kw,
             "{\"product_id\":\"%lld\",\"source\":\"page\","
             "\"images\":false}",
             (long long)o->id);
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    assert_true(r.ok);
    assert_string_equal(json_string_value(json_object_get(r.result, "source")),
                        "page");
    norm = raw(cfg, "detail_page", key, outcome);
    assert_non_null(norm);
    assert_string_equal(outcome, "ok");
    rec = json_loads(norm, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(rec, "supplier"), "member_id")),
                        fx_server_catalog(srv)->sups[o->supplier].member_id);
    json_decref(rec);
    free(norm);
    syncq_local_result_cleanup(&r);
    snprintf(kw, sizeof kw,
             "{\"product_id\":%lld,\"source\":\"classic\","
             "\"images\":false}",
             (long long)o->id);
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    assert_true(r.ok);
    syncq_local_result_cleanup(&r);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

static void
bad_arguments_and_auth(void **state)
{
    syncq_config *cfg = config(srv, "1000/s", "2s");
    syncq_client *c = sqt_client();
    syncq_local_result r;
    syncq_error err;

    (void)state;
    r = run(cfg, c, "crawler.fetch_product_details", "{}", NULL);
    expect_fail(&r, SYNCQ_ERR_VALIDATION, "product_id is required");
    syncq_local_result_cleanup(&r);
    r = run(cfg, c, "crawler.fetch_product_details",
            "{\"product_id\":\"12ab\"}", NULL);
    expect_fail(&r, SYNCQ_ERR_VALIDATION, "expected an integer");
    syncq_local_result_cleanup(&r);
    r = run(cfg, c, "crawler.fetch_product_details",
            "{\"product_id\":1,\"colour\":\"red\"}", NULL);
    expect_fail(&r, SYNCQ_ERR_VALIDATION, "unknown argument 'colour'");
    syncq_local_result_cleanup(&r);
    r = run(cfg, c, "crawler.fetch_product_details",
            "{\"product_id\":1,\"source\":\"ftp\"}", NULL);
    expect_fail(&r, SYNCQ_ERR_VALIDATION, "source");
    syncq_local_result_cleanup(&r);
    r = run(cfg, c, "crawler.sync_category", "{\"category_id\":-3}", NULL);
    expect_fail(&r, SYNCQ_ERR_VALIDATION, "category_id");
    syncq_local_result_cleanup(&r);
    r = run(cfg, c, "crawler.fetch_suppliers", "{\"supplier_ids\":[]}", NULL);
    expect_fail(&r, SYNCQ_ERR_VALIDATION, "supplier_ids");
    syncq_local_result_cleanup(&r);
    r = run(cfg, c, "crawler.fetch_products",
            "{\"category_id\":1,\"page_size\":51}", NULL);
    expect_fail(&r, SYNCQ_ERR_VALIDATION, "page_size");
    syncq_local_result_cleanup(&r);
    /* a wrong secret: the gateway refuses the signature; never retried */
    assert_int_equal(
        syncq_config_set(cfg, "SYNCQ_1688_APP_SECRET", "wrong", "test", &err),
        SYNCQ_OK);
    r = run(cfg, c, "crawler.fetch_products", "{\"category_id\":1031910}",
            NULL);
    expect_fail(&r, SYNCQ_ERR_AUTH, "gw.SignatureInvalid");
    syncq_local_result_cleanup(&r);
    assert_int_equal(
        syncq_config_set(cfg, "SYNCQ_1688_APP_KEY", "", "test", &err),
        SYNCQ_OK);
    r = run(cfg, c, "crawler.fetch_products", "{\"category_id\":1031910}",
            NULL);
    expect_fail(&r, SYNCQ_ERR_AUTH, "SYNCQ_1688_APP_KEY");
    syncq_local_result_cleanup(&r);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

static void
not_found_blocked_and_malformed(void **state)
{
    struct fx_server *bad = serve("captcha=1,malformed=100%", NULL);
    syncq_config *cfg = config(bad, "1000/s", "0");
    syncq_config *good = config(srv, "1000/s", "2s");
    syncq_client *c = sqt_client();
    const struct fx_offer *o = &fx_server_catalog(bad)->offers[2];
    syncq_local_result r;
    char kw[128], key[32], outcome[32];
    char *norm;

    (void)state;
    r = run(good, c, "crawler.fetch_product_details", "{\"product_id\":123456}",
            NULL);
    expect_fail(&r, SYNCQ_ERR_NOT_FOUND, "商品不存在");
    syncq_local_result_cleanup(&r);
    norm = raw(good, "api_detail", "123456", outcome);
    assert_string_equal(outcome, "not_found"); /* data_sync delists it */
    assert_non_null(strstr(norm, "delisted"));
    free(norm);
    /* the captcha page: blocked, retried after the cool-down, page kept */
    snprintf(kw, sizeof kw, "{\"product_id\":%lld,\"source\":\"page\"}",
             (long long)o->id);
    snprintf(key, sizeof key, "%lld", (long long)o->id);
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    expect_fail(&r, SYNCQ_ERR_BLOCKED, "anti-bot page");
    assert_int_equal(r.retry_after_ms, 2000);
    assert_non_null(r.error_detail);
    assert_non_null(
        strstr(json_string_value(json_object_get(r.error_detail, "body")),
               "_____tmd_____"));
    syncq_local_result_cleanup(&r);
    norm = raw(cfg, "detail_page", key, outcome);
    assert_string_equal(outcome, "blocked");
    free(norm);
    assert_true(raw_body_len(cfg, "detail_page", key) > 50);
    /* the next task finds the host cooling down and sends nothing */
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    expect_fail(&r, SYNCQ_ERR_BLOCKED, "cooling down");
    assert_in_range(r.retry_after_ms, 1000, 2000);
    syncq_local_result_cleanup(&r);
    sq_sleep_ms(2100);
    /* malformed JSON from the API: parse, not retried, body kept */
    snprintf(kw, sizeof kw, "{\"product_id\":%lld}", (long long)o->id);
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    expect_fail(&r, SYNCQ_ERR_PARSE, "not JSON");
    assert_non_null(json_object_get(r.error_detail, "body"));
    assert_int_equal(
        json_integer_value(json_object_get(r.error_detail, "body_bytes")),
        raw_body_len(cfg, "api_detail", key));
    syncq_local_result_cleanup(&r);
    norm = raw(cfg, "api_detail", key, outcome);
    assert_string_equal(outcome, "parse_error");
    free(norm);
    syncq_client_close(c);
    syncq_config_free(cfg);
    syncq_config_free(good);
    fx_server_stop(bad);
}

static void
rate_limit_defers_without_sending(void **state)
{
    syncq_config *cfg = config(srv, "1/10s", "0");
    syncq_client *c = sqt_client();
    syncq_local_result r;
    char kw[64];
    long before;

    (void)state;
    snprintf(kw, sizeof kw, "{\"product_id\":%lld,\"images\":false}",
             (long long)offer(20)->id);
    r = run(cfg, c, "crawler.fetch_product_details", kw,
            "aaaaaaaa-0000-4000-"
            "8000-000000000001");
    assert_true(r.ok);
    syncq_local_result_cleanup(&r);
    before = log_count("\"key\":\"detail:");
    snprintf(kw, sizeof kw, "{\"product_id\":%lld,\"images\":false}",
             (long long)offer(21)->id);
    r = run(cfg, c, "crawler.fetch_product_details", kw,
            "aaaaaaaa-0000-4000-"
            "8000-000000000002");
    /* the next slot (~10 s) is booked for this task: retry just before */
    expect_fail(&r, SYNCQ_ERR_RATE_LIMITED, "slot booked");
    assert_in_range(r.retry_after_ms, 5000, 10200);
    syncq_local_result_cleanup(&r);
    assert_int_equal(log_count("\"key\":\"detail:"), before);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

static void
empty_category_is_not_found(void **state)
{
    syncq_config *cfg = config(srv, "1000/s", "2s");
    syncq_client *c = sqt_client();
    syncq_local_result r;

    (void)state;
    r = run(cfg, c, "crawler.fetch_products", "{\"category_id\":123}", NULL);
    expect_fail(&r, SYNCQ_ERR_NOT_FOUND, "category 123: the platform lists "
                                         "no offers");
    syncq_local_result_cleanup(&r);
    r = run(cfg, c, "crawler.sync_category", "{\"category_id\":123}", NULL);
    expect_fail(&r, SYNCQ_ERR_NOT_FOUND, "123");
    syncq_local_result_cleanup(&r);
    /* a real category past its last page is still an answer with data */
    r = run(cfg, c, "crawler.fetch_products",
            "{\"category_id\":1031910,\"page\":500,\"page_size\":50}",
            NULL);
    assert_true(r.ok);
    assert_true(json_integer_value(json_object_get(r.result, "total")) > 0);
    assert_int_equal(json_array_size(json_object_get(r.result, "offer_ids")),
                     0);
    syncq_local_result_cleanup(&r);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

static void
endpoints_from_arguments_are_guarded(void **state)
{
    syncq_config *cfg = config(srv, "1000/s", "2s");
    syncq_client *c = sqt_client();
    syncq_local_result r;
    syncq_error err;
    char kw[256], allow[64];
    long before;

    (void)state;
    snprintf(kw, sizeof kw,
             "{\"product_id\":%lld,\"images\":false,\"source\":\"page\","
             "\"page_url\":\"%s\"}",
             (long long)offer(30)->id, fx_server_url(srv));
    before = log_count("\"route\":\"page\"");
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    expect_fail(&r, SYNCQ_ERR_VALIDATION, "is loopback");
    assert_non_null(strstr(r.error_msg, "SYNCQ_FETCH_ALLOW"));
    syncq_local_result_cleanup(&r);
    assert_int_equal(log_count("\"route\":\"page\""), before); /* not sent */
    /* the same host from the operator's settings is not guarded */
    snprintf(kw, sizeof kw,
             "{\"product_id\":%lld,\"images\":false,\"source\":\"page\"}",
             (long long)offer(30)->id);
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    assert_true(r.ok);
    syncq_local_result_cleanup(&r);
    /* allowed by address and port */
    snprintf(allow, sizeof allow, "127.0.0.1:%d", fx_server_port(srv));
    assert_int_equal(
        syncq_config_set(cfg, "SYNCQ_FETCH_ALLOW", allow, "test", &err),
        SYNCQ_OK);
    snprintf(kw, sizeof kw,
             "{\"product_id\":%lld,\"images\":false,\"source\":\"page\","
             "\"page_url\":\"%s\"}",
             (long long)offer(31)->id, fx_server_url(srv));
    r = run(cfg, c, "crawler.fetch_product_details", kw, NULL);
    assert_true(r.ok);
    syncq_local_result_cleanup(&r);
    assert_int_equal(log_count("\"route\":\"page\""), before + 2);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

static void
listing_fans_out_details(void **state)
{
    syncq_config *cfg = config(srv, "1000/s", "2s");
    syncq_client *c = sqt_client();
    syncq_local_result r;
    char outcome[32];
    char *norm;

    (void)state;
    r = run(cfg, c, "crawler.fetch_products",
            "{\"category_id\":1031910,\"page\":2,\"page_size\":7,"
            "\"fetch_details\":true}",
            NULL);
    assert_true(r.ok);
    assert_int_equal(json_integer_value(json_object_get(r.result, "page")), 2);
    assert_int_equal(json_array_size(json_object_get(r.result, "offer_ids")),
                     7);
    assert_int_equal(
        json_integer_value(json_object_get(r.result, "details_enqueued")), 7);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 7);
    assert_int_equal(json_integer_value(json_object_get(r.result, "total")),
                     fx_server_catalog(srv)->nlisting[0]);
    norm = raw(cfg, "search", "1031910:2", outcome);
    assert_string_equal(outcome, "ok");
    assert_non_null(strstr(norm, "\"page\":2"));
    free(norm);
    syncq_local_result_cleanup(&r);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

static void
sync_category_resumes_at_next_page(void **state)
{
    syncq_config *cfg = config(srv, "1000/s", "2s");
    syncq_client *c = sqt_client();
    static const char id[] = "bbbbbbbb-0000-4000-8000-000000000001";
    syncq_local_result r;
    long p1, p3;

    (void)state;
    r = run(cfg, c, "crawler.sync_category",
            "{\"category_id\":124262013,\"max_pages\":2,\"page_size\":10}", id);
    assert_true(r.ok);
    assert_int_equal(json_integer_value(json_object_get(r.result, "pages")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(r.result, "details_enqueued")), 20);
    assert_string_equal(
        json_string_value(json_object_get(r.result, "category_name")),
        "打火机");
    syncq_local_result_cleanup(&r);
    p1 = log_count("\"key\":\"search:124262013:1:10\"");
    assert_int_equal(p1, 1);
    assert_int_equal(log_count("\"key\":\"category:124262013\""), 1);
    /* the same task again (a retry after a kill) with more pages: it
     * continues at page 3; pages 1-2 and the category are not fetched
     * again, and no offer detail is enqueued twice */
    r = run(cfg, c, "crawler.sync_category",
            "{\"category_id\":124262013,\"max_pages\":4,\"page_size\":10}", id);
    assert_true(r.ok);
    assert_int_equal(json_integer_value(json_object_get(r.result, "pages")), 4);
    assert_int_equal(
        json_integer_value(json_object_get(r.result, "offers_seen")), 40);
    syncq_local_result_cleanup(&r);
    assert_int_equal(log_count("\"key\":\"search:124262013:1:10\""), p1);
    assert_int_equal(log_count("\"key\":\"category:124262013\""), 1);
    p3 = log_count("\"key\":\"search:124262013:3:10\"");
    assert_int_equal(p3, 1);
    assert_int_equal(log_count("\"key\":\"search:124262013:4:10\""), 1);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 40);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

static void
suppliers(void **state)
{
    syncq_config *cfg = config(srv, "1000/s", "2s");
    syncq_client *c = sqt_client();
    const struct fx_catalog *cat = fx_server_catalog(srv);
    syncq_local_result r;
    char kw[256], key[32], outcome[32];
    char *norm;

    (void)state;
    snprintf(kw, sizeof kw, "{\"supplier_ids\":[\"%s\",%lld,\"b2b-nobody\"]}",
             cat->sups[1].member_id, (long long)cat->sups[2].user_id);
    r = run(cfg, c, "crawler.fetch_suppliers", kw, NULL);
    assert_true(r.ok);
    assert_int_equal(json_integer_value(json_object_get(r.result, "fetched")),
                     2);
    assert_int_equal(json_array_size(json_object_get(r.result, "not_found")),
                     1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(r.result, "not_found"), 0)),
                        "b2b-nobody");
    syncq_local_result_cleanup(&r);
    snprintf(key, sizeof key, "%lld", (long long)cat->sups[1].user_id);
    norm = raw(cfg, "shop", key, outcome);
    assert_non_null(norm);
    assert_string_equal(outcome, "ok");
    assert_non_null(strstr(norm, cat->sups[1].company));
    free(norm);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(details_stored_and_images_fanned_out, setup),
        cmocka_unit_test_setup(bad_arguments_and_auth, setup),
        cmocka_unit_test_setup(not_found_blocked_and_malformed, setup),
        cmocka_unit_test_setup(rate_limit_defers_without_sending, setup),
        cmocka_unit_test_setup(listing_fans_out_details, setup),
        cmocka_unit_test_setup(empty_category_is_not_found, setup),
        cmocka_unit_test_setup(endpoints_from_arguments_are_guarded, setup),
        cmocka_unit_test_setup(sync_category_resumes_at_next_page, setup),
        cmocka_unit_test_setup(suppliers, setup),
    };
    sqt_register_packs();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
