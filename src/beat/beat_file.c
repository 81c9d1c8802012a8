/* SPDX-License-Identifier: MIT
 *
 * beat_file.c: the static schedule file (docs/beat.md "Schedule file"),
 * a JSON document loaded when a beat starts (or by `syncq schedule load`)
 * that seeds schedules in Redis. Every entry is checked before anything
 * is written; then each is upserted (an unchanged definition keeps its
 * state), and with `prune` file schedules no longer in the file go away.
 * Limits: 16 MiB of file, 10,000 entries.
 */
#include "beat/beat_store.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syncq/task.h>

#define FILE_MAX_BYTES (16 << 20)
#define ENTRIES_MAX 10000

static const char *const entry_keys[] = {
    "name",     "task",        "type",         "interval", "cron",  "at",
    "timezone", "tz",          "args",         "kwargs",   "queue", "priority",
    "enabled",  "missed",      "catch_up_cap", "grace",    "start", "end",
    "expires",  "max_retries", "comment",      NULL};

/* A duration: a JSON number of seconds or a string "90", "5m", "1h30m". */
static int
duration_of(const char *what, json_t *v, int64_t *ms, syncq_error *err)
{
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (d < 0 || d > 3.2e8) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: %g seconds out of range",
                           what, d);
        }
        *ms = (int64_t)(d * 1000 + 0.5);
        return SYNCQ_OK;
    }
    if (json_is_string(v)) {
        int rc = sq_duration_parse_ms(json_string_value(v), ms, err);
        if (rc != SYNCQ_OK) {
            sq_error_prefix(err, what);
        }
        return rc;
    }
    return sq_fail(err, SYNCQ_EINVAL,
                   "%s must be seconds or a duration "
                   "string like \"5m\"",
                   what);
}

/* A time: ISO 8601 string or a number of epoch seconds. */
static int
time_of(const char *what, json_t *v, int64_t *ms, syncq_error *err)
{
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        /* up to year 9999 (the ISO 8601 limit): ms must not overflow */
        if (json_integer_value(v) > 253402300799LL) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s: %lld epoch seconds is after year 9999",
                           what, (long long)json_integer_value(v));
        }
        *ms = (int64_t)json_integer_value(v) * 1000;
        return SYNCQ_OK;
    }
    if (json_is_string(v)) {
        int rc = sq_time_parse_iso8601(json_string_value(v), ms, err);
        if (rc != SYNCQ_OK) {
            sq_error_prefix(err, what);
        }
        return rc;
    }
    return sq_fail(err, SYNCQ_EINVAL,
                   "%s must be an ISO 8601 time or epoch "
                   "seconds",
                   what);
}

