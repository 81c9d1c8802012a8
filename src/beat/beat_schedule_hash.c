/* SPDX-License-Identifier: MIT
 *
 * beat_schedule_hash.c: a schedule as stored and shown: reading it back
 * from its Redis hash (every field checked, a bad one named), the field
 * pairs written for its definition, and the JSON of syncq_schedule_info.
 * Pure mapping, no I/O (beat_store.c does the Redis calls).
 */
#include "beat/beat_schedule.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_hash.h"
#include "core/sq_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
type_parse(const char *s)
{
    if (strcmp(s, "interval") == 0) {
        return SYNCQ_SCHEDULE_INTERVAL;
    }
    if (strcmp(s, "cron") == 0) {
        return SYNCQ_SCHEDULE_CRON;
    }
    if (strcmp(s, "once") == 0) {
        return SYNCQ_SCHEDULE_ONCE;
    }
    return -1;
}

/* ---- hash mapping ------------------------------------------------------ */

static int
num_field(const char *name, const char *field, const char *v, int64_t lo,
          int64_t hi, int64_t *out, syncq_error *err)
{
    char *end;
    long long x;

    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi) {
        return sq_fail(err, SYNCQ_EPROTO,
                       "schedule %s: field %s '%.32s' "
                       "is not a number in %lld..%lld",
                       name, field, v, (long long)lo, (long long)hi);
    }
    *out = x;
    return SYNCQ_OK;
}

static int
str_field(const char *name, const char *field, const char *v, char *out,
          size_t cap, syncq_error *err)
{
    if (strlen(v) >= cap) {
        return sq_fail(err, SYNCQ_EPROTO,
                       "schedule %s: field %s is too "
                       "long",
                       name, field);
    }
    snprintf(out, cap, "%s", v);
    return SYNCQ_OK;
}

int
sq_schedule_from_hash(struct sq_schedule *s, const char *name,
                      redisReply **fields, size_t n, syncq_error *err)
{
    const int64_t BIG = 253402300799000LL;
    int rc = SYNCQ_OK;

    if (str_field(name, "name", name, s->name, sizeof s->name, err)) {
        return SYNCQ_EPROTO;
    }
    s->type = 0;
    for (size_t i = 0; i + 1 < n && rc == SYNCQ_OK; i += 2) {
        const char *f, *v;
        int64_t x = 0;
        if (fields[i]->type != REDIS_REPLY_STRING ||
            fields[i + 1]->type != REDIS_REPLY_STRING) {
            return sq_fail(err, SYNCQ_EPROTO, "schedule %s: bad reply", name);
        }
        f = fields[i]->str;
        v = fields[i + 1]->str;
        if (!strcmp(f, "task")) {
            rc = str_field(name, f, v, s->task, sizeof s->task, err);
        } else if (!strcmp(f, "type")) {
            s->type = type_parse(v);
            if (s->type < 0) {
                rc = sq_fail(err, SYNCQ_EPROTO,
                             "schedule %s: unknown type "
                             "'%.20s'",
                             name, v);
            }
        } else if (!strcmp(f, "every")) {
            rc = num_field(name, f, v, 0, BIG, &s->every_ms, err);
        } else if (!strcmp(f, "cron")) {
            rc = str_field(name, f, v, s->cron, sizeof s->cron, err);
        } else if (!strcmp(f, "at")) {
            rc = num_field(name, f, v, 0, BIG, &s->at_ms, err);
        } else if (!strcmp(f, "tz")) {
            rc = str_field(name, f, v, s->tz, sizeof s->tz, err);
        } else if (!strcmp(f, "args") || !strcmp(f, "kwargs")) {
            char **dst = f[0] == 'a' ? &s->args : &s->kwargs;
            sq_free(*dst);
            *dst = sq_strndup(v, fields[i + 1]->len);
            if (*dst == NULL) {
                rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
            }
        } else if (!strcmp(f, "queue")) {
            rc = str_field(name, f, v, s->queue, sizeof s->queue, err);
        } else if (!strcmp(f, "pri")) {
            rc = num_field(name, f, v, 0, 10, &x, err);
            s->priority = (int)x;
        } else if (!strcmp(f, "maxr")) {
            rc = num_field(name, f, v, -1, 1000, &x, err);
            s->max_retries = (int)x;
        } else if (!strcmp(f, "enabled")) {
            s->enabled = strcmp(v, "1") == 0;
        } else if (!strcmp(f, "missed")) {
            s->missed = sq_missed_parse(v);
            if (s->missed < 0) {
                rc = sq_fail(err, SYNCQ_EPROTO,
                             "schedule %s: unknown "
                             "missed policy '%.20s'",
                             name, v);
            }
        } else if (!strcmp(f, "cap")) {
            rc = num_field(name, f, v, 1, 100000, &x, err);
            s->cap = (int)x;
        } else if (!strcmp(f, "grace")) {
            rc = num_field(name, f, v, 0, SQ_DAY_MS, &s->grace_ms, err);
        } else if (!strcmp(f, "start")) {
            rc = num_field(name, f, v, 0, BIG, &s->start_ms, err);
        } else if (!strcmp(f, "end")) {
            rc = num_field(name, f, v, 0, BIG, &s->end_ms, err);
        } else if (!strcmp(f, "expires")) {
            rc = num_field(name, f, v, 0, BIG, &s->expires_ms, err);
        } else if (!strcmp(f, "anchor")) {
            rc = num_field(name, f, v, 0, BIG, &s->anchor_ms, err);
        } else if (!strcmp(f, "source")) {
            rc = str_field(name, f, v, s->source, sizeof s->source, err);
        } else if (!strcmp(f, "def")) {
            rc = str_field(name, f, v, s->def, sizeof s->def, err);
        } else if (!strcmp(f, "gen")) {
            rc = num_field(name, f, v, 0, INT64_MAX, &s->gen, err);
        } else if (!strcmp(f, "next")) {
            rc = num_field(name, f, v, -1, BIG, &s->next_ms, err);
        } else if (!strcmp(f, "last")) {
            rc = num_field(name, f, v, -1, BIG, &s->last_ms, err);
        } else if (!strcmp(f, "last_at")) {
            rc = num_field(name, f, v, -1, BIG, &s->last_at_ms, err);
        } else if (!strcmp(f, "last_id")) {
            snprintf(s->last_id, sizeof s->last_id, "%s", v);
        } else if (!strcmp(f, "runs")) {
            rc = num_field(name, f, v, 0, INT64_MAX, &s->runs, err);
        } else if (!strcmp(f, "missed_runs")) {
            rc = num_field(name, f, v, 0, INT64_MAX, &s->missed_runs, err);
        } else if (!strcmp(f, "manual_runs")) {
            rc = num_field(name, f, v, 0, INT64_MAX, &s->manual_runs, err);
        } else if (!strcmp(f, "created")) {
            rc = num_field(name, f, v, 0, BIG, &s->created_ms, err);
        } else if (!strcmp(f, "updated")) {
            rc = num_field(name, f, v, 0, BIG, &s->updated_ms, err);
        } else if (!strcmp(f, "finished")) {
            s->finished = strcmp(v, "1") == 0;
        } else if (!strcmp(f, "error")) {
            snprintf(s->error, sizeof s->error, "%s", v);
        }
        /* unknown fields: written by a newer syncq; ignored */
    }
    return rc;
}

