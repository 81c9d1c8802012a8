/* SPDX-License-Identifier: MIT
 *
 * cli_demo_measure.h: the figures of `syncq demo --measure` (the scale
 * benchmark bench/catalog runs it): CPU per process type from /proc
 * (each process with its children, live and reaped), machine busy time,
 * the peak RSS of every worker child, the stage throughput, the stage
 * that bounds the run, a projection to 1,000,000 offers, and the checks
 * of the database against the fixture server's catalog (every offer
 * stored exactly once; after `--change`, exactly the changed offers
 * updated). Linux only (/proc). Nothing here is thread-safe.
 */
#ifndef SQ_CLI_DEMO_MEASURE_H
#define SQ_CLI_DEMO_MEASURE_H

#include "cli/cli_pipeline.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct demo_measure;

/* A new measurement (NULL when out of memory). */
struct demo_measure *demo_measure_new(void);
void demo_measure_free(struct demo_measure *m);

/* Measure process `pid` (with its descendants) as `type` ("workers
 * crawler", "redis", ...; copied). A worker supervisor is given with
 * `worker` true: the peak RSS of its children is sampled, and the lines
 * its log `log_path` (may be NULL) gets from now on are read for child
 * recycles and deaths. */
void demo_measure_add(struct demo_measure *m, const char *type, pid_t pid,
                      bool worker, const char *log_path);

/* Take the CPU snapshot of phase 0 (start), 1 (crawl ended) or 2 (end). */
void demo_measure_mark(struct demo_measure *m, int phase);

/* Sample the worker children's peak RSS (VmHWM); at most once a second,
 * cheap otherwise. Call it often while the run goes on. */
void demo_measure_sample(struct demo_measure *m);

/* Snapshot the product rows (offer id, content hash, prices) of `dburl`
 * before the run, for demo_measure_check. 0 or -1 (message printed). */
int demo_measure_snapshot(struct demo_measure *m, const char *dburl);

/* The checks against the fixture server at `fixture_url` (its
 * /fixture/offers): every offer in the database exactly once and nothing
 * else; with changed_ids listed, exactly those offers' rows changed since
 * the snapshot and sync_products updated exactly that many. Prints one
 * line per check. Returns true when every check passed. */
bool demo_measure_check(struct demo_measure *m, FILE *out, const char *dburl,
                        const char *fixture_url,
                        const struct cli_pipeline_result *res);

/* Print the figures: wall, stage throughput, CPU per process type,
 * machine busy, peak RSS per worker child, recycles and deaths of
 * children (from the worker logs), the requests the fixture server
 * answered (its /fixture/stats), the bounding stage and the projection
 * to 1,000,000 offers. `offers`: the catalog's size;
 * `crawler_rate`/`image_rate`: the per-host limits in effect
 * (SYNCQ_CRAWLER_RATE / SYNCQ_IMAGE_RATE syntax). Call it before the
 * services stop. */
void demo_measure_report(struct demo_measure *m, FILE *out,
                         const struct cli_pipeline_result *res, long offers,
                         const char *fixture_url, const char *crawler_rate,
                         const char *image_rate);

#endif
