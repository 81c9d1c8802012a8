/* SPDX-License-Identifier: MIT
 *
 * it_beat_lua.c: the beat's Lua scripts called directly with crafted
 * arguments against a real Redis: the leader lock (beat_lock.lua,
 * compare-then-extend, C10), the poll (beat.lua), schedule definitions
 * (schedule_put.lua: create/replace/CAS/pause/resume/remove), ticks
 * (schedule_tick.lua: fencing, compare-and-set, dedupe, manual runs,
 * invalid marks) and batch waves (batch_dispatch.lua + lib.lua).
 */
#include "sq_test.h"

#include "broker/broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* kwargs valid for crawler.fetch_products's declared arguments */
#define KW "{\"category_id\":\"1\"}"

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    /* the 1688 tasks route to their packs' queues once the packs are
     * registered, as in the syncq binary (libsyncq knows none) */
    sqt_register_packs();
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

/* Call script `id` with string arguments (NULL-terminated list). */
static redisReply *
call(enum sq_script_id id, const char *const *argv)
{
    struct sq_args a;
    redisReply *r = NULL;
    syncq_error err;

    sq_args_init(&a);
    for (size_t i = 0; argv[i] != NULL; i++) {
        sq_args_add(&a, argv[i]);
    }
    if (sq_script_call(cl, id, &a, &r, &err) != SYNCQ_OK) {
        fail_msg("script %d: %s", (int)id, err.msg);
    }
    sq_args_cleanup(&a);
    return r;
}

static long long
int_at(redisReply *r, size_t i)
{
    assert_true(i < r->elements);
    if (r->element[i]->type == REDIS_REPLY_INTEGER) {
        return r->element[i]->integer;
    }
    assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
    return strtoll(r->element[i]->str, NULL, 10);
}

/* ZSCORE as a number; -1 when the member is missing. */
static long long
zscore(const char *key, const char *member)
{
    redisReply *r = sqt_cmd("ZSCORE %s %s", key, member);
    long long v = -1;

    if (r->type == REDIS_REPLY_STRING) {
        v = strtoll(r->str, NULL, 10);
    }
    freeReplyObject(r);
    return v;
}

static const char *
str_at(redisReply *r, size_t i)
{
    assert_true(i < r->elements);
    assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
    return r->element[i]->str;
}

static redisReply *
lock_op(const char *op, const char *token, const char *ttl)
{
    const char *argv[] = {op, token, ttl, "b1", NULL};
    return call(SQ_SCRIPT_BEAT_LOCK, argv);
}

static void
lock_compare_then_extend(void **state)
{
    redisReply *r;

    (void)state;
    r = lock_op("acquire", "A/1", "10000");
    assert_int_equal(int_at(r, 0), 1);
    freeReplyObject(r);
    r = lock_op("acquire", "B/1", "10000");
    assert_int_equal(int_at(r, 0), 0);
    assert_string_equal(str_at(r, 1), "A/1");
    freeReplyObject(r);
    /* B cannot extend or delete A's lock */
    r = lock_op("renew", "B/1", "60000");
    assert_int_equal(int_at(r, 0), 0);
    assert_true(int_at(r, 2) <= 10000);
    freeReplyObject(r);
    r = lock_op("release", "B/1", "0");
    assert_int_equal(int_at(r, 0), 0);
    assert_string_equal(str_at(r, 1), "A/1");
    freeReplyObject(r);
    r = lock_op("renew", "A/1", "20000");
    assert_int_equal(int_at(r, 0), 1);
    assert_true(int_at(r, 2) > 10000);
    freeReplyObject(r);
    /* A's lock lapses (A frozen); B takes it; A's renew then fails */
    r = lock_op("renew", "A/1", "300");
    freeReplyObject(r);
    usleep(400000);
    r = lock_op("acquire", "B/1", "10000");
    assert_int_equal(int_at(r, 0), 1);
    freeReplyObject(r);
    r = lock_op("renew", "A/1", "10000");
    assert_int_equal(int_at(r, 0), 0);
    assert_string_equal(str_at(r, 1), "B/1");
    freeReplyObject(r);
    r = lock_op("release", "B/1", "0");
    assert_int_equal(int_at(r, 0), 1);
    assert_string_equal(str_at(r, 1), "");
    freeReplyObject(r);
    {
        const char *argv[] = {"steal", "x", "1", "", NULL};
        struct sq_args a;
        redisReply *rr = NULL;
        syncq_error err;
        sq_args_init(&a);
        for (int i = 0; argv[i]; i++) {
            sq_args_add(&a, argv[i]);
        }
        assert_int_equal(sq_script_call(cl, SQ_SCRIPT_BEAT_LOCK, &a, &rr, &err),
                         SYNCQ_EPROTO);
        assert_non_null(strstr(err.msg, "unknown beat_lock op"));
        sq_args_cleanup(&a);
    }
}

