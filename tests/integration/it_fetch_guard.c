/* SPDX-License-Identifier: MIT
 *
 * it_fetch_guard.c: image downloads are fetches from task arguments and
 * are guarded against server-side request forgery (issue 20), run
 * in-process (syncq_task_run_local) against the fixture server on
 * loopback with a SQLite catalog:
 *   - the cloud metadata address is refused before any connection, the
 *     per-image error names the address, its range and the setting, and
 *     a task whose every URL was refused ends FAILURE (validation), not
 *     SUCCESS;
 *   - the fixture on loopback is refused until SYNCQ_FETCH_ALLOW names
 *     it (address and port), then downloaded;
 *   - a redirect from the allowed host to an address it does not allow
 *     (127.0.0.2, same port) is refused at the hop: nothing stored;
 *   - a batch mixing a refused URL and a good one succeeds with the
 *     refused one reported (refused 1, downloaded 1).
 * TEST_TIMEOUT: 120
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "fixture/fixture.h"

#include <stdio.h>
#include <string.h>

static struct fx_server *srv;
static char log_path[600];

static syncq_config *
config(const char *allow)
{
    syncq_config *cfg = NULL;
    syncq_error err;
    char path[700];

    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
#define SET(k, v)                                                              \
    if (syncq_config_set(cfg, k, v, "test", &err) != SYNCQ_OK) {               \
        fail_msg("%s: %s", k, err.msg);                                        \
    }
    snprintf(path, sizeof path, "%s/guard.db", sqt_tmpdir());
    SET("SYNCQ_DATABASE_URL", path);
    snprintf(path, sizeof path, "%s/media", sqt_tmpdir());
    SET("SYNCQ_MEDIA_DIR", path);
    SET("SYNCQ_CRAWLER_CONNECT_TIMEOUT", "2");
    SET("SYNCQ_CRAWLER_TIMEOUT", "5");
    SET("SYNCQ_FETCH_ALLOW", allow);
#undef SET
    return cfg;
}

static char *
image_url(int offer, int i)
{
    const struct fx_catalog *cat = fx_server_catalog(srv);
    return fx_image_url(cat, &cat->offers[offer], i, fx_server_url(srv));
}

/* download_images over `urls` (a JSON list text), thumbnails off. */
static syncq_local_result
download(syncq_config *cfg, const char *urls)
{
    syncq_local_result out;
    char *kwtext = NULL;
    json_t *kw;
    syncq_error err;

    kwtext = sq_asprintf("{\"urls\":%s,\"thumbnails\":false}", urls);
    kw = json_loads(kwtext, 0, NULL);
    assert_non_null(kw);
    assert_int_equal(syncq_task_run_local(NULL,
                                          "image_processing.download_images",
                                          NULL, kw, NULL, cfg, NULL, &out,
                                          &err),
                     SYNCQ_OK);
    json_decref(kw);
    sq_free(kwtext);
    return out;
}

static long
image_requests(void)
{
    char *s = sqt_read_file(log_path, NULL);
    long n = 0;

    for (char *p = s; p != NULL && (p = strstr(p, "\"route\":\"image\"")); p++) {
        n++;
    }
    free(s);
    return n;
}

static const char *
entry_str(const syncq_local_result *r, size_t i, const char *k)
{
    json_t *res = r->ok ? r->result : r->error_detail;
    return json_string_value(
        json_object_get(json_array_get(json_object_get(res, "images"), i), k));
}

static void
metadata_address_refused(void **state)
{
    syncq_config *cfg = config("");
    syncq_local_result r;

    (void)state;
    r = download(cfg, "[\"http://169.254.169.254/latest/meta-data/\"]");
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    assert_non_null(strstr(r.error_msg, "every image URL (1) was refused"));
    assert_non_null(strstr(r.error_msg, "169.254.169.254:80 is link-local"));
    assert_non_null(strstr(r.error_msg, "SYNCQ_FETCH_ALLOW"));
    assert_string_equal(entry_str(&r, 0, "status"), "failed");
    assert_string_equal(entry_str(&r, 0, "error_class"), "validation");
    assert_int_equal(json_integer_value(json_object_get(r.error_detail,
                                                        "refused")),
                     1);
    syncq_local_result_cleanup(&r);
    syncq_config_free(cfg);
}

