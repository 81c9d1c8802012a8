/* SPDX-License-Identifier: MIT
 *
 * cli_pipeline_eta.c: how many tasks a catalog sync will have made by its
 * end, for the ETA of `syncq sync` and `syncq demo` (cli_pipeline.h).
 * Pure: reads the counts the pipeline follows, writes nothing.
 */
#include "cli/cli_pipeline.h"

#include <string.h>

/* Which stage fans out each stage's tasks, for the ETA. */
static const struct {
    const char *child, *parent; /* parent NULL: the categories' pages */
} fanout[] = {
    {"crawler.fetch_product_details", NULL},
    {"image_processing.download_images", "crawler.fetch_product_details"},
    {"crawler.fetch_suppliers", "crawler.fetch_product_details"},
    {"image_processing.generate_thumbnails",
     "image_processing.download_images"},
};

static int64_t
count_of(json_t *stagemap, const char *task, const char *key)
{
    return (int64_t)json_integer_value(
        json_object_get(json_object_get(stagemap, task), key));
}

/* Each stage's children per finished parent so far, times the parents
 * still expected (listing pages: the categories' page totals from their
 * progress), is what the ETA must include; without it the ETA only
 * covers tasks already created and grows as pages fan out. */
int64_t
cli_pipeline_projected_total(json_t *stagemap, json_t *roots_info,
                             int64_t total)
{
    double expect[sizeof fanout / sizeof fanout[0]];
    double pages_done = 0, pages_total = 0, extra = 0;
    size_t i;
    json_t *ri;

    json_array_foreach(roots_info, i, ri)
    {
        json_t *p = json_object_get(ri, "progress");
        double cur = (double)json_integer_value(json_object_get(p, "current"));
        double tot = (double)json_integer_value(json_object_get(p, "total"));
        pages_done += cur;
        pages_total += tot > cur ? tot : cur;
    }
    for (i = 0; i < sizeof fanout / sizeof fanout[0]; i++) {
        double have = (double)count_of(stagemap, fanout[i].child, "total");
        double pdone = pages_done, pexp = pages_total;
        if (fanout[i].parent != NULL) {
            size_t j = 0;
            while (strcmp(fanout[j].child, fanout[i].parent) != 0) {
                j++; /* parents come first in the table */
            }
            pdone = (double)(count_of(stagemap, fanout[i].parent, "done") +
                             count_of(stagemap, fanout[i].parent, "failed"));
            pexp = expect[j];
        }
        expect[i] = have;
        if (pdone > 0 && pexp > pdone) {
            expect[i] = have + have / pdone * (pexp - pdone);
        }
        extra += expect[i] - have;
    }
    return total + (int64_t)extra;
}
