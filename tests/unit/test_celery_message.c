/* SPDX-License-Identifier: MIT
 *
 * test_celery_message.c: golden decodes of every captured Celery wire
 * fixture (tests/fixtures/celery-wire/: task messages, the unacked entry,
 * results, events, pidbox request and reply), rejects with their reasons
 * (pickle, bad base64, body not JSON, two-element body, protocol 1...),
 * the encoder's round trip, priority step keys, the priority mapping and
 * the Celery -> syncq id mapping.
 */
#include "sq_test.h"

#include "celery/celery.h"
#include "celery/celery_message.h"
#include "sq_alloc.h"
#include "sq_id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
fixture(const char *name, size_t *len)
{
    char rel[200];
    char *s;

    snprintf(rel, sizeof rel, "celery-wire/%s", name);
    s = sqt_read_file(sqt_fixture(rel), len);
    assert_non_null(s);
    /* the files end with the value itself (no newline) or one newline */
    while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r')) {
        s[--*len] = '\0';
    }
    return s;
}

static void
decode_fixture(const char *name, struct sq_celery_msg *m)
{
    size_t len;
    char *raw = fixture(name, &len);

    assert_int_equal(sq_celery_msg_decode(raw, len, m), SQ_CELERY_OK);
    free(raw);
}

static void
plain_message_decodes_every_field(void **state)
{
    struct sq_celery_msg m;

    (void)state;
    decode_fixture("msg_plain_fetch_products.json", &m);
    assert_string_equal(m.task, "src.queue.tasks.crawler.fetch_products");
    assert_string_equal(m.id, "26a7b4a3-9eff-4133-86b3-23eb7baa2aef");
    assert_string_equal(m.delivery_tag,
                        "0fec0000-4b28-4734-9358-82a70e011db9");
    assert_string_equal(m.exchange, "");
    assert_string_equal(m.routing_key, "celery");
    assert_string_equal(m.root_id, m.id);
    assert_null(m.parent_id);
    assert_null(m.group);
    assert_string_equal(m.content_type, "application/json");
    assert_int_equal(m.priority, 0);
    assert_int_equal(m.retries, 0);
    assert_int_equal(m.eta_ms, 0);
    assert_int_equal(m.expires_ms, 0);
    assert_int_equal(m.time_limit_ms, 0);
    assert_int_equal(m.soft_time_limit_ms, 0);
    assert_false(m.ignore_result);
    assert_false(m.redelivered);
    assert_int_equal(json_array_size(m.args), 0);
    assert_string_equal(json_string_value(json_object_get(m.kwargs,
                                                          "category_id")),
                        "123");
    assert_int_equal(json_integer_value(json_object_get(m.kwargs,
                                                        "page_size")),
                     50);
    assert_non_null(m.embed);
    assert_true(json_is_null(json_object_get(m.embed, "chord")));
    assert_false(sq_celery_msg_has_chord(&m));
    sq_celery_msg_cleanup(&m);
}

static void
countdown_message_has_its_eta(void **state)
{
    struct sq_celery_msg m;

    (void)state;
    decode_fixture("msg_countdown_eta.json", &m);
    assert_string_equal(m.id, "countdown-0001");
    /* 2026-11-29T08:19:43.091331+00:00 */
    assert_int_equal(m.eta_ms, 1795940383091LL);
    sq_celery_msg_cleanup(&m);
}

static void
priority_message_keeps_its_priority(void **state)
{
    struct sq_celery_msg m;

    (void)state;
    decode_fixture("msg_priority8.json", &m);
    assert_int_equal(m.priority, 8);
    assert_int_equal(sq_celery_priority_to_syncq(m.priority), 1);
    sq_celery_msg_cleanup(&m);
}

static void
failing_and_retry_messages_decode(void **state)
{
    struct sq_celery_msg m;

    (void)state;
    decode_fixture("msg_failing_task.json", &m);
    assert_string_equal(m.task, "src.queue.tasks.crawler.always_fails");
    assert_int_equal(json_array_size(m.args), 2);
    assert_int_equal(json_integer_value(json_array_get(m.args, 0)), 1);
    assert_string_equal(json_string_value(json_array_get(m.args, 1)), "x");
    sq_celery_msg_cleanup(&m);

    decode_fixture("msg_retry_task_initial.json", &m);
    assert_string_equal(m.id, "retry-0001");
    assert_int_equal(m.retries, 0);
    assert_int_equal(m.eta_ms, 0);
    sq_celery_msg_cleanup(&m);

    decode_fixture("msg_retry_task_republished.json", &m);
    assert_string_equal(m.id, "retry-0001");
    assert_int_equal(m.retries, 1);
    assert_string_equal(m.parent_id, "retry-0001");
    assert_int_equal(m.eta_ms, 1795940377698LL);
    assert_string_equal(m.delivery_tag,
                        "38c10a96-ac96-4f97-a6b0-8b58801c368f");
    sq_celery_msg_cleanup(&m);
}

