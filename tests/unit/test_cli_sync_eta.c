/* SPDX-License-Identifier: MIT
 *
 * test_cli_sync_eta.c: the ETA of `syncq sync` counts the work still to
 * fan out (src/cli/cli_pipeline_eta.c, compiled in here: the CLI is not a
 * library): offer details per listing page, images per offer and
 * thumbnails per image so far, times the pages and parents still to come.
 */
#include "sq_test.h"

#include "../../src/cli/cli_pipeline_eta.c"

static int64_t
projected(const char *stages, const char *roots, int64_t total)
{
    json_t *s = json_loads(stages, 0, NULL);
    json_t *r = json_loads(roots, 0, NULL);
    int64_t n;

    assert_non_null(s);
    assert_non_null(r);
    n = cli_pipeline_projected_total(s, r, total);
    json_decref(s);
    json_decref(r);
    return n;
}

static void
fan_out_still_to_come_is_counted(void **state)
{
    (void)state;
    /* 2 of 10 pages done, 20 offers so far (10 a page): 80 more offers;
     * 10 of those 20 offers done with 10 image tasks: 1 per offer, so 90
     * more; no thumbnails yet: nothing projected for them */
    assert_int_equal(
        projected("{\"crawler.fetch_product_details\":"
                  "{\"total\":20,\"done\":9,\"failed\":1},"
                  "\"image_processing.download_images\":"
                  "{\"total\":10,\"done\":0,\"failed\":0}}",
                  "[{\"progress\":{\"current\":2,\"total\":10}}]", 31),
        31 + 80 + 90);
    /* two categories: pages add up */
    assert_int_equal(
        projected("{\"crawler.fetch_product_details\":"
                  "{\"total\":10,\"done\":0,\"failed\":0}}",
                  "[{\"progress\":{\"current\":1,\"total\":3}},"
                  "{\"progress\":{\"current\":1,\"total\":1}}]",
                  12),
        12 + 10);
}

static void
nothing_to_project_is_the_total(void **state)
{
    (void)state;
    /* every page done: what exists is all there will be */
    assert_int_equal(
        projected("{\"crawler.fetch_product_details\":"
                  "{\"total\":50,\"done\":50,\"failed\":0},"
                  "\"image_processing.download_images\":"
                  "{\"total\":50,\"done\":50,\"failed\":0}}",
                  "[{\"progress\":{\"current\":5,\"total\":5}}]", 101),
        101);
    /* nothing finished yet: no ratio to project from */
    assert_int_equal(projected("{}", "[{\"progress\":{}}]", 1), 1);
    assert_int_equal(projected("{}", "[]", 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fan_out_still_to_come_is_counted),
        cmocka_unit_test(nothing_to_project_is_the_total),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
