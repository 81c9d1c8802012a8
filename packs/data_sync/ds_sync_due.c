/* SPDX-License-Identifier: MIT
 *
 * ds_sync_due.c: which staged rows a sync reads (ds_sync.c): the SQL of
 * a page of due rows and of their count, per kind of record, and the
 * set-based skip of a re-crawl that brought nothing new. A re-crawl of
 * unchanged offers is most of a periodic sync; parsing and hashing each
 * record only to find it equal cost ~100 us an offer, where one UPDATE
 * per page recognises it in SQL: same normalised content (norm_hash) as
 * at its last sync, and the product still holding the content that sync
 * left (synced_content).
 */
#include "data_sync/ds_catalog.h"
#include "sq_error.h"

const char *
sq_ds_due_page_sql(bool full, int which)
{
    static const char *const inc[] = {
        "SELECT raw_id, kind, key, outcome, normalized, norm_hash, "
        "fetched_at FROM raw_payload WHERE raw_id > ? AND kind = 'category' "
        "AND outcome = 'ok' AND (synced_hash IS NULL OR "
        "synced_hash <> norm_hash || '@' || fetched_at) "
        "ORDER BY raw_id LIMIT ?",
        "SELECT raw_id, kind, key, outcome, normalized, norm_hash, "
        "fetched_at FROM raw_payload WHERE raw_id > ? AND kind IN "
        "('api_detail', 'detail_page') AND outcome IN ('ok', 'not_found') "
        "AND (synced_hash IS NULL OR "
        "synced_hash <> norm_hash || '@' || fetched_at) "
        "ORDER BY raw_id LIMIT ?",
        "SELECT raw_id, kind, key, outcome, normalized, norm_hash, "
        "fetched_at FROM raw_payload WHERE raw_id > ? AND kind = 'search' "
        "AND outcome = 'ok' AND (synced_hash IS NULL OR "
        "synced_hash <> norm_hash || '@' || fetched_at) "
        "ORDER BY raw_id LIMIT ?",
        "SELECT raw_id, kind, key, outcome, normalized, norm_hash, "
        "fetched_at FROM raw_payload WHERE raw_id > ? AND kind = 'shop' "
        "AND outcome = 'ok' AND (synced_hash IS NULL OR "
        "synced_hash <> norm_hash || '@' || fetched_at) "
        "ORDER BY raw_id LIMIT ?",
    };
    static const char *const all[] = {
        "SELECT raw_id, kind, key, outcome, normalized, norm_hash, "
        "fetched_at FROM raw_payload WHERE raw_id > ? AND kind = 'category' "
        "AND outcome = 'ok' ORDER BY raw_id LIMIT ?",
        "SELECT raw_id, kind, key, outcome, normalized, norm_hash, "
        "fetched_at FROM raw_payload WHERE raw_id > ? AND kind IN "
        "('api_detail', 'detail_page') AND outcome IN ('ok', 'not_found') "
        "ORDER BY raw_id LIMIT ?",
        "SELECT raw_id, kind, key, outcome, normalized, norm_hash, "
        "fetched_at FROM raw_payload WHERE raw_id > ? AND kind = 'search' "
        "AND outcome = 'ok' ORDER BY raw_id LIMIT ?",
        "SELECT raw_id, kind, key, outcome, normalized, norm_hash, "
        "fetched_at FROM raw_payload WHERE raw_id > ? AND kind = 'shop' "
        "AND outcome = 'ok' ORDER BY raw_id LIMIT ?",
    };

    return full ? all[which] : inc[which];
}

const char *
sq_ds_due_count_sql(bool full, int which)
{
    static const char *const inc[] = {
        "SELECT COUNT(*) FROM raw_payload WHERE kind = 'category' AND "
        "outcome = 'ok' AND (synced_hash IS NULL OR "
        "synced_hash <> norm_hash || '@' || fetched_at)",
        "SELECT COUNT(*) FROM raw_payload WHERE kind IN ('api_detail', "
        "'detail_page') AND outcome IN ('ok', 'not_found') AND "
        "(synced_hash IS NULL OR "
        "synced_hash <> norm_hash || '@' || fetched_at)",
        "SELECT COUNT(*) FROM raw_payload WHERE kind = 'search' AND "
        "outcome = 'ok' AND (synced_hash IS NULL OR "
        "synced_hash <> norm_hash || '@' || fetched_at)",
        "SELECT COUNT(*) FROM raw_payload WHERE kind = 'shop' AND "
        "outcome = 'ok' AND (synced_hash IS NULL OR "
        "synced_hash <> norm_hash || '@' || fetched_at)",
    };
    static const char *const all[] = {
        "SELECT COUNT(*) FROM raw_payload WHERE kind = 'category' AND "
        "outcome = 'ok'",
        "SELECT COUNT(*) FROM raw_payload WHERE kind IN ('api_detail', "
        "'detail_page') AND outcome IN ('ok', 'not_found')",
        "SELECT COUNT(*) FROM raw_payload WHERE kind = 'search' AND "
        "outcome = 'ok'",
        "SELECT COUNT(*) FROM raw_payload WHERE kind = 'shop' AND "
        "outcome = 'ok'",
    };

    return full ? all[which] : inc[which];
}

/* A due detail row whose normalised record is the one last synced, whose
 * product still has the content hash that sync left (not delisted, not
 * rewritten by the other kind of fetch since), and which no fetch of the
 * other kind supersedes (as find_superseded in ds_sync.c decides): its
 * sync would find the product unchanged, so it is only marked synced.
 * synced_content is set only by a row that stored a product, so the
 * key of every row the join casts is an offer id. */
static const char skip_sql[] =
    "UPDATE raw_payload SET synced_hash = norm_hash || '@' || fetched_at "
    "WHERE raw_id IN (SELECT r.raw_id FROM raw_payload r JOIN product p "
    "ON p.offer_id = CAST(r.key AS BIGINT) WHERE r.raw_id > ? AND "
    "r.kind IN ('api_detail', 'detail_page') AND r.outcome = 'ok' AND "
    "r.synced_content IS NOT NULL AND "
    "r.synced_hash <> r.norm_hash || '@' || r.fetched_at AND "
    "substr(r.synced_hash, 1, length(r.norm_hash) + 1) = "
    "r.norm_hash || '@' AND p.content_hash = r.synced_content AND "
    "NOT EXISTS (SELECT 1 FROM raw_payload o WHERE o.key = r.key AND "
    "o.kind IN ('api_detail', 'detail_page') AND o.kind <> r.kind AND "
    "o.outcome IN ('ok', 'not_found') AND (o.fetched_at > r.fetched_at OR "
    "(o.fetched_at = r.fetched_at AND o.kind = 'api_detail'))) "
    "ORDER BY r.raw_id LIMIT ?) RETURNING raw_id";

int
sq_ds_due_skip_unchanged(struct sq_db *db, int64_t *cursor, int limit,
                         int64_t *n, syncq_error *err)
{
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, skip_sql, &st, err);

    *n = 0;
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, *cursor);
    sq_db_bind_i64(st, 2, limit);
    while ((rc = sq_db_step(st, err)) == 1) {
        int64_t id = sq_db_col_i64(st, 0);
        (*n)++;
        if (id > *cursor) {
            *cursor = id;
        }
    }
    return rc < 0 ? rc : SYNCQ_OK;
}
