/* SPDX-License-Identifier: MIT
 *
 * cli_demo.c: `syncq demo`, the main job on an embedded default: a
 * private Redis under var/ (AOF on), the fixture 1688 server on loopback
 * with a realistic catalog and faults on, a worker pool on every queue,
 * the beat and the monitor; then the whole catalog sync (cli_pipeline.c)
 * with live progress, a summary from the database, and a clean stop.
 * Running it again is incremental (the database and media stay in var/).
 */
#include "cli/cli.h"
#include "cli/cli_demo_measure.h"
#include "cli/cli_demo_pg.h"
#include "cli/cli_pipeline.h"
#include "cli/cli_proc.h"
#include "cli/cli_stack.h"
#include "core/sq_time.h"
#include "db/sq_db.h"
#include "fixture/fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_FAULTS "429=2%:1s,5xx=1%,slow=0.5%:1s,captcha=1,truncated_image=0.5%"

static volatile int stop_flag;

/* What the pipeline's idle and crawled callbacks work on. */
struct demo_run {
    struct cli_stack *st;
    struct demo_measure *m; /* --measure, else NULL */
};

static void
on_int(int sig)
{
    (void)sig;
    stop_flag++;
}

static int
free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = 0;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* True if 127.0.0.1:port can be bound now. */
static bool
port_free(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (fd >= 0) {
        /* connections of the previous run may linger in TIME_WAIT; the
         * server binds with SO_REUSEADDR too */
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* The fixture server's port, kept in var/fixture.port across runs: image
 * URLs contain it, and a second run must see the same URLs (the same
 * images, unchanged offers) to be incremental. */
static int
sticky_port(const char *var_abs)
{
    char path[PATH_MAX + 32];
    FILE *f;
    int port = 0;

    snprintf(path, sizeof path, "%s/fixture.port", var_abs);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &port) != 1 || port < 1024 || port > 65535 ||
            !port_free(port)) {
            port = 0;
        }
        fclose(f);
    }
    if (port == 0) {
        port = free_port();
        f = fopen(path, "w");
        if (f != NULL) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }
    return port;
}

/* Wait for the fixture server's --json line in its log file. */
static json_t *
fixture_info(struct cli_stack *st, const struct cli_proc *fx,
             const char *path, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        FILE *f = fopen(path, "r");
        char line[4096];
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            json_t *j = json_loads(line, 0, NULL);
            if (j != NULL && json_object_get(j, "url") != NULL) {
                fclose(f);
                return j;
            }
            json_decref(j);
        }
        if (f != NULL) {
            fclose(f);
        }
        cli_procs_poll(&st->procs, 100);
        if (fx != NULL && fx->pid == 0) {
            return NULL; /* it exited: its log says why */
        }
    }
    return NULL;
}

static int64_t
count(struct sq_db *db, const char *sql)
{
    int64_t v = -1;

    if (sq_db_query_i64(db, sql, false, 0, &v, NULL) != SYNCQ_OK) {
        return -1;
    }
    return v;
}

struct demo_counts {
    int64_t products, duplicates, skus, suppliers, images_ok, images_failed,
        thumbnails, categories;
};

static void
db_counts(const char *url, struct demo_counts *dc)
{
    struct sq_db *db = NULL;

    memset(dc, 0xff, sizeof *dc);
    if (sq_db_open(url, &db, NULL) != SYNCQ_OK) {
        return;
    }
    dc->products = count(db, "SELECT COUNT(*) FROM product");
    dc->duplicates = count(db, "SELECT COUNT(*) FROM product WHERE "
                               "duplicate_of IS NOT NULL");
    dc->skus = count(db, "SELECT COUNT(*) FROM sku");
    dc->suppliers = count(db, "SELECT COUNT(*) FROM supplier");
    dc->images_ok = count(db, "SELECT COUNT(*) FROM image WHERE sha256 IS "
                              "NOT NULL");
    dc->images_failed = count(db, "SELECT COUNT(*) FROM image WHERE sha256 "
                                  "IS NULL");
    dc->thumbnails = count(db, "SELECT COUNT(*) FROM image_variant");
    dc->categories = count(db, "SELECT COUNT(*) FROM category WHERE "
                               "is_leaf = 1");
    sq_db_close(db);
}

