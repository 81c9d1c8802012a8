/* SPDX-License-Identifier: MIT
 *
 * cli.h: shared plumbing of the `syncq` command: the command table,
 * common options (--json, --broker, --env-file, --help), errors and exit
 * codes (0 ok, 1 the operation failed, 2 usage error), output helpers.
 * Errors go to stderr as "syncq: <command>: <message>" (one line).
 */
#ifndef SQ_CLI_H
#define SQ_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <syncq/syncq.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli {
    int argc;           /* arguments after the command words */
    char **argv;        /* argv[0] is the command path for getopt */
    const char *cmd;    /* "task create" */
    bool json;          /* --json */
    const char *broker; /* --broker URL or NULL */
    const char *env_file; /* --env-file or NULL */
    syncq_config *cfg;  /* loaded lazily by cli_config() */
};

struct cli_cmd {
    const char *path;            /* "task create" */
    int (*run)(struct cli *cli); /* returns an exit code */
    const char *summary;         /* one line for `syncq --help` */
};

/* The command table (cli_commands.c), NULL-terminated. */
extern const struct cli_cmd cli_commands[];

/* Common long options, to splice into every command's option table, and
 * their handler: returns 1 if `opt` was a common option (handled). */
#define CLI_OPT_JSON 1000
#define CLI_OPT_BROKER 1001
#define CLI_OPT_ENVFILE 1002
#define CLI_OPT_HELP 'h'
#define CLI_COMMON_OPTIONS                                                     \
    {"json", no_argument, NULL, CLI_OPT_JSON},                                 \
        {"broker", required_argument, NULL, CLI_OPT_BROKER},                   \
        {"env-file", required_argument, NULL, CLI_OPT_ENVFILE},                \
        {"help", no_argument, NULL, CLI_OPT_HELP}
int cli_common_opt(struct cli *cli, int opt, const char *arg);

/* Report a getopt error (':' missing value, '?' unknown); CLI_USAGE. */
int cli_bad_opt(struct cli *cli, int opt);

/* Print `usage` (the command's help text) to stdout; returns CLI_OK. */
int cli_help(struct cli *cli, const char *usage);

/* "syncq: <cmd>: <message>" + a hint to --help on stderr; CLI_USAGE. */
int cli_usage(struct cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "syncq: <cmd>: <message>" on stderr; returns CLI_FAIL. */
int cli_fail(struct cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Report err: usage errors (EINVAL from argument checks) exit 2 when
 * `usage_on_einval`, everything else 1. */
int cli_error(struct cli *cli, const syncq_error *err, bool usage_on_einval);

/* The configuration: defaults, .env (or --env-file), environment, with
 * --broker applied. Returns NULL after printing the error. */
syncq_config *cli_config(struct cli *cli);

/* Open a client; on failure prints the error and returns NULL. */
syncq_client *cli_client(struct cli *cli);

/* Print a JSON value on one line to stdout. */
void cli_print_json(json_t *v);

/* Warn on stderr (one line, the command still succeeds) when `name` is
 * no built-in task: a typo would otherwise only show up as a FAILURE
 * (not_registered) in a worker; a plugin's task is fine. */
void cli_warn_unknown_task(struct cli *cli, const char *name);

/* Read a JSON argument: literal text, "@path" for a file, "-" for stdin.
 * Returns an owned string (free with free()), or NULL after printing. */
char *cli_json_arg(struct cli *cli, const char *what, const char *arg);

/* Parse a time argument: seconds or a duration ("90", "5m") into
 * *ms_rel, or an ISO 8601 time into *ms_abs (the other is set to -1).
 * Returns 0 or prints a usage error and returns CLI_USAGE. */
int cli_time_arg(struct cli *cli, const char *what, const char *arg,
                 int64_t *ms_rel, int64_t *ms_abs);

/* True when stdout is a terminal and NO_COLOR is unset. */
bool cli_color(void);

/* Install the stderr log writer for a daemon/command (proc name, level,
 * format from config unless overridden). Returns exit code on error. */
int cli_setup_logging(struct cli *cli, const char *proc, const char *level,
                      const char *format, const char *logfile);

#endif
