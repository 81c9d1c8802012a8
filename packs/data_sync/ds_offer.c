/* SPDX-License-Identifier: MIT
 *
 * ds_offer.c: offers (products) in the catalog: their columns
 * (ds_offer.h), the canonical record and the duplicate fingerprint. The
 * upsert, listing-only rows, read-back and deletes: ds_offer_store.c. See
 * ds_catalog.h for the contract and docs/database.md for the tables.
 */
#include "data_sync/ds_offer.h"
#include "data_sync/ds_catalog.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"
#include "sq_hash.h"
#include "db/ds_util.h"

#include <stdio.h>
#include <string.h>

/* Scalar members of an offer = columns of table product. */
static const struct sq_ds_field offer_fields[] = {
    {"offer_id", SQ_F_I64},
    {"source", SQ_F_TEXT},
    {"category_id", SQ_F_I64},
    {"top_category_id", SQ_F_I64},
    {"subject", SQ_F_TEXT},
    {"subject_tr", SQ_F_TEXT},
    {"unit", SQ_F_TEXT},
    {"status", SQ_F_TEXT},
    {"quote_type", SQ_F_I64},
    {"moq", SQ_F_I64},
    {"price_min_fen", SQ_F_I64},
    {"price_max_fen", SQ_F_I64},
    {"currency", SQ_F_TEXT},
    {"amount_on_sale", SQ_F_I64},
    {"sold_count", SQ_F_I64},
    {"sold_text", SQ_F_TEXT},
    {"unit_weight_kg", SQ_F_DOUBLE},
    {"detail_url", SQ_F_TEXT},
    {"video_url", SQ_F_TEXT},
    {"raw_sha256", SQ_F_TEXT},
    {"fetched_at", SQ_F_TEXT},
};
static const struct sq_ds_field attr_fields[] = {
    {"attr_id", SQ_F_I64}, {"name", SQ_F_TEXT}, {"value", SQ_F_TEXT}};
static const struct sq_ds_field prop_fields[] = {{"fid", SQ_F_I64},
                                                 {"name", SQ_F_TEXT}};
static const struct sq_ds_field propval_fields[] = {{"value", SQ_F_TEXT},
                                                    {"image_url", SQ_F_TEXT}};
static const struct sq_ds_field sku_fields[] = {
    {"sku_id", SQ_F_I64},          {"spec_id", SQ_F_TEXT},
    {"spec_text", SQ_F_TEXT},      {"price_fen", SQ_F_I64},
    {"promo_price_fen", SQ_F_I64}, {"retail_price_fen", SQ_F_I64},
    {"stock", SQ_F_I64},           {"weight_kg", SQ_F_DOUBLE},
    {"cargo_number", SQ_F_TEXT},
};
static const struct sq_ds_field tier_fields[] = {{"start_qty", SQ_F_I64},
                                                 {"price_fen", SQ_F_I64},
                                                 {"promo_price_fen", SQ_F_I64}};
static const struct sq_ds_field image_fields[] = {
    {"url", SQ_F_TEXT}, {"role", SQ_F_TEXT}, {"ord", SQ_F_I64}};

#define COLS(a)                                                                \
    {                                                                          \
        a, sizeof(a) / sizeof((a)[0])                                          \
    }
const struct sq_ds_cols sq_ds_offer_cols = COLS(offer_fields);
const struct sq_ds_cols sq_ds_attr_cols = COLS(attr_fields);
const struct sq_ds_cols sq_ds_prop_cols = COLS(prop_fields);
const struct sq_ds_cols sq_ds_propval_cols = COLS(propval_fields);
const struct sq_ds_cols sq_ds_sku_cols = COLS(sku_fields);
const struct sq_ds_cols sq_ds_tier_cols = COLS(tier_fields);
const struct sq_ds_cols sq_ds_image_cols = COLS(image_fields);

/* ---- canonical form -------------------------------------------------- */

int
sq_ds_oom(syncq_error *err)
{
    return sq_fail(err, SYNCQ_ENOMEM, "out of memory building a record");
}

/* The array member `key` of `in` (NULL when absent/null). */
static int
get_list(const json_t *in, const char *key, const json_t **out,
         syncq_error *err)
{
    const json_t *v = json_object_get(in, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return SYNCQ_OK;
    }
    if (!json_is_array(v)) {
        return sq_fail(err, SYNCQ_EINVAL, "offer.%s: not a list", key);
    }
    if (json_array_size(v) > SQ_DS_MAX_LIST) {
        return sq_fail(err, SYNCQ_EINVAL, "offer.%s: %zu entries, limit %d",
                       key, json_array_size(v), SQ_DS_MAX_LIST);
    }
    *out = v;
    return SYNCQ_OK;
}

