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

/* --at, --start, --end: an ISO 8601 time (*abs), or a duration from now
 * (*in: resolved with the Redis server's clock by the library, never
 * this machine's). */
static int
time_arg(struct cli *cli, const char *what, const char *arg, int64_t *abs,
         int64_t *in)
{
    int64_t rel, at;

    if (cli_time_arg(cli, what, arg, &rel, &at) != 0) {
        return CLI_USAGE;
    }
    if (rel == 0) {
        return cli_usage(cli, "%s: an offset from now must be > 0", what);
    }
    if (rel > 0) {
        *in = rel;
    } else {
        *abs = at;
    }
    return 0;
}

static int
int_arg(struct cli *cli, const char *what, const char *arg, long lo, long hi,
        int *out)
{
    long v;

    if (cli_num_arg(cli, what, arg, lo, hi, &v) != 0) {
        return CLI_USAGE;
    }
    *out = (int)v;
    return 0;
}

/* The CLI's one time rule: UTC, ISO 8601 (2026-12-07T18:00:00Z). A
 * schedule's times come in its own zone (2026-12-08T02:00:00+08:00);
 * NULL or unparsable ones are returned as they are. */
static const char *
utc_of(const char *zoned, char *buf, size_t cap)
{
    int64_t ms;

    if (zoned == NULL || sq_time_parse_iso8601(zoned, &ms, NULL) != SYNCQ_OK) {
        return zoned;
    }
    return sq_time_format_iso8601(ms, buf, cap);
}

/* For people: the times of s in UTC, each with "<field>_in_zone" (the
 * schedule's own zone) beside it. */
static void
times_to_utc(json_t *s)
{
    static const char *const fields[] = {"next_run", "last_run", "at",
                                         "start", "end"};

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = json_string_value(json_object_get(s, fields[i]));
        char utc[40], key[40];
        if (v == NULL || utc_of(v, utc, sizeof utc) == v) {
            continue;
        }
        snprintf(key, sizeof key, "%s_in_zone", fields[i]);
        json_object_set_new(s, key, json_string(v));
        json_object_set_new(s, fields[i], json_string(utc));
    }
}

/* One line about a stored schedule. */
static void
print_summary(json_t *s)
{
    const char *type = json_string_value(json_object_get(s, "type"));
    const char *next = json_string_value(json_object_get(s, "next_run"));
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *state = json_string_value(json_object_get(s, "state"));
    char utc[40];

    printf("%s: ", name ? name : "?");
    if (type != NULL && strcmp(type, "cron") == 0) {
        printf("cron \"%s\" (%s)",
               json_string_value(json_object_get(s, "cron")),
               json_string_value(json_object_get(s, "timezone")));
    } else if (type != NULL && strcmp(type, "interval") == 0) {
        printf("every %gs",
               json_number_value(json_object_get(s, "interval_s")));
    } else {
        printf("once at %s", utc_of(json_string_value(json_object_get(s, "at")),
                                    utc, sizeof utc));
    }
    printf(", %s, next run ", state ? state : "?");
    if (next != NULL) {
        printf("%s (%s in %s)\n", utc_of(next, utc, sizeof utc), next,
               json_string_value(json_object_get(s, "timezone")) != NULL
                   ? json_string_value(json_object_get(s, "timezone"))
                   : "UTC");
    } else {
        printf("none\n");
    }
}

