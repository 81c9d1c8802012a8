/* SPDX-License-Identifier: MIT
 *
 * it_beat_basic.c: a real `syncq beat` against a real Redis: ticks fire
 * on time and once; a schedule added, paused or resumed on a running
 * beat takes effect at once (no catch-up on resume); missed-run policies
 * after downtime (C19); a broken stored schedule never stops the beat;
 * delayed tasks are promoted by the beat alone, never before their ETA;
 * the leader hands over at once on SIGTERM; the static schedule file.
 * TEST_TIMEOUT: 240
 */
#include "it_beat_util.h"

#include "core/sq_time.h"

#include <fcntl.h>
#include <syncq/schedule.h>

/* How late "on time" may be here: the beat itself is ~1 ms late (see
 * docs/beat.md Performance); this leaves room for a loaded CI machine
 * running tests in parallel under sanitizers, and is still far below the
 * 1 s a missed tick or a poll-late tick would show. */
#define ON_TIME_MS 400

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    cl = sqt_client();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    syncq_client_close(cl);
    return 0;
}

static void
add_interval(const char *name, long long every_ms, long long start_ms,
             int missed, long long grace_ms)
{
    syncq_schedule_config c;
    syncq_error err;

    syncq_schedule_config_init(&c);
    c.name = name;
    c.task = "crawler.fetch_products";
    c.type = SYNCQ_SCHEDULE_INTERVAL;
    c.interval_ms = every_ms;
    c.start_ms = start_ms;
    c.missed = (syncq_missed_policy)missed;
    c.grace_ms = grace_ms;
    c.catch_up_cap = 3;
    c.kwargs_json = "{\"category_id\":\"1031910\"}";
    if (syncq_schedule_add(cl, &c, 0, &err) != SYNCQ_OK) {
        fail_msg("add %s: %s", name, err.msg);
    }
}

/* Ticks of `name` are `every` apart from `first`, each fired once and
 * within `max_late` ms of its tick; returns how many. */
static size_t
check_ticks(const char *name, long long first, long long every,
            long long max_late)
{
    struct it_task *t;
    size_t n = it_sched_tasks(name, &t);

    qsort(t, n, sizeof *t, it_cmp_tick);
    for (size_t i = 0; i < n; i++) {
        if (t[i].tick != first + (long long)i * every) {
            fail_msg("%s: tick %zu is %lld, want %lld", name, i, t[i].tick,
                     first + (long long)i * every);
        }
        if (t[i].ct < t[i].tick || t[i].ct - t[i].tick > max_late) {
            fail_msg("%s: tick %lld created at %lld (%lld ms late)", name,
                     t[i].tick, t[i].ct, t[i].ct - t[i].tick);
        }
    }
    free(t);
    return n;
}

static void
ticks_fire_on_time_and_changes_apply_at_once(void **state)
{
    long long start, late_start, stop;
    int pid;
    size_t n;
    syncq_schedule_config c;

    (void)state;
    sqt_flush();
    start = (it_now() / 1000 + 2) * 1000;
    add_interval("i1", 1000, start, SYNCQ_MISSED_SKIP, -1);
    syncq_schedule_config_init(&c);
    c.name = "c2";
    c.task = "data_sync.sync_products";
    c.type = SYNCQ_SCHEDULE_CRON;
    c.cron = "*/2 * * * * *";
    c.timezone = "America/New_York";
    assert_int_equal(syncq_schedule_add(cl, &c, 0, NULL), SYNCQ_OK);
    pid = it_beat_start("b1", "--lock-ttl 2");
    it_sleep_ms(3500);
    /* added on the running beat: fires at its start, not a poll later */
    late_start = it_now() + 400;
    add_interval("late", 1000, late_start, SYNCQ_MISSED_SKIP, -1);
    it_sleep_ms(2300);
    it_beat_stop(pid);
    stop = it_now();
    n = check_ticks("i1", start, 1000, ON_TIME_MS);
    assert_true(n >= (size_t)((stop - start) / 1000) - 1);
    assert_true(n <= (size_t)((stop - start) / 1000) + 1);
    n = check_ticks("late", late_start, 1000, ON_TIME_MS);
    assert_true(n >= 2);
    /* cron with seconds: even seconds only */
    {
        struct it_task *t;
        size_t m = it_sched_tasks("c2", &t);
        assert_true(m >= 2);
        for (size_t i = 0; i < m; i++) {
            assert_int_equal(t[i].tick % 2000, 0);
            assert_true(t[i].ct - t[i].tick < ON_TIME_MS);
        }
        free(t);
    }
    /* state kept in the schedule */
    assert_int_equal(it_sched_field("i1", "runs"),
                     (long long)check_ticks("i1", start, 1000, ON_TIME_MS));
    assert_true(it_sched_field("i1", "next") > it_sched_field("i1", "last"));
    /* the leader released its lock on SIGTERM */
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:beat:lock"), 0);
}

