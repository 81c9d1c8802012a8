/* SPDX-License-Identifier: MIT
 *
 * bench_delayed.c: lateness of delayed tasks (countdown/ETA) at scale.
 *   bench_delayed promote N W   N delayed syncq.noop tasks with ETAs
 *       spread evenly over W seconds (starting a few seconds out, after
 *       all are created); a beat runs in this process (syncq_beat_run in
 *       a thread) and nothing else promotes. A consumer pops the ready
 *       list (BLMPOP): lateness = time popped - ETA (an upper bound of
 *       the time the task reached its ready list).
 *   bench_delayed worker N W    the same tasks run by `syncq worker -c 2`
 *       ($SYNCQ_BIN) with `syncq beat` beside it: lateness = started_at
 *       - ETA from the task records once all are SUCCESS.
 * Both also count tasks that became ready or started before their ETA
 * (must be 0). Uses SYNCQ_BROKER_URL; prints one JSON line. Run through
 * bench/bench_delayed.sh (private Redis, median of runs).
 */
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "core/sq_time.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syncq/syncq.h>
#include <unistd.h>

#define QUEUE "bench_delayed"
#define LEAD_MS 8000 /* ETAs start this long after the first create */

static volatile int stop_beat;

static void *
beat_thread(void *arg)
{
    syncq_beat_options o;
    syncq_error err;

    (void)arg;
    memset(&o, 0, sizeof o);
    o.id = "bench-beat";
    o.schedule_file = "";
    if (syncq_beat_run(NULL, NULL, &o, &stop_beat, &err) != SYNCQ_OK) {
        fprintf(stderr, "beat: %s\n", err.msg);
    }
    return NULL;
}

/* id -> index of the task, open addressing (ids are random UUIDs). */
struct idmap {
    size_t cap;    /* power of two */
    int64_t *slot; /* index + 1, 0 = empty */
    char (*ids)[SYNCQ_ID_SIZE];
};

static uint64_t
fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s) {
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    }
    return h;
}

static void
idmap_init(struct idmap *m, char (*ids)[SYNCQ_ID_SIZE], size_t n)
{
    m->cap = 1;
    while (m->cap < 2 * n) {
        m->cap <<= 1;
    }
    m->slot = calloc(m->cap, sizeof *m->slot);
    m->ids = ids;
    for (size_t i = 0; i < n; i++) {
        size_t h = fnv(ids[i]) & (m->cap - 1);
        while (m->slot[h] != 0) {
            h = (h + 1) & (m->cap - 1);
        }
        m->slot[h] = (int64_t)i + 1;
    }
}

static int64_t
idmap_find(const struct idmap *m, const char *id)
{
    size_t h = fnv(id) & (m->cap - 1);

    while (m->slot[h] != 0) {
        if (strcmp(m->ids[m->slot[h] - 1], id) == 0) {
            return m->slot[h] - 1;
        }
        h = (h + 1) & (m->cap - 1);
    }
    return -1;
}

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return x < y ? -1 : x > y;
}

static long long
pct(const long long *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);

    return n ? v[i < n ? i : n - 1] : -1;
}

/* Create n tasks with ETAs t0 + LEAD + i * w_ms / n; ids out. */
static int
create(syncq_client *c, size_t n, long long t0, long long w_ms,
       char (*ids)[SYNCQ_ID_SIZE], long long *etas)
{
    const size_t per_call = 10000;
    syncq_task_spec *specs = calloc(per_call, sizeof *specs);
    syncq_task_options *opts = calloc(per_call, sizeof *opts);
    syncq_error err;
    int rc = SYNCQ_OK;

    for (size_t lo = 0; lo < n && rc == SYNCQ_OK; lo += per_call) {
        size_t m = lo + per_call < n ? per_call : n - lo;
        for (size_t i = 0; i < m; i++) {
            syncq_task_options_init(&opts[i]);
            opts[i].queue = QUEUE;
            etas[lo + i] =
                t0 + LEAD_MS + (long long)(lo + i) * w_ms / (long long)n;
            opts[i].eta_ms = etas[lo + i];
            specs[i].name = "syncq.noop";
            specs[i].opts = &opts[i];
        }
        rc = syncq_task_create_many(c, specs, m, ids + lo, NULL, &err);
        if (rc != SYNCQ_OK) {
            fprintf(stderr, "create: %s\n", err.msg);
        }
    }
    free(specs);
    free(opts);
    return rc;
}

