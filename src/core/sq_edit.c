/* SPDX-License-Identifier: MIT
 *
 * sq_edit.c: the edit distance behind every "did you mean ...?" (settings,
 * task arguments, task names). Pure and thread-safe.
 */
#include "core/sq_edit.h"

#include <string.h>

size_t
sq_edit_distance(const char *a, const char *b)
{
    size_t la = strnlen(a, SQ_EDIT_MAX_LEN), lb = strnlen(b, SQ_EDIT_MAX_LEN);
    size_t rows[3][SQ_EDIT_MAX_LEN + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];

    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t *t;
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best) {
                best = prev[j] + 1;
            }
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && pp[j - 2] + 1 < best) {
                best = pp[j - 2] + 1;
            }
            cur[j] = best;
        }
        t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}
