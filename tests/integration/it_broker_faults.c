/* SPDX-License-Identifier: MIT
 *
 * it_broker_faults.c: issue 12 at the client, against a real Redis with
 * realistic error replies (tests/integration/faultctl.sh): transient
 * replies (MISCONF, READONLY, OOM, BUSY) become SYNCQ_ECONN, are logged
 * once per error state and hold further calls back (no call reaches
 * Redis during the backoff); a permanent one (WRONGTYPE) is SYNCQ_EPROTO;
 * a flushed script cache or function library is loaded again; a
 * connection Redis closed while idle is replaced before the call is sent;
 * --expires-style relative times are resolved with Redis's TIME.
 */
#include "sq_test.h"

#include "broker/broker.h"
#include "broker/broker_io.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_error, log_recovered, log_reconnected;

static void
count_logs(void *ud, int level, const char *event, const char *kv)
{
    (void)ud;
    (void)level;
    (void)kv;
    log_error += strcmp(event, "broker.error") == 0;
    log_recovered += strcmp(event, "broker.recovered") == 0;
    log_reconnected += strcmp(event, "broker.reconnected") == 0;
}

static void
fault(const char *what)
{
    char cmd[600];

    snprintf(cmd, sizeof cmd, "%s/tests/integration/faultctl.sh %s",
             getenv("SYNCQ_SOURCE_DIR"), what);
    assert_int_equal(system(cmd), 0);
}

/* Script calls Redis has seen (INFO commandstats): EVALSHA and FCALL. */
static long long
evalsha_calls(void)
{
    redisReply *r = sqt_cmd("INFO commandstats");
    const char *p = strstr(r->str, "cmdstat_evalsha:calls=");
    const char *f = strstr(r->str, "cmdstat_fcall:calls=");
    long long n = p != NULL ? atoll(p + 22) : 0;

    n += f != NULL ? atoll(f + 20) : 0;
    freeReplyObject(r);
    return n;
}

static int
create(syncq_client *c, char *id, syncq_error *err)
{
    return syncq_task_create(c, "syncq.noop", NULL, NULL, NULL, id, NULL,
                             err);
}

/* Retry until the backoff lets a call through and it succeeds. */
static void
create_eventually(syncq_client *c, char *id)
{
    int rc = -1;

    for (int i = 0; i < 200 && rc != SYNCQ_OK; i++) {
        rc = create(c, id, NULL);
        if (rc != SYNCQ_OK) {
            sq_sleep_ms(25);
        }
    }
    assert_int_equal(rc, SYNCQ_OK);
}

/* One transient error state: ECONN with Redis's message, one log line,
 * calls held back without reaching Redis, one line when it ends. */
static void
transient_state(const char *on, const char *off, const char *code)
{
    syncq_client *c = sqt_client();
    char id[SYNCQ_ID_SIZE];
    syncq_error err;
    long long calls;

    syncq_log_set_handler(count_logs, NULL);
    log_error = log_recovered = 0;
    create_eventually(c, id);
    fault(on);
    assert_int_equal(create(c, id, &err), SYNCQ_ECONN);
    assert_non_null(strstr(err.msg, code));
    assert_int_equal(c->fault.errors, 1);
    calls = evalsha_calls();
    for (int i = 0; i < 50; i++) {
        assert_int_equal(create(c, id, &err), SYNCQ_ECONN); /* held back */
    }
    assert_int_equal(evalsha_calls(), calls); /* none reached Redis */
    assert_non_null(strstr(err.msg, code));
    sq_sleep_ms(1000);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(create(c, id, &err), SYNCQ_ECONN);
        sq_sleep_ms(50);
    }
    /* 100+200+400+800 ms of backoff in about 2 s: a handful of calls */
    assert_true(evalsha_calls() - calls <= 5);
    assert_int_equal(log_error, 1);
    fault(off);
    create_eventually(c, id);
    assert_string_equal(sqt_task_state(c, id), "PENDING");
    assert_int_equal(log_error, 1);
    assert_int_equal(log_recovered, 1);
    assert_int_equal(c->fault.since_ms, 0);
    syncq_client_close(c);
    syncq_log_set_handler(NULL, NULL);
}

static void
misconf_is_transient(void **state)
{
    (void)state;
    transient_state("misconf-on", "misconf-off", "MISCONF");
}

