/* SPDX-License-Identifier: MIT
 *
 * cli_batch.c: `syncq batch create|info|list`. Items come from a file (a
 * JSON array, or one item per line) and are parsed once; the chunks are
 * stored in Redis and sent all at once (1,000 per atomic call), or in
 * waves under --max-in-flight / --rate (then `--wait` also keeps
 * dispatching from here, so waves go on with no beat running).
 */
#include <syncq/batch.h>
#include "cli/cli.h"
#include "cli/cli_monitor.h"
#include "core/sq_time.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/schedule.h>
#include <unistd.h>

/* The largest items file read: room for the most items a batch holds
 * (10,000,000, syncq_batch_items_parse) at ~100 bytes each. Reading stops
 * there (or at a NUL byte): /dev/zero is refused at once. */
#define ITEMS_FILE_MAX ((size_t)1 << 30)

static volatile int wait_stop;

static void
on_int(int sig)
{
    (void)sig;
    wait_stop = 1;
}

static void
print_progress_line(FILE *out, json_t *b)
{
    fprintf(out,
            "batch %s: total %lld done %lld failed %lld running %lld "
            "waiting %lld%s\n",
            json_string_value(json_object_get(b, "id")),
            (long long)json_integer_value(json_object_get(b, "total")),
            (long long)json_integer_value(json_object_get(b, "done")),
            (long long)json_integer_value(json_object_get(b, "failed")),
            (long long)json_integer_value(json_object_get(b, "running")),
            (long long)json_integer_value(json_object_get(b, "waiting")),
            json_object_get(b, "finished_at") ? " finished" : "");
}

/* The bar of `monitor progress` for a batch on a terminal: percent of
 * chunks ended, their rate since the wait began, and the ETA. */
static void
draw_bar(json_t *b, int64_t t0_ms, long long ended0, bool redraw)
{
    long long total = json_integer_value(json_object_get(b, "total"));
    long long ended = json_integer_value(json_object_get(b, "done")) +
                      json_integer_value(json_object_get(b, "failed"));
    double secs = (double)(sq_mono_ms() - t0_ms) / 1000.0;
    double rate = secs > 0.5 ? (double)(ended - ended0) / secs : 0.0;

    if (total > 0) {
        json_object_set_new(b, "percent",
                            json_real((double)ended * 100.0 / (double)total));
    }
    if (rate > 0) {
        json_object_set_new(b, "rate", json_real(rate));
        json_object_set_new(b, "eta_s",
                            json_real((double)(total - ended) / rate));
    }
    if (redraw) {
        fputs("\033[1A\r\033[K", stderr);
    }
    cli_mon_batch_line(stderr, b, cli_color());
}

/* Name the failed chunks of batch `id` with their errors (the newest
 * 1,000 failures of its task are searched). */
static void
print_failed_chunks(syncq_client *c, json_t *b)
{
    const char *id = json_string_value(json_object_get(b, "id"));
    syncq_task_filter f;
    json_t *list = NULL, *t;
    syncq_error err;
    size_t i;

    memset(&f, 0, sizeof f);
    f.state = "FAILURE";
    f.name = json_string_value(json_object_get(b, "task"));
    f.limit = 1000;
    if (id == NULL || syncq_task_list(c, &f, &list, &err) != SYNCQ_OK) {
        return;
    }
    json_array_foreach(list, i, t) {
        const json_t *e = json_object_get(t, "error");
        const char *bid = json_string_value(json_object_get(t, "batch_id"));
        if (bid == NULL || strcmp(bid, id) != 0) {
            continue;
        }
        fprintf(stderr, "syncq: batch create: chunk %s failed: %s: %s\n",
                json_string_value(json_object_get(t, "id")),
                json_string_value(json_object_get(e, "class"))
                    ? json_string_value(json_object_get(e, "class"))
                    : "?",
                json_string_value(json_object_get(e, "message"))
                    ? json_string_value(json_object_get(e, "message"))
                    : "");
    }
    json_decref(list);
}

