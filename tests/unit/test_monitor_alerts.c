/* SPDX-License-Identifier: MIT
 *
 * test_monitor_alerts.c: alert rules parser (values, units, errors,
 * limits), the pending/firing/resolved state machine with for-duration,
 * hysteresis and keep-firing (fake time, no sleeping), metric values from
 * a hand-made collection, and that the built-in defaults equal
 * deploy/alerts.default.rules.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "monitor/mon.h"
#include "monitor/mon_alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse(const char *text, struct sq_alert_rules *r, syncq_error *e)
{
    return sq_alert_rules_parse(text, strlen(text), r, e);
}

/* Lines of the built-in rules text that are rules (not comments). */
static int
default_rule_lines(void)
{
    int n = 0;

    for (const char *l = sq_alert_default_rules; *l != '\0';) {
        const char *eol = strchr(l, '\n');
        if (*l != '#' && *l != '\n') {
            n++;
        }
        if (eol == NULL) {
            break;
        }
        l = eol + 1;
    }
    return n;
}

static void
parses_every_field(void **state)
{
    struct sq_alert_rules r;
    syncq_error e;

    (void)state;
    assert_int_equal(
        parse("# comment\n\n"
              "errs: error_rate{queue=crawler,task=\"crawler.fetch\"} >= 10% "
              "window 10m for 2m keep 30s clear 5% severity critical "
              "summary \"too many \\\"errors\\\"\"\r\n"
              "  backlog : queue_depth < 10_000 # trailing comment\n"
              "hb: heartbeat_age > 1m\n",
              &r, &e),
        SYNCQ_OK);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.r[0].name, "errs");
    assert_int_equal(r.r[0].metric, SQ_AM_ERROR_RATE);
    assert_string_equal(r.r[0].queue, "crawler");
    assert_string_equal(r.r[0].task, "crawler.fetch");
    assert_int_equal(r.r[0].op, SQ_OP_GE);
    assert_true(fabs(r.r[0].threshold - 0.10) < 1e-12);
    assert_true(fabs(r.r[0].clear - 0.05) < 1e-12);
    assert_int_equal(r.r[0].window_ms, 600000);
    assert_int_equal(r.r[0].for_ms, 120000);
    assert_int_equal(r.r[0].keep_ms, 30000);
    assert_string_equal(r.r[0].severity, "critical");
    assert_string_equal(r.r[0].summary, "too many \"errors\"");
    assert_int_equal(r.r[0].line, 3);
    assert_int_equal(r.r[1].metric, SQ_AM_QUEUE_DEPTH);
    assert_int_equal(r.r[1].op, SQ_OP_LT);
    assert_true(r.r[1].threshold == 10000.0);
    assert_true(r.r[1].clear == 10000.0); /* default: the threshold */
    assert_string_equal(r.r[1].severity, "warning");
    assert_int_equal(r.r[1].window_ms, 300000);
    assert_true(r.r[2].threshold == 60.0); /* seconds */
    sq_alert_rules_cleanup(&r);
}

