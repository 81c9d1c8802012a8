/* SPDX-License-Identifier: MIT
 *
 * task_packs.h: the 1688 task packs (packs/) as one unit. They are not
 * part of libsyncq: the syncq binary registers them into the default
 * registry at start-up, and packs/packs_plugin.c builds the same list as
 * a plugin (`syncq worker --plugin syncq_packs.so`) for any other host.
 * Each pack registers itself exactly as a plugin does.
 */
#ifndef SQ_PACKS_TASK_PACKS_H
#define SQ_PACKS_TASK_PACKS_H

#include <syncq/task.h>

/* Register every 1688 pack (syncq.*, data_sync.*, image_processing.*,
 * batch_processing.*, crawler.*) into `r`, in the shape of
 * syncq_plugin_init. A pack that fails is reported in `err` and the
 * others are still registered; the first failure's code is returned
 * (SYNCQ_ENOTSUP: ABI mismatch; SYNCQ_EEXIST: already registered), else
 * SYNCQ_OK. Not thread-safe: call before workers start. */
int sq_packs_init(syncq_registry *r, int abi, syncq_error *err);

#endif
