/* SPDX-License-Identifier: MIT
 *
 * it_images_tasks.c: the image_processing.* tasks end to end, run
 * in-process (syncq_task_run_local) against a real HTTP server on
 * loopback (it_images_server.py), a real SQLite catalog, real files and
 * real libvips:
 *   - a batch with good, truncated, non-image, oversized and missing
 *     images: each ends with its own status and class, the batch carries
 *     on, files are content-addressed by their SHA-256;
 *   - a rerun downloads nothing again (server request log);
 *   - 503/429 fail the task as retryable (429 with its Retry-After),
 *     a stalled server as timeout;
 *   - a worker killed mid-download leaves no file and no row; the retry
 *     completes it;
 *   - with a broker, new images fan out generate_thumbnails;
 *   - thumbnails (fit/crop), resize and optimize give the asserted sizes
 *     and savings; bad arguments are validation errors.
 * TEST_TIMEOUT: 180
 */
#include "sq_test.h"

#include "sq_hash.h"
#include "db/sq_db.h"
#include "image_processing/img.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vips/vips.h>

static char work[600];
static char srv[700];
static char media[700];
static char reqlog[700];
static char dburl[700];
static int port;
static pid_t server_pid;
static syncq_config *cfg;

static const char *
p2(const char *a, const char *b)
{
    static char buf[4][900];
    static int k;

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", a, b);
    return buf[k];
}

static const char *
url(const char *path)
{
    static char buf[16][300];
    static int k;

    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "http://127.0.0.1:%d%s", port, path);
    return buf[k];
}

static void
make_image(const char *name, int w, int h, int q)
{
    VipsImage *n = NULL;
    VipsImage *c = NULL;
    VipsImage *rgb = NULL;
    VipsImage *parts[3];
    const char *path = p2(srv, name);
    int rc;

    assert_int_equal(
        vips_gaussnoise(&n, w, h, "mean", 128.0, "sigma", 30.0, NULL), 0);
    assert_int_equal(vips_cast(n, &c, VIPS_FORMAT_UCHAR, NULL), 0);
    parts[0] = parts[1] = parts[2] = c;
    assert_int_equal(vips_bandjoin(parts, &rgb, 3, NULL), 0);
    rgb->Type = VIPS_INTERPRETATION_sRGB;
    if (strstr(name, ".png") != NULL) {
        rc = vips_pngsave(rgb, path, NULL);
    } else if (strstr(name, ".webp") != NULL) {
        rc = vips_webpsave(rgb, path, "Q", q, NULL);
    } else {
        rc = vips_jpegsave(rgb, path, "Q", q, NULL);
    }
    assert_int_equal(rc, 0);
    g_object_unref(n);
    g_object_unref(c);
    g_object_unref(rgb);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        n = 0;
    }
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void
file_sha(const char *path, char out[65])
{
    size_t n = 0;
    char *b = slurp(path, &n);

    assert_non_null(b);
    sq_sha256_hex(b, n, out);
    free(b);
}

/* Requests the server saw for `path`. */
static int
hits(const char *path)
{
    size_t n = 0;
    char *log = slurp(reqlog, &n);
    char needle[300];
    int count = 0;

    if (log == NULL) {
        return 0;
    }
    snprintf(needle, sizeof needle, "GET %s\n", path);
    for (char *p = strstr(log, needle); p != NULL; p = strstr(p + 1, needle)) {
        count++;
    }
    free(log);
    return count;
}