static int
add_pair(json_t *pairs, const char *k, const char *v)
{
    if (json_array_append_new(pairs, json_string(k)) != 0 ||
        json_array_append_new(pairs, json_string(v)) != 0) {
        return -1;
    }
    return 0;
}

static int
add_pair_ll(json_t *pairs, const char *k, long long v)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%lld", v);
    return add_pair(pairs, k, buf);
}

int
sq_schedule_def_fields(struct sq_schedule *s, json_t *pairs)
{
    size_t from = json_array_size(pairs);
    int bad = 0;
    char *text;

    bad |= add_pair(pairs, "name", s->name);
    bad |= add_pair(pairs, "task", s->task);
    bad |= add_pair(pairs, "type", sq_schedule_type_name(s->type));
    if (s->type == SYNCQ_SCHEDULE_INTERVAL) {
        bad |= add_pair_ll(pairs, "every", s->every_ms);
    } else if (s->type == SYNCQ_SCHEDULE_CRON) {
        bad |= add_pair(pairs, "cron", s->cron);
    } else {
        bad |= add_pair_ll(pairs, "at", s->at_ms);
    }
    bad |= add_pair(pairs, "tz", s->tz);
    if (s->args != NULL) {
        bad |= add_pair(pairs, "args", s->args);
    }
    if (s->kwargs != NULL) {
        bad |= add_pair(pairs, "kwargs", s->kwargs);
    }
    bad |= add_pair(pairs, "queue", s->queue);
    bad |= add_pair_ll(pairs, "pri", s->priority);
    if (s->max_retries >= 0) {
        bad |= add_pair_ll(pairs, "maxr", s->max_retries);
    }
    bad |= add_pair(pairs, "enabled", s->enabled ? "1" : "0");
    bad |= add_pair(pairs, "missed", sq_missed_name(s->missed));
    bad |= add_pair_ll(pairs, "cap", s->cap);
    bad |= add_pair_ll(pairs, "grace", s->grace_ms);
    if (s->start_ms > 0) {
        bad |= add_pair_ll(pairs, "start", s->start_ms);
    }
    if (s->end_ms > 0) {
        bad |= add_pair_ll(pairs, "end", s->end_ms);
    }
    if (s->expires_ms > 0) {
        bad |= add_pair_ll(pairs, "expires", s->expires_ms);
    }
    bad |= add_pair(pairs, "source", s->source);
    if (bad) {
        return -1;
    }
    /* The definition's fingerprint, before the anchor (which is state:
     * the add time of an interval schedule without a start). */
    {
        json_t *def = json_array();
        for (size_t i = from; i < json_array_size(pairs); i++) {
            json_array_append(def, json_array_get(pairs, i));
        }
        text = json_dumps(def, JSON_COMPACT);
        json_decref(def);
        if (text == NULL) {
            return -1;
        }
        sq_sha1_hex(text, strlen(text), s->def);
        sq_free(text);
    }
    if (s->type == SYNCQ_SCHEDULE_INTERVAL &&
        add_pair_ll(pairs, "anchor", s->anchor_ms) != 0) {
        return -1;
    }
    return add_pair(pairs, "def", s->def);
}