/* Print the images that could not be stored: those the fixture server
 * breaks on purpose (truncated or not images: class validation, final)
 * and, apart, any with a temporary error (an interrupted run). */
static void
list_broken_images(const char *url, int max)
{
    struct sq_db *db = NULL;

    if (sq_db_open(url, &db, NULL) != SYNCQ_OK) {
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        struct sq_db_stmt *st = NULL;
        int shown = 0;
        const char *sql =
            pass == 0 ? "SELECT url, error_class, error FROM image WHERE "
                        "sha256 IS NULL AND error_class = 'validation' "
                        "ORDER BY image_id"
                      : "SELECT url, error_class, error FROM image WHERE "
                        "sha256 IS NULL AND (error_class IS NULL OR "
                        "error_class <> 'validation') ORDER BY image_id";
        if (sq_db_prepare(db, sql, &st, NULL) != SYNCQ_OK) {
            continue;
        }
        while (sq_db_step(st, NULL) == 1) {
            const char *u = sq_db_col_text(st, 0);
            const char *cls = sq_db_col_text(st, 1);
            const char *msg = sq_db_col_text(st, 2);
            if (shown == 0) {
                printf(pass == 0 ? "  broken images (deliberate faults of the "
                                   "fixture server, kept with their "
                                   "reason):\n"
                                 : "  images not stored yet (temporary "
                                   "errors; the next run retries them):\n");
            }
            if (shown < max) {
                printf("    %s  %s: %.120s\n", u ? u : "?", cls ? cls : "?",
                       msg ? msg : "");
            }
            shown++;
        }
        if (shown > max) {
            printf("    ... and %d more\n", shown - max);
        }
        sq_db_reset(st);
    }
    sq_db_close(db);
}

/* Dead letters that are deliberately broken images of the fixture are
 * expected; anything else is a failure of the demo. */
static bool
only_broken_images(json_t *dead)
{
    size_t i;
    json_t *d;

    json_array_foreach(dead, i, d) {
        const char *name = json_string_value(json_object_get(d, "name"));
        const char *cls = json_string_value(
            json_object_get(json_object_get(d, "error"), "class"));
        if (name == NULL || strncmp(name, "image_processing.", 17) != 0 ||
            cls == NULL || strcmp(cls, "validation") != 0) {
            return false;
        }
    }
    return true;
}

static void
print_count(const char *label, int64_t v, const char *extra)
{
    if (v < 0) {
        printf("  %-14s n/a\n", label);
    } else {
        printf("  %-14s %lld%s\n", label, (long long)v, extra ? extra : "");
    }
}

/* The demo's summary: database counts, pipeline figures, dead letters. */
static void
print_demo_summary(const struct cli_pipeline_result *res,
                   const struct demo_counts *dc, bool incremental,
                   const char *products)
{
    char el[32], extra[160];
    size_t i;
    json_t *d;

    sq_duration_format(res->wall_ms, el, sizeof el);
    printf("\nsummary (%s run)\n", incremental ? "incremental" : "full");
    print_count("categories", dc->categories, NULL);
    snprintf(extra, sizeof extra, " in the database (%s offers in the "
                                  "catalog)", products);
    print_count("products", dc->products, extra);
    print_count("SKUs", dc->skus, NULL);
    print_count("suppliers", dc->suppliers, NULL);
    snprintf(extra, sizeof extra, " stored, %lld broken",
             (long long)dc->images_failed);
    print_count("images", dc->images_ok, extra);
    print_count("thumbnails", dc->thumbnails, NULL);
    if (dc->duplicates >= 0) {
        char n[48];
        printf("  %-14s %s marked duplicate of another (kept, not "
               "deleted)\n", "duplicates",
               cli_count(n, sizeof n, (long long)dc->duplicates, "offer"));
    } else {
        print_count("duplicates", -1, NULL);
    }
    print_count("retries", res->retries, NULL);
    print_count("dead letters", (int64_t)json_array_size(res->dead),
                json_array_size(res->dead) > 0
                    ? " (the deliberately broken images are expected)"
                    : NULL);
    printf("  %-14s %s\n", "wall time", el);
    printf("  %-14s %.1f (%lld tasks)\n", "tasks/s",
           res->wall_ms > 0 ? (double)res->tasks * 1000.0 /
                                  (double)res->wall_ms
                            : 0.0,
           (long long)res->tasks);
    cli_pipeline_print_steps(stdout, res, incremental);
    json_array_foreach(res->dead, i, d) {
        printf("  dead: %s %s %s\n", json_string_value(json_object_get(d, "id")),
               json_string_value(json_object_get(d, "name")),
               json_string_value(json_object_get(json_object_get(d, "error"),
                                                 "message"))
                   ? json_string_value(json_object_get(
                         json_object_get(d, "error"), "message"))
                   : "");
    }
    fflush(stdout);
}

