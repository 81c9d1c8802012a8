/* SPDX-License-Identifier: MIT
 *
 * cli_pipeline.h: the catalog sync pipeline shared by `syncq sync` and
 * `syncq demo`: crawler.sync_category per category (which fans out
 * listing pages, offer details, images and thumbnails), followed to the
 * end of its task tree with a live per-stage progress view, then
 * data_sync.sync_suppliers, data_sync.sync_products, data_sync.validate_data
 * and data_sync.cleanup_duplicates in turn. Needs a running worker pool
 * serving the crawler, image_processing and data_sync queues.
 */
#ifndef SQ_CLI_PIPELINE_H
#define SQ_CLI_PIPELINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <syncq/syncq.h>

struct cli_pipeline_opts {
    const char *const *categories; /* category ids (decimal strings) */
    size_t ncategories;
    bool full;          /* full sync (re-fetch everything) vs incremental */
    long max_pages;     /* 0: every page */
    bool tty;           /* redraw in place */
    bool color;
    FILE *out;          /* progress and summary */
    int64_t timeout_ms; /* give up following after this (0: never) */
    volatile int *stop; /* set to non-zero to stop following (Ctrl-C) */
    /* Called instead of sleeping while following (may be NULL): `syncq
     * demo` pumps its services' output and restarts a dead one here. */
    void (*idle)(void *ud, int ms);
    void *idle_ud;
    /* Called once when every tree has ended, before the database steps
     * (may be NULL; gets idle_ud): `syncq demo --measure` takes its
     * crawl-phase CPU figures here. */
    void (*crawled)(void *ud);
};

struct cli_pipeline_result {
    json_t *stages;      /* {task name: {total, done, failed}} */
    json_t *times;       /* {task name: {first_ms, last_ms, ended}}: ms
                            after the start when the stage was first and
                            last seen with more tasks ended (done+failed),
                            seen about once a second; ended: that count */
    json_t *steps;       /* {"sync_products": result, ...} */
    json_t *dead;        /* [{id, name, reason, error}] of this run */
    json_t *failed;      /* [{category, id, state, error}]: category syncs
                            that did not end SUCCESS */
    int64_t tasks;       /* tasks that ended in this run */
    int64_t retries;     /* retries scheduled in this run */
    int64_t wall_ms;
    int64_t crawl_ms;    /* of which the crawl (until every tree ended) */
    bool completed;      /* every stage ended (not stopped or timed out) */
};

/* Run the pipeline. Returns SYNCQ_OK when it was followed to the end
 * (check res->dead for dead letters), SYNCQ_ETIMEDOUT or SYNCQ_ESTATE
 * (stopped) otherwise, or a broker error. res is filled in every case;
 * release it with cli_pipeline_result_cleanup. */
int cli_pipeline_run(syncq_client *c, const struct cli_pipeline_opts *o,
                     struct cli_pipeline_result *res, syncq_error *err);

void cli_pipeline_result_cleanup(struct cli_pipeline_result *res);

/* The tasks the run will have made by its end (cli_pipeline_eta.c):
 * `total` (created so far) plus the fan-out still to come, projected from
 * each stage's children per finished parent so far. `stagemap`: {task
 * name: {total, done, failed}}; `roots_info`: [{progress: {current,
 * total}}] of the category syncs (pages done / expected). Never less than
 * `total`. Pure. */
int64_t cli_pipeline_projected_total(json_t *stagemap, json_t *roots_info,
                                     int64_t total);

/* One line each for sync_products (inserted/updated/unchanged),
 * validate_data (clean or PROBLEMS, counts) and cleanup_duplicates, from
 * the step results in `res` (steps that did not run are left out). */
void cli_pipeline_print_steps(FILE *out, const struct cli_pipeline_result *res,
                              bool incremental);

#endif
