/* SPDX-License-Identifier: MIT
 *
 * mon.h: internal API of the monitor (src/monitor/): collecting figures
 * from Redis, health, the Prometheus exposition, and the shared numeric
 * helpers. The public side is syncq/monitor.h; alert rules are in
 * mon_alerts.h, the HTTP server in mon_http.h, Sentry in mon_sentry.h.
 *
 * Everything here only reads Redis (two pipelined round trips per
 * collection). It never blocks a task: a monitor that is slow or down
 * changes nothing for workers.
 */
#ifndef SQ_MON_H
#define SQ_MON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/config.h>
#include <syncq/error.h>

#include "sq_buf.h"

/* Histogram bounds in ms of the broker's runtime and wait histograms
 * (lib.lua BUCKETS); the 16th bucket is +Inf. */
#define SQ_MON_NBUCKETS 16
extern const double sq_mon_bounds_ms[SQ_MON_NBUCKETS - 1];

/* Counter kinds of {ns}:stats and {ns}:m:<minute> (docs/redis-keys.md). */
enum sq_mon_kind {
    SQ_K_SENT,
    SQ_K_SUCCEEDED,
    SQ_K_FAILED,
    SQ_K_RETRIED,
    SQ_K_REVOKED,
    SQ_K_EXPIRED,
    SQ_K_SKIPPED,
    SQ_K_DEAD,
    SQ_K_LOST,
    SQ_K_LEASE_EXPIRED,
    SQ_K_LEASE_LOST,
    SQ_K_RT_SUM,     /* runtime|q|task|sum, ms */
    SQ_K_RT_COUNT,   /* runtime|q|task|count */
    SQ_K_WAIT_SUM,   /* wait|q|*|sum, ms */
    SQ_K_WAIT_COUNT, /* wait|q|*|count */
    SQ_K__COUNT
};

/* Name of a counter kind as stored ("succeeded"); NULL for the sums. */
const char *sq_mon_kind_name(int kind);

/* Minutes of per-minute history kept in a collection: index 0 is the
 * current (partial) minute, i is i minutes ago. Redis keeps 120. */
#define SQ_MON_MINUTES 61

/* Counters of one (queue, task) pair; task "*" holds the wait histogram
 * of the queue (wait is per queue). */
struct sq_mon_series {
    char queue[104];
    char task[204];
    long long life[SQ_K__COUNT];              /* lifetime ({ns}:stats) */
    long long rt_hist[SQ_MON_NBUCKETS];       /* runtime, per bucket */
    long long wait_hist[SQ_MON_NBUCKETS];     /* wait, per bucket */
    long long min[SQ_MON_MINUTES][SQ_K__COUNT]; /* per minute */
};

/* One collection of figures. */
struct sq_mon_data {
    int64_t now_ms;            /* Redis server time of the collection */
    int64_t took_us;           /* collection time, microseconds */
    int commands;              /* Redis commands sent */
    struct sq_mon_series *s;   /* owned array */
    size_t ns, caps;
    long long poison_total;
    json_t *snap;              /* the snapshot JSON (owned) */
};

/* Shortest span a rate (batches) is computed over, ms. */
#define SQ_MON_RATE_MIN_MS 1000

/* Options of a collection and of health. */
struct sq_mon_opts {
    int64_t stale_ms;        /* heartbeat (or loop) older than this: stale */
    double max_error_rate;   /* health degraded above this (0..1) */
    size_t max_running;      /* running tasks listed (progress) */
    size_t max_batches;      /* unfinished/recent batches listed */
    size_t max_delayed_scan; /* delayed ids looked up for per-queue counts */
};

/* Defaults, then SYNCQ_HEALTH_* from `cfg` (may be NULL). */
void sq_mon_opts_init(struct sq_mon_opts *o, const syncq_config *cfg);

/* Collect the figures (docs/monitor.md "Snapshot"). On SYNCQ_OK `d` holds
 * them (free with sq_mon_data_cleanup). On error `d` is empty.
 * Errors: SYNCQ_ECONN (Redis unreachable), SYNCQ_ENOMEM, SYNCQ_EPROTO. */
int sq_mon_collect(syncq_client *c, const struct sq_mon_opts *o,
                   struct sq_mon_data *d, syncq_error *err);
void sq_mon_data_cleanup(struct sq_mon_data *d);

/* The beats' status records as syncq_beat_status gives them, for the
 * snapshot's "beats" (an empty array when they cannot be read); adds the
 * commands sent to *commands. New reference. */
json_t *sq_mon_beats(syncq_client *c, int *commands);

