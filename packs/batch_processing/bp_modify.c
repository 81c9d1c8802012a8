/* SPDX-License-Identifier: MIT
 *
 * bp_modify.c: batch_update and batch_delete (bp.h). Both walk the
 * matching products in keyset chunks of 1000 offer ids, one transaction
 * a chunk, and advance a cursor only after a chunk committed, so a killed
 * run resumed from its cursor neither skips nor repeats work (and both
 * operations are idempotent anyway).
 */
#include "batch_processing/bp.h"
#include "core/sq_alloc.h"
#include "core/sq_buf.h"
#include "core/sq_error.h"
#include "core/sq_time.h"
#include "data_sync/ds_catalog.h"

#include <stdio.h>
#include <string.h>

#define CHUNK 1000

/* Columns batch_update may set, with their types; NULL allowed unless
 * `required`. */
static const struct {
    const char *name;
    enum sq_ds_ftype type;
    bool required;
} settable[] = {
    {"status", SQ_F_TEXT, true},
    {"category_id", SQ_F_I64, false},
    {"top_category_id", SQ_F_I64, false},
    {"subject", SQ_F_TEXT, true},
    {"subject_tr", SQ_F_TEXT, false},
    {"unit", SQ_F_TEXT, false},
    {"moq", SQ_F_I64, false},
    {"currency", SQ_F_TEXT, false},
    {"sold_text", SQ_F_TEXT, false},
    {"detail_url", SQ_F_TEXT, false},
    {"video_url", SQ_F_TEXT, false},
    {"price_min_fen", SQ_F_I64, false},
    {"price_max_fen", SQ_F_I64, false},
};

#define NSET (sizeof settable / sizeof settable[0])

struct chunk {
    int64_t ids[CHUNK];
    int n;
};

/* The next chunk of matching offer ids after *cursor. */
static int
next_chunk(struct sq_db *db, const char *sql, const struct bp_filter *f,
           int64_t cursor, struct chunk *c, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, sql, &st, err);

    c->n = 0;
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, cursor);
    sq_db_bind_i64(st, bp_filter_bind(st, 2, f), CHUNK);
    while ((rc = sq_db_step(st, err)) == 1) {
        c->ids[c->n++] = sq_db_col_i64(st, 0);
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
count_matching(struct sq_db *db, const struct bp_filter *f, int64_t cursor,
               int64_t *out, syncq_error *err)
{
    char *sql = bp_filter_sql(db,
                              "SELECT COUNT(*) FROM product WHERE "
                              "offer_id > ? AND ",
                              f, "");
    struct sq_db_stmt *st;
    int rc;

    *out = 0;
    if (sql == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_db_prepare(db, sql, &st, err);
    if (rc == SYNCQ_OK) {
        sq_db_bind_i64(st, 1, cursor);
        bp_filter_bind(st, 2, f);
        rc = sq_db_step(st, err);
        if (rc == 1) {
            *out = sq_db_col_i64(st, 0);
            sq_db_reset(st);
        }
        rc = rc < 0 ? rc : SYNCQ_OK;
    }
    sq_free(sql);
    return rc;
}

/* ---- update ------------------------------------------------------------ */

struct upd {
    const char *sql; /* UPDATE ... WHERE offer_id BETWEEN ? AND ?
                        AND <filter> */
    const json_t *set;
    const struct bp_filter *f;
    const struct chunk *c;
    int64_t changed;
};

static int
bind_set(struct sq_db_stmt *st, const json_t *set)
{
    int i = 1;

    for (size_t k = 0; k < NSET; k++) {
        const json_t *v = json_object_get(set, settable[k].name);
        if (v == NULL) {
            continue;
        }
        if (json_is_null(v)) {
            sq_db_bind_null(st, i);
        } else if (settable[k].type == SQ_F_I64) {
            sq_db_bind_i64(st, i, (int64_t)json_integer_value(v));
        } else {
            sq_db_bind_text(st, i, json_string_value(v));
        }
        i++;
    }
    return i;
}

static int
update_tx(struct sq_db *db, void *ud, syncq_error *err)
{
    struct upd *u = ud;
    struct sq_db_stmt *st;
    char now[40];
    int i;
    int rc = sq_db_prepare(db, u->sql, &st, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    i = bind_set(st, u->set);
    sq_db_bind_text(st, i++, sq_ds_now_iso(now, sizeof now));
    sq_db_bind_i64(st, i++, u->c->ids[0]);
    sq_db_bind_i64(st, i++, u->c->ids[u->c->n - 1]);
    bp_filter_bind(st, i, u->f);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    u->changed = sq_db_changes(db);
    return SYNCQ_OK;
}

static int
check_set(const json_t *set, struct sq_buf *b, syncq_error *err)
{
    const char *k;
    const json_t *v;

    if (!json_is_object(set) || json_object_size(set) == 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "set: a non-empty object of "
                       "columns to change");
    }
    json_object_foreach((json_t *)set, k, v)
    {
        size_t i;
        for (i = 0; i < NSET && strcmp(settable[i].name, k) != 0; i++) {
        }
        if (i == NSET) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "set: '%.40s' cannot be "
                           "changed (allowed: status, category_id, "
                           "top_category_id, subject, subject_tr, unit, moq, "
                           "currency, sold_text, detail_url, video_url, "
                           "price_min_fen, price_max_fen)",
                           k);
        }
        if (json_is_null(v)
                ? settable[i].required
                : (settable[i].type == SQ_F_I64 ? !json_is_integer(v)
                                                : !json_is_string(v))) {
            return sq_fail(err, SYNCQ_EINVAL, "set: %s needs %s", k,
                           settable[i].type == SQ_F_I64 ? "an integer"
                                                        : "a string");
        }
    }
    /* In table order, matching bind_set. */
    for (size_t i = 0; i < NSET; i++) {
        if (json_object_get(set, settable[i].name) != NULL) {
            sq_buf_printf(b, "%s = ?, ", settable[i].name);
        }
    }
    return SYNCQ_OK;
}

