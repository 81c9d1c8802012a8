/* SPDX-License-Identifier: MIT
 *
 * ds_offer.c: offers (products) in the catalog: the canonical record,
 * the upsert with its child rows, listing-page stubs, the read-back used
 * by exports, deletes, and the duplicate fingerprint. See ds_catalog.h
 * for the contract and docs/database.md for the tables.
 */
#include "data_sync/ds_catalog.h"
#include "core/sq_alloc.h"
#include "core/sq_buf.h"
#include "core/sq_error.h"
#include "core/sq_hash.h"
#include "db/ds_util.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

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

/* ---- canonical form -------------------------------------------------- */

static int
oom(syncq_error *err)
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
        return oom(err);
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
            return oom(err);
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
            return oom(err);
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
        return oom(err);
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
            return oom(err);
        }
        rc = sq_ds_copy_fields(o, e, prop_fields, N(prop_fields), where, err);
        if (rc != SYNCQ_OK) {
            json_decref(ov);
            return rc;
        }
        if (json_object_set_new(o, "values", ov) != 0) {
            return oom(err);
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
                return oom(err);
            }
            if (json_is_string(v)) {
                if (json_object_set_new(
                        pv, "value", json_string(json_string_value(v))) != 0) {
                    return oom(err);
                }
            } else if (json_is_object(v)) {
                char w2[96];
                snprintf(w2, sizeof w2, "%s.values[%zu]", where, j);
                rc = sq_ds_copy_fields(pv, v, propval_fields, N(propval_fields),
                                       w2, err);
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
        return oom(err);
    }
    rc = get_list(in, "images", &src, err);
    if (rc != SYNCQ_OK || src == NULL || json_array_size(src) == 0) {
        return rc;
    }
    tmp = sq_calloc(json_array_size(src), sizeof *tmp);
    if (tmp == NULL) {
        return oom(err);
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
            rc = oom(err);
            goto done;
        }
        snprintf(where, sizeof where, "offer.images[%zu]", i);
        if (json_is_string(e)) {
            if (json_object_set_new(o, "url",
                                    json_string(json_string_value(e))) != 0) {
                json_decref(o);
                rc = oom(err);
                goto done;
            }
        } else if (json_is_object(e)) {
            rc = sq_ds_copy_fields(o, e, image_fields, N(image_fields), where,
                                   err);
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
                rc = oom(err);
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
                rc = oom(err);
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
                rc = oom(err);
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
            rc = oom(err);
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
        return oom(err);
    }
    rc = sq_ds_copy_fields(o, in, offer_fields, N(offer_fields), "offer", err);
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
                rc = oom(err);
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
    rc = canon_flat_list(o, in, "attributes", attr_fields, N(attr_fields), err);
    if (rc == SYNCQ_OK) {
        rc = canon_sku_props(o, in, err);
    }
    if (rc == SYNCQ_OK) {
        rc = canon_flat_list(o, in, "skus", sku_fields, N(sku_fields), err);
    }
    if (rc == SYNCQ_OK) {
        rc = canon_flat_list(o, in, "price_ranges", tier_fields, N(tier_fields),
                             err);
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

/* ---- writing --------------------------------------------------------- */

/* INSERT ... ON CONFLICT of table product, built once from offer_fields:
 * parameters are the offer fields, then supplier_id, content_hash,
 * fingerprint, first_seen, synced_at. */
static const char *
product_upsert_sql(void)
{
    static char *sql;
    struct sq_buf b;

    if (sql != NULL) {
        return sql;
    }
    sq_buf_init(&b, 0);
    sq_buf_adds(&b, "INSERT INTO product (");
    for (size_t i = 0; i < N(offer_fields); i++) {
        sq_buf_printf(&b, "%s, ", offer_fields[i].key);
    }
    sq_buf_adds(&b, "supplier_id, content_hash, fingerprint, first_seen, "
                    "synced_at) VALUES (");
    for (size_t i = 0; i < N(offer_fields) + 5; i++) {
        sq_buf_adds(&b, i == 0 ? "?" : ", ?");
    }
    sq_buf_adds(&b, ") ON CONFLICT (offer_id) DO UPDATE SET ");
    for (size_t i = 1; i < N(offer_fields); i++) {
        sq_buf_printf(&b, "%s = excluded.%s, ", offer_fields[i].key,
                      offer_fields[i].key);
    }
    sq_buf_adds(&b, "supplier_id = excluded.supplier_id, "
                    "content_hash = excluded.content_hash, "
                    "fingerprint = excluded.fingerprint, "
                    "synced_at = excluded.synced_at");
    sql = sq_buf_steal(&b);
    return sql;
}

/* Find or create the image row of `url`; *id_out its image_id. */
static int
image_row(struct sq_db *db, const char *url, int64_t *id_out, syncq_error *err)
{
    static const char sql[] =
        "INSERT INTO image (url_key, url, status) VALUES (?, ?, 'pending') "
        "ON CONFLICT (url_key) DO UPDATE SET url_key = excluded.url_key "
        "RETURNING image_id";
    struct sq_db_stmt *st;
    char key[2048];
    int rc;

    rc = sq_ds_image_url_key(url, key, sizeof key, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_db_prepare(db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_text(st, 1, key);
    sq_db_bind_text(st, 2, url);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        return sq_fail(err, SYNCQ_EDB, "image upsert returned no id");
    }
    *id_out = sq_db_col_i64(st, 0);
    sq_db_reset(st);
    return SYNCQ_OK;
}

static int
link_image(struct sq_db *db, int64_t offer_id, const char *role, int64_t ord,
           int64_t image_id, syncq_error *err)
{
    static const char sql[] =
        "INSERT INTO product_image (offer_id, role, ord, image_id) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (offer_id, role, ord) DO NOTHING";
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, sql, &st, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, offer_id);
    sq_db_bind_text(st, 2, role);
    sq_db_bind_i64(st, 3, ord);
    sq_db_bind_i64(st, 4, image_id);
    rc = sq_db_step(st, err);
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
delete_children(struct sq_db *db, int64_t offer_id, syncq_error *err)
{
    static const char *const sqls[] = {
        "DELETE FROM product_attribute WHERE offer_id = ?",
        "DELETE FROM sku_prop WHERE offer_id = ?",
        "DELETE FROM sku_prop_value WHERE offer_id = ?",
        "DELETE FROM sku WHERE offer_id = ?",
        "DELETE FROM price_tier WHERE offer_id = ?",
        "DELETE FROM product_image WHERE offer_id = ?",
    };

    for (size_t i = 0; i < N(sqls); i++) {
        struct sq_db_stmt *st;
        int rc = sq_db_prepare(db, sqls[i], &st, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        sq_db_bind_i64(st, 1, offer_id);
        rc = sq_db_step(st, err);
        if (rc < 0) {
            return rc;
        }
    }
    return SYNCQ_OK;
}

/* Insert each element of list `key` of `canon` with `sql`: parameters
 * offer_id, the element's position, then the fields. */
static int
insert_list(struct sq_db *db, const json_t *canon, int64_t offer_id,
            const char *key, const char *sql, const struct sq_ds_field *f,
            size_t nf, syncq_error *err)
{
    const json_t *list = json_object_get(canon, key);
    size_t i;
    const json_t *e;

    json_array_foreach(list, i, e)
    {
        struct sq_db_stmt *st;
        int rc = sq_db_prepare(db, sql, &st, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        sq_db_bind_i64(st, 1, offer_id);
        sq_db_bind_i64(st, 2, (int64_t)i);
        for (size_t k = 0; k < nf; k++) {
            sq_ds_bind_field(st, (int)k + 3, e, &f[k]);
        }
        rc = sq_db_step(st, err);
        if (rc < 0) {
            return rc;
        }
    }
    return SYNCQ_OK;
}

static int
insert_sku_props(struct sq_db *db, const json_t *canon, int64_t offer_id,
                 syncq_error *err)
{
    static const char psql[] = "INSERT INTO sku_prop (offer_id, prop_ord, "
                               "fid, name) VALUES (?, ?, ?, ?)";
    static const char vsql[] =
        "INSERT INTO sku_prop_value (offer_id, prop_ord, value_ord, value, "
        "image_url) VALUES (?, ?, ?, ?, ?)";
    const json_t *list = json_object_get(canon, "sku_props");
    size_t i;
    const json_t *e;
    int rc;

    json_array_foreach(list, i, e)
    {
        struct sq_db_stmt *st;
        size_t j;
        const json_t *v;
        rc = sq_db_prepare(db, psql, &st, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        sq_db_bind_i64(st, 1, offer_id);
        sq_db_bind_i64(st, 2, (int64_t)i);
        sq_ds_bind_field(st, 3, e, &prop_fields[0]);
        sq_ds_bind_field(st, 4, e, &prop_fields[1]);
        rc = sq_db_step(st, err);
        if (rc < 0) {
            return rc;
        }
        json_array_foreach(json_object_get(e, "values"), j, v)
        {
            rc = sq_db_prepare(db, vsql, &st, err);
            if (rc != SYNCQ_OK) {
                return rc;
            }
            sq_db_bind_i64(st, 1, offer_id);
            sq_db_bind_i64(st, 2, (int64_t)i);
            sq_db_bind_i64(st, 3, (int64_t)j);
            sq_ds_bind_field(st, 4, v, &propval_fields[0]);
            sq_ds_bind_field(st, 5, v, &propval_fields[1]);
            rc = sq_db_step(st, err);
            if (rc < 0) {
                return rc;
            }
        }
    }
    return SYNCQ_OK;
}

int
sq_ds_offer_store(struct sq_db *db, const json_t *canon, bool force,
                  int *outcome, syncq_error *err)
{
    static const char sel[] =
        "SELECT content_hash FROM product WHERE offer_id = ?";
    struct sq_db_stmt *st;
    int64_t offer_id =
        (int64_t)json_integer_value(json_object_get(canon, "offer_id"));
    const json_t *sup = json_object_get(canon, "supplier");
    int64_t supplier_id = 0;
    bool exists = false;
    char hash[65];
    char fp[41];
    char now[40];
    int64_t pmin = 0;
    int64_t pmax = 0;
    int o;
    int rc;

    *outcome = SQ_DS_UNCHANGED;
    rc = sq_ds_canonical_hash(canon, hash, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_db_prepare(db, sel, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, offer_id);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 1) {
        const char *old = sq_db_col_text(st, 0);
        exists = true;
        if (!force && old != NULL && strcmp(old, hash) == 0) {
            sq_db_reset(st);
            return SYNCQ_OK;
        }
        sq_db_reset(st);
    }
    if (sup != NULL) {
        rc = sq_ds_supplier_store(db, sup, false, &supplier_id, &o, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    sq_ds_get_i64(canon, "price_min_fen", &pmin);
    sq_ds_get_i64(canon, "price_max_fen", &pmax);
    sq_ds_fingerprint(supplier_id, sup != NULL, sq_ds_get_str(canon, "subject"),
                      pmin, pmax, fp);
    sq_ds_now_iso(now, sizeof now);
    rc = sq_db_prepare(db, product_upsert_sql(), &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (size_t i = 0; i < N(offer_fields); i++) {
        sq_ds_bind_field(st, (int)i + 1, canon, &offer_fields[i]);
    }
    {
        int k = (int)N(offer_fields);
        if (sup != NULL) {
            sq_db_bind_i64(st, k + 1, supplier_id);
        } else {
            sq_db_bind_null(st, k + 1);
        }
        sq_db_bind_text(st, k + 2, hash);
        sq_db_bind_text(st, k + 3, fp[0] != '\0' ? fp : NULL);
        sq_db_bind_text(st, k + 4, now);
        sq_db_bind_text(st, k + 5, now);
    }
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (exists) {
        rc = delete_children(db, offer_id, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    rc = insert_list(db, canon, offer_id, "attributes",
                     "INSERT INTO product_attribute (offer_id, ord, attr_id, "
                     "name, value) VALUES (?, ?, ?, ?, ?)",
                     attr_fields, N(attr_fields), err);
    if (rc == SYNCQ_OK) {
        rc = insert_sku_props(db, canon, offer_id, err);
    }
    if (rc == SYNCQ_OK) {
        rc = insert_list(db, canon, offer_id, "skus",
                         "INSERT INTO sku (offer_id, sku_ord, sku_id, spec_id,"
                         " spec_text, price_fen, promo_price_fen, "
                         "retail_price_fen, stock, weight_kg, cargo_number) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         sku_fields, N(sku_fields), err);
    }
    if (rc == SYNCQ_OK) {
        rc = insert_list(db, canon, offer_id, "price_ranges",
                         "INSERT INTO price_tier (offer_id, tier_ord, "
                         "start_qty, price_fen, promo_price_fen) "
                         "VALUES (?, ?, ?, ?, ?)",
                         tier_fields, N(tier_fields), err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    {
        size_t i;
        const json_t *img;
        json_array_foreach(json_object_get(canon, "images"), i, img)
        {
            int64_t image_id;
            rc = image_row(db, sq_ds_get_str(img, "url"), &image_id, err);
            if (rc == SYNCQ_OK) {
                rc = link_image(
                    db, offer_id, sq_ds_get_str(img, "role"),
                    (int64_t)json_integer_value(json_object_get(img, "ord")),
                    image_id, err);
            }
            if (rc != SYNCQ_OK) {
                return rc;
            }
        }
    }
    *outcome = exists ? SQ_DS_UPDATED : SQ_DS_INSERTED;
    return SYNCQ_OK;
}

int
sq_ds_listing_store(struct sq_db *db, const json_t *item, int64_t category_id,
                    int *outcome, syncq_error *err)
{
    static const char ins[] =
        "INSERT INTO product (offer_id, supplier_id, category_id, subject, "
        "status, price_min_fen, price_max_fen, currency, sold_count, source, "
        "fingerprint, first_seen, synced_at) "
        "VALUES (?, ?, ?, ?, 'published', ?, ?, 'CNY', ?, 'list', ?, ?, ?) "
        "ON CONFLICT (offer_id) DO NOTHING";
    struct sq_db_stmt *st;
    int64_t offer_id;
    int64_t seller = 0;
    int64_t supplier_id = 0;
    bool has_sup = false;
    int64_t price = 0;
    bool has_price;
    int64_t sold = 0;
    bool has_sold;
    int64_t exists = 0;
    const char *subject = sq_ds_get_str(item, "subject");
    const char *img = sq_ds_get_str(item, "image_url");
    char fp[41];
    char now[40];
    int o;
    int rc;

    *outcome = SQ_DS_UNCHANGED;
    if (!json_is_object(item) || !sq_ds_get_i64(item, "offer_id", &offer_id) ||
        offer_id <= 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "listing entry has no valid "
                       "offer_id");
    }
    rc = sq_db_query_i64(db, "SELECT COUNT(*) FROM product WHERE offer_id = ?",
                         true, offer_id, &exists, err);
    if (rc != SYNCQ_OK || exists > 0) {
        return rc;
    }
    if (sq_ds_get_i64(item, "seller_user_id", &seller) && seller > 0) {
        json_t *s = json_pack("{sI}", "seller_user_id", (json_int_t)seller);
        if (s == NULL) {
            return oom(err);
        }
        rc = sq_ds_supplier_store(db, s, false, &supplier_id, &o, err);
        json_decref(s);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        has_sup = true;
    }
    has_price = sq_ds_get_i64(item, "price_fen", &price);
    has_sold = sq_ds_get_i64(item, "sold_count", &sold);
    sq_ds_fingerprint(supplier_id, has_sup, subject, price, price, fp);
    rc = sq_db_prepare(db, ins, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, offer_id);
    if (has_sup) {
        sq_db_bind_i64(st, 2, supplier_id);
    } else {
        sq_db_bind_null(st, 2);
    }
    if (category_id > 0) {
        sq_db_bind_i64(st, 3, category_id);
    } else {
        sq_db_bind_null(st, 3);
    }
    sq_db_bind_text(st, 4, subject);
    if (has_price) {
        sq_db_bind_i64(st, 5, price);
        sq_db_bind_i64(st, 6, price);
    } else {
        sq_db_bind_null(st, 5);
        sq_db_bind_null(st, 6);
    }
    if (has_sold) {
        sq_db_bind_i64(st, 7, sold);
    } else {
        sq_db_bind_null(st, 7);
    }
    sq_db_bind_text(st, 8, fp[0] != '\0' ? fp : NULL);
    sq_ds_now_iso(now, sizeof now);
    sq_db_bind_text(st, 9, now);
    sq_db_bind_text(st, 10, now);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (sq_db_changes(db) == 0) {
        return SYNCQ_OK;
    }
    if (img != NULL && img[0] != '\0') {
        int64_t image_id;
        if (image_row(db, img, &image_id, NULL) == SYNCQ_OK) {
            rc = link_image(db, offer_id, "main", 0, image_id, err);
            if (rc != SYNCQ_OK) {
                return rc;
            }
        }
    }
    *outcome = SQ_DS_INSERTED;
    return SYNCQ_OK;
}

int
sq_ds_offer_delete(struct sq_db *db, int64_t offer_id, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = delete_children(db, offer_id, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_db_prepare(db, "DELETE FROM product WHERE offer_id = ?", &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, offer_id);
    rc = sq_db_step(st, err);
    return rc < 0 ? rc : SYNCQ_OK;
}

/* ---- reading back ---------------------------------------------------- */

/* Run `sql` (one parameter: offer_id) and append one object per row,
 * built from columns 0.. with fields f[0..nf). */
static int
load_list(struct sq_db *db, int64_t offer_id, const char *sql,
          const struct sq_ds_field *f, size_t nf, json_t *list,
          syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, sql, &st, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, offer_id);
    while ((rc = sq_db_step(st, err)) == 1) {
        json_t *o = json_object();
        if (o == NULL || json_array_append_new(list, o) != 0) {
            sq_db_reset(st);
            return oom(err);
        }
        for (size_t k = 0; k < nf; k++) {
            rc = sq_ds_col_to_json(o, st, (int)k, &f[k], err);
            if (rc != SYNCQ_OK) {
                sq_db_reset(st);
                return rc;
            }
        }
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
add_list(json_t *o, const char *key, json_t **list, syncq_error *err)
{
    *list = json_array();
    if (*list == NULL || json_object_set_new(o, key, *list) != 0) {
        return oom(err);
    }
    return SYNCQ_OK;
}

static const char *
product_select_sql(void)
{
    static char *sql;
    struct sq_buf b;

    if (sql != NULL) {
        return sql;
    }
    sq_buf_init(&b, 0);
    sq_buf_adds(&b, "SELECT ");
    for (size_t i = 0; i < N(offer_fields); i++) {
        sq_buf_printf(&b, "%s, ", offer_fields[i].key);
    }
    sq_buf_adds(&b, "supplier_id FROM product WHERE offer_id = ?");
    sql = sq_buf_steal(&b);
    return sql;
}

int
sq_ds_offer_load(struct sq_db *db, int64_t offer_id, json_t **out,
                 syncq_error *err)
{
    struct sq_db_stmt *st;
    json_t *o = json_object();
    json_t *list;
    json_t *props;
    int64_t supplier_id = 0;
    bool has_sup = false;
    int rc;

    *out = NULL;
    if (o == NULL) {
        return oom(err);
    }
    rc = sq_db_prepare(db, product_select_sql(), &st, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    sq_db_bind_i64(st, 1, offer_id);
    rc = sq_db_step(st, err);
    if (rc <= 0) {
        if (rc == 0) {
            rc = sq_fail(err, SYNCQ_ENOTFOUND, "no product %lld",
                         (long long)offer_id);
        }
        goto fail;
    }
    for (size_t i = 0; i < N(offer_fields); i++) {
        rc = sq_ds_col_to_json(o, st, (int)i, &offer_fields[i], err);
        if (rc != SYNCQ_OK) {
            sq_db_reset(st);
            goto fail;
        }
    }
    has_sup = !sq_db_col_null(st, (int)N(offer_fields));
    supplier_id = sq_db_col_i64(st, (int)N(offer_fields));
    sq_db_reset(st);
    if (has_sup) {
        json_t *s = NULL;
        rc = sq_ds_supplier_load(db, supplier_id, &s, err);
        if (rc == SYNCQ_OK) {
            if (json_object_set_new(o, "supplier", s) != 0) {
                rc = oom(err);
                goto fail;
            }
        } else if (rc != SYNCQ_ENOTFOUND) {
            goto fail;
        }
    }
    rc = add_list(o, "attributes", &list, err);
    if (rc == SYNCQ_OK) {
        rc = load_list(db, offer_id,
                       "SELECT attr_id, name, value FROM product_attribute "
                       "WHERE offer_id = ? ORDER BY ord",
                       attr_fields, N(attr_fields), list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = add_list(o, "sku_props", &props, err);
    }
    if (rc == SYNCQ_OK) {
        rc = load_list(db, offer_id,
                       "SELECT fid, name FROM sku_prop WHERE offer_id = ? "
                       "ORDER BY prop_ord",
                       prop_fields, N(prop_fields), props, err);
    }
    if (rc == SYNCQ_OK) {
        /* values: one query, distributed by prop_ord */
        static const char vsql[] =
            "SELECT prop_ord, value, image_url FROM sku_prop_value "
            "WHERE offer_id = ? ORDER BY prop_ord, value_ord";
        size_t i;
        json_t *p;
        json_array_foreach(props, i, p)
        {
            json_t *vals = json_array();
            if (vals == NULL || json_object_set_new(p, "values", vals) != 0) {
                rc = oom(err);
                goto fail;
            }
        }
        rc = sq_db_prepare(db, vsql, &st, err);
        if (rc != SYNCQ_OK) {
            goto fail;
        }
        sq_db_bind_i64(st, 1, offer_id);
        while ((rc = sq_db_step(st, err)) == 1) {
            int64_t po = sq_db_col_i64(st, 0);
            json_t *vals =
                json_object_get(json_array_get(props, (size_t)po), "values");
            json_t *v = json_object();
            if (v == NULL || vals == NULL ||
                json_array_append_new(vals, v) != 0) {
                if (vals == NULL) {
                    json_decref(v);
                    continue; /* orphan value row: skip */
                }
                sq_db_reset(st);
                rc = oom(err);
                goto fail;
            }
            if (sq_ds_col_to_json(v, st, 1, &propval_fields[0], err) != 0 ||
                sq_ds_col_to_json(v, st, 2, &propval_fields[1], err) != 0) {
                sq_db_reset(st);
                rc = SYNCQ_ENOMEM;
                goto fail;
            }
        }
        if (rc < 0) {
            goto fail;
        }
        rc = SYNCQ_OK;
    }
    if (rc == SYNCQ_OK) {
        rc = add_list(o, "skus", &list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = load_list(db, offer_id,
                       "SELECT sku_id, spec_id, spec_text, price_fen, "
                       "promo_price_fen, retail_price_fen, stock, weight_kg, "
                       "cargo_number FROM sku WHERE offer_id = ? "
                       "ORDER BY sku_ord",
                       sku_fields, N(sku_fields), list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = add_list(o, "price_ranges", &list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = load_list(db, offer_id,
                       "SELECT start_qty, price_fen, promo_price_fen FROM "
                       "price_tier WHERE offer_id = ? ORDER BY tier_ord",
                       tier_fields, N(tier_fields), list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = add_list(o, "images", &list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = load_list(db, offer_id,
                       "SELECT i.url, pi.role, pi.ord FROM product_image pi "
                       "JOIN image i ON i.image_id = pi.image_id "
                       "WHERE pi.offer_id = ? ORDER BY pi.role, pi.ord",
                       image_fields, N(image_fields), list, err);
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
