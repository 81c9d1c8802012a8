/* SPDX-License-Identifier: MIT
 *
 * test_schedule.c: the scheduler core (src/beat/beat_schedule.c) with a
 * fake clock: tick arithmetic of interval, cron and one-shot schedules,
 * missed-run policies after downtime (C19), wall-clock jumps (C20),
 * validation of definitions, and the Redis hash mapping.
 */
#include "sq_test.h"

#include "beat/beat_schedule.h"
#include "beat/beat_store.h"
#include "sq_alloc.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
/* 2024-06-03T00:00:00Z, a Monday */
#define T0 1717372800000LL

static struct sq_sched_defaults
defaults(int64_t now)
{
    struct sq_sched_defaults d;

    memset(&d, 0, sizeof d);
    d.tz = "UTC";
    d.cap = 100;
    d.grace_ms = 60000;
    d.queue = "default";
    d.priority = 5;
    d.now_ms = now;
    return d;
}

/* A compiled schedule from a config; fails the test on error. */
static void
make(struct sq_schedule *s, const syncq_schedule_config *cfg, int64_t now)
{
    struct sq_sched_defaults d = defaults(now);
    syncq_error err;

    sq_schedule_init(s);
    if (sq_schedule_from_config(s, cfg, &d, &err) != SYNCQ_OK) {
        fail_msg("schedule %s: %s", cfg->name, err.msg);
    }
}

static void
cron_cfg(syncq_schedule_config *c, const char *name, const char *expr)
{
    syncq_schedule_config_init(c);
    c->name = name;
    c->task = "crawler.fetch_products";
    c->type = SYNCQ_SCHEDULE_CRON;
    c->cron = expr;
}

static void
interval_cfg(syncq_schedule_config *c, const char *name, int64_t every)
{
    syncq_schedule_config_init(c);
    c->name = name;
    c->task = "crawler.fetch_products";
    c->type = SYNCQ_SCHEDULE_INTERVAL;
    c->interval_ms = every;
}

static void
once_cfg(syncq_schedule_config *c, const char *name)
{
    syncq_schedule_config_init(c);
    c->name = name;
    c->task = "data_sync.sync_products";
    c->type = SYNCQ_SCHEDULE_ONCE;
}

static void
interval_ticks_count_from_the_anchor(void **state)
{
    syncq_schedule_config c;
    struct sq_schedule s;
    int64_t x;

    (void)state;
    interval_cfg(&c, "every", MIN_MS);
    make(&s, &c, T0 + 400); /* anchor: the next whole second */
    assert_int_equal(s.anchor_ms, T0 + 1000);
    assert_int_equal(sq_schedule_next_after(&s, T0, &x), SYNCQ_OK);
    assert_int_equal(x, T0 + 1000);
    assert_int_equal(sq_schedule_next_after(&s, T0 + 1000, &x), SYNCQ_OK);
    assert_int_equal(x, T0 + 1000 + MIN_MS);
    assert_int_equal(sq_schedule_next_after(&s, T0 + 1000 + MIN_MS - 1, &x),
                     SYNCQ_OK);
    assert_int_equal(x, T0 + 1000 + MIN_MS);
    assert_int_equal(sq_schedule_prev_before(&s, T0 + 1000 + MIN_MS, &x),
                     SYNCQ_OK);
    assert_int_equal(x, T0 + 1000);
    assert_int_equal(sq_schedule_prev_before(&s, T0 + 1000, &x),
                     SYNCQ_ENOTFOUND);
    sq_schedule_cleanup(&s);
    /* with a start: the start is the anchor; an end stops it */
    interval_cfg(&c, "window", 10 * MIN_MS);
    c.start_ms = T0 + HOUR_MS;
    c.end_ms = T0 + 2 * HOUR_MS;
    make(&s, &c, T0);
    assert_int_equal(sq_schedule_next_after(&s, T0, &x), SYNCQ_OK);
    assert_int_equal(x, T0 + HOUR_MS);
    assert_int_equal(sq_schedule_next_after(&s, T0 + 2 * HOUR_MS - 1, &x),
                     SYNCQ_OK);
    assert_int_equal(x, T0 + 2 * HOUR_MS); /* the end is inclusive */
    assert_int_equal(sq_schedule_next_after(&s, T0 + 2 * HOUR_MS, &x),
                     SYNCQ_ENOTFOUND);
    assert_int_equal(sq_schedule_prev_before(&s, T0 + 5 * HOUR_MS, &x),
                     SYNCQ_OK);
    assert_int_equal(x, T0 + 2 * HOUR_MS);
    sq_schedule_cleanup(&s);
}

