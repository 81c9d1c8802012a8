/* SPDX-License-Identifier: MIT
 *
 * test_core_id.c: task ids (UUID v4) and the random pool behind them: a
 * forked child draws bytes of its own, never its parent's (the pool is
 * forgotten at fork instead of asking getpid() on every id), and threads
 * drawing at once never share bytes.
 */
#include "sq_test.h"

#include "sq_id.h"

#include <pthread.h>
#include <stdlib.h>
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

#define THREADS 8
#define PER_THREAD 20000

static void *
draw_ids(void *arg)
{
    char(*ids)[SYNCQ_ID_SIZE] = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        sq_uuid_new(ids[i]);
    }
    return NULL;
}

static int
cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, SYNCQ_ID_SIZE);
}

/* Eight threads drawing ids at once (as the HTTP API's connection threads
 * do) never get the same one: 160,000 ids, all distinct. */
static void
threads_draw_distinct_ids(void **state)
{
    char(*ids)[SYNCQ_ID_SIZE] = calloc(THREADS * PER_THREAD, SYNCQ_ID_SIZE);
    pthread_t t[THREADS];
    size_t dups = 0;

    (void)state;
    assert_non_null(ids);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(
            pthread_create(&t[i], NULL, draw_ids, ids + i * PER_THREAD), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    qsort(ids, THREADS * PER_THREAD, SYNCQ_ID_SIZE, cmp_id);
    for (size_t i = 1; i < THREADS * PER_THREAD; i++) {
        dups += memcmp(ids[i - 1], ids[i], SYNCQ_ID_SIZE) == 0;
    }
    assert_int_equal(dups, 0);
    assert_true(sq_uuid_valid(ids[0]));
    free(ids);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uuids_are_v4_and_distinct),
        cmocka_unit_test(a_forked_child_draws_its_own_ids),
        cmocka_unit_test(threads_draw_distinct_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
