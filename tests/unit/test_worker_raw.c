/* SPDX-License-Identifier: MIT
 *
 * test_worker_raw.c: what the worker does with queue entries that are not
 * task ids (C36): reason codes for empty, invalid UTF-8, non-JSON, JSON
 * without a task, unknown tasks and vanished ids; adoption of Celery
 * envelopes (the real fixture) and plain {"task": ...} messages naming a
 * registered task.
 */
#include "sq_test.h"

#include "worker/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum sq_raw_kind
classify(const char *s, size_t n, const syncq_registry *r,
         struct sq_raw_task *t, const char **reason)
{
    return sq_raw_classify(s, n, r, t, reason);
}

static void
poison_kinds_have_reason_codes(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        enum sq_raw_kind kind;
        const char *reason;
    } cases[] = {
        {"", 0, SQ_RAW_EMPTY, "empty"},
        {"\xff\xfe\xfd", 3, SQ_RAW_INVALID_UTF8, "invalid_utf8"},
        {"a\0b", 3, SQ_RAW_INVALID_UTF8, "invalid_utf8"},
        {"not json", 8, SQ_RAW_NOT_JSON, "not_json"},
        {"{}", 2, SQ_RAW_BAD_ENVELOPE, "bad_envelope"},
        {"[1,2]", 5, SQ_RAW_BAD_ENVELOPE, "bad_envelope"},
        {"\"str\"", 5, SQ_RAW_BAD_ENVELOPE, "bad_envelope"},
        {"{\"task\":\"no such name!\"}", 24, SQ_RAW_BAD_ENVELOPE,
         "bad_envelope"},
        {"{\"task\":\"syncq.echo\",\"args\":{}}", 31, SQ_RAW_BAD_ENVELOPE,
         "bad_envelope"},
        {"{\"task\":\"crawler.unknown_thing\"}", 32, SQ_RAW_NOT_REGISTERED,
         "not_registered"},
        {"0f6c3e0e-8d7e-4a4c-9d1a-3b2f1e0d9c8b", 36, SQ_RAW_UNKNOWN_ID,
         "unknown_id"},
    };
    syncq_registry *r = syncq_registry_default();

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sq_raw_task t;
        const char *reason = NULL;
        enum sq_raw_kind k = classify(cases[i].bytes, cases[i].len, r, &t,
                                      &reason);
        if (k != cases[i].kind || strcmp(reason, cases[i].reason) != 0) {
            fail_msg("case %zu: kind %d reason %s, want %d %s", i, (int)k,
                     reason, (int)cases[i].kind, cases[i].reason);
        }
        assert_null(t.args_json);
    }
}

static void
plain_envelope_of_a_registered_task_is_adopted(void **state)
{
    const char *m = "{\"task\":\"syncq.echo\",\"id\":\"0f6c3e0e-8d7e-4a4c-"
                    "9d1a-3b2f1e0d9c8b\",\"kwargs\":{\"t\":\"女装\"}}";
    struct sq_raw_task t;
    const char *reason;

    (void)state;
    assert_int_equal(classify(m, strlen(m), syncq_registry_default(), &t,
                              &reason),
                     SQ_RAW_ADOPT);
    assert_string_equal(t.name, "syncq.echo");
    assert_string_equal(t.id, "0f6c3e0e-8d7e-4a4c-9d1a-3b2f1e0d9c8b");
    assert_string_equal(t.args_json, "[]");
    assert_string_equal(t.kwargs_json, "{\"t\":\"女装\"}");
    sq_raw_task_cleanup(&t);
    /* no registry: every named task counts as unknown */
    assert_int_equal(classify(m, strlen(m), NULL, &t, &reason),
                     SQ_RAW_NOT_REGISTERED);
}

static void
celery_fixture_envelope(void **state)
{
    size_t len = 0;
    char *raw = sqt_read_file(sqt_fixture("celery-wire/"
                                          "msg_plain_fetch_products.json"),
                              &len);
    struct sq_raw_task t;
    const char *reason;
    char *edited;
    char *p;

    (void)state;
    assert_non_null(raw);
    /* crawler.fetch_products is not in this registry: not_registered */
    assert_int_equal(classify(raw, len, NULL, &t, &reason),
                     SQ_RAW_NOT_REGISTERED);
    assert_string_equal(reason, "not_registered");
    /* the same message naming a registered task is adopted, with its
     * base64 body decoded into args and kwargs */
    edited = malloc(len + 16);
    p = strstr(raw, "src.queue.tasks.crawler.fetch_products");
    assert_non_null(p);
    snprintf(edited, len + 16, "%.*ssyncq.echo%s", (int)(p - raw), raw,
             p + strlen("src.queue.tasks.crawler.fetch_products"));
    assert_int_equal(classify(edited, strlen(edited),
                              syncq_registry_default(), &t, &reason),
                     SQ_RAW_ADOPT);
    assert_string_equal(t.name, "syncq.echo");
    assert_string_equal(t.id, "26a7b4a3-9eff-4133-86b3-23eb7baa2aef");
    assert_string_equal(t.args_json, "[]");
    assert_string_equal(t.kwargs_json,
                        "{\"category_id\":\"123\",\"page_size\":50}");
    sq_raw_task_cleanup(&t);
    /* a body that is not base64 of [args, kwargs, embed] is poison */
    p = strstr(edited, "\"body\": \"W1td");
    assert_non_null(p);
    p[9] = '!';
    assert_int_equal(classify(edited, strlen(edited),
                              syncq_registry_default(), &t, &reason),
                     SQ_RAW_BAD_ENVELOPE);
    free(edited);
    free(raw);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poison_kinds_have_reason_codes),
        cmocka_unit_test(plain_envelope_of_a_registered_task_is_adopted),
        cmocka_unit_test(celery_fixture_envelope),
    };

    sqt_register_packs();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