static long long
redis_now(syncq_client *c)
{
    redisReply *r = NULL;
    long long t = 0;

    if (sq_client_cmd(c, &r, NULL, "TIME") == SYNCQ_OK) {
        t = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
        freeReplyObject(r);
    }
    return t;
}

static void
report(const char *mode, size_t n, long long w_ms, long long *late, size_t got,
       size_t early, double create_s)
{
    qsort(late, got, sizeof *late, cmp_ll);
    printf("{\"mode\":\"%s\",\"n\":%zu,\"window_s\":%lld,\"measured\":%zu,"
           "\"early\":%zu,\"create_s\":%.3f,\"p50_ms\":%lld,\"p90_ms\":%lld,"
           "\"p99_ms\":%lld,\"p999_ms\":%lld,\"max_ms\":%lld}\n",
           mode, n, w_ms / 1000, got, early, create_s, pct(late, got, 0.5),
           pct(late, got, 0.9), pct(late, got, 0.99), pct(late, got, 0.999),
           got ? late[got - 1] : -1);
}

static int
run_promote(syncq_client *c, size_t n, long long w_ms)
{
    char(*ids)[SYNCQ_ID_SIZE] = calloc(n, SYNCQ_ID_SIZE);
    long long *etas = calloc(n, sizeof *etas);
    long long *late = calloc(n, sizeof *late);
    syncq_client *pop = NULL;
    struct idmap map;
    redisContext *rc;
    pthread_t th;
    long long t0, tc, deadline;
    size_t got = 0, early = 0, excluded = 0;
    char key[128];

    t0 = redis_now(c);
    if (create(c, n, t0, w_ms, ids, etas) != SYNCQ_OK) {
        return 1;
    }
    tc = redis_now(c);
    idmap_init(&map, ids, n);
    if (tc > t0 + LEAD_MS) {
        fprintf(stderr, "creating took longer than the lead time\n");
    }
    pthread_create(&th, NULL, beat_thread, NULL);
    if (sq_client_clone(c, &pop, NULL) != SYNCQ_OK) {
        return 1;
    }
    rc = pop->rc;
    snprintf(key, sizeof key, "%sq:%s:5", c->prefix, QUEUE);
    deadline = t0 + LEAD_MS + w_ms + 30000;
    while (got < n) {
        /* BLMPOP takes every id waiting in one round trip, so the
         * consumer keeps up; each is timed when the call returns (an
         * upper bound of the time it reached the ready list). */
        redisReply *r = redisCommand(rc, "BLMPOP 1 1 %s RIGHT COUNT 1000", key);
        struct timespec ts;
        long long now;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (r == NULL) {
            break;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_ARRAY) {
            for (size_t k = 0; k < r->element[1]->elements && got < n; k++) {
                int64_t i = idmap_find(&map, r->element[1]->element[k]->str);
                if (i >= 0 && etas[i] < tc + 200) {
                    excluded++; /* due before creating ended: not a
                                 * measure of promotion */
                    got++;
                    continue;
                }
                if (i >= 0) {
                    late[got - excluded] = now - etas[i];
                    if (late[got - excluded] < 0) {
                        early++;
                    }
                    got++;
                }
            }
        }
        freeReplyObject(r);
        if (now > deadline) {
            break;
        }
    }
    stop_beat = 1;
    pthread_join(th, NULL);
    syncq_client_close(pop);
    report("promote", n, w_ms, late, got - excluded, early,
           (double)(tc - t0) / 1000.0);
    if (excluded > 0) {
        fprintf(stderr,
                "%zu tasks were due before creating ended and are "
                "not counted\n",
                excluded);
    }
    free(map.slot);
    free(ids);
    free(etas);
    free(late);
    return got == n && early == 0 ? 0 : 1;
}

