/* SPDX-License-Identifier: MIT
 *
 * it_broker_enqueue.c: task creation against a real Redis: the record,
 * routing, long-name normalisation, bulk chunks, unique keys, countdown,
 * expiry, batches, and that bad input writes nothing (contract items 1, 9).
 */
#include "sq_test.h"

#include "broker/broker.h"
#include "core/sq_time.h"
#include "sq_id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static syncq_client *cl;

static int
setup(void **state)
{
    (void)state;
    /* the packs declare their tasks' queues and their namespaces' routes
     * (packs/task_packs.c), as in the syncq binary: libsyncq knows none */
    sqt_register_packs();
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

static long long
dbsize(void)
{
    return sqt_cmd_int("DBSIZE");
}

static void
record_has_every_field(void **state)
{
    char id[SYNCQ_ID_SIZE];
    syncq_task_options o;
    json_t *t = NULL;
    syncq_error err;

    (void)state;
    syncq_task_options_init(&o);
    o.priority = SYNCQ_PRIORITY_HIGH;
    o.max_retries = 7;
    o.time_limit_ms = 60000;
    o.soft_time_limit_ms = 50000;
    /* positional args fill the declared order: category_id */
    assert_int_equal(syncq_task_create(cl, "src.queue.tasks.crawler.fetch_products",
                                       "[\"123\"]",
                                       "{\"page_size\":50}",
                                       &o, id, NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(syncq_task_info(cl, id, &t, &err), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(t, "name")),
                        "crawler.fetch_products");
    assert_string_equal(json_string_value(json_object_get(t, "queue")),
                        "crawler");
    assert_string_equal(json_string_value(json_object_get(t, "state")),
                        "PENDING");
    assert_int_equal(json_integer_value(json_object_get(t, "priority")), 8);
    assert_int_equal(json_integer_value(json_object_get(t, "max_retries")), 7);
    assert_int_equal(json_integer_value(json_object_get(t, "time_limit_ms")),
                     60000);
    assert_int_equal(
        json_integer_value(json_object_get(t, "soft_time_limit_ms")), 50000);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(t, "args"), 0)),
                        "123");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(t, "kwargs"), "page_size")),
                     50);
    assert_non_null(json_object_get(t, "created_at"));
    json_decref(t);
    /* The queue list holds exactly this id at priority 8. */
    {
        redisReply *r = sqt_cmd("LRANGE {syncq}:q:crawler:8 0 -1");
        assert_int_equal(r->elements, 1);
        assert_string_equal(r->element[0]->str, id);
        freeReplyObject(r);
    }
    /* A task-sent event and a sent counter. */
    assert_int_equal(sqt_cmd_int("XLEN {syncq}:events"), 1);
    {
        redisReply *r =
            sqt_cmd("HGET {syncq}:stats sent|crawler|crawler.fetch_products");
        assert_string_equal(r->str, "1");
        freeReplyObject(r);
    }
}

static void
routing_by_name_prefix_and_option(void **state)
{
    static const struct {
        const char *name;
        const char *kwargs; /* valid for the task's declared arguments */
        const char *queue;
    } routes[] = {{"crawler.x", NULL, "crawler"},
                  {"image_processing.download_images",
                   "{\"urls\":[\"http://img.example/a.jpg\"]}",
                   "image_processing"},
                  {"data_sync.sync_products", NULL, "data_sync"},
                  {"batch_processing.batch_import",
                   "{\"path\":\"/tmp/x.csv\"}", "batch_processing"},
                  {"custom.my_task", NULL, "default"},
                  {"crawlerx.y", NULL, "default"}};
    char id[SYNCQ_ID_SIZE];
    syncq_task_options o;

    (void)state;
    /* crawler.x is not a registered task: its pack's namespace routes it */
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        json_t *t;
        assert_int_equal(syncq_task_create(cl, routes[i].name, NULL,
                                           routes[i].kwargs, NULL, id, NULL,
                                           NULL),
                         SYNCQ_OK);
        assert_int_equal(syncq_task_info(cl, id, &t, NULL), SYNCQ_OK);
        assert_string_equal(json_string_value(json_object_get(t, "queue")),
                            routes[i].queue);
        json_decref(t);
    }
    syncq_task_options_init(&o);
    o.queue = "my-queue.v2";
    assert_int_equal(syncq_task_create(cl, "crawler.x", NULL, NULL, &o, id,
                                       NULL, NULL),
                     SYNCQ_OK);
    assert_string_equal(sqt_task_state(cl, id), "PENDING");
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:my-queue.v2:5"), 1);
    assert_int_equal(sqt_cmd_int("SISMEMBER {syncq}:queues my-queue.v2"), 1);
}

