/* SPDX-License-Identifier: MIT
 *
 * db_pg.c: the PostgreSQL backend of sq_db.h (libpq). Statements are
 * server-side prepared (PQprepare) once per connection with '?' rewritten
 * to $n; parameters travel as text (blobs as binary), results come back
 * as text and are converted on read. A connection lost outside a
 * transaction is re-established once (PQreset) and the statement
 * re-prepared, so a restarted server costs one retry, not a failed task.
 * Server NOTICEs are swallowed: the library never writes to stderr.
 * Serialization failures (40001), deadlocks (40P01) and lock timeouts
 * (55P03) are reported as retryable through sq_db_busy(); a unique
 * violation (23505) is noted for sq_db_lost_insert_race(), which only the
 * callers that look a key up before inserting it ask.
 */
#include "db/db_impl.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include <syncq/log.h>

#include <libpq-fe.h>
#include "sq_lazy_pq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* libpq messages end in a newline and may span lines: keep one line. */
static void
one_line(const char *in, char *out, size_t cap)
{
    size_t n = 0;

    for (; in != NULL && *in != '\0' && n + 1 < cap; in++) {
        out[n++] = (*in == '\n' || *in == '\r' || *in == '\t') ? ' ' : *in;
    }
    while (n > 0 && out[n - 1] == ' ') {
        n--;
    }
    out[n] = '\0';
}

static int
fail_pg(struct sq_db *db, const PGresult *res, const char *sql,
        syncq_error *err)
{
    char msg[200];
    const char *state =
        res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    one_line(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db->conn),
             msg, sizeof msg);
    if (msg[0] == '\0') {
        one_line(PQerrorMessage(db->conn), msg, sizeof msg);
    }
    db->busy = state != NULL &&
               (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                strcmp(state, "55P03") == 0);
    db->unique = state != NULL && strcmp(state, "23505") == 0;
    return sq_fail(err, SYNCQ_EDB, "postgresql: %s%s%s%s%.80s%s", msg,
                   state != NULL ? " [" : "", state != NULL ? state : "",
                   state != NULL ? "]" : "", sql != NULL ? " (in: " : "",
                   sql != NULL ? sql : "");
}

static int
pg_connect(struct sq_db *db, const char *target, syncq_error *err)
{
    PGconn *c;
    char msg[200];

    /* libpq (with its Kerberos/LDAP dependencies) is loaded on first use:
     * SQLite users never map it. */
    if (sq_lazy_pq_load(err) != SYNCQ_OK) {
        return SYNCQ_ENOTSUP;
    }
    c = PQconnectdb(target);
    if (c == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory connecting to %s",
                       db->url_shown);
    }
    if (PQstatus(c) != CONNECTION_OK) {
        one_line(PQerrorMessage(c), msg, sizeof msg);
        PQfinish(c);
        return sq_fail(err, SYNCQ_EDB, "postgresql: cannot connect to %s: %s",
                       db->url_shown, msg);
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    if (PQsetClientEncoding(c, "UTF8") != 0) {
        one_line(PQerrorMessage(c), msg, sizeof msg);
        PQfinish(c);
        return sq_fail(err, SYNCQ_EDB, "postgresql: %s: cannot use UTF8: %s",
                       db->url_shown, msg);
    }
    db->conn = c;
    return SYNCQ_OK;
}

/* After a lost connection outside a transaction: reconnect once. */
static bool
try_reconnect(struct sq_db *db)
{
    if (PQstatus(db->conn) != CONNECTION_BAD || db->in_tx) {
        return false;
    }
    syncq_log(SYNCQ_LOG_WARN, "db.reconnect", "url=%s", db->url_shown);
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        return false;
    }
    PQsetNoticeProcessor(db->conn, quiet_notice, NULL);
    sq_db_forget_prepared(db);
    return true;
}

static int
pg_exec(struct sq_db *db, const char *sql, syncq_error *err)
{
    PGresult *res;
    ExecStatusType s;
    int rc;

    for (int attempt = 0; attempt < 2; attempt++) {
        res = PQexec(db->conn, sql);
        s = PQresultStatus(res);
        if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
            const char *n = PQcmdTuples(res);
            db->changes = (n != NULL && *n != '\0') ? strtoll(n, NULL, 10) : 0;
            PQclear(res);
            return SYNCQ_OK;
        }
        if (attempt == 0 && try_reconnect(db)) {
            PQclear(res);
            continue;
        }
        rc = fail_pg(db, res, sql, err);
        PQclear(res);
        return rc;
    }
    return sq_fail(err, SYNCQ_EDB, "postgresql: connection lost");
}

