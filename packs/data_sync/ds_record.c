/* SPDX-License-Identifier: MIT
 *
 * ds_record.c: typed copies of record members through field tables
 * (ds_catalog.h): JSON -> canonical JSON, canonical JSON -> statement
 * parameter, result column -> canonical JSON. One place decides how an
 * integer, a text, a real and a boolean look in both databases.
 */
#include "data_sync/ds_catalog.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_utf8.h"
#include "db/ds_util.h"
#include "db/sq_db_rows.h"

#include <stdio.h>
#include <string.h>

static int
set_new(json_t *dst, const char *key, json_t *v, syncq_error *err)
{
    if (v == NULL || json_object_set_new(dst, key, v) != 0) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory building a record");
    }
    return SYNCQ_OK;
}

int
sq_ds_copy_fields(json_t *dst, const json_t *src, const struct sq_ds_field *f,
                  size_t n, const char *where, syncq_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(src, f[i].key);
        int64_t iv;
        double dv;
        bool bv;
        int rc = SYNCQ_OK;

        /* Empty text is "absent": CSV cannot tell them apart, and 1688
         * sends "" for unknown numbers. */
        if (v == NULL || json_is_null(v) ||
            (json_is_string(v) && json_string_length(v) == 0)) {
            continue;
        }
        switch (f[i].type) {
        case SQ_F_I64:
            if (json_is_integer(v)) {
                rc = set_new(dst, f[i].key, json_incref((json_t *)v), err);
                break;
            }
            if (!sq_ds_get_i64(src, f[i].key, &iv)) {
                return sq_fail(err, SYNCQ_EINVAL, "%s.%s: not an integer",
                               where, f[i].key);
            }
            rc = set_new(dst, f[i].key, json_integer(iv), err);
            break;
        case SQ_F_DOUBLE:
            if (!sq_ds_get_double(src, f[i].key, &dv)) {
                return sq_fail(err, SYNCQ_EINVAL, "%s.%s: not a number", where,
                               f[i].key);
            }
            rc = set_new(dst, f[i].key, json_real(dv), err);
            break;
        case SQ_F_BOOL:
            if (!sq_ds_get_bool(src, f[i].key, &bv)) {
                return sq_fail(err, SYNCQ_EINVAL, "%s.%s: not a boolean", where,
                               f[i].key);
            }
            rc = set_new(dst, f[i].key, json_boolean(bv), err);
            break;
        case SQ_F_TEXT:
            if (json_is_string(v)) {
                if (json_string_length(v) > SQ_DS_MAX_TEXT) {
                    return sq_fail(err, SYNCQ_EINVAL,
                                   "%s.%s: text over %d "
                                   "bytes",
                                   where, f[i].key, SQ_DS_MAX_TEXT);
                }
                if (json_string_length(v) != strlen(json_string_value(v))) {
                    return sq_fail(err, SYNCQ_EINVAL,
                                   "%s.%s: text holds a "
                                   "NUL byte",
                                   where, f[i].key);
                }
                /* shared, not copied: json_t strings are never changed
                 * in place here, and jansson checked the UTF-8 */
                rc = set_new(dst, f[i].key, json_incref((json_t *)v), err);
            } else if (json_is_integer(v)) {
                char buf[32];
                snprintf(buf, sizeof buf, "%lld",
                         (long long)json_integer_value(v));
                rc = set_new(dst, f[i].key, json_string(buf), err);
            } else {
                return sq_fail(err, SYNCQ_EINVAL, "%s.%s: not a string", where,
                               f[i].key);
            }
            break;
        }
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return SYNCQ_OK;
}

const char *
sq_ds_sql_type(enum sq_ds_ftype t)
{
    switch (t) {
    case SQ_F_I64:
        return "BIGINT";
    case SQ_F_DOUBLE:
        return "DOUBLE PRECISION";
    case SQ_F_BOOL:
        return "SMALLINT";
    default:
        return "TEXT";
    }
}

void
sq_ds_bind_field(struct sq_db_stmt *st, int i, const json_t *obj,
                 const struct sq_ds_field *f)
{
    const json_t *v = json_object_get(obj, f->key);

    if (v == NULL || json_is_null(v)) {
        sq_db_bind_null(st, i);
        return;
    }
    switch (f->type) {
    case SQ_F_I64:
        sq_db_bind_i64(st, i, (int64_t)json_integer_value(v));
        break;
    case SQ_F_DOUBLE:
        sq_db_bind_double(st, i, json_number_value(v));
        break;
    case SQ_F_BOOL:
        sq_db_bind_i64(st, i, json_is_true(v) ? 1 : 0);
        break;
    case SQ_F_TEXT:
        sq_db_bind_textn(st, i, json_string_value(v), json_string_length(v));
        break;
    }
}

void
sq_ds_rows_add_field(struct sq_db_rows *r, const json_t *obj,
                     const struct sq_ds_field *f)
{
    const json_t *v = json_object_get(obj, f->key);

    if (v == NULL || json_is_null(v)) {
        sq_db_rows_add_null(r);
        return;
    }
    switch (f->type) {
    case SQ_F_I64:
        sq_db_rows_add_i64(r, (int64_t)json_integer_value(v));
        break;
    case SQ_F_DOUBLE:
        sq_db_rows_add_double(r, json_number_value(v));
        break;
    case SQ_F_BOOL:
        sq_db_rows_add_i64(r, json_is_true(v) ? 1 : 0);
        break;
    case SQ_F_TEXT:
        sq_db_rows_add_textn(r, json_string_value(v), json_string_length(v));
        break;
    }
}

int
sq_ds_col_to_json(json_t *dst, struct sq_db_stmt *st, int col,
                  const struct sq_ds_field *f, syncq_error *err)
{
    json_t *v = NULL;

    if (sq_db_col_null(st, col)) {
        return SYNCQ_OK;
    }
    switch (f->type) {
    case SQ_F_I64:
        v = json_integer(sq_db_col_i64(st, col));
        break;
    case SQ_F_DOUBLE:
        v = json_real(sq_db_col_double(st, col));
        break;
    case SQ_F_BOOL:
        v = json_boolean(sq_db_col_i64(st, col) != 0);
        break;
    case SQ_F_TEXT: {
        const char *s = sq_db_col_text(st, col);
        v = json_string(s);
        if (v == NULL && s != NULL) {
            /* Not UTF-8 (written by another tool): show, don't fail. */
            size_t n = strlen(s);
            char *clean = sq_malloc(n * 3 + 1);
            if (clean != NULL) {
                sq_utf8_sanitize(s, n, clean, n * 3 + 1);
                v = json_string(clean);
                sq_free(clean);
            }
        }
        break;
    }
    }
    return set_new(dst, f->key, v, err);
}
