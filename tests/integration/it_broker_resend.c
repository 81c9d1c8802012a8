/* SPDX-License-Identifier: MIT
 *
 * it_broker_resend.c: issue 12 item 3 for calls that lose their
 * connection part-way, through a proxy that cuts one connection on demand
 * (tests/integration/redis_cut_proxy.py) in front of the real Redis: a
 * call whose write failed before it reached Redis is sent again on a new
 * connection (even a write), a call whose reply was lost is sent again
 * only when it is safe (settle: "already"), never otherwise (lease). And
 * the scripts the resend audit fixed (docs/internals.md "Sending a call
 * again"): a cancel taken by a lost reply is asked again by the next
 * heartbeat; a poison entry and a checkpoint re-sent count and store once.
 */
#include "sq_test.h"

#include "broker/broker.h"
#include "core/sq_time.h"
#include "sq_alloc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t proxy_pid;
static char proxy_sock[512], ctl_dir[512];
static int log_resend;
static char resend_kv[512];

static void
count_logs(void *ud, int level, const char *event, const char *kv)
{
    (void)ud;
    (void)level;
    if (strcmp(event, "broker.resend") == 0) {
        log_resend++;
        snprintf(resend_kv, sizeof resend_kv, "%s", kv);
    }
}

static int
start_proxy(void **state)
{
    char path[1024];
    struct stat st;

    (void)state;
    sqt_flush();
    snprintf(proxy_sock, sizeof proxy_sock, "%s/proxy.sock", sqt_tmpdir());
    snprintf(ctl_dir, sizeof ctl_dir, "%s/cut", sqt_tmpdir());
    mkdir(ctl_dir, 0700);
    snprintf(path, sizeof path, "%s/tests/integration/redis_cut_proxy.py",
             getenv("SYNCQ_SOURCE_DIR"));
    proxy_pid = fork();
    if (proxy_pid == 0) {
        execlp("python3", "python3", path, proxy_sock,
               getenv("SYNCQ_REDIS_SOCK"), ctl_dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && stat(proxy_sock, &st) != 0; i++) {
        sq_sleep_ms(10);
    }
    assert_int_equal(stat(proxy_sock, &st), 0);
    syncq_log_set_handler(count_logs, NULL);
    return 0;
}

static int
stop_proxy(void **state)
{
    (void)state;
    syncq_log_set_handler(NULL, NULL);
    kill(proxy_pid, SIGKILL);
    waitpid(proxy_pid, NULL, 0);
    return 0;
}

/* A client whose connection goes through the proxy. */
static syncq_client *
proxied(void)
{
    char url[600];
    syncq_client *c = NULL;
    syncq_error err;

    snprintf(url, sizeof url, "unix://%s", proxy_sock);
    if (syncq_client_open(url, NULL, &c, &err) != SYNCQ_OK) {
        fail_msg("open through the proxy: %s", err.msg);
    }
    return c;
}

/* Arm the proxy: MODE ("reply" or "request") on the next request that
 * holds `pattern`. */
static void
arm(const char *mode, const char *pattern)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof path, "%s/cut", ctl_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s %s\n", mode, pattern);
    fclose(f);
    log_resend = 0;
}

/* Cuts the proxy made (lines of cuts.log). */
static int
cuts(void)
{
    char path[600], line[300];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof path, "%s/cuts.log", ctl_dir);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        n++;
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

static void
create_one(syncq_client *c, char id[SYNCQ_ID_SIZE])
{
    syncq_error err;

    if (syncq_task_create(c, "syncq.noop", NULL, NULL, NULL, id, NULL,
                          &err) != SYNCQ_OK) {
        fail_msg("create: %s", err.msg);
    }
}

/* Lease the one ready task of queue default as worker `w`. */
static void
lease_one(syncq_client *c, const char *w, char token[32])
{
    static const char *const qs[] = {"default"};
    struct sq_lease_req req = {w, 60000, 1, 1, qs, 1};
    struct sq_lease_reply out;
    syncq_error err;

    assert_int_equal(sq_broker_settle_lease(c, NULL, 0, NULL, &req, &out,
                                            &err),
                     SYNCQ_OK);
    assert_int_equal(out.n, 1);
    snprintf(token, 32, "%s", out.tasks[0].token);
    sq_lease_reply_cleanup(&out);
}

/* A hash field as a number, -1 when absent. */
static long long
field_int_of(const char *key, const char *field)
{
    redisReply *r = sqt_cmd("HGET %s %s", key, field);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;

    freeReplyObject(r);
    return v;
}

static long long
field_int(const char *id, const char *field)
{
    char key[128];

    snprintf(key, sizeof key, "{syncq}:t:%s", id);
    return field_int_of(key, field);
}

/* A write cut part-way (EPIPE) never ran: even an enqueue, which is not
 * safe to run twice, goes again, and exactly one task exists. */
