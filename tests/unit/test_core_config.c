/* SPDX-License-Identifier: MIT
 *
 * test_core_config.c: settings table, .env parsing, environment and alias
 * precedence, validation messages, secret masking.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "core/sq_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char envpath[256];

static void
write_env(const char *text)
{
    FILE *f;

    snprintf(envpath, sizeof envpath, "%s/test.env", sqt_tmpdir());
    f = fopen(envpath, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
clear_env(void)
{
    unsetenv("SYNCQ_WORKER_CONCURRENCY");
    unsetenv("CELERY_WORKER_CONCURRENCY");
    unsetenv("SYNCQ_BROKER_URL");
    unsetenv("CELERY_BROKER_URL");
    unsetenv("SYNCQ_TASK_TIME_LIMIT");
}

static void
defaults_are_documented_values(void **state)
{
    syncq_config *cfg;

    (void)state;
    clear_env();
    assert_int_equal(syncq_config_new(&cfg, NULL), SYNCQ_OK);
    assert_int_equal(syncq_config_int(cfg, "SYNCQ_WORKER_CONCURRENCY"), 4);
    assert_int_equal(syncq_config_ms(cfg, "SYNCQ_TASK_TIME_LIMIT"), 1800000);
    assert_int_equal(syncq_config_ms(cfg, "SYNCQ_TASK_SOFT_TIME_LIMIT"),
                     1500000);
    assert_int_equal(syncq_config_ms(cfg, "SYNCQ_RESULT_EXPIRES"), 86400000);
    assert_int_equal(syncq_config_int(cfg, "SYNCQ_MAX_PAYLOAD"), 8 << 20);
    assert_string_equal(syncq_config_str(cfg, "SYNCQ_TIMEZONE"),
                        "Asia/Shanghai");
    assert_string_equal(syncq_config_source(cfg, "SYNCQ_TIMEZONE"),
                        "default");
    syncq_config_free(cfg);
}

static void
dotenv_then_environment_then_flag(void **state)
{
    syncq_config *cfg;
    syncq_error err;

    (void)state;
    clear_env();
    write_env("# comment\n"
              "export SYNCQ_WORKER_CONCURRENCY=6\n"
              "SYNCQ_TASK_TIME_LIMIT = \"90s\"  \n"
              "CELERY_BROKER_URL='redis://:pw@h:1/2' # trailing comment\n"
              "OTHER_PROGRAM_KEY=ignored\n");
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_load(cfg, envpath, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_int(cfg, "SYNCQ_WORKER_CONCURRENCY"), 6);
    assert_string_equal(syncq_config_source(cfg, "SYNCQ_WORKER_CONCURRENCY"),
                        ".env line 2");
    assert_int_equal(syncq_config_ms(cfg, "SYNCQ_TASK_TIME_LIMIT"), 90000);
    assert_string_equal(syncq_config_str(cfg, "SYNCQ_BROKER_URL"),
                        "redis://:pw@h:1/2");
    /* environment wins over .env; both names set to different values in
     * the environment contradict each other (issue 20) */
    setenv("CELERY_WORKER_CONCURRENCY", "9", 1);
    assert_int_equal(syncq_config_load(cfg, envpath, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_int(cfg, "SYNCQ_WORKER_CONCURRENCY"), 9);
    setenv("SYNCQ_WORKER_CONCURRENCY", "3", 1);
    assert_int_equal(syncq_config_load(cfg, envpath, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_WORKER_CONCURRENCY and "
                                    "CELERY_WORKER_CONCURRENCY name one "
                                    "setting"));
    setenv("CELERY_WORKER_CONCURRENCY", "3", 1);
    assert_int_equal(syncq_config_load(cfg, envpath, &err), SYNCQ_OK);
    assert_int_equal(syncq_config_int(cfg, "SYNCQ_WORKER_CONCURRENCY"), 3);
    assert_string_equal(syncq_config_source(cfg, "SYNCQ_WORKER_CONCURRENCY"),
                        "environment");
    /* a flag wins over everything */
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_WORKER_CONCURRENCY", "2",
                                      "-c", &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_config_int(cfg, "SYNCQ_WORKER_CONCURRENCY"), 2);
    assert_string_equal(syncq_config_source(cfg, "SYNCQ_WORKER_CONCURRENCY"),
                        "-c");
    clear_env();
    syncq_config_free(cfg);
}

