/* SPDX-License-Identifier: MIT
 *
 * test_monitor_http.c: the monitor server's pure parts: routing (paths,
 * methods, ids, traversal), listen addresses (loopback detection), token
 * and Host checks; the Sentry DSN parser, auth header and envelope; the
 * Prometheus exposition of a hand-made collection (escaping, cumulative
 * buckets, one TYPE per family).
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "sq_buf.h"
#include "monitor/mon.h"
#include "monitor/mon_route.h"
#include "monitor/mon_sentry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
routes_paths_and_methods(void **state)
{
    static const struct {
        const char *method, *path;
        int status, kind;
        const char *arg;
    } cases[] = {
        {"GET", "/", 0, SQ_R_INDEX, ""},
        {"HEAD", "/index.html", 0, SQ_R_INDEX, ""},
        {"GET", "/metrics", 0, SQ_R_METRICS, ""},
        {"GET", "/metrics/", 0, SQ_R_METRICS, ""},
        {"GET", "/healthz", 0, SQ_R_LIVE, ""},
        {"GET", "/readyz", 0, SQ_R_READY, ""},
        {"GET", "/static/app.js", 0, SQ_R_STATIC, "app.js"},
        {"GET", "/api/overview", 0, SQ_R_OVERVIEW, ""},
        {"GET", "/api/health", 0, SQ_R_HEALTH, ""},
        {"GET", "/api/queues", 0, SQ_R_QUEUES, ""},
        {"GET", "/api/workers", 0, SQ_R_WORKERS, ""},
        {"GET", "/api/tasks", 0, SQ_R_TASKS, ""},
        {"GET", "/api/tasks/0b6e-11", 0, SQ_R_TASK, "0b6e-11"},
        {"POST", "/api/tasks/abc/cancel", 0, SQ_R_TASK_CANCEL, "abc"},
        {"POST", "/api/tasks/abc/retry", 0, SQ_R_TASK_RETRY, "abc"},
        {"POST", "/api/tasks/abc/resume", 0, SQ_R_TASK_RESUME, "abc"},
        {"GET", "/api/batches", 0, SQ_R_BATCHES, ""},
        {"GET", "/api/batches/b1", 0, SQ_R_BATCH, "b1"},
        {"GET", "/api/schedules", 0, SQ_R_SCHEDULES, ""},
        {"GET", "/api/alerts", 0, SQ_R_ALERTS, ""},
        {"GET", "/api/tasks/abc/cancel", 405, SQ_R_TASK_CANCEL, "abc"},
        {"POST", "/metrics", 405, SQ_R_METRICS, ""},
        {"DELETE", "/api/tasks/abc", 405, SQ_R_TASK, "abc"},
        {"GET", "/api/nope", 404, SQ_R_NOT_FOUND, ""},
        {"GET", "/api/tasks/abc/explode", 404, SQ_R_NOT_FOUND, ""},
        {"GET", "/static/../../etc/passwd", 400, SQ_R_NOT_FOUND, ""},
        {"GET", "/static/..", 400, SQ_R_NOT_FOUND, ""},
        {"GET", "/api//tasks", 400, SQ_R_NOT_FOUND, ""},
        {"GET", "/api/tasks/a\x01", 400, SQ_R_NOT_FOUND, ""},
        {"GET", "/api/tasks/a b", 400, SQ_R_NOT_FOUND, ""},
        {"GET", "relative", 400, SQ_R_NOT_FOUND, ""},
        {"GET", "/a/b/c/d/e/f/g/h", 404, SQ_R_NOT_FOUND, ""},
        {"GET", "/api/openapi.json", 0, SQ_R_OPENAPI, ""},
        {"POST", "/api/tasks", 0, SQ_R_TASK_CREATE, ""},
        {"POST", "/api/tasks/bulk", 0, SQ_R_TASKS_BULK, ""},
        {"GET", "/api/tasks/bulk", 0, SQ_R_TASK, "bulk"},
        {"GET", "/api/tasks/t1/wait", 0, SQ_R_TASK_WAIT, "t1"},
        {"POST", "/api/tasks/t1/wait", 405, SQ_R_TASK_WAIT, "t1"},
        {"GET", "/api/tasks/t1/checkpoints", 0, SQ_R_TASK_CHECKPOINTS, "t1"},
        {"POST", "/api/batches", 0, SQ_R_BATCH_CREATE, ""},
        {"POST", "/api/schedules", 0, SQ_R_SCHEDULE_CREATE, ""},
        {"GET", "/api/schedules/nightly.sync", 0, SQ_R_SCHEDULE,
         "nightly.sync"},
        {"DELETE", "/api/schedules/n1", 0, SQ_R_SCHEDULE_REMOVE, "n1"},
        {"POST", "/api/schedules/n1/pause", 0, SQ_R_SCHEDULE_PAUSE, "n1"},
        {"POST", "/api/schedules/n1/resume", 0, SQ_R_SCHEDULE_RESUME, "n1"},
        {"POST", "/api/schedules/n1/run", 0, SQ_R_SCHEDULE_RUN, "n1"},
        {"GET", "/api/schedules/n1/run", 405, SQ_R_SCHEDULE_RUN, "n1"},
        {"GET", "/api/schedules/a b", 400, SQ_R_NOT_FOUND, ""},
        {"GET", "/api/dead", 0, SQ_R_DEAD, ""},
        {"POST", "/api/dead/d1/requeue", 0, SQ_R_DEAD_REQUEUE, "d1"},
        {"GET", "/api/workflows/w1", 0, SQ_R_WORKFLOW, "w1"},
        {"GET", "/api/progress", 0, SQ_R_PROGRESS, ""},
        {"PUT", "/api/tasks", 405, SQ_R_TASKS, ""},
    };
    struct sq_route rt;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = sq_mon_route_parse(cases[i].method, cases[i].path, &rt);
        if (st != cases[i].status || rt.kind != cases[i].kind ||
            strcmp(rt.arg, cases[i].arg) != 0) {
            fail_msg("%s %s: status %d kind %d arg '%s'", cases[i].method,
                     cases[i].path, st, rt.kind, rt.arg);
        }
    }
    {
        char longp[1100];
        memset(longp, 'a', sizeof longp);
        longp[0] = '/';
        longp[sizeof longp - 1] = '\0';
        assert_int_equal(sq_mon_route_parse("GET", longp, &rt), 400);
    }
    {
        /* schedule names may be 200 bytes, ids only 64 */
        char name[230] = "/api/schedules/";
        memset(name + 15, 'n', 200);
        name[215] = '\0';
        assert_int_equal(sq_mon_route_parse("GET", name, &rt), 0);
        assert_int_equal(strlen(rt.arg), 200);
        name[215] = 'n';
        name[216] = '\0';
        assert_int_equal(sq_mon_route_parse("GET", name, &rt), 400);
    }
    {
        char id65[80] = "/api/tasks/";
        memset(id65 + 11, 'x', 65);
        id65[76] = '\0';
        assert_int_equal(sq_mon_route_parse("GET", id65, &rt), 400);
    }
}

