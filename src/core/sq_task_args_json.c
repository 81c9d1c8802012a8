/* SPDX-License-Identifier: MIT
 *
 * sq_task_args_json.c: the JSON form of a task's declaration, written by
 * `task describe --json` and published by workers to Redis
 * ({ns}:taskargs, docs/redis-keys.md), and its parser. What comes back
 * from Redis is untrusted: every field is type- and range-checked, and
 * the result passes the same declaration check as a registration.
 */
#include "core/sq_task_args.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <string.h>

#define SQ_ARGS_FORMAT 1 /* "v" of the published form */

static int
set_str(json_t *o, const char *k, const char *v)
{
    return v != NULL ? json_object_set_new(o, k, json_string(v)) : 0;
}

/* One argument's JSON object; NULL on out-of-memory. */
static json_t *
arg_json(const syncq_arg_def *a)
{
    json_t *o = json_object();
    int bad = o == NULL;

    if (bad) {
        return NULL;
    }
    bad |= set_str(o, "name", a->name);
    bad |= set_str(o, "type", sq_arg_type_name(a->type));
    bad |= json_object_set_new(o, "required",
                               json_boolean(a->flags & SYNCQ_ARG_REQUIRED));
    if (a->flags & SYNCQ_ARG_ITEMS) {
        bad |= json_object_set_new(o, "items", json_true());
    }
    if (a->flags & SYNCQ_ARG_KEYWORD) {
        bad |= json_object_set_new(o, "keyword", json_true());
    }
    if (a->min != 0 || a->max != 0) {
        if (a->min != INT64_MIN) {
            bad |= json_object_set_new(o, "min", json_integer(a->min));
        }
        if (a->max != INT64_MAX) {
            bad |= json_object_set_new(o, "max", json_integer(a->max));
        }
    }
    bad |= set_str(o, "choices", a->choices);
    if (a->item_type > 0) {
        bad |= set_str(o, "item_type", sq_arg_type_name(a->item_type));
    }
    if (a->default_json != NULL) {
        json_t *d = json_loads(a->default_json, JSON_DECODE_ANY, NULL);
        bad |= json_object_set_new(o, "default", d != NULL ? d : json_null());
    }
    bad |= set_str(o, "doc", a->doc);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *
sq_args_describe(const syncq_task_def *def)
{
    /* the queue it routes to (its own, else its namespace's route), so a
     * producer without the packs routes as the syncq binary does */
    const char *queue =
        def->queue != NULL
            ? def->queue
            : syncq_registry_route(syncq_registry_default(), def->name);
    json_t *o = json_pack("{s:i,s:s,s:s?,s:s?,s:s?,s:b}", "v", SQ_ARGS_FORMAT,
                          "task", def->name, "queue", queue, "doc",
                          def->doc, "signature", def->signature, "declared",
                          def->args != NULL);
    json_t *list = json_array();

    if (o == NULL || list == NULL ||
        json_object_set_new(o, "args", list) != 0) {
        json_decref(o);
        return NULL;
    }
    for (size_t i = 0; def->args != NULL && def->args[i].name != NULL &&
                       i < SQ_ARG_COUNT_MAX;
         i++) {
        if (json_array_append_new(list, arg_json(&def->args[i])) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* ---- parsing the published form -------------------------------------- */

static int
type_parse(const char *s)
{
    for (int t = 0; s != NULL && t < SYNCQ_ARG__COUNT; t++) {
        if (strcmp(s, sq_arg_type_name(t)) == 0) {
            return t;
        }
    }
    return -1;
}

/* An optional string field: NULL when absent; false when not a string. */
static bool
opt_str(json_t *o, const char *k, const char **out)
{
    json_t *v = json_object_get(o, k);

    *out = json_string_value(v);
    return v == NULL || json_is_string(v);
}

static bool
opt_int(json_t *o, const char *k, int64_t def, int64_t *out)
{
    json_t *v = json_object_get(o, k);

    *out = v != NULL ? (int64_t)json_integer_value(v) : def;
    return v == NULL || json_is_integer(v);
}

/* Fill `a` from one argument object; false when malformed. The default
 * is kept as the JSON value itself, so default_json stays NULL here (the
 * checker never needs it). */
static bool
arg_parse(json_t *o, syncq_arg_def *a)
{
    const char *type = NULL, *item = NULL;
    json_t *req = json_object_get(o, "required");
    json_t *items = json_object_get(o, "items");
    json_t *kw = json_object_get(o, "keyword");
    bool has_min = json_object_get(o, "min") != NULL;
    bool has_max = json_object_get(o, "max") != NULL;

    memset(a, 0, sizeof *a);
    if (!json_is_object(o) || !opt_str(o, "name", &a->name) ||
        a->name == NULL || !opt_str(o, "type", &type) ||
        (a->type = type_parse(type)) < 0 ||
        !opt_str(o, "choices", &a->choices) ||
        !opt_str(o, "item_type", &item) || !opt_str(o, "doc", &a->doc) ||
        (req != NULL && !json_is_boolean(req)) ||
        (items != NULL && !json_is_boolean(items)) ||
        (kw != NULL && !json_is_boolean(kw)) ||
        !opt_int(o, "min", INT64_MIN, &a->min) ||
        !opt_int(o, "max", INT64_MAX, &a->max)) {
        return false;
    }
    if (!has_min && !has_max) {
        a->min = a->max = 0;
    }
    a->item_type = item != NULL ? type_parse(item) : 0;
    a->flags = (json_is_true(req) ? SYNCQ_ARG_REQUIRED : 0u) |
               (json_is_true(items) ? SYNCQ_ARG_ITEMS : 0u) |
               (json_is_true(kw) ? SYNCQ_ARG_KEYWORD : 0u);
    return a->item_type >= 0;
}

int
sq_args_parse(const char *text, size_t len, struct sq_args_parsed *out,
              syncq_error *err)
{
    json_t *list;
    size_t n, i;
    json_t *o;

    memset(out, 0, sizeof *out);
    out->json = json_loadb(text, len, 0, NULL);
    list = json_object_get(out->json, "args");
    if (!json_is_object(out->json) ||
        !json_is_boolean(json_object_get(out->json, "declared")) ||
        !json_is_array(list) || json_array_size(list) > SQ_ARG_COUNT_MAX) {
        sq_args_parsed_cleanup(out);
        return sq_fail(err, SYNCQ_EPROTO, "published declaration is not "
                       "{\"declared\": bool, \"args\": [...]}");
    }
    out->declared = json_is_true(json_object_get(out->json, "declared"));
    n = json_array_size(list);
    out->decl = sq_calloc(n + 1, sizeof *out->decl);
    if (out->decl == NULL) {
        sq_args_parsed_cleanup(out);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory reading a "
                       "declaration");
    }
    json_array_foreach(list, i, o)
    {
        if (!arg_parse(o, &out->decl[i])) {
            sq_args_parsed_cleanup(out);
            return sq_fail(err, SYNCQ_EPROTO, "published declaration: "
                           "argument %zu is malformed", i);
        }
    }
    if (sq_args_decl_check(out->decl, err) != SYNCQ_OK) {
        sq_args_parsed_cleanup(out);
        sq_error_prefix(err, "published declaration");
        if (err != NULL) {
            err->code = SYNCQ_EPROTO;
        }
        return SYNCQ_EPROTO;
    }
    if (!out->declared) {
        sq_free(out->decl);
        out->decl = NULL;
    }
    return SYNCQ_OK;
}

void
sq_args_parsed_cleanup(struct sq_args_parsed *p)
{
    json_decref(p->json);
    sq_free(p->decl);
    memset(p, 0, sizeof *p);
}
