/* SPDX-License-Identifier: MIT
 *
 * test_recovery_policy.c: retry policies by error class: the built-in
 * defaults, the layering (file, task registry, call, max_retries), the
 * exact backoff schedule without jitter (issue 5; C33), full jitter
 * bounds, Retry-After, the decision at exhaustion, and every malformed
 * policy document giving a clear EINVAL (and ENOMEM under allocation
 * failure, without leaks).
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "recovery/recovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sq_retry_policy
fixed(int64_t base_ms, double factor, int64_t max_ms, int max_retries,
      bool jitter)
{
    struct sq_retry_policy p;

    memset(&p, 0, sizeof p);
    p.retryable = true;
    p.base_ms = base_ms;
    p.factor = factor;
    p.max_ms = max_ms;
    p.max_retries = max_retries;
    p.jitter = jitter;
    p.dead_letter = true;
    return p;
}

static void
schedule_1_2_4_to_60_without_jitter(void **state)
{
    struct sq_retry_policy p = fixed(1000, 2.0, 60000, 100, false);
    const int64_t want[] = {1000,  2000,  4000,  8000,  16000,
                            32000, 60000, 60000, 60000};

    (void)state;
    for (int i = 0; i < (int)(sizeof want / sizeof want[0]); i++) {
        assert_int_equal(sq_retry_backoff_ms(&p, i), want[i]);
    }
    /* far past the cap: no overflow, still the cap */
    assert_int_equal(sq_retry_backoff_ms(&p, 5000), 60000);
    assert_int_equal(sq_retry_backoff_ms(&p, -3), 1000);
}

static void
c33_gaps_are_exponential_not_linear(void **state)
{
    struct sq_retry_policy p = fixed(2000, 2.0, 3600000, 5, false);
    const int64_t want[] = {2000, 4000, 8000, 16000, 32000};
    int64_t d;

    (void)state;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sq_retry_decide(&p, i, 0, &d), SQ_RETRY_AGAIN);
        assert_int_equal(d, want[i]);
    }
    /* the sixth failure (5 retries done) is final and dead-lettered */
    assert_int_equal(sq_retry_decide(&p, 5, 0, &d), SQ_RETRY_DEAD);
    assert_int_equal(d, 0);
}

static void
fractional_factor_rounds_to_ms(void **state)
{
    struct sq_retry_policy p = fixed(1000, 1.5, 10000, 10, false);

    (void)state;
    assert_int_equal(sq_retry_backoff_ms(&p, 0), 1000);
    assert_int_equal(sq_retry_backoff_ms(&p, 1), 1500);
    assert_int_equal(sq_retry_backoff_ms(&p, 2), 2250);
    assert_int_equal(sq_retry_backoff_ms(&p, 3), 3375);
    assert_int_equal(sq_retry_backoff_ms(&p, 6), 10000);
    p.factor = 1.0;
    assert_int_equal(sq_retry_backoff_ms(&p, 9), 1000);
    p.base_ms = 0;
    assert_int_equal(sq_retry_backoff_ms(&p, 4), 0);
}

static void
full_jitter_stays_in_zero_to_cap(void **state)
{
    struct sq_retry_policy p = fixed(1000, 2.0, 60000, 100, true);

    (void)state;
    for (int i = 0; i < 10; i++) {
        int64_t cap = 1000LL << i;
        int64_t lo = INT64_MAX, hi = -1;
        if (cap > 60000) {
            cap = 60000;
        }
        for (int n = 0; n < 2000; n++) {
            int64_t d = sq_retry_backoff_ms(&p, i);
            assert_true(d >= 0);
            assert_true(d <= cap);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* full jitter spreads over the whole range, not near the cap:
         * with 2000 uniform draws both ends are reached within 5 % */
        assert_true(lo < cap / 20);
        assert_true(hi > cap - cap / 20);
    }
}

static void
retry_after_raises_the_delay_never_lowers_it(void **state)
{
    struct sq_retry_policy p = fixed(10000, 2.0, 600000, 5, false);
    int64_t d;

    (void)state;
    assert_int_equal(sq_retry_decide(&p, 0, 45000, &d), SQ_RETRY_AGAIN);
    assert_int_equal(d, 45000);
    assert_int_equal(sq_retry_decide(&p, 1, 5000, &d), SQ_RETRY_AGAIN);
    assert_int_equal(d, 20000);
    /* also above the cap: the server's word wins */
    assert_int_equal(sq_retry_decide(&p, 2, 900000, &d), SQ_RETRY_AGAIN);
    assert_int_equal(d, 900000);
    p.jitter = true;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(sq_retry_decide(&p, 0, 30000, &d), SQ_RETRY_AGAIN);
        assert_int_equal(d, 30000); /* jitter draws <= 10 s: 30 s wins */
    }
    /* delay_ms may be NULL */
    assert_int_equal(sq_retry_decide(&p, 0, 0, NULL), SQ_RETRY_AGAIN);
}