static void
restored_message_is_marked_redelivered(void **state)
{
    struct sq_celery_msg m;

    (void)state;
    decode_fixture("msg_restored_after_visibility_timeout.json", &m);
    assert_string_equal(m.id, "vt-0001");
    assert_true(m.redelivered);
    assert_string_equal(m.delivery_tag,
                        "8e398945-67bd-43be-a66a-17c45de7bd69");
    sq_celery_msg_cleanup(&m);
}

static void
chord_member_is_recognised(void **state)
{
    struct sq_celery_msg m;

    (void)state;
    decode_fixture("msg_chord_header_member.json", &m);
    assert_string_equal(m.group, "64e9386b-426d-43b4-8fe4-296f43dad4aa");
    assert_true(sq_celery_msg_has_chord(&m));
    sq_celery_msg_cleanup(&m);
}

static void
unacked_entry_holds_the_message(void **state)
{
    size_t len;
    char *raw = fixture("unacked_hash_entry_eta_task.json", &len);
    json_t *entry = json_loadb(raw, len, 0, NULL);
    char *msg;
    struct sq_celery_msg m;

    (void)state;
    assert_true(json_is_array(entry));
    assert_int_equal(json_array_size(entry), 3);
    assert_string_equal(json_string_value(json_array_get(entry, 1)), "");
    assert_string_equal(json_string_value(json_array_get(entry, 2)),
                        "celery");
    msg = json_dumps(json_array_get(entry, 0), JSON_COMPACT);
    assert_int_equal(sq_celery_msg_decode(msg, strlen(msg), &m),
                     SQ_CELERY_OK);
    assert_string_equal(m.id, "countdown-0001");
    assert_true(m.eta_ms > 0);
    sq_celery_msg_cleanup(&m);
    sq_free(msg);
    json_decref(entry);
    free(raw);
}

static json_t *
parse_result(const char *name, const char *id)
{
    size_t len;
    char *raw = fixture(name, &len);
    json_t *o = NULL;
    syncq_error err;

    assert_int_equal(sq_celery_meta_parse(id, raw, len, &o, &err), SYNCQ_OK);
    free(raw);
    return o;
}

static void
results_parse_into_task_objects(void **state)
{
    json_t *o;

    (void)state;
    o = parse_result("result_success_fetch_products.json", "x");
    assert_string_equal(json_string_value(json_object_get(o, "state")),
                        "SUCCESS");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(o, "result"),
                                            "kwargs"),
                            "category_id")),
                        "123");
    assert_non_null(json_object_get(o, "done_at"));
    json_decref(o);

    o = parse_result("result_failure.json", "fail-0001");
    assert_string_equal(json_string_value(json_object_get(o, "state")),
                        "FAILURE");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(o, "error"), "class")),
                        "ValueError");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(o, "error"), "message")),
                        "celery_peer: failing on purpose");
    assert_non_null(strstr(json_string_value(json_object_get(o,
                                                             "traceback")),
                           "ValueError"));
    assert_null(json_object_get(o, "result"));
    json_decref(o);

    o = parse_result("result_retry_intermediate_RETRY_state.json", "r");
    assert_string_equal(json_string_value(json_object_get(o, "state")),
                        "RETRY");
    assert_null(json_object_get(o, "done_at"));
    json_decref(o);

    o = parse_result("result_retry_final_success.json", "r");
    assert_string_equal(json_string_value(json_object_get(o, "state")),
                        "SUCCESS");
    assert_string_equal(json_string_value(json_object_get(o, "parent_id")),
                        "retry-0001");
    json_decref(o);

    o = parse_result("result_countdown_success.json", "c");
    assert_string_equal(json_string_value(json_object_get(o, "state")),
                        "SUCCESS");
    json_decref(o);

    o = parse_result("result_extended_success.json", "e");
    assert_string_equal(json_string_value(json_object_get(o, "name")),
                        "src.queue.tasks.crawler.fetch_products");
    assert_string_equal(json_string_value(json_object_get(o, "worker")),
                        "peer@vm");
    assert_string_equal(json_string_value(json_object_get(o, "queue")),
                        "celery");
    json_decref(o);
}

