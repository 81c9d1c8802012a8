/* SPDX-License-Identifier: MIT
 *
 * cli_table.c: everything read from the command table (cli.h): option
 * parsing (getopt tables built from a command's rows), the --help of a
 * command and of `syncq`, and the table as JSON for the generators of
 * man pages and shell completion. The rows themselves live with their
 * commands (cli_<group>.c); nothing here knows a particular command.
 *
 * `syncq help --dump-table` prints one JSON object (a stable format; the
 * man page and completion generators read it):
 *
 *   {"program": "syncq", "version": "0.1.0",
 *    "common_options": [OPTION...],   -- taken by every command
 *    "commands": [
 *      {"path": "batch create",      -- the words that name the command
 *       "words": ["batch", "create"],
 *       "summary": "one line",
 *       "synopsis": ["TASK --items-file F [options]", ...],  -- forms,
 *                                       each after "syncq <path> "
 *       "description": "text" | null, -- paragraphs, '\n' line breaks
 *       "options": [OPTION...],       -- the command's own, help order
 *       "notes": "text" | null,       -- after the options
 *       "examples": ["syncq batch create ...", ...],
 *       "operands": false,            -- false: takes none (else see
 *                                        the synopsis)
 *       "hidden": false}, ...]}
 *
 *   OPTION = {"long": "items-file", "short": "f" | null,
 *             "arg": "F" | null (null: a flag), "help": "text" | null}
 *
 * Options with "help": null are accepted but not documented. Texts are
 * the same as --help prints them (lines of at most 80 columns).
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELP_COL_MAX 28 /* help text starts at most at this column */

static const struct cli_opt common_opts[] = {
    {"json", CLI_OPT_JSON, false, NULL, "machine-readable output (JSON)"},
    {"broker", CLI_OPT_BROKER, false, "URL", "Redis broker URL"},
    {"env-file", CLI_OPT_ENVFILE, false, "F", ".env file to load"},
    {"help", CLI_OPT_HELP, true, NULL, "print this help"},
    CLI_OPT_END,
};

const struct cli_cmd *
cli_cmd_next(const struct cli_cmd *prev)
{
    const struct cli_cmd *const *g = cli_command_groups;

    if (prev == NULL) {
        return cli_command_groups[0];
    }
    if (prev[1].path != NULL) {
        return prev + 1;
    }
    /* prev was the last row of its array: find that array, take the next */
    for (; *g != NULL; g++) {
        const struct cli_cmd *c = *g;
        while (c->path != NULL) {
            c++;
        }
        if (c == prev + 1) {
            return g[1];
        }
    }
    return NULL;
}

static size_t
count_opts(const struct cli_opt *o)
{
    size_t n = 0;

    while (o != NULL && o[n].name != NULL) {
        n++;
    }
    return n;
}

/* Whether the command's own table documents the common option `key`. */
static bool
own_has(const struct cli_cmd *cmd, int key)
{
    for (size_t i = 0; i < count_opts(cmd->opts); i++) {
        if (cmd->opts[i].key == key) {
            return true;
        }
    }
    return false;
}

static void
add_getopt(struct option *lo, size_t *n, char *so, size_t *sn,
           const struct cli_opt *o)
{
    lo[*n].name = o->name;
    lo[*n].has_arg = o->arg != NULL ? required_argument : no_argument;
    lo[*n].flag = NULL;
    lo[*n].val = o->key;
    (*n)++;
    if (o->has_short) {
        so[(*sn)++] = (char)o->key;
        if (o->arg != NULL) {
            so[(*sn)++] = ':';
        }
    }
}

/* Report a getopt error (':' missing value, '?' unknown); CLI_USAGE. */
static int
bad_opt(struct cli *cli, int opt)
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

/* Apply a common option; false when `key` is the command's own. */
static bool
common_opt(struct cli *cli, int key, const char *arg)
{
    switch (key) {
    case CLI_OPT_JSON:
        cli->json = true;
        return true;
    case CLI_OPT_BROKER:
        cli->broker = arg;
        return true;
    case CLI_OPT_ENVFILE:
        cli->env_file = arg;
        return true;
    default:
        return false;
    }
}

