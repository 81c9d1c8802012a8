/* SPDX-License-Identifier: MIT
 *
 * it_monitor_figures.c: the monitor against a real Redis (run-with-redis.sh):
 *   - C41: 110 ready over priorities 0..10, 20 delayed, 5 leased: the
 *     snapshot, `syncq status` and /metrics text all say 110/20/5 with a
 *     per-priority breakdown summing to 110 (promtool checks the text);
 *   - figures from real counters (success/error rate, runtime, wait);
 *   - health: healthy / unhealthy (no worker) / degraded (eviction policy,
 *     C34; memory) / stale heartbeat / Redis down (reason broker), with the
 *     CLI's exit status 0 / 1 / 2;
 *   - progress callbacks (ordered, final update, C40 late update dropped);
 *   - alert rules evaluated on real data, one notification per transition
 *     even with two evaluators, delivered to a real webhook receiver;
 *   - Sentry envelopes of a failed task received by a real HTTP server.
 */
#include "sq_test.h"

#include "broker/broker.h"
#include "sq_alloc.h"
#include "core/sq_time.h"
#include "monitor/mon.h"
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

/* ---- helpers ------------------------------------------------------------ */

static void
create(syncq_client *c, const char *name, const char *queue, int pri,
       int64_t countdown_ms, char id[SYNCQ_ID_SIZE])
{
    syncq_task_options o;
    syncq_error e;

    syncq_task_options_init(&o);
    o.queue = queue;
    o.priority = pri;
    if (countdown_ms > 0) {
        o.countdown_ms = countdown_ms;
    }
    if (syncq_task_create(c, name, NULL, NULL, &o, id, NULL, &e) != SYNCQ_OK) {
        fail_msg("create: %s", e.msg);
    }
}

/* Lease up to n tasks of `queue` as worker `w`. */
static struct sq_lease_reply
lease(syncq_client *c, const char *w, const char *queue, int n)
{
    struct sq_lease_reply out;
    struct sq_lease_req req;
    const char *qs[1] = {queue};
    syncq_error e;

    memset(&req, 0, sizeof req);
    req.worker = w;
    req.lease_ms = 60000;
    req.max_n = n;
    req.start_now = n;
    req.queues = qs;
    req.nqueues = 1;
    memset(&out, 0, sizeof out);
    if (sq_broker_settle_lease(c, NULL, 0, NULL, &req, &out, &e) != SYNCQ_OK) {
        fail_msg("lease: %s", e.msg);
    }
    return out;
}

static void
settle(syncq_client *c, const struct sq_leased *t, bool ok, int64_t rt_ms,
       bool dead)
{
    struct sq_settle_op op;
    int st = -1;
    syncq_error e;

    memset(&op, 0, sizeof op);
    op.kind = ok ? SQ_SETTLE_OK : SQ_SETTLE_FAIL;
    op.id = t->id;
    op.token = t->token;
    op.result_json = "";
    op.err_class = "http_5xx";
    op.err_msg = "502 from the gateway";
    op.runtime_ms = rt_ms;
    op.dead = dead;
    if (sq_broker_settle_lease(c, &op, 1, &st, NULL, NULL, &e) != SYNCQ_OK) {
        fail_msg("settle: %s", e.msg);
    }
    assert_int_equal(st, SQ_SETTLED);
}

static void
heartbeat(syncq_client *c, const char *w, const char *queues_json)
{
    char info[512];
    json_t *lost = NULL, *ctl = NULL;
    syncq_error e;

    snprintf(info, sizeof info,
             "{\"worker\":\"%s\",\"hostname\":\"testhost\",\"pid\":4242,"
             "\"queues\":%s,\"concurrency\":2,\"tasks_done\":17,"
             "\"running\":1,\"rss_kb\":2048,\"loop_at_ms\":%lld,"
             "\"children\":[{\"pid\":4243,\"rss_kb\":1024,\"cpu_pct\":12.5,"
             "\"task_id\":\"t1\"},{\"pid\":4244,\"rss_kb\":1024,"
             "\"cpu_pct\":0.5,\"task_id\":null}]}",
             w, queues_json, (long long)time(NULL) * 1000);
    if (sq_broker_extend(c, w, 60000, info, 30000, NULL, NULL, 0, &lost, &ctl,
                         &e) != SYNCQ_OK) {
        fail_msg("extend: %s", e.msg);
    }
    json_decref(lost);
    json_decref(ctl);
}

