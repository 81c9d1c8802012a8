/* SPDX-License-Identifier: MIT
 *
 * sq_db.h: the catalog database behind the 1688 task packs: SQLite by
 * default (a file, WAL mode), PostgreSQL when the URL is
 * postgresql://... (libpq). One schema (docs/database.md), created and
 * migrated by sq_db_open (a schema_version table). Owned by
 * packs/db/; the crawler and image packs use it through this
 * header.
 *
 * Besides the agreed entry points (open, shared, raw_put) it offers a
 * small statement layer that hides the two drivers: SQL text with '?'
 * placeholders (rewritten to $1.. for PostgreSQL), prepared once per
 * connection and cached, typed binds and column reads, transactions with
 * a retry on lock conflicts. SQL given to it must be valid in both
 * dialects (docs/database.md "Portable SQL").
 *
 * Thread-safety: one struct sq_db per thread/process; a worker child
 * opens its own (sq_db_shared below does that lazily per process).
 */
#ifndef SQ_DB_H
#define SQ_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/config.h>
#include <syncq/error.h>

struct sq_db;
struct sq_db_stmt;

/* Schema version this build creates and understands (db_schema.c). */
#define SQ_DB_SCHEMA_VERSION 4

/* Open (and create/migrate) the database at `url`: a SQLite path
 * ("var/1688sync.db", parent directories created; "sqlite:" and
 * "sqlite://" prefixes accepted) or a PostgreSQL URL ("postgresql://" or
 * "postgres://", any libpq URI, e.g.
 * postgresql:///syncq?host=/run/pg&user=syncq). Migrations run in one
 * transaction per version under a lock, so concurrent openers are safe.
 * *out is NULL on error.
 * Errors: SYNCQ_EDB (cannot open/migrate: message has the driver's text,
 * password masked; also a database whose schema is newer than this
 * build), SYNCQ_EINVAL (bad URL), SYNCQ_EIO (cannot create the parent
 * directory), SYNCQ_ENOMEM. */
int sq_db_open(const char *url, struct sq_db **out, syncq_error *err);

/* Close `db` and every cached statement. NULL is a no-op. */
void sq_db_close(struct sq_db *db);

/* "sqlite" or "postgresql". */
const char *sq_db_kind(const struct sq_db *db);

/* True for PostgreSQL (for the few dialect differences callers handle). */
bool sq_db_is_pg(const struct sq_db *db);

/* This process's connection for SYNCQ_DATABASE_URL of `cfg`, opened on
 * first use and reopened after fork (pid check: the parent's handle is
 * abandoned in the child, never closed there, so the parent's
 * connection and SQLite locks are untouched) or when the URL changed.
 * Borrowed until sq_db_shared_close or the next call with another URL.
 * Errors: as sq_db_open. */
int sq_db_shared(const syncq_config *cfg, struct sq_db **out, syncq_error *err);

/* True when `url` names a SQLite file that does not exist yet (opening it
 * would create an empty catalog). PostgreSQL URLs and ":memory:" are never
 * "missing". Thread-safe. */
bool sq_db_url_missing(const char *url);

/* Close the shared connection of this process (tests, shutdown). */
void sq_db_shared_close(void);

/* Store a fetched response in the staging table raw_payload (upsert on
 * kind+key): kind is "api_detail" | "detail_page" | "search" |
 * "category" | "shop"; key the natural id (offer id, "category:page",
 * supplier id); outcome "ok" | "blocked" | "not_found" | "rate_limited" |
 * "parse_error" | ...; body the raw bytes; normalized_json the normalised
 * record (docs/1688-normalized.md) or NULL. sync_products/sync_suppliers
 * read the normalised records from here. The row keeps the SHA-256 of the
 * body and a content hash of the normalised record (volatile fields such
 * as fetched_at left out; the body hash when there is no record). An
 * incremental sync looks at rows fetched since the last sync and writes
 * only products whose content changed.
 * Errors: SYNCQ_EINVAL (kind/key/outcome empty or over 200 bytes,
 * normalized_json not a JSON object), SYNCQ_EDB. */
int sq_db_raw_put(struct sq_db *db, const char *kind, const char *key,
                  int http_status, const char *outcome, const void *body,
                  size_t len, const char *normalized_json, syncq_error *err);

/* Read back the normalised record of raw_payload kind+key: *json_out is a
 * new string (free with sq_free), or NULL when the row has none.
 * Errors: SYNCQ_ENOTFOUND (no such row), SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_db_raw_get(struct sq_db *db, const char *kind, const char *key,
                  char **json_out, char outcome_out[32], syncq_error *err);

/* ---- statements ------------------------------------------------------
 * A statement is prepared once per connection and cached by its SQL
 * text; sq_db_prepare returns the cached statement, reset with its
 * bindings cleared. Borrowed: valid until sq_db_close. Do not run two
 * uses of the same SQL text at once (the second prepare resets the
 * first). A PostgreSQL statement's rows are fetched whole on the first
 * step: keep result sets bounded (keyset pagination with LIMIT). */