static void
exhaustion_fails_or_dead_letters(void **state)
{
    struct sq_retry_policy p = fixed(1000, 2.0, 60000, 2, false);
    int64_t d = 123;

    (void)state;
    assert_int_equal(sq_retry_decide(&p, 0, 0, &d), SQ_RETRY_AGAIN);
    assert_int_equal(sq_retry_decide(&p, 1, 0, &d), SQ_RETRY_AGAIN);
    assert_int_equal(sq_retry_decide(&p, 2, 0, &d), SQ_RETRY_DEAD);
    assert_int_equal(d, 0);
    p.dead_letter = false;
    assert_int_equal(sq_retry_decide(&p, 2, 0, &d), SQ_RETRY_FAIL);
    p.retryable = false;
    assert_int_equal(sq_retry_decide(&p, 0, 99000, &d), SQ_RETRY_FAIL);
    assert_int_equal(d, 0);
    p.max_retries = 0;
    p.retryable = true;
    assert_int_equal(sq_retry_decide(&p, 0, 0, &d), SQ_RETRY_FAIL);
}

static void
builtin_defaults_by_class(void **state)
{
    struct sq_retry_policy p;
    syncq_config *cfg;
    syncq_error err;
    const int retry[] = {SYNCQ_ERR_NETWORK, SYNCQ_ERR_TIMEOUT,
                         SYNCQ_ERR_RATE_LIMITED, SYNCQ_ERR_HTTP_5XX,
                         SYNCQ_ERR_BLOCKED, SYNCQ_ERR_WORKER_LOST};
    const int final[] = {SYNCQ_ERR_PARSE, SYNCQ_ERR_VALIDATION,
                         SYNCQ_ERR_NOT_FOUND, SYNCQ_ERR_AUTH,
                         SYNCQ_ERR_INTERNAL, SYNCQ_ERR_NOT_REGISTERED,
                         SYNCQ_ERR_REVOKED, SYNCQ_ERR_NONE, 99, -4};

    (void)state;
    unsetenv("SYNCQ_TASK_MAX_RETRIES");
    unsetenv("CELERY_TASK_MAX_RETRIES");
    unsetenv("SYNCQ_RETRY_POLICY_FILE");
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++) {
        assert_int_equal(sq_retry_policy_for(cfg, NULL, NULL, retry[i], -1,
                                             &p, &err),
                         SYNCQ_OK);
        assert_true(p.retryable);
        assert_true(p.jitter);
        assert_true(p.dead_letter);
        assert_int_equal(p.max_retries, 3); /* SYNCQ_TASK_MAX_RETRIES */
        assert_true(p.base_ms > 0);
        assert_true(p.max_ms >= p.base_ms);
        assert_true(p.factor >= 2.0);
    }
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++) {
        assert_int_equal(sq_retry_policy_for(cfg, NULL, NULL, final[i], -1,
                                             &p, &err),
                         SYNCQ_OK);
        assert_false(p.retryable);
        assert_false(p.dead_letter);
        assert_int_equal(sq_retry_decide(&p, 0, 0, NULL), SQ_RETRY_FAIL);
    }
    /* specific values the docs promise */
    sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_NETWORK, -1, &p, &err);
    assert_int_equal(p.base_ms, 2000);
    assert_int_equal(p.max_ms, 300000);
    sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_RATE_LIMITED, -1, &p,
                        &err);
    assert_int_equal(p.base_ms, 10000);
    assert_int_equal(p.max_ms, 900000);
    sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_BLOCKED, -1, &p, &err);
    assert_int_equal(p.base_ms, 300000);
    /* SYNCQ_TASK_MAX_RETRIES feeds the retryable classes */
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_TASK_MAX_RETRIES", "7",
                                      NULL, &err),
                     SYNCQ_OK);
    sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_TIMEOUT, -1, &p, &err);
    assert_int_equal(p.max_retries, 7);
    /* no config at all: 3 */
    assert_int_equal(sq_retry_policy_for(NULL, NULL, NULL, SYNCQ_ERR_TIMEOUT,
                                         -1, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.max_retries, 3);
    syncq_config_free(cfg);
}

