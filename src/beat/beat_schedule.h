/* SPDX-License-Identifier: MIT
 *
 * beat_schedule.h: the scheduler core, free of I/O so it can be tested
 * with any clock: a schedule's definition and kept state, its tick
 * instants (interval anchor + k * interval, cron in a zone, one instant),
 * the plan of a due schedule (which ticks fire under the missed-run
 * policy, what the next run becomes), wall-clock jump detection and the
 * re-basing of schedules after a backward jump. Also the mapping to and
 * from the Redis hash {ns}:sched:<name> (docs/beat.md).
 */
#ifndef SQ_BEAT_SCHEDULE_H
#define SQ_BEAT_SCHEDULE_H

#include <hiredis.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>
#include <syncq/schedule.h>

#include "beat/beat_cron.h"
#include "core/sq_tz.h"

#define SQ_SCHED_TZ_MAX 100
#define SQ_SCHED_ERR_MAX 256

struct sq_schedule {
    char name[SYNCQ_SCHEDULE_NAME_MAX + 1];
    char task[SYNCQ_SCHEDULE_NAME_MAX + 1]; /* normalised */
    int type;                               /* syncq_schedule_type */
    int64_t every_ms;                       /* INTERVAL */
    char cron[SQ_CRON_MAX_BYTES + 1];
    int64_t at_ms; /* ONCE */
    char tz[SQ_SCHED_TZ_MAX + 1];
    char *args;   /* compact JSON or NULL (owned) */
    char *kwargs; /* compact JSON or NULL (owned) */
    char queue[101];
    int priority;    /* 0..10 */
    int max_retries; /* -1: task default */
    bool enabled;
    int missed; /* syncq_missed_policy */
    int cap;    /* catch-up cap, >= 1 */
    int64_t grace_ms;
    int64_t start_ms;   /* 0: none */
    int64_t end_ms;     /* 0: none */
    int64_t expires_ms; /* per run, 0: never */
    int64_t anchor_ms;  /* INTERVAL: ticks are anchor + k*every */
    char source[16];    /* api | cli | file */
    char def[41];       /* SHA-1 of the definition (file upserts) */
    /* kept state */
    int64_t gen;        /* definition version (CAS) */
    int64_t next_ms;    /* -1: none */
    int64_t last_ms;    /* last fired tick, -1 */
    int64_t last_at_ms; /* when it was enqueued, -1 */
    char last_id[SYNCQ_ID_SIZE];
    int64_t runs, missed_runs, manual_runs;
    int64_t created_ms, updated_ms;
    bool finished;                /* no tick left */
    char error[SQ_SCHED_ERR_MAX]; /* why the beat refused it, or "" */
    /* compiled by sq_schedule_compile */
    struct sq_cron *cc;
    const struct sq_tz *zone;
};

void sq_schedule_init(struct sq_schedule *s);
void sq_schedule_cleanup(struct sq_schedule *s);

/* Check every field and compile the cron expression and zone.
 * Errors: SYNCQ_EINVAL naming the field (an unknown zone too),
 *         SYNCQ_ENOMEM. */
int sq_schedule_compile(struct sq_schedule *s, syncq_error *err);

/* Defaults applied by sq_schedule_from_config to unset fields. */
struct sq_sched_defaults {
    const char *tz;    /* SYNCQ_TIMEZONE */
    int cap;           /* SYNCQ_BEAT_CATCH_UP_CAP */
    int64_t grace_ms;  /* SYNCQ_BEAT_MISSED_GRACE */
    const char *queue; /* the task's route (cfg->queue NULL) */
    int priority;      /* the task's default priority (cfg->priority -1) */
    int64_t now_ms;    /* anchor of interval schedules without a start */
    bool allow_past;   /* accept a one-shot time before now_ms */
};

/* Fill `s` (init'ed) from a public config, validating it, and compile
 * it. The anchor of an interval schedule without a start is now_ms
 * rounded up to a whole second.
 * Errors: SYNCQ_EINVAL naming the field (an unknown zone too),
 *         SYNCQ_ENOMEM. */
int sq_schedule_from_config(struct sq_schedule *s,
                            const syncq_schedule_config *cfg,
                            const struct sq_sched_defaults *d,
                            syncq_error *err);

