/* SPDX-License-Identifier: MIT
 *
 * cli_recovery.c: `syncq recovery checkpoints|cleanup|resume|policy` and
 * `syncq recovery dead list|requeue|purge`, over syncq/recovery.h.
 * Every change an operator makes is recorded with who made it
 * ("cli:<user>"). Nothing is deleted or requeued without a name, --all
 * or an age.
 */
#include "cli/cli.h"
#include "core/sq_task.h"
#include "core/sq_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/recovery.h>
#include <unistd.h>

/* "cli:<user>" for resume_by / skipped_by. */
static const char *
who_am_i(char *buf, size_t cap)
{
    const char *u = getenv("USER");

    if (u == NULL || u[0] == '\0' || strlen(u) > 64) {
        u = "unknown";
    }
    snprintf(buf, cap, "cli:%s", u);
    for (char *p = buf; *p; p++) {
        if ((unsigned char)*p < ' ' || *p == 0x7f) {
            *p = '?';
        }
    }
    return buf;
}

static int
parse_count(struct cli *cli, const char *what, const char *arg, long min,
            long max, size_t *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (*end != '\0' || end == arg || errno != 0 || v < min || v > max) {
        return cli_usage(cli, "%s '%s' is not %ld..%ld", what, arg, min, max);
    }
    *out = (size_t)v;
    return 0;
}

/* ---- syncq recovery checkpoints ID ------------------------------------ */

static int
cli_recovery_checkpoints(struct cli *cli)
{
    syncq_client *c;
    syncq_error err;
    json_t *arr = NULL;
    int rc;
    size_t i;
    json_t *e;

    if (cli->optind + 1 != cli->argc) {
        return cli_usage(cli, cli->optind >= cli->argc ? "missing task ID"
                                                       : "give exactly one ID");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_checkpoint_list(c, cli->argv[cli->optind], &arr, &err);
    if (rc == SYNCQ_OK && json_array_size(arr) == 0) {
        /* no checkpoints: say whether there is such a task at all */
        json_t *t = NULL;
        rc = syncq_task_info(c, cli->argv[cli->optind], &t, &err);
        json_decref(t);
        if (rc != SYNCQ_OK) {
            json_decref(arr);
        }
    }
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    if (cli->json) {
        cli_print_json(arr);
        json_decref(arr);
        return CLI_OK;
    }
    if (json_array_size(arr) == 0) {
        printf("task %s has no checkpoints\n", cli->argv[cli->optind]);
        json_decref(arr);
        return CLI_OK;
    }
    printf("%-10s %10s  %-24s %-8s %-16s %s\n", "SEQ", "SIZE", "SAVED",
           "CHECKSUM", "SHA256", "NOTE");
    json_array_foreach(arr, i, e) {
        const char *at = json_string_value(json_object_get(e, "at"));
        const char *sha = json_string_value(json_object_get(e, "sha256"));
        const char *why = json_string_value(json_object_get(e, "problem"));
        bool ok = json_is_true(json_object_get(e, "ok"));
        bool q = json_is_true(json_object_get(e, "quarantined"));
        char note[160];
        snprintf(note, sizeof note, "%s%s%s", why ? why : "",
                 why && q ? "; " : "", q ? "quarantined" : "");
        printf("%-10lld %10lld  %-24s %-8s %-16.16s %s\n",
               (long long)json_integer_value(json_object_get(e, "seq")),
               (long long)json_integer_value(json_object_get(e, "size")),
               at ? at : "?", ok ? "ok" : "BAD", sha ? sha : "", note);
    }
    json_decref(arr);
    return CLI_OK;
}

/* ---- syncq recovery cleanup ------------------------------------------- */

static int
cli_recovery_cleanup(struct cli *cli)
{
    int64_t age = 7LL * 86400000;
    size_t removed = 0;
    syncq_client *c;
    syncq_error err;
    int rc;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == 1) {
            if (cli_duration_arg(cli, "older-than", ov->arg, &age)) {
                return CLI_USAGE;
            }
            continue;
        }
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_checkpoint_cleanup(c, age, &removed, &err);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    if (cli->json) {
        printf("{\"removed\":%zu,\"older_than_ms\":%lld}\n", removed,
               (long long)age);
    } else {
        printf("removed the checkpoints of %zu task%s\n", removed,
               removed == 1 ? "" : "s");
    }
    return CLI_OK;
}

