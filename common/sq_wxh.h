/* SPDX-License-Identifier: MIT
 *
 * sq_wxh.h: lists of sizes written "220x220,400x400" (SYNCQ_THUMBNAIL_SIZES
 * and the `sizes` argument of the image tasks).
 */
#ifndef SQ_WXH_H
#define SQ_WXH_H

#include <stdbool.h>
#include <syncq/error.h>

#define SQ_WXH_MIN 16   /* smallest side, pixels */
#define SQ_WXH_MAX 4096 /* largest side, pixels */
#define SQ_WXH_LIST_MAX 8 /* sizes in one list (SYNCQ_THUMBNAIL_SIZES) */

/* One size, in pixels. */
struct sq_wxh {
    int w;
    int h;
};

/* Parse one "WxH" (or "WXH"); true if both sides are in
 * SQ_WXH_MIN..SQ_WXH_MAX. *out is written even when false. Thread-safe. */
bool sq_wxh_parse(const char *s, struct sq_wxh *out);

/* Parse a list of sizes separated by commas and/or spaces into out[0..max)
 * and set *n. An empty list is an error.
 * Errors: SYNCQ_EINVAL naming the bad item (not WxH, a side out of range,
 *         more than `max` sizes, or no size at all). Thread-safe. */
int sq_wxh_list_parse(const char *text, struct sq_wxh *out, int max, int *n,
                      syncq_error *err);

#endif