static json_t *
envelope_body(const char *name)
{
    size_t len;
    char *raw = fixture(name, &len);
    json_t *env = json_loadb(raw, len, 0, NULL);
    json_t *body = sq_celery_envelope_body(env);
    struct sq_celery_msg m;

    /* not task messages: the task decoder says so, with its reason */
    assert_int_equal(sq_celery_msg_decode(raw, len, &m),
                     SQ_CELERY_BAD_ENVELOPE);
    sq_celery_msg_cleanup(&m);
    json_decref(env);
    free(raw);
    assert_non_null(body);
    return body;
}

static void
events_and_pidbox_bodies_decode(void **state)
{
    json_t *b;

    (void)state;
    b = envelope_body("event_worker_heartbeat_envelope.json");
    assert_string_equal(json_string_value(json_object_get(b, "type")),
                        "worker-heartbeat");
    assert_string_equal(json_string_value(json_object_get(b, "hostname")),
                        "peer@vm");
    json_decref(b);
    b = envelope_body("event_task_multi_success_envelope.json");
    assert_int_equal(json_array_size(b), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(b, 2), "type")),
                        "task-succeeded");
    json_decref(b);
    b = envelope_body("event_task_multi_failed_envelope.json");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(b, 2), "type")),
                        "task-failed");
    json_decref(b);
    b = envelope_body("pidbox_ping_request_published.json");
    assert_string_equal(json_string_value(json_object_get(b, "method")),
                        "ping");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(b, "reply_to"), "routing_key")),
                        "b1390dcf-cb2a-3e86-a8e3-d21073335156");
    json_decref(b);
    b = envelope_body("pidbox_ping_reply_lpushed.json");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(b, "peer@vm"), "ok")),
                        "pong");
    json_decref(b);
}

static void
chord_zset_member_is_a_result_tuple(void **state)
{
    size_t len;
    char *raw = fixture("chord_j_zset_member.json", &len);
    json_t *j = json_loadb(raw, len, 0, NULL);

    (void)state;
    assert_int_equal(json_array_size(j), 4);
    assert_string_equal(json_string_value(json_array_get(j, 2)), "SUCCESS");
    json_decref(j);
    free(raw);
}

/* Build a message from parts, as a poison test does. */
static char *
message_with(const char *content_type, const char *enc, const char *body)
{
    char *s = NULL;
    json_t *env = json_pack(
        "{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:{s:s,s:s}}}", "body", body,
        "content-type", content_type, "headers", "task", "syncq.echo", "id",
        "poison-1", "properties", "body_encoding", enc, "delivery_tag",
        "tag-1", "delivery_info", "exchange", "", "routing_key", "celery");

    s = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    return s;
}

static void
poison_messages_get_their_reasons(void **state)
{
    static const struct {
        const char *ct, *enc, *body;
        enum sq_celery_reject want;
    } cases[] = {
        {"application/x-python-serialize", "base64", "gAJ9cQAu",
         SQ_CELERY_SERIALIZER},
        {"application/json", "base64", "not base64!", SQ_CELERY_BAD_BASE64},
        {"application/json", "base64", "bm90IGpzb24=", /* "not json" */
         SQ_CELERY_BODY_NOT_JSON},
        {"application/json", "base64", "W1tdLCB7fV0=", /* [[], {}] */
         SQ_CELERY_BAD_BODY},
        {"application/json", "base64", "WzEsIHt9LCB7fV0=", /* [1, {}, {}] */
         SQ_CELERY_BAD_BODY},
        {"application/json", "gzip", "W10=", SQ_CELERY_BAD_ENCODING},
    };
    struct sq_celery_msg m;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = message_with(cases[i].ct, cases[i].enc, cases[i].body);
        assert_int_equal(sq_celery_msg_decode(s, strlen(s), &m),
                         cases[i].want);
        /* the id and tag stay known, so a FAILURE result can be written */
        assert_string_equal(m.id, "poison-1");
        assert_string_equal(m.task, "syncq.echo");
        assert_true(m.detail[0] != '\0');
        sq_celery_msg_cleanup(&m);
        sq_free(s);
    }
    assert_int_equal(sq_celery_msg_decode("{not json", 9, &m),
                     SQ_CELERY_NOT_JSON);
    assert_null(m.id);
    sq_celery_msg_cleanup(&m);
    /* protocol 1: the task name sits in the body, not the headers */
    {
        const char *p1 = "{\"headers\":{},\"body\":\"e30=\"}";
        assert_int_equal(sq_celery_msg_decode(p1, strlen(p1), &m),
                         SQ_CELERY_BAD_ENVELOPE);
    }
    sq_celery_msg_cleanup(&m);
    assert_string_equal(sq_celery_reject_name(SQ_CELERY_SERIALIZER),
                        "serializer");
    assert_string_equal(sq_celery_reject_name(SQ_CELERY_BAD_BODY),
                        "bad_body");
}

