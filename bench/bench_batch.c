/* SPDX-License-Identifier: MIT
 *
 * bench_batch.c: creating a large batch (the target: 100,000
 * items in batches of 100 in under 1 s).
 *   bench_batch create N SIZE   syncq_batch_create (all chunks at once)
 *   bench_batch waves N SIZE    syncq_batch_submit with max-in-flight 100
 *                               (chunks stored in Redis, first wave sent)
 * Items are N small JSON objects (an offer id and a price, like a 1688
 * sync list). Times the call (validation, chunking, Redis) with the
 * monotonic clock; prints one JSON line. Uses SYNCQ_BROKER_URL. Run
 * through bench/bench_batch.sh (private Redis, median of runs).
 */
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/syncq.h>

int
main(int argc, char **argv)
{
    syncq_client *c = NULL;
    syncq_error err;
    syncq_batch_wave_options wo;
    char id[SYNCQ_ID_SIZE];
    size_t n, size, cap, k = 0;
    char *items;
    int64_t t0, t1;
    int rc;

    if (argc != 4) {
        fprintf(stderr, "usage: bench_batch create|waves N SIZE\n");
        return 2;
    }
    n = (size_t)atoll(argv[2]);
    size = (size_t)atoll(argv[3]);
    cap = n * 64 + 16;
    items = malloc(cap);
    k += (size_t)snprintf(items + k, cap - k, "[");
    for (size_t i = 0; i < n; i++) {
        k += (size_t)snprintf(
            items + k, cap - k,
            "%s{\"offer_id\":\"6%011zu\",\"price\":\"%zu.90\"}", i ? "," : "",
            i, i % 500);
    }
    snprintf(items + k, cap - k, "]");
    if (syncq_client_open(NULL, NULL, &c, &err) != SYNCQ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    memset(&wo, 0, sizeof wo);
    wo.max_in_flight = 100;
    t0 = sq_mono_us();
    if (strcmp(argv[1], "waves") == 0) {
        rc = syncq_batch_submit(c, "data_sync.sync_products", items, size, NULL,
                                &wo, id, &err);
    } else {
        rc = syncq_batch_create(c, "data_sync.sync_products", items, size, NULL,
                                id, NULL, &err);
    }
    t1 = sq_mono_us();
    if (rc != SYNCQ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("{\"mode\":\"%s\",\"items\":%zu,\"batch_size\":%zu,\"chunks\":%zu,"
           "\"ms\":%.1f,\"items_json_bytes\":%zu}\n",
           argv[1], n, size, (n + size - 1) / size, (double)(t1 - t0) / 1000.0,
           strlen(items));
    syncq_client_close(c);
    free(items);
    return 0;
}
