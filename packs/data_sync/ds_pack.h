/* SPDX-License-Identifier: MIT
 *
 * ds_pack.h: registration of the data_sync.* tasks (packs/task_packs.c).
 */
#ifndef SQ_DS_PACK_H
#define SQ_DS_PACK_H

#include <syncq/task.h>

/* Register data_sync.sync_products, sync_suppliers, validate_data and
 * cleanup_duplicates on queue "data_sync". Errors: SYNCQ_ENOTSUP (ABI
 * mismatch), or what syncq_registry_add returns. */
int sq_pack_data_sync_init(syncq_registry *r, int abi, syncq_error *err);

#endif
