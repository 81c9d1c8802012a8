/* SPDX-License-Identifier: MIT
 *
 * mon_api_search.c: the task browser's endpoints: GET /api/tasks (search
 * with filters and paging, mon_search.c), POST /api/actions/{name} (a
 * bulk action on what a filter selects, confirmed by its count) and
 * GET /api/tasks/{id}/events (a task's events timeline).
 */
#include "monitor/mon_api_http.h"
#include "monitor/mon_search.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <microhttpd.h>
#include "sq_lazy_mhd.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/recovery.h>
#include <syncq/syncq.h>

#define ACTION_MAX 10000 /* tasks one bulk action may touch */
#define EVENTS_SCAN 20000 /* newest stream entries a timeline reads */

struct qargs {
    struct sq_search *s;
    syncq_error *err;
    int rc;
};

static enum MHD_Result
each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
         const char *value)
{
    struct qargs *a = cls;

    (void)kind;
    /* "ns" picked this context before the handler ran
     * (sq_api_ns_pick), so it is not a search filter */
    if (a->rc != SYNCQ_OK || strcmp(key, "token") == 0 ||
        strcmp(key, "ns") == 0) {
        return MHD_YES;
    }
    if (value == NULL || value[0] == '\0') {
        return MHD_YES; /* an empty form field: no filter */
    }
    a->rc = sq_search_set(a->s, key, value, a->err);
    return a->rc == SYNCQ_OK ? MHD_YES : MHD_NO;
}

/* Reply the search's JSON: the page of rows, the counts, the filter. */
static void
reply_search(struct sq_api_reply *r, const struct sq_search *s, json_t *rows,
             size_t total, size_t scanned, bool truncated)
{
    json_t *o = json_object();

    json_object_set_new(o, "tasks", rows);
    json_object_set_new(o, "total", json_integer((json_int_t)total));
    json_object_set_new(o, "offset", json_integer((json_int_t)s->offset));
    json_object_set_new(o, "limit", json_integer((json_int_t)s->limit));
    json_object_set_new(o, "scanned", json_integer((json_int_t)scanned));
    json_object_set_new(o, "truncated", json_boolean(truncated));
    json_object_set_new(o, "filter", sq_search_json(s));
    sq_api_json(r, 200, o);
    json_decref(o);
}

void
sq_api_h_search(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    struct sq_search s;
    struct qargs a;
    syncq_error e;
    syncq_client *c;
    json_t *rows = NULL;
    size_t total = 0, scanned = 0;
    bool truncated = false;

    sq_search_init(&s);
    a.s = &s;
    a.err = &e;
    a.rc = SYNCQ_OK;
    MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, each_arg, &a);
    if (a.rc != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    c = sq_api_client(S, r);
    if (c == NULL) {
        return;
    }
    if (sq_search_run(c, &s, &rows, NULL, &total, &scanned, &truncated,
                      &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    reply_search(r, &s, rows, total, scanned, truncated);
}

/* ---- bulk actions ------------------------------------------------------ */

enum bulk { B_RETRY, B_RESUME, B_CANCEL, B_PURGE, B__N };
static const char *const bulk_names[B__N] = {"retry", "resume", "cancel",
                                             "purge"};

/* The filter of a bulk action's body: {"filter": {...}}. */
static int
body_filter(const json_t *body, struct sq_search *s, syncq_error *err)
{
    const json_t *f = json_object_get(body, "filter");
    const char *k;
    json_t *v;

    if (f != NULL && !json_is_object(f)) {
        return sq_fail(err, SYNCQ_EINVAL, "filter must be a JSON object");
    }
    json_object_foreach((json_t *)f, k, v) {
        char num[32];
        const char *val = json_string_value(v);
        if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            val = num;
        }
        if (strcmp(k, "limit") == 0 || strcmp(k, "offset") == 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "filter: %s has no meaning in a bulk action (it "
                           "acts on every match)", k);
        }
        if (val == NULL) {
            return sq_fail(err, SYNCQ_EINVAL, "filter: %s must be a string",
                           k);
        }
        if (sq_search_set(s, k, val, err) != SYNCQ_OK) {
            return SYNCQ_EINVAL;
        }
    }
    return SYNCQ_OK;
}

