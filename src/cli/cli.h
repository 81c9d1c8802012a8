/* SPDX-License-Identifier: MIT
 *
 * cli.h: shared plumbing of the `syncq` command: the command table,
 * common options (--json, --broker, --env-file, --help), errors and exit
 * codes (0 ok, 1 the operation failed, 2 usage error), output helpers.
 * Errors go to stderr as "syncq: <command>: <message>" (one line).
 */
#ifndef SQ_CLI_H
#define SQ_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <syncq/syncq.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Keys of the options every command takes (handled by cli_parse). */
#define CLI_OPT_JSON 1000
#define CLI_OPT_BROKER 1001
#define CLI_OPT_ENVFILE 1002
#define CLI_OPT_HELP 'h'

/* The end of an options table. */
#define CLI_OPT_END                                                            \
    {                                                                          \
        NULL, 0, false, NULL, NULL                                             \
    }

/* One option given on the command line, in the order given. */
struct cli_optval {
    int key;         /* the option's cli_opt.key; 0 ends the list */
    const char *arg; /* its argument (borrowed from argv), NULL for a flag */
};

struct cli {
    int argc;           /* arguments after the command words */
    char **argv;        /* argv[0] is the command path for getopt */
    int optind;         /* first operand in argv (after the options) */
    const char *cmd;    /* "task create" */
    const struct cli_cmd *def;     /* the command's table row */
    const struct cli_optval *opts; /* the command's own options given,
                                      ended by key 0 (common ones are
                                      applied to the fields below) */
    bool json;          /* --json */
    const char *broker; /* --broker URL or NULL */
    const char *env_file; /* --env-file or NULL */
    syncq_config *cfg;  /* loaded lazily by cli_config() */
    syncq_client *client; /* opened lazily by cli_client(), closed by main */
};

/* The command table.
 *
 * Every `syncq` command is one row (struct cli_cmd); every option of a
 * command is one row of its options table (struct cli_opt). The rows
 * give, from one place: dispatch (main), option parsing (getopt tables
 * built from the rows), `syncq --help` and `syncq <command> --help`,
 * docs/cli.md (tools/gen-docs.sh) and, through `syncq help --dump-table`
 * (JSON, format in cli_table.c), man pages and shell completion.
 *
 * Each cli_<group>.c defines its rows in one array (cli_<group>_cmds[],
 * ended by a row with path NULL); cli_commands.c lists the arrays in the
 * order `syncq --help` shows them. Run functions stay static.
 */

/* One option of a command. */
struct cli_opt {
    const char *name; /* long name without the dashes: "items-file" */
    int key;          /* what the command sees in cli_optval.key: a letter
                         (also the short option when has_short) or a number
                         1..99 for a long-only option; CLI_OPT_JSON & co.
                         document a common option in this command's help */
    bool has_short;   /* -<key> is accepted too */
    const char *arg;  /* argument name in help and completion ("F",
                         "N/s"); NULL: the option takes no argument */
    const char *help; /* help text, '\n' continues it on the next line;
                         NULL: a hidden option (parsed, not shown) */
};

struct cli_cmd {
    const char *path;            /* "task create" */
    int (*run)(struct cli *cli); /* returns an exit code */
    const char *summary;         /* one line for `syncq --help` */
    const char *synopsis;        /* after "usage: syncq <path> "; '\n'
                                    starts another form of the command */
    const char *description;     /* what it does, before the options */
    const struct cli_opt *opts;  /* its own options, ended by name NULL;
                                    NULL when it has none */
    const char *notes;           /* text after the options, or NULL */
    const char *const *examples; /* command lines, ended by NULL; '\n'
                                    continues one (after a backslash) */
    unsigned flags;              /* CLI_CMD_* */
};

/* The row is not shown in `syncq --help` nor in the docs (internal). */
#define CLI_CMD_HIDDEN 1u
/* The command takes no operands: cli_parse refuses any ("unexpected
 * argument 'x'", usage exit) before the command runs. */
#define CLI_CMD_NO_ARGS 2u

/* The per-file row arrays (cli_commands.c orders them). */
extern const struct cli_cmd cli_status_cmds[], cli_task_cmds[],
    cli_task_args_cmds[],
    cli_task_run_cmds[], cli_worker_cmds[], cli_worker_health_cmds[],
    cli_worker_control_cmds[],
    cli_config_cmds[], cli_up_cmds[], cli_sync_cmds[], cli_demo_cmds[],
    cli_recovery_cmds[], cli_monitor_cmds[], cli_beat_cmds[],
    cli_schedule_cmds[], cli_batch_cmds[], cli_fixture_cmds[], cli_help_cmds[];

/* The arrays above in display order, ended by NULL (cli_commands.c). */
extern const struct cli_cmd *const cli_command_groups[];

/* Iterate over every row: start with NULL; returns NULL after the last. */
const struct cli_cmd *cli_cmd_next(const struct cli_cmd *prev);

/* Parse cli->argv against the row's options (plus the common ones):
 * fills cli->opts, cli->optind and the common fields. Returns -1 to go on
 * and run the command, or an exit code: CLI_OK after printing --help,
 * CLI_USAGE after reporting a bad option. */
int cli_parse(struct cli *cli, const struct cli_cmd *cmd);
void cli_parse_cleanup(struct cli *cli);

/* Print a command's --help, from its row, to `f`. */
void cli_print_help(const struct cli_cmd *cmd, FILE *f);

/* Print the whole table as JSON (`syncq help --dump-table`). */
void cli_dump_table(FILE *f);

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

/* The command's client, opened on first use (main closes it after the
 * command); on failure prints the error and returns NULL. */
syncq_client *cli_client(struct cli *cli);

