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

/* name: the pack's namespace; queue: where its tasks go when the producer
 * names no queue, registered or not (NULL: SYNCQ_TASK_DEFAULT_QUEUE). The
 * order is a worker's default preference among the queues (a worker run
 * without -Q serves default, then these in this order). */
static const struct {
    const char *name;
    int (*init)(syncq_registry *r, int abi, syncq_error *err);
    const char *queue;
} packs[] = {
    {"syncq", sq_pack_builtin_init, NULL},
    {"crawler", sq_pack_crawler_init, "crawler"},
    {"image_processing", sq_pack_image_processing_init, "image_processing"},
    {"data_sync", sq_pack_data_sync_init, "data_sync"},
    {"batch_processing", sq_pack_batch_processing_init, "batch_processing"},
};

int
sq_packs_init(syncq_registry *r, int abi, syncq_error *err)
{
    syncq_error one;
    int first = SYNCQ_OK;

    for (size_t i = 0; i < sizeof packs / sizeof packs[0]; i++) {
        int rc = packs[i].init(r, abi, &one);

        if (rc == SYNCQ_OK && packs[i].queue != NULL) {
            rc = syncq_registry_add_route(r, packs[i].name, packs[i].queue,
                                          &one);
        }
        if (rc != SYNCQ_OK && first == SYNCQ_OK) {
            first = rc;
            if (err != NULL) {
                *err = one;
            }
        }
    }
    return first;
}
