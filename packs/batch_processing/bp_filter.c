/* SPDX-License-Identifier: MIT
 *
 * bp_filter.c: the product filter of batch_export/update/delete, a JSON
 * object compiled to an SQL condition with bound parameters (column
 * names come only from the table below, values only through '?', so no
 * input ever becomes SQL text). Keys (docs/tasks.md "Filters"):
 *   offer_id, category_id, top_category_id, supplier_id: int | [int]
 *   status, source, currency: string | [string]
 *   subject_contains: string (case-sensitive substring)
 *   price_min_fen, price_max_fen, moq, sold_count, amount_on_sale:
 *       int | {"gte"|"gt"|"lte"|"lt"|"eq": int, ...}
 *   synced_after, synced_before: ISO 8601 time
 *   duplicates: "exclude" (default) | "include" | "only"
 *   all: true (says "every product" explicitly; needed by batch_delete)
 */
#include "batch_processing/bp.h"
#include "core/sq_alloc.h"
#include "core/sq_buf.h"
#include "core/sq_error.h"
#include "core/sq_time.h"

#include <string.h>

#define MAX_LIST 10000

enum fkind {
    F_IDS,
    F_STRS,
    F_RANGE,
    F_CONTAINS,
    F_AFTER,
    F_BEFORE,
    F_DUPS,
    F_ALL
};

static const struct {
    const char *key;
    const char *column;
    enum fkind kind;
} keys[] = {
    {"offer_id", "offer_id", F_IDS},
    {"category_id", "category_id", F_IDS},
    {"top_category_id", "top_category_id", F_IDS},
    {"supplier_id", "supplier_id", F_IDS},
    {"status", "status", F_STRS},
    {"source", "source", F_STRS},
    {"currency", "currency", F_STRS},
    {"subject_contains", "subject", F_CONTAINS},
    {"price_min_fen", "price_min_fen", F_RANGE},
    {"price_max_fen", "price_max_fen", F_RANGE},
    {"moq", "moq", F_RANGE},
    {"sold_count", "sold_count", F_RANGE},
    {"amount_on_sale", "amount_on_sale", F_RANGE},
    {"synced_after", "synced_at", F_AFTER},
    {"synced_before", "synced_at", F_BEFORE},
    {"duplicates", "duplicate_of", F_DUPS},
    {"all", NULL, F_ALL},
};

#define NKEYS (sizeof keys / sizeof keys[0])

static int
oom(syncq_error *err)
{
    return sq_fail(err, SYNCQ_ENOMEM, "out of memory compiling a filter");
}

/* "col IN (?, ?, ...)" for a scalar or a list of integers/strings. */
static int
add_in(struct sq_buf *b, json_t *params, const char *key, const char *col,
       const json_t *v, bool ints, syncq_error *err)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;

    if (n == 0 || n > MAX_LIST) {
        return sq_fail(err, SYNCQ_EINVAL, "filter %s: 1..%d values", key,
                       MAX_LIST);
    }
    sq_buf_printf(b, " AND %s IN (", col);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (ints ? !json_is_integer(e) : !json_is_string(e)) {
            return sq_fail(err, SYNCQ_EINVAL, "filter %s: expected %s", key,
                           ints ? "integers" : "strings");
        }
        if (json_array_append(params, (json_t *)e) != 0) {
            return oom(err);
        }
        sq_buf_adds(b, i == 0 ? "?" : ", ?");
    }
    sq_buf_adds(b, ")");
    return SYNCQ_OK;
}

static int
add_range(struct sq_buf *b, json_t *params, const char *key, const char *col,
          const json_t *v, syncq_error *err)
{
    static const struct {
        const char *op;
        const char *sql;
    } ops[] = {
        {"gte", ">="}, {"gt", ">"}, {"lte", "<="}, {"lt", "<"}, {"eq", "="}};
    const char *k;
    const json_t *x;

    if (json_is_integer(v)) {
        sq_buf_printf(b, " AND %s = ?", col);
        return json_array_append(params, (json_t *)v) == 0 ? SYNCQ_OK
                                                           : oom(err);
    }
    if (!json_is_object(v) || json_object_size(v) == 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "filter %s: an integer or "
                       "{\"gte\": n, \"lt\": m, ...}",
                       key);
    }
    json_object_foreach((json_t *)v, k, x)
    {
        const char *sql = NULL;
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            if (strcmp(k, ops[i].op) == 0) {
                sql = ops[i].sql;
            }
        }
        if (sql == NULL || !json_is_integer(x)) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "filter %s: '%.20s' must be "
                           "one of gte, gt, lte, lt, eq with an integer",
                           key, k);
        }
        sq_buf_printf(b, " AND %s %s ?", col, sql);
        if (json_array_append(params, (json_t *)x) != 0) {
            return oom(err);
        }
    }
    return SYNCQ_OK;
}

static int
add_time(struct sq_buf *b, json_t *params, const char *key, const char *col,
         const json_t *v, bool after, syncq_error *err)
{
    int64_t ms;
    char iso[40];
    json_t *s;

    if (!json_is_string(v) ||
        sq_time_parse_iso8601(json_string_value(v), &ms, NULL) != SYNCQ_OK) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "filter %s: an ISO 8601 time "
                       "(2026-12-01T00:00:00Z)",
                       key);
    }
    /* Stored stamps are this exact format, so text order is time order. */
    sq_time_format_iso8601_ms(ms, iso, sizeof iso);
    sq_buf_printf(b, " AND %s %s ?", col, after ? ">=" : "<");
    s = json_string(iso);
    if (s == NULL || json_array_append_new(params, s) != 0) {
        return oom(err);
    }
    return SYNCQ_OK;
}

