/* SPDX-License-Identifier: MIT
 *
 * cli_task.c: `syncq task create|info|list|cancel|wait`.
 */
#include "cli/cli.h"
#include "cli/cli_monitor.h"
#include "core/sq_time.h"
#include "core/sq_utf8.h"

#include <syncq/recovery.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char create_usage[] =
    "usage: syncq task create NAME [-k JSON] [-a JSON] [options]\n"
    "\n"
    "Create a task and print its id.\n"
    "\n"
    "  -k, --kwargs JSON       keyword arguments, a JSON object (@file or - "
    "for stdin)\n"
    "  -a, --args JSON         positional arguments, a JSON array\n"
    "  -q, --queue Q           queue (default: the task's route)\n"
    "  -p, --priority P        LOW NORMAL HIGH URGENT or 0..10 (10 runs "
    "first)\n"
    "      --countdown S       run no earlier than S seconds from now "
    "(30, 5m, 2h)\n"
    "      --eta TIME          run no earlier than TIME "
    "(2026-12-01T02:00:00+08:00)\n"
    "      --expires S|TIME    never run after this; the task ends EXPIRED\n"
    "      --max-retries N     retries allowed by the retry policy\n"
    "      --unique KEY        deduplicate: while KEY is held, return the "
    "first id\n"
    "      --unique-ttl S      how long KEY is held (default "
    "SYNCQ_UNIQUE_WINDOW)\n"
    "      --time-limit S      hard time limit\n"
    "      --soft-time-limit S soft time limit\n"
    "      --id UUID           use this task id (an existing id is "
    "answered as a\n"
    "                          duplicate, like --unique; never replaced)\n"
    "      --retry-policy JSON per-call retry policy by error class, e.g.\n"
    "                          '{\"network\":{\"max_retries\":10}}' (see "
    "docs/recovery.md)\n"
    "      --json              print {\"id\":..., \"duplicate\":...}\n"
    "\n"
    "Task names: crawler.fetch_products, or the seed's "
    "src.queue.tasks.crawler.fetch_products.\n"
    "Example: syncq task create crawler.fetch_products -k "
    "'{\"category_id\":\"123\",\"page_size\":50}'\n";

static int
parse_secs(struct cli *cli, const char *what, const char *arg, int64_t *ms)
{
    syncq_error err;

    if (sq_duration_parse_ms(arg, ms, &err) != SYNCQ_OK) {
        return cli_usage(cli, "%s: %s", what, err.msg);
    }
    return 0;
}

/* A time limit given on purpose: 0 has no meaning (omit the flag to use
 * the worker's limit). */
static int
parse_limit(struct cli *cli, const char *what, const char *arg, int64_t *ms)
{
    if (parse_secs(cli, what, arg, ms)) {
        return CLI_USAGE;
    }
    if (*ms <= 0) {
        return cli_usage(cli, "%s must be above 0 (leave it out for the "
                         "worker's limit)", what);
    }
    return 0;
}

int cli_task_create(struct cli *cli);