static json_t *
time_json(int64_t ms, const char *tz)
{
    char buf[48];

    if (ms < 0) {
        return json_null();
    }
    return json_string(sq_time_format_zone(ms, tz, buf, sizeof buf));
}

static json_t *
json_text(const char *s, json_t *fallback)
{
    json_t *v;

    if (s == NULL) {
        return fallback;
    }
    v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v == NULL) {
        return json_string(s);
    }
    json_decref(fallback);
    return v;
}

json_t *
sq_schedule_to_json(const struct sq_schedule *s)
{
    json_t *o = json_object();
    const char *state;

    if (o == NULL) {
        return NULL;
    }
    if (s->error[0] != '\0') {
        state = "invalid";
    } else if (!s->enabled) {
        state = "paused";
    } else if (s->finished || s->next_ms < 0) {
        state = "finished";
    } else {
        state = "active";
    }
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "task", json_string(s->task));
    json_object_set_new(o, "type", json_string(sq_schedule_type_name(s->type)));
    if (s->type == SYNCQ_SCHEDULE_INTERVAL) {
        json_object_set_new(o, "interval_s",
                            json_real((double)s->every_ms / 1000.0));
        json_object_set_new(o, "anchor", time_json(s->anchor_ms, NULL));
    } else if (s->type == SYNCQ_SCHEDULE_CRON) {
        json_object_set_new(o, "cron", json_string(s->cron));
    } else if (s->type == SYNCQ_SCHEDULE_ONCE) {
        json_object_set_new(o, "at", time_json(s->at_ms, s->tz));
    }
    json_object_set_new(o, "timezone", json_string(s->tz));
    json_object_set_new(o, "args", json_text(s->args, json_array()));
    json_object_set_new(o, "kwargs", json_text(s->kwargs, json_object()));
    json_object_set_new(o, "queue", json_string(s->queue));
    json_object_set_new(o, "priority", json_integer(s->priority));
    if (s->max_retries >= 0) {
        json_object_set_new(o, "max_retries", json_integer(s->max_retries));
    }
    json_object_set_new(o, "enabled", json_boolean(s->enabled));
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "missed", json_string(sq_missed_name(s->missed)));
    json_object_set_new(o, "catch_up_cap", json_integer(s->cap));
    json_object_set_new(o, "grace_s", json_real((double)s->grace_ms / 1000));
    json_object_set_new(o, "start",
                        time_json(s->start_ms > 0 ? s->start_ms : -1, s->tz));
    json_object_set_new(o, "end",
                        time_json(s->end_ms > 0 ? s->end_ms : -1, s->tz));
    json_object_set_new(o, "expires_s",
                        json_real((double)s->expires_ms / 1000));
    json_object_set_new(o, "next_run", time_json(s->next_ms, s->tz));
    json_object_set_new(o, "next_run_ms",
                        s->next_ms >= 0 ? json_integer(s->next_ms)
                                        : json_null());
    json_object_set_new(o, "last_run", time_json(s->last_ms, s->tz));
    json_object_set_new(o, "last_run_ms",
                        s->last_ms >= 0 ? json_integer(s->last_ms)
                                        : json_null());
    json_object_set_new(o, "last_task_id",
                        s->last_id[0] ? json_string(s->last_id) : json_null());
    json_object_set_new(o, "total_runs", json_integer(s->runs));
    json_object_set_new(o, "missed_runs", json_integer(s->missed_runs));
    json_object_set_new(o, "manual_runs", json_integer(s->manual_runs));
    json_object_set_new(o, "error",
                        s->error[0] ? json_string(s->error) : json_null());
    json_object_set_new(o, "source", json_string(s->source));
    json_object_set_new(
        o, "created_at",
        time_json(s->created_ms > 0 ? s->created_ms : -1, NULL));
    json_object_set_new(
        o, "updated_at",
        time_json(s->updated_ms > 0 ? s->updated_ms : -1, NULL));
    json_object_set_new(o, "generation", json_integer(s->gen));
    return o;
}
