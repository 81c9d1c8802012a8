/* SPDX-License-Identifier: MIT
 *
 * it_datasync_pipeline.c: the data half of the demo pipeline on a real
 * SQLite catalog, real files and a real HTTP image server, with the tasks
 * run as a worker runs them (syncq_task_run_local, the default registry):
 *   300 crawled offers staged -> data_sync.sync_products ->
 *   data_sync.sync_suppliers -> image_processing.download_images per
 *   product (thumbnails made for every new image) ->
 *   data_sync.validate_data (clean, files checked) ->
 *   data_sync.cleanup_duplicates (dry run, then for real) ->
 *   a re-crawl of identical content: the incremental sync writes nothing.
 * Asserts every product exactly once, every image and thumbnail on disk,
 * the duplicate group merged deterministically, and prints the timings.
 * TEST_TIMEOUT: 300
 * TEST_LABELS: slow
 */
#include "sq_test.h"

#include "core/sq_time.h"
#include "db/sq_db.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

#define NOFFERS 300

static char work[600];
static char srv[700];
static char media[700];
static int port;
static pid_t server_pid;
static syncq_config *cfg;

static void
make_jpeg(const char *path, int seed)
{
    VipsImage *im = NULL;
    VipsImage *c = NULL;

    assert_int_equal(vips_black(&im, 64 + seed % 32, 48, "bands", 3, NULL), 0);
    assert_int_equal(vips_linear1(im, &c, 1.0, (double)(seed % 250), NULL), 0);
    g_object_unref(im);
    im = NULL;
    assert_int_equal(vips_cast(c, &im, VIPS_FORMAT_UCHAR, NULL), 0);
    im->Type = VIPS_INTERPRETATION_sRGB;
    assert_int_equal(vips_jpegsave(im, path, "Q", 80, NULL), 0);
    g_object_unref(im);
    g_object_unref(c);
}