static int
setup(void **state)
{
    const char *src = getenv("SYNCQ_SOURCE_DIR");
    char portfile[800];
    char script[900];
    syncq_error err;

    (void)state;
    snprintf(work, sizeof work, "%s/images-%d", sqt_tmpdir(), (int)getpid());
    snprintf(srv, sizeof srv, "%s/srv", work);
    snprintf(media, sizeof media, "%s/media", work);
    snprintf(reqlog, sizeof reqlog, "%s/requests.log", work);
    snprintf(dburl, sizeof dburl, "%s/db/catalog.db", work);
    snprintf(portfile, sizeof portfile, "%s/port", work);
    snprintf(script, sizeof script, "%s/tests/integration/it_images_server.py",
             src != NULL ? src : ".");
    mkdir(work, 0755);
    mkdir(srv, 0755);
    if (VIPS_INIT("it_images") != 0) {
        return -1;
    }
    make_image("a.jpg", 320, 240, 90);
    make_image("b.png", 200, 200, 0);
    make_image("c.webp", 150, 300, 80);
    make_image("d.jpg", 100, 80, 90);
    make_image("e.jpg", 400, 300, 90);
    make_image("big.jpg", 1200, 1200, 100);
    {
        size_t n = 0;
        char *b = slurp(p2(srv, "a.jpg"), &n);
        FILE *f = fopen(p2(srv, "trunc.jpg"), "wb");
        fwrite(b, 1, n / 2, f);
        fclose(f);
        free(b);
        f = fopen(p2(srv, "page.jpg"), "wb");
        fputs("<html><body>验证码 captcha</body></html>", f);
        fclose(f);
    }
    server_pid = fork();
    if (server_pid == 0) {
        execlp("python3", "python3", script, srv, portfile, reqlog,
               (char *)NULL);
        _exit(127);
    }
    {
        /* Let run-with-redis.sh kill it if this test dies. */
        FILE *pf = fopen(p2(sqt_tmpdir(), "pids"), "a");
        if (pf != NULL) {
            fprintf(pf, "%d\n", (int)server_pid);
            fclose(pf);
        }
    }
    for (int i = 0; i < 200 && port == 0; i++) {
        size_t n = 0;
        char *s = slurp(portfile, &n);
        if (s != NULL) {
            port = atoi(s);
            free(s);
        } else {
            usleep(25000);
        }
    }
    if (port == 0) {
        fprintf(stderr, "image test server did not start\n");
        return -1;
    }
    if (syncq_config_new(&cfg, &err) != SYNCQ_OK) {
        return -1;
    }
    syncq_config_set(cfg, "SYNCQ_DATABASE_URL", dburl, NULL, &err);
    syncq_config_set(cfg, "SYNCQ_MEDIA_DIR", media, NULL, &err);
    syncq_config_set(cfg, "SYNCQ_IMAGE_MAX_BYTES", "200000", NULL, &err);
    syncq_config_set(cfg, "SYNCQ_CRAWLER_TIMEOUT", "2", NULL, &err);
    syncq_config_set(cfg, "SYNCQ_THUMBNAIL_SIZES", "100x100,50x50", NULL, &err);
    {
        /* the test server is on loopback: allowed by name */
        char allow[64];
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

static void
run(const char *name, const char *kwargs, syncq_client *c,
    syncq_local_result *out)
{
    json_t *kw = json_loads(kwargs, 0, NULL);
    syncq_error err;

    assert_non_null(kw);
    memset(out, 0, sizeof *out);
    if (syncq_task_run_local(NULL, name, NULL, kw, c, cfg, NULL, out, &err) !=
        SYNCQ_OK) {
        fail_msg("run %s: %s", name, err.msg);
    }
    json_decref(kw);
}

static json_t *
find_image(json_t *images, const char *u)
{
    size_t i;
    json_t *e;

    json_array_foreach(images, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "url")), u) == 0) {
            return e;
        }
    }
    fail_msg("no result for %s", u);
    return NULL;
}

static const char *
jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

