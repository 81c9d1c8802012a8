/* SPDX-License-Identifier: MIT
 *
 * sq_db.h: the catalog database behind the 1688 task packs: SQLite by
 * default (a file, WAL mode), PostgreSQL when the URL is
 * postgresql://... (libpq). One schema (docs/database.md), created and
 * migrated by sq_db_open (a schema_version table). Owned by
 * src/tasks/data_sync/; the crawler and image packs use it through this
 * header.
 *
 * Thread-safety: one struct sq_db per thread/process; a worker child
 * opens its own (sq_db_shared below does that lazily per process).
 */
#ifndef SQ_DB_H
#define SQ_DB_H

#include <stddef.h>
#include <stdint.h>
#include <syncq/config.h>
#include <syncq/error.h>

struct sq_db;

/* Open (and create/migrate) the database at `url`: a SQLite path
 * ("var/1688sync.db", parent directories created) or a PostgreSQL URL.
 * Errors: SYNCQ_EDB (cannot open/migrate: message has the driver's text,
 * password masked), SYNCQ_EINVAL (bad URL). */
int sq_db_open(const char *url, struct sq_db **out, syncq_error *err);
void sq_db_close(struct sq_db *db);

/* "sqlite" or "postgresql". */
const char *sq_db_kind(const struct sq_db *db);

/* This process's connection for SYNCQ_DATABASE_URL of `cfg`, opened on
 * first use and reopened after fork (pid check). Borrowed. */
int sq_db_shared(const syncq_config *cfg, struct sq_db **out,
                 syncq_error *err);

/* Store a fetched response in the staging table raw_payload (upsert on
 * kind+key): kind is "api_detail" | "detail_page" | "search" |
 * "category" | "shop"; key the natural id (offer id, "category:page",
 * supplier id); outcome "ok" | "blocked" | "not_found" | "rate_limited" |
 * "parse_error" | ...; body the raw bytes; normalized_json the normalised
 * record (docs/1688-normalized.md) or NULL. sync_products/sync_suppliers
 * read the normalised records from here.
 * Errors: SYNCQ_EDB. */
int sq_db_raw_put(struct sq_db *db, const char *kind, const char *key,
                  int http_status, const char *outcome, const void *body,
                  size_t len, const char *normalized_json, syncq_error *err);

#endif
