/* SPDX-License-Identifier: MIT
 *
 * it_worker_basic.c: a real `syncq worker` against a private Redis:
 * built-in tasks end to end (results, failures by class, not_registered,
 * progress, sub-tasks with parent/root ids), byte-exact non-ASCII and
 * binary payloads (C37), retry policies by error class, poison queue
 * entries (C36) and adopted foreign envelopes, an error that cannot be
 * serialised (C32), stored arguments that are not JSON, the example
 * plugin, the heartbeat info and liveness file, SIGHUP log reopening,
 * and bad command lines. TEST_TIMEOUT: 240
 */
#include "it_worker_util.h"

#include <sys/stat.h>

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
    wk_fast_env();
    cl = sqt_client();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    wk_reap_all();
    syncq_client_close(cl);
    return 0;
}

static void
builtin_tasks_end_to_end(void **state)
{
    /* C37: Chinese title, emoji, an embedded NUL and a 1 MB blob. */
    size_t blob_len = 1 << 20;
    char *blob = malloc(blob_len + 1);
    json_t *kw, *t, *res;
    char *kwtext;
    char echo[SYNCQ_ID_SIZE], fail[SYNCQ_ID_SIZE], nope[SYNCQ_ID_SIZE];
    char noop[SYNCQ_ID_SIZE], slp[SYNCQ_ID_SIZE], fan[SYNCQ_ID_SIZE];
    syncq_task_options o;
    struct sqt_out out;
    int pid;

    (void)state;
    for (size_t i = 0; i < blob_len; i++) {
        blob[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123"
                  "456789+/"[(i * 7919) % 64];
    }
    blob[blob_len] = '\0';
    kw = json_pack("{s:s,s:s,s:s%,s:s}", "title", "女装连衣裙 2024新款",
                   "emoji", "😀🛒", "nul", "a\0b", (size_t)3, "blob", blob);
    kwtext = json_dumps(kw, JSON_COMPACT);
    pid = wk_start("it-basic", "-c 2");
    wk_wait_ready("it-basic");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.echo", kwtext, &o, echo);
    wk_create(cl, "syncq.fail", "{\"class\":\"validation\",\"message\":"
              "\"bad offer id\"}", &o, fail);
    wk_create(cl, "nope.not_here", NULL, &o, nope);
    wk_create(cl, "syncq.noop", NULL, &o, noop);
    wk_create(cl, "syncq.sleep", "{\"seconds\":0.4,\"tick_ms\":50}", &o,
              slp);
    wk_create(cl, "syncq.fanout", "{\"count\":3,\"name\":\"syncq.echo\","
              "\"kwargs\":{\"k\":1}}", &o, fan);

    t = wk_wait(cl, echo, 20000);
    assert_string_equal(wk_state(t), "SUCCESS");
    res = json_object_get(t, "result");
    assert_true(json_equal(res, kw));
    assert_int_equal(json_string_length(json_object_get(res, "blob")),
                     blob_len);
    assert_memory_equal(json_string_value(json_object_get(res, "blob")),
                        blob, blob_len);
    assert_int_equal(wk_int(t, "attempt"), 1);
    json_decref(t);
    /* the CLI shows the record (display-safe, exit 0) */
    out = sqt_cli(NULL, "task info %s", echo);
    assert_int_equal(out.status, 0);
    assert_non_null(strstr(out.out, "SUCCESS"));
    sqt_out_free(&out);

    t = wk_wait(cl, fail, 10000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "error"), "class")),
                        "validation");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "error"), "message")),
                        "bad offer id");
    assert_int_equal(wk_int(t, "retries"), 0);
    json_decref(t);

    t = wk_wait(cl, nope, 10000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "error"), "class")),
                        "not_registered");
    json_decref(t);

    t = wk_wait(cl, noop, 10000);
    assert_string_equal(wk_state(t), "SUCCESS");
    assert_true(json_is_null(json_object_get(t, "result")));
    json_decref(t);

    t = wk_wait(cl, slp, 10000);
    assert_string_equal(wk_state(t), "SUCCESS");
    {
        json_t *p = json_object_get(t, "progress");
        assert_int_equal(wk_int(p, "total"), 400);
        assert_int_equal(wk_int(p, "current"), 400);
        assert_string_equal(json_string_value(json_object_get(p, "message")),
                            "sleeping");
    }
    json_decref(t);

    t = wk_wait(cl, fan, 10000);
    assert_string_equal(wk_state(t), "SUCCESS");
    {
        json_t *ids = json_object_get(json_object_get(t, "result"), "ids");
        size_t i;
        json_t *v;
        assert_int_equal(json_array_size(ids), 3);
        json_array_foreach(ids, i, v) {
            json_t *c = wk_wait(cl, json_string_value(v), 10000);
            assert_string_equal(wk_state(c), "SUCCESS");
            assert_string_equal(json_string_value(json_object_get(c,
                                                  "parent_id")),
                                fan);
            assert_string_equal(json_string_value(json_object_get(c,
                                                  "root_id")),
                                fan);
            assert_int_equal(wk_int(json_object_get(c, "result"), "k"), 1);
            json_decref(c);
        }
    }
    json_decref(t);
    assert_true(wk_alive(pid));
    assert_int_equal(wk_stop(pid, 10000), 0);
    json_decref(kw);
    free(kwtext);
    free(blob);
}