/* Canonical list of flat objects (attributes, skus, price_ranges). */
static int
canon_flat_list(json_t *out, const json_t *in, const char *key,
                const struct sq_ds_field *f, size_t nf, syncq_error *err)
{
    const json_t *src;
    json_t *list = json_array();
    size_t i;
    const json_t *e;
    int rc;

    if (list == NULL || json_object_set_new(out, key, list) != 0) {
        return sq_ds_oom(err);
    }
    rc = get_list(in, key, &src, err);
    if (rc != SYNCQ_OK || src == NULL) {
        return rc;
    }
    json_array_foreach(src, i, e)
    {
        char where[64];
        json_t *o;
        snprintf(where, sizeof where, "offer.%s[%zu]", key, i);
        if (!json_is_object(e)) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: not an object", where);
        }
        o = json_object();
        if (o == NULL) {
            return sq_ds_oom(err);
        }
        rc = sq_ds_copy_fields(o, e, f, nf, where, err);
        if (rc != SYNCQ_OK) {
            json_decref(o);
            return rc;
        }
        if (json_object_size(o) == 0) {
            json_decref(o); /* an entry with nothing known carries nothing */
            continue;
        }
        if (json_array_append_new(list, o) != 0) {
            return sq_ds_oom(err);
        }
    }
    return SYNCQ_OK;
}

static int
canon_sku_props(json_t *out, const json_t *in, syncq_error *err)
{
    const json_t *src;
    json_t *list = json_array();
    size_t i;
    const json_t *e;
    int rc;

    if (list == NULL || json_object_set_new(out, "sku_props", list) != 0) {
        return sq_ds_oom(err);
    }
    rc = get_list(in, "sku_props", &src, err);
    if (rc != SYNCQ_OK || src == NULL) {
        return rc;
    }
    json_array_foreach(src, i, e)
    {
        char where[64];
        const json_t *vals;
        json_t *o;
        json_t *ov;
        size_t j;
        const json_t *v;
        snprintf(where, sizeof where, "offer.sku_props[%zu]", i);
        if (!json_is_object(e)) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: not an object", where);
        }
        o = json_object();
        ov = json_array();
        if (o == NULL || json_array_append_new(list, o) != 0 || ov == NULL) {
            json_decref(ov);
            return sq_ds_oom(err);
        }
        rc = sq_ds_copy_fields(o, e, sq_ds_prop_cols.f, sq_ds_prop_cols.n,
                               where, err);
        if (rc != SYNCQ_OK) {
            json_decref(ov);
            return rc;
        }
        if (json_object_set_new(o, "values", ov) != 0) {
            return sq_ds_oom(err);
        }
        vals = json_object_get(e, "values");
        if (vals == NULL || json_is_null(vals)) {
            continue;
        }
        if (!json_is_array(vals) || json_array_size(vals) > SQ_DS_MAX_LIST) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s.values: not a list (or "
                           "over %d entries)",
                           where, SQ_DS_MAX_LIST);
        }
        json_array_foreach(vals, j, v)
        {
            json_t *pv = json_object();
            if (pv == NULL || json_array_append_new(ov, pv) != 0) {
                return sq_ds_oom(err);
            }
            if (json_is_string(v)) {
                if (json_object_set_new(
                        pv, "value", json_string(json_string_value(v))) != 0) {
                    return sq_ds_oom(err);
                }
            } else if (json_is_object(v)) {
                char w2[96];
                snprintf(w2, sizeof w2, "%s.values[%zu]", where, j);
                rc = sq_ds_copy_fields(pv, v, sq_ds_propval_cols.f,
                                       sq_ds_propval_cols.n, w2, err);
                if (rc != SYNCQ_OK) {
                    return rc;
                }
            } else {
                return sq_fail(err, SYNCQ_EINVAL,
                               "%s.values[%zu]: not an "
                               "object",
                               where, j);
            }
        }
    }
    return SYNCQ_OK;
}