static void
parses_listen_addresses(void **state)
{
    struct sq_listen L;
    syncq_error e;

    (void)state;
    assert_int_equal(sq_mon_listen_parse("127.0.0.1:5555", &L, &e), SYNCQ_OK);
    assert_string_equal(L.host, "127.0.0.1");
    assert_int_equal(L.port, 5555);
    assert_true(L.loopback);
    assert_false(L.ipv6);
    assert_int_equal(sq_mon_listen_parse("localhost:0", &L, &e), SYNCQ_OK);
    assert_string_equal(L.host, "127.0.0.1");
    assert_int_equal(L.port, 0);
    assert_true(L.loopback);
    assert_int_equal(sq_mon_listen_parse("127.8.9.10:80", &L, &e), SYNCQ_OK);
    assert_true(L.loopback);
    assert_int_equal(sq_mon_listen_parse("[::1]:8080", &L, &e), SYNCQ_OK);
    assert_true(L.ipv6);
    assert_true(L.loopback);
    assert_int_equal(sq_mon_listen_parse("0.0.0.0:5555", &L, &e), SYNCQ_OK);
    assert_false(L.loopback);
    assert_int_equal(sq_mon_listen_parse(":5555", &L, &e), SYNCQ_OK);
    assert_false(L.loopback);
    assert_string_equal(L.host, "");
    assert_int_equal(sq_mon_listen_parse("10.1.2.3:5555", &L, &e), SYNCQ_OK);
    assert_false(L.loopback);
    assert_int_equal(sq_mon_listen_parse("[::]:5555", &L, &e), SYNCQ_OK);
    assert_false(L.loopback);
    assert_int_equal(sq_mon_listen_parse("127.0.0.1", &L, &e), SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "no :PORT"));
    assert_int_equal(sq_mon_listen_parse("127.0.0.1:65536", &L, &e),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_mon_listen_parse("127.0.0.1:-1", &L, &e),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_mon_listen_parse("example.com:80", &L, &e),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "not a name"));
    assert_int_equal(sq_mon_listen_parse("::1:80", &L, &e), SYNCQ_EINVAL);
    assert_int_equal(sq_mon_listen_parse("", &L, &e), SYNCQ_EINVAL);
}

