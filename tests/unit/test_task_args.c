/* SPDX-License-Identifier: MIT
 *
 * test_task_args.c: declared task arguments (syncq/task.h,
 * core/sq_task_args.c): the one checker every door uses, with its exact
 * messages on the built-in packs' own declarations (one problem per bad
 * field, "did you mean"), positional arguments, open declarations, the
 * declaration check at registration, the JSON form and its parser, and
 * that every built-in task declares its arguments.
 */
#include "sq_test.h"

#include "core/sq_task_args.h"

#include <stdio.h>
#include <string.h>

/* Check `kwargs` (JSON text) for built-in task `name`; returns the
 * problems as "field: error" lines joined by '\n' (static buffer). */
static const char *
problems_of(const char *name, const char *args, const char *kwargs)
{
    static char out[2048];
    json_t *problems = NULL;
    syncq_error err;
    size_t i, used = 0;
    json_t *p;
    int rc;

    sqt_register_packs();
    rc = syncq_task_args_check(NULL, name, args, kwargs, &problems, &err);
    out[0] = '\0';
    if (rc == SYNCQ_OK) {
        assert_null(problems);
        return "ok";
    }
    assert_int_equal(rc, SYNCQ_EINVAL);
    json_array_foreach(problems, i, p)
    {
        used += (size_t)snprintf(out + used, sizeof out - used, "%s%s: %s",
                                 i ? "\n" : "",
                                 json_string_value(json_object_get(p, "field")),
                                 json_string_value(json_object_get(p, "error")));
    }
    /* err->msg starts with the first problem */
    assert_int_equal(strncmp(err.msg, out, strcspn(out, "\n")), 0);
    json_decref(problems);
    return out;
}

static void
bad_fields_get_one_line_each(void **state)
{
    (void)state;
    assert_string_equal(problems_of("crawler.fetch_products", NULL,
                                    "{\"category_id\":\"123\","
                                    "\"page_size\":-1}"),
                        "page_size: must be >= 1 (got -1)");
    assert_string_equal(problems_of("crawler.fetch_products", NULL, "{}"),
                        "category_id: required");
    assert_string_equal(problems_of("crawler.fetch_products", NULL,
                                    "{\"category_id\":1,\"pagesize\":5}"),
                        "pagesize: unknown argument; did you mean "
                        "page_size?");
    assert_string_equal(
        problems_of("crawler.fetch_products", NULL,
                    "{\"page_size\":500,\"fetch_details\":\"maybe\","
                    "\"colour\":1,\"source\":\"web\"}"),
        "category_id: required\n"
        "page_size: must be <= 50 (got 500)\n"
        "fetch_details: must be true or false (got \"maybe\")\n"
        "source: must be one of api|page|classic (got \"web\")\n"
        "colour: unknown argument (accepted: category_id, page, page_size, "
        "fetch_details, source, full, base_url, page_url, shop_url)");
    assert_string_equal(problems_of("image_processing.download_images", NULL,
                                    "{\"urls\":\"http://x/a.jpg\"}"),
                        "urls: must be an array (got \"http://x/a.jpg\")");
    assert_string_equal(problems_of("image_processing.resize_images", NULL,
                                    "{\"image_ids\":[1,\"x\"],"
                                    "\"width\":8}"),
                        "image_ids: item 1 must be an integer (got \"x\")\n"
                        "width: must be >= 16 (got 8)");
    assert_string_equal(problems_of("syncq.sleep", NULL,
                                    "{\"seconds\":\"ten\"}"),
                        "seconds: must be a number (got \"ten\")");
    assert_string_equal(problems_of("batch_processing.batch_update", NULL,
                                    "{\"filter\":{}}"),
                        "set: required");
}

static void
good_arguments_pass_in_the_seed_forms(void **state)
{
    (void)state;
    /* ids and numbers as strings, 0/1 booleans: what the tasks read */
    assert_string_equal(problems_of("crawler.fetch_products", NULL,
                                    "{\"category_id\":\"1031910\","
                                    "\"page\":\"2\",\"fetch_details\":1}"),
                        "ok");
    assert_string_equal(problems_of("crawler.fetch_products",
                                    "[\"1031910\", 2, 50]", NULL),
                        "ok");
    assert_string_equal(problems_of("syncq.echo", NULL,
                                    "{\"anything\":[1,2],\"x\":null}"),
                        "ok");
    assert_string_equal(problems_of("data_sync.validate_data", NULL,
                                    "{\"batch_id\":\"b1\",\"total\":3,"
                                    "\"succeeded\":2,\"failed\":1}"),
                        "ok");
    /* null is "not given": a required one is still missing */
    assert_string_equal(problems_of("crawler.fetch_products", NULL,
                                    "{\"category_id\":null}"),
                        "category_id: required");
    /* an unregistered task is not checked here */
    assert_string_equal(problems_of("custom.thing", NULL, "{\"x\":1}"), "ok");
}

static void
positional_arguments_follow_the_declaration(void **state)
{
    (void)state;
    assert_string_equal(problems_of("crawler.fetch_products",
                                    "[\"1\", 2, 3, 4]", NULL),
                        "args: 4 positional arguments given, at most 3");
    assert_string_equal(problems_of("crawler.fetch_products", "[\"1\"]",
                                    "{\"category_id\":\"2\"}"),
                        "category_id: given both as positional argument 1 "
                        "and by name");
    /* keyword-only arguments are never taken from args */
    assert_string_equal(problems_of("syncq.sleep", "[1]", NULL),
                        "args: 1 positional arguments given, at most 0");
}