static redisReply *
poll(const char *id, const char *token, const char *mode, const char *info)
{
    const char *argv[] = {id,    token, "5000", mode,   "1000", "100",
                          "100", "16",  info,   "5000", NULL};
    return call(SQ_SCRIPT_BEAT, argv);
}

static void
poll_takes_renews_and_fences(void **state)
{
    redisReply *r;
    syncq_task_options o;
    char id1[SYNCQ_ID_SIZE], id2[SYNCQ_ID_SIZE];
    long long pttl;

    (void)state;
    sqt_flush();
    r = poll("a", "a/tok", "renew", "{\"id\":\"a\"}");
    assert_int_equal(int_at(r, 1), 1); /* leader */
    assert_string_equal(str_at(r, 8), "a/tok");
    freeReplyObject(r);
    r = poll("b", "b/tok", "renew", "{\"id\":\"b\"}");
    assert_int_equal(int_at(r, 1), 0);
    assert_string_equal(str_at(r, 8), "a/tok"); /* who leads */
    freeReplyObject(r);
    /* status records of both */
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:beat:nodes"), 2);
    r = sqt_cmd("HGET {syncq}:beat:node:a leader");
    assert_string_equal(r->str, "1");
    freeReplyObject(r);
    r = sqt_cmd("HGET {syncq}:beat:node:b leader");
    assert_string_equal(r->str, "0");
    freeReplyObject(r);
    /* "check" does not extend the lock */
    usleep(300000);
    pttl = sqt_cmd_int("PTTL {syncq}:beat:lock");
    r = poll("a", "a/tok", "check", "");
    assert_int_equal(int_at(r, 1), 1);
    freeReplyObject(r);
    assert_true(sqt_cmd_int("PTTL {syncq}:beat:lock") <= pttl);
    /* "follow" never takes a free lock */
    freeReplyObject(sqt_cmd("DEL {syncq}:beat:lock"));
    r = poll("b", "b/tok", "follow", "");
    assert_int_equal(int_at(r, 1), 0);
    assert_string_equal(str_at(r, 8), "");
    freeReplyObject(r);
    /* the leader promotes due delayed tasks and reports the next ETA */
    syncq_task_options_init(&o);
    o.countdown_ms = 100;
    assert_int_equal(syncq_task_create(cl, "crawler.fetch_products", NULL, KW,
                                       &o, id1, NULL, NULL),
                     SYNCQ_OK);
    o.countdown_ms = 60000;
    assert_int_equal(syncq_task_create(cl, "crawler.fetch_products", NULL, KW,
                                       &o, id2, NULL, NULL),
                     SYNCQ_OK);
    usleep(150000);
    r = poll("b", "b/tok", "renew", "");
    assert_int_equal(int_at(r, 1), 1);
    assert_int_equal(int_at(r, 2), 1);                /* promoted */
    assert_true(int_at(r, 4) > int_at(r, 0) + 50000); /* next ETA */
    freeReplyObject(r);
    assert_string_equal(sqt_task_state(cl, id1), "PENDING");
    assert_int_equal(zscore("{syncq}:delayed", id1), -1);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 1);
    /* a non-leader's poll promotes nothing */
    o.countdown_ms = 50;
    assert_int_equal(syncq_task_create(cl, "crawler.fetch_products", NULL, KW,
                                       &o, id1, NULL, NULL),
                     SYNCQ_OK);
    usleep(100000);
    r = poll("a", "a/tok", "renew", "");
    assert_int_equal(int_at(r, 1), 0);
    assert_int_equal(int_at(r, 2), 0);
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 2);
}

