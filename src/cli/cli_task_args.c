/* SPDX-License-Identifier: MIT
 *
 * cli_task_args.c: a task's declared arguments on the command line:
 * `syncq task describe NAME` (the table, or --json), and how every
 * command that creates work reports arguments refused at the door (one
 * line per bad field). The declarations and the checker are the
 * library's (syncq/task.h).
 */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/batch.h>
#include <syncq/task.h>

int
cli_problems(struct cli *cli, json_t *problems, const syncq_error *err)
{
    size_t i;
    json_t *p;

    if (json_array_size(problems) == 0) {
        return cli_error(cli, err, true);
    }
    json_array_foreach(problems, i, p)
    {
        fprintf(stderr, "syncq: %s: %s: %s\n", cli->cmd,
                json_string_value(json_object_get(p, "field")),
                json_string_value(json_object_get(p, "error")));
    }
    fprintf(stderr, "Nothing was written. The task's arguments: 'syncq task "
            "describe NAME'.\n");
    return CLI_USAGE;
}

int
cli_check_task_args(struct cli *cli, syncq_client *c, const char *name,
                    const char *args, const char *kwargs)
{
    json_t *problems = NULL;
    syncq_error err;
    int rc = syncq_task_args_check(c, name, args, kwargs, &problems, &err);

    if (rc == SYNCQ_OK) {
        return CLI_OK;
    }
    rc = cli_problems(cli, problems, &err);
    json_decref(problems);
    return rc;
}

/* The range column: "1..50", ">= 1", "<= 200", "len 1..512", "0..1000
 * items", or the choices. */
static void
range_text(json_t *a, char *buf, size_t cap)
{
    const char *type = json_string_value(json_object_get(a, "type"));
    json_t *mn = json_object_get(a, "min"), *mx = json_object_get(a, "max");
    const char *pre = "", *post = "";
    const char *choices = json_string_value(json_object_get(a, "choices"));

    if (choices != NULL) {
        snprintf(buf, cap, "%s", choices);
        return;
    }
    if (strcmp(type, "string") == 0 || strcmp(type, "url") == 0) {
        pre = "len ";
    } else if (strcmp(type, "array") == 0) {
        post = " items";
    }
    if (mn != NULL && mx != NULL) {
        snprintf(buf, cap, "%s%" PRId64 "..%" PRId64 "%s", pre,
                 (int64_t)json_integer_value(mn),
                 (int64_t)json_integer_value(mx), post);
    } else if (mn != NULL) {
        snprintf(buf, cap, "%s>= %" PRId64 "%s", pre,
                 (int64_t)json_integer_value(mn), post);
    } else if (mx != NULL) {
        snprintf(buf, cap, "%s<= %" PRId64 "%s", pre,
                 (int64_t)json_integer_value(mx), post);
    } else {
        snprintf(buf, cap, "-");
    }
}

/* "Positional order: a, b (the others by name only)." */
static void
positional_line(json_t *list)
{
    size_t i, n = 0;
    json_t *a;

    json_array_foreach(list, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "type")),
                   "**kwargs") == 0) {
            printf("\nAny argument, by name or positional, is accepted.\n");
            return;
        }
    }
    json_array_foreach(list, i, a)
    {
        if (json_is_true(json_object_get(a, "keyword"))) {
            continue;
        }
        printf("%s%s", n++ ? ", " : "\nPositional order: ",
               json_string_value(json_object_get(a, "name")));
    }
    printf(n > 0 ? " (the others by name only).\n"
                 : "\nBy name only (no positional arguments).\n");
}