int
cli_task_create(struct cli *cli)
{
    static const struct option opts[] = {
        {"kwargs", required_argument, NULL, 'k'},
        {"args", required_argument, NULL, 'a'},
        {"queue", required_argument, NULL, 'q'},
        {"priority", required_argument, NULL, 'p'},
        {"countdown", required_argument, NULL, 1},
        {"eta", required_argument, NULL, 2},
        {"expires", required_argument, NULL, 3},
        {"max-retries", required_argument, NULL, 4},
        {"unique", required_argument, NULL, 5},
        {"unique-ttl", required_argument, NULL, 6},
        {"time-limit", required_argument, NULL, 7},
        {"soft-time-limit", required_argument, NULL, 8},
        {"id", required_argument, NULL, 9},
        {"retry-policy", required_argument, NULL, 10},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    syncq_task_options o;
    const char *kw_arg = NULL, *args_arg = NULL, *policy_arg = NULL;
    char *kw = NULL, *args = NULL, *policy = NULL;
    char id[SYNCQ_ID_SIZE];
    syncq_client *c;
    syncq_error err;
    int opt, dup = 0, rc;
    bool have_countdown = false, have_eta = false;

    syncq_task_options_init(&o);
    while ((opt = getopt_long(cli->argc, cli->argv, ":k:a:q:p:h", opts,
                              NULL)) != -1) {
        int64_t rel, abs_ms;
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'h':
            return cli_help(cli, create_usage);
        case 'k':
            kw_arg = optarg;
            break;
        case 'a':
            args_arg = optarg;
            break;
        case 'q':
            if (syncq_queue_name_check(optarg, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            o.queue = optarg;
            break;
        case 'p':
            if (syncq_priority_parse(optarg, &o.priority, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            break;
        case 1:
            if (parse_secs(cli, "countdown", optarg, &o.countdown_ms)) {
                return CLI_USAGE;
            }
            have_countdown = true;
            break;
        case 2:
            if (sq_time_parse_iso8601(optarg, &o.eta_ms, &err) != SYNCQ_OK) {
                return cli_usage(cli, "eta: %s", err.msg);
            }
            have_eta = true;
            break;
        case 3:
            if (cli_time_arg(cli, "expires", optarg, &rel, &abs_ms)) {
                return CLI_USAGE;
            }
            o.expires_ms = rel >= 0 ? sq_now_ms() + rel : abs_ms;
            if (o.expires_ms <= sq_now_ms()) {
                return cli_usage(cli, "expires: '%s' is not in the future; "
                                 "the task could never run", optarg);
            }
            break;
        case 4: {
            char *end;
            long v;
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || errno != 0 || v < 0 || v > 1000) {
                return cli_usage(cli, "max-retries '%s' is not 0..1000",
                                 optarg);
            }
            o.max_retries = (int)v;
            break;
        }
        case 5:
            o.unique_key = optarg;
            break;
        case 6:
            if (parse_secs(cli, "unique-ttl", optarg, &o.unique_ttl_ms)) {
                return CLI_USAGE;
            }
            break;
        case 7:
            if (parse_limit(cli, "time-limit", optarg, &o.time_limit_ms)) {
                return CLI_USAGE;
            }
            break;
        case 8:
            if (parse_limit(cli, "soft-time-limit", optarg,
                            &o.soft_time_limit_ms)) {
                return CLI_USAGE;
            }
            break;
        case 9:
            o.task_id = optarg;
            break;
        case 10:
            policy_arg = optarg;
            break;
        default:
            return cli_bad_opt(cli, opt);
        }
    }
    if (optind >= cli->argc) {
        return cli_usage(cli, "missing task NAME");
    }
    if (optind + 1 < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'",
                         cli->argv[optind + 1]);
    }
    if (have_countdown && have_eta) {
        return cli_usage(cli, "give --countdown or --eta, not both");
    }
    {
        char norm[256];
        if (syncq_task_name_normalize(cli->argv[optind], norm, sizeof norm,
                                      &err) != SYNCQ_OK) {
            return cli_usage(cli, "%s", err.msg);
        }
    }
    if (kw_arg != NULL && (kw = cli_json_arg(cli, "kwargs", kw_arg)) == NULL) {
        return CLI_FAIL;
    }
    if (args_arg != NULL &&
        (args = cli_json_arg(cli, "args", args_arg)) == NULL) {
        free(kw);
        return CLI_FAIL;
    }
    if (policy_arg != NULL) {
        policy = cli_json_arg(cli, "retry-policy", policy_arg);
        if (policy == NULL) {
            free(kw);
            free(args);
            return CLI_FAIL;
        }
        if (syncq_retry_policy_check(policy, strlen(policy), &err) !=
            SYNCQ_OK) {
            free(kw);
            free(args);
            free(policy);
            return cli_usage(cli, "retry-policy: %s", err.msg);
        }
        o.retry_policy_json = policy;
    }
    c = cli_client(cli);
    if (c == NULL) {
        free(kw);
        free(args);
        free(policy);
        return CLI_FAIL;
    }
    rc = syncq_task_create(c, cli->argv[optind], args, kw, &o, id, &dup,
                           &err);
    free(kw);
    free(args);
    free(policy);
    syncq_client_close(c);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    cli_warn_unknown_task(cli, cli->argv[optind]);
    if (cli->json) {
        printf("{\"id\":\"%s\",\"duplicate\":%s}\n", id,
               dup ? "true" : "false");
    } else {
        puts(id);
    }
    return CLI_OK;
}

/* Print a JSON value compactly with invalid bytes replaced. */
static void
print_value(const char *label, json_t *v)
{
    char *s;

    if (v == NULL) {
        return;
    }
    if (json_is_string(v)) {
        printf("%-13s %s\n", label, json_string_value(v));
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s != NULL) {
        size_t n = strlen(s);
        if (n > 2000) {
            printf("%-13s %.2000s... (%zu bytes)\n", label, s, n);
        } else {
            printf("%-13s %s\n", label, s);
        }
        syncq_free(s);
    }
}

static void
print_task(json_t *t)
{
    static const struct {
        const char *key;
        const char *label;
    } rows[] = {
        {"id", "id"},           {"name", "name"},
        {"state", "state"},     {"queue", "queue"},
        {"priority", "priority"}, {"args", "args"},
        {"kwargs", "kwargs"},   {"created_at", "created"},
        {"eta", "eta"},         {"expires", "expires"},
        {"started_at", "started"}, {"done_at", "done"},
        {"runtime_ms", "runtime_ms"}, {"attempt", "attempt"},
        {"retries", "retries"}, {"max_retries", "max_retries"},
        {"lost", "lost"},       {"worker", "worker"},
        {"progress", "progress"}, {"result", "result"},
        {"error", "error"},     {"errors", "errors"},
        {"batch_id", "batch"},  {"parent_id", "parent"},
        {"root_id", "root"},    {"unique_key", "unique"},
        {"dead_reason", "dead_reason"}, {"dead_at", "dead_at"},
        {"revoke_requested", "revoke"}, {"revoked_by", "revoked_by"},
        {"checkpoint_seq", "checkpoint"}, {"checkpoint_at", "checkpoint_at"},
        {"resume_strategy", "resumed"}, {"resume_seq", "resume_seq"},
        {"resumed_by", "resumed_by"}, {"resumed_at", "resumed_at"},
        {"skipped_by", "skipped_by"}, {"skipped_at", "skipped_at"},
        {"result_expires_at", "expires_at"},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (strcmp(rows[i].key, "progress") == 0) {
            cli_task_progress_print(json_object_get(t, "progress"));
            continue;
        }
        print_value(rows[i].label, json_object_get(t, rows[i].key));
    }
    if (json_object_get(t, "state") != NULL &&
        strcmp(json_string_value(json_object_get(t, "state")), "RETRY") ==
            0) {
        print_value("next_retry_at", json_object_get(t, "eta"));
    }
}

static const char info_usage[] =
    "usage: syncq task info ID [--json]\n\nShow one task: state, arguments, "
    "result or error, attempts, progress.\n";

int cli_task_info(struct cli *cli);

int
cli_task_info(struct cli *cli)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    syncq_client *c;
    syncq_error err;
    json_t *t = NULL;
    int opt, rc;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) !=
           -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, info_usage);
        }
        return cli_bad_opt(cli, opt);
    }
    if (optind + 1 != cli->argc) {
        return cli_usage(cli, optind >= cli->argc ? "missing task ID"
                                                  : "give exactly one ID");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_task_info(c, cli->argv[optind], &t, &err);
    syncq_client_close(c);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    if (cli->json) {
        cli_print_json(t);
    } else {
        print_task(t);
    }
    json_decref(t);
    return CLI_OK;
}

