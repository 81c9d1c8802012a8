/* SPDX-License-Identifier: MIT
 *
 * sq_db_rows.h: multi-row statements over the statement layer of
 * sq_db.h, so a page of catalog writes costs a few round trips instead
 * of one per row (PostgreSQL pays a network round trip and a statement
 * execution per row; SQLite pays little either way). A statement is a
 * head, a row template repeated and joined by ", ", and a tail:
 *
 *   head "INSERT INTO sku (offer_id, sku_ord) VALUES "  row "(?, ?)"
 *   head "SELECT offer_id FROM product WHERE offer_id IN ("  row "?"
 *        tail ")"
 *   head "UPDATE t SET x = v.column2 FROM (VALUES "
 *        row "(CAST(? AS BIGINT), ?)"  tail ") AS v WHERE t.id = v.column1"
 *
 * (VALUES columns are named column1.. in both databases; give each
 * parameter of a VALUES row a CAST when its type matters, because
 * PostgreSQL types an unknown VALUES parameter as text.)
 *
 * Values are buffered with sq_db_rows_add_* in row order and run by
 * sq_db_rows_run in statements of at most `max_rows` rows (and the
 * driver's parameter limit); the row counts used are powers of two, so a
 * connection prepares at most a handful of shapes per statement.
 *
 * Thread-safety: one struct sq_db_rows per thread, like struct sq_db.
 */
#ifndef SQ_DB_ROWS_H
#define SQ_DB_ROWS_H

#include "db/sq_db.h"

#include <stddef.h>
#include <stdint.h>

struct sq_db_rows;

/* A new multi-row statement (texts copied). `row` must hold at least one
 * '?'. *out is NULL on error. Errors: SYNCQ_EINVAL (no '?' in row),
 * SYNCQ_ENOMEM. */
int sq_db_rows_new(const char *head, const char *row, const char *tail,
                   struct sq_db_rows **out, syncq_error *err);

/* Plain inserts of rows into `table` (`cols`: "a, b, c"), no ON
 * CONFLICT and no expressions: on PostgreSQL the buffered rows travel as
 * one COPY ... FROM STDIN in text format (no statement to plan, no
 * parameter to bind; the server loads rows about twice as fast as
 * INSERT ... VALUES), on SQLite as multi-row INSERTs. A duplicate key
 * fails the run (SYNCQ_EDB) on both. `fn` of sq_db_rows_run sees no
 * rows. *out is NULL on error. Errors: SYNCQ_ENOMEM. */
int sq_db_rows_new_copy(const char *table, const char *cols,
                        struct sq_db_rows **out, syncq_error *err);

/* Free `r` and its buffered values. NULL is a no-op. */
void sq_db_rows_free(struct sq_db_rows *r);

/* Append one value to the current row (a row is complete after as many
 * values as its template has '?'). Text is copied; NULL text is SQL
 * NULL. A failed copy is reported by the next sq_db_rows_run. */
void sq_db_rows_add_i64(struct sq_db_rows *r, int64_t v);
void sq_db_rows_add_double(struct sq_db_rows *r, double v);
void sq_db_rows_add_text(struct sq_db_rows *r, const char *s);
void sq_db_rows_add_textn(struct sq_db_rows *r, const char *s, size_t len);
void sq_db_rows_add_null(struct sq_db_rows *r);

/* Append `nrows` complete rows already in PostgreSQL's COPY text format
 * (`text`, `len` bytes, each row ending in a newline), as
 * sq_db_rows_copy_text made them, e.g. on another thread: only for a
 * buffer of sq_db_rows_new_copy run on PostgreSQL (elsewhere the run
 * fails with SYNCQ_EINTERNAL). */
void sq_db_rows_add_copy(struct sq_db_rows *r, const char *text, size_t len,
                         size_t nrows);

/* Append the buffered rows to `out` in COPY text format (what a COPY
 * run sends). 0, or -1 when out of memory. */
struct sq_buf;
int sq_db_rows_copy_text(const struct sq_db_rows *r, struct sq_buf *out);

/* Complete rows buffered. */
size_t sq_db_rows_count(const struct sq_db_rows *r);

/* Drop the buffered values (keeps the statement texts). */
void sq_db_rows_clear(struct sq_db_rows *r);

/* Called for each result row of a SELECT or RETURNING statement. */
typedef int (*sq_db_row_fn)(struct sq_db_stmt *st, void *ud,
                            syncq_error *err);

/* Run the buffered rows on `db` and clear them. `fn` (may be NULL) sees
 * every result row; *changes (may be NULL) gets the rows changed by all
 * the statements. Nothing buffered: nothing runs.
 * Errors: SYNCQ_EINTERNAL (an incomplete row is buffered), SYNCQ_ENOMEM,
 * SYNCQ_EDB, or what `fn` returned. */
int sq_db_rows_run(struct sq_db *db, struct sq_db_rows *r, sq_db_row_fn fn,
                   void *ud, int64_t *changes, syncq_error *err);

#endif
