/* SPDX-License-Identifier: MIT
 *
 * ds_catalog.h: the normalised catalog records (docs/1688-normalized.md)
 * and how they are written to and read from the database. Shared by
 * data_sync (sync from raw_payload) and batch_processing (import/export),
 * so a product imported from a file and one synced from a crawl are
 * stored the same way.
 *
 * A record is first made canonical: known members only, types coerced
 * (1688 sends numbers as strings), nulls dropped, the five lists always
 * present. The content hash of the canonical form (without fetched_at and
 * raw_sha256) drives change detection, and an export of a stored product
 * is its canonical form again, so export -> import reports "unchanged".
 *
 * Write functions run inside the caller's transaction (sq_db_with_tx).
 */
#ifndef SQ_DS_CATALOG_H
#define SQ_DS_CATALOG_H

#include "db/sq_db.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Upper bounds of one record (bigger ones are rejected as invalid). */
#define SQ_DS_MAX_LIST 5000
#define SQ_DS_MAX_TEXT (64 * 1024)

enum sq_ds_outcome {
    SQ_DS_UNCHANGED = 0,
    SQ_DS_INSERTED = 1,
    SQ_DS_UPDATED = 2,
};

/* Canonical offer of `in` (borrowed). *out: new reference. *skipped (may
 * be NULL) counts image entries dropped for an unusable URL.
 * Errors: SYNCQ_EINVAL (not an object, offer_id missing or <= 0, a
 * member of the wrong type, a list too long: the message names the
 * member), SYNCQ_ENOMEM. */
int sq_ds_offer_canonical(const json_t *in, json_t **out, int *skipped,
                          syncq_error *err);

/* Canonical supplier (the "supplier" member of an offer, or a shop
 * record). A supplier needs one identifier (seller_user_id, member_id,
 * open_id or login_id). Errors: SYNCQ_EINVAL, SYNCQ_ENOMEM. */
int sq_ds_supplier_canonical(const json_t *in, json_t **out, syncq_error *err);

/* Write a canonical offer (from sq_ds_offer_canonical) with its
 * supplier, attributes, SKU properties, SKUs, price tiers and image
 * links; children missing from the record are deleted (SKU sets shrink).
 * Unless `force`, an offer whose stored content hash equals the record's
 * is left alone (*outcome SQ_DS_UNCHANGED). duplicate_of and first_seen
 * survive an update. Errors: SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_ds_offer_store(struct sq_db *db, const json_t *canon, bool force,
                      int *outcome, syncq_error *err);

/* Many offers written together: the same result as sq_ds_offer_store
 * of each queued offer in order, in a few multi-row statements per
 * batch (sq_db_rows.h) rather than a round trip per row. The batch keeps
 * its statements between uses; one batch per connection.
 * Errors: SYNCQ_ENOMEM. */
struct sq_ds_offer_batch;
int sq_ds_offer_batch_new(bool force, struct sq_ds_offer_batch **out,
                          syncq_error *err);
void sq_ds_offer_batch_free(struct sq_ds_offer_batch *b);

/* Queue canonical offer `canon` (a reference is taken) with its content
 * hash `hash` (64 hex digits from sq_ds_canonical_hash, computed
 * beforehand, e.g. on another thread), or NULL: the batch computes it.
 * Errors: SYNCQ_ENOMEM. */
int sq_ds_offer_batch_add(struct sq_ds_offer_batch *b, json_t *canon,
                          const char *hash, syncq_error *err);

/* An offer's child rows (attributes, SKU properties, their values, SKUs,
 * price tiers) in PostgreSQL's COPY text format, made ahead of the write
 * on another thread (ds_sync_prep.c), so the writer only appends them:
 * building them was a fifth of a first sync's critical path. */
#define SQ_DS_CHILD_TABLES 5
struct sq_ds_child_copy {
    char *text[SQ_DS_CHILD_TABLES]; /* owned; NULL: not made */
    size_t len[SQ_DS_CHILD_TABLES];
    size_t rows[SQ_DS_CHILD_TABLES];
};

/* Make the child rows of canonical offer `canon` into *out, using
 * `scratch`, a batch of this thread's own (its buffers, never its
 * database). Errors: SYNCQ_ENOMEM (*out is left empty). */