/* Errors: SYNCQ_EDB (syntax error: the message quotes the driver),
 *         SYNCQ_ENOMEM. */
int sq_db_prepare(struct sq_db *db, const char *sql, struct sq_db_stmt **out,
                  syncq_error *err);

/* Binds; `i` is 1-based. Text is copied (NULL binds SQL NULL). A bind
 * out of range is an internal error reported by the next step. */
void sq_db_bind_i64(struct sq_db_stmt *st, int i, int64_t v);
void sq_db_bind_double(struct sq_db_stmt *st, int i, double v);
void sq_db_bind_text(struct sq_db_stmt *st, int i, const char *s);
void sq_db_bind_textn(struct sq_db_stmt *st, int i, const char *s, size_t len);
void sq_db_bind_blob(struct sq_db_stmt *st, int i, const void *p, size_t len);
void sq_db_bind_null(struct sq_db_stmt *st, int i);

/* Run or advance: 1 a row is ready, 0 done, a negative SYNCQ_E* on error
 * (SYNCQ_EDB; sq_db_busy() tells a lock conflict). */
int sq_db_step(struct sq_db_stmt *st, syncq_error *err);

/* Column reads of the current row, 0-based. Text is borrowed until the
 * next step or reset; NULL for SQL NULL. Numbers of NULL read as 0. */
bool sq_db_col_null(struct sq_db_stmt *st, int i);
int64_t sq_db_col_i64(struct sq_db_stmt *st, int i);
double sq_db_col_double(struct sq_db_stmt *st, int i);
const char *sq_db_col_text(struct sq_db_stmt *st, int i);
const void *sq_db_col_blob(struct sq_db_stmt *st, int i, size_t *len);
int sq_db_col_count(struct sq_db_stmt *st);

/* Finish a use early (keeps the prepared statement cached). */
void sq_db_reset(struct sq_db_stmt *st);

/* Rows changed by the last INSERT/UPDATE/DELETE stepped to completion on
 * this connection. */
int64_t sq_db_changes(struct sq_db *db);

/* Run SQL without parameters or rows (several statements allowed).
 * Errors: SYNCQ_EDB. */
int sq_db_exec(struct sq_db *db, const char *sql, syncq_error *err);

/* Convenience: run `sql` with one optional int64 parameter (bind when
 * has_arg) and read the first column of the first row as an integer into
 * *out (0 when there is no row). Errors: SYNCQ_EDB. */
int sq_db_query_i64(struct sq_db *db, const char *sql, bool has_arg,
                    int64_t arg, int64_t *out, syncq_error *err);

/* ---- transactions ----------------------------------------------------
 * sq_db_begin starts a write transaction (SQLite BEGIN IMMEDIATE: the
 * write lock is taken up front, waiting up to the busy timeout, so two
 * writers never deadlock; PostgreSQL READ COMMITTED). */
int sq_db_begin(struct sq_db *db, syncq_error *err);
int sq_db_commit(struct sq_db *db, syncq_error *err);
/* Never fails visibly; safe to call when no transaction is open. */
void sq_db_rollback(struct sq_db *db);
bool sq_db_in_tx(const struct sq_db *db);

/* True when the last error on `db` was a lock conflict worth retrying
 * (SQLITE_BUSY/LOCKED, PostgreSQL 40001 serialization / 40P01
 * deadlock / 55P03 lock timeout). A unique violation is not: it is a
 * bug in the statement unless the caller says otherwise (below). */
bool sq_db_busy(const struct sq_db *db);

/* For a caller whose plain insert of keys it looked up earlier in the
 * same transaction just failed: true when the failure was a unique-key
 * violation (PostgreSQL 23505), i.e. another writer inserted one of
 * those keys after the lookup. The error then counts as a lock conflict
 * (sq_db_busy() true), so sq_db_with_tx runs the transaction again and
 * the lookup finds the key. False, and nothing changed, for any other
 * error. SQLite takes its write lock at BEGIN, so no other writer can
 * come between a lookup and an insert there. Only the catalog writes that
 * look up before they insert call this (ds_offer_links.c, new products in
 * ds_offer_batch.c): a duplicate key anywhere else fails at once. */
bool sq_db_lost_insert_race(struct sq_db *db);

/* Run fn(db, ud, err) inside a transaction and commit; on a lock
 * conflict roll back and run it again (up to 8 attempts, backing off
 * 10 ms .. 1 s with jitter); on any other error roll back and return it.
 * fn must be safe to run again (it sees a clean rolled-back state). */
typedef int (*sq_db_tx_fn)(struct sq_db *db, void *ud, syncq_error *err);
int sq_db_with_tx(struct sq_db *db, sq_db_tx_fn fn, void *ud, syncq_error *err);

/* The schema version recorded in the database. Errors: SYNCQ_EDB. */
int sq_db_schema_version(struct sq_db *db, int *out, syncq_error *err);

#endif
