/* SPDX-License-Identifier: MIT
 *
 * fuzz_sched_hash.c: a schedule read back from Redis ({ns}:sched:<name>,
 * HGETALL) on any bytes, split into field/value pairs at 0x1F / 0x1E as
 * in fuzz_record.c: decoding (numbers, the JSON of args and kwargs, the
 * cron text, the zone), compiling and asking for the next run never
 * crash, whatever another writer left in the hash.
 */
#include "beat/beat_schedule.h"

#include <hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReply *items[64];
    redisReply store[64];
    char *copy = malloc(size + 1);
    size_t n = 0, start = 0;
    struct sq_schedule s;
    syncq_error err;

    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i <= size && n < 64; i++) {
        if (i == size || copy[i] == 0x1F || copy[i] == 0x1E) {
            memset(&store[n], 0, sizeof store[n]);
            store[n].type = REDIS_REPLY_STRING;
            store[n].str = copy + start;
            store[n].len = i - start;
            if (i < size) {
                copy[i] = '\0';
            }
            items[n] = &store[n];
            n++;
            start = i + 1;
        }
    }
    sq_schedule_init(&s);
    if (sq_schedule_from_hash(&s, "fuzz", items, n, &err) == SYNCQ_OK &&
        sq_schedule_compile(&s, &err) == SYNCQ_OK) {
        int64_t next = 0;
        json_t *o = sq_schedule_to_json(&s);
        (void)sq_schedule_next_after(&s, 1700000000000LL, &next);
        json_decref(o);
    }
    sq_schedule_cleanup(&s);
    free(copy);
    return 0;
}
