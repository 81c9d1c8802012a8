/* SPDX-License-Identifier: MIT
 *
 * ds_summary.h: the data_sync pack's "catalog" summaries (syncq/summary.h)
 * for the dashboard's Catalog page, published where a sync ends.
 */
#ifndef SQ_DS_SUMMARY_H
#define SQ_DS_SUMMARY_H

#include "db/sq_db.h"

#include <syncq/task.h>

/* Publish one "catalog" summary per category that holds offers, keyed by
 * the category id: offers, duplicates merged, images stored and broken,
 * the newest offer sync, the last products sync run (time, outcome,
 * records failed) and the task tree of this sync (root_id, task_id),
 * as flat fields (the dashboard draws them as columns). Best-effort:
 * a failure is logged (event data_sync.summary_failed) and does not fail
 * the task. At most SYNCQ_SUMMARY_MAX_KEYS categories (the most offers
 * first). */
void sq_ds_summary_publish(syncq_ctx *ctx, struct sq_db *db);

#endif