static void
checks_tokens_and_hosts(void **state)
{
    (void)state;
    assert_true(sq_mon_token_ok("", NULL, NULL, NULL));
    assert_false(sq_mon_token_ok("s3cret", NULL, NULL, NULL));
    assert_true(sq_mon_token_ok("s3cret", "Bearer s3cret", NULL, NULL));
    assert_true(sq_mon_token_ok("s3cret", "bearer   s3cret", NULL, NULL));
    assert_false(sq_mon_token_ok("s3cret", "Bearer s3cre", NULL, NULL));
    assert_false(sq_mon_token_ok("s3cret", "Bearer s3cretX", NULL, NULL));
    /* the token is the header's only word: a second one refuses it */
    assert_false(sq_mon_token_ok("s3cret", "Bearer s3cret extra", NULL,
                                 NULL));
    assert_false(sq_mon_token_ok("s3cret", "Bearer s3cret\tx", NULL, NULL));
    assert_true(sq_mon_token_ok("s3cret", "Bearer s3cret  ", NULL, NULL));
    assert_int_equal(sq_mon_access("", "w", true, "Bearer w w", NULL, NULL,
                                   NULL),
                     SQ_ACCESS_READ);
    assert_false(sq_mon_token_ok("s3cret", "Basic s3cret", NULL, NULL));
    assert_true(sq_mon_token_ok("s3cret", NULL, "s3cret", NULL));
    assert_false(sq_mon_token_ok("s3cret", NULL, "", NULL));
    assert_true(sq_mon_token_ok("s3cret", NULL, NULL,
                                "a=1; syncq_token=s3cret; b=2"));
    assert_false(sq_mon_token_ok("s3cret", NULL, NULL, "syncq_token=nope"));
    assert_true(sq_mon_host_is_loopback("127.0.0.1:5555"));
    assert_true(sq_mon_host_is_loopback("localhost"));
    assert_true(sq_mon_host_is_loopback("[::1]:80"));
    assert_false(sq_mon_host_is_loopback("evil.example:5555"));
    assert_false(sq_mon_host_is_loopback("127.0.0.1.evil.example"));
    assert_false(sq_mon_host_is_loopback(NULL));
    assert_false(sq_mon_host_is_loopback(""));
}

