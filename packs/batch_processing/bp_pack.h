/* SPDX-License-Identifier: MIT
 *
 * bp_pack.h: registration of the batch_processing.* tasks
 * (packs/task_packs.c).
 */
#ifndef SQ_BP_PACK_H
#define SQ_BP_PACK_H

#include <syncq/task.h>

/* Register batch_processing.batch_import, batch_export, batch_update and
 * batch_delete on queue "batch_processing". Errors: SYNCQ_ENOTSUP (ABI
 * mismatch), or what syncq_registry_add returns. */
int sq_pack_batch_processing_init(syncq_registry *r, int abi, syncq_error *err);

#endif