static void
bad_input_writes_nothing(void **state)
{
    char id[SYNCQ_ID_SIZE];
    syncq_task_options o;
    syncq_error err;
    long long before = dbsize();
    char *big;
    char longname[300];

    (void)state;
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
#define BAD(call, code, needle)                                                \
    do {                                                                       \
        int rc_ = (call);                                                      \
        assert_int_equal(rc_, code);                                           \
        if (strstr(err.msg, needle) == NULL) {                                 \
            fail_msg("message '%s' lacks '%s'", err.msg, needle);              \
        }                                                                      \
    } while (0)
    BAD(syncq_task_create(cl, "", NULL, NULL, NULL, id, NULL, &err),
        SYNCQ_EINVAL, "empty");
    BAD(syncq_task_create(cl, longname, NULL, NULL, NULL, id, NULL, &err),
        SYNCQ_EINVAL, "limit 200");
    BAD(syncq_task_create(cl, "bad\x01name", NULL, NULL, NULL, id, NULL, &err),
        SYNCQ_EINVAL, "control character");
    BAD(syncq_task_create(cl, "a b", NULL, NULL, NULL, id, NULL, &err),
        SYNCQ_EINVAL, "allowed");
    BAD(syncq_task_create(cl, "x", "{\"a\":1}", NULL, NULL, id, NULL, &err),
        SYNCQ_EINVAL, "args must be a JSON array");
    BAD(syncq_task_create(cl, "x", NULL, "[1]", NULL, id, NULL, &err),
        SYNCQ_EINVAL, "kwargs must be a JSON object");
    BAD(syncq_task_create(cl, "x", NULL, "{bad", NULL, id, NULL, &err),
        SYNCQ_EINVAL, "not valid JSON");
    BAD(syncq_task_create(cl, "x", NULL, "{\"s\":\"\xff\xfe\"}", NULL, id,
                          NULL, &err),
        SYNCQ_EINVAL, "not valid JSON");
    syncq_task_options_init(&o);
    o.priority = 11;
    BAD(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL, &err),
        SYNCQ_EINVAL, "0..10");
    o.priority = -2;
    BAD(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL, &err),
        SYNCQ_EINVAL, "0..10");
    syncq_task_options_init(&o);
    o.queue = "";
    BAD(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL, &err),
        SYNCQ_EINVAL, "queue name is empty");
    o.queue = "q{tag}";
    BAD(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL, &err),
        SYNCQ_EINVAL, "allowed");
    syncq_task_options_init(&o);
    o.countdown_ms = 1000;
    o.eta_ms = 5;
    BAD(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL, &err),
        SYNCQ_EINVAL, "not both");
    syncq_task_options_init(&o);
    o.unique_ttl_ms = 60000; /* a window without a key */
    BAD(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL, &err),
        SYNCQ_EINVAL, "without a unique key");
    syncq_task_options_init(&o);
    o.task_id = "not-a-uuid";
    BAD(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL, &err),
        SYNCQ_EINVAL, "UUID");
    /* payload over SYNCQ_MAX_PAYLOAD (8 MiB default) */
    big = malloc(9 << 20);
    memset(big, 'x', 9 << 20);
    memcpy(big, "{\"b\":\"", 6);
    memcpy(big + (9 << 20) - 3, "\"}", 3);
    BAD(syncq_task_create(cl, "x", NULL, big, NULL, id, NULL, &err),
        SYNCQ_ETOOBIG, "limit");
    free(big);
#undef BAD
    assert_int_equal(dbsize(), before);
}