static void
rejects_bad_rules_with_line_numbers(void **state)
{
    static const struct {
        const char *text;
        int code;
        const char *needle;
    } bad[] = {
        {"x: nosuch > 1\n", SYNCQ_EINVAL, "line 1: unknown metric 'nosuch'"},
        {"\nx: failed >> 1\n", SYNCQ_EINVAL, "line 2: expected a comparison"},
        {"x: failed > abc\n", SYNCQ_EINVAL, "is not a number"},
        {"x: failed > 5q\n", SYNCQ_EINVAL, "unknown unit"},
        {"x failed > 5\n", SYNCQ_EINVAL, "expected ':'"},
        {"x: failed > 5 severity loud\n", SYNCQ_EINVAL, "severity 'loud'"},
        {"x: failed > 5 window 10s\n", SYNCQ_EINVAL, "out of range"},
        {"x: failed > 5 for -1m\n", SYNCQ_EINVAL, "out of range"},
        {"x: failed > 5 colour red\n", SYNCQ_EINVAL, "unknown option"},
        {"x: failed{host=a} > 5\n", SYNCQ_EINVAL, "unknown label 'host'"},
        {"x: failed{queue=a b} > 5\n", SYNCQ_EINVAL, "expected ',' or '}'"},
        {"x: failed > 5 summary \"open\n", SYNCQ_EINVAL, "unterminated"},
        {"x: failed > 5 clear 9\n", SYNCQ_EINVAL, "firing side"},
        {"x: failed > 5\nx: dead > 1\n", SYNCQ_EINVAL,
         "line 2: rule 'x' already defined on line 1"},
        {": failed > 5\n", SYNCQ_EINVAL, "rule name"},
    };
    struct sq_alert_rules r;
    syncq_error e;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r.n = 99;
        assert_int_equal(parse(bad[i].text, &r, &e), bad[i].code);
        assert_int_equal(r.n, 0);
        assert_null(r.r);
        if (strstr(e.msg, bad[i].needle) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].needle);
        }
    }
}

static void
enforces_limits(void **state)
{
    struct sq_alert_rules r;
    syncq_error e;
    char *big;
    size_t n = 0;

    (void)state;
    /* a line over 1 KiB */
    big = calloc(1, 4096);
    memset(big, 'a', 2000);
    assert_int_equal(parse(big, &r, &e), SYNCQ_ETOOBIG);
    assert_non_null(strstr(e.msg, "over 1024 bytes"));
    free(big);
    /* 201 rules */
    big = calloc(1, 201 * 40);
    for (int i = 0; i < 201; i++) {
        n += (size_t)snprintf(big + n, 201 * 40 - n, "r%d: failed > 1\n", i);
    }
    assert_int_equal(parse(big, &r, &e), SYNCQ_ETOOBIG);
    assert_non_null(strstr(e.msg, "more than 200 rules"));
    free(big);
    /* NUL byte inside a line */
    assert_int_equal(sq_alert_rules_parse("x: failed\0 > 1\n", 15, &r, &e),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "NUL"));
    /* a file over 256 KiB */
    assert_int_equal(sq_alert_rules_parse("", SQ_ALERT_MAX_FILE + 1, &r, &e),
                     SYNCQ_ETOOBIG);
}

static void
defaults_match_shipped_file(void **state)
{
    char path[4096];
    char *text;
    struct sq_alert_rules r;
    syncq_error e;

    (void)state;
    snprintf(path, sizeof path, "%s/deploy/alerts.default.rules",
             getenv("SYNCQ_SOURCE_DIR"));
    text = sqt_read_file(path, NULL);
    assert_non_null(text);
    assert_string_equal(text, sq_alert_default_rules);
    free(text);
    assert_int_equal(sq_alert_rules_load(NULL, &r, &e), SYNCQ_OK);
    assert_int_equal(r.n, default_rule_lines());
    assert_int_equal(r.n, 8);
    assert_string_equal(r.r[0].name, "high_error_rate");
    assert_string_equal(r.r[1].queue, "crawler");
    assert_true(r.r[1].threshold == 10000);
    assert_int_equal(r.r[2].metric, SQ_AM_HEARTBEAT_AGE);
    assert_int_equal(r.r[3].metric, SQ_AM_DEAD_LETTER);
    assert_int_equal(r.r[4].metric, SQ_AM_MEMORY_RATIO);
    assert_true(fabs(r.r[4].threshold - 0.8) < 1e-12);
    assert_string_equal(r.r[7].name, "queue_unserved");
    assert_int_equal(r.r[7].metric, SQ_AM_UNSERVED_QUEUES);
    assert_int_equal(r.r[7].op, SQ_OP_GT);
    assert_true(r.r[7].threshold == 0);
    assert_int_equal(r.r[7].for_ms, 60000);
    assert_string_equal(r.r[7].severity, "critical");
    sq_alert_rules_cleanup(&r);
    assert_int_equal(sq_alert_rules_load("/nonexistent/rules", &r, &e),
                     SYNCQ_EIO);
    assert_non_null(strstr(e.msg, "/nonexistent/rules"));
}