static void
readonly_is_transient(void **state)
{
    (void)state;
    transient_state("readonly-on", "readonly-off", "READONLY");
}

static void
oom_is_transient(void **state)
{
    (void)state;
    transient_state("oom-on", "oom-off", "OOM");
}

static void
busy_is_transient(void **state)
{
    syncq_client *c = sqt_client();
    char id[SYNCQ_ID_SIZE];
    syncq_error err;

    (void)state;
    fault("busy 2");
    assert_int_equal(create(c, id, &err), SYNCQ_ECONN);
    assert_non_null(strstr(err.msg, "BUSY"));
    create_eventually(c, id); /* the loop ends after 2 s */
    assert_string_equal(sqt_task_state(c, id), "PENDING");
    syncq_client_close(c);
}

static void
wrongtype_is_permanent(void **state)
{
    syncq_client *c = sqt_client();
    char id[SYNCQ_ID_SIZE];
    syncq_error err;
    struct sq_fault_counts before, after;

    (void)state;
    sqt_flush();
    freeReplyObject(sqt_cmd("SET {syncq}:q:default:5 not-a-list"));
    sq_fault_counts_get(&before);
    assert_int_equal(create(c, id, &err), SYNCQ_EPROTO);
    assert_non_null(strstr(err.msg, "WRONGTYPE"));
    sq_fault_counts_get(&after);
    assert_int_equal(after.permanent, before.permanent + 1);
    assert_int_equal(c->fault.since_ms, 0); /* no backoff: not transient */
    freeReplyObject(sqt_cmd("DEL {syncq}:q:default:5"));
    assert_int_equal(create(c, id, &err), SYNCQ_OK);
    syncq_client_close(c);
}

/* The server's major version (functions need 7). */
static long
redis_major(void)
{
    redisReply *r = sqt_cmd("INFO server");
    const char *v = strstr(r->str, "redis_version:");
    long m = v != NULL ? strtol(v + 14, NULL, 10) : 0;

    freeReplyObject(r);
    return m;
}

/* SCRIPT FLUSH and FUNCTION FLUSH lose the broker's Lua: the next call
 * loads it again, as functions (FCALL) and as scripts (EVALSHA,
 * SYNCQ_BROKER_FUNCTIONS=0), a plain call and a pipelined one (the
 * worker's round: its call fails as ECONN and the next one works). */
static void
noscript_reloads(void **state)
{
    const char *q[] = {"default"};
    struct sq_lease_req req = {"w1:1", 30000, 1, 1, q, 1};
    struct sq_lease_reply r;

    (void)state;
    for (int scripts = 0; scripts < 2; scripts++) {
        syncq_client *c;
        char id[SYNCQ_ID_SIZE];
        bool fcall = !scripts && redis_major() >= 7;
        int rc;
        setenv("SYNCQ_BROKER_FUNCTIONS", scripts ? "0" : "1", 1);
        c = sqt_client();
        assert_int_equal(create(c, id, NULL), SYNCQ_OK);
        assert_int_equal(c->fcall, fcall);
        freeReplyObject(sqt_cmd("SCRIPT FLUSH"));
        if (redis_major() >= 7) {
            freeReplyObject(sqt_cmd("FUNCTION FLUSH"));
        }
        assert_int_equal(create(c, id, NULL), SYNCQ_OK);
        assert_string_equal(sqt_task_state(c, id), "PENDING");
        assert_int_equal(c->fcall, fcall);
        freeReplyObject(sqt_cmd("SCRIPT FLUSH"));
        if (redis_major() >= 7) {
            freeReplyObject(sqt_cmd("FUNCTION FLUSH"));
        }
        rc = sq_broker_settle_lease(c, NULL, 0, NULL, &req, &r, NULL);
        assert_int_equal(rc, SYNCQ_ECONN);
        assert_int_equal(sq_broker_settle_lease(c, NULL, 0, NULL, &req, &r,
                                                NULL),
                         SYNCQ_OK);
        assert_int_equal(r.n, 1); /* both tasks were queued */
        sq_lease_reply_cleanup(&r);
        assert_int_equal(c->fcall, fcall);
        freeReplyObject(sqt_cmd("FLUSHDB"));
        syncq_client_close(c);
    }
    unsetenv("SYNCQ_BROKER_FUNCTIONS");
}

