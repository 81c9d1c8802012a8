/* SPDX-License-Identifier: MIT
 *
 * cli_worker.c: `syncq worker`: parse the flags into the configuration
 * (so every value is checked by the settings table and `config show`
 * explains where it came from), install the log writer, load plugins and
 * run the supervisor (src/worker/worker.h).
 */
#include "cli/cli.h"
#include "worker/worker.h"

#include <stdio.h>
#include <string.h>

static const char worker_usage[] =
    "usage: syncq worker [options]\n"
    "\n"
    "Run a worker: a supervisor and N prefork child processes executing "
    "tasks.\n"
    "\n"
    "  -Q, --queues Q1,Q2          queues to serve, in order of preference\n"
    "  -c, --concurrency N         child processes "
    "(SYNCQ_WORKER_CONCURRENCY)\n"
    "      --prefetch N            tasks held per child (1: none waiting "
    "behind\n"
    "                              a running task)\n"
    "      --max-tasks-per-child N recycle a child after N tasks (0: never)\n"
    "      --max-memory-per-child KB\n"
    "                              recycle a child past this RSS, after its "
    "task\n"
    "      --time-limit S          hard limit: kill the child, task fails "
    "timeout\n"
    "      --soft-time-limit S     soft limit: the task is asked to stop\n"
    "      --plugin PATH.so        load a task plugin; repeatable "
    "(SYNCQ_PLUGINS)\n"
    "  -n, --hostname NAME         worker id (default <host>:<pid>)\n"
    "      --status-file PATH      liveness JSON rewritten every second\n"
    "  -f, --logfile F             log to F (reopened on SIGHUP)\n"
    "  -l, --loglevel L            debug, info, warning or error\n"
    "      --log-format F          text (logfmt) or json (--json: json)\n"
    "\n"
    "Signals: TERM/INT warm shutdown (running tasks finish within "
    "SYNCQ_SHUTDOWN_GRACE,\n"
    "the rest is requeued), a second TERM or QUIT cold shutdown, HUP "
    "reopens the log.\n"
    "Defaults come from .env and the environment (SYNCQ_*, or CELERY_*).\n"
    "Example: syncq worker -Q crawler,default -c 4 --time-limit 30m\n";

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
};

int cli_worker(struct cli *cli);

int
cli_worker(struct cli *cli)
{
    static const struct option opts[] = {
        {"queues", required_argument, NULL, 'Q'},
        {"concurrency", required_argument, NULL, 'c'},
        {"prefetch", required_argument, NULL, 1},
        {"max-tasks-per-child", required_argument, NULL, 2},
        {"max-memory-per-child", required_argument, NULL, 3},
        {"time-limit", required_argument, NULL, 4},
        {"soft-time-limit", required_argument, NULL, 5},
        {"plugin", required_argument, NULL, 6},
        {"hostname", required_argument, NULL, 'n'},
        {"status-file", required_argument, NULL, 7},
        {"logfile", required_argument, NULL, 'f'},
        {"loglevel", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 8},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
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
    int opt, rc;

    while ((opt = getopt_long(cli->argc, cli->argv, ":Q:c:n:f:l:h", opts,
                              NULL)) != -1) {
        bool mapped = false;
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        for (size_t i = 0; i < sizeof flag_keys / sizeof flag_keys[0]; i++) {
            if (flag_keys[i].opt == opt) {
                if (nsets == sizeof sets / sizeof sets[0]) {
                    return cli_usage(cli, "too many options");
                }
                sets[nsets].key = flag_keys[i].key;
                sets[nsets].flag = flag_keys[i].flag;
                sets[nsets++].value = optarg;
                mapped = true;
            }
        }
        if (mapped) {
            continue;
        }
        switch (opt) {
        case 'h':
            return cli_help(cli, worker_usage);
        case 6:
            if (nplugins == sizeof plugins / sizeof plugins[0]) {
                return cli_usage(cli, "too many --plugin options (max 64)");
            }
            plugins[nplugins++] = optarg;
            break;
        case 'f':
            logfile = optarg;
            break;
        case 'l':
            level = optarg;
            break;
        case 8:
            format = optarg;
            break;
        default:
            return cli_bad_opt(cli, opt);
        }
    }
    if (optind < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'", cli->argv[optind]);
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
    rc = cli_setup_logging(cli, "worker", level, format, logfile);
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
