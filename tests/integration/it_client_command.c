/* SPDX-License-Identifier: MIT
 *
 * it_client_command.c: syncq_client_command (syncq/client.h), the Redis
 * command a task pack or plugin runs on its task's client: each reply
 * type as JSON, binary-safe arguments, and the errors (an error reply,
 * text that is not UTF-8, bad arguments) with what they say.
 */
#include "sq_test.h"

#include <string.h>

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    sqt_flush();
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

static json_t *
run(int argc, const char *const *argv, const size_t *lens)
{
    json_t *reply = NULL;
    syncq_error err;

    if (syncq_client_command(cl, argc, argv, lens, &reply, &err) !=
        SYNCQ_OK) {
        fail_msg("%s: %s", argv[0], err.msg);
    }
    return reply;
}

static void
replies_become_json(void **state)
{
    const char *push[] = {"RPUSH", "pk:log", "a", "b"};
    const char *range[] = {"LRANGE", "pk:log", "0", "-1"};
    const char *get[] = {"GET", "pk:none"};
    const char *set[] = {"SET", "pk:s", "v"};
    json_t *r;

    (void)state;
    r = run(4, push, NULL);
    assert_true(json_is_integer(r));
    assert_int_equal(json_integer_value(r), 2);
    json_decref(r);
    r = run(4, range, NULL);
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_array_get(r, 0)), "a");
    assert_string_equal(json_string_value(json_array_get(r, 1)), "b");
    json_decref(r);
    r = run(2, get, NULL);
    assert_true(json_is_null(r));
    json_decref(r);
    r = run(3, set, NULL);
    assert_string_equal(json_string_value(r), "OK");
    json_decref(r);
    /* the reply may be dropped */
    assert_int_equal(syncq_client_command(cl, 4, push, NULL, NULL, NULL),
                     SYNCQ_OK);
    assert_int_equal(sqt_cmd_int("LLEN pk:log"), 4);
}

static void
arguments_are_binary_safe(void **state)
{
    const char *set[] = {"SET", "pk:bin", "x\0y"};
    const size_t lens[] = {3, 6, 3};
    const char *strlen_[] = {"STRLEN", "pk:bin"};
    const char *get[] = {"GET", "pk:bin"};
    json_t *r;
    syncq_error err;

    (void)state;
    json_decref(run(3, set, lens));
    r = run(2, strlen_, NULL);
    assert_int_equal(json_integer_value(r), 3);
    json_decref(r);
    /* a NUL byte is not text: refused, not cut */
    r = NULL;
    assert_int_equal(syncq_client_command(cl, 2, get, NULL, &r, &err),
                     SYNCQ_EPROTO);
    assert_null(r);
    assert_non_null(strstr(err.msg, "not UTF-8 text (3 bytes)"));
}

static void
errors_say_what_failed(void **state)
{
    const char *bad[] = {"NOSUCHCOMMAND", "x"};
    const char *wrongtype[] = {"LPUSH", "pk:s2", "v"};
    const char *set[] = {"SET", "pk:s2", "v"};
    const char *latin1[] = {"SET", "pk:l1", "caf\xe9"};
    const char *get[] = {"GET", "pk:l1"};
    json_t *r = NULL;
    syncq_error err;

    (void)state;
    assert_int_equal(syncq_client_command(cl, 2, bad, NULL, &r, &err),
                     SYNCQ_EPROTO);
    assert_non_null(strstr(err.msg, "unknown command"));
    assert_null(r);
    json_decref(run(3, set, NULL));
    assert_int_equal(syncq_client_command(cl, 3, wrongtype, NULL, &r, &err),
                     SYNCQ_EPROTO);
    assert_non_null(strstr(err.msg, "WRONGTYPE"));
    json_decref(run(3, latin1, NULL));
    assert_int_equal(syncq_client_command(cl, 2, get, NULL, &r, &err),
                     SYNCQ_EPROTO);
    assert_non_null(strstr(err.msg, "not UTF-8"));
    assert_int_equal(syncq_client_command(cl, 0, bad, NULL, &r, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_client_command(NULL, 2, bad, NULL, &r, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_client_command(cl, 1, NULL, NULL, &r, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "needs a client and a name"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(replies_become_json, setup, teardown),
        cmocka_unit_test_setup_teardown(arguments_are_binary_safe, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(errors_say_what_failed, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
