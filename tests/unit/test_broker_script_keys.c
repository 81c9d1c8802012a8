/* SPDX-License-Identifier: MIT
 *
 * test_broker_script_keys.c: the keys broker scripts declare after
 * {ns}:meta (broker_script_keys.c), which Redis Cluster uses to route and
 * check a script during a slot migration.
 */
#include "sq_test.h"

#include "broker/broker_cluster.h"
#include "broker/broker_script_keys.h"

#include <string.h>

/* The declared keys of script `id` called with `args` (NULL-ended), as
 * one space-separated string. */
static const char *
keys_of(enum sq_script_id id, const char *const *args)
{
    static char out[1024];
    struct sq_args a;
    struct sq_buf b;
    size_t off = 0;
    int n;

    sq_args_init(&a);
    for (size_t i = 0; args[i] != NULL; i++) {
        sq_args_add(&a, args[i]);
    }
    sq_buf_init(&b, 0);
    n = sq_script_keys("{ns}:", id, &a, &b);
    out[0] = '\0';
    for (int k = 0; k < n; k++) {
        const char *key = b.data + off;
        assert_int_equal(sq_cluster_key_slot(key, strlen(key)),
                         sq_cluster_key_slot("{ns}:meta", 9));
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s",
                 k ? " " : "", key);
        off += strlen(key) + 1;
    }
    assert_int_equal(off, b.len);
    sq_buf_cleanup(&b);
    sq_args_cleanup(&a);
    return out;
}

static void
argument_keys_are_named(void **state)
{
    (void)state;
    assert_string_equal(keys_of(SQ_SCRIPT_PROGRESS,
                                (const char *[]){"id1", "tok", "set", "1",
                                                 "2", "", NULL}),
                        "{ns}:t:id1 {ns}:events");
    assert_string_equal(keys_of(SQ_SCRIPT_RATELIMIT,
                                (const char *[]){"peek", "h.example:80",
                                                 NULL}),
                        "{ns}:rl:h.example:80 {ns}:rlc:h.example:80 "
                        "{ns}:rlr:h.example:80");
    assert_string_equal(keys_of(SQ_SCRIPT_CHECKPOINT_BAD,
                                (const char *[]){"id2", "x", "9", "1", "r",
                                                 NULL}),
                        "{ns}:cp:id2 {ns}:cpbad:id2 {ns}:stats {ns}:events");
}

static void
absent_and_empty_arguments_name_no_key(void **state)
{
    (void)state;
    /* beat_lock: the beat's node record only when ARGV[5] names one */
    assert_string_equal(keys_of(SQ_SCRIPT_BEAT_LOCK,
                                (const char *[]){"acquire", "t", "3000",
                                                 NULL}),
                        "{ns}:beat:lock");
    assert_string_equal(keys_of(SQ_SCRIPT_BEAT_LOCK,
                                (const char *[]){"release", "t", "0", "", NULL}),
                        "{ns}:beat:lock");
    assert_string_equal(keys_of(SQ_SCRIPT_BEAT_LOCK,
                                (const char *[]){"release", "t", "0", "b1",
                                                 NULL}),
                        "{ns}:beat:lock {ns}:beat:node:b1");
}