/* Apply action `b` to task `id`; false with the reason in e. */
static bool
apply(syncq_client *c, enum bulk b, int strategy, const char *who,
      const char *id, syncq_error *e)
{
    syncq_resume_options ro;
    syncq_resume_result res;

    switch (b) {
    case B_RETRY:
    case B_RESUME:
        memset(&ro, 0, sizeof ro);
        ro.who = who;
        return syncq_task_resume(c, id, strategy, &ro, &res, e) == SYNCQ_OK;
    case B_CANCEL:
        return syncq_task_revoke(c, id, who, NULL, NULL, e) == SYNCQ_OK;
    case B_PURGE:
        return syncq_dead_delete(c, id, e) == SYNCQ_OK;
    default:
        return false;
    }
}

/* Parse the action's name, strategy and filter; 0 or an HTTP status
 * after replying. */
static int
action_parse(const struct sq_api_req *q, struct sq_api_reply *r,
             json_t *body, enum bulk *b, int *strategy, struct sq_search *s)
{
    const char *st;
    syncq_error e;

    *b = B__N;
    for (int i = 0; i < B__N; i++) {
        if (strcmp(q->rt->arg, bulk_names[i]) == 0) {
            *b = (enum bulk)i;
        }
    }
    if (*b == B__N) {
        sq_api_error(r, 404, "ENOTFOUND",
                     "no such action (retry, resume, cancel, purge)", NULL);
        return 404;
    }
    st = json_string_value(json_object_get(body, "strategy"));
    *strategy = *b == B_RETRY ? SYNCQ_RESUME_RETRY : SYNCQ_RESUME_AUTO;
    if (st != NULL && *b == B_RESUME) {
        *strategy = syncq_resume_strategy_parse(st);
    } else if (st != NULL || json_object_get(body, "strategy") != NULL) {
        *strategy = -1;
    }
    if (*strategy < 0) {
        sq_api_error(r, 400, "EINVAL",
                     *b == B_RESUME ? "strategy must be auto, retry, resume, "
                                      "restart, skip or manual"
                                    : "strategy is only for resume",
                     NULL);
        return 400;
    }
    if (body_filter(body, s, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return 400;
    }
    if (*b == B_PURGE && s->state[0] != '\0' && strcmp(s->state, "DEAD")) {
        sq_api_error(r, 400, "EINVAL",
                     "purge deletes dead letters: the filter's state must "
                     "be DEAD (or absent)", NULL);
        return 400;
    }
    if (*b == B_PURGE) {
        snprintf(s->state, sizeof s->state, "DEAD");
    }
    return 0;
}

/* POST /api/actions/{retry|resume|cancel|purge}, body {"filter": {...},
 * "strategy": ..., "expect": N}. Without "expect" (or with ?dry_run=1)
 * nothing is done: the reply says how many tasks it would touch, for the
 * confirmation. With "expect" it acts only when the filter still
 * selects exactly that many (409 otherwise). */
void
sq_api_h_action(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    struct sq_search s;
    enum bulk b;
    int strategy;
    syncq_client *c;
    syncq_error e;
    json_t *body, *ids = NULL, *fails, *o, *v;
    const json_t *expect;
    size_t total = 0, scanned = 0, done = 0, i;
    bool truncated = false;
    const char *dry = sq_api_arg(q, "dry_run");

    sq_search_init(&s);
    s.limit = 0;
    s.ids_max = ACTION_MAX;
    body = q->body_len > 0 ? sq_api_body(q, r) : json_object();
    if (body == NULL) {
        return;
    }
    if (dry != NULL && strcmp(dry, "1") != 0 && strcmp(dry, "0") != 0) {
        sq_api_error(r, 400, "EINVAL", "dry_run must be 0 or 1", NULL);
        json_decref(body);
        return;
    }
    expect = json_object_get(body, "expect");
    if (action_parse(q, r, body, &b, &strategy, &s) != 0 ||
        (expect != NULL && (!json_is_integer(expect) ||
                            json_integer_value(expect) < 0))) {
        if (r->status == 0) {
            sq_api_error(r, 400, "EINVAL",
                         "expect must be the count a dry run gave (an "
                         "integer >= 0)", NULL);
        }
        json_decref(body);
        return;
    }
    c = sq_api_client(S, r);
    if (c == NULL || sq_search_run(c, &s, NULL, &ids, &total, &scanned,
                                   &truncated, &e) != SYNCQ_OK) {
        if (c != NULL) {
            sq_api_syncq_error(r, &e);
        }
        json_decref(body);
        return;
    }
    o = json_pack("{s:s,s:I,s:o}", "action", bulk_names[b], "count",
                  (json_int_t)total, "filter", sq_search_json(&s));
    if (truncated || total > ACTION_MAX) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the filter selects %s%zu tasks; one action touches at "
                 "most %d: narrow the filter",
                 truncated ? "at least " : "", total, ACTION_MAX);
        sq_api_error(r, 413, "ETOOBIG", msg, NULL);
    } else if (expect == NULL || (dry != NULL && strcmp(dry, "1") == 0)) {
        char msg[120];
        snprintf(msg, sizeof msg, "%s %zu task%s?", bulk_names[b], total,
                 total == 1 ? "" : "s");
        json_object_set_new(o, "dry_run", json_true());
        json_object_set_new(o, "confirm", json_string(msg));
        sq_api_json(r, 200, o);
    } else if ((size_t)json_integer_value(expect) != total) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the filter now selects %zu tasks, not %lld: confirm "
                 "again", total, (long long)json_integer_value(expect));
        sq_api_error(r, 409, "ESTATE", msg, NULL);
    } else {
        fails = json_array();
        json_array_foreach(ids, i, v) {
            const char *id = json_string_value(v);
            if (apply(c, b, strategy, q->who, id, &e)) {
                done++;
            } else if (json_array_size(fails) < 50) {
                json_array_append_new(
                    fails, json_pack("{s:s,s:s,s:s}", "id", id, "error",
                                     syncq_code_name(e.code), "message",
                                     e.msg));
            }
        }
        SQ_INFO("monitor.bulk_action", "who=%s action=%s count=%zu done=%zu",
                q->who, bulk_names[b], total, done);
        json_object_set_new(o, "done", json_integer((json_int_t)done));
        json_object_set_new(o, "failed",
                            json_integer((json_int_t)(total - done)));
        json_object_set_new(o, "errors", fails);
        sq_api_json(r, 200, o);
        S->data_at_ms = 0;
    }
    json_decref(o);
    json_decref(ids);
    json_decref(body);
}

