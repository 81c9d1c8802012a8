/* SPDX-License-Identifier: MIT
 *
 * fuzz_record.c: reply-to-struct. Any bytes split into field/value pairs
 * (at 0x1F / 0x1E separators) as a task hash from Redis: decoding into
 * the task JSON never crashes and always yields valid JSON text, whatever
 * the bytes (invalid UTF-8, NUL, broken JSON in args/result).
 */
#include "broker/broker.h"

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
    size_t n = 0;
    size_t start = 0;
    json_t *o;

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
    o = sq_record_to_json("fuzz-id", items, n, 86400000);
    if (o != NULL) {
        char *s = json_dumps(o, JSON_COMPACT);
        if (s == NULL) {
            abort();
        }
        free(s);
        json_decref(o);
    }
    free(copy);
    return 0;
}