static void
once_and_cron_ticks(void **state)
{
    syncq_schedule_config c;
    struct sq_schedule s;
    int64_t x;

    (void)state;
    once_cfg(&c, "once1");
    c.run_at_ms = T0 + DAY_MS;
    make(&s, &c, T0);
    assert_int_equal(sq_schedule_next_after(&s, T0, &x), SYNCQ_OK);
    assert_int_equal(x, T0 + DAY_MS);
    assert_int_equal(sq_schedule_next_after(&s, T0 + DAY_MS, &x),
                     SYNCQ_ENOTFOUND);
    sq_schedule_cleanup(&s);
    /* cron in Asia/Shanghai: 02:00 local is 18:00Z the day before */
    cron_cfg(&c, "daily_sync", "0 2 * * *");
    c.timezone = "Asia/Shanghai";
    make(&s, &c, T0);
    assert_int_equal(sq_schedule_next_after(&s, T0, &x), SYNCQ_OK);
    assert_int_equal(x, T0 + 18 * HOUR_MS);
    /* ms precision: a tick is at a whole second; 1 ms before still gets it
     * and the tick itself does not */
    assert_int_equal(sq_schedule_next_after(&s, T0 + 18 * HOUR_MS - 1, &x),
                     SYNCQ_OK);
    assert_int_equal(x, T0 + 18 * HOUR_MS);
    assert_int_equal(sq_schedule_next_after(&s, T0 + 18 * HOUR_MS, &x),
                     SYNCQ_OK);
    assert_int_equal(x, T0 + 42 * HOUR_MS);
    assert_int_equal(sq_schedule_prev_before(&s, T0 + 42 * HOUR_MS, &x),
                     SYNCQ_OK);
    assert_int_equal(x, T0 + 18 * HOUR_MS);
    sq_schedule_cleanup(&s);
}

/* Run the plan as the beat would and return how many fired; s->next_ms
 * advances. `fired` (may be NULL) gets the ticks. */
static size_t
run_plan(struct sq_schedule *s, int64_t now, int64_t jump_wall, int64_t *fired,
         int64_t *skipped)
{
    struct sq_plan p;
    size_t n;

    assert_int_equal(sq_schedule_plan(s, now, jump_wall, &p, NULL), SYNCQ_OK);
    n = p.nfire;
    for (size_t i = 0; fired != NULL && i < n; i++) {
        fired[i] = p.fire[i];
    }
    if (skipped != NULL) {
        *skipped = p.skipped;
    }
    if (p.due) {
        s->next_ms = p.next_ms;
    }
    sq_plan_cleanup(&p);
    return n;
}

/* C19: cron "0 * * * *", grace 60 s, beat stopped at 00:55, started at
 * 01:55. */
static void
c19_missed_policies(void **state)
{
    syncq_schedule_config c;
    struct sq_schedule s;
    int64_t fired[400], skipped;
    const int64_t h1 = T0 + HOUR_MS, h2 = T0 + 2 * HOUR_MS;
    const int64_t start = T0 + HOUR_MS + 55 * MIN_MS;

    (void)state;
    /* skip (default): nothing at 01:55, the 02:00 run once */
    cron_cfg(&c, "hourly", "0 * * * *");
    make(&s, &c, T0);
    s.next_ms = h1; /* what the stopped beat left */
    assert_int_equal(run_plan(&s, start, -1, fired, &skipped), 0);
    assert_int_equal(skipped, 1);
    assert_int_equal(s.next_ms, h2);
    assert_int_equal(run_plan(&s, h2 - 1, -1, fired, NULL), 0);
    assert_int_equal(run_plan(&s, h2 + 30, -1, fired, NULL), 1);
    assert_int_equal(fired[0], h2);
    sq_schedule_cleanup(&s);
    /* run_once: exactly one catch-up run at start, then 02:00 */
    c.missed = SYNCQ_MISSED_RUN_ONCE;
    make(&s, &c, T0);
    s.next_ms = h1;
    assert_int_equal(run_plan(&s, start, -1, fired, &skipped), 1);
    assert_int_equal(fired[0], h1);
    assert_int_equal(skipped, 0);
    assert_int_equal(run_plan(&s, h2 + 30, -1, fired, NULL), 1);
    assert_int_equal(fired[0], h2);
    /* down for 3 days: still one catch-up run (the latest missed tick) */
    s.next_ms = h1;
    assert_int_equal(run_plan(&s, start + 3 * DAY_MS, -1, fired, &skipped), 1);
    assert_int_equal(fired[0], h1 + 3 * DAY_MS);
    assert_int_equal(skipped, 72);
    assert_int_equal(s.next_ms, h2 + 3 * DAY_MS);
    sq_schedule_cleanup(&s);
    /* catch_up with a cap of 10 after 3 days: the latest 10 */
    c.missed = SYNCQ_MISSED_CATCH_UP;
    c.catch_up_cap = 10;
    make(&s, &c, T0);
    s.next_ms = h1;
    assert_int_equal(run_plan(&s, start + 3 * DAY_MS, -1, fired, &skipped), 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(fired[i], h1 + 3 * DAY_MS - (9 - i) * HOUR_MS);
    }
    assert_int_equal(skipped, 63);
    sq_schedule_cleanup(&s);
    /* a job disabled 00:30 .. 01:55, then enabled: resuming computes the
     * next run from now (syncq_schedule_resume), so no catch-up */
    cron_cfg(&c, "hourly", "0 * * * *");
    c.missed = SYNCQ_MISSED_RUN_ONCE;
    make(&s, &c, T0);
    s.enabled = false;
    s.next_ms = h1;
    assert_int_equal(run_plan(&s, start, -1, fired, NULL), 0);
    s.enabled = true;
    assert_int_equal(sq_schedule_next_after(&s, start - 1, &s.next_ms),
                     SYNCQ_OK);
    assert_int_equal(s.next_ms, h2);
    assert_int_equal(run_plan(&s, start, -1, fired, NULL), 0);
    assert_int_equal(run_plan(&s, h2 + 10, -1, fired, NULL), 1);
    sq_schedule_cleanup(&s);
}