/* The end of a COPY: every result libpq has left, the first error kept. */
static int
copy_results(struct sq_db *db, const char *sql, int rc, int64_t *rows,
             syncq_error *err)
{
    PGresult *res;

    while ((res = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            const char *n = PQcmdTuples(res);
            *rows = (n != NULL && *n != '\0') ? strtoll(n, NULL, 10) : 0;
        } else if (rc == SYNCQ_OK) {
            rc = fail_pg(db, res, sql, err);
        }
        PQclear(res);
    }
    return rc;
}

int
sq_db_pg_copy_in(struct sq_db *db, const char *sql, const char *data,
                 size_t len, int64_t *rows, syncq_error *err)
{
    PGresult *res = PQexec(db->conn, sql);
    int rc = SYNCQ_OK;

    *rows = 0;
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = fail_pg(db, res, sql, err);
        PQclear(res);
        return copy_results(db, sql, rc, rows, err);
    }
    PQclear(res);
    for (size_t off = 0; off < len && rc == SYNCQ_OK;) {
        size_t n = len - off > (1u << 20) ? (1u << 20) : len - off;
        if (PQputCopyData(db->conn, data + off, (int)n) != 1) {
            rc = fail_pg(db, NULL, sql, err);
        }
        off += n;
    }
    if (PQputCopyEnd(db->conn, rc == SYNCQ_OK ? NULL : "client error") != 1 &&
        rc == SYNCQ_OK) {
        rc = fail_pg(db, NULL, sql, err);
    }
    rc = copy_results(db, sql, rc, rows, err);
    db->changes = *rows;
    return rc;
}

static int
server_prepare(struct sq_db_stmt *st, syncq_error *err)
{
    char *pgsql = sq_db_pg_placeholders(st->sql);
    PGresult *res;
    int rc = SYNCQ_OK;

    if (pgsql == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory preparing SQL");
    }
    res = PQprepare(st->db->conn, st->name, pgsql, st->nparams, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = fail_pg(st->db, res, st->sql, err);
    } else {
        st->prepared = true;
    }
    PQclear(res);
    sq_free(pgsql);
    return rc;
}

static int
pg_prepare(struct sq_db_stmt *st, syncq_error *err)
{
    int n = st->nparams > 0 ? st->nparams : 1;

    snprintf(st->name, sizeof st->name, "sq%u", st->db->pg_seq++);
    st->vals = sq_calloc((size_t)n, sizeof *st->vals);
    st->lens = sq_calloc((size_t)n, sizeof *st->lens);
    st->fmts = sq_calloc((size_t)n, sizeof *st->fmts);
    if (st->vals == NULL || st->lens == NULL || st->fmts == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory preparing SQL");
    }
    return server_prepare(st, err);
}

static void
clear_result(struct sq_db_stmt *st)
{
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->nrows = 0;
}

static int
pg_step(struct sq_db_stmt *st, syncq_error *err)
{
    struct sq_db *db = st->db;
    PGresult *res;
    ExecStatusType s;
    int rc;

    if (st->res == NULL) {
        for (int attempt = 0; attempt < 2; attempt++) {
            if (!st->prepared) {
                rc = server_prepare(st, err);
                if (rc != SYNCQ_OK) {
                    if (attempt == 0 && try_reconnect(db)) {
                        continue;
                    }
                    return rc;
                }
            }
            res = PQexecPrepared(db->conn, st->name, st->nparams,
                                 (const char *const *)st->vals, st->lens,
                                 st->fmts, 0);
            s = PQresultStatus(res);
            if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
                const char *n = PQcmdTuples(res);
                db->changes =
                    (n != NULL && *n != '\0') ? strtoll(n, NULL, 10) : 0;
                st->res = res;
                st->row = -1;
                st->nrows = s == PGRES_TUPLES_OK ? PQntuples(res) : 0;
                break;
            }
            if (attempt == 0 && try_reconnect(db)) {
                PQclear(res);
                continue;
            }
            rc = fail_pg(db, res, st->sql, err);
            PQclear(res);
            return rc;
        }
        if (st->res == NULL) {
            return sq_fail(err, SYNCQ_EDB, "postgresql: connection lost");
        }
    }
    st->row++;
    if (st->row < st->nrows) {
        return 1;
    }
    clear_result(st);
    return 0;
}