static const char *
write_file(const char *name, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", sqt_tmpdir(), name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void
layers_file_task_call_then_max_retries(void **state)
{
    struct sq_retry_policy p;
    syncq_config *cfg;
    syncq_error err;
    const char *path;

    (void)state;
    path = write_file("layers.json",
                      "{\"network\": {\"base\": \"3s\", \"factor\": 3, "
                      "\"max\": 100, \"max_retries\": 4, \"jitter\": false},"
                      " \"validation\": {\"retryable\": true, "
                      "\"max_retries\": 1, \"dead_letter\": true}}");
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_RETRY_POLICY_FILE", path,
                                      NULL, &err),
                     SYNCQ_OK);
    /* the file */
    assert_int_equal(sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_NETWORK,
                                         -1, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.base_ms, 3000);
    assert_true(p.factor == 3.0);
    assert_int_equal(p.max_ms, 100000);
    assert_int_equal(p.max_retries, 4);
    assert_false(p.jitter);
    assert_true(p.dead_letter); /* not in the file: built-in stays */
    assert_int_equal(sq_retry_backoff_ms(&p, 2), 27000);
    sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_VALIDATION, -1, &p, &err);
    assert_true(p.retryable);
    assert_int_equal(p.max_retries, 1);
    /* task registry over the file */
    assert_int_equal(sq_retry_policy_for(cfg, "{\"network\":{\"base_ms\":250}}",
                                         NULL, SYNCQ_ERR_NETWORK, -1, &p,
                                         &err),
                     SYNCQ_OK);
    assert_int_equal(p.base_ms, 250);
    assert_int_equal(p.max_retries, 4);
    /* the call over the task */
    assert_int_equal(sq_retry_policy_for(cfg, "{\"network\":{\"base_ms\":250}}",
                                         "{\"*\":{\"base\":0.5},"
                                         "\"network\":{\"max_retries\":9}}",
                                         SYNCQ_ERR_NETWORK, -1, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.base_ms, 500);
    assert_int_equal(p.max_retries, 9);
    /* the record's max_retries over everything */
    assert_int_equal(sq_retry_policy_for(cfg, NULL, "{\"max_retries\":9}",
                                         SYNCQ_ERR_NETWORK, 2, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.max_retries, 2);
    /* a class entry wins over "*" and top-level fields of the same doc */
    assert_int_equal(sq_retry_policy_for(cfg, NULL,
                                         "{\"network\":{\"factor\":4},"
                                         "\"*\":{\"factor\":5},\"factor\":6}",
                                         SYNCQ_ERR_NETWORK, -1, &p, &err),
                     SYNCQ_OK);
    assert_true(p.factor == 4.0);
    sq_retry_policy_for(cfg, NULL, "{\"network\":{\"factor\":4},\"*\":"
                        "{\"factor\":5},\"factor\":6}",
                        SYNCQ_ERR_TIMEOUT, -1, &p, &err);
    assert_true(p.factor == 5.0);

    /* the file is re-read when it changes (different size) */
    write_file("layers.json", "{\"network\": {\"base\": \"7s\"}}");
    assert_int_equal(sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_NETWORK,
                                         -1, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.base_ms, 7000);
    assert_true(p.jitter);
    /* a broken edit is reported, not silently ignored */
    write_file("layers.json", "{\"network\": {\"base\": }");
    assert_int_equal(sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_NETWORK,
                                         -1, &p, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "policy file"));
    assert_non_null(strstr(err.msg, "layers.json"));
    /* a missing file is EIO naming it */
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_RETRY_POLICY_FILE",
                                      "/nonexistent/policy.json", NULL,
                                      &err),
                     SYNCQ_OK);
    assert_int_equal(sq_retry_policy_for(cfg, NULL, NULL, SYNCQ_ERR_NETWORK,
                                         -1, &p, &err),
                     SYNCQ_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/policy.json"));
    syncq_config_free(cfg);
}