static void
bad_values_name_key_source_and_range(void **state)
{
    syncq_config *cfg;
    syncq_error err;

    (void)state;
    clear_env();
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    write_env("SYNCQ_WORKER_CONCURRENCY=0\n");
    assert_int_equal(syncq_config_load(cfg, envpath, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_WORKER_CONCURRENCY"));
    assert_non_null(strstr(err.msg, ".env line 1"));
    assert_non_null(strstr(err.msg, "1..1024"));
    /* never clamped: the old value stays */
    assert_int_equal(syncq_config_int(cfg, "SYNCQ_WORKER_CONCURRENCY"), 4);

    setenv("SYNCQ_TASK_TIME_LIMIT", "soon", 1);
    assert_int_equal(syncq_config_load(cfg, "/dev/null", &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_TASK_TIME_LIMIT (environment)"));
    unsetenv("SYNCQ_TASK_TIME_LIMIT");

    assert_int_equal(syncq_config_set(cfg, "SYNCQ_LOG_FORMAT", "xml", "--f",
                                      &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "text|json"));
    assert_int_equal(syncq_config_set(cfg, "NO_SUCH_KEY", "1", NULL, &err),
                     SYNCQ_ENOTFOUND);

    write_env("SYNCQ_WORKER_CONCURRENCY 5\n");
    assert_int_equal(syncq_config_load(cfg, envpath, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "line 1"));
    write_env("SYNCQ_TIMEZONE=\"Asia/Shanghai\n");
    assert_int_equal(syncq_config_load(cfg, envpath, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "unterminated"));
    assert_int_equal(syncq_config_load(cfg, "/nonexistent/.env", &err),
                     SYNCQ_EIO);
    syncq_config_free(cfg);
}

/* Settings with a syntax of their own are checked when loaded, so a typo
 * stops the CLI at start instead of failing tasks later. */
static void
text_settings_checked_at_load(void **state)
{
    syncq_config *cfg;
    syncq_error err;

    (void)state;
    clear_env();
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    write_env("SYNCQ_CRAWLER_RATE=fast\n");
    assert_int_equal(syncq_config_load(cfg, envpath, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_CRAWLER_RATE (.env line 1)"));
    assert_non_null(strstr(err.msg, "rate 'fast'"));
    assert_string_equal(syncq_config_str(cfg, "SYNCQ_CRAWLER_RATE"), "20/s");

    assert_int_equal(syncq_config_set(cfg, "SYNCQ_THUMBNAIL_SIZES",
                                      "220x220,big", "--sizes", &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "size 'big' is not WxH"));
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_THUMBNAIL_SIZES", "8x8",
                                      "--sizes", &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_THUMBNAIL_SIZES", " , ",
                                      "--sizes", &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "no size given"));
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_THUMBNAIL_SIZES",
                                      "100x100 50X50", "--sizes", &err),
                     SYNCQ_OK);

    assert_int_equal(syncq_config_set(cfg, "SYNCQ_TIMEZONE", "Mars/Base",
                                      "--tz", &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "SYNCQ_TIMEZONE (--tz)"));
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_TIMEZONE", "", "--tz",
                                      &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "empty; use an IANA zone name"));
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_TIMEZONE", "../etc/passwd",
                                      "--tz", &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_TIMEZONE", "Europe/Berlin",
                                      "--tz", &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_CRAWLER_RATE", "20/10s",
                                      NULL, &err),
                     SYNCQ_OK);
    syncq_config_free(cfg);
}

struct seen {
    char broker[256];
    int count;
};

