/* SPDX-License-Identifier: MIT
 *
 * test_broker_resp.c: sq_resp_format_argv (broker_io.c) writes the same
 * bytes as hiredis's redisFormatCommandArgv for every shape of command:
 * no argument, empty and binary arguments (NUL, CR, LF), lengths on both
 * sides of each decimal digit boundary, C strings (lens NULL) and a
 * thousand arguments. hiredis is the reference: syncq formats commands
 * itself only because hiredis's formatter cost a tenth of a worker's
 * instructions per task.
 */
#include "sq_test.h"

#include "broker/broker_io.h"

#include <stdlib.h>
#include <string.h>

/* Format with both and compare; returns the length. */
static int
same_as_hiredis(int argc, const char **argv, const size_t *lens)
{
    char *ours = NULL;
    char *theirs = NULL;
    int n = sq_resp_format_argv(&ours, argc, argv, lens);
    long long m = redisFormatCommandArgv(&theirs, argc, argv, lens);

    assert_non_null(ours);
    assert_non_null(theirs);
    assert_int_equal(n, m);
    assert_memory_equal(ours, theirs, (size_t)n);
    free(ours);
    redisFreeCommand(theirs);
    return n;
}

static void
no_argument(void **state)
{
    char *ours = NULL;

    (void)state;
    assert_int_equal(same_as_hiredis(0, NULL, NULL), 4);
    assert_int_equal(sq_resp_format_argv(&ours, 0, NULL, NULL), 4);
    assert_memory_equal(ours, "*0\r\n", 4);
    free(ours);
}

static void
c_strings(void **state)
{
    const char *argv[] = {"HSET", "{q}:t:1", "state", "", "n", "0"};

    (void)state;
    /* *6 $4 HSET $7 {q}:t:1 $5 state $0 "" $1 n $1 0 */
    assert_int_equal(same_as_hiredis(6, argv, NULL),
                     4 + 10 + 13 + 11 + 6 + 7 + 7);
}

static void
binary_arguments(void **state)
{
    const char bin[] = {'a', '\0', '\r', '\n', '$', '*', '\xff'};
    const char *argv[] = {"SET", "k", bin};
    const size_t lens[] = {3, 1, sizeof bin};

    (void)state;
    assert_int_equal(same_as_hiredis(3, argv, lens),
                     4 + 9 + 7 + 4 + (int)sizeof bin + 2);
}

/* Every length whose decimal form changes width, and its neighbours. */
static void
length_boundaries(void **state)
{
    static const size_t sizes[] = {0,     1,     9,     10,     11,
                                   99,    100,   101,   999,    1000,
                                   9999,  10000, 65535, 65536,  99999,
                                   100000, 999999, 1000000, 1u << 21};
    char *big = malloc(1u << 21);

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < (1u << 21); i++) {
        big[i] = (char)('a' + i % 26);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        const char *argv[] = {"APPEND", "k", big};
        const size_t lens[] = {6, 1, sizes[i]};
        char digits[32];
        int w = snprintf(digits, sizeof digits, "%zu", sizes[i]);

        assert_int_equal(same_as_hiredis(3, argv, lens),
                         4 + 12 + 7 + 1 + w + 2 + (int)sizes[i] + 2);
    }
    free(big);
}

static void
many_arguments(void **state)
{
    enum { N = 1000 };
    const char **argv = calloc(N, sizeof *argv);
    size_t *lens = calloc(N, sizeof *lens);
    static const char text[] = "0123456789abcdef";

    (void)state;
    assert_non_null(argv);
    assert_non_null(lens);
    for (int i = 0; i < N; i++) {
        argv[i] = text;
        lens[i] = (size_t)(i % 17);
    }
    assert_true(same_as_hiredis(N, argv, lens) > N * 4);
    free(argv);
    free(lens);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_argument),
        cmocka_unit_test(c_strings),
        cmocka_unit_test(binary_arguments),
        cmocka_unit_test(length_boundaries),
        cmocka_unit_test(many_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