static void
expect_bad(const char *doc, const char *needle)
{
    struct sq_retry_policy p = fixed(1, 2.0, 3, 4, false);
    struct sq_retry_policy before = p;
    syncq_error err;

    assert_int_equal(sq_retry_policy_apply(doc, strlen(doc), "test doc",
                                           SYNCQ_ERR_NETWORK, &p, &err),
                     SYNCQ_EINVAL);
    if (strstr(err.msg, needle) == NULL) {
        fail_msg("'%s' -> '%s' (wanted '%s')", doc, err.msg, needle);
    }
    assert_non_null(strstr(err.msg, "test doc"));
    assert_memory_equal(&p, &before, sizeof p);
}

static void
malformed_documents_are_einval_naming_the_field(void **state)
{
    (void)state;
    expect_bad("{", "not valid JSON");
    expect_bad("[1,2]", "must be a JSON object");
    expect_bad("{\"netwrk\": {}}", "unknown error class \"netwrk\"");
    expect_bad("{\"network\": {\"bas\": 1}}", "unknown field \"bas\"");
    expect_bad("{\"network\": 5}", "expected an object");
    expect_bad("{\"network\": {\"factor\": 0.5}}", "factor");
    expect_bad("{\"network\": {\"factor\": \"2\"}}", "factor");
    expect_bad("{\"network\": {\"base\": -1}}", "out of range");
    expect_bad("{\"network\": {\"base\": \"soon\"}}", "network.base");
    expect_bad("{\"network\": {\"base_ms\": 1.5}}", "milliseconds");
    expect_bad("{\"network\": {\"max\": \"31d\"}}", "out of range");
    expect_bad("{\"network\": {\"max_retries\": 1001}}", "0..1000");
    expect_bad("{\"network\": {\"max_retries\": -1}}", "0..1000");
    expect_bad("{\"network\": {\"jitter\": 1}}", "true or false");
    expect_bad("{\"timeout\": {\"retryable\": \"yes\"}}", "timeout.retryable");
    /* another class's bad entry is an error too, not ignored */
    expect_bad("{\"auth\": {\"factor\": 0}}", "auth.factor");
    expect_bad("{\"network\": {}, \"network\": {}}", "duplicate");
    expect_bad("{\"none\": {}}", "unknown error class");
}

static void
good_document_forms(void **state)
{
    struct sq_retry_policy p = fixed(1, 2.0, 3, 4, false);
    syncq_error err;
    const char *doc = "{\"base\": \"1500ms\", \"max_ms\": 90000, "
                      "\"jitter\": true, \"dead_letter\": false, "
                      "\"rate_limited\": {\"max\": \"1h\"}}";
    json_t *j;

    (void)state;
    assert_int_equal(sq_retry_policy_apply(doc, strlen(doc), "d",
                                           SYNCQ_ERR_RATE_LIMITED, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.base_ms, 1500);
    assert_int_equal(p.max_ms, 3600000);
    assert_true(p.jitter);
    assert_false(p.dead_letter);
    assert_int_equal(p.max_retries, 4);
    j = sq_retry_policy_to_json(&p);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "base_ms")), 1500);
    assert_int_equal(json_integer_value(json_object_get(j, "max_ms")),
                     3600000);
    assert_true(json_is_false(json_object_get(j, "dead_letter")));
    assert_true(json_real_value(json_object_get(j, "factor")) == 2.0);
    json_decref(j);
}