static int
cli_schedule_add(struct cli *cli)
{
    syncq_schedule_config sc;
    const char *type = NULL, *kw_arg = NULL, *args_arg = NULL;
    char *kw = NULL, *args = NULL;
    int flags = 0, rc, kinds = 0;
    syncq_client *c;
    syncq_error err;
    json_t *info = NULL;

    syncq_schedule_config_init(&sc);
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 't':
            type = ov->arg;
            break;
        case 'i':
            if (cli_duration_arg(cli, "interval", ov->arg, &sc.interval_ms)) {
                return CLI_USAGE;
            }
            kinds |= 1;
            break;
        case 'c':
            sc.cron = ov->arg;
            kinds |= 2;
            break;
        case 1:
            if (time_arg(cli, "at", ov->arg, &sc.run_at_ms, &sc.run_in_ms)) {
                return CLI_USAGE;
            }
            kinds |= 4;
            break;
        case 2:
            sc.timezone = ov->arg;
            break;
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
            sc.queue = ov->arg;
            break;
        case 'p':
            if (syncq_priority_parse(ov->arg, &sc.priority, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            break;
        case 3: {
            int m = sq_missed_parse(ov->arg);
            if (m < 0) {
                return cli_usage(cli,
                                 "missed policy '%s' is not skip, "
                                 "run_once or catch_up",
                                 ov->arg);
            }
            sc.missed = (syncq_missed_policy)m;
            break;
        }
        case 4:
            if (int_arg(cli, "catch-up-cap", ov->arg, 1, 100000,
                        &sc.catch_up_cap)) {
                return CLI_USAGE;
            }
            break;
        case 5:
            if (cli_duration_arg(cli, "grace", ov->arg, &sc.grace_ms)) {
                return CLI_USAGE;
            }
            break;
        case 6:
            if (time_arg(cli, "start", ov->arg, &sc.start_ms,
                         &sc.start_in_ms)) {
                return CLI_USAGE;
            }
            break;
        case 7:
            if (time_arg(cli, "end", ov->arg, &sc.end_ms, &sc.end_in_ms)) {
                return CLI_USAGE;
            }
            break;
        case 8:
            if (cli_duration_arg(cli, "expires", ov->arg, &sc.expires_ms)) {
                return CLI_USAGE;
            }
            if (sc.expires_ms <= 0) {
                /* 0 would store "never expires", not what was asked */
                return cli_usage(cli, "expires must be above 0 (leave it "
                                 "out for tasks that do not expire)");
            }
            break;
        case 9:
            if (int_arg(cli, "max-retries", ov->arg, 0, 1000,
                        &sc.max_retries)) {
                return CLI_USAGE;
            }
            break;
        case 10:
            sc.enabled = false;
            break;
        case 11:
            flags |= SYNCQ_SCHEDULE_REPLACE;
            break;
        }
    }
    if (cli->argc - cli->optind < 2) {
        return cli_usage(cli, "need NAME and TASK");
    }
    if (cli->argc - cli->optind > 2) {
        return cli_usage(cli, "unexpected argument '%s'",
                         cli->argv[cli->optind + 2]);
    }
    sc.name = cli->argv[cli->optind];
    sc.task = cli->argv[cli->optind + 1];
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
    if (kw_arg != NULL && (rc = cli_json_arg(cli, "kwargs", kw_arg, &kw))) {
        return rc;
    }
    if (args_arg != NULL &&
        (rc = cli_json_arg(cli, "args", args_arg, &args)) != CLI_OK) {
        free(kw);
        return rc;
    }
    sc.kwargs_json = kw;
    sc.args_json = args;
    c = cli_client(cli);
    if (c == NULL) {
        free(kw);
        free(args);
        return CLI_FAIL;
    }
    rc = sc.task != NULL ? cli_check_task_args(cli, c, sc.task, args, kw)
                         : CLI_OK;
    if (rc != CLI_OK) {
        free(kw);
        free(args);
        return rc;
    }
    rc = sq_sched_add(c, &sc, flags, "cli", &err);
    if (rc == SYNCQ_OK) {
        rc = syncq_schedule_info(c, sc.name, &info, &err);
    }
    free(kw);
    free(args);
    if (rc == SYNCQ_EEXIST) {
        return cli_fail(cli, "schedule %s exists (remove it first with "
                        "`syncq schedule remove %s`, or add --replace)",
                        sc.name, sc.name);
    }
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

static int
cli_schedule_list(struct cli *cli)
{
    enum { NCOL = 9 };
    /* times in UTC, the schedule's zone beside them */
    static const char *const heads[NCOL] = {"NAME",     "STATE",    "TYPE",
                                            "SCHEDULE", "NEXT RUN (UTC)",
                                            "ZONE",     "LAST RUN (UTC)",
                                            "RUNS",     "TASK"};
    json_t *rows;
    syncq_client *c;
    syncq_error err;
    json_t *list = NULL;
    int rc;

    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_schedule_list(c, &list, &err);
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
    rows = json_array();
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *s = json_array_get(list, i);
        char spec[300], runs[32];
        times_to_utc(s);
        spec_text(s, spec, sizeof spec);
        snprintf(runs, sizeof runs, "%lld",
                 (long long)json_integer_value(
                     json_object_get(s, "total_runs")));
        cli_row_add(rows, NCOL, jstr(s, "name", "?"), jstr(s, "state", "?"),
                    jstr(s, "type", "?"), spec, jstr(s, "next_run", "-"),
                    jstr(s, "timezone", "UTC"), jstr(s, "last_run", "-"), runs,
                    jstr(s, "task", "?"));
    }
    cli_print_columns(heads, NCOL, rows, 0);
    json_decref(rows);
    json_decref(list);
    return CLI_OK;
}