/* ---- syncq recovery resume ID... -------------------------------------- */

static int
cli_recovery_resume(struct cli *cli)
{
    syncq_resume_options o = {NULL, NULL};
    int strategy = SYNCQ_RESUME_AUTO;
    char who[96];
    syncq_client *c;
    int status = CLI_OK;
    json_t *all = NULL;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        syncq_error err;
        switch (ov->key) {
        case 's':
            strategy = syncq_resume_strategy_parse(ov->arg);
            if (strategy < 0) {
                return cli_usage(cli,
                                 "unknown strategy '%s' (auto, retry, "
                                 "resume, restart, skip, manual)",
                                 ov->arg);
            }
            break;
        case 'q':
            if (syncq_queue_name_check(ov->arg, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            o.queue = ov->arg;
            break;
        }
    }
    if (cli->optind >= cli->argc) {
        return cli_usage(cli, "missing task ID");
    }
    o.who = who_am_i(who, sizeof who);
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    if (cli->json) {
        all = json_array();
    }
    for (int i = cli->optind; i < cli->argc; i++) {
        const char *id = cli->argv[i];
        syncq_resume_result res;
        syncq_error err;
        int rc = syncq_task_resume(c, id, strategy, &o, &res, &err);
        if (rc != SYNCQ_OK) {
            /* one bad id does not stop the others */
            int e = cli_error(cli, &err, false);
            status = status == CLI_OK ? e : status;
            if (all != NULL) {
                json_array_append_new(
                    all, json_pack("{s:s, s:b, s:s, s:s}", "id", id, "ok", 0,
                                   "code", syncq_code_name(rc), "error",
                                   err.msg));
            }
            if (rc == SYNCQ_ECONN) {
                break;
            }
            continue;
        }
        if (all != NULL) {
            json_t *o2 = json_pack("{s:s, s:b, s:s, s:s}", "id", id, "ok", 1,
                                   "strategy",
                                   syncq_resume_strategy_name(res.strategy),
                                   "previous_state", res.prev_state);
            if (o2 != NULL && res.checkpoint_seq >= 0) {
                json_object_set_new(o2, "checkpoint_seq",
                                    json_integer(res.checkpoint_seq));
            }
            json_array_append_new(all, o2);
            continue;
        }
        switch (res.strategy) {
        case SYNCQ_RESUME_RESUME:
            printf("%s: queued to resume from checkpoint step %lld (was "
                   "%s)\n",
                   id, (long long)res.checkpoint_seq, res.prev_state);
            break;
        case SYNCQ_RESUME_RETRY:
            printf("%s: queued to run again (retry; was %s)\n", id,
                   res.prev_state);
            break;
        case SYNCQ_RESUME_RESTART:
            printf("%s: checkpoints deleted, queued to run from zero (was "
                   "%s)\n",
                   id, res.prev_state);
            break;
        case SYNCQ_RESUME_SKIP:
            printf("%s: skipped (marked done without running; was %s)\n", id,
                   res.prev_state);
            break;
        default:
            printf("%s: parked in the dead-letter queue (was %s)\n", id,
                   res.prev_state);
            break;
        }
    }
    if (all != NULL) {
        cli_print_json(all);
        json_decref(all);
    }
    return status;
}

/* ---- syncq recovery dead list ---------------------------------------- */

/* Last error message of a record, shortened for a table. */
static const char *
last_error(json_t *t)
{
    const char *m = json_string_value(
        json_object_get(json_object_get(t, "error"), "message"));

    return m != NULL ? m : "";
}

static int
cli_recovery_dead_list(struct cli *cli)
{
    syncq_dead_filter f;
    syncq_client *c;
    syncq_error err;
    json_t *arr = NULL, *t;
    size_t total = 0, i;
    int rc;

    memset(&f, 0, sizeof f);
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'q':
            if (syncq_queue_name_check(ov->arg, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            f.queue = ov->arg;
            break;
        case 'n':
            f.name = ov->arg;
            break;
        case 'r':
            f.reason = ov->arg;
            break;
        case 'l':
            if (parse_count(cli, "limit", ov->arg, 1, 100000, &f.limit)) {
                return CLI_USAGE;
            }
            break;
        case 'o':
            if (parse_count(cli, "offset", ov->arg, 0, 100000000, &f.offset)) {
                return CLI_USAGE;
            }
            break;
        }
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_dead_list(c, &f, &arr, &total, &err);
    if (rc != SYNCQ_OK) {
        return cli_error(cli, &err, true);
    }
    if (cli->json) {
        json_t *o = json_pack("{s:I, s:O}", "total", (json_int_t)total,
                              "tasks", arr);
        cli_print_json(o);
        json_decref(o);
        json_decref(arr);
        return CLI_OK;
    }
    if (json_array_size(arr) > 0) {
        printf("%-36s  %-28s %-16s %-16s %-20s %4s  %s\n", "ID", "NAME",
               "QUEUE", "REASON", "DEAD_AT", "TRY", "LAST ERROR");
    }
    json_array_foreach(arr, i, t) {
        const char *dead_at = json_string_value(json_object_get(t,
                                                                "dead_at"));
        printf("%-36s  %-28.28s %-16.16s %-16.16s %-20.19s %4lld  %.60s\n",
               json_string_value(json_object_get(t, "id")),
               json_string_value(json_object_get(t, "name"))
                   ? json_string_value(json_object_get(t, "name"))
                   : "?",
               json_string_value(json_object_get(t, "queue"))
                   ? json_string_value(json_object_get(t, "queue"))
                   : "?",
               json_string_value(json_object_get(t, "dead_reason"))
                   ? json_string_value(json_object_get(t, "dead_reason"))
                   : "?",
               dead_at ? dead_at : "?",
               (long long)json_integer_value(json_object_get(t, "attempt")),
               last_error(t));
    }
    printf("(%zu shown, %zu in the dead-letter queue)\n",
           json_array_size(arr), total);
    json_decref(arr);
    return CLI_OK;
}

/* ---- syncq recovery dead requeue ID...|--all --------------------------- */

static int
cli_recovery_dead_requeue(struct cli *cli)
{
    const char *queue = NULL;
    bool all = false;
    char who[96];
    syncq_client *c;
    syncq_error err;
    int status = CLI_OK;
    size_t ok = 0, failed = 0;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'a':
            all = true;
            break;
        case 'q':
            if (syncq_queue_name_check(ov->arg, &err) != SYNCQ_OK) {
                return cli_usage(cli, "%s", err.msg);
            }
            queue = ov->arg;
            break;
        }
    }
    if (all && cli->optind < cli->argc) {
        return cli_usage(cli, "give IDs or --all, not both");
    }
    if (!all && cli->optind >= cli->argc) {
        return cli_usage(cli, "missing task ID (or --all)");
    }
    who_am_i(who, sizeof who);
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    if (all) {
        size_t left = 0;
        int rc = syncq_dead_requeue_all(c, queue, who, &ok, &left, &err);
        if (rc != SYNCQ_OK) {
            cli_error(cli, &err, false);
            fprintf(stderr, "syncq: %s: %zu requeued before the error\n",
                    cli->cmd, ok);
            return CLI_FAIL;
        }
        if (cli->json) {
            printf("{\"requeued\":%zu,\"left\":%zu}\n", ok, left);
        } else {
            printf("requeued %zu task%s; %zu left in the dead-letter queue\n",
                   ok, ok == 1 ? "" : "s", left);
        }
        return CLI_OK;
    }
    for (int i = cli->optind; i < cli->argc; i++) {
        int rc = syncq_dead_requeue(c, cli->argv[i], queue, who, &err);
        if (rc != SYNCQ_OK) {
            int e = cli_error(cli, &err, false);
            status = status == CLI_OK ? e : status;
            failed++;
            if (rc == SYNCQ_ECONN) {
                break;
            }
            continue;
        }
        ok++;
        if (!cli->json) {
            printf("%s: requeued%s%s\n", cli->argv[i],
                   queue ? " to queue " : "", queue ? queue : "");
        }
    }
    if (cli->json) {
        printf("{\"requeued\":%zu,\"refused\":%zu}\n", ok, failed);
    }
    return status;
}