static void
conditions_and_lists(void **state)
{
    (void)state;
    assert_string_equal(keys_of(SQ_SCRIPT_SCHEDULE_PUT,
                                (const char *[]){"pause", "s1", NULL}),
                        "{ns}:schedules {ns}:sched:seq {ns}:events "
                        "{ns}:sched:s1");
    assert_string_equal(keys_of(SQ_SCRIPT_SCHEDULE_PUT,
                                (const char *[]){"renext", "tok", "s2", "4",
                                                 "1", "2", "", NULL}),
                        "{ns}:schedules {ns}:sched:seq {ns}:events "
                        "{ns}:sched:s2 {ns}:beat:lock");
    assert_string_equal(keys_of(SQ_SCRIPT_DEAD_PURGE,
                                (const char *[]){"ids", "2", "a", "b", NULL}),
                        "{ns}:dlq {ns}:dlqn {ns}:stats {ns}:events "
                        "{ns}:t:a {ns}:t:b {ns}:cp:a {ns}:cp:b "
                        "{ns}:cpbad:a {ns}:cpbad:b {ns}:absent");
    assert_string_equal(keys_of(SQ_SCRIPT_DEAD_PURGE,
                                (const char *[]){"older", "1000", "50",
                                                 NULL}),
                        "{ns}:dlq {ns}:dlqn {ns}:stats {ns}:events "
                        "{ns}:absent");
    /* a list shorter than its count: the keys that are there */
    assert_string_equal(keys_of(SQ_SCRIPT_RESUME,
                                (const char *[]){"retry", "cli", "", "0", "",
                                                 "3", "x", NULL}),
                        "{ns}:t:x {ns}:cp:x {ns}:cpbad:x {ns}:delayed "
                        "{ns}:active {ns}:recent {ns}:queues {ns}:dlq "
                        "{ns}:dlqn {ns}:events {ns}:stats {ns}:absent");
}

static void
only_fully_declared_scripts_follow_ask(void **state)
{
    (void)state;
    assert_true(sq_script_ask_safe(SQ_SCRIPT_PROGRESS));
    assert_true(sq_script_ask_safe(SQ_SCRIPT_RATELIMIT));
    assert_true(sq_script_ask_safe(SQ_SCRIPT_BEAT_LOCK));
    assert_true(sq_script_ask_safe(SQ_SCRIPT_SCHEDULE_PUT));
    assert_true(sq_script_ask_safe(SQ_SCRIPT_CHECKPOINT_BAD));
    /* they derive keys from what they read (ids, queues, the minute) */
    assert_false(sq_script_ask_safe(SQ_SCRIPT_LEASE));
    assert_false(sq_script_ask_safe(SQ_SCRIPT_ENQUEUE));
    assert_false(sq_script_ask_safe(SQ_SCRIPT_REVOKE));
    assert_false(sq_script_ask_safe(SQ_SCRIPT_BEAT));
    assert_false(sq_script_ask_safe(SQ_SCRIPT__COUNT));
    /* the hot ones name every fixed key of their paths, and the absent
     * key for the records they derive */
    assert_string_equal(keys_of(SQ_SCRIPT_LEASE,
                                (const char *[]){"w", "1", NULL}),
                        "{ns}:active {ns}:delayed {ns}:seq {ns}:queues "
                        "{ns}:events {ns}:stats {ns}:recent {ns}:dlq "
                        "{ns}:dlqn {ns}:bwaves {ns}:absent");
    assert_string_equal(keys_of(SQ_SCRIPT_EXTEND,
                                (const char *[]){"w", NULL}),
                        "{ns}:active {ns}:workers {ns}:absent");
}

/* The keys of a script that takes none from its arguments are made once
 * per client (broker_script.c build): the hot scripts are such. */
static void
fixed_declarations_are_known(void **state)
{
    (void)state;
    assert_true(sq_script_keys_fixed(SQ_SCRIPT_ENQUEUE));
    assert_true(sq_script_keys_fixed(SQ_SCRIPT_LEASE));
    assert_true(sq_script_keys_fixed(SQ_SCRIPT_SETTLE));
    assert_true(sq_script_keys_fixed(SQ_SCRIPT_EXTEND));
    /* named by an argument, a list or a condition */
    assert_false(sq_script_keys_fixed(SQ_SCRIPT_REVOKE));
    assert_false(sq_script_keys_fixed(SQ_SCRIPT_RESUME));
    assert_false(sq_script_keys_fixed(SQ_SCRIPT_SCHEDULE_PUT));
    assert_false(sq_script_keys_fixed(SQ_SCRIPT__COUNT));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(argument_keys_are_named),
        cmocka_unit_test(absent_and_empty_arguments_name_no_key),
        cmocka_unit_test(conditions_and_lists),
        cmocka_unit_test(only_fully_declared_scripts_follow_ask),
        cmocka_unit_test(fixed_declarations_are_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
