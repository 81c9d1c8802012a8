/* SPDX-License-Identifier: MIT
 *
 * bench_worker.c: what a `syncq worker` costs and delivers.
 *   bench_worker drain N C P   enqueue N syncq.noop tasks (bulk) on queue
 *                              "bench", start `syncq worker -c C
 *                              --prefetch P -Q bench`, time until the
 *                              succeeded counter reaches N (results are
 *                              stored: SUCCESS records with their TTL)
 *   bench_worker latency M     one idle worker (-c 2, prefetch 1); M times:
 *                              enqueue one syncq.stamp, read the wall
 *                              clock the task saw at its start; prints
 *                              p50/p90/p99/max of enqueue-to-start (ms)
 *   bench_worker calls N B     no worker: enqueue N syncq.noop tasks,
 *                              then lease B, settle them ok and lease the
 *                              next B in one pipelined round (as a
 *                              worker's round does) until none is left:
 *                              Redis CPU per task at a fixed batch size
 *                              beside it, ping_p50_ms: a bare PING round
 *                              trip after the same 5 ms idle (two of
 *                              them, plus a pipe hop, are the path's
 *                              floor: the create's send and the wake's
 *                              reply, the lease call)
 *   bench_worker sleepbound N C  no Redis, no worker: C processes with the
 *                              children's timer slack (1 us) each call
 *                              nanosleep(1 ms) N/C times; prints the
 *                              rate a sleep-1 ms drain with C children
 *                              would reach if dispatch cost nothing
 *                              (the machine's timer wake-up latency
 *                              makes each sleep longer than 1 ms)
 *   bench_worker rss           idle worker -c 2: VmRSS, PSS (shared pages
 *                              divided among their users) and anonymous
 *                              memory of the supervisor and of each child
 *                              after 2 s idle
 * Uses SYNCQ_BROKER_URL and SYNCQ_BIN (the syncq binary); prints one JSON
 * line. bench/worker.sh starts a private Redis on loopback TCP, repeats
 * the runs, takes medians and runs the same workload on Celery.
 */
#include "broker/broker.h"
#include "core/sq_time.h"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <syncq/syncq.h>
#include <time.h>
#include <unistd.h>

static const char *
syncq_bin(void)
{
    const char *b = getenv("SYNCQ_BIN");

    return b != NULL ? b : "build/syncq";
}