int sq_ds_child_copy_make(struct sq_ds_offer_batch *scratch,
                          const json_t *canon, struct sq_ds_child_copy *out,
                          syncq_error *err);

/* Free what sq_ds_child_copy_make made; *c is empty afterwards. */
void sq_ds_child_copy_free(struct sq_ds_child_copy *c);

/* sq_ds_offer_batch_add with the offer's child rows made ahead (`pre`,
 * borrowed until the batch is stored; NULL: made at the write). They
 * are used on PostgreSQL only. Errors: SYNCQ_ENOMEM. */
int sq_ds_offer_batch_add_ready(struct sq_ds_offer_batch *b, json_t *canon,
                                const char *hash,
                                const struct sq_ds_child_copy *pre,
                                syncq_error *err);

/* Offers queued. */
size_t sq_ds_offer_batch_count(const struct sq_ds_offer_batch *b);

/* Write the queued offers inside the caller's transaction and empty the
 * batch: outcomes[i] (SQ_DS_*) is that of the i-th queued offer (an
 * offer queued twice: the second sees the first); hashes[i] (may be
 * NULL) gets its content hash (64 hex digits), which the stored product
 * has once the i-th offer is written or found unchanged. Errors:
 * SYNCQ_EDB, SYNCQ_ENOMEM; the batch is emptied either way. */
int sq_ds_offer_batch_store(struct sq_db *db, struct sq_ds_offer_batch *b,
                            int *outcomes, char (*hashes)[65],
                            syncq_error *err);

/* Find or create the suppliers of `n` canonical supplier records as n
 * calls of sq_ds_supplier_store(db, canon[i], false, ...) in order would
 * (lookup by identifier, lowest supplier_id wins, known values never
 * erased), in a few statements: ids_out[i] gets the supplier_id.
 * Errors: SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_ds_supplier_resolve(struct sq_db *db, json_t *const *canon, size_t n,
                           int64_t *ids_out, syncq_error *err);

/* Find or create the supplier of a canonical supplier record, matching
 * on seller_user_id, then member_id, open_id, login_id (lowest id wins).
 * Known values are never erased by missing ones. With `full` (a shop
 * record) the content hash is recorded and an equal hash is
 * SQ_DS_UNCHANGED. *id_out: the supplier_id.
 * Errors: SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_ds_supplier_store(struct sq_db *db, const json_t *canon, bool full,
                         int64_t *id_out, int *outcome, syncq_error *err);

/* The stored supplier as a canonical record (*out new reference).
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_ds_supplier_load(struct sq_db *db, int64_t supplier_id, json_t **out,
                        syncq_error *err);

/* Upsert a category record and its children (parent_id = the record's
 * category_id). *outcome is that of the record's own node; kids[outcome]
 * (may be NULL) counts the children by outcome (index SQ_DS_*).
 * Errors: SYNCQ_EINVAL (no category_id), SYNCQ_EDB. */
int sq_ds_category_store(struct sq_db *db, const json_t *rec, int *outcome,
                         int kids[3], syncq_error *err);

/* Recompute category.path ("10166/1031910/...") from parent links.
 * Errors: SYNCQ_EDB. */
int sq_ds_category_paths(struct sq_db *db, syncq_error *err);

/* Insert a product seen only on a listing page (kind "search") unless
 * the offer already exists: source "list", the listing's subject, price
 * and main image. *outcome: SQ_DS_INSERTED or SQ_DS_UNCHANGED.
 * Errors: SYNCQ_EINVAL (no offer_id), SYNCQ_EDB. */
int sq_ds_listing_store(struct sq_db *db, const json_t *item,
                        int64_t category_id, int *outcome, syncq_error *err);

/* The stored product as a canonical record (*out new reference).
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_ds_offer_load(struct sq_db *db, int64_t offer_id, json_t **out,
                     syncq_error *err);

/* Delete a product and its child rows (images themselves stay: other
 * products may share them). Errors: SYNCQ_EDB. */
int sq_ds_offer_delete(struct sq_db *db, int64_t offer_id, syncq_error *err);

