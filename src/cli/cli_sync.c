/* SPDX-License-Identifier: MIT
 *
 * cli_sync.c: `syncq sync --category ID ...`: on a running system (any
 * broker), sync 1688 categories through the whole pipeline and follow it
 * to the end with a live progress view; exit status 1 if anything ended
 * in the dead-letter queue (listed).
 */
#include "cli/cli.h"
#include "cli/cli_pipeline.h"
#include "cli/cli_proc.h"
#include "core/sq_time.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/monitor.h>

static volatile int stop_flag;

static void
on_int(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Warn at once about each queue of the sync that no live worker serves:
 * its tasks would wait, and the sync with them, without a word. */
static void
warn_unserved(syncq_client *c)
{
    static const char *const needed[] = {"crawler", "image_processing",
                                          "data_sync"};
    json_t *snap = NULL;
    syncq_error err;

    if (syncq_monitor_snapshot(c, &snap, &err) != SYNCQ_OK) {
        return; /* the run itself reports an unreachable broker */
    }
    for (size_t k = 0; k < sizeof needed / sizeof needed[0]; k++) {
        bool served = false;
        size_t i, j;
        json_t *w, *q;
        json_array_foreach(json_object_get(snap, "workers"), i, w) {
            const json_t *qs = json_object_get(w, "queues");
            if (!json_is_true(json_object_get(w, "live"))) {
                continue;
            }
            served = served || json_array_size(qs) == 0;
            json_array_foreach(qs, j, q) {
                served = served || (json_is_string(q) &&
                                    strcmp(json_string_value(q),
                                           needed[k]) == 0);
            }
        }
        if (!served) {
            fprintf(stderr,
                    "syncq: sync: warning: no live worker serves queue %s: "
                    "its tasks wait until one starts (`syncq worker -Q "
                    "%s`)\n",
                    needed[k], needed[k]);
        }
    }
    json_decref(snap);
}

/* Print the end-of-run summary of a sync. */
static void
print_summary(FILE *out, const struct cli_pipeline_result *res, bool json,
              bool full)
{
    char el[32], n1[48], n2[48];
    json_t *s = json_pack("{s:O,s:O,s:O,s:O,s:I,s:I,s:I,s:b}", "stages",
                          res->stages, "steps", res->steps, "dead_letters",
                          res->dead, "failed_categories", res->failed,
                          "tasks", (json_int_t)res->tasks,
                          "retries", (json_int_t)res->retries, "wall_ms",
                          (json_int_t)res->wall_ms, "completed",
                          res->completed);

    if (json) {
        cli_print_json(s);
        json_decref(s);
        return;
    }
    json_decref(s);
    sq_duration_format(res->wall_ms, el, sizeof el);
    fprintf(out, "\nsummary: %s in %s (%.1f tasks/s), %lld retr%s, %s\n",
            cli_count(n1, sizeof n1, (long long)res->tasks, "task"), el,
            res->wall_ms > 0 ? (double)res->tasks * 1000.0 /
                                   (double)res->wall_ms
                             : 0.0,
            (long long)res->retries, res->retries == 1 ? "y" : "ies",
            cli_count(n2, sizeof n2, (long long)json_array_size(res->dead),
                      "dead letter"));
    {
        const char *name;
        json_t *r;
        json_object_foreach(res->steps, name, r) {
            const char *st = json_string_value(json_object_get(r, "state"));
            if (st != NULL && strcmp(st, "SUCCESS") != 0) {
                fprintf(out, "  %-14s %s\n", name, st);
            }
        }
    }
    cli_pipeline_print_steps(out, res, !full);
    if (json_array_size(res->failed) > 0) {
        size_t i;
        json_t *d;
        fprintf(out, "category syncs that failed:\n");
        json_array_foreach(res->failed, i, d) {
            fprintf(out, "  category %s: %s %s (task %s)\n",
                    json_string_value(json_object_get(d, "category")),
                    json_string_value(json_object_get(d, "state")),
                    json_string_value(json_object_get(
                        json_object_get(d, "error"), "message"))
                        ? json_string_value(json_object_get(
                              json_object_get(d, "error"), "message"))
                        : "",
                    json_string_value(json_object_get(d, "id")));
        }
    }
    if (json_array_size(res->dead) > 0) {
        size_t i;
        json_t *d;
        fprintf(out, "dead letters (inspect with `syncq task info ID`, "
                     "requeue with `syncq recovery dead requeue ID`):\n");
        json_array_foreach(res->dead, i, d) {
            fprintf(out, "  %s %-34s %s: %s\n",
                    json_string_value(json_object_get(d, "id")),
                    json_string_value(json_object_get(d, "name")),
                    json_string_value(json_object_get(d, "reason")),
                    json_string_value(json_object_get(
                        json_object_get(d, "error"), "message"))
                        ? json_string_value(json_object_get(
                              json_object_get(d, "error"), "message"))
                        : "");
        }
    }
}

static int
cli_sync(struct cli *cli)
{
    const char *cats[64];
    struct cli_pipeline_opts po;
    struct cli_pipeline_result res;
    syncq_client *c;
    syncq_error err;
    size_t ncat = 0;
    int rc;

    memset(&po, 0, sizeof po);
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        char *end;
        long v;
        switch (ov->key) {
        case 'c':
            v = strtol(ov->arg, &end, 10);
            if (*ov->arg == '\0' || *end != '\0' || v < 0) {
                return cli_usage(cli,
                                 "category '%s' is not a 1688 category "
                                 "id (a number)",
                                 ov->arg);
            }
            if (ncat == 64) {
                return cli_usage(cli, "at most 64 categories per sync");
            }
            cats[ncat++] = ov->arg;
            break;
        case 'f':
            po.full = true;
            break;
        case 'p':
            v = strtol(ov->arg, &end, 10);
            if (*end != '\0' || v < 1 || v > 100000) {
                return cli_usage(cli, "--max-pages '%s' is not 1..100000",
                                 ov->arg);
            }
            po.max_pages = v;
            break;
        case 't':
            if (cli_follow_timeout_arg(
                    cli, ov->arg, "leave it out to follow to the end",
                    &po.timeout_ms)) {
                return CLI_USAGE;
            }
            break;
        }
    }
    if (ncat == 0) {
        return cli_usage(cli, "give at least one --category ID");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    warn_unserved(c);
    signal(SIGINT, on_int);
    po.categories = cats;
    po.ncategories = ncat;
    po.tty = !cli->json && cli_color();
    po.color = po.tty;
    po.out = cli->json ? stderr : stdout;
    po.stop = &stop_flag;
    rc = cli_pipeline_run(c, &po, &res, &err);
    print_summary(stdout, &res, cli->json, po.full);
    if (rc != SYNCQ_OK) {
        cli_fail(cli, "%s", err.msg);
        cli_pipeline_result_cleanup(&res);
        return CLI_FAIL;
    }
    rc = (json_array_size(res.dead) > 0 || json_array_size(res.failed) > 0)
             ? CLI_FAIL
             : CLI_OK;
    if (json_array_size(res.dead) > 0) {
        cli_fail(cli, "%zu task(s) ended in the dead-letter queue",
                 json_array_size(res.dead));
    }
    if (json_array_size(res.failed) > 0) {
        cli_fail(cli, "%zu category sync(s) did not succeed",
                 json_array_size(res.failed));
    }
    cli_pipeline_result_cleanup(&res);
    return rc;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt sync_opts[] = {
    {"category", 'c', true, "ID", "a 1688 category to sync; repeatable"},
    {"full", 'f', true, NULL, "re-sync every offer, not only changed ones"},
    {"max-pages", 'p', true, "N", "listing pages per category at most"},
    {"timeout", 't', true, "S",
     "stop following after S (30, 5m, 2h; 1s..7d; default: follow\n"
     "to the end, however long); exit 1, the sync goes on"},
    CLI_OPT_END,
};

const struct cli_cmd cli_sync_cmds[] = {
    {.path = "sync",
     .run = cli_sync,
     .summary = "sync 1688 categories end to end, follow progress",
     .synopsis = "--category ID [--category ID ...] [--full]\n"
                 " [--max-pages N] [--timeout S] [--json]",
     .description = "Sync 1688 categories on a running system:"
                    " crawler.sync_category per category\n"
                    "(listing pages, offer details, images, thumbnails),"
                    " then data_sync.sync_suppliers,\n"
                    "sync_products, validate_data and cleanup_duplicates,"
                    " followed live to the end.\n"
                    "Needs workers serving the crawler, image_processing and"
                    " data_sync queues\n"
                    "(`syncq up`, or `syncq worker` on any machine)."
                    " Incremental by default:\n"
                    "unchanged offers are not rewritten; --full re-syncs"
                    " everything.\n"
                    "Exit status 0 when everything ended well, 1 if tasks"
                    " ended in the dead-letter\n"
                    "queue (listed) or the sync could not be followed to its"
                    " end. Ctrl-C stops\n"
                    "following; the sync goes on in the background.\n"
                    "A queue it needs that no live worker serves is warned"
                    " about at once.\n"
                    "The ETA counts the work still to fan out: offer details"
                    " per listing page,\n"
                    "images per offer and thumbnails per image so far, times"
                    " the pages (from\n"
                    "each category's progress) and parents still to come.",
     .opts = sync_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
