/* SPDX-License-Identifier: MIT
 *
 * it_recovery_checkpoint.c: checkpoints against a real Redis: binary
 * round trip, bounded history and TTL, a corrupted latest entry (bytes
 * changed in Redis) falling back to the previous good one (quarantined,
 * logged, counted once), the size limit, fencing by the lease token, and
 * the errors for bad arguments, missing checkpoints and a dead server.
 */
#include "sq_test.h"

#include "broker/broker.h"
#include "sq_alloc.h"
#include "recovery/recovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
    cl = sqt_client();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    syncq_client_close(cl);
    return 0;
}

static void
save_ok(syncq_client *c, const char *id, const char *token, const char *data,
        int64_t seq)
{
    syncq_error err;

    if (sq_checkpoint_save(c, id, token, data, strlen(data), seq, &err) !=
        SYNCQ_OK) {
        fail_msg("save seq %lld: %s", (long long)seq, err.msg);
    }
}

/* Load and compare with the expected step and text. */
static void
load_expect(const char *id, int64_t want_seq, const char *want)
{
    void *data = NULL;
    size_t len = 0;
    int64_t seq = -7;
    syncq_error err;

    if (sq_checkpoint_load(cl, id, &data, &len, &seq, &err) != SYNCQ_OK) {
        fail_msg("load: %s", err.msg);
    }
    assert_int_equal(seq, want_seq);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    sq_free(data);
}

static void
binary_round_trip_newest_first(void **state)
{
    const unsigned char bin[] = {0, 1, 2, 0xff, '\n', 0, 'S', 'Q', 0x80};
    void *data = NULL;
    size_t len = 0;
    int64_t seq = 0;
    syncq_error err;
    redisReply *r;
    struct sq_checkpoint_entry ent;
    char sha[65];

    (void)state;
    save_ok(cl, "t-bin", NULL, "{\"page\":1}", 1);
    save_ok(cl, "t-bin", NULL, "{\"page\":2}", 2);
    assert_int_equal(sq_checkpoint_save(cl, "t-bin", NULL, bin, sizeof bin,
                                        3, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_checkpoint_load(cl, "t-bin", &data, &len, &seq,
                                        &err),
                     SYNCQ_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(len, sizeof bin);
    assert_memory_equal(data, bin, sizeof bin);
    sq_free(data);
    /* the stored envelope: header fields as documented */
    r = sqt_cmd("LINDEX {syncq}:cp:t-bin 0");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    sq_checkpoint_parse(r->str, r->len, &ent);
    assert_true(ent.ok);
    assert_int_equal(ent.seq, 3);
    assert_int_equal(ent.size, sizeof bin);
    assert_true(sq_checkpoint_digest(3, bin, sizeof bin, sha));
    assert_string_equal(ent.sha256, sha);
    assert_true(ent.at_ms > 1700000000000LL);
    assert_memory_equal(r->str, "SQCP1 3 ", 8);
    freeReplyObject(r);
    /* an empty checkpoint is legal */
    assert_int_equal(sq_checkpoint_save(cl, "t-bin", NULL, NULL, 0, 4, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_checkpoint_load(cl, "t-bin", &data, &len, &seq,
                                        &err),
                     SYNCQ_OK);
    assert_int_equal(len, 0);
    assert_int_equal(seq, 4);
    sq_free(data);
}

static void
history_bounded_and_expiring(void **state)
{
    long long pttl;

    (void)state;
    for (int i = 1; i <= 6; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "step %d", i);
        save_ok(cl, "t-hist", NULL, buf, i);
    }
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:t-hist"), 3);
    pttl = sqt_cmd_int("PTTL {syncq}:cp:t-hist");
    assert_true(pttl > 7LL * 86400000 - 60000);
    assert_true(pttl <= 7LL * 86400000);
    load_expect("t-hist", 6, "step 6");
}

static void
history_and_ttl_follow_config(void **state)
{
    syncq_config *cfg;
    syncq_client *c;
    syncq_error err;
    long long pttl;

    (void)state;
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_CHECKPOINT_HISTORY", "5",
                                      NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_CHECKPOINT_TTL", "2h",
                                      NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_client_open(sqt_broker_url(), cfg, &c, &err),
                     SYNCQ_OK);
    for (int i = 0; i < 9; i++) {
        save_ok(c, "t-cfg", NULL, "x", i);
    }
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:t-cfg"), 5);
    pttl = sqt_cmd_int("PTTL {syncq}:cp:t-cfg");
    assert_true(pttl > 7200000 - 60000 && pttl <= 7200000);
    syncq_client_close(c);
    syncq_config_free(cfg);
}

/* Replace entry `idx` of the task's list with a copy with one byte of
 * its data flipped: what a disk or memory fault or a bad hand edit does. */
static void
corrupt_entry(const char *id, int idx)
{
    redisReply *r = sqt_cmd("LINDEX {syncq}:cp:%s %d", id, idx);
    redisReply *w;
    char *copy;

    assert_int_equal(r->type, REDIS_REPLY_STRING);
    copy = malloc(r->len);
    assert_non_null(copy);
    memcpy(copy, r->str, r->len);
    copy[r->len - 1] ^= 0x20;
    w = sqt_cmd("LSET {syncq}:cp:%s %d %b", id, idx, copy, r->len);
    assert_int_equal(w->type, REDIS_REPLY_STATUS);
    freeReplyObject(w);
    free(copy);
    freeReplyObject(r);
}

static long long
corrupt_total(void)
{
    redisReply *r = sqt_cmd("HGET {syncq}:stats checkpoint_corrupt_total");
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;

    freeReplyObject(r);
    return v;
}

static void
corrupt_latest_falls_back_to_previous(void **state)
{
    redisReply *r;

    (void)state;
    save_ok(cl, "t-bad", NULL, "state at step 58", 58);
    save_ok(cl, "t-bad", NULL, "state at step 59", 59);
    save_ok(cl, "t-bad", NULL, "state at step 60", 60);
    corrupt_entry("t-bad", 0);
    load_expect("t-bad", 59, "state at step 59");
    /* quarantined: out of the history, kept for inspection, counted once */
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:t-bad"), 2);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cpbad:t-bad"), 1);
    assert_int_equal(corrupt_total(), 1);
    load_expect("t-bad", 59, "state at step 59");
    assert_int_equal(corrupt_total(), 1);
    /* an event for the monitor */
    r = sqt_cmd("XREVRANGE {syncq}:events + - COUNT 1");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->element[1]->element[1]->str,
                        "checkpoint-corrupt");
    freeReplyObject(r);
    /* a new save after the fallback is the newest again */
    save_ok(cl, "t-bad", NULL, "state at step 60 (again)", 60);
    load_expect("t-bad", 60, "state at step 60 (again)");
}

