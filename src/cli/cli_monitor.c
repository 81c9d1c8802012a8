/* SPDX-License-Identifier: MIT
 *
 * cli_monitor.c: `syncq monitor health|progress|alerts|serve`.
 *   health   healthy / degraded / unhealthy with reasons; exit 0 / 1 / 2
 *            (a container or systemd health check)
 *   progress live progress bars with rate and ETA (redrawn in place on a
 *            TTY, plain lines otherwise, NO_COLOR respected, --json lines)
 *   alerts   active and recent alerts; --check FILE validates a rules file
 *   serve    the HTTP dashboard, JSON API and /metrics (mon_http.c)
 */
#include "cli/cli_monitor.h"
#include "cli/cli_multi.h"
#include "cli/cli.h"
#include "broker/broker.h"
#include "core/sq_time.h"
#include "monitor/mon_alerts.h"
#include "monitor/mon_http.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t hup_flag;

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

static void
install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
}

/* ---- rendering ------------------------------------------------------- */

static double
num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *
cli_mon_eta(const json_t *v, char *buf, size_t cap)
{
    double s = num(v);

    if (isnan(s) || s < 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    return sq_duration_format((int64_t)llround(s * 1000.0), buf, cap);
}

const char *
cli_mon_pct(const json_t *v, char *buf, size_t cap)
{
    double x = num(v);

    if (isnan(x)) {
        snprintf(buf, cap, "-");
    } else {
        snprintf(buf, cap, "%.1f%%", x * 100.0);
    }
    return buf;
}

const char *
cli_mon_ms(const json_t *v, char *buf, size_t cap)
{
    double x = num(v);

    if (isnan(x)) {
        snprintf(buf, cap, "-");
        return buf;
    }
    if (x < 1000) {
        snprintf(buf, cap, "%.0fms", x);
        return buf;
    }
    return sq_duration_format((int64_t)llround(x), buf, cap);
}

static void
bar(FILE *f, double pct, bool color, bool failed)
{
    const int width = 24;
    int fill = isnan(pct) ? 0 : (int)lround(pct * width / 100.0);

    if (fill > width) {
        fill = width;
    }
    fputc('[', f);
    if (color) {
        fputs(failed ? "\033[31m" : "\033[32m", f);
    }
    for (int i = 0; i < width; i++) {
        fputc(i < fill ? '#' : '.', f);
    }
    if (color) {
        fputs("\033[0m", f);
    }
    fputc(']', f);
}

void
cli_mon_task_line(FILE *f, const json_t *t, bool color)
{
    const json_t *p = json_object_get(t, "progress");
    const char *name = json_string_value(json_object_get(t, "name"));
    const char *id = json_string_value(json_object_get(t, "id"));
    const char *msg = json_string_value(json_object_get(p, "message"));
    double pct = num(json_object_get(p, "percent"));
    double rate = num(json_object_get(p, "rate"));
    char eta[32];

    fprintf(f, "%-28.28s %-8.8s ", name ? name : "?", id ? id : "?");
    bar(f, pct, color, false);
    if (isnan(pct)) {
        fprintf(f, "    -");
    } else {
        fprintf(f, " %3.0f%%", pct);
    }
    if (json_is_object(p)) {
        fprintf(f, " %lld/%lld",
                (long long)json_integer_value(json_object_get(p, "current")),
                (long long)json_integer_value(json_object_get(p, "total")));
    } else {
        fprintf(f, " %s", json_string_value(json_object_get(t, "state"))
                              ? json_string_value(json_object_get(t, "state"))
                              : "");
    }
    if (!isnan(rate) && rate > 0) {
        fprintf(f, " %.1f/s", rate);
    }
    fprintf(f, " ETA %s", cli_mon_eta(json_object_get(p, "eta_s"), eta,
                                      sizeof eta));
    if (msg != NULL && msg[0] != '\0') {
        fprintf(f, "  %.60s", msg);
    }
    fputc('\n', f);
}

void
cli_mon_batch_line(FILE *f, const json_t *b, bool color)
{
    const char *id = json_string_value(json_object_get(b, "id"));
    const char *task = json_string_value(json_object_get(b, "task"));
    double pct = num(json_object_get(b, "percent"));
    double rate = num(json_object_get(b, "rate"));
    long long failed = json_integer_value(json_object_get(b, "failed"));
    char eta[32];

    fprintf(f, "batch %-8.8s %-21.21s ", id ? id : "?", task ? task : "");
    bar(f, pct, color, failed > 0);
    fprintf(f, " %3.0f%% total %lld done %lld failed %lld",
            isnan(pct) ? 0.0 : pct,
            (long long)json_integer_value(json_object_get(b, "total")),
            (long long)json_integer_value(json_object_get(b, "done")), failed);
    if (!isnan(rate) && rate > 0) {
        fprintf(f, " %.2f/s", rate);
    }
    fprintf(f, " ETA %s%s\n",
            cli_mon_eta(json_object_get(b, "eta_s"), eta, sizeof eta),
            json_is_true(json_object_get(b, "finished")) ? " (finished)"
                                                         : "");
}

/* ---- health -------------------------------------------------------------- */

static int
cli_monitor_health(struct cli *cli)
{
    syncq_config *cfg;
    syncq_client *c = NULL;
    syncq_error err, herr;
    json_t *h = NULL;
    int status = SYNCQ_UNHEALTHY;
    bool quiet = false;
    const char *why = NULL;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == 'q') {
            quiet = true;
            continue;
        }
    }
    if (cli_multi_each(cli, quiet, &status)) { /* several namespaces */
        return status;
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return CLI_USAGE;
    }
    if (syncq_client_open(NULL, cfg, &c, &err) != SYNCQ_OK) {
        c = NULL;
        why = err.msg;
    }
    if (syncq_monitor_health(c, why, &h, &status, &herr) != SYNCQ_OK) {
        syncq_client_close(c);
        cli_fail(cli, "%s", herr.msg);
        return SYNCQ_UNHEALTHY;
    }
    syncq_client_close(c);
    if (cli->json) {
        cli_print_json(h);
    } else if (!quiet) {
        size_t i;
        json_t *r;
        printf("%s\n", json_string_value(json_object_get(h, "status")));
        json_array_foreach(json_object_get(h, "reasons"), i, r) {
            printf("  %-9s %-15s %s\n",
                   json_string_value(json_object_get(r, "severity")),
                   json_string_value(json_object_get(r, "check")),
                   json_string_value(json_object_get(r, "message")));
        }
    }
    json_decref(h);
    return status;
}

