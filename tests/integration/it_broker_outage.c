/* SPDX-License-Identifier: MIT
 *
 * it_broker_outage.c: contract items 1 and 10 at the client: an
 * acknowledged create survives a Redis crash with appendfsync always; a
 * client survives Redis restarts and a frozen (SIGSTOP) server without
 * being reopened, logging the outage once.
 */
#include "sq_test.h"

#include "core/sq_time.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int log_down, log_up;

static void
count_logs(void *ud, int level, const char *event, const char *kv)
{
    (void)ud;
    (void)level;
    (void)kv;
    if (strcmp(event, "broker.down") == 0) {
        log_down++;
    } else if (strcmp(event, "broker.up") == 0) {
        log_up++;
    }
}

static void
acknowledged_create_survives_kill_9(void **state)
{
    char ids[50][SYNCQ_ID_SIZE];
    syncq_client *c;

    (void)state;
    setenv("SQ_REDIS_FSYNC", "always", 1);
    assert_int_equal(sqt_redisctl("restart"), 0);
    c = sqt_client();
    for (int i = 0; i < 50; i++) {
        assert_int_equal(syncq_task_create(c, "syncq.noop", NULL,
                                           "{\"n\":1}", NULL, ids[i], NULL,
                                           NULL),
                         SYNCQ_OK);
    }
    syncq_client_close(c);
    assert_int_equal(sqt_redisctl("kill"), 0);
    assert_int_equal(sqt_redisctl("start"), 0);
    c = sqt_client();
    for (int i = 0; i < 50; i++) {
        assert_string_equal(sqt_task_state(c, ids[i]), "PENDING");
    }
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 50);
    syncq_client_close(c);
    unsetenv("SQ_REDIS_FSYNC");
}

static void
client_reconnects_after_restart_and_logs_once(void **state)
{
    syncq_client *c;
    char id[SYNCQ_ID_SIZE];
    syncq_error err;
    int rc = -1;

    (void)state;
    syncq_log_set_handler(count_logs, NULL);
    c = sqt_client();
    assert_int_equal(sqt_redisctl("stop"), 0);
    /* several failing calls during the outage: one "down" log line */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(syncq_task_create(c, "syncq.noop", NULL, NULL, NULL,
                                           id, NULL, &err),
                         SYNCQ_ECONN);
        sq_sleep_ms(50);
    }
    assert_int_equal(log_down, 1);
    assert_int_equal(sqt_redisctl("start"), 0);
    for (int i = 0; i < 100 && rc != SYNCQ_OK; i++) {
        rc = syncq_task_create(c, "syncq.noop", NULL, NULL, NULL, id, NULL,
                               &err);
        if (rc != SYNCQ_OK) {
            sq_sleep_ms(50);
        }
    }
    assert_int_equal(rc, SYNCQ_OK);
    assert_int_equal(log_up, 1);
    assert_string_equal(sqt_task_state(c, id), "PENDING");
    syncq_client_close(c);
    syncq_log_set_handler(NULL, NULL);
}

static void
frozen_redis_delays_but_does_not_break(void **state)
{
    syncq_client *c;
    char id[SYNCQ_ID_SIZE];
    int64_t t0;

    (void)state;
    c = sqt_client();
    assert_int_equal(sqt_redisctl("pause"), 0);
    if (fork() == 0) {
        sq_sleep_ms(1500);
        exit(sqt_redisctl("resume"));
    }
    t0 = sq_mono_ms();
    /* default command timeout is 5 s: the call waits and then succeeds */
    assert_int_equal(syncq_task_create(c, "syncq.noop", NULL, NULL, NULL, id,
                                       NULL, NULL),
                     SYNCQ_OK);
    assert_true(sq_mono_ms() - t0 >= 1000);
    assert_string_equal(sqt_task_state(c, id), "PENDING");
    syncq_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acknowledged_create_survives_kill_9),
        cmocka_unit_test(client_reconnects_after_restart_and_logs_once),
        cmocka_unit_test(frozen_redis_delays_but_does_not_break),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