static void
unsent_write_is_sent_again(void **state)
{
    syncq_client *c = proxied();
    static const char *id = "6f1c2a1e-0d7b-4e55-9a43-5b1f3c2d9e01";
    size_t big = 2u << 20;
    char *kw = malloc(big + 32);
    char got[SYNCQ_ID_SIZE];
    syncq_task_options o;
    syncq_error err;
    int dup = -1;

    (void)state;
    /* 2 MiB: more than the socket buffers, so the proxy's close lands
     * while the client is still writing */
    memcpy(kw, "{\"pad\":\"", 8);
    memset(kw + 8, 'x', big);
    memcpy(kw + 8 + big, "\"}", 3);
    syncq_task_options_init(&o);
    o.task_id = id;
    arm("request", id);
    assert_int_equal(syncq_task_create(c, "syncq.noop", NULL, kw, &o, got,
                                       &dup, &err),
                     SYNCQ_OK);
    free(kw);
    assert_int_equal(cuts(), 1);
    assert_string_equal(got, id);
    assert_int_equal(dup, 0); /* the first attempt wrote nothing */
    assert_int_equal(log_resend, 1);
    assert_non_null(strstr(resend_kv, "sent=no"));
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 1);
    assert_string_equal(sqt_task_state(c, id), "PENDING");
    syncq_client_close(c);
}

/* A settle whose reply was lost ran: it is safe to send again, and the
 * second run answers "already" (recorded by this very lease). */
static void
lost_reply_of_a_safe_script_is_sent_again(void **state)
{
    syncq_client *c = proxied();
    char id[SYNCQ_ID_SIZE], token[32];
    struct sq_settle_op op;
    struct sq_args a;
    redisReply *r = NULL;
    syncq_error err;
    int st = -1;

    (void)state;
    sqt_flush();
    create_one(c, id);
    lease_one(c, "resend-w1", token);
    memset(&op, 0, sizeof op);
    op.kind = SQ_SETTLE_OK;
    op.id = id;
    op.token = token;
    op.result_json = "42";
    sq_args_init(&a);
    sq_settle_args_begin(&a, 1);
    sq_settle_args_add(&a, &op);
    arm("reply", id);
    assert_int_equal(sq_script_call(c, SQ_SCRIPT_SETTLE, &a, &r, &err),
                     SYNCQ_OK);
    sq_args_cleanup(&a);
    assert_int_equal(cuts(), 2);
    assert_int_equal(sq_settle_parse(r, 1, &st, &err), SYNCQ_OK);
    freeReplyObject(r);
    assert_int_equal(st, SQ_SETTLE_ALREADY);
    assert_int_equal(log_resend, 1);
    assert_non_null(strstr(resend_kv, "sent=maybe"));
    assert_string_equal(sqt_task_state(c, id), "SUCCESS");
    syncq_client_close(c);
}

/* A lease whose reply was lost ran too, but running it again would lease
 * more: the caller gets SYNCQ_ECONN and nothing is sent twice. */
static void
lost_reply_of_an_unsafe_script_is_not_sent_again(void **state)
{
    static const char *const qs[] = {"default"};
    struct sq_lease_req req = {"resend-w2", 60000, 1, 1, qs, 1};
    syncq_client *c = proxied();
    char id[SYNCQ_ID_SIZE], id2[SYNCQ_ID_SIZE];
    struct sq_args a;
    redisReply *r = NULL;
    syncq_error err;

    (void)state;
    sqt_flush();
    create_one(c, id);
    create_one(c, id2);
    sq_args_init(&a);
    sq_lease_args(&a, &req);
    arm("reply", "resend-w2");
    assert_int_equal(sq_script_call(c, SQ_SCRIPT_LEASE, &a, &r, &err),
                     SYNCQ_ECONN);
    sq_args_cleanup(&a);
    assert_null(r);
    assert_int_equal(cuts(), 3);
    assert_int_equal(log_resend, 0);
    /* one lease ran (the first task), not two */
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:active"), 1);
    assert_int_equal(field_int(id, "attempt"), 1);
    assert_int_equal(field_int(id2, "attempt"), -1);
    syncq_client_close(c);
}

/* extend.lua (audit fix): a cancel whose control message was taken by a
 * call whose reply was lost is reported by the next heartbeat, for as
 * long as the worker holds the lease. */
