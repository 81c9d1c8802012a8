/* SPDX-License-Identifier: MIT
 *
 * it_beat_fencing.c: C10, a leader cut off longer than its lock. Beat A
 * (lock TTL 3 s) leads; it is frozen (SIGSTOP: no Redis traffic at all)
 * for 5 s, B takes the lock; A is thawed. A's next renew must fail (the
 * token is compared and the lock extended in one Lua step), A must stop
 * dispatching at once and report leader=false, and over the following
 * 20 s exactly one beat reports leader=true while a 1-second schedule
 * fires every tick once.
 * TEST_TIMEOUT: 120
 */
#include "it_beat_util.h"

#include <syncq/schedule.h>

static int
leaders_reporting(void)
{
    int n = 0;
    const char *ids[] = {"fence-a", "fence-b"};

    for (int i = 0; i < 2; i++) {
        redisReply *r = sqt_cmd("HGET {syncq}:beat:node:%s leader", ids[i]);
        if (r->type == REDIS_REPLY_STRING && strcmp(r->str, "1") == 0) {
            n++;
        }
        freeReplyObject(r);
    }
    return n;
}

static void
c10_lapsed_leader_stops_at_once(void **state)
{
    syncq_client *cl = sqt_client();
    syncq_schedule_config c;
    long long start, thawed, t_end;
    struct it_task *t;
    char who[128], log[512];
    size_t n;
    int a, b;

    (void)state;
    sqt_flush();
    start = (it_now() / 1000 + 2) * 1000;
    syncq_schedule_config_init(&c);
    c.name = "sec";
    c.task = "crawler.fetch_products";
    c.type = SYNCQ_SCHEDULE_INTERVAL;
    c.interval_ms = 1000;
    c.start_ms = start;
    assert_int_equal(syncq_schedule_add(cl, &c, 0, NULL), SYNCQ_OK);
    a = it_beat_start("fence-a", "--lock-ttl 3");
    it_sleep_ms(700);
    b = it_beat_start("fence-b", "--lock-ttl 3");
    it_sleep_ms(2500);
    assert_string_equal(it_leader(who, sizeof who), "fence-a");
    assert_int_equal(leaders_reporting(), 1);

    kill(a, SIGSTOP);
    it_sleep_ms(5000);
    /* A's lock lapsed and B took it; A's status record lapsed with it */
    assert_string_equal(it_leader(who, sizeof who), "fence-b");
    assert_int_equal(leaders_reporting(), 1);
    kill(a, SIGCONT);
    thawed = it_now();
    it_sleep_ms(1500);
    {
        redisReply *r = sqt_cmd("HGET {syncq}:beat:node:fence-a leader");
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_string_equal(r->str, "0");
        freeReplyObject(r);
    }
    /* exactly one leader, B, over the next 20 s */
    for (int i = 0; i < 100; i++) {
        if (leaders_reporting() != 1) {
            fail_msg("%d beats report leader=true at sample %d",
                     leaders_reporting(), i);
        }
        assert_string_equal(it_leader(who, sizeof who), "fence-b");
        it_sleep_ms(200);
    }
    t_end = it_now();
    it_beat_stop(a);
    it_beat_stop(b);
    /* A said so in its log */
    snprintf(log, sizeof log, "%s/beat-fence-a.log", sqt_tmpdir());
    {
        char *text = sqt_read_file(log, NULL);
        assert_non_null(strstr(text, "event=beat.leader leader=false"));
        free(text);
    }
    /* no duplicate and no gap through the freeze and after */
    n = it_sched_tasks("sec", &t);
    qsort(t, n, sizeof *t, it_cmp_tick);
    for (size_t i = 0; i < n; i++) {
        if (t[i].tick != start + (long long)i * 1000) {
            fail_msg("tick %zu is %lld, want %lld", i, t[i].tick,
                     start + (long long)i * 1000);
        }
        /* the freeze delays ticks by at most the lock TTL + a poll */
        assert_true(t[i].ct - t[i].tick <= 5000);
        /* after the thaw nothing is late: B was leading all along */
        if (t[i].tick > thawed + 1000) {
            assert_true(t[i].ct - t[i].tick <= 800);
        }
    }
    assert_true(t[n - 1].tick >= t_end - 2000);
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
        cmocka_unit_test(c10_lapsed_leader_stops_at_once),
        cmocka_unit_test(no_sanitizer_reports_in_beat_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
