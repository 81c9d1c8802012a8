/* SPDX-License-Identifier: MIT
 *
 * db_schema.c: the catalog schema and its migrations (docs/database.md).
 * Each migration is a list of statements applied in one transaction
 * together with its schema_version row, under a lock (SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: an advisory transaction lock), so any number of
 * worker children may open a fresh database at once and exactly one of
 * them creates it. A migration, once released, is never edited: a change
 * is a new entry at the end. SQL is written for both dialects; {ID}
 * (integer primary key that numbers itself) and {BLOB} are substituted.
 * Money is integer fen; time stamps are ISO 8601 UTC text; booleans are
 * SMALLINT 0/1 so the same SQL compares them in both databases. {KEY64}
 * is a 64-bit primary key the writer gives (SQLite's rowid).
 */
#include "db/db_impl.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"
#include <syncq/log.h>
#include "db/ds_util.h"

#include <string.h>

/* Arbitrary constant: the advisory lock key of syncq's migrations. */
#define PG_MIGRATION_LOCK "16880001"

static const char *const v1_stmts[] = {
    "CREATE TABLE category ("
    " category_id BIGINT PRIMARY KEY, parent_id BIGINT, level INTEGER,"
    " name_zh TEXT, name_tr TEXT, lang TEXT, is_leaf SMALLINT, path TEXT,"
    " content_hash TEXT, first_seen TEXT, synced_at TEXT)",
    "CREATE INDEX category_parent ON category (parent_id)",

    "CREATE TABLE supplier ("
    " supplier_id {ID}, seller_user_id BIGINT, member_id TEXT,"
    " login_id TEXT, open_id TEXT, company_name TEXT, shop_url TEXT,"
    " province TEXT, city TEXT, is_tp SMALLINT, tp_years INTEGER,"
    " is_factory SMALLINT, is_super_factory SMALLINT,"
    " score_composite DOUBLE PRECISION, score_goods DOUBLE PRECISION,"
    " score_logistics DOUBLE PRECISION, score_return DOUBLE PRECISION,"
    " score_dispute DOUBLE PRECISION, score_consult DOUBLE PRECISION,"
    " repurchase_rate DOUBLE PRECISION, content_hash TEXT,"
    " first_seen TEXT, synced_at TEXT)",
    "CREATE INDEX supplier_seller ON supplier (seller_user_id)",
    "CREATE INDEX supplier_member ON supplier (member_id)",
    "CREATE INDEX supplier_open ON supplier (open_id)",
    "CREATE INDEX supplier_login ON supplier (login_id)",

    "CREATE TABLE product ("
    " offer_id BIGINT PRIMARY KEY, supplier_id BIGINT, category_id BIGINT,"
    " top_category_id BIGINT, subject TEXT, subject_tr TEXT, unit TEXT,"
    " status TEXT, quote_type SMALLINT, moq BIGINT, price_min_fen BIGINT,"
    " price_max_fen BIGINT, currency TEXT, amount_on_sale BIGINT,"
    " sold_count BIGINT, sold_text TEXT, unit_weight_kg DOUBLE PRECISION,"
    " detail_url TEXT, video_url TEXT, source TEXT, raw_sha256 TEXT,"
    " fetched_at TEXT, content_hash TEXT, fingerprint TEXT,"
    " duplicate_of BIGINT, first_seen TEXT, synced_at TEXT)",
    "CREATE INDEX product_category ON product (category_id)",
    "CREATE INDEX product_supplier ON product (supplier_id)",
    "CREATE INDEX product_fingerprint ON product (fingerprint)",

    "CREATE TABLE product_attribute ("
    " offer_id BIGINT NOT NULL, ord INTEGER NOT NULL, attr_id BIGINT,"
    " name TEXT, value TEXT, PRIMARY KEY (offer_id, ord))",
    "CREATE TABLE sku_prop ("
    " offer_id BIGINT NOT NULL, prop_ord INTEGER NOT NULL, fid BIGINT,"
    " name TEXT, PRIMARY KEY (offer_id, prop_ord))",
    "CREATE TABLE sku_prop_value ("
    " offer_id BIGINT NOT NULL, prop_ord INTEGER NOT NULL,"
    " value_ord INTEGER NOT NULL, value TEXT, image_url TEXT,"
    " PRIMARY KEY (offer_id, prop_ord, value_ord))",
    "CREATE TABLE sku ("
    " offer_id BIGINT NOT NULL, sku_ord INTEGER NOT NULL, sku_id BIGINT,"
    " spec_id TEXT, spec_text TEXT, price_fen BIGINT, promo_price_fen BIGINT,"
    " retail_price_fen BIGINT, stock BIGINT, weight_kg DOUBLE PRECISION,"
    " cargo_number TEXT, PRIMARY KEY (offer_id, sku_ord))",
    "CREATE INDEX sku_sku_id ON sku (sku_id)",
    "CREATE TABLE price_tier ("
    " offer_id BIGINT NOT NULL, tier_ord INTEGER NOT NULL,"
    " start_qty BIGINT, price_fen BIGINT, promo_price_fen BIGINT,"
    " PRIMARY KEY (offer_id, tier_ord))",

    "CREATE TABLE image ("
    " image_id {ID}, url_key TEXT NOT NULL UNIQUE, url TEXT NOT NULL,"
    " sha256 TEXT, width INTEGER, height INTEGER, bytes BIGINT, mime TEXT,"
    " local_path TEXT, status TEXT NOT NULL DEFAULT 'pending',"
    " error_class TEXT, error TEXT, duplicate_of BIGINT, fetched_at TEXT)",
    "CREATE INDEX image_sha256 ON image (sha256)",
    "CREATE TABLE product_image ("
    " offer_id BIGINT NOT NULL, role TEXT NOT NULL, ord INTEGER NOT NULL,"
    " image_id BIGINT NOT NULL, sku_prop_value TEXT,"
    " PRIMARY KEY (offer_id, role, ord))",
    "CREATE INDEX product_image_image ON product_image (image_id)",
    "CREATE TABLE image_variant ("
    " sha256 TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,"
    " width INTEGER, height INTEGER, bytes BIGINT, format TEXT,"
    " created_at TEXT, PRIMARY KEY (sha256, kind))",

    "CREATE TABLE raw_payload ("
    " raw_id {ID}, kind TEXT NOT NULL, key TEXT NOT NULL,"
    " http_status INTEGER, outcome TEXT NOT NULL, sha256 TEXT, body {BLOB},"
    " body_bytes BIGINT, normalized TEXT, norm_hash TEXT, synced_hash TEXT,"
    " fetched_at TEXT, UNIQUE (kind, key))",

    "CREATE TABLE sync_run ("
    " run_id {ID}, task TEXT NOT NULL, task_id TEXT, sync_type TEXT,"
    " started_at TEXT, finished_at TEXT, status TEXT, inserted BIGINT,"
    " updated BIGINT, unchanged BIGINT, failed BIGINT, report TEXT)",

    "CREATE TABLE batch_job ("
    " job_key TEXT PRIMARY KEY, kind TEXT NOT NULL, path TEXT,"
    " format TEXT, file_sig TEXT, byte_offset BIGINT NOT NULL DEFAULT 0,"
    " line_no BIGINT NOT NULL DEFAULT 0, rows_ok BIGINT NOT NULL DEFAULT 0,"
    " rows_bad BIGINT NOT NULL DEFAULT 0, inserted BIGINT NOT NULL DEFAULT 0,"
    " updated BIGINT NOT NULL DEFAULT 0,"
    " unchanged BIGINT NOT NULL DEFAULT 0, status TEXT NOT NULL,"
    " started_at TEXT, updated_at TEXT)",
    "CREATE TABLE batch_error ("
    " job_key TEXT NOT NULL, line_no BIGINT NOT NULL, error TEXT,"
    " excerpt TEXT, PRIMARY KEY (job_key, line_no))",

    "CREATE TABLE merge_log ("
    " merge_id {ID}, entity TEXT NOT NULL, keep_id TEXT NOT NULL,"
    " merged_id TEXT NOT NULL, reason TEXT, snapshot TEXT, merged_at TEXT)",
    NULL,
};

