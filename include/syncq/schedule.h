/* SPDX-License-Identifier: MIT
 *
 * syncq/schedule.h: the scheduler ("beat"). Periodic schedules (interval,
 * cron, one-shot) kept in Redis and editable at runtime from any machine,
 * the beat daemon that fires each tick exactly once however many beats
 * run (its tick also triggers the dispatch of batch waves, syncq/batch.h),
 * and cron helpers.
 *
 * Mirrors the seed's ScheduleConfig + add_schedule (syncq_schedule_config
 * + syncq_schedule_add); batches (create_batch_task) are syncq/batch.h.
 * User documentation: docs/beat.md. Redis keys: docs/beat.md "Redis keys".
 *
 * Times are Unix epoch milliseconds (UTC) unless a name says otherwise.
 * "Now" is the Redis server's clock (TIME), the same clock the broker
 * scripts use for ETAs, so every machine agrees.
 *
 * Thread-safety: functions taking a syncq_client follow client.h (one
 * thread at a time per client). syncq_cron_check/syncq_cron_next are
 * thread-safe.
 */
#ifndef SYNCQ_SCHEDULE_H
#define SYNCQ_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/config.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- schedules ------------------------------------------------------- */

typedef enum syncq_schedule_type {
    SYNCQ_SCHEDULE_INTERVAL = 1, /* every interval_ms from an anchor */
    SYNCQ_SCHEDULE_CRON = 2,     /* a cron expression in a time zone */
    SYNCQ_SCHEDULE_ONCE = 3      /* a single instant */
} syncq_schedule_type;

/* What the beat does with ticks that were due more than the grace period
 * ago (beat down, schedule store unreachable, wall clock jumped). */
typedef enum syncq_missed_policy {
    SYNCQ_MISSED_SKIP = 0,     /* drop them; the next future tick runs */
    SYNCQ_MISSED_RUN_ONCE = 1, /* one run for all of them, at once */
    SYNCQ_MISSED_CATCH_UP = 2  /* one run each, the latest catch_up_cap */
} syncq_missed_policy;

#define SYNCQ_SCHEDULE_NAME_MAX 200 /* bytes */

/* A schedule definition. Initialise with syncq_schedule_config_init();
 * strings are borrowed for the call. */
typedef struct syncq_schedule_config {
    const char *name; /* unique: 1..200 bytes of [A-Za-z0-9_.:-] */
    const char *task; /* task name (the seed's long names accepted) */
    syncq_schedule_type type;
    int64_t interval_ms;     /* INTERVAL: >= 1000 */
    const char *cron;        /* CRON: see docs/beat.md "Cron" */
    int64_t run_at_ms;       /* ONCE: the instant (must be in the future) */
    const char *timezone;    /* IANA zone of the cron fields and of list
                                output; NULL: SYNCQ_TIMEZONE */
    const char *args_json;   /* JSON array or NULL ([]) */
    const char *kwargs_json; /* JSON object or NULL ({}) */
    const char *queue;       /* NULL: the task's route */
    int priority;            /* 0..10, or -1: the task's default */
    bool enabled;            /* false: created paused */
    syncq_missed_policy missed;
    int catch_up_cap;   /* CATCH_UP: most missed runs fired; 0:
                           SYNCQ_BEAT_CATCH_UP_CAP */
    int64_t grace_ms;   /* a tick later than this counts as missed;
                           -1: SYNCQ_BEAT_MISSED_GRACE */
    int64_t start_ms;   /* no tick before this (0: none); INTERVAL:
                           the anchor of the ticks (0: add time) */
    int64_t end_ms;     /* no tick after this (0: none) */
    int64_t expires_ms; /* each run's task expires this long after its
                           tick (0: never), so a backlog cannot pile up */
    int max_retries;    /* of the tasks; -1: the task's default */
    /* Offsets instead of run_at_ms / start_ms / end_ms (> 0; 0: not
     * given; not both): resolved with the Redis server's clock when the
     * schedule is stored, like every time in syncq, never this machine's */
    int64_t run_in_ms;   /* ONCE: run this long from now */
    int64_t start_in_ms; /* no tick before now + this */
    int64_t end_in_ms;   /* no tick after now + this */
} syncq_schedule_config;

/* Every field to its default: INTERVAL type unset (0), enabled, SKIP,
 * priority/max_retries/grace -1, the rest 0/NULL. */
SYNCQ_API void syncq_schedule_config_init(syncq_schedule_config *cfg);

/* Flags of syncq_schedule_add. */
#define SYNCQ_SCHEDULE_REPLACE                                                 \
    1 /* replace an existing definition (its                                   \
         run counters and last run are kept) */

/* Validate `cfg` and store it. The next run is computed from the Redis
 * server's clock; a running beat picks the change up within its poll
 * interval (100 ms by default).
 * Errors: SYNCQ_EINVAL (bad name, task, type, interval, cron expression -
 *         including "expression never fires" -, time zone, JSON, queue,
 *         priority, policy, times; the message names the field),
 *         SYNCQ_ETOOBIG (args+kwargs over SYNCQ_MAX_PAYLOAD),
 *         SYNCQ_EEXIST (name taken and no SYNCQ_SCHEDULE_REPLACE),
 *         SYNCQ_ECONN, SYNCQ_ENOMEM. Nothing is stored on error. */
SYNCQ_API int syncq_schedule_add(syncq_client *c,
                                 const syncq_schedule_config *cfg, int flags,
                                 syncq_error *err);