static void
loopback_needs_the_allow_list(void **state)
{
    syncq_config *cfg = config("");
    syncq_local_result r;
    char *u = image_url(1, 0);
    char *list = sq_asprintf("[\"%s\"]", u);
    char allow[64];
    long before = image_requests();

    (void)state;
    r = download(cfg, list);
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    assert_non_null(strstr(r.error_msg, "is loopback"));
    syncq_local_result_cleanup(&r);
    assert_int_equal(image_requests(), before); /* nothing reached it */
    syncq_config_free(cfg);
    /* another port of the same address is not enough */
    snprintf(allow, sizeof allow, "127.0.0.1:%d", fx_server_port(srv) + 1);
    cfg = config(allow);
    r = download(cfg, list);
    assert_false(r.ok);
    syncq_local_result_cleanup(&r);
    syncq_config_free(cfg);
    snprintf(allow, sizeof allow, "127.0.0.1:%d", fx_server_port(srv));
    cfg = config(allow);
    r = download(cfg, list);
    assert_true(r.ok);
    assert_int_equal(
        json_integer_value(json_object_get(r.result, "downloaded")), 1);
    syncq_local_result_cleanup(&r);
    assert_int_equal(image_requests(), before + 1);
    sq_free(list);
    sq_free(u);
    syncq_config_free(cfg);
}

static void
redirect_hop_is_judged(void **state)
{
    char allow[64];
    syncq_config *cfg;
    syncq_local_result r;
    char *u = image_url(2, 0);
    char *to = sq_asprintf("http://127.0.0.2:%d%s", fx_server_port(srv),
                              strstr(u + 7, "/"));
    char *list = sq_asprintf("[\"%s/redirect?to=%s\"]", fx_server_url(srv),
                                to);
    long before = image_requests();

    (void)state;
    snprintf(allow, sizeof allow, "127.0.0.1:%d", fx_server_port(srv));
    cfg = config(allow);
    r = download(cfg, list);
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    assert_non_null(strstr(r.error_msg, "127.0.0.2"));
    assert_non_null(strstr(r.error_msg, "is loopback"));
    syncq_local_result_cleanup(&r);
    assert_int_equal(image_requests(), before);
    sq_free(list);
    sq_free(to);
    sq_free(u);
    syncq_config_free(cfg);
}

static void
mixed_batch_reports_the_refused_one(void **state)
{
    char allow[64];
    syncq_config *cfg;
    syncq_local_result r;
    char *u = image_url(3, 1);
    char *list =
        sq_asprintf("[\"http://10.1.2.3/x.jpg\",\"%s\"]", u);

    (void)state;
    snprintf(allow, sizeof allow, "127.0.0.1:%d", fx_server_port(srv));
    cfg = config(allow);
    r = download(cfg, list);
    assert_true(r.ok);
    assert_int_equal(json_integer_value(json_object_get(r.result, "refused")),
                     1);
    assert_int_equal(
        json_integer_value(json_object_get(r.result, "downloaded")), 1);
    assert_non_null(strstr(entry_str(&r, 0, "error"), "10.1.2.3:80 is private"));
    syncq_local_result_cleanup(&r);
    sq_free(list);
    sq_free(u);
    syncq_config_free(cfg);
}

static int
group_setup(void **state)
{
    struct fx_server_opts o;
    syncq_error err;

    (void)state;
    snprintf(log_path, sizeof log_path, "%s/fixture.log", sqt_tmpdir());
    memset(&o, 0, sizeof o);
    o.listen = "127.0.0.1:0";
    o.products = 20;
    o.categories = 1;
    o.seed = 3;
    o.log_path = log_path;
    if (fx_server_start(&o, &srv, &err) != SYNCQ_OK) {
        fprintf(stderr, "fixture server: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    fx_server_stop(srv);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metadata_address_refused),
        cmocka_unit_test(loopback_needs_the_allow_list),
        cmocka_unit_test(redirect_hop_is_judged),
        cmocka_unit_test(mixed_batch_reports_the_refused_one),
    };

    sqt_register_packs();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