/* --wait: follow the batch, dispatching waves when due. */
static int
wait_batch(struct cli *cli, syncq_client *c, const char *id)
{
    struct sigaction sa;
    int64_t last_print = 0, t0 = sq_mono_ms();
    long long ended0 = -1;
    bool tty = isatty(STDERR_FILENO) != 0, drawn = false;
    int rc = CLI_OK;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_int;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!wait_stop) {
        json_t *b = NULL;
        syncq_error err;
        int64_t next = -1, mono = sq_mono_ms();
        if (syncq_batch_dispatch(c, id, NULL, &next, &err) != SYNCQ_OK ||
            syncq_batch_progress(c, id, &b, &err) != SYNCQ_OK) {
            if (err.code != SYNCQ_ECONN) {
                return cli_fail(cli, "%s", err.msg);
            }
            sq_sleep_ms(500);
            continue;
        }
        if (ended0 < 0) {
            ended0 = json_integer_value(json_object_get(b, "done")) +
                     json_integer_value(json_object_get(b, "failed"));
        }
        if (json_object_get(b, "finished_at") != NULL) {
            if (tty && !cli->json) {
                draw_bar(b, t0, ended0, drawn);
            }
            if (cli->json) {
                cli_print_json(b);
            } else {
                print_progress_line(stdout, b);
            }
            rc = json_integer_value(json_object_get(b, "failed")) > 0 ? CLI_FAIL
                                                                      : CLI_OK;
            if (rc != CLI_OK) {
                print_failed_chunks(c, b);
            }
            json_decref(b);
            return rc;
        }
        if (tty && !cli->json && mono - last_print >= 500) {
            draw_bar(b, t0, ended0, drawn);
            drawn = true;
            last_print = mono;
        } else if (!tty && mono - last_print >= 1000) {
            print_progress_line(stderr, b);
            last_print = mono;
        }
        json_decref(b);
        sq_sleep_ms(100);
    }
    return cli_fail(cli,
                    "interrupted; batch %s goes on (see `syncq batch "
                    "info %s`)",
                    id, id);
}