static void
bad_json_is_refused_before_the_declaration(void **state)
{
    syncq_error err;

    (void)state;
    sqt_register_packs();
    assert_int_equal(syncq_task_args_check(NULL, "syncq.sleep", NULL,
                                           "{\"a\":", NULL, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "kwargs is not valid JSON"));
    assert_int_equal(syncq_task_args_check(NULL, "syncq.sleep", "{}", NULL,
                                           NULL, &err),
                     SYNCQ_EINVAL);
    assert_string_equal(err.msg, "args must be a JSON array");
}

static void
every_builtin_task_declares_its_arguments(void **state)
{
    syncq_registry *r;
    size_t n = 0;

    (void)state;
    sqt_register_packs();
    r = syncq_registry_default();
    for (size_t i = 0; i < syncq_registry_count(r); i++) {
        const syncq_task_def *d = syncq_registry_at(r, i);
        json_t *j;
        char *s;
        struct sq_args_parsed p;
        if (strncmp(d->name, "syncq.", 6) != 0 &&
            strncmp(d->name, "crawler.", 8) != 0 &&
            strncmp(d->name, "image_processing.", 17) != 0 &&
            strncmp(d->name, "data_sync.", 10) != 0 &&
            strncmp(d->name, "batch_processing.", 17) != 0) {
            continue;
        }
        n++;
        if (d->args == NULL) {
            fail_msg("%s declares no arguments", d->name);
        }
        /* the published form parses back to the same check */
        j = sq_args_describe(d);
        assert_non_null(j);
        s = json_dumps(j, JSON_COMPACT);
        assert_int_equal(sq_args_parse(s, strlen(s), &p, NULL), SYNCQ_OK);
        assert_true(p.declared);
        for (size_t k = 0; d->args[k].name != NULL; k++) {
            assert_string_equal(p.decl[k].name, d->args[k].name);
            assert_int_equal(p.decl[k].type, d->args[k].type);
            assert_int_equal(p.decl[k].flags, d->args[k].flags);
            if (d->args[k].min != 0 || d->args[k].max != 0) {
                assert_true(p.decl[k].min == d->args[k].min);
                assert_true(p.decl[k].max == d->args[k].max);
            }
        }
        sq_args_parsed_cleanup(&p);
        free(s);
        json_decref(j);
    }
    assert_int_equal(n, 25); /* 16 domain tasks + 9 syncq.* */
}

static void
declarations_are_checked_at_registration(void **state)
{
    static const syncq_arg_def bad_default[] = {
        {.name = "n", .type = SYNCQ_ARG_INT, .min = 1, .max = 5,
         .default_json = "9"},
        {0},
    };
    static const syncq_arg_def twice[] = {
        {.name = "n", .type = SYNCQ_ARG_INT},
        {.name = "n", .type = SYNCQ_ARG_STRING},
        {0},
    };
    static const syncq_arg_def items_not_array[] = {
        {.name = "ids", .type = SYNCQ_ARG_STRING, .flags = SYNCQ_ARG_ITEMS},
        {0},
    };
    static const syncq_arg_def bad_name[] = {
        {.name = "Page-Size", .type = SYNCQ_ARG_INT},
        {0},
    };
    syncq_error err;

    (void)state;
    assert_int_equal(sq_args_decl_check(bad_default, &err), SYNCQ_EINVAL);
    assert_string_equal(err.msg, "argument n: default 9 is not a valid value");
    assert_int_equal(sq_args_decl_check(twice, &err), SYNCQ_EINVAL);
    assert_string_equal(err.msg, "argument n declared twice");
    assert_int_equal(sq_args_decl_check(items_not_array, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "argument ids: flags"));
    assert_int_equal(sq_args_decl_check(bad_name, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "'Page-Size': names are"));
}

static void
published_garbage_is_not_a_declaration(void **state)
{
    struct sq_args_parsed p;
    syncq_error err;
    static const char *bad[] = {
        "",
        "[]",
        "{\"declared\":true}",
        "{\"declared\":true,\"args\":[{\"name\":\"a\",\"type\":\"nope\"}]}",
        "{\"declared\":true,\"args\":[{\"name\":\"a\",\"type\":\"int\","
        "\"min\":5,\"max\":1}]}",
        "{\"declared\":true,\"args\":[{\"name\":\"a\",\"type\":\"int\","
        "\"min\":\"1\"}]}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sq_args_parse(bad[i], strlen(bad[i]), &p, &err),
                         SYNCQ_EPROTO);
        assert_null(p.json);
        assert_null(p.decl);
    }
    assert_int_equal(sq_args_parse("{\"declared\":false,\"args\":[]}", 28, &p,
                                   &err),
                     SYNCQ_OK);
    assert_false(p.declared);
    assert_null(p.decl); /* unchecked */
    sq_args_parsed_cleanup(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_fields_get_one_line_each),
        cmocka_unit_test(good_arguments_pass_in_the_seed_forms),
        cmocka_unit_test(positional_arguments_follow_the_declaration),
        cmocka_unit_test(bad_json_is_refused_before_the_declaration),
        cmocka_unit_test(every_builtin_task_declares_its_arguments),
        cmocka_unit_test(declarations_are_checked_at_registration),
        cmocka_unit_test(published_garbage_is_not_a_declaration),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