/* ---- syncq recovery dead purge --older-than AGE | --all | ID... -------- */

/* --all deletes for good: a person at a terminal is asked (with the
 * count), anything else must say --yes. CLI_OK to go on, or the exit. */
static int
confirm_purge_all(struct cli *cli, syncq_client *c, bool yes)
{
    syncq_dead_filter f = {.limit = 1};
    json_t *one = NULL;
    size_t total = 0;
    syncq_error err;
    char line[16];

    if (yes) {
        return CLI_OK;
    }
    if (syncq_dead_list(c, &f, &one, &total, &err) != SYNCQ_OK) {
        return cli_error(cli, &err, false);
    }
    json_decref(one);
    if (!isatty(0)) {
        return cli_usage(cli, "--all deletes every dead-letter record (%zu "
                         "now) for good: add --yes to confirm", total);
    }
    fprintf(stderr, "delete all %zu dead-letter records for good? [y/N] ",
            total);
    if (fgets(line, sizeof line, stdin) == NULL ||
        (strcmp(line, "y\n") != 0 && strcmp(line, "yes\n") != 0)) {
        return cli_fail(cli, "nothing deleted");
    }
    return CLI_OK;
}

static int
cli_recovery_dead_purge(struct cli *cli)
{
    int64_t age = -1;
    size_t purged = 0, refused = 0;
    bool all = false, yes = false;
    syncq_client *c;
    syncq_error err;
    int status = CLI_OK;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == 1 && cli_duration_arg(cli, "older-than", ov->arg,
                                             &age)) {
            return CLI_USAGE;
        }
        all = all || ov->key == 'a';
        yes = yes || ov->key == 'y';
    }
    if ((age >= 0) + all + (cli->optind < cli->argc) > 1) {
        return cli_usage(cli, "give one of --older-than, --all or IDs");
    }
    if (age < 0 && !all && cli->optind >= cli->argc) {
        return cli_usage(cli, "give --older-than AGE (e.g. 30d), --all or "
                              "task IDs");
    }
    if (yes && !all) {
        return cli_usage(cli, "--yes goes with --all");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    if (all && (status = confirm_purge_all(cli, c, yes)) != CLI_OK) {
        return status;
    }
    if (all) {
        age = 0; /* dead before now: every record */
    }
    if (age >= 0) {
        int rc = syncq_dead_purge(c, age, &purged, &err);
        if (rc != SYNCQ_OK) {
            return cli_error(cli, &err, true);
        }
    } else {
        for (int i = cli->optind; i < cli->argc; i++) {
            int rc = syncq_dead_delete(c, cli->argv[i], &err);
            if (rc != SYNCQ_OK) {
                int e = cli_error(cli, &err, false);
                status = status == CLI_OK ? e : status;
                refused++;
                if (rc == SYNCQ_ECONN) {
                    break;
                }
                continue;
            }
            purged++;
        }
    }
    if (cli->json) {
        printf("{\"purged\":%zu,\"refused\":%zu}\n", purged, refused);
    } else if (purged > 0 || refused == 0) {
        printf("purged %zu dead task%s\n", purged, purged == 1 ? "" : "s");
    }
    return status;
}

