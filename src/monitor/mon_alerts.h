/* SPDX-License-Identifier: MIT
 *
 * mon_alerts.h: threshold alert rules (file format in docs/monitor.md
 * "Alert rules"), their evaluation with pending / firing / resolved
 * states (for-duration + hysteresis + keep-firing, so a metric hovering
 * at the threshold never makes a notification storm), and notifications:
 * a log line (event alert.firing / alert.resolved), a webhook POST of JSON
 * (libcurl, from a background thread) and the state in /metrics.
 *
 * States live in Redis ({ns}:alerts, {ns}:alerts:log) and are written
 * with WATCH/MULTI/EXEC, so several evaluators (`syncq monitor serve`,
 * every beat instance) agree and each transition is notified once: only
 * the evaluator whose transaction commits notifies.
 *
 * For the beat: create one evaluator with sq_alerts_new() at start-up and
 * call sq_alerts_tick(a, client, NULL, &err) from the beat loop every few
 * seconds (SQ_ALERTS_TICK_MS); free it with sq_alerts_free() at exit.
 */
#ifndef SQ_MON_ALERTS_H
#define SQ_MON_ALERTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/config.h>
#include <syncq/error.h>

#include "monitor/mon.h"

#define SQ_ALERTS_TICK_MS 5000 /* suggested evaluation period */
#define SQ_ALERT_MAX_RULES 200
#define SQ_ALERT_MAX_LINE 1024
#define SQ_ALERT_MAX_FILE (256 * 1024)

enum sq_alert_metric {
    SQ_AM_ERROR_RATE,     /* failed / (succeeded + failed) in window */
    SQ_AM_FAILED,         /* failures in window */
    SQ_AM_SUCCEEDED,
    SQ_AM_SENT,
    SQ_AM_RETRIED,
    SQ_AM_DEAD,           /* tasks dead-lettered in window */
    SQ_AM_LOST,
    SQ_AM_THROUGHPUT,     /* finished tasks per second in window */
    SQ_AM_RUNTIME_MEAN,   /* seconds, window */
    SQ_AM_RUNTIME_P95,    /* seconds, lifetime histogram */
    SQ_AM_WAIT_MEAN,      /* seconds, window */
    SQ_AM_QUEUE_DEPTH,    /* ready tasks now */
    SQ_AM_DELAYED,
    SQ_AM_RUNNING,
    SQ_AM_DEAD_LETTER,    /* dead-letter queue size now */
    SQ_AM_WORKERS_ALIVE,
    SQ_AM_HEARTBEAT_AGE,  /* seconds since the newest heartbeat */
    SQ_AM_MEMORY_RATIO,   /* Redis used / maxmemory, 0..1 */
    SQ_AM_POISON,         /* poison messages, lifetime */
    SQ_AM_REPLICAS_MISSING, /* MIN_REPLICAS minus replicas in sync */
    SQ_AM_FAILOVER_AGE,   /* seconds since the last failover followed */
    SQ_AM_UNSERVED_QUEUES, /* queues with ready tasks and no live worker
                              serving them (with queue=: 1 or 0) */
    SQ_AM__COUNT
};

enum sq_alert_op { SQ_OP_GT, SQ_OP_GE, SQ_OP_LT, SQ_OP_LE, SQ_OP_EQ,
                   SQ_OP_NE };

struct sq_alert_rule {
    char name[65];
    int metric;          /* enum sq_alert_metric */
    char queue[104];     /* "" = any */
    char task[204];      /* "" = any */
    int op;              /* enum sq_alert_op */
    double threshold;    /* in the metric's unit (ratio, seconds, count) */
    double clear;        /* resolve only once the value is past this */
    int64_t window_ms;   /* aggregation window of windowed metrics */
    int64_t for_ms;      /* true this long before firing */
    int64_t keep_ms;     /* clear this long before resolving */
    char severity[16];   /* info | warning | critical */
    char summary[256];
    int line;            /* line in the rules file */
};

struct sq_alert_rules {
    struct sq_alert_rule *r;
    size_t n;
};

/* Name of a metric ("error_rate") / op (">="). */
const char *sq_alert_metric_name(int metric);
const char *sq_alert_op_name(int op);