static struct sq_alert_rule
rule(const char *text)
{
    struct sq_alert_rules r;
    struct sq_alert_rule out;
    syncq_error e;

    if (parse(text, &r, &e) != SYNCQ_OK) {
        fail_msg("%s", e.msg);
    }
    out = r.r[0];
    sq_alert_rules_cleanup(&r);
    return out;
}

static void
for_duration_delays_firing(void **state)
{
    struct sq_alert_rule r = rule("q: queue_depth > 100 for 60s\n");
    struct sq_alert_state st;

    (void)state;
    memset(&st, 0, sizeof st);
    assert_int_equal(sq_alert_step(&r, &st, 50, 1000), -1);
    assert_int_equal(st.state, SQ_AS_INACTIVE);
    assert_int_equal(sq_alert_step(&r, &st, 150, 2000), -1);
    assert_int_equal(st.state, SQ_AS_PENDING);
    assert_int_equal(st.since_ms, 2000);
    assert_int_equal(sq_alert_step(&r, &st, 150, 61999), -1);
    assert_int_equal(st.state, SQ_AS_PENDING);
    /* a dip while pending resets: back to inactive, silently */
    assert_int_equal(sq_alert_step(&r, &st, 90, 62000), -1);
    assert_int_equal(st.state, SQ_AS_INACTIVE);
    assert_int_equal(sq_alert_step(&r, &st, 150, 63000), -1);
    assert_int_equal(sq_alert_step(&r, &st, 150, 122999), -1);
    assert_int_equal(sq_alert_step(&r, &st, 150, 123000), SQ_AS_FIRING);
    assert_int_equal(st.state, SQ_AS_FIRING);
    assert_int_equal(st.fired_at_ms, 123000);
    /* still firing: no second notification */
    assert_int_equal(sq_alert_step(&r, &st, 200, 130000), -1);
    assert_int_equal(sq_alert_step(&r, &st, 10, 131000), SQ_AS_RESOLVED);
    assert_int_equal(st.state, SQ_AS_RESOLVED);
    assert_int_equal(st.resolved_at_ms, 131000);
}

static void
hysteresis_and_keep_prevent_flapping(void **state)
{
    struct sq_alert_rule r =
        rule("e: error_rate > 10% clear 5% keep 30s\n");
    struct sq_alert_state st;
    int notes = 0;

    (void)state;
    memset(&st, 0, sizeof st);
    assert_int_equal(sq_alert_step(&r, &st, 0.12, 0), SQ_AS_FIRING);
    /* hovering around the threshold (8%..12%) for 10 minutes: the value
     * never reaches the clear level, so nothing more is sent */
    for (int64_t t = 1000; t < 600000; t += 1000) {
        double v = (t / 1000) % 2 ? 0.08 : 0.12;
        notes += sq_alert_step(&r, &st, v, t) >= 0;
    }
    assert_int_equal(notes, 0);
    assert_int_equal(st.state, SQ_AS_FIRING);
    /* below the clear level, but only for 29 s: still firing */
    assert_int_equal(sq_alert_step(&r, &st, 0.04, 600000), -1);
    assert_int_equal(sq_alert_step(&r, &st, 0.04, 629000), -1);
    /* a bounce back above clear restarts the keep timer */
    assert_int_equal(sq_alert_step(&r, &st, 0.06, 629500), -1);
    assert_int_equal(st.clear_since_ms, 0);
    assert_int_equal(sq_alert_step(&r, &st, 0.01, 630000), -1);
    assert_int_equal(sq_alert_step(&r, &st, 0.01, 659999), -1);
    assert_int_equal(sq_alert_step(&r, &st, 0.01, 660000), SQ_AS_RESOLVED);
    /* no data (no finished task) counts as clear and never fires */
    assert_int_equal(sq_alert_step(&r, &st, NAN, 700000), -1);
    assert_int_equal(st.state, SQ_AS_RESOLVED);
}

