/* SPDX-License-Identifier: MIT
 *
 * crawler_pack.h: registration of the crawler.* tasks (packs/task_packs.c).
 */
#ifndef SQ_CRAWLER_PACK_H
#define SQ_CRAWLER_PACK_H

#include <syncq/task.h>

/* Register the crawler.* tasks on queue "crawler". Errors: SYNCQ_ENOTSUP
 * (ABI mismatch), or what syncq_registry_add returns. */
int sq_pack_crawler_init(syncq_registry *r, int abi, syncq_error *err);

#endif
