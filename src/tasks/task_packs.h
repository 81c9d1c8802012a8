/* SPDX-License-Identifier: MIT
 *
 * task_packs.h: the packs the default registry (syncq_registry_default)
 * starts with. libsyncq is the queue and knows no tasks, so its list
 * (task_packs_lib.c) is empty: a program registers the packs it wants
 * (the syncq binary: the 1688 packs of packs/, at start-up) or loads
 * them with syncq_registry_load_plugin. This hook only remains for
 * task_registry.c; it goes when the registry moves to src/core.
 */
#ifndef SQ_TASK_PACKS_H
#define SQ_TASK_PACKS_H

#include <syncq/task.h>

struct sq_task_pack {
    const char *name;
    int (*init)(syncq_registry *r, int abi, syncq_error *err);
};

/* NULL-terminated list, in src/tasks/task_packs_lib.c. */
extern const struct sq_task_pack sq_task_packs[];

#endif
