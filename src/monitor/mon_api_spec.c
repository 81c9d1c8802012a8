/* SPDX-License-Identifier: MIT
 *
 * mon_api_spec.c: task, batch and schedule specs in JSON (mon_api_spec.h)
 * and the public syncq/spec.h calls over them. The field tables below are
 * the one description of each spec: the checker walks them, and the
 * OpenAPI document is generated from them. Only shapes are checked here
 * (known field, JSON type, sign of a duration); names, queues,
 * priorities, retry policies, cron expressions and the rest are checked
 * by the create calls of the library, which write nothing when they
 * refuse.
 */
#include "monitor/mon_api_spec.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syncq/schedule.h>
#include <syncq/spec.h>
#include <syncq/task.h>

#define MAX_TASKS 10000 /* tasks in one bulk create */

enum ftype {
    F_STRING,   /* JSON string */
    F_ARRAY,    /* JSON array */
    F_OBJECT,   /* JSON object */
    F_PRIORITY, /* 0..10 or LOW NORMAL HIGH URGENT */
    F_SECONDS,  /* a number >= 0 of seconds */
    F_LIMIT,    /* a number >= 0.001 of seconds: where 0 would store "not
                   set" (the default), an explicit 0 is refused */
    F_TIME,     /* ISO 8601 (UTC or with an offset) */
    F_WHEN,     /* F_SECONDS from now, or F_TIME */
    F_COUNT,    /* an integer >= 0 */
    F_BOOL
};

struct field {
    const char *name;
    enum ftype type;
    bool required;
    const char *doc;
};

static const struct field task_fields[] = {
    {"name", F_STRING, true,
     "task name (crawler.fetch_products; the seed's "
     "src.queue.tasks.crawler.fetch_products works too)"},
    {"args", F_ARRAY, false, "positional arguments"},
    {"kwargs", F_OBJECT, false, "keyword arguments"},
    {"queue", F_STRING, false, "queue (default: the task's route)"},
    {"priority", F_PRIORITY, false, "0..10 or LOW/NORMAL/HIGH/URGENT"},
    {"countdown", F_SECONDS, false, "run no earlier than this many "
                                    "seconds from now"},
    {"eta", F_TIME, false, "run no earlier than this time (ISO 8601)"},
    {"expires", F_WHEN, false,
     "never run after this: seconds from now, or a time (ISO 8601)"},
    {"max_retries", F_COUNT, false, "retries allowed"},
    {"retry_policy", F_OBJECT, false,
     "retry policy overrides by error class (docs/recovery.md)"},
    {"unique_key", F_STRING, false,
     "while held, another create with it returns the first task's id"},
    {"unique_ttl", F_LIMIT, false, "how long unique_key is held"},
    {"time_limit", F_LIMIT, false, "hard time limit"},
    {"soft_time_limit", F_LIMIT, false, "soft time limit"},
    {"result_expires", F_LIMIT, false, "keep the finished record this "
                                       "long"},
    {"task_id", F_STRING, false, "a UUID to use as the id"},
    {NULL, F_STRING, false, NULL}};

static const struct field batch_fields[] = {
    {"task", F_STRING, true, "task run once per chunk"},
    {"items", F_ARRAY, true, "items, split into chunks"},
    {"batch_size", F_COUNT, false, "items per chunk, 1..100000 (100)"},
    {"kwargs", F_OBJECT, false, "extra kwargs of every chunk"},
    {"queue", F_STRING, false, "queue of the chunks"},
    {"priority", F_PRIORITY, false, "priority of the chunks"},
    {"max_retries", F_COUNT, false, "retries of each chunk"},
    {"on_complete", F_STRING, false,
     "task run once every chunk has ended, with {batch_id, total, "
     "succeeded, failed}"},
    {"on_complete_queue", F_STRING, false, "queue of on_complete"},
    {"max_in_flight", F_COUNT, false,
     "chunks queued or running at a time (waves; 0: no limit)"},
    {"rate", F_STRING, false, "chunks dispatched per period: 10/s, 100/m"},
    {"fail_fast", F_BOOL, false, "the first failed chunk ends the batch"},
    {"batch_id", F_STRING, false,
     "the batch's id, a UUID (default: a new one); its chunk ids derive "
     "from it, and a batch with this id that exists is answered "
     "(duplicate: true), never made twice"},
    {NULL, F_STRING, false, NULL}};

