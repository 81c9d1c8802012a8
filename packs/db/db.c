/* SPDX-License-Identifier: MIT
 *
 * db.c: the driver-neutral half of the catalog database (sq_db.h): URL
 * dispatch, the per-connection statement cache, transactions with a
 * retry on lock conflicts, the per-process shared connection, and the
 * raw_payload staging calls. The drivers are db_sqlite.c and db_pg.c;
 * the schema is db_schema.c. Never logs a password (URLs are masked).
 */
#include "db/sq_db.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_hash.h"
#include "sq_id.h"
#include <syncq/log.h>
#include <syncq/time.h>
#include "sq_url.h"
#include "db/db_impl.h"
#include "db/ds_util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TX_ATTEMPTS 8

static bool
is_pg_url(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 ||
           strncmp(url, "postgres://", 11) == 0;
}

bool
sq_db_url_missing(const char *url)
{
    const char *target = url;
    struct stat st;

    if (url == NULL || is_pg_url(url)) {
        return false;
    }
    if (strncmp(url, "sqlite://", 9) == 0) {
        target = url + 9;
    } else if (strncmp(url, "sqlite:", 7) == 0) {
        target = url + 7;
    }
    if (target[0] == '\0' || strcmp(target, ":memory:") == 0) {
        return false;
    }
    return stat(target, &st) != 0 && errno == ENOENT;
}

/* mkdir -p of the directory part of `path`. */
static int
make_parent_dirs(const char *path, syncq_error *err)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof buf) {
        return sq_fail(err, SYNCQ_EINVAL, "database path is over %zu bytes",
                       sizeof buf - 1);
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/') {
            continue;
        }
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            return sq_fail_errno(err, SYNCQ_EIO,
                                 "cannot create directory "
                                 "%s: %s",
                                 buf, strerror(errno));
        }
        buf[i] = '/';
    }
    return SYNCQ_OK;
}

int
sq_db_open(const char *url, struct sq_db **out, syncq_error *err)
{
    struct sq_db *db = NULL;
    const char *target = url;
    int rc;

    *out = NULL;
    if (url == NULL || url[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL,
                       "database URL is empty "
                       "(SYNCQ_DATABASE_URL)");
    }
    db = sq_calloc(1, sizeof *db);
    if (db == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory opening database");
    }
    db->pid = getpid();
    db->url_shown = sq_url_redact(url);
    if (db->url_shown == NULL) {
        sq_free(db);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory opening database");
    }
    if (is_pg_url(url)) {
        db->ops = &sq_db_pg_ops;
    } else {
        if (strncmp(url, "sqlite://", 9) == 0) {
            target = url + 9;
        } else if (strncmp(url, "sqlite:", 7) == 0) {
            target = url + 7;
        } else if (strstr(url, "://") != NULL) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "database URL %s: unknown scheme "
                         "(a SQLite path or postgresql://...)",
                         db->url_shown);
            goto fail;
        }
        if (target[0] == '\0') {
            rc = sq_fail(err, SYNCQ_EINVAL, "database URL %s has no path",
                         db->url_shown);
            goto fail;
        }
        if (strcmp(target, ":memory:") != 0) {
            rc = make_parent_dirs(target, err);
            if (rc != SYNCQ_OK) {
                goto fail;
            }
        }
        db->ops = &sq_db_sqlite_ops;
    }
    rc = db->ops->connect(db, target, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    rc = sq_db_migrate(db, err);
    if (rc != SYNCQ_OK) {
        goto fail;
    }
    *out = db;
    return SYNCQ_OK;
fail:
    sq_db_close(db);
    return rc;
}

void
sq_db_close(struct sq_db *db)
{
    if (db == NULL) {
        return;
    }
    for (size_t b = 0; b < SQ_DB_STMT_BUCKETS; b++) {
        struct sq_db_stmt *st = db->buckets[b];
        while (st != NULL) {
            struct sq_db_stmt *next = st->next;
            db->ops->finalize(st);
            sq_free(st->sql);
            sq_free(st);
            st = next;
        }
        db->buckets[b] = NULL;
    }
    if (db->ops != NULL && db->conn != NULL) {
        db->ops->close(db);
    }
    sq_free(db->url_shown);
    sq_free(db);
}

