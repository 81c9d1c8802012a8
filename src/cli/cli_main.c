/* SPDX-License-Identifier: MIT
 *
 * cli_main.c: `syncq` entry point: finds the command in the command
 * table (longest match of the leading words), parses its options from its
 * row (cli_table.c), runs it, and provides the helpers of cli.h. Also the
 * rows of `syncq version` and the internal `syncq help`.
 */
#include "cli/cli.h"
#include "core/sq_logwriter.h"
#include "core/sq_time.h"
#include "task_packs.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
top_usage(FILE *f)
{
    fprintf(f, "usage: syncq [--json] [--broker URL] [--env-file F] COMMAND "
               "[ARGS...]\n\n"
               "syncq %s: the 1688sync task queue and scheduler on Redis.\n\n"
               "Commands:\n",
            syncq_version());
    for (const struct cli_cmd *c = cli_cmd_next(NULL); c != NULL;
         c = cli_cmd_next(c)) {
        if ((c->flags & CLI_CMD_HIDDEN) == 0) {
            fprintf(f, "  %-22s %s\n", c->path, c->summary);
        }
    }
    fprintf(f, "\nEvery command takes --help, --json (machine-readable "
               "output), --broker URL\nand --env-file FILE. Exit status: 0 "
               "ok, 1 failure, 2 usage error.\n"
               "Configuration: .env, then the environment (SYNCQ_*, or the "
               "seed's CELERY_*),\nthen flags. See `syncq config show`.\n");
}

int
cli_usage(struct cli *cli, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "syncq: %s: ", cli->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'syncq %s --help'.\n", cli->cmd);
    return CLI_USAGE;
}

int
cli_fail(struct cli *cli, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "syncq: %s: ", cli->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int
cli_error(struct cli *cli, const syncq_error *err, bool usage_on_einval)
{
    if (usage_on_einval && err->code == SYNCQ_EINVAL) {
        return cli_usage(cli, "%s", err->msg);
    }
    return cli_fail(cli, "%s", err->msg);
}

syncq_config *
cli_config(struct cli *cli)
{
    syncq_error err;

    if (cli->cfg != NULL) {
        return cli->cfg;
    }
    if (syncq_config_new(&cli->cfg, &err) != SYNCQ_OK ||
        syncq_config_load(cli->cfg, cli->env_file, &err) != SYNCQ_OK ||
        (cli->broker != NULL &&
         syncq_config_set(cli->cfg, "SYNCQ_BROKER_URL", cli->broker,
                          "--broker", &err) != SYNCQ_OK)) {
        cli_fail(cli, "%s", err.msg);
        syncq_config_free(cli->cfg);
        cli->cfg = NULL;
        return NULL;
    }
    return cli->cfg;
}

syncq_client *
cli_client(struct cli *cli)
{
    return cli_client_hint(cli, NULL);
}

syncq_client *
cli_client_hint(struct cli *cli, const char *hint)
{
    syncq_config *cfg;
    syncq_error err;

    if (cli->client != NULL) {
        return cli->client;
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return NULL;
    }
    if (syncq_client_open(NULL, cfg, &cli->client, &err) != SYNCQ_OK) {
        /* A newcomer's first command meets the default URL: say where
         * the URL comes from and how to get a Redis. */
        bool dflt = err.code == SYNCQ_ECONN &&
                    strcmp(syncq_config_source(cfg, "SYNCQ_BROKER_URL"),
                           "default") == 0;
        cli_fail(cli, "%s%s%s%s", err.msg,
                 dflt ? " (the default URL: set SYNCQ_BROKER_URL or "
                        "--broker, or start a private Redis with `syncq "
                        "up`)"
                      : "",
                 hint != NULL ? "; " : "", hint != NULL ? hint : "");
        cli->client = NULL;
        return NULL;
    }
    return cli->client;
}

int
cli_call_json(struct cli *cli,
              int (*fn)(syncq_client *, const char *, json_t **, syncq_error *),
              const char *arg, json_t **out, bool usage_on_einval)
{
    syncq_client *c = cli_client(cli);
    syncq_error err;

    *out = NULL;
    if (c == NULL) {
        return CLI_FAIL;
    }
    if (fn(c, arg, out, &err) != SYNCQ_OK) {
        *out = NULL;
        return cli_error(cli, &err, usage_on_einval);
    }
    return CLI_OK;
}

int
cli_num_arg(struct cli *cli, const char *what, const char *arg, long lo,
            long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi) {
        return cli_usage(cli, "%s '%s' is not a number in %ld..%ld", what, arg,
                         lo, hi);
    }
    *out = v;
    return 0;
}

