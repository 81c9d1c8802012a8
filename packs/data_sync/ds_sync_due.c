/* SPDX-License-Identifier: MIT
 *
 * ds_sync_due.c: which staged rows a sync reads (ds_sync.c): the SQL of
 * a page of due rows and of their count, per kind of record, and the
 * set-based skip of a re-crawl that brought nothing new. A re-crawl of
 * unchanged offers is most of a periodic sync; parsing and hashing each
 * record only to find it equal cost ~100 us an offer, where one UPDATE
 * per page recognises it in SQL: same normalised content (norm_hash) as
 * at its last sync (raw_sync.synced_hash), and the product still holding
 * the content that sync left (raw_sync.synced_content).
 */
#include "data_sync/ds_catalog.h"
#include "sq_error.h"

#define COLS                                                                 \
    "SELECT r.raw_id, r.kind, r.key, r.outcome, r.normalized, r.norm_hash, " \
    "r.fetched_at FROM raw_payload r "
/* Due: never synced, or fetched since (another hash or fetch time). */
#define DUE_JOIN "LEFT JOIN raw_sync s ON s.raw_id = r.raw_id "
/* A page's join starts its scan of raw_sync at the cursor too: joined by
 * merge on raw_id, it otherwise read every mark of the earlier pages
 * again, a cost growing with the square of the number of pages. */
#define DUE_JOIN_PAGE                                                        \
    "LEFT JOIN raw_sync s ON s.raw_id = r.raw_id AND s.raw_id > ? "
#define IS_DUE                                                               \
    " AND (s.synced_hash IS NULL OR "                                       \
    "s.synced_hash <> r.norm_hash || '@' || r.fetched_at)"
#define K_CATEGORY "r.kind = 'category' AND r.outcome = 'ok'"
#define K_DETAIL                                                             \
    "r.kind IN ('api_detail', 'detail_page') AND "                          \
    "r.outcome IN ('ok', 'not_found')"
#define K_LISTING "r.kind = 'search' AND r.outcome = 'ok'"
#define K_SHOP "r.kind = 'shop' AND r.outcome = 'ok'"
#define PAGE_INC(k)                                                          \
    COLS DUE_JOIN_PAGE "WHERE r.raw_id > ? AND " k IS_DUE                   \
                       " ORDER BY r.raw_id LIMIT ?"
#define PAGE_ALL(k) COLS "WHERE r.raw_id > ? AND " k " ORDER BY r.raw_id LIMIT ?"
#define COUNT_INC(k) "SELECT COUNT(*) FROM raw_payload r " DUE_JOIN "WHERE " k IS_DUE
#define COUNT_ALL(k) "SELECT COUNT(*) FROM raw_payload r WHERE " k

const char *
sq_ds_due_page_sql(bool full, int which)
{
    static const char *const inc[] = {PAGE_INC(K_CATEGORY), PAGE_INC(K_DETAIL),
                                      PAGE_INC(K_LISTING), PAGE_INC(K_SHOP)};
    static const char *const all[] = {PAGE_ALL(K_CATEGORY), PAGE_ALL(K_DETAIL),
                                      PAGE_ALL(K_LISTING), PAGE_ALL(K_SHOP)};

    return full ? all[which] : inc[which];
}

const char *
sq_ds_due_count_sql(bool full, int which)
{
    static const char *const inc[] = {COUNT_INC(K_CATEGORY),
                                      COUNT_INC(K_DETAIL),
                                      COUNT_INC(K_LISTING), COUNT_INC(K_SHOP)};
    static const char *const all[] = {COUNT_ALL(K_CATEGORY),
                                      COUNT_ALL(K_DETAIL),
                                      COUNT_ALL(K_LISTING), COUNT_ALL(K_SHOP)};

    return full ? all[which] : inc[which];
}

/* A due detail row whose normalised record is the one last synced, whose
 * product still has the content hash that sync left (not delisted, not
 * rewritten by the other kind of fetch since), and which no fetch of the
 * other kind supersedes (as find_superseded in ds_sync.c decides): its
 * sync would find the product unchanged, so it is only marked synced.
 * synced_content is set only by a row that stored a product, so the
 * key of every row the join casts is an offer id. The new mark comes
 * from the join (UPDATE ... FROM), not from a second lookup per row.
 * The range is given for both sides of the join: with it on raw_payload
 * only, PostgreSQL hashed the range against a scan of all of raw_sync. */
static const char skip_sql[] =
    "UPDATE raw_sync SET synced_hash = d.h FROM (SELECT r.raw_id AS id, "
    "r.norm_hash || '@' || r.fetched_at AS h FROM raw_payload r JOIN "
    "raw_sync s ON s.raw_id = r.raw_id JOIN product p ON p.offer_id = "
    "CAST(r.key AS BIGINT) WHERE r.raw_id > ? AND r.raw_id <= ? AND "
    "s.raw_id > ? AND s.raw_id <= ? AND "
    "r.kind IN ('api_detail', 'detail_page') AND r.outcome = 'ok' AND "
    "s.synced_content IS NOT NULL AND "
    "s.synced_hash <> r.norm_hash || '@' || r.fetched_at AND "
    "substr(s.synced_hash, 1, length(r.norm_hash) + 1) = "
    "r.norm_hash || '@' AND p.content_hash = s.synced_content AND "
    "NOT EXISTS (SELECT 1 FROM raw_payload o WHERE o.key = r.key AND "
    "o.kind IN ('api_detail', 'detail_page') AND o.kind <> r.kind AND "
    "o.outcome IN ('ok', 'not_found') AND (o.fetched_at > r.fetched_at OR "
    "(o.fetched_at = r.fetched_at AND o.kind = 'api_detail')))) d "
    "WHERE raw_sync.raw_id = d.id";

int
sq_ds_due_skip_unchanged(struct sq_db *db, int64_t lo, int64_t hi,
                         int64_t *n, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, skip_sql, &st, err);

    *n = 0;
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, lo);
    sq_db_bind_i64(st, 2, hi);
    sq_db_bind_i64(st, 3, lo);
    sq_db_bind_i64(st, 4, hi);
    rc = sq_db_step(st, err);
    if (rc < 0) {
        return rc;
    }
    *n = sq_db_changes(db);
    return SYNCQ_OK;
}