static void
pause_and_resume_never_catch_up(void **state)
{
    long long start, paused_at, resumed_at;
    struct it_task *t;
    size_t n;
    int pid;

    (void)state;
    sqt_flush();
    start = (it_now() / 1000 + 1) * 1000;
    add_interval("p1", 1000, start, SYNCQ_MISSED_CATCH_UP, -1);
    pid = it_beat_start("b2", "--lock-ttl 2");
    it_sleep_ms(2200);
    assert_int_equal(syncq_schedule_pause(cl, "p1", NULL), SYNCQ_OK);
    paused_at = it_now();
    it_sleep_ms(3000);
    assert_int_equal(syncq_schedule_resume(cl, "p1", NULL), SYNCQ_OK);
    resumed_at = it_now();
    it_sleep_ms(2200);
    it_beat_stop(pid);
    n = it_sched_tasks("p1", &t);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        /* nothing for the paused span, and no catch-up of it */
        if (t[i].tick > paused_at + 100 && t[i].tick < resumed_at) {
            fail_msg("tick %lld fired while paused (%lld..%lld)", t[i].tick,
                     paused_at, resumed_at);
        }
        assert_true(t[i].ct - t[i].tick < ON_TIME_MS);
    }
    assert_int_equal(it_sched_field("p1", "missed_runs"), -1);
    free(t);
}

/* Put schedule `name`'s next run back to `next` (a beat that was down). */
static void
set_next(const char *name, long long next)
{
    freeReplyObject(sqt_cmd("HSET {syncq}:sched:%s next %lld", name, next));
    freeReplyObject(sqt_cmd("ZADD {syncq}:schedules %lld %s", next, name));
}

/* C19 with a real beat: three policies, five missed ticks each. */
static void
c19_missed_runs_after_downtime(void **state)
{
    long long now, anchor, last_missed;
    struct it_task *t;
    size_t n;
    int pid;

    (void)state;
    sqt_flush();
    now = it_now();
    anchor = (now / 1000) * 1000 - 630000; /* ticks at now-30s-k*60s */
    add_interval("skip", 60000, anchor, SYNCQ_MISSED_SKIP, 10000);
    add_interval("once", 60000, anchor, SYNCQ_MISSED_RUN_ONCE, 10000);
    add_interval("catch", 60000, anchor, SYNCQ_MISSED_CATCH_UP, 10000);
    last_missed = anchor + 600000; /* ~30 s ago */
    set_next("skip", last_missed - 240000);
    set_next("once", last_missed - 240000);
    set_next("catch", last_missed - 240000);
    pid = it_beat_start("b3", "--lock-ttl 2");
    it_sleep_ms(1500);
    it_beat_stop(pid);
    /* skip: nothing now; counted; next run is the next future tick */
    n = it_sched_tasks("skip", &t);
    assert_int_equal(n, 0);
    free(t);
    assert_int_equal(it_sched_field("skip", "missed_runs"), 5);
    assert_int_equal(it_sched_field("skip", "next"), last_missed + 60000);
    /* run_once: exactly one, for the latest missed tick */
    n = it_sched_tasks("once", &t);
    assert_int_equal(n, 1);
    assert_int_equal(t[0].tick, last_missed);
    free(t);
    assert_int_equal(it_sched_field("once", "missed_runs"), 4);
    /* catch_up, cap 3: the latest three */
    n = it_sched_tasks("catch", &t);
    assert_int_equal(n, 3);
    qsort(t, n, sizeof *t, it_cmp_tick);
    assert_int_equal(t[0].tick, last_missed - 120000);
    assert_int_equal(t[1].tick, last_missed - 60000);
    assert_int_equal(t[2].tick, last_missed);
    free(t);
    assert_int_equal(it_sched_field("catch", "missed_runs"), 2);
    assert_int_equal(it_sched_field("catch", "next"), last_missed + 60000);
}

