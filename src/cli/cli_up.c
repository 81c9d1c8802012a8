/* SPDX-License-Identifier: MIT
 *
 * cli_up.c: `syncq up`: the whole stack for one machine in the
 * foreground: a worker pool, the beat and the monitor (each this binary
 * with its subcommand), plus a private Redis under var/ when no broker URL
 * is configured. Output lines are prefixed with the process name; a
 * process that dies is restarted with backoff; Ctrl-C stops everything
 * warmly (a second Ctrl-C stops it cold).
 */
#include "cli/cli.h"
#include "cli/cli_proc.h"
#include "cli/cli_stack.h"
#include "sq_alloc.h"
#include "core/sq_time.h"
#include "sq_url.h"
#include "monitor/mon_http.h"
#include "worker/worker.h"


#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the data and the liveness file are (the environment the children
 * get wins over the parent's configuration; passwords masked). */
static void
print_places(struct cli *cli)
{
    const char *db = getenv("SYNCQ_DATABASE_URL");
    const char *sf = getenv("SYNCQ_WORKER_STATUS_FILE");
    char *shown;

    if (db == NULL) {
        db = syncq_config_str(cli->cfg, "SYNCQ_DATABASE_URL");
    }
    if (sf == NULL) {
        sf = syncq_config_str(cli->cfg, "SYNCQ_WORKER_STATUS_FILE");
    }
    shown = sq_url_redact(db);
    fprintf(stdout, "syncq up: database %s\n", shown != NULL ? shown : db);
    sq_free(shown);
    if (sf[0] != '\0') {
        fprintf(stdout, "syncq up: worker liveness: syncq worker health "
                        "--status-file %s\n",
                sf);
    }
}

/* Check what the children would refuse before anything starts, so a typo
 * is one line and exit status 2, not a Redis started and a service
 * restarted in a loop. */
static int
preflight(struct cli *cli, struct cli_stack *st)
{
    syncq_config *cfg = cli->cfg;
    struct sq_worker_opts wo;
    syncq_error err;

    if (st->queues[0] != '\0' &&
        syncq_config_set(cfg, "SYNCQ_WORKER_QUEUES", st->queues, "-Q",
                         &err) != SYNCQ_OK) {
        return cli_usage(cli, "%s", err.msg);
    }
    if (st->worker && sq_worker_opts_init(&wo, cfg, NULL, &err) != SYNCQ_OK) {
        return cli_usage(cli, "worker: %s", err.msg);
    }
    if (st->monitor &&
        sq_mon_listen_check(cfg, st->listen[0] != '\0' ? st->listen : NULL,
                            NULL, true, NULL, &err) != SYNCQ_OK) {
        return cli_usage(cli, "%s: %s%s",
                         st->listen[0] != '\0' ? "--listen"
                                                : "SYNCQ_MONITOR_LISTEN",
                         err.msg,
                         err.code == SYNCQ_EIO
                             ? " (pick another with --listen 127.0.0.1:PORT, "
                               "or --no-monitor)"
                             : "");
    }
    return CLI_OK;
}

