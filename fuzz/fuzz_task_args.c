/* SPDX-License-Identifier: MIT
 *
 * fuzz_task_args.c: the argument checker on what any producer may send
 * (kwargs from the CLI, the HTTP API, Python, Celery envelopes) and on
 * declarations read back from Redis ({ns}:taskargs, written by any
 * worker). Input: a published declaration, a newline, then the JSON of
 * the arguments (an array: args; anything else: kwargs). The arguments
 * are checked against the parsed declaration when it parses, and always
 * against a fixed declaration using every type, flag and range, so the
 * checker is exercised even when the first part is garbage. Invariants:
 * no crash or leak; a refusal has at least one problem, each with a
 * field and a message, and err.msg starts with the first field.
 */
#include "core/sq_task_args.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const syncq_arg_def fixed[] = {
    {.name = "category_id", .type = SYNCQ_ARG_ID,
     .flags = SYNCQ_ARG_REQUIRED},
    {.name = "page", .type = SYNCQ_ARG_INT, .min = 1, .max = 100000},
    {.name = "page_size", .type = SYNCQ_ARG_INT, .min = 1, .max = INT64_MAX},
    {.name = "ratio", .type = SYNCQ_ARG_NUMBER, .min = INT64_MIN, .max = 10},
    {.name = "mode", .type = SYNCQ_ARG_STRING, .flags = SYNCQ_ARG_KEYWORD,
     .choices = "fit|crop", .min = 1, .max = 8},
    {.name = "urls", .type = SYNCQ_ARG_ARRAY,
     .flags = SYNCQ_ARG_ITEMS | SYNCQ_ARG_KEYWORD, .min = 0, .max = 5,
     .item_type = SYNCQ_ARG_URL},
    {.name = "flag", .type = SYNCQ_ARG_BOOL, .flags = SYNCQ_ARG_KEYWORD},
    {.name = "filter", .type = SYNCQ_ARG_OBJECT, .flags = SYNCQ_ARG_KEYWORD},
    {.name = "any", .type = SYNCQ_ARG_ANY, .flags = SYNCQ_ARG_KEYWORD},
    {0},
};

static void
check(const syncq_arg_def *decl, json_t *v)
{
    bool is_args = json_is_array(v);
    json_t *problems = NULL;
    syncq_error err;
    int rc;

    if (!is_args && !json_is_object(v)) {
        return;
    }
    rc = syncq_args_check(decl, is_args ? v : NULL, is_args ? NULL : v,
                          &problems, &err);
    if (rc == SYNCQ_EINVAL) {
        json_t *p = json_array_get(problems, 0);
        const char *f = json_string_value(json_object_get(p, "field"));
        if (p == NULL || f == NULL ||
            json_string_value(json_object_get(p, "error")) == NULL ||
            strncmp(err.msg, f, strlen(f) < 40 ? strlen(f) : 40) != 0) {
            abort();
        }
    } else if (rc == SYNCQ_OK && problems != NULL) {
        abort();
    }
    json_decref(problems);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t head = nl != NULL ? (size_t)(nl - text) : size;
    struct sq_args_parsed parsed;
    json_t *v = NULL;

    if (nl != NULL) {
        v = json_loadb(nl + 1, size - head - 1,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    }
    if (sq_args_parse(text, head, &parsed, NULL) == SYNCQ_OK) {
        if (parsed.declared && parsed.decl == NULL) {
            abort();
        }
        if (sq_args_decl_check(parsed.decl, NULL) != SYNCQ_OK) {
            abort(); /* what parses must pass a registration's check */
        }
        check(parsed.decl, v);
        sq_args_parsed_cleanup(&parsed);
    }
    check(fixed, v);
    json_decref(v);
    return 0;
}
