/* SPDX-License-Identifier: MIT
 *
 * test_broker_fault.c: classification of Redis error replies and the
 * backoff (broker_fault.c, issue 12 item 2).
 */
#include "sq_test.h"

#include "broker/broker_fault.h"

static void
transient_codes(void **state)
{
    static const char *const msgs[] = {
        "MISCONF Redis is configured to save RDB snapshots, but ...",
        "READONLY You can't write against a read only replica.",
        "READONLY You can't write against a read only replica. script: "
        "119b0beb, on @user_script:1.",
        "LOADING Redis is loading the dataset in memory",
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL",
        "TRYAGAIN Multiple keys request during rehashing of slot",
        "CLUSTERDOWN The cluster is down",
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
        "is set to 'no'.",
        "NOREPLICAS Not enough good replicas to write.",
        "OOM command not allowed when used memory > 'maxmemory'.",
    };

    (void)state;
    for (size_t i = 0; i < sizeof msgs / sizeof *msgs; i++) {
        assert_int_equal(sq_fault_classify(msgs[i]), SQ_FAULT_TRANSIENT);
    }
}

static void
other_codes(void **state)
{
    char code[16];

    (void)state;
    assert_int_equal(sq_fault_classify("NOSCRIPT No matching script."),
                     SQ_FAULT_NOSCRIPT);
    assert_int_equal(sq_fault_classify("NOAUTH Authentication required."),
                     SQ_FAULT_AUTH);
    assert_int_equal(sq_fault_classify("WRONGPASS invalid username-password "
                                       "pair or user is disabled."),
                     SQ_FAULT_AUTH);
    assert_int_equal(sq_fault_classify("WRONGTYPE Operation against a key "
                                       "holding the wrong kind of value"),
                     SQ_FAULT_PERMANENT);
    assert_int_equal(sq_fault_classify("ERR bad task id"),
                     SQ_FAULT_PERMANENT);
    /* a code word later in the text is not the reply's code */
    assert_int_equal(sq_fault_classify("ERR user script said OOM"),
                     SQ_FAULT_PERMANENT);
    assert_int_equal(sq_fault_classify("MISCONFIGURED"), SQ_FAULT_PERMANENT);
    assert_int_equal(sq_fault_classify(""), SQ_FAULT_PERMANENT);
    assert_int_equal(sq_fault_classify(NULL), SQ_FAULT_PERMANENT);
    sq_fault_code("CLUSTERDOWNXXXXXXXXXXX rest", code);
    assert_string_equal(code, "CLUSTERDOWNXXXX"); /* 15 characters */
    sq_fault_code(NULL, code);
    assert_string_equal(code, "");
}

static void
backoff_doubles_to_the_cap(void **state)
{
    (void)state;
    assert_int_equal(sq_fault_backoff_ms(0, 10000), 100);
    assert_int_equal(sq_fault_backoff_ms(1, 10000), 100);
    assert_int_equal(sq_fault_backoff_ms(2, 10000), 200);
    assert_int_equal(sq_fault_backoff_ms(5, 10000), 1600);
    assert_int_equal(sq_fault_backoff_ms(8, 10000), 10000);
    assert_int_equal(sq_fault_backoff_ms(1000000, 10000), 10000);
    assert_int_equal(sq_fault_backoff_ms(3, 150), 150);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transient_codes),
        cmocka_unit_test(other_codes),
        cmocka_unit_test(backoff_doubles_to_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
