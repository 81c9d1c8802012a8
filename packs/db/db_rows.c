/* SPDX-License-Identifier: MIT
 *
 * db_rows.c: multi-row statements (sq_db_rows.h). Values are kept in one
 * array with their texts in one buffer (no allocation per value), and
 * bound into cached statements of 2^k rows each.
 */
#include "db/sq_db_rows.h"
#include "db/db_impl.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"

#include <string.h>

/* Both drivers accept more (SQLite 32766, PostgreSQL 65535). */
#define MAX_PARAMS 30000
/* Rows per statement. PostgreSQL: bigger statements save round trips and
 * per-statement work (measured with bench_datasync: 256 is within a few
 * per cent of 1024). SQLite has no round trip; a few rows per statement
 * save the per-statement overhead of its virtual machine. */
#define PG_MAX_ROWS 256
#define LITE_MAX_ROWS 16
#define SHAPES 9 /* 2^0 .. 2^8 rows */

enum { V_NULL, V_I64, V_DOUBLE, V_TEXT };

struct val {
    int type;
    int64_t i;
    double d;
    size_t off; /* text: offset into r->text */
    size_t len;
};

struct sq_db_rows {
    char *head;
    char *row;
    char *tail;
    int per_row; /* '?' in row */
    struct val *vals;
    size_t nvals;
    size_t cap;
    struct sq_buf text;
    bool oom;
    char *sql[SHAPES]; /* statement of 2^k rows, built on first use */
    char *copy_sql;    /* plain inserts: COPY ... FROM STDIN (PostgreSQL) */
    struct sq_buf ready; /* rows given in COPY text (sq_db_rows_add_copy) */
    size_t nready;
};

int
sq_db_rows_new(const char *head, const char *row, const char *tail,
               struct sq_db_rows **out, syncq_error *err)
{
    struct sq_db_rows *r;