static void
grace_period_edges(void **state)
{
    syncq_schedule_config c;
    struct sq_schedule s;
    int64_t fired[64], skipped;

    (void)state;
    cron_cfg(&c, "m", "0 * * * *");
    make(&s, &c, T0);
    /* exactly `grace` late: still on time */
    s.next_ms = T0 + HOUR_MS;
    assert_int_equal(run_plan(&s, T0 + HOUR_MS + 60000, -1, fired, &skipped),
                     1);
    assert_int_equal(skipped, 0);
    /* 1 ms more: missed (skip) */
    s.next_ms = T0 + 2 * HOUR_MS;
    assert_int_equal(
        run_plan(&s, T0 + 2 * HOUR_MS + 60001, -1, fired, &skipped), 0);
    assert_int_equal(skipped, 1);
    sq_schedule_cleanup(&s);
    /* a 1 s interval after a 10 s leader takeover: every tick still fires
     * (all within the grace period), none twice */
    interval_cfg(&c, "fast", 1000);
    make(&s, &c, T0);
    s.next_ms = T0 + 1000;
    assert_int_equal(run_plan(&s, T0 + 11000, -1, fired, &skipped), 11);
    assert_int_equal(skipped, 0);
    assert_int_equal(s.next_ms, T0 + 12000);
    sq_schedule_cleanup(&s);
    /* a one-shot missed by more than the grace: skip drops it, run_once
     * runs it; either way it is finished */
    syncq_schedule_config_init(&c);
    c.name = "o";
    c.task = "t.x";
    c.type = SYNCQ_SCHEDULE_ONCE;
    c.run_at_ms = T0 + 1000;
    make(&s, &c, T0);
    s.next_ms = T0 + 1000;
    assert_int_equal(run_plan(&s, T0 + HOUR_MS, -1, fired, &skipped), 0);
    assert_int_equal(skipped, 1);
    assert_int_equal(s.next_ms, -1);
    s.missed = SYNCQ_MISSED_RUN_ONCE;
    s.next_ms = T0 + 1000;
    assert_int_equal(run_plan(&s, T0 + HOUR_MS, -1, fired, &skipped), 1);
    assert_int_equal(fired[0], T0 + 1000);
    assert_int_equal(s.next_ms, -1);
    sq_schedule_cleanup(&s);
}

/* catch_up with a large cap over a long outage of a per-second cron: the
 * latest `cap` in order, and a count past the counting limit. */
static void
large_catch_up(void **state)
{
    syncq_schedule_config c;
    struct sq_schedule s;
    struct sq_plan p;
    int64_t now = T0 + 3 * DAY_MS;

    (void)state;
    cron_cfg(&c, "sec", "* * * * * *");
    c.missed = SYNCQ_MISSED_CATCH_UP;
    c.catch_up_cap = 100000;
    make(&s, &c, T0);
    s.next_ms = T0;
    assert_int_equal(sq_schedule_plan(&s, now, -1, &p, NULL), SYNCQ_OK);
    /* 100,000 latest missed + the 61 within the grace (now-60s .. now) */
    assert_int_equal(p.nfire, 100000 + 61);
    assert_int_equal(p.fire[99999], now - 61000);
    assert_int_equal(p.fire[0], now - 61000 - 99999 * 1000LL);
    for (size_t i = 1; i < p.nfire; i++) {
        assert_int_equal(p.fire[i] - p.fire[i - 1], 1000);
    }
    assert_int_equal(p.skipped, 3 * 86400 - 60 - 100000);
    assert_false(p.skipped_more);
    assert_int_equal(p.next_ms, now + 1000);
    sq_plan_cleanup(&p);
    /* 20 days: more late ticks than are counted one by one */
    s.cap = 3;
    s.next_ms = T0;
    now = T0 + 20 * DAY_MS;
    assert_int_equal(sq_schedule_plan(&s, now, -1, &p, NULL), SYNCQ_OK);
    assert_true(p.skipped_more);
    assert_int_equal(p.nfire, 3 + 61);
    assert_int_equal(p.fire[0], now - 63000);
    assert_int_equal(p.fire[2], now - 61000);
    sq_plan_cleanup(&p);
    sq_schedule_cleanup(&s);
}