/* Delete schedule `name` (tasks it already created are untouched).
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_EINVAL (bad name), SYNCQ_ECONN. */
SYNCQ_API int syncq_schedule_remove(syncq_client *c, const char *name,
                                    syncq_error *err);

/* Pause (no ticks fire; none are counted as missed) or resume (the next
 * run is the first tick from now: resuming never triggers a catch-up).
 * Pausing a paused schedule, or resuming an active one, is a no-op.
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_schedule_pause(syncq_client *c, const char *name,
                                   syncq_error *err);
SYNCQ_API int syncq_schedule_resume(syncq_client *c, const char *name,
                                    syncq_error *err);

/* Fire schedule `name` now, outside its ticks (works when paused; does
 * not move the next run). id_out (may be NULL) gets the task id.
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_schedule_run(syncq_client *c, const char *name,
                                 char id_out[SYNCQ_ID_SIZE], syncq_error *err);

/* Read one schedule: a new JSON object (caller json_decref's) with its
 * definition and kept state: name, task, type, interval_s | cron | at,
 * timezone, args, kwargs, queue, priority, enabled, state (active,
 * paused, finished, invalid), missed, catch_up_cap, grace_s, start, end,
 * expires_s, next_run (ISO 8601 in the schedule's zone), next_run_ms,
 * last_run, last_run_ms, last_task_id, total_runs, missed_runs,
 * manual_runs, error, source, created_at, updated_at.
 * Errors: SYNCQ_ENOTFOUND, SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_schedule_info(syncq_client *c, const char *name,
                                  json_t **out, syncq_error *err);

/* Every schedule, by name: a new JSON array of syncq_schedule_info
 * objects. Errors: SYNCQ_ECONN. */
SYNCQ_API int syncq_schedule_list(syncq_client *c, json_t **out,
                                  syncq_error *err);

/* Load a static schedule file (JSON, docs/beat.md "Schedule file"):
 * every entry is validated first (nothing is stored if one is bad; the
 * message names the entry and the field), then upserted: an unchanged
 * definition keeps its state and next run, a changed one is replaced
 * (run counters kept). With `prune`, schedules loaded from a file
 * earlier that are no longer in this one are removed. *report (may be
 * NULL) gets {"created": [...], "updated": [...], "unchanged": [...],
 * "removed": [...]}.
 * Errors: SYNCQ_EIO (unreadable file), SYNCQ_EINVAL, SYNCQ_ETOOBIG,
 *         SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_schedule_load_file(syncq_client *c, const char *path,
                                       bool prune, json_t **report,
                                       syncq_error *err);

/* Check a cron expression in zone `tz` (NULL: UTC).
 * Errors: SYNCQ_EINVAL with the reason (field, range, "expression never
 *         fires"), SYNCQ_ENOTFOUND (unknown zone). */
SYNCQ_API int syncq_cron_check(const char *expr, const char *tz,
                               syncq_error *err);

/* First fire time of `expr` in zone `tz` strictly after `after_ms`.
 * Errors: as syncq_cron_check; SYNCQ_ENOTFOUND when none before 9999. */
SYNCQ_API int syncq_cron_next(const char *expr, const char *tz,
                              int64_t after_ms, int64_t *out_ms,
                              syncq_error *err);

/* ---- the beat daemon --------------------------------------------------- */

typedef struct syncq_beat_options {
    const char *id;      /* instance id; NULL: "<host>:<pid>" */
    int64_t lock_ttl_ms; /* leader lock lifetime; 0: SYNCQ_BEAT_LOCK_TTL */
    int64_t poll_ms;     /* leader's longest sleep; 0: 100 */
    const char *schedule_file; /* loaded at start (with prune); NULL:
                                  SYNCQ_BEAT_SCHEDULE_FILE, "" none */
    bool no_promote;           /* leave delayed tasks to the workers */
    volatile int *reopen_logs; /* when non-zero (a SIGHUP handler sets
                                  it) the log file is reopened and the
                                  flag cleared; may be NULL */
} syncq_beat_options;

/* Run a beat until *stop becomes non-zero (set it from a signal handler).
 * Any number of beats may run: one holds the leader lock and fires ticks,
 * promotes due delayed tasks, requeues lapsed leases and dispatches batch
 * waves; the others wait to take over. Redis outages are survived
 * (reconnect with backoff); the leader stops dispatching as soon as it
 * cannot prove it still holds the lock. On return the lock is released so
 * another beat takes over at once. Logs through syncq/log.h (events
 * beat.start, beat.leader, beat.tick, beat.missed, beat.clock_jump,
 * beat.schedule_invalid, beat.stop).
 * `url` (NULL: cfg's SYNCQ_BROKER_URL) and `cfg` (borrowed; NULL:
 * defaults + environment) as for syncq_client_open.
 * Errors (before the loop starts): SYNCQ_EINVAL (options, schedule file),
 *         SYNCQ_ECONN (first connect failed and *stop was set),
 *         SYNCQ_EAUTH, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_beat_run(const char *url, const syncq_config *cfg,
                             const syncq_beat_options *opts, volatile int *stop,
                             syncq_error *err);

/* The beats seen in the last day, leader first: a new JSON array
 * (caller json_decref's) of {id, leader (bool), alive (bool: its status
 * record has not expired), seen (ISO 8601), seen_ms, host, pid, version,
 * started_at, lock_ttl_ms, fired, missed}. At most one alive beat has
 * leader true (its record expires with its lock).
 * Errors: SYNCQ_ECONN. */
SYNCQ_API int syncq_beat_status(syncq_client *c, json_t **out,
                                syncq_error *err);

#ifdef __cplusplus
}
#endif
#endif
