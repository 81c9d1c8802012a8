/* SPDX-License-Identifier: MIT
 *
 * fuzz_batch_items.c: any bytes as a batch items file
 * (syncq_batch_items_parse: a JSON array or one item per line). On
 * success the result is an array that serialises; no crash or leak for
 * any input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <syncq/syncq.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *items = NULL;

    if (syncq_batch_items_parse((const char *)data, size, &items, NULL) == 0) {
        char *s;
        if (!json_is_array(items)) {
            abort();
        }
        s = json_dumps(items, JSON_COMPACT | JSON_ENCODE_ANY);
        syncq_free(s);
        json_decref(items);
    }
    return 0;
}