static void
bulk_create_spans_chunks_in_order(void **state)
{
    enum { N = 2500 };
    syncq_task_spec *specs = calloc(N, sizeof *specs);
    char (*ids)[SYNCQ_ID_SIZE] = calloc(N, SYNCQ_ID_SIZE);
    char (*kws)[32] = calloc(N, 32);
    size_t created = 0;
    syncq_error err;

    (void)state;
    for (int i = 0; i < N; i++) {
        snprintf(kws[i], 32, "{\"i\":%d}", i);
        specs[i].name = "syncq.noop";
        specs[i].kwargs_json = kws[i];
    }
    assert_int_equal(syncq_task_create_many(cl, specs, N, ids, &created, &err),
                     SYNCQ_OK);
    assert_int_equal(created, N);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), N);
    /* FIFO: the consumer end (right) holds the first task. */
    {
        redisReply *r = sqt_cmd("LINDEX {syncq}:q:default:5 -1");
        assert_string_equal(r->str, ids[0]);
        freeReplyObject(r);
        r = sqt_cmd("LINDEX {syncq}:q:default:5 0");
        assert_string_equal(r->str, ids[N - 1]);
        freeReplyObject(r);
    }
    {
        json_t *t;
        assert_int_equal(syncq_task_info(cl, ids[1234], &t, NULL), SYNCQ_OK);
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(t, "kwargs"), "i")),
                         1234);
        json_decref(t);
    }
    /* One bad spec: nothing is written, the message names its index. */
    {
        long long before = dbsize();
        specs[2001].kwargs_json = "{oops";
        assert_int_equal(syncq_task_create_many(cl, specs, N, ids, &created,
                                                &err),
                         SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "task 2001"));
        assert_int_equal(created, 0);
        assert_int_equal(dbsize(), before);
    }
    free(specs);
    free(ids);
    free(kws);
}

static void
unique_key_returns_first_id(void **state)
{
    char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE], c[SYNCQ_ID_SIZE];
    syncq_task_options o;
    int dup = -1;

    (void)state;
    syncq_task_options_init(&o);
    o.unique_key = "fetch:cat:123:page:1";
    o.unique_ttl_ms = 1000;
    assert_int_equal(syncq_task_create(cl, "crawler.fetch_products", NULL,
                                       "{\"category_id\":\"123\"}", &o, a, &dup, NULL),
                     SYNCQ_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(syncq_task_create(cl, "crawler.fetch_products", NULL,
                                       "{\"category_id\":\"123\"}", &o, b, &dup, NULL),
                     SYNCQ_OK);
    assert_int_equal(dup, 1);
    assert_string_equal(a, b);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:crawler:5"), 1);
    /* after the window a new task is created */
    sq_sleep_ms(1100);
    assert_int_equal(syncq_task_create(cl, "crawler.fetch_products", NULL,
                                       "{\"category_id\":\"123\"}", &o, c, &dup, NULL),
                     SYNCQ_OK);
    assert_int_equal(dup, 0);
    assert_string_not_equal(a, c);
}

static void
countdown_eta_and_expiry(void **state)
{
    char id[SYNCQ_ID_SIZE];
    syncq_task_options o;
    json_t *t;
    int64_t now = sq_now_ms();

    (void)state;
    syncq_task_options_init(&o);
    o.countdown_ms = 60000;
    assert_int_equal(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL,
                                       NULL),
                     SYNCQ_OK);
    assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 1);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 0);
    {
        redisReply *r = sqt_cmd("ZSCORE {syncq}:delayed %s", id);
        long long eta = atoll(r->str);
        freeReplyObject(r);
        assert_true(eta >= now + 59000 && eta <= now + 61000);
    }
    /* already expired at creation: refused at the door (issue 20), as
     * the CLI refuses --expires in the past; nothing is written */
    {
        syncq_error err;
        long long keys = sqt_cmd_int("DBSIZE");
        syncq_task_options_init(&o);
        o.expires_ms = now - 1000;
        assert_int_equal(syncq_task_create(cl, "x", NULL, NULL, &o, id, NULL,
                                           &err),
                         SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "is not in the future; the task "
                                        "could never run"));
        assert_int_equal(sqt_cmd_int("DBSIZE"), keys);
        assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 0);
    }
    (void)t;
}

static void
chinese_emoji_nul_and_binary_round_trip(void **state)
{
    /* C37: kwargs bytes come back exactly (NUL as \u0000 in JSON). */
    const char *kw = "{\"title\":\"女装连衣裙 2024新款\",\"emoji\":\"😀🛒\","
                     "\"nul\":\"a\\u0000b\"}";
    char id[SYNCQ_ID_SIZE];
    json_t *t;
    json_t *want;
    json_error_t je;

    (void)state;
    assert_int_equal(syncq_task_create(cl, "syncq.echo", NULL, kw, NULL, id,
                                       NULL, NULL),
                     SYNCQ_OK);
    assert_int_equal(syncq_task_info(cl, id, &t, NULL), SYNCQ_OK);
    want = json_loads(kw, JSON_ALLOW_NUL, &je);
    assert_true(json_equal(json_object_get(t, "kwargs"), want));
    assert_int_equal(
        json_string_length(json_object_get(json_object_get(t, "kwargs"), "nul")),
        3);
    json_decref(want);
    json_decref(t);
}

