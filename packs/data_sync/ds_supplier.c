/* SPDX-License-Identifier: MIT
 *
 * ds_supplier.c: suppliers (sellers) and categories in the catalog.
 * A seller has several identifiers and no single one is present in every
 * source (docs/1688-data.md §1), so a supplier row is found by
 * seller_user_id, then member_id, open_id, login_id, and a known value is
 * never overwritten by a missing one (COALESCE). Rows that turn out to be
 * the same seller are merged later by cleanup_duplicates.
 */
#include "data_sync/ds_catalog.h"
#include "data_sync/ds_offer.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"
#include "db/ds_util.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct sq_ds_field supplier_fields[] = {
    {"seller_user_id", SQ_F_I64},
    {"member_id", SQ_F_TEXT},
    {"login_id", SQ_F_TEXT},
    {"open_id", SQ_F_TEXT},
    {"company_name", SQ_F_TEXT},
    {"shop_url", SQ_F_TEXT},
    {"province", SQ_F_TEXT},
    {"city", SQ_F_TEXT},
    {"is_tp", SQ_F_BOOL},
    {"tp_years", SQ_F_I64},
    {"is_factory", SQ_F_BOOL},
    {"is_super_factory", SQ_F_BOOL},
    {"score_composite", SQ_F_DOUBLE},
    {"score_goods", SQ_F_DOUBLE},
    {"score_logistics", SQ_F_DOUBLE},
    {"score_return", SQ_F_DOUBLE},
    {"score_dispute", SQ_F_DOUBLE},
    {"score_consult", SQ_F_DOUBLE},
    {"repurchase_rate", SQ_F_DOUBLE},
};
const struct sq_ds_cols sq_ds_supplier_cols = {supplier_fields,
                                               N(supplier_fields)};

int
sq_ds_supplier_canonical(const json_t *in, json_t **out, syncq_error *err)
{
    json_t *o;
    int rc;
    bool has_id = false;

    *out = NULL;
    if (!json_is_object(in)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "supplier record is not a JSON "
                       "object");
    }
    o = json_object();
    if (o == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_ds_copy_fields(o, in, supplier_fields, N(supplier_fields),
                           "supplier", err);
    if (rc != SYNCQ_OK) {
        json_decref(o);
        return rc;
    }
    for (size_t i = 0; i < 4; i++) {
        const json_t *v = json_object_get(o, supplier_fields[i].key);
        if ((json_is_integer(v) && json_integer_value(v) > 0) ||
            (json_is_string(v) && json_string_length(v) > 0)) {
            has_id = true;
        }
    }
    if (!has_id) {
        json_decref(o);
        return sq_fail(err, SYNCQ_EINVAL,
                       "supplier has no identifier "
                       "(seller_user_id, member_id, open_id or login_id)");
    }
    *out = o;
    return SYNCQ_OK;
}

/* Identifier lookups, in matching order: lowest supplier_id wins. */
static const struct {
    int field; /* index into supplier_fields */
    const char *sql;
} ident_lookup[] = {
    {0, "SELECT supplier_id FROM supplier WHERE seller_user_id = ? "
        "ORDER BY supplier_id LIMIT 1"},
    {1, "SELECT supplier_id FROM supplier WHERE member_id = ? "
        "ORDER BY supplier_id LIMIT 1"},
    {3, "SELECT supplier_id FROM supplier WHERE open_id = ? "
        "ORDER BY supplier_id LIMIT 1"},
    {2, "SELECT supplier_id FROM supplier WHERE login_id = ? "
        "ORDER BY supplier_id LIMIT 1"},
};

static int
find_by(struct sq_db *db, const json_t *canon, size_t which, int64_t *id,
        bool *found, syncq_error *err)
{
    const struct sq_ds_field *f = &supplier_fields[ident_lookup[which].field];
    const json_t *v = json_object_get(canon, f->key);
    struct sq_db_stmt *st;
    int rc;

    *found = false;
    if (v == NULL || (json_is_string(v) && json_string_length(v) == 0)) {
        return SYNCQ_OK;
    }
    rc = sq_db_prepare(db, ident_lookup[which].sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_ds_bind_field(st, 1, canon, f);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 1) {
        *id = sq_db_col_i64(st, 0);
        *found = true;
        sq_db_reset(st);
    }
    return SYNCQ_OK;
}

