/* SPDX-License-Identifier: MIT
 *
 * cli_task_run.c: `syncq task run NAME [-k JSON] [-a JSON]`: run a task
 * in this process (syncq_task_run_local) and print its result, for task
 * authors. Progress, checkpoints and sub-tasks go to the broker unless
 * --no-broker is given. Ctrl-C asks the task to stop (its context reports
 * stop requested); a second Ctrl-C kills it. The task runs in a child
 * process, as on a worker, so a task that crashes (syncq.crash) is
 * reported as the worker reports it (worker_lost, with the signal) and
 * never takes the CLI down with it.
 */
#include "cli/cli.h"
#include "worker/worker.h"
#include "worker/worker_ctx.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void
on_sigint(int sig)
{
    (void)sig;
    sq_worker_stop_flag = 1;
    signal(SIGINT, SIG_DFL); /* the second Ctrl-C kills */
}

/* Parse a JSON CLI argument of the expected type into *out; returns
 * CLI_OK or the exit code after reporting the error. */
static int
json_arg(struct cli *cli, const char *what, const char *arg, bool object,
         json_t **out)
{
    json_error_t jerr;
    char *text = NULL;
    int rc = cli_json_arg(cli, what, arg, &text);

    *out = NULL;
    if (rc != CLI_OK) {
        return rc;
    }
    *out = json_loads(text, JSON_ALLOW_NUL, &jerr);
    free(text);
    if (*out == NULL) {
        return cli_usage(cli, "%s is not valid JSON: %s (line %d)", what,
                         jerr.text, jerr.line);
    }
    if (object ? !json_is_object(*out) : !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return cli_usage(cli, "%s must be a JSON %s", what,
                         object ? "object" : "array");
    }
    return CLI_OK;
}

/* The child died without reporting: say so as a worker would. */
static int
report_death(struct cli *cli, int st)
{
    char how[96];

    if (WIFSIGNALED(st)) {
        snprintf(how, sizeof how, "signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    } else {
        snprintf(how, sizeof how, "status %d", st);
    }
    if (cli->json) {
        json_t *o = json_pack("{s:b,s:{s:s,s:s++}}", "ok", 0, "error",
                              "class", "worker_lost", "message",
                              "task process died (", how, ")");
        cli_print_json(o);
        json_decref(o);
        return CLI_FAIL;
    }
    return cli_fail(cli, "worker_lost: task process died (%s)", how);
}

/* Run `run(cli, ud)` in a child that dies with this process; its exit
 * status is ours. The parent leaves Ctrl-C to the child (first: stop
 * request, second: kill) and reports a death. */
static int
in_child(struct cli *cli, int (*run)(struct cli *, void *), void *ud)
{
    pid_t pid, ppid = getpid();
    int st = 0;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        return cli_fail(cli, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int rc;
        /* a SIGKILLed CLI must not leave its task running */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != ppid) {
            _exit(CLI_FAIL);
        }
        rc = run(cli, ud);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    signal(SIGINT, SIG_IGN);
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            signal(SIGINT, SIG_DFL);
            return cli_fail(cli, "waitpid: %s", strerror(errno));
        }
    }
    signal(SIGINT, SIG_DFL);
    if (WIFEXITED(st)) {
        return WEXITSTATUS(st);
    }
    return report_death(cli, st);
}

/* What the child needs to run the task. */
struct run_state {
    syncq_registry *reg;
    syncq_config *cfg;
    json_t *kw, *args;
    const char *id;
    bool no_broker;
};

static void
print_outcome(struct cli *cli, const syncq_local_result *res)
{
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_boolean(res->ok));
        if (res->ok) {
            json_object_set(o, "result", res->result);
        } else {
            json_t *e = json_pack("{s:s,s:s}", "class",
                                  syncq_error_class_name(res->error_class),
                                  "message", res->error_msg);
            if (res->error_detail != NULL) {
                json_object_set(e, "detail", res->error_detail);
            }
            if (res->retry_after_ms > 0) {
                json_object_set_new(e, "retry_after_ms",
                                    json_integer(res->retry_after_ms));
            }
            json_object_set_new(o, "error", e);
        }
        json_object_set_new(o, "runtime_ms", json_integer(res->runtime_ms));
        cli_print_json(o);
        json_decref(o);
    } else if (res->ok) {
        cli_print_json(res->result);
    } else {
        cli_fail(cli, "%s: %s", syncq_error_class_name(res->error_class),
                 res->error_msg);
    }
}