static void
batch_splits_items_into_chunks(void **state)
{
    char bid[SYNCQ_ID_SIZE];
    json_t *ids = NULL;
    json_t *info = NULL;
    json_t *t = NULL;
    syncq_batch_options bo = {0};
    syncq_error err;
    struct {
        char *s;
        size_t n;
    } items = {malloc(16 * 250 + 16), 0};

    (void)state;
    items.n += (size_t)snprintf(items.s, 2, "[");
    for (int i = 0; i < 250; i++) {
        items.n += (size_t)snprintf(items.s + items.n, 16, "%s%d",
                                    i ? "," : "", i);
    }
    snprintf(items.s + items.n, 2, "]");
    /* batch_update takes its items (offer ids) under "items" */
    bo.kwargs_json = "{\"set\":{\"status\":\"inactive\"}}";
    bo.on_complete = "syncq.noop";
    assert_int_equal(syncq_batch_create(cl, "batch_processing.batch_update",
                                        items.s, 100, &bo, bid, &ids, &err),
                     SYNCQ_OK);
    assert_int_equal(json_array_size(ids), 3);
    assert_int_equal(syncq_batch_info(cl, bid, &info, &err), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(info, "items")), 250);
    assert_int_equal(json_integer_value(json_object_get(info, "pending")), 3);
    assert_string_equal(json_string_value(json_object_get(info, "on_complete")),
                        "syncq.noop");
    assert_int_equal(syncq_task_info(cl, json_string_value(
                                             json_array_get(ids, 2)),
                                     &t, &err),
                     SYNCQ_OK);
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(t, "kwargs"), "items")),
                     50);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(t, "kwargs"), "set"), "status")),
        "inactive");
    assert_string_equal(json_string_value(json_object_get(t, "batch_id")),
                        bid);
    json_decref(t);
    json_decref(info);
    json_decref(ids);
    assert_int_equal(syncq_batch_create(cl, "x", "{}", 10, NULL, bid, NULL,
                                        &err),
                     SYNCQ_EINVAL);
    assert_int_equal(syncq_batch_create(cl, "x", "[1]", 0, NULL, bid, NULL,
                                        &err),
                     SYNCQ_EINVAL);
    free(items.s);
}

/* A batch with the caller's id (issue 16: a retried create whose reply
 * was lost): its chunk ids derive from it; a second create with that id,
 * even of other items, writes nothing and answers the first batch (its
 * id, its chunk ids, is_dup 1); so does a batch sent in waves; an id
 * that is not a UUID is refused before anything is written. */
static void
batch_with_own_id_is_made_once(void **state)
{
    const char *want = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c";
    const char *want2 = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";
    char bid[SYNCQ_ID_SIZE], cid[SYNCQ_ID_SIZE];
    json_t *ids = NULL, *ids2 = NULL;
    syncq_batch_options bo = {0};
    syncq_batch_wave_options wo = {0};
    syncq_task_options to;
    syncq_error err;
    long long before;
    int dup = -1;

    (void)state;
    syncq_task_options_init(&to);
    to.queue = "own";
    bo.task = &to;
    bo.batch_id = want;
    bo.is_dup = &dup;
    assert_int_equal(syncq_batch_create(cl, "syncq.noop", "[1,2,3]", 1, &bo,
                                        bid, &ids, &err),
                     SYNCQ_OK);
    assert_int_equal(dup, 0);
    assert_string_equal(bid, want);
    assert_int_equal(json_array_size(ids), 3);
    for (size_t k = 0; k < 3; k++) {
        sq_uuid_derive(want, k, cid);
        assert_string_equal(json_string_value(json_array_get(ids, k)), cid);
    }
    before = dbsize();
    assert_int_equal(syncq_batch_create(cl, "syncq.noop", "[9]", 1, &bo, bid,
                                        &ids2, &err),
                     SYNCQ_OK);
    assert_int_equal(dup, 1);
    assert_string_equal(bid, want);
    assert_true(json_equal(ids, ids2));
    assert_int_equal(dbsize(), before);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:own:5"), 3);
    json_decref(ids2);
    json_decref(ids);
    /* in waves: the same */
    wo.max_in_flight = 1;
    bo.batch_id = want2;
    assert_int_equal(syncq_batch_submit(cl, "syncq.noop", "[1,2]", 1, &bo, &wo,
                                        bid, &err),
                     SYNCQ_OK);
    assert_int_equal(dup, 0);
    before = dbsize();
    assert_int_equal(syncq_batch_submit(cl, "syncq.noop", "[1,2]", 1, &bo, &wo,
                                        bid, &err),
                     SYNCQ_OK);
    assert_int_equal(dup, 1);
    assert_string_equal(bid, want2);
    assert_int_equal(dbsize(), before);
    /* not a UUID: refused, nothing written */
    bo.batch_id = "my-batch";
    assert_int_equal(syncq_batch_create(cl, "syncq.noop", "[1]", 1, &bo, bid,
                                        NULL, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "batch id 'my-batch' is not a UUID"));
    assert_int_equal(dbsize(), before);
}