/* ---- syncq recovery policy ------------------------------------------- */

static void
print_policy_row(const char *cls, const syncq_retry_policy *p)
{
    char b[32], m[32], sched[128];
    size_t n = 0;
    syncq_retry_policy nj = *p;

    nj.jitter = false;
    sched[0] = '\0';
    for (int i = 0; i < p->max_retries && i < 5; i++) {
        char d[32];
        int w = snprintf(sched + n, sizeof sched - n, "%s%s", i ? " " : "",
                         sq_duration_format(syncq_retry_backoff_ms(&nj, i), d,
                                            sizeof d));
        if (w < 0 || (size_t)w >= sizeof sched - n) {
            break;
        }
        n += (size_t)w;
    }
    if (p->max_retries > 5 && n + 4 < sizeof sched) {
        snprintf(sched + n, sizeof sched - n, " ...");
    }
    if (!p->retryable) {
        /* the backoff fields do not apply: the first failure is final */
        printf("%-15s %-5s %8s %6s %8s %7s %-6s %-4s %s\n", cls, "no", "-",
               "-", "-", "-", "-", p->dead_letter ? "yes" : "no", "-");
        return;
    }
    printf("%-15s %-5s %8s %6g %8s %7d %-6s %-4s %s\n", cls, "yes",
           sq_duration_format(p->base_ms, b, sizeof b), p->factor,
           sq_duration_format(p->max_ms, m, sizeof m), p->max_retries,
           p->jitter ? "full" : "off", p->dead_letter ? "yes" : "no", sched);
}