static int64_t
jint(json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

static int64_t
db_count(const char *sql)
{
    struct sq_db *db = NULL;
    syncq_error err;
    int64_t n = -1;

    assert_int_equal(sq_db_shared(cfg, &db, &err), SYNCQ_OK);
    assert_int_equal(sq_db_query_i64(db, sql, false, 0, &n, &err), SYNCQ_OK);
    return n;
}

static void
batch_reports_each_image(void **state)
{
    char kw[2048];
    syncq_local_result r;
    json_t *imgs;
    json_t *e;
    char sha[65];

    (void)state;
    snprintf(kw, sizeof kw,
             "{\"product_id\": 597090034012, \"urls\": [\"%s\", \"%s\", "
             "\"%s\", \"%s\", \"%s\", \"%s\", \"%s\", \"%s\", \"not a url\"]}",
             url("/img/a.jpg"), url("/img/b.png"), url("/img/c.webp"),
             url("/img/a.220x220.jpg"), url("/img/trunc.jpg"),
             url("/img/page.jpg"), url("/img/big.jpg"), url("/status/404"));
    run("image_processing.download_images", kw, NULL, &r);
    if (!r.ok) {
        fail_msg("download failed: %s", r.error_msg);
    }
    assert_int_equal(jint(r.result, "total"), 9);
    assert_int_equal(jint(r.result, "downloaded"), 3);
    assert_int_equal(jint(r.result, "exists"), 1);
    assert_int_equal(jint(r.result, "failed"), 5);
    imgs = json_object_get(r.result, "images");
    /* The good ones: stored under their content hash. */
    e = find_image(imgs, url("/img/a.jpg"));
    assert_string_equal(jstr(e, "status"), "downloaded");
    file_sha(p2(srv, "a.jpg"), sha);
    assert_string_equal(jstr(e, "sha256"), sha);
    assert_int_equal(jint(e, "width"), 320);
    assert_int_equal(jint(e, "height"), 240);
    {
        char rel[200];
        snprintf(rel, sizeof rel, "%.2s/%.2s/%s.jpg", sha, sha + 2, sha);
        assert_string_equal(jstr(e, "path"), rel);
        file_sha(p2(media, rel), rel); /* reuse buffer: hash of the copy */
        assert_string_equal(rel, sha);
    }
    assert_string_equal(jstr(find_image(imgs, url("/img/c.webp")), "mime"),
                        "image/webp");
    /* Same URL key (size suffix): not fetched again. */
    assert_string_equal(
        jstr(find_image(imgs, url("/img/a.220x220.jpg")), "status"), "exists");
    /* Per-image failures with their class. */
    e = find_image(imgs, url("/img/trunc.jpg"));
    assert_string_equal(jstr(e, "status"), "failed");
    assert_string_equal(jstr(e, "error_class"), "validation");
    assert_non_null(strstr(jstr(e, "error"), "truncated"));
    e = find_image(imgs, url("/img/page.jpg"));
    assert_string_equal(jstr(e, "error_class"), "validation");
    assert_non_null(strstr(jstr(e, "error"), "not an image"));
    e = find_image(imgs, url("/img/big.jpg"));
    assert_string_equal(jstr(e, "error_class"), "validation");
    assert_non_null(strstr(jstr(e, "error"), "SYNCQ_IMAGE_MAX_BYTES"));
    e = find_image(imgs, url("/status/404"));
    assert_string_equal(jstr(e, "error_class"), "not_found");
    assert_int_equal(jint(e, "http_status"), 404);
    assert_string_equal(jstr(find_image(imgs, "not a url"), "error_class"),
                        "validation");
    /* Without a broker the thumbnails are made inline: 3 x 2 sizes. */
    e = json_object_get(r.result, "thumbnails");
    assert_int_equal(jint(e, "created"), 6);
    assert_int_equal(jint(e, "failed"), 0);
    assert_int_equal(db_count("SELECT COUNT(*) FROM image_variant WHERE "
                              "kind = 'thumb_100x100' AND width = 100 AND "
                              "height = 75"),
                     1);
    assert_int_equal(db_count("SELECT COUNT(*) FROM image_variant WHERE "
                              "kind = 'thumb_50x50' AND width <= 50 AND "
                              "height <= 50"),
                     3);
    /* Catalog rows. */
    assert_int_equal(db_count("SELECT COUNT(*) FROM image WHERE status = "
                              "'downloaded'"),
                     3);
    assert_int_equal(db_count("SELECT COUNT(*) FROM image WHERE status = "
                              "'gone'"),
                     1);
    assert_int_equal(db_count("SELECT COUNT(*) FROM image WHERE status = "
                              "'failed'"),
                     3);
    assert_int_equal(hits("/img/a.jpg"), 1);
    assert_int_equal(hits("/img/a.220x220.jpg"), 0);
    syncq_local_result_cleanup(&r);

    /* A rerun fetches nothing that is stored. */
    run("image_processing.download_images", kw, NULL, &r);
    assert_true(r.ok);
    assert_int_equal(jint(r.result, "downloaded"), 0);
    assert_int_equal(jint(r.result, "exists"), 4);
    assert_int_equal(jint(json_object_get(r.result, "thumbnails"), "created"),
                     0);
    assert_int_equal(hits("/img/a.jpg"), 1);
    assert_int_equal(hits("/img/b.png"), 1);
    syncq_local_result_cleanup(&r);
}

static void
transient_failures_retry_the_task(void **state)
{
    char kw[1024];
    syncq_local_result r;

    (void)state;
    snprintf(kw, sizeof kw,
             "{\"product_id\": 1, \"urls\": [\"%s\", \"%s\", "
             "\"%s\"], \"thumbnails\": false}",
             url("/img/d.jpg"), url("/status/503"), url("/status/429"));
    run("image_processing.download_images", kw, NULL, &r);
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_RATE_LIMITED);
    assert_int_equal(r.retry_after_ms, 2000);
    assert_non_null(r.error_detail);
    assert_int_equal(jint(r.error_detail, "downloaded"), 1);
    assert_string_equal(
        jstr(find_image(json_object_get(r.error_detail, "images"),
                        url("/status/503")),
             "error_class"),
        "http_5xx");
    syncq_local_result_cleanup(&r);
    /* 503 alone: http_5xx; the stored image is skipped by the retry. */
    snprintf(kw, sizeof kw,
             "{\"product_id\": 1, \"urls\": [\"%s\", \"%s\"], "
             "\"thumbnails\": false}",
             url("/img/d.jpg"), url("/status/503"));
    run("image_processing.download_images", kw, NULL, &r);
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_HTTP_5XX);
    assert_int_equal(jint(r.error_detail, "exists"), 1);
    assert_int_equal(hits("/img/d.jpg"), 1);
    syncq_local_result_cleanup(&r);
    /* A stalled server: timeout (SYNCQ_CRAWLER_TIMEOUT=2s). */
    snprintf(kw, sizeof kw,
             "{\"product_id\": 1, \"urls\": [\"%s\"], "
             "\"thumbnails\": false}",
             url("/slow/e.jpg"));
    run("image_processing.download_images", kw, NULL, &r);
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_TIMEOUT);
    syncq_local_result_cleanup(&r);
    /* No Content-Length: the limit still holds while streaming. */
    snprintf(kw, sizeof kw,
             "{\"product_id\": 1, \"urls\": [\"%s\", \"%s\"],"
             " \"thumbnails\": false}",
             url("/nolength/big.jpg"), url("/nolength/e.jpg"));
    run("image_processing.download_images", kw, NULL, &r);
    assert_true(r.ok);
    assert_int_equal(jint(r.result, "downloaded"), 1);
    assert_string_equal(jstr(find_image(json_object_get(r.result, "images"),
                                        url("/nolength/big.jpg")),
                             "error_class"),
                        "validation");
    syncq_local_result_cleanup(&r);
}

