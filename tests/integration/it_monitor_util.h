/* SPDX-License-Identifier: MIT
 *
 * it_monitor_util.h: helpers of the monitor integration tests
 * (it_monitor_figures.c, it_monitor_alerts.c): create, lease and settle
 * tasks through the broker's own calls, beat as a worker, read the
 * monitor's snapshot. Static functions, so each test binary gets its own
 * copy (tests/CMakeLists.txt builds one file per test).
 */
#ifndef IT_MONITOR_UTIL_H
#define IT_MONITOR_UTIL_H

#include "sq_test.h"

#include "broker/broker.h"
#include "monitor/mon.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MON_UNUSED __attribute__((unused))

MON_UNUSED static void
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
MON_UNUSED static struct sq_lease_reply
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

MON_UNUSED static void
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

MON_UNUSED static void
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

MON_UNUSED static json_t *
snapshot(syncq_client *c)
{
    json_t *s = NULL;
    syncq_error e;

    if (syncq_monitor_snapshot(c, &s, &e) != SYNCQ_OK) {
        fail_msg("snapshot: %s", e.msg);
    }
    return s;
}

MON_UNUSED static const json_t *
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

MON_UNUSED static long long
ji(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

#endif