static int
setup(void **state)
{
    const char *src = getenv("SYNCQ_SOURCE_DIR");
    char script[900];
    char portfile[800];
    char logf[800];
    char dburl[800];
    syncq_error err;

    (void)state;
    snprintf(work, sizeof work, "%s/pipeline-%d", sqt_tmpdir(), (int)getpid());
    snprintf(srv, sizeof srv, "%s/srv", work);
    snprintf(media, sizeof media, "%s/media", work);
    snprintf(portfile, sizeof portfile, "%s/port", work);
    snprintf(logf, sizeof logf, "%s/requests.log", work);
    snprintf(dburl, sizeof dburl, "%s/var/1688sync.db", work);
    snprintf(script, sizeof script, "%s/tests/integration/it_images_server.py",
             src != NULL ? src : ".");
    mkdir(work, 0755);
    mkdir(srv, 0755);
    if (VIPS_INIT("pipeline") != 0) {
        return -1;
    }
    /* Two own images per offer, one shared brand image. */
    for (int i = 0; i < NOFFERS * 2; i++) {
        char p[900];
        snprintf(p, sizeof p, "%s/p%d.jpg", srv, i);
        make_jpeg(p, i);
    }
    {
        char p[900];
        snprintf(p, sizeof p, "%s/brand.jpg", srv);
        make_jpeg(p, 999);
    }
    server_pid = fork();
    if (server_pid == 0) {
        execlp("python3", "python3", script, srv, portfile, logf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && port == 0; i++) {
        FILE *f = fopen(portfile, "r");
        if (f != NULL) {
            if (fscanf(f, "%d", &port) != 1) {
                port = 0;
            }
            fclose(f);
        } else {
            usleep(25000);
        }
    }
    if (port == 0 || syncq_config_new(&cfg, &err) != SYNCQ_OK) {
        return -1;
    }
    syncq_config_set(cfg, "SYNCQ_DATABASE_URL", dburl, NULL, &err);
    syncq_config_set(cfg, "SYNCQ_MEDIA_DIR", media, NULL, &err);
    syncq_config_set(cfg, "SYNCQ_THUMBNAIL_SIZES", "220x220,400x400", NULL,
                     &err);
    {
        char allow[64]; /* the image server is on loopback */
        snprintf(allow, sizeof allow, "127.0.0.1:%d", port);
        syncq_config_set(cfg, "SYNCQ_FETCH_ALLOW", allow, NULL, &err);
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    if (server_pid > 0) {
        sqt_kill_wait(server_pid, SIGTERM, 5000);
    }
    sq_db_shared_close();
    syncq_config_free(cfg);
    vips_shutdown();
    return 0;
}

static json_t *
offer(int i)
{
    char subject[64];
    char u1[128];
    char u2[128];
    char u3[128];
    int64_t id = 700000000000LL + i;
    /* Offers 0, 1 and 2 are the same item listed three times. */
    int same = i < 3;

    snprintf(subject, sizeof subject, same ? "同款 连衣裙" : "连衣裙 %d号", i);
    snprintf(u1, sizeof u1, "http://127.0.0.1:%d/img/p%d.jpg", port, 2 * i);
    snprintf(u2, sizeof u2, "http://127.0.0.1:%d/img/p%d.jpg", port, 2 * i + 1);
    snprintf(u3, sizeof u3, "http://127.0.0.1:%d/img/brand.jpg", port);
    return json_pack(
        "{s:I, s:s, s:I, s:s, s:s, s:I, s:I, s:{s:I, s:s}, "
        "s:[{s:I, s:s, s:I}], s:[{s:I, s:I}, {s:I, s:I}], "
        "s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
        "offer_id", (json_int_t)id, "source", "api", "category_id",
        (json_int_t)(1031910 + i % 3), "subject", subject, "status",
        "published", "price_min_fen", (json_int_t)(same ? 990 : 100 + i),
        "price_max_fen", (json_int_t)(same ? 990 : 200 + i), "supplier",
        "seller_user_id", (json_int_t)(same ? 5000 : 5000 + i % 40),
        "company_name", "义乌供应商", "skus", "sku_id", (json_int_t)(id * 10),
        "spec_text", "默认", "stock", (json_int_t)(i % 50), "price_ranges",
        "start_qty", (json_int_t)1, "price_fen",
        (json_int_t)(same ? 990 : 200 + i), "start_qty", (json_int_t)10,
        "price_fen", (json_int_t)(same ? 990 : 100 + i), "images", "url", u1,
        "role", "main", "url", u2, "role", "main", "url", u3, "role", "desc");
}

static void
crawl(struct sq_db *db)
{
    syncq_error err;

    for (int i = 0; i < NOFFERS; i++) {
        json_t *o = offer(i);
        char key[32];
        char *text = json_dumps(o, JSON_COMPACT);
        snprintf(key, sizeof key, "%lld",
                 (long long)json_integer_value(json_object_get(o, "offer_id")));
        assert_int_equal(sq_db_raw_put(db, "api_detail", key, 200, "ok", text,
                                       strlen(text), text, &err),
                         SYNCQ_OK);
        free(text);
        json_decref(o);
    }
    assert_int_equal(sq_db_raw_put(db, "category", "10166", 200, "ok", "{}", 2,
                                   "{\"category_id\": 10166, \"name_zh\": "
                                   "\"女装\", \"parent_id\": 0, \"children\": "
                                   "[{\"category_id\": 1031910}, "
                                   "{\"category_id\": 1031911}, "
                                   "{\"category_id\": 1031912}]}",
                                   &err),
                     SYNCQ_OK);
}

static json_t *
run(const char *name, const char *kwargs)
{
    json_t *kw = json_loads(kwargs, 0, NULL);
    syncq_local_result r;
    syncq_error err;

    assert_non_null(kw);
    if (syncq_task_run_local(NULL, name, NULL, kw, NULL, cfg, NULL, &r, &err) !=
        SYNCQ_OK) {
        fail_msg("%s: %s", name, err.msg);
    }
    if (!r.ok) {
        fail_msg("%s failed: %s: %s", name,
                 syncq_error_class_name(r.error_class), r.error_msg);
    }
    json_decref(kw);
    {
        json_t *res = json_incref(r.result);
        syncq_local_result_cleanup(&r);
        return res;
    }
}

static int64_t
jint(json_t *o, const char *path)
{
    char buf[64];
    char *dot;

    snprintf(buf, sizeof buf, "%s", path);
    dot = strchr(buf, '.');
    if (dot != NULL) {
        *dot = '\0';
        return (int64_t)json_integer_value(
            json_object_get(json_object_get(o, buf), dot + 1));
    }
    return (int64_t)json_integer_value(json_object_get(o, path));
}

static int64_t
count(const char *sql)
{
    struct sq_db *db = NULL;
    syncq_error err;
    int64_t n = -1;

    assert_int_equal(sq_db_shared(cfg, &db, &err), SYNCQ_OK);
    assert_int_equal(sq_db_query_i64(db, sql, false, 0, &n, &err), SYNCQ_OK);
    return n;
}

static int
files_under(const char *sub)
{
    char cmd[1200];
    char line[64];
    int n = -1;
    FILE *p;

    snprintf(cmd, sizeof cmd, "find '%s/%s' -type f | wc -l", media, sub);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(line, sizeof line, p) != NULL) {
        n = atoi(line);
    }
    pclose(p);
    return n;
}

static void
pipeline(void **state)
{
    struct sq_db *db = NULL;
    syncq_error err;
    json_t *res;
    int64_t t0;
    int64_t t_sync;
    int64_t t_images;
    int64_t t_validate;

    (void)state;
    assert_int_equal(sq_db_shared(cfg, &db, &err), SYNCQ_OK);
    crawl(db);

    t0 = sq_mono_ms();
    res = run("data_sync.sync_products", "{\"sync_type\": \"incremental\"}");
    t_sync = sq_mono_ms() - t0;
    assert_int_equal(jint(res, "inserted"), NOFFERS);
    assert_int_equal(jint(res, "failed"), 0);
    assert_int_equal(jint(res, "categories.inserted"), 4);
    json_decref(res);
    res = run("data_sync.sync_suppliers", "{}");
    json_decref(res);
    assert_int_equal(count("SELECT COUNT(*) FROM product"), NOFFERS);
    assert_int_equal(count("SELECT COUNT(DISTINCT offer_id) FROM product"),
                     NOFFERS);
    assert_int_equal(count("SELECT COUNT(*) FROM supplier"), 40);
    assert_int_equal(count("SELECT COUNT(*) FROM image"), 2 * NOFFERS + 1);

    /* Images: one download_images per product, as sync_category fans
     * them out. */
    t0 = sq_mono_ms();
    for (int i = 0; i < NOFFERS; i++) {
        json_t *o = offer(i);
        json_t *urls = json_array();
        size_t k;
        json_t *img;
        json_t *args;
        char *kw;
        json_array_foreach(json_object_get(o, "images"), k, img)
        {
            json_array_append(urls, json_object_get(img, "url"));
        }
        args = json_pack("{s:I, s:o}", "product_id",
                         json_integer_value(json_object_get(o, "offer_id")),
                         "urls", urls);
        kw = json_dumps(args, JSON_COMPACT);
        json_decref(args);
        res = run("image_processing.download_images", kw);
        assert_int_equal(jint(res, "failed"), 0);
        assert_int_equal(jint(res, "downloaded") + jint(res, "exists"), 3);
        json_decref(res);
        free(kw);
        json_decref(o);
    }
    t_images = sq_mono_ms() - t0;
    assert_int_equal(count("SELECT COUNT(*) FROM image WHERE status = "
                           "'downloaded'"),
                     2 * NOFFERS + 1);
    assert_int_equal(files_under("thumbs"), 2 * (2 * NOFFERS + 1));
    assert_int_equal(count("SELECT COUNT(*) FROM image_variant"),
                     2 * (2 * NOFFERS + 1));
    assert_int_equal(files_under(".tmp"), 0);

    t0 = sq_mono_ms();
    res = run("data_sync.validate_data", "{\"fail_on_error\": true}");
    t_validate = sq_mono_ms() - t0;
    assert_true(json_is_true(json_object_get(res, "ok")));
    assert_int_equal(jint(res, "errors"), 0);
    assert_int_equal(jint(res, "warnings"), 0);
    assert_int_equal(jint(res, "checked.products"), NOFFERS);
    assert_int_equal(jint(res, "checked.images"), 2 * NOFFERS + 1);
    json_decref(res);

    res = run("data_sync.cleanup_duplicates", "{\"dry_run\": true}");
    assert_int_equal(jint(res, "products.groups"), 1);
    assert_int_equal(jint(res, "products.marked_duplicate"), 2);
    json_decref(res);
    assert_int_equal(count("SELECT COUNT(*) FROM product WHERE duplicate_of "
                           "IS NOT NULL"),
                     0);
    res = run("data_sync.cleanup_duplicates", "{}");
    assert_int_equal(jint(res, "products.marked_duplicate"), 2);
    json_decref(res);
    assert_int_equal(count("SELECT COUNT(*) FROM product WHERE duplicate_of "
                           "= 700000000000"),
                     2);
    res = run("data_sync.validate_data", "{}");
    assert_true(json_is_true(json_object_get(res, "ok")));
    assert_int_equal(jint(res, "checked.products"), NOFFERS - 2);
    json_decref(res);

    /* A second crawl with the same content: incremental, nothing written. */
    res = run("data_sync.sync_products", "{}");
    assert_int_equal(jint(res, "records"), 0);
    json_decref(res);
    crawl(db);
    res = run("data_sync.sync_products", "{}");
    assert_int_equal(jint(res, "records"), NOFFERS + 1);
    assert_int_equal(jint(res, "unchanged"), NOFFERS);
    assert_int_equal(jint(res, "inserted") + jint(res, "updated"), 0);
    json_decref(res);
    assert_int_equal(count("SELECT COUNT(*) FROM product WHERE duplicate_of "
                           "IS NOT NULL"),
                     2);
    fprintf(stderr,
            "pipeline: sync_products %d offers %lld ms; "
            "download_images %d products (%d images, %d thumbnails) %lld ms; "
            "validate_data %lld ms\n",
            NOFFERS, (long long)t_sync, NOFFERS, 2 * NOFFERS + 1,
            2 * (2 * NOFFERS + 1), (long long)t_images, (long long)t_validate);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipeline),
    };

    sqt_register_packs();
    return cmocka_run_group_tests(tests, setup, teardown);
}