/* ---- a task's events ---------------------------------------------------- */

/* Fields kv[from, to) into `o` (later ones win), "t" as "at", "e" as
 * "event", "id" left out. */
static void
event_fields(json_t *o, const redisReply *kv, size_t from, size_t to)
{
    char buf[40];

    for (size_t i = from; i + 1 < to; i += 2) {
        const char *k = kv->element[i]->str;
        const char *v = kv->element[i + 1]->str;
        if (k == NULL || v == NULL || strcmp(k, "id") == 0) {
            continue;
        }
        if (strcmp(k, "t") == 0) {
            json_object_set_new(o, "at", json_string(sq_time_format_iso8601_ms(
                                             strtoll(v, NULL, 10), buf,
                                             sizeof buf)));
        } else if (strcmp(k, "e") == 0) {
            json_object_set_new(o, "event", json_string(v));
        } else {
            json_object_set_new(o, k, json_string(v));
        }
    }
}

/* One stream entry [id, [k, v, ...]] as {at, event, ...} of task `tid`
 * (an entry may be about several tasks: broker_event.c), or NULL. */
static json_t *
event_json(const redisReply *ent, const char *tid)
{
    struct sq_event te;
    json_t *o;

    if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
        ent->element[1]->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }
    for (bool more = sq_event_first(ent->element[1], &te); more;
         more = sq_event_next(&te)) {
        if (te.id == NULL || strcmp(te.id, tid) != 0) {
            continue;
        }
        o = json_object();
        /* the entry's head, the first task's fields, then its own */
        event_fields(o, te.kv, 0, te.first_from);
        if (te.from != te.first_from) {
            event_fields(o, te.kv, te.first_from, te.first_to);
        }
        event_fields(o, te.kv, te.from, te.to);
        return o;
    }
    return NULL;
}

void
sq_api_h_events(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    syncq_client *c = sq_api_client(S, r);
    char key[300];
    redisReply *x = NULL;
    syncq_error e;
    json_t *evs, *o;
    size_t scanned = 0;

    if (c == NULL) {
        return;
    }
    if (sq_client_cmd(c, &x, &e, "XREVRANGE %s + - COUNT %d",
                      sq_key(c, key, sizeof key, "events"),
                      EVENTS_SCAN) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    evs = json_array();
    for (size_t i = x->type == REDIS_REPLY_ARRAY ? x->elements : 0; i > 0;
         i--) {
        json_t *ev = event_json(x->element[i - 1], q->rt->arg);
        scanned++;
        if (ev != NULL) {
            json_array_append_new(evs, ev);
        }
    }
    freeReplyObject(x);
    o = json_pack("{s:s,s:o,s:I,s:I}", "id", q->rt->arg, "events", evs,
                  "scanned", (json_int_t)scanned, "scan_max",
                  (json_int_t)EVENTS_SCAN);
    sq_api_json(r, 200, o);
    json_decref(o);
}