static void
paused_or_future_schedules_do_nothing(void **state)
{
    syncq_schedule_config c;
    struct sq_schedule s;
    struct sq_plan p;

    (void)state;
    cron_cfg(&c, "m", "* * * * *");
    make(&s, &c, T0);
    s.next_ms = T0 + MIN_MS;
    assert_int_equal(sq_schedule_plan(&s, T0, -1, &p, NULL), SYNCQ_OK);
    assert_false(p.due);
    assert_int_equal(p.nfire, 0);
    assert_int_equal(p.next_ms, T0 + MIN_MS);
    sq_plan_cleanup(&p);
    s.enabled = false;
    assert_int_equal(sq_schedule_plan(&s, T0 + DAY_MS, -1, &p, NULL), SYNCQ_OK);
    assert_false(p.due);
    sq_plan_cleanup(&p);
    sq_schedule_cleanup(&s);
}

/* ---- C20: wall-clock jumps, fake clock ------------------------------- */

static int64_t fake_wall_ms;

static int64_t
fake_now(void)
{
    return fake_wall_ms;
}

struct fire {
    int which;    /* schedule index */
    int64_t tick; /* the tick instant fired */
    int64_t mono; /* monotonic time it fired at */
};

/* The beat's loop in miniature: every simulated second, detect a jump,
 * re-base after a backward one, plan and fire each due schedule. */
static size_t
simulate(struct sq_schedule *s, int ns, int64_t seconds, const int64_t *jump_at,
         const int64_t *jump_by, int njumps, struct fire *out, size_t cap,
         int64_t *jumps_seen)
{
    struct sq_jump j = {false, 0, 0};
    int64_t offset = 0, jump_wall = -1;
    size_t n = 0;
    int seen = 0;

    for (int64_t sec = 0; sec <= seconds; sec++) {
        int64_t mono = sec * 1000, jump;
        for (int k = 0; k < njumps; k++) {
            if (jump_at[k] == sec) {
                offset += jump_by[k];
            }
        }
        fake_wall_ms = T0 + mono + offset;
        jump = sq_jump_check(&j, sq_now_ms(), mono, 1500);
        if (jump != 0) {
            jumps_seen[seen++] = jump;
            if (jump > 0) {
                jump_wall = sq_now_ms();
            } else {
                jump_wall = -1; /* the clock is back below it */
                for (int i = 0; i < ns; i++) {
                    int64_t anchor;
                    s[i].next_ms =
                        sq_schedule_rebase(&s[i], sq_now_ms(), jump, &anchor);
                    s[i].anchor_ms = anchor;
                }
            }
        }
        for (int i = 0; i < ns; i++) {
            struct sq_plan p;
            assert_int_equal(
                sq_schedule_plan(&s[i], sq_now_ms(), jump_wall, &p, NULL),
                SYNCQ_OK);
            for (size_t k = 0; k < p.nfire && n < cap; k++) {
                out[n].which = i;
                out[n].tick = p.fire[k];
                out[n].mono = mono;
                n++;
            }
            if (p.due) {
                s[i].next_ms = p.next_ms;
            }
            sq_plan_cleanup(&p);
        }
    }
    return n;
}

