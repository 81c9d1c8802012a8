/* SPDX-License-Identifier: MIT
 *
 * ds_sync.c: sync_products and sync_suppliers (ds_sync.h). Reads the
 * staged records of raw_payload in pages (keyset on raw_id, so memory is
 * bounded by one page whatever the table size), writes each page in one
 * transaction retried on lock conflicts, and marks each processed row
 * with the hash it was synced at (raw_sync.synced_hash). An
 * incremental run therefore touches only records that changed since the
 * last sync, and a run that was killed or stopped simply leaves the rest
 * for the next one.
 */
#include "data_sync/ds_sync.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include <syncq/log.h>
#include <syncq/time.h>
#include "data_sync/ds_catalog.h"
#include "data_sync/ds_sync_page.h"
#include "db/sq_db_rows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 50 /* failed records listed in a result */

void
sq_sync_opts_init(struct sq_sync_opts *o)
{
    memset(o, 0, sizeof *o);
    o->include_categories = true;
    o->include_listings = true;
    o->batch_size = 500;
}

struct counts {
    int64_t inserted, updated, unchanged, failed, superseded, delisted;
};

struct run {
    struct sq_db *db;
    const struct sq_sync_opts *o;
    const struct sq_progress *p;
    struct raw_row *rows;
    size_t nrows;
    struct raw_row *next; /* the page after rows, read ahead */
    size_t nnext;
    struct sq_ds_prep prep; /* next's detail rows, prepared meanwhile */
    json_t **trash;         /* the offers next held, released by prep */
    int64_t done; /* rows processed (progress) */
    int64_t total;
    struct counts prod, cat, list, sup, page;
    int64_t images_skipped, page_images_skipped;
    json_t *errors; /* [{kind, key, error}] */
    json_t *page_errors;
    bool stopped;
    struct sq_db_rows *marks;      /* raw_payload rows synced, per page */
    struct sq_db_rows *superseded; /* superseded detail rows of a page */
    struct sq_ds_offer_batch *batch;
    int *outcomes; /* of the batch's offers */
    char (*hashes)[65]; /* content hashes of the batch's offers */
    bool *is_sup;  /* per row of the page: superseded */
    bool *marked;  /* per row of the page: processed, mark it synced */
    int *bidx;     /* per row of the page: its offer in the batch, or -1 */
    json_t *keys;  /* key -> [row index] of the page */
};

static void
add_counts(struct counts *a, const struct counts *b)
{
    a->inserted += b->inserted;
    a->updated += b->updated;
    a->unchanged += b->unchanged;
    a->failed += b->failed;
    a->superseded += b->superseded;
    a->delisted += b->delisted;
}

static void
count_outcome(struct counts *c, int outcome)
{
    if (outcome == SQ_DS_INSERTED) {
        c->inserted++;
    } else if (outcome == SQ_DS_UPDATED) {
        c->updated++;
    } else {
        c->unchanged++;
    }
}

static void
note_error(struct run *r, const struct raw_row *row, const char *msg)
{
    json_t *e;

    if (json_array_size(r->page_errors) + json_array_size(r->errors) >=
        MAX_ERRORS) {
        return;
    }
    e = json_pack("{s:s, s:s, s:s}", "kind", row->kind, "key", row->key,
                  "error", msg);
    if (e != NULL) {
        json_array_append_new(r->page_errors, e);
    }
    syncq_log(SYNCQ_LOG_WARN, "sync.bad_record", "kind=%s key=%s", row->kind, row->key);
}

static void
copy_text(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s != NULL ? s : "");
}

