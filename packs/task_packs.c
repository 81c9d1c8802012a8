/* SPDX-License-Identifier: MIT
 *
 * task_packs.c: the list of 1688 packs. A pack adds one line here and
 * a declaration; nothing else in the tree needs to know about it.
 */
#include "task_packs.h"
#include "batch_processing/bp_pack.h"
#include "builtin/builtin.h"
#include "crawler/crawler_pack.h"
#include "data_sync/ds_pack.h"
#include "image_processing/img_pack.h"

#include <stddef.h>

static const struct {
    const char *name;
    int (*init)(syncq_registry *r, int abi, syncq_error *err);
} packs[] = {
    {"syncq", sq_pack_builtin_init},
    {"data_sync", sq_pack_data_sync_init},
    {"image_processing", sq_pack_image_processing_init},
    {"batch_processing", sq_pack_batch_processing_init},
    {"crawler", sq_pack_crawler_init},
};

int
sq_packs_init(syncq_registry *r, int abi, syncq_error *err)
{
    syncq_error one;
    int first = SYNCQ_OK;

    for (size_t i = 0; i < sizeof packs / sizeof packs[0]; i++) {
        int rc = packs[i].init(r, abi, &one);

        if (rc != SYNCQ_OK && first == SYNCQ_OK) {
            first = rc;
            if (err != NULL) {
                *err = one;
            }
        }
    }
    return first;
}
