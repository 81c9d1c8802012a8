/* SPDX-License-Identifier: MIT
 *
 * task_packs.c: the list of built-in packs. A pack adds one line here and
 * a declaration; nothing else in the tree needs to know about it.
 */
#include "tasks/task_packs.h"
#include "tasks/builtin/builtin.h"
#include "tasks/data_sync/ds_pack.h"
#include "tasks/image_processing/img_pack.h"
#include "tasks/batch_processing/bp_pack.h"

int sq_pack_crawler_init(syncq_registry *r, int abi, syncq_error *err);

const struct sq_task_pack sq_task_packs[] = {
    {"syncq", sq_pack_builtin_init},
    {"data_sync", sq_pack_data_sync_init},
    {"image_processing", sq_pack_image_processing_init},
    {"batch_processing", sq_pack_batch_processing_init},
    {"crawler", sq_pack_crawler_init},
    {NULL, NULL},
};
