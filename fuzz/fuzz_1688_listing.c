/* SPDX-License-Identifier: MIT
 *
 * fuzz_1688_listing.c: the listing, category and supplier parsers on any
 * bytes (cross-border keywordQuery and category envelopes, TMAPI search
 * and shop_info). Parsed records keep their invariants (positive offer
 * ids, bounded lists, an integer category id); refusals leave nothing
 * and say why. No crash, leak or overflow.
 */
#include "crawler/crawler_parse.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = NULL, *x;
    syncq_error err;
    size_t i;

    if (sq_1688_listing_parse((const char *)data, size, 7, &o, &err) ==
        SYNCQ_OK) {
        if (json_array_size(json_object_get(o, "offers")) > SQ_1688_MAX_LIST) {
            abort();
        }
        json_array_foreach(json_object_get(o, "offers"), i, x)
        {
            if (json_integer_value(json_object_get(x, "offer_id")) <= 0) {
                abort();
            }
        }
        json_decref(o);
    } else if (o != NULL || err.msg[0] == '\0') {
        abort();
    }
    o = NULL;
    if (sq_1688_category_parse((const char *)data, size, &o, &err) ==
        SYNCQ_OK) {
        if (!json_is_integer(json_object_get(o, "category_id")) ||
            !json_is_array(json_object_get(o, "children"))) {
            abort();
        }
        json_decref(o);
    } else if (o != NULL || err.msg[0] == '\0') {
        abort();
    }
    o = NULL;
    if (sq_1688_supplier_parse((const char *)data, size, &o, &err) ==
        SYNCQ_OK) {
        if (!json_is_object(o) ||
            !json_is_string(json_object_get(o, "raw_sha256"))) {
            abort();
        }
        json_decref(o);
    } else if (o != NULL || err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
