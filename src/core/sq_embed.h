/* SPDX-License-Identifier: MIT
 *
 * sq_embed.h: files embedded at build time by cmake/embed.cmake (the Lua
 * scripts as sq_lua_files, the dashboard assets as sq_web_files).
 */
#ifndef SQ_EMBED_H
#define SQ_EMBED_H

#include <stddef.h>

struct sq_embedded {
    const char *name;          /* "enqueue.lua", "app.js", ... */
    const unsigned char *data; /* bytes, followed by a NUL */
    size_t len;
};

extern const struct sq_embedded sq_lua_files[];
extern const struct sq_embedded sq_web_files[];

/* Find `name` in a table ending with a NULL name; NULL if absent. */
const struct sq_embedded *sq_embed_find(const struct sq_embedded *table,
                                        const char *name);

#endif