static bool
requested(void *ud)
{
    return hits(ud) > 0;
}

/* Image files in the store (temp files excluded). */
static int
count_files(const char *dir)
{
    char cmd[1200];
    char line[64];
    int n = -1;
    FILE *p;

    snprintf(cmd, sizeof cmd,
             "find '%s' -type f -not -path '*/.tmp/*' "
             "| wc -l",
             dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(line, sizeof line, p) != NULL) {
        n = atoi(line);
    }
    pclose(p);
    return n;
}

static void
killed_download_leaves_nothing(void **state)
{
    char kw[512];
    syncq_local_result r;
    int before;
    pid_t child;
    int st = 0;
    char sha[65];
    char rel[200];

    (void)state;
    before = count_files(media);
    snprintf(kw, sizeof kw,
             "{\"product_id\": 2, \"urls\": [\"%s\"], "
             "\"thumbnails\": false}",
             url("/flaky/e.jpg"));
    child = fork();
    if (child == 0) {
        /* A fresh process like a worker child: own DB connection. */
        syncq_local_result cr;
        json_t *k = json_loads(kw, 0, NULL);
        syncq_task_run_local(NULL, "image_processing.download_images", NULL, k,
                             NULL, cfg, NULL, &cr, NULL);
        _exit(0);
    }
    assert_true(sqt_wait_until(requested, "/flaky/e.jpg", 10000));
    usleep(300 * 1000); /* half the body is in the temp file by now */
    kill(child, SIGKILL);
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFSIGNALED(st));
    /* No new image file, no row claiming it. */
    assert_int_equal(count_files(media), before);
    assert_int_equal(db_count("SELECT COUNT(*) FROM image WHERE url LIKE "
                              "'%/flaky/e.jpg'"),
                     0);
    /* The retry completes it. */
    run("image_processing.download_images", kw, NULL, &r);
    if (!r.ok) {
        fail_msg("retry failed: %s", r.error_msg);
    }
    assert_int_equal(jint(r.result, "downloaded"), 1);
    file_sha(p2(srv, "e.jpg"), sha);
    snprintf(rel, sizeof rel, "%.2s/%.2s/%s.jpg", sha, sha + 2, sha);
    assert_int_equal(
        sq_img_file_size(p2(media, rel)),
        (int64_t)jint(find_image(json_object_get(r.result, "images"),
                                 url("/flaky/e.jpg")),
                      "bytes"));
    syncq_local_result_cleanup(&r);
    /* The killed child's half file waits in .tmp for the hourly sweep. */
    assert_true(sq_img_sweep_tmp(media, 3600) == 0);
    assert_true(sq_img_sweep_tmp(media, -1) >= 1);
}