static const char list_usage[] =
    "usage: syncq task list [--state S] [--queue Q] [--name N] [--limit N] "
    "[--offset N] [--json]\n\n"
    "List tasks. States: PENDING RECEIVED STARTED PROGRESS RETRY SUCCESS "
    "FAILURE\nREVOKED EXPIRED SKIPPED DEAD. Finished tasks come from the "
    "last 100,000 finished.\n--limit: at most N tasks (default 100, "
    "1..1000000); --offset: skip the first N.\n";

int cli_task_list(struct cli *cli);

int
cli_task_list(struct cli *cli)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'},
        {"queue", required_argument, NULL, 'q'},
        {"name", required_argument, NULL, 'n'},
        {"limit", required_argument, NULL, 'l'},
        {"offset", required_argument, NULL, 'o'},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    syncq_task_filter f = {0};
    char norm[256];
    char state[32];
    syncq_client *c;
    syncq_error err;
    json_t *list = NULL;
    int opt, rc;

    while ((opt = getopt_long(cli->argc, cli->argv, ":s:q:n:l:o:h", opts,
                              NULL)) != -1) {
        char *end;
        long v;
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'h':
            return cli_help(cli, list_usage);
        case 's':
            snprintf(state, sizeof state, "%s", optarg);
            for (char *p = state; *p; p++) {
                if (*p >= 'a' && *p <= 'z') {
                    *p = (char)(*p - 32);
                }
            }
            f.state = state;
            break;
        case 'q':
            f.queue = optarg;
            break;
        case 'n':
            if (syncq_task_name_normalize(optarg, norm, sizeof norm, &err)) {
                return cli_usage(cli, "%s", err.msg);
            }
            f.name = norm;
            break;
        case 'l':
        case 'o':
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || errno != 0 || v < (opt == 'l') ||
                v > 1000000) {
                return cli_usage(cli, "--%s '%s' is not %d..1000000",
                                 opt == 'l' ? "limit" : "offset", optarg,
                                 opt == 'l');
            }
            if (opt == 'l') {
                f.limit = (size_t)v;
            } else {
                f.offset = (size_t)v;
            }
            break;
        default:
            return cli_bad_opt(cli, opt);
        }
    }
    if (optind < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'", cli->argv[optind]);
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_task_list(c, &f, &list, &err);
    syncq_client_close(c);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    if (cli->json) {
        cli_print_json(list);
    } else {
        size_t i;
        json_t *t;
        printf("%-36s  %-9s %-16s %3s  %-28s %s\n", "ID", "STATE", "QUEUE",
               "PRI", "NAME", "WHEN");
        json_array_foreach(list, i, t) {
            const char *when = json_string_value(json_object_get(t, "done_at"));
            if (when == NULL) {
                when = json_string_value(json_object_get(t, "started_at"));
            }
            if (when == NULL) {
                when = json_string_value(json_object_get(t, "eta"));
            }
            if (when == NULL) {
                when = json_string_value(json_object_get(t, "created_at"));
            }
            printf("%-36s  %-9s %-16s %3lld  %-28s %s\n",
                   json_string_value(json_object_get(t, "id")),
                   json_string_value(json_object_get(t, "state")),
                   json_string_value(json_object_get(t, "queue")),
                   json_integer_value(json_object_get(t, "priority")),
                   json_string_value(json_object_get(t, "name")),
                   when ? when : "");
        }
        printf("(%zu task%s%s)\n", json_array_size(list),
               json_array_size(list) == 1 ? "" : "s",
               json_array_size(list) == (f.limit ? f.limit : 100)
                   ? "; there may be more: --limit N, --offset N"
                   : "");
    }
    json_decref(list);
    return CLI_OK;
}

