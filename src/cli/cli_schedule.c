/* SPDX-License-Identifier: MIT
 *
 * cli_schedule.c: `syncq schedule add|list|info|remove|pause|resume|run|
 * load|next`, over syncq/schedule.h. A bad definition (cron expression
 * that can never fire, unknown zone, malformed JSON, ...) is refused with
 * the reason and exit 2; nothing is stored.
 */
#include "beat/beat_store.h"
#include "cli/cli.h"
#include "core/sq_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/schedule.h>

static const char add_usage[] =
    "usage: syncq schedule add NAME TASK [-t interval|cron|once] "
    "(-i S | -c EXPR | --at TIME) [options]\n"
    "\n"
    "Add a schedule (stored in Redis; a running beat picks it up within a\n"
    "poll, 0.1 s by default).\n"
    "\n"
    "  -t, --type TYPE        interval, cron or once (default: from -i, -c "
    "or --at)\n"
    "  -i, --interval S       every S seconds, or a duration (90, 5m, 1h30m)\n"
    "  -c, --cron EXPR        cron: \"m h dom mon dow\" (optional leading "
    "seconds),\n"
    "                         @daily, @hourly, ...; see docs/beat.md\n"
    "      --at TIME          once, at an ISO 8601 time "
    "(2026-12-01T02:00:00+08:00)\n"
    "      --tz ZONE          IANA zone of the cron fields (default "
    "SYNCQ_TIMEZONE)\n"
    "  -k, --kwargs JSON      keyword arguments, a JSON object (@file, - "
    "stdin)\n"
    "  -a, --args JSON        positional arguments, a JSON array\n"
    "  -q, --queue Q          queue (default: the task's route)\n"
    "  -p, --priority P       LOW NORMAL HIGH URGENT or 0..10\n"
    "      --missed POLICY    skip (default), run_once or catch_up: what to "
    "do with\n"
    "                         ticks missed while no beat ran\n"
    "      --catch-up-cap N   catch_up fires at most N missed runs "
    "(default\n"
    "                         SYNCQ_BEAT_CATCH_UP_CAP)\n"
    "      --grace S          a tick later than this counts as missed "
    "(default\n"
    "                         SYNCQ_BEAT_MISSED_GRACE, 60)\n"
    "      --start TIME       no tick before TIME (interval: the first "
    "tick)\n"
    "      --end TIME         no tick after TIME\n"
    "      --expires S        each run's task expires S after its tick\n"
    "      --max-retries N    retries of each run's task\n"
    "      --paused           add it paused\n"
    "      --replace          replace a schedule of the same name (its "
    "counters stay)\n"
    "      --json             print the stored schedule as JSON\n"
    "\n"
    "Examples:\n"
    "  syncq schedule add daily_sync data_sync.sync_products -t cron -c "
    "\"0 2 * * *\"\n"
    "  syncq schedule add every5 crawler.fetch_products -t interval -i 300 "
    "-k '{\"category_id\":\"1031910\"}'\n"
    "  syncq schedule add once1 data_sync.sync_products -t once --at "
    "2026-12-01T02:00:00+08:00\n";

static int
dur_arg(struct cli *cli, const char *what, const char *arg, int64_t *ms)
{
    syncq_error err;

    if (sq_duration_parse_ms(arg, ms, &err) != SYNCQ_OK) {
        return cli_usage(cli, "%s: %s", what, err.msg);
    }
    return 0;
}

static int
time_arg(struct cli *cli, const char *what, const char *arg, int64_t *ms)
{
    syncq_error err;

    if (sq_time_parse_iso8601(arg, ms, &err) != SYNCQ_OK) {
        return cli_usage(cli, "%s: %s", what, err.msg);
    }
    return 0;
}

static int
int_arg(struct cli *cli, const char *what, const char *arg, long lo, long hi,
        int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi) {
        return cli_usage(cli, "%s '%s' is not a number in %ld..%ld", what, arg,
                         lo, hi);
    }
    *out = (int)v;
    return 0;
}

/* One line about a stored schedule. */
static void
print_summary(json_t *s)
{
    const char *type = json_string_value(json_object_get(s, "type"));
    const char *next = json_string_value(json_object_get(s, "next_run"));
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *state = json_string_value(json_object_get(s, "state"));

    printf("%s: ", name ? name : "?");
    if (type != NULL && strcmp(type, "cron") == 0) {
        printf("cron \"%s\" (%s)",
               json_string_value(json_object_get(s, "cron")),
               json_string_value(json_object_get(s, "timezone")));
    } else if (type != NULL && strcmp(type, "interval") == 0) {
        printf("every %gs",
               json_number_value(json_object_get(s, "interval_s")));
    } else {
        printf("once at %s", json_string_value(json_object_get(s, "at")));
    }
    printf(", %s, next run %s\n", state ? state : "?", next ? next : "none");
}

