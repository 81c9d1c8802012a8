/* SPDX-License-Identifier: MIT
 *
 * cli_worker.c: `syncq worker`: parse the flags into the configuration
 * (so every value is checked by the settings table and `config show`
 * explains where it came from), install the log writer, load plugins and
 * run the supervisor (src/worker/worker.h).
 */
#include "cli/cli.h"
#include "cli/cli_multi.h"
#include "worker/worker.h"

#include <stdio.h>
#include <string.h>

/* Flags that map to a setting: option value -> config key. */
static const struct {
    int opt;
    const char *flag;
    const char *key;
} flag_keys[] = {
    {'Q', "--queues", "SYNCQ_WORKER_QUEUES"},
    {'c', "--concurrency", "SYNCQ_WORKER_CONCURRENCY"},
    {1, "--prefetch", "SYNCQ_WORKER_PREFETCH"},
    {2, "--max-tasks-per-child", "SYNCQ_WORKER_MAX_TASKS_PER_CHILD"},
    {3, "--max-memory-per-child", "SYNCQ_WORKER_MAX_MEMORY_PER_CHILD"},
    {4, "--time-limit", "SYNCQ_TASK_TIME_LIMIT"},
    {5, "--soft-time-limit", "SYNCQ_TASK_SOFT_TIME_LIMIT"},
    {'n', "--hostname", "SYNCQ_WORKER_HOSTNAME"},
    {7, "--status-file", "SYNCQ_WORKER_STATUS_FILE"},
    {9, "--celery", "SYNCQ_CELERY"},
    {'E', "--task-events", "SYNCQ_CELERY_EVENTS"},
};

static int
cli_worker(struct cli *cli)
{
    const char *plugins[64];
    size_t nplugins = 0;
    const char *logfile = NULL, *level = NULL, *format = NULL;
    struct {
        const char *key, *flag, *value;
    } sets[32];
    size_t nsets = 0;
    struct sq_worker_opts wo;
    syncq_config *cfg;
    syncq_registry *reg;
    syncq_error err;
    int rc;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        bool mapped = false;
        for (size_t i = 0; i < sizeof flag_keys / sizeof flag_keys[0]; i++) {
            if (flag_keys[i].opt == ov->key) {
                if (nsets == sizeof sets / sizeof sets[0]) {
                    return cli_usage(cli, "too many options");
                }
                if (ov->arg != NULL && ov->arg[0] == '\0') {
                    /* an empty setting means its default: a flag given
                     * empty is a mistake, not a wish for the default */
                    return cli_usage(cli, "%s is empty (leave it out for "
                                     "the default)", flag_keys[i].flag);
                }
                sets[nsets].key = flag_keys[i].key;
                sets[nsets].flag = flag_keys[i].flag;
                /* a flag without argument switches its setting on */
                sets[nsets++].value = ov->arg != NULL ? ov->arg : "1";
                mapped = true;
            }
        }
        if (mapped) {
            continue;
        }
        switch (ov->key) {
        case 6:
            if (nplugins == sizeof plugins / sizeof plugins[0]) {
                return cli_usage(cli, "too many --plugin options (max 64)");
            }
            plugins[nplugins++] = ov->arg;
            break;
        case 'f':
            logfile = ov->arg;
            break;
        case 'l':
            level = ov->arg;
            break;
        case 8:
            format = ov->arg;
            break;
        }
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return CLI_FAIL;
    }
    for (size_t i = 0; i < nsets; i++) {
        if (syncq_config_set(cfg, sets[i].key, sets[i].value, sets[i].flag,
                             &err) != SYNCQ_OK) {
            return cli_usage(cli, "%s", err.msg);
        }
    }
    if (cli_multi_worker(cli, &rc)) { /* several namespaces: the parent */
        return rc;
    }
    rc = cli_setup_logging(cli, cli_multi_proc("worker"), level, format,
                           logfile);
    if (rc != CLI_OK) {
        return rc;
    }
    reg = syncq_registry_default();
    if (reg == NULL) {
        return cli_fail(cli, "out of memory");
    }
    if (sq_worker_load_plugins(reg, syncq_config_str(cfg, "SYNCQ_PLUGINS"),
                               plugins, nplugins, &err) != SYNCQ_OK) {
        return cli_fail(cli, "%s", err.msg);
    }
    if (sq_worker_opts_init(&wo, cfg, reg, &err) != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    rc = sq_worker_run(&wo, &err);
    if (rc != 0) {
        return cli_fail(cli, "%s", err.msg);
    }
    return CLI_OK;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt worker_opts[] = {
    {"queues", 'Q', true, "Q1,Q2",
     "queues to serve, in order of preference;\n"
     "NS:Q is queue Q of namespace NS"},
    {"concurrency", 'c', true, "N",
     "child processes (SYNCQ_WORKER_CONCURRENCY)"},
    {"prefetch", 1, false, "N",
     "tasks held per child (1: none waiting behind\n"
     "a running task)"},
    {"max-tasks-per-child", 2, false, "N",
     "recycle a child after N tasks (0: never)"},
    {"max-memory-per-child", 3, false, "KB",
     "recycle a child past this RSS, after its task"},
    {"time-limit", 4, false, "S",
     "hard limit: kill the child, task fails timeout"},
    {"soft-time-limit", 5, false, "S", "soft limit: the task is asked to stop"},
    {"plugin", 6, false, "PATH.so",
     "load a task plugin; repeatable (SYNCQ_PLUGINS)"},
    {"hostname", 'n', true, "NAME",
     "worker name: %h host, %n short host, %d domain,\n"
     "%i first free index (default %h-%i, kept\n"
     "across restarts)"},
    {"status-file", 7, false, "PATH", "liveness JSON rewritten every second"},
    {"celery", 9, false, NULL,
     "also consume Celery messages from kombu's Redis\n"
     "queues and write Celery results (docs/celery.md)"},
    {"task-events", 'E', true, NULL,
     "with --celery: task events on celeryev (Flower)"},
    CLI_MULTI_OPT,
    {"logfile", 'f', true, "F", "log to F (reopened on SIGHUP)"},
    {"loglevel", 'l', true, "L", "debug, info, warning or error"},
    {"log-format", 8, false, "F", "text (logfmt) or json (--json: json)"},
    CLI_OPT_END,
};

static const char *const worker_examples[] = {
    "syncq worker -Q crawler,default -c 4 --time-limit 30m",
    "syncq worker --celery -Q celery,crawler -c 2 -E",
    "syncq worker -Q shop1:crawler,shop2:crawler,default -c 4",
    NULL,
};

const struct cli_cmd cli_worker_cmds[] = {
    {.path = "worker",
     .run = cli_worker,
     .summary = "run a worker (supervisor + prefork children)",
     .synopsis = "[options]",
     .description = "Run a worker: a supervisor and N prefork child"
                    " processes executing tasks.",
     .opts = worker_opts,
     .notes = "Signals: TERM/INT warm shutdown (running tasks finish within"
              " SYNCQ_SHUTDOWN_GRACE,\n"
              "the rest is requeued), a second TERM or QUIT cold shutdown,"
              " HUP reopens the log.\n"
              "Defaults come from .env and the environment (SYNCQ_*, or"
              " CELERY_*).",
     .examples = worker_examples,
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