static pid_t
start_worker(const char *conc, const char *prefetch, const char *queue)
{
    pid_t pid = fork();

    if (pid == 0) {
        const char *argv[] = {syncq_bin(), "worker",      "-c",
                              conc,        "--prefetch",  prefetch,
                              "-Q",        queue,         "--loglevel",
                              "warning",   NULL};
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void
stop_worker(pid_t pid)
{
    int st;

    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
}

static long long
stat_field(syncq_client *c, const char *field)
{
    redisReply *r = NULL;
    char key[128];
    long long v = 0;

    if (sq_client_cmd(c, &r, NULL, "HGET %s %s",
                      sq_key(c, key, sizeof key, "stats"), field) ==
        SYNCQ_OK) {
        if (r->type == REDIS_REPLY_STRING) {
            v = atoll(r->str);
        }
        freeReplyObject(r);
    }
    return v;
}

/* Redis main-thread CPU so far (used_cpu_sys + used_cpu_user of INFO
 * cpu), in microseconds; -1 when INFO cannot be read. */
static long long
redis_cpu_us(syncq_client *c)
{
    redisReply *r = NULL;
    long long us = -1;

    if (sq_client_cmd(c, &r, NULL, "INFO cpu") != SYNCQ_OK) {
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING) {
        const char *s = strstr(r->str, "used_cpu_sys:");
        const char *u = strstr(r->str, "used_cpu_user:");
        if (s != NULL && u != NULL) {
            us = (long long)((strtod(s + 13, NULL) + strtod(u + 14, NULL)) *
                             1e6);
        }
    }
    freeReplyObject(r);
    return us;
}

/* With SYNCQ_BENCH_CMDSTATS set, where the drain's Redis time went: the
 * commandstats (reset just before the worker starts) on stderr, one line
 * a command with its calls and microseconds per drained task. */
static void
print_cmdstats(syncq_client *c, long long tasks)
{
    redisReply *r = NULL;
    const char *p;

    if (tasks <= 0 ||
        sq_client_cmd(c, &r, NULL, "INFO commandstats") != SYNCQ_OK) {
        return;
    }
    for (p = r->type == REDIS_REPLY_STRING ? r->str : ""; *p != '\0';) {
        char name[64];
        long long calls, usec;
        const char *nl = strchr(p, '\n');

        if (sscanf(p, "cmdstat_%63[^:]:calls=%lld,usec=%lld", name, &calls,
                   &usec) == 3) {
            fprintf(stderr, "cmdstat %-24s %8.2f calls/task %7.2f us/task\n",
                    name, (double)calls / (double)tasks,
                    (double)usec / (double)tasks);
        }
        p = nl != NULL ? nl + 1 : p + strlen(p);
    }
    freeReplyObject(r);
}

/* CPU of every descendant reaped so far (the worker supervisor, which
 * reaps its children before it exits), in microseconds; *sys_us gets
 * the part spent in the kernel (system calls, wake-ups). */
static long long
children_cpu_us(long long *sys_us)
{
    struct rusage ru;

    getrusage(RUSAGE_CHILDREN, &ru);
    *sys_us = (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    return (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
           *sys_us;
}

static void
flushall(syncq_client *c)
{
    redisReply *r = NULL;

    if (sq_client_cmd(c, &r, NULL, "FLUSHALL") == SYNCQ_OK) {
        freeReplyObject(r);
    }
}

/* Flush the database and enqueue `n` tasks `task` (kwargs `kwargs`, may be
 * NULL) on queue "bench", in bulk calls of 10,000. Returns the enqueue
 * rate in tasks/s, or -1 (reported) on failure. */
static double
enqueue_bench(syncq_client *c, long n, const char *task, const char *kwargs)
{
    syncq_task_spec *specs = calloc((size_t)n, sizeof *specs);
    char (*ids)[SYNCQ_ID_SIZE] = malloc((size_t)n * SYNCQ_ID_SIZE);
    syncq_task_options o;
    syncq_error err;
    int64_t e0, e1;
    double rate = -1;

    if (specs == NULL || ids == NULL) {
        fprintf(stderr, "bench_worker: enqueue: out of memory\n");
        goto out;
    }
    syncq_task_options_init(&o);
    o.queue = "bench";
    for (long i = 0; i < n; i++) {
        specs[i].name = task;
        specs[i].kwargs_json = kwargs;
        specs[i].opts = &o;
    }
    flushall(c);
    e0 = sq_mono_us();
    for (long i = 0; i < n; i += 10000) {
        size_t k = (size_t)(n - i < 10000 ? n - i : 10000);
        if (syncq_task_create_many(c, specs + i, k, ids + i, NULL, &err) !=
            SYNCQ_OK) {
            fprintf(stderr, "bench_worker: enqueue: %s\n", err.msg);
            goto out;
        }
    }
    e1 = sq_mono_us();
    rate = (double)n * 1e6 / (double)(e1 - e0 > 0 ? e1 - e0 : 1);
out:
    free(specs);
    free(ids);
    return rate;
}

static int
drain(syncq_client *c, long n, const char *conc, const char *prefetch,
      const char *task, const char *kwargs)
{
    int64_t t0, t1;
    pid_t w;
    long long done = 0, r0, r1, w0, w1, s0, s1;
    double erate = enqueue_bench(c, n, task, kwargs);

    if (erate < 0) {
        return 1;
    }
    if (getenv("SYNCQ_BENCH_CMDSTATS") != NULL) {
        redisReply *rs = NULL;
        if (sq_client_cmd(c, &rs, NULL, "CONFIG RESETSTAT") == SYNCQ_OK) {
            freeReplyObject(rs);
        }
    }
    r0 = redis_cpu_us(c);
    w0 = children_cpu_us(&s0);
    t0 = sq_mono_us();
    w = start_worker(conc, prefetch, "bench");
    while (done < n && sq_mono_us() - t0 < 300 * 1000000LL) {
        sq_sleep_ms(2);
        char field[300];
        snprintf(field, sizeof field, "succeeded|bench|%s", task);
        done = stat_field(c, field);
    }
    t1 = sq_mono_us();
    r1 = redis_cpu_us(c);
    stop_worker(w);
    w1 = children_cpu_us(&s1);
    if (getenv("SYNCQ_BENCH_CMDSTATS") != NULL) {
        print_cmdstats(c, done);
    }
    /* CPU per task survives a noisy machine better than tasks/s. The
     * worker figure includes its start and stop; Redis's includes this
     * loop's HGET every 2 ms (well under 0.1 us per task). */
    printf("{\"mode\":\"drain\",\"tasks\":%ld,\"concurrency\":%s,"
           "\"prefetch\":%s,\"done\":%lld,\"seconds\":%.3f,"
           "\"tasks_per_s\":%.0f,\"enqueue_tasks_per_s\":%.0f,"
           "\"redis_cpu_us_per_task\":%.1f,"
           "\"worker_cpu_us_per_task\":%.1f,"
           "\"worker_sys_us_per_task\":%.1f}\n",
           n, conc, prefetch, done, (double)(t1 - t0) / 1e6,
           (double)done * 1e6 / (double)(t1 - t0), erate,
           done > 0 && r0 >= 0 && r1 >= 0 ? (double)(r1 - r0) / (double)done
                                          : -1.0,
           done > 0 ? (double)(w1 - w0) / (double)done : -1.0,
           done > 0 ? (double)(s1 - s0) / (double)done : -1.0);
    return done == n ? 0 : 1;
}

/* Settle the `n` tasks of `got` (ok, no runtime, result null) and lease
 * up to `batch` more in the same round trip, as the worker's round does.
 * Returns the number leased, or -1 (reported). */
static long
calls_round(syncq_client *c, struct sq_lease_reply *got, int batch)
{
    static const char *const queues[] = {"bench"};
    struct sq_settle_op *ops = calloc(got->n + 1, sizeof *ops);
    int *status = calloc(got->n + 1, sizeof *status);
    struct sq_lease_req L = {.worker = "bench:calls", .lease_ms = 600000,
                             .max_n = batch, .start_now = 0,
                             .queues = queues, .nqueues = 1};
    struct sq_lease_reply next = {0};
    syncq_error err;
    long leased = -1;

    for (size_t i = 0; ops != NULL && i < got->n; i++) {
        ops[i].kind = SQ_SETTLE_OK;
        ops[i].id = got->tasks[i].id;
        ops[i].token = got->tasks[i].token;
        ops[i].result_json = "null";
        ops[i].plain = got->tasks[i].plain; /* as the worker's ops */
    }
    if (ops != NULL && status != NULL &&
        sq_broker_settle_lease(c, ops, got->n, status, &L, &next, &err) ==
            SYNCQ_OK) {
        sq_lease_reply_cleanup(got);
        *got = next;
        leased = (long)next.n;
    } else {
        fprintf(stderr, "bench_worker: calls: %s\n",
                ops != NULL && status != NULL ? err.msg : "out of memory");
        sq_lease_reply_cleanup(&next);
    }
    free(ops);
    free(status);
    return leased;
}

/* What lease + settle cost Redis at a fixed batch size, without a worker:
 * this process leases `batch` tasks, settles them (and leases the next)
 * in one pipelined round, until the queue is empty. With
 * SYNCQ_BENCH_READY_FILE set it creates that file after the enqueue and
 * waits until it is removed (bench/redis_ir.sh starts counting then). */
static int
calls(syncq_client *c, long n, int batch)
{
    struct sq_lease_reply got = {0};
    const char *ready = getenv("SYNCQ_BENCH_READY_FILE");
    long long r0, r1, done = 0, rounds = 0;
    int64_t t0, t1;
    long k;

    if (batch <= 0 || enqueue_bench(c, n, "syncq.noop", NULL) < 0) {
        return 1;
    }
    if (ready != NULL) {
        FILE *f = fopen(ready, "w");
        if (f != NULL) {
            fclose(f);
        }
        while (access(ready, F_OK) == 0) {
            sq_sleep_ms(20);
        }
    }
    r0 = redis_cpu_us(c);
    t0 = sq_mono_us();
    do {
        done += (long long)got.n;
        k = calls_round(c, &got, batch);
        rounds++;
    } while (k > 0);
    t1 = sq_mono_us();
    r1 = redis_cpu_us(c);
    sq_lease_reply_cleanup(&got);
    printf("{\"mode\":\"calls\",\"tasks\":%ld,\"batch\":%d,"
           "\"done\":%lld,\"rounds\":%lld,\"tasks_per_s\":%.0f,"
           "\"redis_cpu_us_per_task\":%.1f}\n",
           n, batch, done, rounds,
           (double)done * 1e6 / (double)(t1 - t0 > 0 ? t1 - t0 : 1),
           done > 0 && r0 >= 0 && r1 >= 0 ? (double)(r1 - r0) / (double)done
                                          : -1.0);
    return k == 0 && done == n ? 0 : 1;
}

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return x < y ? -1 : x > y;
}

static int64_t
wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wait until the worker registered its heartbeat (it is ready). */
static void
wait_ready(syncq_client *c)
{
    for (int i = 0; i < 500; i++) {
        redisReply *r = NULL;
        char key[128];
        long long n = 0;
        if (sq_client_cmd(c, &r, NULL, "ZCARD %s",
                          sq_key(c, key, sizeof key, "workers")) ==
            SYNCQ_OK) {
            n = r->integer;
            freeReplyObject(r);
        }
        if (n > 0) {
            sq_sleep_ms(300); /* children READY, BRPOP armed */
            return;
        }
        sq_sleep_ms(10);
    }
}

/* One PING round trip in us (-1 on error). */
static long long
ping_us(syncq_client *c)
{
    redisReply *r = NULL;
    int64_t t0 = wall_us();

    if (sq_client_cmd(c, &r, NULL, "PING") != SYNCQ_OK) {
        return -1;
    }
    freeReplyObject(r);
    return (long long)(wall_us() - t0);
}

static int
latency(syncq_client *c, int m)
{
    long long *lat = calloc((size_t)m, sizeof *lat);
    long long *png = calloc((size_t)m, sizeof *png);
    pid_t w;
    int got = 0, npng = 0;

    flushall(c);
    w = start_worker("2", "1", "lat");
    wait_ready(c);
    for (int i = 0; i < m; i++) {
        syncq_task_options o;
        syncq_error err;
        char id[SYNCQ_ID_SIZE];
        json_t *t = NULL;
        int64_t t0;
        syncq_task_options_init(&o);
        o.queue = "lat";
        t0 = wall_us();
        if (syncq_task_create(c, "syncq.stamp", NULL, NULL, &o, id, NULL,
                              &err) != SYNCQ_OK) {
            fprintf(stderr, "bench_worker: create: %s\n", err.msg);
            break;
        }
        if (syncq_task_wait(c, id, 5000, &t, &err) == SYNCQ_OK) {
            json_t *st = json_object_get(json_object_get(t, "result"),
                                         "start_us");
            if (json_is_integer(st)) {
                lat[got++] = (long long)json_integer_value(st) - t0;
            }
        }
        json_decref(t);
        sq_sleep_ms(5); /* low load: one task at a time */
    }
    stop_worker(w);
    for (int i = 0; i < m; i++) { /* PINGs from the same idle */
        if ((png[npng] = ping_us(c)) >= 0) {
            npng++;
        }
        sq_sleep_ms(5);
    }
    qsort(lat, (size_t)got, sizeof *lat, cmp_ll);
    qsort(png, (size_t)npng, sizeof *png, cmp_ll);
    if (got == 0 || npng == 0) {
        printf("{\"mode\":\"latency\",\"samples\":0}\n");
        free(lat);
        free(png);
        return 1;
    }
    printf("{\"mode\":\"latency\",\"samples\":%d,\"p50_ms\":%.3f,"
           "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"ping_p50_ms\":%.3f}\n",
           got, (double)lat[got / 2] / 1000.0,
           (double)lat[got * 9 / 10] / 1000.0,
           (double)lat[got * 99 / 100] / 1000.0,
           (double)lat[got - 1] / 1000.0, (double)png[npng / 2] / 1000.0);
    free(lat);
    free(png);
    return 0;
}

/* The sleep-1 ms drain's bound on this machine: `procs` processes with the
 * worker children's timer slack each sleep 1 ms `n / procs` times, one
 * nanosleep each (what syncq.sleep does for 1 ms). */
static int
sleepbound(long n, int procs)
{
    int64_t t0 = syncq_mono_us();
    long per = procs > 0 ? n / procs : 0;
    double el;

    if (procs < 1 || per < 1) {
        fprintf(stderr, "bench_worker: sleepbound N C: N >= C >= 1\n");
        return 2;
    }
    for (int i = 0; i < procs; i++) {
        pid_t p = fork();
        if (p == 0) {
            struct timespec ts = {0, 1000000L};
            prctl(PR_SET_TIMERSLACK, 1000UL);
            for (long k = 0; k < per; k++) {
                nanosleep(&ts, NULL);
            }
            _exit(0);
        }
        if (p < 0) {
            perror("bench_worker: fork");
            return 1;
        }
    }
    while (wait(NULL) > 0) {
    }
    el = (double)(syncq_mono_us() - t0);
    printf("{\"mode\":\"sleepbound\",\"procs\":%d,\"tasks_per_s\":%.0f,"
           "\"sleep_us\":%.1f}\n",
           procs, (double)(per * procs) * 1e6 / el, el / (double)per);
    return 0;
}

static long
vmrss_kb(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    long v = -1;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            v = atol(line + 6);
        }
    }
    fclose(f);
    return v;
}

/* A field of /proc/<pid>/smaps_rollup in KB (Pss, Private_Dirty, ...). */
static long
rollup_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t n = strlen(field);
    FILE *f;
    long v = -1;

    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = atol(line + n + 1);
        }
    }
    fclose(f);
    return v;
}