static void
c20_wall_clock_jumps(void **state)
{
    static const int policies[] = {SYNCQ_MISSED_SKIP, SYNCQ_MISSED_RUN_ONCE,
                                   SYNCQ_MISSED_CATCH_UP};
    const int64_t jump_at[2] = {180, 360};
    const int64_t jump_by[2] = {2 * HOUR_MS, -2 * HOUR_MS};

    (void)state;
    sq_clock_set(fake_now);
    for (int pi = 0; pi < 3; pi++) {
        syncq_schedule_config c;
        struct sq_schedule s[2];
        struct fire f[2000];
        int64_t jumps[4] = {0, 0, 0, 0};
        size_t n;
        int in_span[2] = {0, 0}, after_back[2] = {0, 0};
        int64_t first_after_back[2] = {-1, -1};

        fake_wall_ms = T0;
        interval_cfg(&c, "every60", MIN_MS);
        c.missed = (syncq_missed_policy)policies[pi];
        make(&s[0], &c, sq_now_ms());
        s[0].next_ms = s[0].anchor_ms;
        cron_cfg(&c, "everymin", "* * * * *");
        c.missed = (syncq_missed_policy)policies[pi];
        make(&s[1], &c, sq_now_ms());
        assert_int_equal(sq_schedule_next_after(&s[1], T0, &s[1].next_ms),
                         SYNCQ_OK);
        /* 9 minutes: +2 h at minute 3, -2 h at minute 6 */
        n = simulate(s, 2, 540, jump_at, jump_by, 2, f, 2000, jumps);
        /* the jumps are seen with their size (1 s steps blur by 1 s) */
        assert_true(jumps[0] > 2 * HOUR_MS - 1500 &&
                    jumps[0] < 2 * HOUR_MS + 1500);
        assert_true(jumps[1] < -2 * HOUR_MS + 1500 &&
                    jumps[1] > -2 * HOUR_MS - 1500);
        assert_int_equal(jumps[2], 0);
        for (size_t i = 0; i < n; i++) {
            /* ticks from the span the clock jumped over (up to the wall
             * time it landed on), fired between the two jumps */
            if (f[i].mono >= 180000 && f[i].mono < 360000 &&
                f[i].tick <= T0 + 2 * HOUR_MS + 180000) {
                in_span[f[i].which]++;
            }
            if (f[i].mono >= 360000) {
                after_back[f[i].which]++;
                if (first_after_back[f[i].which] < 0) {
                    first_after_back[f[i].which] = f[i].mono;
                }
            }
            /* no tick instant fires twice */
            for (size_t k = 0; k < i; k++) {
                if (f[k].which == f[i].which && f[k].tick == f[i].tick) {
                    fail_msg("schedule %d tick %lld fired twice", f[i].which,
                             (long long)f[i].tick);
                }
            }
        }
        for (int w = 0; w < 2; w++) {
            /* forward jump: at most once for the skipped span (skip: 0,
             * run_once and catch_up: 1), never 120 times */
            assert_int_equal(in_span[w], pi == 0 ? 0 : 1);
            /* backward jump: running again within 60 s, not in 2 h */
            assert_true(first_after_back[w] >= 360000);
            assert_true(first_after_back[w] <= 420000);
            /* and every minute after it (3 minutes: 3 or 4 runs) */
            assert_true(after_back[w] >= 3 && after_back[w] <= 4);
        }
        /* the interval keeps a 60 s rhythm of real time after the back
         * jump (monotonic) */
        {
            int64_t prev = -1;
            for (size_t i = 0; i < n; i++) {
                if (f[i].which == 0 && f[i].mono >= 360000) {
                    if (prev >= 0) {
                        assert_int_equal(f[i].mono - prev, 60000);
                    }
                    prev = f[i].mono;
                }
            }
        }
        sq_schedule_cleanup(&s[0]);
        sq_schedule_cleanup(&s[1]);
    }
    sq_clock_set(NULL);
}

static void
jump_detector(void **state)
{
    struct sq_jump j = {false, 0, 0};

    (void)state;
    assert_int_equal(sq_jump_check(&j, 1000000, 5000, 1500), 0);
    assert_int_equal(sq_jump_check(&j, 1001000, 6000, 1500), 0);
    assert_int_equal(sq_jump_check(&j, 1003400, 7000, 1500), 0); /* 1.4s */
    assert_int_equal(sq_jump_check(&j, 1000000, 8000, 1500), -4400);
    assert_int_equal(sq_jump_check(&j, 8201000, 9000, 1500), 7200000);
}

static void
rebase_after_backward_jump(void **state)
{
    syncq_schedule_config c;
    struct sq_schedule s;
    int64_t anchor, nn;

    (void)state;
    /* interval: the same real-time distance to the next tick */
    interval_cfg(&c, "i", 5 * MIN_MS);
    make(&s, &c, T0);
    s.next_ms = T0 + 3 * HOUR_MS + 2 * MIN_MS;
    nn = sq_schedule_rebase(&s, T0 + 3 * HOUR_MS - 2 * HOUR_MS, -2 * HOUR_MS,
                            &anchor);
    assert_int_equal(nn, T0 + HOUR_MS + 2 * MIN_MS);
    assert_int_equal(anchor, nn);
    sq_schedule_cleanup(&s);
    /* fixed-time cron: keeps its next run (it already ran today) */
    cron_cfg(&c, "daily", "0 2 * * *");
    make(&s, &c, T0);
    s.next_ms = T0 + DAY_MS + 2 * HOUR_MS;
    nn = sq_schedule_rebase(&s, T0 + 2 * HOUR_MS - HOUR_MS, -HOUR_MS, &anchor);
    assert_int_equal(nn, T0 + DAY_MS + 2 * HOUR_MS);
    sq_schedule_cleanup(&s);
    /* hour wildcard: restarts from now */
    cron_cfg(&c, "q", "*/15 * * * *");
    make(&s, &c, T0);
    s.next_ms = T0 + 3 * HOUR_MS;
    nn = sq_schedule_rebase(&s, T0 + HOUR_MS + 1000, -2 * HOUR_MS, &anchor);
    assert_int_equal(nn, T0 + HOUR_MS + 15 * MIN_MS);
    /* a forward jump changes nothing here */
    assert_int_equal(sq_schedule_rebase(&s, T0, 5000, &anchor), s.next_ms);
    sq_schedule_cleanup(&s);
}