/* ---- progress ------------------------------------------------------------ */

/* One frame: the running tasks and batches to show. */
static json_t *
progress_frame(syncq_client *c, const char *batch, const char *task,
               bool *done, syncq_error *err)
{
    json_t *snap = NULL, *o, *tasks, *batches;
    size_t i;
    json_t *e;

    *done = false;
    if (syncq_monitor_snapshot(c, &snap, err) != SYNCQ_OK) {
        return NULL;
    }
    o = json_object();
    tasks = json_array();
    batches = json_array();
    json_array_foreach(json_object_get(snap, "running"), i, e) {
        const char *id = json_string_value(json_object_get(e, "id"));
        if (task == NULL || (id != NULL && strcmp(id, task) == 0)) {
            json_array_append(tasks, e);
        }
    }
    json_array_foreach(json_object_get(snap, "batches"), i, e) {
        const char *id = json_string_value(json_object_get(e, "id"));
        bool fin = json_is_true(json_object_get(e, "finished"));
        if (batch != NULL ? (id != NULL && strcmp(id, batch) == 0)
                          : (task == NULL && !fin)) {
            json_array_append(batches, e);
        }
    }
    if (batch != NULL && json_array_size(batches) == 0) {
        /* not among the recent ones: read it directly (a malformed id
         * is refused, EINVAL: a usage error) */
        json_t *b = NULL;
        if (syncq_batch_progress(c, batch, &b, err) != SYNCQ_OK) {
            json_decref(snap);
            json_decref(o);
            json_decref(tasks);
            json_decref(batches);
            return NULL;
        }
        json_object_set_new(b, "finished",
                            json_boolean(json_is_string(
                                json_object_get(b, "finished_at"))));
        json_array_append_new(batches, b);
    }
    if (batch != NULL) {
        *done = json_is_true(json_object_get(json_array_get(batches, 0),
                                             "finished"));
    }
    if (task != NULL && json_array_size(tasks) == 0) {
        json_t *t = NULL;
        if (syncq_task_info(c, task, &t, err) != SYNCQ_OK) {
            json_decref(snap);
            json_decref(o);
            json_decref(tasks);
            json_decref(batches);
            return NULL;
        }
        /* not running: finished (the watch ends) or not started yet (it
         * waits: a task still queued must not end the watch at once) */
        *done = sq_state_is_final(
            json_string_value(json_object_get(t, "state")));
        json_array_append_new(tasks, t);
    }
    json_object_set(o, "at", json_object_get(snap, "at"));
    json_object_set_new(o, "tasks", tasks);
    json_object_set_new(o, "batches", batches);
    json_decref(snap);
    return o;
}