/* UPDATE that fills and refreshes a row but never erases: parameters are
 * the fields, content_hash, synced_at, supplier_id, then the fields and
 * content_hash again for the "anything changed" test. */
static const char *
update_sql(void)
{
    static char *sql;
    struct sq_buf b;

    if (sql != NULL) {
        return sql;
    }
    sq_buf_init(&b, 0);
    sq_buf_adds(&b, "UPDATE supplier SET ");
    for (size_t i = 0; i < N(supplier_fields); i++) {
        sq_buf_printf(&b, "%s = COALESCE(?, %s), ", supplier_fields[i].key,
                      supplier_fields[i].key);
    }
    sq_buf_adds(&b, "content_hash = COALESCE(?, content_hash), "
                    "synced_at = ? WHERE supplier_id = ? AND (");
    for (size_t i = 0; i < N(supplier_fields); i++) {
        sq_buf_printf(&b, "%s IS DISTINCT FROM COALESCE(?, %s) OR ",
                      supplier_fields[i].key, supplier_fields[i].key);
    }
    sq_buf_adds(&b, "content_hash IS DISTINCT FROM "
                    "COALESCE(?, content_hash))");
    sql = sq_buf_steal(&b);
    return sql;
}

static const char *
insert_sql(void)
{
    static char *sql;
    struct sq_buf b;

    if (sql != NULL) {
        return sql;
    }
    sq_buf_init(&b, 0);
    sq_buf_adds(&b, "INSERT INTO supplier (");
    for (size_t i = 0; i < N(supplier_fields); i++) {
        sq_buf_printf(&b, "%s, ", supplier_fields[i].key);
    }
    sq_buf_adds(&b, "content_hash, first_seen, synced_at) VALUES (");
    for (size_t i = 0; i < N(supplier_fields) + 3; i++) {
        sq_buf_adds(&b, i == 0 ? "?" : ", ?");
    }
    sq_buf_adds(&b, ") RETURNING supplier_id");
    sql = sq_buf_steal(&b);
    return sql;
}

