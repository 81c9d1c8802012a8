/* SPDX-License-Identifier: MIT
 *
 * cli_main.c: `syncq` entry point: finds the command in cli_commands[]
 * (longest match of the leading words), hands it the rest of argv, and
 * provides the helpers of cli.h.
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
    for (const struct cli_cmd *c = cli_commands; c->path != NULL; c++) {
        fprintf(f, "  %-22s %s\n", c->path, c->summary);
    }
    fprintf(f, "\nEvery command takes --help, --json (machine-readable "
               "output), --broker URL\nand --env-file FILE. Exit status: 0 "
               "ok, 1 failure, 2 usage error.\n"
               "Configuration: .env, then the environment (SYNCQ_*, or the "
               "seed's CELERY_*),\nthen flags. See `syncq config show`.\n");
}

int
cli_common_opt(struct cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_JSON:
        cli->json = true;
        return 1;
    case CLI_OPT_BROKER:
        cli->broker = arg;
        return 1;
    case CLI_OPT_ENVFILE:
        cli->env_file = arg;
        return 1;
    default:
        return 0;
    }
}

int
cli_help(struct cli *cli, const char *usage)
{
    (void)cli;
    fputs(usage, stdout);
    return CLI_OK;
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
    syncq_config *cfg = cli_config(cli);
    syncq_client *c = NULL;
    syncq_error err;

    if (cfg == NULL) {
        return NULL;
    }
    if (syncq_client_open(NULL, cfg, &c, &err) != SYNCQ_OK) {
        cli_fail(cli, "%s", err.msg);
        return NULL;
    }
    return c;
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

char *
cli_json_arg(struct cli *cli, const char *what, const char *arg)
{
    FILE *f;
    char *buf;
    size_t cap = 4096, len = 0;

    if (arg[0] != '@' && strcmp(arg, "-") != 0) {
        return strdup(arg);
    }
    f = strcmp(arg, "-") == 0 ? stdin : fopen(arg + 1, "r");
    if (f == NULL) {
        cli_fail(cli, "%s: cannot read %s: %s", what, arg + 1,
                 strerror(errno));
        return NULL;
    }
    buf = malloc(cap);
    while (buf != NULL) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            break;
        }
        if (len + 1 >= cap) {
            char *nb;
            if (cap > ((size_t)1 << 30)) {
                free(buf);
                buf = NULL;
                cli_fail(cli, "%s: file over 1 GiB", what);
                break;
            }
            nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (f != stdin) {
        fclose(f);
    }
    if (buf != NULL) {
        buf[len] = '\0';
    }
    return buf;
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

int cli_version(struct cli *cli);

int
cli_version(struct cli *cli)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    int opt;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) !=
           -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, "usage: syncq version [--json]\n\nPrint "
                                 "the version.\n");
        }
        return cli_bad_opt(cli, opt);
    }
    if (optind < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'", cli->argv[optind]);
    }
    if (cli->json) {
        printf("{\"version\":\"%s\"}\n", syncq_version());
    } else {
        printf("syncq %s\n", syncq_version());
    }
    return CLI_OK;
}

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
    for (const struct cli_cmd *c = cli_commands; c->path != NULL; c++) {
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
        for (int w = 1; w < argc && argv[w][0] != '-'; w++) {
            char cand[128];
            size_t cl;
            bool any = false;
            snprintf(cand, sizeof cand, "%s%s%s", group, group[0] ? " " : "",
                     argv[w]);
            cl = strlen(cand);
            for (const struct cli_cmd *c = cli_commands; c->path != NULL;
                 c++) {
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
        if (group[0] != '\0') {
            size_t gl = strlen(group);
            if (unknown != NULL) {
                fprintf(stderr, "syncq: '%s' has no subcommand '%s'; it "
                                "has:\n",
                        group, unknown);
            } else {
                fprintf(stderr, "syncq: '%s' needs a subcommand:\n", group);
            }
            for (const struct cli_cmd *c = cli_commands; c->path != NULL;
                 c++) {
                if (strncmp(c->path, group, gl) == 0 && c->path[gl] == ' ') {
                    fprintf(stderr, "  syncq %-26s %s\n", c->path,
                            c->summary);
                    shown = 1;
                }
            }
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
    optind = 1;
    opterr = 0;
    rc = best->run(&cli);
    syncq_config_free(cli.cfg);
    return rc;
}

int
cli_bad_opt(struct cli *cli, int opt)
{
    const char *text = optind - 1 < cli->argc ? cli->argv[optind - 1] : "?";

    if (opt == ':') {
        return cli_usage(cli, "option %s needs a value", text);
    }
    if (optopt != 0 && optopt != '?' && text[0] == '-' && text[1] != '-') {
        return cli_usage(cli, "unknown option -%c", optopt);
    }
    return cli_usage(cli, "unknown option %s", text);
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