/* Over 1,000 chunks (more than one script call): every chunk is stored
 * before any is sent, then all are sent; the ids come back in order. */
static void
large_batch_is_stored_whole_then_sent(void **state)
{
    enum { N = 2500 };
    char bid[SYNCQ_ID_SIZE];
    json_t *ids = NULL, *info = NULL, *t = NULL;
    syncq_batch_options bo = {0};
    syncq_task_options to;
    syncq_error err;
    char *items = malloc(8 * N + 2);
    size_t n = 0;

    (void)state;
    n += (size_t)snprintf(items, 2, "[");
    for (int i = 0; i < N; i++) {
        n += (size_t)snprintf(items + n, 8, "%s%d", i ? "," : "", i);
    }
    snprintf(items + n, 2, "]");
    syncq_task_options_init(&to);
    to.queue = "big";
    bo.task = &to;
    assert_int_equal(syncq_batch_create(cl, "syncq.noop", items, 1, &bo, bid,
                                        &ids, &err),
                     SYNCQ_OK);
    assert_int_equal(json_array_size(ids), N);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:big:5"), N);
    assert_int_equal(sqt_cmd_int("EXISTS {syncq}:bq:%s", bid), 0);
    assert_int_equal(syncq_batch_info(cl, bid, &info, &err), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "total")), N);
    assert_int_equal(json_integer_value(json_object_get(info, "items")), N);
    json_decref(info);
    /* the last id is the last chunk: items [2499] */
    assert_int_equal(syncq_task_info(cl, json_string_value(
                                             json_array_get(ids, N - 1)),
                                     &t, &err),
                     SYNCQ_OK);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(
                         json_object_get(t, "kwargs"), "items"), 0)),
                     N - 1);
    assert_string_equal(json_string_value(json_object_get(t, "batch_id")),
                        bid);
    json_decref(t);
    json_decref(ids);
    /* options a stored chunk cannot carry are refused, nothing written */
    to.countdown_ms = 1000;
    sqt_flush();
    assert_int_equal(syncq_batch_create(cl, "syncq.noop", items, 1, &bo, bid,
                                        NULL, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "countdown"));
    assert_int_equal(sqt_cmd_int("DBSIZE"), 0);
    free(items);
}

static void
unknown_ids_and_list_filters(void **state)
{
    json_t *t = NULL;
    json_t *list = NULL;
    syncq_error err;
    syncq_task_filter f = {0};
    char id[SYNCQ_ID_SIZE];

    (void)state;
    assert_int_equal(syncq_task_info(cl, "00000000-0000-4000-8000-000000000000",
                                     &t, &err),
                     SYNCQ_ENOTFOUND);
    assert_null(t);
    assert_int_equal(syncq_task_info(cl, "", &t, &err), SYNCQ_EINVAL);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(syncq_task_create(cl, i < 3 ? "crawler.a" : "b", NULL,
                                           NULL, NULL, id, NULL, NULL),
                         SYNCQ_OK);
    }
    f.queue = "crawler";
    assert_int_equal(syncq_task_list(cl, &f, &list, &err), SYNCQ_OK);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
    f.queue = NULL;
    f.state = "PENDING";
    f.limit = 2;
    assert_int_equal(syncq_task_list(cl, &f, &list, &err), SYNCQ_OK);
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);
    f.state = "BOGUS";
    assert_int_equal(syncq_task_list(cl, &f, &list, &err), SYNCQ_EINVAL);
}

/* A key given twice in args or kwargs (at any depth) is refused, single
 * and bulk, as the HTTP API refuses it: which value was meant cannot be
 * known. Nothing is written. */
