/* SPDX-License-Identifier: MIT
 *
 * sq_embed.c: lookup in the embedded-file tables.
 */
#include "core/sq_embed.h"

#include <string.h>

const struct sq_embedded *
sq_embed_find(const struct sq_embedded *table, const char *name)
{
    for (const struct sq_embedded *e = table; e->name != NULL; e++) {
        if (strcmp(e->name, name) == 0) {
            return e;
        }
    }
    return NULL;
}