static int
cmp_image(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a;
    const json_t *y = *(const json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "role")),
                   json_string_value(json_object_get(y, "role")));
    json_int_t ox;
    json_int_t oy;

    if (c != 0) {
        return c;
    }
    ox = json_integer_value(json_object_get(x, "ord"));
    oy = json_integer_value(json_object_get(y, "ord"));
    return ox < oy ? -1 : ox > oy;
}

/* Images: url required and keyable, role defaults to "main", ord to the
 * position among the record's images of that role; sorted by role then
 * ord; a repeated role+ord or an unusable URL is dropped (counted). */
static int
canon_images(json_t *out, const json_t *in, int *skipped, syncq_error *err)
{
    const json_t *src;
    json_t *list = json_array();
    json_t **tmp = NULL;
    size_t n = 0;
    size_t i;
    const json_t *e;
    int rc;
    struct {
        char role[16];
        int64_t next;
    } roles[16];
    size_t nroles = 0;

    if (list == NULL || json_object_set_new(out, "images", list) != 0) {
        return sq_ds_oom(err);
    }
    rc = get_list(in, "images", &src, err);
    if (rc != SYNCQ_OK || src == NULL || json_array_size(src) == 0) {
        return rc;
    }
    tmp = sq_calloc(json_array_size(src), sizeof *tmp);
    if (tmp == NULL) {
        return sq_ds_oom(err);
    }
    json_array_foreach(src, i, e)
    {
        char where[64];
        char key[2048];
        json_t *o = json_object();
        const char *role;
        size_t r;
        int64_t ord;
        if (o == NULL) {
            rc = sq_ds_oom(err);
            goto done;
        }
        snprintf(where, sizeof where, "offer.images[%zu]", i);
        if (json_is_string(e)) {
            if (json_object_set_new(o, "url",
                                    json_string(json_string_value(e))) != 0) {
                json_decref(o);
                rc = sq_ds_oom(err);
                goto done;
            }
        } else if (json_is_object(e)) {
            rc = sq_ds_copy_fields(o, e, sq_ds_image_cols.f, sq_ds_image_cols.n,
                                   where, err);
            if (rc != SYNCQ_OK) {
                json_decref(o);
                goto done;
            }
        } else {
            json_decref(o);
            rc = sq_fail(err, SYNCQ_EINVAL, "%s: not an object", where);
            goto done;
        }
        if (sq_ds_image_url_key(sq_ds_get_str(o, "url"), key, sizeof key,
                                NULL) != SYNCQ_OK) {
            json_decref(o);
            if (skipped != NULL) {
                (*skipped)++;
            }
            continue;
        }
        role = sq_ds_get_str(o, "role");
        if (role == NULL || role[0] == '\0' || strlen(role) >= 16) {
            if (json_object_set_new(o, "role", json_string("main")) != 0) {
                json_decref(o);
                rc = sq_ds_oom(err);
                goto done;
            }
            role = "main";
        }
        for (r = 0; r < nroles && strcmp(roles[r].role, role) != 0; r++) {
        }
        if (r == nroles) {
            if (nroles == 16) {
                json_decref(o);
                rc = sq_fail(err, SYNCQ_EINVAL,
                             "%s: more than 16 image "
                             "roles",
                             where);
                goto done;
            }
            snprintf(roles[r].role, sizeof roles[r].role, "%s", role);
            roles[r].next = 0;
            nroles++;
        }
        if (!sq_ds_get_i64(o, "ord", &ord)) {
            ord = roles[r].next;
            if (json_object_set_new(o, "ord", json_integer(ord)) != 0) {
                json_decref(o);
                rc = sq_ds_oom(err);
                goto done;
            }
        }
        roles[r].next = ord + 1;
        {
            /* Members in one fixed order (url, role, ord) whatever the
             * input had: the canonical hash depends on it. */
            json_t *fixed =
                json_pack("{s:O, s:s, s:I}", "url", json_object_get(o, "url"),
                          "role", role, "ord", (json_int_t)ord);
            json_decref(o);
            if (fixed == NULL) {
                rc = sq_ds_oom(err);
                goto done;
            }
            o = fixed;
        }
        tmp[n++] = o;
    }
    qsort(tmp, n, sizeof *tmp, cmp_image);
    for (i = 0; i < n; i++) {
        json_t *last = json_array_get(list, json_array_size(list) - 1);
        if (last != NULL && cmp_image(&last, &tmp[i]) == 0) {
            json_decref(tmp[i]);
            if (skipped != NULL) {
                (*skipped)++;
            }
            continue;
        }
        if (json_array_append_new(list, tmp[i]) != 0) {
            for (size_t k = i + 1; k < n; k++) {
                json_decref(tmp[k]);
            }
            rc = sq_ds_oom(err);
            goto done_nofree;
        }
    }
    n = 0;
    rc = SYNCQ_OK;
done:
    for (i = 0; i < n; i++) {
        json_decref(tmp[i]);
    }
done_nofree:
    sq_free(tmp);
    return rc;
}

