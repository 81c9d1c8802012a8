/* SPDX-License-Identifier: MIT
 *
 * bp_csv.c: a product as CSV (docs/tasks.md "CSV format"): one row per
 * SKU (one row when there are none), the product's own columns repeated
 * on every row, its lists (attributes, SKU properties, price tiers,
 * images) packed into one column each as "a:b:c|a:b:c" with '\' escaping
 * '\', '|' and ':' (the last part of an item only needs '\' and '|', so
 * URLs stay readable). Import reads the product from the first row of a
 * run of rows with the same offer_id and a SKU from every row.
 */
#include "batch_processing/bp.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_utf8.h"
#include "data_sync/ds_catalog.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum col_kind { K_OFFER, K_SUPPLIER, K_LIST, K_SKU };

struct col {
    const char *name;
    enum col_kind kind;
    const char *key; /* member of the offer / supplier / sku */
    enum sq_ds_ftype type;
};

static const struct col cols[] = {
    {"offer_id", K_OFFER, "offer_id", SQ_F_I64},
    {"source", K_OFFER, "source", SQ_F_TEXT},
    {"category_id", K_OFFER, "category_id", SQ_F_I64},
    {"top_category_id", K_OFFER, "top_category_id", SQ_F_I64},
    {"subject", K_OFFER, "subject", SQ_F_TEXT},
    {"subject_tr", K_OFFER, "subject_tr", SQ_F_TEXT},
    {"unit", K_OFFER, "unit", SQ_F_TEXT},
    {"status", K_OFFER, "status", SQ_F_TEXT},
    {"quote_type", K_OFFER, "quote_type", SQ_F_I64},
    {"moq", K_OFFER, "moq", SQ_F_I64},
    {"price_min_fen", K_OFFER, "price_min_fen", SQ_F_I64},
    {"price_max_fen", K_OFFER, "price_max_fen", SQ_F_I64},
    {"currency", K_OFFER, "currency", SQ_F_TEXT},
    {"amount_on_sale", K_OFFER, "amount_on_sale", SQ_F_I64},
    {"sold_count", K_OFFER, "sold_count", SQ_F_I64},
    {"sold_text", K_OFFER, "sold_text", SQ_F_TEXT},
    {"unit_weight_kg", K_OFFER, "unit_weight_kg", SQ_F_DOUBLE},
    {"detail_url", K_OFFER, "detail_url", SQ_F_TEXT},
    {"video_url", K_OFFER, "video_url", SQ_F_TEXT},
    {"raw_sha256", K_OFFER, "raw_sha256", SQ_F_TEXT},
    {"fetched_at", K_OFFER, "fetched_at", SQ_F_TEXT},
    {"supplier_seller_user_id", K_SUPPLIER, "seller_user_id", SQ_F_I64},
    {"supplier_member_id", K_SUPPLIER, "member_id", SQ_F_TEXT},
    {"supplier_login_id", K_SUPPLIER, "login_id", SQ_F_TEXT},
    {"supplier_open_id", K_SUPPLIER, "open_id", SQ_F_TEXT},
    {"supplier_company_name", K_SUPPLIER, "company_name", SQ_F_TEXT},
    {"supplier_shop_url", K_SUPPLIER, "shop_url", SQ_F_TEXT},
    {"supplier_province", K_SUPPLIER, "province", SQ_F_TEXT},
    {"supplier_city", K_SUPPLIER, "city", SQ_F_TEXT},
    {"attributes", K_LIST, "attributes", SQ_F_TEXT},
    {"sku_props", K_LIST, "sku_props", SQ_F_TEXT},
    {"price_ranges", K_LIST, "price_ranges", SQ_F_TEXT},
    {"images", K_LIST, "images", SQ_F_TEXT},
    {"sku_id", K_SKU, "sku_id", SQ_F_I64},
    {"sku_spec_id", K_SKU, "spec_id", SQ_F_TEXT},
    {"sku_spec_text", K_SKU, "spec_text", SQ_F_TEXT},
    {"sku_price_fen", K_SKU, "price_fen", SQ_F_I64},
    {"sku_promo_price_fen", K_SKU, "promo_price_fen", SQ_F_I64},
    {"sku_retail_price_fen", K_SKU, "retail_price_fen", SQ_F_I64},
    {"sku_stock", K_SKU, "stock", SQ_F_I64},
    {"sku_weight_kg", K_SKU, "weight_kg", SQ_F_DOUBLE},
    {"sku_cargo_number", K_SKU, "cargo_number", SQ_F_TEXT},
};