/* While the pipeline waits: pump the services' output into their log
 * files, reap and restart a service that died (restart with backoff), and
 * give up if one cannot start at all. */
static void
demo_idle(void *ud, int ms)
{
    struct demo_run *run = ud;
    struct cli_stack *st = run->st;
    int64_t end = sq_mono_ms() + ms;

    do {
        int64_t left = end - sq_mono_ms();
        if (run->m != NULL) {
            demo_measure_sample(run->m);
        }
        cli_procs_poll(&st->procs, left > 0 ? (int)left : 0);
        if (st->procs.failed != NULL) {
            stop_flag++;
            return;
        }
    } while (sq_mono_ms() < end && !stop_flag);
}

static void
demo_crawled(void *ud)
{
    struct demo_run *run = ud;

    if (run->m != NULL) {
        demo_measure_mark(run->m, 1);
    }
}

/* Start the worker pool: one worker on every queue, or with --measure one
 * worker per queue (the same children each) so /proc tells the CPU of
 * each queue's work apart. */
static int
start_workers(struct cli_stack *st, bool per_queue)
{
    static const char *const queues[][2] = {
        {"worker-crawler", "crawler"},
        {"worker-images", "image_processing"},
        {"worker-data", "data_sync,batch_processing,default"},
    };

    if (!per_queue) {
        const char *wargs[] = {"worker", "-c", st->concurrency, "-Q",
                               "crawler,image_processing,data_sync,"
                               "batch_processing,default",
                               NULL};
        return cli_stack_add_service(st, "worker", wargs) ? 0 : -1;
    }
    for (size_t i = 0; i < sizeof queues / sizeof queues[0]; i++) {
        const char *wargs[] = {"worker", "-c", st->concurrency, "-Q",
                               queues[i][1], NULL};
        if (cli_stack_add_service(st, queues[i][0], wargs) == NULL) {
            return -1;
        }
    }
    return 0;
}

/* --measure: every process of the run, by type. */
static void
measure_procs(struct demo_measure *m, struct cli_stack *st, bool own_pg,
              const char *var_abs)
{
    for (int i = 0; i < st->procs.n; i++) {
        struct cli_proc *p = &st->procs.p[i];
        char type[64], log[PATH_MAX + 64];
        bool w = strncmp(p->name, "worker-", 7) == 0;
        /* "workers crawler", "workers data_sync" (and the queues after
         * its first), "redis", "fixture", "beat", "monitor" */
        snprintf(type, sizeof type, "%s%.*s", w ? "workers " : "",
                 w ? (int)strcspn(p->argv[5], ",") : 31,
                 w ? p->argv[5] : p->name);
        snprintf(log, sizeof log, "%s/%s.log", st->log_dir, p->name);
        demo_measure_add(m, type, p->pid, w, w ? log : NULL);
    }
    if (own_pg) {
        char path[PATH_MAX + 64];
        FILE *f;
        long pid = 0;
        snprintf(path, sizeof path, "%s/pg/data/postmaster.pid", var_abs);
        f = fopen(path, "r");
        if (f != NULL && fscanf(f, "%ld", &pid) == 1) {
            demo_measure_add(m, "postgresql", (pid_t)pid, false, NULL);
        }
        if (f != NULL) {
            fclose(f);
        }
    }
}