static const struct field schedule_fields[] = {
    {"name", F_STRING, true, "unique schedule name"},
    {"task", F_STRING, true, "task to run"},
    {"type", F_STRING, true, "cron, interval or once"},
    {"cron", F_STRING, false, "cron expression (type cron)"},
    {"interval", F_SECONDS, false, "seconds between runs (type interval)"},
    {"at", F_WHEN, false, "the instant (type once), or seconds from now"},
    {"timezone", F_STRING, false, "IANA zone of the cron fields"},
    {"args", F_ARRAY, false, "positional arguments of each run"},
    {"kwargs", F_OBJECT, false, "keyword arguments of each run"},
    {"queue", F_STRING, false, "queue of each run"},
    {"priority", F_PRIORITY, false, "priority of each run"},
    {"enabled", F_BOOL, false, "false: created paused"},
    {"missed", F_STRING, false, "skip (default), run_once or catch_up"},
    {"catch_up_cap", F_COUNT, false, "most missed runs fired (catch_up)"},
    {"grace", F_SECONDS, false, "a tick later than this counts as missed"},
    {"start", F_WHEN, false, "no tick before this (or seconds from now)"},
    {"end", F_WHEN, false, "no tick after this (or seconds from now)"},
    {"expires", F_LIMIT, false, "each run expires this long after its "
                                "tick"},
    {"max_retries", F_COUNT, false, "retries of each run"},
    {"replace", F_BOOL, false, "replace a schedule of that name"},
    {NULL, F_STRING, false, NULL}};

static const struct field *
fields_of(int kind)
{
    switch (kind) {
    case SQ_SPEC_BATCH:
        return batch_fields;
    case SQ_SPEC_SCHEDULE:
        return schedule_fields;
    default:
        return task_fields;
    }
}

/* ---- checking --------------------------------------------------------- */

static void
add_err(json_t *errs, const char *prefix, const char *field,
        const char *msg)
{
    json_t *o = json_object();
    char f[160];

    if (field[0] != '\0') {
        snprintf(f, sizeof f, "%s%s", prefix, field);
    } else if (prefix[0] != '\0') {
        snprintf(f, sizeof f, "%.*s", (int)strlen(prefix) - 1, prefix);
    } else {
        snprintf(f, sizeof f, "body"); /* the spec as a whole */
    }
    json_object_set_new(o, "field", json_string(f));
    json_object_set_new(o, "message", json_string(msg));
    json_array_append_new(errs, o);
}

static const char *
type_problem(enum ftype t, const json_t *v)
{
    switch (t) {
    case F_STRING:
        return json_is_string(v) ? NULL : "must be a string";
    case F_ARRAY:
        return json_is_array(v) ? NULL : "must be an array";
    case F_OBJECT:
        return json_is_object(v) ? NULL : "must be an object";
    case F_PRIORITY:
        return json_is_integer(v) || json_is_string(v)
                   ? NULL
                   : "must be an integer 0..10 or LOW, NORMAL, HIGH, URGENT";
    case F_SECONDS:
        if (!json_is_number(v)) {
            return "must be a number of seconds";
        }
        return json_number_value(v) >= 0 && json_number_value(v) < 1e11
                   ? NULL
                   : "must be >= 0 seconds (and under 1e11)";
    case F_LIMIT:
        if (type_problem(F_SECONDS, v) != NULL) {
            return type_problem(F_SECONDS, v);
        }
        return json_number_value(v) >= 0.001
                   ? NULL
                   : "must be at least 0.001 seconds (leave it out for "
                     "the default)";
    case F_TIME:
        return json_is_string(v) ? NULL : "must be an ISO 8601 time string";
    case F_WHEN:
        if (json_is_string(v)) {
            return NULL;
        }
        return type_problem(F_SECONDS, v) == NULL
                   ? NULL
                   : "must be seconds from now (>= 0) or an ISO 8601 time";
    case F_COUNT:
        return json_is_integer(v) && json_integer_value(v) >= 0 &&
                       json_integer_value(v) <= 1000000000
                   ? NULL
                   : "must be an integer >= 0";
    case F_BOOL:
        return json_is_boolean(v) ? NULL : "must be true or false";
    }
    return "unknown type";
}