static void
every_kind_of_damage_is_detected(void **state)
{
    void *data = (void *)1;
    size_t len = 9;
    int64_t seq = 9;
    syncq_error err;
    redisReply *w;

    syncq_config *cfg;
    syncq_client *c5;

    (void)state;
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_CHECKPOINT_HISTORY", "5",
                                      NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_client_open(sqt_broker_url(), cfg, &c5, &err),
                     SYNCQ_OK);
    save_ok(c5, "t-dmg", NULL, "good one", 1);
    save_ok(c5, "t-dmg", NULL, "truncated", 2);
    save_ok(c5, "t-dmg", NULL, "garbage", 3);
    save_ok(c5, "t-dmg", NULL, "bad step", 4);
    syncq_client_close(c5);
    syncq_config_free(cfg);
    /* list is newest first: 0 = seq 4 ... 3 = seq 1 */
    w = sqt_cmd("LSET {syncq}:cp:t-dmg 1 %s", "no envelope at all");
    freeReplyObject(w);
    {
        redisReply *r = sqt_cmd("LINDEX {syncq}:cp:t-dmg 2");
        w = sqt_cmd("LSET {syncq}:cp:t-dmg 2 %b", r->str, r->len - 3);
        freeReplyObject(w);
        freeReplyObject(r);
    }
    {
        redisReply *r = sqt_cmd("LINDEX {syncq}:cp:t-dmg 0");
        char *copy = malloc(r->len);
        memcpy(copy, r->str, r->len);
        assert_int_equal(copy[6], '4');
        copy[6] = '5'; /* the step number in the header */
        w = sqt_cmd("LSET {syncq}:cp:t-dmg 0 %b", copy, r->len);
        freeReplyObject(w);
        free(copy);
        freeReplyObject(r);
    }
    load_expect("t-dmg", 1, "good one");
    assert_int_equal(corrupt_total(), 3);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:t-dmg"), 1);
    /* now damage the last good one: nothing good is left */
    corrupt_entry("t-dmg", 0);
    assert_int_equal(sq_checkpoint_load(cl, "t-dmg", &data, &len, &seq,
                                        &err),
                     SYNCQ_ENOTFOUND);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(seq, -1);
    assert_non_null(strstr(err.msg, "no good checkpoint (1 corrupt"));
    assert_int_equal(corrupt_total(), 4);
}