int
sq_ds_offer_canonical(const json_t *in, json_t **out, int *skipped,
                      syncq_error *err)
{
    json_t *o = NULL;
    const json_t *sup;
    int64_t offer_id;
    int rc;

    *out = NULL;
    if (!json_is_object(in)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "offer record is not a JSON "
                       "object");
    }
    if (!sq_ds_get_i64(in, "offer_id", &offer_id) || offer_id <= 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "offer record has no valid "
                       "offer_id (a positive integer)");
    }
    o = json_object();
    if (o == NULL) {
        return sq_ds_oom(err);
    }
    rc = sq_ds_copy_fields(o, in, sq_ds_offer_cols.f, sq_ds_offer_cols.n,
                           "offer", err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    sup = json_object_get(in, "supplier");
    if (json_is_object(sup)) {
        json_t *cs = NULL;
        syncq_error serr;
        rc = sq_ds_supplier_canonical(sup, &cs, &serr);
        if (rc == SYNCQ_OK) {
            if (json_object_set_new(o, "supplier", cs) != 0) {
                rc = sq_ds_oom(err);
                goto fail;
            }
        } else if (rc != SYNCQ_EINVAL) {
            if (err != NULL) {
                *err = serr;
            }
            goto fail;
        } else if (strstr(serr.msg, "no identifier") == NULL) {
            rc = sq_fail(err, SYNCQ_EINVAL, "offer.%s", serr.msg);
            goto fail;
        }
        /* A supplier without any identifier cannot be matched to a row;
         * it stays in raw_payload only. */
    } else if (sup != NULL && !json_is_null(sup)) {
        rc = sq_fail(err, SYNCQ_EINVAL, "offer.supplier: not an object");
        goto fail;
    }
    rc = canon_flat_list(o, in, "attributes", sq_ds_attr_cols.f,
                         sq_ds_attr_cols.n, err);
    if (rc == SYNCQ_OK) {
        rc = canon_sku_props(o, in, err);
    }
    if (rc == SYNCQ_OK) {
        rc = canon_flat_list(o, in, "skus", sq_ds_sku_cols.f, sq_ds_sku_cols.n,
                             err);
    }
    if (rc == SYNCQ_OK) {
        rc = canon_flat_list(o, in, "price_ranges", sq_ds_tier_cols.f,
                             sq_ds_tier_cols.n, err);
    }
    if (rc == SYNCQ_OK) {
        rc = canon_images(o, in, skipped, err);
    }
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    *out = o;
    return SYNCQ_OK;
fail:
    json_decref(o);
    return rc;
}

/* ---- fingerprint ----------------------------------------------------- */

void
sq_ds_fingerprint(int64_t supplier_id, bool has_supplier, const char *subject,
                  int64_t price_min_fen, int64_t price_max_fen, char out[41])
{
    struct sq_buf b;
    const unsigned char *p = (const unsigned char *)subject;
    bool space = false;
    bool any = false;

    out[0] = '\0';
    if (!has_supplier || subject == NULL) {
        return;
    }
    sq_buf_init(&b, 1 << 20);
    sq_buf_printf(&b, "%lld\x1f", (long long)supplier_id);
    while (*p != '\0') {
        /* ASCII blanks and U+3000 (ideographic space) collapse to one. */
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            space = any;
            p++;
            continue;
        }
        if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) {
            space = any;
            p += 3;
            continue;
        }
        if (space) {
            sq_buf_add(&b, " ", 1);
            space = false;
        }
        {
            char c = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            sq_buf_add(&b, &c, 1);
        }
        any = true;
        p++;
    }
    if (!any) {
        sq_buf_cleanup(&b);
        return;
    }
    sq_buf_printf(&b, "\x1f%lld\x1f%lld", (long long)price_min_fen,
                  (long long)price_max_fen);
    if (b.data != NULL) {
        sq_sha1_hex(b.data, b.len, out);
    }
    sq_buf_cleanup(&b);
}