static const char cancel_usage[] =
    "usage: syncq task cancel ID... [--json]\n\n"
    "Cancel (revoke) tasks at any stage. Queued or delayed tasks are removed "
    "at once\nand never start (REVOKED). Running tasks are told to stop; "
    "their worker kills\nthem after the grace period (SYNCQ_CANCEL_GRACE) "
    "and records REVOKED.\nExit status 1 if any id is unknown.\n";

int cli_task_cancel(struct cli *cli);

int
cli_task_cancel(struct cli *cli)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    syncq_client *c;
    json_t *res;
    int opt, status = CLI_OK;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) !=
           -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, cancel_usage);
        }
        return cli_bad_opt(cli, opt);
    }
    if (optind >= cli->argc) {
        return cli_usage(cli, "missing task ID");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    res = json_array();
    for (int i = optind; i < cli->argc; i++) {
        syncq_error err;
        int outcome = -1;
        char state[16];
        const char *what;
        int rc = syncq_task_revoke(c, cli->argv[i], "cli", &outcome, state,
                                   &err);
        if (rc != SYNCQ_OK) {
            cli_fail(cli, "%s", err.msg);
            status = CLI_FAIL;
            json_array_append_new(res, json_pack("{s:s,s:s,s:s}", "id",
                                                 cli->argv[i], "outcome",
                                                 "error", "error", err.msg));
            continue;
        }
        what = outcome == SYNCQ_REVOKE_DONE        ? "revoked"
               : outcome == SYNCQ_REVOKE_REQUESTED ? "stop requested"
                                                   : "already finished";
        if (cli->json) {
            json_array_append_new(
                res, json_pack("{s:s,s:s,s:s}", "id", cli->argv[i], "outcome",
                               outcome == SYNCQ_REVOKE_DONE ? "revoked"
                               : outcome == SYNCQ_REVOKE_REQUESTED
                                   ? "requested"
                                   : "final",
                               "state", state));
        } else if (outcome == SYNCQ_REVOKE_FINAL) {
            printf("%s: %s (%s)\n", cli->argv[i], what, state);
        } else {
            printf("%s: %s\n", cli->argv[i], what);
        }
    }
    if (cli->json) {
        cli_print_json(res);
    }
    json_decref(res);
    syncq_client_close(c);
    return status;
}

