/* SPDX-License-Identifier: MIT
 *
 * test_worker_frame.c: the supervisor <-> child pipe frames: round trips
 * with binary fields, incremental input (a frame split at every byte),
 * back-to-back frames, and every way a corrupt stream is refused
 * (oversized, unknown type or tag, truncated or repeated fields).
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "worker/worker_frame.h"

#include <limits.h>
#include <string.h>

static void
build_task(struct sq_buf *b)
{
    size_t start;
    static const char bin[] = {'a', '\0', 'b', '\xff'};

    start = sq_frame_begin(b, SQ_FRAME_TASK);
    assert_int_not_equal(start, (size_t)-1);
    assert_int_equal(sq_frame_adds(b, SQ_F_ID, "id-1"), 0);
    assert_int_equal(sq_frame_add(b, SQ_F_KWARGS, bin, sizeof bin), 0);
    assert_int_equal(sq_frame_addll(b, SQ_F_ATTEMPT, 3), 0);
    assert_int_equal(sq_frame_addll(b, SQ_F_MAXR, -1), 0);
    assert_int_equal(sq_frame_add(b, SQ_F_POLICY, "", 0), 0);
    assert_int_equal(sq_frame_end(b, start), 0);
}

static void
round_trip_keeps_binary_fields(void **state)
{
    struct sq_buf b;
    struct sq_frame f;
    size_t used = 0;
    char s[16];
    syncq_error err;

    (void)state;
    sq_buf_init(&b, 0);
    build_task(&b);
    assert_int_equal(sq_frame_parse(b.data, b.len, 1 << 20, &f, &used, &err),
                     1);
    assert_int_equal(used, b.len);
    assert_int_equal(f.type, SQ_FRAME_TASK);
    assert_string_equal(sq_frame_str(&f, SQ_F_ID, s, sizeof s), "id-1");
    assert_int_equal(f.f[SQ_F_KWARGS].n, 4);
    assert_memory_equal(f.f[SQ_F_KWARGS].p, "a\0b\xff", 4);
    assert_int_equal(sq_frame_ll(&f, SQ_F_ATTEMPT, 0), 3);
    assert_int_equal(sq_frame_ll(&f, SQ_F_MAXR, 0), -1);
    assert_true(sq_frame_has(&f, SQ_F_POLICY));
    assert_int_equal(f.f[SQ_F_POLICY].n, 0);
    assert_false(sq_frame_has(&f, SQ_F_RESULT));
    assert_string_equal(sq_frame_str(&f, SQ_F_RESULT, s, sizeof s), "");
    assert_int_equal(sq_frame_ll(&f, SQ_F_RESULT, 42), 42);
    /* truncating copy */
    assert_string_equal(sq_frame_str(&f, SQ_F_ID, s, 3), "id");
    sq_buf_cleanup(&b);
}

static void
split_input_needs_more_until_complete(void **state)
{
    struct sq_buf b;
    struct sq_frame f;
    size_t used = 99;

    (void)state;
    sq_buf_init(&b, 0);
    build_task(&b);
    for (size_t n = 0; n < b.len; n++) {
        assert_int_equal(sq_frame_parse(b.data, n, 1 << 20, &f, &used, NULL),
                         0);
        assert_int_equal(used, 0);
    }
    assert_int_equal(sq_frame_parse(b.data, b.len, 1 << 20, &f, &used, NULL),
                     1);
    sq_buf_cleanup(&b);
}

static void
two_frames_back_to_back(void **state)
{
    struct sq_buf b;
    struct sq_frame f;
    size_t used = 0, first;
    size_t start;
    char s[16];

    (void)state;
    sq_buf_init(&b, 0);
    build_task(&b);
    first = b.len;
    start = sq_frame_begin(&b, SQ_FRAME_DONE);
    sq_frame_adds(&b, SQ_F_KIND, "ok");
    sq_frame_adds(&b, SQ_F_RESULT, "null");
    sq_frame_end(&b, start);
    assert_int_equal(sq_frame_parse(b.data, b.len, 1 << 20, &f, &used, NULL),
                     1);
    assert_int_equal(used, first);
    assert_int_equal(
        sq_frame_parse(b.data + used, b.len - used, 1 << 20, &f, &used, NULL),
        1);
    assert_int_equal(f.type, SQ_FRAME_DONE);
    assert_string_equal(sq_frame_str(&f, SQ_F_KIND, s, sizeof s), "ok");
    assert_int_equal(used, b.len - first);
    sq_buf_cleanup(&b);
}

/* Parse raw bytes expecting a protocol error whose message has `what`. */
static void
expect_bad(const unsigned char *p, size_t n, size_t limit, const char *what)
{
    struct sq_frame f;
    size_t used = 7;
    syncq_error err;

    memset(&err, 0, sizeof err);
    assert_int_equal(sq_frame_parse((const char *)p, n, limit, &f, &used,
                                    &err),
                     SYNCQ_EPROTO);
    assert_int_equal(used, 0);
    assert_non_null(strstr(err.msg, what));
}