static void
bad_headers_are_refused(void **state)
{
    static const char *const cases[] = {
        "{\"headers\":{\"task\":\"t\",\"id\":\"i\",\"eta\":\"tomorrow\"},"
        "\"body\":\"W10=\"}",
        "{\"headers\":{\"task\":\"t\",\"id\":\"i\",\"retries\":-1},"
        "\"body\":\"W10=\"}",
        "{\"headers\":{\"task\":\"t\",\"id\":\"i\",\"timelimit\":[1]},"
        "\"body\":\"W10=\"}",
        "{\"headers\":{\"task\":\"t\",\"id\":\"i\",\"expires\":5},"
        "\"body\":\"W10=\"}",
    };
    struct sq_celery_msg m;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sq_celery_msg_decode(cases[i], strlen(cases[i]),
                                              &m),
                         SQ_CELERY_BAD_HEADER);
        sq_celery_msg_cleanup(&m);
    }
}

static void
encoded_message_decodes_back(void **state)
{
    struct sq_celery_out o;
    struct sq_celery_msg m;
    char id[201];
    char *s = NULL;
    json_t *args = json_pack("[i,s]", 1, "x");
    json_t *kwargs = json_pack("{s:s}", "category_id", "123");
    syncq_error err;

    (void)state;
    memset(&o, 0, sizeof o);
    o.task = "src.queue.tasks.crawler.fetch_products";
    o.args = args;
    o.kwargs = kwargs;
    o.queue = "crawler";
    o.priority = 6;
    o.retries = 2;
    o.eta_ms = 1795940383091LL;
    o.expires_ms = 1795940483000LL;
    o.time_limit_ms = 30000;
    o.soft_time_limit_ms = 20000;
    assert_int_equal(sq_celery_msg_encode(&o, &s, id, &err), SYNCQ_OK);
    assert_true(sq_uuid_valid(id));
    assert_int_equal(sq_celery_msg_decode(s, strlen(s), &m), SQ_CELERY_OK);
    assert_string_equal(m.task, o.task);
    assert_string_equal(m.id, id);
    assert_string_equal(m.root_id, id);
    assert_string_equal(m.routing_key, "crawler");
    assert_int_equal(m.priority, 6);
    assert_int_equal(m.retries, 2);
    assert_int_equal(m.eta_ms, o.eta_ms);
    assert_int_equal(m.expires_ms, 1795940483000LL);
    assert_int_equal(m.time_limit_ms, 30000);
    assert_int_equal(m.soft_time_limit_ms, 20000);
    assert_true(json_equal(m.args, args));
    assert_true(json_equal(m.kwargs, kwargs));
    assert_non_null(m.delivery_tag);
    assert_non_null(strstr(s, "\"eta\":\"2026-11-29T08:19:43.091000+00:00\""));
    sq_celery_msg_cleanup(&m);
    sq_free(s);
    /* refused: bad name, args not an array, priority out of range */
    o.task = "";
    assert_int_equal(sq_celery_msg_encode(&o, &s, id, &err), SYNCQ_EINVAL);
    assert_null(s);
    o.task = "t";
    o.args = kwargs;
    assert_int_equal(sq_celery_msg_encode(&o, &s, id, &err), SYNCQ_EINVAL);
    o.args = NULL;
    o.priority = 10;
    assert_int_equal(sq_celery_msg_encode(&o, &s, id, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "0..9"));
    json_decref(args);
    json_decref(kwargs);
}

