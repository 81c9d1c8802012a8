/* SPDX-License-Identifier: MIT
 *
 * fuzz_1688_verdict.c: the response classifier (anti-bot markers,
 * gateway errors, business envelopes, HTTP statuses) and the value
 * coercions (prices in fen, image URL originals, locations) on any bytes.
 * The first two bytes choose the HTTP status and what was expected; the
 * rest is the body. Verdicts are consistent (OK has no error class,
 * anything else has one), strings stay terminated, normalised image URLs
 * are absolute. No crash, leak or overflow.
 */
#include "sq_alloc.h"
#include "crawler/crawler_parse.h"
#include "crawler/crawler_values.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sq_1688_verdict v;
    long status = 200;
    enum sq_1688_expect expect = SQ_1688_EXPECT_JSON;
    char *text, *u;
    int64_t fen;
    char prov[32], city[32];

    if (size >= 2) {
        static const long statuses[] = {200, 200, 200, 302, 400, 401,
                                        403, 404, 429, 500, 502, 503};
        status = statuses[data[0] % (sizeof statuses / sizeof *statuses)];
        expect = (data[1] & 1) ? SQ_1688_EXPECT_PAGE : SQ_1688_EXPECT_JSON;
        data += 2;
        size -= 2;
    }
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    sq_1688_classify(status, size > 3 ? "text/html" : NULL,
                     size > 5 ? text + 5 : NULL, text, size, 0, expect, &v);
    if ((v.outcome == SQ_1688_OK) != (v.error_class == SYNCQ_ERR_NONE) ||
        strnlen(v.message, sizeof v.message) == sizeof v.message ||
        strnlen(v.code, sizeof v.code) == sizeof v.code ||
        strcmp(sq_1688_outcome_name(v.outcome), "") == 0) {
        abort();
    }
    u = sq_1688_image_url(text);
    if (u != NULL && strncmp(u, "http://", 7) != 0 &&
        strncmp(u, "https://", 8) != 0) {
        abort();
    }
    sq_free(u);
    if (sq_1688_fen_parse(text, &fen) && (fen < 0 || fen > SQ_1688_MAX_FEN)) {
        abort();
    }
    (void)sq_1688_image_seller_id(text);
    sq_1688_location_split(text, prov, sizeof prov, city, sizeof city);
    if (strnlen(prov, sizeof prov) == sizeof prov ||
        strnlen(city, sizeof city) == sizeof city) {
        abort();
    }
    free(text);
    return 0;
}