static void
print_args(json_t *list)
{
    size_t i;
    json_t *a;

    printf("%-20s %-9s %-8s %-22s %-14s %s\n", "ARGUMENT", "TYPE", "REQUIRED",
           "RANGE", "DEFAULT", "DESCRIPTION");
    json_array_foreach(list, i, a)
    {
        char range[96], type[32];
        json_t *d = json_object_get(a, "default");
        char *def = d != NULL ? json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY)
                              : NULL;
        const char *doc = json_string_value(json_object_get(a, "doc"));
        const char *it = json_string_value(json_object_get(a, "item_type"));
        range_text(a, range, sizeof range);
        snprintf(type, sizeof type, "%s%s%s",
                 json_string_value(json_object_get(a, "type")),
                 it != NULL ? " of " : "", it != NULL ? it : "");
        printf("%-20s %-9s %-8s %-22s %-14s %s%s\n",
               json_string_value(json_object_get(a, "name")), type,
               json_is_true(json_object_get(a, "required")) ? "yes" : "no",
               range, def != NULL ? def : "-", doc != NULL ? doc : "",
               json_is_true(json_object_get(a, "items")) ? " [batch items]"
                                                         : "");
        free(def);
    }
    positional_line(list);
}

static int
cli_task_describe(struct cli *cli)
{
    syncq_client *c;
    json_t *d = NULL;
    syncq_error err;
    int rc;

    if (cli->optind + 1 != cli->argc) {
        return cli_usage(cli, cli->optind >= cli->argc
                                  ? "missing task NAME"
                                  : "give one task NAME");
    }
    /* a task registered here needs no broker; any other name is looked
     * up among the declarations workers published */
    rc = syncq_task_describe(NULL, cli->argv[cli->optind], &d, &err);
    if (rc == SYNCQ_ENOTFOUND) {
        c = cli_client(cli);
        if (c == NULL) {
            return CLI_FAIL;
        }
        rc = syncq_task_describe(c, cli->argv[cli->optind], &d, &err);
    }
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, false);
    }
    if (cli->json) {
        cli_print_json(d);
        json_decref(d);
        return CLI_OK;
    }
    printf("%s  (queue %s; %s)\n", json_string_value(json_object_get(d, "task")),
           json_string_value(json_object_get(d, "queue")) != NULL
               ? json_string_value(json_object_get(d, "queue"))
               : "by name",
           strcmp(json_string_value(json_object_get(d, "source")), "redis") ==
                   0
               ? "as published by a worker"
               : "registered here");
    if (json_string_value(json_object_get(d, "doc")) != NULL) {
        printf("%s\n", json_string_value(json_object_get(d, "doc")));
    }
    putchar('\n');
    if (!json_is_true(json_object_get(d, "declared"))) {
        printf("Arguments not declared: not checked when the task is "
               "created (the task checks them when it runs).\n");
        if (json_string_value(json_object_get(d, "signature")) != NULL) {
            printf("Signature: %s\n",
                   json_string_value(json_object_get(d, "signature")));
        }
    } else if (json_array_size(json_object_get(d, "args")) == 0) {
        printf("No arguments.\n");
    } else {
        print_args(json_object_get(d, "args"));
    }
    json_decref(d);
    return CLI_OK;
}

static const struct cli_opt task_describe_opts[] = {
    {"json", CLI_OPT_JSON, false, NULL,
     "print the declaration as JSON (docs/tasks.md)"},
    CLI_OPT_END,
};

static const char *const task_describe_examples[] = {
    "syncq task describe crawler.fetch_products",
    "syncq task describe image_processing.download_images --json",
    NULL,
};

const struct cli_cmd cli_task_args_cmds[] = {
    {.path = "task describe",
     .run = cli_task_describe,
     .summary = "show a task's declared arguments",
     .synopsis = "NAME [--json]",
     .description = "Show a task's arguments as its registration declares"
                    " them: name, type,\n"
                    "required, range or allowed values, default and a"
                    " description. Tasks\n"
                    "registered in this syncq and tasks a worker published"
                    " at start are\n"
                    "known; an unknown name is an error naming the nearest"
                    " one. Every door\n"
                    "(task create, batch create, schedule add, the C API,"
                    " the HTTP API)\n"
                    "refuses arguments that do not fit, one line per bad"
                    " field.",
     .opts = task_describe_opts,
     .examples = task_describe_examples},
    {.path = NULL},
};
