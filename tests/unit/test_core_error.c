/* SPDX-License-Identifier: MIT
 *
 * test_core_error.c: sq_fail (common/sq_error.c) fills syncq_error with
 * one line: newlines folded, and a message longer than the buffer cut at
 * a UTF-8 character's start and ended with "..." so a reader sees it was
 * cut (a cut mid-sentence read as the whole message).
 */
#include "sq_test.h"

#include "sq_error.h"

#include <string.h>

static void
short_message_whole(void **state)
{
    syncq_error e;

    (void)state;
    assert_int_equal(sq_fail(&e, SYNCQ_EINVAL, "bad %s\nline", "x"),
                     SYNCQ_EINVAL);
    assert_string_equal(e.msg, "bad x line");
    assert_int_equal(e.code, SYNCQ_EINVAL);
}

static void
long_message_says_it_was_cut(void **state)
{
    char big[600];
    syncq_error e;

    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sq_fail(&e, SYNCQ_EINVAL, "%s", big);
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_string_equal(e.msg + sizeof e.msg - 4, "...");
    /* exactly full: not cut */
    big[sizeof e.msg - 1] = '\0';
    sq_fail(&e, SYNCQ_EINVAL, "%s", big);
    assert_string_equal(e.msg, big);
}

static void
cut_at_a_character_start(void **state)
{
    char big[600] = "";
    syncq_error e;

    (void)state;
    /* "é" is two bytes: odd offsets put a cut inside one */
    strcat(big, "a");
    while (strlen(big) + 2 < sizeof big) {
        strcat(big, "\xc3\xa9");
    }
    sq_fail(&e, SYNCQ_EINVAL, "%s", big);
    {
        size_t n = strlen(e.msg);
        assert_true(n <= sizeof e.msg - 1);
        assert_string_equal(e.msg + n - 3, "...");
        /* what precedes the dots is whole characters */
        assert_true(((n - 3 - 1) % 2) == 0);
        assert_true((unsigned char)e.msg[n - 4] == 0xa9);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_message_whole),
        cmocka_unit_test(long_message_says_it_was_cut),
        cmocka_unit_test(cut_at_a_character_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