/* schedule_put "put" of a minimal cron definition. */
static redisReply *
put(const char *name, const char *mode, const char *gen, const char *next,
    const char *enabled)
{
    const char *argv[] = {
        "put",     name,      mode,    gen,         next,
        "6",       "name",    name,    "task",      "crawler.fetch_products",
        "type",    "cron",    "cron",  "* * * * *", "queue",
        "crawler", "enabled", enabled, NULL};
    return call(SQ_SCRIPT_SCHEDULE_PUT, argv);
}

static void
schedule_put_cas(void **state)
{
    redisReply *r;
    long long g1, g2;

    (void)state;
    sqt_flush();
    r = put("s1", "create", "", "1800000000000", "1");
    assert_string_equal(str_at(r, 0), "created");
    g1 = int_at(r, 1);
    freeReplyObject(r);
    assert_int_equal(zscore("{syncq}:schedules", "s1"), 1800000000000LL);
    r = put("s1", "create", "", "1800000000000", "1");
    assert_string_equal(str_at(r, 0), "exists");
    freeReplyObject(r);
    freeReplyObject(sqt_cmd("HSET {syncq}:sched:s1 runs 7 last 1700000000000"));
    r = put("s1", "replace", "999999", "1800000060000", "1");
    assert_string_equal(str_at(r, 0), "conflict");
    freeReplyObject(r);
    {
        char gs[32];
        snprintf(gs, sizeof gs, "%lld", g1);
        r = put("s1", "replace", gs, "1800000060000", "1");
    }
    assert_string_equal(str_at(r, 0), "replaced");
    g2 = int_at(r, 1);
    assert_true(g2 > g1);
    freeReplyObject(r);
    /* state kept, next moved */
    r = sqt_cmd("HMGET {syncq}:sched:s1 runs last next gen");
    assert_string_equal(r->element[0]->str, "7");
    assert_string_equal(r->element[1]->str, "1700000000000");
    assert_string_equal(r->element[2]->str, "1800000060000");
    freeReplyObject(r);
    /* pause: parked at +inf; again: already */
    {
        const char *argv[] = {"pause", "s1", NULL};
        r = call(SQ_SCRIPT_SCHEDULE_PUT, argv);
        assert_string_equal(str_at(r, 0), "paused");
        freeReplyObject(r);
        r = call(SQ_SCRIPT_SCHEDULE_PUT, argv);
        assert_string_equal(str_at(r, 0), "already");
        freeReplyObject(r);
        r = sqt_cmd("ZSCORE {syncq}:schedules s1");
        assert_string_equal(r->str, "inf");
        freeReplyObject(r);
    }
    /* resume needs the current generation */
    {
        const char *bad[] = {"resume", "s1", "1", "1800000120000", NULL};
        r = call(SQ_SCRIPT_SCHEDULE_PUT, bad);
        assert_string_equal(str_at(r, 0), "conflict");
        freeReplyObject(r);
    }
    {
        char gs[32];
        const char *argv[] = {"resume", "s1", gs, "1800000120000", NULL};
        r = sqt_cmd("HGET {syncq}:sched:s1 gen");
        snprintf(gs, sizeof gs, "%s", r->str);
        freeReplyObject(r);
        r = call(SQ_SCRIPT_SCHEDULE_PUT, argv);
        assert_string_equal(str_at(r, 0), "resumed");
        freeReplyObject(r);
        assert_int_equal(zscore("{syncq}:schedules", "s1"), 1800000120000LL);
    }
    {
        const char *argv[] = {"remove", "s1", "", NULL};
        r = call(SQ_SCRIPT_SCHEDULE_PUT, argv);
        assert_string_equal(str_at(r, 0), "removed");
        freeReplyObject(r);
        r = call(SQ_SCRIPT_SCHEDULE_PUT, argv);
        assert_string_equal(str_at(r, 0), "gone");
        freeReplyObject(r);
        assert_int_equal(sqt_cmd_int("EXISTS {syncq}:sched:s1"), 0);
        assert_int_equal(sqt_cmd_int("ZCARD {syncq}:schedules"), 0);
    }
    /* malformed */
    {
        const char *argv[] = {"put", "x", "create", "", "-1", "3", "a", NULL};
        struct sq_args a;
        redisReply *rr = NULL;
        syncq_error err;
        sq_args_init(&a);
        for (int i = 0; argv[i]; i++) {
            sq_args_add(&a, argv[i]);
        }
        assert_int_equal(
            sq_script_call(cl, SQ_SCRIPT_SCHEDULE_PUT, &a, &rr, &err),
            SYNCQ_EPROTO);
        assert_non_null(strstr(err.msg, "malformed"));
        sq_args_cleanup(&a);
    }
}

