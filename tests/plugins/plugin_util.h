/* SPDX-License-Identifier: MIT
 *
 * plugin_util.h: the registration every test plugin's syncq_plugin_init
 * does: refuse another ABI (SYNCQ_ENOTSUP, as syncq/task.h asks), then
 * add each task definition.
 */
#ifndef SQ_TEST_PLUGIN_UTIL_H
#define SQ_TEST_PLUGIN_UTIL_H

#include <stdio.h>
#include <syncq/syncq.h>

static inline int
sq_test_plugin_register(syncq_registry *r, int abi,
                        const syncq_task_def *defs, size_t n,
                        syncq_error *err)
{
    if (abi != SYNCQ_PLUGIN_ABI) {
        if (err != NULL) {
            err->code = SYNCQ_ENOTSUP;
            snprintf(err->msg, sizeof err->msg, "plugin ABI %d, host %d",
                     SYNCQ_PLUGIN_ABI, abi);
        }
        return SYNCQ_ENOTSUP;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = syncq_registry_add(r, &defs[i], err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return SYNCQ_OK;
}

#endif
