/* SPDX-License-Identifier: MIT
 *
 * ds_sync.h: the data_sync operations as plain C functions over an open
 * database, wrapped by the data_sync.* tasks (ds_tasks.c) and callable
 * from tests without a broker:
 *   sync_products / sync_suppliers  raw_payload -> catalog tables
 *   validate_data                   rules -> a JSON report
 *   cleanup_duplicates              merge duplicates (or only plan it)
 * Every result is a new JSON object the caller owns; the shapes are in
 * docs/tasks.md.
 */
#ifndef SQ_DS_SYNC_H
#define SQ_DS_SYNC_H

#include "db/ds_util.h"
#include "db/sq_db.h"

#include <jansson.h>
#include <stdbool.h>

struct sq_sync_opts {
    bool full;               /* every stored record, not only changed */
    bool force;              /* rewrite rows even when the hash matches */
    bool include_categories; /* sync_products: category records too */
    bool include_listings;   /* sync_products: listing-only offers too */
    int batch_size;          /* records per transaction (1..1000) */
    const char *task_id;     /* recorded in sync_run, or NULL */
};

/* Defaults: incremental, categories and listings on, 500 per batch. */
void sq_sync_opts_init(struct sq_sync_opts *o);

/* Upsert products (with suppliers, SKUs, tiers, images), categories and
 * listing-only offers from raw_payload. A record is synced when its
 * content hash differs from the one last synced (incremental) or always
 * (full); a product whose canonical content hash equals the stored one is
 * counted unchanged and not written. Of an offer stored as both
 * api_detail and detail_page, the latest fetch wins (api_detail on a
 * tie). A not_found fetch newer than any good one marks the product
 * delisted. Bad records are counted as failed with their key and reason
 * and do not stop the run. Stops early (result "stopped": true) when
 * `p` asks; a later run continues where it stopped.
 * Errors: SYNCQ_EDB (the run stopped; committed batches stay),
 *         SYNCQ_ENOMEM. */
int sq_ds_sync_products(struct sq_db *db, const struct sq_sync_opts *o,
                        const struct sq_progress *p, json_t **result,
                        syncq_error *err);

/* Upsert suppliers from shop records (kind "shop"). Same rules. */
int sq_ds_sync_suppliers(struct sq_db *db, const struct sq_sync_opts *o,
                         const struct sq_progress *p, json_t **result,
                         syncq_error *err);

struct sq_validate_opts {
    bool check_files;      /* downloaded images must exist on disk */
    const char *media_dir; /* relative local_path values resolve here */
    int sample;            /* offending ids listed per rule (0..10000) */
    const char *task_id;
};

/* Check the rules of docs/tasks.md (required fields, prices > 0, price
 * tiers ascending, SKU stock >= 0, references resolve, ...) over every
 * product not marked duplicate. *report: {"ok", "errors", "warnings",
 * "checked": {...}, "rules": [{"rule", "severity", "count", "ids"}]}.
 * ok is false when any rule of severity "error" has a count.
 * Errors: SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_ds_validate(struct sq_db *db, const struct sq_validate_opts *o,
                   const struct sq_progress *p, json_t **report,
                   syncq_error *err);

/* Merge duplicates deterministically: suppliers sharing seller_user_id,
 * member_id or open_id (the lowest supplier_id keeps, gaps filled from
 * the others, products re-pointed, merged rows logged in merge_log with a
 * snapshot and deleted); products with the same supplier + title + price
 * fingerprint (a detail-sourced row beats a listing-only row, then the lowest
 * offer_id; the others get duplicate_of = keeper); images with the same
 * content (lowest image_id keeps, product links re-pointed). With
 * `dry_run` nothing is written and the result lists what would be.
 * Errors: SYNCQ_EDB, SYNCQ_ENOMEM. */
int sq_ds_cleanup_duplicates(struct sq_db *db, bool dry_run,
                             const struct sq_progress *p, json_t **result,
                             syncq_error *err);

#endif