void
cli_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                JSON_PRESERVE_ORDER);

    if (s != NULL) {
        puts(s);
        syncq_free(s);
    }
}

int
cli_time_arg(struct cli *cli, const char *what, const char *arg,
             int64_t *ms_rel, int64_t *ms_abs)
{
    syncq_error e1, e2;
    int64_t v;

    *ms_rel = -1;
    *ms_abs = -1;
    if (sq_duration_parse_ms(arg, &v, &e1) == SYNCQ_OK) {
        *ms_rel = v;
        return 0;
    }
    if (sq_time_parse_iso8601(arg, &v, &e2) == SYNCQ_OK) {
        *ms_abs = v;
        return 0;
    }
    return cli_usage(cli,
                     "%s '%.64s' is neither seconds/a duration (30, 5m, 2h) "
                     "nor an ISO 8601 time (2026-12-01T02:00:00+08:00)",
                     what, arg);
}

int
cli_duration_arg(struct cli *cli, const char *what, const char *arg,
                 int64_t *ms)
{
    syncq_error err;

    if (sq_duration_parse_ms(arg, ms, &err) != SYNCQ_OK) {
        return cli_usage(cli, "%s: %s", what, err.msg);
    }
    return 0;
}

int
cli_follow_timeout_arg(struct cli *cli, const char *arg,
                       const char *absent, int64_t *ms)
{
    syncq_error err;

    if (sq_duration_parse_ms(arg, ms, &err) != SYNCQ_OK ||
        *ms < 1000 || *ms > 7LL * 86400000) {
        return cli_usage(cli, "--timeout '%.40s' must be 1s .. 7d (%s)", arg,
                         absent);
    }
    return 0;
}

void
cli_print_fields(json_t *o, int width)
{
    const char *key;
    json_t *v;

    json_object_foreach(o, key, v)
    {
        if (json_is_string(v)) {
            printf("%-*s %s\n", width, key, json_string_value(v));
        } else if (json_is_null(v)) {
            printf("%-*s -\n", width, key);
        } else {
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("%-*s %s\n", width, key, t ? t : "?");
            syncq_free(t);
        }
    }
}

bool
cli_color(void)
{
    const char *nc = getenv("NO_COLOR");

    return isatty(1) && (nc == NULL || nc[0] == '\0');
}

int
cli_setup_logging(struct cli *cli, const char *proc, const char *level,
                  const char *format, const char *logfile)
{
    syncq_config *cfg = cli_config(cli);
    syncq_error err;
    int lvl, fmt;

    if (cfg == NULL) {
        return CLI_FAIL;
    }
    if (level == NULL) {
        level = syncq_config_str(cfg, "SYNCQ_LOG_LEVEL");
    }
    if (format == NULL) {
        /* a daemon's machine-readable output is its log: --json means
         * JSON lines unless a format was given */
        format = cli->json ? "json"
                           : syncq_config_str(cfg, "SYNCQ_LOG_FORMAT");
    }
    lvl = syncq_log_level_parse(level);
    if (lvl < 0) {
        return cli_usage(cli, "log level '%s' is not debug, info, warning or "
                              "error", level);
    }
    fmt = sq_logwriter_format_parse(format);
    if (fmt < 0) {
        return cli_usage(cli, "log format '%s' is not text or json", format);
    }
    syncq_log_set_level(lvl);
    if (sq_logwriter_install(proc, logfile, fmt == 1, &err) != SYNCQ_OK) {
        return cli_fail(cli, "%s", err.msg);
    }
    return CLI_OK;
}

static int
cli_version(struct cli *cli)
{
    if (cli->json) {
        printf("{\"version\":\"%s\"}\n", syncq_version());
    } else {
        printf("syncq %s\n", syncq_version());
    }
    return CLI_OK;
}

enum { HELP_DUMP = 1 };

/* `syncq help [COMMAND...]`: a command's --help; `--dump-table`: the
 * whole table as JSON for the man page and completion generators. */
/* Print the commands of group `group` ("task", "recovery dead") to `out`
 * (NULL: only count them), one a line; returns how many. */
