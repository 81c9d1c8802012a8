/* SPDX-License-Identifier: MIT
 *
 * it_broker_finished_lease.c: a finished record keeps the `lease` and
 * `worker` of the lease that ended it (finish() in lib_task.lua spares
 * the HDEL, issue 14), and nothing takes them for a lease still held:
 * the record as clients see it names no worker and no lease token, the
 * same lease re-sending its outcome is answered "already", its heartbeat
 * finds it lost, its checkpoint and progress are refused, a revoke finds
 * it final, and a retry's later run is leased afresh.
 */
#include "it_broker_util.h"

#include "recovery/recovery.h"

#include <stdio.h>
#include <string.h>

static void
finished_record_holds_no_lease(void **state)
{
    char id[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    const char *ids[1], *tokens[1];
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};
    json_t *t, *lost = NULL, *control = NULL;
    redisReply *x;
    syncq_error err;
    int st = -1;
    int64_t cur = 0;
    char token[32];

    (void)state;
    create("syncq.echo", 5, NULL, id);
    lease(q, 1, 1, 30000, &r);
    assert_int_equal(r.n, 1);
    snprintf(token, sizeof token, "%s", r.tasks[0].token);
    sq_lease_reply_cleanup(&r);
    op.kind = SQ_SETTLE_OK;
    op.id = id;
    op.token = token;
    op.result_json = "{\"ok\":1}";
    op.runtime_ms = 2;
    assert_int_equal(settle1(&op), SQ_SETTLED);

    /* stored: the lease that ended it, as written by the lease */
    x = sqt_cmd("HMGET {syncq}:t:%s lease worker state slease", id);
    assert_string_equal(x->element[0]->str, token);
    assert_non_null(x->element[1]->str);
    assert_string_equal(x->element[2]->str, "SUCCESS");
    assert_string_equal(x->element[3]->str, token);
    freeReplyObject(x);

    /* seen: held by no one */
    assert_int_equal(syncq_task_info(cl, id, &t, NULL), SYNCQ_OK);
    assert_null(json_object_get(t, "worker"));
    assert_null(json_object_get(t, "lease_token"));
    assert_non_null(json_object_get(t, "ran_by"));
    json_decref(t);

    /* the same lease again: "already", once, not a lost lease */
    op.result_json = "{\"ok\":2}";
    assert_int_equal(settle1(&op), SQ_SETTLE_ALREADY);
    x = sqt_cmd("HGET {syncq}:stats succeeded|default|syncq.echo");
    assert_string_equal(x->str, "1");
    freeReplyObject(x);
    x = sqt_cmd("HGET {syncq}:stats lease_lost|default|syncq.echo");
    assert_int_equal(x->type, REDIS_REPLY_NIL);
    freeReplyObject(x);

    /* its heartbeat: lost, and not put back in the active set */
    ids[0] = id;
    tokens[0] = token;
    assert_int_equal(sq_broker_extend(cl, "it:w", 30000, "{}", 10000, ids,
                                      tokens, 1, &lost, &control, &err),
                     SYNCQ_OK);
    assert_int_equal(json_array_size(lost), 1);
    assert_string_equal(json_string_value(json_array_get(lost, 0)), id);
    json_decref(lost);
    json_decref(control);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:active"), 0);

    /* its checkpoint and progress: refused */
    assert_int_equal(sq_checkpoint_save(cl, id, token, "x", 1, 1, &err),
                     SYNCQ_ELEASE);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:%s", id), 0);
    assert_int_equal(sq_broker_progress(cl, id, token, false, 1, 2, "", &st,
                                        &cur, &err),
                     SYNCQ_OK);
    assert_int_equal(st, 2);

    /* a revoke finds it final; the state stays */
    assert_int_equal(syncq_task_revoke(cl, id, NULL, &st, NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(st, SYNCQ_REVOKE_FINAL);
    assert_string_equal(sqt_task_state(cl, id), "SUCCESS");
}

/* A task that finished with a revoke requested keeps no `revoke` flag
 * (finish deletes it when present), so it reads as before. */
static void
revoke_flag_is_cleared_at_the_end(void **state)
{
    char id[SYNCQ_ID_SIZE];
    const char *q[] = {"default"};
    struct sq_lease_reply r;
    struct sq_settle_op op = {0};
    json_t *t;
    char token[32];
    int out = -1;

    (void)state;
    create("syncq.echo", 5, NULL, id);
    lease(q, 1, 1, 30000, &r);
    snprintf(token, sizeof token, "%s", r.tasks[0].token);
    sq_lease_reply_cleanup(&r);
    assert_int_equal(syncq_task_revoke(cl, id, NULL, &out, NULL, NULL),
                     SYNCQ_OK);
    assert_int_equal(out, SYNCQ_REVOKE_REQUESTED);
    assert_int_equal(sqt_cmd_int("HEXISTS {syncq}:t:%s revoke", id), 1);
    op.kind = SQ_SETTLE_OK;
    op.id = id;
    op.token = token;
    op.result_json = "";
    assert_int_equal(settle1(&op), SQ_SETTLED);
    assert_int_equal(sqt_cmd_int("HEXISTS {syncq}:t:%s revoke", id), 0);
    assert_int_equal(syncq_task_info(cl, id, &t, NULL), SYNCQ_OK);
    assert_null(json_object_get(t, "revoke_requested"));
    assert_null(json_object_get(t, "worker"));
    json_decref(t);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(finished_record_holds_no_lease),
        T(revoke_flag_is_cleared_at_the_end),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
