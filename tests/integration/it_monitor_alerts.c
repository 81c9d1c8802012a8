/* SPDX-License-Identifier: MIT
 *
 * it_monitor_alerts.c: the monitor's alerts against a real Redis
 * (run-with-redis.sh):
 *   - alert rules evaluated on real data, one notification per transition
 *     even with two evaluators, delivered to a real webhook receiver;
 *   - C34: the memory alert at 80 % of maxmemory;
 *   - Sentry envelopes of a failed task received by a real HTTP server.
 * The figures and health are it_monitor_figures.c.
 */
#include "it_monitor_util.h"

#include "sq_alloc.h"
#include "core/sq_time.h"
#include "monitor/mon_alerts.h"
#include "monitor/mon_sentry.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a tiny HTTP receiver (webhook / Sentry stand-in) ----------------- */

struct got {
    char path[256];
    char auth[512];
    char ctype[128];
    char *body;
    size_t len;
};

static struct {
    pthread_mutex_t mu;
    struct got req[64];
    int n;
    struct MHD_Daemon *d;
    int port;
} rx = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct upload {
    char *buf;
    size_t len;
};

static enum MHD_Result
rx_handler(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *data,
           size_t *size, void **con_cls)
{
    struct upload *u = *con_cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)cls;
    (void)version;
    (void)method;
    if (u == NULL) {
        u = calloc(1, sizeof *u);
        *con_cls = u;
        return MHD_YES;
    }
    if (*size > 0) {
        u->buf = realloc(u->buf, u->len + *size + 1);
        memcpy(u->buf + u->len, data, *size);
        u->len += *size;
        u->buf[u->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&rx.mu);
    if (rx.n < 64) {
        struct got *g = &rx.req[rx.n++];
        const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    "X-Sentry-Auth");
        const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Content-Type");
        snprintf(g->path, sizeof g->path, "%s", url);
        snprintf(g->auth, sizeof g->auth, "%s", a ? a : "");
        snprintf(g->ctype, sizeof g->ctype, "%s", ct ? ct : "");
        g->body = u->buf;
        g->len = u->len;
        u->buf = NULL;
    }
    pthread_mutex_unlock(&rx.mu);
    resp = MHD_create_response_from_buffer(2, (void *)"{}",
                                           MHD_RESPMEM_PERSISTENT);
    ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void
rx_done(void *cls, struct MHD_Connection *conn, void **con_cls,
        enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (u != NULL) {
        free(u->buf);
        free(u);
    }
    *con_cls = NULL;
}

static void
rx_start(void)
{
    const union MHD_DaemonInfo *info;
    struct sockaddr_in sa;

    /* loopback only, a free port */
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                            rx_handler, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                            rx_done, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_END);
    assert_non_null(rx.d);
    info = MHD_get_daemon_info(rx.d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    rx.port = info->port;
    assert_true(rx.port > 0);
}

static void
rx_stop(void)
{
    MHD_stop_daemon(rx.d);
    for (int i = 0; i < rx.n; i++) {
        free(rx.req[i].body);
    }
    rx.n = 0;
}

static int
rx_count(void)
{
    int n;

    pthread_mutex_lock(&rx.mu);
    n = rx.n;
    pthread_mutex_unlock(&rx.mu);
    return n;
}

/* ---- alerts ------------------------------------------------------------- */

/* Run a Redis command that must not fail. */
#define cmd_ok(...)                                                          \
    do {                                                                     \
        redisReply *r_ = sqt_cmd(__VA_ARGS__);                               \
        assert_int_not_equal(r_->type, REDIS_REPLY_ERROR);                   \
        freeReplyObject(r_);                                                 \
    } while (0)

/* C34: the memory alert fires at >= 80 % of maxmemory and clears below
 * 75 %, from Redis's own INFO figures. */