static void
duplicate_keys_refused_at_enqueue(void **state)
{
    static const char *const bad_kw[] = {"{\"a\":1,\"a\":2}",
                                         "{\"x\":{\"b\":1,\"b\":2}}"};
    syncq_task_spec specs[2] = {{"syncq.noop", NULL, NULL, NULL},
                                {"syncq.noop", NULL, NULL, NULL}};
    char id[SYNCQ_ID_SIZE], ids[2][SYNCQ_ID_SIZE];
    syncq_error err;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, bad_kw[i],
                                           NULL, id, NULL, &err),
                         SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "duplicate object key"));
        specs[1].kwargs_json = bad_kw[i];
        assert_int_equal(syncq_task_create_many(cl, specs, 2, ids, NULL,
                                                &err),
                         SYNCQ_EINVAL);
    }
    memset(&err, 0, sizeof err);
    assert_int_equal(syncq_task_create(cl, "syncq.noop", "[{\"b\":1,\"b\":2}]",
                                       NULL, NULL, id, NULL, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "args"));
    assert_int_equal(sqt_cmd_int("DBSIZE"), 0);
}

/* A C API producer gets the retry policy checked as the CLI does (one
 * checker, core/sq_task.h): a policy the worker could not use is refused
 * at enqueue, single or bulk, and nothing is written; a good one is
 * stored compact. */
static void
bad_retry_policy_refused_at_enqueue(void **state)
{
    static const char *bad[] = {"{\"network\":{\"factor\":\"x\"}}",
                                "{\"no_such_class\":{\"max_retries\":1}}"};
    syncq_task_options o;
    syncq_task_spec specs[2] = {{"syncq.noop", NULL, NULL, NULL},
                                {"syncq.noop", NULL, NULL, NULL}};
    char id[SYNCQ_ID_SIZE], ids[2][SYNCQ_ID_SIZE];
    syncq_error err;
    json_t *t;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        syncq_task_options_init(&o);
        o.retry_policy_json = bad[i];
        memset(&err, 0, sizeof err);
        assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o,
                                           id, NULL, &err),
                         SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "retry policy"));
        specs[1].opts = &o;
        assert_int_equal(syncq_task_create_many(cl, specs, 2, ids, NULL,
                                                &err),
                         SYNCQ_EINVAL);
        assert_non_null(strstr(err.msg, "task 1"));
    }
    assert_int_equal(dbsize(), 0);
    syncq_task_options_init(&o);
    o.retry_policy_json = "{ \"network\": {\"max_retries\": 2} }";
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o, id,
                                       NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(syncq_task_info(cl, id, &t, &err), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(
                         json_object_get(t, "retry_policy"), "network"),
                                                        "max_retries")),
                     2);
    json_decref(t);
}

/* Issue 20: a task id is never re-used. The second create with an
 * existing id is answered as a duplicate with the first task untouched
 * (kwargs, one queue entry); a call of several tasks naming an existing
 * or repeated id is refused and writes nothing. */
static void
existing_id_is_a_duplicate_never_replaced(void **state)
{
    static const char *uid = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";
    syncq_task_options o;
    syncq_task_spec specs[2];
    char id[SYNCQ_ID_SIZE], ids[2][SYNCQ_ID_SIZE];
    size_t created = 9;
    syncq_error err;
    int dup = -1;
    json_t *t;
    long long before;

    (void)state;
    syncq_task_options_init(&o);
    o.task_id = uid;
    assert_int_equal(syncq_task_create(cl, "syncq.sleep", NULL,
                                       "{\"seconds\":4}", &o, id, &dup,
                                       &err),
                     SYNCQ_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(syncq_task_create(cl, "syncq.sleep", NULL,
                                       "{\"seconds\":9}", &o, id, &dup,
                                       &err),
                     SYNCQ_OK);
    assert_int_equal(dup, 1);
    assert_string_equal(id, uid);
    assert_int_equal(syncq_task_info(cl, uid, &t, NULL), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(t, "kwargs"), "seconds")),
                     4);
    json_decref(t);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 1);
    /* several tasks: an existing id, or one id twice, is refused */
    before = dbsize();
    memset(specs, 0, sizeof specs);
    specs[0].name = specs[1].name = "syncq.noop";
    specs[1].opts = &o;
    assert_int_equal(syncq_task_create_many(cl, specs, 2, ids, &created,
                                            &err),
                     SYNCQ_EPROTO); /* the script's refusal */
    assert_non_null(strstr(err.msg, "task id 6f1c2a9e-3b4d-4e5f-8a7b-"
                                    "9c0d1e2f3a4b already exists"));
    assert_int_equal(created, 0);
    {
        syncq_task_options o2;
        syncq_task_options_init(&o2);
        o2.task_id = "0b5e8d3c-1a2f-4c6d-9e7f-8a9b0c1d2e3f";
        specs[0].opts = specs[1].opts = &o2;
        assert_int_equal(syncq_task_create_many(cl, specs, 2, ids, &created,
                                                &err),
                         SYNCQ_EPROTO);
        assert_non_null(strstr(err.msg, "already exists"));
    }
    /* one spec is a bulk create too: refused, as the header says, not
     * answered as a duplicate the way syncq_task_create answers it */
    created = 9;
    specs[0].opts = &o;
    assert_int_equal(syncq_task_create_many(cl, specs, 1, ids, &created,
                                            &err),
                     SYNCQ_EPROTO);
    assert_non_null(strstr(err.msg, "task id 6f1c2a9e-3b4d-4e5f-8a7b-"
                                    "9c0d1e2f3a4b already exists"));
    assert_int_equal(created, 0);
    assert_int_equal(dbsize(), before);
    /* a unique key held by another task is still a duplicate answer */
    {
        syncq_task_options o3;
        char first[SYNCQ_ID_SIZE];
        syncq_task_options_init(&o3);
        o3.unique_key = "one-spec-uk";
        assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &o3,
                                           first, NULL, &err),
                         SYNCQ_OK);
        o3.task_id = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
        specs[0].opts = &o3;
        assert_int_equal(syncq_task_create_many(cl, specs, 1, ids, &created,
                                                &err),
                         SYNCQ_OK);
        assert_string_equal(ids[0], first);
        assert_int_equal(created, 1);
    }
}

