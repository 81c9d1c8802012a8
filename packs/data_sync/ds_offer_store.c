/* SPDX-License-Identifier: MIT
 *
 * ds_offer_store.c: offers in the database: listing-only offers (the
 * summary a listing page gives),
 * deletes, and the read-back used by exports (the upsert of canonical
 * offers: ds_offer_batch.c). Columns: ds_offer.h; contract: ds_catalog.h.
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

/* ---- writing --------------------------------------------------------- */

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

    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
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
            return sq_ds_oom(err);
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
            return sq_ds_oom(err);
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
        return sq_ds_oom(err);
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
    for (size_t i = 0; i < sq_ds_offer_cols.n; i++) {
        sq_buf_printf(&b, "%s, ", sq_ds_offer_cols.f[i].key);
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
        return sq_ds_oom(err);
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
    for (size_t i = 0; i < sq_ds_offer_cols.n; i++) {
        rc = sq_ds_col_to_json(o, st, (int)i, &sq_ds_offer_cols.f[i], err);
        if (rc != SYNCQ_OK) {
            sq_db_reset(st);
            goto fail;
        }
    }
    has_sup = !sq_db_col_null(st, (int)sq_ds_offer_cols.n);
    supplier_id = sq_db_col_i64(st, (int)sq_ds_offer_cols.n);
    sq_db_reset(st);
    if (has_sup) {
        json_t *s = NULL;
        rc = sq_ds_supplier_load(db, supplier_id, &s, err);
        if (rc == SYNCQ_OK) {
            if (json_object_set_new(o, "supplier", s) != 0) {
                rc = sq_ds_oom(err);
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
                       sq_ds_attr_cols.f, sq_ds_attr_cols.n, list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = add_list(o, "sku_props", &props, err);
    }
    if (rc == SYNCQ_OK) {
        rc = load_list(db, offer_id,
                       "SELECT fid, name FROM sku_prop WHERE offer_id = ? "
                       "ORDER BY prop_ord",
                       sq_ds_prop_cols.f, sq_ds_prop_cols.n, props, err);
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
                rc = sq_ds_oom(err);
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
                rc = sq_ds_oom(err);
                goto fail;
            }
            if (sq_ds_col_to_json(v, st, 1, &sq_ds_propval_cols.f[0], err) !=
                    0 ||
                sq_ds_col_to_json(v, st, 2, &sq_ds_propval_cols.f[1], err) !=
                    0) {
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
                       sq_ds_sku_cols.f, sq_ds_sku_cols.n, list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = add_list(o, "price_ranges", &list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = load_list(db, offer_id,
                       "SELECT start_qty, price_fen, promo_price_fen FROM "
                       "price_tier WHERE offer_id = ? ORDER BY tier_ord",
                       sq_ds_tier_cols.f, sq_ds_tier_cols.n, list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = add_list(o, "images", &list, err);
    }
    if (rc == SYNCQ_OK) {
        rc = load_list(db, offer_id,
                       "SELECT i.url, pi.role, pi.ord FROM product_image pi "
                       "JOIN image i ON i.image_id = pi.image_id "
                       "WHERE pi.offer_id = ? ORDER BY pi.role, pi.ord",
                       sq_ds_image_cols.f, sq_ds_image_cols.n, list, err);
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
