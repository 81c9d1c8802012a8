/* SPDX-License-Identifier: MIT
 *
 * sq_test_packs.c: the 1688 packs in the default registry of a test, as
 * in the syncq binary (src/cli/cli_main.c).
 */
#include "sq_test.h"
#include "task_packs.h"

void
sqt_register_packs(void)
{
    static bool done;
    syncq_error err;

    if (done) {
        return;
    }
    if (sq_packs_init(syncq_registry_default(), SYNCQ_PLUGIN_ABI, &err) !=
        SYNCQ_OK) {
        fail_msg("registering the 1688 packs: %s", err.msg);
    }
    done = true;
}
