/* SPDX-License-Identifier: MIT
 *
 * sq_task_args.c: the argument checker (syncq_args_check), the one place
 * that decides whether a task's args/kwargs fit its declaration, and the
 * check of a declaration at registration. Every door (enqueue, batches,
 * schedules, CLI, HTTP) comes here; the JSON form of a declaration is in
 * sq_task_args_json.c. Never writes anything: it only reads and judges.
 */
#include "core/sq_task_args.h"
#include "sq_alloc.h"
#include "core/sq_edit.h"
#include "sq_error.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *type_names[SYNCQ_ARG__COUNT] = {
    "any", "string", "int", "number", "bool",
    "array", "object", "url", "id", "**kwargs",
};

/* What a value of each type "must be", for messages. */
static const char *type_wants[SYNCQ_ARG__COUNT] = {
    "any value",  "a string",  "an integer", "a number",
    "true or false", "an array", "an object",
    "an http(s) URL", "an id (a non-negative integer or digits)", "",
};

const char *
sq_arg_type_name(int type)
{
    return type >= 0 && type < SYNCQ_ARG__COUNT ? type_names[type] : NULL;
}

/* A value as short JSON text for "(got ...)". */
static void
shown(const json_t *v, char *buf, size_t cap)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (s == NULL) {
        snprintf(buf, cap, "?");
        return;
    }
    if (strlen(s) > 40) {
        snprintf(buf, cap, "%.37s...", s);
    } else {
        snprintf(buf, cap, "%s", s);
    }
    sq_free(s);
}

/* An integer as the packs read one (the seed's producers send numbers
 * as strings too): a JSON integer, an integral real, or a string of
 * decimal digits with an optional '-'. */
static bool
int_value(const json_t *v, int64_t *out)
{
    const char *s;
    size_t n, neg;

    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -9.2e18 || d > 9.2e18) {
            return false;
        }
        *out = (int64_t)d;
        return true;
    }
    if (!json_is_string(v)) {
        return false;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    neg = s[0] == '-';
    if (n - neg == 0 || n - neg > 19 ||
        strspn(s + neg, "0123456789") != n - neg) {
        return false;
    }
    errno = 0;
    *out = strtoll(s, NULL, 10);
    return errno == 0;
}

/* A boolean as the packs read one: true/false, 0/1, "true"/"false"/
 * "1"/"0" (any case). */
static bool
bool_value(const json_t *v)
{
    const char *s = json_string_value(v);

    if (json_is_boolean(v)) {
        return true;
    }
    if (json_is_integer(v)) {
        return json_integer_value(v) == 0 || json_integer_value(v) == 1;
    }
    return s != NULL && (strcasecmp(s, "true") == 0 ||
                         strcasecmp(s, "false") == 0 ||
                         strcmp(s, "1") == 0 || strcmp(s, "0") == 0);
}

static bool
type_ok(int type, const json_t *v)
{
    int64_t x;

    switch (type) {
    case SYNCQ_ARG_STRING:
        return json_is_string(v);
    case SYNCQ_ARG_INT:
        return int_value(v, &x);
    case SYNCQ_ARG_NUMBER:
        return json_is_number(v);
    case SYNCQ_ARG_BOOL:
        return bool_value(v);
    case SYNCQ_ARG_ARRAY:
        return json_is_array(v);
    case SYNCQ_ARG_OBJECT:
        return json_is_object(v);
    case SYNCQ_ARG_URL:
        return json_is_string(v) &&
               (strncmp(json_string_value(v), "http://", 7) == 0 ||
                strncmp(json_string_value(v), "https://", 8) == 0);
    case SYNCQ_ARG_ID:
        return int_value(v, &x) && x >= 0;
    default:
        return true;
    }
}

/* `s` among the "a|b|c" choices? */
static bool
chosen(const char *choices, const char *s)
{
    size_t n = strlen(s);

    for (const char *p = choices; *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0) {
            return true;
        }
        p += len + (bar != NULL);
    }
    return false;
}

