/* SPDX-License-Identifier: MIT
 *
 * bench_beat.c: how many ticks a leader beat fires, and how late.
 *   bench_beat N S   N interval schedules of 1 s (all on the same second,
 *                    the worst case: N ticks due at once), a beat in this
 *                    process for S seconds; then every task the ticks
 *                    created is read back: ticks fired, ticks per second,
 *                    lateness (task created - tick) percentiles, and
 *                    duplicates (must be 0).
 * Uses SYNCQ_BROKER_URL; prints one JSON line. Run through
 * bench/bench_beat.sh (private Redis, median of runs).
 */
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "core/sq_time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/syncq.h>
#include <unistd.h>

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

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    syncq_client *c = NULL;
    syncq_error err;
    pthread_t th;
    redisReply *r = NULL;
    long long start, *late = NULL, dups = 0;
    size_t n, secs, got = 0, cap = 0;
    char cursor[32] = "0";

    if (argc != 3) {
        fprintf(stderr, "usage: bench_beat N SECONDS\n");
        return 2;
    }
    n = (size_t)atoll(argv[1]);
    secs = (size_t)atoll(argv[2]);
    if (syncq_client_open(NULL, NULL, &c, &err) != SYNCQ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (sq_client_cmd(c, &r, NULL, "TIME") != SYNCQ_OK) {
        return 1;
    }
    start = (atoll(r->element[0]->str) + 3) * 1000; /* a whole second */
    freeReplyObject(r);
    for (size_t i = 0; i < n; i++) {
        syncq_schedule_config sc;
        char name[32];
        snprintf(name, sizeof name, "s%zu", i);
        syncq_schedule_config_init(&sc);
        sc.name = name;
        sc.task = "syncq.noop";
        sc.type = SYNCQ_SCHEDULE_INTERVAL;
        sc.interval_ms = 1000;
        sc.start_ms = start;
        sc.queue = "bench_beat";
        if (syncq_schedule_add(c, &sc, 0, &err) != SYNCQ_OK) {
            fprintf(stderr, "add: %s\n", err.msg);
            return 1;
        }
    }
    pthread_create(&th, NULL, beat_thread, NULL);
    sleep((unsigned)(3 + secs));
    stop_beat = 1;
    pthread_join(th, NULL);
    /* read back every task: its tick and creation time */
    do {
        if (sq_client_cmd(c, &r, NULL, "SCAN %s MATCH %st:* COUNT 5000", cursor,
                          c->prefix) != SYNCQ_OK) {
            return 1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            sq_conn_append(c, "HMGET %s tick ct",
                           r->element[1]->element[i]->str);
        }
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            redisReply *h = NULL;
            if (sq_client_read_reply(c, &h, NULL) != SYNCQ_OK) {
                return 1;
            }
            if (h->element[0]->type == REDIS_REPLY_STRING) {
                if (got == cap) {
                    cap = cap ? cap * 2 : 4096;
                    late = realloc(late, cap * sizeof *late);
                }
                late[got++] =
                    atoll(h->element[1]->str) - atoll(h->element[0]->str);
            }
            freeReplyObject(h);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    /* dedupe keys taken twice would show as fewer tasks than runs */
    for (size_t i = 0; i < n; i++) {
        char name[32];
        long long runs;
        snprintf(name, sizeof name, "s%zu", i);
        if (sq_client_cmd(c, &r, NULL, "HGET %ssched:%s runs", c->prefix,
                          name) == SYNCQ_OK) {
            runs = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
            dups += runs;
            freeReplyObject(r);
        }
    }
    dups -= (long long)got;
    qsort(late, got, sizeof *late, cmp_ll);
    printf("{\"schedules\":%zu,\"seconds\":%zu,\"ticks\":%zu,"
           "\"ticks_per_s\":%.0f,\"p50_ms\":%lld,\"p99_ms\":%lld,"
           "\"max_ms\":%lld,\"runs_minus_tasks\":%lld}\n",
           n, secs, got, (double)got / (double)secs, got ? late[got / 2] : -1,
           got ? late[(size_t)(0.99 * (double)(got - 1))] : -1,
           got ? late[got - 1] : -1, dups);
    free(late);
    syncq_client_close(c);
    return 0;
}