/* ---- validation --------------------------------------------------------- */

struct bad_cfg {
    const char *what;
    const char *msg;
};

static void
bad_definitions_are_refused(void **state)
{
    static const struct bad_cfg bad[] = {{"name", "schedule name"},
                                         {"task", "task name"},
                                         {"interval", "interval must be"},
                                         {"cron", "never fires"},
                                         {"cron_empty", "needs an expression"},
                                         {"tz", "unknown time zone"},
                                         {"past", "in the past"},
                                         {"end", "end must be after start"},
                                         {"kwargs", "kwargs is not valid JSON"},
                                         {"args", "args must be a JSON array"},
                                         {"priority", "priority 11"},
                                         {"queue", "queue"},
                                         {"type", "type must be"},
                                         {"grace", "grace"},
                                         {"cap", "catch-up cap"},
                                         {"at_missing", "needs a time"},
                                         {NULL, NULL}};

    (void)state;
    for (int i = 0; bad[i].what != NULL; i++) {
        syncq_schedule_config c;
        struct sq_schedule s;
        struct sq_sched_defaults d = defaults(T0);
        syncq_error err;
        const char *w = bad[i].what;
        int rc;
        cron_cfg(&c, "ok", "0 * * * *");
        if (!strcmp(w, "name")) {
            c.name = "has space";
        } else if (!strcmp(w, "task")) {
            c.task = "bad task!";
        } else if (!strcmp(w, "interval")) {
            c.type = SYNCQ_SCHEDULE_INTERVAL;
            c.interval_ms = 999;
        } else if (!strcmp(w, "cron")) {
            c.cron = "0 12 31 4 *";
        } else if (!strcmp(w, "cron_empty")) {
            c.cron = "";
        } else if (!strcmp(w, "tz")) {
            c.timezone = "Mars/Base";
        } else if (!strcmp(w, "past")) {
            c.type = SYNCQ_SCHEDULE_ONCE;
            c.run_at_ms = T0 - 1;
        } else if (!strcmp(w, "end")) {
            c.start_ms = T0 + 10;
            c.end_ms = T0 + 10;
        } else if (!strcmp(w, "kwargs")) {
            c.kwargs_json = "{bad";
        } else if (!strcmp(w, "args")) {
            c.args_json = "{\"a\":1}";
        } else if (!strcmp(w, "priority")) {
            c.priority = 11;
        } else if (!strcmp(w, "queue")) {
            c.queue = "bad queue";
        } else if (!strcmp(w, "type")) {
            c.type = (syncq_schedule_type)9;
        } else if (!strcmp(w, "grace")) {
            c.grace_ms = 2 * DAY_MS;
        } else if (!strcmp(w, "cap")) {
            c.catch_up_cap = 100001;
        } else if (!strcmp(w, "at_missing")) {
            c.type = SYNCQ_SCHEDULE_ONCE;
            c.run_at_ms = 0;
        }
        sq_schedule_init(&s);
        rc = sq_schedule_from_config(&s, &c, &d, &err);
        sq_schedule_cleanup(&s);
        if (rc == SYNCQ_OK) {
            fail_msg("bad %s was accepted", w);
        }
        if (strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("bad %s: message '%s' lacks '%s'", w, err.msg, bad[i].msg);
        }
    }
}

/* ---- hash mapping ------------------------------------------------------- */

/* A fake HGETALL reply of `pairs` (JSON array of strings) plus extras. */
static redisReply **
fake_reply(json_t *pairs, const char *const *extra, size_t *n)
{
    size_t np = json_array_size(pairs), k = 0;
    redisReply **el = calloc(np + 32, sizeof *el);

    for (size_t i = 0; i < np; i++) {
        const char *v = json_string_value(json_array_get(pairs, i));
        el[k] = calloc(1, sizeof **el);
        el[k]->type = REDIS_REPLY_STRING;
        el[k]->str = strdup(v);
        el[k]->len = strlen(v);
        k++;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        el[k] = calloc(1, sizeof **el);
        el[k]->type = REDIS_REPLY_STRING;
        el[k]->str = strdup(extra[i]);
        el[k]->len = strlen(extra[i]);
        k++;
    }
    *n = k;
    return el;
}

static void
free_fake(redisReply **el, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(el[i]->str);
        free(el[i]);
    }
    free(el);
}