/* Calls of Redis command `name` so far (INFO commandstats), 0 if none. */
static long long
calls_of(const char *name)
{
    redisReply *r = sqt_cmd("INFO commandstats");
    char key[64];
    const char *at;
    long long n = 0;

    snprintf(key, sizeof key, "cmdstat_%s:calls=", name);
    at = strstr(r->str, key);
    if (at != NULL) {
        n = atoll(at + strlen(key));
    }
    freeReplyObject(r);
    return n;
}

/* Issue 14: a bulk call writes one task-sent entry for its tasks, each
 * still reading as its own event (sq_event_*) with its name, queue and
 * priority; only the id the caller chose is looked up (one EXISTS, none
 * for ids the library drew); the wake list gets a token per task up to
 * 64 and, full, is left alone (one LLEN, no push). */
static void
bulk_groups_events_and_looks_up_chosen_ids_only(void **state)
{
    static syncq_task_spec specs[300];
    static char ids[300][SYNCQ_ID_SIZE];
    static const char *const mine = "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f60";
    syncq_task_options chosen;
    size_t created = 0;
    syncq_error err;
    long long exists0, lpush0, llen0;

    (void)state;
    syncq_task_options_init(&chosen);
    chosen.task_id = mine;
    for (int i = 0; i < 300; i++) {
        specs[i].name = "syncq.noop";
        specs[i].opts = i == 7 ? &chosen : NULL;
    }
    freeReplyObject(sqt_cmd("CONFIG RESETSTAT"));
    assert_int_equal(syncq_task_create_many(cl, specs, 300, ids, &created,
                                            &err),
                     SYNCQ_OK);
    assert_int_equal(created, 300);
    assert_string_equal(ids[7], mine);
    assert_int_equal(calls_of("exists"), 1);
    assert_int_equal(sqt_cmd_int("XLEN {syncq}:events"), 1);
    for (int i = 0; i < 300; i += 37) {
        assert_int_equal(sqt_task_events(ids[i], "task-sent"), 1);
    }
    assert_int_equal(sqt_task_events(ids[299], "task-sent"), 1);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 300);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:wake:default"), 64);
    /* a full wake list: one LLEN per call, no push */
    exists0 = calls_of("exists");
    lpush0 = calls_of("lpush");
    llen0 = calls_of("llen");
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, NULL,
                                       ids[0], NULL, &err),
                     SYNCQ_OK);
    assert_int_equal(calls_of("exists"), exists0);
    assert_int_equal(calls_of("lpush"), lpush0 + 1); /* the ready list */
    assert_int_equal(calls_of("llen"), llen0 + 1);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:wake:default"), 64);
    /* a single create keeps its own entry */
    assert_int_equal(sqt_cmd_int("XLEN {syncq}:events"), 2);
    assert_int_equal(sqt_task_events(ids[0], "task-sent"), 1);
    /* tokens below 64: topped up to 64 at most */
    freeReplyObject(sqt_cmd("LTRIM {syncq}:wake:default 0 59"));
    assert_int_equal(syncq_task_create_many(cl, specs + 8, 10, ids, &created,
                                            &err),
                     SYNCQ_OK);
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:wake:default"), 64);
    /* a run's "when" argument ends with the unique key, which may hold
     * the separator: the same key is a duplicate, a countdown holds */
    {
        syncq_task_options u;
        char a[SYNCQ_ID_SIZE], b[SYNCQ_ID_SIZE];
        int dup = 0;
        redisReply *x;
        syncq_task_options_init(&u);
        u.unique_key = "a|b|c";
        u.countdown_ms = 60000;
        assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &u,
                                           a, &dup, &err),
                         SYNCQ_OK);
        assert_int_equal(dup, 0);
        assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &u,
                                           b, &dup, &err),
                         SYNCQ_OK);
        assert_int_equal(dup, 1);
        assert_string_equal(a, b);
        x = sqt_cmd("HGET {syncq}:t:%s uniq", a);
        assert_string_equal(x->str, "a|b|c");
        freeReplyObject(x);
        assert_string_equal(sqt_task_state(cl, a), "PENDING");
        assert_int_equal(sqt_cmd_int("ZCARD {syncq}:delayed"), 1);
    }
}