static void
priority_steps_name_kombus_lists(void **state)
{
    int steps[10];
    size_t n;
    char buf[64];
    syncq_error err;

    (void)state;
    assert_int_equal(sq_celery_steps_parse("0,3,6,9", steps, &n, &err),
                     SYNCQ_OK);
    assert_int_equal(n, 4);
    assert_string_equal(sq_celery_queue_key("celery", 0, steps, n, buf,
                                            sizeof buf),
                        "celery");
    assert_string_equal(sq_celery_queue_key("celery", 2, steps, n, buf,
                                            sizeof buf),
                        "celery");
    assert_string_equal(sq_celery_queue_key("celery", 8, steps, n, buf,
                                            sizeof buf),
                        "celery\x06\x16" "6");
    assert_string_equal(sq_celery_queue_key("celery", 9, steps, n, buf,
                                            sizeof buf),
                        "celery\x06\x16" "9");
    assert_int_equal(sq_celery_steps_parse("3,6", steps, &n, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_celery_steps_parse("0,6,3", steps, &n, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_celery_steps_parse("0,x", steps, &n, &err),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_celery_steps_parse("", steps, &n, &err),
                     SYNCQ_EINVAL);
    /* higher syncq priority = lower Celery number = served first */
    assert_int_equal(sq_celery_priority_from_syncq(10), 0);
    assert_int_equal(sq_celery_priority_from_syncq(5), 4);
    assert_int_equal(sq_celery_priority_from_syncq(0), 9);
    assert_int_equal(sq_celery_priority_to_syncq(0), 9);
    assert_int_equal(sq_celery_priority_to_syncq(9), 0);
}

static void
celery_ids_map_to_stable_uuids(void **state)
{
    char a[37], b[37];

    (void)state;
    sq_celery_syncq_id("26A7B4A3-9EFF-4133-86B3-23EB7BAA2AEF", a);
    assert_string_equal(a, "26a7b4a3-9eff-4133-86b3-23eb7baa2aef");
    sq_celery_syncq_id("plain-0001", a);
    sq_celery_syncq_id("plain-0001", b);
    assert_string_equal(a, b);
    assert_true(sq_uuid_valid(a));
    assert_int_equal(a[14], '5'); /* version 5 layout */
    sq_celery_syncq_id("plain-0002", b);
    assert_string_not_equal(a, b);
}

static void
record_becomes_a_celery_meta(void **state)
{
    json_t *rec = json_pack("{s:s,s:s,s:{s:s},s:s}", "state", "SUCCESS",
                            "name", "syncq.echo", "result", "a", "b",
                            "done_at", "2026-11-29T08:19:36.692Z");
    char *meta = sq_celery_meta_of_record("cid-1", rec);
    json_t *m = json_loads(meta, 0, NULL);

    (void)state;
    assert_string_equal(json_string_value(json_object_get(m, "status")),
                        "SUCCESS");
    assert_string_equal(json_string_value(json_object_get(m, "task_id")),
                        "cid-1");
    assert_string_equal(json_string_value(json_object_get(m, "date_done")),
                        "2026-11-29T08:19:36.692000");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(m, "result"), "a")),
                        "b");
    assert_int_equal(json_array_size(json_object_get(m, "children")), 0);
    sq_free(meta);
    json_decref(m);
    json_decref(rec);

    rec = json_pack("{s:s,s:s,s:{s:s,s:s}}", "state", "FAILURE", "name",
                    "syncq.fail", "error", "class", "network", "message",
                    "connection refused");
    meta = sq_celery_meta_of_record("cid-2", rec);
    m = json_loads(meta, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(m, "status")),
                        "FAILURE");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(m, "result"), "exc_type")),
                        "ConnectionError");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(m, "result"), "exc_module")),
                        "builtins");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(m, "result"),
                                            "exc_message"),
                            0)),
                        "connection refused");
    assert_non_null(strstr(json_string_value(json_object_get(m,
                                                             "traceback")),
                           "network"));
    sq_free(meta);
    json_decref(m);
    json_decref(rec);
    assert_string_equal(sq_celery_status_of("EXPIRED"), "REVOKED");
    assert_string_equal(sq_celery_status_of("DEAD"), "FAILURE");
    assert_string_equal(sq_celery_status_of("PROGRESS"), "STARTED");
    assert_true(sq_celery_status_ready("REVOKED"));
    assert_false(sq_celery_status_ready("RETRY"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_message_decodes_every_field),
        cmocka_unit_test(countdown_message_has_its_eta),
        cmocka_unit_test(priority_message_keeps_its_priority),
        cmocka_unit_test(failing_and_retry_messages_decode),
        cmocka_unit_test(restored_message_is_marked_redelivered),
        cmocka_unit_test(chord_member_is_recognised),
        cmocka_unit_test(unacked_entry_holds_the_message),
        cmocka_unit_test(results_parse_into_task_objects),
        cmocka_unit_test(events_and_pidbox_bodies_decode),
        cmocka_unit_test(chord_zset_member_is_a_result_tuple),
        cmocka_unit_test(poison_messages_get_their_reasons),
        cmocka_unit_test(bad_headers_are_refused),
        cmocka_unit_test(encoded_message_decodes_back),
        cmocka_unit_test(priority_steps_name_kombus_lists),
        cmocka_unit_test(celery_ids_map_to_stable_uuids),
        cmocka_unit_test(record_becomes_a_celery_meta),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