static void
size_limit_is_a_clear_error(void **state)
{
    syncq_config *cfg;
    syncq_client *c;
    syncq_error err;
    char *big = calloc(1, 1025);

    (void)state;
    assert_non_null(big);
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_CHECKPOINT_MAX", "1K",
                                      NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_client_open(sqt_broker_url(), cfg, &c, &err),
                     SYNCQ_OK);
    assert_int_equal(sq_checkpoint_save(c, "t-big", NULL, big, 1025, 1,
                                        &err),
                     SYNCQ_ETOOBIG);
    assert_non_null(strstr(err.msg, "1025 bytes, limit 1024"));
    assert_non_null(strstr(err.msg, "SYNCQ_CHECKPOINT_MAX"));
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:t-big"), 0);
    assert_int_equal(sq_checkpoint_save(c, "t-big", NULL, big, 1024, 1,
                                        &err),
                     SYNCQ_OK);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:t-big"), 1);
    syncq_client_close(c);
    syncq_config_free(cfg);
    free(big);
}

static void
fenced_by_the_lease_token(void **state)
{
    const char *q[] = {"default"};
    struct sq_lease_req req = {"w1:1", 30000, 1, 1, q, 1};
    struct sq_lease_reply lr;
    struct sq_settle_op op;
    char id[SYNCQ_ID_SIZE];
    syncq_error err;
    int st;
    redisReply *r;

    (void)state;
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, NULL,
                                       id, NULL, &err),
                     SYNCQ_OK);
    memset(&lr, 0, sizeof lr);
    assert_int_equal(sq_broker_settle_lease(cl, NULL, 0, NULL, &req, &lr,
                                            &err),
                     SYNCQ_OK);
    assert_int_equal(lr.n, 1);
    save_ok(cl, id, lr.tasks[0].token, "mine", 1);
    /* the record points at it */
    r = sqt_cmd("HMGET {syncq}:t:%s cp_seq cp_at", id);
    assert_string_equal(r->element[0]->str, "1");
    assert_true(atoll(r->element[1]->str) > 1700000000000LL);
    freeReplyObject(r);
    /* another token is refused and writes nothing */
    assert_int_equal(sq_checkpoint_save(cl, id, "999999", "theirs", 6, 2,
                                        &err),
                     SYNCQ_ELEASE);
    assert_non_null(strstr(err.msg, "stale"));
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:%s", id), 1);
    load_expect(id, 1, "mine");
    /* once the task ended, its own old token is stale too */
    memset(&op, 0, sizeof op);
    op.kind = SQ_SETTLE_OK;
    op.id = id;
    op.token = lr.tasks[0].token;
    op.result_json = "";
    assert_int_equal(sq_broker_settle_lease(cl, &op, 1, &st, NULL, NULL,
                                            &err),
                     SYNCQ_OK);
    assert_int_equal(st, SQ_SETTLED);
    assert_int_equal(sq_checkpoint_save(cl, id, lr.tasks[0].token, "late",
                                        4, 2, &err),
                     SYNCQ_ELEASE);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:%s", id), 1);
    /* a token for a task that does not exist is stale, not a write */
    assert_int_equal(sq_checkpoint_save(cl, "no-such-task", "5", "x", 1, 1,
                                        &err),
                     SYNCQ_ELEASE);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:no-such-task"), 0);
    /* unfenced saves (local runs) need no record */
    save_ok(cl, "local-run", NULL, "free", 1);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:t:local-run"), 0);
    sq_lease_reply_cleanup(&lr);
}

