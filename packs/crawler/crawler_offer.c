/* SPDX-License-Identifier: MIT
 *
 * crawler_offer.c: an offer response of any supported shape into the
 * normalised offer (docs/1688-normalized.md): finds the shape of the
 * response and hands it to one of three extractors sharing one builder
 * (crawler_offer_build.h): the window.__INIT_DATA of an offer page
 * (crawler_offer_page.c), the cross-border queryProductDetail envelope and
 * the classic ProductInfo model (crawler_offer_api.c). Money stays
 * integer fen throughout (crawler_values.c).
 */
#include "crawler/crawler_parse.h"
#include "crawler/crawler_offer_build.h"
#include "core/sq_error.h"
#include "crawler/crawler_values.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shape detection --------------------------------------------------- */

/* Find the end (exclusive) of the JSON object starting at s[0] == '{',
 * skipping strings; 0 if unbalanced. */
static size_t
object_end(const char *s, size_t n)
{
    int depth = 0;
    bool in_str = false, esc = false;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{') {
            if (++depth > 10000) {
                return 0;
            }
        } else if (c == '}') {
            if (--depth == 0) {
                return i + 1;
            }
        }
    }
    return 0;
}

static const char *
find_bytes(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);

    if (m == 0 || n < m) {
        return NULL;
    }
    for (size_t i = 0; i + m <= n; i++) {
        if (s[i] == needle[0] && memcmp(s + i, needle, m) == 0) {
            return s + i;
        }
    }
    return NULL;
}

/* Extract the window.__INIT_DATA object of an offer page. */
static int
page_json(const char *body, size_t len, json_t **root, syncq_error *err)
{
    const char *p = find_bytes(body, len, "window.__INIT_DATA");
    const char *end = body + len;
    size_t n;
    json_error_t jerr;

    *root = NULL;
    if (p == NULL) {
        if (find_bytes(body, len, "window.context") != NULL ||
            find_bytes(body, len, "iDetailData") != NULL) {
            return sq_fail(err, SYNCQ_EPROTO,
                           "offer page layout window.context/iDetailData is "
                           "not supported (no verified sample); raw kept");
        }
        return sq_fail(err, SYNCQ_EPROTO,
                       "HTML without window.__INIT_DATA (not an offer "
                       "page?)");
    }
    p += strlen("window.__INIT_DATA");
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    if (p >= end || *p != '=') {
        return sq_fail(err, SYNCQ_EPROTO,
                       "window.__INIT_DATA is not assigned an object");
    }
    p++;
    while (p < end && *p != '{' &&
           (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    if (p >= end || *p != '{') {
        return sq_fail(err, SYNCQ_EPROTO,
                       "window.__INIT_DATA is not assigned an object");
    }
    n = object_end(p, (size_t)(end - p));
    if (n == 0) {
        return sq_fail(err, SYNCQ_EPROTO,
                       "window.__INIT_DATA object is cut off");
    }
    *root = json_loadb(p, n, 0, &jerr);
    if (*root == NULL) {
        if (sq_1688_load_oom(&jerr)) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing offer");
        }
        return sq_fail(err, SYNCQ_EPROTO,
                       "window.__INIT_DATA is not JSON: line %d: %s", jerr.line,
                       jerr.text);
    }
    return SYNCQ_OK;
}

static bool
looks_html(const char *body, size_t len)
{
    size_t i = 0;

    if (len >= 3 && (unsigned char)body[0] == 0xEF &&
        (unsigned char)body[1] == 0xBB && (unsigned char)body[2] == 0xBF) {
        i = 3;
    }
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' ||
                       body[i] == '\t')) {
        i++;
    }
    return i < len && body[i] == '<';
}