static void
hash_round_trip(void **state)
{
    static const char *const extra[] = {"gen",
                                        "42",
                                        "next",
                                        "1717437600000",
                                        "last",
                                        "1717434000000",
                                        "runs",
                                        "7",
                                        "missed_runs",
                                        "2",
                                        "last_id",
                                        "0b1c2d3e-0000-4000-8000-000000000001",
                                        "unknown_field",
                                        "x",
                                        NULL};
    syncq_schedule_config c;
    struct sq_schedule s, back;
    json_t *pairs = json_array();
    redisReply **el;
    size_t n;
    char def1[41];
    json_t *o;

    (void)state;
    cron_cfg(&c, "daily_sync", "0 2 * * *");
    c.timezone = "Asia/Shanghai";
    c.kwargs_json = "{\"category_id\": \"1031910\", \"page_size\": 50}";
    c.args_json = "[1, \"\\u5973\\u88c5\"]";
    c.queue = "data_sync";
    c.priority = 8;
    c.missed = SYNCQ_MISSED_CATCH_UP;
    c.catch_up_cap = 12;
    c.expires_ms = HOUR_MS;
    make(&s, &c, T0);
    assert_int_equal(sq_schedule_def_fields(&s, pairs), 0);
    memcpy(def1, s.def, sizeof def1);
    el = fake_reply(pairs, extra, &n);
    sq_schedule_init(&back);
    assert_int_equal(sq_schedule_from_hash(&back, "daily_sync", el, n, NULL),
                     SYNCQ_OK);
    assert_int_equal(sq_schedule_compile(&back, NULL), SYNCQ_OK);
    assert_string_equal(back.task, "crawler.fetch_products");
    assert_int_equal(back.type, SYNCQ_SCHEDULE_CRON);
    assert_string_equal(back.cron, "0 2 * * *");
    assert_string_equal(back.tz, "Asia/Shanghai");
    assert_string_equal(back.kwargs,
                        "{\"category_id\":\"1031910\",\"page_size\":50}");
    assert_string_equal(back.queue, "data_sync");
    assert_int_equal(back.priority, 8);
    assert_int_equal(back.missed, SYNCQ_MISSED_CATCH_UP);
    assert_int_equal(back.cap, 12);
    assert_int_equal(back.expires_ms, HOUR_MS);
    assert_int_equal(back.gen, 42);
    assert_int_equal(back.next_ms, 1717437600000LL);
    assert_int_equal(back.runs, 7);
    assert_string_equal(back.def, def1);
    o = sq_schedule_to_json(&back);
    assert_string_equal(json_string_value(json_object_get(o, "state")),
                        "active");
    assert_string_equal(json_string_value(json_object_get(o, "next_run")),
                        "2024-06-04T02:00:00+08:00");
    assert_int_equal(json_integer_value(json_object_get(o, "total_runs")), 7);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(o, "args"), 1)),
        "\xe5\xa5\xb3\xe8\xa3\x85");
    json_decref(o);
    back.enabled = false;
    o = sq_schedule_to_json(&back);
    assert_string_equal(json_string_value(json_object_get(o, "state")),
                        "paused");
    json_decref(o);
    free_fake(el, n);
    sq_schedule_cleanup(&back);
    /* the fingerprint follows the definition, not the anchor */
    json_decref(pairs);
    pairs = json_array();
    s.priority = 7;
    assert_int_equal(sq_schedule_def_fields(&s, pairs), 0);
    assert_string_not_equal(s.def, def1);
    json_decref(pairs);
    sq_schedule_cleanup(&s);
}

static void
broken_hashes_are_errors_not_crashes(void **state)
{
    static const char *const bad[][2] = {
        {"pri", "eleven"},   {"pri", "11"},
        {"every", "-5"},     {"type", "hourly"},
        {"missed", "never"}, {"next", "12abc"},
        {"cap", "0"},        {"grace", "999999999999"}};

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *extra[] = {"task",    "t.x",     "type",
                               "cron",    "cron",    "* * * * *",
                               bad[i][0], bad[i][1], NULL};
        json_t *none = json_array();
        struct sq_schedule s;
        syncq_error err;
        size_t n;
        redisReply **el = fake_reply(none, extra, &n);
        sq_schedule_init(&s);
        assert_int_equal(sq_schedule_from_hash(&s, "b", el, n, &err),
                         SYNCQ_EPROTO);
        assert_non_null(strstr(err.msg, bad[i][0]));
        sq_schedule_cleanup(&s);
        free_fake(el, n);
        json_decref(none);
    }
    /* decodes, but does not compile: cron that never fires */
    {
        const char *extra[] = {"task",       "t.x",   "type",    "cron", "cron",
                               "0 0 30 2 *", "queue", "default", NULL};
        json_t *none = json_array();
        struct sq_schedule s;
        syncq_error err;
        size_t n;
        redisReply **el = fake_reply(none, extra, &n);
        sq_schedule_init(&s);
        assert_int_equal(sq_schedule_from_hash(&s, "b", el, n, &err), SYNCQ_OK);
        assert_int_equal(sq_schedule_compile(&s, &err), SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "never fires"));
        sq_schedule_cleanup(&s);
        free_fake(el, n);
        json_decref(none);
    }
}