static void
corrupt_streams_are_refused(void **state)
{
    /* length 0 */
    static const unsigned char empty[] = {0, 0, 0, 0, 'T'};
    /* claims 2 GiB */
    static const unsigned char huge[] = {0, 0, 0, 0x80, 'T'};
    /* unknown type 'Z' */
    static const unsigned char type[] = {1, 0, 0, 0, 'Z'};
    /* field header cut short: 3 bytes after the type */
    static const unsigned char cut[] = {4, 0, 0, 0, 'T', 1, 0, 0};
    /* field claims 100 bytes, has 1 */
    static const unsigned char past[] = {7, 0, 0, 0, 'T', 1, 100, 0, 0, 0, 'x'};
    /* tag 0 and tag 200 */
    static const unsigned char tag0[] = {6, 0, 0, 0, 'T', 0, 0, 0, 0, 0};
    static const unsigned char tag200[] = {6, 0, 0, 0, 'T', 200, 0, 0, 0, 0};
    /* the same tag twice */
    static const unsigned char twice[] = {11, 0, 0, 0, 'T', 1, 0, 0, 0, 0,
                                          1,  0, 0, 0, 0};

    (void)state;
    expect_bad(empty, sizeof empty, 1 << 20, "empty");
    expect_bad(huge, sizeof huge, 1 << 20, "over the limit");
    expect_bad(type, sizeof type, 1 << 20, "unknown frame type");
    expect_bad(cut, sizeof cut, 1 << 20, "truncated");
    expect_bad(past, sizeof past, 1 << 20, "runs past");
    expect_bad(tag0, sizeof tag0, 1 << 20, "unknown field tag 0");
    expect_bad(tag200, sizeof tag200, 1 << 20, "unknown field tag 200");
    expect_bad(twice, sizeof twice, 1 << 20, "repeated");
    /* the caller's limit applies before the bytes arrive */
    {
        struct sq_buf b;
        sq_buf_init(&b, 0);
        build_task(&b);
        expect_bad((const unsigned char *)b.data, 4, 8, "over the limit");
        sq_buf_cleanup(&b);
    }
}

static void
numbers_that_are_not_numbers_give_the_default(void **state)
{
    struct sq_buf b;
    struct sq_frame f;
    size_t used, start;

    (void)state;
    sq_buf_init(&b, 0);
    start = sq_frame_begin(&b, SQ_FRAME_DONE);
    sq_frame_adds(&b, SQ_F_RUNTIME, "12x");
    sq_frame_adds(&b, SQ_F_DELAY, "99999999999999999999999");
    sq_frame_adds(&b, SQ_F_RSS, "");
    sq_frame_end(&b, start);
    assert_int_equal(sq_frame_parse(b.data, b.len, 0, &f, &used, NULL), 1);
    assert_int_equal(sq_frame_ll(&f, SQ_F_RUNTIME, -5), -5);
    assert_int_equal(sq_frame_ll(&f, SQ_F_DELAY, -6), -6);
    assert_int_equal(sq_frame_ll(&f, SQ_F_RSS, -7), -7);
    sq_buf_cleanup(&b);
}

static void
buffer_limit_fails_cleanly(void **state)
{
    struct sq_buf b;
    size_t start, len;
    char big[64];

    (void)state;
    memset(big, 'x', sizeof big);
    sq_buf_init(&b, 32);
    start = sq_frame_begin(&b, SQ_FRAME_TASK);
    len = b.len;
    assert_int_equal(sq_frame_add(&b, SQ_F_ARGS, big, sizeof big), -1);
    assert_int_equal(b.len, len); /* unchanged after the failed add */
    assert_int_equal(sq_frame_end(&b, start), 0);
    sq_buf_cleanup(&b);
}

static void
allocation_failures_never_leak(void **state)
{
    (void)state;
    for (long nth = 1; nth < 50; nth++) {
        struct sq_buf b;
        size_t start;
        int bad = 0;
        sq_buf_init(&b, 0);
        sq_alloc_fail_at(nth);
        start = sq_frame_begin(&b, SQ_FRAME_TASK);
        if (start == (size_t)-1) {
            bad = 1;
        } else {
            bad |= sq_frame_adds(&b, SQ_F_ID, "abc");
            bad |= sq_frame_addll(&b, SQ_F_ATTEMPT, 1);
            bad |= sq_frame_end(&b, start);
        }
        sq_alloc_fail_at(0);
        sq_buf_cleanup(&b);
        if (!bad) {
            return; /* every earlier round failed cleanly */
        }
    }
    fail_msg("frame building never succeeded");
}

/* sq_frame_addll formats by hand: every sign, both ends of the range */
static void
numbers_round_trip_exactly(void **state)
{
    static const long long v[] = {0,  1,  -1, 9,  10, -10, 1234567890123LL,
                                  LLONG_MAX, LLONG_MIN, LLONG_MIN + 1};
    static const char *text[] = {"0",  "1",  "-1", "9",  "10", "-10",
                                 "1234567890123", "9223372036854775807",
                                 "-9223372036854775808",
                                 "-9223372036854775807"};

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct sq_buf b;
        struct sq_frame f;
        size_t used = 0, start;
        char s[32];
        syncq_error err;
        sq_buf_init(&b, 0);
        start = sq_frame_begin(&b, SQ_FRAME_DONE);
        assert_int_equal(sq_frame_addll(&b, SQ_F_RUNTIME, v[i]), 0);
        assert_int_equal(sq_frame_end(&b, start), 0);
        assert_int_equal(sq_frame_parse(b.data, b.len, 1 << 20, &f, &used,
                                        &err),
                         1);
        assert_string_equal(sq_frame_str(&f, SQ_F_RUNTIME, s, sizeof s),
                            text[i]);
        assert_true(sq_frame_ll(&f, SQ_F_RUNTIME, 7) == v[i]);
        sq_buf_cleanup(&b);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_keeps_binary_fields),
        cmocka_unit_test(split_input_needs_more_until_complete),
        cmocka_unit_test(two_frames_back_to_back),
        cmocka_unit_test(corrupt_streams_are_refused),
        cmocka_unit_test(numbers_that_are_not_numbers_give_the_default),
        cmocka_unit_test(buffer_limit_fails_cleanly),
        cmocka_unit_test(allocation_failures_never_leak),
        cmocka_unit_test(numbers_round_trip_exactly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