static const char *
str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Turn entry `e` (a JSON object) into a compiled schedule `s`. */
static int
entry_parse(syncq_client *c, json_t *e, const char *file_tz,
            const struct sq_sched_defaults *base, struct sq_schedule *s,
            syncq_error *err)
{
    syncq_schedule_config cfg;
    struct sq_sched_defaults d = *base;
    char task[SYNCQ_SCHEDULE_NAME_MAX + 1];
    const syncq_task_def *def;
    char *args = NULL, *kwargs = NULL;
    const char *key;
    json_t *v;
    int kinds = 0;
    int rc = SYNCQ_OK;

    if (!json_is_object(e)) {
        return sq_fail(err, SYNCQ_EINVAL, "entry must be a JSON object");
    }
    json_object_foreach(e, key, v)
    {
        int known = 0;
        for (int i = 0; entry_keys[i] != NULL; i++) {
            known |= strcmp(key, entry_keys[i]) == 0;
        }
        if (!known) {
            return sq_fail(err, SYNCQ_EINVAL, "unknown key '%.40s'", key);
        }
    }
    syncq_schedule_config_init(&cfg);
    cfg.name = str_of(e, "name");
    cfg.task = str_of(e, "task");
    if (cfg.name == NULL || cfg.task == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "\"name\" and \"task\" are "
                       "required strings");
    }
    if (json_object_get(e, "interval") != NULL) {
        kinds++;
        cfg.type = SYNCQ_SCHEDULE_INTERVAL;
        rc = duration_of("interval", json_object_get(e, "interval"),
                         &cfg.interval_ms, err);
    }
    if (rc == SYNCQ_OK && json_object_get(e, "cron") != NULL) {
        kinds++;
        cfg.type = SYNCQ_SCHEDULE_CRON;
        cfg.cron = str_of(e, "cron");
        if (cfg.cron == NULL) {
            rc = sq_fail(err, SYNCQ_EINVAL, "cron must be a string");
        }
    }
    if (rc == SYNCQ_OK && json_object_get(e, "at") != NULL) {
        kinds++;
        cfg.type = SYNCQ_SCHEDULE_ONCE;
        rc = time_of("at", json_object_get(e, "at"), &cfg.run_at_ms, err);
    }
    if (rc == SYNCQ_OK && kinds != 1) {
        rc = sq_fail(err, SYNCQ_EINVAL,
                     "give exactly one of \"interval\", "
                     "\"cron\" or \"at\"");
    }
    v = json_object_get(e, "type");
    if (rc == SYNCQ_OK && v != NULL) {
        const char *t = json_string_value(v);
        const char *want = cfg.type == SYNCQ_SCHEDULE_INTERVAL ? "interval"
                           : cfg.type == SYNCQ_SCHEDULE_CRON   ? "cron"
                                                               : "once";
        if (t == NULL || strcmp(t, want) != 0) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "type \"%.20s\" does not match "
                         "the schedule given (%s)",
                         t ? t : "?", want);
        }
    }
    if (rc == SYNCQ_OK) {
        cfg.timezone = str_of(e, "timezone") ? str_of(e, "timezone")
                       : str_of(e, "tz")     ? str_of(e, "tz")
                                             : file_tz;
        v = json_object_get(e, "args");
        if (v != NULL) {
            args = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (args == NULL) {
                rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
            }
        }
        v = json_object_get(e, "kwargs");
        if (rc == SYNCQ_OK && v != NULL) {
            kwargs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (kwargs == NULL) {
                rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
            }
        }
        cfg.args_json = args;
        cfg.kwargs_json = kwargs;
        cfg.queue = str_of(e, "queue");
        if (json_object_get(e, "queue") != NULL && cfg.queue == NULL) {
            rc = sq_fail(err, SYNCQ_EINVAL, "queue must be a string");
        }
    }
    v = json_object_get(e, "priority");
    if (rc == SYNCQ_OK && v != NULL) {
        if (json_is_integer(v)) {
            json_int_t p = json_integer_value(v);
            if (p < 0 || p > 10) {
                rc = sq_fail(err, SYNCQ_EINVAL,
                             "priority %lld out of range "
                             "0..10",
                             (long long)p);
            }
            cfg.priority = (int)p;
        } else if (json_is_string(v)) {
            rc = syncq_priority_parse(json_string_value(v), &cfg.priority, err);
        } else {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "priority must be 0..10 or a "
                         "name");
        }
    }
    v = json_object_get(e, "enabled");
    if (rc == SYNCQ_OK && v != NULL) {
        if (!json_is_boolean(v)) {
            rc = sq_fail(err, SYNCQ_EINVAL, "enabled must be true or false");
        }
        cfg.enabled = json_is_true(v);
    }
    v = json_object_get(e, "missed");
    if (rc == SYNCQ_OK && v != NULL) {
        int m = sq_missed_parse(json_string_value(v));
        if (m < 0) {
            rc = sq_fail(err, SYNCQ_EINVAL,
                         "missed must be skip, run_once "
                         "or catch_up");
        }
        cfg.missed = (syncq_missed_policy)m;
    }
    v = json_object_get(e, "catch_up_cap");
    if (rc == SYNCQ_OK && v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > 100000) {
            rc = sq_fail(err, SYNCQ_EINVAL, "catch_up_cap must be 1..100000");
        }
        cfg.catch_up_cap = (int)json_integer_value(v);
    }
    v = json_object_get(e, "max_retries");
    if (rc == SYNCQ_OK && v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000) {
            rc = sq_fail(err, SYNCQ_EINVAL, "max_retries must be 0..1000");
        }
        cfg.max_retries = (int)json_integer_value(v);
    }
    v = json_object_get(e, "grace");
    if (rc == SYNCQ_OK && v != NULL) {
        rc = duration_of("grace", v, &cfg.grace_ms, err);
    }
    v = json_object_get(e, "expires");
    if (rc == SYNCQ_OK && v != NULL) {
        rc = duration_of("expires", v, &cfg.expires_ms, err);
    }
    v = json_object_get(e, "start");
    if (rc == SYNCQ_OK && v != NULL) {
        rc = time_of("start", v, &cfg.start_ms, err);
    }
    v = json_object_get(e, "end");
    if (rc == SYNCQ_OK && v != NULL) {
        rc = time_of("end", v, &cfg.end_ms, err);
    }
    if (rc == SYNCQ_OK) {
        rc = syncq_task_name_normalize(cfg.task, task, sizeof task, err);
    }
    if (rc == SYNCQ_OK) {
        def = syncq_registry_find(syncq_registry_default(), task);
        d.queue = c != NULL ? sq_route_queue(c, task) : base->queue;
        d.priority = (def != NULL && def->priority >= 0) ? def->priority : 5;
        d.allow_past = true;
        rc = sq_schedule_from_config(s, &cfg, &d, err);
    }
    if (rc == SYNCQ_OK && c != NULL) {
        /* the task's declared arguments, as `schedule add` checks them */
        rc = syncq_task_args_check(c, task, s->args, s->kwargs, NULL, err);
    }
    if (rc == SYNCQ_OK && c != NULL) {
        size_t bytes = (s->args ? strlen(s->args) : 0) +
                       (s->kwargs ? strlen(s->kwargs) : 0);
        if ((int64_t)bytes > c->max_payload) {
            rc = sq_fail(err, SYNCQ_ETOOBIG,
                         "args and kwargs are %zu "
                         "bytes, limit %lld",
                         bytes, (long long)c->max_payload);
        }
    }
    snprintf(s->source, sizeof s->source, "file");
    sq_free(args);
    sq_free(kwargs);
    return rc;
}

