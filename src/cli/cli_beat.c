/* SPDX-License-Identifier: MIT
 *
 * cli_beat.c: `syncq beat`, the scheduler daemon (syncq_beat_run). Logs
 * one line per event (logfmt or JSON) to stderr or --logfile; SIGTERM and
 * SIGINT stop it cleanly (the leader lock is released so another beat
 * takes over at once); SIGHUP reopens the log file (logrotate).
 */
#include "cli/cli.h"
#include "core/sq_time.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/schedule.h>
#include <unistd.h>

static volatile int stop_flag;
static volatile int hup_flag;

static void
on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void
on_hup(int sig)
{
    (void)sig;
    hup_flag = 1;
}

static int
cli_beat(struct cli *cli)
{
    const char *level = NULL, *logfile = NULL, *format = NULL;
    const char *pidfile = NULL;
    syncq_beat_options bo;
    struct sigaction sa;
    syncq_config *cfg;
    syncq_error err;
    int rc;

    memset(&bo, 0, sizeof bo);
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'l':
            level = ov->arg;
            break;
        case 'f':
            logfile = ov->arg;
            break;
        case 1:
            format = ov->arg;
            break;
        case 's':
            bo.schedule_file = ov->arg;
            break;
        case 2:
            if (cli_duration_arg(cli, "lock-ttl", ov->arg, &bo.lock_ttl_ms)) {
                return CLI_USAGE;
            }
            if (bo.lock_ttl_ms < 1000 || bo.lock_ttl_ms > 600000) {
                return cli_usage(cli, "lock-ttl must be 1 s .. 10 min");
            }
            break;
        case 3:
            if (cli_duration_arg(cli, "poll", ov->arg, &bo.poll_ms)) {
                return CLI_USAGE;
            }
            if (bo.poll_ms < 1 || bo.poll_ms > 60000) {
                return cli_usage(cli, "poll must be 1 ms .. 60 s");
            }
            break;
        case 4:
            bo.id = ov->arg;
            break;
        case 5:
            bo.no_promote = true;
            break;
        case 6:
            pidfile = ov->arg;
            break;
        }
    }
    rc = cli_setup_logging(cli, "beat", level, format, logfile);
    if (rc != CLI_OK) {
        return rc;
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return CLI_FAIL;
    }
    if (pidfile != NULL) {
        FILE *f = fopen(pidfile, "w");
        if (f == NULL) {
            return cli_fail(cli, "cannot write pidfile %s: %s", pidfile,
                            strerror(errno));
        }
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    bo.reopen_logs = &hup_flag;
    rc = syncq_beat_run(NULL, cfg, &bo, &stop_flag, &err);
    if (pidfile != NULL) {
        unlink(pidfile);
    }
    if (rc == SYNCQ_ECONN && stop_flag) {
        /* stopped while still waiting for Redis: a clean stop, as the
         * worker's (the wait was logged as broker.down) */
        syncq_log(SYNCQ_LOG_INFO, "beat.stop", "reason=\"stopped before "
                  "Redis was reachable\"");
        return CLI_OK;
    }
    if (rc != SYNCQ_OK) {
        /* a bad schedule file or option value: the run failed (1) */
        return cli_error(cli, &err, false);
    }
    return CLI_OK;
}

static int
cli_beat_status(struct cli *cli)
{
    syncq_client *c;
    syncq_error err;
    json_t *list = NULL;
    int rc;

    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_beat_status(c, &list, &err);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, false);
    }
    if (cli->json) {
        cli_print_json(list);
    } else if (json_array_size(list) == 0) {
        printf("no beat seen in the last day (start one: syncq beat)\n");
    } else {
        printf("%-28s  %-6s  %-5s  %-24s  %-20s  %7s  %s\n", "ID", "LEADER",
               "ALIVE", "SEEN", "HOST", "PID", "FIRED");
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *b = json_array_get(list, i);
            const char *host = json_string_value(json_object_get(b, "host"));
            printf("%-28s  %-6s  %-5s  %-24s  %-20s  %7lld  %lld\n",
                   json_string_value(json_object_get(b, "id")),
                   json_is_true(json_object_get(b, "leader")) ? "yes" : "no",
                   json_is_true(json_object_get(b, "alive")) ? "yes" : "no",
                   json_string_value(json_object_get(b, "seen")),
                   host ? host : "-",
                   (long long)json_integer_value(json_object_get(b, "pid")),
                   (long long)json_integer_value(json_object_get(b, "fired")));
        }
    }
    json_decref(list);
    return CLI_OK;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt beat_opts[] = {
    {"loglevel", 'l', true, "LEVEL",
     "debug, info, warning, error (default SYNCQ_LOG_LEVEL)"},
    {"logfile", 'f', true, "FILE",
     "log to FILE instead of stderr (reopened on SIGHUP)"},
    {"log-format", 1, false, "FMT", "text (logfmt) or json (--json: json)"},
    {"schedule-file", 's', true, "FILE",
     "static schedules loaded at start (default\n"
     "SYNCQ_BEAT_SCHEDULE_FILE; see docs/beat.md)"},
    {"lock-ttl", 2, false, "S",
     "leader lock lifetime (default SYNCQ_BEAT_LOCK_TTL, 10)"},
    {"poll", 3, false, "S",
     "leader's longest sleep between polls (default 0.1)"},
    {"id", 4, false, "ID", "instance id (default host:pid)"},
    {"no-promote", 5, false, NULL, "leave delayed tasks to the workers"},
    {"pidfile", 6, false, "FILE", "write the pid to FILE (removed at exit)"},
    CLI_OPT_END,
};

const struct cli_cmd cli_beat_cmds[] = {
    {.path = "beat",
     .run = cli_beat,
     .summary = "run the scheduler (leader-elected; fires ticks once)",
     .synopsis = "[options]",
     .description = "Run the scheduler: fire schedule ticks exactly once,"
                    " promote delayed\n"
                    "tasks when due, requeue lapsed leases, dispatch batch"
                    " waves. Run as\n"
                    "many as you like: one leads (a lock in Redis), the"
                    " others take over\n"
                    "within the lock TTL when it dies.",
     .opts = beat_opts,
     .notes = "Status of every beat: {ns}:beat:node:<id> in Redis"
              " (docs/beat.md).",
     .flags = CLI_CMD_NO_ARGS},
    {.path = "beat status",
     .run = cli_beat_status,
     .summary = "the beats: which leads, which are alive",
     .synopsis = "[--json]",
     .description = "The beats seen in the last day: which one leads,"
                    " whether each is alive\n"
                    "(its status record is fresh), host, pid, version, ticks"
                    " fired.",
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
