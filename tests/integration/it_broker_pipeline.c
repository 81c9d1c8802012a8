/* SPDX-License-Identifier: MIT
 *
 * it_broker_pipeline.c: the pipelined producer (syncq/pipeline.h) against
 * a real Redis: many creates in flight, each answered in order with its
 * id, every task complete in Redis; bad input refused at once; a unique
 * key answered as a duplicate; a create Redis refuses answered with its
 * error while the others are created; a Redis restart answers the
 * creates in flight with SYNCQ_ECONN and the pipeline goes on.
 */
#include "sq_test.h"

#include "broker/broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/pipeline.h>

#define N 2000

struct answer {
    int rc;
    int dup;
    int order;
    char id[SYNCQ_ID_SIZE];
};

static struct answer answers[N];
static int answered;

static void
on_answer(void *ud, const char *id, int dup, int rc, const syncq_error *err)
{
    struct answer *a = ud;

    a->rc = rc;
    a->dup = dup;
    a->order = answered++;
    snprintf(a->id, sizeof a->id, "%s", id);
    assert_true(rc == SYNCQ_OK || (err != NULL && err->msg[0] != '\0'));
}

static void
reset(void)
{
    memset(answers, 0, sizeof answers);
    for (int i = 0; i < N; i++) {
        answers[i].rc = 1; /* not answered */
    }
    answered = 0;
    sqt_flush();
}

/* N creates with 64 in flight: each answered once, in order, with a
 * distinct id of a complete PENDING task on its queue. Half are of a
 * name this process does not register: its declaration is looked up in
 * Redis while creates are in flight (on the pipeline's own connection,
 * or the answers would be read out of order). */
static void
many_in_flight_each_answered_in_order(void **state)
{
    syncq_client *c = sqt_client();
    syncq_pipeline *p;
    syncq_error err;

    (void)state;
    reset();
    assert_int_equal(syncq_pipeline_new(c, 64, &p, &err), SYNCQ_OK);
    for (int i = 0; i < N; i++) {
        char args[32];
        const char *name = i % 2 ? "pipe.unregistered" : "syncq.noop";
        snprintf(args, sizeof args, "[%d]", i);
        assert_int_equal(syncq_pipeline_add(p, name, args, NULL, NULL,
                                            on_answer, &answers[i], &err),
                         SYNCQ_OK);
        assert_true(syncq_pipeline_pending(p) <= 64);
    }
    assert_int_equal(syncq_pipeline_flush(p), SYNCQ_OK);
    assert_int_equal(syncq_pipeline_pending(p), 0);
    assert_int_equal(answered, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(answers[i].rc, SYNCQ_OK);
        assert_int_equal(answers[i].order, i);
        assert_int_equal(answers[i].dup, 0);
        if (i % 97 == 0) {
            json_t *rec = NULL;
            assert_int_equal(syncq_task_info(c, answers[i].id, &rec, NULL),
                             SYNCQ_OK);
            assert_string_equal(json_string_value(json_object_get(rec,
                                                                  "state")),
                                "PENDING");
            assert_int_equal(json_integer_value(json_array_get(
                                 json_object_get(rec, "args"), 0)),
                             i);
            json_decref(rec);
        }
    }
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), N);
    assert_int_equal(sqt_cmd_int("XLEN {syncq}:events"), N);
    syncq_pipeline_free(p);
    syncq_client_close(c);
}

/* Bad input is refused by add itself (nothing sent, no callback); a
 * repeated unique key is answered as a duplicate with the first id; a
 * create Redis refuses (its queue list is of the wrong type) gets its
 * error and its neighbours are created. */
static void
refusals_are_per_task(void **state)
{
    syncq_client *c = sqt_client();
    syncq_pipeline *p;
    syncq_task_options u, bad;
    syncq_error err;

    (void)state;
    reset();
    freeReplyObject(sqt_cmd("SET {syncq}:q:broken:5 x"));
    assert_int_equal(syncq_pipeline_new(c, 8, &p, &err), SYNCQ_OK);
    assert_int_equal(syncq_pipeline_add(p, "syncq.noop", "[1", NULL, NULL,
                                        on_answer, &answers[0], &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "args is not valid JSON"));
    assert_int_equal(syncq_pipeline_pending(p), 0);
    syncq_task_options_init(&u);
    u.unique_key = "once";
    syncq_task_options_init(&bad);
    bad.queue = "broken";
    assert_int_equal(syncq_pipeline_add(p, "syncq.noop", NULL, NULL, &u,
                                        on_answer, &answers[1], &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_pipeline_add(p, "syncq.noop", NULL, NULL, &bad,
                                        on_answer, &answers[2], &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_pipeline_add(p, "syncq.noop", NULL, NULL, &u,
                                        on_answer, &answers[3], &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_pipeline_add(p, "syncq.noop", NULL, NULL, NULL,
                                        on_answer, &answers[4], &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_pipeline_flush(p), SYNCQ_OK);
    assert_int_equal(answered, 4);
    assert_int_equal(answers[0].rc, 1); /* never answered */
    assert_int_equal(answers[1].rc, SYNCQ_OK);
    assert_int_equal(answers[2].rc, SYNCQ_EPROTO);
    assert_int_equal(answers[3].rc, SYNCQ_OK);
    assert_int_equal(answers[3].dup, 1);
    assert_string_equal(answers[3].id, answers[1].id);
    assert_int_equal(answers[4].rc, SYNCQ_OK);
    assert_string_equal(sqt_task_state(c, answers[4].id), "PENDING");
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 2);
    syncq_pipeline_free(p);
    syncq_client_close(c);
}

/* Redis restarts with creates in flight: those are answered SYNCQ_ECONN
 * (not known whether they exist), and the pipeline carries on. */
static void
a_restart_answers_the_creates_in_flight(void **state)
{
    syncq_client *c = sqt_client();
    syncq_pipeline *p;
    syncq_error err;
    int lost = 0;

    (void)state;
    reset();
    assert_int_equal(syncq_pipeline_new(c, 100, &p, &err), SYNCQ_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(syncq_pipeline_add(p, "syncq.noop", NULL, NULL,
                                            NULL, on_answer, &answers[i],
                                            &err),
                         SYNCQ_OK);
    }
    assert_int_equal(sqt_redisctl("restart"), 0);
    assert_int_equal(syncq_pipeline_flush(p), SYNCQ_OK);
    assert_int_equal(answered, 10);
    for (int i = 0; i < 10; i++) {
        lost += answers[i].rc == SYNCQ_ECONN;
        assert_true(answers[i].rc == SYNCQ_OK ||
                    answers[i].rc == SYNCQ_ECONN);
    }
    assert_int_equal(lost, 10); /* buffered, never written */
    assert_int_equal(syncq_pipeline_add(p, "syncq.noop", NULL, NULL, NULL,
                                        on_answer, &answers[10], &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_pipeline_flush(p), SYNCQ_OK);
    assert_int_equal(answers[10].rc, SYNCQ_OK);
    assert_string_equal(sqt_task_state(c, answers[10].id), "PENDING");
    syncq_pipeline_free(p);
    syncq_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_in_flight_each_answered_in_order),
        cmocka_unit_test(refusals_are_per_task),
        cmocka_unit_test(a_restart_answers_the_creates_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