static int
cli_batch_create(struct cli *cli)
{
    const char *items_path = NULL, *kw_arg = NULL;
    syncq_batch_options bo;
    syncq_batch_wave_options wo;
    syncq_task_options to;
    char id[SYNCQ_ID_SIZE];
    char *text = NULL, *kw = NULL;
    size_t len = 0;
    long batch_size = 100, v = 0;
    bool wait = false;
    json_t *items = NULL;
    syncq_client *c;
    syncq_error err;
    int rc;

    memset(&bo, 0, sizeof bo);
    memset(&wo, 0, sizeof wo);
    syncq_task_options_init(&to);
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'f':
            items_path = ov->arg;
            break;
        case 'b':
            if (cli_num_arg(cli, "batch-size", ov->arg, 1, 100000,
                            &batch_size)) {
                return CLI_USAGE;
            }
            break;
        case 1:
            if (cli_num_arg(cli, "max-in-flight", ov->arg, 1, 1000000, &v)) {
                return CLI_USAGE;
            }
            wo.max_in_flight = (int)v;
            break;
        case 2:
            if (syncq_rate_parse(ov->arg, &wo.rate_count, &wo.rate_period_ms,
                                 &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            break;
        case 'k':
            kw_arg = ov->arg;
            break;
        case 3:
            bo.on_complete = ov->arg;
            break;
        case 4:
            if (syncq_queue_name_check(ov->arg, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            bo.on_complete_queue = ov->arg;
            break;
        case 5:
            wo.fail_fast = true;
            break;
        case 'q':
            if (syncq_queue_name_check(ov->arg, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            to.queue = ov->arg;
            break;
        case 'p':
            if (syncq_priority_parse(ov->arg, &to.priority, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            break;
        case 6:
            if (cli_num_arg(cli, "max-retries", ov->arg, 0, 1000, &v)) {
                return CLI_USAGE;
            }
            to.max_retries = (int)v;
            break;
        case 7:
            if (sq_duration_parse_ms(ov->arg, &to.time_limit_ms, &err) !=
                SYNCQ_OK) {
                return cli_usage(cli, "time-limit: %s", err.msg);
            }
            break;
        case 8:
            wait = true;
            break;
        }
    }
    if (cli->argc - cli->optind != 1) {
        return cli_usage(cli, cli->optind >= cli->argc ? "missing TASK"
                                                       : "unexpected argument "
                                                         "after TASK");
    }
    if (items_path == NULL) {
        return cli_usage(cli, "--items-file is required");
    }
    {
        char norm[256];
        if (syncq_task_name_normalize(cli->argv[cli->optind], norm, sizeof norm,
                                      &err) != SYNCQ_OK) {
            return cli_usage(cli, "%s", err.msg);
        }
        if (bo.on_complete != NULL &&
            syncq_task_name_normalize(bo.on_complete, norm, sizeof norm,
                                      &err) != SYNCQ_OK) {
            return cli_usage(cli, "on-complete: %s", err.msg);
        }
    }
    rc = cli_read_input(cli, "items file", items_path, ITEMS_FILE_MAX,
                        "the items file limit", &text, &len);
    if (rc != CLI_OK) {
        return rc;
    }
    rc = syncq_batch_items_parse(text, len, &items, &err);
    free(text);
    if (rc != SYNCQ_OK) {
        return cli_fail(cli, "items file %s: %s", items_path, err.msg);
    }
    if (json_array_size(items) == 0) {
        json_decref(items);
        return cli_fail(cli, "items file %s holds no items (empty or blank "
                        "lines only); nothing written", items_path);
    }
    if (kw_arg != NULL && (rc = cli_json_arg(cli, "kwargs", kw_arg, &kw))) {
        json_decref(items);
        return rc;
    }
    bo.kwargs_json = kw;
    bo.task = &to;
    c = cli_client(cli);
    if (c == NULL) {
        json_decref(items);
        free(kw);
        return CLI_FAIL;
    }
    {
        /* the door check first, so every bad field gets its own line */
        json_t *problems = NULL;
        rc = syncq_batch_check(c, cli->argv[cli->optind], items,
                               (size_t)batch_size, &bo, &problems, &err);
        if (rc != SYNCQ_OK) {
            json_decref(items);
            free(kw);
            rc = cli_problems(cli, problems, &err);
            json_decref(problems);
            return rc;
        }
    }
    rc = syncq_batch_submit_items(c, cli->argv[cli->optind], items,
                                  (size_t)batch_size, &bo, &wo, id, NULL, &err);
    if (rc == SYNCQ_OK) {
        cli_warn_unknown_task(cli, cli->argv[cli->optind]);
    }
    if (rc == SYNCQ_OK && wo.max_in_flight == 0 && wo.rate_count == 0) {
        /* No limits: send every chunk now, 1,000 per atomic call (chunks
         * not sent yet are safe in Redis: if this process dies, the beat
         * sends them). */
        int64_t sent = 1, next = 0;
        while (rc == SYNCQ_OK && sent > 0 && next >= 0) {
            rc = syncq_batch_dispatch(c, id, &sent, &next, &err);
        }
    }
    free(kw);
    if (rc != SYNCQ_OK) {
        json_decref(items);
        return cli_error(cli, &err, true);
    }
    if (cli->json && !wait) {
        printf("{\"batch_id\":\"%s\",\"items\":%zu,\"total\":%zu}\n", id,
               json_array_size(items),
               (json_array_size(items) + (size_t)batch_size - 1) /
                   (size_t)batch_size);
    } else if (!cli->json) {
        puts(id);
        fflush(stdout);
    }
    json_decref(items);
    rc = wait ? wait_batch(cli, c, id) : CLI_OK;
    return rc;
}

/* ---- info / list ------------------------------------------------------ */

static int
cli_batch_info(struct cli *cli)
{
    json_t *b = NULL;
    int rc;

    if (cli->argc - cli->optind != 1) {
        return cli_usage(cli, "need exactly one batch ID");
    }
    rc = cli_call_json(cli, syncq_batch_progress, cli->argv[cli->optind], &b,
                       true);
    if (rc != CLI_OK) {
        return rc;
    }
    if (cli->json) {
        cli_print_json(b);
    } else {
        cli_print_fields(b, 15);
    }
    json_decref(b);
    return CLI_OK;
}

static int
cli_batch_list(struct cli *cli)
{
    long limit = 20, offset = 0;
    syncq_client *c;
    syncq_error err;
    json_t *list = NULL;
    int rc;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 1:
            if (cli_num_arg(cli, "limit", ov->arg, 1, 10000, &limit)) {
                return CLI_USAGE;
            }
            break;
        case 2:
            if (cli_num_arg(cli, "offset", ov->arg, 0, 100000000, &offset)) {
                return CLI_USAGE;
            }
            break;
        }
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_batch_list(c, (size_t)offset, (size_t)limit, &list, &err);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, false);
    }
    if (cli->json) {
        cli_print_json(list);
    } else if (json_array_size(list) == 0) {
        printf("no batches\n");
    } else {
        static const char *const heads[] = {"ID",     "TASK",    "STATE",
                                            "TOTAL",  "DONE",    "FAILED",
                                            "RUNNING", "WAITING", "CREATED"};
        static const char *const counts[] = {"total", "done", "failed",
                                             "running", "waiting"};
        json_t *rows = json_array();
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *b = json_array_get(list, i);
            char n[5][24];
            for (int k = 0; k < 5; k++) {
                snprintf(n[k], sizeof n[k], "%lld",
                         (long long)json_integer_value(
                             json_object_get(b, counts[k])));
            }
            cli_row_add(rows, 9, json_string_value(json_object_get(b, "id")),
                        json_string_value(json_object_get(b, "task")),
                        json_string_value(json_object_get(b, "state")), n[0],
                        n[1], n[2], n[3], n[4],
                        json_string_value(json_object_get(b, "created_at")));
        }
        cli_print_columns(heads, 9, rows, 0xF8u); /* the counts */
        json_decref(rows);
    }
    json_decref(list);
    return CLI_OK;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt batch_create_opts[] = {
    {"items-file", 'f', true, "F",
     "a JSON array, or one item per line (a line that is\n"
     "JSON is that value; one starting with { [ or \" must\n"
     "be JSON; any other is a string); - for stdin;\n"
     "at most 1 GiB and 10,000,000 items"},
    {"batch-size", 'b', true, "N",
     "items per chunk (default 100, up to 100000)"},
    {"max-in-flight", 1, false, "N",
     "at most N chunks queued or running at a time"},
    {"rate", 2, false, "N/s",
     "dispatch at most N chunks per second (also N/m, N/h)"},
    {"kwargs", 'k', true, "JSON",
     "extra kwargs for every chunk (a JSON object)"},
    {"on-complete", 3, false, "TASK",
     "run TASK once when every chunk has ended, with\n"
     "kwargs {batch_id, total, succeeded, failed}"},
    {"on-complete-queue", 4, false, "Q", "queue of that task"},
    {"fail-fast", 5, false, NULL,
     "the first failed chunk ends the batch (its completion\n"
     "task runs then; undispatched chunks are dropped)"},
    {"queue", 'q', true, "Q",
     "queue of the chunks (default: the task's route)"},
    {"priority", 'p', true, "P", "priority of the chunks"},
    {"max-retries", 6, false, "N", "retries of each chunk"},
    {"time-limit", 7, false, "S", "hard time limit of each chunk"},
    {"wait", 8, false, NULL,
     "stay until the batch finishes, dispatching waves and\n"
     "printing progress; exit 1 if a chunk failed"},
    {"json", CLI_OPT_JSON, false, NULL,
     "print {\"batch_id\":..., \"total\":...}"},
    CLI_OPT_END,
};

static const char *const batch_create_examples[] = {
    "syncq batch create batch_processing.batch_update --items-file ids.txt"
    " \\\n"
    "           -k '{\"set\":{\"status\":\"inactive\"}}' --batch-size 100"
    " \\\n"
    "           --on-complete data_sync.validate_data",
    "syncq batch create image_processing.download_images --items-file"
    " urls.txt \\\n"
    "           --batch-size 50    # each chunk's URLs go to its `urls`",
    NULL,
};

static const struct cli_opt batch_list_opts[] = {
    {"limit", 1, false, "N", "at most N batches (default 20, 1..10000)"},
    {"offset", 2, false, "N", "skip the newest N first"},
    CLI_OPT_END,
};

const struct cli_cmd cli_batch_cmds[] = {
    {.path = "batch create",
     .run = cli_batch_create,
     .summary = "split items into chunk tasks (waves: --max-in-flight,"
                " --rate)",
     .synopsis = "TASK --items-file F [options]",
     .description = "Split items into chunks of --batch-size and create one"
                    " TASK per chunk\n"
                    "with kwargs {\"items\": [...chunk...], ...-k}, linked"
                    " to a batch record\n"
                    "(a task that declares its arguments gets the chunk"
                    " under its declared\n"
                    "items argument, e.g. `urls`; one that takes no items"
                    " is refused: see\n"
                    "'syncq task describe TASK'). The completion task gets"
                    " {batch_id, total,\n"
                    "succeeded, failed}. Prints the batch id.",
     .opts = batch_create_opts,
     .examples = batch_create_examples},
    {.path = "batch info",
     .run = cli_batch_info,
     .summary = "progress of a batch",
     .synopsis = "ID [--json]",
     .description = "Progress of a batch: total chunks, dispatched, waiting"
                    " (not yet\n"
                    "dispatched), running (dispatched, not ended), done,"
                    " failed, pending\n"
                    "(= total - done - failed), created and finished times,"
                    " completion task."},
    {.path = "batch list",
     .run = cli_batch_list,
     .summary = "recent batches with progress",
     .synopsis = "[--limit N] [--offset N] [--json]",
     .description = "The newest batches first, with their progress.",
     .opts = batch_list_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