/* Names of up to 5 top-level keys, for "unknown shape" messages. */
static void
key_list(const json_t *root, char *out, size_t cap)
{
    const char *k;
    json_t *v;
    size_t used = 0;
    int n = 0;

    out[0] = '\0';
    json_object_foreach((json_t *)root, k, v)
    {
        int w;
        if (n++ == 5) {
            snprintf(out + used, cap - used, ", ...");
            break;
        }
        w = snprintf(out + used, cap - used, "%s%.40s", used ? ", " : "", k);
        if (w < 0 || (size_t)w >= cap - used) {
            break;
        }
        used += (size_t)w;
    }
}

int
sq_1688_offer_parse(const char *body, size_t len, int64_t expect_offer_id,
                    json_t **out, syncq_error *err)
{
    struct ob b;
    json_t *root = NULL;
    json_error_t jerr;
    int rc;

    *out = NULL;
    (void)sq_1688_oom_take();
    if (body == NULL) {
        return sq_fail(err, SYNCQ_EPROTO, "empty offer response");
    }
    if (len > SQ_1688_MAX_BODY) {
        return sq_fail(err, SYNCQ_ETOOBIG,
                       "offer response is %zu bytes, "
                       "limit %u",
                       len, SQ_1688_MAX_BODY);
    }
    if (looks_html(body, len)) {
        rc = page_json(body, len, &root, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    } else {
        root = json_loadb(body, len, 0, &jerr);
        if (root == NULL) {
            if (sq_1688_load_oom(&jerr)) {
                return sq_fail(err, SYNCQ_ENOMEM,
                               "out of memory parsing offer");
            }
            return sq_fail(err, SYNCQ_EPROTO,
                           "offer response is not JSON: line %d: %s", jerr.line,
                           jerr.text);
        }
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return sq_fail(err, SYNCQ_EPROTO, "offer response is not an object");
    }
    rc = sq_ob_init(&b, err);
    if (rc != SYNCQ_OK) {
        sq_ob_cleanup(&b);
        json_decref(root);
        return rc;
    }
    if (json_is_object(json_object_get(root, "globalData"))) {
        rc = sq_ob_from_page(&b, root, expect_offer_id);
    } else if (json_is_object(json_object_get(root, "result"))) {
        const json_t *env = json_object_get(root, "result");
        bool ok = true;
        const json_t *r = json_object_get(env, "result");
        if (sq_1688_json_bool(json_object_get(env, "success"), &ok) && !ok) {
            rc = sq_fail(err, SYNCQ_EPROTO,
                         "platform answered success=false (code %.60s: "
                         "%.100s)",
                         sq_ob_jstr_or(env, "code", "?"),
                         sq_ob_jstr_or(env, "message", ""));
        } else if (!json_is_object(r)) {
            rc = sq_fail(err, SYNCQ_EPROTO,
                         "queryProductDetail envelope without a result "
                         "object");
        } else {
            rc = sq_ob_from_crossborder(&b, r, expect_offer_id);
        }
    } else if (json_is_object(json_object_get(root, "productInfo"))) {
        rc = sq_ob_from_classic(&b, json_object_get(root, "productInfo"),
                                expect_offer_id);
    } else if (json_object_get(root, "subject") != NULL &&
               (json_object_get(root, "saleInfo") != NULL ||
                json_object_get(root, "skuInfos") != NULL ||
                json_object_get(root, "productID") != NULL)) {
        rc = sq_ob_from_classic(&b, root, expect_offer_id);
    } else if (json_object_get(root, "error_code") != NULL) {
        rc = sq_fail(err, SYNCQ_EPROTO, "gateway error %.60s: %.120s",
                     sq_ob_jstr_or(root, "error_code", "?"),
                     sq_ob_jstr_or(root, "error_message", ""));
    } else {
        char keys[160];
        key_list(root, keys, sizeof keys);
        rc = sq_fail(err, SYNCQ_EPROTO, "unknown offer shape (keys: %s)", keys);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_ob_finish(&b, body, len, out);
    }
    if (sq_1688_oom_take()) {
        /* A field or list element could not be allocated: never hand out
         * a record with something silently missing. */
        json_decref(*out);
        *out = NULL;
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing offer");
    }
    sq_ob_cleanup(&b);
    json_decref(root);
    return rc;
}