int
sq_ds_supplier_store(struct sq_db *db, const json_t *canon, bool full,
                     int64_t *id_out, int *outcome, syncq_error *err)
{
    struct sq_db_stmt *st;
    bool found = false;
    int64_t id = 0;
    char hash[65];
    char now[40];
    int rc;
    int k;

    *outcome = SQ_DS_UNCHANGED;
    *id_out = 0;
    for (size_t i = 0; i < N(ident_lookup) && !found; i++) {
        rc = find_by(db, canon, i, &id, &found, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    if (full) {
        rc = sq_ds_canonical_hash(canon, hash, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    sq_ds_now_iso(now, sizeof now);
    if (!found) {
        rc = sq_db_prepare(db, insert_sql(), &st, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        for (k = 0; k < (int)N(supplier_fields); k++) {
            sq_ds_bind_field(st, k + 1, canon, &supplier_fields[k]);
        }
        sq_db_bind_text(st, k + 1, full ? hash : NULL);
        sq_db_bind_text(st, k + 2, now);
        sq_db_bind_text(st, k + 3, now);
        rc = sq_db_step(st, err);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            return sq_fail(err, SYNCQ_EDB, "supplier insert returned no id");
        }
        *id_out = sq_db_col_i64(st, 0);
        sq_db_reset(st);
        *outcome = SQ_DS_INSERTED;
        return SYNCQ_OK;
    }
    *id_out = id;
    rc = sq_db_prepare(db, update_sql(), &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (k = 0; k < (int)N(supplier_fields); k++) {
        sq_ds_bind_field(st, k + 1, canon, &supplier_fields[k]);
    }
    sq_db_bind_text(st, k + 1, full ? hash : NULL);
    sq_db_bind_text(st, k + 2, now);
    sq_db_bind_i64(st, k + 3, id);
    k += 3;
    for (int j = 0; j < (int)N(supplier_fields); j++) {
        sq_ds_bind_field(st, k + j + 1, canon, &supplier_fields[j]);
    }
    sq_db_bind_text(st, k + (int)N(supplier_fields) + 1, full ? hash : NULL);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (sq_db_changes(db) > 0) {
        *outcome = SQ_DS_UPDATED;
    }
    return SYNCQ_OK;
}

int
sq_ds_supplier_load(struct sq_db *db, int64_t supplier_id, json_t **out,
                    syncq_error *err)
{
    static char *sql;
    struct sq_db_stmt *st;
    json_t *o;
    int rc;

    *out = NULL;
    if (sql == NULL) {
        struct sq_buf b;
        sq_buf_init(&b, 0);
        sq_buf_adds(&b, "SELECT ");
        for (size_t i = 0; i < N(supplier_fields); i++) {
            sq_buf_printf(&b, "%s%s", i ? ", " : "", supplier_fields[i].key);
        }
        sq_buf_adds(&b, " FROM supplier WHERE supplier_id = ?");
        sql = sq_buf_steal(&b);
        if (sql == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    rc = sq_db_prepare(db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, supplier_id);
    rc = sq_db_step(st, err);
    if (rc <= 0) {
        return rc < 0 ? rc
                      : sq_fail(err, SYNCQ_ENOTFOUND, "no supplier %lld",
                                (long long)supplier_id);
    }
    o = json_object();
    if (o == NULL) {
        sq_db_reset(st);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < N(supplier_fields); i++) {
        rc = sq_ds_col_to_json(o, st, (int)i, &supplier_fields[i], err);
        if (rc != SYNCQ_OK) {
            sq_db_reset(st);
            json_decref(o);
            return rc;
        }
    }
    sq_db_reset(st);
    *out = o;
    return SYNCQ_OK;
}

/* ---- categories ------------------------------------------------------ */

static const struct sq_ds_field category_fields[] = {
    {"category_id", SQ_F_I64}, {"parent_id", SQ_F_I64}, {"level", SQ_F_I64},
    {"name_zh", SQ_F_TEXT},    {"name_tr", SQ_F_TEXT},  {"lang", SQ_F_TEXT},
    {"is_leaf", SQ_F_BOOL},
};

/* Upsert one category node (canonical object); *outcome as usual. */
static int
category_node(struct sq_db *db, const json_t *c, int *outcome, syncq_error *err)
{
    static const char sql[] =
        "INSERT INTO category (category_id, parent_id, level, name_zh, "
        "name_tr, lang, is_leaf, first_seen, synced_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (category_id) DO UPDATE SET "
        "parent_id = COALESCE(excluded.parent_id, category.parent_id), "
        "level = COALESCE(excluded.level, category.level), "
        "name_zh = COALESCE(excluded.name_zh, category.name_zh), "
        "name_tr = COALESCE(excluded.name_tr, category.name_tr), "
        "lang = COALESCE(excluded.lang, category.lang), "
        "is_leaf = COALESCE(excluded.is_leaf, category.is_leaf), "
        "synced_at = excluded.synced_at "
        "WHERE category.parent_id IS DISTINCT FROM "
        "COALESCE(excluded.parent_id, category.parent_id) "
        "OR category.level IS DISTINCT FROM "
        "COALESCE(excluded.level, category.level) "
        "OR category.name_zh IS DISTINCT FROM "
        "COALESCE(excluded.name_zh, category.name_zh) "
        "OR category.name_tr IS DISTINCT FROM "
        "COALESCE(excluded.name_tr, category.name_tr) "
        "OR category.lang IS DISTINCT FROM "
        "COALESCE(excluded.lang, category.lang) "
        "OR category.is_leaf IS DISTINCT FROM "
        "COALESCE(excluded.is_leaf, category.is_leaf)";
    struct sq_db_stmt *st;
    int64_t id = (int64_t)json_integer_value(json_object_get(c, "category_id"));
    int64_t existed = 0;
    char now[40];
    int rc;

    *outcome = SQ_DS_UNCHANGED;
    rc = sq_db_query_i64(db,
                         "SELECT COUNT(*) FROM category WHERE "
                         "category_id = ?",
                         true, id, &existed, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_db_prepare(db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (size_t i = 0; i < N(category_fields); i++) {
        sq_ds_bind_field(st, (int)i + 1, c, &category_fields[i]);
    }
    sq_ds_now_iso(now, sizeof now);
    sq_db_bind_text(st, 8, now);
    sq_db_bind_text(st, 9, now);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (sq_db_changes(db) > 0) {
        *outcome = existed ? SQ_DS_UPDATED : SQ_DS_INSERTED;
    }
    return SYNCQ_OK;
}

int
sq_ds_category_store(struct sq_db *db, const json_t *rec, int *outcome,
                     int kids[3], syncq_error *err)
{
    json_t *c = NULL;
    const json_t *children;
    int64_t id;
    size_t i;
    const json_t *k;
    int rc;

    *outcome = SQ_DS_UNCHANGED;
    if (kids != NULL) {
        kids[0] = kids[1] = kids[2] = 0;
    }
    if (!json_is_object(rec) || !sq_ds_get_i64(rec, "category_id", &id) ||
        id < 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "category record has no valid "
                       "category_id");
    }
    c = json_object();
    if (c == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_ds_copy_fields(c, rec, category_fields, N(category_fields),
                           "category", err);
    if (rc == SYNCQ_OK) {
        rc = category_node(db, c, outcome, err);
    }
    json_decref(c);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    children = json_object_get(rec, "children");
    if (!json_is_array(children)) {
        return SYNCQ_OK;
    }
    json_array_foreach(children, i, k)
    {
        int64_t kid;
        int o;
        char where[48];
        if (!json_is_object(k) || !sq_ds_get_i64(k, "category_id", &kid) ||
            kid <= 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "category %lld: children[%zu] "
                           "has no valid category_id",
                           (long long)id, i);
        }
        c = json_object();
        if (c == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        snprintf(where, sizeof where, "category.children[%zu]", i);
        rc = sq_ds_copy_fields(c, k, category_fields, N(category_fields), where,
                               err);
        if (rc == SYNCQ_OK &&
            json_object_set_new(c, "parent_id", json_integer(id)) != 0) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        if (rc == SYNCQ_OK) {
            rc = category_node(db, c, &o, err);
        }
        json_decref(c);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (kids != NULL) {
            kids[o]++;
        }
    }
    return SYNCQ_OK;
}

int
sq_ds_category_paths(struct sq_db *db, syncq_error *err)
{
    static const char roots[] =
        "UPDATE category SET path = CAST(category_id AS TEXT) "
        "WHERE (parent_id IS NULL OR parent_id = 0 OR "
        "parent_id = category_id) "
        "AND path IS DISTINCT FROM CAST(category_id AS TEXT)";
    static const char inner[] =
        "UPDATE category SET path = (SELECT p.path FROM category p "
        "WHERE p.category_id = category.parent_id) || '/' || "
        "CAST(category_id AS TEXT) "
        "WHERE parent_id IS NOT NULL AND parent_id <> 0 "
        "AND parent_id <> category_id "
        "AND EXISTS (SELECT 1 FROM category p WHERE "
        "p.category_id = category.parent_id AND p.path IS NOT NULL) "
        "AND path IS DISTINCT FROM ((SELECT p.path FROM category p "
        "WHERE p.category_id = category.parent_id) || '/' || "
        "CAST(category_id AS TEXT))";
    int rc = sq_db_exec(db, roots, err);

    /* One level per round; 1688 trees are at most 4-5 deep, the cap
     * stops a parent cycle in bad data. */
    for (int round = 0; rc == SYNCQ_OK && round < 16; round++) {
        rc = sq_db_exec(db, inner, err);
        if (rc == SYNCQ_OK && sq_db_changes(db) == 0) {
            break;
        }
    }
    return rc;
}