static int
list_group(const char *group, FILE *out)
{
    size_t gl = strlen(group);
    int shown = 0;

    for (const struct cli_cmd *c = cli_cmd_next(NULL); c != NULL;
         c = cli_cmd_next(c)) {
        if (strncmp(c->path, group, gl) == 0 && c->path[gl] == ' ' &&
            (c->flags & CLI_CMD_HIDDEN) == 0) {
            if (out != NULL) {
                fprintf(out, "  syncq %-26s %s\n", c->path, c->summary);
            }
            shown++;
        }
    }
    return shown;
}

static int
cli_help_cmd(struct cli *cli)
{
    const struct cli_cmd *found = NULL;
    char path[128] = "";

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == HELP_DUMP) {
            cli_dump_table(stdout);
            return CLI_OK;
        }
    }
    if (cli->optind >= cli->argc) {
        top_usage(stdout);
        return CLI_OK;
    }
    for (int i = cli->optind; i < cli->argc; i++) {
        size_t l = strlen(path);
        snprintf(path + l, sizeof path - l, "%s%s", l ? " " : "", cli->argv[i]);
    }
    for (const struct cli_cmd *c = cli_cmd_next(NULL); c != NULL;
         c = cli_cmd_next(c)) {
        if (strcmp(c->path, path) == 0) {
            found = c;
        }
    }
    if (found == NULL) {
        if (list_group(path, NULL) > 0) { /* `syncq help task` */
            printf("syncq %s: commands (syncq %s COMMAND --help):\n", path,
                   path);
            list_group(path, stdout);
            return CLI_OK;
        }
        return cli_usage(cli, "no command '%s'", path);
    }
    cli_print_help(found, stdout);
    return CLI_OK;
}

static const struct cli_opt help_opts[] = {
    {"dump-table", HELP_DUMP, false, NULL,
     "print the command table as JSON (format: src/cli/cli_table.c)"},
    CLI_OPT_END,
};

const struct cli_cmd cli_help_cmds[] = {
    {.path = "version",
     .run = cli_version,
     .summary = "print the version",
     .synopsis = "[--json]",
     .description = "Print the version.",
     .flags = CLI_CMD_NO_ARGS},
    {.path = "help",
     .run = cli_help_cmd,
     .summary = "a command's help, or the command table as JSON",
     .synopsis = "[COMMAND...]\n--dump-table",
     .description = "Print the help of COMMAND (as `syncq COMMAND --help`), "
                    "or with\n--dump-table every command, option and "
                    "example as JSON.",
     .opts = help_opts,
     .flags = CLI_CMD_HIDDEN},
    {.path = NULL},
};

/* Words of `path` matched against argv[1..]; returns how many. */
static int
match(const char *path, int argc, char **argv)
{
    char buf[128];
    int n = 0;
    char *save = NULL;
    char *w;

    snprintf(buf, sizeof buf, "%s", path);
    for (w = strtok_r(buf, " ", &save); w != NULL;
         w = strtok_r(NULL, " ", &save)) {
        if (1 + n >= argc || strcmp(argv[1 + n], w) != 0) {
            return 0;
        }
        n++;
    }
    return n;
}

/* The 1688 packs (packs/) are not in libsyncq: the binary registers them
 * into the default registry before any command looks a task up. */
static void
register_packs(void)
{
    syncq_error err;

    if (sq_packs_init(syncq_registry_default(), SYNCQ_PLUGIN_ABI, &err) !=
        SYNCQ_OK) {
        /* A built-in pack that cannot register is a build bug; keep the
         * others usable and make it visible on stderr. */
        fprintf(stderr, "syncq: built-in task pack: %s\n", err.msg);
    }
}