#define NCOLS (sizeof cols / sizeof cols[0])

const char *const bp_csv_columns[] = {
    "offer_id",
    "source",
    "category_id",
    "top_category_id",
    "subject",
    "subject_tr",
    "unit",
    "status",
    "quote_type",
    "moq",
    "price_min_fen",
    "price_max_fen",
    "currency",
    "amount_on_sale",
    "sold_count",
    "sold_text",
    "unit_weight_kg",
    "detail_url",
    "video_url",
    "raw_sha256",
    "fetched_at",
    "supplier_seller_user_id",
    "supplier_member_id",
    "supplier_login_id",
    "supplier_open_id",
    "supplier_company_name",
    "supplier_shop_url",
    "supplier_province",
    "supplier_city",
    "attributes",
    "sku_props",
    "price_ranges",
    "images",
    "sku_id",
    "sku_spec_id",
    "sku_spec_text",
    "sku_price_fen",
    "sku_promo_price_fen",
    "sku_retail_price_fen",
    "sku_stock",
    "sku_weight_kg",
    "sku_cargo_number",
};
const size_t bp_csv_ncolumns = NCOLS;

static int
oom(syncq_error *err)
{
    return sq_fail(err, SYNCQ_ENOMEM, "out of memory in CSV");
}

/* ---- writing ----------------------------------------------------------- */

/* One CSV field, quoted when it must be. */
static int
put_field(struct sq_buf *b, const char *s, size_t n, bool first)
{
    bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');

    for (size_t i = 0; i < n && !quote; i++) {
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    }
    if (!first && sq_buf_add(b, ",", 1) != 0) {
        return -1;
    }
    if (!quote) {
        return sq_buf_add(b, s, n);
    }
    if (sq_buf_add(b, "\"", 1) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' && sq_buf_add(b, "\"", 1) != 0) {
            return -1;
        }
        if (sq_buf_add(b, &s[i], 1) != 0) {
            return -1;
        }
    }
    return sq_buf_add(b, "\"", 1);
}

/* A scalar as text ("" for absent). */
static void
scalar_text(const json_t *v, char *out, size_t cap)
{
    out[0] = '\0';
    if (json_is_integer(v)) {
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        snprintf(out, cap, "%.15g", d);
        if (strtod(out, NULL) != d) {
            snprintf(out, cap, "%.17g", d);
        }
    } else if (json_is_true(v)) {
        snprintf(out, cap, "true");
    } else if (json_is_false(v)) {
        snprintf(out, cap, "false");
    }
}