static json_t *
snapshot(syncq_client *c)
{
    json_t *s = NULL;
    syncq_error e;

    if (syncq_monitor_snapshot(c, &s, &e) != SYNCQ_OK) {
        fail_msg("snapshot: %s", e.msg);
    }
    return s;
}

static const json_t *
queue_of(const json_t *snap, const char *name)
{
    size_t i;
    json_t *q;

    json_array_foreach(json_object_get(snap, "queues"), i, q) {
        if (strcmp(json_string_value(json_object_get(q, "name")), name) ==
            0) {
            return q;
        }
    }
    fail_msg("no queue %s in snapshot", name);
    return NULL;
}

static long long
ji(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* ---- C41 ------------------------------------------------------------------ */

static void
c41_every_priority_counted(void **state)
{
    syncq_client *c;
    char id[SYNCQ_ID_SIZE];
    struct sq_lease_reply lr;
    json_t *s;
    const json_t *q;
    char *text = NULL;
    size_t len = 0;
    syncq_error e;
    struct sqt_out o;

    (void)state;
    sqt_flush();
    c = sqt_client();
    for (int i = 0; i < 5; i++) {
        create(c, "images.resize", "images", 5, 0, id);
    }
    lr = lease(c, "w-c41", "images", 5);
    assert_int_equal(lr.n, 5);
    sq_lease_reply_cleanup(&lr);
    for (int p = 0; p <= 10; p++) {
        for (int i = 0; i < 10; i++) {
            create(c, "images.resize", "images", p, 0, id);
        }
    }
    for (int i = 0; i < 20; i++) {
        create(c, "images.resize", "images", 5, 3600000, id);
    }
    s = snapshot(c);
    q = queue_of(s, "images");
    assert_int_equal(ji(q, "ready"), 110);
    assert_int_equal(ji(q, "delayed"), 20);
    assert_int_equal(ji(q, "running"), 5);
    {
        const char *k;
        json_t *v;
        long long sum = 0;
        int keys = 0;
        json_object_foreach(json_object_get(q, "by_priority"), k, v) {
            assert_int_equal(json_integer_value(v), 10);
            sum += json_integer_value(v);
            keys++;
        }
        assert_int_equal(keys, 11);
        assert_int_equal(sum, 110);
    }
    assert_int_equal(ji(json_object_get(s, "totals"), "ready"), 110);
    assert_int_equal(ji(json_object_get(s, "totals"), "delayed"), 20);
    assert_int_equal(ji(json_object_get(s, "totals"), "running"), 5);
    assert_int_equal(json_array_size(json_object_get(s, "running")), 5);
    /* two pipelined round trips, the depth sample, and the beats (none
     * here: one ZREVRANGE) */
    assert_int_equal(ji(json_object_get(s, "collection"), "round_trips"), 4);
    assert_int_equal(json_array_size(json_object_get(s, "beats")), 0);
    json_decref(s);

    /* the metrics text */
    assert_int_equal(syncq_monitor_metrics(c, &text, &len, &e), SYNCQ_OK);
    assert_int_equal(len, strlen(text));
    assert_non_null(strstr(text, "\nsyncq_queue_ready{queue=\"images\"} 110\n"));
    assert_non_null(strstr(text, "\nsyncq_queue_delayed{queue=\"images\"} 20\n"));
    assert_non_null(strstr(text, "\nsyncq_queue_running{queue=\"images\"} 5\n"));
    {
        long long sum = 0;
        int lines = 0;
        const char *p = text;
        while ((p = strstr(p, "\nsyncq_queue_ready_by_priority{queue=\"images\"")) !=
               NULL) {
            const char *sp = strchr(p + 1, '}');
            sum += strtoll(sp + 2, NULL, 10);
            lines++;
            p++;
        }
        assert_int_equal(lines, 11);
        assert_int_equal(sum, 110);
    }
    {
        char path[512];
        FILE *f;
        char cmd[1100];
        snprintf(path, sizeof path, "%s/metrics.txt", sqt_tmpdir());
        f = fopen(path, "w");
        fputs(text, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' > '%s.out' 2>&1",
                 path, path);
        if (system(cmd) != 0) {
            char out[600];
            snprintf(out, sizeof out, "%s.out", path);
            fail_msg("promtool check metrics failed: %s",
                     sqt_read_file(out, NULL));
        }
    }
    syncq_free(text);

    /* the CLI: the engine's table row and the JSON */
    o = sqt_cli(NULL, "status");
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "images                    110      10      10      10      10      70"));
    assert_non_null(strstr(o.out, "delayed  20   active 5"));
    sqt_out_free(&o);
    o = sqt_cli(NULL, "status --json");
    assert_int_equal(o.status, 0);
    {
        json_error_t je;
        json_t *j = json_loads(o.out, 0, &je);
        assert_non_null(j);
        assert_int_equal(ji(json_object_get(json_object_get(j, "queues"),
                                            "images"),
                            "ready"),
                         110);
        assert_int_equal(ji(j, "delayed"), 20);
        assert_int_equal(ji(j, "active"), 5);
        assert_int_equal(ji(queue_of(json_object_get(j, "monitor"), "images"),
                            "running"),
                         5);
        json_decref(j);
    }
    sqt_out_free(&o);
    syncq_client_close(c);
}

