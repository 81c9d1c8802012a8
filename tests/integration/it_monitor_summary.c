/* SPDX-License-Identifier: MIT
 *
 * it_monitor_summary.c: syncq/summary.h against a real Redis
 * (run-with-redis.sh): a summary is stored with published_at and read
 * back whole, a key is replaced, deleted; the bounds (kind and key
 * syntax, not an object, over SYNCQ_SUMMARY_MAX_BYTES, a new key past
 * SYNCQ_SUMMARY_MAX_KEYS) are refused with their error and store
 * nothing; a value written around the API is skipped on read.
 */
#include "it_monitor_util.h"

#include <stdio.h>
#include <string.h>
#include <syncq/summary.h>

static void
put_get_replace_delete(void **state)
{
    syncq_client *c;
    json_t *all = NULL, *s;
    syncq_error e;

    (void)state;
    sqt_flush();
    c = sqt_client();
    s = json_pack("{s:i,s:s}", "offers", 12, "name", "服装");
    assert_int_equal(syncq_summary_put(c, "catalog", "101", s, &e), SYNCQ_OK);
    assert_int_equal(json_object_size(s), 2); /* the caller's is unchanged */
    json_object_set_new(s, "offers", json_integer(13));
    assert_int_equal(syncq_summary_put(c, "catalog", "101", s, &e), SYNCQ_OK);
    assert_int_equal(syncq_summary_put(c, "catalog", "102", s, &e), SYNCQ_OK);
    json_decref(s);
    assert_int_equal(syncq_summary_get(c, "catalog", &all, &e), SYNCQ_OK);
    assert_int_equal(json_object_size(all), 2);
    s = json_object_get(all, "101");
    assert_int_equal(json_integer_value(json_object_get(s, "offers")), 13);
    assert_string_equal(json_string_value(json_object_get(s, "name")), "服装");
    /* 2026-12-07T08:20:03.644Z */
    assert_int_equal(strlen(json_string_value(json_object_get(s, "published_at"))), 24);
    json_decref(all);
    assert_int_equal(syncq_summary_del(c, "catalog", "101", &e), SYNCQ_OK);
    assert_int_equal(syncq_summary_del(c, "catalog", "101", &e), SYNCQ_OK);
    assert_int_equal(syncq_summary_get(c, "catalog", &all, &e), SYNCQ_OK);
    assert_int_equal(json_object_size(all), 1);
    json_decref(all);
    assert_int_equal(syncq_summary_get(c, "other", &all, &e), SYNCQ_OK);
    assert_int_equal(json_object_size(all), 0);
    json_decref(all);
    syncq_client_close(c);
}

static void
bounds_refused(void **state)
{
    syncq_client *c;
    json_t *s = json_pack("{s:i}", "n", 1), *big, *all = NULL, *arr;
    char key[200], *pad;
    syncq_error e;
    redisReply *r = NULL;

    (void)state;
    sqt_flush();
    c = sqt_client();
    assert_int_equal(syncq_summary_put(c, "Catalog", "1", s, &e), SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "summary kind 'Catalog'"));
    assert_int_equal(syncq_summary_put(c, "", "1", s, &e), SYNCQ_EINVAL);
    assert_int_equal(syncq_summary_put(c, "a23456789012345678901234567890123",
                                       "1", s, &e), SYNCQ_EINVAL);
    assert_int_equal(syncq_summary_put(c, "catalog", "", s, &e), SYNCQ_EINVAL);
    assert_int_equal(syncq_summary_put(c, "catalog", "a\nb", s, &e),
                     SYNCQ_EINVAL);
    memset(key, 'k', 129);
    key[129] = '\0';
    assert_int_equal(syncq_summary_put(c, "catalog", key, s, &e), SYNCQ_EINVAL);
    arr = json_array();
    assert_int_equal(syncq_summary_put(c, "catalog", "1", arr, &e),
                     SYNCQ_EINVAL);
    json_decref(arr);
    pad = calloc(1, SYNCQ_SUMMARY_MAX_BYTES + 1);
    memset(pad, 'x', SYNCQ_SUMMARY_MAX_BYTES);
    big = json_pack("{s:s}", "pad", pad);
    assert_int_equal(syncq_summary_put(c, "catalog", "1", big, &e),
                     SYNCQ_ETOOBIG);
    json_decref(big);
    free(pad);
    for (int i = 0; i < SYNCQ_SUMMARY_MAX_KEYS; i++) {
        snprintf(key, sizeof key, "%d", i);
        assert_int_equal(syncq_summary_put(c, "many", key, s, &e), SYNCQ_OK);
    }
    assert_int_equal(syncq_summary_put(c, "many", "one-more", s, &e),
                     SYNCQ_ETOOBIG);
    assert_int_equal(syncq_summary_put(c, "many", "7", s, &e), SYNCQ_OK);
    assert_int_equal(syncq_summary_get(c, "many", &all, &e), SYNCQ_OK);
    assert_int_equal(json_object_size(all), SYNCQ_SUMMARY_MAX_KEYS);
    assert_null(json_object_get(all, "one-more"));
    json_decref(all);
    /* a value written around the API is skipped */
    assert_int_equal(sq_client_cmd(c, &r, &e, "HSET %s x notjson",
                                   sq_key(c, key, sizeof key,
                                          "summary:catalog")), SYNCQ_OK);
    freeReplyObject(r);
    assert_int_equal(syncq_summary_get(c, "catalog", &all, &e), SYNCQ_OK);
    assert_int_equal(json_object_size(all), 0);
    json_decref(all);
    json_decref(s);
    syncq_client_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_replace_delete),
        cmocka_unit_test(bounds_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
