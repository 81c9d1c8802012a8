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

static const char beat_usage[] =
    "usage: syncq beat [options]\n"
    "\n"
    "Run the scheduler: fire schedule ticks exactly once, promote delayed\n"
    "tasks when due, requeue lapsed leases, dispatch batch waves. Run as\n"
    "many as you like: one leads (a lock in Redis), the others take over\n"
    "within the lock TTL when it dies.\n"
    "\n"
    "  -l, --loglevel LEVEL     debug, info, warning, error (default "
    "SYNCQ_LOG_LEVEL)\n"
    "  -f, --logfile FILE       log to FILE instead of stderr (reopened on "
    "SIGHUP)\n"
    "      --log-format FMT     text (logfmt) or json (--json: json)\n"
    "  -s, --schedule-file FILE static schedules loaded at start (default\n"
    "                           SYNCQ_BEAT_SCHEDULE_FILE; see docs/beat.md)\n"
    "      --lock-ttl S         leader lock lifetime (default "
    "SYNCQ_BEAT_LOCK_TTL, 10)\n"
    "      --poll S             leader's longest sleep between polls "
    "(default 0.1)\n"
    "      --id ID              instance id (default host:pid)\n"
    "      --no-promote         leave delayed tasks to the workers\n"
    "      --pidfile FILE       write the pid to FILE (removed at exit)\n"
    "\n"
    "Status of every beat: {ns}:beat:node:<id> in Redis (docs/beat.md).\n";

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
dur_opt(struct cli *cli, const char *what, const char *arg, int64_t *ms)
{
    syncq_error err;

    if (sq_duration_parse_ms(arg, ms, &err) != SYNCQ_OK) {
        return cli_usage(cli, "%s: %s", what, err.msg);
    }
    return 0;
}

int cli_beat(struct cli *cli);

int
cli_beat(struct cli *cli)
{
    static const struct option opts[] = {
        {"loglevel", required_argument, NULL, 'l'},
        {"logfile", required_argument, NULL, 'f'},
        {"log-format", required_argument, NULL, 1},
        {"schedule-file", required_argument, NULL, 's'},
        {"lock-ttl", required_argument, NULL, 2},
        {"poll", required_argument, NULL, 3},
        {"id", required_argument, NULL, 4},
        {"no-promote", no_argument, NULL, 5},
        {"pidfile", required_argument, NULL, 6},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *level = NULL, *logfile = NULL, *format = NULL;
    const char *pidfile = NULL;
    syncq_beat_options bo;
    struct sigaction sa;
    syncq_config *cfg;
    syncq_error err;
    int opt, rc;

    memset(&bo, 0, sizeof bo);
    while ((opt = getopt_long(cli->argc, cli->argv, ":l:f:s:h", opts, NULL)) !=
           -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'h':
            return cli_help(cli, beat_usage);
        case 'l':
            level = optarg;
            break;
        case 'f':
            logfile = optarg;
            break;
        case 1:
            format = optarg;
            break;
        case 's':
            bo.schedule_file = optarg;
            break;
        case 2:
            if (dur_opt(cli, "lock-ttl", optarg, &bo.lock_ttl_ms)) {
                return CLI_USAGE;
            }
            if (bo.lock_ttl_ms < 1000 || bo.lock_ttl_ms > 600000) {
                return cli_usage(cli, "lock-ttl must be 1 s .. 10 min");
            }
            break;
        case 3:
            if (dur_opt(cli, "poll", optarg, &bo.poll_ms)) {
                return CLI_USAGE;
            }
            if (bo.poll_ms < 1 || bo.poll_ms > 60000) {
                return cli_usage(cli, "poll must be 1 ms .. 60 s");
            }
            break;
        case 4:
            bo.id = optarg;
            break;
        case 5:
            bo.no_promote = true;
            break;
        case 6:
            pidfile = optarg;
            break;
        default:
            return cli_bad_opt(cli, opt);
        }
    }
    if (optind < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'", cli->argv[optind]);
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
    if (rc != SYNCQ_OK) {
        /* a bad schedule file or option value: the run failed (1) */
        return cli_error(cli, &err, false);
    }
    return CLI_OK;
}

static const char status_usage[] =
    "usage: syncq beat status [--json]\n"
    "\n"
    "The beats seen in the last day: which one leads, whether each is alive\n"
    "(its status record is fresh), host, pid, version, ticks fired.\n";

int cli_beat_status(struct cli *cli);

int
cli_beat_status(struct cli *cli)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    syncq_client *c;
    syncq_error err;
    json_t *list = NULL;
    int opt, rc;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) != -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, status_usage);
        }
        return cli_bad_opt(cli, opt);
    }
    if (optind < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'", cli->argv[optind]);
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_beat_status(c, &list, &err);
    syncq_client_close(c);
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