static int
render_frame(const json_t *fr, bool color)
{
    size_t i;
    json_t *e;
    int lines = 0;

    if (json_array_size(json_object_get(fr, "tasks")) == 0 &&
        json_array_size(json_object_get(fr, "batches")) == 0) {
        printf("no running task\n");
        return 1;
    }
    json_array_foreach(json_object_get(fr, "tasks"), i, e) {
        if (json_object_get(e, "lease_expires_at") != NULL) {
            cli_mon_task_line(stdout, e, color); /* a running task */
        } else {
            /* a task record: finished, or not started yet */
            const char *st = json_string_value(json_object_get(e, "state"));
            const json_t *p = json_object_get(e, "progress");
            double cur = num(json_object_get(p, "current"));
            double tot = num(json_object_get(p, "total"));
            const char *nm = json_string_value(json_object_get(e, "name"));
            const char *id = json_string_value(json_object_get(e, "id"));
            printf("%-28.28s %-8.8s ", nm ? nm : "?", id ? id : "?");
            bar(stdout, tot > 0 ? cur * 100.0 / tot : NAN, color,
                st != NULL && strcmp(st, "SUCCESS") != 0 &&
                    strcmp(st, "PENDING") != 0);
            if (tot > 0) {
                printf(" %3.0f%% %.0f/%.0f", cur * 100.0 / tot, cur, tot);
            }
            printf(" %s\n", st != NULL ? st : "?");
        }
        lines++;
    }
    json_array_foreach(json_object_get(fr, "batches"), i, e) {
        cli_mon_batch_line(stdout, e, color);
        lines++;
    }
    return lines;
}