static int
cli_recovery_policy(struct cli *cli)
{
    const char *task = NULL, *pol_arg = NULL, *check = NULL;
    char *call = NULL;
    const char *task_pol = NULL;
    int only = -1, maxr = -1;
    syncq_config *cfg;
    json_t *out = NULL;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 't':
            task = ov->arg;
            break;
        case 'p':
            pol_arg = ov->arg;
            break;
        case 'c':
            only = syncq_error_class_parse(ov->arg);
            if (only <= 0) {
                return cli_usage(cli, "unknown error class '%s'", ov->arg);
            }
            break;
        case 'm': {
            size_t v = 0;
            if (parse_count(cli, "max-retries", ov->arg, 0, 1000, &v)) {
                return CLI_USAGE;
            }
            maxr = (int)v;
            break;
        }
        case 1:
            check = ov->arg;
            break;
        }
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return CLI_FAIL;
    }
    if (check != NULL) {
        char key[] = "SYNCQ_RETRY_POLICY_FILE";
        syncq_retry_policy p;
        syncq_error err;
        if (syncq_config_set(cfg, key, check, "--check", &err) != SYNCQ_OK ||
            syncq_retry_policy_get(cfg, NULL, NULL, 1, -1, &p, &err) !=
                SYNCQ_OK) {
            return cli_fail(cli, "%s", err.msg);
        }
        if (!cli->json) {
            printf("%s: valid retry policy\n", check);
        } else {
            json_t *o = json_pack("{s:s, s:b}", "file", check, "valid", 1);
            cli_print_json(o);
            json_decref(o);
        }
        return CLI_OK;
    }
    if (task != NULL) {
        syncq_registry *r = syncq_registry_default();
        const syncq_task_def *d = r ? syncq_registry_find(r, task) : NULL;
        if (d == NULL) {
            return cli_fail(cli, "no task named '%s' is registered in this "
                            "build (built-in packs)", task);
        }
        task_pol = d->retry_policy_json;
        if (maxr < 0 && d->max_retries >= 0) {
            maxr = d->max_retries;
        }
    }
    if (pol_arg != NULL) {
        syncq_error err;
        int rc = cli_json_arg(cli, "policy", pol_arg, &call);
        if (rc != CLI_OK) {
            return rc;
        }
        /* a bad --policy is a bad option (2), as task create's
         * --retry-policy; a bad file or task definition fails below (1) */
        if (sq_task_policy_check(call, strlen(call), &err) != SYNCQ_OK) {
            free(call);
            return cli_usage(cli, "%s", err.msg);
        }
    }
    {
        /* validate every layer before printing anything */
        syncq_retry_policy p;
        syncq_error err;
        if (syncq_retry_policy_get(cfg, task_pol, call, SYNCQ_ERR_NETWORK,
                                   maxr, &p, &err) != SYNCQ_OK) {
            free(call);
            return cli_fail(cli, "%s", err.msg);
        }
    }
    if (cli->json) {
        out = json_object();
    } else {
        printf("%-15s %-5s %8s %6s %8s %7s %-6s %-4s %s\n", "CLASS", "RETRY",
               "BASE", "FACTOR", "MAX", "RETRIES", "JITTER", "DLQ",
               "FIRST DELAYS");
    }
    for (int cls = 1; cls < SYNCQ_ERR__COUNT; cls++) {
        syncq_retry_policy p;
        syncq_error err;
        if (only > 0 && cls != only) {
            continue;
        }
        if (syncq_retry_policy_get(cfg, task_pol, call, cls, maxr, &p,
                                   &err) != SYNCQ_OK) {
            free(call);
            json_decref(out);
            return cli_fail(cli, "%s", err.msg);
        }
        if (out != NULL) {
            json_object_set_new(
                out, syncq_error_class_name(cls),
                json_pack("{s:b, s:I, s:f, s:I, s:i, s:b, s:b}", "retryable",
                          p.retryable, "base_ms", (json_int_t)p.base_ms,
                          "factor", p.factor, "max_ms", (json_int_t)p.max_ms,
                          "max_retries", p.max_retries, "jitter", p.jitter,
                          "dead_letter", p.dead_letter));
        } else {
            print_policy_row(syncq_error_class_name(cls), &p);
        }
    }
    free(call);
    if (out != NULL) {
        cli_print_json(out);
        json_decref(out);
    }
    return CLI_OK;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt recovery_cleanup_opts[] = {
    {"older-than", 1, false, "AGE", "only records older than AGE"},
    CLI_OPT_END,
};