static void
visit(void *ud, const char *key, const char *alias, const char *value,
      const char *source, const char *def, const char *doc)
{
    struct seen *s = ud;

    (void)alias;
    (void)source;
    (void)def;
    assert_non_null(doc);
    s->count++;
    if (strcmp(key, "SYNCQ_BROKER_URL") == 0) {
        snprintf(s->broker, sizeof s->broker, "%s", value);
    }
    if (strcmp(key, "SYNCQ_1688_APP_SECRET") == 0) {
        assert_string_equal(value, "****");
    }
}

static void
foreach_masks_secrets(void **state)
{
    syncq_config *cfg;
    struct seen s = {"", 0};

    (void)state;
    clear_env();
    assert_int_equal(syncq_config_new(&cfg, NULL), SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_BROKER_URL",
                                      "redis://:hunter2@h:1/0", NULL, NULL),
                     SYNCQ_OK);
    assert_int_equal(syncq_config_set(cfg, "SYNCQ_1688_APP_SECRET", "abc",
                                      NULL, NULL),
                     SYNCQ_OK);
    syncq_config_foreach(cfg, visit, &s);
    assert_int_equal((size_t)s.count, sq_cfg_ndefs);
    assert_string_equal(s.broker, "redis://:****@h:1/0");
    syncq_config_free(cfg);
}

static void
config_new_survives_every_allocation_failure(void **state)
{
    (void)state;
    for (long n = 1; n < 10000; n++) {
        syncq_config *cfg = NULL;
        syncq_error err;
        int rc;
        sq_alloc_fail_at(n);
        rc = syncq_config_new(&cfg, &err);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_OK) {
            assert_non_null(cfg);
            syncq_config_free(cfg);
            assert_true(n > 10);
            return;
        }
        assert_int_equal(rc, SYNCQ_ENOMEM);
        assert_null(cfg);
    }
    fail_msg("config_new never succeeded");
}

/* Issue 20: names that are no settings, Celery settings syncq lacks,
 * conflicting pairs, a foreign result backend and an --env-file that is
 * not a file are errors naming the problem. */
static void
expect_load_fails(const char *envtext, const char *needle)
{
    syncq_config *cfg;
    syncq_error err;

    if (envtext != NULL) {
        write_env(envtext);
    }
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    if (syncq_config_load(cfg, envpath, &err) == SYNCQ_OK) {
        fail_msg("loaded, want an error with '%s'", needle);
    }
    if (strstr(err.msg, needle) == NULL) {
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
    }
    syncq_config_free(cfg);
}

static void
expect_load_ok(const char *envtext)
{
    syncq_config *cfg;
    syncq_error err;

    write_env(envtext);
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    if (syncq_config_load(cfg, envpath, &err) != SYNCQ_OK) {
        fail_msg("'%s': %s", envtext, err.msg);
    }
    syncq_config_free(cfg);
}