const char *
sq_db_kind(const struct sq_db *db)
{
    return db->ops->kind;
}

bool
sq_db_is_pg(const struct sq_db *db)
{
    return db->ops == &sq_db_pg_ops;
}

/* ---- statements ------------------------------------------------------ */

int
sq_db_count_params(const char *sql)
{
    int n = 0;
    char quote = 0;

    for (const char *p = sql; *p != '\0'; p++) {
        if (quote != 0) {
            if (*p == quote) {
                quote = 0;
            }
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?') {
            n++;
        }
    }
    return n;
}

char *
sq_db_pg_placeholders(const char *sql)
{
    size_t n = strlen(sql);
    int params = sq_db_count_params(sql);
    char *out = sq_malloc(n + (size_t)params * 6 + 1);
    char *o = out;
    char quote = 0;
    int k = 0;

    if (out == NULL) {
        return NULL;
    }
    for (const char *p = sql; *p != '\0'; p++) {
        if (quote != 0) {
            if (*p == quote) {
                quote = 0;
            }
            *o++ = *p;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            *o++ = *p;
        } else if (*p == '?') {
            int w = snprintf(o, 8, "$%d", ++k);
            o += w;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* FNV-1a of the length and at most the first and last 48 bytes: SQL
 * texts differ early or late, and a collision only costs a strcmp. */
static uint64_t
sql_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
    size_t head = n < 48 ? n : 48;

    for (size_t i = 0; i < head; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    for (size_t i = n > 96 ? n - 48 : head; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static struct sq_db_stmt *
ready(struct sq_db *db, struct sq_db_stmt *st)
{
    db->ops->reset(st);
    st->active = false;
    st->bind_error = false;
    return st;
}

int
sq_db_prepare(struct sq_db *db, const char *sql, struct sq_db_stmt **out,
              syncq_error *err)
{
    size_t slot = ((uintptr_t)sql >> 4) % 64;
    size_t n;
    uint64_t h;
    size_t b;
    struct sq_db_stmt *st;
    int rc;

    /* Most SQL is a string literal: same pointer, same statement. The
     * strcmp guards against a freed dynamic string's address reused. */
    if (db->recent[slot].sql == sql &&
        strcmp(db->recent[slot].st->sql, sql) == 0) {
        *out = ready(db, db->recent[slot].st);
        return SYNCQ_OK;
    }
    n = strlen(sql);
    h = sql_hash(sql, n);
    b = (size_t)(h % SQ_DB_STMT_BUCKETS);
    *out = NULL;
    for (st = db->buckets[b]; st != NULL; st = st->next) {
        if (st->hash == h && strcmp(st->sql, sql) == 0) {
            db->recent[slot].sql = sql;
            db->recent[slot].st = st;
            *out = ready(db, st);
            return SYNCQ_OK;
        }
    }
    st = sq_calloc(1, sizeof *st);
    if (st == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory preparing SQL");
    }
    st->db = db;
    st->hash = h;
    st->row = -1;
    st->sql = sq_strdup(sql);
    if (st->sql == NULL) {
        sq_free(st);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory preparing SQL");
    }
    st->nparams = sq_db_count_params(sql);
    rc = db->ops->prepare(st, err);
    if (rc != SYNCQ_OK) {
        db->ops->finalize(st);
        sq_free(st->sql);
        sq_free(st);
        return rc;
    }
    st->next = db->buckets[b];
    db->buckets[b] = st;
    db->nstmts++;
    db->recent[slot].sql = sql;
    db->recent[slot].st = st;
    *out = st;
    return SYNCQ_OK;
}

static bool
bind_ok(struct sq_db_stmt *st, int i)
{
    if (i < 1 || i > st->nparams) {
        st->bind_error = true;
        return false;
    }
    return true;
}

void
sq_db_bind_i64(struct sq_db_stmt *st, int i, int64_t v)
{
    if (bind_ok(st, i)) {
        st->db->ops->bind_i64(st, i, v);
    }
}

void
sq_db_bind_double(struct sq_db_stmt *st, int i, double v)
{
    if (bind_ok(st, i)) {
        st->db->ops->bind_double(st, i, v);
    }
}

void
sq_db_bind_text(struct sq_db_stmt *st, int i, const char *s)
{
    if (s == NULL) {
        sq_db_bind_null(st, i);
    } else {
        sq_db_bind_textn(st, i, s, strlen(s));
    }
}

void
sq_db_bind_textn(struct sq_db_stmt *st, int i, const char *s, size_t len)
{
    if (s == NULL) {
        sq_db_bind_null(st, i);
    } else if (bind_ok(st, i)) {
        st->db->ops->bind_text(st, i, s, len);
    }
}

void
sq_db_bind_blob(struct sq_db_stmt *st, int i, const void *p, size_t len)
{
    if (bind_ok(st, i)) {
        st->db->ops->bind_blob(st, i, p != NULL ? p : "", len);
    }
}

void
sq_db_bind_null(struct sq_db_stmt *st, int i)
{
    if (bind_ok(st, i)) {
        st->db->ops->bind_null(st, i);
    }
}

int
sq_db_step(struct sq_db_stmt *st, syncq_error *err)
{
    int rc;

    if (st->bind_error) {
        return sq_fail(err, SYNCQ_EINTERNAL,
                       "SQL parameter index out of "
                       "range for: %.120s",
                       st->sql);
    }
    st->db->busy = false;
    st->db->unique = false;
    st->active = true;
    rc = st->db->ops->step(st, err);
    if (rc <= 0) {
        /* Done or failed: release the read snapshot at once. */
        st->active = false;
    }
    return rc;
}

bool
sq_db_col_null(struct sq_db_stmt *st, int i)
{
    return st->db->ops->col_null(st, i);
}

int64_t
sq_db_col_i64(struct sq_db_stmt *st, int i)
{
    return st->db->ops->col_i64(st, i);
}

double
sq_db_col_double(struct sq_db_stmt *st, int i)
{
    return st->db->ops->col_double(st, i);
}

const char *
sq_db_col_text(struct sq_db_stmt *st, int i)
{
    return st->db->ops->col_text(st, i);
}

const void *
sq_db_col_blob(struct sq_db_stmt *st, int i, size_t *len)
{
    return st->db->ops->col_blob(st, i, len);
}

int
sq_db_col_count(struct sq_db_stmt *st)
{
    return st->db->ops->col_count(st);
}

void
sq_db_reset(struct sq_db_stmt *st)
{
    if (st != NULL) {
        st->db->ops->reset(st);
        st->active = false;
    }
}

void
sq_db_reset_active(struct sq_db *db)
{
    for (size_t b = 0; b < SQ_DB_STMT_BUCKETS; b++) {
        for (struct sq_db_stmt *st = db->buckets[b]; st; st = st->next) {
            if (st->active) {
                sq_db_reset(st);
            }
        }
    }
}

void
sq_db_forget_prepared(struct sq_db *db)
{
    for (size_t b = 0; b < SQ_DB_STMT_BUCKETS; b++) {
        for (struct sq_db_stmt *st = db->buckets[b]; st; st = st->next) {
            st->prepared = false;
        }
    }
}

int64_t
sq_db_changes(struct sq_db *db)
{
    return db->changes;
}

int
sq_db_exec(struct sq_db *db, const char *sql, syncq_error *err)
{
    db->busy = false;
    db->unique = false;
    return db->ops->exec(db, sql, err);
}

int
sq_db_query_i64(struct sq_db *db, const char *sql, bool has_arg, int64_t arg,
                int64_t *out, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc;

    *out = 0;
    rc = sq_db_prepare(db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (has_arg) {
        sq_db_bind_i64(st, 1, arg);
    }
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 1) {
        *out = sq_db_col_i64(st, 0);
    }
    sq_db_reset(st);
    return SYNCQ_OK;
}

/* ---- transactions ---------------------------------------------------- */

int
sq_db_begin(struct sq_db *db, syncq_error *err)
{
    int rc;

    if (db->in_tx) {
        return sq_fail(err, SYNCQ_EINTERNAL, "transaction already open");
    }
    sq_db_reset_active(db);
    rc = sq_db_exec(db, sq_db_is_pg(db) ? "BEGIN" : "BEGIN IMMEDIATE", err);
    if (rc == SYNCQ_OK) {
        db->in_tx = true;
    }
    return rc;
}

int
sq_db_commit(struct sq_db *db, syncq_error *err)
{
    int rc;

    sq_db_reset_active(db);
    rc = sq_db_exec(db, "COMMIT", err);
    if (rc == SYNCQ_OK) {
        db->in_tx = false;
    }
    return rc;
}

void
sq_db_rollback(struct sq_db *db)
{
    bool busy = db->busy;
    bool unique = db->unique;

    sq_db_reset_active(db);
    if (db->in_tx) {
        (void)db->ops->exec(db, "ROLLBACK", NULL);
    }
    db->in_tx = false;
    db->busy = busy; /* the caller still wants to know why */
    db->unique = unique;
}

bool
sq_db_in_tx(const struct sq_db *db)
{
    return db->in_tx;
}

bool
sq_db_busy(const struct sq_db *db)
{
    return db->busy;
}

bool
sq_db_lost_insert_race(struct sq_db *db)
{
    if (db->unique) {
        db->busy = true;
    }
    return db->unique;
}

int
sq_db_with_tx(struct sq_db *db, sq_db_tx_fn fn, void *ud, syncq_error *err)
{
    int64_t delay_ms = 10;
    int rc = SYNCQ_OK;

    for (int attempt = 1; attempt <= TX_ATTEMPTS; attempt++) {
        rc = sq_db_begin(db, err);
        if (rc == SYNCQ_OK) {
            rc = fn(db, ud, err);
        }
        if (rc == SYNCQ_OK) {
            rc = sq_db_commit(db, err);
        }
        if (rc == SYNCQ_OK) {
            return SYNCQ_OK;
        }
        sq_db_rollback(db);
        if (!sq_db_busy(db) || attempt == TX_ATTEMPTS) {
            break;
        }
        syncq_log(SYNCQ_LOG_DEBUG, "db.busy_retry", "attempt=%d delay_ms=%lld", attempt,
                 (long long)delay_ms);
        syncq_sleep_ms(delay_ms / 2 +
                    (int64_t)sq_random_below((uint64_t)delay_ms / 2 + 1));
        delay_ms = delay_ms * 2 > 1000 ? 1000 : delay_ms * 2;
    }
    return rc;
}

/* ---- shared per-process connection ----------------------------------- */

static struct sq_db *shared_db;
static char *shared_url;
static pid_t shared_pid;

int
sq_db_shared(const syncq_config *cfg, struct sq_db **out, syncq_error *err)
{
    const char *url = syncq_config_str(cfg, "SYNCQ_DATABASE_URL");
    struct sq_db *db = NULL;
    char *copy;
    int rc;

    *out = NULL;
    if (shared_db != NULL && shared_pid != getpid()) {
        /* Inherited over fork: the parent still uses that connection, so
         * closing it here would end the parent's PostgreSQL session or
         * disturb its SQLite WAL. Abandon it. */
        shared_db = NULL;
        shared_url = NULL;
    }
    if (shared_db != NULL && strcmp(shared_url, url) == 0) {
        *out = shared_db;
        return SYNCQ_OK;
    }
    copy = sq_strdup(url);
    if (copy == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory opening database");
    }
    rc = sq_db_open(url, &db, err);
    if (rc != SYNCQ_OK) {
        sq_free(copy);
        return rc;
    }
    sq_db_shared_close();
    shared_db = db;
    shared_url = copy;
    shared_pid = getpid();
    *out = db;
    return SYNCQ_OK;
}

void
sq_db_shared_close(void)
{
    if (shared_db != NULL && shared_pid == getpid()) {
        sq_db_close(shared_db);
        sq_free(shared_url);
    }
    shared_db = NULL;
    shared_url = NULL;
}

/* ---- raw_payload staging --------------------------------------------- */

static int
check_token(const char *what, const char *s, syncq_error *err)
{
    if (s == NULL || s[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "raw payload %s is empty", what);
    }
    if (strlen(s) > 200) {
        return sq_fail(err, SYNCQ_EINVAL, "raw payload %s is over 200 bytes",
                       what);
    }
    return SYNCQ_OK;
}

int
sq_db_raw_put(struct sq_db *db, const char *kind, const char *key,
              int http_status, const char *outcome, const void *body,
              size_t len, const char *normalized_json, syncq_error *err)
{
    static const char sql[] =
        "INSERT INTO raw_payload (kind, key, http_status, outcome, sha256, "
        "body, body_bytes, normalized, norm_hash, fetched_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, key) DO UPDATE SET "
        "http_status = excluded.http_status, outcome = excluded.outcome, "
        "sha256 = excluded.sha256, body = excluded.body, "
        "body_bytes = excluded.body_bytes, normalized = excluded.normalized, "
        "norm_hash = excluded.norm_hash, fetched_at = excluded.fetched_at";
    struct sq_db_stmt *st;
    char body_sha[65];
    char norm_hash[65] = "";
    char now[40];
    int rc;

    rc = check_token("kind", kind, err);
    if (rc == SYNCQ_OK) {
        rc = check_token("key", key, err);
    }
    if (rc == SYNCQ_OK) {
        rc = check_token("outcome", outcome, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (normalized_json != NULL) {
        char msg[256] = "";
        json_t *rec = NULL;
        rc = sq_ds_json_parse(normalized_json, strlen(normalized_json), &rec,
                              msg, sizeof msg, err);
        if (rc == SYNCQ_ENOMEM) {
            return rc;
        }
        if (rc != SYNCQ_OK || !json_is_object(rec)) {
            json_decref(rec);
            return sq_fail(err, SYNCQ_EINVAL,
                           "raw payload %s/%s: normalised "
                           "record is not a JSON object%s%s",
                           kind, key, msg[0] != '\0' ? ": " : "", msg);
        }
        rc = sq_ds_content_hash(rec, norm_hash, err);
        json_decref(rec);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    sq_sha256_hex(body != NULL ? body : "", body != NULL ? len : 0, body_sha);
    rc = sq_db_prepare(db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_text(st, 1, kind);
    sq_db_bind_text(st, 2, key);
    sq_db_bind_i64(st, 3, http_status);
    sq_db_bind_text(st, 4, outcome);
    sq_db_bind_text(st, 5, body_sha);
    sq_db_bind_blob(st, 6, body, body != NULL ? len : 0);
    sq_db_bind_i64(st, 7, body != NULL ? (int64_t)len : 0);
    sq_db_bind_text(st, 8, normalized_json);
    sq_db_bind_text(st, 9, normalized_json != NULL ? norm_hash : body_sha);
    sq_db_bind_text(st, 10, sq_ds_now_iso(now, sizeof now));
    rc = sq_db_step(st, err);
    if (rc < 0) {
        sq_error_prefix(err, "storing raw payload");
        return rc;
    }
    return SYNCQ_OK;
}

int
sq_db_raw_get(struct sq_db *db, const char *kind, const char *key,
              char **json_out, char outcome_out[32], syncq_error *err)
{
    static const char sql[] = "SELECT normalized, outcome FROM raw_payload "
                              "WHERE kind = ? AND key = ?";
    struct sq_db_stmt *st;
    const char *norm;
    int rc;

    *json_out = NULL;
    if (outcome_out != NULL) {
        outcome_out[0] = '\0';
    }
    rc = sq_db_prepare(db, sql, &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_text(st, 1, kind);
    sq_db_bind_text(st, 2, key);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        return sq_fail(err, SYNCQ_ENOTFOUND, "no raw payload %s/%s", kind, key);
    }
    norm = sq_db_col_text(st, 0);
    if (outcome_out != NULL && sq_db_col_text(st, 1) != NULL) {
        snprintf(outcome_out, 32, "%s", sq_db_col_text(st, 1));
    }
    if (norm != NULL) {
        *json_out = sq_strdup(norm);
        if (*json_out == NULL) {
            sq_db_reset(st);
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    sq_db_reset(st);
    return SYNCQ_OK;
}

int
sq_db_schema_version(struct sq_db *db, int *out, syncq_error *err)
{
    int64_t v = 0;
    int rc = sq_db_query_i64(db,
                             "SELECT COALESCE(MAX(version), 0) FROM "
                             "schema_version",
                             false, 0, &v, err);

    *out = (int)v;
    return rc;
}