static void
lost_cancel_is_asked_again(void **state)
{
    syncq_client *c = sqt_client();
    char id[SYNCQ_ID_SIZE], other[SYNCQ_ID_SIZE], t1[32], t2[32];
    const char *ids[2], *tokens[2];
    json_t *lost = NULL, *control = NULL;
    int outcome = -1;
    char want[128];

    (void)state;
    sqt_flush();
    create_one(c, id);
    lease_one(c, "resend-w3", t1);
    create_one(c, other);
    lease_one(c, "resend-w3", t2);
    assert_int_equal(syncq_task_revoke(c, id, "test", &outcome, NULL, NULL),
                     SYNCQ_OK);
    assert_int_equal(outcome, SYNCQ_REVOKE_REQUESTED);
    /* the call that took the control message lost its reply */
    assert_int_equal(sqt_cmd_int("DEL {syncq}:ctl:resend-w3"), 1);
    ids[0] = id;
    ids[1] = other;
    tokens[0] = t1;
    tokens[1] = t2;
    snprintf(want, sizeof want, "[] [\"%s\"]", id);
    for (int round = 0; round < 2; round++) { /* every heartbeat asks */
        char got[128], *l, *k;
        assert_int_equal(sq_broker_extend(c, "resend-w3", 60000, "{}", 10000,
                                          ids, tokens, 2, &lost, &control,
                                          NULL),
                         SYNCQ_OK);
        l = json_dumps(lost, JSON_COMPACT);
        k = json_dumps(control, JSON_COMPACT);
        snprintf(got, sizeof got, "%s %s", l, k);
        sq_free(l);
        sq_free(k);
        json_decref(lost);
        json_decref(control);
        assert_string_equal(got, want);
    }
    syncq_client_close(c);
}

static int
poison(syncq_client *c, const char *id)
{
    struct sq_args a;
    redisReply *r = NULL;
    int rc;

    sq_args_init(&a);
    sq_args_add(&a, id);
    sq_args_add(&a, "default");
    sq_args_add(&a, "not a task");
    sq_args_add(&a, "not_json");
    rc = sq_script_call(c, SQ_SCRIPT_POISON, &a, &r, NULL);
    sq_args_cleanup(&a);
    if (r != NULL) {
        assert_string_equal(r->str, "OK");
        freeReplyObject(r);
    }
    return rc;
}

/* poison.lua (audit fix): the same call twice counts once. */
static void
poison_counts_once(void **state)
{
    syncq_client *c = sqt_client();
    static const char *id = "0b5e2c44-3f8a-4d21-8c77-2a9e6f1d0c10";

    (void)state;
    sqt_flush();
    assert_int_equal(poison(c, id), SYNCQ_OK);
    assert_int_equal(poison(c, id), SYNCQ_OK);
    assert_int_equal(field_int_of("{syncq}:stats", "poison_messages_total"),
                     1);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:dlq"), 1);
    assert_int_equal(field_int_of("{syncq}:dlqn", "default"), 1);
    syncq_client_close(c);
}

static void
checkpoint(syncq_client *c, const char *id, const char *seq,
           const char *data, redisReply **r)
{
    struct sq_args a;

    sq_args_init(&a);
    sq_args_add(&a, id);
    sq_args_add(&a, "");
    sq_args_add(&a, seq);
    sq_args_add(&a, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e8"
                    "46f6be03"); /* sha256("hello\n"), as the client sends */
    sq_args_add(&a, "3");
    sq_args_add(&a, "60000");
    sq_args_add(&a, data);
    assert_int_equal(sq_script_call(c, SQ_SCRIPT_CHECKPOINT_SAVE, &a, r,
                                    NULL),
                     SYNCQ_OK);
    sq_args_cleanup(&a);
}

/* checkpoint_save.lua (audit fix): the same checkpoint re-sent is stored
 * once and answered with the first call's time; a new step is stored. */
static void
checkpoint_save_stores_once(void **state)
{
    syncq_client *c = sqt_client();
    static const char *id = "1d9c8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f";
    redisReply *r1 = NULL, *r2 = NULL, *r3 = NULL;

    (void)state;
    sqt_flush();
    checkpoint(c, id, "7", "hello\n", &r1);
    sq_sleep_ms(5);
    checkpoint(c, id, "7", "hello\n", &r2);
    assert_string_equal(r1->element[0]->str, "ok");
    assert_string_equal(r2->element[0]->str, "ok");
    assert_int_equal(r1->element[1]->integer, r2->element[1]->integer);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:%s", id), 1);
    checkpoint(c, id, "8", "hello\n", &r3);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:cp:%s", id), 2);
    freeReplyObject(r1);
    freeReplyObject(r2);
    freeReplyObject(r3);
    syncq_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unsent_write_is_sent_again),
        cmocka_unit_test(lost_reply_of_a_safe_script_is_sent_again),
        cmocka_unit_test(lost_reply_of_an_unsafe_script_is_not_sent_again),
        cmocka_unit_test(lost_cancel_is_asked_again),
        cmocka_unit_test(poison_counts_once),
        cmocka_unit_test(checkpoint_save_stores_once),
    };
    return cmocka_run_group_tests(tests, start_proxy, stop_proxy);
}