static void
retry_policy_by_error_class(void **state)
{
    char net[SYNCQ_ID_SIZE], val[SYNCQ_ID_SIZE], ra[SYNCQ_ID_SIZE];
    syncq_task_options o;
    json_t *t;
    int pid;
    int64_t t0;

    (void)state;
    pid = wk_start("it-retry", "-c 2");
    wk_wait_ready("it-retry");
    /* network: retried with backoff (100 ms, then 200 ms), then dead */
    syncq_task_options_init(&o);
    o.max_retries = 2;
    o.retry_policy_json = "{\"network\":{\"base_ms\":100,\"jitter\":false}}";
    t0 = wk_now_ms();
    wk_create(cl, "syncq.fail", "{\"class\":\"network\",\"message\":\"reset "
              "by peer\"}", &o, net);
    /* validation: never retried */
    wk_create(cl, "syncq.fail", "{\"class\":\"validation\"}", &o, val);
    /* rate_limited honours the server's Retry-After (600 ms) */
    o.max_retries = -1; /* the class's max_retries applies */
    o.retry_policy_json = "{\"rate_limited\":{\"base_ms\":1,\"jitter\":false,"
                          "\"max_retries\":1}}";
    wk_create(cl, "syncq.fail", "{\"class\":\"rate_limited\","
              "\"retry_after_ms\":600}", &o, ra);

    t = wk_wait(cl, net, 20000);
    /* retries exhausted: FAILURE, and in the dead-letter queue */
    assert_string_equal(wk_state(t), "FAILURE");
    assert_int_equal(wk_int(t, "retries"), 2);
    assert_int_equal(wk_int(t, "attempt"), 3);
    assert_int_equal(json_array_size(json_object_get(t, "errors")), 3);
    assert_string_equal(json_string_value(json_object_get(t, "dead_reason")),
                        "network");
    assert_true(wk_now_ms() - t0 >= 300);
    json_decref(t);
    t = wk_wait(cl, val, 10000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_int_equal(wk_int(t, "retries"), 0);
    assert_int_equal(wk_int(t, "attempt"), 1);
    json_decref(t);
    t = wk_wait(cl, ra, 20000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_string_equal(json_string_value(json_object_get(t, "dead_reason")),
                        "rate_limited");
    assert_int_equal(wk_int(t, "retries"), 1);
    assert_true(wk_now_ms() - t0 >= 600);
    json_decref(t);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* C32: an error whose payload cannot be serialised retries twice, then
 * fails; the worker stays up and other tasks keep running. */
static void
c32_unserialisable_error(void **state)
{
    char bad[SYNCQ_ID_SIZE], ok[SYNCQ_ID_SIZE];
    syncq_task_options o;
    int pid, kids[4], before[4];
    json_t *t, *errs;

    (void)state;
    pid = wk_start("it-c32", "-c 2");
    wk_wait_ready("it-c32");
    wk_children(pid, before, 4);
    syncq_task_options_init(&o);
    o.max_retries = 2;
    o.retry_policy_json = "{\"network\":{\"base_ms\":50,\"jitter\":false,"
                          "\"dead_letter\":false}}";
    wk_create(cl, "syncq.fail", "{\"class\":\"network\",\"garbage\":true}",
              &o, bad);
    wk_create(cl, "syncq.echo", "{\"still\":\"running\"}", NULL, ok);
    t = wk_wait(cl, bad, 15000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_int_equal(wk_int(t, "retries"), 2);
    assert_int_equal(wk_int(t, "attempt"), 3);
    errs = json_object_get(t, "errors");
    assert_int_equal(json_array_size(errs), 3);
    /* stored as class + message text, made one line and displayable */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "error"), "class")),
                        "network");
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(t, "error"), "message")),
                           "bad bytes"));
    assert_null(strchr(json_string_value(json_object_get(
                           json_object_get(t, "error"), "message")),
                       '\n'));
    json_decref(t);
    t = wk_wait(cl, ok, 10000);
    assert_string_equal(wk_state(t), "SUCCESS");
    json_decref(t);
    /* same supervisor, same children: nothing crashed */
    assert_true(wk_alive(pid));
    assert_int_equal(wk_children(pid, kids, 4), 2);
    assert_true((kids[0] == before[0] && kids[1] == before[1]) ||
                (kids[0] == before[1] && kids[1] == before[0]));
    assert_int_equal(wk_stop(pid, 10000), 0);
}