static void
broken_stored_schedules_do_not_stop_the_beat(void **state)
{
    long long now = it_now(), start;
    json_t *list = NULL;
    int pid;

    (void)state;
    sqt_flush();
    start = (now / 1000 + 1) * 1000;
    add_interval("good", 1000, start, SYNCQ_MISSED_SKIP, -1);
    freeReplyObject(sqt_cmd("HSET {syncq}:sched:bad task t.x type cron cron "
                            "%s queue default enabled 1 gen 77 next %lld",
                            "61_*_*_*_*", now - 1000));
    /* a cron with spaces needs a real argument: set it separately */
    {
        redisContext *rc = sqt_redis();
        redisReply *r =
            redisCommand(rc, "HSET {syncq}:sched:bad cron %s", "61 * * * *");
        freeReplyObject(r);
        redisFree(rc);
    }
    freeReplyObject(sqt_cmd("ZADD {syncq}:schedules %lld bad", now - 1000));
    freeReplyObject(sqt_cmd("HSET {syncq}:sched:bad2 task t.x type interval "
                            "every 1000 anchor 1 pri eleven enabled 1 gen 5 "
                            "next %lld",
                            now - 1000));
    freeReplyObject(sqt_cmd("ZADD {syncq}:schedules %lld bad2", now - 1000));
    freeReplyObject(sqt_cmd("HSET {syncq}:sched:bad3 garbage 1"));
    freeReplyObject(sqt_cmd("ZADD {syncq}:schedules %lld bad3", now - 1000));
    freeReplyObject(sqt_cmd("ZADD {syncq}:schedules %lld ghost", now - 1000));
    freeReplyObject(sqt_cmd("SET {syncq}:sched:notahash x"));
    freeReplyObject(
        sqt_cmd("ZADD {syncq}:schedules %lld notahash", now - 1000));
    pid = it_beat_start("b4", "--lock-ttl 2");
    it_sleep_ms(2500);
    assert_int_equal(kill(pid, 0), 0); /* still running */
    it_beat_stop(pid);
    assert_true(check_ticks("good", start, 1000, ON_TIME_MS) >= 2);
    {
        redisReply *r = sqt_cmd("HGET {syncq}:sched:bad error");
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_non_null(strstr(r->str, "minute 61"));
        freeReplyObject(r);
        r = sqt_cmd("ZSCORE {syncq}:schedules bad");
        assert_string_equal(r->str, "inf");
        freeReplyObject(r);
        r = sqt_cmd("HGET {syncq}:sched:bad2 error");
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_non_null(strstr(r->str, "pri"));
        freeReplyObject(r);
        r = sqt_cmd("HGET {syncq}:sched:bad3 error");
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        freeReplyObject(r);
        r = sqt_cmd("ZSCORE {syncq}:schedules ghost");
        assert_int_equal(r->type, REDIS_REPLY_NIL);
        freeReplyObject(r);
    }
    /* list shows them as invalid, with the reason */
    assert_int_equal(syncq_schedule_list(cl, &list, NULL), SYNCQ_OK);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *s = json_array_get(list, i);
        const char *nm = json_string_value(json_object_get(s, "name"));
        if (!strcmp(nm, "bad") || !strcmp(nm, "bad2")) {
            assert_string_equal(json_string_value(json_object_get(s, "state")),
                                "invalid");
        }
    }
    json_decref(list);
    /* a fixed definition clears the mark */
    {
        syncq_schedule_config c;
        syncq_schedule_config_init(&c);
        c.name = "bad";
        c.task = "t.x";
        c.type = SYNCQ_SCHEDULE_CRON;
        c.cron = "1 * * * *";
        assert_int_equal(
            syncq_schedule_add(cl, &c, SYNCQ_SCHEDULE_REPLACE, NULL), SYNCQ_OK);
        assert_int_equal(it_sched_field("bad", "error"), -1);
    }
}

