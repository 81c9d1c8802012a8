/* SPDX-License-Identifier: MIT
 *
 * mon_metrics.c: the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/) of one
 * collection: counters with _total, gauges, and the runtime and wait
 * histograms with cumulative le buckets, labels queue/task/state/worker.
 * Every family has HELP and TYPE so `promtool check metrics` is clean.
 * Label values are escaped (backslash, quote, newline); names come from
 * Redis and are never trusted.
 */
#include "monitor/mon.h"
#include "broker/broker_fault.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Worker info fields about broker faults (issue 12), copied into the
 * snapshot by mon_figures.c and exported per worker below. */
const char *const sq_mon_fault_fields[] = {
    "broker_errors", "broker_reconnects", "outcomes_refused", NULL};

/* Append a label value, escaped per the exposition format. */
static void
esc(struct sq_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '\\') {
            sq_buf_adds(b, "\\\\");
        } else if (*s == '"') {
            sq_buf_adds(b, "\\\"");
        } else if (*s == '\n') {
            sq_buf_adds(b, "\\n");
        } else {
            sq_buf_add(b, s, 1);
        }
    }
}

static void
family(struct sq_buf *b, const char *name, const char *type,
       const char *help)
{
    sq_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value; labels as NULL-terminated k, v pairs. */
static void
sample(struct sq_buf *b, const char *name, double v, ...)
{
    va_list ap;
    const char *k;
    bool first = true;

    sq_buf_adds(b, name);
    va_start(ap, v);
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *val = va_arg(ap, const char *);
        sq_buf_adds(b, first ? "{" : ",");
        first = false;
        sq_buf_printf(b, "%s=\"", k);
        esc(b, val);
        sq_buf_adds(b, "\"");
    }
    va_end(ap);
    if (!first) {
        sq_buf_adds(b, "}");
    }
    if (isnan(v)) {
        sq_buf_adds(b, " NaN\n");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        sq_buf_printf(b, " %.0f\n", v);
    } else {
        sq_buf_printf(b, " %.6g\n", v);
    }
}

/* A family with one unlabelled sample. */
static void
single(struct sq_buf *b, const char *name, const char *type,
       const char *help, double v)
{
    family(b, name, type, help);
    sample(b, name, v, (char *)NULL);
}