static void
allocation_failures_are_enomem_without_leaks(void **state)
{
    const char *doc = "{\"network\": {\"base\": \"3s\", \"factor\": 3}, "
                      "\"*\": {\"jitter\": false}, \"max_retries\": 2}";
    int ok = 0;

    (void)state;
    for (long n = 1; n < 200 && !ok; n++) {
        struct sq_retry_policy p = fixed(1, 2.0, 3, 4, true);
        syncq_error err;
        int rc;
        sq_alloc_fail_at(n);
        rc = sq_retry_policy_apply(doc, strlen(doc), "oom doc",
                                   SYNCQ_ERR_NETWORK, &p, &err);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_OK) {
            assert_int_equal(p.base_ms, 3000);
            assert_false(p.jitter);
            assert_int_equal(p.max_retries, 2);
            ok = 1;
        } else {
            assert_int_equal(rc, SYNCQ_ENOMEM);
            assert_int_equal(p.base_ms, 1); /* untouched on error */
        }
    }
    assert_true(ok);
}

/* Issue 20: an explicit base above the class's cap is never silently
 * capped: it raises the cap; a base and a smaller max given together are
 * refused; an explicit max below the inherited base caps (asked for). */
static void
explicit_base_above_the_cap_raises_it(void **state)
{
    struct sq_retry_policy p;
    syncq_error err;

    (void)state;
    assert_int_equal(sq_retry_policy_for(NULL, NULL,
                                         "{\"network\":{\"base\":3600,"
                                         "\"factor\":2,\"max_retries\":3,"
                                         "\"jitter\":false}}",
                                         SYNCQ_ERR_NETWORK, -1, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.max_ms, 3600000);
    assert_int_equal(sq_retry_backoff_ms(&p, 0), 3600000);
    assert_int_equal(sq_retry_backoff_ms(&p, 1), 3600000);
    /* a top-level base raises every class's cap, max 0 included */
    assert_int_equal(sq_retry_policy_for(NULL, NULL,
                                         "{\"base\":\"2s\","
                                         "\"retryable\":true}",
                                         SYNCQ_ERR_PARSE, -1, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.max_ms, 2000);
    assert_int_equal(sq_retry_backoff_ms(&p, 0) <= 2000, 1);
    /* an explicit max below the inherited base is the cap asked for */
    assert_int_equal(sq_retry_policy_for(NULL, NULL, "{\"max\":\"1m\"}",
                                         SYNCQ_ERR_BLOCKED, -1, &p, &err),
                     SYNCQ_OK);
    assert_int_equal(p.base_ms, 300000);
    assert_int_equal(p.max_ms, 60000);
    /* both in one entry, contradicting each other: refused */
    assert_int_equal(sq_retry_policy_for(NULL, NULL,
                                         "{\"network\":{\"base\":3600,"
                                         "\"max\":300}}",
                                         SYNCQ_ERR_TIMEOUT, -1, &p, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "network: base 1h00m is larger than max 5m00s"));
    assert_int_equal(sq_retry_policy_for(NULL, NULL,
                                         "{\"base\":10,\"max\":5}",
                                         SYNCQ_ERR_TIMEOUT, -1, &p, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "(top level): base"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schedule_1_2_4_to_60_without_jitter),
        cmocka_unit_test(c33_gaps_are_exponential_not_linear),
        cmocka_unit_test(fractional_factor_rounds_to_ms),
        cmocka_unit_test(full_jitter_stays_in_zero_to_cap),
        cmocka_unit_test(retry_after_raises_the_delay_never_lowers_it),
        cmocka_unit_test(exhaustion_fails_or_dead_letters),
        cmocka_unit_test(builtin_defaults_by_class),
        cmocka_unit_test(layers_file_task_call_then_max_retries),
        cmocka_unit_test(malformed_documents_are_einval_naming_the_field),
        cmocka_unit_test(good_document_forms),
        cmocka_unit_test(explicit_base_above_the_cap_raises_it),
        cmocka_unit_test(allocation_failures_are_enomem_without_leaks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