int cli_schedule_add(struct cli *cli);

int
cli_schedule_add(struct cli *cli)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'},
        {"interval", required_argument, NULL, 'i'},
        {"cron", required_argument, NULL, 'c'},
        {"at", required_argument, NULL, 1},
        {"tz", required_argument, NULL, 2},
        {"timezone", required_argument, NULL, 2},
        {"kwargs", required_argument, NULL, 'k'},
        {"args", required_argument, NULL, 'a'},
        {"queue", required_argument, NULL, 'q'},
        {"priority", required_argument, NULL, 'p'},
        {"missed", required_argument, NULL, 3},
        {"catch-up-cap", required_argument, NULL, 4},
        {"grace", required_argument, NULL, 5},
        {"start", required_argument, NULL, 6},
        {"end", required_argument, NULL, 7},
        {"expires", required_argument, NULL, 8},
        {"max-retries", required_argument, NULL, 9},
        {"paused", no_argument, NULL, 10},
        {"replace", no_argument, NULL, 11},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    syncq_schedule_config sc;
    const char *type = NULL, *kw_arg = NULL, *args_arg = NULL;
    char *kw = NULL, *args = NULL;
    int flags = 0, opt, rc, kinds = 0;
    syncq_client *c;
    syncq_error err;
    json_t *info = NULL;

    syncq_schedule_config_init(&sc);
    while ((opt = getopt_long(cli->argc, cli->argv, ":t:i:c:k:a:q:p:h", opts,
                              NULL)) != -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'h':
            return cli_help(cli, add_usage);
        case 't':
            type = optarg;
            break;
        case 'i':
            if (dur_arg(cli, "interval", optarg, &sc.interval_ms)) {
                return CLI_USAGE;
            }
            kinds |= 1;
            break;
        case 'c':
            sc.cron = optarg;
            kinds |= 2;
            break;
        case 1:
            if (time_arg(cli, "at", optarg, &sc.run_at_ms)) {
                return CLI_USAGE;
            }
            kinds |= 4;
            break;
        case 2:
            sc.timezone = optarg;
            break;
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
            sc.queue = optarg;
            break;
        case 'p':
            if (syncq_priority_parse(optarg, &sc.priority, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            break;
        case 3: {
            int m = sq_missed_parse(optarg);
            if (m < 0) {
                return cli_usage(cli,
                                 "missed policy '%s' is not skip, "
                                 "run_once or catch_up",
                                 optarg);
            }
            sc.missed = (syncq_missed_policy)m;
            break;
        }
        case 4:
            if (int_arg(cli, "catch-up-cap", optarg, 1, 100000,
                        &sc.catch_up_cap)) {
                return CLI_USAGE;
            }
            break;
        case 5:
            if (dur_arg(cli, "grace", optarg, &sc.grace_ms)) {
                return CLI_USAGE;
            }
            break;
        case 6:
            if (time_arg(cli, "start", optarg, &sc.start_ms)) {
                return CLI_USAGE;
            }
            break;
        case 7:
            if (time_arg(cli, "end", optarg, &sc.end_ms)) {
                return CLI_USAGE;
            }
            break;
        case 8:
            if (dur_arg(cli, "expires", optarg, &sc.expires_ms)) {
                return CLI_USAGE;
            }
            break;
        case 9:
            if (int_arg(cli, "max-retries", optarg, 0, 1000, &sc.max_retries)) {
                return CLI_USAGE;
            }
            break;
        case 10:
            sc.enabled = false;
            break;
        case 11:
            flags |= SYNCQ_SCHEDULE_REPLACE;
            break;
        default:
            return cli_bad_opt(cli, opt);
        }
    }
    if (cli->argc - optind < 2) {
        return cli_usage(cli, "need NAME and TASK");
    }
    if (cli->argc - optind > 2) {
        return cli_usage(cli, "unexpected argument '%s'",
                         cli->argv[optind + 2]);
    }
    sc.name = cli->argv[optind];
    sc.task = cli->argv[optind + 1];
    if (type == NULL) {
        if (kinds == 1) {
            type = "interval";
        } else if (kinds == 2) {
            type = "cron";
        } else if (kinds == 4) {
            type = "once";
        } else {
            return cli_usage(cli, "give one of -i (interval), -c (cron) or "
                                  "--at (once)");
        }
    }
    if (strcmp(type, "interval") == 0) {
        sc.type = SYNCQ_SCHEDULE_INTERVAL;
        if (kinds != 1) {
            return cli_usage(cli, "an interval schedule needs -i S (and no "
                                  "-c or --at)");
        }
    } else if (strcmp(type, "cron") == 0) {
        sc.type = SYNCQ_SCHEDULE_CRON;
        if (kinds != 2) {
            return cli_usage(cli, "a cron schedule needs -c EXPR (and no -i "
                                  "or --at)");
        }
    } else if (strcmp(type, "once") == 0) {
        sc.type = SYNCQ_SCHEDULE_ONCE;
        if (kinds != 4) {
            return cli_usage(cli, "a one-shot schedule needs --at TIME (and "
                                  "no -i or -c)");
        }
    } else {
        return cli_usage(cli, "type '%s' is not interval, cron or once", type);
    }
    if (sc.cron != NULL && syncq_cron_check(sc.cron, NULL, &err) != SYNCQ_OK) {
        return cli_usage(cli, "cron '%s': %s", sc.cron, err.msg);
    }
    if (kw_arg != NULL) {
        kw = cli_json_arg(cli, "kwargs", kw_arg);
    }
    if (kw_arg != NULL && kw == NULL) {
        return CLI_FAIL;
    }
    if (args_arg != NULL) {
        args = cli_json_arg(cli, "args", args_arg);
    }
    if (args_arg != NULL && args == NULL) {
        free(kw);
        return CLI_FAIL;
    }
    sc.kwargs_json = kw;
    sc.args_json = args;
    c = cli_client(cli);
    if (c == NULL) {
        free(kw);
        free(args);
        return CLI_FAIL;
    }
    rc = sq_sched_add(c, &sc, flags, "cli", &err);
    if (rc == SYNCQ_OK) {
        rc = syncq_schedule_info(c, sc.name, &info, &err);
    }
    syncq_client_close(c);
    free(kw);
    free(args);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    cli_warn_unknown_task(cli, sc.task);
    if (cli->json) {
        cli_print_json(info);
    } else {
        print_summary(info);
    }
    json_decref(info);
    return CLI_OK;
}