static double
jfield(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *
js(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

/* A per-process family: one sample per member (worker, beat) of `list`,
 * labelled with its id; the value of `field` (a number, or a boolean as
 * 1/0) times `scale`. */
struct member_field {
    const char *name, *type, *help, *field;
    double scale;
};

/* Each family of `f` over `list`; members lacking a field are left out,
 * except for the first family (its NaN says the member is there but did
 * not say). */
static void
members(struct sq_buf *b, const json_t *list, const char *label,
        const struct member_field *f, size_t n)
{
    size_t i;
    const json_t *e;

    for (size_t k = 0; k < n; k++) {
        family(b, f[k].name, f[k].type, f[k].help);
        json_array_foreach(list, i, e) {
            const json_t *v = json_object_get(e, f[k].field);
            double x = json_is_boolean(v)  ? (json_is_true(v) ? 1 : 0)
                       : json_is_number(v) ? json_number_value(v)
                                           : NAN;
            if (isnan(x) && k != 0) {
                continue;
            }
            sample(b, f[k].name, x * f[k].scale, label, js(e, "id"),
                   (char *)NULL);
        }
    }
}

/* One histogram family over the series; `wait` picks the wait histogram
 * (per queue, the "*" series) instead of runtime (per queue and task). */
static void
histogram(struct sq_buf *b, const struct sq_mon_data *d, bool wait)
{
    const char *name = wait ? "syncq_task_wait_seconds"
                            : "syncq_task_runtime_seconds";
    char bn[64], sn[64], cn[64];

    snprintf(bn, sizeof bn, "%s_bucket", name);
    snprintf(sn, sizeof sn, "%s_sum", name);
    snprintf(cn, sizeof cn, "%s_count", name);
    family(b, name, "histogram",
           wait ? "Time from enqueue (or ETA) to lease, per queue."
                : "Runtime of task attempts, per queue and task.");
    for (size_t i = 0; i < d->ns; i++) {
        const struct sq_mon_series *s = &d->s[i];
        const long long *h = wait ? s->wait_hist : s->rt_hist;
        long long cum = 0;
        long long count = wait ? s->life[SQ_K_WAIT_COUNT]
                               : s->life[SQ_K_RT_COUNT];
        long long sum = wait ? s->life[SQ_K_WAIT_SUM] : s->life[SQ_K_RT_SUM];
        bool isq = strcmp(s->task, "*") == 0;
        if (wait != isq || (count == 0 && sum == 0)) {
            continue;
        }
        for (int k = 0; k < SQ_MON_NBUCKETS; k++) {
            char le[32];
            cum += h[k];
            if (k == SQ_MON_NBUCKETS - 1) {
                snprintf(le, sizeof le, "+Inf");
                /* the count is authoritative for +Inf */
                cum = count > cum ? count : cum;
            } else {
                snprintf(le, sizeof le, "%g", sq_mon_bounds_ms[k] / 1000.0);
            }
            if (wait) {
                sample(b, bn, (double)cum, "queue", s->queue, "le", le,
                       (char *)NULL);
            } else {
                sample(b, bn, (double)cum, "queue", s->queue, "task", s->task,
                       "le", le, (char *)NULL);
            }
        }
        if (wait) {
            sample(b, sn, (double)sum / 1000.0, "queue", s->queue,
                   (char *)NULL);
            sample(b, cn, (double)(count > cum ? count : cum), "queue",
                   s->queue, (char *)NULL);
        } else {
            sample(b, sn, (double)sum / 1000.0, "queue", s->queue, "task",
                   s->task, (char *)NULL);
            sample(b, cn, (double)(count > cum ? count : cum), "queue",
                   s->queue, "task", s->task, (char *)NULL);
        }
    }
}

int
sq_mon_metrics_format(const struct sq_mon_data *d, const json_t *health,
                      const json_t *alerts, struct sq_buf *b)
{
    size_t i;
    json_t *e;

    family(b, "syncq_up", "gauge", "1 when the Redis broker answered.");
    sample(b, "syncq_up", d != NULL && d->snap != NULL ? 1 : 0,
           (char *)NULL);
    if (health != NULL) {
        const char *st = js(health, "status");
        family(b, "syncq_health_status", "gauge",
               "0 healthy, 1 degraded, 2 unhealthy.");
        sample(b, "syncq_health_status",
               strcmp(st, "healthy") == 0    ? 0
               : strcmp(st, "degraded") == 0 ? 1
                                             : 2,
               (char *)NULL);
    }
    if (alerts != NULL) {
        long long firing = 0;
        family(b, "syncq_alert_state", "gauge",
               "Alert rule state: 0 inactive or resolved, 1 pending, "
               "2 firing.");
        json_array_foreach(alerts, i, e) {
            const char *st = js(e, "state");
            int v = strcmp(st, "firing") == 0    ? 2
                    : strcmp(st, "pending") == 0 ? 1
                                                 : 0;
            firing += v == 2;
            sample(b, "syncq_alert_state", v, "alert", js(e, "name"),
                   "severity", js(e, "severity"), (char *)NULL);
        }
        family(b, "syncq_alerts_firing", "gauge",
               "Alert rules currently firing.");
        sample(b, "syncq_alerts_firing", (double)firing, (char *)NULL);
    }
    if (d == NULL || d->snap == NULL) {
        return b->data != NULL || b->len == 0 ? 0 : -1;
    }

    /* Counters. */
    family(b, "syncq_tasks_sent_total", "counter",
           "Tasks created, per queue and task.");
    for (i = 0; i < d->ns; i++) {
        if (strcmp(d->s[i].task, "*") != 0) {
            sample(b, "syncq_tasks_sent_total",
                   (double)d->s[i].life[SQ_K_SENT], "queue", d->s[i].queue,
                   "task", d->s[i].task, (char *)NULL);
        }
    }
    family(b, "syncq_tasks_total", "counter",
           "Task outcomes and transitions, per queue, task and state.");
    for (i = 0; i < d->ns; i++) {
        if (strcmp(d->s[i].task, "*") == 0) {
            continue;
        }
        for (int k = SQ_K_SUCCEEDED; k <= SQ_K_LOST; k++) {
            sample(b, "syncq_tasks_total", (double)d->s[i].life[k], "queue",
                   d->s[i].queue, "task", d->s[i].task, "state",
                   sq_mon_kind_name(k), (char *)NULL);
        }
    }
    family(b, "syncq_lease_expired_total", "counter",
           "Leases that lapsed (worker died or stalled).");
    for (i = 0; i < d->ns; i++) {
        if (strcmp(d->s[i].task, "*") != 0) {
            sample(b, "syncq_lease_expired_total",
                   (double)d->s[i].life[SQ_K_LEASE_EXPIRED], "queue",
                   d->s[i].queue, "task", d->s[i].task, (char *)NULL);
        }
    }
    family(b, "syncq_lease_lost_total", "counter",
           "Outcomes refused because the lease had moved on (fencing).");
    for (i = 0; i < d->ns; i++) {
        if (strcmp(d->s[i].task, "*") != 0) {
            sample(b, "syncq_lease_lost_total",
                   (double)d->s[i].life[SQ_K_LEASE_LOST], "queue",
                   d->s[i].queue, "task", d->s[i].task, (char *)NULL);
        }
    }
    family(b, "syncq_poison_messages_total", "counter",
           "Queue entries that were not tasks (dead-lettered).");
    sample(b, "syncq_poison_messages_total", (double)d->poison_total,
           (char *)NULL);
    histogram(b, d, false);
    histogram(b, d, true);

    /* Queues (C41: every priority list counted). */
    {
        const json_t *qs = json_object_get(d->snap, "queues");
        const json_t *tot = json_object_get(d->snap, "totals");
        family(b, "syncq_queue_ready", "gauge",
               "Ready tasks of a queue, all priorities.");
        json_array_foreach(qs, i, e) {
            sample(b, "syncq_queue_ready", jfield(e, "ready"), "queue",
                   js(e, "name"), (char *)NULL);
        }
        family(b, "syncq_queue_ready_by_priority", "gauge",
               "Ready tasks of a queue per priority 0..10.");
        json_array_foreach(qs, i, e) {
            const char *pk;
            json_t *n;
            json_object_foreach(json_object_get(e, "by_priority"), pk, n) {
                sample(b, "syncq_queue_ready_by_priority",
                       json_number_value(n), "queue", js(e, "name"),
                       "priority", pk, (char *)NULL);
            }
        }
        family(b, "syncq_queue_delayed", "gauge",
               "Delayed tasks (ETA, countdown, retry) of a queue.");
        json_array_foreach(qs, i, e) {
            sample(b, "syncq_queue_delayed", jfield(e, "delayed"), "queue",
                   js(e, "name"), (char *)NULL);
        }
        family(b, "syncq_queue_running", "gauge",
               "Leased (running or prefetched) tasks of a queue.");
        json_array_foreach(qs, i, e) {
            sample(b, "syncq_queue_running", jfield(e, "running"), "queue",
                   js(e, "name"), (char *)NULL);
        }
        family(b, "syncq_queue_dead_letter", "gauge",
               "Tasks of a queue in the dead-letter queue.");
        json_array_foreach(qs, i, e) {
            sample(b, "syncq_queue_dead_letter", jfield(e, "dead_letter"),
                   "queue", js(e, "name"), (char *)NULL);
        }
        family(b, "syncq_tasks_ready", "gauge", "Ready tasks, all queues.");
        sample(b, "syncq_tasks_ready", jfield(tot, "ready"), (char *)NULL);
        family(b, "syncq_tasks_delayed", "gauge", "Delayed tasks.");
        sample(b, "syncq_tasks_delayed", jfield(tot, "delayed"), (char *)NULL);
        family(b, "syncq_tasks_running", "gauge", "Leased tasks.");
        sample(b, "syncq_tasks_running", jfield(tot, "running"), (char *)NULL);
        family(b, "syncq_dead_letter_tasks", "gauge",
               "Tasks in the dead-letter queue.");
        sample(b, "syncq_dead_letter_tasks", jfield(tot, "dead"), (char *)NULL);
        family(b, "syncq_workers_alive", "gauge",
               "Workers with a fresh heartbeat.");
        sample(b, "syncq_workers_alive", jfield(tot, "workers_alive"),
               (char *)NULL);
    }

    /* Workers. */
    {
        static const struct member_field wf[] = {
            {"syncq_worker_up", "gauge",
             "1 when the worker heartbeats and its loop moves.", "live", 1},
            {"syncq_worker_heartbeat_age_seconds", "gauge",
             "Seconds since the worker's last heartbeat.",
             "heartbeat_age_ms", 0.001},
            {"syncq_worker_tasks_running", "gauge",
             "Tasks the worker is running.", "running", 1},
            {"syncq_worker_tasks_done_total", "counter",
             "Tasks the worker finished since it started.", "done", 1},
            {"syncq_worker_rss_bytes", "gauge",
             "Resident memory of the worker and its children.", "rss_bytes",
             1},
            {"syncq_worker_cpu_percent", "gauge",
             "CPU use of the worker and its children, percent of one core.",
             "cpu_percent", 1},
            {"syncq_worker_broker_errors_total", "counter",
             "Broker errors the worker met (error replies, lost "
             "connections, failed connects).",
             "broker_errors", 1},
            {"syncq_worker_broker_reconnects_total", "counter",
             "Reconnects of the worker to Redis.", "broker_reconnects", 1},
            {"syncq_worker_outcomes_refused_total", "counter",
             "Outcomes Redis refused for good (logged with the task).",
             "outcomes_refused", 1},
        };
        members(b, json_object_get(d->snap, "workers"), "worker", wf,
                sizeof wf / sizeof wf[0]);
    }

    /* Beats (their status records, docs/beat.md). */
    {
        static const struct member_field bf[] = {
            {"syncq_beat_up", "gauge",
             "1 while the beat's status record is fresh.", "alive", 1},
            {"syncq_beat_leader", "gauge",
             "1 for the beat holding the leader lock.", "leader", 1},
            {"syncq_beat_ticks_fired_total", "counter",
             "Schedule ticks the beat fired since it started.", "fired", 1},
            {"syncq_beat_ticks_missed_total", "counter",
             "Schedule ticks the beat skipped as missed since it started.",
             "missed", 1},
            {"syncq_beat_broker_errors_total", "counter",
             "Broker errors the beat met (error replies, lost connections, "
             "failed connects).",
             "broker_errors", 1},
            {"syncq_beat_broker_reconnects_total", "counter",
             "Reconnects of the beat to Redis.", "broker_reconnects", 1},
        };
        members(b, json_object_get(d->snap, "beats"), "beat", bf,
                sizeof bf / sizeof bf[0]);
    }

    /* Running tasks' progress (bounded by the collection's max_running). */
    {
        const json_t *rs = json_object_get(d->snap, "running");
        family(b, "syncq_task_progress_ratio", "gauge",
               "Progress of a running task, 0..1 (when it reports a "
               "total).");
        json_array_foreach(rs, i, e) {
            const json_t *p = json_object_get(e, "progress");
            double pct = jfield(p, "percent");
            if (!isnan(pct)) {
                sample(b, "syncq_task_progress_ratio", pct / 100.0, "id",
                       js(e, "id"), "task", js(e, "name"), "queue",
                       js(e, "queue"), "worker", js(e, "worker"),
                       (char *)NULL);
            }
        }
    }

    /* Unfinished batches. */
    {
        const json_t *bs = json_object_get(d->snap, "batches");
        family(b, "syncq_batch_pending_tasks", "gauge",
               "Chunks of an unfinished batch not ended yet.");
        json_array_foreach(bs, i, e) {
            if (!json_is_true(json_object_get(e, "finished"))) {
                sample(b, "syncq_batch_pending_tasks", jfield(e, "pending"),
                       "batch", js(e, "id"), "task", js(e, "task"),
                       (char *)NULL);
            }
        }
    }

    /* Redis memory (C34). */
    {
        const json_t *br = json_object_get(d->snap, "broker");
        const json_t *safe = json_object_get(br, "eviction_safe");
        single(b, "syncq_redis_memory_used_bytes", "gauge",
               "Redis used_memory.", jfield(br, "used_memory"));
        single(b, "syncq_redis_memory_max_bytes", "gauge",
               "Redis maxmemory (0: no limit).", jfield(br, "maxmemory"));
        single(b, "syncq_redis_eviction_safe", "gauge",
               "1 when maxmemory-policy cannot evict tasks (noeviction or "
               "volatile-*).",
               json_is_boolean(safe) ? (json_is_true(safe) ? 1 : 0) : NAN);
    }
    /* Topology (docs/deployment.md): what a failover or a lagging replica
     * looks like from here. */
    {
        const json_t *t = sq_mon_topology(d);
        const json_t *r;
        size_t ri;
        single(b, "syncq_broker_tls", "gauge",
               "1 when the monitor reaches Redis over TLS.",
               strcmp(js(t, "transport"), "tls") == 0 ? 1 : 0);
        single(b, "syncq_broker_failovers_total", "counter",
               "Master changes this monitor followed (Sentinel, Cluster).",
               jfield(t, "failovers"));
        single(b, "syncq_broker_min_replicas", "gauge",
               "SYNCQ_BROKER_MIN_REPLICAS of this monitor.",
               jfield(t, "min_replicas"));
        single(b, "syncq_broker_replicas_in_sync", "gauge",
               "Replicas online with a lag of at most 10 s.",
               json_object_get(t, "replicas") != NULL
                   ? (double)sq_mon_replicas_in_sync(t)
                   : NAN);
        family(b, "syncq_broker_replica_lag_seconds", "gauge",
               "Replication lag of each replica INFO lists.");
        json_array_foreach(json_object_get(t, "replicas"), ri, r) {
            sample(b, "syncq_broker_replica_lag_seconds", jfield(r, "lag_s"),
                   "replica", js(r, "addr"), "state", js(r, "state"),
                   (char *)NULL);
        }
        if (json_object_get(t, "cluster") != NULL) { /* redis-cluster.md */
            const json_t *cl = json_object_get(t, "cluster");
            single(b, "syncq_broker_cluster_slot", "gauge",
                   "Redis Cluster slot of this namespace.", jfield(cl, "slot"));
            single(b, "syncq_broker_cluster_masters", "gauge",
                   "Masters in the cluster's slot map.",
                   jfield(cl, "masters"));
            single(b, "syncq_broker_cluster_slot_moves_total", "counter",
                   "Times the namespace's slot moved to another master "
                   "(reshard).", jfield(cl, "slot_moves"));
            family(b, "syncq_broker_cluster_redirects_total", "counter",
                   "MOVED and ASK replies followed.");
            sample(b, "syncq_broker_cluster_redirects_total",
                   jfield(cl, "moved"), "kind", "moved", (char *)NULL);
            sample(b, "syncq_broker_cluster_redirects_total",
                   jfield(cl, "asked"), "kind", "ask", (char *)NULL);
        }
    }
    family(b, "syncq_monitor_collect_seconds", "gauge",
           "Time the monitor took to read these figures from Redis.");
    sample(b, "syncq_monitor_collect_seconds", (double)d->took_us / 1e6,
           (char *)NULL);
    family(b, "syncq_monitor_collect_redis_commands", "gauge",
           "Redis commands one collection sent (two pipelined round "
           "trips).");
    sample(b, "syncq_monitor_collect_redis_commands", (double)d->commands,
           (char *)NULL);
    {
        struct sq_fault_counts fc;
        sq_fault_counts_get(&fc);
        family(b, "syncq_monitor_broker_errors_total", "counter",
               "Broker errors this monitor process met.");
        sample(b, "syncq_monitor_broker_errors_total", (double)fc.errors,
               (char *)NULL);
        family(b, "syncq_monitor_broker_reconnects_total", "counter",
               "Reconnects of this monitor process to Redis.");
        sample(b, "syncq_monitor_broker_reconnects_total",
               (double)fc.reconnects, (char *)NULL);
    }
    return b->data != NULL ? 0 : -1;
}