struct seen {
    char id[SYNCQ_ID_SIZE];
    long long eta;
    long long seen;
};

static void
delayed_tasks_promoted_by_the_beat_alone(void **state)
{
    enum { N = 40 };
    struct seen s[N];
    syncq_task_options o;
    int pid, left = N;
    long long deadline;
    long long worst = 0;

    (void)state;
    sqt_flush();
    pid = it_beat_start("b5", "--lock-ttl 2");
    it_sleep_ms(500);
    syncq_task_options_init(&o);
    o.queue = "delayq";
    for (int i = 0; i < N; i++) {
        redisReply *r;
        o.countdown_ms = 300 + i * 37;
        assert_int_equal(syncq_task_create(cl, "crawler.fetch_products", NULL,
                                           NULL, &o, s[i].id, NULL, NULL),
                         SYNCQ_OK);
        r = sqt_cmd("HGET {syncq}:t:%s eta", s[i].id);
        s[i].eta = strtoll(r->str, NULL, 10);
        s[i].seen = -1;
        freeReplyObject(r);
    }
    deadline = it_now() + 5000;
    while (left > 0 && it_now() < deadline) {
        redisReply *r = sqt_cmd("LRANGE {syncq}:q:delayq:5 0 -1");
        long long now = it_now();
        for (size_t k = 0; k < r->elements; k++) {
            for (int i = 0; i < N; i++) {
                if (s[i].seen < 0 && !strcmp(r->element[k]->str, s[i].id)) {
                    s[i].seen = now;
                    left--;
                }
            }
        }
        freeReplyObject(r);
        it_sleep_ms(2);
    }
    it_beat_stop(pid);
    assert_int_equal(left, 0);
    for (int i = 0; i < N; i++) {
        /* never before the ETA (seen is an upper bound of the promotion
         * time, the record's state tells the rest) */
        assert_true(s[i].seen >= s[i].eta);
        if (s[i].seen - s[i].eta > worst) {
            worst = s[i].seen - s[i].eta;
        }
        assert_string_equal(sqt_task_state(cl, s[i].id), "PENDING");
    }
    /* each within ON_TIME_MS of its ETA, with the 2 ms polling of this test
     * (the bench measures it properly: docs/beat.md Performance) */
    if (worst > ON_TIME_MS) {
        fail_msg("a delayed task appeared %lld ms after its ETA", worst);
    }
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 0);
}