/* In the child: connect, run the task, print its outcome. */
static int
run_body(struct cli *cli, void *ud)
{
    struct run_state *st = ud;
    syncq_client *c = NULL;
    syncq_local_result res;
    syncq_error err;
    int rc, status;

    if (!st->no_broker) {
        /* Refused rather than run without Redis on the quiet: the task's
         * progress, checkpoints and sub-tasks would go nowhere. */
        c = cli_client_hint(cli, "task run keeps progress, checkpoints "
                                 "and sub-tasks there: add --no-broker to "
                                 "run without Redis");
        if (c == NULL) {
            return CLI_FAIL;
        }
    }
    signal(SIGINT, on_sigint);
    rc = syncq_task_run_local(st->reg, cli->argv[cli->optind], st->args,
                              st->kw, c, st->cfg, st->id, &res, &err);
    signal(SIGINT, SIG_DFL);
    if (rc != SYNCQ_OK) {
        syncq_client_close(c);
        return cli_fail(cli, "%s", err.msg);
    }
    print_outcome(cli, &res);
    status = res.ok ? CLI_OK : CLI_FAIL;
    syncq_local_result_cleanup(&res);
    syncq_client_close(c);
    return status;
}

static int
cli_task_run(struct cli *cli)
{
    const char *kw_arg = NULL, *args_arg = NULL, *id = NULL;
    const char *plugins[64];
    size_t nplugins = 0;
    bool no_broker = false;
    json_t *kw = NULL, *args = NULL;
    syncq_config *cfg;
    syncq_registry *reg;
    syncq_error err;
    int rc, status = CLI_FAIL;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'k':
            kw_arg = ov->arg;
            break;
        case 'a':
            args_arg = ov->arg;
            break;
        case 1:
            id = ov->arg;
            break;
        case 2:
            if (nplugins == sizeof plugins / sizeof plugins[0]) {
                return cli_usage(cli, "too many --plugin options (max 64)");
            }
            plugins[nplugins++] = ov->arg;
            break;
        case 3:
            no_broker = true;
            break;
        }
    }
    if (cli->optind >= cli->argc) {
        return cli_usage(cli, "missing task NAME");
    }
    if (cli->optind + 1 < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'",
                         cli->argv[cli->optind + 1]);
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return CLI_FAIL;
    }
    reg = syncq_registry_default();
    if (reg == NULL) {
        return cli_fail(cli, "out of memory");
    }
    rc = sq_worker_load_plugins(reg, syncq_config_str(cfg, "SYNCQ_PLUGINS"),
                                plugins, nplugins, &err);
    if (rc != SYNCQ_OK) {
        return cli_fail(cli, "%s", err.msg);
    }
    if (kw_arg != NULL &&
        (rc = json_arg(cli, "kwargs", kw_arg, true, &kw)) != CLI_OK) {
        return rc;
    }
    if (args_arg != NULL &&
        (rc = json_arg(cli, "args", args_arg, false, &args)) != CLI_OK) {
        json_decref(kw);
        return rc;
    }
    {
        struct run_state st = {reg, cfg, kw, args, id, no_broker};
        status = in_child(cli, run_body, &st);
    }
    json_decref(kw);
    json_decref(args);
    return status;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt task_run_opts[] = {
    {"kwargs", 'k', true, "JSON",
     "keyword arguments, a JSON object (@file or - for stdin)"},
    {"args", 'a', true, "JSON", "positional arguments, a JSON array"},
    {"id", 1, false, "UUID", "task id seen by the task (default: a new one)"},
    {"plugin", 2, false, "PATH", "load a task plugin (.so) first; repeatable"},
    {"no-broker", 3, false, NULL,
     "run without Redis: progress is dropped, checkpoints\n"
     "stay in memory, sub-tasks cannot be enqueued"},
    {"json", CLI_OPT_JSON, false, NULL,
     "print {\"ok\", \"result\" | \"error\", \"runtime_ms\"}"},
    CLI_OPT_END,
};

static const char *const task_run_examples[] = {
    "syncq task run syncq.echo -k '{\"offer_id\":\"123\"}'",
    NULL,
};

const struct cli_cmd cli_task_run_cmds[] = {
    {.path = "task run",
     .run = cli_task_run,
     .summary = "run a task in-process, print its result",
     .synopsis = "NAME [-k JSON] [-a JSON] [options]",
     .description = "Run a registered task in this process and print its"
                    " result (task authors).",
     .opts = task_run_opts,
     .notes = "Prints the result JSON on success (exit 0). A failed task"
              " prints\n"
              "\"syncq: task run: <class>: <message>\" and exits 1; an"
              " unknown task exits 1.\n"
              "The task runs in a child process: one that dies (a crash, a"
              " kill) is\n"
              "reported as \"worker_lost: task process died (signal 11"
              " ...)\", exit 1.\n"
              "Ctrl-C asks the task to stop; a second Ctrl-C kills it.",
     .examples = task_run_examples},
    {.path = NULL},
};
