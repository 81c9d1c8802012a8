/* SPDX-License-Identifier: MIT
 *
 * test_cli_columns.c: the CLI's list tables and counted nouns
 * (src/cli/cli_columns.c, compiled in here: the CLI is not a library):
 * every column as wide as its widest cell, so a long task name is never
 * cut; "1 warning", "2 warnings".
 */
#include "sq_test.h"

#include "../../src/cli/cli_columns.c"

#include <fcntl.h>
#include <unistd.h>

/* What fn(ud) printed on stdout (owned). */
static char *
captured(void (*fn)(json_t *), json_t *rows)
{
    char path[512];
    int saved, fd;
    char *text;

    snprintf(path, sizeof path, "%s/columns.out", sqt_tmpdir());
    fflush(stdout);
    saved = dup(1);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
    fn(rows);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    text = sqt_read_file(path, NULL);
    assert_non_null(text);
    return text;
}

static void
print_three(json_t *rows)
{
    static const char *const heads[] = {"ID", "TASK", "TOTAL"};

    cli_print_columns(heads, 3, rows, 4u);
}

static void
long_names_are_never_cut(void **state)
{
    json_t *rows = json_array();
    char *out;

    (void)state;
    cli_row_add(rows, 3, "a1", "custom.a_task_whose_name_is_well_over_28", "7");
    cli_row_add(rows, 3, "b2", NULL, "1234");
    out = captured(print_three, rows);
    assert_string_equal(out,
                        "ID  TASK                                      TOTAL\n"
                        "a1  custom.a_task_whose_name_is_well_over_28      7\n"
                        "b2  -                                          1234\n");
    free(out);
    json_decref(rows);
}

static void
nouns_are_counted(void **state)
{
    char b[48];
    json_t *one = json_integer(1);

    (void)state;
    assert_string_equal(cli_count(b, sizeof b, 0, "warning"), "0 warnings");
    assert_string_equal(cli_count(b, sizeof b, 1, "warning"), "1 warning");
    assert_string_equal(cli_count(b, sizeof b, 2, "SKU"), "2 SKUs");
    assert_string_equal(cli_count_json(b, sizeof b, one, "error"), "1 error");
    assert_string_equal(cli_count_json(b, sizeof b, NULL, "error"),
                        "0 errors");
    json_decref(one);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_names_are_never_cut),
        cmocka_unit_test(nouns_are_counted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
