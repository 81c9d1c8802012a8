/* SPDX-License-Identifier: MIT
 *
 * bench_checkpoint.c: cost of recovery's hot paths.
 *   bench_checkpoint save N BYTES   N fenced-off (unfenced) saves of BYTES
 *                                   each, one task, history 3
 *   bench_checkpoint load N BYTES   N loads of the latest of 3 BYTES-sized
 *                                   checkpoints (checksum verified)
 *   bench_checkpoint policy N       N policy lookups with a policy file
 *                                   and per-task and per-call documents
 *                                   (what a worker does per failure)
 * Uses SYNCQ_BROKER_URL; prints one JSON line. Run through
 * bench/checkpoint.sh (private Redis on loopback TCP, median of runs).
 */
#include "recovery/recovery.h"
#include "sq_alloc.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/syncq.h>
#include <unistd.h>

static double
per_s(long n, int64_t us)
{
    return us > 0 ? (double)n * 1e6 / (double)us : 0.0;
}

static int
bench_save_load(const char *mode, long n, size_t bytes)
{
    syncq_client *c = NULL;
    syncq_error err;
    unsigned char *buf = malloc(bytes > 0 ? bytes : 1);
    int64_t t0, us;

    if (buf == NULL) {
        return 1;
    }
    for (size_t i = 0; i < bytes; i++) {
        buf[i] = (unsigned char)(i * 131 + 7);
    }
    if (syncq_client_open(NULL, NULL, &c, &err) != SYNCQ_OK) {
        fprintf(stderr, "bench_checkpoint: %s\n", err.msg);
        free(buf);
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        sq_checkpoint_save(c, "bench-task", NULL, buf, bytes, i, NULL);
    }
    t0 = sq_mono_us();
    for (long i = 0; i < n; i++) {
        int rc;
        if (strcmp(mode, "save") == 0) {
            rc = sq_checkpoint_save(c, "bench-task", NULL, buf, bytes, i + 3,
                                    &err);
        } else {
            void *d = NULL;
            size_t len;
            int64_t seq;
            rc = sq_checkpoint_load(c, "bench-task", &d, &len, &seq, &err);
            sq_free(d);
        }
        if (rc != SYNCQ_OK) {
            fprintf(stderr, "bench_checkpoint: %s\n", err.msg);
            syncq_client_close(c);
            free(buf);
            return 1;
        }
    }
    us = sq_mono_us() - t0;
    printf("{\"mode\":\"%s\",\"n\":%ld,\"bytes\":%zu,\"ops_per_s\":%.0f,"
           "\"us_per_op\":%.1f}\n",
           mode, n, bytes, per_s(n, us), (double)us / (double)n);
    syncq_client_close(c);
    free(buf);
    return 0;
}

static int
bench_policy(long n)
{
    char path[] = "/tmp/bench-policy-XXXXXX";
    int fd = mkstemp(path);
    const char *doc = "{\"network\":{\"base\":\"2s\",\"max\":\"5m\"},"
                      "\"rate_limited\":{\"base\":\"30s\"},\"*\":"
                      "{\"jitter\":true}}";
    syncq_config *cfg = NULL;
    syncq_error err;
    int64_t t0, us;

    if (fd < 0 || write(fd, doc, strlen(doc)) != (ssize_t)strlen(doc)) {
        return 1;
    }
    close(fd);
    if (syncq_config_new(&cfg, &err) != SYNCQ_OK ||
        syncq_config_set(cfg, "SYNCQ_RETRY_POLICY_FILE", path, NULL, &err) !=
            SYNCQ_OK) {
        unlink(path);
        return 1;
    }
    t0 = sq_mono_us();
    for (long i = 0; i < n; i++) {
        struct sq_retry_policy p;
        int64_t delay;
        if (sq_retry_policy_for(cfg, "{\"timeout\":{\"max_retries\":5}}",
                                "{\"network\":{\"factor\":3}}",
                                1 + (int)(i % 12), -1, &p, &err) !=
            SYNCQ_OK) {
            fprintf(stderr, "bench_checkpoint: %s\n", err.msg);
            break;
        }
        (void)sq_retry_decide(&p, (int)(i % 4), 0, &delay);
    }
    us = sq_mono_us() - t0;
    printf("{\"mode\":\"policy\",\"n\":%ld,\"ops_per_s\":%.0f,"
           "\"us_per_op\":%.2f}\n",
           n, per_s(n, us), (double)us / (double)n);
    syncq_config_free(cfg);
    unlink(path);
    return 0;
}

int
main(int argc, char **argv)
{
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;

    if (argc < 3 || n <= 0) {
        fprintf(stderr, "usage: bench_checkpoint save|load N BYTES | "
                "policy N\n");
        return 2;
    }
    if (strcmp(argv[1], "policy") == 0) {
        return bench_policy(n);
    }
    if ((strcmp(argv[1], "save") == 0 || strcmp(argv[1], "load") == 0) &&
        argc > 3) {
        return bench_save_load(argv[1], n, (size_t)strtoul(argv[3], NULL,
                                                          10));
    }
    fprintf(stderr, "usage: bench_checkpoint save|load N BYTES | policy N\n");
    return 2;
}
