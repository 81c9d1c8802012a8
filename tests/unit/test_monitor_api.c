/* SPDX-License-Identifier: MIT
 *
 * test_monitor_api.c: the task API's pure parts: spec checks (one error
 * per field, nothing reaches the library when a field is bad: the client
 * is NULL here) and the OpenAPI document generated from the route table
 * (every visible route, with its method, body schema and security).
 */
#include "sq_test.h"

#include "monitor/mon_api_http.h"
#include "monitor/mon_api_spec.h"
#include "monitor/mon_route.h"

#include <string.h>

/* The fields named in errs, comma-separated. */
static void
fields_of(const json_t *errs, char *out, size_t cap)
{
    size_t i;
    json_t *e;

    out[0] = '\0';
    json_array_foreach(errs, i, e) {
        const char *f = json_string_value(json_object_get(e, "field"));
        strncat(out, f != NULL ? f : "?", cap - strlen(out) - 1);
        strncat(out, ",", cap - strlen(out) - 1);
    }
}

static void
task_spec_reports_each_bad_field(void **state)
{
    json_t *spec = json_loads(
        "{\"name\": \"bad name\", \"queue\": \"a b\", \"priority\": 11,"
        " \"countdown\": -1, \"kwargs\": [], \"eta\": \"soon\","
        " \"colour\": 1}",
        0, NULL);
    json_t *errs = json_array(), *out = NULL;
    syncq_error e;
    char f[256];

    (void)state;
    assert_int_equal(sq_spec_task_create(NULL, spec, errs, &out, &e),
                     SYNCQ_EINVAL);
    assert_null(out);
    fields_of(errs, f, sizeof f);
    assert_string_equal(f, "countdown,kwargs,eta,colour,priority,name,queue,");
    assert_non_null(strstr(e.msg, "countdown: must be >= 0"));
    json_decref(errs);
    json_decref(spec);

    spec = json_loads("{\"args\": {}}", 0, NULL);
    errs = json_array();
    assert_int_equal(sq_spec_task_create(NULL, spec, errs, &out, &e),
                     SYNCQ_EINVAL);
    fields_of(errs, f, sizeof f);
    assert_string_equal(f, "args,name,");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(errs, 1), "message")),
        "is required");
    json_decref(errs);
    json_decref(spec);
}

static void
bulk_and_schedule_specs_name_their_fields(void **state)
{
    json_t *list = json_loads(
        "[{\"name\": \"syncq.noop\"}, {\"name\": \"syncq.noop\","
        " \"priority\": \"HUGE\"}, 7]",
        0, NULL);
    json_t *errs = json_array(), *out = NULL;
    syncq_error e;
    char f[256];

    (void)state;
    assert_int_equal(sq_spec_tasks_create(NULL, list, errs, &out, &e),
                     SYNCQ_EINVAL);
    fields_of(errs, f, sizeof f);
    assert_string_equal(f, "tasks[1].priority,tasks[2],");
    json_decref(errs);
    json_decref(list);

    list = json_loads("{\"name\": \"s\", \"task\": \"syncq.noop\","
                      " \"type\": \"weekly\", \"interval\": \"1h\"}",
                      0, NULL);
    errs = json_array();
    assert_int_equal(sq_spec_schedule_add(NULL, list, errs, &out, &e),
                     SYNCQ_EINVAL);
    fields_of(errs, f, sizeof f);
    assert_string_equal(f, "interval,");
    json_decref(errs);
    errs = json_array();
    json_object_del(list, "interval");
    assert_int_equal(sq_spec_schedule_add(NULL, list, errs, &out, &e),
                     SYNCQ_EINVAL);
    fields_of(errs, f, sizeof f);
    assert_string_equal(f, "type,");
    json_decref(errs);
    json_decref(list);
}

/* True when the operation `op` lists a query parameter `name`. */
static bool
has_query_param(const json_t *op, const char *name)
{
    size_t i;
    json_t *p;

    json_array_foreach(json_object_get(op, "parameters"), i, p) {
        if (strcmp(json_string_value(json_object_get(p, "name")), name) ==
                0 &&
            strcmp(json_string_value(json_object_get(p, "in")), "query") ==
                0) {
            return true;
        }
    }
    return false;
}

static void
openapi_lists_every_visible_route(void **state)
{
    json_t *doc = sq_api_openapi();
    const json_t *paths = json_object_get(doc, "paths");
    size_t visible = 0, ops = 0;
    const char *k;
    json_t *v;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")),
                        "3.1.0");
    for (size_t i = 0; i < sq_mon_nroutes; i++) {
        const struct sq_route_def *d = &sq_mon_routes[i];
        char m[8];
        const json_t *op;
        if (d->flags & SQ_RF_HIDDEN) {
            continue;
        }
        visible++;
        for (size_t j = 0; j < sizeof m; j++) {
            m[j] = (char)(d->method[j] | (d->method[j] ? 0x20 : 0));
            if (d->method[j] == '\0') {
                break;
            }
        }
        op = json_object_get(json_object_get(paths, d->path), m);
        if (op == NULL) {
            fail_msg("%s %s missing", d->method, d->path);
        }
        assert_int_equal(json_object_get(op, "security") != NULL,
                         (d->flags & SQ_RF_WRITE) != 0);
        assert_int_equal(json_object_get(op, "requestBody") != NULL,
                         d->body != NULL);
        assert_int_equal(has_query_param(op, "ns"),
                         sq_api_route_takes_ns(d->kind));
    }
    assert_false(sq_api_route_takes_ns(SQ_R_LIVE));
    assert_true(sq_api_route_takes_ns(SQ_R_TASKS));
    json_object_foreach((json_t *)paths, k, v) {
        ops += json_object_size(v);
    }
    assert_int_equal(ops, visible);
    assert_non_null(json_object_get(
        json_object_get(json_object_get(doc, "components"), "schemas"),
        "TaskSpec"));
    json_decref(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(task_spec_reports_each_bad_field),
        cmocka_unit_test(bulk_and_schedule_specs_name_their_fields),
        cmocka_unit_test(openapi_lists_every_visible_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
