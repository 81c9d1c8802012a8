/* SPDX-License-Identifier: MIT
 *
 * db_impl.h: what db.c shares with its two backends (db_sqlite.c,
 * db_pg.c): the connection and statement structs and the backend
 * operation table. Nothing outside packs/db/db*.c includes
 * this; everyone else uses sq_db.h.
 */
#ifndef SQ_DB_IMPL_H
#define SQ_DB_IMPL_H

#include "db/sq_db.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SQ_DB_STMT_BUCKETS 256

struct sq_db_ops {
    const char *kind;
    /* Connect `target` (a path or libpq URI) into db->conn. */
    int (*connect)(struct sq_db *db, const char *target, syncq_error *err);
    int (*exec)(struct sq_db *db, const char *sql, syncq_error *err);
    /* Prepare st->sql (st->nparams already counted). */
    int (*prepare)(struct sq_db_stmt *st, syncq_error *err);
    int (*step)(struct sq_db_stmt *st, syncq_error *err);
    void (*reset)(struct sq_db_stmt *st); /* also clears bindings */
    void (*finalize)(struct sq_db_stmt *st);
    void (*bind_i64)(struct sq_db_stmt *st, int i, int64_t v);
    void (*bind_double)(struct sq_db_stmt *st, int i, double v);
    void (*bind_text)(struct sq_db_stmt *st, int i, const char *s, size_t len);
    void (*bind_blob)(struct sq_db_stmt *st, int i, const void *p, size_t len);
    void (*bind_null)(struct sq_db_stmt *st, int i);
    bool (*col_null)(struct sq_db_stmt *st, int i);
    int64_t (*col_i64)(struct sq_db_stmt *st, int i);
    double (*col_double)(struct sq_db_stmt *st, int i);
    const char *(*col_text)(struct sq_db_stmt *st, int i);
    const void *(*col_blob)(struct sq_db_stmt *st, int i, size_t *len);
    int (*col_count)(struct sq_db_stmt *st);
    /* Close the connection (after every statement was finalised). */
    void (*close)(struct sq_db *db);
};

struct sq_db {
    const struct sq_db_ops *ops;
    void *conn;      /* sqlite3 * or PGconn * */
    char *url_shown; /* the URL with any password masked */
    struct sq_db_stmt *buckets[SQ_DB_STMT_BUCKETS]; /* statement cache */
    struct {
        const char *sql; /* caller's pointer (a literal) */
        struct sq_db_stmt *st;
    } recent[64];    /* pointer fast path of the cache */
    size_t nstmts;   /* statements cached */
    unsigned pg_seq; /* PostgreSQL prepared statement names */
    int64_t changes; /* rows changed by the last finished DML */
    bool busy;       /* last error was a lock conflict */
    bool unique;     /* last error was a unique-key violation */
    bool in_tx;      /* BEGIN issued, no COMMIT/ROLLBACK yet */
    pid_t pid;       /* process that opened the connection */
};

struct sq_db_stmt {
    struct sq_db *db;
    struct sq_db_stmt *next; /* cache bucket chain */
    uint64_t hash;           /* FNV-1a of sql */
    char *sql;               /* owned copy, '?' placeholders */
    int nparams;             /* '?' count */
    bool active;             /* stepped, not yet finished or reset */
    bool bind_error;         /* a bind index was out of range */
    /* SQLite */
    void *handle; /* sqlite3_stmt * */
    /* PostgreSQL */
    char name[24]; /* server-side prepared statement name */
    bool prepared; /* prepared on the current connection */
    char **vals;   /* nparams text/binary values (owned) */
    int *lens;     /* value lengths (binary ones) */
    int *fmts;     /* 0 text, 1 binary */
    void *res;     /* PGresult * of the current execution */
    int row;       /* current row index, -1 before the first */
    int nrows;
    unsigned char *blob; /* unescaped bytea of the last col_blob */
};

extern const struct sq_db_ops sq_db_sqlite_ops;
extern const struct sq_db_ops sq_db_pg_ops;

/* Count '?' placeholders outside quotes. */
int sq_db_count_params(const char *sql);

/* Rewrite '?' placeholders as $1.. (PostgreSQL); owned, NULL on OOM. */
char *sq_db_pg_placeholders(const char *sql);

/* Substitute the schema tokens {ID}, {KEY64} and {BLOB} for the
 * backend; owned, NULL on OOM. */
char *sq_db_schema_expand(const char *sql, bool is_pg);

/* PostgreSQL: run `sql` (COPY ... FROM STDIN, text format) with `data`
 * (`len` bytes of rows) as its input; *rows gets the rows loaded.
 * Errors: SYNCQ_EDB (the message quotes the server). */
int sq_db_pg_copy_in(struct sq_db *db, const char *sql, const char *data,
                     size_t len, int64_t *rows, syncq_error *err);

/* Create/migrate the schema (db_schema.c). */
int sq_db_migrate(struct sq_db *db, syncq_error *err);

/* Reset every statement still stepping (before BEGIN/COMMIT so no read
 * snapshot outlives its transaction). */
void sq_db_reset_active(struct sq_db *db);

/* PostgreSQL lost its connection and reconnected: every statement must
 * be prepared again. */
void sq_db_forget_prepared(struct sq_db *db);

#endif
