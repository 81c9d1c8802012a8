/* SPDX-License-Identifier: MIT
 *
 * ds_supplier_batch.c: sq_ds_supplier_resolve (ds_catalog.h), the
 * suppliers of a batch of offers found or created together. The rules
 * are those of sq_ds_supplier_store (ds_supplier.c) applied to the
 * records in order, replayed in memory over one lookup per identifier:
 *   - a record matches the row of its first identifier (seller_user_id,
 *     member_id, open_id, login_id) that some row has, the lowest
 *     supplier_id when several do; rows created in this batch come after
 *     every existing row;
 *   - a matched row takes the record's known values (later records win);
 *   - a record matching nothing is a new row.
 * Then one multi-row INSERT creates the new rows and one multi-row
 * UPDATE ... FROM (VALUES ...) refreshes the matched rows whose values
 * change. (Not replayed: a record that replaces an identifier of a row,
 * so that a later record of the same batch no longer finds it by the old
 * value; the next batch sees the row as stored.)
 */
#include "data_sync/ds_catalog.h"
#include "data_sync/ds_offer.h"
#include "db/ds_util.h"
#include "db/sq_db_rows.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_BASE (INT64_MAX / 2) /* slots of rows not yet inserted */
#define NIDENT 4

/* Identifier columns in matching order (indexes into the columns). */
static const int ident_order[NIDENT] = {0, 1, 3, 2};

struct resolve {
    json_t *map;     /* "k:value" -> lowest slot having it */
    json_t *pmap;    /* "k:value" -> pending index (new rows only) */
    json_t *pending; /* merged records of the new rows */
    json_t *updates; /* "id" -> merged record for an existing row */
    int64_t *pend_id;
    int64_t *slots; /* per input record */
};

/* "k:value" of identifier k of `rec`, false when it has none. */
static bool
ident_key(const json_t *rec, int k, char *out, size_t cap)
{
    const json_t *v =
        json_object_get(rec, sq_ds_supplier_cols.f[ident_order[k]].key);

    if (json_is_integer(v)) {
        snprintf(out, cap, "%d:%lld", k, (long long)json_integer_value(v));
        return true;
    }
    if (json_is_string(v) && json_string_length(v) > 0) {
        snprintf(out, cap, "%d:%s", k, json_string_value(v));
        return true;
    }
    return false;
}

static int64_t
slot_of(json_t *map, const char *key)
{
    json_t *v = json_object_get(map, key);

    return v != NULL ? (int64_t)json_integer_value(v) : 0;
}

static int
set_min(json_t *map, const char *key, int64_t slot)
{
    int64_t have = slot_of(map, key);

    if (have != 0 && have <= slot) {
        return 0;
    }
    return json_object_set_new(map, key, json_integer(slot));
}

struct lookup_ctx {
    struct resolve *rs;
    int k;
};

static int
got_row(struct sq_db_stmt *st, void *ud, syncq_error *err)
{
    struct lookup_ctx *c = ud;
    const char *v = sq_db_col_text(st, 0);
    char key[600];

    if (v == NULL) {
        return SYNCQ_OK;
    }
    snprintf(key, sizeof key, "%d:%s", c->k, v);
    if (set_min(c->rs->map, key, sq_db_col_i64(st, 1)) != 0) {
        return sq_ds_oom(err);
    }
    return SYNCQ_OK;
}

/* The lowest existing supplier_id of every identifier value named. */
static int
lookup(struct sq_db *db, struct resolve *rs, json_t *const *canon, size_t n,
       syncq_error *err)
{
    int rc = SYNCQ_OK;

    for (int k = 0; k < NIDENT && rc == SYNCQ_OK; k++) {
        const struct sq_ds_field *f = &sq_ds_supplier_cols.f[ident_order[k]];
        struct sq_db_rows *r = NULL;
        struct lookup_ctx c = {rs, k};
        json_t *seen = json_object();
        char head[200];
        char tail[80];
        snprintf(head, sizeof head,
                 "SELECT CAST(%s AS TEXT), MIN(supplier_id) FROM supplier "
                 "WHERE %s IN (",
                 f->key, f->key);
        snprintf(tail, sizeof tail, ") GROUP BY %s", f->key);
        rc = seen != NULL ? sq_db_rows_new(head, "?", tail, &r, err)
                          : sq_ds_oom(err);
        for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
            char key[600];
            if (!ident_key(canon[i], k, key, sizeof key) ||
                json_object_get(seen, key) != NULL) {
                continue;
            }
            if (json_object_set_new(seen, key, json_true()) != 0) {
                rc = sq_ds_oom(err);
                break;
            }
            sq_ds_rows_add_field(r, canon[i], f);
        }
        if (rc == SYNCQ_OK) {
            rc = sq_db_rows_run(db, r, got_row, &c, NULL, err);
        }
        sq_db_rows_free(r);
        json_decref(seen);
    }
    return rc;
}