static void
memory_alert_fires_at_80_percent(void **state)
{
    syncq_client *c;
    syncq_config *cfg = NULL;
    struct sq_alerts *a = NULL;
    char rules[512];
    json_t *st = NULL;
    syncq_error e;
    long long used;
    int tr = -1;
    FILE *f;

    (void)state;
    sqt_flush();
    snprintf(rules, sizeof rules, "%s/mem.rules", sqt_tmpdir());
    f = fopen(rules, "w");
    fputs("mem: memory_ratio >= 80% clear 75% severity critical\n", f);
    fclose(f);
    assert_int_equal(syncq_config_new(&cfg, &e), SYNCQ_OK);
    assert_int_equal(sq_alerts_new(cfg, rules, &a, &e), SYNCQ_OK);
    c = sqt_client();
    {
        redisReply *r = sqt_cmd("INFO memory");
        const char *p = strstr(r->str, "used_memory:");
        assert_non_null(p);
        used = atoll(p + strlen("used_memory:"));
        freeReplyObject(r);
    }
    /* used memory at ~87 % of the cap (noeviction: nothing is lost) */
    cmd_ok("CONFIG SET maxmemory-policy noeviction");
    cmd_ok("CONFIG SET maxmemory %lld", used * 100 / 87);
    assert_int_equal(sq_alerts_tick(a, c, NULL, &tr, &e), SYNCQ_OK);
    assert_int_equal(syncq_monitor_alerts(c, 10, &st, &e), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(st, "alerts"), 0),
                            "state")),
                        "firing");
    json_decref(st);
    /* room again: ~40 % used, below the 75 % clear level */
    cmd_ok("CONFIG SET maxmemory %lld", used * 100 / 40);
    assert_int_equal(sq_alerts_tick(a, c, NULL, &tr, &e), SYNCQ_OK);
    assert_int_equal(syncq_monitor_alerts(c, 10, &st, &e), SYNCQ_OK);
    assert_string_not_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(st, "alerts"),
                                               0),
                                "state")),
                            "firing");
    json_decref(st);
    cmd_ok("CONFIG SET maxmemory 0");
    sq_alerts_free(a);
    syncq_config_free(cfg);
    syncq_client_close(c);
}

static void
alerts_fire_once_and_resolve(void **state)
{
    syncq_client *c;
    syncq_config *cfg = NULL;
    char id[SYNCQ_ID_SIZE], url[128], rules[512];
    struct sq_alerts *a1 = NULL, *a2 = NULL;
    struct sq_lease_reply lr;
    int tr1 = -1, tr2 = -1;
    json_t *st = NULL;
    syncq_error e;
    FILE *f;

    (void)state;
    sqt_flush();
    rx_start();
    snprintf(rules, sizeof rules, "%s/rules.txt", sqt_tmpdir());
    f = fopen(rules, "w");
    fputs("dlq: dead_letter > 0 severity critical summary \"dead tasks\"\n"
          "depth: queue_depth{queue=al} > 2 for 1h\n",
          f);
    fclose(f);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", rx.port);
    assert_int_equal(syncq_config_new(&cfg, &e), SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_ALERT_WEBHOOK", url, NULL,
                                      &e),
                     SYNCQ_OK);
    assert_int_equal(sq_alerts_new(cfg, rules, &a1, &e), SYNCQ_OK);
    assert_int_equal(sq_alerts_new(cfg, rules, &a2, &e), SYNCQ_OK);
    c = sqt_client();
    /* nothing wrong yet */
    assert_int_equal(sq_alerts_tick(a1, c, NULL, &tr1, &e), SYNCQ_OK);
    assert_int_equal(tr1, 0);
    /* a dead task and a deep queue */
    for (int k = 0; k < 4; k++) {
        create(c, "images.resize", "al", 5, 0, id);
    }
    lr = lease(c, "w-al", "al", 1);
    settle(c, &lr.tasks[0], false, 5, true);
    sq_lease_reply_cleanup(&lr);
    {
        /* both evaluators see the same figures: one notification */
        struct sq_mon_opts o;
        struct sq_mon_data d;
        sq_mon_opts_init(&o, NULL);
        assert_int_equal(sq_mon_collect(c, &o, &d, &e), SYNCQ_OK);
        assert_int_equal(sq_alerts_tick(a1, c, &d, &tr1, &e), SYNCQ_OK);
        assert_int_equal(sq_alerts_tick(a2, c, &d, &tr2, &e), SYNCQ_OK);
        sq_mon_data_cleanup(&d);
    }
    assert_int_equal(tr1 + tr2, 1);
    assert_int_equal(sq_alerts_tick(a2, c, NULL, &tr2, &e), SYNCQ_OK);
    assert_int_equal(tr2, 0);
    assert_int_equal(syncq_monitor_alerts(c, 10, &st, &e), SYNCQ_OK);
    {
        json_t *al = json_object_get(st, "alerts");
        assert_int_equal(json_array_size(al), 2);
        /* firing first, then pending */
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(al, 0), "name")),
                            "dlq");
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(al, 0), "state")),
                            "firing");
        assert_true(json_number_value(json_object_get(json_array_get(al, 0),
                                                      "value")) == 1);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(al, 1), "state")),
                            "pending");
        assert_int_equal(json_array_size(json_object_get(st, "recent")), 1);
    }
    json_decref(st);
    /* the CLI lists it */
    {
        struct sqt_out o = sqt_cli(NULL, "monitor alerts");
        assert_int_equal(o.status, 0);
        assert_non_null(strstr(o.out, "dlq"));
        assert_non_null(strstr(o.out, "firing"));
        assert_non_null(strstr(o.out, "dead tasks"));
        sqt_out_free(&o);
    }
    /* clear the dead-letter queue: resolved, notified once */
    freeReplyObject(sqt_cmd("DEL {syncq}:dlq"));
    assert_int_equal(sq_alerts_tick(a1, c, NULL, &tr1, &e), SYNCQ_OK);
    assert_int_equal(tr1, 1);
    sq_alerts_flush(a1, 5000);
    sq_alerts_flush(a2, 5000);
    assert_int_equal(rx_count(), 2);
    {
        json_error_t je;
        json_t *j0 = json_loads(rx.req[0].body, 0, &je);
        json_t *j1 = json_loads(rx.req[1].body, 0, &je);
        assert_non_null(j0);
        assert_non_null(j1);
        assert_string_equal(rx.req[0].path, "/hook");
        assert_string_equal(rx.req[0].ctype, "application/json");
        assert_string_equal(json_string_value(json_object_get(j0, "name")),
                            "dlq");
        assert_string_equal(json_string_value(json_object_get(j0, "state")),
                            "firing");
        assert_string_equal(json_string_value(json_object_get(j0, "severity")),
                            "critical");
        assert_string_equal(json_string_value(json_object_get(j0, "namespace")),
                            "syncq");
        assert_string_equal(json_string_value(json_object_get(j1, "state")),
                            "resolved");
        json_decref(j0);
        json_decref(j1);
    }
    sq_alerts_free(a1);
    sq_alerts_free(a2);
    syncq_config_free(cfg);
    syncq_client_close(c);
    rx_stop();
}