/* Check `spec` against a field table: one error per bad field. Times are
 * parsed here too (their syntax is a shape). Returns the errors added. */
static size_t
check_fields(const struct field *fs, const json_t *spec, const char *prefix,
             json_t *errs)
{
    size_t before = json_array_size(errs);
    const char *k;
    json_t *v;

    if (!json_is_object(spec)) {
        add_err(errs, prefix, "", "must be a JSON object");
        return 1;
    }
    json_object_foreach((json_t *)spec, k, v) {
        const struct field *f = fs;
        const char *why;
        while (f->name != NULL && strcmp(f->name, k) != 0) {
            f++;
        }
        if (f->name == NULL) {
            add_err(errs, prefix, k, "unknown field");
            continue;
        }
        why = type_problem(f->type, v);
        if (why == NULL && (f->type == F_TIME || f->type == F_WHEN) &&
            json_is_string(v)) {
            int64_t ms;
            syncq_error e;
            if (sq_time_parse_iso8601(json_string_value(v), &ms, &e) !=
                SYNCQ_OK) {
                add_err(errs, prefix, k, e.msg);
                continue;
            }
        }
        if (why != NULL) {
            add_err(errs, prefix, k, why);
        }
    }
    for (const struct field *f = fs; f->name != NULL; f++) {
        if (f->required && json_object_get(spec, f->name) == NULL) {
            add_err(errs, prefix, f->name, "is required");
        }
    }
    return json_array_size(errs) - before;
}

/* First error of errs as the call's error. */
static int
fail_errs(const json_t *errs, syncq_error *err)
{
    const json_t *e0 = json_array_get(errs, 0);

    return sq_fail(err, SYNCQ_EINVAL, "%s: %s",
                   json_string_value(json_object_get(e0, "field")),
                   json_string_value(json_object_get(e0, "message")));
}

/* A library refusal: its code, and its message as the one error, on
 * `field` (the request as a whole, "body", when the refusal names no
 * field the door can point at). */
static int
lib_err(json_t *errs, const char *field, const syncq_error *e,
        syncq_error *err)
{
    add_err(errs, "", field, e->msg);
    return sq_fail(err, e->code, "%s", e->msg);
}

static const char *
str(const json_t *spec, const char *k)
{
    return json_string_value(json_object_get(spec, k));
}

/* Seconds field to ms, or `def` when absent. */
static int64_t
ms_of(const json_t *spec, const char *k, int64_t def)
{
    const json_t *v = json_object_get(spec, k);

    return v != NULL ? (int64_t)llround(json_number_value(v) * 1000.0) : def;
}

/* A time field: an ISO 8601 string is absolute (*abs); a number is
 * seconds from now (*in, ms), which the library resolves with the Redis
 * server's clock, never this server's (issue 12 item 5). */
static void
time_of(const json_t *spec, const char *k, int64_t *abs, int64_t *in)
{
    const json_t *v = json_object_get(spec, k);

    if (json_is_string(v)) {
        sq_time_parse_iso8601(json_string_value(v), abs, NULL);
    } else if (v != NULL) {
        *in = ms_of(spec, k, 0);
    }
}

static int
int_of(const json_t *spec, const char *k, int def)
{
    const json_t *v = json_object_get(spec, k);

    return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

/* Priority field: -1 absent. Integers and names both go through the
 * library's parser, so the range rule lives there only. */
static int
priority_of(const json_t *spec, const char *prefix, json_t *errs)
{
    const json_t *v = json_object_get(spec, "priority");
    char buf[32];
    syncq_error e;
    int p;

    if (v == NULL) {
        return -1;
    }
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    } else if (!json_is_string(v)) {
        return -1; /* the shape check reported it */
    } else {
        snprintf(buf, sizeof buf, "%.31s", json_string_value(v));
    }
    if (syncq_priority_parse(buf, &p, &e) != SYNCQ_OK) {
        add_err(errs, prefix, "priority", e.msg);
        return -1;
    }
    return p;
}

/* The name and queue fields through the library's public checks, so
 * each bad one is reported on its own field. */