/* ---- list / info --------------------------------------------------------- */

static const char list_usage[] =
    "usage: syncq schedule list [--json]\n"
    "\n"
    "Every schedule with its state and next run (in the schedule's zone).\n";

static const char *
jstr(json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : dflt;
}

static void
spec_text(json_t *s, char *buf, size_t cap)
{
    const char *type = jstr(s, "type", "?");

    if (strcmp(type, "cron") == 0) {
        snprintf(buf, cap, "%s", jstr(s, "cron", "?"));
    } else if (strcmp(type, "interval") == 0) {
        char d[32];
        sq_duration_format(
            (int64_t)(json_number_value(json_object_get(s, "interval_s")) *
                      1000),
            d, sizeof d);
        snprintf(buf, cap, "every %s", d);
    } else {
        snprintf(buf, cap, "at %s", jstr(s, "at", "?"));
    }
}

int cli_schedule_list(struct cli *cli);

int
cli_schedule_list(struct cli *cli)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    enum { NCOL = 9 };
    static const char *const heads[NCOL] = {"NAME",     "STATE", "TYPE",
                                            "SCHEDULE", "ZONE",  "NEXT RUN",
                                            "LAST RUN", "RUNS",  "TASK"};
    size_t w[NCOL];
    syncq_client *c;
    syncq_error err;
    json_t *list = NULL;
    int opt, rc;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) != -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, list_usage);
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
    rc = syncq_schedule_list(c, &list, &err);
    syncq_client_close(c);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, false);
    }
    if (cli->json) {
        cli_print_json(list);
        json_decref(list);
        return CLI_OK;
    }
    if (json_array_size(list) == 0) {
        printf("no schedules (add one with `syncq schedule add`)\n");
        json_decref(list);
        return CLI_OK;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (int k = 0; k < NCOL; k++) {
                printf("%-*s%s", k + 1 < NCOL ? (int)w[k] : 0, heads[k],
                       k + 1 < NCOL ? "  " : "\n");
            }
        } else {
            for (int k = 0; k < NCOL; k++) {
                w[k] = strlen(heads[k]);
            }
        }
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *s = json_array_get(list, i);
            char spec[300], runs[32];
            const char *cols[NCOL];
            spec_text(s, spec, sizeof spec);
            snprintf(runs, sizeof runs, "%lld",
                     (long long)json_integer_value(
                         json_object_get(s, "total_runs")));
            cols[0] = jstr(s, "name", "?");
            cols[1] = jstr(s, "state", "?");
            cols[2] = jstr(s, "type", "?");
            cols[3] = spec;
            cols[4] = jstr(s, "timezone", "UTC");
            cols[5] = jstr(s, "next_run", "-");
            cols[6] = jstr(s, "last_run", "-");
            cols[7] = runs;
            cols[8] = jstr(s, "task", "?");
            for (int k = 0; k < NCOL; k++) {
                if (pass == 0) {
                    if (strlen(cols[k]) > w[k]) {
                        w[k] = strlen(cols[k]);
                    }
                } else {
                    printf("%-*s%s", k + 1 < NCOL ? (int)w[k] : 0, cols[k],
                           k + 1 < NCOL ? "  " : "\n");
                }
            }
        }
    }
    json_decref(list);
    return CLI_OK;
}

