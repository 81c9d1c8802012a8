/* SPDX-License-Identifier: MIT
 *
 * it_monitor_figures.c: the monitor's figures against a real Redis
 * (run-with-redis.sh):
 *   - C41: 110 ready over priorities 0..10, 20 delayed, 5 leased: the
 *     snapshot, `syncq status` and /metrics text all say 110/20/5 with a
 *     per-priority breakdown summing to 110 (promtool checks the text);
 *   - figures from real counters (success/error rate, runtime, wait);
 *   - health: healthy / unhealthy (no worker) / degraded (eviction policy,
 *     C34; memory) / stale heartbeat / Redis down (reason broker), with the
 *     CLI's exit status 0 / 1 / 2; a worker down after two missed
 *     heartbeats;
 *   - progress callbacks (ordered, final update, C40 late update dropped).
 * Alerts and Sentry envelopes are it_monitor_alerts.c.
 */
#include "it_monitor_util.h"

#include "sq_alloc.h"
#include "core/sq_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    assert_int_equal(health_cli("no live worker: nothing would run a task "
                                "created now"),
                     1);

    create(c, "images.resize", "images", 5, 0, id);
    assert_int_equal(health_cli("no worker alive for queue images (1 ready)"),
                     2);
    assert_int_equal(health_cli("no live worker to run the 1 ready task "
                                "(start"),
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