/* Replay the matching of record `rec` (index i) in memory. */
static int
match(struct resolve *rs, const json_t *rec, size_t i)
{
    char key[600];
    int64_t slot = 0;
    json_t *into;

    for (int k = 0; k < NIDENT && slot == 0; k++) {
        if (ident_key(rec, k, key, sizeof key)) {
            slot = slot_of(rs->map, key);
        }
    }
    if (slot == 0) {
        slot = PENDING_BASE + (int64_t)json_array_size(rs->pending);
        if (json_array_append_new(rs->pending, json_deep_copy(rec)) != 0) {
            return -1;
        }
    } else if (slot >= PENDING_BASE) {
        into = json_array_get(rs->pending, (size_t)(slot - PENDING_BASE));
        if (json_object_update(into, (json_t *)rec) != 0) {
            return -1;
        }
    } else {
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)slot);
        into = json_object_get(rs->updates, id);
        if (into == NULL) {
            into = json_object();
            if (into == NULL || json_object_set_new(rs->updates, id, into)) {
                return -1;
            }
        }
        if (json_object_update(into, (json_t *)rec) != 0) {
            return -1;
        }
    }
    rs->slots[i] = slot;
    for (int k = 0; k < NIDENT; k++) {
        if (!ident_key(rec, k, key, sizeof key)) {
            continue;
        }
        if (set_min(rs->map, key, slot) != 0) {
            return -1;
        }
        if (slot >= PENDING_BASE && json_object_get(rs->pmap, key) == NULL &&
            json_object_set_new(rs->pmap, key,
                                json_integer(slot - PENDING_BASE)) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
got_new(struct sq_db_stmt *st, void *ud, syncq_error *err)
{
    struct resolve *rs = ud;

    for (int k = 0; k < NIDENT; k++) {
        const char *v = sq_db_col_text(st, k + 1);
        char key[600];
        json_t *j;
        if (v == NULL || v[0] == '\0') {
            continue;
        }
        snprintf(key, sizeof key, "%d:%s", k, v);
        j = json_object_get(rs->pmap, key);
        if (j != NULL) {
            rs->pend_id[json_integer_value(j)] = sq_db_col_i64(st, 0);
            return SYNCQ_OK;
        }
    }
    return sq_fail(err, SYNCQ_EINTERNAL, "new supplier row %lld not matched",
                   (long long)sq_db_col_i64(st, 0));
}

/* The multi-row INSERT of the new rows. */
static int
insert_pending(struct sq_db *db, struct resolve *rs, const char *now,
               syncq_error *err)
{
    const struct sq_ds_cols *c = &sq_ds_supplier_cols;
    struct sq_buf head;
    struct sq_buf row;
    struct sq_db_rows *r = NULL;
    char *h;
    char *w;
    size_t i;
    json_t *rec;
    int rc;

    sq_buf_init(&head, 0);
    sq_buf_init(&row, 0);
    sq_buf_adds(&head, "INSERT INTO supplier (");
    sq_buf_adds(&row, "(");
    for (size_t k = 0; k < c->n; k++) {
        sq_buf_printf(&head, "%s, ", c->f[k].key);
        sq_buf_adds(&row, "?, ");
    }
    sq_buf_adds(&head, "content_hash, first_seen, synced_at) VALUES ");
    sq_buf_adds(&row, "NULL, ?, ?)");
    h = sq_buf_steal(&head);
    w = sq_buf_steal(&row);
    rc = h != NULL && w != NULL
             ? sq_db_rows_new(h, w,
                              " RETURNING supplier_id, "
                              "CAST(seller_user_id AS TEXT), member_id, "
                              "open_id, login_id",
                              &r, err)
             : sq_ds_oom(err);
    sq_free(h);
    sq_free(w);
    json_array_foreach(rs->pending, i, rec)
    {
        if (rc != SYNCQ_OK) {
            break;
        }
        for (size_t k = 0; k < c->n; k++) {
            sq_ds_rows_add_field(r, rec, &c->f[k]);
        }
        sq_db_rows_add_text(r, now);
        sq_db_rows_add_text(r, now);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_run(db, r, got_new, rs, NULL, err);
    }
    sq_db_rows_free(r);
    return rc;
}

/* One UPDATE ... FROM (VALUES ...) of the matched rows whose values
 * change: a known value is never replaced by a missing one. */
static int
update_matched(struct sq_db *db, struct resolve *rs, const char *now,
               syncq_error *err)
{
    const struct sq_ds_cols *c = &sq_ds_supplier_cols;
    struct sq_buf head;
    struct sq_buf row;
    struct sq_buf tail;
    struct sq_db_rows *r = NULL;
    char *h;
    char *w;
    char *t;
    const char *id;
    json_t *rec;
    int rc;

    sq_buf_init(&head, 0);
    sq_buf_init(&row, 0);
    sq_buf_init(&tail, 0);
    sq_buf_adds(&head, "UPDATE supplier SET ");
    sq_buf_adds(&row, "(CAST(? AS BIGINT)");
    sq_buf_adds(&tail, ") AS v WHERE supplier.supplier_id = v.column1 AND (");
    for (size_t k = 0; k < c->n; k++) {
        sq_buf_printf(&head, "%s = COALESCE(v.column%zu, supplier.%s), ",
                      c->f[k].key, k + 2, c->f[k].key);
        sq_buf_printf(&row, ", CAST(? AS %s)", sq_ds_sql_type(c->f[k].type));
        sq_buf_printf(&tail,
                      "%ssupplier.%s IS DISTINCT FROM "
                      "COALESCE(v.column%zu, supplier.%s)",
                      k > 0 ? " OR " : "", c->f[k].key, k + 2, c->f[k].key);
    }
    sq_buf_printf(&head, "synced_at = v.column%zu FROM (VALUES ", c->n + 2);
    sq_buf_adds(&row, ", CAST(? AS TEXT))");
    sq_buf_adds(&tail, ")");
    h = sq_buf_steal(&head);
    w = sq_buf_steal(&row);
    t = sq_buf_steal(&tail);
    rc = h != NULL && w != NULL && t != NULL ? sq_db_rows_new(h, w, t, &r, err)
                                             : sq_ds_oom(err);
    sq_free(h);
    sq_free(w);
    sq_free(t);
    json_object_foreach(rs->updates, id, rec)
    {
        if (rc != SYNCQ_OK) {
            break;
        }
        sq_db_rows_add_i64(r, strtoll(id, NULL, 10));
        for (size_t k = 0; k < c->n; k++) {
            sq_ds_rows_add_field(r, rec, &c->f[k]);
        }
        sq_db_rows_add_text(r, now);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_run(db, r, NULL, NULL, NULL, err);
    }
    sq_db_rows_free(r);
    return rc;
}

int
sq_ds_supplier_resolve(struct sq_db *db, json_t *const *canon, size_t n,
                       int64_t *ids_out, syncq_error *err)
{
    struct resolve rs = {json_object(), json_object(), json_array(),
                         json_object(), NULL, NULL};
    char now[40];
    int rc = SYNCQ_OK;

    rs.slots = sq_calloc(n + 1, sizeof *rs.slots);
    rs.pend_id = sq_calloc(n + 1, sizeof *rs.pend_id);
    if (rs.map == NULL || rs.pmap == NULL || rs.pending == NULL ||
        rs.updates == NULL || rs.slots == NULL || rs.pend_id == NULL) {
        rc = sq_ds_oom(err);
        goto done;
    }
    if (n == 0) {
        goto done;
    }
    rc = lookup(db, &rs, canon, n, err);
    for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
        if (match(&rs, canon[i], i) != 0) {
            rc = sq_ds_oom(err);
        }
    }
    sq_ds_now_iso(now, sizeof now);
    if (rc == SYNCQ_OK && json_array_size(rs.pending) > 0) {
        rc = insert_pending(db, &rs, now, err);
    }
    if (rc == SYNCQ_OK && json_object_size(rs.updates) > 0) {
        rc = update_matched(db, &rs, now, err);
    }
    for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
        int64_t s = rs.slots[i];
        ids_out[i] = s >= PENDING_BASE ? rs.pend_id[s - PENDING_BASE] : s;
        if (ids_out[i] == 0) {
            rc = sq_fail(err, SYNCQ_EINTERNAL, "supplier %zu not resolved", i);
        }
    }
done:
    json_decref(rs.map);
    json_decref(rs.pmap);
    json_decref(rs.pending);
    json_decref(rs.updates);
    sq_free(rs.slots);
    sq_free(rs.pend_id);
    return rc;
}
