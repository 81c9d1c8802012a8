/* SPDX-License-Identifier: MIT
 *
 * bench_datasync.c: how fast the data_sync operations are on a SQLite
 * catalog (or PostgreSQL with --url). Stages N crawled offers (3 SKUs,
 * 2 tiers, 4 images, a supplier each) in raw_payload, then times:
 * sync_products (first run: all inserted), an incremental run with
 * nothing new, a re-crawl of identical content (all unchanged),
 * validate_data and cleanup_duplicates. Each figure is the median of
 * RUNS runs on a fresh database.
 *
 *   build-data-rel/bench_datasync [N=2000] [RUNS=5] [--url URL]
 *                                 [--batch B]   (records a transaction)
 *
 * Prints one line per operation: name, median ms, records per second,
 * and the CPU it took (this process + the PostgreSQL backend serving
 * it), which, unlike the wall time, does not grow when other programs
 * load the machine: offers per CPU second is the figure to compare on a
 * shared machine (a quiet machine's wall time is close to it plus the
 * commits' fsync waits). "main" is the CPU of the calling thread
 * alone: the rest of the client's CPU is sync_products' parse-ahead
 * thread, which runs beside the main thread and the backend, so the
 * critical path of a first sync is about max(main + server, the rest).
 */
#include "sq_alloc.h"
#include "core/sq_time.h"
#include "data_sync/ds_sync.h"
#include "db/sq_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define OPS 5

static const char *const op_names[OPS] = {
    "sync_products (insert)", "sync_products (nothing new)",
    "sync_products (re-crawl, unchanged)", "validate_data",
    "cleanup_duplicates"};

static void
stage(struct sq_db *db, int n)
{
    syncq_error err;

    /* One transaction: staging is not what is measured, and a commit
     * (an fsync) per staged row made a run of 5,000 offers take 40 s. */
    if (sq_db_begin(db, &err) != SYNCQ_OK) {
        fprintf(stderr, "stage: %s\n", err.msg);
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        int64_t id = 900000000000LL + i;
        json_t *skus = json_array();
        json_t *imgs = json_array();
        json_t *o;
        char *text;
        char key[32];
        for (int k = 0; k < 3; k++) {
            char spec[32];
            snprintf(spec, sizeof spec, "色%d>M", k);
            json_array_append_new(
                skus, json_pack("{s:I, s:s, s:I, s:I}", "sku_id",
                                (json_int_t)(id * 10 + k), "spec_text", spec,
                                "price_fen", (json_int_t)(100 + k), "stock",
                                (json_int_t)(k * 10)));
        }
        for (int k = 0; k < 4; k++) {
            char url[128];
            snprintf(url, sizeof url,
                     "https://cbu01.alicdn.com/img/ibank/O1CN01%lld_%d.jpg",
                     (long long)id, k);
            json_array_append_new(imgs, json_pack("{s:s, s:s}", "url", url,
                                                  "role", k ? "main" : "desc"));
        }
        o = json_pack(
            "{s:I, s:s, s:I, s:s, s:s, s:I, s:I, "
            "s:{s:I, s:s}, s:[{s:I, s:s, s:s}], "
            "s:[{s:I, s:s, s:[{s:s}, {s:s}, {s:s}]}], s:o, "
            "s:[{s:I, s:I}, {s:I, s:I}], s:o}",
            "offer_id", (json_int_t)id, "source", "api", "category_id",
            (json_int_t)(1031910 + i % 20), "subject", "女装连衣裙 2024新款",
            "status", "published", "price_min_fen", (json_int_t)(100 + i % 97),
            "price_max_fen", (json_int_t)(300 + i % 97), "supplier",
            "seller_user_id", (json_int_t)(2200000000LL + i % 500),
            "company_name", "义乌市服饰有限公司", "attributes", "attr_id",
            (json_int_t)100, "name", "材质", "value", "棉", "sku_props", "fid",
            (json_int_t)3216, "name", "颜色", "values", "value", "色0", "value",
            "色1", "value", "色2", "skus", skus, "price_ranges", "start_qty",
            (json_int_t)2, "price_fen", (json_int_t)300, "start_qty",
            (json_int_t)100, "price_fen", (json_int_t)250, "images", imgs);
        text = json_dumps(o, JSON_COMPACT);
        snprintf(key, sizeof key, "%lld", (long long)id);
        if (sq_db_raw_put(db, "api_detail", key, 200, "ok", text, strlen(text),
                          text, &err) != SYNCQ_OK) {
            fprintf(stderr, "stage: %s\n", err.msg);
            exit(1);
        }
        sq_free(text);
        json_decref(o);
    }
    if (sq_db_commit(db, &err) != SYNCQ_OK) {
        fprintf(stderr, "stage: %s\n", err.msg);
        exit(1);
    }
}

