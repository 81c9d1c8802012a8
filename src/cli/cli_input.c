/* SPDX-License-Identifier: MIT
 *
 * cli_input.c: reading what the user points the CLI at: a file or
 * standard input, with a byte limit that stops the read (so `-k
 * @/dev/zero` or `--items-file /dev/zero` never reads gigabytes first),
 * and JSON arguments (literal text, @file, - for stdin). A JSON file that
 * does not parse is reported by line and column without quoting it: the
 * file may hold what the user would not want echoed into a terminal or a
 * log.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append what is left of `f` to buf (cap bytes, len used), growing it,
 * until EOF, a NUL byte or more than `limit` bytes. Returns 0 at EOF, 1
 * past the limit, 2 at a NUL byte (*len is then its offset), -1 out of
 * memory or a read error (errno set). */
static int
slurp(FILE *f, char **buf, size_t *cap, size_t *len, size_t limit)
{
    for (;;) {
        size_t n;
        char *nul;
        if (*len + 1 >= *cap) {
            char *nb = realloc(*buf, *cap * 2);
            if (nb == NULL) {
                return -1;
            }
            *buf = nb;
            *cap *= 2;
        }
        size_t want = *cap - *len - 1;
        if (want > limit + 1 - *len) {
            want = limit + 1 - *len; /* never read far past the limit */
        }
        n = fread(*buf + *len, 1, want, f);
        if (n == 0) {
            return ferror(f) ? -1 : 0;
        }
        nul = memchr(*buf + *len, '\0', n);
        if (nul != NULL) {
            *len = (size_t)(nul - *buf);
            return 2;
        }
        *len += n;
        if (*len > limit) {
            return 1;
        }
    }
}

int
cli_read_input(struct cli *cli, const char *what, const char *path,
               size_t limit, const char *limit_name, char **out, size_t *len)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *shown = is_stdin ? "standard input" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *buf;
    int r;

    *out = NULL;
    *len = 0;
    if (f == NULL) {
        return cli_fail(cli, "%s: cannot read %s: %s", what, shown,
                        strerror(errno));
    }
    buf = malloc(cap);
    r = buf != NULL ? slurp(f, &buf, &cap, &n, limit) : -1;
    if (!is_stdin) {
        fclose(f);
    }
    if (r != 0) {
        free(buf);
    }
    if (r == 1) {
        return cli_fail(cli, "%s: %s is over %s (%zu bytes); reading "
                        "stopped there", what, shown, limit_name, limit);
    }
    if (r == 2) {
        return cli_fail(cli, "%s: %s holds a NUL byte at offset %zu (a "
                        "binary file?)", what, shown, n);
    }
    if (r < 0) {
        return cli_fail(cli, "%s: cannot read %s: %s", what, shown,
                        buf == NULL ? "out of memory" : strerror(errno));
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CLI_OK;
}

/* jansson's reason without the text it quotes ("invalid token near
 * 'abc'" -> "invalid token"), into out. */
static void
reason_only(const char *text, char *out, size_t cap)
{
    const char *near = strstr(text, " near ");

    snprintf(out, cap, "%.*s", near != NULL ? (int)(near - text) : 255,
             text);
}

int
cli_json_arg(struct cli *cli, const char *what, const char *arg, char **out)
{
    json_error_t jerr;
    syncq_config *cfg;
    json_t *v;
    size_t len;
    char why[160];
    int rc;

    *out = NULL;
    if (arg[0] != '@' && strcmp(arg, "-") != 0) {
        *out = strdup(arg);
        return *out != NULL ? CLI_OK : cli_fail(cli, "out of memory");
    }
    cfg = cli_config(cli);
    if (cfg == NULL) {
        return CLI_FAIL;
    }
    rc = cli_read_input(cli, what, arg[0] == '@' ? arg + 1 : arg,
                        (size_t)syncq_config_int(cfg, "SYNCQ_MAX_PAYLOAD"),
                        "SYNCQ_MAX_PAYLOAD", out, &len);
    if (rc != CLI_OK) {
        return rc;
    }
    v = json_loadb(*out, len, JSON_DECODE_ANY, &jerr);
    if (v == NULL) {
        reason_only(jerr.text, why, sizeof why);
        free(*out);
        *out = NULL;
        return cli_usage(cli, "%s: %s is not valid JSON: line %d, column "
                         "%d: %s", what, arg[0] == '@' ? arg + 1
                                                        : "standard input",
                         jerr.line, jerr.column, why);
    }
    json_decref(v);
    return CLI_OK;
}