static void
leader_hands_over_at_once_on_sigterm(void **state)
{
    char who[128];
    int a, b;
    long long t0, t1;

    (void)state;
    sqt_flush();
    a = it_beat_start("lead-a", ""); /* default lock TTL: 10 s */
    it_sleep_ms(600);
    b = it_beat_start("lead-b", "");
    it_sleep_ms(800);
    assert_string_equal(it_leader(who, sizeof who), "lead-a");
    {
        redisReply *r = sqt_cmd("HGET {syncq}:beat:node:lead-a leader");
        assert_string_equal(r->str, "1");
        freeReplyObject(r);
        r = sqt_cmd("HGET {syncq}:beat:node:lead-b leader");
        assert_string_equal(r->str, "0");
        freeReplyObject(r);
    }
    t0 = it_now();
    it_beat_stop(a);
    /* released, so b leads within its follower poll (1 s), not 10 s */
    while (strcmp(it_leader(who, sizeof who), "lead-b") != 0 &&
           it_now() - t0 < 5000) {
        it_sleep_ms(20);
    }
    t1 = it_now();
    assert_string_equal(who, "lead-b");
    assert_true(t1 - t0 < 1500);
    it_sleep_ms(100);
    {
        redisReply *r = sqt_cmd("HGET {syncq}:beat:node:lead-a leader");
        assert_string_equal(r->str, "0");
        freeReplyObject(r);
        r = sqt_cmd("HGET {syncq}:beat:node:lead-b leader");
        assert_string_equal(r->str, "1");
        freeReplyObject(r);
        r = sqt_cmd("HGET {syncq}:beat:node:lead-b info");
        assert_non_null(strstr(r->str, "\"id\":\"lead-b\""));
        freeReplyObject(r);
    }
    {
        json_t *st = NULL;
        assert_int_equal(syncq_beat_status(cl, &st, NULL), SYNCQ_OK);
        assert_int_equal(json_array_size(st), 2);
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(st, 0), "id")),
            "lead-b"); /* the leader first */
        assert_true(
            json_is_true(json_object_get(json_array_get(st, 0), "leader")));
        assert_true(
            json_is_true(json_object_get(json_array_get(st, 0), "alive")));
        assert_false(
            json_is_true(json_object_get(json_array_get(st, 1), "leader")));
        assert_int_equal(
            json_integer_value(json_object_get(json_array_get(st, 0), "pid")),
            b);
        json_decref(st);
    }
    it_beat_stop(b);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