/* ---- figures from counters ------------------------------------------------ */

static void
figures_from_counters(void **state)
{
    syncq_client *c;
    char id[SYNCQ_ID_SIZE];
    struct sq_lease_reply lr;
    json_t *s, *sys, *t = NULL;
    size_t i;
    json_t *e;

    (void)state;
    sqt_flush();
    c = sqt_client();
    for (int k = 0; k < 10; k++) {
        create(c, "crawler.fetch_products", "crawler", 5, 0, id);
    }
    lr = lease(c, "w-fig", "crawler", 10);
    assert_int_equal(lr.n, 10);
    for (size_t k = 0; k < lr.n; k++) {
        /* 6 succeed in 80 ms; 4 fail after 2 s */
        settle(c, &lr.tasks[k], k < 6, k < 6 ? 80 : 2000, false);
    }
    sq_lease_reply_cleanup(&lr);
    s = snapshot(c);
    sys = json_object_get(s, "system");
    assert_int_equal(ji(json_object_get(sys, "lifetime"), "succeeded"), 6);
    assert_int_equal(ji(json_object_get(sys, "lifetime"), "failed"), 4);
    assert_int_equal(ji(json_object_get(sys, "lifetime"), "sent"), 10);
    assert_int_equal(ji(json_object_get(sys, "last_5m"), "failed"), 4);
    assert_true(fabs(json_number_value(json_object_get(sys, "error_rate")) -
                     0.4) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(sys, "success_rate")) -
                     0.6) < 1e-9);
    /* p95 of {6 x 80 ms, 4 x 2000 ms}: inside the (1000, 2500] bucket */
    {
        double p95 = json_number_value(json_object_get(sys, "runtime_p95_ms"));
        assert_true(p95 > 1000 && p95 <= 2500);
    }
    assert_true(fabs(json_number_value(json_object_get(
                         sys, "runtime_mean_ms_lifetime")) -
                     (6 * 80 + 4 * 2000) / 10.0) < 1e-9);
    /* 10 finished within the last minute: 10/300 per s over 5 min */
    assert_true(fabs(json_number_value(json_object_get(
                         json_object_get(sys, "throughput"), "5m")) -
                     10.0 / 300.0) < 1e-9);
    json_array_foreach(json_object_get(s, "tasks"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "name")),
                   "crawler.fetch_products") == 0) {
            t = e;
        }
    }
    assert_non_null(t);
    assert_true(fabs(json_number_value(json_object_get(t, "success_rate")) -
                     0.6) < 1e-9);
    /* the 10 ended within the last minute: the 1-minute rate (per task
     * and per queue) is at least the 5-minute one, at most 10 per 60 s
     * (a partial oldest minute counts in proportion) */
    {
        double t1 = json_number_value(json_object_get(t, "throughput_1m"));
        double t5 = json_number_value(json_object_get(t, "throughput_5m"));
        double q1 = json_number_value(
            json_object_get(queue_of(s, "crawler"), "throughput_1m"));
        assert_true(t1 >= t5 - 1e-9 && t1 > 0 && t1 <= 10.0 / 60.0 + 0.2);
        assert_true(q1 >= t1 - 1e-9);
    }
    assert_non_null(json_object_get(queue_of(s, "crawler"), "wait_mean_ms"));
    assert_true(json_is_number(
        json_object_get(queue_of(s, "crawler"), "wait_mean_ms")));
    /* the per-minute series ends with this minute: 6 + 4 */
    {
        json_t *ser = json_object_get(s, "series");
        json_t *last = json_array_get(ser, json_array_size(ser) - 1);
        assert_int_equal(json_array_size(ser), 61);
        assert_int_equal(ji(last, "succeeded") + ji(last, "failed"), 10);
    }
    json_decref(s);
    /* 40 % errors over 5 min is above the 20 % default: degraded */
    {
        json_t *h = NULL;
        int st = -1;
        syncq_error er;
        assert_int_equal(syncq_monitor_health(c, NULL, &h, &st, &er),
                         SYNCQ_OK);
        assert_int_equal(st, SYNCQ_DEGRADED);
        assert_string_equal(json_string_value(json_object_get(h, "status")),
                            "degraded");
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(h, "reasons"), 0), "check")),
            "error_rate");
        assert_non_null(strstr(
            json_string_value(json_object_get(
                json_array_get(json_object_get(h, "reasons"), 0), "message")),
            "error rate 40.0% over 5 min (10 finished) is above 20%"));
        json_decref(h);
    }
    syncq_client_close(c);
}