/* C36: five foreign entries, then ten valid tasks. */
static void
poison_entries_go_to_the_dead_letter_queue(void **state)
{
    char ids[10][SYNCQ_ID_SIZE];
    syncq_task_options o;
    redisReply *r;
    int pid, kids[8];
    int before;
    const char *reasons[] = {"poison:not_json", "poison:bad_envelope",
                             "poison:not_registered", "poison:empty",
                             "poison:invalid_utf8"};
    int found[5] = {0};

    (void)state;
    pid = wk_start("it-poison", "-c 2");
    wk_wait_ready("it-poison");
    before = wk_children(pid, kids, 8);
    assert_int_equal(before, 2);
    freeReplyObject(sqt_cmd("LPUSH " WK_NS "q:default:5 %s", "not json"));
    freeReplyObject(sqt_cmd("LPUSH " WK_NS "q:default:5 %s", "{}"));
    freeReplyObject(sqt_cmd("LPUSH " WK_NS "q:default:5 %s",
                            "{\"task\":\"crawler.never_heard_of\","
                            "\"args\":[],\"kwargs\":{}}"));
    freeReplyObject(sqt_cmd("LPUSH " WK_NS "q:default:5 %b", "", (size_t)0));
    freeReplyObject(sqt_cmd("LPUSH " WK_NS "q:default:5 %b", "\xff\xfe\x80",
                            (size_t)3));
    syncq_task_options_init(&o);
    for (int i = 0; i < 10; i++) {
        wk_create(cl, "syncq.echo", "{\"n\":1}", &o, ids[i]);
    }
    for (int i = 0; i < 10; i++) {
        json_t *t = wk_wait(cl, ids[i], 10000);
        assert_string_equal(wk_state(t), "SUCCESS");
        json_decref(t);
    }
    for (int i = 0; i < 50 && sqt_cmd_int("ZCARD " WK_NS "dlq") < 5; i++) {
        wk_sleep_ms(100);
    }
    assert_int_equal(sqt_cmd_int("ZCARD " WK_NS "dlq"), 5);
    assert_int_equal(wk_stat("poison_messages_total"), 5);
    r = sqt_cmd("ZRANGE " WK_NS "dlq 0 -1");
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *h = sqt_cmd("HGET " WK_NS "t:%s dead_reason",
                                r->element[i]->str);
        for (int k = 0; k < 5; k++) {
            if (h->type == REDIS_REPLY_STRING &&
                strcmp(h->str, reasons[k]) == 0) {
                found[k]++;
            }
        }
        freeReplyObject(h);
    }
    freeReplyObject(r);
    for (int k = 0; k < 5; k++) {
        if (found[k] != 1) {
            fail_msg("reason %s found %d times", reasons[k], found[k]);
        }
    }
    /* no process exited */
    assert_true(wk_alive(pid));
    assert_int_equal(wk_children(pid, kids, 8), 2);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static void
