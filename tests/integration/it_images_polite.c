/* SPDX-License-Identifier: MIT
 *
 * it_images_polite.c: image downloads go through the per-host limiter
 * shared by every worker in Redis, at their own rate (SYNCQ_IMAGE_RATE),
 * and respect the image host's throttle (issue 19). The fixture server
 * throttles its image host like a CDN (--image-rate: over the rate a 429
 * with Retry-After: 1 and a one-second ban) and logs every request's
 * arrival time. download_images runs in-process (syncq_task_run_local)
 * on the private Redis.
 *   - Two processes share 5/s against a host that allows 5/s: no 429,
 *     the busiest second of the server's log holds at most 5 requests,
 *     the 24 images take at least (24 - 5) / 5 s.
 *   - One process asks at 20/s a host that allows 3/s: the host bans it;
 *     no request arrives inside a ban (from the 429 to the end of its
 *     Retry-After), the images the host refused are "deferred" (not
 *     failures, nothing recorded), the task is deferred (not failed) and
 *     the next runs finish the job: every image downloaded exactly once.
 * The server sees the client's spacing as long as no request is delayed
 * by more than the limiter's slack (100 ms) between its grant and its
 * arrival (syncq/ratelimit.h, C44).
 * TEST_TIMEOUT: 180
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "core/sq_time.h"
#include "fixture/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define NIMG 24

static char log_path[600];

/* The fixture server runs as its own process: the test forks workers,
 * and a fork of a process running libmicrohttpd and libvips threads
 * would inherit their locks. */
struct fx {
    int pid;
    int port;
    char url[128];
    struct fx_catalog *cat; /* the same catalog, built here (same seed) */
};

static void
serve(struct fx *s, const char *image_rate, const char *tag)
{
    char ready[700];
    char *u = NULL;
    syncq_error err;

    memset(s, 0, sizeof *s);
    snprintf(log_path, sizeof log_path, "%s/fx-%s.log", sqt_tmpdir(), tag);
    snprintf(ready, sizeof ready, "%s/fx-%s.url", sqt_tmpdir(), tag);
    s->pid = sqt_spawn(NULL,
                       "fixture-server --listen 127.0.0.1:0 --products 40 "
                       "--categories 1 --seed 19 --image-rate %s --log %s "
                       "--ready-file %s",
                       image_rate, log_path, ready);
    assert_true(s->pid > 0);
    for (int i = 0; i < 400 && (u == NULL || u[0] == '\0'); i++) {
        free(u);
        u = sqt_read_file(ready, NULL);
        if (u == NULL || u[0] == '\0') {
            sq_sleep_ms(25);
        }
    }
    assert_non_null(u);
    snprintf(s->url, sizeof s->url, "%.*s", (int)strcspn(u, "\r\n"), u);
    free(u);
    s->port = atoi(strrchr(s->url, ':') + 1);
    assert_int_equal(fx_catalog_build(19, 40, 1, &s->cat, &err), SYNCQ_OK);
}

static void
stop(struct fx *s)
{
    sqt_kill_wait(s->pid, SIGTERM, 5000);
    fx_catalog_free(s->cat);
}

static syncq_config *
config(const struct fx *s, const char *rate, const char *db)
{
    syncq_config *cfg = NULL;
    syncq_error err;
    char v[700];

    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
#define SET(k, x)                                                              \
    if (syncq_config_set(cfg, k, x, "test", &err) != SYNCQ_OK) {               \
        fail_msg("%s: %s", k, err.msg);                                        \
    }
    SET("SYNCQ_BROKER_URL", sqt_broker_url());
    snprintf(v, sizeof v, "%s/%s", sqt_tmpdir(), db);
    SET("SYNCQ_DATABASE_URL", v);
    snprintf(v, sizeof v, "%s/media-%s", sqt_tmpdir(), db);
    SET("SYNCQ_MEDIA_DIR", v);
    snprintf(v, sizeof v, "127.0.0.1:%d", s->port);
    SET("SYNCQ_FETCH_ALLOW", v);
    SET("SYNCQ_IMAGE_RATE", rate);
    SET("SYNCQ_IMAGE_CONCURRENCY", "2");
    SET("SYNCQ_CRAWLER_MAX_WAIT", "30s");
#undef SET
    return cfg;
}