/* What each staged row was last synced at, in a narrow table of its own:
 * marking a row synced writes ~150 bytes instead of a new version of
 * the wide raw_payload row (its body and record), and the content hash
 * the sync left in the product lets a re-crawl of unchanged content be
 * recognised in SQL (ds_sync_due.c). raw_payload.synced_hash (v1) is
 * carried over and no longer written. */
static const char *const v2_stmts[] = {
    "CREATE TABLE raw_sync ("
    " raw_id {KEY64}, synced_hash TEXT NOT NULL, synced_content TEXT)",
    "INSERT INTO raw_sync (raw_id, synced_hash) SELECT raw_id, synced_hash "
    "FROM raw_payload WHERE synced_hash IS NOT NULL",
    NULL,
};

/* A NULL sha256 (every image not downloaded yet, i.e. every image a
 * sync creates) needs no index entry: the lookups by sha256 are by
 * value. One index entry fewer per image written. */
static const char *const v3_stmts[] = {
    "DROP INDEX image_sha256",
    "CREATE INDEX image_sha256 ON image (sha256) WHERE sha256 IS NOT NULL",
    NULL,
};

/* No query of syncq looks a SKU up by its 1688 sku_id (the SKUs of an
 * offer are read by offer_id, the primary key's prefix), so its index
 * only cost each SKU written an index entry: 3 of the ~35 an offer of
 * a first sync writes. */
