/* SPDX-License-Identifier: MIT
 *
 * test_recovery_checkpoint.c: the checkpoint envelope without Redis: the
 * checksum's known values (SHA-256 of "<seq>\n<data>"), a good envelope's
 * fields, and each kind of damage rejected with its reason, never read
 * past the buffer. Strategy names parse both ways.
 */
#include "sq_test.h"

#include "recovery/recovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/recovery.h>

/* Build "SQCP1 seq at size sha\n" + data into a new buffer. */
static unsigned char *
envelope(long long seq, long long at, const char *data, size_t len,
         size_t *out_len)
{
    char head[200], sha[65];
    unsigned char *buf;
    int n;

    assert_true(sq_checkpoint_digest(seq, data, len, sha));
    n = snprintf(head, sizeof head, "SQCP1 %lld %lld %zu %s\n", seq, at, len,
                 sha);
    buf = malloc((size_t)n + len);
    assert_non_null(buf);
    memcpy(buf, head, (size_t)n);
    memcpy(buf + n, data, len);
    *out_len = (size_t)n + len;
    return buf;
}

static void
digest_known_values(void **state)
{
    char sha[65];

    (void)state;
    assert_true(sq_checkpoint_digest(60, "{\"step\":60}", 11, sha));
    assert_string_equal(sha, "b04947f3ea71bcf54d7ecc0495c8630b7b44dc8c81c730"
                             "786e6ced77158d9a85");
    assert_true(sq_checkpoint_digest(0, NULL, 0, sha));
    assert_string_equal(sha, "9a271f2a916b0b6ee6cecb2426f0b3206ef074578be55d"
                             "9bc94f6f3fe3ab86aa");
}

static void
good_envelope_fields(void **state)
{
    size_t len;
    unsigned char *b = envelope(60, 1767225600000LL, "{\"step\":60}", 11,
                                &len);
    struct sq_checkpoint_entry e;

    (void)state;
    sq_checkpoint_parse(b, len, &e);
    assert_true(e.ok);
    assert_null(e.why);
    assert_int_equal(e.seq, 60);
    assert_int_equal(e.at_ms, 1767225600000LL);
    assert_int_equal(e.size, 11);
    assert_int_equal(e.data_len, 11);
    assert_memory_equal(e.data, "{\"step\":60}", 11);
    assert_string_equal(e.sha256, "b04947f3ea71bcf54d7ecc0495c8630b7b44dc8c"
                                  "81c730786e6ced77158d9a85");
    free(b);
}

static void
expect_bad(const void *buf, size_t len, const char *why)
{
    struct sq_checkpoint_entry e;

    sq_checkpoint_parse(buf, len, &e);
    assert_false(e.ok);
    assert_false(e.digest_failed);
    assert_non_null(e.why);
    if (strcmp(e.why, why) != 0) {
        fail_msg("'%.*s': reason '%s', wanted '%s'", (int)(len < 40 ? len : 40),
                 (const char *)buf, e.why, why);
    }
}

static void
damage_is_rejected_with_a_reason(void **state)
{
    size_t len;
    unsigned char *b = envelope(5, 1000, "hello", 5, &len);
    unsigned char *c = malloc(len + 8);

    (void)state;
    assert_non_null(c);
    /* one data bit */
    memcpy(c, b, len);
    c[len - 1] ^= 1;
    expect_bad(c, len, "checksum mismatch");
    /* the step number in the header */
    memcpy(c, b, len);
    c[6] = '6';
    expect_bad(c, len, "checksum mismatch");
    /* truncated data, extra data */
    expect_bad(b, len - 2, "truncated");
    memcpy(c, b, len);
    memcpy(c + len, "xyz", 3);
    expect_bad(c, len + 3, "size mismatch");
    /* header problems */
    expect_bad("", 0, "not a checkpoint envelope");
    expect_bad("SQCP2 1 1 1 x", 13, "not a checkpoint envelope");
    expect_bad("SQCP1 ", 6, "malformed header");
    expect_bad("SQCP1 -1 1 1 ", 13, "malformed header");
    expect_bad("SQCP1 1 1 1 abc\nx", 17, "malformed header");
    expect_bad("SQCP1 99999999999999999999 1 1 ", 31, "malformed header");
    expect_bad("SQCP1 9223372036854775808 1 1 ", 30, "malformed header");
    /* 20 digits: refused before the value overflows (UBSan found it) */
    expect_bad("SQCP1 10000000000000000000 1 1 ", 31, "malformed header");
    expect_bad("SQCP1 1 88888888888888888888 1 ", 31, "malformed header");
    /* uppercase hex is not what the writer produces */
    memcpy(c, b, len);
    for (size_t i = 0; i < len; i++) {
        if (c[i] >= 'a' && c[i] <= 'f') {
            c[i] = (unsigned char)(c[i] - 32);
            break;
        }
    }
    expect_bad(c, len, "malformed header");
    expect_bad(NULL, 0, "not a checkpoint envelope");
    free(b);
    free(c);
}