static void
check_names(const json_t *spec, const char *name_key, const char *prefix,
            json_t *errs)
{
    char norm[256];
    syncq_error e;

    if (str(spec, name_key) != NULL &&
        syncq_task_name_normalize(str(spec, name_key), norm, sizeof norm,
                                  &e) != SYNCQ_OK) {
        add_err(errs, prefix, name_key, e.msg);
    }
    if (str(spec, "queue") != NULL &&
        syncq_queue_name_check(str(spec, "queue"), &e) != SYNCQ_OK) {
        add_err(errs, prefix, "queue", e.msg);
    }
}

/* ---- tasks -------------------------------------------------------------- */

/* A task spec converted to library arguments (strings borrowed from the
 * spec, JSON texts owned). */
struct task_in {
    const char *name;
    char *args, *kwargs, *policy;
    syncq_task_options o;
};

static void
task_in_cleanup(struct task_in *t)
{
    sq_free(t->args);
    sq_free(t->kwargs);
    sq_free(t->policy);
}

static char *
dump(const json_t *v)
{
    return v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static size_t
task_in_parse(const json_t *spec, const char *prefix, struct task_in *t,
              json_t *errs)
{
    size_t n = check_fields(task_fields, spec, prefix, errs);

    memset(t, 0, sizeof *t);
    syncq_task_options_init(&t->o);
    if (n > 0) {
        /* still check the values of the fields whose shape is right */
        priority_of(spec, prefix, errs);
        check_names(spec, "name", prefix, errs);
        return n;
    }
    t->name = str(spec, "name");
    t->args = dump(json_object_get(spec, "args"));
    t->kwargs = dump(json_object_get(spec, "kwargs"));
    t->policy = dump(json_object_get(spec, "retry_policy"));
    t->o.queue = str(spec, "queue");
    t->o.priority = priority_of(spec, prefix, errs);
    check_names(spec, "name", prefix, errs);
    t->o.countdown_ms = ms_of(spec, "countdown", -1);
    time_of(spec, "eta", &t->o.eta_ms, &t->o.countdown_ms);
    time_of(spec, "expires", &t->o.expires_ms, &t->o.expires_in_ms);
    t->o.max_retries = int_of(spec, "max_retries", -1);
    t->o.unique_key = str(spec, "unique_key");
    t->o.unique_ttl_ms = ms_of(spec, "unique_ttl", 0);
    t->o.time_limit_ms = ms_of(spec, "time_limit", 0);
    t->o.soft_time_limit_ms = ms_of(spec, "soft_time_limit", 0);
    t->o.result_expires_ms = ms_of(spec, "result_expires", 0);
    t->o.task_id = str(spec, "task_id");
    t->o.retry_policy_json = t->policy;
    return json_array_size(errs) > 0 ? 1 : 0;
}

/* The library's door check problems ({"field", "error"}: syncq/task.h)
 * as this API's errors, one per field: "kwargs.page_size" (or
 * "<prefix>kwargs..."). The same check runs again inside the create call;
 * this one only gives each bad field its own entry. */
static void
add_problems(json_t *problems, const char *prefix, const char *part,
             json_t *errs)
{
    size_t i;
    json_t *p;
    char f[160];

    json_array_foreach(problems, i, p)
    {
        snprintf(f, sizeof f, "%s%.80s", part,
                 json_string_value(json_object_get(p, "field")));
        add_err(errs, prefix, f,
                json_string_value(json_object_get(p, "error")));
    }
}

static void
args_errs(syncq_client *c, const struct task_in *t, const char *prefix,
          json_t *errs)
{
    json_t *problems = NULL;

    if (t->name != NULL &&
        syncq_task_args_check(c, t->name, t->args, t->kwargs, &problems,
                              NULL) == SYNCQ_EINVAL) {
        add_problems(problems, prefix, "kwargs.", errs);
    }
    json_decref(problems);
}

int
sq_spec_task_create(syncq_client *c, const json_t *spec, json_t *errs,
                    json_t **out, syncq_error *err)
{
    struct task_in t;
    char id[SYNCQ_ID_SIZE];
    int dup = 0, rc;
    syncq_error e;

    *out = NULL;
    if (task_in_parse(spec, "", &t, errs) == 0) {
        args_errs(c, &t, "", errs);
    }
    if (json_array_size(errs) > 0) {
        task_in_cleanup(&t);
        return fail_errs(errs, err);
    }
    rc = syncq_task_create(c, t.name, t.args, t.kwargs, &t.o, id, &dup, &e);
    task_in_cleanup(&t);
    if (rc != SYNCQ_OK) {
        return lib_err(errs, "", &e, err);
    }
    *out = json_object();
    json_object_set_new(*out, "id", json_string(id));
    json_object_set_new(*out, "duplicate", json_boolean(dup));
    return SYNCQ_OK;
}

int
sq_spec_tasks_create(syncq_client *c, const json_t *list, json_t *errs,
                     json_t **out, syncq_error *err)
{
    size_t n = json_array_size(list);
    struct task_in *t = NULL;
    syncq_task_spec *specs = NULL;
    char (*ids)[SYNCQ_ID_SIZE] = NULL;
    syncq_error e;
    int rc = SYNCQ_OK;

    *out = NULL;
    if (!json_is_array(list) || n == 0 || n > MAX_TASKS) {
        add_err(errs, "", "tasks", "must be an array of 1..10000 tasks");
        return fail_errs(errs, err);
    }
    t = sq_calloc(n, sizeof *t);
    specs = sq_calloc(n, sizeof *specs);
    ids = sq_calloc(n, sizeof *ids);
    if (t == NULL || specs == NULL || ids == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "tasks[%zu].", i);
        if (task_in_parse(json_array_get(list, i), prefix, &t[i], errs) ==
            0) {
            args_errs(c, &t[i], prefix, errs);
        }
        specs[i].name = t[i].name;
        specs[i].args_json = t[i].args;
        specs[i].kwargs_json = t[i].kwargs;
        specs[i].opts = &t[i].o;
    }
    if (json_array_size(errs) > 0) {
        rc = fail_errs(errs, err);
        goto done;
    }
    rc = syncq_task_create_many(c, specs, n, ids, NULL, &e);
    if (rc != SYNCQ_OK) {
        rc = lib_err(errs, "tasks", &e, err);
        goto done;
    }
    *out = json_object();
    {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(a, json_string(ids[i]));
        }
        json_object_set_new(*out, "ids", a);
    }
