/* SPDX-License-Identifier: MIT
 *
 * packs_plugin.c: the entry point of the packs built as a plugin
 * (syncq_packs.so), so a host other than the syncq binary (a program
 * linked with libsyncq) loads the 1688 packs like any user pack:
 * syncq_registry_load_plugin(r, "syncq_packs.so", &err). Only compiled
 * into that module; the syncq binary calls sq_packs_init directly.
 */
#include "task_packs.h"

__attribute__((visibility("default"))) int
syncq_plugin_init(syncq_registry *r, int abi_version, syncq_error *err);

int
syncq_plugin_init(syncq_registry *r, int abi_version, syncq_error *err)
{
    return sq_packs_init(r, abi_version, err);
}