static void
unknown_names_and_contradictions_are_refused(void **state)
{
    char dir[300];

    (void)state;
    clear_env();
    expect_load_fails("SYNCQ_WORKER_CONCURENCY=4\n",
                      "SYNCQ_WORKER_CONCURENCY (.env line 1): unknown "
                      "setting; did you mean SYNCQ_WORKER_CONCURRENCY?");
    expect_load_fails("SYNCQ_FOO=1\n", "SYNCQ_FOO (.env line 1): unknown");
    expect_load_fails("CELERY_TASK_ACKS_LATE=false\n",
                      "CELERY_TASK_ACKS_LATE (.env line 1): Celery setting "
                      "not supported: syncq always acknowledges late");
    expect_load_fails("CELERY_TASK_SERIALIZER=pickle\n",
                      "CELERY_TASK_SERIALIZER (.env line 1): Celery setting "
                      "not supported: syncq always uses JSON");
    expect_load_fails("CELERY_TASK_ROUTES=x\n", "route with `--queue`");
    /* values that ask for what syncq does anyway are accepted */
    expect_load_ok("CELERY_TASK_ACKS_LATE=True\nCELERY_TASK_SERIALIZER=json\n"
                   "CELERY_RESULT_SERIALIZER=json\nCELERY_ENABLE_UTC=1\n"
                   "CELERY_ACCEPT_CONTENT=['json']\n"
                   "CELERY_TASK_ALWAYS_EAGER=false\n"
                   "CELERY_WORKER_POOL=prefork\n");
    expect_load_fails("CELERY_BROKER_USE_SSL=true\n",
                      "CELERY_BROKER_USE_SSL (.env line 1): Celery setting "
                      "not supported: use a rediss:// URL");
    expect_load_fails("CELERY_WORKER_CONCURENCY=2\n",
                      "did you mean CELERY_WORKER_CONCURRENCY?");
    expect_load_fails("SYNCQ_WORKER_CONCURRENCY=2\n"
                      "CELERY_WORKER_CONCURRENCY=3\n",
                      "CELERY_WORKER_CONCURRENCY (.env line 2) and "
                      "SYNCQ_WORKER_CONCURRENCY (.env line 1) name one "
                      "setting");
    expect_load_ok("SYNCQ_WORKER_CONCURRENCY=2\nCELERY_WORKER_CONCURRENCY=2\n"
                   "OTHER_PROGRAM=1\n");
    expect_load_fails("CELERY_RESULT_BACKEND=redis://elsewhere:6379/0\n",
                      "SYNCQ_RESULT_BACKEND (.env line 1): results live "
                      "with the task record");
    expect_load_fails("SYNCQ_BROKER_URL=redis://h:1/2\n"
                      "CELERY_RESULT_BACKEND=redis://h:1/3\n",
                      "leave it empty or name the broker's Redis");
    expect_load_ok("SYNCQ_BROKER_URL=redis://h:1/2\n"
                   "CELERY_RESULT_BACKEND=redis://h:1/2\n");
    expect_load_fails("SYNCQ_TASK_TIME_LIMIT=60\n"
                      "SYNCQ_TASK_SOFT_TIME_LIMIT=90\n",
                      "SYNCQ_TASK_SOFT_TIME_LIMIT (90000 ms) must be below");
    /* the environment: settings-shaped names only */
    expect_load_ok("\n");
    setenv("SYNCQ_TEST_SOMETHING", "1", 1);
    setenv("SYNCQ_REDIS_SOCK", "/tmp/x.sock", 1);
    expect_load_ok("\n");
    setenv("SYNCQ_WORKER_PREFETCH_MULTIPLIER", "4", 1);
    expect_load_fails(NULL, "SYNCQ_WORKER_PREFETCH_MULTIPLIER (environment): "
                            "unknown setting; did you mean "
                            "SYNCQ_WORKER_PREFETCH?");
    unsetenv("SYNCQ_WORKER_PREFETCH_MULTIPLIER");
    setenv("SYNCQ_LOG_LEVLE", "info", 1);
    expect_load_fails(NULL, "did you mean SYNCQ_LOG_LEVEL?");
    unsetenv("SYNCQ_LOG_LEVLE");
    setenv("CELERY_TASK_SERIALIZER", "msgpack", 1);
    expect_load_fails(NULL, "Celery setting not supported: syncq always "
                            "uses JSON");
    unsetenv("CELERY_TASK_SERIALIZER");
    unsetenv("SYNCQ_TEST_SOMETHING");
    unsetenv("SYNCQ_REDIS_SOCK");
    /* --env-file naming a directory or a missing file */
    snprintf(dir, sizeof dir, "%s", sqt_tmpdir());
    snprintf(envpath, sizeof envpath, "%s", dir);
    expect_load_fails(NULL, "a directory, not a .env file");
    snprintf(envpath, sizeof envpath, "%s/missing.env", dir);
    expect_load_fails(NULL, "missing.env");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test(dotenv_then_environment_then_flag),
        cmocka_unit_test(unknown_names_and_contradictions_are_refused),
        cmocka_unit_test(bad_values_name_key_source_and_range),
        cmocka_unit_test(text_settings_checked_at_load),
        cmocka_unit_test(foreach_masks_secrets),
        cmocka_unit_test(config_new_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