done:
    for (size_t i = 0; t != NULL && i < n; i++) {
        task_in_cleanup(&t[i]);
    }
    sq_free(t);
    sq_free(specs);
    sq_free(ids);
    return rc;
}

/* ---- batches ------------------------------------------------------------ */

int
sq_spec_batch_create(syncq_client *c, const json_t *spec, json_t *errs,
                     json_t **out, syncq_error *err)
{
    syncq_task_options to;
    syncq_batch_options bo;
    syncq_batch_wave_options wo;
    char bid[SYNCQ_ID_SIZE];
    char *items = NULL, *kwargs = NULL;
    json_t *ids = NULL;
    syncq_error e;
    bool waves;
    int dup = 0;
    int rc;

    *out = NULL;
    if (check_fields(batch_fields, spec, "", errs) > 0) {
        return fail_errs(errs, err);
    }
    syncq_task_options_init(&to);
    to.queue = str(spec, "queue");
    to.priority = priority_of(spec, "", errs);
    check_names(spec, "task", "", errs);
    to.max_retries = int_of(spec, "max_retries", -1);
    memset(&wo, 0, sizeof wo);
    wo.max_in_flight = int_of(spec, "max_in_flight", 0);
    wo.fail_fast = json_is_true(json_object_get(spec, "fail_fast"));
    if (str(spec, "rate") != NULL &&
        syncq_rate_parse(str(spec, "rate"), &wo.rate_count,
                         &wo.rate_period_ms, &e) != SYNCQ_OK) {
        add_err(errs, "", "rate", e.msg);
    }
    if (json_array_size(errs) > 0) {
        return fail_errs(errs, err);
    }
    waves = wo.max_in_flight > 0 || wo.rate_count > 0 || wo.fail_fast;
    items = dump(json_object_get(spec, "items"));
    kwargs = dump(json_object_get(spec, "kwargs"));
    memset(&bo, 0, sizeof bo);
    bo.kwargs_json = kwargs;
    bo.task = &to;
    bo.on_complete = str(spec, "on_complete");
    bo.on_complete_queue = str(spec, "on_complete_queue");
    bo.batch_id = str(spec, "batch_id");
    bo.is_dup = &dup;
    {
        json_t *list = json_object_get(spec, "items"), *problems = NULL;
        if (json_is_array(list) &&
            syncq_batch_check(c, str(spec, "task"), list,
                              (size_t)int_of(spec, "batch_size", 100), &bo,
                              &problems, NULL) == SYNCQ_EINVAL) {
            add_problems(problems, "", "", errs);
        }
        json_decref(problems);
        if (json_array_size(errs) > 0) {
            sq_free(items);
            sq_free(kwargs);
            return fail_errs(errs, err);
        }
    }
    if (waves) {
        rc = syncq_batch_submit(c, str(spec, "task"), items,
                                (size_t)int_of(spec, "batch_size", 100), &bo,
                                &wo, bid, &e);
    } else {
        rc = syncq_batch_create(c, str(spec, "task"), items,
                                (size_t)int_of(spec, "batch_size", 100), &bo,
                                bid, &ids, &e);
    }
    sq_free(items);
    sq_free(kwargs);
    if (rc != SYNCQ_OK) {
        return lib_err(errs, "", &e, err);
    }
    *out = json_object();
    json_object_set_new(*out, "batch_id", json_string(bid));
    if (ids != NULL) {
        json_object_set_new(*out, "task_ids", ids);
    }
    json_object_set_new(*out, "duplicate", json_boolean(dup));
    return SYNCQ_OK;
}