/* Read the page after *cursor into rows (*n of them). */
static int
read_page(struct run *r, int which, int64_t *cursor, struct raw_row *rows,
          size_t *n, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc;
    size_t cap = (size_t)r->o->batch_size;

    sq_ds_rows_free(rows, n, NULL, NULL);
    rc = sq_db_prepare(r->db, sq_ds_due_page_sql(r->o->full, which), &st, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, *cursor);
    if (!r->o->full) {
        sq_db_bind_i64(st, 2, *cursor);
    }
    sq_db_bind_i64(st, r->o->full ? 2 : 3, (int64_t)cap);
    while ((rc = sq_db_step(st, err)) == 1) {
        struct raw_row *row = &rows[*n];
        memset(row, 0, sizeof *row);
        row->raw_id = sq_db_col_i64(st, 0);
        copy_text(row->kind, sizeof row->kind, sq_db_col_text(st, 1));
        row->key =
            sq_strdup(sq_db_col_text(st, 2) ? sq_db_col_text(st, 2) : "");
        copy_text(row->outcome, sizeof row->outcome, sq_db_col_text(st, 3));
        if (!sq_db_col_null(st, 4)) {
            row->normalized = sq_strdup(sq_db_col_text(st, 4));
            if (row->normalized == NULL) {
                sq_free(row->key);
                row->key = NULL;
            }
        }
        copy_text(row->hash, sizeof row->hash, sq_db_col_text(st, 5));
        copy_text(row->fetched_at, sizeof row->fetched_at,
                  sq_db_col_text(st, 6));
        if (row->key == NULL) {
            sq_db_reset(st);
            return sq_fail(err, SYNCQ_ENOMEM,
                           "out of memory reading "
                           "raw payloads");
        }
        (*n)++;
        *cursor = row->raw_id;
        if (*n == cap) {
            sq_db_reset(st);
            break;
        }
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

/* Remember that `row` was synced as fetched: its content hash and fetch
 * time, so only a new fetch makes it a candidate again. The page's marks
 * are written by one statement at the end of its transaction
 * (write_marks), with the content hash of the product a detail row
 * stored, once the batch is written. */
static int
mark_synced(struct run *r, const struct raw_row *row, syncq_error *err)
{
    (void)err;
    r->marked[row - r->rows] = true;
    return SYNCQ_OK;
}

static int
write_marks(struct run *r, syncq_error *err)
{
    for (size_t i = 0; i < r->nrows; i++) {
        const struct raw_row *row = &r->rows[i];
        char marker[128];
        if (!r->marked[i]) {
            continue;
        }
        snprintf(marker, sizeof marker, "%s@%s", row->hash, row->fetched_at);
        sq_db_rows_add_i64(r->marks, row->raw_id);
        sq_db_rows_add_text(r->marks, marker);
        sq_db_rows_add_text(r->marks,
                            r->bidx[i] >= 0 ? r->hashes[r->bidx[i]] : NULL);
    }
    return sq_db_rows_run(r->db, r->marks, NULL, NULL, NULL, err);
}

static bool
parse_offer_key(const char *key, int64_t *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(key, &end, 10);
    if (errno != 0 || end == key || *end != '\0' || v <= 0) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

/* A detail fetch of one of the page's offers (one row per kind): a page
 * row is superseded when a fetch of the other kind is newer (or equally
 * new and from the API), so it must not overwrite it. */
static int
got_rival(struct sq_db_stmt *st, void *ud, syncq_error *err)
{
    struct run *r = ud;
    const char *key = sq_db_col_text(st, 0);
    const char *kind = sq_db_col_text(st, 1);
    const char *at = sq_db_col_text(st, 2);
    json_t *idx = json_object_get(r->keys, key != NULL ? key : "");
    size_t n;
    json_t *v;

    (void)err;
    json_array_foreach(idx, n, v)
    {
        struct raw_row *row = &r->rows[json_integer_value(v)];
        int c;
        if (kind == NULL || strcmp(kind, row->kind) == 0) {
            continue;
        }
        c = strcmp(at != NULL ? at : "", row->fetched_at);
        if (c > 0 || (c == 0 && strcmp(kind, "api_detail") == 0)) {
            r->is_sup[json_integer_value(v)] = true;
        }
    }
    return SYNCQ_OK;
}

/* r->is_sup[i]: row i of the page is superseded. One query per page by
 * key IN (...), which the (kind, key) index answers. */
static int
find_superseded(struct run *r, syncq_error *err)
{
    json_object_clear(r->keys);
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *idx = json_object_get(r->keys, r->rows[i].key);
        r->is_sup[i] = false;
        if (idx == NULL) {
            idx = json_array();
            if (idx == NULL ||
                json_object_set_new(r->keys, r->rows[i].key, idx) != 0) {
                return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
            }
            sq_db_rows_add_text(r->superseded, r->rows[i].key);
        }
        if (json_array_append_new(idx, json_integer((json_int_t)i)) != 0) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    return sq_db_rows_run(r->db, r->superseded, got_rival, r, NULL, err);
}

/* The stored record parsed, or NULL with the reason in msg; *oom tells a
 * failed allocation (the batch must fail and be retried) from a record
 * that is bad (counted failed and marked synced). */
static json_t *
parse_record(const struct raw_row *row, char *msg, size_t cap, bool *oom)
{
    json_t *rec = NULL;
    int rc;

    *oom = false;
    if (row->normalized == NULL) {
        snprintf(msg, cap, "no normalised record stored");
        return NULL;
    }
    rc = sq_ds_json_parse(row->normalized, strlen(row->normalized), &rec, msg,
                          cap, NULL);
    *oom = rc == SYNCQ_ENOMEM;
    return rec;
}

static int
bad_record(struct run *r, const struct raw_row *row, const char *msg, bool oom,
           syncq_error *err)
{
    if (oom) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing %s %s",
                       row->kind, row->key);
    }
    r->page.failed++;
    note_error(r, row, msg);
    return mark_synced(r, row, err);
}

static int
sync_detail_row(struct run *r, struct raw_row *row, syncq_error *err)
{
    struct sq_db *db = r->db;
    int64_t offer_id = 0;
    int rc;

    if (r->is_sup[row - r->rows]) {
        r->page.superseded++;
        return mark_synced(r, row, err);
    }
    if (strcmp(row->outcome, "not_found") == 0) {
        struct sq_db_stmt *st;
        char now[40];
        if (!parse_offer_key(row->key, &offer_id)) {
            r->page.failed++;
            note_error(r, row, "key is not an offer id");
            return mark_synced(r, row, err);
        }
        /* content_hash cleared: a later good fetch, even of identical
         * content, must rewrite the row and so its status. */
        rc = sq_db_prepare(db,
                           "UPDATE product SET status = 'delisted', "
                           "content_hash = NULL, synced_at = ? "
                           "WHERE offer_id = ? AND status IS DISTINCT FROM "
                           "'delisted'",
                           &st, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        sq_db_bind_text(st, 1, sq_ds_now_iso(now, sizeof now));
        sq_db_bind_i64(st, 2, offer_id);
        rc = sq_db_step(st, err);
        if (rc < 0) {
            return rc;
        }
        if (sq_db_changes(db) > 0) {
            r->page.delisted++;
        }
        return mark_synced(r, row, err);
    }
    /* Parsed, canonical and hashed ahead (ds_sync_prep.c) or now. */
    sq_ds_prep_row(row);
    if (row->prc == SYNCQ_ENOMEM) {
        return sq_fail(err, SYNCQ_ENOMEM, "%s", row->msg);
    }
    if (row->canon == NULL) {
        return bad_record(r, row,
                          row->prepared ? row->msg
                                        : "no normalised record stored",
                          false, err);
    }
    r->page_images_skipped += row->skipped;
    r->bidx[row - r->rows] = (int)sq_ds_offer_batch_count(r->batch);
    rc = sq_ds_offer_batch_add_ready(
        r->batch, row->canon, row->chash[0] != '\0' ? row->chash : NULL,
        &row->child, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    return mark_synced(r, row, err);
}

static int
sync_category_row(struct run *r, const struct raw_row *row, syncq_error *err)
{
    char msg[256];
    bool oom = false;
    json_t *rec = parse_record(row, msg, sizeof msg, &oom);
    syncq_error rerr;
    int outcome;
    int kids[3] = {0, 0, 0};
    int rc;

    if (rec == NULL) {
        return bad_record(r, row, msg, oom, err);
    }
    rc = sq_ds_category_store(r->db, rec, &outcome, kids, &rerr);
    json_decref(rec);
    if (rc == SYNCQ_EINVAL) {
        r->page.failed++;
        note_error(r, row, rerr.msg);
        return mark_synced(r, row, err);
    }
    if (rc != SYNCQ_OK) {
        return sq_fail(err, rc, "%s", rerr.msg);
    }
    count_outcome(&r->page, outcome);
    r->page.unchanged += kids[SQ_DS_UNCHANGED];
    r->page.inserted += kids[SQ_DS_INSERTED];
    r->page.updated += kids[SQ_DS_UPDATED];
    return mark_synced(r, row, err);
}

static int
sync_listing_row(struct run *r, const struct raw_row *row, syncq_error *err)
{
    char msg[256];
    bool oom = false;
    json_t *rec = parse_record(row, msg, sizeof msg, &oom);
    const json_t *offers;
    int64_t cat = 0;
    size_t i;
    const json_t *item;
    int rc;

    if (rec == NULL) {
        return bad_record(r, row, msg, oom, err);
    }
    sq_ds_get_i64(rec, "category_id", &cat);
    offers = json_object_get(rec, "offers");
    json_array_foreach(offers, i, item)
    {
        int outcome;
        syncq_error rerr;
        rc = sq_ds_listing_store(r->db, item, cat, &outcome, &rerr);
        if (rc == SYNCQ_EINVAL) {
            r->page.failed++;
            snprintf(msg, sizeof msg, "offers[%zu]: %s", i, rerr.msg);
            note_error(r, row, msg);
            continue;
        }
        if (rc != SYNCQ_OK) {
            json_decref(rec);
            return sq_fail(err, rc, "%s", rerr.msg);
        }
        count_outcome(&r->page, outcome);
    }
    json_decref(rec);
    return mark_synced(r, row, err);
}

static int
sync_shop_row(struct run *r, const struct raw_row *row, syncq_error *err)
{
    char msg[256];
    bool oom = false;
    json_t *rec = parse_record(row, msg, sizeof msg, &oom);
    json_t *canon = NULL;
    syncq_error rerr;
    int64_t id;
    int outcome;
    int rc;

    if (rec == NULL) {
        return bad_record(r, row, msg, oom, err);
    }
    rc = sq_ds_supplier_canonical(rec, &canon, &rerr);
    json_decref(rec);
    if (rc == SYNCQ_EINVAL) {
        r->page.failed++;
        note_error(r, row, rerr.msg);
        return mark_synced(r, row, err);
    }
    if (rc != SYNCQ_OK) {
        return sq_fail(err, rc, "%s", rerr.msg);
    }
    rc = sq_ds_supplier_store(r->db, canon, true, &id, &outcome, err);
    json_decref(canon);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    count_outcome(&r->page, outcome);
    return mark_synced(r, row, err);
}

struct page_ctx {
    struct run *r;
    int which;
};

/* One page in one transaction; may run again after a lock conflict, so
 * it starts from zeroed page counters. */
static int
page_tx(struct sq_db *db, void *ud, syncq_error *err)
{
    struct page_ctx *pc = ud;
    struct run *r = pc->r;
    int rc = SYNCQ_OK;

    memset(&r->page, 0, sizeof r->page);
    r->page_images_skipped = 0;
    json_array_clear(r->page_errors);
    sq_db_rows_clear(r->marks);
    for (size_t i = 0; i < r->nrows; i++) {
        r->marked[i] = false;
        r->bidx[i] = -1;
    }
    if (pc->which == W_DETAIL) {
        rc = find_superseded(r, err);
    }
    for (size_t i = 0; i < r->nrows && rc == SYNCQ_OK; i++) {
        switch (pc->which) {
        case W_CATEGORY:
            rc = sync_category_row(r, &r->rows[i], err);
            break;
        case W_DETAIL:
            rc = sync_detail_row(r, &r->rows[i], err);
            break;
        case W_LISTING:
            rc = sync_listing_row(r, &r->rows[i], err);
            break;
        default:
            rc = sync_shop_row(r, &r->rows[i], err);
            break;
        }
        if (rc != SYNCQ_OK) {
            char what[200];
            snprintf(what, sizeof what, "%s %s", r->rows[i].kind,
                     r->rows[i].key);
            sq_error_prefix(err, what);
        }
    }
    if (rc == SYNCQ_OK && sq_ds_offer_batch_count(r->batch) > 0) {
        size_t n = sq_ds_offer_batch_count(r->batch);
        rc = sq_ds_offer_batch_store(db, r->batch, r->outcomes, r->hashes,
                                     err);
        for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
            count_outcome(&r->page, r->outcomes[i]);
        }
    }
    if (rc == SYNCQ_OK) {
        rc = write_marks(r, err);
    }
    return rc;
}

/* The next page, read now and (details) prepared by a second thread
 * while this one is written (ds_sync_page.h). Read before this page
 * commits, it is the same page: this page's marks are all at or below
 * the cursor, and the page query looks above it. */
static int
read_ahead(struct run *r, int which, int64_t *cursor, syncq_error *err)
{
    size_t ntrash = 0;
    /* PostgreSQL only: SQLite's writes run on this thread, and beside
     * them the parse cost more CPU than it saved wall time (measured).
     * The thread also releases the offers of the page before, even when
     * there is no page after this one to prepare (releasing a page on
     * this thread was ~4 % of its time a pass). */
    bool beside = which == W_DETAIL && sq_db_is_pg(r->db);
    int rc = SYNCQ_OK;

    sq_ds_rows_free(r->next, &r->nnext, r->trash, &ntrash);
    if (r->nrows == (size_t)r->o->batch_size) { /* else the last page */
        rc = read_page(r, which, cursor, r->next, &r->nnext, err);
    }
    if (rc == SYNCQ_OK && beside) {
        sq_ds_prep_start(&r->prep, r->next, r->nnext, r->trash, ntrash);
        ntrash = 0;
    }
    for (size_t i = 0; i < ntrash; i++) {
        json_decref(r->trash[i]);
    }
    return rc;
}

/* The first page of a detail pass has no page before it to be prepared
 * beside: on PostgreSQL the second thread prepares its second half while
 * this one prepares the first, so the first write starts sooner. */
static void
prep_first(struct run *r, int which)
{
    size_t half = r->nrows / 2;

    if (which != W_DETAIL || half == 0 || !sq_db_is_pg(r->db)) {
        return;
    }
    sq_ds_prep_start(&r->prep, r->rows + half, r->nrows - half, NULL, 0);
    for (size_t i = 0; i < half; i++) {
        sq_ds_prep_row(&r->rows[i]);
    }
    sq_ds_prep_wait(&r->prep);
}

static int
run_pass(struct run *r, int which, struct counts *into, syncq_error *err)
{
    int64_t cursor = 0;
    struct page_ctx pc = {r, which};
    int rc = SYNCQ_OK;

    sq_ds_rows_free(r->rows, &r->nrows, NULL, NULL);
    for (bool first = true;; first = false) {
        char msg[96];
        if (!first && r->nrows == 0) {
            break; /* the last page was short */
        }
        if (sq_progress_stop(r->p)) {
            r->stopped = true;
            break;
        }
        if (first) {
            rc = read_page(r, which, &cursor, r->rows, &r->nrows, err);
            if (rc == SYNCQ_OK) {
                prep_first(r, which);
            }
        }
        if (rc != SYNCQ_OK || r->nrows == 0) {
            break;
        }
        rc = read_ahead(r, which, &cursor, err);
        if (rc == SYNCQ_OK) {
            rc = sq_db_with_tx(r->db, page_tx, &pc, err);
        }
        sq_ds_prep_wait(&r->prep);
        if (rc != SYNCQ_OK) {
            break;
        }
        add_counts(into, &r->page);
        r->images_skipped += r->page_images_skipped;
        json_array_extend(r->errors, r->page_errors);
        json_array_clear(r->page_errors);
        r->done += (int64_t)r->nrows;
        snprintf(msg, sizeof msg, "%lld of %lld records", (long long)r->done,
                 (long long)r->total);
        if (sq_progress_report(r->p, r->done, r->total, msg) != 0) {
            r->stopped = true;
            break;
        }
        struct raw_row *done = r->rows; /* the next page becomes this */
        size_t ndone = r->nrows;
        r->rows = r->next;
        r->nrows = r->nnext;
        r->next = done;
        r->nnext = ndone;
    }
    sq_ds_rows_free(r->next, &r->nnext, NULL, NULL);
    return rc;
}

#define SKIP_PAGE 2000 /* raw_ids a statement marking unchanged rows spans */

struct skip_ctx {
    int64_t lo; /* raw_id after which to look */
    int64_t n;  /* rows this range marked */
};

static int
skip_tx(struct sq_db *db, void *ud, syncq_error *err)
{
    struct skip_ctx *k = ud;

    return sq_ds_due_skip_unchanged(db, k->lo, k->lo + SKIP_PAGE, &k->n,
                                    err);
}

/* Re-crawled offers that brought nothing new are marked synced in SQL
 * (ds_sync_due.c) and counted unchanged before the detail pass, which
 * then parses only the rows that may have changed: one statement per
 * SKIP_PAGE raw_ids up to the highest staged one. */
static int
skip_unchanged(struct run *r, syncq_error *err)
{
    struct skip_ctx k = {0, 0};
    int64_t top = 0;
    int rc = sq_db_query_i64(r->db, "SELECT MAX(raw_id) FROM raw_payload",
                             false, 0, &top, err);

    for (; rc == SYNCQ_OK && k.lo < top; k.lo += SKIP_PAGE) {
        char msg[96];
        if (sq_progress_stop(r->p)) {
            r->stopped = true;
            return SYNCQ_OK;
        }
        rc = sq_db_with_tx(r->db, skip_tx, &k, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        r->prod.unchanged += k.n;
        r->done += k.n;
        snprintf(msg, sizeof msg, "%lld of %lld records", (long long)r->done,
                 (long long)r->total);
        if (k.n > 0 && sq_progress_report(r->p, r->done, r->total, msg) != 0) {
            r->stopped = true;
            return SYNCQ_OK;
        }
    }
    return rc;
}

static json_t *
counts_json(const struct counts *c, bool detail)
{
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I}", "inserted", (json_int_t)c->inserted,
                  "updated", (json_int_t)c->updated, "unchanged",
                  (json_int_t)c->unchanged, "failed", (json_int_t)c->failed);
    if (o != NULL && detail) {
        json_object_set_new(o, "superseded", json_integer(c->superseded));
        json_object_set_new(o, "delisted", json_integer(c->delisted));
    }
    return o;
}

/* Record the run in sync_run (best effort: a failure here is logged, the
 * sync itself already committed). */
static int64_t
sync_run_start(struct sq_db *db, const char *task, const char *type,
               const char *task_id)
{
    struct sq_db_stmt *st;
    char now[40];
    int64_t id = 0;

    if (sq_db_prepare(db,
                      "INSERT INTO sync_run (task, task_id, sync_type, "
                      "started_at, status) VALUES (?, ?, ?, ?, 'running') "
                      "RETURNING run_id",
                      &st, NULL) != SYNCQ_OK) {
        return 0;
    }
    sq_db_bind_text(st, 1, task);
    sq_db_bind_text(st, 2, task_id);
    sq_db_bind_text(st, 3, type);
    sq_db_bind_text(st, 4, sq_ds_now_iso(now, sizeof now));
    if (sq_db_step(st, NULL) == 1) {
        id = sq_db_col_i64(st, 0);
        sq_db_reset(st);
    }
    return id;
}

static void
sync_run_finish(struct sq_db *db, int64_t run_id, const char *status,
                const struct counts *c, json_t *report)
{
    struct sq_db_stmt *st;
    char now[40];
    char *text;

    if (run_id == 0 ||
        sq_db_prepare(db,
                      "UPDATE sync_run SET finished_at = ?, status = ?, "
                      "inserted = ?, updated = ?, unchanged = ?, failed = ?, "
                      "report = ? WHERE run_id = ?",
                      &st, NULL) != SYNCQ_OK) {
        return;
    }
    text = report != NULL ? json_dumps(report, JSON_COMPACT) : NULL;
    sq_db_bind_text(st, 1, sq_ds_now_iso(now, sizeof now));
    sq_db_bind_text(st, 2, status);
    sq_db_bind_i64(st, 3, c != NULL ? c->inserted : 0);
    sq_db_bind_i64(st, 4, c != NULL ? c->updated : 0);
    sq_db_bind_i64(st, 5, c != NULL ? c->unchanged : 0);
    sq_db_bind_i64(st, 6, c != NULL ? c->failed : 0);
    sq_db_bind_text(st, 7, text);
    sq_db_bind_i64(st, 8, run_id);
    if (sq_db_step(st, NULL) < 0) {
        syncq_log(SYNCQ_LOG_WARN, "sync.run_record_failed", "run_id=%lld", (long long)run_id);
    }
    sq_free(text);
}

/* ANALYZE for plans, not for histograms: statistics target 10 samples
 * 3,000 rows a table instead of 30,000 (row counts and the common
 * values the joins need come out the same; measured: the ANALYZE after
 * a first sync of 5,000 offers took a fifth of the sync's server CPU
 * at the default target). The target is this session's only; RESET
 * even when ANALYZE failed. Best effort. */
static void
analyze(struct sq_db *db, const char *tables, const char *what)
{
    char *sql = sq_asprintf("SET default_statistics_target = 10; "
                            "ANALYZE %s",
                            tables);

    if (sql == NULL || sq_db_exec(db, sql, NULL) != SYNCQ_OK) {
        syncq_log(SYNCQ_LOG_WARN, "sync.analyze_failed", "tables=%s", what);
    }
    (void)sq_db_exec(db, "RESET default_statistics_target", NULL);
    sq_free(sql);
}

/* PostgreSQL plans by table statistics, and autovacuum refreshes them
 * only some time after a big write: until then the catalog's joins
 * (validate_data, exports) are planned for empty tables and run 3-10x
 * slower. After a sync that wrote a tenth of the catalog or more (less
 * leaves the estimates about right; autovacuum's threshold is a tenth
 * too), refresh them now (3,000 rows a table: ~50 ms). */
static void
refresh_statistics(struct sq_db *db, const struct counts *c)
{
    int64_t written = c->inserted + c->updated;
    int64_t rows = -1; /* -1: never analyzed */

    if (!sq_db_is_pg(db) || written < 1000) {
        return;
    }
    if (sq_db_query_i64(db,
                        "SELECT CAST(reltuples AS BIGINT) FROM pg_class "
                        "WHERE oid = CAST('product' AS regclass)",
                        false, 0, &rows, NULL) == SYNCQ_OK &&
        rows > 0 && written * 10 < rows) {
        return;
    }
    /* The columns the catalog's queries join, filter, group or sort on
     * (validate_data's rules, cleanup_duplicates, exports by offer_id):
     * the statistics of the other text columns (urls, names, specs,
     * values), which no plan uses, took half of this ANALYZE's time.
     * Every table still gets its row count; autovacuum's own ANALYZE
     * later fills in the rest. */
    analyze(db,
            "product (offer_id, supplier_id, category_id, status, source, "
            "subject, price_min_fen, price_max_fen, duplicate_of, "
            "fingerprint), product_attribute (offer_id), sku (offer_id, "
            "price_fen, promo_price_fen, retail_price_fen, stock), sku_prop "
            "(offer_id), sku_prop_value (offer_id), price_tier (offer_id, "
            "tier_ord, start_qty, price_fen, promo_price_fen), product_image "
            "(offer_id, image_id), image (image_id, status, sha256, "
            "duplicate_of), supplier (supplier_id, seller_user_id, "
            "member_id, login_id, open_id)",
            "catalog");
}

static int
count_rows(struct run *r, int which, syncq_error *err)
{
    int64_t n = 0;
    int rc =
        sq_db_query_i64(r->db, sq_ds_due_count_sql(r->o->full, which), false, 0, &n, err);

    r->total += n;
    return rc;
}

static int
run_init(struct run *r, struct sq_db *db, const struct sq_sync_opts *o,
         const struct sq_progress *p, syncq_error *err)
{
    int rc;

    memset(r, 0, sizeof *r);
    r->db = db;
    r->o = o;
    r->p = p;
    if (o->batch_size < 1 || o->batch_size > 1000) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch_size %d out of range "
                       "1..1000",
                       o->batch_size);
    }
    r->rows = sq_calloc((size_t)o->batch_size, sizeof *r->rows);
    r->next = sq_calloc((size_t)o->batch_size, sizeof *r->next);
    r->trash = sq_calloc((size_t)o->batch_size, sizeof *r->trash);
    r->outcomes = sq_calloc((size_t)o->batch_size, sizeof *r->outcomes);
    r->is_sup = sq_calloc((size_t)o->batch_size, sizeof *r->is_sup);
    r->marked = sq_calloc((size_t)o->batch_size, sizeof *r->marked);
    r->bidx = sq_calloc((size_t)o->batch_size, sizeof *r->bidx);
    r->hashes = sq_calloc((size_t)o->batch_size, sizeof *r->hashes);
    r->errors = json_array();
    r->page_errors = json_array();
    r->keys = json_object();
    if (r->rows == NULL || r->next == NULL || r->trash == NULL ||
        r->outcomes == NULL || r->is_sup == NULL ||
        r->marked == NULL || r->bidx == NULL || r->hashes == NULL ||
        r->keys == NULL ||
        r->errors == NULL || r->page_errors == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory starting a sync");
    }
    rc = sq_db_rows_new("INSERT INTO raw_sync (raw_id, synced_hash, "
                        "synced_content) VALUES ",
                        "(?, ?, ?)",
                        " ON CONFLICT (raw_id) DO UPDATE SET synced_hash = "
                        "excluded.synced_hash, synced_content = "
                        "excluded.synced_content",
                        &r->marks, err);
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_new("SELECT key, kind, fetched_at FROM raw_payload "
                            "WHERE kind IN ('api_detail', 'detail_page') AND "
                            "outcome IN ('ok', 'not_found') AND key IN (",
                            "?", ")", &r->superseded, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_ds_offer_batch_new(o->force, &r->batch, err);
    }
    return rc;
}