static char *
read_file(const char *path, size_t *len, syncq_error *err)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char *buf;
    size_t n;

    if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        sq_fail_errno(err, SYNCQ_EIO, "cannot open schedule file %s: %s", path,
                      f == NULL ? strerror(errno) : "not a file");
        if (f != NULL) {
            fclose(f);
        }
        return NULL;
    }
    if (st.st_size > FILE_MAX_BYTES) {
        fclose(f);
        sq_fail(err, SYNCQ_ETOOBIG, "schedule file %s is over %d bytes", path,
                FILE_MAX_BYTES);
        return NULL;
    }
    buf = sq_malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        return NULL;
    }
    n = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        sq_fail_errno(err, SYNCQ_EIO, "cannot read schedule file %s: %s", path,
                      strerror(errno));
        fclose(f);
        sq_free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The entries of a parsed file as an array (new reference), names of an
 * object form folded in as "name". */
static json_t *
entries_of(json_t *root, const char **file_tz, syncq_error *err)
{
    json_t *list = root;
    json_t *out;

    *file_tz = NULL;
    if (json_is_object(root)) {
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v)
        {
            if (strcmp(key, "schedules") != 0 && strcmp(key, "timezone") != 0 &&
                strcmp(key, "comment") != 0) {
                sq_fail(err, SYNCQ_EINVAL,
                        "unknown top-level key '%.40s' "
                        "(expected \"timezone\" and \"schedules\")",
                        key);
                return NULL;
            }
        }
        *file_tz = str_of(root, "timezone");
        list = json_object_get(root, "schedules");
        if (list == NULL) {
            sq_fail(err, SYNCQ_EINVAL, "no \"schedules\" in the file");
            return NULL;
        }
    }
    if (json_is_array(list)) {
        return json_incref(list);
    }
    if (json_is_object(list)) {
        const char *name;
        json_t *v;
        out = json_array();
        json_object_foreach(list, name, v)
        {
            json_t *e = json_is_object(v) ? json_deep_copy(v) : json_null();
            if (json_is_object(e) && json_object_get(e, "name") == NULL) {
                json_object_set_new(e, "name", json_string(name));
            }
            json_array_append_new(out, e);
        }
        return out;
    }
    sq_fail(err, SYNCQ_EINVAL,
            "\"schedules\" must be an array or an "
            "object of name: entry");
    return NULL;
}

static void
report_add(json_t *report, const char *what, const char *name)
{
    if (report != NULL) {
        json_array_append_new(json_object_get(report, what), json_string(name));
    }
}

int
sq_sched_file_parse(syncq_client *c, const char *text, size_t len,
                    const char *path, const struct sq_sched_defaults *base,
                    struct sq_schedule **out, size_t *count, syncq_error *err)
{
    struct sq_schedule *ss = NULL;
    json_t *root, *entries = NULL;
    json_error_t jerr;
    const char *file_tz;
    size_t n = 0;
    int rc = SYNCQ_OK;