static const char info_usage[] =
    "usage: syncq schedule info NAME [--json]\n"
    "\n"
    "A schedule's definition and state: next and last run, total runs,\n"
    "missed runs, last task id, errors.\n";

int cli_schedule_info(struct cli *cli);

int
cli_schedule_info(struct cli *cli)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    syncq_client *c;
    syncq_error err;
    json_t *s = NULL;
    const char *key;
    json_t *v;
    int opt, rc;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) != -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, info_usage);
        }
        return cli_bad_opt(cli, opt);
    }
    if (cli->argc - optind != 1) {
        return cli_usage(cli, "need exactly one schedule NAME");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_schedule_info(c, cli->argv[optind], &s, &err);
    syncq_client_close(c);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    if (cli->json) {
        cli_print_json(s);
    } else {
        json_object_foreach(s, key, v)
        {
            if (json_is_null(v)) {
                printf("%-14s -\n", key);
            } else if (json_is_string(v)) {
                printf("%-14s %s\n", key, json_string_value(v));
            } else {
                char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                printf("%-14s %s\n", key, t ? t : "?");
                syncq_free(t);
            }
        }
    }
    json_decref(s);
    return CLI_OK;
}

/* ---- remove / pause / resume / run -------------------------------------- */

enum simple_op { OP_REMOVE, OP_PAUSE, OP_RESUME, OP_RUN };

static int
simple(struct cli *cli, enum simple_op op, const char *usage)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    static const char *const done[] = {"removed", "paused", "resumed", "fired"};
    syncq_client *c;
    int opt, failed = 0;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) != -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, usage);
        }
        return cli_bad_opt(cli, opt);
    }
    if (optind >= cli->argc) {
        return cli_usage(cli, "need a schedule NAME");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    for (int i = optind; i < cli->argc; i++) {
        const char *name = cli->argv[i];
        char id[SYNCQ_ID_SIZE] = "";
        syncq_error err;
        int rc;
        switch (op) {
        case OP_REMOVE:
            rc = syncq_schedule_remove(c, name, &err);
            break;
        case OP_PAUSE:
            rc = syncq_schedule_pause(c, name, &err);
            break;
        case OP_RESUME:
            rc = syncq_schedule_resume(c, name, &err);
            break;
        default:
            rc = syncq_schedule_run(c, name, id, &err);
            break;
        }
        if (rc != SYNCQ_OK) {
            cli_fail(cli, "%s", err.msg);
            failed = 1;
            continue;
        }
        if (cli->json) {
            printf("{\"schedule\":\"%s\",\"status\":\"%s\"%s%s%s}\n", name,
                   done[op], id[0] ? ",\"task_id\":\"" : "", id,
                   id[0] ? "\"" : "");
        } else if (op == OP_RUN) {
            puts(id);
        } else {
            printf("%s: %s\n", name, done[op]);
        }
    }
    syncq_client_close(c);
    return failed ? CLI_FAIL : CLI_OK;
}

int cli_schedule_remove(struct cli *cli);
int cli_schedule_pause(struct cli *cli);
int cli_schedule_resume(struct cli *cli);
int cli_schedule_run(struct cli *cli);

int
cli_schedule_remove(struct cli *cli)
{
    return simple(cli, OP_REMOVE,
                  "usage: syncq schedule remove NAME... [--json]\n\nDelete schedules "
                  "(tasks they created stay).\n");
}

int
cli_schedule_pause(struct cli *cli)
{
    return simple(cli, OP_PAUSE,
                  "usage: syncq schedule pause NAME... [--json]\n\nStop firing "
                  "(missed ticks are not counted while paused).\n");
}

int
cli_schedule_resume(struct cli *cli)
{
    return simple(cli, OP_RESUME,
                  "usage: syncq schedule resume NAME... [--json]\n\nFire again from "
                  "the next tick (never a catch-up).\n");
}

