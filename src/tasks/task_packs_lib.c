/* SPDX-License-Identifier: MIT
 *
 * task_packs_lib.c: libsyncq's built-in packs: none (task_packs.h).
 */
#include "tasks/task_packs.h"

#include <stddef.h>

const struct sq_task_pack sq_task_packs[] = {
    {NULL, NULL},
};