/* JSON list of distinct image URLs number [from, to) of the catalog
 * (offers listed twice share their images). */
static char *
url_list(const struct fx *s, int from, int to)
{
    const struct fx_catalog *cat = s->cat;
    char *seen[400];
    int nseen = 0;
    char *list = sq_asprintf("[");

    for (size_t o = 0; o < cat->noffers && nseen < to && nseen < 400; o++) {
        for (int i = 0; i < cat->offers[o].nimages && nseen < to; i++) {
            char *u = fx_image_url(cat, &cat->offers[o], i, s->url);
            bool dup = false;
            for (int k = 0; k < nseen; k++) {
                dup = dup || strcmp(seen[k], u) == 0;
            }
            if (dup) {
                sq_free(u);
                continue;
            }
            if (nseen >= from) {
                char *next = sq_asprintf("%s%s\"%s\"", list,
                                         nseen > from ? "," : "", u);
                sq_free(list);
                list = next;
            }
            seen[nseen++] = u;
        }
    }
    for (int k = 0; k < nseen; k++) {
        sq_free(seen[k]);
    }
    {
        char *done = sq_asprintf("%s]", list);
        sq_free(list);
        return done;
    }
}

static syncq_local_result
download(syncq_config *cfg, syncq_client *c, const char *urls, const char *id)
{
    syncq_local_result out;
    char *kwtext = sq_asprintf("{\"urls\":%s,\"thumbnails\":false}", urls);
    json_t *kw = json_loads(kwtext, 0, NULL);
    syncq_error err;

    assert_non_null(kw);
    assert_int_equal(syncq_task_run_local(NULL,
                                          "image_processing.download_images",
                                          NULL, kw, c, cfg, id, &out, &err),
                     SYNCQ_OK);
    json_decref(kw);
    sq_free(kwtext);
    return out;
}

/* The image requests of the server's log: arrival ms and status. */
struct req {
    int64_t t;
    int status;
    char path[200];
};