static void
broker_run_fans_out_thumbnails(void **state)
{
    syncq_client *c = sqt_client();
    char kw[512];
    syncq_local_result r;
    json_t *task = NULL;
    syncq_error err;
    const char *tid;
    char *kwtext;

    (void)state;
    make_image("f.jpg", 300, 150, 85);
    snprintf(kw, sizeof kw,
             "{\"product_id\": 3, \"urls\": [\"%s\"], "
             "\"sizes\": [\"64x64\"], \"mode\": \"crop\"}",
             url("/img/f.jpg"));
    run("image_processing.download_images", kw, c, &r);
    if (!r.ok) {
        fail_msg("download failed: %s", r.error_msg);
    }
    tid = jstr(r.result, "thumbnails_task");
    assert_int_equal(strlen(tid), 36);
    assert_null(json_object_get(r.result, "thumbnails"));
    assert_int_equal(syncq_task_info(c, tid, &task, &err), SYNCQ_OK);
    assert_string_equal(jstr(task, "name"),
                        "image_processing.generate_thumbnails");
    assert_string_equal(jstr(task, "queue"), "image_processing");
    /* the task's default: before the downloads queued at NORMAL */
    assert_int_equal(jint(task, "priority"), SYNCQ_PRIORITY_NORMAL + 1);
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(task, "kwargs"), "sha256")),
                     1);
    /* Run that sub-task as a worker would. */
    kwtext = json_dumps(json_object_get(task, "kwargs"), JSON_COMPACT);
    syncq_local_result_cleanup(&r);
    run("image_processing.generate_thumbnails", kwtext, NULL, &r);
    free(kwtext);
    if (!r.ok) {
        fail_msg("thumbnails failed: %s", r.error_msg);
    }
    assert_int_equal(jint(r.result, "created"), 1);
    assert_int_equal(db_count("SELECT COUNT(*) FROM image_variant WHERE "
                              "kind = 'thumb_64x64_crop' AND width = 64 AND "
                              "height = 64"),
                     1);
    syncq_local_result_cleanup(&r);
    json_decref(task);
    syncq_client_close(c);
}