static void
clear_binds(struct sq_db_stmt *st)
{
    for (int i = 0; i < st->nparams && st->vals != NULL; i++) {
        sq_free(st->vals[i]);
        st->vals[i] = NULL;
        st->lens[i] = 0;
        st->fmts[i] = 0;
    }
}

static void
pg_reset(struct sq_db_stmt *st)
{
    clear_result(st);
    clear_binds(st);
}

static void
pg_finalize(struct sq_db_stmt *st)
{
    pg_reset(st);
    /* Server-side statements die with the connection; sq_db_close closes
     * it right after finalising, so no DEALLOCATE round trip. */
    sq_free(st->vals);
    sq_free(st->lens);
    sq_free(st->fmts);
    if (st->blob != NULL) {
        PQfreemem(st->blob);
    }
    st->vals = NULL;
    st->lens = NULL;
    st->fmts = NULL;
    st->blob = NULL;
}

static void
set_val(struct sq_db_stmt *st, int i, char *v, int len, int fmt)
{
    sq_free(st->vals[i - 1]);
    st->vals[i - 1] = v;
    st->lens[i - 1] = len;
    st->fmts[i - 1] = fmt;
    if (v == NULL && len >= 0 && fmt >= 0) {
        /* allocation failed: SQL NULL would be silently wrong data */
        st->bind_error = true;
    }
}

static void
pg_bind_i64(struct sq_db_stmt *st, int i, int64_t v)
{
    set_val(st, i, sq_asprintf("%lld", (long long)v), 0, 0);
}

static void
pg_bind_double(struct sq_db_stmt *st, int i, double v)
{
    set_val(st, i, sq_asprintf("%.17g", v), 0, 0);
}

static void
pg_bind_text(struct sq_db_stmt *st, int i, const char *s, size_t len)
{
    set_val(st, i, sq_strndup(s, len), 0, 0);
}

static void
pg_bind_blob(struct sq_db_stmt *st, int i, const void *p, size_t len)
{
    char *copy = sq_malloc(len > 0 ? len : 1);

    if (copy != NULL) {
        memcpy(copy, p, len);
    }
    set_val(st, i, copy, (int)len, 1);
}

static void
pg_bind_null(struct sq_db_stmt *st, int i)
{
    sq_free(st->vals[i - 1]);
    st->vals[i - 1] = NULL;
    st->lens[i - 1] = 0;
    st->fmts[i - 1] = 0;
}

static bool
pg_col_null(struct sq_db_stmt *st, int i)
{
    return st->res == NULL || st->row < 0 || i >= PQnfields(st->res) ||
           PQgetisnull(st->res, st->row, i);
}

static int64_t
pg_col_i64(struct sq_db_stmt *st, int i)
{
    if (pg_col_null(st, i)) {
        return 0;
    }
    return strtoll(PQgetvalue(st->res, st->row, i), NULL, 10);
}

static double
pg_col_double(struct sq_db_stmt *st, int i)
{
    if (pg_col_null(st, i)) {
        return 0;
    }
    return strtod(PQgetvalue(st->res, st->row, i), NULL);
}

static const char *
pg_col_text(struct sq_db_stmt *st, int i)
{
    if (pg_col_null(st, i)) {
        return NULL;
    }
    return PQgetvalue(st->res, st->row, i);
}

static const void *
pg_col_blob(struct sq_db_stmt *st, int i, size_t *len)
{
    *len = 0;
    if (pg_col_null(st, i)) {
        return NULL;
    }
    if (st->blob != NULL) {
        PQfreemem(st->blob);
    }
    st->blob = PQunescapeBytea(
        (const unsigned char *)PQgetvalue(st->res, st->row, i), len);
    return st->blob;
}

static int
pg_col_count(struct sq_db_stmt *st)
{
    return st->res != NULL ? PQnfields(st->res) : 0;
}

static void
pg_close(struct sq_db *db)
{
    PQfinish(db->conn);
    db->conn = NULL;
}

const struct sq_db_ops sq_db_pg_ops = {
    .kind = "postgresql",
    .connect = pg_connect,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .step = pg_step,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .bind_i64 = pg_bind_i64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .col_null = pg_col_null,
    .col_i64 = pg_col_i64,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_count = pg_col_count,
    .close = pg_close,
};
