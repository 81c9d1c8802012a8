/* SPDX-License-Identifier: MIT
 *
 * ds_offer.h: the columns of an offer (table product and its child
 * tables, docs/database.md), shared by the canonical form (ds_offer.c)
 * and the store and read-back (ds_offer_store.c). Internal to data_sync.
 */
#ifndef SQ_DS_OFFER_H
#define SQ_DS_OFFER_H

#include "data_sync/ds_catalog.h"

#include <stddef.h>

/* One table's columns: the members of a canonical record it holds. */
struct sq_ds_cols {
    const struct sq_ds_field *f;
    size_t n;
};

extern const struct sq_ds_cols sq_ds_offer_cols;   /* product */
extern const struct sq_ds_cols sq_ds_attr_cols;    /* product_attr */
extern const struct sq_ds_cols sq_ds_prop_cols;    /* sku_prop */
extern const struct sq_ds_cols sq_ds_propval_cols; /* sku_prop_value */
extern const struct sq_ds_cols sq_ds_sku_cols;     /* sku */
extern const struct sq_ds_cols sq_ds_tier_cols;    /* price_tier */
extern const struct sq_ds_cols sq_ds_image_cols;   /* product_image */
/* supplier; the first four are its identifiers (seller_user_id,
 * member_id, login_id, open_id), matched in the order seller_user_id,
 * member_id, open_id, login_id. */
extern const struct sq_ds_cols sq_ds_supplier_cols;

/* Fail `err` with SYNCQ_ENOMEM "out of memory building a record". */
int sq_ds_oom(syncq_error *err);

#endif