/* CPU microseconds used so far by this process and by the PostgreSQL
 * backend `server_pid` (0: none); *server_us (may be NULL) the
 * backend's part. */
static int64_t
cpu_split_us(int64_t server_pid, int64_t *server_us)
{
    struct rusage ru;
    int64_t us;

    getrusage(RUSAGE_SELF, &ru);
    us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
         (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    if (server_pid > 0) {
        char path[64];
        char buf[1024];
        FILE *f;
        snprintf(path, sizeof path, "/proc/%lld/stat", (long long)server_pid);
        f = fopen(path, "r");
        if (f != NULL && fgets(buf, sizeof buf, f) != NULL) {
            const char *p = strrchr(buf, ')');
            unsigned long long ut = 0;
            unsigned long long st = 0;
            /* fields after the command: state ... utime(14) stime(15) */
            if (p != NULL && sscanf(p + 2,
                                    "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
                                    "%*u %*u %llu %llu",
                                    &ut, &st) == 2) {
                int64_t b = (int64_t)((ut + st) * 1000000ULL /
                                      (unsigned long long)sysconf(
                                          _SC_CLK_TCK));
                us += b;
                if (server_us != NULL) {
                    *server_us = b;
                }
            }
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    return us;
}

static int64_t
cpu_us(int64_t server_pid)
{
    return cpu_split_us(server_pid, NULL);
}

/* CPU microseconds of the calling thread. */
static int64_t
main_cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_THREAD, &ru);
    return (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
           (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
}

static int64_t
server_cpu_us(int64_t server_pid)
{
    int64_t b = 0;

    cpu_split_us(server_pid, &b);
    return b;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    int n = 2000;
    int runs = 5;
    const char *url = NULL;
    int batch = 0;
    int64_t times[OPS][32];
    int64_t cpus[OPS][32];
    int64_t srvs[OPS][32];
    int64_t mains[OPS][32];
    char dir[] = "/tmp/syncq-bench-ds.XXXXXX";
    int pos = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            url = argv[++i];
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = (int)strtol(argv[++i], NULL, 10);
        } else if (pos++ == 0) {
            n = (int)strtol(argv[i], NULL, 10);
        } else {
            runs = (int)strtol(argv[i], NULL, 10);
        }
    }
    if (n < 1 || runs < 1 || runs > 32 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "usage: bench_datasync [N] [RUNS<=32] [--url URL]\n");
        return 2;
    }
    for (int r = 0; r < runs; r++) {
        char path[256];
        struct sq_db *db = NULL;
        struct sq_sync_opts so;
        struct sq_validate_opts vo = {false, NULL, 10, NULL};
        json_t *res = NULL;
        syncq_error err;
        int64_t server = 0;
        int64_t t0;
        int64_t c0;
        int64_t s0;
        int64_t m0;

        snprintf(path, sizeof path, "%s/run%d.db", dir, r);
        if (sq_db_open(url != NULL ? url : path, &db, &err) != SYNCQ_OK) {
            fprintf(stderr, "open: %s\n", err.msg);
            return 1;
        }
        if (url != NULL) {
            sq_db_exec(db,
                       "DROP SCHEMA public CASCADE; CREATE SCHEMA "
                       "public",
                       NULL);
            sq_db_close(db);
            sq_db_open(url, &db, &err);
        }
        if (url != NULL) {
            sq_db_query_i64(db, "SELECT pg_backend_pid()", false, 0, &server,
                            NULL);
        }
        stage(db, n);
        sq_sync_opts_init(&so);
        if (batch > 0) {
            so.batch_size = batch;
        }
        t0 = sq_mono_us();
        c0 = cpu_us(server);
        s0 = server_cpu_us(server);
        m0 = main_cpu_us();
        sq_ds_sync_products(db, &so, NULL, &res, &err);
        times[0][r] = sq_mono_us() - t0;
        cpus[0][r] = cpu_us(server) - c0;
        srvs[0][r] = server_cpu_us(server) - s0;
        mains[0][r] = main_cpu_us() - m0;
        if (json_integer_value(json_object_get(res, "inserted")) != n) {
            fprintf(stderr, "unexpected: %s\n", json_dumps(res, 0));
            return 1;
        }
        json_decref(res);
        t0 = sq_mono_us();
        c0 = cpu_us(server);
        s0 = server_cpu_us(server);
        m0 = main_cpu_us();
        sq_ds_sync_products(db, &so, NULL, &res, &err);
        times[1][r] = sq_mono_us() - t0;
        cpus[1][r] = cpu_us(server) - c0;
        srvs[1][r] = server_cpu_us(server) - s0;
        mains[1][r] = main_cpu_us() - m0;
        json_decref(res);
        stage(db, n); /* new fetch, same content */
        t0 = sq_mono_us();
        c0 = cpu_us(server);
        s0 = server_cpu_us(server);
        m0 = main_cpu_us();
        sq_ds_sync_products(db, &so, NULL, &res, &err);
        times[2][r] = sq_mono_us() - t0;
        cpus[2][r] = cpu_us(server) - c0;
        srvs[2][r] = server_cpu_us(server) - s0;
        mains[2][r] = main_cpu_us() - m0;
        if (json_integer_value(json_object_get(res, "unchanged")) != n) {
            fprintf(stderr, "unexpected: %s\n", json_dumps(res, 0));
            return 1;
        }
        json_decref(res);
        t0 = sq_mono_us();
        c0 = cpu_us(server);
        s0 = server_cpu_us(server);
        m0 = main_cpu_us();
        sq_ds_validate(db, &vo, NULL, &res, &err);
        times[3][r] = sq_mono_us() - t0;
        cpus[3][r] = cpu_us(server) - c0;
        srvs[3][r] = server_cpu_us(server) - s0;
        mains[3][r] = main_cpu_us() - m0;
        json_decref(res);
        t0 = sq_mono_us();
        c0 = cpu_us(server);
        s0 = server_cpu_us(server);
        m0 = main_cpu_us();
        sq_ds_cleanup_duplicates(db, false, NULL, &res, &err);
        times[4][r] = sq_mono_us() - t0;
        cpus[4][r] = cpu_us(server) - c0;
        srvs[4][r] = server_cpu_us(server) - s0;
        mains[4][r] = main_cpu_us() - m0;
        json_decref(res);
        sq_db_close(db);
        unlink(path);
        snprintf(path, sizeof path, "%s/run%d.db-wal", dir, r);
        unlink(path);
        snprintf(path, sizeof path, "%s/run%d.db-shm", dir, r);
        unlink(path);
    }
    rmdir(dir);
    printf("%d offers, median of %d runs, %s, batch %d\n", n, runs,
           url != NULL ? "postgresql" : "sqlite", batch > 0 ? batch : 500);
    for (int k = 0; k < OPS; k++) {
        int64_t med;
        int64_t cpu;
        qsort(times[k], (size_t)runs, sizeof times[k][0], cmp_i64);
        qsort(cpus[k], (size_t)runs, sizeof cpus[k][0], cmp_i64);
        qsort(srvs[k], (size_t)runs, sizeof srvs[k][0], cmp_i64);
        qsort(mains[k], (size_t)runs, sizeof mains[k][0], cmp_i64);
        med = times[k][runs / 2];
        cpu = cpus[k][runs / 2];
        printf("%-36s %8.1f ms %9.0f offers/s  cpu %7.1f ms (server "
               "%6.1f, main %6.1f) %9.0f offers/cpu-s\n",
               op_names[k], (double)med / 1000.0,
               med > 0 ? (double)n * 1e6 / (double)med : 0.0,
               (double)cpu / 1000.0, (double)srvs[k][runs / 2] / 1000.0,
               (double)mains[k][runs / 2] / 1000.0,
               cpu > 0 ? (double)n * 1e6 / (double)cpu : 0.0);
    }
    return 0;
}