celery_envelope_of_a_known_task_is_adopted(void **state)
{
    size_t len = 0;
    char *raw = sqt_read_file(sqt_fixture("celery-wire/"
                                          "msg_plain_fetch_products.json"),
                              &len);
    char *edited = malloc(len + 16);
    const char *p;
    json_t *t;
    int pid;

    (void)state;
    assert_non_null(raw);
    p = strstr(raw, "src.queue.tasks.crawler.fetch_products");
    assert_non_null(p);
    snprintf(edited, len + 16, "%.*ssyncq.echo%s", (int)(p - raw), raw,
             p + strlen("src.queue.tasks.crawler.fetch_products"));
    pid = wk_start("it-adopt", "-c 1");
    wk_wait_ready("it-adopt");
    freeReplyObject(sqt_cmd("LPUSH " WK_NS "q:default:5 %s", edited));
    freeReplyObject(sqt_cmd("LPUSH " WK_NS "wake:default 1"));
    for (int i = 0; i < 100; i++) {
        if (strcmp(sqt_task_state(cl, "26a7b4a3-9eff-4133-86b3-"
                                      "23eb7baa2aef"),
                   "SUCCESS") == 0) {
            break;
        }
        wk_sleep_ms(50);
    }
    t = wk_wait(cl, "26a7b4a3-9eff-4133-86b3-23eb7baa2aef", 5000);
    assert_string_equal(wk_state(t), "SUCCESS");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "result"), "category_id")),
                        "123");
    assert_int_equal(wk_int(json_object_get(t, "result"), "page_size"), 50);
    json_decref(t);
    assert_int_equal(wk_stat("poison_messages_total"), 0);
    assert_int_equal(wk_stop(pid, 10000), 0);
    free(edited);
    free(raw);
}

static void
example_plugin_runs(void **state)
{
    char plugin[1024], id[SYNCQ_ID_SIZE], bad[SYNCQ_ID_SIZE];
    syncq_task_options o;
    json_t *t;
    int pid;

    (void)state;
    snprintf(plugin, sizeof plugin,
             "%s/examples/custom_task/custom_task.so",
             getenv("SYNCQ_BUILD_DIR"));
    {
        char args[1200];
        snprintf(args, sizeof args, "-c 1 --plugin %s", plugin);
        pid = wk_start("it-plugin", args);
    }
    wk_wait_ready("it-plugin");
    syncq_task_options_init(&o);
    wk_create(cl, "custom.my_task", "{\"items\":[1,2,3.5,10]}", &o, id);
    wk_create(cl, "custom.my_task", "{\"items\":[1,\"x\"]}", &o, bad);
    t = wk_wait(cl, id, 10000);
    assert_string_equal(wk_state(t), "SUCCESS");
    assert_true(json_real_value(json_object_get(json_object_get(t, "result"),
                                                "sum")) == 16.5);
    assert_int_equal(wk_int(json_object_get(t, "result"), "count"), 4);
    assert_int_equal(wk_int(json_object_get(t, "progress"), "current"), 4);
    json_decref(t);
    t = wk_wait(cl, bad, 10000);
    assert_string_equal(wk_state(t), "FAILURE");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "error"), "class")),
                        "validation");
    json_decref(t);
    assert_int_equal(wk_stop(pid, 10000), 0);
}