/* ---- Sentry --------------------------------------------------------------- */

static void
sentry_envelope_of_a_failure(void **state)
{
    syncq_client *c;
    char id[SYNCQ_ID_SIZE], dsn[128];
    struct sq_sentry *s = NULL;
    struct sq_lease_reply lr;
    int fwd = -1;
    syncq_error e;

    (void)state;
    sqt_flush();
    rx_start();
    c = sqt_client();
    snprintf(dsn, sizeof dsn, "http://pubkey@127.0.0.1:%d/77", rx.port);
    assert_int_equal(sq_sentry_new(dsn, 0, 0, &s, &e), SYNCQ_OK);
    /* the group starts at the stream's end: create it first */
    assert_int_equal(sq_sentry_forward(s, c, "it", &fwd, &e), SYNCQ_OK);
    assert_int_equal(fwd, 0);
    create(c, "crawler.fetch_products", "sq", 5, 0, id);
    lr = lease(c, "host-a:99", "sq", 1);
    settle(c, &lr.tasks[0], false, 30, false);
    sq_lease_reply_cleanup(&lr);
    assert_int_equal(sq_sentry_forward(s, c, "it", &fwd, &e), SYNCQ_OK);
    assert_int_equal(fwd, 1);
    /* read again: acknowledged, nothing new */
    assert_int_equal(sq_sentry_forward(s, c, "it", &fwd, &e), SYNCQ_OK);
    assert_int_equal(fwd, 0);
    sq_sentry_flush(s, 5000);
    assert_int_equal(rx_count(), 1);
    assert_string_equal(rx.req[0].path, "/api/77/envelope/");
    assert_string_equal(rx.req[0].ctype, "application/x-sentry-envelope");
    assert_non_null(strstr(rx.req[0].auth, "Sentry sentry_version=7"));
    assert_non_null(strstr(rx.req[0].auth, "sentry_key=pubkey"));
    {
        char *l2 = strchr(rx.req[0].body, '\n') + 1;
        char *l3 = strchr(l2, '\n') + 1;
        json_error_t je;
        json_t *h = json_loadb(rx.req[0].body, (size_t)(l2 - rx.req[0].body - 1),
                               0, &je);
        json_t *ev = json_loadb(l3, strlen(l3) - 1, 0, &je);
        json_t *x;
        assert_non_null(h);
        assert_non_null(ev);
        assert_string_equal(json_string_value(json_object_get(h, "dsn")), dsn);
        x = json_array_get(json_object_get(json_object_get(ev, "exception"),
                                           "values"),
                           0);
        assert_string_equal(json_string_value(json_object_get(x, "type")),
                            "http_5xx");
        assert_string_equal(json_string_value(json_object_get(x, "value")),
                            "502 from the gateway");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(ev, "tags"), "task_id")),
                            id);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(ev, "tags"), "task_name")),
                            "crawler.fetch_products");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(ev, "tags"), "attempt")),
                            "1");
        /* the worker, remembered from the task-started event */
        assert_string_equal(json_string_value(json_object_get(ev,
                                                              "server_name")),
                            "host-a:99");
        json_decref(h);
        json_decref(ev);
    }
    /* a worker crash: the child died while running the task (settle
     * requeue worker_lost -> task-lost event) */
    {
        struct sq_settle_op op;
        int st2 = -1;
        char id2[SYNCQ_ID_SIZE];
        create(c, "images.resize", "sq", 5, 0, id2);
        lr = lease(c, "host-b:7", "sq", 1);
        memset(&op, 0, sizeof op);
        op.kind = SQ_SETTLE_REQUEUE;
        op.id = lr.tasks[0].id;
        op.token = lr.tasks[0].token;
        op.reason = "worker_lost";
        assert_int_equal(sq_broker_settle_lease(c, &op, 1, &st2, NULL, NULL,
                                                &e),
                         SYNCQ_OK);
        sq_lease_reply_cleanup(&lr);
        assert_int_equal(sq_sentry_forward(s, c, "it", &fwd, &e), SYNCQ_OK);
        assert_int_equal(fwd, 1);
        sq_sentry_flush(s, 5000);
        assert_int_equal(rx_count(), 2);
        {
            char *l3 = strchr(strchr(rx.req[1].body, '\n') + 1, '\n') + 1;
            json_error_t je;
            json_t *ev = json_loadb(l3, strlen(l3) - 1, 0, &je);
            json_t *x = json_array_get(
                json_object_get(json_object_get(ev, "exception"), "values"),
                0);
            assert_non_null(ev);
            assert_string_equal(json_string_value(json_object_get(ev,
                                                                  "level")),
                                "fatal");
            assert_string_equal(json_string_value(json_object_get(x, "type")),
                                "worker_lost");
            assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(ev, "tags"), "kind")),
                                "worker_crash");
            assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(ev, "tags"), "task_id")),
                                id2);
            assert_string_equal(
                json_string_value(json_object_get(ev, "server_name")),
                "host-b:7");
            json_decref(ev);
        }
    }
    /* rate limit: a burst of 30 captures, at most 20 queued at once */
    {
        struct sq_sentry_event ev;
        struct sq_sentry_stats stt;
        int ok = 0;
        memset(&ev, 0, sizeof ev);
        ev.kind = "worker_crash";
        for (int k = 0; k < 30; k++) {
            ok += sq_sentry_capture(s, &ev, NULL) == SYNCQ_OK;
        }
        /* 2 of the 20-event burst were spent above; 5/s refill */
        assert_true(ok >= 17 && ok <= 21);
        sq_sentry_stats(s, &stt);
        assert_int_equal(stt.rate_limited, (uint64_t)(30 - ok));
        assert_int_equal(stt.captured, (uint64_t)(32));
    }
    sq_sentry_free(s, 5000);
    syncq_client_close(c);
    rx_stop();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alerts_fire_once_and_resolve),
        cmocka_unit_test(memory_alert_fires_at_80_percent),
        cmocka_unit_test(sentry_envelope_of_a_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