static int
cli_monitor_progress(struct cli *cli)
{
    syncq_client *c;
    syncq_error err;
    bool watch = false;
    const char *batch = NULL, *task = NULL;
    int64_t interval_ms = 1000;
    bool tty = isatty(1) != 0;
    bool color = cli_color();
    int prev_lines = 0;
    bool down = false;
    int rc = CLI_OK;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'w':
            watch = true;
            break;
        case 'b':
            batch = ov->arg;
            break;
        case 't':
            task = ov->arg;
            break;
        case 'i':
            if (sq_duration_parse_ms(ov->arg, &interval_ms, &err) != SYNCQ_OK ||
                interval_ms < 100 || interval_ms > 3600000) {
                return cli_usage(cli, "--interval '%s' must be 0.1s .. 1h",
                                 ov->arg);
            }
            break;
        }
    }
    if (batch != NULL && task != NULL) {
        return cli_usage(cli, "give --batch or --task, not both");
    }
    if ((batch != NULL && batch[0] == '\0') ||
        (task != NULL && task[0] == '\0')) {
        return cli_usage(cli, "--%s needs an ID (it is empty)",
                         batch != NULL ? "batch" : "task");
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    install_signals();
    for (;;) {
        bool done = false;
        json_t *fr = progress_frame(c, batch, task, &done, &err);
        if (fr != NULL && down) {
            fprintf(stderr, "syncq: %s: Redis is back\n", cli->cmd);
            down = false;
        }
        if (fr == NULL) {
            if (!watch || err.code != SYNCQ_ECONN) {
                rc = cli_error(cli, &err, true); /* a bad id: usage */
                break;
            }
            /* one line when Redis goes away, one when it is back: not a
             * line per frame while it is down */
            if (!down) {
                fprintf(stderr, "syncq: %s: %s (retrying until it is "
                                "back)\n",
                        cli->cmd, err.msg);
                down = true;
            }
        } else if (cli->json) {
            cli_print_json(fr);
            fflush(stdout);
        } else {
            if (watch && tty && prev_lines > 0) {
                printf("\033[%dA\033[J", prev_lines);
            }
            prev_lines = render_frame(fr, color);
            if (watch && !tty) {
                printf("\n");
            }
            fflush(stdout);
        }
        json_decref(fr);
        /* A hangup (the terminal closed) or a failed write (the reader of
         * the pipe went away) ends a watch: nobody is looking any more. */
        if (!watch || done || stop_flag || hup_flag || ferror(stdout)) {
            break;
        }
        for (int64_t slept = 0; slept < interval_ms && !stop_flag;
             slept += 50) {
            sq_sleep_ms(50);
        }
        if (stop_flag) {
            break;
        }
    }
    return rc;
}

/* ---- alerts -------------------------------------------------------------- */

static void
print_rule(const struct sq_alert_rule *r)
{
    printf("%-24s %s", r->name, sq_alert_metric_name(r->metric));
    if (r->queue[0] || r->task[0]) {
        printf("{%s%s%s%s%s}", r->queue[0] ? "queue=" : "", r->queue,
               r->queue[0] && r->task[0] ? "," : "", r->task[0] ? "task=" : "",
               r->task);
    }
    printf(" %s %g  for %llds window %llds keep %llds clear %g  %s\n",
           sq_alert_op_name(r->op), r->threshold,
           (long long)(r->for_ms / 1000), (long long)(r->window_ms / 1000),
           (long long)(r->keep_ms / 1000), r->clear, r->severity);
}