/* One rule for the dashboard and the task API: the write token writes,
 * the read token reads (and writes when it is the only token), no token
 * reads/writes on loopback only when no token asks otherwise. */
static void
grants_access_by_token(void **state)
{
    bool by;

    (void)state;
    assert_int_equal(sq_mon_access("", "", true, NULL, NULL, NULL, &by),
                     SQ_ACCESS_WRITE);
    assert_false(by);
    assert_int_equal(sq_mon_access("", "", false, NULL, NULL, NULL, &by),
                     SQ_ACCESS_NONE);
    assert_int_equal(sq_mon_access("r", "", false, "Bearer r", NULL, NULL,
                                   &by),
                     SQ_ACCESS_WRITE);
    assert_true(by);
    assert_int_equal(sq_mon_access("r", "w", false, "Bearer r", NULL, NULL,
                                   &by),
                     SQ_ACCESS_READ);
    assert_int_equal(sq_mon_access("r", "w", false, "Bearer w", NULL, NULL,
                                   &by),
                     SQ_ACCESS_WRITE);
    assert_int_equal(sq_mon_access("r", "w", true, NULL, NULL, NULL, &by),
                     SQ_ACCESS_NONE);
    assert_int_equal(sq_mon_access("", "w", true, NULL, NULL, NULL, &by),
                     SQ_ACCESS_READ);
    assert_int_equal(sq_mon_access("", "w", false, NULL, NULL, NULL, &by),
                     SQ_ACCESS_NONE);
    assert_int_equal(sq_mon_access("", "w", true, NULL, "w", NULL, &by),
                     SQ_ACCESS_WRITE);
    assert_int_equal(sq_mon_access("r", "w", true, "Bearer x", NULL,
                                   "syncq_token=r", &by),
                     SQ_ACCESS_READ);
}

static void
parses_sentry_dsns(void **state)
{
    struct sq_sentry_dsn d;
    syncq_error e;
    char auth[600];

    (void)state;
    assert_int_equal(
        sq_sentry_dsn_parse("https://abc123@o1.ingest.sentry.io/42", &d, &e),
        SYNCQ_OK);
    assert_string_equal(d.key, "abc123");
    assert_string_equal(d.host, "o1.ingest.sentry.io");
    assert_int_equal(d.port, 0);
    assert_string_equal(d.project, "42");
    assert_string_equal(d.envelope_url,
                        "https://o1.ingest.sentry.io/api/42/envelope/");
    assert_int_equal(sq_sentry_dsn_parse(
                         "http://pub:sec@127.0.0.1:9000/prefix/7", &d, &e),
                     SYNCQ_OK);
    assert_string_equal(d.key, "pub");
    assert_string_equal(d.secret, "sec");
    assert_int_equal(d.port, 9000);
    assert_string_equal(d.path, "/prefix");
    assert_string_equal(d.envelope_url,
                        "http://127.0.0.1:9000/prefix/api/7/envelope/");
    assert_string_equal(d.dsn_public, "http://pub@127.0.0.1:9000/prefix/7");
    sq_sentry_auth_header(&d, auth, sizeof auth);
    assert_non_null(strstr(auth, "X-Sentry-Auth: Sentry sentry_version=7"));
    assert_non_null(strstr(auth, "sentry_key=pub"));
    assert_non_null(strstr(auth, "sentry_secret=sec"));
    assert_int_equal(sq_sentry_dsn_parse("ftp://a@b/1", &d, &e), SYNCQ_EINVAL);
    assert_int_equal(sq_sentry_dsn_parse("https://host/1", &d, &e),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "public key"));
    assert_int_equal(sq_sentry_dsn_parse("https://k@host", &d, &e),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_sentry_dsn_parse("https://k@host/abc", &d, &e),
                     SYNCQ_EINVAL);
    /* found by fuzz_sentry_dsn: a port and no host */
    assert_int_equal(sq_sentry_dsn_parse("https://hk@:999/991", &d, &e),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "host empty"));
    assert_int_equal(sq_sentry_dsn_parse("https://k@host:99999/1", &d, &e),
                     SYNCQ_EINVAL);
    assert_null(strstr(e.msg, "k@"));
}