int
main(int argc, char **argv)
{
    const struct cli_cmd *best = NULL;
    int best_n = 0;
    struct cli cli;
    int rc;
    int first = 1;

    signal(SIGPIPE, SIG_IGN);
    register_packs();
    /* Global flags before the command. */
    memset(&cli, 0, sizeof cli);
    while (first < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "--json") == 0) {
            cli.json = true;
        } else if (strcmp(argv[first], "--broker") == 0 && first + 1 < argc) {
            cli.broker = argv[++first];
        } else if (strncmp(argv[first], "--broker=", 9) == 0) {
            cli.broker = argv[first] + 9;
        } else if (strcmp(argv[first], "--env-file") == 0 &&
                   first + 1 < argc) {
            cli.env_file = argv[++first];
        } else if (strncmp(argv[first], "--env-file=", 11) == 0) {
            cli.env_file = argv[first] + 11;
        } else if (strcmp(argv[first], "--help") == 0 ||
                   strcmp(argv[first], "-h") == 0) {
            top_usage(stdout);
            return CLI_OK;
        } else if (strcmp(argv[first], "--version") == 0) {
            printf("syncq %s\n", syncq_version());
            return CLI_OK;
        } else if (strcmp(argv[first], "--broker") == 0 ||
                   strcmp(argv[first], "--env-file") == 0) {
            fprintf(stderr, "syncq: option %s needs a value (%s)\nTry "
                            "'syncq --help'.\n",
                    argv[first],
                    argv[first][2] == 'b' ? "a Redis URL" : "a file");
            return CLI_USAGE;
        } else {
            fprintf(stderr, "syncq: unknown option %s\nTry 'syncq "
                            "--help'.\n",
                    argv[first]);
            return CLI_USAGE;
        }
        first++;
    }
    argv += first - 1;
    argc -= first - 1;
    if (argc < 2) {
        top_usage(stderr);
        return CLI_USAGE;
    }
    for (const struct cli_cmd *c = cli_cmd_next(NULL); c != NULL;
         c = cli_cmd_next(c)) {
        int n = match(c->path, argc, argv);
        if (n > best_n) {
            best = c;
            best_n = n;
        }
    }
    if (best == NULL) {
        /* A group alone ("syncq task", "syncq recovery dead"): list the
         * commands under the longest group the words name. */
        char group[128] = "";
        const char *unknown = NULL;
        int shown = 0;
        for (int w = 1; w < argc; w++) {
            if (argv[w][0] == '-') { /* "task --help": the group's help */
                if (strcmp(argv[w], "--help") == 0 ||
                    strcmp(argv[w], "-h") == 0) {
                    unknown = argv[w];
                }
                break;
            }
            char cand[128];
            size_t cl;
            bool any = false;
            snprintf(cand, sizeof cand, "%s%s%s", group, group[0] ? " " : "",
                     argv[w]);
            cl = strlen(cand);
            for (const struct cli_cmd *c = cli_cmd_next(NULL); c != NULL;
                 c = cli_cmd_next(c)) {
                if (strncmp(c->path, cand, cl) == 0 && c->path[cl] == ' ') {
                    any = true;
                }
            }
            if (!any) {
                unknown = argv[w];
                break;
            }
            snprintf(group, sizeof group, "%s", cand);
        }
        if (group[0] != '\0' && unknown != NULL &&
            (strcmp(unknown, "--help") == 0 || strcmp(unknown, "-h") == 0)) {
            printf("syncq %s: commands (syncq %s COMMAND --help):\n", group,
                   group);
            list_group(group, stdout);
            return CLI_OK;
        }
        if (group[0] != '\0') {
            if (unknown != NULL) {
                fprintf(stderr, "syncq: '%s' has no subcommand '%s'; it "
                                "has:\n",
                        group, unknown);
            } else {
                fprintf(stderr, "syncq: '%s' needs a subcommand:\n", group);
            }
            shown = list_group(group, stderr);
        }
        if (!shown) {
            fprintf(stderr, "syncq: unknown command '%s'\nTry 'syncq "
                            "--help'.\n",
                    argv[1]);
        }
        return CLI_USAGE;
    }
    cli.cmd = best->path;
    cli.argc = argc - best_n;
    cli.argv = argv + best_n;
    rc = cli_parse(&cli, best);
    if (rc < 0) {
        rc = best->run(&cli);
    }
    cli_parse_cleanup(&cli);
    syncq_client_close(cli.client);
    syncq_config_free(cli.cfg);
    return rc;
}

void
cli_warn_unknown_task(struct cli *cli, const char *name)
{
    char norm[256];
    syncq_registry *r = syncq_registry_default();

    if (syncq_task_name_normalize(name, norm, sizeof norm, NULL) != SYNCQ_OK ||
        r == NULL || syncq_registry_find(r, norm) != NULL) {
        return;
    }
    fprintf(stderr, "syncq: %s: warning: '%s' is not a built-in task; it "
                    "runs only on workers that load it (--plugin), else it "
                    "ends FAILURE (not_registered)\n",
            cli->cmd, norm);
}