static int
cli_demo(struct cli *cli)
{
    struct cli_stack st;
    struct cli_pipeline_opts po;
    struct cli_pipeline_result res;
    struct demo_counts before, after;
    char products[16] = "1200", faults[512] = DEFAULT_FAULTS;
    char categories[8] = "3", change[16] = "0";
    struct demo_run run = {0};
    bool measure = false, checks_ok = true;
    char var_abs[PATH_MAX], path[PATH_MAX + 64], dburl[PATH_MAX + 64];
    char listen[64], url[256];
    const char *database = NULL;
    bool own_pg = false;
    const char *cats[20];
    json_t *fx = NULL;
    struct cli_proc *fxp = NULL;
    syncq_client *c = NULL;
    syncq_error err;
    int64_t timeout_ms = 20 * 60 * 1000;
    bool keep = false, full = false, incremental;
    int rc = CLI_FAIL;
    size_t ncat = 0;

    cli_stack_init(&st);
    snprintf(st.concurrency, sizeof st.concurrency, "4");
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        char *end;
        long v;
        switch (ov->key) {
        case 'n':
            v = strtol(ov->arg, &end, 10);
            if (*end != '\0' || v < 1 || v > 100000) {
                return cli_usage(cli, "--products '%s' is not 1..100000",
                                 ov->arg);
            }
            snprintf(products, sizeof products, "%ld", v);
            break;
        case 'c':
            v = strtol(ov->arg, &end, 10);
            if (*end != '\0' || v < 1 || v > 64) {
                return cli_usage(cli, "--workers '%s' is not 1..64", ov->arg);
            }
            snprintf(st.concurrency, sizeof st.concurrency, "%ld", v);
            break;
        case 'f': {
            struct fx_fault_spec fs;
            /* checked here: the fixture server would refuse it only after
             * the stack is up, behind a log file */
            if (fx_faults_parse(ov->arg, &fs, &err) != SYNCQ_OK) {
                return cli_usage(cli, "--faults: %s", err.msg);
            }
            snprintf(faults, sizeof faults, "%s", ov->arg);
            break;
        }
        case 'v':
            snprintf(st.var_dir, sizeof st.var_dir, "%s", ov->arg);
            break;
        case 1:
            full = true;
            break;
        case 't':
            if (cli_follow_timeout_arg(cli, ov->arg, "default 20m",
                                       &timeout_ms)) {
                return CLI_USAGE;
            }
            break;
        case 'k':
            keep = true;
            break;
        case 2: {
            double pct = strtod(ov->arg, &end);
            if (end == ov->arg || *end != '\0' || !(pct >= 0 && pct <= 100)) {
                return cli_usage(cli, "--change '%s' is not 0..100", ov->arg);
            }
            snprintf(change, sizeof change, "%s", ov->arg);
            break;
        }
        case 3:
            measure = true;
            break;
        case 4:
            v = strtol(ov->arg, &end, 10);
            if (*end != '\0' || v < 1 || v > 20) {
                return cli_usage(cli, "--categories '%s' is not 1..20",
                                 ov->arg);
            }
            snprintf(categories, sizeof categories, "%ld", v);
            break;
        case 'd':
            database = ov->arg;
            break;
        }
    }
    if (cli_config(cli) == NULL) {
        return CLI_FAIL;
    }
    st.force_private = true;
    st.procs.out = NULL; /* services log to var/logs, not the terminal */
    signal(SIGINT, on_int);
    signal(SIGTERM, on_int);

    /* The demo's own settings (environment of every child). */
    if (cli_stack_place_data(cli, &st, true, var_abs) != CLI_OK) {
        return CLI_FAIL;
    }
    snprintf(path, sizeof path, "%s/logs", var_abs);
    mkdir(path, 0755);
    st.log_dir = strdup(path);
    if (database != NULL && strcmp(database, "postgresql") == 0) {
        char why[512];
        if (cli_demo_pg_start(var_abs, dburl, sizeof dburl, why,
                              sizeof why) != 0) {
            return cli_fail(cli, "private PostgreSQL: %s", why);
        }
        own_pg = true;
        setenv("SYNCQ_DATABASE_URL", dburl, 1);
    } else if (database != NULL) {
        setenv("SYNCQ_DATABASE_URL", database, 1);
    }
    snprintf(dburl, sizeof dburl, "%s", getenv("SYNCQ_DATABASE_URL"));
    if (database != NULL) {
        /* A wrong URL is one clear line now, not failed tasks later. */
        struct sq_db *probe = NULL;
        if (sq_db_open(dburl, &probe, &err) != SYNCQ_OK) {
            if (own_pg) {
                cli_demo_pg_stop(var_abs);
            }
            return cli_fail(cli, "--database: %s", err.msg);
        }
        sq_db_close(probe);
    }
    setenv("SYNCQ_LOG_DIR", st.log_dir, 1);
    /* Polite but quick against the local fixture; a short captcha
     * cool-down so the demo does not sit out the production 5 minutes. */
    setenv("SYNCQ_CRAWLER_RATE", "400/s", 0);
    setenv("SYNCQ_IMAGE_RATE", "400/s", 0);
    setenv("SYNCQ_CRAWLER_COOLDOWN", "3", 0);
    setenv("SYNCQ_LEASE_TIMEOUT", "20", 0);
    setenv("SYNCQ_1688_APP_KEY", "demo-app-key", 0);
    setenv("SYNCQ_1688_APP_SECRET", "demo-app-secret", 0);
    setenv("SYNCQ_1688_ACCESS_TOKEN", "demo-access-token", 0);
    db_counts(dburl, &before);
    incremental = before.products > 0 && !full;

    printf("syncq demo: a %s-offer 1688 catalog through the whole system "
           "(%s run)\n",
           products, incremental ? "second, incremental" : "first, full");
    fflush(stdout);
    if (cli_stack_start_redis(cli, &st) != CLI_OK) {
        goto done;
    }
    setenv("SYNCQ_BROKER_URL", st.broker, 1);
    {
        char fxlog[PATH_MAX + 32];
        char fxlisten[64];
        const char *args[] = {"fixture-server", "--listen", fxlisten,
                              "--products", products, "--seed", "1688",
                              "--categories", categories, "--change", change,
                              "--faults", faults, "--json", NULL};
        if (strcmp(faults, "none") == 0) {
            args[11] = "--json"; /* no --faults (and still the JSON line) */
            args[12] = NULL;
        }
        snprintf(fxlisten, sizeof fxlisten, "127.0.0.1:%d",
                 sticky_port(var_abs));
        snprintf(fxlog, sizeof fxlog, "%s/fixture.log", st.log_dir);
        unlink(fxlog);
        fxp = cli_stack_add_service(&st, "fixture", args);
        if (fxp == NULL) {
            cli_fail(cli, "cannot start the fixture server: %s",
                     strerror(errno));
            goto done;
        }
        fx = fixture_info(&st, fxp, fxlog, 60000);
        if (fx == NULL) {
            cli_fail(cli, "the fixture server did not start (see %s)", fxlog);
            goto done;
        }
        {
            /* image URLs point at the fixture on loopback: allowed by
             * name, as any deployment would allow an internal host */
            const char *a = getenv("SYNCQ_FETCH_ALLOW");
            char allow[1024];
            bool more = a != NULL && a[0] != '\0';
            snprintf(allow, sizeof allow, "%s%s%s", more ? a : "",
                     more ? "," : "", fxlisten);
            setenv("SYNCQ_FETCH_ALLOW", allow, 1);
        }
    }
    snprintf(url, sizeof url, "%s",
             json_string_value(json_object_get(fx, "url")));
    setenv("SYNCQ_1688_BASE_URL", url, 1);
    {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(fx, "leaf_ids"), i, v) {
            static char idbuf[20][24];
            if (ncat < 20) {
                snprintf(idbuf[ncat], sizeof idbuf[ncat], "%lld",
                         (long long)json_integer_value(v));
                cats[ncat] = idbuf[ncat];
                ncat++;
            }
        }
    }
    if (ncat == 0) {
        cli_fail(cli, "the fixture server reported no categories");
        goto done;
    }
    snprintf(listen, sizeof listen, "127.0.0.1:%d", free_port());
    snprintf(st.listen, sizeof st.listen, "%s", listen);
    {
        const char *bargs[] = {"beat", NULL};
        const char *margs[] = {"monitor", "serve", "--listen", listen, NULL};
        if (start_workers(&st, measure) != 0 ||
            cli_stack_add_service(&st, "beat", bargs) == NULL ||
            cli_stack_add_service(&st, "monitor", margs) == NULL) {
            cli_fail(cli, "cannot start the services: %s", strerror(errno));
            goto done;
        }
    }
    printf("  broker     %s\n  catalog    %s (%s offers, %zu categories, "
           "%s %% changed, faults: %s)\n  workers    %s children %s\n"
           "  dashboard  http://%s/   (logs in %s)\n",
           st.broker_shown, url, products, ncat, change, faults,
           st.concurrency, measure ? "on each queue (a worker per queue)"
                                   : "on every queue",
           listen, st.log_dir);
    printf("  politeness %s per host for pages and API, %s for images\n\n",
           getenv("SYNCQ_CRAWLER_RATE"), getenv("SYNCQ_IMAGE_RATE"));
    fflush(stdout);
    if (syncq_client_open(st.broker, NULL, &c, &err) != SYNCQ_OK) {
        cli_fail(cli, "%s", err.msg);
        goto done;
    }
    memset(&po, 0, sizeof po);
    po.categories = cats;
    po.ncategories = ncat;
    po.full = full || !incremental;
    po.tty = cli_color();
    po.color = po.tty;
    po.out = stdout;
    po.timeout_ms = timeout_ms;
    po.stop = &stop_flag;
    po.idle = demo_idle;
    po.idle_ud = &run;
    po.crawled = demo_crawled;
    run.st = &st;
    if (measure) {
        run.m = demo_measure_new();
        if (run.m == NULL || (incremental &&
                              demo_measure_snapshot(run.m, dburl) != 0)) {
            cli_fail(cli, "--measure: cannot read the database before the "
                          "run");
            goto done;
        }
        measure_procs(run.m, &st, own_pg, var_abs);
        demo_measure_mark(run.m, 0);
    }
    {
        int prc = cli_pipeline_run(c, &po, &res, &err);
        if (run.m != NULL && prc != SYNCQ_OK && res.crawl_ms == 0) {
            /* stopped or timed out during the crawl: its figures so far */
            demo_measure_mark(run.m, 1);
        }
        if (run.m != NULL) {
            demo_measure_mark(run.m, 2);
        }
        db_counts(dburl, &after);
        print_demo_summary(&res, &after, incremental, products);
        list_broken_images(dburl, 20);
        if (run.m != NULL && prc == SYNCQ_OK) {
            demo_measure_report(run.m, stdout, &res, atol(products), url,
                                getenv("SYNCQ_CRAWLER_RATE"),
                                getenv("SYNCQ_IMAGE_RATE"));
            checks_ok = demo_measure_check(run.m, stdout, dburl, url, &res);
        } else if (run.m != NULL) {
            /* per offer: of the offers whose details were fetched */
            long fetched = (long)json_integer_value(json_object_get(
                json_object_get(res.stages, "crawler.fetch_product_details"),
                "done"));
            printf("\n--measure: the run did not finish; the figures of the "
                   "part that ran, per offer fetched (%ld; their images not "
                   "all processed), no checks\n", fetched);
            demo_measure_report(run.m, stdout, &res, fetched > 0 ? fetched : 1,
                                url, getenv("SYNCQ_CRAWLER_RATE"),
                                getenv("SYNCQ_IMAGE_RATE"));
        }
        if (prc != SYNCQ_OK && st.procs.failed != NULL) {
            cli_fail(cli, "the %s could not start (see %s/%s.log)",
                     st.procs.failed->name, st.log_dir,
                     st.procs.failed->name);
        } else if (prc != SYNCQ_OK && stop_flag) {
            if (strcmp(st.var_dir, "var") == 0) {
                printf("\ninterrupted: the next `make demo` (or `syncq "
                       "demo`) resumes this sync where it stopped\n");
            } else {
                printf("\ninterrupted: the next `syncq demo --var %s` "
                       "resumes this sync where it stopped\n",
                       st.var_dir);
            }
            rc = 130;
        } else if (prc != SYNCQ_OK) {
            cli_fail(cli, "%s", err.msg);
        } else if (json_array_size(res.failed) > 0) {
            cli_fail(cli, "%zu category sync(s) did not succeed: %s",
                     json_array_size(res.failed),
                     json_string_value(json_object_get(
                         json_object_get(json_array_get(res.failed, 0),
                                         "error"),
                         "message"))
                         ? json_string_value(json_object_get(
                               json_object_get(json_array_get(res.failed, 0),
                                               "error"),
                               "message"))
                         : "see syncq task info");
        } else if (after.products < atoll(products)) {
            cli_fail(cli, "only %lld of %s offers reached the database",
                     (long long)after.products, products);
        } else if (!only_broken_images(res.dead)) {
            cli_fail(cli, "tasks other than broken images ended in the "
                          "dead-letter queue (listed above)");
        } else if (!checks_ok) {
            cli_fail(cli, "a check of --measure failed (listed above)");
        } else {
            rc = CLI_OK;
        }
        cli_pipeline_result_cleanup(&res);
    }
    if (keep && rc == CLI_OK) {
        printf("\nthe stack keeps running: dashboard http://%s/ ; Ctrl-C to "
               "stop\n",
               listen);
        fflush(stdout);
        stop_flag = 0;
        while (!stop_flag && cli_procs_poll(&st.procs, 500) > 0) {
        }
    }