static void
thumbnails_resize_optimize(void **state)
{
    char sha[65];
    char kw[512];
    syncq_local_result r;
    json_t *one;

    (void)state;
    file_sha(p2(srv, "a.jpg"), sha);
    snprintf(kw, sizeof kw,
             "{\"sha256\": [\"%s\"], \"sizes\": [\"80x80\", "
             "[160, 90]], \"mode\": \"crop\", \"format\": \"webp\"}",
             sha);
    run("image_processing.generate_thumbnails", kw, NULL, &r);
    assert_true(r.ok);
    assert_int_equal(jint(r.result, "created"), 2);
    one = json_array_get(json_object_get(r.result, "thumbnails"), 1);
    assert_int_equal(jint(one, "width"), 160);
    assert_int_equal(jint(one, "height"), 90);
    assert_non_null(strstr(jstr(one, "path"), ".webp"));
    assert_true(sq_img_file_size(p2(media, jstr(one, "path"))) ==
                jint(one, "bytes"));
    syncq_local_result_cleanup(&r);
    /* Again: nothing to do. */
    run("image_processing.generate_thumbnails", kw, NULL, &r);
    assert_int_equal(jint(r.result, "created"), 0);
    assert_int_equal(jint(r.result, "exists"), 2);
    syncq_local_result_cleanup(&r);

    snprintf(kw, sizeof kw, "{\"product_id\": 597090034012, \"width\": 100}");
    /* product_id needs product_image links: none yet (sync not run). */
    run("image_processing.resize_images", kw, NULL, &r);
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_NOT_FOUND);
    syncq_local_result_cleanup(&r);
    snprintf(kw, sizeof kw, "{\"sha256\": \"%s\", \"width\": 100}", sha);
    run("image_processing.resize_images", kw, NULL, &r);
    assert_true(r.ok);
    one = json_array_get(json_object_get(r.result, "resized"), 0);
    assert_int_equal(jint(one, "width"), 100);
    assert_int_equal(jint(one, "height"), 75);
    syncq_local_result_cleanup(&r);

    snprintf(kw, sizeof kw, "{\"sha256\": [\"%s\"], \"quality\": 50}", sha);
    run("image_processing.optimize_images", kw, NULL, &r);
    assert_true(r.ok);
    assert_int_equal(jint(r.result, "images"), 1);
    assert_true(jint(r.result, "bytes_saved") > 0);
    assert_int_equal(jint(r.result, "bytes_before") -
                         jint(r.result, "bytes_after"),
                     jint(r.result, "bytes_saved"));
    one = json_array_get(json_object_get(r.result, "optimized"), 0);
    assert_int_equal(sq_img_file_size(p2(media, jstr(one, "path"))),
                     jint(one, "bytes_after"));
    syncq_local_result_cleanup(&r);
}

/* A task none of whose images could be stored (and none worth a retry)
 * fails, with the first image's class and reason, so a batch counts the
 * chunk failed; items that are not URLs say what they were. Partly failed
 * ones still succeed (batch_reports_each_image). */