    *out = NULL;
    *count = 0;
    if (len > FILE_MAX_BYTES) {
        return sq_fail(err, SYNCQ_ETOOBIG, "schedule file %s is over %d bytes",
                       path, FILE_MAX_BYTES);
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "schedule file %s: line %d column "
                       "%d: %s",
                       path, jerr.line, jerr.column, jerr.text);
    }
    entries = entries_of(root, &file_tz, err);
    if (entries == NULL) {
        rc = err->code;
        goto done;
    }
    n = json_array_size(entries);
    if (n > ENTRIES_MAX) {
        rc = sq_fail(err, SYNCQ_ETOOBIG,
                     "schedule file %s has %zu entries, "
                     "limit %d",
                     path, n, ENTRIES_MAX);
        goto done;
    }
    ss = sq_calloc(n + 1, sizeof *ss);
    if (ss == NULL) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sq_schedule_init(&ss[i]);
    }
    /* Check everything before writing anything. */
    for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
        json_t *e = json_array_get(entries, i);
        rc = entry_parse(c, e, file_tz, base, &ss[i], err);
        for (size_t j = 0; j < i && rc == SYNCQ_OK; j++) {
            if (strcmp(ss[j].name, ss[i].name) == 0) {
                rc = sq_fail(err, SYNCQ_EINVAL, "name used twice");
            }
        }
        if (rc != SYNCQ_OK) {
            char pre[300];
            const char *nm = json_is_object(e) ? str_of(e, "name") : NULL;
            snprintf(pre, sizeof pre, "schedule file %s: entry %zu%s%.200s%s",
                     path, i + 1, nm ? " (" : "", nm ? nm : "", nm ? ")" : "");
            sq_error_prefix(err, pre);
        }
    }
done:
    json_decref(entries);
    json_decref(root);
    if (rc != SYNCQ_OK) {
        for (size_t i = 0; ss != NULL && i < n; i++) {
            sq_schedule_cleanup(&ss[i]);
        }
        sq_free(ss);
        return rc;
    }
    *out = ss;
    *count = n;
    return SYNCQ_OK;
}

int
syncq_schedule_load_file(syncq_client *c, const char *path, bool prune,
                         json_t **report_out, syncq_error *err)
{
    struct sq_sched_defaults base;
    struct sq_schedule *ss = NULL;
    json_t *report = NULL;
    syncq_error lerr;
    size_t len = 0, n = 0;
    char *text;
    int rc = SYNCQ_OK;

    if (err == NULL) {
        err = &lerr; /* the codes below are read back from it */
    }
    if (report_out != NULL) {
        *report_out = NULL;
    }
    text = read_file(path, &len, err);
    if (text == NULL) {
        return err->code;
    }
    rc = sq_sched_defaults_get(c, "x", &base, err);
    if (rc == SYNCQ_OK) {
        rc = sq_sched_file_parse(c, text, len, path, &base, &ss, &n, err);
    }
    sq_free(text);
    if (rc != SYNCQ_OK) {
        goto done;
    }
    report = json_pack("{s:[],s:[],s:[],s:[]}", "created", "updated",
                       "unchanged", "removed");
    for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
        char st[16];
        rc = sq_sched_save(c, &ss[i], base.now_ms, SQ_SAVE_UPSERT, st, err);
        if (rc == SYNCQ_OK) {
            report_add(report,
                       strcmp(st, "created") == 0    ? "created"
                       : strcmp(st, "replaced") == 0 ? "updated"
                                                     : "unchanged",
                       ss[i].name);
        }
    }
    if (rc == SYNCQ_OK && prune) {
        json_t *names = NULL;
        rc = sq_sched_names(c, &names, err);
        for (size_t i = 0; rc == SYNCQ_OK && i < json_array_size(names); i++) {
            const char *nm = json_string_value(json_array_get(names, i));
            struct sq_schedule old;
            bool found = false, keep = false;
            for (size_t j = 0; j < n && !keep; j++) {
                keep = strcmp(ss[j].name, nm) == 0;
            }
            if (keep) {
                continue;
            }
            sq_schedule_init(&old);
            if (sq_sched_load(c, nm, &old, &found, NULL) == SYNCQ_OK && found &&
                strcmp(old.source, "file") == 0 &&
                sq_sched_remove_gen(c, nm, old.gen, NULL) == SYNCQ_OK) {
                report_add(report, "removed", nm);
            }
            sq_schedule_cleanup(&old);
        }
        json_decref(names);
    }
done:
    for (size_t i = 0; ss != NULL && i < n; i++) {
        sq_schedule_cleanup(&ss[i]);
    }
    sq_free(ss);
    if (rc == SYNCQ_OK && report_out != NULL) {
        *report_out = report;
        report = NULL;
    }
    json_decref(report);
    return rc;
}