int
cli_parse(struct cli *cli, const struct cli_cmd *cmd)
{
    size_t nown = count_opts(cmd->opts), n = 0, sn = 1, nv = 0;
    struct option *lo = calloc(nown + 5, sizeof *lo);
    struct cli_optval *vals = calloc((size_t)cli->argc + 1, sizeof *vals);
    char *so = calloc(nown * 2 + 4, 1);
    int opt, rc = -1;

    cli->def = cmd;
    if (lo == NULL || vals == NULL || so == NULL) {
        free(lo);
        free(vals);
        free(so);
        return cli_fail(cli, "out of memory");
    }
    so[0] = ':';
    for (size_t i = 0; i < nown; i++) {
        add_getopt(lo, &n, so, &sn, &cmd->opts[i]);
    }
    for (const struct cli_opt *o = common_opts; o->name != NULL; o++) {
        if (!own_has(cmd, o->key)) {
            add_getopt(lo, &n, so, &sn, o);
        }
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(cli->argc, cli->argv, so, lo, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            cli_print_help(cmd, stdout);
            rc = CLI_OK;
            break;
        }
        if (opt == ':' || opt == '?') {
            rc = bad_opt(cli, opt);
            break;
        }
        if (!common_opt(cli, opt, optarg)) {
            vals[nv].key = opt;
            vals[nv].arg = optarg;
            nv++;
        }
    }
    cli->optind = optind;
    cli->opts = vals;
    if (rc < 0 && (cmd->flags & CLI_CMD_NO_ARGS) != 0 && optind < cli->argc) {
        rc = cli_usage(cli, "unexpected argument '%s'", cli->argv[optind]);
    }
    free(lo);
    free(so);
    return rc;
}

void
cli_parse_cleanup(struct cli *cli)
{
    free((void *)cli->opts);
    cli->opts = NULL;
}

/* ---- help ------------------------------------------------------------ */

/* Print `text` with every line after the first indented by `indent`. */
static void
put_indented(FILE *f, const char *text, int indent)
{
    for (const char *p = text; *p != '\0'; p++) {
        fputc(*p, f);
        if (*p == '\n' && p[1] != '\0') {
            fprintf(f, "%*s", indent, "");
        }
    }
}

/* "  -f, --items-file F" (or without the short column when the command
 * has no short options) into buf; returns its length. */
static int
opt_label(const struct cli_opt *o, bool short_col, char *buf, size_t cap)
{
    char sh[8] = "";

    if (o->has_short) {
        snprintf(sh, sizeof sh, "-%c, ", o->key);
    } else if (short_col) {
        snprintf(sh, sizeof sh, "    ");
    }
    return snprintf(buf, cap, "  %s--%s%s%s", sh, o->name,
                    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
}

static void
print_options(const struct cli_cmd *cmd, FILE *f)
{
    size_t n = count_opts(cmd->opts);
    bool short_col = false, any = false;
    int col = 0;
    char label[128];

    for (size_t i = 0; i < n; i++) {
        short_col |= cmd->opts[i].has_short;
    }
    for (size_t i = 0; i < n; i++) {
        int l;
        if (cmd->opts[i].help == NULL) {
            continue;
        }
        any = true;
        l = opt_label(&cmd->opts[i], short_col, label, sizeof label) + 2;
        if (l > col && l <= HELP_COL_MAX) {
            col = l;
        }
    }
    if (!any) {
        return;
    }
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        const struct cli_opt *o = &cmd->opts[i];
        int l;
        if (o->help == NULL) {
            continue;
        }
        l = opt_label(o, short_col, label, sizeof label);
        if (l + 2 <= col) {
            fprintf(f, "%-*s", col, label);
        } else {
            /* too long for the column: help on the next line */
            fprintf(f, "%s\n%*s", label, col, "");
        }
        put_indented(f, o->help, col);
        fputc('\n', f);
    }
}

/* "usage: syncq PATH FORM" for each form of the synopsis; a line that
 * starts with a blank continues the form above, aligned under it. */
static void
print_synopsis(const struct cli_cmd *cmd, FILE *f)
{
    const char *s = cmd->synopsis != NULL ? cmd->synopsis : "";
    int indent = (int)strlen("usage: syncq  ") + (int)strlen(cmd->path);
    bool first = true;

    while (true) {
        const char *nl = strchr(s, '\n');
        int len = nl != NULL ? (int)(nl - s) : (int)strlen(s);
        if (!first && s[0] == ' ') {
            fprintf(f, "%*s%.*s\n", indent, "", len - 1, s + 1);
        } else {
            fprintf(f, "%s syncq %s%s%.*s\n", first ? "usage:" : "      ",
                    cmd->path, len > 0 ? " " : "", len, s);
        }
        if (nl == NULL) {
            break;
        }
        s = nl + 1;
        first = false;
    }
}