/* A collection with one series and a snapshot, built by hand. */
static void
fake_data(struct sq_mon_data *d)
{
    json_t *snap;
    json_error_t je;

    memset(d, 0, sizeof *d);
    d->now_ms = 1000LL * 60000 + 30000; /* half-way through minute 1000 */
    d->s = sq_calloc(2, sizeof *d->s);
    d->ns = 2;
    snprintf(d->s[0].queue, sizeof d->s[0].queue, "crawler");
    snprintf(d->s[0].task, sizeof d->s[0].task, "crawler.fetch");
    /* current minute: 6 ok, 2 failed; previous minute: 10 ok, 10 failed */
    d->s[0].min[0][SQ_K_SUCCEEDED] = 6;
    d->s[0].min[0][SQ_K_FAILED] = 2;
    d->s[0].min[1][SQ_K_SUCCEEDED] = 10;
    d->s[0].min[1][SQ_K_FAILED] = 10;
    d->s[0].min[0][SQ_K_RT_SUM] = 8000;
    d->s[0].min[0][SQ_K_RT_COUNT] = 8;
    d->s[0].rt_hist[4] = 95; /* <= 100 ms */
    d->s[0].rt_hist[7] = 5;  /* <= 1000 ms */
    snprintf(d->s[1].queue, sizeof d->s[1].queue, "images");
    snprintf(d->s[1].task, sizeof d->s[1].task, "images.resize");
    d->s[1].min[5][SQ_K_FAILED] = 4;
    d->poison_total = 3;
    snap = json_loads(
        "{\"totals\": {\"ready\": 12000, \"delayed\": 20, \"running\": 5, "
        "\"dead\": 2},"
        " \"broker\": {\"memory_ratio\": 0.85},"
        " \"queues\": [{\"name\": \"crawler\", \"ready\": 11000, "
        "\"delayed\": 15, \"running\": 4},"
        "  {\"name\": \"images\", \"ready\": 1000, \"delayed\": 5, "
        "\"running\": 1}],"
        " \"workers\": [{\"id\": \"w1\", \"alive\": true, "
        "\"heartbeat_age_ms\": 2000, \"queues\": [\"crawler\"]},"
        "  {\"id\": \"w2\", \"alive\": false, \"heartbeat_age_ms\": 90000, "
        "\"queues\": [\"images\"]}]}",
        0, &je);
    assert_non_null(snap);
    d->snap = snap;
}

