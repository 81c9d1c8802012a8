/* SPDX-License-Identifier: MIT
 *
 * ds_offer_links.h: the image rows and links of a batch of offers,
 * written on PostgreSQL by COPY (ds_offer_links.c). Used by the offer
 * batch (ds_offer_batch.c) inside its transaction; one per batch, not
 * thread-safe.
 */
#ifndef DS_OFFER_LINKS_H
#define DS_OFFER_LINKS_H

#include "db/sq_db.h"

#include <stddef.h>
#include <stdint.h>

struct sq_ds_links;

/* Errors: SYNCQ_ENOMEM. */
int sq_ds_links_new(struct sq_ds_links **out, syncq_error *err);
void sq_ds_links_free(struct sq_ds_links *L);

/* Queue the link (offer_id, role, ord) to the image of URL key `key`
 * (copied) and URL `url` (borrowed, as is `role`: both must live until
 * the write or the clear). Links are written in the order queued; a new
 * image takes the url of its first link. Errors: SYNCQ_ENOMEM. */
int sq_ds_links_add(struct sq_ds_links *L, int64_t offer_id, const char *role,
                    int64_t ord, const char *key, const char *url,
                    syncq_error *err);

/* Links queued. */
size_t sq_ds_links_count(const struct sq_ds_links *L);

/* Write the queued links inside the caller's transaction (PostgreSQL):
 * the images not stored yet are created (status pending, ids drawn from
 * image's sequence in link order), existing ones keep their row, then
 * every link is inserted. A unique violation (another writer created an
 * image since the lookup) fails with sq_db_busy() set: run the
 * transaction again. Empties the queue either way. Errors: SYNCQ_EDB,
 * SYNCQ_ENOMEM, SYNCQ_EINTERNAL. */
int sq_ds_links_write(struct sq_db *db, struct sq_ds_links *L,
                      syncq_error *err);

/* Drop the queued links. */
void sq_ds_links_clear(struct sq_ds_links *L);

#endif