/* enqueue.lua answers a call whose tasks were all created "new" with
 * their count, no id and status per task (the client knows the ids it
 * sent); a call with a task not new answers id, status pairs. */
static void
all_new_call_answers_its_count(void **state)
{
    syncq_task_options u;
    struct sq_args a;
    redisReply *r = NULL;
    char ids[3][SYNCQ_ID_SIZE], first[SYNCQ_ID_SIZE];
    syncq_error err;

    (void)state;
    syncq_task_options_init(&u);
    u.unique_key = "count-reply";
    assert_int_equal(syncq_task_create(cl, "syncq.noop", NULL, NULL, &u,
                                       first, NULL, &err),
                     SYNCQ_OK);
    for (int round = 0; round < 2; round++) {
        sq_args_init(&a);
        sq_enqueue_head(&a, 3, false, 0);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(sq_enqueue_prepare_run(
                                 cl, &a, "syncq.noop", NULL, NULL,
                                 round == 1 && i == 1 ? &u : NULL, ids[i],
                                 &err),
                             SYNCQ_OK);
        }
        assert_int_equal(sq_script_call(cl, SQ_SCRIPT_ENQUEUE, &a, &r, &err),
                         SYNCQ_OK);
        if (round == 0) {
            assert_int_equal(r->type, REDIS_REPLY_INTEGER);
            assert_int_equal(r->integer, 3);
            assert_true(sq_enqueue_all_new(r, 3));
            assert_false(sq_enqueue_all_new(r, 2));
        } else {
            /* the unique key is held by `first`: answered with its id */
            assert_int_equal(r->type, REDIS_REPLY_ARRAY);
            assert_int_equal(r->elements, 6);
            assert_string_equal(r->element[0]->str, ids[0]);
            assert_string_equal(r->element[1]->str, "new");
            assert_string_equal(r->element[2]->str, first);
            assert_string_equal(r->element[3]->str, "dup");
            assert_string_equal(r->element[4]->str, ids[2]);
            assert_string_equal(r->element[5]->str, "new");
            assert_false(sq_enqueue_all_new(r, 3));
        }
        for (int i = 0; i < 3; i++) {
            if (round == 1 && i == 1) {
                continue;
            }
            assert_string_equal(sqt_task_state(cl, ids[i]), "PENDING");
        }
        freeReplyObject(r);
        sq_args_cleanup(&a);
    }
    /* 1 + 3 + 2 records, one unique key */
    assert_int_equal(sqt_cmd_int("LLEN {syncq}:q:default:5"), 6);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(all_new_call_answers_its_count,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(record_has_every_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(routing_by_name_prefix_and_option,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bad_input_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bulk_create_spans_chunks_in_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(unique_key_returns_first_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            existing_id_is_a_duplicate_never_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(countdown_eta_and_expiry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            chinese_emoji_nul_and_binary_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_with_own_id_is_made_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(batch_splits_items_into_chunks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            large_batch_is_stored_whole_then_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_ids_and_list_filters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_retry_policy_refused_at_enqueue,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_keys_refused_at_enqueue,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            bulk_groups_events_and_looks_up_chosen_ids_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