static redisReply *
tick(const char *token, const char *name, const char *gen, const char *expect,
     const char *action, const char *tk, const char *next, const char *id,
     const char *extra)
{
    const char *argv[] = {token,  "120000", "1",  name, gen,   expect,
                          action, tk,       next, id,   extra, NULL};
    return call(SQ_SCRIPT_SCHEDULE_TICK, argv);
}

static void
tick_fencing_cas_and_dedupe(void **state)
{
    const char *id1 = "11111111-1111-4111-8111-111111111111";
    const char *id2 = "22222222-2222-4222-8222-222222222222";
    const char *id3 = "33333333-3333-4333-8333-333333333333";
    redisReply *r;
    char gen[32];

    (void)state;
    sqt_flush();
    r = put("t1", "create", "", "1800000000000", "1");
    snprintf(gen, sizeof gen, "%lld", int_at(r, 1));
    freeReplyObject(r);
    freeReplyObject(sqt_cmd("HSET {syncq}:sched:t1 kwargs {\"a\":1} pri 8"));
    freeReplyObject(sqt_cmd("SET {syncq}:beat:lock L/1"));
    /* not the leader: nothing happens */
    r = tick("X/9", "t1", gen, "1800000000000", "fire", "1800000000000",
             "1800000060000", id1, "");
    assert_string_equal(str_at(r, 0), "notleader");
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:t:%s", id1), 0);
    /* the leader fires: task created, state advanced */
    r = tick("L/1", "t1", gen, "1800000000000", "fire", "1800000000000",
             "1800000060000", id1, "");
    assert_string_equal(str_at(r, 0), "fired");
    assert_string_equal(str_at(r, 1), id1);
    freeReplyObject(r);
    r = sqt_cmd("HMGET {syncq}:t:%s name queue pri kwargs sched tick state",
                id1);
    assert_string_equal(r->element[0]->str, "crawler.fetch_products");
    assert_string_equal(r->element[1]->str, "crawler");
    assert_string_equal(r->element[2]->str, "8");
    assert_string_equal(r->element[3]->str, "{\"a\":1}");
    assert_string_equal(r->element[4]->str, "t1");
    assert_string_equal(r->element[5]->str, "1800000000000");
    assert_string_equal(r->element[6]->str, "PENDING");
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:8"), 1);
    r = sqt_cmd("HMGET {syncq}:sched:t1 runs last last_id next");
    assert_string_equal(r->element[0]->str, "1");
    assert_string_equal(r->element[1]->str, "1800000000000");
    assert_string_equal(r->element[2]->str, id1);
    assert_string_equal(r->element[3]->str, "1800000060000");
    freeReplyObject(r);
    /* the same tick again (a second beat's stale plan): refused */
    r = tick("L/1", "t1", gen, "1800000000000", "fire", "1800000000000",
             "1800000060000", id2, "");
    assert_string_equal(str_at(r, 0), "stale");
    freeReplyObject(r);
    /* a stale generation: refused */
    r = tick("L/1", "t1", "99999", "1800000060000", "fire", "1800000060000",
             "1800000120000", id2, "");
    assert_string_equal(str_at(r, 0), "stale");
    freeReplyObject(r);
    /* the tick's dedupe key taken (a racing plan): dup, next advances */
    freeReplyObject(sqt_cmd("SET {syncq}:u:beat:t1:1800000060000 %s", id3));
    r = tick("L/1", "t1", gen, "1800000060000", "fire", "1800000060000",
             "1800000120000", id2, "");
    assert_string_equal(str_at(r, 0), "dup");
    assert_string_equal(str_at(r, 1), id3);
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:t:%s", id2), 0);
    assert_int_equal(zscore("{syncq}:schedules", "t1"), 1800000120000LL);
    /* skip: advance and count the missed ticks */
    r = tick("L/1", "t1", gen, "1800000120000", "skip", "", "1800000600000", "",
             "8");
    assert_string_equal(str_at(r, 0), "skipped");
    freeReplyObject(r);
    r = sqt_cmd("HGET {syncq}:sched:t1 missed_runs");
    assert_string_equal(r->str, "8");
    freeReplyObject(r);
    /* manual run: no lock, no CAS, next unchanged */
    r = tick("", "t1", "", "", "run", "", "-1", id2, "");
    assert_string_equal(str_at(r, 0), "fired");
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:t:%s", id2), 1);
    assert_int_equal(zscore("{syncq}:schedules", "t1"), 1800000600000LL);
    /* paused: refused (and parked) */
    freeReplyObject(sqt_cmd("HSET {syncq}:sched:t1 enabled 0"));
    r = tick("L/1", "t1", gen, "1800000600000", "fire", "1800000600000",
             "1800000660000", id3, "");
    assert_string_equal(str_at(r, 0), "paused");
    freeReplyObject(r);
    /* invalid: marked and parked at +inf */
    r = tick("L/1", "t1", "*", "", "error", "", "-1", "", "cron: bad");
    assert_string_equal(str_at(r, 0), "marked");
    freeReplyObject(r);
    r = sqt_cmd("HGET {syncq}:sched:t1 error");
    assert_string_equal(r->str, "cron: bad");
    freeReplyObject(r);
    /* gone: an index entry without its record is dropped */
    freeReplyObject(sqt_cmd("ZADD {syncq}:schedules 5 ghost"));
    r = tick("L/1", "ghost", "99999", "5", "fire", "5", "65", id3, "");
    assert_string_equal(str_at(r, 0), "gone");
    freeReplyObject(r);
    assert_int_equal(zscore("{syncq}:schedules", "ghost"), -1);
    /* the last tick of a one-shot: finished, parked */
    freeReplyObject(sqt_cmd("HSET {syncq}:sched:t1 enabled 1"));
    freeReplyObject(sqt_cmd("HDEL {syncq}:sched:t1 error"));
    r = tick("L/1", "t1", gen, "1800000600000", "fire", "1800000600000", "-1",
             id3, "");
    assert_string_equal(str_at(r, 0), "fired");
    freeReplyObject(r);
    r = sqt_cmd("HMGET {syncq}:sched:t1 finished next");
    assert_string_equal(r->element[0]->str, "1");
    assert_int_equal(r->element[1]->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
}

static const char *
spec(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "%08d-0000-4000-8000-000000000000|{\"items\":[%d]}", i,
             i);
    return buf;
}