static const char wait_usage[] =
    "usage: syncq task wait ID [--timeout S] [--json]\n\n"
    "Wait for a task to finish and print it. Exit status 0 if it ended "
    "SUCCESS\n(or SKIPPED), 1 otherwise or on timeout. Without --timeout "
    "it waits as long\nas it takes (a task nobody serves waits forever); a "
    "Redis outage does not end\nthe wait. Without --json the task's progress "
    "is shown on stderr while it\nwaits: a bar with current/total, rate and "
    "ETA redrawn on a terminal, a line\nevery 5 s otherwise.\n";

int cli_task_wait(struct cli *cli);

int
cli_task_wait(struct cli *cli)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 't'}, CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    int64_t timeout_ms = -1;
    syncq_client *c;
    syncq_error err;
    json_t *t = NULL;
    int opt, rc;
    const char *state;

    while ((opt = getopt_long(cli->argc, cli->argv, ":t:h", opts, NULL)) !=
           -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, wait_usage);
        }
        if (opt == 't') {
            if (parse_secs(cli, "timeout", optarg, &timeout_ms)) {
                return CLI_USAGE;
            }
            continue;
        }
        return cli_bad_opt(cli, opt);
    }
    if (optind + 1 != cli->argc) {
        return cli_usage(cli, "give exactly one task ID");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = cli->json ? syncq_task_wait(c, cli->argv[optind], timeout_ms, &t,
                                     &err)
                   : cli_task_wait_progress(c, cli->argv[optind], timeout_ms,
                                            &t, &err);
    syncq_client_close(c);
    if (rc != SYNCQ_OK && rc != SYNCQ_ETIMEDOUT) {
        return cli_error(cli, &err, true);
    }
    if (cli->json) {
        cli_print_json(t);
    } else {
        print_task(t);
    }
    state = json_string_value(json_object_get(t, "state"));
    if (rc == SYNCQ_ETIMEDOUT) {
        if (!cli->json) {
            cli_fail(cli, "timed out: task %s is still %s",
                     cli->argv[optind], state ? state : "?");
        }
        json_decref(t);
        return CLI_FAIL;
    }
    rc = (rc == SYNCQ_OK && state != NULL &&
          (strcmp(state, "SUCCESS") == 0 || strcmp(state, "SKIPPED") == 0))
             ? CLI_OK
             : CLI_FAIL;
    if (rc != CLI_OK && !cli->json) {
        cli_fail(cli, "task %s ended %s", cli->argv[optind],
                 state ? state : "?");
    }
    json_decref(t);
    return rc;
}
