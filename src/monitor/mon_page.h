/* SPDX-License-Identifier: MIT
 *
 * mon_page.h: the dashboard's HTML pages, rendered on the server so the
 * first response already holds data (a screenshot, a slow link or a
 * browser without JavaScript shows figures, not "loading"). A page is an
 * embedded file of src/monitor/web/ with {{key}} slots; the server fills
 * them with HTML-escaped text or server-rendered fragments, and embeds a
 * JSON snapshot (<script type="application/json" id="boot">) that the
 * page's script renders before its first poll.
 */
#ifndef SQ_MON_PAGE_H
#define SQ_MON_PAGE_H

#include "sq_buf.h"

#include <jansson.h>
#include <stddef.h>

/* Append `s` HTML-escaped (& < > " ') to b. */
void sq_page_esc(struct sq_buf *b, const char *s);

/* Append `v` (borrowed) as JSON that is safe inside a <script> element
 * ("<" written as \u003c). */
void sq_page_json(struct sq_buf *b, const json_t *v);

/* Render template `t` (`len` bytes): each "{{key}}" is replaced by the
 * value of `key` in kv (pairs "key", "value", ..., NULL; values are
 * inserted as they are: escape them first); unknown keys become "".
 * Returns an owned string (sq_free), NULL when out of memory. */
char *sq_page_render(const char *t, size_t len, const char *const *kv);

/* The server-rendered figures of the dashboard's first paint: tiles,
 * queue rows, worker rows of `snap` (borrowed; NULL: no data). Each is
 * appended to its own buffer. */
void sq_page_tiles(struct sq_buf *b, const json_t *snap);
void sq_page_queue_rows(struct sq_buf *b, const json_t *snap);
void sq_page_worker_rows(struct sq_buf *b, const json_t *snap);

#endif
