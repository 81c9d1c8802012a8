/* SPDX-License-Identifier: MIT
 *
 * broker_event.c: the tasks of one entry of the events stream
 * ({ns}:events; docs/redis-keys.md). An entry is about one task, or, as
 * the hot scripts write them (lib.lua, event_grouped), about several: it
 * reads as the first task's event ("e", kind, "id", id, "t", time, ...),
 * and each later task follows from its own "id" field with only the
 * fields that differ from the first task's. Every reader of the stream
 * walks entries through here, so both forms read the same.
 */
#include "broker/broker.h"

#include <string.h>

static bool
is_field(const redisReply *kv, size_t i, const char *name)
{
    return i + 1 < kv->elements &&
           kv->element[i]->type == REDIS_REPLY_STRING &&
           kv->element[i + 1]->type == REDIS_REPLY_STRING &&
           strcmp(kv->element[i]->str, name) == 0;
}

/* Index of the first "id" field at or after `from`, or the end. */
static size_t
next_id(const redisReply *kv, size_t from)
{
    size_t i = from;

    while (i + 1 < kv->elements && !is_field(kv, i, "id")) {
        i += 2;
    }
    return i + 1 < kv->elements ? i : kv->elements;
}

static const char *
find(const redisReply *kv, size_t from, size_t to, const char *name)
{
    for (size_t i = from; i + 1 < to && i + 1 < kv->elements; i += 2) {
        if (is_field(kv, i, name)) {
            return kv->element[i + 1]->str;
        }
    }
    return NULL;
}

const char *
sq_event_get(const struct sq_event *ev, const char *name)
{
    const char *v = find(ev->kv, ev->from, ev->to, name);

    if (v == NULL && ev->from != ev->first_from) {
        v = find(ev->kv, ev->first_from, ev->first_to, name);
    }
    if (v == NULL && ev->first_from > 0) {
        v = find(ev->kv, 0, ev->first_from, name);
    }
    return v;
}

/* The task whose "id" field is at `from`, or the whole entry when it
 * names no task (from == 0 and no id: schedule events ...). */
static void
at(struct sq_event *ev, size_t from)
{
    ev->from = from;
    ev->to = ev->has_id ? next_id(ev->kv, from + 2) : ev->kv->elements;
    ev->id = ev->has_id ? ev->kv->element[from + 1]->str : NULL;
    ev->e = sq_event_get(ev, "e");
}

bool
sq_event_first(const redisReply *kv, struct sq_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (kv == NULL || kv->type != REDIS_REPLY_ARRAY) {
        return false;
    }
    ev->kv = kv;
    ev->first_from = next_id(kv, 0);
    ev->has_id = ev->first_from < kv->elements;
    if (!ev->has_id) {
        ev->first_from = 0;
        ev->first_to = kv->elements;
        at(ev, 0);
        return true;
    }
    ev->first_to = next_id(kv, ev->first_from + 2);
    at(ev, ev->first_from);
    return true;
}

bool
sq_event_next(struct sq_event *ev)
{
    if (!ev->has_id || ev->to >= ev->kv->elements) {
        return false;
    }
    at(ev, ev->to);
    return true;
}