/* ---- schedules ---------------------------------------------------------- */

static int
enum_of(const json_t *spec, const char *k, const char *const *names,
        int def, json_t *errs)
{
    const char *s = str(spec, k);

    if (s == NULL) {
        return def;
    }
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    add_err(errs, "", k, "is not one of the accepted values");
    return def;
}

int
sq_spec_schedule_add(syncq_client *c, const json_t *spec, json_t *errs,
                     json_t **out, syncq_error *err)
{
    static const char *const types[] = {"", "interval", "cron", "once",
                                        NULL};
    static const char *const missed[] = {"skip", "run_once", "catch_up",
                                         NULL};
    syncq_schedule_config sc;
    char *args = NULL, *kwargs = NULL;
    syncq_error e;
    int rc;

    *out = NULL;
    if (check_fields(schedule_fields, spec, "", errs) > 0) {
        return fail_errs(errs, err);
    }
    syncq_schedule_config_init(&sc);
    sc.name = str(spec, "name");
    sc.task = str(spec, "task");
    sc.type = (syncq_schedule_type)enum_of(spec, "type", types, 0, errs);
    sc.missed = (syncq_missed_policy)enum_of(spec, "missed", missed, 0,
                                             errs);
    sc.priority = priority_of(spec, "", errs);
    check_names(spec, "task", "", errs);
    if (json_array_size(errs) > 0 || sc.type == 0) {
        if (json_array_size(errs) == 0) {
            add_err(errs, "", "type", "is not one of the accepted values");
        }
        return fail_errs(errs, err);
    }
    sc.cron = str(spec, "cron");
    sc.interval_ms = ms_of(spec, "interval", 0);
    time_of(spec, "at", &sc.run_at_ms, &sc.run_in_ms);
    sc.timezone = str(spec, "timezone");
    sc.queue = str(spec, "queue");
    sc.enabled = !json_is_false(json_object_get(spec, "enabled"));
    sc.catch_up_cap = int_of(spec, "catch_up_cap", 0);
    sc.grace_ms = ms_of(spec, "grace", -1);
    time_of(spec, "start", &sc.start_ms, &sc.start_in_ms);
    time_of(spec, "end", &sc.end_ms, &sc.end_in_ms);
    sc.expires_ms = ms_of(spec, "expires", 0);
    sc.max_retries = int_of(spec, "max_retries", -1);
    args = dump(json_object_get(spec, "args"));
    kwargs = dump(json_object_get(spec, "kwargs"));
    sc.args_json = args;
    sc.kwargs_json = kwargs;
    rc = syncq_schedule_add(
        c, &sc,
        json_is_true(json_object_get(spec, "replace"))
            ? SYNCQ_SCHEDULE_REPLACE
            : 0,
        &e);
    sq_free(args);
    sq_free(kwargs);
    if (rc == SYNCQ_OK) {
        rc = syncq_schedule_info(c, sc.name, out, &e);
    }
    if (rc == SYNCQ_EEXIST) {
        /* this door's way to replace: the spec's "replace" field (the
         * Python client's replace=True) */
        snprintf(e.msg, sizeof e.msg, "schedule %.160s exists (remove it "
                 "first, or set \"replace\": true)", sc.name);
        return lib_err(errs, "name", &e, err);
    }
    if (rc != SYNCQ_OK) {
        return lib_err(errs, "", &e, err);
    }
    return SYNCQ_OK;
}