static void
batch_waves_in_flight_and_slots(void **state)
{
    char s[5][96];
    redisReply *r;
    struct sq_lease_req lr;
    struct sq_lease_reply out;
    const char *queues[] = {"bq"};
    syncq_error err;

    (void)state;
    sqt_flush();
    {
        const char *argv[] = {"create",
                              "B1",
                              "batch_processing.work",
                              "5",
                              "5",
                              "",
                              "",
                              "",
                              "",
                              "bq",
                              "5",
                              "[]",
                              "2",
                              "0",
                              "1000",
                              "0",
                              "1",
                              "5",
                              spec(s[0], 96, 0),
                              spec(s[1], 96, 1),
                              spec(s[2], 96, 2),
                              spec(s[3], 96, 3),
                              spec(s[4], 96, 4),
                              NULL};
        r = call(SQ_SCRIPT_BATCH_DISPATCH, argv);
    }
    assert_int_equal(int_at(r, 0), 2); /* dispatched: max in flight 2 */
    assert_int_equal(int_at(r, 1), 3); /* waiting */
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:bq:5"), 2);
    {
        const char *argv[] = {"dispatch", "B1", NULL};
        r = call(SQ_SCRIPT_BATCH_DISPATCH, argv);
        assert_int_equal(int_at(r, 0), 0); /* no slot free */
        freeReplyObject(r);
    }
    /* a chunk ends: its slot goes to the next chunk in the same script */
    memset(&lr, 0, sizeof lr);
    lr.worker = "w1";
    lr.lease_ms = 30000;
    lr.max_n = 1;
    lr.start_now = 1;
    lr.queues = queues;
    lr.nqueues = 1;
    assert_int_equal(sq_broker_settle_lease(cl, NULL, 0, NULL, &lr, &out, &err),
                     SYNCQ_OK);
    assert_int_equal(out.n, 1);
    {
        struct sq_settle_op op;
        int st;
        memset(&op, 0, sizeof op);
        op.kind = SQ_SETTLE_OK;
        op.id = out.tasks[0].id;
        op.token = out.tasks[0].token;
        op.result_json = "";
        assert_int_equal(
            sq_broker_settle_lease(cl, &op, 1, &st, NULL, NULL, &err),
            SYNCQ_OK);
        assert_int_equal(st, SQ_SETTLED);
    }
    sq_lease_reply_cleanup(&out);
    r = sqt_cmd("HMGET {syncq}:b:B1 dispatched done");
    assert_string_equal(r->element[0]->str, "3");
    assert_string_equal(r->element[1]->str, "1");
    freeReplyObject(r);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:bq:B1"), 2);
    /* an unsealed batch dispatches nothing */
    {
        const char *argv[] = {"create",
                              "B2",
                              "batch_processing.work",
                              "2",
                              "2",
                              "",
                              "",
                              "",
                              "",
                              "bq",
                              "5",
                              "[]",
                              "0",
                              "0",
                              "1000",
                              "0",
                              "0",
                              "1",
                              spec(s[0], 96, 10),
                              NULL};
        r = call(SQ_SCRIPT_BATCH_DISPATCH, argv);
        assert_int_equal(int_at(r, 0), 0);
        freeReplyObject(r);
        const char *argv2[] = {"dispatch", "B2", NULL};
        r = call(SQ_SCRIPT_BATCH_DISPATCH, argv2);
        assert_int_equal(int_at(r, 0), 0);
        freeReplyObject(r);
        const char *argv3[] = {"append",           "B2", "1", "1",
                               spec(s[1], 96, 11), NULL};
        r = call(SQ_SCRIPT_BATCH_DISPATCH, argv3);
        assert_int_equal(int_at(r, 0), 2); /* sealed: both go */
        assert_int_equal(int_at(r, 1), 0);
        freeReplyObject(r);
    }
    /* rate 2 per second: a burst of 2, then one per 500 ms */
    {
        char sp[6][96];
        const char *argv[] = {"create",
                              "B3",
                              "batch_processing.work",
                              "6",
                              "6",
                              "",
                              "",
                              "",
                              "",
                              "bq",
                              "5",
                              "[]",
                              "0",
                              "2",
                              "1000",
                              "0",
                              "1",
                              "6",
                              spec(sp[0], 96, 20),
                              spec(sp[1], 96, 21),
                              spec(sp[2], 96, 22),
                              spec(sp[3], 96, 23),
                              spec(sp[4], 96, 24),
                              spec(sp[5], 96, 25),
                              NULL};
        long long now;
        r = call(SQ_SCRIPT_BATCH_DISPATCH, argv);
        assert_int_equal(int_at(r, 0), 2);
        now = zscore("{syncq}:bwaves", "B3");
        assert_true(int_at(r, 2) == now);
        freeReplyObject(r);
        r = sqt_cmd("TIME");
        {
            long long t = strtoll(r->element[0]->str, NULL, 10) * 1000 +
                          strtoll(r->element[1]->str, NULL, 10) / 1000;
            assert_true(now > t + 400 && now <= t + 501);
        }
        freeReplyObject(r);
        const char *argv2[] = {"dispatch", "B3", NULL};
        r = call(SQ_SCRIPT_BATCH_DISPATCH, argv2);
        assert_int_equal(int_at(r, 0), 0);
        freeReplyObject(r);
        usleep(550000);
        r = call(SQ_SCRIPT_BATCH_DISPATCH, argv2);
        assert_int_equal(int_at(r, 0), 1);
        assert_int_equal(int_at(r, 1), 3);
        freeReplyObject(r);
    }
    {
        struct sq_args a;
        redisReply *rr = NULL;
        sq_args_init(&a);
        sq_args_add(&a, "dispatch");
        sq_args_add(&a, "NOPE");
        assert_int_equal(
            sq_script_call(cl, SQ_SCRIPT_BATCH_DISPATCH, &a, &rr, &err),
            SYNCQ_EPROTO);
        assert_non_null(strstr(err.msg, "no batch"));
        sq_args_cleanup(&a);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lock_compare_then_extend),
        cmocka_unit_test(poll_takes_renews_and_fences),
        cmocka_unit_test(schedule_put_cas),
        cmocka_unit_test(tick_fencing_cas_and_dedupe),
        cmocka_unit_test(batch_waves_in_flight_and_slots),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