static void
builds_sentry_envelopes(void **state)
{
    struct sq_sentry_dsn d;
    struct sq_sentry_event ev;
    char *env;
    size_t len = 0;
    char *l1, *l2, *l3;
    json_t *h, *item, *evj;
    json_error_t je;

    (void)state;
    assert_int_equal(sq_sentry_dsn_parse("http://pub@127.0.0.1:9/3", &d, NULL),
                     SYNCQ_OK);
    memset(&ev, 0, sizeof ev);
    ev.kind = "task_failure";
    ev.task_id = "t-1";
    ev.task_name = "crawler.fetch_products";
    ev.queue = "crawler";
    ev.err_class = "http_5xx";
    ev.message = "502 from gateway \"x\"";
    ev.worker = "host:42";
    ev.attempt = 3;
    ev.at_ms = 1780000000000LL;
    env = sq_sentry_envelope(&d, &ev, "0123456789abcdef0123456789abcdef",
                             &len);
    assert_non_null(env);
    assert_int_equal(len, strlen(env));
    l1 = env;
    l2 = strchr(l1, '\n') + 1;
    l3 = strchr(l2, '\n') + 1;
    h = json_loadb(l1, (size_t)(l2 - l1 - 1), 0, &je);
    item = json_loadb(l2, (size_t)(l3 - l2 - 1), 0, &je);
    assert_non_null(h);
    assert_non_null(item);
    assert_string_equal(json_string_value(json_object_get(h, "event_id")),
                        "0123456789abcdef0123456789abcdef");
    assert_string_equal(json_string_value(json_object_get(h, "dsn")),
                        "http://pub@127.0.0.1:9/3");
    assert_string_equal(json_string_value(json_object_get(item, "type")),
                        "event");
    assert_int_equal(json_integer_value(json_object_get(item, "length")),
                     (json_int_t)strlen(l3) - 1);
    evj = json_loadb(l3, strlen(l3) - 1, 0, &je);
    assert_non_null(evj);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(evj, "exception"),
                                           "values"),
                           0),
            "type")),
        "http_5xx");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(evj, "exception"),
                                           "values"),
                           0),
            "value")),
        "502 from gateway \"x\"");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(evj, "tags"), "task_name")),
                        "crawler.fetch_products");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(evj, "tags"), "attempt")),
                        "3");
    assert_string_equal(json_string_value(json_object_get(evj, "server_name")),
                        "host:42");
    assert_string_equal(json_string_value(json_object_get(evj, "timestamp")),
                        "2026-05-28T20:26:40.000Z");
    assert_string_equal(json_string_value(json_object_get(evj, "level")),
                        "error");
    json_decref(h);
    json_decref(item);
    json_decref(evj);
    sq_free(env);
}