/* Parse rules text (`len` bytes; need not be NUL-terminated).
 * Errors: SYNCQ_EINVAL ("line 3: unknown metric 'x' (error_rate, ...)"),
 *         SYNCQ_ETOOBIG (file, line or rule count over the limits),
 *         SYNCQ_ENOMEM. `out` is empty on error. */
int sq_alert_rules_parse(const char *text, size_t len,
                         struct sq_alert_rules *out, syncq_error *err);

/* Load `path`, or the built-in defaults when path is NULL or "".
 * Errors: as parse, plus SYNCQ_EIO (cannot read; the message names the
 * path). */
int sq_alert_rules_load(const char *path, struct sq_alert_rules *out,
                        syncq_error *err);
void sq_alert_rules_cleanup(struct sq_alert_rules *rules);

/* The built-in default rules (the same text as deploy/alerts.default.rules,
 * checked by a unit test). */
extern const char sq_alert_default_rules[];

/* Current value of a rule's metric in a collection; NaN when there is no
 * data (no finished task in the window for error_rate, no maxmemory for
 * memory_ratio); +Inf heartbeat_age when no worker was ever seen. */
double sq_alert_value(const struct sq_alert_rule *r,
                      const struct sq_mon_data *d);

enum sq_alert_state_id { SQ_AS_INACTIVE, SQ_AS_PENDING, SQ_AS_FIRING,
                         SQ_AS_RESOLVED };

struct sq_alert_state {
    int state;            /* enum sq_alert_state_id */
    int64_t since_ms;     /* entered pending (or firing) */
    int64_t fired_at_ms;
    int64_t resolved_at_ms;
    int64_t clear_since_ms; /* firing, value past clear since; 0: not */
    double value;
};

const char *sq_alert_state_name(int state);

/* Parse a stored state (the JSON of one {ns}:alerts field, `len` bytes)
 * into *st. Returns SYNCQ_OK, or SYNCQ_EPROTO when it is not a state
 * object or holds a time outside 0 .. year 9999: *st is then inactive
 * (a fresh start), never a value that makes sq_alert_step overflow. */
int sq_alert_state_parse(const char *text, size_t len,
                         struct sq_alert_state *st);

/* One evaluation step of a rule (pure; tests drive it with fake time).
 * Returns the notification to send: SQ_AS_FIRING, SQ_AS_RESOLVED, or -1
 * for none (pending and back to inactive are silent). */
int sq_alert_step(const struct sq_alert_rule *r, struct sq_alert_state *st,
                  double value, int64_t now_ms);

struct sq_alerts;

/* An evaluator with the rules of `rules_path` (NULL: SYNCQ_ALERT_RULES
 * from cfg; empty: built-in defaults) and the webhook SYNCQ_ALERT_WEBHOOK.
 * Errors: as sq_alert_rules_load, SYNCQ_ENOMEM. */
int sq_alerts_new(const syncq_config *cfg, const char *rules_path,
                  struct sq_alerts **out, syncq_error *err);
void sq_alerts_free(struct sq_alerts *a);

/* Rules of an evaluator (borrowed). */
const struct sq_alert_rules *sq_alerts_rules(const struct sq_alerts *a);

/* Evaluate every rule once against `d` (NULL: collect now through `c`),
 * store the states and notify transitions. *transitions (may be NULL)
 * gets the number of notifications sent by this call.
 * Errors: SYNCQ_ECONN (states unchanged; try again next tick),
 *         SYNCQ_ENOMEM. Losing a race with another evaluator is not an
 *         error (it notifies). */
int sq_alerts_tick(struct sq_alerts *a, syncq_client *c,
                   const struct sq_mon_data *d, int *transitions,
                   syncq_error *err);

/* Wait up to `timeout_ms` for queued webhook posts (tests, shutdown). */
void sq_alerts_flush(struct sq_alerts *a, int64_t timeout_ms);

/* Read stored states: *out = {alerts: [...], recent: [...]} (see
 * syncq_monitor_alerts). */
int sq_alerts_read(syncq_client *c, size_t recent_max, json_t **out,
                   syncq_error *err);

#endif