/* Set "state": "recovering" on each task of `running` (objects with a
 * "worker" id, borrowed) whose worker is not alive in `workers` (the
 * snapshot's "workers" array): its lease runs out and it is requeued.
 * The one liveness rule (two missed heartbeats) is the snapshot's. */
void sq_mon_mark_recovering(json_t *running, const json_t *workers);

/* Windowed aggregate: sum of counter `kind` over the last `window_ms` for
 * series matching queue/task (NULL: any). Minutes partly inside the
 * window count in proportion. Never negative. */
double sq_mon_window_sum(const struct sq_mon_data *d, int kind,
                         const char *queue, const char *task,
                         int64_t window_ms);

/* Lifetime sum of `kind` over matching series. */
long long sq_mon_life_sum(const struct sq_mon_data *d, int kind,
                          const char *queue, const char *task);

/* Quantile q (0..1) in ms of a per-bucket (not cumulative) histogram,
 * interpolated linearly inside the bucket; NaN when empty. The +Inf
 * bucket answers its lower bound. */
double sq_mon_hist_quantile(const long long *buckets, double q);

/* Health from a collection (d NULL: Redis unreachable, `why` says how).
 * Returns a new object {status, live, ready, reasons[], checks{}} and
 * sets *status to 0 healthy, 1 degraded, 2 unhealthy. */
json_t *sq_mon_health(const struct sq_mon_data *d, const char *why,
                      const struct sq_mon_opts *o, int *status);

/* Live workers (heartbeating, consumer loop moving) of a collection's
 * `workers` array (borrowed) that serve `queue`; a worker that does not
 * report its queues serves every queue. What health's "workers" check and
 * the unserved_queues alert metric both count. */
size_t sq_mon_queue_consumers(const json_t *workers, const char *queue);

/* Prometheus text exposition (version 0.0.4) of a collection, health and
 * alert states (`alerts`: array of {name, severity, state} or NULL) into
 * `out`. d NULL: only syncq_up 0 and the health. Returns 0 or -1 when the
 * buffer limit was hit. */
int sq_mon_metrics_format(const struct sq_mon_data *d, const json_t *health,
                          const json_t *alerts, struct sq_buf *out);

/* ---- topology (mon_topology.c) ---------------------------------------- */

/* A replica is in sync when INFO shows it online with a lag of at most
 * this many seconds (Redis's own min-replicas-max-lag default). */
#define SQ_MON_REPLICA_MAX_LAG_S 10

/* broker.topology of a collection (sq_conn_topology_info), or NULL. */
const json_t *sq_mon_topology(const struct sq_mon_data *d);

/* Replicas of `topo` online and in sync. */
int sq_mon_replicas_in_sync(const json_t *topo);

/* SYNCQ_BROKER_MIN_REPLICAS minus the replicas in sync, at least 0; NaN
 * when INFO replication could not be read. */
double sq_mon_replicas_missing(const struct sq_mon_data *d);

/* Seconds since the last failover this monitor followed (Sentinel gave a
 * new master), +Inf when none was seen. */
double sq_mon_failover_age_s(const struct sq_mon_data *d);

/* Percent-free JSON number helper: a real, or null for NaN/Inf. */
json_t *sq_mon_real(double v);

/* Worker info fields about broker faults, NULL-terminated (mon_metrics.c):
 * broker_errors, broker_reconnects, outcomes_refused. */
extern const char *const sq_mon_fault_fields[];

/* Add the counters of one HGETALL reply to the series of `d`: {ns}:stats
 * (`minute` -1, lifetime totals) or minute bucket `minute` (0..60) of
 * {ns}:m:<minute>. Fields that are not counters are skipped. */
struct redisReply;
void sq_mon_apply_hash(struct sq_mon_data *d, const struct redisReply *r,
                       int minute);

/* num / den, NaN when den is not positive. */
double sq_mon_ratio(double num, double den);

/* Finished tasks (succeeded + failed) per second over the last `win_ms`
 * for series matching queue/task (NULL: any). */
double sq_mon_throughput(const struct sq_mon_data *d, const char *q,
                         const char *t, int64_t win_ms);

/* failed / (succeeded + failed) over the last `win_ms`; NaN if none. */
double sq_mon_error_rate(const struct sq_mon_data *d, const char *q,
                         const char *t, int64_t win_ms);

/* Snapshot sections built from the counters alone (new references):
 * lifetime counts of a queue/task, "system", "tasks" and "series". */
json_t *sq_mon_lifetime_json(const struct sq_mon_data *d, const char *q,
                             const char *t);
json_t *sq_mon_system_json(const struct sq_mon_data *d);
json_t *sq_mon_tasks_json(const struct sq_mon_data *d);
json_t *sq_mon_series_json(const struct sq_mon_data *d);

#endif
