/* SPDX-License-Identifier: MIT
 *
 * cli_task.c: `syncq task create|info|list|cancel|wait`.
 */
#include "cli/cli.h"
#include "cli/cli_monitor.h"
#include "core/sq_task.h"
#include "core/sq_time.h"
#include "sq_id.h"
#include "sq_utf8.h"

#include <syncq/celery.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A time limit given on purpose: 0 has no meaning (omit the flag to use
 * the worker's limit). */
static int
parse_limit(struct cli *cli, const char *what, const char *arg, int64_t *ms)
{
    if (cli_duration_arg(cli, what, arg, ms)) {
        return CLI_USAGE;
    }
    if (*ms <= 0) {
        return cli_usage(cli, "%s must be above 0 (leave it out for the "
                         "worker's limit)", what);
    }
    return 0;
}

static int
cli_task_create(struct cli *cli)
{
    syncq_task_options o;
    const char *kw_arg = NULL, *args_arg = NULL, *policy_arg = NULL;
    char *kw = NULL, *args = NULL, *policy = NULL;
    char id[SYNCQ_ID_SIZE];
    syncq_client *c;
    syncq_error err;
    int dup = 0, rc;
    bool have_countdown = false, have_eta = false, celery = false;

    syncq_task_options_init(&o);
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        int64_t rel, abs_ms;
        switch (ov->key) {
        case 'k':
            kw_arg = ov->arg;
            break;
        case 'a':
            args_arg = ov->arg;
            break;
        case 'q':
            if (syncq_queue_name_check(ov->arg, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            o.queue = ov->arg;
            break;
        case 'p':
            if (syncq_priority_parse(ov->arg, &o.priority, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            break;
        case 1:
            if (cli_duration_arg(cli, "countdown", ov->arg, &o.countdown_ms)) {
                return CLI_USAGE;
            }
            have_countdown = true;
            break;
        case 2:
            if (sq_time_parse_iso8601(ov->arg, &o.eta_ms, &err) != SYNCQ_OK) {
                return cli_usage(cli, "eta: %s", err.msg);
            }
            have_eta = true;
            break;
        case 3:
            if (cli_time_arg(cli, "expires", ov->arg, &rel, &abs_ms)) {
                return CLI_USAGE;
            }
            if (rel == 0) {
                return cli_usage(cli, "expires: '%s' is not in the future; "
                                 "the task could never run", ov->arg);
            }
            if (rel < 0 &&
                sq_task_expires_check(abs_ms, sq_now_ms(), &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            if (rel > 0) {
                o.expires_in_ms = rel; /* Redis's clock */
            } else {
                o.expires_ms = abs_ms;
            }
            break;
        case 4: {
            char *end;
            long v;
            errno = 0;
            v = strtol(ov->arg, &end, 10);
            if (*end != '\0' || errno != 0 ||
                sq_task_max_retries_check(v, false, NULL) != SYNCQ_OK) {
                return cli_usage(cli, "max-retries '%s' is not 0..1000",
                                 ov->arg);
            }
            o.max_retries = (int)v;
            break;
        }
        case 5:
            o.unique_key = ov->arg;
            break;
        case 6:
            if (cli_duration_arg(cli, "unique-ttl", ov->arg,
                                 &o.unique_ttl_ms)) {
                return CLI_USAGE;
            }
            break;
        case 7:
            if (parse_limit(cli, "time-limit", ov->arg, &o.time_limit_ms)) {
                return CLI_USAGE;
            }
            break;
        case 8:
            if (parse_limit(cli, "soft-time-limit", ov->arg,
                            &o.soft_time_limit_ms)) {
                return CLI_USAGE;
            }
            break;
        case 9:
            o.task_id = ov->arg;
            break;
        case 10:
            policy_arg = ov->arg;
            break;
        case 11:
            celery = true; /* a Python worker's task: name sent as given */
            break;
        }
    }
    if (cli->optind >= cli->argc) {
        return cli_usage(cli, "missing task NAME");
    }
    if (cli->optind + 1 < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'",
                         cli->argv[cli->optind + 1]);
    }
    if (have_countdown && have_eta) {
        return cli_usage(cli, "give --countdown or --eta, not both");
    }
    if (!celery) {
        char norm[256];
        if (syncq_task_name_normalize(cli->argv[cli->optind], norm, sizeof norm,
                                      &err) != SYNCQ_OK) {
            return cli_usage(cli, "%s", err.msg);
        }
    }
    if (kw_arg != NULL && (rc = cli_json_arg(cli, "kwargs", kw_arg, &kw))) {
        return rc;
    }
    if (args_arg != NULL &&
        (rc = cli_json_arg(cli, "args", args_arg, &args)) != CLI_OK) {
        free(kw);
        return rc;
    }
    if (policy_arg != NULL) {
        rc = cli_json_arg(cli, "retry-policy", policy_arg, &policy);
        if (rc != CLI_OK) {
            free(kw);
            free(args);
            return rc;
        }
        if (sq_task_policy_check(policy, strlen(policy), &err) !=
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
    /* a Celery message is checked by syncq_celery_send, which decides
     * whether a declaration applies to a Python task name */
    rc = celery ? CLI_OK
                : cli_check_task_args(cli, c, cli->argv[cli->optind], args,
                                      kw);
    if (rc != CLI_OK) {
        free(kw);
        free(args);
        free(policy);
        return rc;
    }
    rc = celery ? syncq_celery_send(c, cli->argv[cli->optind], args, kw, &o,
                                    id, &err)
                : syncq_task_create(c, cli->argv[cli->optind], args, kw, &o,
                                    id, &dup, &err);
    free(kw);
    free(args);
    free(policy);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    if (!celery) {
        cli_warn_unknown_task(cli, cli->argv[cli->optind]);
    }
    if (cli->json) {
        printf("{\"id\":\"%s\",\"duplicate\":%s}\n", id,
               dup ? "true" : "false");
    } else {
        puts(id);
        if (dup) {
            /* stdout keeps the id for scripts; a person is told */
            fprintf(stderr, "syncq: task create: not created: task %s %s\n",
                    id, o.unique_key != NULL ? "holds that unique key"
                                             : "exists already");
        }
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

static int
cli_task_info(struct cli *cli)
{
    json_t *t = NULL;
    syncq_client *c;
    syncq_error err;
    const char *id;
    int rc;

    if (cli->optind + 1 != cli->argc) {
        return cli_usage(cli, cli->optind >= cli->argc ? "missing task ID"
                                                       : "give exactly one ID");
    }
    id = cli->argv[cli->optind];
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_celery_info(c, id, &t, &err);
    if (rc == SYNCQ_ENOTFOUND && !sq_uuid_valid(id)) {
        /* a typo more often than a Celery id nobody wrote a result for */
        return cli_usage(cli, "'%.64s' is not a task id (a UUID such as "
                         "0f8fad5b-d9cb-469f-a165-70867728950e), and no "
                         "Celery result has that id", id);
    }
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    {
        json_t *one = json_pack("[O]", t);
        cli_task_mark_recovering(cli->client, one);
        json_decref(one);
    }
    if (cli->json) {
        cli_print_json(t);
    } else {
        print_task(t);
    }
    json_decref(t);
    return CLI_OK;
}

static int
cli_task_list(struct cli *cli)
{
    syncq_task_filter f = {0};
    char norm[256];
    char state[32];
    syncq_client *c;
    syncq_error err;
    json_t *list = NULL;
    int rc;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        char *end;
        long v;
        switch (ov->key) {
        case 's':
            snprintf(state, sizeof state, "%s", ov->arg);
            for (char *p = state; *p; p++) {
                if (*p >= 'a' && *p <= 'z') {
                    *p = (char)(*p - 32);
                }
            }
            f.state = state;
            break;
        case 'q':
            f.queue = ov->arg;
            break;
        case 'n':
            if (syncq_task_name_normalize(ov->arg, norm, sizeof norm, &err)) {
                return cli_usage(cli, "%s", err.msg);
            }
            f.name = norm;
            break;
        case 'l':
        case 'o':
            errno = 0;
            v = strtol(ov->arg, &end, 10);
            if (*end != '\0' || errno != 0 || v < (ov->key == 'l') ||
                v > 1000000) {
                return cli_usage(cli, "--%s '%s' is not %d..1000000",
                                 ov->key == 'l' ? "limit" : "offset", ov->arg,
                                 ov->key == 'l');
            }
            if (ov->key == 'l') {
                f.limit = (size_t)v;
            } else {
                f.offset = (size_t)v;
            }
            break;
        }
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_task_list(c, &f, &list, &err);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    cli_task_mark_recovering(c, list);
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

static int
cli_task_cancel(struct cli *cli)
{
    syncq_client *c;
    json_t *res;
    int status = CLI_OK;

    if (cli->optind >= cli->argc) {
        return cli_usage(cli, "missing task ID");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    res = json_array();
    for (int i = cli->optind; i < cli->argc; i++) {
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
    return status;
}

static int
cli_task_wait(struct cli *cli)
{
    int64_t timeout_ms = -1;
    syncq_client *c;
    syncq_error err;
    json_t *t = NULL;
    int rc;
    const char *state;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == 't') {
            if (cli_duration_arg(cli, "timeout", ov->arg, &timeout_ms)) {
                return CLI_USAGE;
            }
            continue;
        }
    }
    if (cli->optind + 1 != cli->argc) {
        return cli_usage(cli, "give exactly one task ID");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = cli->json ? syncq_task_wait(c, cli->argv[cli->optind], timeout_ms,
                                     &t, &err)
                   : cli_task_wait_progress(c, cli->argv[cli->optind],
                                            timeout_ms, &t, &err);
    if (rc == SYNCQ_ENOTFOUND || rc == SYNCQ_EINVAL) {
        /* a task a Python worker runs: its Celery result (syncq/celery.h).
         * Celery keeps no record of a task before its result, so an id
         * nobody knows waits; a typo should not wait silently: not a
         * UUID and no result yet is refused as `task info` refuses it,
         * and a UUID is said to be waited for as a Celery result. */
        const char *id = cli->argv[cli->optind];
        int known = sq_uuid_valid(id) ? SYNCQ_OK
                                      : syncq_celery_info(c, id, &t, &err);
        if (known == SYNCQ_ENOTFOUND || known == SYNCQ_EINVAL) {
            return cli_usage(cli, "'%.64s' is not a task id (a UUID such "
                             "as 0f8fad5b-d9cb-469f-a165-70867728950e), and "
                             "no Celery result has that id", id);
        }
        if (known != SYNCQ_OK) {
            return cli_error(cli, &err, false);
        }
        json_decref(t);
        t = NULL;
        if (!cli->json && timeout_ms != 0) {
            fprintf(stderr, "syncq: task wait: no syncq task %.64s: waiting "
                    "for a Celery result of that id\n", id);
        }
        rc = syncq_celery_wait(c, id, timeout_ms, &t, &err);
    }
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
                     cli->argv[cli->optind], state ? state : "?");
        }
        json_decref(t);
        return CLI_FAIL;
    }
    rc = (rc == SYNCQ_OK && state != NULL &&
          (strcmp(state, "SUCCESS") == 0 || strcmp(state, "SKIPPED") == 0))
             ? CLI_OK
             : CLI_FAIL;
    if (rc != CLI_OK && !cli->json) {
        cli_fail(cli, "task %s ended %s", cli->argv[cli->optind],
                 state ? state : "?");
    }
    json_decref(t);
    return rc;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt task_create_opts[] = {
    {"kwargs", 'k', true, "JSON",
     "keyword arguments, a JSON object (@file or - for stdin)"},
    {"args", 'a', true, "JSON", "positional arguments, a JSON array"},
    {"queue", 'q', true, "Q", "queue (default: the task's route)"},
    {"priority", 'p', true, "P",
     "LOW NORMAL HIGH URGENT or 0..10 (10 runs first)"},
    {"countdown", 1, false, "S",
     "run no earlier than S seconds from now (30, 5m, 2h;\n"
     "at most 365d)"},
    {"eta", 2, false, "TIME",
     "run no earlier than TIME (2026-12-01T02:00:00+08:00;\n"
     "at most 365 days ahead)"},
    {"expires", 3, false, "S|TIME",
     "never run after this; the task ends EXPIRED"},
    {"max-retries", 4, false, "N", "retries allowed by the retry policy"},
    {"unique", 5, false, "KEY",
     "deduplicate: while KEY is held, print the first\n"
     "id (and say so on stderr)"},
    {"unique-ttl", 6, false, "S",
     "how long KEY is held (default SYNCQ_UNIQUE_WINDOW)"},
    {"time-limit", 7, false, "S", "hard time limit"},
    {"soft-time-limit", 8, false, "S", "soft time limit"},
    {"id", 9, false, "UUID",
     "use this task id (an existing id is answered as a\n"
     "duplicate, like --unique; never replaced)"},
    {"retry-policy", 10, false, "JSON",
     "per-call retry policy by error class, e.g.\n"
     "'{\"network\":{\"max_retries\":10}}' (see docs/recovery.md)"},
    {"celery", 11, false, NULL,
     "publish a Celery protocol 2 message instead, for a\n"
     "Python celery worker (docs/celery.md)"},
    {"json", CLI_OPT_JSON, false, NULL,
     "print {\"id\":..., \"duplicate\":...}"},
    CLI_OPT_END,
};

static const char *const task_create_examples[] = {
    "syncq task create crawler.fetch_products -k"
    " '{\"category_id\":\"123\",\"page_size\":50}'",
    "syncq task create --celery src.queue.tasks.crawler.fetch_products"
    " -q celery -k '{\"category_id\":\"123\"}'",
    NULL,
};

static const struct cli_opt task_list_opts[] = {
    {"state", 's', true, "S", "only tasks in state S"},
    {"queue", 'q', true, "Q", "only tasks of queue Q"},
    {"name", 'n', true, "N", "only tasks named N"},
    {"limit", 'l', true, "N", "at most N tasks (default 100, 1..1000000)"},
    {"offset", 'o', true, "N", "skip the first N"},
    CLI_OPT_END,
};

static const struct cli_opt task_wait_opts[] = {
    {"timeout", 't', true, "S", "give up after S (exit 1)"},
    CLI_OPT_END,
};

const struct cli_cmd cli_task_cmds[] = {
    {.path = "task create",
     .run = cli_task_create,
     .summary = "create a task, print its id",
     .synopsis = "NAME [-k JSON] [-a JSON] [options]",
     .description = "Create a task and print its id.",
     .opts = task_create_opts,
     .notes = "Task names: crawler.fetch_products, or the seed's"
              " src.queue.tasks.crawler.fetch_products.",
     .examples = task_create_examples},
    {.path = "task info",
     .run = cli_task_info,
     .summary = "show one task",
     .synopsis = "ID [--json]",
     .description = "Show one task: state, arguments, result or error,"
                    " attempts, progress."},
    {.path = "task list",
     .run = cli_task_list,
     .summary = "list tasks by state, queue or name",
     .synopsis = "[--state S] [--queue Q] [--name N] [--limit N] [--offset"
                 " N] [--json]",
     .description = "List tasks. States: PENDING RECEIVED STARTED PROGRESS"
                    " RETRY SUCCESS FAILURE\n"
                    "REVOKED EXPIRED SKIPPED DEAD. Finished tasks come from"
                    " the last 100,000 finished.\n"
                    "--limit: at most N tasks (default 100, 1..1000000);"
                    " --offset: skip the first N.",
     .opts = task_list_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = "task cancel",
     .run = cli_task_cancel,
     .summary = "cancel (revoke) tasks at any stage",
     .synopsis = "ID... [--json]",
     .description = "Cancel (revoke) tasks at any stage. Queued or delayed"
                    " tasks are removed at once\n"
                    "and never start (REVOKED). Running tasks are told to"
                    " stop; their worker kills\n"
                    "them after the grace period (SYNCQ_CANCEL_GRACE) and"
                    " records REVOKED.\n"
                    "Exit status 1 if any id is unknown."},
    {.path = "task wait",
     .run = cli_task_wait,
     .summary = "wait for a task to finish",
     .synopsis = "ID [--timeout S] [--json]",
     .description = "Wait for a task to finish and print it. Exit status 0"
                    " if it ended SUCCESS\n"
                    "(or SKIPPED), 1 otherwise or on timeout. Without"
                    " --timeout it waits as long\n"
                    "as it takes (a task nobody serves waits forever); a"
                    " Redis outage does not end\n"
                    "the wait. Without --json the task's progress is shown"
                    " on stderr while it\n"
                    "waits: a bar with current/total, rate and ETA redrawn"
                    " on a terminal, a line\n"
                    "every 5 s otherwise.",
     .opts = task_wait_opts},
    {.path = NULL},
};