static int
cli_schedule_info(struct cli *cli)
{
    json_t *s = NULL;
    int rc;

    if (cli->argc - cli->optind != 1) {
        return cli_usage(cli, "need exactly one schedule NAME");
    }
    rc = cli_call_json(cli, syncq_schedule_info, cli->argv[cli->optind], &s,
                       true);
    if (rc != CLI_OK) {
        return rc;
    }
    if (cli->json) {
        cli_print_json(s);
    } else {
        times_to_utc(s);
        cli_print_fields(s, 16);
    }
    json_decref(s);
    return CLI_OK;
}

/* ---- remove / pause / resume / run -------------------------------------- */

enum simple_op { OP_REMOVE, OP_PAUSE, OP_RESUME, OP_RUN };

static int
simple(struct cli *cli, enum simple_op op)
{
    static const char *const done[] = {"removed", "paused", "resumed", "fired"};
    syncq_client *c;
    int failed = 0;

    if (cli->optind >= cli->argc) {
        return cli_usage(cli, "need a schedule NAME");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    for (int i = cli->optind; i < cli->argc; i++) {
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
    return failed ? CLI_FAIL : CLI_OK;
}

static int
cli_schedule_remove(struct cli *cli)
{
    return simple(cli, OP_REMOVE);
}

static int
cli_schedule_pause(struct cli *cli)
{
    return simple(cli, OP_PAUSE);
}

static int
cli_schedule_resume(struct cli *cli)
{
    return simple(cli, OP_RESUME);
}

static int
cli_schedule_run(struct cli *cli)
{
    return simple(cli, OP_RUN);
}

/* ---- load --------------------------------------------------------------- */

/* Warn about what a loaded file holds that `schedule add` would refuse or
 * warn about: a task no built-in pack has, a one-shot time already past
 * (a file may keep one after it ran, so it is stored finished rather than
 * refused). Only for the entries this load created or changed. */
static void
warn_loaded(struct cli *cli, syncq_client *c, const json_t *report)
{
    static const char *const parts[] = {"created", "updated"};

    for (int k = 0; k < 2; k++) {
        const json_t *a = json_object_get(report, parts[k]);
        for (size_t i = 0; i < json_array_size(a); i++) {
            const char *nm = json_string_value(json_array_get(a, i));
            json_t *info = NULL;
            const char *task, *type, *st;
            if (nm == NULL ||
                syncq_schedule_info(c, nm, &info, NULL) != SYNCQ_OK) {
                continue;
            }
            task = json_string_value(json_object_get(info, "task"));
            type = json_string_value(json_object_get(info, "type"));
            st = json_string_value(json_object_get(info, "state"));
            if (task != NULL) {
                cli_warn_unknown_task(cli, task);
            }
            if (type != NULL && strcmp(type, "once") == 0 && st != NULL &&
                strcmp(st, "finished") == 0 &&
                json_integer_value(json_object_get(info, "total_runs")) == 0) {
                fprintf(stderr, "syncq: %s: warning: %s: its one-shot time "
                                "%s is past: stored finished, it will not "
                                "run\n",
                        cli->cmd, nm,
                        json_string_value(json_object_get(info, "at"))
                            ? json_string_value(json_object_get(info, "at"))
                            : "?");
            }
            json_decref(info);
        }
    }
}

static int
cli_schedule_load(struct cli *cli)
{
    static const char *const parts[] = {"created", "updated", "unchanged",
                                        "removed"};
    bool prune = false;
    syncq_client *c;
    syncq_error err;
    json_t *report = NULL;
    int rc;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == 1) {
            prune = true;
            continue;
        }
    }
    if (cli->argc - cli->optind != 1) {
        return cli_usage(cli, "need exactly one FILE");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_schedule_load_file(c, cli->argv[cli->optind], prune, &report,
                                  &err);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, false);
    }
    warn_loaded(cli, c, report);
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