int
bp_filter_compile(const json_t *f, struct bp_filter *out, syncq_error *err)
{
    struct sq_buf b;
    const char *dups = "exclude";
    const char *k;
    const json_t *v;
    int rc = SYNCQ_OK;

    memset(out, 0, sizeof *out);
    out->params = json_array();
    if (out->params == NULL) {
        return oom(err);
    }
    out->empty = true;
    if (f != NULL && !json_is_null(f) && !json_is_object(f)) {
        bp_filter_cleanup(out);
        return sq_fail(err, SYNCQ_EINVAL, "filter: expected a JSON object");
    }
    sq_buf_init(&b, 1 << 20);
    sq_buf_adds(&b, "1 = 1");
    json_object_foreach((json_t *)f, k, v)
    {
        size_t i;
        for (i = 0; i < NKEYS && strcmp(keys[i].key, k) != 0; i++) {
        }
        if (i == NKEYS) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "filter: unknown key '%.40s' "
                         "(docs/tasks.md lists the filter keys)",
                         k);
            break;
        }
        switch (keys[i].kind) {
        case F_IDS:
        case F_STRS:
            rc = add_in(&b, out->params, k, keys[i].column, v,
                        keys[i].kind == F_IDS, err);
            out->empty = false;
            break;
        case F_RANGE:
            rc = add_range(&b, out->params, k, keys[i].column, v, err);
            out->empty = false;
            break;
        case F_CONTAINS:
            if (!json_is_string(v) || json_string_length(v) == 0) {
                rc = sq_fail(err, SYNCQ_EINVAL,
                             "filter %s: a non-empty "
                             "string",
                             k);
                break;
            }
            /* strpos/instr: no LIKE wildcards to escape, same case rules
             * in both databases. Filled in by the backend-specific text
             * below (bp_filter_bind cannot know the database). */
            sq_buf_adds(&b, " AND SQ_CONTAINS(subject, ?)");
            json_array_append(out->params, (json_t *)v);
            out->empty = false;
            break;
        case F_AFTER:
        case F_BEFORE:
            rc = add_time(&b, out->params, k, keys[i].column, v,
                          keys[i].kind == F_AFTER, err);
            out->empty = false;
            break;
        case F_DUPS:
            if (!json_is_string(v)) {
                rc = sq_fail(err, SYNCQ_EINVAL,
                             "filter duplicates: "
                             "exclude, include or only");
                break;
            }
            dups = json_string_value(v);
            if (strcmp(dups, "exclude") != 0 && strcmp(dups, "include") != 0 &&
                strcmp(dups, "only") != 0) {
                rc = sq_fail(err, SYNCQ_EINVAL,
                             "filter duplicates: "
                             "exclude, include or only");
            }
            break;
        case F_ALL:
            if (!json_is_true(v)) {
                rc = sq_fail(err, SYNCQ_EINVAL,
                             "filter all: only true is "
                             "meaningful");
            }
            break;
        }
        if (rc != SYNCQ_OK) {
            break;
        }
    }
    if (rc == SYNCQ_OK) {
        if (strcmp(dups, "exclude") == 0) {
            sq_buf_adds(&b, " AND duplicate_of IS NULL");
        } else if (strcmp(dups, "only") == 0) {
            sq_buf_adds(&b, " AND duplicate_of IS NOT NULL");
            out->empty = false;
        }
        out->where = sq_buf_steal(&b);
        if (out->where == NULL) {
            rc = oom(err);
        }
    }
    sq_buf_cleanup(&b);
    if (rc != SYNCQ_OK) {
        bp_filter_cleanup(out);
    }
    return rc;
}

void
bp_filter_cleanup(struct bp_filter *f)
{
    sq_free(f->where);
    json_decref(f->params);
    f->where = NULL;
    f->params = NULL;
}

char *
bp_filter_sql(const struct sq_db *db, const char *before,
              const struct bp_filter *f, const char *after)
{
    static const char mark[] = "SQ_CONTAINS(subject, ?)";
    const char *contains =
        sq_db_is_pg(db) ? "strpos(subject, ?) > 0" : "instr(subject, ?) > 0";
    struct sq_buf b;
    const char *p = f->where;
    const char *m;
    int bad = 0;

    sq_buf_init(&b, 0);
    bad |= sq_buf_adds(&b, before);
    while ((m = strstr(p, mark)) != NULL) {
        bad |= sq_buf_add(&b, p, (size_t)(m - p));
        bad |= sq_buf_adds(&b, contains);
        p = m + sizeof mark - 1;
    }
    bad |= sq_buf_adds(&b, p);
    bad |= sq_buf_adds(&b, after);
    if (bad != 0) {
        sq_buf_cleanup(&b);
        return NULL;
    }
    return sq_buf_steal(&b);
}

int
bp_filter_bind(struct sq_db_stmt *st, int first, const struct bp_filter *f)
{
    size_t i;
    const json_t *v;

    json_array_foreach(f->params, i, v)
    {
        if (json_is_integer(v)) {
            sq_db_bind_i64(st, first, (int64_t)json_integer_value(v));
        } else {
            sq_db_bind_textn(st, first, json_string_value(v),
                             json_string_length(v));
        }
        first++;
    }
    return first;
}
