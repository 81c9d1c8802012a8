/* SPDX-License-Identifier: MIT
 *
 * bench_enqueue.c: enqueue throughput and Redis memory per queued task.
 *   bench_enqueue single N   N syncq_task_create calls, one task each
 *   bench_enqueue bulk N     N tasks through syncq_task_create_many in
 *                            calls of 10,000 (chunks of 1,000 pipelined)
 *   bench_enqueue pipelined N [DEPTH]  N tasks through the pipelined
 *                            producer (syncq/pipeline.h), DEPTH creates in
 *                            flight (default 256); each answered with its
 *                            own id (a refused one fails the run)
 *   bench_enqueue memory N   FLUSHALL, then N no-op tasks in bulk; INFO
 *                            used_memory before/after, with and without
 *                            the (capped) events stream
 * Uses SYNCQ_BROKER_URL; prints one JSON line. Run through bench/enqueue.sh
 * which starts a private Redis on loopback TCP and takes the median.
 */
#include "broker/broker.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/pipeline.h>
#include <syncq/syncq.h>

static long long
used_memory(syncq_client *c)
{
    redisReply *r = NULL;
    long long v = -1;

    if (sq_client_cmd(c, &r, NULL, "INFO memory") == SYNCQ_OK) {
        const char *p = strstr(r->str, "used_memory:");
        if (p != NULL) {
            v = atoll(p + 12);
        }
        freeReplyObject(r);
    }
    return v;
}

static long long
key_memory(syncq_client *c, const char *key)
{
    redisReply *r = NULL;
    long long v = 0;

    if (sq_client_cmd(c, &r, NULL, "MEMORY USAGE %s", key) == SYNCQ_OK) {
        v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
    }
    return v;
}

static int
bulk(syncq_client *c, size_t n, syncq_error *err)
{
    const size_t per_call = 10000;
    syncq_task_spec *specs = calloc(per_call, sizeof *specs);
    char (*ids)[SYNCQ_ID_SIZE] = calloc(per_call, SYNCQ_ID_SIZE);
    int rc = SYNCQ_OK;

    for (size_t i = 0; i < per_call; i++) {
        specs[i].name = "syncq.noop";
    }
    for (size_t done = 0; done < n && rc == SYNCQ_OK; done += per_call) {
        size_t k = n - done < per_call ? n - done : per_call;
        rc = syncq_task_create_many(c, specs, k, ids, NULL, err);
    }
    free(specs);
    free(ids);
    return rc;
}

static void
on_answer(void *ud, const char *id, int dup, int rc, const syncq_error *err)
{
    size_t *failed = ud;

    (void)id;
    (void)dup;
    if (rc != SYNCQ_OK && (*failed)++ == 0) {
        fprintf(stderr, "bench_enqueue: %s\n", err != NULL ? err->msg : "?");
    }
}

static int
pipelined(syncq_client *c, size_t n, size_t depth, syncq_error *err)
{
    syncq_pipeline *p = NULL;
    size_t failed = 0;
    int rc = syncq_pipeline_new(c, depth, &p, err);

    for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
        rc = syncq_pipeline_add(p, "syncq.noop", NULL, NULL, NULL, on_answer,
                                &failed, err);
    }
    syncq_pipeline_free(p);
    if (rc == SYNCQ_OK && failed > 0) {
        snprintf(err->msg, sizeof err->msg, "%zu creates refused", failed);
        rc = SYNCQ_EPROTO;
    }
    return rc;
}

int
main(int argc, char **argv)
{
    syncq_client *c = NULL;
    syncq_error err;
    const char *mode = argc > 1 ? argv[1] : "single";
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : 50000;
    int64_t t0, t1;
    int rc = SYNCQ_OK;

    if (syncq_client_open(NULL, NULL, &c, &err) != SYNCQ_OK) {
        fprintf(stderr, "bench_enqueue: %s\n", err.msg);
        return 1;
    }
    if (strcmp(mode, "memory") == 0) {
        redisReply *r = NULL;
        long long before, after, stream;
        char key[128];
        sq_client_cmd(c, &r, NULL, "FLUSHALL");
        freeReplyObject(r);
        before = used_memory(c);
        rc = bulk(c, n, &err);
        after = used_memory(c);
        stream = key_memory(c, sq_key(c, key, sizeof key, "events"));
        printf("{\"mode\":\"memory\",\"tasks\":%zu,\"bytes_per_task\":%.1f,"
               "\"bytes_per_task_without_events\":%.1f,"
               "\"events_stream_bytes\":%lld}\n",
               n, (double)(after - before) / (double)n,
               (double)(after - before - stream) / (double)n, stream);
    } else if (strcmp(mode, "pipelined") == 0) {
        size_t depth = argc > 3 ? (size_t)atol(argv[3]) : 256;
        t0 = sq_mono_us();
        rc = pipelined(c, n, depth, &err);
        t1 = sq_mono_us();
        printf("{\"mode\":\"pipelined\",\"tasks\":%zu,\"depth\":%zu,"
               "\"seconds\":%.3f,\"tasks_per_s\":%.0f}\n",
               n, depth, (double)(t1 - t0) / 1e6,
               (double)n * 1e6 / (double)(t1 - t0));
    } else if (strcmp(mode, "bulk") == 0) {
        t0 = sq_mono_us();
        rc = bulk(c, n, &err);
        t1 = sq_mono_us();
        printf("{\"mode\":\"bulk\",\"tasks\":%zu,\"seconds\":%.3f,"
               "\"tasks_per_s\":%.0f}\n",
               n, (double)(t1 - t0) / 1e6, (double)n * 1e6 / (double)(t1 - t0));
    } else {
        char id[SYNCQ_ID_SIZE];
        t0 = sq_mono_us();
        for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
            rc = syncq_task_create(c, "syncq.noop", NULL, NULL, NULL, id, NULL,
                                   &err);
        }
        t1 = sq_mono_us();
        printf("{\"mode\":\"single\",\"tasks\":%zu,\"seconds\":%.3f,"
               "\"tasks_per_s\":%.0f}\n",
               n, (double)(t1 - t0) / 1e6, (double)n * 1e6 / (double)(t1 - t0));
    }
    if (rc != SYNCQ_OK) {
        fprintf(stderr, "bench_enqueue: %s\n", err.msg);
    }
    syncq_client_close(c);
    return rc == SYNCQ_OK ? 0 : 1;
}
