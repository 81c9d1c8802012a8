/* SPDX-License-Identifier: MIT
 *
 * test_worker_reply.c: the round's replies built in an arena through
 * hiredis's reply-object hook (worker_reply.c): nested replies read as
 * hiredis's own, the space reused by the next reply, a reply larger than
 * a block, a top-level error that freeReplyObject frees (the client's
 * READONLY check does), a context freed mid-reply, detaching, and a
 * failed allocation reported by the reader.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "sq_buf.h"
#include "worker/worker_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    redisContext ctx;
    struct sq_reply_arena a;
};

static struct fixture *
fx_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->ctx.reader = redisReaderCreate();
    assert_non_null(f->ctx.reader);
    sq_reply_arena_attach(&f->a, &f->ctx);
    return f;
}

static void
fx_free(struct fixture *f)
{
    sq_reply_arena_detach(&f->a, &f->ctx);
    redisReaderFree(f->ctx.reader);
    sq_reply_arena_cleanup(&f->a);
    free(f);
}

static redisReply *
read_one(struct fixture *f, const char *resp, size_t n)
{
    void *r = NULL;

    assert_int_equal(redisReaderFeed(f->ctx.reader, resp, n), REDIS_OK);
    assert_int_equal(redisReaderGetReply(f->ctx.reader, &r), REDIS_OK);
    assert_non_null(r);
    return r;
}

#define NESTED "*4\r\n$3\r\nabc\r\n:42\r\n*3\r\n$-1\r\n+OK\r\n-ERR in\r\n*0\r\n"

static void
nested_reply_reads_as_hiredis_builds_it(void **state)
{
    struct fixture *f = fx_new();
    redisReply *r, *again;

    (void)state;
    r = read_one(f, NESTED, strlen(NESTED));
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    assert_int_equal(r->element[0]->type, REDIS_REPLY_STRING);
    assert_string_equal(r->element[0]->str, "abc");
    assert_int_equal(r->element[0]->len, 3);
    assert_int_equal(r->element[1]->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->element[1]->integer, 42);
    assert_int_equal(r->element[2]->elements, 3);
    assert_int_equal(r->element[2]->element[0]->type, REDIS_REPLY_NIL);
    assert_int_equal(r->element[2]->element[1]->type, REDIS_REPLY_STATUS);
    assert_string_equal(r->element[2]->element[1]->str, "OK");
    assert_int_equal(r->element[2]->element[2]->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->element[2]->element[2]->str, "ERR in");
    assert_int_equal(r->element[3]->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[3]->elements, 0);
    sq_reply_arena_release(&f->a, r);
    /* the next reply takes the same space: nothing allocated per reply */
    again = read_one(f, NESTED, strlen(NESTED));
    assert_ptr_equal(again, r);
    assert_string_equal(again->element[0]->str, "abc");
    sq_reply_arena_release(&f->a, again);
    fx_free(f);
}

static void
reply_larger_than_a_block(void **state)
{
    struct fixture *f = fx_new();
    size_t big = 300000;
    struct sq_buf b;
    redisReply *r;
    char hdr[64];

    (void)state;
    sq_buf_init(&b, 0);
    assert_int_equal(sq_buf_adds(&b, "*2001\r\n"), 0);
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(sq_buf_adds(&b, "$5\r\nfield\r\n"), 0);
    }
    snprintf(hdr, sizeof hdr, "$%zu\r\n", big);
    assert_int_equal(sq_buf_adds(&b, hdr), 0);
    for (size_t i = 0; i < big; i++) {
        assert_int_equal(sq_buf_add(&b, "x", 1), 0);
    }
    assert_int_equal(sq_buf_adds(&b, "\r\n"), 0);
    for (int round = 0; round < 2; round++) {
        r = read_one(f, b.data, b.len);
        assert_int_equal(r->elements, 2001);
        for (int i = 0; i < 2000; i++) {
            assert_string_equal(r->element[i]->str, "field");
        }
        assert_int_equal(r->element[2000]->len, big);
        assert_int_equal(r->element[2000]->str[big - 1], 'x');
        assert_int_equal(r->element[2000]->str[big], '\0');
        sq_reply_arena_release(&f->a, r);
    }
    sq_buf_cleanup(&b);
    fx_free(f);
}

static void
top_level_error_is_freed_by_hiredis(void **state)
{
    struct fixture *f = fx_new();
    static const char e[] = "-READONLY You can't write\r\n";
    redisReply *r;

    (void)state;
    r = read_one(f, e, strlen(e));
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_string_equal(r->str, "READONLY You can't write");
    freeReplyObject(r); /* what the client's READONLY check does */
    r = read_one(f, e, strlen(e));
    sq_reply_arena_release(&f->a, r); /* or the round, after reading it */
    fx_free(f);
}

static void
context_freed_mid_reply(void **state)
{
    struct fixture *f = fx_new();
    static const char part[] = "*3\r\n$3\r\nabc\r\n*2\r\n:1\r\n";
    void *r = NULL;

    (void)state;
    assert_int_equal(redisReaderFeed(f->ctx.reader, part, strlen(part)),
                     REDIS_OK);
    assert_int_equal(redisReaderGetReply(f->ctx.reader, &r), REDIS_OK);
    assert_null(r); /* the rest is on its way */
    sq_reply_arena_detach(&f->a, &f->ctx);
    assert_int_equal(f->ctx.err, REDIS_ERR_PROTOCOL); /* dropped next */
    fx_free(f); /* the reader frees the partial reply */
}

static void
detached_replies_are_hiredis_own(void **state)
{
    struct fixture *f = fx_new();
    redisReply *r;

    (void)state;
    sq_reply_arena_detach(&f->a, &f->ctx);
    r = read_one(f, NESTED, strlen(NESTED));
    assert_string_equal(r->element[0]->str, "abc");
    freeReplyObject(r);
    sq_reply_arena_attach(&f->a, &f->ctx);
    r = read_one(f, NESTED, strlen(NESTED));
    sq_reply_arena_release(&f->a, r);
    fx_free(f);
}

static void
allocation_failure_is_a_reader_error(void **state)
{
    struct fixture *f = fx_new();
    void *r = NULL;

    (void)state;
    sq_alloc_fail_at(1); /* the arena's first block */
    assert_int_equal(redisReaderFeed(f->ctx.reader, NESTED, strlen(NESTED)),
                     REDIS_OK);
    assert_int_equal(redisReaderGetReply(f->ctx.reader, &r), REDIS_ERR);
    sq_alloc_fail_at(0);
    assert_null(r);
    fx_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_reply_reads_as_hiredis_builds_it),
        cmocka_unit_test(reply_larger_than_a_block),
        cmocka_unit_test(top_level_error_is_freed_by_hiredis),
        cmocka_unit_test(context_freed_mid_reply),
        cmocka_unit_test(detached_replies_are_hiredis_own),
        cmocka_unit_test(allocation_failure_is_a_reader_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