/* ---- health ------------------------------------------------------------- */

static int
health_cli(const char *needle)
{
    struct sqt_out o = sqt_cli(NULL, "monitor health");
    int st = o.status;

    if (needle != NULL && strstr(o.out, needle) == NULL) {
        fail_msg("health output lacks '%s': %s", needle, o.out);
    }
    sqt_out_free(&o);
    return st;
}

static void
health_states_and_exit_codes(void **state)
{
    syncq_client *c;
    char id[SYNCQ_ID_SIZE];
    redisReply *r;
    struct sqt_out o;

    (void)state;
    sqt_flush();
    freeReplyObject(sqt_cmd("CONFIG SET maxmemory-policy noeviction"));
    freeReplyObject(sqt_cmd("CONFIG SET maxmemory 0"));
    c = sqt_client();
    /* no live worker at all: degraded, not healthy (issue 20) */
    assert_int_equal(health_cli("no live worker: tasks are queued but "
                                "nothing runs them"),
                     1);

    create(c, "images.resize", "images", 5, 0, id);
    assert_int_equal(health_cli("no worker alive for queue images (1 ready)"),
                     2);
    /* a worker for another queue does not count */
    heartbeat(c, "w-other", "[\"crawler\"]");
    assert_int_equal(health_cli("no worker alive for queue images"), 2);
    heartbeat(c, "w-img", "[\"images\",\"crawler\"]");
    assert_int_equal(health_cli("healthy"), 0);

    /* C34: an eviction policy that may drop tasks */
    freeReplyObject(sqt_cmd("CONFIG SET maxmemory-policy allkeys-lru"));
    assert_int_equal(health_cli("maxmemory-policy is allkeys-lru"), 1);
    freeReplyObject(sqt_cmd("CONFIG SET maxmemory-policy volatile-lru"));
    assert_int_equal(health_cli("healthy"), 0);
    /* memory at >= 80 % of maxmemory */
    r = sqt_cmd("INFO memory");
    {
        const char *p = strstr(r->str, "used_memory:");
        long long used = strtoll(p + 12, NULL, 10);
        freeReplyObject(r);
        r = sqt_cmd("CONFIG SET maxmemory %lld", used + used / 10);
        freeReplyObject(r);
    }
    assert_int_equal(health_cli("of maxmemory"), 1);
    freeReplyObject(sqt_cmd("CONFIG SET maxmemory 0"));
    freeReplyObject(sqt_cmd("CONFIG SET maxmemory-policy noeviction"));

    /* a stale heartbeat: the worker's last beat 45 s ago */
    freeReplyObject(sqt_cmd("ZADD {syncq}:workers %lld w-img",
                            (long long)time(NULL) * 1000 - 45000));
    o = sqt_cli(NULL, "monitor health --json");
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.out, "\"status\":\"unhealthy\""));
    assert_non_null(strstr(o.out, "worker w-img heartbeat stale"));
    assert_non_null(strstr(o.out, "\"check\":\"heartbeat\""));
    sqt_out_free(&o);
    heartbeat(c, "w-img", "[\"images\"]");
    heartbeat(c, "w-other", "[\"crawler\"]");
    /* a stalled consumer loop while heartbeats continue (C43) */
    {
        char info[256];
        json_t *lost = NULL, *ctl = NULL;
        snprintf(info, sizeof info,
                 "{\"queues\":[\"images\"],\"loop_at_ms\":%lld}",
                 (long long)time(NULL) * 1000 - 40000);
        assert_int_equal(sq_broker_extend(c, "w-img", 60000, info, 30000,
                                          NULL, NULL, 0, &lost, &ctl, NULL),
                         SYNCQ_OK);
        json_decref(lost);
        json_decref(ctl);
    }
    assert_int_equal(health_cli("consumer loop has not moved"), 2);
    heartbeat(c, "w-img", "[\"images\"]");
    assert_int_equal(health_cli("healthy"), 0);

    /* the depth grew by 150 in 5 minutes: the sample of 5 minutes ago
     * (written by collections) is planted, time is not waited for */
    for (int k = 0; k < 150; k++) {
        create(c, "images.resize", "images", 5, 0, id);
    }
    {
        redisReply *t = sqt_cmd("TIME");
        long long minute = strtoll(t->element[0]->str, NULL, 10) / 60;
        freeReplyObject(t);
        freeReplyObject(sqt_cmd("HSET {syncq}:depth:%lld images 1",
                                minute - 5));
        assert_int_equal(
            health_cli("queue images is growing: 151 ready, 1 5 min ago"),
            1);
        /* and the collection sampled this minute's depth (or the next
         * minute's, when the clock turned meanwhile), with a TTL */
        {
            redisReply *v = sqt_cmd("HGET {syncq}:depth:%lld images",
                                    minute);
            bool here = v->type == REDIS_REPLY_STRING &&
                        strcmp(v->str, "151") == 0;
            freeReplyObject(v);
            if (here) {
                long long ttl = sqt_cmd_int("PTTL {syncq}:depth:%lld",
                                            minute);
                assert_true(ttl > 0 && ttl <= 1800000);
            } else {
                assert_int_equal(
                    sqt_cmd_int("EXISTS {syncq}:depth:%lld", minute + 1), 1);
            }
        }
        freeReplyObject(sqt_cmd("DEL {syncq}:depth:%lld", minute - 5));
    }

    /* Redis down: unhealthy, ready fail, reason broker; quickly */
    syncq_client_close(c);
    assert_int_equal(sqt_redisctl("stop"), 0);
    o = sqt_cli(NULL, "monitor health --json");
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.out, "\"ready\":\"fail\""));
    assert_non_null(strstr(o.out, "\"reason\":\"broker\""));
    assert_non_null(strstr(o.out, "\"live\":\"ok\""));
    sqt_out_free(&o);
    o = sqt_cli(NULL, "monitor health");
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.out, "Redis unreachable"));
    sqt_out_free(&o);
    assert_int_equal(sqt_redisctl("start"), 0);
}