static void
heartbeat_info_and_status_file(void **state)
{
    char sf[512], id[SYNCQ_ID_SIZE];
    char args[700];
    syncq_task_options o;
    redisReply *r;
    json_t *info, *st;
    char *text;
    int pid;

    (void)state;
    snprintf(sf, sizeof sf, "%s/status.json", sqt_tmpdir());
    snprintf(args, sizeof args, "-c 2 -Q default,crawler --status-file %s",
             sf);
    pid = wk_start("it-info", args);
    wk_wait_ready("it-info");
    syncq_task_options_init(&o);
    wk_create(cl, "syncq.noop", NULL, &o, id);
    json_decref(wk_wait(cl, id, 10000));
    wk_sleep_ms(800); /* two more heartbeats */
    r = sqt_cmd("GET " WK_NS "w:it-info");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    info = json_loads(r->str, 0, NULL);
    freeReplyObject(r);
    assert_non_null(info);
    assert_int_equal(wk_int(info, "pid"), pid);
    assert_string_equal(json_string_value(json_object_get(info, "worker")),
                        "it-info");
    assert_int_equal(wk_int(info, "concurrency"), 2);
    assert_int_equal(wk_int(info, "prefetch"), 1);
    assert_int_equal(json_array_size(json_object_get(info, "queues")), 2);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(info, "queues"), 0)),
                        "default");
    assert_int_equal(wk_int(info, "tasks_done"), 1);
    assert_int_equal(json_array_size(json_object_get(info, "children")), 2);
    assert_true(wk_int(json_array_get(json_object_get(info, "children"), 0),
                       "rss_kb") > 0);
    assert_true(wk_int(info, "rss_kb") > 0);
    assert_non_null(json_object_get(info, "hostname"));
    assert_non_null(json_object_get(info, "started_at"));
    assert_non_null(json_object_get(info, "version"));
    json_decref(info);
    /* a TTL so a dead worker disappears */
    assert_true(sqt_cmd_int("PTTL " WK_NS "w:it-info") > 0);
    text = sqt_read_file(sf, NULL);
    assert_non_null(text);
    st = json_loads(text, 0, NULL);
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(st, "broker")),
                        "up");
    assert_string_equal(json_string_value(json_object_get(st, "state")),
                        "running");
    assert_true(wk_wall_ms() - wk_int(st, "loop_at_ms") < 3000);
    assert_int_equal(wk_int(st, "children"), 2);
    json_decref(st);
    free(text);
    /* a clean stop deregisters and removes the file */
    assert_int_equal(wk_stop(pid, 10000), 0);
    assert_int_equal(sqt_cmd_int("EXISTS " WK_NS "w:it-info"), 0);
    assert_int_not_equal(access(sf, F_OK), 0);
}

static bool
log_reopened(void *path)
{
    char *s = sqt_read_file(path, NULL);
    bool yes = s != NULL && strstr(s, "worker.log_reopened") != NULL;

    free(s);
    return yes;
}

static void
sighup_reopens_the_log(void **state)
{
    char log[512], rotated[520], args[700];
    int pid;

    (void)state;
    snprintf(log, sizeof log, "%s/rot.log", sqt_tmpdir());
    snprintf(rotated, sizeof rotated, "%s.1", log);
    snprintf(args, sizeof args, "-c 1 --logfile %s", log);
    pid = wk_start("it-hup", args);
    wk_wait_ready("it-hup");
    assert_int_equal(rename(log, rotated), 0);
    kill(pid, SIGHUP);
    assert_true(sqt_wait_until(log_reopened, log, 5000));
    assert_int_equal(wk_stop(pid, 10000), 0);
    {
        char *s = sqt_read_file(log, NULL);
        assert_non_null(strstr(s, "worker.stopped"));
        free(s);
    }
}

static void
bad_command_lines(void **state)
{
    struct sqt_out o;

    (void)state;
    o = sqt_cli(NULL, "worker -c 0");
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.err, "syncq: worker:"));
    assert_non_null(strstr(o.err, "1..1024"));
    sqt_out_free(&o);
    o = sqt_cli(NULL, "worker -Q 'a b'");
    assert_int_equal(o.status, 2);
    sqt_out_free(&o);
    o = sqt_cli(NULL, "worker --plugin /nonexistent/x.so");
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "cannot load plugin /nonexistent/x.so"));
    sqt_out_free(&o);
    o = sqt_cli(NULL, "worker --time-limit banana");
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.err, "SYNCQ_TASK_TIME_LIMIT"));
    sqt_out_free(&o);
    o = sqt_cli(NULL, "worker --bogus");
    assert_int_equal(o.status, 2);
    sqt_out_free(&o);
    o = sqt_cli(NULL, "worker --loglevel loud");
    assert_int_equal(o.status, 2);
    sqt_out_free(&o);
    /* task run: a real task, a failure, an unknown one */
    o = sqt_cli(NULL, "task run syncq.echo -k '{\"a\":\"女装\"}'");
    assert_int_equal(o.status, 0);
    assert_string_equal(o.out, "{\"a\":\"女装\"}\n");
    sqt_out_free(&o);
    o = sqt_cli(NULL, "task run syncq.fail -k '{\"class\":\"auth\"}'");
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "syncq: task run: auth: failing on "
                                  "purpose"));
    sqt_out_free(&o);
    o = sqt_cli(NULL, "task run no.such --no-broker");
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "not registered"));
    sqt_out_free(&o);
    o = sqt_cli(NULL, "task run syncq.echo -k '[1]'");
    assert_int_equal(o.status, 2);
    sqt_out_free(&o);
    /* with a broker, sub-tasks are really enqueued */
    o = sqt_cli(NULL, "task run syncq.fanout -k '{\"count\":2}' --json");
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "\"ok\":true"));
    sqt_out_free(&o);
}