/* The range phrase of a value below (`low`) or above the range. */
static void
range_text(const syncq_arg_def *a, bool low, const char *unit, char *buf,
           size_t cap)
{
    snprintf(buf, cap, "must be %s %" PRId64 "%s", low ? ">=" : "<=",
             low ? a->min : a->max, unit);
}

static bool
has_range(const syncq_arg_def *a)
{
    return a->min != 0 || a->max != 0;
}

bool
sq_args_value_ok(const syncq_arg_def *a, const json_t *v, char *msg, size_t cap)
{
    char got[48], rng[96];
    int64_t x = 0;
    const char *unit = "";

    if (a->type < 0 || a->type >= SYNCQ_ARG__COUNT || a->item_type < 0 ||
        a->item_type >= SYNCQ_ARG__COUNT) {
        /* a declaration nobody checked (syncq_args_check is public) */
        snprintf(msg, cap, "has a declaration of an unknown type");
        return false;
    }
    shown(v, got, sizeof got);
    if (!type_ok(a->type, v)) {
        snprintf(msg, cap, "must be %s (got %s)", type_wants[a->type], got);
        return false;
    }
    if (a->choices != NULL && json_is_string(v) &&
        !chosen(a->choices, json_string_value(v))) {
        snprintf(msg, cap, "must be one of %s (got %s)", a->choices, got);
        return false;
    }
    if (a->type == SYNCQ_ARG_ARRAY && a->item_type > 0) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!type_ok(a->item_type, e)) {
                shown(e, got, sizeof got);
                snprintf(msg, cap, "item %zu must be %s (got %s)", i,
                         type_wants[a->item_type], got);
                return false;
            }
        }
    }
    if (!has_range(a)) {
        return true;
    }
    switch (a->type) {
    case SYNCQ_ARG_INT:
    case SYNCQ_ARG_ID:
        int_value(v, &x);
        break;
    case SYNCQ_ARG_NUMBER: {
        double d = json_number_value(v);
        if (d >= (double)a->min && d <= (double)a->max) {
            return true;
        }
        range_text(a, d < (double)a->min, "", rng, sizeof rng);
        snprintf(msg, cap, "%s (got %s)", rng, got);
        return false;
    }
    case SYNCQ_ARG_STRING:
    case SYNCQ_ARG_URL:
        x = (int64_t)json_string_length(v);
        unit = " bytes long";
        break;
    case SYNCQ_ARG_ARRAY:
        x = (int64_t)json_array_size(v);
        unit = " items";
        break;
    default:
        return true;
    }
    if (x >= a->min && x <= a->max) {
        return true;
    }
    range_text(a, x < a->min, unit, rng, sizeof rng);
    if (unit[0] != '\0') {
        snprintf(msg, cap, "%s (got %" PRId64 ")", rng, x);
    } else {
        snprintf(msg, cap, "%s (got %s)", rng, got);
    }
    return false;
}

static size_t
decl_count(const syncq_arg_def *decl)
{
    size_t n = 0;

    while (decl != NULL && decl[n].name != NULL && n < SQ_ARG_COUNT_MAX) {
        n++;
    }
    return n;
}

bool
sq_args_open(const syncq_arg_def *decl)
{
    for (size_t i = 0; i < decl_count(decl); i++) {
        if (decl[i].type == SYNCQ_ARG_REST) {
            return true;
        }
    }
    return false;
}

const syncq_arg_def *
sq_args_items(const syncq_arg_def *decl)
{
    for (size_t i = 0; i < decl_count(decl); i++) {
        if (decl[i].flags & SYNCQ_ARG_ITEMS) {
            return &decl[i];
        }
    }
    return NULL;
}

/* Problems collected for one check. */
struct found {
    json_t *list; /* [{"field", "error"}...] */
    bool oom;
};