static int
cli_schedule_next(struct cli *cli)
{
    const char *tz = NULL;
    int64_t from = -1;
    int count = 5;
    syncq_error err;
    json_t *out;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 1:
            tz = ov->arg;
            break;
        case 2:
            /* a local computation: an absolute time only */
            if (sq_time_parse_iso8601(ov->arg, &from, &err) != SYNCQ_OK) {
                return cli_usage(cli, "from: %s", err.msg);
            }
            break;
        case 'n':
            if (int_arg(cli, "count", ov->arg, 1, 1000, &count)) {
                return CLI_USAGE;
            }
            break;
        }
    }
    if (cli->argc - cli->optind != 1) {
        return cli_usage(cli, "need one cron EXPR (quote it)");
    }
    if (tz == NULL) {
        syncq_config *cfg = cli_config(cli);
        if (cfg == NULL) {
            return CLI_FAIL;
        }
        tz = syncq_config_str(cfg, "SYNCQ_TIMEZONE");
    }
    if (syncq_cron_check(cli->argv[cli->optind], tz, &err) != SYNCQ_OK) {
        return cli_usage(cli, "cron '%s': %s", cli->argv[cli->optind], err.msg);
    }
    if (from < 0) {
        from = sq_now_ms();
    }
    out = json_array();
    for (int i = 0; i < count; i++) {
        char local[48], utc[40];
        if (syncq_cron_next(cli->argv[cli->optind], tz, from, &from, &err) !=
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
            printf("%s  %s\n", utc, local); /* UTC first, as everywhere */
        }
    }
    if (cli->json) {
        cli_print_json(out);
    }
    json_decref(out);
    return CLI_OK;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt schedule_add_opts[] = {
    {"type", 't', true, "TYPE",
     "interval, cron or once (default: from -i, -c or --at)"},
    {"interval", 'i', true, "S",
     "every S seconds, or a duration (90, 5m, 1h30m)"},
    {"cron", 'c', true, "EXPR",
     "cron: \"m h dom mon dow\" (optional leading seconds),\n"
     "@daily, @hourly, ...; see docs/beat.md"},
    {"at", 1, false, "TIME",
     "once, at an ISO 8601 time (2026-12-01T02:00:00+08:00)\n"
     "or in a duration from now (90, 10m, 2h: Redis's clock)"},
    {"tz", 2, false, "ZONE",
     "IANA zone of the cron fields (default SYNCQ_TIMEZONE)"},
    {"kwargs", 'k', true, "JSON",
     "keyword arguments, a JSON object (@file, - stdin)"},
    {"args", 'a', true, "JSON", "positional arguments, a JSON array"},
    {"queue", 'q', true, "Q", "queue (default: the task's route)"},
    {"priority", 'p', true, "P", "LOW NORMAL HIGH URGENT or 0..10"},
    {"missed", 3, false, "POLICY",
     "skip (default), run_once or catch_up: what to do with\n"
     "ticks missed while no beat ran"},
    {"catch-up-cap", 4, false, "N",
     "catch_up fires at most N missed runs (default\n"
     "SYNCQ_BEAT_CATCH_UP_CAP)"},
    {"grace", 5, false, "S",
     "a tick later than this counts as missed (default\n"
     "SYNCQ_BEAT_MISSED_GRACE, 60)"},
    {"start", 6, false, "TIME",
     "no tick before TIME (interval: the first tick); TIME\n"
     "as for --at"},
    {"end", 7, false, "TIME", "no tick after TIME (as for --at)"},
    {"expires", 8, false, "S", "each run's task expires S after its tick"},
    {"max-retries", 9, false, "N", "retries of each run's task"},
    {"paused", 10, false, NULL, "add it paused"},
    {"replace", 11, false, NULL,
     "replace a schedule of the same name (its counters stay)"},
    {"json", CLI_OPT_JSON, false, NULL, "print the stored schedule as JSON"},
    {"timezone", 2, false, "ZONE", NULL}, /* alias of --tz */
    CLI_OPT_END,
};

