/* SPDX-License-Identifier: MIT
 *
 * test_broker_cluster.c: the Redis Cluster key slot (broker_cluster.c).
 * The expected slots are Redis's own: `CLUSTER KEYSLOT <key>` on a
 * redis-server 7.0.15 with cluster-enabled yes (it_broker_cluster.sh also
 * compares the slot `syncq status` shows with the server's).
 */
#include "sq_test.h"

#include "broker/broker_cluster.h"

#include <string.h>

static int
slot(const char *k)
{
    return sq_cluster_key_slot(k, strlen(k));
}

static void
slots_match_redis(void **state)
{
    (void)state;
    assert_int_equal(slot("123456789"), 0x31C3); /* CRC16/XMODEM check */
    assert_int_equal(slot("foo"), 12182);
    assert_int_equal(slot("bar"), 5061);
    assert_int_equal(slot(""), 0);
}

static void
hash_tags_route_a_namespace_to_one_slot(void **state)
{
    (void)state;
    assert_int_equal(slot("{syncq}:meta"), 13043);
    assert_int_equal(slot("syncq"), 13043);
    assert_int_equal(slot("{syncq}:t:0f4a"), slot("{syncq}:q:default:5"));
    assert_int_equal(slot("{user1000}.following"),
                     slot("{user1000}.followers"));
    /* an empty tag does not count: the whole key is hashed; only the
     * first tag counts; an unclosed brace: the whole key (values from
     * CLUSTER KEYSLOT) */
    assert_int_equal(slot("{}x"), 10595);
    assert_int_equal(slot("a{}{b}"), 15033);
    assert_int_equal(slot("{a}{b}"), 15495);
    assert_int_equal(slot("a"), 15495);
    assert_int_equal(slot("{abc"), 444);
    for (int i = 0; i < 200; i++) {
        char k[32];
        snprintf(k, sizeof k, "ns%d", i);
        assert_in_range(slot(k), 0, SQ_CLUSTER_SLOTS - 1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slots_match_redis),
        cmocka_unit_test(hash_tags_route_a_namespace_to_one_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