/* The first tick strictly after `after_ms` (start/end respected).
 * SYNCQ_OK or SYNCQ_ENOTFOUND (no tick left). Needs a compiled s. */
int sq_schedule_next_after(const struct sq_schedule *s, int64_t after_ms,
                           int64_t *out_ms);

/* The last tick strictly before `before_ms`. SYNCQ_OK / SYNCQ_ENOTFOUND. */
int sq_schedule_prev_before(const struct sq_schedule *s, int64_t before_ms,
                            int64_t *out_ms);

/* What to do with a schedule at `now_ms`. */
struct sq_plan {
    int64_t *fire; /* tick instants to fire, ascending (owned) */
    size_t nfire;
    int64_t skipped;   /* due ticks not fired (missed policy, cap) */
    bool skipped_more; /* more were skipped than counted (over 10^6) */
    int64_t next_ms;   /* the next run afterwards, -1: none left */
    bool due;          /* the schedule was due (next_ms <= now) */
    bool late;         /* some due tick was past its grace period */
};

/* Plan schedule `s` (compiled, with its kept next_ms) at `now_ms`:
 * due ticks within the grace period fire; older ones follow the missed
 * policy (skip: none, run_once: the latest, catch_up: the latest `cap`);
 * the next run becomes the first tick after now.
 * `jump_wall_ms` >= 0: the wall clock jumped forward to that time (the
 * beat saw it); due ticks at or before it were jumped over, not lived
 * through, so they count as missed whatever their lateness and give at
 * most one run whatever the policy (C20). -1: no jump.
 * Errors: SYNCQ_ENOMEM. */
int sq_schedule_plan(const struct sq_schedule *s, int64_t now_ms,
                     int64_t jump_wall_ms, struct sq_plan *p, syncq_error *err);
void sq_plan_cleanup(struct sq_plan *p);

/* After the wall clock went back by -jump_ms (jump_ms < 0) at `now_ms`:
 * the next run a schedule should have so it neither stalls for the size
 * of the jump nor repeats fixed-time runs. Interval schedules keep their
 * real-time rhythm (next + jump, re-anchored: *anchor_out), cron
 * schedules whose hour field is a wildcard or step restart from now,
 * fixed-time cron and one-shot schedules keep their next run. */
int64_t sq_schedule_rebase(const struct sq_schedule *s, int64_t now_ms,
                           int64_t jump_ms, int64_t *anchor_out);

/* Wall-clock jump detector: compares the wall clock's progress with the
 * monotonic clock's between two calls. */
struct sq_jump {
    bool init;
    int64_t wall_ms, mono_ms;
};

/* The jump (wall progress minus monotonic progress, ms) when its size is
 * over `tolerance_ms`, else 0. The first call only records. */
int64_t sq_jump_check(struct sq_jump *j, int64_t wall_ms, int64_t mono_ms,
                      int64_t tolerance_ms);

/* Decode HGETALL `n` elements of {ns}:sched:<name> into `s` (init'ed).
 * Does not compile. Errors: SYNCQ_EPROTO (field of the wrong shape),
 * SYNCQ_ENOMEM. */
int sq_schedule_from_hash(struct sq_schedule *s, const char *name,
                          redisReply **fields, size_t n, syncq_error *err);

/* Definition fields of `s` as field/value pairs for schedule_put.lua,
 * appended to a JSON array of strings (borrowed). Returns 0 or -1 (OOM).
 * Also fills s->def with the SHA-1 of the definition. */
int sq_schedule_def_fields(struct sq_schedule *s, json_t *pairs);

/* The JSON object of syncq_schedule_info. New reference. */
json_t *sq_schedule_to_json(const struct sq_schedule *s);

/* Names: 1..200 bytes of [A-Za-z0-9_.:-]. Errors: SYNCQ_EINVAL. */
int sq_schedule_name_check(const char *name, syncq_error *err);

/* One day in milliseconds (bounds of grace, expiry and intervals). */
#define SQ_DAY_MS 86400000LL

const char *sq_schedule_type_name(int type);
const char *sq_missed_name(int policy);
int sq_missed_parse(const char *s); /* -1 if unknown */

#endif