done:
    printf("stopping everything the demo started...\n");
    fflush(stdout);
    syncq_client_close(c);
    json_decref(fx);
    demo_measure_free(run.m);
    cli_stack_stop(&st);
    if (own_pg) {
        cli_demo_pg_stop(var_abs);
    }
    free((char *)st.log_dir);
    printf("demo %s\n", rc == CLI_OK ? "finished"
                         : rc == 130  ? "interrupted"
                                      : "FAILED");
    return rc;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt demo_opts[] = {
    {"products", 'n', true, "N",
     "offers in the fixture catalog (default 1200; 1..100000)"},
    {"workers", 'c', true, "N", "worker children (default 4; 1..64)"},
    {"faults", 'f', true, "SPEC",
     "fixture faults (default"
     " \"429=2%:1s,5xx=1%,slow=0.5%:1s,captcha=1,truncated_image=0.5%\"),\n"
     "or none; grammar in docs/fixture-server.md"},
    {"var", 'v', true, "DIR",
     "Redis, database, images and logs (default var/; logs\n"
     "in DIR/logs)"},
    {"full", 1, false, NULL, "sync every offer again instead of incrementally"},
    {"database", 'd', true, "URL",
     "catalog database: a postgresql:// URL, or the word postgresql\n"
     "for a private server in DIR/pg on a unix socket (default SQLite\n"
     "DIR/1688sync.db)"},
    {"categories", 4, false, "K",
     "leaf categories of the fixture catalog (default 3; 1..20)"},
    {"change", 2, false, "PCT",
     "the fixture serves its next revision: PCT % of the offers\n"
     "dearer (default 0; 0..100; docs/fixture-server.md)"},
    {"measure", 3, false, NULL,
     "a worker per queue; print CPU per process type, stage\n"
     "throughput, peak RSS of each worker child, the bound and a\n"
     "1,000,000-offer projection; check every offer is stored\n"
     "exactly once (and, on a second run, exactly the changed ones\n"
     "updated); exit 1 when a check fails (bench/catalog)"},
    {"timeout", 't', true, "S",
     "give up (exit 1) after S (default 20m; 1s..7d)"},
    {"keep", 'k', true, NULL,
     "leave the stack running after the summary until Ctrl-C"},
    CLI_OPT_END,
};