static void
add(struct found *f, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add(struct found *f, const char *field, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    json_t *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o = json_pack("{s:s,s:s}", "field", field, "error", msg);
    if (o == NULL || json_array_append_new(f->list, o) != 0) {
        f->oom = true;
    }
}

/* An unknown keyword: name the nearest declared argument, or list them. */
static void
unknown(struct found *f, const syncq_arg_def *decl, size_t n, const char *k)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    char list[200] = "";
    size_t used = 0;
    char key[SQ_ARG_NAME_MAX + 8];

    snprintf(key, sizeof key, "%.*s%s", SQ_ARG_NAME_MAX, k,
             strlen(k) > SQ_ARG_NAME_MAX ? "..." : "");
    for (size_t i = 0; i < n; i++) {
        size_t d;
        if (decl[i].type == SYNCQ_ARG_REST) {
            continue;
        }
        d = sq_edit_distance(k, decl[i].name);
        if (d < bestd) {
            bestd = d;
            best = decl[i].name;
        }
        if (used < sizeof list) {
            int w = snprintf(list + used, sizeof list - used, "%s%s",
                             used ? ", " : "", decl[i].name);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (best != NULL && bestd <= (strlen(k) >= 6 ? 2u : 1u)) {
        add(f, key, "unknown argument; did you mean %s?", best);
    } else if (best != NULL) {
        add(f, key, "unknown argument (accepted: %s)", list);
    } else {
        add(f, key, "unknown argument (the task takes none)");
    }
}

/* The err->msg summary: "field: error; field: error ...". */
static int
summarise(json_t *list, syncq_error *err)
{
    char msg[sizeof err->msg];
    size_t used = 0;
    size_t i;
    json_t *p;

    msg[0] = '\0';
    json_array_foreach(list, i, p)
    {
        int w = snprintf(msg + used, sizeof msg - used, "%s%s: %s",
                         i ? "; " : "",
                         json_string_value(json_object_get(p, "field")),
                         json_string_value(json_object_get(p, "error")));
        if (w < 0 || (size_t)w >= sizeof msg - used) {
            break;
        }
        used += (size_t)w;
    }
    return sq_fail(err, SYNCQ_EINVAL, "%s", msg);
}

/* The checks of one declaration against args and kwargs. */
static void
check_all(const syncq_arg_def *decl, size_t n, json_t *args, json_t *kwargs,
          struct found *f)
{
    size_t npos = 0, given = json_array_size(args);
    const char *k;
    json_t *v;
    char msg[256];

    for (size_t i = 0; i < n; i++) {
        const syncq_arg_def *a = &decl[i];
        json_t *kv = json_object_get(kwargs, a->name);
        json_t *pv = NULL;
        if (a->type == SYNCQ_ARG_REST) {
            continue;
        }
        if (!(a->flags & SYNCQ_ARG_KEYWORD)) {
            pv = json_array_get(args, npos++);
        }
        if (pv != NULL && kv != NULL) {
            add(f, a->name, "given both as positional argument %zu and by "
                "name", npos);
            continue;
        }
        v = kv != NULL ? kv : pv;
        if (v == NULL || json_is_null(v)) {
            if (a->flags & SYNCQ_ARG_REQUIRED) {
                add(f, a->name, "required");
            }
            continue;
        }
        if (!sq_args_value_ok(a, v, msg, sizeof msg)) {
            add(f, a->name, "%s", msg);
        }
    }
    if (sq_args_open(decl)) {
        return; /* anything else goes, positional or by name */
    }
    if (given > npos) {
        add(f, "args", "%zu positional arguments given, at most %zu", given,
            npos);
    }
    json_object_foreach(kwargs, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) {
            known = decl[i].type != SYNCQ_ARG_REST &&
                    strcmp(decl[i].name, k) == 0;
        }
        if (!known) {
            unknown(f, decl, n, k);
        }
    }
}

int
syncq_args_check(const syncq_arg_def *decl, json_t *args, json_t *kwargs,
                 json_t **problems, syncq_error *err)
{
    struct found f = {NULL, false};
    int rc;

    if (problems != NULL) {
        *problems = NULL;
    }
    if (decl == NULL) {
        return SYNCQ_OK;
    }
    if ((args != NULL && !json_is_array(args)) ||
        (kwargs != NULL && !json_is_object(kwargs))) {
        return sq_fail(err, SYNCQ_EINVAL, "args must be an array and kwargs "
                       "an object");
    }
    f.list = json_array();
    if (f.list == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory checking arguments");
    }
    check_all(decl, decl_count(decl), args, kwargs, &f);
    if (f.oom) {
        json_decref(f.list);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory checking arguments");
    }
    if (json_array_size(f.list) == 0) {
        json_decref(f.list);
        return SYNCQ_OK;
    }
    rc = summarise(f.list, err);
    if (problems != NULL) {
        *problems = f.list;
    } else {
        json_decref(f.list);
    }
    return rc;
}

/* ---- a declaration's own check (registration) ------------------------ */

static bool
name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= SQ_ARG_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int
one_decl_check(const syncq_arg_def *decl, size_t i, syncq_error *err)
{
    const syncq_arg_def *a = &decl[i];
    json_t *d;
    char msg[256];
    bool ok;

    if (a->type < 0 || a->type >= SYNCQ_ARG__COUNT || a->item_type < 0 ||
        a->item_type >= SYNCQ_ARG_REST) {
        return sq_fail(err, SYNCQ_EINVAL, "argument %.64s: unknown type",
                       a->name);
    }
    if (a->type == SYNCQ_ARG_REST) {
        return strcmp(a->name, "**kwargs") == 0
                   ? SYNCQ_OK
                   : sq_fail(err, SYNCQ_EINVAL, "the any-other-keyword "
                             "entry must be named **kwargs");
    }
    if (!name_ok(a->name)) {
        return sq_fail(err, SYNCQ_EINVAL, "argument '%.64s': names are "
                       "1..%d of a-z, 0-9 and _", a->name, SQ_ARG_NAME_MAX);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(decl[j].name, a->name) == 0) {
            return sq_fail(err, SYNCQ_EINVAL, "argument %s declared twice",
                           a->name);
        }
    }
    if ((a->flags & ~(SYNCQ_ARG_REQUIRED | SYNCQ_ARG_ITEMS |
                      SYNCQ_ARG_KEYWORD)) != 0 ||
        ((a->flags & SYNCQ_ARG_ITEMS) && a->type != SYNCQ_ARG_ARRAY) ||
        (a->choices != NULL && a->type != SYNCQ_ARG_STRING) ||
        (a->item_type != 0 && a->type != SYNCQ_ARG_ARRAY) ||
        (has_range(a) && a->min > a->max)) {
        return sq_fail(err, SYNCQ_EINVAL, "argument %s: flags, choices, item "
                       "type or range do not fit its type", a->name);
    }
    if (a->default_json == NULL) {
        return SYNCQ_OK;
    }
    d = json_loads(a->default_json, JSON_DECODE_ANY, NULL);
    ok = d != NULL && (json_is_null(d) || sq_args_value_ok(a, d, msg, sizeof msg));
    json_decref(d);
    return ok ? SYNCQ_OK
              : sq_fail(err, SYNCQ_EINVAL, "argument %s: default %.60s is "
                        "not a valid value", a->name, a->default_json);
}

int
sq_args_decl_check(const syncq_arg_def *decl, syncq_error *err)
{
    size_t n = decl_count(decl);
    int items = 0;

    if (decl == NULL) {
        return SYNCQ_OK;
    }
    if (decl[n].name != NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "more than %d declared arguments",
                       SQ_ARG_COUNT_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = one_decl_check(decl, i, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        items += (decl[i].flags & SYNCQ_ARG_ITEMS) != 0;
    }
    if (items > 1) {
        return sq_fail(err, SYNCQ_EINVAL, "at most one argument takes a "
                       "batch's items");
    }
    return SYNCQ_OK;
}