static int
cli_up(struct cli *cli)
{
    struct cli_stack st;
    int rc;
    int warm_sent = 0;

    cli_stack_init(&st);
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        char *end;
        long v;
        switch (ov->key) {
        case 'c':
            errno = 0;
            v = strtol(ov->arg, &end, 10);
            if (*end != '\0' || errno != 0 || v < 1 || v > 1024) {
                return cli_usage(cli, "--workers '%s' is not 1..1024", ov->arg);
            }
            snprintf(st.concurrency, sizeof st.concurrency, "%ld", v);
            break;
        case 'Q':
            snprintf(st.queues, sizeof st.queues, "%s", ov->arg);
            break;
        case 1:
            st.beat = false;
            break;
        case 2:
            st.monitor = false;
            break;
        case 3:
            snprintf(st.listen, sizeof st.listen, "%s", ov->arg);
            break;
        case 4:
            snprintf(st.var_dir, sizeof st.var_dir, "%s", ov->arg);
            break;
        }
    }
    if (cli_config(cli) == NULL) {
        return CLI_FAIL;
    }
    rc = preflight(cli, &st);
    if (rc != CLI_OK) {
        return rc;
    }
    /* everything of this stack under --var unless configured otherwise,
     * printed at start */
    rc = cli_stack_place_data(cli, &st, false, NULL);
    if (rc != CLI_OK) {
        return rc;
    }
    cli_install_stop_handlers();
    rc = cli_stack_start(cli, &st);
    if (rc != CLI_OK) {
        cli_stack_stop(&st);
        return rc;
    }
    fprintf(stdout, "syncq up: broker %s%s%s\n", st.broker_shown,
            st.monitor ? ", dashboard http://" : "",
            st.monitor ? st.listen : "");
    if (st.worker) {
        print_places(cli);
    }
    if (st.own_redis) {
        /* the CLI in another shell needs the same broker to see anything */
        fprintf(stdout, "syncq up: in another shell: export "
                        "SYNCQ_BROKER_URL=%s\n", st.broker);
    }
    fflush(stdout);
    for (;;) {
        int stops = cli_stop_requests();
        if (stops > warm_sent) {
            if (warm_sent == 0) {
                fprintf(stdout, "syncq up: stopping (Ctrl-C again to stop "
                                "at once)\n");
                fflush(stdout);
                st.procs.stopping = true;
                cli_stack_signal_services(&st, SIGTERM);
            } else {
                cli_stack_signal_services(&st, SIGQUIT);
            }
            warm_sent = stops;
        }
        if (st.procs.failed != NULL) {
            fprintf(stderr, "syncq: up: %s cannot start (exit status 2: "
                            "fix its configuration); stopping\n",
                    st.procs.failed->name);
            cli_stack_stop(&st);
            return CLI_FAIL;
        }
        if (cli_procs_poll(&st.procs, 200) == 0 ||
            (warm_sent > 0 && !cli_stack_services_running(&st))) {
            break;
        }
    }
    cli_stack_stop(&st);
    fprintf(stdout, "syncq up: stopped\n");
    return CLI_OK;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt up_opts[] = {
    {"workers", 'c', true, "N",
     "worker children (default SYNCQ_WORKER_CONCURRENCY)"},
    {"queues", 'Q', true, "QUEUES", "queues the worker serves"},
    {"no-beat", 1, false, NULL, "run no beat"},
    {"no-monitor", 2, false, NULL, "run no monitor"},
    {"listen", 3, false, "ADDR",
     "monitor address (default SYNCQ_MONITOR_LISTEN)"},
    {"var", 4, false, "DIR", "state directory (default var/)"},
    CLI_OPT_END,
};

const struct cli_cmd cli_up_cmds[] = {
    {.path = "up",
     .run = cli_up,
     .summary = "run worker, beat and monitor for one machine",
     .synopsis = "[--workers N] [-Q QUEUES] [--no-beat] [--no-monitor]\n"
                 " [--listen ADDR] [--var DIR]",
     .description = "Run the whole stack for one machine in the foreground:"
                    " a worker pool (N\n"
                    "children, default SYNCQ_WORKER_CONCURRENCY), the beat,"
                    " and the monitor\n"
                    "(dashboard + /metrics on --listen, default"
                    " SYNCQ_MONITOR_LISTEN). When no\n"
                    "broker URL is configured (SYNCQ_BROKER_URL unset), a"
                    " private Redis is started\n"
                    "on a unix socket under --var (default var/) with AOF"
                    " persistence.\n"
                    "Unless configured otherwise, the catalog database"
                    " (1688sync.db), images\n"
                    "(media/), raw payloads (raw/) and the worker's liveness"
                    " file (worker.status,\n"
                    "for `syncq worker health`) live under --var too.\n"
                    "Logs are prefixed per process. Ctrl-C stops everything"
                    " cleanly (running\n"
                    "tasks finish or are requeued); a second Ctrl-C stops at"
                    " once (leases lapse,\n"
                    "tasks are requeued, nothing is lost).",
     .opts = up_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