static int
by_time(const void *a, const void *b)
{
    const struct req *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

static size_t
read_log(struct req *r, size_t cap)
{
    char *s = sqt_read_file(log_path, NULL);
    size_t n = 0;

    for (char *line = s; line != NULL && *line != '\0' && n < cap;) {
        char *nl = strchr(line, '\n');
        json_t *j;
        if (nl != NULL) {
            *nl = '\0';
        }
        j = json_loads(line, 0, NULL);
        if (j != NULL && strcmp(json_string_value(json_object_get(j, "route")),
                                "image") == 0) {
            r[n].t = json_integer_value(json_object_get(j, "t"));
            r[n].status = (int)json_integer_value(json_object_get(j, "status"));
            snprintf(r[n].path, sizeof r[n].path, "%s",
                     json_string_value(json_object_get(j, "path")));
            n++;
        }
        json_decref(j);
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(s);
    /* lines are written as answers finish, not as requests arrive */
    qsort(r, n, sizeof *r, by_time);
    return n;
}

/* Most requests arriving in any window of `window_ms` (`r` sorted). */
static int
busiest(const struct req *r, size_t n, int64_t window_ms)
{
    int best = 0;

    for (size_t i = 0; i < n; i++) {
        int k = 0;
        for (size_t j = i; j < n && r[j].t < r[i].t + window_ms; j++) {
            k++;
        }
        best = k > best ? k : best;
    }
    return best;
}

static void
shared_rate_holds_across_processes(void **state)
{
    struct fx fx, *s = &fx;
    struct req r[200];
    pid_t kids[2];
    int64_t t0 = sq_mono_ms(), took;
    size_t n;
    int n429 = 0;

    (void)state;
    serve(s, "5/s", "a");
    t0 = sq_mono_ms();
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            syncq_config *cfg = config(s, "5/s", k == 0 ? "a.db" : "b.db");
            syncq_client *c = sqt_client();
            char *list = url_list(s, k * NIMG / 2, (k + 1) * NIMG / 2);
            syncq_local_result out = download(cfg, c, list, NULL);
            int ok = out.ok &&
                     json_integer_value(json_object_get(
                         out.result, "downloaded")) == NIMG / 2;
            if (!ok) {
                char *js = json_dumps(out.ok ? out.result : out.error_detail,
                                     JSON_COMPACT);
                fprintf(stderr, "child %d: ok=%d %s %.600s\n", k, out.ok,
                        out.error_msg, js != NULL ? js : "");
                free(js);
            }
            _exit(ok ? 0 : 1);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st = 0;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    took = sq_mono_ms() - t0;
    n = read_log(r, 200);
    for (size_t i = 0; i < n; i++) {
        n429 += r[i].status == 429;
    }
    print_message("info: %zu image requests in %lld ms, busiest second %d\n",
                  n, (long long)took, busiest(r, n, 1000));
    assert_int_equal(n, NIMG);
    assert_int_equal(n429, 0);
    assert_in_range(busiest(r, n, 1000), 1, 5);
    assert_true(took >= (NIMG - 5) * 1000 / 5);
    stop(s);
}

static void
throttled_host_is_left_alone_during_its_ban(void **state)
{
    struct fx fx, *s = &fx;
    syncq_config *cfg;
    syncq_client *c = sqt_client();
    char *list;
    struct req r[400];
    syncq_local_result out;
    int runs = 0, deferred_runs = 0, inside = 0, n429 = 0, n200 = 0;
    size_t n;

    (void)state;
    serve(s, "3/s", "b");
    cfg = config(s, "20/s", "c.db");
    list = url_list(s, 0, 10);
    for (;;) {
        out = download(cfg, c, list, "bbbbbbbb-0000-4000-8000-000000000019");
        runs++;
        if (out.ok) {
            break;
        }
        /* not a failure: the host asked to wait */
        assert_int_equal(out.error_class, SYNCQ_ERR_RATE_LIMITED);
        assert_non_null(strstr(out.error_msg, "deferred"));
        assert_true(out.retry_after_ms >= 1);
        assert_int_equal(json_integer_value(json_object_get(out.error_detail,
                                                            "failed")),
                         0);
        deferred_runs++;
        sq_sleep_ms(out.retry_after_ms);
        syncq_local_result_cleanup(&out);
        assert_true(runs < 12);
    }
    syncq_local_result_cleanup(&out);
    n = read_log(r, 400);
    for (size_t i = 0; i < n; i++) {
        n429 += r[i].status == 429;
        n200 += r[i].status == 200;
        if (r[i].status != 429) {
            continue;
        }
        /* a 429 at t bans the host until t + 1000 ms */
        for (size_t j = 0; j < n; j++) {
            if (r[j].t > r[i].t && r[j].t < r[i].t + 990) {
                inside++;
            }
        }
    }
    print_message("info: %d runs (%d deferred), %zu requests, %d 429\n", runs,
                  deferred_runs, n, n429);
    assert_true(n429 >= 1); /* the host did throttle */
    assert_true(deferred_runs >= 1);
    assert_int_equal(inside, 0);
    assert_int_equal(n200, 10); /* each image fetched once */
    sq_free(list);
    syncq_client_close(c);
    syncq_config_free(cfg);
    stop(s);
}

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(shared_rate_holds_across_processes, setup),
        cmocka_unit_test_setup(throttled_host_is_left_alone_during_its_ban,
                               setup),
    };

    sqt_register_packs();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