static void
values_from_a_collection(void **state)
{
    struct sq_mon_data d;
    struct sq_alert_rule r;

    (void)state;
    fake_data(&d);
    /* 1 min window: all of the current half minute (6 ok, 2 failed) and
     * half of the previous minute (5 ok, 5 failed) */
    r = rule("x: error_rate > 1% window 1m\n");
    assert_true(fabs(sq_alert_value(&r, &d) - 7.0 / 18.0) < 1e-9);
    /* 5 min window: minutes 0..4 whole, half of minute 5 (images: 4) */
    r = rule("x: failed > 1 window 5m\n");
    assert_true(fabs(sq_alert_value(&r, &d) - 14.0) < 1e-9);
    r = rule("x: failed{queue=images} > 1 window 5m\n");
    assert_true(fabs(sq_alert_value(&r, &d) - 2.0) < 1e-9);
    r = rule("x: failed{queue=images} > 1 window 10m\n");
    assert_true(fabs(sq_alert_value(&r, &d) - 4.0) < 1e-9);
    r = rule("x: throughput > 1 window 1m\n");
    assert_true(fabs(sq_alert_value(&r, &d) - 18.0 / 60.0) < 1e-9);
    r = rule("x: runtime_mean > 1 window 1m\n");
    assert_true(fabs(sq_alert_value(&r, &d) - 1.0) < 1e-9);
    r = rule("x: runtime_p95 > 1\n");
    assert_true(fabs(sq_alert_value(&r, &d) - 0.1) < 1e-9);
    r = rule("x: queue_depth{queue=crawler} > 10000\n");
    assert_true(sq_alert_value(&r, &d) == 11000);
    r = rule("x: queue_depth > 10000\n");
    assert_true(sq_alert_value(&r, &d) == 12000);
    r = rule("x: delayed{queue=images} > 1\n");
    assert_true(sq_alert_value(&r, &d) == 5);
    r = rule("x: running > 1\n");
    assert_true(sq_alert_value(&r, &d) == 5);
    r = rule("x: dead_letter > 0\n");
    assert_true(sq_alert_value(&r, &d) == 2);
    r = rule("x: workers_alive < 1\n");
    assert_true(sq_alert_value(&r, &d) == 1);
    r = rule("x: heartbeat_age{queue=images} > 60s\n");
    assert_true(sq_alert_value(&r, &d) == 90);
    r = rule("x: heartbeat_age > 60s\n");
    assert_true(sq_alert_value(&r, &d) == 2);
    r = rule("x: memory_ratio >= 80%\n");
    assert_true(fabs(sq_alert_value(&r, &d) - 0.85) < 1e-12);
    r = rule("x: poison > 0\n");
    assert_true(sq_alert_value(&r, &d) == 3);
    sq_mon_data_cleanup(&d);
    /* no collection: no data */
    assert_true(isnan(sq_alert_value(&r, NULL)));
}

static void
histogram_quantiles(void **state)
{
    long long h[SQ_MON_NBUCKETS] = {0};

    (void)state;
    assert_true(isnan(sq_mon_hist_quantile(h, 0.95)));
    h[0] = 100; /* all <= 5 ms */
    assert_true(fabs(sq_mon_hist_quantile(h, 0.5) - 2.5) < 1e-9);
    h[0] = 0;
    h[3] = 50;  /* (25, 50] */
    h[4] = 50;  /* (50, 100] */
    assert_true(fabs(sq_mon_hist_quantile(h, 0.95) - 95.0) < 1e-9);
    h[SQ_MON_NBUCKETS - 1] = 900; /* +Inf answers its lower bound */
    assert_true(fabs(sq_mon_hist_quantile(h, 0.99) - 1800000.0) < 1e-9);
}

/* Every allocation of a parse fails in turn: SYNCQ_ENOMEM, nothing kept
 * (ASan checks for leaks), then the parse succeeds. */
static void
parse_survives_allocation_failures(void **state)
{
    struct sq_alert_rules r;
    syncq_error e;
    int rc = SYNCQ_ENOMEM;
    long n;

    (void)state;
    for (n = 1; n < 200 && rc == SYNCQ_ENOMEM; n++) {
        sq_alloc_fail_at(n);
        rc = sq_alert_rules_parse(sq_alert_default_rules,
                                  strlen(sq_alert_default_rules), &r, &e);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_ENOMEM) {
            assert_int_equal(r.n, 0);
            assert_null(r.r);
            assert_non_null(strstr(e.msg, "out of memory"));
        }
    }
    assert_int_equal(rc, SYNCQ_OK);
    assert_true(n > 2); /* at least one allocation was made to fail */
    assert_int_equal(r.n, default_rule_lines());
    sq_alert_rules_cleanup(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_field),
        cmocka_unit_test(rejects_bad_rules_with_line_numbers),
        cmocka_unit_test(enforces_limits),
        cmocka_unit_test(defaults_match_shipped_file),
        cmocka_unit_test(for_duration_delays_firing),
        cmocka_unit_test(hysteresis_and_keep_prevent_flapping),
        cmocka_unit_test(values_from_a_collection),
        cmocka_unit_test(histogram_quantiles),
        cmocka_unit_test(parse_survives_allocation_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