static int
cli_monitor_alerts(struct cli *cli)
{
    syncq_client *c;
    syncq_error err;
    json_t *a = NULL;
    long recent = 20;
    const char *check = NULL;
    size_t i;
    json_t *e;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        char *end;
        switch (ov->key) {
        case 'r':
            recent = strtol(ov->arg, &end, 10);
            if (*end != '\0' || recent < 0 || recent > 200) {
                return cli_usage(cli, "--recent '%s' must be 0..200", ov->arg);
            }
            break;
        case 'c':
            check = ov->arg;
            break;
        }
    }
    if (check != NULL) {
        struct sq_alert_rules rules;
        if (sq_alert_rules_load(check, &rules, &err) != SYNCQ_OK) {
            return cli_fail(cli, "%s", err.msg);
        }
        if (cli->json) {
            json_t *arr = json_array();
            for (size_t k = 0; k < rules.n; k++) {
                json_t *o = json_object();
                json_object_set_new(o, "name", json_string(rules.r[k].name));
                json_object_set_new(
                    o, "metric",
                    json_string(sq_alert_metric_name(rules.r[k].metric)));
                json_object_set_new(
                    o, "op", json_string(sq_alert_op_name(rules.r[k].op)));
                json_object_set_new(o, "threshold",
                                    json_real(rules.r[k].threshold));
                json_object_set_new(o, "severity",
                                    json_string(rules.r[k].severity));
                json_array_append_new(arr, o);
            }
            cli_print_json(arr);
            json_decref(arr);
        } else {
            for (size_t k = 0; k < rules.n; k++) {
                print_rule(&rules.r[k]);
            }
            printf("%zu rules ok\n", rules.n);
        }
        sq_alert_rules_cleanup(&rules);
        return CLI_OK;
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    if (syncq_monitor_alerts(c, recent > 0 ? (size_t)recent : 1, &a, &err) !=
        SYNCQ_OK) {
        return cli_fail(cli, "%s", err.msg);
    }
    if (cli->json) {
        cli_print_json(a);
        json_decref(a);
        return CLI_OK;
    }
    {
        int active = 0;
        printf("%-24s %-9s %-9s %-14s %-12s %s\n", "ALERT", "STATE",
               "SEVERITY", "VALUE", "SINCE", "SUMMARY");
        json_array_foreach(json_object_get(a, "alerts"), i, e) {
            const char *st = json_string_value(json_object_get(e, "state"));
            const json_t *v = json_object_get(e, "value");
            char val[32];
            if (st == NULL ||
                (strcmp(st, "firing") != 0 && strcmp(st, "pending") != 0)) {
                continue;
            }
            active++;
            if (json_is_number(v)) {
                snprintf(val, sizeof val, "%g", json_number_value(v));
            } else {
                snprintf(val, sizeof val, "-");
            }
            printf("%-24s %-9s %-9s %-14s %-12.19s %s\n",
                   json_string_value(json_object_get(e, "name")), st,
                   json_string_value(json_object_get(e, "severity")), val,
                   json_string_value(json_object_get(e, strcmp(st, "firing")
                                                            ? "since"
                                                            : "fired_at")),
                   json_string_value(json_object_get(e, "summary")));
        }
        if (active == 0) {
            printf("(no active alert)\n");
        }
        if (recent > 0) {
            printf("\nRECENT\n");
            json_array_foreach(json_object_get(a, "recent"), i, e) {
                printf("%-24.24s %-24s %-9s %s\n",
                       json_string_value(json_object_get(e, "at")),
                       json_string_value(json_object_get(e, "name")),
                       json_string_value(json_object_get(e, "state")),
                       json_string_value(json_object_get(e, "summary")));
            }
        }
    }
    json_decref(a);
    return CLI_OK;
}

/* ---- serve -------------------------------------------------------------- */

/* A token given on the command line is visible to every local user (ps,
 * /proc/PID/cmdline); a file (mode 0600) is not. The token is the file's
 * first line without its line end. Returns CLI_OK or the failure. */
static int
token_file(struct cli *cli, const char *opt, const char *path, char *buf,
           size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        return cli_fail(cli, "--%s %s: %s", opt, path, strerror(errno));
    }
    if (fgets(buf, (int)cap, f) == NULL) {
        buf[0] = '\0';
    }
    fclose(f);
    n = strcspn(buf, "\r\n");
    if (buf[n] == '\0' && n == cap - 1) {
        return cli_fail(cli, "--%s %s: a token is at most %zu bytes", opt,
                        path, cap - 2);
    }
    buf[n] = '\0';
    if (n == 0) {
        return cli_fail(cli, "--%s %s: the first line is empty", opt, path);
    }
    return CLI_OK;
}