static void
formats_prometheus_text(void **state)
{
    struct sq_mon_data d;
    struct sq_buf b;
    json_error_t je;
    json_t *health = json_loads("{\"status\":\"degraded\"}", 0, &je);
    json_t *alerts = json_loads(
        "[{\"name\":\"a\\\"b\",\"severity\":\"critical\","
        "\"state\":\"firing\"},{\"name\":\"c\",\"severity\":\"info\","
        "\"state\":\"pending\"}]",
        0, &je);

    (void)state;
    memset(&d, 0, sizeof d);
    d.s = sq_calloc(2, sizeof *d.s);
    d.ns = 2;
    snprintf(d.s[0].queue, sizeof d.s[0].queue, "q\\1");
    snprintf(d.s[0].task, sizeof d.s[0].task, "t.one");
    d.s[0].life[SQ_K_SUCCEEDED] = 7;
    d.s[0].life[SQ_K_SENT] = 9;
    d.s[0].life[SQ_K_RT_SUM] = 1500;
    d.s[0].life[SQ_K_RT_COUNT] = 3;
    d.s[0].rt_hist[0] = 1;  /* <= 5 ms */
    d.s[0].rt_hist[7] = 2;  /* <= 1000 ms */
    snprintf(d.s[1].queue, sizeof d.s[1].queue, "q\\1");
    snprintf(d.s[1].task, sizeof d.s[1].task, "*");
    d.s[1].life[SQ_K_WAIT_SUM] = 40;
    d.s[1].life[SQ_K_WAIT_COUNT] = 2;
    d.s[1].wait_hist[1] = 2;
    d.snap = json_loads(
        "{\"queues\":[{\"name\":\"q\\\\1\",\"ready\":110,"
        "\"by_priority\":{\"10\":10,\"0\":100},\"delayed\":20,"
        "\"running\":5}],\"totals\":{\"ready\":110,\"delayed\":20,"
        "\"running\":5,\"dead\":0,\"workers_alive\":1},\"workers\":[],"
        "\"running\":[],\"batches\":[],\"broker\":{\"used_memory\":100,"
        "\"maxmemory\":0,\"eviction_safe\":true},"
        "\"beats\":[{\"id\":\"h:1\",\"alive\":true,\"leader\":true,"
        "\"fired\":3,\"missed\":1,\"broker_errors\":4,"
        "\"broker_reconnects\":2},{\"id\":\"h:2\",\"alive\":false,"
        "\"leader\":false}]}",
        0, &je);
    assert_non_null(d.snap);
    sq_buf_init(&b, 0);
    assert_int_equal(sq_mon_metrics_format(&d, health, alerts, &b), 0);
    assert_non_null(strstr(b.data, "syncq_up 1\n"));
    assert_non_null(strstr(b.data, "syncq_health_status 1\n"));
    assert_non_null(strstr(
        b.data, "syncq_alert_state{alert=\"a\\\"b\",severity=\"critical\"} 2\n"));
    assert_non_null(strstr(b.data, "syncq_alerts_firing 1\n"));
    assert_non_null(strstr(
        b.data,
        "syncq_tasks_total{queue=\"q\\\\1\",task=\"t.one\",state=\"succeeded\"} 7\n"));
    assert_non_null(strstr(
        b.data, "syncq_tasks_sent_total{queue=\"q\\\\1\",task=\"t.one\"} 9\n"));
    /* cumulative buckets */
    assert_non_null(strstr(b.data, "syncq_task_runtime_seconds_bucket{queue="
                                   "\"q\\\\1\",task=\"t.one\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(b.data, "syncq_task_runtime_seconds_bucket{queue="
                                   "\"q\\\\1\",task=\"t.one\",le=\"0.5\"} 1\n"));
    assert_non_null(strstr(b.data, "syncq_task_runtime_seconds_bucket{queue="
                                   "\"q\\\\1\",task=\"t.one\",le=\"1\"} 3\n"));
    assert_non_null(strstr(b.data, "syncq_task_runtime_seconds_bucket{queue="
                                   "\"q\\\\1\",task=\"t.one\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(b.data, "syncq_task_runtime_seconds_sum{queue="
                                   "\"q\\\\1\",task=\"t.one\"} 1.5\n"));
    assert_non_null(strstr(b.data, "syncq_task_wait_seconds_count{queue="
                                   "\"q\\\\1\"} 2\n"));
    assert_non_null(strstr(b.data, "syncq_queue_ready{queue=\"q\\\\1\"} 110\n"));
    assert_non_null(strstr(b.data, "syncq_queue_ready_by_priority{queue="
                                   "\"q\\\\1\",priority=\"0\"} 100\n"));
    assert_non_null(strstr(b.data, "syncq_queue_delayed{queue=\"q\\\\1\"} 20\n"));
    assert_non_null(strstr(b.data, "syncq_queue_running{queue=\"q\\\\1\"} 5\n"));
    /* beats (issue 12): their fault counters, not only their record */
    assert_non_null(strstr(b.data, "syncq_beat_up{beat=\"h:1\"} 1\n"));
    assert_non_null(strstr(b.data, "syncq_beat_up{beat=\"h:2\"} 0\n"));
    assert_non_null(strstr(b.data, "syncq_beat_leader{beat=\"h:1\"} 1\n"));
    assert_non_null(strstr(b.data,
                           "syncq_beat_ticks_fired_total{beat=\"h:1\"} 3\n"));
    assert_non_null(strstr(b.data,
                           "syncq_beat_ticks_missed_total{beat=\"h:1\"} 1\n"));
    assert_non_null(strstr(
        b.data, "syncq_beat_broker_errors_total{beat=\"h:1\"} 4\n"));
    assert_non_null(strstr(
        b.data, "syncq_beat_broker_reconnects_total{beat=\"h:1\"} 2\n"));
    assert_null(strstr(b.data, "syncq_beat_broker_errors_total{beat=\"h:2\"}"));
    /* exactly one TYPE line per family */
    {
        const char *p = b.data;
        int n = 0;
        while ((p = strstr(p, "# TYPE syncq_tasks_total ")) != NULL) {
            n++;
            p++;
        }
        assert_int_equal(n, 1);
    }
    sq_buf_cleanup(&b);
    /* broker down: syncq_up 0 only */
    sq_buf_init(&b, 0);
    assert_int_equal(sq_mon_metrics_format(NULL, health, NULL, &b), 0);
    assert_non_null(strstr(b.data, "syncq_up 0\n"));
    assert_null(strstr(b.data, "syncq_queue_ready"));
    sq_buf_cleanup(&b);
    sq_mon_data_cleanup(&d);
    json_decref(health);
    json_decref(alerts);
}

/* Issue 20: query numbers are digits within bounds; %00 stays encoded. */
static void
query_numbers_and_percent_decoding(void **state)
{
    long v = -1;
    char a[] = "/api/tasks/abc%2Fd%e5%A5%b3", b[] = "x%00y%41", c[] = "%4";

    (void)state;
    assert_true(sq_mon_query_num("50", 1, 500, &v));
    assert_int_equal(v, 50);
    assert_true(sq_mon_query_num("007", 0, 10, &v));
    assert_int_equal(v, 7);
    v = -1;
    assert_false(sq_mon_query_num("", 0, 10, &v));
    assert_false(sq_mon_query_num("+5", 0, 10, &v));
    assert_false(sq_mon_query_num(" 5", 0, 10, &v));
    assert_false(sq_mon_query_num("5x", 0, 10, &v));
    assert_false(sq_mon_query_num("501", 1, 500, &v));
    assert_false(sq_mon_query_num("0", 1, 500, &v));
    assert_false(sq_mon_query_num("99999999999999999999", 0, 1000000, &v));
    assert_int_equal(v, -1);
    assert_int_equal(sq_mon_unescape(a), 19);
    assert_string_equal(a, "/api/tasks/abc/d\xe5\xa5\xb3");
    assert_int_equal(sq_mon_unescape(b), 8);
    assert_string_equal(b, "x%00y%41");
    assert_int_equal(sq_mon_unescape(c), 2);
    assert_string_equal(c, "%4");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_paths_and_methods),
        cmocka_unit_test(parses_listen_addresses),
        cmocka_unit_test(checks_tokens_and_hosts),
        cmocka_unit_test(grants_access_by_token),
        cmocka_unit_test(query_numbers_and_percent_decoding),
        cmocka_unit_test(parses_sentry_dsns),
        cmocka_unit_test(builds_sentry_envelopes),
        cmocka_unit_test(formats_prometheus_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
