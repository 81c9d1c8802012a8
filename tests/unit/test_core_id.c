/* SPDX-License-Identifier: MIT
 *
 * test_core_id.c: task ids (UUID v4) and the random pool behind them: a
 * forked child draws bytes of its own, never its parent's (the pool is
 * forgotten at fork instead of asking getpid() on every id).
 */
#include "sq_test.h"

#include "sq_id.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
uuids_are_v4_and_distinct(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];

    (void)state;
    sq_uuid_new(a);
    sq_uuid_new(b);
    assert_int_equal(strlen(a), 36);
    assert_true(sq_uuid_valid(a));
    assert_int_equal(a[14], '4');
    assert_string_not_equal(a, b);
}

/* Parent and child, both with bytes left in the pool from before the
 * fork, draw their next id: the two differ. */
static void
a_forked_child_draws_its_own_ids(void **state)
{
    char before[SYNCQ_ID_SIZE], mine[SYNCQ_ID_SIZE], theirs[SYNCQ_ID_SIZE];
    int fd[2];
    pid_t pid;
    int st;

    (void)state;
    sq_uuid_new(before); /* the pool is filled and partly used */
    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[SYNCQ_ID_SIZE];
        sq_uuid_new(id);
        _exit(write(fd[1], id, sizeof id) == (ssize_t)sizeof id ? 0 : 1);
    }
    close(fd[1]);
    sq_uuid_new(mine);
    assert_int_equal(read(fd[0], theirs, sizeof theirs), sizeof theirs);
    close(fd[0]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(sq_uuid_valid(theirs));
    assert_string_not_equal(mine, theirs);
    assert_string_not_equal(before, theirs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uuids_are_v4_and_distinct),
        cmocka_unit_test(a_forked_child_draws_its_own_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