static void
plan_allocation_failures_are_clean(void **state)
{
    syncq_schedule_config c;
    struct sq_schedule s;

    (void)state;
    cron_cfg(&c, "m", "* * * * *");
    c.missed = SYNCQ_MISSED_CATCH_UP;
    c.catch_up_cap = 50;
    make(&s, &c, T0);
    for (long k = 1; k < 20; k++) {
        struct sq_plan p;
        syncq_error err;
        int rc;
        s.next_ms = T0;
        sq_alloc_fail_at(k);
        rc = sq_schedule_plan(&s, T0 + DAY_MS, -1, &p, &err);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_OK) {
            /* the latest 50 missed, plus the 2 within the grace */
            assert_int_equal(p.nfire, 52);
            sq_plan_cleanup(&p);
            sq_schedule_cleanup(&s);
            return;
        }
        assert_int_equal(rc, SYNCQ_ENOMEM);
        assert_null(p.fire);
    }
    fail_msg("plan never succeeded");
}

/* Offsets are resolved with the clock given (Redis's, at add time): at,
 * start and end; an offset with a time, or one <= 0, is refused. */
static void
offsets_are_resolved_with_the_given_clock(void **state)
{
    syncq_schedule_config c;
    struct sq_sched_defaults d = defaults(T0);
    struct sq_schedule s;
    syncq_error err;

    (void)state;
    once_cfg(&c, "once");
    c.run_in_ms = 600000;
    make(&s, &c, T0);
    assert_int_equal(s.at_ms, T0 + 600000);
    interval_cfg(&c, "every", 5000);
    c.start_in_ms = 3600000;
    c.end_in_ms = 7200000;
    make(&s, &c, T0);
    assert_int_equal(s.start_ms, T0 + 3600000);
    assert_int_equal(s.anchor_ms, T0 + 3600000);
    assert_int_equal(s.end_ms, T0 + 7200000);
    c.end_ms = T0 + 1;
    sq_schedule_init(&s);
    assert_int_equal(sq_schedule_from_config(&s, &c, &d, &err), SYNCQ_EINVAL);
    assert_string_equal(err.msg, "end: give a time or an offset, not both");
    c.end_ms = 0;
    c.start_in_ms = -1;
    sq_schedule_init(&s);
    assert_int_equal(sq_schedule_from_config(&s, &c, &d, &err), SYNCQ_EINVAL);
    assert_string_equal(err.msg,
                        "start: an offset must be > 0 and before year 10000");
}

/* The schedule file without Redis (sq_sched_file_parse, as the fuzz
 * target runs it): a good file gives compiled schedules; epoch seconds
 * past year 9999 are refused, not multiplied into an overflow (found by
 * fuzz_sched_file; UBSan). */
static void
schedule_file_parses_without_redis(void **state)
{
    static const char good[] =
        "{\"timezone\": \"UTC\", \"schedules\": {\"a\": {\"task\": "
        "\"syncq.noop\", \"interval\": 90, \"start\": 1700000000}}}";
    static const char huge[] =
        "{\"schedules\":{\"a\":{\"task\":\"syncq.p\",\"interval\":90,"
        "\"start\":170000077777777770,\"end\":\"20300\"}}}";
    struct sq_sched_defaults base;
    struct sq_schedule *ss = NULL;
    size_t n = 9;
    syncq_error err;

    (void)state;
    memset(&base, 0, sizeof base);
    base.tz = "UTC";
    base.cap = 100;
    base.queue = "default";
    base.priority = 5;
    base.now_ms = 1700000000000LL;
    assert_int_equal(sq_sched_file_parse(NULL, good, strlen(good), "f",
                                         &base, &ss, &n, &err),
                     SYNCQ_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ss[0].name, "a");
    assert_string_equal(ss[0].queue, "default");
    sq_schedule_cleanup(&ss[0]);
    sq_free(ss);
    assert_int_equal(sq_sched_file_parse(NULL, huge, strlen(huge), "f",
                                         &base, &ss, &n, &err),
                     SYNCQ_EINVAL);
    assert_null(ss);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.msg, "start: 170000077777777770 epoch "
                                    "seconds is after year 9999"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interval_ticks_count_from_the_anchor),
        cmocka_unit_test(once_and_cron_ticks),
        cmocka_unit_test(c19_missed_policies),
        cmocka_unit_test(grace_period_edges),
        cmocka_unit_test(large_catch_up),
        cmocka_unit_test(paused_or_future_schedules_do_nothing),
        cmocka_unit_test(c20_wall_clock_jumps),
        cmocka_unit_test(jump_detector),
        cmocka_unit_test(rebase_after_backward_jump),
        cmocka_unit_test(bad_definitions_are_refused),
        cmocka_unit_test(hash_round_trip),
        cmocka_unit_test(broken_hashes_are_errors_not_crashes),
        cmocka_unit_test(plan_allocation_failures_are_clean),
        cmocka_unit_test(offsets_are_resolved_with_the_given_clock),
        cmocka_unit_test(schedule_file_parses_without_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