int
bp_update(struct sq_db *db, const json_t *filter, const json_t *set,
          int64_t *cursor, const struct sq_progress *p, json_t **result,
          syncq_error *err)
{
    struct bp_filter f;
    struct sq_buf b;
    struct chunk *c = NULL;
    char *sel = NULL;
    char *upd_sql = NULL;
    char *head = NULL;
    struct upd u;
    int64_t total = 0;
    int64_t seen = 0;
    int64_t changed = 0;
    int64_t started = sq_mono_ms();
    int rc;

    *result = NULL;
    rc = bp_filter_compile(filter, &f, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_buf_init(&b, 0);
    sq_buf_adds(&b, "UPDATE product SET ");
    rc = check_set(set, &b, err);
    if (rc != SYNCQ_OK) {
        goto done;
    }
    /* The row changed by hand no longer matches its crawled content. */
    sq_buf_adds(&b, "content_hash = NULL, synced_at = ? WHERE offer_id >= ? "
                    "AND offer_id <= ? AND ");
    head = sq_buf_steal(&b);
    c = sq_malloc(sizeof *c);
    sel = bp_filter_sql(db,
                        "SELECT offer_id FROM product WHERE offer_id > ? "
                        "AND ",
                        &f, " ORDER BY offer_id LIMIT ?");
    upd_sql = head != NULL ? bp_filter_sql(db, head, &f, "") : NULL;
    if (c == NULL || sel == NULL || upd_sql == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        goto done;
    }
    rc = count_matching(db, &f, *cursor, &total, err);
    u.sql = upd_sql;
    u.set = set;
    u.f = &f;
    u.c = c;
    while (rc == SYNCQ_OK) {
        rc = next_chunk(db, sel, &f, *cursor, c, err);
        if (rc != SYNCQ_OK || c->n == 0) {
            break;
        }
        rc = sq_db_with_tx(db, update_tx, &u, err);
        if (rc != SYNCQ_OK) {
            break;
        }
        changed += u.changed;
        seen += c->n;
        *cursor = c->ids[c->n - 1];
        if (sq_progress_report(p, seen, total, "updating") != 0 ||
            sq_progress_stop(p)) {
            rc = sq_fail(err, SYNCQ_ETIMEDOUT, "stopped after %lld products",
                         (long long)seen);
            break;
        }
    }
    if (rc == SYNCQ_OK) {
        *result = json_pack("{s:I, s:I, s:I}", "matched", (json_int_t)seen,
                            "updated", (json_int_t)changed, "elapsed_ms",
                            (json_int_t)(sq_mono_ms() - started));
        if (*result == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
done:
    sq_buf_cleanup(&b);
    sq_free(head);
    sq_free(sel);
    sq_free(upd_sql);
    sq_free(c);
    bp_filter_cleanup(&f);
    return rc;
}

/* ---- delete ------------------------------------------------------------ */

static int
delete_tx(struct sq_db *db, void *ud, syncq_error *err)
{
    const struct chunk *c = ud;
    int rc = SYNCQ_OK;

    for (int i = 0; i < c->n && rc == SYNCQ_OK; i++) {
        rc = sq_ds_offer_delete(db, c->ids[i], err);
    }
    return rc;
}

int
bp_delete(struct sq_db *db, const json_t *filter, bool dry_run, int64_t *cursor,
          const struct sq_progress *p, json_t **result, syncq_error *err)
{
    struct bp_filter f;
    struct chunk *c = NULL;
    char *sel = NULL;
    int64_t total = 0;
    int64_t deleted = 0;
    int64_t started = sq_mono_ms();
    int rc;

    *result = NULL;
    rc = bp_filter_compile(filter, &f, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (f.empty && !json_is_true(json_object_get(filter, "all"))) {
        bp_filter_cleanup(&f);
        return sq_fail(err, SYNCQ_EINVAL,
                       "an empty filter would delete "
                       "every product: say {\"all\": true} to mean it");
    }
    rc = count_matching(db, &f, *cursor, &total, err);
    if (rc != SYNCQ_OK || dry_run) {
        goto finish;
    }
    c = sq_malloc(sizeof *c);
    sel = bp_filter_sql(db,
                        "SELECT offer_id FROM product WHERE offer_id > ? "
                        "AND ",
                        &f, " ORDER BY offer_id LIMIT ?");
    if (c == NULL || sel == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        goto finish;
    }
    while (rc == SYNCQ_OK) {
        rc = next_chunk(db, sel, &f, *cursor, c, err);
        if (rc != SYNCQ_OK || c->n == 0) {
            break;
        }
        rc = sq_db_with_tx(db, delete_tx, c, err);
        if (rc != SYNCQ_OK) {
            break;
        }
        deleted += c->n;
        *cursor = c->ids[c->n - 1];
        if (sq_progress_report(p, deleted, total, "deleting") != 0 ||
            sq_progress_stop(p)) {
            rc = sq_fail(err, SYNCQ_ETIMEDOUT, "stopped after %lld products",
                         (long long)deleted);
            break;
        }
    }
finish:
    if (rc == SYNCQ_OK) {
        *result =
            json_pack("{s:b, s:I, s:I, s:I}", "dry_run", dry_run, "matched",
                      (json_int_t)total, "deleted", (json_int_t)deleted,
                      "elapsed_ms", (json_int_t)(sq_mono_ms() - started));
        if (*result == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    sq_free(c);
    sq_free(sel);
    bp_filter_cleanup(&f);
    return rc;
}