static const char *const v4_stmts[] = {
    "DROP INDEX sku_sku_id",
    NULL,
};

struct migration {
    int version;
    const char *description;
    const char *const *stmts;
};

static const struct migration migrations[] = {
    {1,
     "catalog schema: categories, suppliers, products, SKUs, price "
     "tiers, images, raw payloads, sync runs, batch jobs",
     v1_stmts},
    {2, "raw_sync: sync marks of staged rows, unchanged re-crawls in SQL",
     v2_stmts},
    {3, "image_sha256: partial index, only downloaded images", v3_stmts},
    {4, "sku_sku_id dropped: no query looks SKUs up by sku_id", v4_stmts},
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

char *
sq_db_schema_expand(const char *sql, bool is_pg)
{
    struct sq_buf b;
    const char *p = sql;

    sq_buf_init(&b, 0);
    while (*p != '\0') {
        const char *t = strchr(p, '{');
        const char *rep = NULL;
        size_t toklen = 0;
        if (t == NULL) {
            if (sq_buf_adds(&b, p) != 0) {
                goto oom;
            }
            break;
        }
        if (strncmp(t, "{ID}", 4) == 0) {
            rep = is_pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                        : "INTEGER PRIMARY KEY";
            toklen = 4;
        } else if (strncmp(t, "{KEY64}", 7) == 0) {
            /* a 64-bit key given by the writer (SQLite: the rowid) */
            rep = is_pg ? "BIGINT PRIMARY KEY" : "INTEGER PRIMARY KEY";
            toklen = 7;
        } else if (strncmp(t, "{BLOB}", 6) == 0) {
            rep = is_pg ? "BYTEA" : "BLOB";
            toklen = 6;
        }
        if (sq_buf_add(&b, p, (size_t)(t - p)) != 0) {
            goto oom;
        }
        if (rep != NULL) {
            if (sq_buf_adds(&b, rep) != 0) {
                goto oom;
            }
            p = t + toklen;
        } else {
            if (sq_buf_add(&b, "{", 1) != 0) {
                goto oom;
            }
            p = t + 1;
        }
    }
    return sq_buf_steal(&b);
oom:
    sq_buf_cleanup(&b);
    return NULL;
}

static int
apply(struct sq_db *db, const struct migration *m, syncq_error *err)
{
    struct sq_db_stmt *st;
    char now[40];
    int rc;

    for (size_t i = 0; m->stmts[i] != NULL; i++) {
        char *sql = sq_db_schema_expand(m->stmts[i], sq_db_is_pg(db));
        if (sql == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory migrating");
        }
        rc = sq_db_exec(db, sql, err);
        sq_free(sql);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    rc = sq_db_prepare(db,
                       "INSERT INTO schema_version (version, applied_at,"
                       " description) VALUES (?, ?, ?)",
                       &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, m->version);
    sq_db_bind_text(st, 2, sq_ds_now_iso(now, sizeof now));
    sq_db_bind_text(st, 3, m->description);
    rc = sq_db_step(st, err);
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
migrate_locked(struct sq_db *db, void *ud, syncq_error *err)
{
    int current = 0;
    int rc;

    (void)ud;
    if (sq_db_is_pg(db)) {
        rc = sq_db_exec(
            db, "SELECT pg_advisory_xact_lock(" PG_MIGRATION_LOCK ")", err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    rc = sq_db_exec(db,
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    " version INTEGER PRIMARY KEY, applied_at TEXT,"
                    " description TEXT)",
                    err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_db_schema_version(db, &current, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (current > SQ_DB_SCHEMA_VERSION) {
        return sq_fail(err, SYNCQ_EDB,
                       "database %s has schema version %d; "
                       "this syncq knows up to %d (upgrade syncq)",
                       db->url_shown, current, SQ_DB_SCHEMA_VERSION);
    }
    for (size_t i = 0; i < NMIGRATIONS; i++) {
        if (migrations[i].version <= current) {
            continue;
        }
        rc = apply(db, &migrations[i], err);
        if (rc != SYNCQ_OK) {
            sq_error_prefix(err, "schema migration");
            return rc;
        }
        syncq_log(SYNCQ_LOG_INFO, "db.migrate", "url=%s version=%d", db->url_shown,
                migrations[i].version);
    }
    return SYNCQ_OK;
}

int
sq_db_migrate(struct sq_db *db, syncq_error *err)
{
    int current = 0;

    /* Fast path: an up-to-date database needs no write lock. */
    if (sq_db_schema_version(db, &current, NULL) == SYNCQ_OK &&
        current == SQ_DB_SCHEMA_VERSION) {
        return SYNCQ_OK;
    }
    return sq_db_with_tx(db, migrate_locked, NULL, err);
}
