/* SPDX-License-Identifier: MIT
 *
 * it_beat_failover.c: exactly once under leader deaths (the test,
 * and C09). Three `syncq beat` processes with a 2 s lock; for two minutes
 * the leader is killed with SIGKILL every 8 s and replaced by a fresh
 * beat. A 1-second interval schedule must fire every tick exactly once
 * (no gap, no duplicate), each at most a takeover late, and a
 * `* * * * *` cron schedule once per minute.
 * TEST_TIMEOUT: 400
 * TEST_LABELS: slow
 */
#include "it_beat_util.h"

#include <syncq/schedule.h>

#define RUN_MS 120000
#define KILL_EVERY_MS 8000
#define MAX_BEATS 64

struct beat {
    char id[32];
    int pid;
    bool alive;
};

static struct beat beats[MAX_BEATS];
static int nbeats;

static void
start_one(void)
{
    struct beat *b = &beats[nbeats++];

    snprintf(b->id, sizeof b->id, "fo-%d", nbeats);
    b->pid = it_beat_start(b->id, "--lock-ttl 2");
    b->alive = true;
}

static struct beat *
find(const char *id)
{
    for (int i = 0; i < nbeats; i++) {
        if (beats[i].alive && strcmp(beats[i].id, id) == 0) {
            return &beats[i];
        }
    }
    return NULL;
}

static void
every_tick_once_while_leaders_die(void **state)
{
    syncq_client *cl = sqt_client();
    syncq_schedule_config c;
    long long start, t_end, begin;
    struct it_task *t;
    size_t n;
    int kills = 0;
    char who[128];

    (void)state;
    sqt_flush();
    begin = it_now();
    start = (begin / 1000 + 2) * 1000;
    syncq_schedule_config_init(&c);
    c.name = "sec";
    c.task = "crawler.fetch_products";
    c.type = SYNCQ_SCHEDULE_INTERVAL;
    c.interval_ms = 1000;
    c.start_ms = start;
    assert_int_equal(syncq_schedule_add(cl, &c, 0, NULL), SYNCQ_OK);
    syncq_schedule_config_init(&c);
    c.name = "minute";
    c.task = "data_sync.sync_products";
    c.type = SYNCQ_SCHEDULE_CRON;
    c.cron = "* * * * *";
    c.timezone = "UTC";
    assert_int_equal(syncq_schedule_add(cl, &c, 0, NULL), SYNCQ_OK);
    for (int i = 0; i < 3; i++) {
        start_one();
        it_sleep_ms(200);
    }
    while (it_now() - begin < RUN_MS) {
        struct beat *b;
        it_sleep_ms(KILL_EVERY_MS);
        b = find(it_leader(who, sizeof who));
        if (b == NULL) {
            continue; /* a takeover is still under way */
        }
        kill(b->pid, SIGKILL);
        sqt_kill_wait(b->pid, 0, 5000);
        b->alive = false;
        kills++;
        if (nbeats < MAX_BEATS) {
            start_one();
        }
    }
    it_sleep_ms(3000); /* let the last takeover finish */
    t_end = it_now();
    for (int i = 0; i < nbeats; i++) {
        if (beats[i].alive) {
            it_beat_stop(beats[i].pid);
        }
    }
    print_message("killed %d leaders in %lld ms\n", kills,
                  (long long)(t_end - begin));
    assert_true(kills >= 12);

    /* the 1 s schedule: every tick from the start, once */
    n = it_sched_tasks("sec", &t);
    qsort(t, n, sizeof *t, it_cmp_tick);
    assert_true(n > 0);
    assert_int_equal(t[0].tick, start);
    for (size_t i = 0; i < n; i++) {
        if (t[i].tick != start + (long long)i * 1000) {
            fail_msg("tick %zu is %lld, want %lld (gap or duplicate)", i,
                     t[i].tick, start + (long long)i * 1000);
        }
        /* at most a takeover late: lock TTL 2 s + a follower poll */
        if (t[i].ct - t[i].tick > 4000) {
            fail_msg("tick %lld fired %lld ms late", t[i].tick,
                     t[i].ct - t[i].tick);
        }
    }
    /* all ticks up to the end (the last may still be pending) */
    assert_true(t[n - 1].tick >= t_end - 2000);
    assert_int_equal((long long)n, it_sched_field("sec", "runs"));
    free(t);

    /* C09: the cron schedule once per minute boundary */
    n = it_sched_tasks("minute", &t);
    qsort(t, n, sizeof *t, it_cmp_tick);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].tick % 60000, 0);
        if (i > 0) {
            assert_int_equal(t[i].tick - t[i - 1].tick, 60000);
        }
        assert_true(t[i].ct - t[i].tick <= 4000);
    }
    /* every boundary after the first poll and before the end is there */
    assert_true(t[0].tick <= (begin / 60000 + 1) * 60000);
    assert_true(t[n - 1].tick >= ((t_end - 4000) / 60000) * 60000);
    free(t);
    syncq_client_close(cl);
}

static void
no_sanitizer_reports_in_beat_logs(void **state)
{
    (void)state;
    it_logs_clean();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_tick_once_while_leaders_die),
        cmocka_unit_test(no_sanitizer_reports_in_beat_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