static int
cli_monitor_serve(struct cli *cli)
{
    static char api_buf[1024];
    struct sq_mon_serve_opts so;
    syncq_config *cfg, **more = NULL;
    syncq_error err;
    const char *logfile = NULL, *logfmt = NULL, *loglevel = NULL;
    const char *api_file = NULL;
    int rc;

    memset(&so, 0, sizeof so);
    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'l':
            so.listen = ov->arg;
            break;
        case 't':
            if (ov->arg[0] == '\0') { /* would silently mean "no token" */
                return cli_usage(cli, "--token is empty; give a token or "
                                      "leave the option out");
            }
            so.token = ov->arg;
            break;
        case 'r':
            so.rules_path = ov->arg;
            break;
        case 'n':
            so.no_alerts = true;
            break;
        case 'f':
            logfile = ov->arg;
            break;
        case 'F':
            logfmt = ov->arg;
            break;
        case 'L':
            loglevel = ov->arg;
            break;
        case 'p':
            so.port_file = ov->arg;
            break;
        case 1:
            so.api_token = ov->arg;
            break;
        case 2:
            api_file = ov->arg;
            break;
        }
    }
    if (so.api_token != NULL && api_file != NULL) {
        return cli_usage(cli, "give --api-token or --api-token-file, not both");
    }
    if (so.api_token != NULL && so.api_token[0] == '\0') {
        return cli_usage(cli, "--api-token is empty");
    }
    if (api_file != NULL) {
        rc = token_file(cli, "api-token-file", api_file, api_buf,
                        sizeof api_buf);
        if (rc != CLI_OK) {
            return rc;
        }
        so.api_token = api_buf;
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return CLI_FAIL;
    }
    rc = cli_setup_logging(cli, "monitor", loglevel, logfmt, logfile);
    if (rc != CLI_OK) {
        return rc;
    }
    rc = cli_multi_configs(cli, &more, &so.nmore);
    if (rc != CLI_OK) {
        return rc;
    }
    so.more_cfg = (const syncq_config *const *)more;
    install_signals();
    if (sq_mon_serve(cfg, &so, &stop_flag, &hup_flag, &err) != SYNCQ_OK) {
        rc = cli_error(cli, &err, true);
    }
    cli_multi_configs_free(more, so.nmore);
    return rc;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt monitor_health_opts[] = {
    {"quiet", 'q', true, NULL, "print nothing; the exit status tells"},
    CLI_MULTI_OPT,
    CLI_OPT_END,
};

static const struct cli_opt monitor_progress_opts[] = {
    {"watch", 'w', true, NULL, "redraw every --interval until Ctrl-C"},
    {"batch", 'b', true, "ID",
     "only this batch (--watch ends when it finishes)"},
    {"task", 't', true, "ID", "only this task (--watch ends when it ends)"},
    {"interval", 'i', true, "SECONDS",
     "refresh period with --watch (default 1)"},
    CLI_OPT_END,
};

static const struct cli_opt monitor_alerts_opts[] = {
    {"recent", 'r', true, "N", "recent alerts to show"},
    {"check", 'c', true, "FILE",
     "parse an alert rules file and list its rules"},
    CLI_OPT_END,
};

static const struct cli_opt monitor_serve_opts[] = {
    {"listen", 'l', true, "HOST:PORT",
     "address to bind (default SYNCQ_MONITOR_LISTEN)"},
    {"token", 't', true, "T", "bearer token required of every request"},
    {"api-token", 1, false, "T",
     "the write token (default SYNCQ_API_TOKEN); visible in ps:\n"
     "prefer --api-token-file"},
    {"api-token-file", 2, false, "FILE",
     "read the write token from FILE's first line"},
    {"rules", 'r', true, "FILE",
     "alert rules file (default SYNCQ_ALERT_RULES)"},
    {"no-alerts", 'n', true, NULL, "do not evaluate alert rules"},
    {"logfile", 'f', true, "FILE", "log to FILE (reopened on SIGHUP)"},
    {"log-format", 'F', true, "text|json", "log format (--json: json)"},
    {"log-level", 'L', true, "LEVEL", "debug, info, warning or error"},
    {"port-file", 'p', true, "FILE", "write the bound port to FILE"},
    {"namespace", CLI_OPT_NAMESPACE, false, "NS1,NS2",
     "serve these namespaces (SYNCQ_NAMESPACE):\n"
     "one server, ?ns=NS picks one (default the first)"},
    CLI_OPT_END,
};