    *out = NULL;
    if (sq_db_count_params(row) < 1) {
        return sq_fail(err, SYNCQ_EINVAL, "row template has no parameter: %s",
                       row);
    }
    r = sq_calloc(1, sizeof *r);
    if (r == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    r->head = sq_strdup(head);
    r->row = sq_strdup(row);
    r->tail = sq_strdup(tail != NULL ? tail : "");
    r->per_row = sq_db_count_params(row);
    sq_buf_init(&r->text, 0);
    sq_buf_init(&r->ready, 0);
    if (r->head == NULL || r->row == NULL || r->tail == NULL) {
        sq_db_rows_free(r);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    *out = r;
    return SYNCQ_OK;
}

int
sq_db_rows_new_copy(const char *table, const char *cols,
                    struct sq_db_rows **out, syncq_error *err)
{
    struct sq_buf head;
    struct sq_buf row;
    int ncols = 1;
    int rc;

    *out = NULL;
    for (const char *p = cols; *p != '\0'; p++) {
        ncols += *p == ',';
    }
    sq_buf_init(&head, 0);
    sq_buf_init(&row, 0);
    sq_buf_printf(&head, "INSERT INTO %s (%s) VALUES ", table, cols);
    for (int i = 0; i < ncols; i++) {
        sq_buf_adds(&row, i == 0 ? "(?" : ", ?");
    }
    sq_buf_adds(&row, ")");
    rc = head.data != NULL && row.data != NULL
             ? sq_db_rows_new(head.data, row.data, "", out, err)
             : sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    if (rc == SYNCQ_OK) {
        (*out)->copy_sql =
            sq_asprintf("COPY %s (%s) FROM STDIN", table, cols);
        if ((*out)->copy_sql == NULL) {
            sq_db_rows_free(*out);
            *out = NULL;
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    sq_buf_cleanup(&head);
    sq_buf_cleanup(&row);
    return rc;
}

void
sq_db_rows_free(struct sq_db_rows *r)
{
    if (r == NULL) {
        return;
    }
    for (int k = 0; k < SHAPES; k++) {
        sq_free(r->sql[k]);
    }
    sq_free(r->head);
    sq_free(r->row);
    sq_free(r->tail);
    sq_free(r->copy_sql);
    sq_free(r->vals);
    sq_buf_cleanup(&r->text);
    sq_buf_cleanup(&r->ready);
    sq_free(r);
}

static struct val *
next_val(struct sq_db_rows *r)
{
    if (r->nvals == r->cap) {
        size_t cap = r->cap > 0 ? r->cap * 2 : 256;
        struct val *v = sq_realloc(r->vals, cap * sizeof *v);
        if (v == NULL) {
            r->oom = true;
            return NULL;
        }
        r->vals = v;
        r->cap = cap;
    }
    memset(&r->vals[r->nvals], 0, sizeof r->vals[0]);
    return &r->vals[r->nvals++];
}

void
sq_db_rows_add_i64(struct sq_db_rows *r, int64_t v)
{
    struct val *x = next_val(r);

    if (x != NULL) {
        x->type = V_I64;
        x->i = v;
    }
}

void
sq_db_rows_add_double(struct sq_db_rows *r, double v)
{
    struct val *x = next_val(r);

    if (x != NULL) {
        x->type = V_DOUBLE;
        x->d = v;
    }
}

void
sq_db_rows_add_textn(struct sq_db_rows *r, const char *s, size_t len)
{
    struct val *x = next_val(r);

    if (x == NULL) {
        return;
    }
    if (s == NULL) {
        x->type = V_NULL;
        return;
    }
    x->type = V_TEXT;
    x->off = r->text.len;
    x->len = len;
    if (sq_buf_add(&r->text, s, len) != 0) {
        r->oom = true;
    }
}

void
sq_db_rows_add_text(struct sq_db_rows *r, const char *s)
{
    sq_db_rows_add_textn(r, s, s != NULL ? strlen(s) : 0);
}

void
sq_db_rows_add_null(struct sq_db_rows *r)
{
    struct val *x = next_val(r);

    if (x != NULL) {
        x->type = V_NULL;
    }
}

void
sq_db_rows_add_copy(struct sq_db_rows *r, const char *text, size_t len,
                    size_t nrows)
{
    if (sq_buf_add(&r->ready, text, len) != 0) {
        r->oom = true;
        return;
    }
    r->nready += nrows;
}

size_t
sq_db_rows_count(const struct sq_db_rows *r)
{
    return r->nvals / (size_t)r->per_row + r->nready;
}

void
sq_db_rows_clear(struct sq_db_rows *r)
{
    r->nvals = 0;
    r->oom = false;
    sq_buf_reset(&r->text);
    sq_buf_reset(&r->ready);
    r->nready = 0;
}

/* The statement text of 2^k rows. */
static const char *
shape_sql(struct sq_db_rows *r, int k)
{
    struct sq_buf b;
    size_t rows = (size_t)1 << k;

    if (r->sql[k] != NULL) {
        return r->sql[k];
    }
    sq_buf_init(&b, 0);
    sq_buf_adds(&b, r->head);
    for (size_t i = 0; i < rows; i++) {
        if (i > 0) {
            sq_buf_add(&b, ", ", 2);
        }
        sq_buf_adds(&b, r->row);
    }
    if (sq_buf_adds(&b, r->tail) != 0) {
        sq_buf_cleanup(&b);
        return NULL;
    }
    r->sql[k] = sq_buf_steal(&b);
    return r->sql[k];
}

static void
bind_val(struct sq_db_rows *r, struct sq_db_stmt *st, int i,
         const struct val *v)
{
    switch (v->type) {
    case V_I64:
        sq_db_bind_i64(st, i, v->i);
        break;
    case V_DOUBLE:
        sq_db_bind_double(st, i, v->d);
        break;
    case V_TEXT:
        sq_db_bind_textn(st, i, v->len > 0 ? r->text.data + v->off : "",
                         v->len);
        break;
    default:
        sq_db_bind_null(st, i);
        break;
    }
}

/* Run rows [first, first + 2^k) as one statement. */
static int
run_shape(struct sq_db *db, struct sq_db_rows *r, size_t first, int k,
          sq_db_row_fn fn, void *ud, int64_t *changes, syncq_error *err)
{
    const char *sql = shape_sql(r, k);
    const struct val *v = &r->vals[first * (size_t)r->per_row];
    int n = r->per_row << k;
    struct sq_db_stmt *st;
    int rc;

    if (sql == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory building SQL");
    }
    rc = sq_db_prepare(db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (int i = 0; i < n; i++) {
        bind_val(r, st, i + 1, &v[i]);
    }
    while ((rc = sq_db_step(st, err)) == 1) {
        if (fn != NULL && (rc = fn(st, ud, err)) != SYNCQ_OK) {
            sq_db_reset(st);
            return rc;
        }
    }
    if (rc < 0) {
        return rc;
    }
    *changes += sq_db_changes(db);
    return SYNCQ_OK;
}

/* `v` in decimal: printf costs more than the rest of a COPY row. */
static int
add_i64(struct sq_buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        *--p = '-';
    }
    return sq_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* One value in COPY's text format: \N for NULL, backslash escapes for
 * the separators. 0, or -1 when the buffer could not grow. */
static int
copy_val(const struct sq_db_rows *r, struct sq_buf *b, const struct val *v)
{
    const char *p;
    int bad = 0;

    switch (v->type) {
    case V_I64:
        return add_i64(b, v->i);
    case V_DOUBLE:
        return sq_buf_printf(b, "%.17g", v->d);
    case V_TEXT:
        if (v->len == 0) {
            return 0; /* the empty string (NULL is \N) */
        }
        p = r->text.data + v->off;
        for (size_t i = 0; i < v->len;) {
            size_t run = i;
            while (run < v->len && p[run] != '\\' && p[run] != '\t' &&
                   p[run] != '\n' && p[run] != '\r') {
                run++;
            }
            bad |= sq_buf_add(b, p + i, run - i);
            if (run < v->len) {
                char c = p[run];
                bad |= sq_buf_adds(b, c == '\\'   ? "\\\\"
                                      : c == '\t' ? "\\t"
                                      : c == '\n' ? "\\n"
                                                  : "\\r");
                run++;
            }
            i = run;
        }
        return bad;
    default:
        return sq_buf_add(b, "\\N", 2);
    }
}

int
sq_db_rows_copy_text(const struct sq_db_rows *r, struct sq_buf *out)
{
    int bad = sq_buf_add(out, r->ready.data, r->ready.len);

    for (size_t i = 0; i < r->nvals; i++) {
        bad |= copy_val(r, out, &r->vals[i]);
        bad |= sq_buf_add(out,
                          (i + 1) % (size_t)r->per_row == 0 ? "\n" : "\t", 1);
    }
    return bad != 0 || r->oom ? -1 : 0;
}

/* PostgreSQL: the buffered rows as one COPY (no statement to plan, no
 * parameter to bind: the server's fastest way in). */
static int
run_copy(struct sq_db *db, struct sq_db_rows *r, int64_t *changes,
         syncq_error *err)
{
    struct sq_buf b;
    int bad;
    int rc;

    sq_buf_init(&b, 0);
    bad = sq_db_rows_copy_text(r, &b);
    if (bad != 0) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory building COPY data");
    } else {
        rc = sq_db_pg_copy_in(db, r->copy_sql, b.data, b.len, changes, err);
    }
    sq_buf_cleanup(&b);
    return rc;
}

int
sq_db_rows_run(struct sq_db *db, struct sq_db_rows *r, sq_db_row_fn fn,
               void *ud, int64_t *changes, syncq_error *err)
{
    size_t nrows = sq_db_rows_count(r);
    size_t max = sq_db_is_pg(db) ? PG_MAX_ROWS : LITE_MAX_ROWS;
    int64_t changed = 0;
    size_t pos = 0;
    int rc = SYNCQ_OK;

    if (changes != NULL) {
        *changes = 0;
    }
    if (r->oom) {
        sq_db_rows_clear(r);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory buffering rows");
    }
    if (r->nvals % (size_t)r->per_row != 0) {
        sq_db_rows_clear(r);
        return sq_fail(err, SYNCQ_EINTERNAL,
                       "incomplete row buffered for: %.80s", r->head);
    }
    if (r->nready > 0 && (r->copy_sql == NULL || !sq_db_is_pg(db))) {
        sq_db_rows_clear(r);
        return sq_fail(err, SYNCQ_EINTERNAL,
                       "COPY text buffered for a statement that is no COPY: "
                       "%.80s", r->head);
    }
    if (r->copy_sql != NULL && sq_db_is_pg(db) && nrows > 0) {
        rc = run_copy(db, r, &changed, err);
        sq_db_rows_clear(r);
        if (changes != NULL) {
            *changes = changed;
        }
        return rc;
    }
    while (max > 1 && max * (size_t)r->per_row > MAX_PARAMS) {
        max /= 2;
    }
    while (pos < nrows && rc == SYNCQ_OK) {
        int k = 0;
        while (k + 1 < SHAPES && ((size_t)2 << k) <= max &&
               pos + ((size_t)2 << k) <= nrows) {
            k++;
        }
        rc = run_shape(db, r, pos, k, fn, ud, &changed, err);
        pos += (size_t)1 << k;
    }
    sq_db_rows_clear(r);
    if (changes != NULL) {
        *changes = changed;
    }
    return rc;
}