static const char *const schedule_add_examples[] = {
    "syncq schedule add daily_sync data_sync.sync_products -t cron -c \"0 2"
    " * * *\"",
    "syncq schedule add every5 crawler.fetch_products -t interval -i 300 -k"
    " '{\"category_id\":\"1031910\"}'",
    "syncq schedule add once1 data_sync.sync_products -t once --at"
    " \"$(date -d 'tomorrow 02:00' -Iseconds)\"",
    NULL,
};

static const struct cli_opt schedule_load_opts[] = {
    {"prune", 1, false, NULL,
     "remove schedules a file loaded earlier that this one lacks"},
    CLI_OPT_END,
};

static const struct cli_opt schedule_next_opts[] = {
    {"tz", 1, false, "ZONE", "zone of the times (default SYNCQ_TIMEZONE)"},
    {"timezone", 1, false, "ZONE", NULL}, /* alias of --tz */
    {"from", 2, false, "TIME", "times after TIME (default now)"},
    {"count", 'n', true, "N", "how many times (default 5)"},
    CLI_OPT_END,
};

const struct cli_cmd cli_schedule_cmds[] = {
    {.path = "schedule add",
     .run = cli_schedule_add,
     .summary = "add an interval, cron or one-shot schedule",
     .synopsis = "NAME TASK [-t interval|cron|once] (-i S | -c EXPR | --at"
                 " TIME) [options]",
     .description = "Add a schedule (stored in Redis; a running beat picks"
                    " it up within a\n"
                    "poll, 0.1 s by default).",
     .opts = schedule_add_opts,
     .examples = schedule_add_examples},
    {.path = "schedule list",
     .run = cli_schedule_list,
     .summary = "schedules with next and last runs",
     .synopsis = "[--json]",
     .description = "Every schedule with its state and next run (in UTC,"
                    " the schedule's zone beside it).",
     .flags = CLI_CMD_NO_ARGS},
    {.path = "schedule info",
     .run = cli_schedule_info,
     .summary = "one schedule's definition and state",
     .synopsis = "NAME [--json]",
     .description = "A schedule's definition and state: next and last run,"
                    " total runs,\n"
                    "missed runs, last task id, errors."},
    {.path = "schedule remove",
     .run = cli_schedule_remove,
     .summary = "delete schedules",
     .synopsis = "NAME... [--json]",
     .description = "Delete schedules (tasks they created stay)."},
    {.path = "schedule pause",
     .run = cli_schedule_pause,
     .summary = "stop firing a schedule",
     .synopsis = "NAME... [--json]",
     .description = "Stop firing (missed ticks are not counted while "
                    "paused)."},
    {.path = "schedule resume",
     .run = cli_schedule_resume,
     .summary = "fire a paused schedule again",
     .synopsis = "NAME... [--json]",
     .description = "Fire again from the next tick (never a catch-up)."},
    {.path = "schedule run",
     .run = cli_schedule_run,
     .summary = "create a schedule's task now",
     .synopsis = "NAME... [--json]",
     .description = "Create the schedule's task now (outside its ticks) and "
                    "print its id."},
    {.path = "schedule load",
     .run = cli_schedule_load,
     .summary = "load a static schedule file",
     .synopsis = "FILE [--prune] [--json]",
     .description = "Load a static schedule file (JSON, docs/beat.md): every"
                    " entry is\n"
                    "checked first; new ones are created, changed ones"
                    " replaced (their run\n"
                    "counters kept), unchanged ones left alone. --prune"
                    " removes schedules\n"
                    "loaded from a file earlier that this file no longer has.",
     .opts = schedule_load_opts},
    {.path = "schedule next",
     .run = cli_schedule_next,
     .summary = "check a cron expression, show its next times",
     .synopsis = "EXPR [--tz ZONE] [-n N] [--from TIME]",
     .description = "Check a cron expression and print its next N fire times"
                    " (default 5)\n"
                    "in ZONE (default SYNCQ_TIMEZONE) with their UTC"
                    " instants. Nothing is\n"
                    "stored; no broker is needed.",
     .opts = schedule_next_opts},
    {.path = NULL},
};