/* The duplicate fingerprint of a product: SHA-1 hex of supplier id,
 * normalised subject (blanks collapsed, ASCII lowercased) and the price
 * range; "" when there is no supplier or subject. out: 41 bytes. */
void sq_ds_fingerprint(int64_t supplier_id, bool has_supplier,
                       const char *subject, int64_t price_min_fen,
                       int64_t price_max_fen, char out[41]);

/* ---- field tables (shared by the record kinds) ---------------------- */

enum sq_ds_ftype { SQ_F_I64, SQ_F_TEXT, SQ_F_DOUBLE, SQ_F_BOOL };

/* A scalar member of a record; the database column has the same name. */
struct sq_ds_field {
    const char *key;
    enum sq_ds_ftype type;
};

/* Copy the members listed in `f` from `src` to `dst` with their types
 * coerced; absent, null and empty-string members are left out (an empty
 * string means "unknown" in every source). `where`
 * names the record in messages ("skus[2]").
 * Errors: SYNCQ_EINVAL (a member of the wrong type), SYNCQ_ENOMEM. */
int sq_ds_copy_fields(json_t *dst, const json_t *src,
                      const struct sq_ds_field *f, size_t n, const char *where,
                      syncq_error *err);

/* The SQL type of a field of type `t` in both databases, for the CASTs
 * of VALUES parameters ("BIGINT", "TEXT", ...). Static text. */
const char *sq_ds_sql_type(enum sq_ds_ftype t);

/* Bind member f->key of `obj` (canonical) to parameter `i` (NULL when
 * absent). */
void sq_ds_bind_field(struct sq_db_stmt *st, int i, const json_t *obj,
                      const struct sq_ds_field *f);

/* Append member f->key of `obj` (canonical) to the current row of `r`
 * (NULL when absent). */
struct sq_db_rows;
void sq_ds_rows_add_field(struct sq_db_rows *r, const json_t *obj,
                          const struct sq_ds_field *f);

/* Set member f->key of `dst` from column `col` unless it is NULL.
 * Errors: SYNCQ_ENOMEM. */
int sq_ds_col_to_json(json_t *dst, struct sq_db_stmt *st, int col,
                      const struct sq_ds_field *f, syncq_error *err);

/* ---- which staged rows a sync reads (ds_sync_due.c) ---------------- */

/* cleanup_duplicates' supplier merges: every row listed by `dups` (a
 * query of columns id, grp, rn, keep: the suppliers after the keeper of
 * each group, rn their place in keeper order) is logged in merge_log
 * with `reason` and a snapshot, fills the gaps of its keeper in rn
 * order, gives the keeper its products (fingerprints recomputed) and is
 * deleted; a few statements per 500 rows. Call inside a transaction.
 * Errors: SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_ds_supplier_merge(struct sq_db *db, const char *dups,
                         const char *reason, syncq_error *err);

/* Kinds of staged record, in the order a sync reads them. */
enum { W_CATEGORY = 0, W_DETAIL = 1, W_LISTING = 2, W_SHOP = 3 };

/* SQL of the next page of rows of kind `which` (W_*) to sync: every row
 * (full; 2 parameters: the raw_id cursor, the page size) or only those
 * fetched since their last sync (3 parameters: the cursor twice, the
 * page size); columns raw_id, kind, key, outcome, normalized,
 * norm_hash, fetched_at. Static text. */
const char *sq_ds_due_page_sql(bool full, int which);

/* SQL counting the rows sq_ds_due_page_sql would read. Static text. */
const char *sq_ds_due_count_sql(bool full, int which);

/* Mark synced, in one statement, the due detail rows with a raw_id in
 * (lo, hi] whose sync would find their product unchanged (same
 * normalised content as at their last sync, the product still as that
 * sync left it, no newer fetch of the other kind). *n gets how many.
 * A range of raw_ids rather than "the next N": the statement's work is
 * bounded by the range whatever the plan. Call inside a transaction.
 * Errors: SYNCQ_EDB. */
int sq_ds_due_skip_unchanged(struct sq_db *db, int64_t lo, int64_t hi,
                             int64_t *n, syncq_error *err);

#endif