void
cli_print_help(const struct cli_cmd *cmd, FILE *f)
{
    size_t ne = 0;

    print_synopsis(cmd, f);
    if (cmd->description != NULL) {
        fprintf(f, "\n%s\n", cmd->description);
    }
    print_options(cmd, f);
    if (cmd->notes != NULL) {
        fprintf(f, "\n%s\n", cmd->notes);
    }
    while (cmd->examples != NULL && cmd->examples[ne] != NULL) {
        ne++;
    }
    if (ne == 1) {
        fprintf(f, "\nExample: ");
        put_indented(f, cmd->examples[0], 0);
        fputc('\n', f);
    } else if (ne > 1) {
        fprintf(f, "\nExamples:\n");
        for (size_t i = 0; i < ne; i++) {
            fprintf(f, "  ");
            put_indented(f, cmd->examples[i], 2);
            fputc('\n', f);
        }
    }
}

/* ---- the table as JSON ---------------------------------------------- */

static json_t *
jstr_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *
opts_json(const struct cli_opt *opts)
{
    json_t *a = json_array();

    for (size_t i = 0; i < count_opts(opts); i++) {
        const struct cli_opt *o = &opts[i];
        char sh[2] = {(char)o->key, '\0'};
        json_array_append_new(
            a, json_pack("{s:s, s:o, s:o, s:o}", "long", o->name, "short",
                         o->has_short ? json_string(sh) : json_null(), "arg",
                         jstr_or_null(o->arg), "help", jstr_or_null(o->help)));
    }
    return a;
}

/* Split `s` at '\n' into a JSON array of strings. */
static json_t *
lines_json(const char *s)
{
    json_t *a = json_array();

    while (s != NULL) {
        const char *nl = strchr(s, '\n');
        size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);
        json_array_append_new(a, json_stringn(s, len));
        s = nl != NULL ? nl + 1 : NULL;
    }
    return a;
}

/* The forms of a synopsis, continuation lines joined to their form. */
static json_t *
synopsis_json(const char *s)
{
    json_t *lines = lines_json(s);
    json_t *forms = json_array();
    size_t i;
    json_t *l;

    json_array_foreach(lines, i, l)
    {
        const char *t = json_string_value(l);
        size_t n = json_array_size(forms);
        if (t[0] == ' ' && n > 0) {
            char *joined = NULL;
            json_t *last = json_array_get(forms, n - 1);
            size_t a = strlen(json_string_value(last)), b = strlen(t);
            joined = malloc(a + b + 1);
            if (joined != NULL) {
                memcpy(joined, json_string_value(last), a);
                memcpy(joined + a, t, b + 1);
                json_array_set_new(forms, n - 1, json_string(joined));
                free(joined);
            }
        } else {
            json_array_append(forms, l);
        }
    }
    json_decref(lines);
    return forms;
}

static json_t *
words_json(const char *path)
{
    json_t *w = json_array();
    char buf[128];
    char *save = NULL;

    snprintf(buf, sizeof buf, "%s", path);
    for (char *t = strtok_r(buf, " ", &save); t != NULL;
         t = strtok_r(NULL, " ", &save)) {
        json_array_append_new(w, json_string(t));
    }
    return w;
}

static json_t *
cmd_json(const struct cli_cmd *c)
{
    json_t *ex = json_array();

    for (size_t i = 0; c->examples != NULL && c->examples[i] != NULL; i++) {
        json_array_append_new(ex, json_string(c->examples[i]));
    }
    return json_pack(
        "{s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:b}", "path", c->path,
        "words", words_json(c->path), "summary", c->summary, "synopsis",
        synopsis_json(c->synopsis != NULL ? c->synopsis : ""), "description",
        jstr_or_null(c->description), "options", opts_json(c->opts), "notes",
        jstr_or_null(c->notes), "examples", ex, "operands",
        (c->flags & CLI_CMD_NO_ARGS) == 0, "hidden",
        (c->flags & CLI_CMD_HIDDEN) != 0);
}

void
cli_dump_table(FILE *f)
{
    json_t *cmds = json_array();
    json_t *doc;
    char *s;

    for (const struct cli_cmd *c = cli_cmd_next(NULL); c != NULL;
         c = cli_cmd_next(c)) {
        json_array_append_new(cmds, cmd_json(c));
    }
    doc = json_pack("{s:s, s:s, s:o, s:o}", "program", "syncq", "version",
                    syncq_version(), "common_options", opts_json(common_opts),
                    "commands", cmds);
    s = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (s != NULL) {
        fprintf(f, "%s\n", s);
        syncq_free(s);
    }
    json_decref(doc);
}