static_schedule_file(void **state)
{
    char path[512], log[512];
    json_t *s = NULL;
    int pid, st;

    (void)state;
    sqt_flush();
    snprintf(path, sizeof path, "%s/schedules.json", sqt_tmpdir());
    write_file(path,
               "{\"timezone\": \"Asia/Shanghai\",\n"
               " \"schedules\": [\n"
               "  {\"name\": \"daily_sync\", \"task\": "
               "\"data_sync.sync_products\", \"cron\": \"0 2 * * *\",\n"
               "   \"kwargs\": {\"sync_type\": \"full\"}, \"missed\": \"run_once\"},\n"
               "  {\"name\": \"every5\", \"task\": "
               "\"src.queue.tasks.crawler.fetch_products\", \"interval\": "
               "\"5m\", \"args\": [\"7\"]},\n"
               "  {\"name\": \"tick\", \"task\": \"crawler.fetch_products\", "
               "\"interval\": 1, \"queue\": \"fileq\", \"priority\": "
               "\"HIGH\", \"args\": [\"7\"]}\n"
               " ]}\n");
    pid = it_beat_start("file-1", "--lock-ttl 2 -s schedules.json");
    it_sleep_ms(2500);
    it_beat_stop(pid);
    assert_int_equal(syncq_schedule_info(cl, "daily_sync", &s, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(s, "timezone")),
                        "Asia/Shanghai");
    assert_string_equal(json_string_value(json_object_get(s, "source")),
                        "file");
    assert_string_equal(json_string_value(json_object_get(s, "missed")),
                        "run_once");
    json_decref(s);
    assert_int_equal(syncq_schedule_info(cl, "every5", &s, NULL), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(s, "task")),
                        "crawler.fetch_products");
    json_decref(s);
    assert_true(it_sched_field("tick", "runs") >= 2);
    assert_int_equal(it_sched_field("tick", "pri"), 8);
    {
        long long runs = it_sched_field("tick", "runs");
        long long gen = it_sched_field("tick", "gen");
        long long dgen = it_sched_field("daily_sync", "gen");
        /* restart with one entry changed and one gone: the unchanged one
         * keeps its generation, the changed one keeps its run count */
        write_file(path,
                   "{\"timezone\": \"Asia/Shanghai\", \"schedules\": {\n"
                   "  \"daily_sync\": {\"task\": \"data_sync.sync_products\", "
                   "\"cron\": \"0 2 * * *\", \"kwargs\": {\"sync_type\": \"full\"}, "
                   "\"missed\": \"run_once\"},\n"
                   "  \"tick\": {\"task\": \"crawler.fetch_products\", "
                   "\"interval\": 2, \"queue\": \"fileq\", \"priority\": "
                   "\"HIGH\", \"args\": [\"7\"]}}}\n");
        pid = it_beat_start("file-2", "--lock-ttl 2 -s schedules.json");
        it_sleep_ms(700);
        it_beat_stop(pid);
        assert_int_equal(it_sched_field("daily_sync", "gen"), dgen);
        assert_true(it_sched_field("tick", "gen") > gen);
        assert_true(it_sched_field("tick", "runs") >= runs);
        assert_int_equal(it_sched_field("tick", "every"), 2000);
        assert_int_equal(sqt_cmd_int("EXISTS {syncq}:sched:every5"), 0);
    }
    /* a bad file: the beat refuses to start, says why, stores nothing */
    write_file(path, "{\"schedules\": [{\"name\": \"x\", \"task\": \"t.y\", "
                     "\"cron\": \"0 12 31 4 *\"}]}");
    snprintf(log, sizeof log, "%s/beat-file-3.log", sqt_tmpdir());
    pid = sqt_spawn(log, "beat --id file-3 -s schedules.json");
    st = sqt_kill_wait(pid, 0, 10000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    {
        char *text = sqt_read_file(log, NULL);
        assert_non_null(strstr(text, "entry 1 (x)"));
        assert_non_null(strstr(text, "never fires"));
        free(text);
    }
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:sched:x"), 0);
}

/* C16 through the API: refused at once, with the reason, nothing kept. */
static void
c16_api_refuses_dates_that_never_occur(void **state)
{
    static const char *const never[] = {"0 12 31 4 *", "0 0 30 2 *",
                                        "0 0 31 2 *"};

    (void)state;
    sqt_flush();
    for (int i = 0; i < 3; i++) {
        syncq_schedule_config c;
        syncq_error err;
        int64_t t0 = sq_mono_us();
        syncq_schedule_config_init(&c);
        c.name = "never";
        c.task = "data_sync.sync_products";
        c.type = SYNCQ_SCHEDULE_CRON;
        c.cron = never[i];
        assert_int_equal(syncq_schedule_add(cl, &c, 0, &err), SYNCQ_EINVAL);
        assert_true(sq_mono_us() - t0 < 100000);
        assert_non_null(strstr(err.msg, "expression never fires"));
        assert_int_equal(syncq_cron_check(never[i], "UTC", &err), SYNCQ_EINVAL);
    }
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:sched:never"), 0);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:schedules"), 0);
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
        cmocka_unit_test(c16_api_refuses_dates_that_never_occur),
        cmocka_unit_test(ticks_fire_on_time_and_changes_apply_at_once),
        cmocka_unit_test(pause_and_resume_never_catch_up),
        cmocka_unit_test(c19_missed_runs_after_downtime),
        cmocka_unit_test(broken_stored_schedules_do_not_stop_the_beat),
        cmocka_unit_test(delayed_tasks_promoted_by_the_beat_alone),
        cmocka_unit_test(leader_hands_over_at_once_on_sigterm),
        cmocka_unit_test(static_schedule_file),
        cmocka_unit_test(no_sanitizer_reports_in_beat_logs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