/* ---- schemas -------------------------------------------------------------- */

static json_t *
type_schema(enum ftype t)
{
    switch (t) {
    case F_STRING:
        return json_pack("{s:s}", "type", "string");
    case F_ARRAY:
        return json_pack("{s:s}", "type", "array");
    case F_OBJECT:
        return json_pack("{s:s}", "type", "object");
    case F_PRIORITY:
        return json_pack(
            "{s:[{s:s,s:i,s:i},{s:s,s:[s,s,s,s]}]}", "oneOf", "type",
            "integer", "minimum", 0, "maximum", 10, "type", "string", "enum",
            "LOW", "NORMAL", "HIGH", "URGENT");
    case F_SECONDS:
        return json_pack("{s:s,s:i}", "type", "number", "minimum", 0);
    case F_LIMIT:
        return json_pack("{s:s,s:f}", "type", "number", "minimum", 0.001);
    case F_TIME:
        return json_pack("{s:s,s:s}", "type", "string", "format",
                         "date-time");
    case F_WHEN:
        return json_pack("{s:[{s:s,s:i},{s:s,s:s}]}", "oneOf", "type",
                         "number", "minimum", 0, "type", "string", "format",
                         "date-time");
    case F_COUNT:
        return json_pack("{s:s,s:i}", "type", "integer", "minimum", 0);
    case F_BOOL:
        return json_pack("{s:s}", "type", "boolean");
    }
    return json_object();
}

json_t *
sq_spec_schema(int kind)
{
    json_t *props = json_object(), *req = json_array();

    for (const struct field *f = fields_of(kind); f->name != NULL; f++) {
        json_t *s = type_schema(f->type);
        json_object_set_new(s, "description", json_string(f->doc));
        json_object_set_new(props, f->name, s);
        if (f->required) {
            json_array_append_new(req, json_string(f->name));
        }
    }
    return json_pack("{s:s,s:o,s:o,s:b}", "type", "object", "properties",
                     props, "required", req, "additionalProperties", 0);
}

/* ---- public calls (syncq/spec.h) ----------------------------------------- */

typedef int (*spec_fn)(syncq_client *, const json_t *, json_t *, json_t **,
                       syncq_error *);

/* Parse `text`, run `fn`, give its result as text. */
static int
run_text(syncq_client *c, const char *text, spec_fn fn, char **out,
         syncq_error *err)
{
    json_error_t je;
    json_t *spec, *errs, *res = NULL;
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (c == NULL || text == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "client and spec are required");
    }
    spec = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (spec == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "spec is not JSON (line %d: %s)",
                       je.line, je.text);
    }
    errs = json_array();
    rc = fn(c, spec, errs, &res, err);
    if (rc == SYNCQ_OK && out != NULL) {
        *out = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (*out == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    json_decref(res);
    json_decref(errs);
    json_decref(spec);
    return rc;
}

int
syncq_task_create_json(syncq_client *c, const char *spec_json, char **out,
                       syncq_error *err)
{
    return run_text(c, spec_json, sq_spec_task_create, out, err);
}

int
syncq_task_create_many_json(syncq_client *c, const char *specs_json,
                            char **out, syncq_error *err)
{
    return run_text(c, specs_json, sq_spec_tasks_create, out, err);
}

int
syncq_batch_create_json(syncq_client *c, const char *spec_json, char **out,
                        syncq_error *err)
{
    return run_text(c, spec_json, sq_spec_batch_create, out, err);
}

int
syncq_schedule_add_json(syncq_client *c, const char *spec_json, char **out,
                        syncq_error *err)
{
    return run_text(c, spec_json, sq_spec_schedule_add, out, err);
}

char *
syncq_json_text(const json_t *v)
{
    return v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                         JSON_PRESERVE_ORDER)
                     : NULL;
}

void
syncq_json_release(json_t *v)
{
    json_decref(v);
}