static void
print_mem(pid_t pid)
{
    printf("{\"rss_kb\":%ld,\"pss_kb\":%ld,\"anon_kb\":%ld}", vmrss_kb(pid),
           rollup_kb(pid, "Pss"), rollup_kb(pid, "Anonymous"));
}

static int
rss(syncq_client *c)
{
    pid_t w;
    char path[64], buf[256];
    FILE *f;

    flushall(c);
    w = start_worker("2", "1", "rss");
    wait_ready(c);
    sq_sleep_ms(2000);
    printf("{\"mode\":\"rss\",\"supervisor_kb\":%ld,\"supervisor\":",
           vmrss_kb(w));
    print_mem(w);
    printf(",\"children\":[");
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)w, (int)w);
    f = fopen(path, "r");
    if (f != NULL && fgets(buf, sizeof buf, f) != NULL) {
        char *p = buf;
        int first = 1;
        while (*p != '\0') {
            char *end;
            long pid = strtol(p, &end, 10);
            if (end == p) {
                break;
            }
            printf("%s", first ? "" : ",");
            print_mem((pid_t)pid);
            first = 0;
            p = end;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    printf("]}\n");
    stop_worker(w);
    return 0;
}

int
main(int argc, char **argv)
{
    syncq_client *c = NULL;
    syncq_error err;
    int rc = 2;

    if (argc >= 2 && strcmp(argv[1], "sleepbound") == 0) { /* no Redis */
        return sleepbound(argc > 2 ? atol(argv[2]) : 20000,
                          argc > 3 ? atoi(argv[3]) : 2);
    }
    if (syncq_client_open(NULL, NULL, &c, &err) != SYNCQ_OK) {
        fprintf(stderr, "bench_worker: %s\n", err.msg);
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "drain") == 0) {
        rc = drain(c, argc > 2 ? atol(argv[2]) : 20000,
                   argc > 3 ? argv[3] : "2", argc > 4 ? argv[4] : "1",
                   argc > 5 ? argv[5] : "syncq.noop",
                   argc > 6 ? argv[6] : NULL);
    } else if (argc >= 2 && strcmp(argv[1], "latency") == 0) {
        rc = latency(c, argc > 2 ? atoi(argv[2]) : 1000);
    } else if (argc >= 2 && strcmp(argv[1], "rss") == 0) {
        rc = rss(c);
    } else if (argc >= 2 && strcmp(argv[1], "calls") == 0) {
        rc = calls(c, argc > 2 ? atol(argv[2]) : 20000,
                   argc > 3 ? atoi(argv[3]) : 32);
    } else {
        fprintf(stderr, "usage: bench_worker drain [N [C [P [TASK "
                        "[KWARGS]]]]] | latency [M] | sleepbound [N [C]] | rss | "
                        "calls [N [BATCH]]\n");
    }
    syncq_client_close(c);
    return rc;
}