static const struct cli_opt recovery_resume_opts[] = {
    {"strategy", 's', true, "S",
     "auto (default): resume if a good checkpoint exists,\n"
     "                else retry\n"
     "retry    run it again as it was (checkpoints kept)\n"
     "resume   run it from its last good checkpoint\n"
     "restart  delete its checkpoints, run from zero\n"
     "skip     mark it done (SKIPPED) without running it\n"
     "manual   park it in the dead-letter queue for a person"},
    {"queue", 'q', true, "Q", "run it in queue Q instead of its own"},
    CLI_OPT_END,
};

static const struct cli_opt recovery_policy_opts[] = {
    {"task", 't', true, "NAME", "the task whose registered default applies"},
    {"policy", 'p', true, "JSON", "a per-call policy, JSON or @file"},
    {"class", 'c', true, "C", "only this error class"},
    {"max-retries", 'm', true, "N", "the task's max_retries"},
    {"check", 1, false, "FILE", "validate a policy file"},
    CLI_OPT_END,
};

static const struct cli_opt recovery_dead_list_opts[] = {
    {"reason", 'r', true, "R",
     "a dead_reason (network, worker_lost, manual, ...) or a\n"
     "prefix ending in ':' (poison:)"},
    {"queue", 'q', true, "Q", "only tasks of queue Q"},
    {"name", 'n', true, "N", "only tasks of this name"},
    {"limit", 'l', true, "N", "at most N entries"},
    {"offset", 'o', true, "N", "skip the first N"},
    CLI_OPT_END,
};

static const struct cli_opt recovery_dead_requeue_opts[] = {
    {"all", 'a', true, NULL, "every dead task except poison entries"},
    {"queue", 'q', true, "Q", "put them in queue Q instead of their own"},
    CLI_OPT_END,
};

static const struct cli_opt recovery_dead_purge_opts[] = {
    {"older-than", 1, false, "AGE", "only records older than AGE"},
    {"all", 'a', true, NULL,
     "every record (asks first on a terminal, with the count)"},
    {"yes", 'y', true, NULL,
     "do not ask (--all without a terminal needs it)"},
    CLI_OPT_END,
};

