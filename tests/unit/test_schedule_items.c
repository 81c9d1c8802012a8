/* SPDX-License-Identifier: MIT
 *
 * test_schedule_items.c: the batch items parser and the rate parser of
 * syncq/schedule.h (syncq_batch_items_parse, syncq_rate_parse): every
 * accepted file form, its limits and its errors.
 */
#include "sq_test.h"

#include "sq_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/schedule.h>

static json_t *
parse_ok(const char *text, size_t len)
{
    json_t *items = NULL;
    syncq_error err;

    if (syncq_batch_items_parse(text, len, &items, &err) != SYNCQ_OK) {
        fail_msg("'%.40s' refused: %s", text, err.msg);
    }
    assert_true(json_is_array(items));
    return items;
}

static void
assert_items(json_t *items, const char *want_json)
{
    json_t *want = json_loads(want_json, JSON_DECODE_ANY, NULL);

    assert_non_null(want);
    if (!json_equal(items, want)) {
        char *got = json_dumps(items, JSON_COMPACT);
        fail_msg("items %s, want %s", got, want_json);
    }
    json_decref(want);
}

static void
json_array_form(void **state)
{
    json_t *items;
    const char *t = "  \n[1, \"two\", {\"offer_id\": \"610947572360\"}, null]";

    (void)state;
    items = parse_ok(t, strlen(t));
    assert_items(items, "[1,\"two\",{\"offer_id\":\"610947572360\"},null]");
    json_decref(items);
    items = parse_ok("[]", 2);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    /* a byte order mark is skipped */
    items = parse_ok("\xef\xbb\xbf[1]", 6);
    assert_items(items, "[1]");
    json_decref(items);
}

static void
one_item_per_line(void **state)
{
    const char *t = "1\n2.5\n\n\"x\"\r\n{\"a\": 1}\nhello world\n[1, 2]\n"
                    "  \t \n610947572360\ntrue\n\xe5\xa5\xb3\xe8\xa3\x85\n"
                    "last-without-newline";
    json_t *items;

    (void)state;
    items = parse_ok(t, strlen(t));
    assert_items(items, "[1, 2.5, \"x\", {\"a\": 1}, \"hello world\", [1, 2],"
                        " 610947572360, true, \"\\u5973\\u88c5\","
                        " \"last-without-newline\"]");
    json_decref(items);
    /* an array on the first line of a line file is one item */
    items = parse_ok("[1, 2]\n[3]\n", 11);
    assert_items(items, "[[1, 2], [3]]");
    json_decref(items);
    /* nothing at all: no items */
    items = parse_ok("\n\n  \n", 5);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    items = parse_ok("", 0);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
}

static void
bad_items_are_refused(void **state)
{
    struct {
        const char *text;
        size_t len;
        const char *msg;
    } bad[] = {
        {"[1, 2,", 6, "not a valid JSON array"},
        {"[1, 2\n3]", 8, "not a valid JSON array"},
        {"1\n\0002\n", 5, "NUL byte"},
        {"ok\n\xff\xfe\n", 6, "line 2 is not valid UTF-8"},
        {"{\"a\":1}\n{\"a\":\nid-3\n", 19, "line 2 is not valid JSON"},
        {"x\n\"unterminated\n", 15, "line 2 is not valid JSON"},
        {"1\n[1, 2\n", 8, "line 2 is not valid JSON"},
    };
    json_t *items = NULL;
    syncq_error err;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            syncq_batch_items_parse(bad[i].text, bad[i].len, &items, &err),
            SYNCQ_EINVAL);
        assert_null(items);
        if (strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].msg);
        }
    }
    assert_int_equal(syncq_batch_items_parse(NULL, 0, &items, &err),
                     SYNCQ_EINVAL);
}

static void
big_line_files(void **state)
{
    size_t n = 200000, cap = n * 12, k = 0;
    char *t = malloc(cap);
    json_t *items;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        k += (size_t)snprintf(t + k, cap - k, "%zu\n", i);
    }
    items = parse_ok(t, k);
    assert_int_equal(json_array_size(items), n);
    assert_int_equal(json_integer_value(json_array_get(items, n - 1)),
                     (json_int_t)(n - 1));
    json_decref(items);
    free(t);
}

static void
allocation_failures_are_clean(void **state)
{
    const char *t = "1\n2\nthree\n{\"four\": 4}\n";

    (void)state;
    for (long k = 1; k < 60; k++) {
        json_t *items = NULL;
        syncq_error err;
        int rc;
        sq_alloc_fail_at(k);
        rc = syncq_batch_items_parse(t, strlen(t), &items, &err);
        sq_alloc_fail_at(0);
        if (rc == SYNCQ_OK) {
            assert_int_equal(json_array_size(items), 4);
            json_decref(items);
            return;
        }
        /* jansson reports its allocation failures as parse errors */
        assert_true(rc == SYNCQ_ENOMEM || rc == SYNCQ_EINVAL);
        assert_null(items);
    }
    fail_msg("parse never succeeded");
}

static void
rates(void **state)
{
    static const struct {
        const char *s;
        int n;
        long long ms;
    } ok[] = {{"5", 5, 1000},
              {"5/s", 5, 1000},
              {"20/sec", 20, 1000},
              {"100/m", 100, 60000},
              {"3/min", 3, 60000},
              {"7/h", 7, 3600000},
              {"1000000/hour", 1000000, 3600000},
              {"5 /s", 5, 1000}, /* the grammar of SYNCQ_CRAWLER_RATE */
              {"20/10s", 20, 10000}};
    static const char *const bad[] = {"",
                                      "0",
                                      "0/s",
                                      "-1/s",
                                      "5/d",
                                      "5/",
                                      "s",
                                      "1000001/s",
                                      "5/ss",
                                      "99999999999999999999/s"};
    int n;
    int64_t ms;
    syncq_error err;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(syncq_rate_parse(ok[i].s, &n, &ms, &err), SYNCQ_OK);
        assert_int_equal(n, ok[i].n);
        assert_int_equal(ms, ok[i].ms);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (syncq_rate_parse(bad[i], &n, &ms, &err) != SYNCQ_EINVAL) {
            fail_msg("rate '%s' accepted", bad[i]);
        }
    }
    assert_int_equal(syncq_rate_parse(NULL, &n, &ms, &err), SYNCQ_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_array_form),
        cmocka_unit_test(one_item_per_line),
        cmocka_unit_test(bad_items_are_refused),
        cmocka_unit_test(big_line_files),
        cmocka_unit_test(allocation_failures_are_clean),
        cmocka_unit_test(rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
