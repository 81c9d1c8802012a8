/* SPDX-License-Identifier: MIT
 *
 * cli_columns.c: the table of a list command (`schedule list`, `batch
 * list`): every column as wide as its widest cell, so no name is ever
 * cut; and counted nouns ("1 warning", "2 warnings").
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
cli_count(char *buf, size_t cap, long long n, const char *noun)
{
    snprintf(buf, cap, "%lld %s%s", n, noun, n == 1 ? "" : "s");
    return buf;
}

const char *
cli_count_json(char *buf, size_t cap, const json_t *n, const char *noun)
{
    return cli_count(buf, cap, (long long)json_integer_value(n), noun);
}

void
cli_row_add(json_t *rows, int ncol, ...)
{
    json_t *row = json_array();
    va_list ap;

    va_start(ap, ncol);
    for (int k = 0; k < ncol; k++) {
        const char *v = va_arg(ap, const char *);
        json_array_append_new(row, json_string(v != NULL ? v : "-"));
    }
    va_end(ap);
    json_array_append_new(rows, row);
}

static void
cell(const char *s, size_t w, bool right, bool last)
{
    if (right) {
        printf("%*s", (int)w, s);
    } else {
        printf("%-*s", last ? 0 : (int)w, s);
    }
    fputs(last ? "\n" : "  ", stdout);
}

void
cli_print_columns(const char *const *heads, int ncol, json_t *rows,
                  unsigned right)
{
    size_t *w = calloc((size_t)ncol, sizeof *w);
    size_t i;
    json_t *row;

    if (w == NULL) {
        return;
    }
    for (int k = 0; k < ncol; k++) {
        w[k] = strlen(heads[k]);
    }
    json_array_foreach(rows, i, row) {
        for (int k = 0; k < ncol; k++) {
            size_t n = strlen(json_string_value(json_array_get(row, k)));
            w[k] = n > w[k] ? n : w[k];
        }
    }
    for (int k = 0; k < ncol; k++) {
        cell(heads[k], w[k], (right >> k) & 1u, k + 1 == ncol);
    }
    json_array_foreach(rows, i, row) {
        for (int k = 0; k < ncol; k++) {
            cell(json_string_value(json_array_get(row, k)), w[k],
                 (right >> k) & 1u, k + 1 == ncol);
        }
    }
    free(w);
}
