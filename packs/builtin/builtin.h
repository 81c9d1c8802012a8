/* SPDX-License-Identifier: MIT
 *
 * builtin.h: the syncq.* diagnostic task pack (noop, echo, sleep, fail,
 * crash, stamp, alloc, fanout, steps). Used by tests, benchmarks and
 * operators checking a deployment end to end. Registered like a plugin.
 */
#ifndef SQ_TASKS_BUILTIN_H
#define SQ_TASKS_BUILTIN_H

#include <syncq/task.h>

/* Register the syncq.* tasks into `r`. Errors: SYNCQ_ENOTSUP (abi is not
 * SYNCQ_PLUGIN_ABI), or what syncq_registry_add returned. */
int sq_pack_builtin_init(syncq_registry *r, int abi, syncq_error *err);

#endif