static void
run_cleanup(struct run *r)
{
    sq_ds_rows_free(r->rows, &r->nrows, NULL, NULL);
    sq_free(r->rows);
    sq_free(r->next);
    sq_free(r->trash);
    sq_free(r->outcomes);
    sq_free(r->is_sup);
    sq_free(r->marked);
    sq_free(r->bidx);
    sq_free(r->hashes);
    json_decref(r->keys);
    sq_db_rows_free(r->marks);
    sq_db_rows_free(r->superseded);
    sq_ds_offer_batch_free(r->batch);
    sq_ds_prep_free(&r->prep);
    json_decref(r->errors);
    json_decref(r->page_errors);
}

int
sq_ds_sync_products(struct sq_db *db, const struct sq_sync_opts *o,
                    const struct sq_progress *p, json_t **result,
                    syncq_error *err)
{
    struct run r;
    int64_t started = syncq_mono_ms();
    const char *type = o->full ? "full" : "incremental";
    int64_t run_id;
    json_t *res = NULL;
    int rc;

    *result = NULL;
    rc = run_init(&r, db, o, p, err);
    if (rc != SYNCQ_OK) {
        run_cleanup(&r);
        return rc;
    }
    run_id = sync_run_start(db, "data_sync.sync_products", type, o->task_id);
    if (o->include_categories) {
        rc = count_rows(&r, W_CATEGORY, err);
    }
    if (rc == SYNCQ_OK) {
        rc = count_rows(&r, W_DETAIL, err);
    }
    if (rc == SYNCQ_OK && o->include_listings) {
        rc = count_rows(&r, W_LISTING, err);
    }
    sq_progress_report(p, 0, r.total, "starting");
    if (rc == SYNCQ_OK && sq_db_is_pg(db) && r.total >= 1000) {
        /* Freshly staged rows have no statistics yet: the page query
         * would be planned as a scan and sort of the whole table per
         * page. The columns its filters and the superseded lookup
         * compare with constants: norm_hash and fetched_at are only
         * compared with other columns, where no statistic helps. */
        analyze(db,
                "raw_payload (raw_id, kind, key, outcome), raw_sync",
                "raw_payload");
    }
    if (rc == SYNCQ_OK && o->include_categories) {
        rc = run_pass(&r, W_CATEGORY, &r.cat, err);
        if (rc == SYNCQ_OK && !r.stopped) {
            rc = sq_ds_category_paths(db, err);
        }
    }
    if (rc == SYNCQ_OK && !r.stopped && !o->full && !o->force) {
        rc = skip_unchanged(&r, err);
    }
    if (rc == SYNCQ_OK && !r.stopped) {
        rc = run_pass(&r, W_DETAIL, &r.prod, err);
    }
    /* Listings after details: a listing never replaces a detail row. */
    if (rc == SYNCQ_OK && !r.stopped && o->include_listings) {
        rc = run_pass(&r, W_LISTING, &r.list, err);
    }
    if (rc != SYNCQ_OK) {
        sync_run_finish(db, run_id, "failed", &r.prod, NULL);
        run_cleanup(&r);
        return rc;
    }
    res = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:O, "
        "s:I, s:I, s:b, s:I}",
        "sync_type", type, "inserted", (json_int_t)r.prod.inserted, "updated",
        (json_int_t)r.prod.updated, "unchanged", (json_int_t)r.prod.unchanged,
        "failed", (json_int_t)r.prod.failed, "products",
        counts_json(&r.prod, true), "categories", counts_json(&r.cat, false),
        "listings", counts_json(&r.list, false), "images_skipped",
        (json_int_t)r.images_skipped, "errors", r.errors, "records",
        (json_int_t)r.done, "elapsed_ms", (json_int_t)(syncq_mono_ms() - started),
        "stopped", r.stopped, "run_id", (json_int_t)run_id);
    if (res == NULL) {
        run_cleanup(&r);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory building result");
    }
    sync_run_finish(db, run_id, r.stopped ? "stopped" : "ok", &r.prod, res);
    refresh_statistics(db, &r.prod);
    syncq_log(SYNCQ_LOG_INFO, "sync.products",
            "type=%s inserted=%lld updated=%lld "
            "unchanged=%lld failed=%lld",
            type, (long long)r.prod.inserted, (long long)r.prod.updated,
            (long long)r.prod.unchanged, (long long)r.prod.failed);
    run_cleanup(&r);
    *result = res;
    return SYNCQ_OK;
}