static void
bad_arguments_and_missing_checkpoints(void **state)
{
    void *data = NULL;
    size_t len = 5;
    int64_t seq = 5;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_checkpoint_save(cl, "", NULL, "x", 1, 1, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_checkpoint_save(cl, "a b", NULL, "x", 1, 1, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_checkpoint_save(cl, "t", NULL, "x", 1, -1, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "negative"));
    assert_int_equal(sq_checkpoint_save(cl, "t", NULL, NULL, 3, 1, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_checkpoint_load(cl, "never-saved", &data, &len, &seq,
                                        &err),
                     SYNCQ_ENOTFOUND);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(seq, -1);
    assert_non_null(strstr(err.msg, "has no checkpoint"));
    assert_int_equal(sqt_cmd_int("DBSIZE"), 0);
}

static void
restart_delete_removes_history_and_quarantine(void **state)
{
    syncq_error err;

    (void)state;
    save_ok(cl, "t-del", NULL, "a", 1);
    save_ok(cl, "t-del", NULL, "b", 2);
    corrupt_entry("t-del", 0);
    load_expect("t-del", 1, "a");
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cpbad:t-del"), 1);
    assert_int_equal(sq_checkpoint_delete(cl, "t-del", &err), SYNCQ_OK);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cp:t-del"), 0);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cpbad:t-del"), 0);
}

static void
dead_server_is_econn(void **state)
{
    void *data = NULL;
    size_t len;
    int64_t seq;
    syncq_error err;

    (void)state;
    save_ok(cl, "t-down", NULL, "before", 1);
    assert_int_equal(sqt_redisctl("stop"), 0);
    assert_int_equal(sq_checkpoint_save(cl, "t-down", NULL, "x", 1, 2, &err),
                     SYNCQ_ECONN);
    assert_int_equal(sq_checkpoint_load(cl, "t-down", &data, &len, &seq,
                                        &err),
                     SYNCQ_ECONN);
    assert_null(data);
    assert_int_equal(sqt_redisctl("start"), 0);
    /* the client reconnects by itself; AOF kept the saved entry */
    for (int i = 0; i < 100; i++) {
        if (sq_checkpoint_load(cl, "t-down", &data, &len, &seq, &err) ==
            SYNCQ_OK) {
            break;
        }
        usleep(50000);
    }
    assert_non_null(data);
    assert_int_equal(seq, 1);
    sq_free(data);
}

/* Fail the Nth allocation for N = 1, 2, ... until the call succeeds:
 * every round ends cleanly (ENOMEM, nothing half-written that a later
 * load would take for good) and ASan sees no leak. */
static void
allocation_failures_are_clean(void **state)
{
    int saved = 0, loaded = 0;

    (void)state;
    save_ok(cl, "t-oom", NULL, "base", 1);
    for (long n = 1; n < 500 && !saved; n++) {
        syncq_error err;
        int rc;
        sq_alloc_fail_at(n);
        rc = sq_checkpoint_save(cl, "t-oom", NULL, "next", 4, 2, &err);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_OK) {
            saved = 1;
        } else {
            assert_int_equal(rc, SYNCQ_ENOMEM);
            load_expect("t-oom", 1, "base"); /* nothing new stored */
        }
    }
    assert_true(saved);
    for (long n = 1; n < 500 && !loaded; n++) {
        void *data = NULL;
        size_t len = 0;
        int64_t seq = 0;
        syncq_error err;
        int rc;
        sq_alloc_fail_at(n);
        rc = sq_checkpoint_load(cl, "t-oom", &data, &len, &seq, &err);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_OK) {
            assert_int_equal(seq, 2);
            assert_memory_equal(data, "next", 4);
            sq_free(data);
            loaded = 1;
        } else {
            assert_int_equal(rc, SYNCQ_ENOMEM);
            assert_null(data);
        }
    }
    assert_true(loaded);
    /* no good entry was ever quarantined by an allocation failure */
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:cpbad:t-oom"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(binary_round_trip_newest_first,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(history_bounded_and_expiring, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(history_and_ttl_follow_config, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(corrupt_latest_falls_back_to_previous,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(every_kind_of_damage_is_detected,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(size_limit_is_a_clear_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fenced_by_the_lease_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_arguments_and_missing_checkpoints,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            restart_delete_removes_history_and_quarantine, setup, teardown),
        cmocka_unit_test_setup_teardown(dead_server_is_econn, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(allocation_failures_are_clean, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