/* ---- progress callbacks ----------------------------------------------- */

struct seen {
    int n;
    int64_t cur[32];
    char state[32][16];
    char msg[64];
    bool final;
    double eta_last;
};

static void
on_progress(void *ud, const syncq_progress *p)
{
    struct seen *s = ud;

    if (s->n < 32) {
        s->cur[s->n] = p->current;
        snprintf(s->state[s->n], sizeof s->state[0], "%s", p->state);
        s->n++;
    }
    snprintf(s->msg, sizeof s->msg, "%s", p->message);
    s->final = p->is_final;
    s->eta_last = p->eta_s;
}

static void
progress_callbacks(void **state)
{
    syncq_client *c;
    char id[SYNCQ_ID_SIZE], other[SYNCQ_ID_SIZE];
    struct sq_lease_reply lr;
    syncq_progress_monitor *m = NULL;
    struct seen s, all;
    size_t got;
    int st;
    int64_t cur;
    syncq_error e;

    (void)state;
    sqt_flush();
    memset(&s, 0, sizeof s);
    memset(&all, 0, sizeof all);
    c = sqt_client();
    create(c, "images.resize", "pq", 5, 0, id);
    create(c, "images.resize", "pq", 4, 0, other);
    lr = lease(c, "w-prog", "pq", 2);
    assert_int_equal(lr.n, 2);
    assert_string_equal(lr.tasks[0].id, id);
    assert_int_equal(syncq_progress_monitor_new(c, &m, &e), SYNCQ_OK);
    assert_int_equal(syncq_progress_monitor_add_callback(m, NULL, NULL, NULL,
                                                         &e),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_progress_monitor_add_callback(m, id, on_progress,
                                                         &s, &e),
                     SYNCQ_OK);
    assert_int_equal(syncq_progress_monitor_add_callback(m, NULL, on_progress,
                                                         &all, &e),
                     SYNCQ_OK);
    /* first poll: the current state of the watched task */
    assert_int_equal(syncq_progress_monitor_poll(m, 0, &got, &e), SYNCQ_OK);
    assert_int_equal(got, 1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.state[0], "STARTED");
    for (int k = 1; k <= 4; k++) {
        assert_int_equal(sq_broker_progress(c, id, lr.tasks[0].token, false,
                                            k * 25, 100, k == 4 ? "done" : "",
                                            &st, &cur, &e),
                         SYNCQ_OK);
        assert_int_equal(st, 0);
    }
    assert_int_equal(sq_broker_progress(c, other, lr.tasks[1].token, false, 1,
                                        2, "other", &st, &cur, &e),
                     SYNCQ_OK);
    settle(c, &lr.tasks[0], true, 10, false);
    /* a progress update after completion is dropped (C40) */
    assert_int_equal(sq_broker_progress(c, id, lr.tasks[0].token, false, 10,
                                        100, "late", &st, &cur, &e),
                     SYNCQ_OK);
    assert_int_equal(st, 2);
    for (int k = 0; k < 20 && !s.final; k++) {
        assert_int_equal(syncq_progress_monitor_poll(m, 500, &got, &e),
                         SYNCQ_OK);
    }
    assert_true(s.final);
    /* 1 initial + 4 progress + final */
    assert_int_equal(s.n, 6);
    for (int k = 1; k < s.n; k++) {
        assert_true(s.cur[k] >= s.cur[k - 1]);
    }
    assert_int_equal(s.cur[s.n - 1], 100);
    assert_string_equal(s.state[s.n - 1], "SUCCESS");
    assert_string_equal(s.msg, "done");
    assert_true(s.eta_last == 0);
    /* the every-task callback saw the other task as well */
    assert_true(all.n >= 6);
    /* the one-task callback removed itself after the final update */
    assert_int_equal(syncq_progress_monitor_remove_callback(m, id, on_progress,
                                                            &s),
                     0);
    assert_int_equal(syncq_progress_monitor_remove_callback(m, NULL,
                                                            on_progress, &all),
                     1);
    assert_string_equal(sqt_task_state(c, id), "SUCCESS");
    syncq_progress_monitor_free(m);
    sq_lease_reply_cleanup(&lr);
    syncq_client_close(c);
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

/* Issue 20: a worker is down once two of its heartbeats are missed (its
 * own interval), and its running tasks show as recovering. */
static const json_t *
worker_of(const json_t *snap, const char *id)
{
    size_t i;
    json_t *w;

    json_array_foreach(json_object_get(snap, "workers"), i, w) {
        if (strcmp(json_string_value(json_object_get(w, "id")), id) == 0) {
            return w;
        }
    }
    fail_msg("no worker %s in snapshot", id);
    return NULL;
}

static void
worker_down_after_two_missed_heartbeats(void **state)
{
    syncq_client *c;
    char id[SYNCQ_ID_SIZE], info[256];
    struct sq_lease_reply lr;
    json_t *s, *lost = NULL, *ctl = NULL;
    syncq_error e;
    long long now = (long long)sq_now_ms();

    (void)state;
    sqt_flush();
    c = sqt_client();
    create(c, "images.resize", "lq", 5, 0, id);
    lr = lease(c, "w-hb", "lq", 1);
    sq_lease_reply_cleanup(&lr);
    snprintf(info, sizeof info,
             "{\"queues\":[\"lq\"],\"heartbeat_ms\":1000,"
             "\"loop_at_ms\":%lld}", now);
    assert_int_equal(sq_broker_extend(c, "w-hb", 60000, info, 30000, NULL,
                                      NULL, 0, &lost, &ctl, &e),
                     SYNCQ_OK);
    json_decref(lost);
    json_decref(ctl);
    s = snapshot(c);
    assert_string_equal(json_string_value(json_object_get(
                            worker_of(s, "w-hb"), "state")),
                        "alive");
    assert_string_not_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(s, "running"),
                                               0),
                                "state")),
                            "recovering");
    json_decref(s);
    /* 1.5 s: one heartbeat missed, still up */
    freeReplyObject(sqt_cmd("ZADD {syncq}:workers %lld w-hb", now - 1500));
    s = snapshot(c);
    assert_string_equal(json_string_value(json_object_get(
                            worker_of(s, "w-hb"), "state")),
                        "alive");
    json_decref(s);
    /* 2.5 s: two missed (SYNCQ_HEALTH_STALE_AFTER is 30 s): down, and its
     * task is recovering until its lease runs out */
    freeReplyObject(sqt_cmd("ZADD {syncq}:workers %lld w-hb", now - 2500));
    s = snapshot(c);
    assert_string_equal(json_string_value(json_object_get(
                            worker_of(s, "w-hb"), "state")),
                        "stale");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(s, "running"), 0),
                            "state")),
                        "recovering");
    json_decref(s);
    assert_int_equal(health_cli("no live worker"), 1);
    syncq_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(c41_every_priority_counted),
        cmocka_unit_test(figures_from_counters),
        cmocka_unit_test(health_states_and_exit_codes),
        cmocka_unit_test(worker_down_after_two_missed_heartbeats),
        cmocka_unit_test(progress_callbacks),
        cmocka_unit_test(alerts_fire_once_and_resolve),
        cmocka_unit_test(memory_alert_fires_at_80_percent),
        cmocka_unit_test(sentry_envelope_of_a_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