int
sq_ds_sync_suppliers(struct sq_db *db, const struct sq_sync_opts *o,
                     const struct sq_progress *p, json_t **result,
                     syncq_error *err)
{
    struct run r;
    int64_t started = syncq_mono_ms();
    const char *type = o->full ? "full" : "incremental";
    int64_t run_id;
    json_t *res;
    int rc;

    *result = NULL;
    rc = run_init(&r, db, o, p, err);
    if (rc != SYNCQ_OK) {
        run_cleanup(&r);
        return rc;
    }
    run_id = sync_run_start(db, "data_sync.sync_suppliers", type, o->task_id);
    rc = count_rows(&r, W_SHOP, err);
    sq_progress_report(p, 0, r.total, "starting");
    if (rc == SYNCQ_OK) {
        rc = run_pass(&r, W_SHOP, &r.sup, err);
    }
    if (rc != SYNCQ_OK) {
        sync_run_finish(db, run_id, "failed", &r.sup, NULL);
        run_cleanup(&r);
        return rc;
    }
    res = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:O, s:I, s:I, s:b, s:I}", "sync_type", type,
        "inserted", (json_int_t)r.sup.inserted, "updated",
        (json_int_t)r.sup.updated, "unchanged", (json_int_t)r.sup.unchanged,
        "failed", (json_int_t)r.sup.failed, "errors", r.errors, "records",
        (json_int_t)r.done, "elapsed_ms", (json_int_t)(syncq_mono_ms() - started),
        "stopped", r.stopped, "run_id", (json_int_t)run_id);
    if (res == NULL) {
        run_cleanup(&r);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory building result");
    }
    sync_run_finish(db, run_id, r.stopped ? "stopped" : "ok", &r.sup, res);
    run_cleanup(&r);
    *result = res;
    return SYNCQ_OK;
}
