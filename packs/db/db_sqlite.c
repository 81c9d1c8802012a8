/* SPDX-License-Identifier: MIT
 *
 * db_sqlite.c: the SQLite backend of sq_db.h. One connection per
 * process, WAL journal (readers never block the writer), synchronous=FULL
 * (a committed transaction survives a crash of the process or the
 * machine), a 15 s busy timeout so several worker children can write the
 * same file, and SQLITE_BUSY/LOCKED reported as retryable through
 * sq_db_busy(). Statements are prepared with SQLITE_PREPARE_PERSISTENT
 * because the cache keeps them for the connection's life.
 */
#include "db/db_impl.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_id.h"
#include "core/sq_time.h"

#include <sqlite3.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 15000

static int
fail_sqlite(struct sq_db *db, int rc, const char *sql, syncq_error *err)
{
    sqlite3 *h = db->conn;
    int prim = rc & 0xff;

    db->busy = (prim == SQLITE_BUSY || prim == SQLITE_LOCKED);
    return sq_fail(err, SYNCQ_EDB, "sqlite: %s%s%.100s%s",
                   h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc),
                   sql != NULL ? " (in: " : "", sql != NULL ? sql : "",
                   sql != NULL ? ")" : "");
}

static int
lite_connect(struct sq_db *db, const char *target, syncq_error *err)
{
    sqlite3 *h = NULL;
    int rc;

    rc = sqlite3_open_v2(
        target, &h,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int r =
            sq_fail(err, SYNCQ_EDB, "sqlite: cannot open %s: %s", db->url_shown,
                    h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return r;
    }
    db->conn = h;
    sqlite3_busy_timeout(h, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(h, 1);
    /* WAL is persistent in the file; setting it again is cheap. An
     * in-memory database answers "memory", which is fine for tests.
     * Switching a new file to WAL needs an exclusive lock and SQLite
     * does not call the busy handler for it, so when several processes
     * open a new file at once the losers retry here. */
    for (int64_t waited = 0;; waited += 20) {
        rc = sqlite3_exec(h, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
            break;
        }
        if (waited >= BUSY_TIMEOUT_MS) {
            break;
        }
        sq_sleep_ms(10 + (int64_t)sq_random_below(20));
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(h,
                          "PRAGMA synchronous=FULL; "
                          "PRAGMA foreign_keys=OFF; "
                          "PRAGMA temp_store=MEMORY",
                          NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        return fail_sqlite(db, rc, "PRAGMA journal_mode=WAL", err);
    }
    return SYNCQ_OK;
}

static int
lite_exec(struct sq_db *db, const char *sql, syncq_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->conn, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        int prim = rc & 0xff;
        db->busy = (prim == SQLITE_BUSY || prim == SQLITE_LOCKED);
        rc = sq_fail(err, SYNCQ_EDB, "sqlite: %s (in: %.100s)",
                     msg != NULL ? msg : sqlite3_errstr(rc), sql);
        sqlite3_free(msg);
        return rc;
    }
    db->changes = sqlite3_changes64(db->conn);
    return SYNCQ_OK;
}

static int
lite_prepare(struct sq_db_stmt *st, syncq_error *err)
{
    sqlite3_stmt *h = NULL;
    int rc = sqlite3_prepare_v3(st->db->conn, st->sql, -1,
                                SQLITE_PREPARE_PERSISTENT, &h, NULL);

    if (rc != SQLITE_OK) {
        return fail_sqlite(st->db, rc, st->sql, err);
    }
    st->handle = h;
    return SYNCQ_OK;
}

static int
lite_step(struct sq_db_stmt *st, syncq_error *err)
{
    int rc = sqlite3_step(st->handle);

    if (rc == SQLITE_ROW) {
        return 1;
    }
    if (rc == SQLITE_DONE) {
        st->db->changes = sqlite3_changes64(st->db->conn);
        sqlite3_reset(st->handle);
        return 0;
    }
    rc = fail_sqlite(st->db, sqlite3_reset(st->handle), st->sql, err);
    return rc;
}

static void
lite_reset(struct sq_db_stmt *st)
{
    if (st->handle != NULL) {
        sqlite3_reset(st->handle);
        sqlite3_clear_bindings(st->handle);
    }
}

static void
lite_finalize(struct sq_db_stmt *st)
{
    sqlite3_finalize(st->handle);
    st->handle = NULL;
}

static void
lite_bind_i64(struct sq_db_stmt *st, int i, int64_t v)
{
    sqlite3_bind_int64(st->handle, i, v);
}

static void
lite_bind_double(struct sq_db_stmt *st, int i, double v)
{
    sqlite3_bind_double(st->handle, i, v);
}

static void
lite_bind_text(struct sq_db_stmt *st, int i, const char *s, size_t len)
{
    sqlite3_bind_text64(st->handle, i, s, len, SQLITE_TRANSIENT, SQLITE_UTF8);
}

static void
lite_bind_blob(struct sq_db_stmt *st, int i, const void *p, size_t len)
{
    sqlite3_bind_blob64(st->handle, i, p, len, SQLITE_TRANSIENT);
}

static void
lite_bind_null(struct sq_db_stmt *st, int i)
{
    sqlite3_bind_null(st->handle, i);
}

static bool
lite_col_null(struct sq_db_stmt *st, int i)
{
    return sqlite3_column_type(st->handle, i) == SQLITE_NULL;
}

static int64_t
lite_col_i64(struct sq_db_stmt *st, int i)
{
    return sqlite3_column_int64(st->handle, i);
}

static double
lite_col_double(struct sq_db_stmt *st, int i)
{
    return sqlite3_column_double(st->handle, i);
}

static const char *
lite_col_text(struct sq_db_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st->handle, i);
}

static const void *
lite_col_blob(struct sq_db_stmt *st, int i, size_t *len)
{
    const void *p = sqlite3_column_blob(st->handle, i);

    *len = (size_t)sqlite3_column_bytes(st->handle, i);
    return p;
}

static int
lite_col_count(struct sq_db_stmt *st)
{
    return sqlite3_column_count(st->handle);
}

static void
lite_close(struct sq_db *db)
{
    sqlite3_close(db->conn);
    db->conn = NULL;
}

const struct sq_db_ops sq_db_sqlite_ops = {
    .kind = "sqlite",
    .connect = lite_connect,
    .exec = lite_exec,
    .prepare = lite_prepare,
    .step = lite_step,
    .reset = lite_reset,
    .finalize = lite_finalize,
    .bind_i64 = lite_bind_i64,
    .bind_double = lite_bind_double,
    .bind_text = lite_bind_text,
    .bind_blob = lite_bind_blob,
    .bind_null = lite_bind_null,
    .col_null = lite_col_null,
    .col_i64 = lite_col_i64,
    .col_double = lite_col_double,
    .col_text = lite_col_text,
    .col_blob = lite_col_blob,
    .col_count = lite_col_count,
    .close = lite_close,
};