int
cli_schedule_run(struct cli *cli)
{
    return simple(cli, OP_RUN,
                  "usage: syncq schedule run NAME... [--json]\n\nCreate the "
                  "schedule's task now (outside its ticks) and print its "
                  "id.\n");
}

/* ---- load --------------------------------------------------------------- */

static const char load_usage[] =
    "usage: syncq schedule load FILE [--prune] [--json]\n"
    "\n"
    "Load a static schedule file (JSON, docs/beat.md): every entry is\n"
    "checked first; new ones are created, changed ones replaced (their run\n"
    "counters kept), unchanged ones left alone. --prune removes schedules\n"
    "loaded from a file earlier that this file no longer has.\n";

int cli_schedule_load(struct cli *cli);

int
cli_schedule_load(struct cli *cli)
{
    static const struct option opts[] = {{"prune", no_argument, NULL, 1},
                                         CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    static const char *const parts[] = {"created", "updated", "unchanged",
                                        "removed"};
    bool prune = false;
    syncq_client *c;
    syncq_error err;
    json_t *report = NULL;
    int opt, rc;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) != -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, load_usage);
        }
        if (opt == 1) {
            prune = true;
            continue;
        }
        return cli_bad_opt(cli, opt);
    }
    if (cli->argc - optind != 1) {
        return cli_usage(cli, "need exactly one FILE");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_schedule_load_file(c, cli->argv[optind], prune, &report, &err);
    syncq_client_close(c);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, false);
    }
    if (cli->json) {
        cli_print_json(report);
    } else {
        for (int k = 0; k < 4; k++) {
            json_t *a = json_object_get(report, parts[k]);
            printf("%s: %zu", parts[k], json_array_size(a));
            for (size_t i = 0; i < json_array_size(a); i++) {
                printf("%s%s", i ? ", " : " (",
                       json_string_value(json_array_get(a, i)));
            }
            printf("%s\n", json_array_size(a) ? ")" : "");
        }
    }
    json_decref(report);
    return CLI_OK;
}

/* ---- next --------------------------------------------------------------- */

static const char next_usage[] =
    "usage: syncq schedule next EXPR [--tz ZONE] [-n N] [--from TIME]\n"
    "\n"
    "Check a cron expression and print its next N fire times (default 5)\n"
    "in ZONE (default SYNCQ_TIMEZONE) with their UTC instants. Nothing is\n"
    "stored; no broker is needed.\n";

int cli_schedule_next(struct cli *cli);

int
cli_schedule_next(struct cli *cli)
{
    static const struct option opts[] = {
        {"tz", required_argument, NULL, 1},
        {"timezone", required_argument, NULL, 1},
        {"from", required_argument, NULL, 2},
        {"count", required_argument, NULL, 'n'},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *tz = NULL;
    int64_t from = -1;
    int count = 5, opt;
    syncq_error err;
    json_t *out;

    while ((opt = getopt_long(cli->argc, cli->argv, ":n:h", opts, NULL)) !=
           -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'h':
            return cli_help(cli, next_usage);
        case 1:
            tz = optarg;
            break;
        case 2:
            if (time_arg(cli, "from", optarg, &from)) {
                return CLI_USAGE;
            }
            break;
        case 'n':
            if (int_arg(cli, "count", optarg, 1, 1000, &count)) {
                return CLI_USAGE;
            }
            break;
        default:
            return cli_bad_opt(cli, opt);
        }
    }
    if (cli->argc - optind != 1) {
        return cli_usage(cli, "need one cron EXPR (quote it)");
    }
    if (tz == NULL) {
        syncq_config *cfg = cli_config(cli);
        if (cfg == NULL) {
            return CLI_FAIL;
        }
        tz = syncq_config_str(cfg, "SYNCQ_TIMEZONE");
    }
    if (syncq_cron_check(cli->argv[optind], tz, &err) != SYNCQ_OK) {
        return cli_usage(cli, "cron '%s': %s", cli->argv[optind], err.msg);
    }
    if (from < 0) {
        from = sq_now_ms();
    }
    out = json_array();
    for (int i = 0; i < count; i++) {
        char local[48], utc[40];
        if (syncq_cron_next(cli->argv[optind], tz, from, &from, &err) !=
            SYNCQ_OK) {
            break;
        }
        sq_time_format_zone(from, tz, local, sizeof local);
        sq_time_format_iso8601(from, utc, sizeof utc);
        if (cli->json) {
            json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "local",
                                                 local, "utc", utc, "ms",
                                                 (json_int_t)from));
        } else {
            printf("%s  %s\n", local, utc);
        }
    }
    if (cli->json) {
        cli_print_json(out);
    }
    json_decref(out);
    return CLI_OK;
}