static void
every_image_failed_fails_the_task(void **state)
{
    char kw[1024];
    syncq_local_result r;

    (void)state;
    run("image_processing.download_images",
        "{\"urls\": [123, true, null, {\"nourl\": 1}]}", NULL, &r);
    assert_int_equal(r.ok, 0);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    assert_string_equal(r.error_msg,
                        "every image (4) failed: urls[0] is not an image URL "
                        "nor {\"url\": ...} (got 123)");
    assert_int_equal(jint(r.error_detail, "failed"), 4);
    assert_string_equal(jstr(json_array_get(json_object_get(r.error_detail,
                                                             "images"),
                                             3),
                             "error"),
                        "urls[3] is not an image URL nor {\"url\": ...} "
                        "(got {\"nourl\":1})");
    syncq_local_result_cleanup(&r);
    snprintf(kw, sizeof kw, "{\"urls\": [\"%s\", {\"url\": \"%s\"}]}",
             url("/status/404"), url("/img/trunc.jpg"));
    run("image_processing.download_images", kw, NULL, &r);
    assert_int_equal(r.ok, 0);
    assert_int_equal(r.error_class, SYNCQ_ERR_NOT_FOUND);
    assert_non_null(strstr(r.error_msg, "every image (2) failed: "));
    syncq_local_result_cleanup(&r);
}

static void
bad_arguments_are_validation_errors(void **state)
{
    static const struct {
        const char *task;
        const char *kwargs;
        int cls;
    } bad[] = {
        {"image_processing.download_images", "{\"urls\": \"x\"}",
         SYNCQ_ERR_VALIDATION},
        {"image_processing.download_images",
         "{\"urls\": [], \"thumbnails\": 3}", SYNCQ_ERR_VALIDATION},
        {"image_processing.download_images",
         "{\"urls\": [], \"sizes\": [\"5x5\"]}", SYNCQ_ERR_VALIDATION},
        {"image_processing.download_images", "{\"urls\": [], \"colour\": 1}",
         SYNCQ_ERR_VALIDATION},
        {"image_processing.generate_thumbnails", "{}", SYNCQ_ERR_VALIDATION},
        {"image_processing.generate_thumbnails", "{\"sha256\": [\"XYZ\"]}",
         SYNCQ_ERR_VALIDATION},
        {"image_processing.generate_thumbnails",
         "{\"sha256\": [\"00000000000000000000000000000000000000000000000000"
         "00000000000000\"]}",
         SYNCQ_ERR_NOT_FOUND},
        {"image_processing.generate_thumbnails",
         "{\"image_ids\": [1], \"mode\": \"stretch\"}", SYNCQ_ERR_VALIDATION},
        {"image_processing.optimize_images",
         "{\"image_ids\": [1], \"quality\": 101}", SYNCQ_ERR_VALIDATION},
        {"image_processing.resize_images",
         "{\"image_ids\": [1], \"format\": \"tiff\"}", SYNCQ_ERR_VALIDATION},
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        syncq_local_result r;
        run(bad[i].task, bad[i].kwargs, NULL, &r);
        if (r.ok || r.error_class != bad[i].cls) {
            fail_msg("%s %s: ok=%d class=%d (%s), want class %d", bad[i].task,
                     bad[i].kwargs, r.ok, r.error_class, r.error_msg,
                     bad[i].cls);
        }
        syncq_local_result_cleanup(&r);
    }
    {
        /* An empty URL list is fine: nothing to do. */
        syncq_local_result r;
        run("image_processing.download_images", "{\"urls\": []}", NULL, &r);
        assert_true(r.ok);
        assert_int_equal(jint(r.result, "total"), 0);
        syncq_local_result_cleanup(&r);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_reports_each_image),
        cmocka_unit_test(transient_failures_retry_the_task),
        cmocka_unit_test(killed_download_leaves_nothing),
        cmocka_unit_test(broker_run_fans_out_thumbnails),
        cmocka_unit_test(thumbnails_resize_optimize),
        cmocka_unit_test(bad_arguments_are_validation_errors),
        cmocka_unit_test(every_image_failed_fails_the_task),
    };

    sqt_register_packs();
    return cmocka_run_group_tests(tests, setup, teardown);
}