const struct cli_cmd cli_recovery_cmds[] = {
    {.path = "recovery checkpoints",
     .run = cli_recovery_checkpoints,
     .summary = "a task's checkpoints: step, size, time, checksum",
     .synopsis = "ID [--json]",
     .description = "Show the stored checkpoints of task ID, newest first:"
                    " step (seq), size,\n"
                    "when it was saved and whether its SHA-256 checksum"
                    " verifies. Corrupt\n"
                    "entries found by a load are kept apart (quarantined)"
                    " and listed last.\n"
                    "Listing changes nothing."},
    {.path = "recovery cleanup",
     .run = cli_recovery_cleanup,
     .summary = "delete checkpoints no task will resume from",
     .synopsis = "[--older-than AGE] [--json]",
     .description = "Delete checkpoints no task will resume from: those last"
                    " saved more than\n"
                    "AGE ago (default 7d; 90s, 15m, 2h, 30d) and those of"
                    " tasks that ended\n"
                    "SUCCESS or SKIPPED. Checkpoints of failed, dead or"
                    " running tasks that\n"
                    "are younger are kept. (Checkpoints also expire by"
                    " themselves after\n"
                    "SYNCQ_CHECKPOINT_TTL.)",
     .opts = recovery_cleanup_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = "recovery resume",
     .run = cli_recovery_resume,
     .summary = "run a failed task again:"
                " auto|retry|resume|restart|skip|manual",
     .synopsis = "ID... [--strategy S] [--queue Q] [--json]",
     .description = "Get a failed, dead, revoked or expired task going again.",
     .opts = recovery_resume_opts,
     .notes = "Running tasks and tasks that already succeeded are refused; a"
              " task\n"
              "still waiting to run (PENDING, RETRY) can only be skipped or"
              " parked.\n"
              "Exit status 1 if any ID was refused."},
    {.path = "recovery policy",
     .run = cli_recovery_policy,
     .summary = "retry policy per error class, as the worker applies it",
     .synopsis = "[--task NAME] [--policy JSON] [--max-retries N]\n"
                 " [--class C] [--json]\n"
                 "--check FILE",
     .description = "Show the retry policy per error class as a worker"
                    " applies it: built-in\n"
                    "defaults, SYNCQ_RETRY_POLICY_FILE, the task's"
                    " registered default (--task),\n"
                    "a per-call policy (--policy, JSON or @file) and"
                    " max_retries, with the\n"
                    "first delays of the backoff (before jitter). --check"
                    " validates a policy file.",
     .opts = recovery_policy_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = "recovery dead list",
     .run = cli_recovery_dead_list,
     .summary = "list the dead-letter queue",
     .synopsis = "[--queue Q] [--name N] [--reason R]\n"
                 " [--limit N] [--offset N] [--json]",
     .description = "List the dead-letter queue, most recent death first:"
                    " tasks whose retries\n"
                    "ran out, that lost their worker too often, that a"
                    " person parked, and\n"
                    "queue entries that were not tasks (poison). Nothing"
                    " leaves it without a\n"
                    "command: dead requeue, dead purge, resume, task cancel.",
     .opts = recovery_dead_list_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = "recovery dead requeue",
     .run = cli_recovery_dead_requeue,
     .summary = "put dead tasks back in their queue",
     .synopsis = "ID...|--all [--queue Q] [--json]",
     .description = "Put dead tasks back to PENDING (their own queue, or Q),"
                    " out of the\n"
                    "dead-letter queue, with a fresh retry budget; their"
                    " error history is\n"
                    "kept. --all requeues every dead task except poison"
                    " entries, which\n"
                    "cannot run (remove those with dead purge). Exit status"
                    " 1 if any ID\n"
                    "was refused.",
     .opts = recovery_dead_requeue_opts},
    {.path = "recovery dead purge",
     .run = cli_recovery_dead_purge,
     .summary = "delete dead-letter records for good",
     .synopsis = "--older-than AGE [--json]\n"
                 "--all [--yes] [--json]\n"
                 "ID... [--json]",
     .description = "Delete dead-letter records for good, with their"
                    " checkpoints: those that\n"
                    "died more than AGE ago (30d, 12h, 90m), all of them"
                    " (--all), or the\n"
                    "given IDs. Prints how many went. There is no undo.",
     .opts = recovery_dead_purge_opts},
    {.path = NULL},
};