static void
parser_stays_inside_the_buffer(void **state)
{
    size_t len;
    unsigned char *b = envelope(123456, 1700000000000LL, "abc", 3, &len);

    (void)state;
    /* every prefix: exactly-sized heap copies, so ASan sees any overread */
    for (size_t n = 0; n <= len; n++) {
        unsigned char *p = malloc(n > 0 ? n : 1);
        struct sq_checkpoint_entry e;
        memcpy(p, b, n);
        sq_checkpoint_parse(p, n, &e);
        assert_int_equal(e.ok, n == len);
        free(p);
    }
    free(b);
}

static void
max_int64_step_round_trips(void **state)
{
    size_t len;
    unsigned char *b = envelope(9223372036854775807LL, 1, "x", 1, &len);
    struct sq_checkpoint_entry e;

    (void)state;
    sq_checkpoint_parse(b, len, &e);
    assert_true(e.ok);
    assert_int_equal(e.seq, 9223372036854775807LL);
    free(b);
}

static void
strategy_names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < SYNCQ_RESUME__COUNT; s++) {
        assert_int_equal(syncq_resume_strategy_parse(
                             syncq_resume_strategy_name(s)),
                         s);
    }
    assert_int_equal(syncq_resume_strategy_parse("RESTART"),
                     SYNCQ_RESUME_RESTART);
    assert_int_equal(syncq_resume_strategy_parse("later"), -1);
    assert_int_equal(syncq_resume_strategy_parse(NULL), -1);
    assert_string_equal(syncq_resume_strategy_name(99), "unknown");
    assert_string_equal(syncq_resume_strategy_name(SYNCQ_RESUME_AUTO),
                        "auto");
}

static void
public_policy_api_matches_internal(void **state)
{
    syncq_retry_policy p;
    syncq_error err;

    (void)state;
    assert_int_equal(syncq_retry_policy_get(NULL, NULL,
                                            "{\"jitter\":false}",
                                            SYNCQ_ERR_HTTP_5XX, 4, &p, &err),
                     SYNCQ_OK);
    assert_true(p.retryable);
    assert_int_equal(p.max_retries, 4);
    assert_int_equal(syncq_retry_backoff_ms(&p, 0), 5000);
    assert_int_equal(syncq_retry_backoff_ms(&p, 1), 10000);
    assert_int_equal(syncq_retry_backoff_ms(&p, 10), 300000);
    assert_int_equal(syncq_retry_policy_check("{\"x\":1}", 7, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "unknown error class \"x\""));
    assert_int_equal(syncq_retry_policy_check("{}", 2, &err), SYNCQ_OK);
    assert_int_equal(syncq_retry_policy_check(NULL, 0, &err), SYNCQ_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digest_known_values),
        cmocka_unit_test(good_envelope_fields),
        cmocka_unit_test(damage_is_rejected_with_a_reason),
        cmocka_unit_test(parser_stays_inside_the_buffer),
        cmocka_unit_test(max_int64_step_round_trips),
        cmocka_unit_test(strategy_names_round_trip),
        cmocka_unit_test(public_policy_api_matches_internal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