static pid_t
spawn(const char *bin, char *const argv[])
{
    pid_t pid = fork();

    if (pid == 0) {
        setpgid(0, 0);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

static int
run_worker(syncq_client *c, size_t n, long long w_ms)
{
    const char *bin = getenv("SYNCQ_BIN");
    char(*ids)[SYNCQ_ID_SIZE] = calloc(n, SYNCQ_ID_SIZE);
    long long *etas = calloc(n, sizeof *etas);
    long long *late = calloc(n, sizeof *late);
    long long t0, tc;
    size_t got = 0, early = 0;
    pid_t wp, bp;

    if (bin == NULL) {
        fprintf(stderr, "SYNCQ_BIN unset\n");
        return 2;
    }
    {
        char *wargv[] = {(char *)bin, "worker",     "-Q", QUEUE, "-c",
                         "2",         "--prefetch", "1",  NULL};
        char *bargv[] = {(char *)bin, "beat", "--id", "bench-beat", NULL};
        wp = spawn(bin, wargv);
        bp = spawn(bin, bargv);
    }
    sleep(1);
    t0 = redis_now(c);
    if (create(c, n, t0, w_ms, ids, etas) != SYNCQ_OK) {
        return 1;
    }
    tc = redis_now(c);
    /* wait for all to finish */
    for (;;) {
        redisReply *r = NULL;
        char key[128];
        long long left;
        sleep(1);
        snprintf(key, sizeof key, "%sdelayed", c->prefix);
        if (sq_client_cmd(c, &r, NULL, "ZCARD %s", key) != SYNCQ_OK) {
            break;
        }
        left = r->integer;
        freeReplyObject(r);
        snprintf(key, sizeof key, "%sq:%s:5", c->prefix, QUEUE);
        if (sq_client_cmd(c, &r, NULL, "LLEN %s", key) != SYNCQ_OK) {
            break;
        }
        left += r->integer;
        freeReplyObject(r);
        snprintf(key, sizeof key, "%sactive", c->prefix);
        if (sq_client_cmd(c, &r, NULL, "ZCARD %s", key) != SYNCQ_OK) {
            break;
        }
        left += r->integer;
        freeReplyObject(r);
        if (left == 0 || redis_now(c) > t0 + LEAD_MS + w_ms + 120000) {
            break;
        }
    }
    kill(-wp, SIGTERM);
    kill(-bp, SIGTERM);
    waitpid(wp, NULL, 0);
    waitpid(bp, NULL, 0);
    /* started_at - eta from the records, pipelined */
    for (size_t lo = 0; lo < n; lo += 1000) {
        size_t hi = lo + 1000 < n ? lo + 1000 : n;
        for (size_t i = lo; i < hi; i++) {
            sq_conn_append(c, "HGET %st:%s st", c->prefix, ids[i]);
        }
        for (size_t i = lo; i < hi; i++) {
            redisReply *r = NULL;
            if (sq_client_read_reply(c, &r, NULL) != SYNCQ_OK) {
                break;
            }
            if (r->type == REDIS_REPLY_STRING) {
                late[got] = atoll(r->str) - etas[i];
                early += late[got] < 0;
                got++;
            }
            freeReplyObject(r);
        }
    }
    report("worker", n, w_ms, late, got, early, (double)(tc - t0) / 1000.0);
    free(ids);
    free(etas);
    free(late);
    return got == n && early == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    syncq_client *c = NULL;
    syncq_error err;
    size_t n;
    long long w_ms;
    int rc;

    if (argc != 4) {
        fprintf(stderr, "usage: bench_delayed promote|worker N WINDOW_S\n");
        return 2;
    }
    n = (size_t)atoll(argv[2]);
    w_ms = atoll(argv[3]) * 1000;
    if (n == 0 || w_ms <= 0) {
        fprintf(stderr, "N and WINDOW_S must be positive\n");
        return 2;
    }
    if (syncq_client_open(NULL, NULL, &c, &err) != SYNCQ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    rc = strcmp(argv[1], "worker") == 0 ? run_worker(c, n, w_ms)
                                        : run_promote(c, n, w_ms);
    syncq_client_close(c);
    return rc;
}
