/* SPDX-License-Identifier: MIT
 *
 * fuzz_1688_offer.c: the 1688 offer parser (offer pages with
 * window.__INIT_DATA, the cross-border detail envelope, the classic
 * ProductInfo) on any bytes. A parsed record must hold the normalised
 * shape's invariants: a positive offer id, the lists present, price tiers
 * strictly increasing, min <= max, absolute image URLs, serialisable JSON.
 * A refusal leaves no record and says why. No crash, leak or overflow.
 */
#include "crawler/crawler_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const json_t *o)
{
    const json_t *v = json_object_get(o, "offer_id");
    const json_t *tiers = json_object_get(o, "price_ranges");
    const json_t *lo = json_object_get(o, "price_min_fen");
    const json_t *hi = json_object_get(o, "price_max_fen");
    json_t *t, *img;
    size_t i;
    json_int_t prev = -1;
    char *s;

    if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
        !json_is_array(json_object_get(o, "skus")) ||
        !json_is_array(json_object_get(o, "images")) ||
        !json_is_array(json_object_get(o, "attributes")) ||
        !json_is_array(tiers) ||
        !json_is_object(json_object_get(o, "supplier"))) {
        abort();
    }
    if (json_is_integer(lo) != json_is_integer(hi) ||
        (json_is_integer(lo) &&
         json_integer_value(lo) > json_integer_value(hi))) {
        abort();
    }
    json_array_foreach(tiers, i, t)
    {
        json_int_t q = json_integer_value(json_object_get(t, "start_qty"));
        if (q <= prev) {
            abort();
        }
        prev = q;
    }
    json_array_foreach(json_object_get(o, "images"), i, img)
    {
        const char *u = json_string_value(json_object_get(img, "url"));
        if (u == NULL ||
            (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
            abort();
        }
    }
    s = json_dumps(o, JSON_COMPACT);
    if (s == NULL) {
        abort();
    }
    free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = NULL;
    syncq_error err;
    int64_t expect = size > 0 && (data[0] & 1) ? 597090034012LL : 0;

    if (sq_1688_offer_parse((const char *)data, size, expect, &o, &err) !=
        SYNCQ_OK) {
        if (o != NULL || err.msg[0] == '\0') {
            abort();
        }
        return 0;
    }
    check(o);
    json_decref(o);
    return 0;
}