/* Append one packed part: escape '\' and '|' always, ':' unless last. */
static int
pack_part(struct sq_buf *b, const char *s, bool last)
{
    for (; s != NULL && *s != '\0'; s++) {
        if ((*s == '\\' || *s == '|' || (*s == ':' && !last)) &&
            sq_buf_add(b, "\\", 1) != 0) {
            return -1;
        }
        if (sq_buf_add(b, s, 1) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
pack_item(struct sq_buf *b, const json_t *o, const char *const *keys, size_t n,
          bool first_item)
{
    if (!first_item && sq_buf_add(b, "|", 1) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(o, keys[i]);
        char num[64];
        if (i > 0 && sq_buf_add(b, ":", 1) != 0) {
            return -1;
        }
        if (json_is_string(v)) {
            if (pack_part(b, json_string_value(v), i == n - 1) != 0) {
                return -1;
            }
        } else {
            scalar_text(v, num, sizeof num);
            if (sq_buf_adds(b, num) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* The packed text of list `key` of `rec`. */
static int
pack_list(const json_t *rec, const char *key, struct sq_buf *b)
{
    static const char *const attr[] = {"attr_id", "name", "value"};
    static const char *const tier[] = {"start_qty", "price_fen",
                                       "promo_price_fen"};
    static const char *const img[] = {"role", "ord", "url"};
    static const char *const prop[] = {"fid", "name"};
    static const char *const pval[] = {"fid", "name", "value", "image_url"};
    const json_t *list = json_object_get(rec, key);
    size_t i;
    const json_t *e;
    bool first = true;

    if (strcmp(key, "sku_props") != 0) {
        const char *const *keys = strcmp(key, "attributes") == 0     ? attr
                                  : strcmp(key, "price_ranges") == 0 ? tier
                                                                     : img;
        json_array_foreach(list, i, e)
        {
            if (pack_item(b, e, keys, 3, first) != 0) {
                return -1;
            }
            first = false;
        }
        return 0;
    }
    json_array_foreach(list, i, e)
    {
        const json_t *vals = json_object_get(e, "values");
        size_t j;
        const json_t *v;
        if (json_array_size(vals) == 0) {
            if (pack_item(b, e, prop, 2, first) != 0) {
                return -1;
            }
            first = false;
            continue;
        }
        json_array_foreach(vals, j, v)
        {
            json_t *flat = json_deep_copy(v);
            int rc;
            if (flat == NULL) {
                return -1;
            }
            json_object_set(flat, "fid", json_object_get(e, "fid"));
            json_object_set(flat, "name", json_object_get(e, "name"));
            rc = pack_item(b, flat, pval, 4, first);
            json_decref(flat);
            if (rc != 0) {
                return -1;
            }
            first = false;
        }
    }
    return 0;
}

int
bp_csv_format_header(struct sq_buf *out, syncq_error *err)
{
    for (size_t i = 0; i < NCOLS; i++) {
        if (put_field(out, cols[i].name, strlen(cols[i].name), i == 0) != 0) {
            return oom(err);
        }
    }
    return sq_buf_add(out, "\n", 1) == 0 ? SYNCQ_OK : oom(err);
}

int
bp_csv_format_offer(const json_t *rec, struct sq_buf *out, syncq_error *err)
{
    const json_t *skus = json_object_get(rec, "skus");
    const json_t *sup = json_object_get(rec, "supplier");
    size_t rows = json_array_size(skus) > 0 ? json_array_size(skus) : 1;
    struct sq_buf lists[4];
    int rc = SYNCQ_OK;

    for (int k = 0; k < 4; k++) {
        sq_buf_init(&lists[k], 0);
    }
    if (pack_list(rec, "attributes", &lists[0]) != 0 ||
        pack_list(rec, "sku_props", &lists[1]) != 0 ||
        pack_list(rec, "price_ranges", &lists[2]) != 0 ||
        pack_list(rec, "images", &lists[3]) != 0) {
        rc = oom(err);
        goto done;
    }
    for (size_t r = 0; r < rows && rc == SYNCQ_OK; r++) {
        const json_t *sku = json_array_get(skus, r);
        int li = 0;
        for (size_t i = 0; i < NCOLS; i++) {
            const json_t *v = NULL;
            char num[64];
            const char *s = num;
            size_t n;
            switch (cols[i].kind) {
            case K_OFFER:
                v = json_object_get(rec, cols[i].key);
                break;
            case K_SUPPLIER:
                v = json_object_get(sup, cols[i].key);
                break;
            case K_SKU:
                v = json_object_get(sku, cols[i].key);
                break;
            case K_LIST:
                break;
            }
            if (cols[i].kind == K_LIST) {
                s = lists[li].data != NULL ? lists[li].data : "";
                n = lists[li].len;
                li++;
            } else if (json_is_string(v)) {
                s = json_string_value(v);
                n = json_string_length(v);
            } else {
                scalar_text(v, num, sizeof num);
                n = strlen(num);
            }
            if (put_field(out, s, n, i == 0) != 0) {
                rc = oom(err);
                break;
            }
        }
        if (rc == SYNCQ_OK && sq_buf_add(out, "\n", 1) != 0) {
            rc = oom(err);
        }
    }
done:
    for (int k = 0; k < 4; k++) {
        sq_buf_cleanup(&lists[k]);
    }
    return rc;
}

/* ---- reading ----------------------------------------------------------- */

int
bp_csv_map_header(const struct bp_reader *r, struct bp_csv_map *m,
                  syncq_error *err)
{
    m->ignored = json_array();
    if (m->ignored == NULL) {
        return oom(err);
    }
    for (size_t i = 0; i < NCOLS; i++) {
        m->col[i] = -1;
    }
    for (int f = 0; f < r->nfields; f++) {
        const char *name = bp_field(r, f);
        size_t n = r->flen[f];
        bool known = false;
        if (f == 0 && n >= 3 && memcmp(name, "\xef\xbb\xbf", 3) == 0) {
            name += 3; /* UTF-8 byte order mark (spreadsheet exports) */
            n -= 3;
        }
        for (size_t i = 0; i < NCOLS; i++) {
            if (strlen(cols[i].name) == n &&
                memcmp(cols[i].name, name, n) == 0) {
                if (m->col[i] >= 0) {
                    return sq_fail(err, SYNCQ_EINVAL,
                                   "CSV header: column "
                                   "%s appears twice",
                                   cols[i].name);
                }
                m->col[i] = f;
                known = true;
            }
        }
        if (!known) {
            json_array_append_new(m->ignored, json_stringn(name, n));
        }
    }
    if (m->col[0] < 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "CSV header has no offer_id column "
                       "(first line: the column names)");
    }
    return SYNCQ_OK;
}

/* Column i's field as a NUL-terminated copy in buf; false if absent. */
static bool
field_text(const struct bp_reader *r, const struct bp_csv_map *m, size_t i,
           char **out)
{
    int f = m->col[i];

    *out = NULL;
    if (f < 0 || f >= r->nfields || r->flen[f] == 0) {
        return false;
    }
    *out = sq_strndup(bp_field(r, f), r->flen[f]);
    return true;
}

/* Set member `key` of `o` from text `s` as type `t`. */
static int
set_typed(json_t *o, const char *key, enum sq_ds_ftype t, const char *s,
          const char *col, syncq_error *err)
{
    json_t *v = NULL;

    if (t == SQ_F_I64) {
        char *end = NULL;
        long long n;
        errno = 0;
        n = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0') {
            return sq_fail(err, SYNCQ_EINVAL,
                           "column %s: '%.40s' is not an "
                           "integer",
                           col, s);
        }
        v = json_integer(n);
    } else if (t == SQ_F_DOUBLE) {
        char *end = NULL;
        double d;
        errno = 0;
        d = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(d)) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "column %s: '%.40s' is not a "
                           "number",
                           col, s);
        }
        v = json_real(d);
    } else {
        if (!sq_utf8_valid(s, strlen(s))) {
            return sq_fail(err, SYNCQ_EINVAL, "column %s: not valid UTF-8",
                           col);
        }
        v = json_string(s); /* NULL now only means out of memory */
    }
    if (v == NULL || json_object_set_new(o, key, v) != 0) {
        return oom(err);
    }
    return SYNCQ_OK;
}

/* Split `s` on unescaped `sep` into at most `max` parts (the last part
 * keeps later separators), unescaping; parts are stored back to back in
 * `s` itself. Returns the number of parts. */
static int
split_unescape(char *s, char sep, int max, char **parts)
{
    char *w = s;
    int n = 1;

    parts[0] = s;
    for (char *p = s; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            *w++ = *++p;
        } else if (*p == sep && n < max) {
            *w++ = '\0';
            parts[n++] = w;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return n;
}

/* Split on unescaped '|' without unescaping (items are split again). */
static int
split_items(char *s, char **items, int max)
{
    int n = 0;
    char *start = s;

    if (*s == '\0') {
        return 0;
    }
    for (char *p = s;; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            continue;
        }
        if (*p == '|' || *p == '\0') {
            bool end = *p == '\0';
            if (n == max) {
                return -1;
            }
            *p = '\0';
            items[n++] = start;
            start = p + 1;
            if (end) {
                break;
            }
        }
    }
    return n;
}

static int
unpack_list(json_t *offer, const char *key, char *text, syncq_error *err)
{
    static const struct sq_ds_field attr[] = {
        {"attr_id", SQ_F_I64}, {"name", SQ_F_TEXT}, {"value", SQ_F_TEXT}};
    static const struct sq_ds_field tier[] = {{"start_qty", SQ_F_I64},
                                              {"price_fen", SQ_F_I64},
                                              {"promo_price_fen", SQ_F_I64}};
    static const struct sq_ds_field img[] = {
        {"role", SQ_F_TEXT}, {"ord", SQ_F_I64}, {"url", SQ_F_TEXT}};
    bool props = strcmp(key, "sku_props") == 0;
    const struct sq_ds_field *f = strcmp(key, "attributes") == 0     ? attr
                                  : strcmp(key, "price_ranges") == 0 ? tier
                                                                     : img;
    json_t *list = json_array();
    char **items = NULL;
    int n;
    int rc = SYNCQ_OK;

    items = sq_calloc(SQ_DS_MAX_LIST, sizeof *items);
    if (list == NULL || items == NULL) {
        json_decref(list);
        sq_free(items);
        return oom(err);
    }
    n = split_items(text, items, SQ_DS_MAX_LIST);
    if (n < 0) {
        rc = sq_fail(err, SYNCQ_EINVAL, "column %s: over %d items", key,
                     SQ_DS_MAX_LIST);
        goto done;
    }
    for (int i = 0; i < n && rc == SYNCQ_OK; i++) {
        char *parts[4] = {NULL, NULL, NULL, NULL};
        int np = split_unescape(items[i], ':', props ? 4 : 3, parts);
        json_t *o = json_object();
        if (o == NULL) {
            rc = oom(err);
            break;
        }
        if (!props) {
            for (int k = 0; k < np && k < 3 && rc == SYNCQ_OK; k++) {
                if (parts[k][0] != '\0') {
                    rc = set_typed(o, f[k].key, f[k].type, parts[k], key, err);
                }
            }
            if (rc == SYNCQ_OK && json_array_append_new(list, o) != 0) {
                rc = oom(err);
            } else if (rc != SYNCQ_OK) {
                json_decref(o);
            }
            continue;
        }
        /* sku_props: fid:name[:value[:image_url]], grouped by fid+name */
        if (parts[0][0] != '\0') {
            rc = set_typed(o, "fid", SQ_F_I64, parts[0], key, err);
        }
        if (rc == SYNCQ_OK && np > 1) {
            rc = set_typed(o, "name", SQ_F_TEXT, parts[1], key, err);
        }
        if (rc == SYNCQ_OK) {
            json_t *last = json_array_get(list, json_array_size(list) - 1);
            json_t *vals;
            if (last == NULL ||
                !json_equal(json_object_get(last, "fid"),
                            json_object_get(o, "fid")) ||
                !json_equal(json_object_get(last, "name"),
                            json_object_get(o, "name"))) {
                json_object_set_new(o, "values", json_array());
                json_array_append(list, o);
                last = o;
            }
            vals = json_object_get(last, "values");
            if (np > 2) {
                json_t *v = json_object();
                if (v == NULL) {
                    rc = oom(err);
                } else {
                    rc = set_typed(v, "value", SQ_F_TEXT, parts[2], key, err);
                    if (rc == SYNCQ_OK && np > 3 && parts[3][0] != '\0') {
                        rc = set_typed(v, "image_url", SQ_F_TEXT, parts[3], key,
                                       err);
                    }
                    if (rc == SYNCQ_OK) {
                        json_array_append(vals, v);
                    }
                    json_decref(v);
                }
            }
        }
        json_decref(o);
    }
done:
    sq_free(items);
    if (rc == SYNCQ_OK && json_object_set_new(offer, key, list) != 0) {
        return oom(err);
    }
    if (rc != SYNCQ_OK) {
        json_decref(list);
    }
    return rc;
}

int
bp_csv_offer_id(const struct bp_reader *r, const struct bp_csv_map *m,
                int64_t *out, syncq_error *err)
{
    char *s = NULL;
    char *end = NULL;
    long long v;

    if (!field_text(r, m, 0, &s)) {
        return sq_fail(err, SYNCQ_EINVAL, "offer_id is empty");
    }
    if (s == NULL) {
        return oom(err);
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v <= 0) {
        int rc = sq_fail(err, SYNCQ_EINVAL,
                         "offer_id '%.40s' is not a "
                         "positive integer",
                         s);
        sq_free(s);
        return rc;
    }
    sq_free(s);
    *out = (int64_t)v;
    return SYNCQ_OK;
}

int
bp_csv_add_row(const struct bp_reader *r, const struct bp_csv_map *m,
               json_t **offer, syncq_error *err)
{
    json_t *o = *offer;
    json_t *sup = NULL;
    json_t *sku = json_object();
    bool fresh = o == NULL;
    int rc = SYNCQ_OK;

    if (sku == NULL) {
        return oom(err);
    }
    if (fresh) {
        o = json_object();
        sup = json_object();
        if (o == NULL || sup == NULL) {
            json_decref(o);
            json_decref(sup);
            json_decref(sku);
            return oom(err);
        }
    }
    for (size_t i = 0; i < NCOLS && rc == SYNCQ_OK; i++) {
        char *s = NULL;
        if (!fresh && cols[i].kind != K_SKU) {
            continue;
        }
        if (!field_text(r, m, i, &s)) {
            continue;
        }
        if (s == NULL) {
            rc = oom(err);
            break;
        }
        switch (cols[i].kind) {
        case K_OFFER:
            rc = set_typed(o, cols[i].key, cols[i].type, s, cols[i].name, err);
            break;
        case K_SUPPLIER:
            rc =
                set_typed(sup, cols[i].key, cols[i].type, s, cols[i].name, err);
            break;
        case K_SKU:
            rc =
                set_typed(sku, cols[i].key, cols[i].type, s, cols[i].name, err);
            break;
        case K_LIST:
            rc = unpack_list(o, cols[i].key, s, err);
            break;
        }
        sq_free(s);
    }
    if (rc == SYNCQ_OK && fresh && json_object_size(sup) > 0) {
        rc = json_object_set(o, "supplier", sup) == 0 ? SYNCQ_OK : oom(err);
    }
    if (rc == SYNCQ_OK && json_object_size(sku) > 0) {
        json_t *skus = json_object_get(o, "skus");
        if (skus == NULL) {
            skus = json_array();
            if (skus == NULL || json_object_set_new(o, "skus", skus) != 0) {
                rc = oom(err);
            }
        }
        if (rc == SYNCQ_OK && json_array_size(skus) >= SQ_DS_MAX_LIST) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "more than %d SKU rows for one "
                         "offer",
                         SQ_DS_MAX_LIST);
        }
        if (rc == SYNCQ_OK && json_array_append(skus, sku) != 0) {
            rc = oom(err);
        }
    }
    json_decref(sku);
    json_decref(sup);
    if (rc != SYNCQ_OK) {
        if (fresh) {
            json_decref(o);
        }
        return rc;
    }
    *offer = o;
    return SYNCQ_OK;
}