/* Item 3: Redis closed the idle connection (a restart, a timeout, CLIENT
 * KILL): the next call goes out on a new connection, transparently, and
 * the reconnect is logged once. */
static void
idle_closed_connection_is_replaced(void **state)
{
    syncq_client *c = sqt_client();
    char id[SYNCQ_ID_SIZE];
    struct sq_fault_counts before, after;
    redisReply *r;

    (void)state;
    syncq_log_set_handler(count_logs, NULL);
    log_reconnected = 0;
    assert_int_equal(create(c, id, NULL), SYNCQ_OK);
    sq_fault_counts_get(&before);
    assert_int_equal(sqt_redisctl("restart"), 0);
    assert_int_equal(create(c, id, NULL), SYNCQ_OK); /* first call: OK */
    assert_int_equal(sqt_redisctl("restart"), 0);
    assert_int_equal(sq_client_cmd(c, &r, NULL, "TIME"), SYNCQ_OK);
    freeReplyObject(r);
    sq_fault_counts_get(&after);
    assert_int_equal(after.reconnects, before.reconnects + 2);
    assert_int_equal(log_reconnected, 2);
    syncq_client_close(c);
    syncq_log_set_handler(NULL, NULL);
}

/* Only a connection idle for a millisecond or more is peeked for a
 * close before a call: one that answered just before is in use (a
 * producer's calls back to back pay no recv each). A closed one seen
 * only by the peek: once it counts as idle, it is found closed. */
static void
recently_answered_connection_is_not_peeked(void **state)
{
    syncq_client *c = sqt_client();
    char id[SYNCQ_ID_SIZE];
    redisReply *r;

    (void)state;
    assert_int_equal(create(c, id, NULL), SYNCQ_OK);
    assert_true(c->conn->heard_us > 0);
    assert_true(sq_mono_us() - c->conn->heard_us < 1000000);
    r = sqt_cmd("CLIENT KILL TYPE normal SKIPME yes");
    assert_true(r->type == REDIS_REPLY_INTEGER && r->integer >= 1);
    freeReplyObject(r);
    sq_sleep_ms(50); /* the close reaches our socket */
    c->conn->heard_us = sq_mono_us();
    assert_false(sq_conn_closed_while_idle(c));
    c->conn->heard_us = sq_mono_us() - 2000;
    assert_true(sq_conn_closed_while_idle(c));
    syncq_client_close(c);
}

/* Item 5: a relative expiry is Redis's TIME at creation + the span. */
static void
expires_in_uses_redis_time(void **state)
{
    syncq_client *c = sqt_client();
    syncq_task_options o;
    char id[SYNCQ_ID_SIZE];
    redisReply *r;
    long long redis_ms, exp;

    (void)state;
    syncq_task_options_init(&o);
    o.expires_in_ms = 600000;
    r = sqt_cmd("TIME");
    redis_ms = atoll(r->element[0]->str) * 1000 +
               atoll(r->element[1]->str) / 1000;
    freeReplyObject(r);
    assert_int_equal(syncq_task_create(c, "syncq.noop", NULL, NULL, &o, id,
                                       NULL, NULL),
                     SYNCQ_OK);
    r = sqt_cmd("HGET {syncq}:t:%s exp", id);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    exp = atoll(r->str);
    freeReplyObject(r);
    assert_true(exp >= redis_ms + 600000 && exp < redis_ms + 602000);
    o.expires_ms = redis_ms + 1000;
    assert_int_equal(syncq_task_create(c, "syncq.noop", NULL, NULL, &o, id,
                                       NULL, NULL),
                     SYNCQ_EINVAL); /* not both */
    syncq_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(misconf_is_transient),
        cmocka_unit_test(readonly_is_transient),
        cmocka_unit_test(oom_is_transient),
        cmocka_unit_test(busy_is_transient),
        cmocka_unit_test(wrongtype_is_permanent),
        cmocka_unit_test(noscript_reloads),
        cmocka_unit_test(idle_closed_connection_is_replaced),
        cmocka_unit_test(recently_answered_connection_is_not_peeked),
        cmocka_unit_test(expires_in_uses_redis_time),
    };
    /* syncq.noop registered here, as in the syncq binary: its route and
     * declared arguments need no {ns}:taskargs lookup, so every Redis call
     * these tests count is the create script's */
    sqt_register_packs();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
