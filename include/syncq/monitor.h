/* SPDX-License-Identifier: MIT
 *
 * syncq/monitor.h: what an operator looks at: figures (success and error
 * rate, runtime, throughput, queue depths per priority, workers, running
 * tasks with progress and ETA, batches), health, the Prometheus text of
 * /metrics, alert states, and progress callbacks for chosen tasks (the
 * seed's progress_monitor.add_progress_callback).
 *
 * Everything here reads Redis (cancel/retry go through client.h); the
 * only write is a per-minute sample of every queue's depth
 * ({ns}:depth:<minute>, 30 min TTL) that tells whether a queue grows.
 * A collection is two pipelined read round trips and one write, whatever
 * the number of queues and workers (docs/monitor.md has the command
 * count). Nothing here can slow a worker down or block a task.
 *
 * JSON shapes (snapshot, health, alerts) are documented field by field
 * in docs/monitor.md; they are the same objects the HTTP API returns.
 *
 * Thread-safety: as syncq_client (one thread at a time per client). A
 * syncq_progress_monitor is used by one thread; its callbacks run in the
 * thread that calls syncq_progress_monitor_poll().
 */
#ifndef SYNCQ_MONITOR_H
#define SYNCQ_MONITOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Health levels; also the exit status of `syncq monitor health`. */
enum syncq_health {
    SYNCQ_HEALTHY = 0,
    SYNCQ_DEGRADED = 1,
    SYNCQ_UNHEALTHY = 2
};

/* Collect every figure into *out, a new object (caller json_decref's):
 * {at, at_ms, broker, totals, system, queues, tasks, workers, running,
 * batches, series, collection} (docs/monitor.md "Snapshot").
 * Thresholds come from the client's config (SYNCQ_HEALTH_*).
 * Errors: SYNCQ_ECONN (Redis unreachable), SYNCQ_EPROTO (unexpected
 *         reply), SYNCQ_ENOMEM. *out is NULL on error. */
SYNCQ_API int syncq_monitor_snapshot(syncq_client *c, json_t **out,
                                     syncq_error *err);

/* Health with its reasons. Never fails because Redis is down: that is
 * an answer (unhealthy, ready "fail", reason "broker"). `c` may be NULL
 * (no client could be opened); `why` (may be NULL) then says why.
 * *out: new object {status, live, ready, reasons[{check, severity,
 * message}], checked_at}; *status (may be NULL) an enum syncq_health.
 * Errors: SYNCQ_ENOMEM only. */
SYNCQ_API int syncq_monitor_health(syncq_client *c, const char *why,
                                   json_t **out, int *status,
                                   syncq_error *err);

/* The Prometheus text exposition (format 0.0.4) that /metrics serves.
 * *text: new NUL-terminated string (free with syncq_free), *len its
 * length (len may be NULL). When Redis is unreachable the text still
 * holds syncq_up 0 and syncq_health_status 2, and SYNCQ_OK is returned.
 * Errors: SYNCQ_ENOMEM, SYNCQ_ETOOBIG (over 64 MiB). */
SYNCQ_API int syncq_monitor_metrics(syncq_client *c, char **text,
                                    size_t *len, syncq_error *err);

/* Alert states as stored by the evaluators (`syncq monitor serve`, the
 * beat): *out a new object {alerts: [{name, state (inactive, pending,
 * firing, resolved), severity, metric, value, threshold, since,
 * fired_at, resolved_at, summary}], recent: [transitions, newest
 * first]}. `recent_max` caps the transitions (0: 50).
 * Errors: SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_monitor_alerts(syncq_client *c, size_t recent_max,
                                   json_t **out, syncq_error *err);

/* ---- progress callbacks ------------------------------------------------ */

/* One progress update, lent to the callback for the duration of the call
 * (copy what you keep). */
typedef struct syncq_progress {
    const char *task_id;
    const char *name;    /* task name ("" if unknown) */
    const char *state;   /* PROGRESS, STARTED, SUCCESS, FAILURE, ... */
    int64_t current;     /* units done */
    int64_t total;       /* units in all; 0: unknown */
    const char *message; /* last message ("" if none) */
    double rate;         /* units per second since the attempt's first
                            report; 0: unknown */
    double percent;      /* 0..100; -1: unknown (no total) */
    double eta_s;        /* seconds to go at `rate`; -1: unknown */
    int64_t at_ms;       /* when the broker recorded it (epoch ms) */
    bool is_final;       /* the task reached a final state; no update of
                            this task follows */
} syncq_progress;

/* A progress callback. Runs in the thread calling
 * syncq_progress_monitor_poll(); must not call syncq_progress_monitor_*
 * on the same monitor. */
typedef void (*syncq_progress_fn)(void *userdata, const syncq_progress *p);

typedef struct syncq_progress_monitor syncq_progress_monitor;

/* A progress monitor reading the events stream on its own connection
 * (opened from `c`'s settings; `c` itself is not used afterwards and may
 * be closed). It reports updates made after this call.
 * Errors: SYNCQ_ECONN, SYNCQ_ENOMEM. *out is NULL on error. */
SYNCQ_API int syncq_progress_monitor_new(syncq_client *c,
                                         syncq_progress_monitor **out,
                                         syncq_error *err);

/* Free the monitor and its connection. NULL is a no-op. */
SYNCQ_API void syncq_progress_monitor_free(syncq_progress_monitor *m);

/* Call `fn(userdata, update)` for progress of task `task_id` (NULL: of
 * every task). The current progress of `task_id` is delivered on the
 * next poll, then every change. A callback for one task is removed by
 * itself after its final update. At most 10,000 callbacks.
 * Errors: SYNCQ_EINVAL (fn NULL, id over 64 bytes), SYNCQ_ENOMEM,
 *         SYNCQ_ETOOBIG (too many callbacks). */
SYNCQ_API int syncq_progress_monitor_add_callback(syncq_progress_monitor *m,
                                                  const char *task_id,
                                                  syncq_progress_fn fn,
                                                  void *userdata,
                                                  syncq_error *err);

/* Remove callbacks registered with the same task_id (NULL matches the
 * every-task ones), fn and userdata. Returns how many were removed. */
SYNCQ_API size_t syncq_progress_monitor_remove_callback(
    syncq_progress_monitor *m, const char *task_id, syncq_progress_fn fn,
    void *userdata);

/* Wait up to `timeout_ms` (0: no wait) for updates and deliver them to
 * the callbacks; returns after the first batch of events or the timeout.
 * *delivered (may be NULL) gets the number of callback calls.
 * Errors: SYNCQ_ECONN (Redis down: call again later; no update is lost
 *         while the events stream keeps it), SYNCQ_ENOMEM. */
SYNCQ_API int syncq_progress_monitor_poll(syncq_progress_monitor *m,
                                          int64_t timeout_ms,
                                          size_t *delivered,
                                          syncq_error *err);

#ifdef __cplusplus
}
#endif
#endif