/* cli_client, whose error line ends with "; <hint>" (what else the user
 * can do, e.g. a flag that does without Redis). */
syncq_client *cli_client_hint(struct cli *cli, const char *hint);

/* Open the client and call fn(client, arg, &out, &err): CLI_OK with *out
 * set (a new reference), else the error printed (usage exit for EINVAL
 * when usage_on_einval) and *out NULL. For the many "read one thing and
 * print it" commands. */
int cli_call_json(struct cli *cli,
                  int (*fn)(syncq_client *, const char *, json_t **,
                            syncq_error *),
                  const char *arg, json_t **out, bool usage_on_einval);

/* A number option: `arg` parsed as a decimal integer in lo..hi into *out,
 * or a usage error naming `what` ("limit '0' is not a number in
 * 1..10000"): returns 0 or CLI_USAGE. */
int cli_num_arg(struct cli *cli, const char *what, const char *arg, long lo,
                long hi, long *out);

/* Print a JSON value on one line to stdout. */
void cli_print_json(json_t *v);

/* Warn on stderr (one line, the command still succeeds) when `name` is
 * no built-in task: a typo would otherwise only show up as a FAILURE
 * (not_registered) in a worker; a plugin's task is fine. */
void cli_warn_unknown_task(struct cli *cli, const char *name);

/* Report arguments refused at the door (cli_task_args.c): one line
 * "syncq: <cmd>: <field>: <error>" per problem of `problems` (an array of
 * {"field", "error"}, may be NULL: then `err` is reported as one line).
 * Returns CLI_USAGE (EINVAL) or CLI_FAIL. */
int cli_problems(struct cli *cli, json_t *problems, const syncq_error *err);

/* Check task `name`'s args/kwargs (JSON texts or NULL) against its
 * declaration (syncq_task_args_check); CLI_OK, or the problems reported
 * by cli_problems. */
int cli_check_task_args(struct cli *cli, syncq_client *c, const char *name,
                        const char *args, const char *kwargs);

/* Set "state": "recovering" on the leased tasks of `tasks` (an array of
 * task records, changed in place) whose worker is down (cli_task_live.c;
 * the monitor's liveness rule). Best-effort: unchanged if the monitor
 * snapshot cannot be read. */
void cli_task_mark_recovering(syncq_client *c, json_t *tasks);

/* Read `path` ("-": standard input) whole into *out (NUL-terminated,
 * free with free()) and *len. Reading stops, and is refused, past
 * `limit` bytes (named `limit_name` in the message) or at a NUL byte (a
 * binary file: JSON and item lines never hold one). Returns CLI_OK, or
 * CLI_FAIL after printing "<what>: <file> is over <limit_name> (N
 * bytes)" / "holds a NUL byte" / "cannot read". */
int cli_read_input(struct cli *cli, const char *what, const char *path,
                   size_t limit, const char *limit_name, char **out,
                   size_t *len);

/* A JSON argument: literal text as it is, "@path" for a file, "-" for
 * stdin (both read by cli_read_input up to SYNCQ_MAX_PAYLOAD bytes and
 * parsed: a file that is not JSON is a usage error naming its line and
 * column, never quoting its content). *out: an owned string (free()).
 * Returns CLI_OK, CLI_FAIL (unreadable, too big) or CLI_USAGE. */
int cli_json_arg(struct cli *cli, const char *what, const char *arg,
                 char **out);

/* Parse a time argument: seconds or a duration ("90", "5m") into
 * *ms_rel, or an ISO 8601 time into *ms_abs (the other is set to -1).
 * Returns 0 or prints a usage error and returns CLI_USAGE. */
int cli_time_arg(struct cli *cli, const char *what, const char *arg,
                 int64_t *ms_rel, int64_t *ms_abs);

/* A duration argument (seconds, or 500ms, 5m, 2h, 7d) into *ms, or a
 * usage error "<what>: <why>": returns 0 or CLI_USAGE. */
int cli_duration_arg(struct cli *cli, const char *what, const char *arg,
                     int64_t *ms);

/* How long `sync` and `demo` follow their work (--timeout): a duration
 * of 1s .. 7d into *ms, or a usage error (0 is refused) whose message
 * ends with `absent`, what leaving the option out does for this command.
 * 0 or CLI_USAGE. */
int cli_follow_timeout_arg(struct cli *cli, const char *arg,
                           const char *absent, int64_t *ms);

/* A table whose columns are as wide as their widest cell (nothing is
 * cut): cli_row_add appends a row of `ncol` strings (NULL: "-") to
 * `rows` (a JSON array); cli_print_columns prints `heads` and the rows,
 * two spaces apart, the last column unpadded, column k right-aligned
 * when bit k of `right` is set (numbers). */
void cli_row_add(json_t *rows, int ncol, ...);
void cli_print_columns(const char *const *heads, int ncol, json_t *rows,
                       unsigned right);

/* "1 warning", "2 warnings", "0 warnings": `n` and `noun`, plural
 * ("s" added) unless n is 1, into buf; returns buf. */
const char *cli_count(char *buf, size_t cap, long long n, const char *noun);

/* The same for a JSON integer (NULL counts 0). */
const char *cli_count_json(char *buf, size_t cap, const json_t *n,
                           const char *noun);

/* Print the members of object `o` as "key  value" lines, keys padded to
 * `width`; strings as they are, null as "-", the rest as compact JSON. */
void cli_print_fields(json_t *o, int width);

/* True when stdout is a terminal and NO_COLOR is unset. */
bool cli_color(void);

/* Install the stderr log writer for a daemon/command (proc name, level,
 * format from config unless overridden). Returns exit code on error. */
int cli_setup_logging(struct cli *cli, const char *proc, const char *level,
                      const char *format, const char *logfile);

#endif
