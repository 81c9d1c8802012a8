/* SPDX-License-Identifier: MIT
 *
 * sq_edit.h: edit distance for "did you mean ...?" suggestions (settings,
 * task arguments, task names). Pure and thread-safe.
 */
#ifndef SQ_EDIT_H
#define SQ_EDIT_H

#include <stddef.h>

#define SQ_EDIT_MAX_LEN 96 /* characters compared; longer names are cut */

/* Edit distance of `a` and `b`, counting a swap of two neighbours as one
 * edit (optimal string alignment), over their first SQ_EDIT_MAX_LEN
 * characters. */
size_t sq_edit_distance(const char *a, const char *b);

#endif
