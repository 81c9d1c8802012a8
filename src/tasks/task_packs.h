/* SPDX-License-Identifier: MIT
 *
 * task_packs.h: the built-in task packs compiled into syncq. Each pack
 * registers itself exactly as a plugin does (syncq_plugin_init shape).
 */
#ifndef SQ_TASK_PACKS_H
#define SQ_TASK_PACKS_H

#include <syncq/task.h>

struct sq_task_pack {
    const char *name;
    int (*init)(syncq_registry *r, int abi, syncq_error *err);
};

/* NULL-terminated list, in src/tasks/task_packs.c. */
extern const struct sq_task_pack sq_task_packs[];

#endif