/* The worker hands args and kwargs to its child as Redis holds them:
 * stored text that is not JSON (written by something other than syncq)
 * fails the task as a validation error, JSON of the wrong type as an
 * internal one; the worker goes on. */
static void
stored_arguments_that_are_not_json_fail_the_task(void **state)
{
    static const struct {
        const char *field, *text, *cls, *msg;
    } bad[] = {
        {"args", "[1,", "validation", "stored args/kwargs are not valid JSON"},
        {"kwargs", "{\"a\":", "validation",
         "stored args/kwargs are not valid JSON"},
        {"kwargs", "", "validation", "stored args/kwargs are not valid JSON"},
        {"args", "{}", "internal",
         "task arguments are not a JSON array and object"},
    };
    enum { NB = sizeof bad / sizeof bad[0] };
    char ids[NB][SYNCQ_ID_SIZE], ok[SYNCQ_ID_SIZE], nopol[2][SYNCQ_ID_SIZE];
    redisContext *rc = sqt_redis();
    syncq_task_options o;
    int pid;

    (void)state;
    syncq_task_options_init(&o);
    for (size_t i = 0; i < NB; i++) {
        redisReply *r;
        wk_create(cl, "syncq.noop", NULL, &o, ids[i]);
        r = redisCommand(rc, "HSET " WK_NS "t:%s %s %s", ids[i],
                         bad[i].field, bad[i].text);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        freeReplyObject(r);
    }
    wk_create(cl, "syncq.noop", NULL, &o, ok);
    /* a stored retry policy that is JSON but not an object is no policy
     * (it used to read as out of memory: handed back without end) */
    for (size_t i = 0; i < 2; i++) {
        redisReply *r;
        wk_create(cl, "syncq.noop", NULL, &o, nopol[i]);
        r = redisCommand(rc, "HSET " WK_NS "t:%s pol %s", nopol[i],
                         i == 0 ? "null" : "[1]");
        assert_non_null(r);
        freeReplyObject(r);
    }
    pid = wk_start("it-badargs", "-c 1");
    for (size_t i = 0; i < NB; i++) {
        json_t *t = wk_wait(cl, ids[i], 10000);
        json_t *e = json_object_get(t, "error");
        assert_string_equal(wk_state(t), "FAILURE");
        assert_string_equal(json_string_value(json_object_get(e, "class")),
                            bad[i].cls);
        assert_string_equal(json_string_value(json_object_get(e, "message")),
                            bad[i].msg);
        assert_int_equal(wk_int(t, "retries"), 0);
        json_decref(t);
    }
    {
        json_t *t = wk_wait(cl, ok, 10000);
        assert_string_equal(wk_state(t), "SUCCESS");
        json_decref(t);
    }
    for (size_t i = 0; i < 2; i++) {
        json_t *t = wk_wait(cl, nopol[i], 10000);
        assert_string_equal(wk_state(t), "SUCCESS");
        assert_int_equal(wk_int(t, "attempt"), 1); /* never handed back */
        json_decref(t);
    }
    assert_true(wk_alive(pid));
    assert_int_equal(wk_stop(pid, 10000), 0);
    redisFree(rc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(builtin_tasks_end_to_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(retry_policy_by_error_class, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(c32_unserialisable_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            poison_entries_go_to_the_dead_letter_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(
            celery_envelope_of_a_known_task_is_adopted, setup, teardown),
        cmocka_unit_test_setup_teardown(example_plugin_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(heartbeat_info_and_status_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sighup_reopens_the_log, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_command_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(
            stored_arguments_that_are_not_json_fail_the_task, setup,
            teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