const struct cli_cmd cli_demo_cmds[] = {
    {.path = "demo",
     .run = cli_demo,
     .summary = "the main job: a whole catalog sync on a private stack",
     .synopsis = "[--products N] [--workers N] [--faults SPEC|none]\n"
                 " [--var DIR] [--database URL|postgresql] [--full]\n"
                 " [--categories K] [--change PCT] [--measure]\n"
                 " [--timeout S] [--keep]",
     .description = "The main job on an embedded default, start to finish: a"
                    " private Redis under\n"
                    "--var (default var/, AOF on), the fixture 1688 server"
                    " on loopback with a\n"
                    "catalog of --products offers (default 1200) in"
                    " --categories leaves (default 3),\n"
                    "faults on (429 bursts, 5xx, a captcha page, broken"
                    " images), a worker pool\n"
                    "on every queue, the beat and the monitor (its"
                    " dashboard URL is printed).\n"
                    "Then it syncs the catalog: sync_category -> offer"
                    " details -> images ->\n"
                    "thumbnails -> sync_products into SQLite"
                    " (var/1688sync.db) or PostgreSQL\n"
                    "(--database) -> validate_data -> cleanup_duplicates,"
                    " with live progress,\n"
                    "prints a summary and stops everything it started.\n"
                    "Running it again is incremental. --keep leaves the"
                    " stack running after the\n"
                    "summary until Ctrl-C (to look at the dashboard). Exit"
                    " status 0 when every\n"
                    "offer of the catalog is in the database and nothing but"
                    " deliberately broken\n"
                    "images ended in the dead-letter queue (and, with"
                    " --measure, every check\n"
                    "passed). bench/catalog runs it at scale with"
                    " --measure.",
     .opts = demo_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