const struct cli_cmd cli_monitor_cmds[] = {
    {.path = "monitor health",
     .run = cli_monitor_health,
     .summary = "healthy / degraded / unhealthy with reasons (exit 0/1/2)",
     .synopsis = "[--json] [--quiet]",
     .description = "Check the system: healthy, degraded or unhealthy, with"
                    " the reasons\n"
                    "(Redis unreachable, no worker alive for a queue with"
                    " work, error rate\n"
                    "over SYNCQ_HEALTH_MAX_ERROR_RATE, a queue growing,"
                    " stale heartbeats or\n"
                    "a stalled consumer loop, Redis eviction policy or"
                    " memory).\n"
                    "Exit status: 0 healthy, 1 degraded, 2 unhealthy (for"
                    " container and\n"
                    "systemd health checks).",
     .opts = monitor_health_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = "monitor progress",
     .run = cli_monitor_progress,
     .summary = "progress bars of running tasks and batches (--watch)",
     .synopsis = "[--watch] [--batch ID] [--task ID]\n"
                 " [--interval SECONDS] [--json]",
     .description = "Progress bars of running tasks (current/total, rate,"
                    " ETA, message) and\n"
                    "of unfinished batches. --watch redraws every --interval"
                    " (default 1 s)\n"
                    "until Ctrl-C (or until the --batch / --task finishes):"
                    " in place on a\n"
                    "terminal, as plain lines otherwise. Colours unless"
                    " NO_COLOR is set.\n"
                    "--json prints one JSON object per refresh: {at, tasks,"
                    " batches}.",
     .opts = monitor_progress_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = "monitor alerts",
     .run = cli_monitor_alerts,
     .summary = "active and recent alerts",
     .synopsis = "[--json] [--recent N]\n"
                 "--check FILE",
     .description = "Active (firing, pending) and recent alerts as evaluated"
                    " by\n"
                    "`syncq monitor serve` and the beat. --check parses an"
                    " alert rules\n"
                    "file (docs/monitor.md) and lists its rules; exit 1 on a"
                    " bad file.",
     .opts = monitor_alerts_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = "monitor serve",
     .run = cli_monitor_serve,
     .summary = "web dashboard, JSON API and Prometheus /metrics",
     .synopsis = "[--listen HOST:PORT] [--token T]\n"
                 " [--api-token T | --api-token-file FILE]\n"
                 " [--rules FILE] [--no-alerts]\n"
                 " [--logfile FILE] [--log-format text|json]\n"
                 " [--log-level LEVEL] [--port-file FILE]\n"
                 " [--namespace NS1,NS2]",
     .description = "Serve the live dashboard (/), the JSON and task API"
                    " (/api/...,\n"
                    "/api/openapi.json; docs/api.md) and Prometheus /metrics,"
                    " and evaluate\n"
                    "the alert rules every 5 s. Binds to 127.0.0.1:5555 by"
                    " default\n"
                    "(SYNCQ_MONITOR_LISTEN); any non-loopback address needs a"
                    " token\n"
                    "(--token or SYNCQ_MONITOR_TOKEN, or SYNCQ_API_TOKEN), and"
                    " with a\n"
                    "token every request must carry it (Authorization: Bearer"
                    " T, or\n"
                    "?token=T once); with a write token (--api-token-file,"
                    " --api-token or\n"
                    "SYNCQ_API_TOKEN) set, writes need that one. A token on"
                    " the command\n"
                    "line is visible to every local user in ps: prefer a file"
                    " (mode 0600)\n"
                    "or the environment.\n"
                    "Port 0 picks a free port (--port-file records it).\n"
                    "--namespace a,b serves several namespaces: every page"
                    " and API call\n"
                    "takes ?ns=NS (default a), /metrics labels every series"
                    " with its\n"
                    "namespace, alert rules run in each (docs/dashboard.md).\n"
                    "SIGHUP reopens --logfile; SIGTERM/SIGINT stop.",
     .opts = monitor_serve_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
