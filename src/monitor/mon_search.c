/* SPDX-License-Identifier: MIT
 *
 * mon_search.c: the task browser's search (mon_search.h): filter
 * parsing, the scan of the sources Redis keeps, de-duplication, paging.
 */
#include "monitor/mon_search.h"
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_task.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>

#define PAGE 500
#define ROWS_MAX 500

void
sq_search_init(struct sq_search *s)
{
    memset(s, 0, sizeof *s);
    s->limit = 50;
    s->scan_max = 200000;
}

/* 1..cap-1 bytes of [A-Za-z0-9_.:-] */
static bool
id_like(const char *v, size_t cap)
{
    size_t n = strlen(v);

    if (n == 0 || n >= cap) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
              c == ':')) {
            return false;
        }
    }
    return true;
}

static int
set_id(char *dst, size_t cap, const char *key, const char *v,
       syncq_error *err)
{
    if (!id_like(v, cap)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s must be 1..%zu characters of A-Z a-z 0-9 _ . : "
                       "-",
                       key, cap - 1);
    }
    snprintf(dst, cap, "%s", v);
    return SYNCQ_OK;
}

static int
set_num(size_t *dst, const char *key, const char *v, long lo, long hi,
        syncq_error *err)
{
    char *end;
    long n;

    if (v[0] < '0' || v[0] > '9' || strlen(v) > 9) {
        return sq_fail(err, SYNCQ_EINVAL, "%s must be %ld..%ld", key, lo, hi);
    }
    n = strtol(v, &end, 10);
    if (*end != '\0' || n < lo || n > hi) {
        return sq_fail(err, SYNCQ_EINVAL, "%s must be %ld..%ld", key, lo, hi);
    }
    *dst = (size_t)n;
    return SYNCQ_OK;
}

static int
set_time(int64_t *dst, const char *key, const char *v, syncq_error *err)
{
    int64_t ms;

    if (sq_time_parse_iso8601(v, &ms, err) != SYNCQ_OK) {
        sq_error_prefix(err, key);
        return SYNCQ_EINVAL;
    }
    *dst = ms > 0 ? ms : 1;
    return SYNCQ_OK;
}

int
sq_search_set(struct sq_search *s, const char *key, const char *v,
              syncq_error *err)
{
    if (v == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "%s needs a value", key);
    }
    if (strcmp(key, "state") == 0) {
        if (sq_task_state_parse(v) < 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "state: unknown state '%.32s' (PENDING RECEIVED "
                           "STARTED PROGRESS RETRY SUCCESS FAILURE REVOKED "
                           "EXPIRED SKIPPED DEAD)",
                           v);
        }
        snprintf(s->state, sizeof s->state, "%s", v);
    } else if (strcmp(key, "queue") == 0) {
        if (syncq_queue_name_check(v, err) != SYNCQ_OK) {
            sq_error_prefix(err, "queue");
            return SYNCQ_EINVAL;
        }
        snprintf(s->queue, sizeof s->queue, "%s", v);
    } else if (strcmp(key, "name") == 0) {
        return set_id(s->name, sizeof s->name, key, v, err);
    } else if (strcmp(key, "id") == 0) {
        return set_id(s->id_prefix, sizeof s->id_prefix, key, v, err);
    } else if (strcmp(key, "worker") == 0) {
        return set_id(s->worker, sizeof s->worker, key, v, err);
    } else if (strcmp(key, "batch") == 0) {
        return set_id(s->batch, sizeof s->batch, key, v, err);
    } else if (strcmp(key, "root") == 0) {
        return set_id(s->root, sizeof s->root, key, v, err);
    } else if (strcmp(key, "parent") == 0) {
        return set_id(s->parent, sizeof s->parent, key, v, err);
    } else if (strcmp(key, "error") == 0) {
        if (syncq_error_class_parse(v) < 0) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "error: unknown error class '%.32s' (network "
                           "timeout rate_limited http_5xx parse validation "
                           "not_found auth internal ...)",
                           v);
        }
        snprintf(s->error, sizeof s->error, "%s", v);
    } else if (strcmp(key, "since") == 0) {
        return set_time(&s->since_ms, key, v, err);
    } else if (strcmp(key, "until") == 0) {
        return set_time(&s->until_ms, key, v, err);
    } else if (strcmp(key, "limit") == 0) {
        return set_num(&s->limit, key, v, 1, ROWS_MAX, err);
    } else if (strcmp(key, "offset") == 0) {
        return set_num(&s->offset, key, v, 0, 1000000, err);
    } else if (strcmp(key, "total") == 0) {
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
            return sq_fail(err, SYNCQ_EINVAL, "total must be 0 or 1");
        }
        s->page_only = v[0] == '0';
    } else {
        return sq_fail(err, SYNCQ_EINVAL,
                       "unknown filter '%.40s' (state queue name id worker "
                       "batch root parent error since until limit offset "
                       "total)",
                       key);
    }
    return SYNCQ_OK;
}

json_t *
sq_search_json(const struct sq_search *s)
{
    json_t *o = json_object();
    char buf[40];
    const struct {
        const char *k, *v;
    } f[] = {{"state", s->state},   {"queue", s->queue},
             {"name", s->name},     {"id", s->id_prefix},
             {"worker", s->worker}, {"batch", s->batch},
             {"root", s->root},     {"parent", s->parent},
             {"error", s->error}};

    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].v[0] != '\0') {
            json_object_set_new(o, f[i].k, json_string(f[i].v));
        }
    }
    if (s->since_ms > 0) {
        json_object_set_new(o, "since", json_string(sq_time_format_iso8601_ms(
                                            s->since_ms, buf, sizeof buf)));
    }
    if (s->until_ms > 0) {
        json_object_set_new(o, "until", json_string(sq_time_format_iso8601_ms(
                                            s->until_ms, buf, sizeof buf)));
    }
    return o;
}

/* ---- de-duplication: a set of 64-bit id hashes ------------------------ */

struct seen {
    uint64_t *h;
    size_t cap, n;
};

static uint64_t
fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h != 0 ? h : 1;
}

/* true when `id` was not seen before (and is now) */
static bool
seen_add(struct seen *S, const char *id)
{
    uint64_t h = fnv(id);
    size_t i;

    if (S->n * 2 >= S->cap) {
        size_t nc = S->cap ? S->cap * 2 : 1024;
        uint64_t *nh = sq_calloc(nc, sizeof *nh);
        if (nh == NULL) {
            return true; /* out of memory: count it, do not crash */
        }
        for (size_t k = 0; k < S->cap; k++) {
            if (S->h[k] != 0) {
                size_t j = S->h[k] & (nc - 1);
                while (nh[j] != 0) {
                    j = (j + 1) & (nc - 1);
                }
                nh[j] = S->h[k];
            }
        }
        sq_free(S->h);
        S->h = nh;
        S->cap = nc;
    }
    for (i = h & (S->cap - 1); S->h[i] != 0; i = (i + 1) & (S->cap - 1)) {
        if (S->h[i] == h) {
            return false;
        }
    }
    S->h[i] = h;
    S->n++;
    return true;
}

/* ---- the scan --------------------------------------------------------- */

enum { F_STATE, F_QUEUE, F_NAME, F_WORKER, F_BATCH, F_ROOT, F_PARENT,
       F_ERR, F_CT, F_RAN_BY, F__N };
static const char *const fields[F__N] = {"state", "queue", "name",
                                         "worker", "batch", "root",
                                         "parent", "err_class", "ct",
                                         "ran_by"};

struct scan {
    syncq_client *c;
    const struct sq_search *s;
    struct seen seen;
    size_t total, scanned;
    bool truncated;
    bool stop;         /* page_only and the page is full */
    json_t *page_ids;  /* ids of the rows to return */
    json_t *all_ids;   /* every match (bulk), or NULL */
};

static bool
field_is(const redisReply *v, const char *want)
{
    return want[0] == '\0' ||
           (v->type == REDIS_REPLY_STRING && strcmp(v->str, want) == 0);
}

/* Does the HMGET reply `r` of task `id` match the filter? */
static bool
matches(const struct sq_search *s, const char *id, const redisReply *r)
{
    const redisReply *const *f;
    int64_t ct;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != F__N) {
        return false;
    }
    f = (const redisReply *const *)r->element;
    if (f[F_STATE]->type != REDIS_REPLY_STRING) {
        return false; /* the record expired between the list and now */
    }
    if (s->id_prefix[0] != '\0' &&
        strncmp(id, s->id_prefix, strlen(s->id_prefix)) != 0) {
        return false;
    }
    if (!field_is(f[F_STATE], s->state) || !field_is(f[F_QUEUE], s->queue) ||
        !field_is(f[F_NAME], s->name) ||
        /* the worker holding it now, or the last one that ran it */
        !(field_is(f[F_WORKER], s->worker) ||
          field_is(f[F_RAN_BY], s->worker)) ||
        !field_is(f[F_BATCH], s->batch) || !field_is(f[F_ROOT], s->root) ||
        !field_is(f[F_PARENT], s->parent) || !field_is(f[F_ERR], s->error)) {
        return false;
    }
    ct = f[F_CT]->type == REDIS_REPLY_STRING ? strtoll(f[F_CT]->str, NULL, 10)
                                             : 0;
    if ((s->since_ms > 0 && ct < s->since_ms) ||
        (s->until_ms > 0 && ct >= s->until_ms)) {
        return false;
    }
    return true;
}

/* Check one page of ids (HMGET pipelined). */
static int
consider(struct scan *S, redisReply **ids, size_t n, syncq_error *err)
{
    char key[300];
    int rc = SYNCQ_OK;

    for (size_t i = 0; i < n; i++) {
        if (ids[i]->type != REDIS_REPLY_STRING) {
            continue;
        }
        sq_key(S->c, key, sizeof key, "t:%s", ids[i]->str);
        sq_conn_append(S->c, "HMGET %s %s %s %s %s %s %s %s %s %s %s", key,
                       fields[0], fields[1], fields[2], fields[3], fields[4],
                       fields[5], fields[6], fields[7], fields[8], fields[9]);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        const char *id = ids[i]->str;
        if (ids[i]->type != REDIS_REPLY_STRING) {
            continue;
        }
        rc = sq_client_read_reply(S->c, &r, err);
        if (rc != SYNCQ_OK) {
            /* the rest of the pipeline is lost with the connection */
            return rc;
        }
        S->scanned++;
        if (!S->stop && matches(S->s, id, r) && seen_add(&S->seen, id)) {
            if (S->total >= S->s->offset &&
                json_array_size(S->page_ids) < S->s->limit) {
                json_array_append_new(S->page_ids, json_string(id));
            }
            if (S->all_ids != NULL &&
                json_array_size(S->all_ids) < S->s->ids_max) {
                json_array_append_new(S->all_ids, json_string(id));
            }
            S->total++;
            if (S->s->page_only && S->s->limit > 0 &&
                json_array_size(S->page_ids) >= S->s->limit) {
                S->stop = true; /* the rest of this page is only read */
            }
        }
        freeReplyObject(r);
    }
    return SYNCQ_OK;
}

/* Scan one source (a list or a sorted set) in pages. */
static int
scan_source(struct scan *S, const char *cmd, const char *key,
            syncq_error *err)
{
    for (long start = 0;; start += PAGE) {
        redisReply *r = NULL;
        size_t got;
        int rc;
        if (S->stop || S->scanned >= S->s->scan_max) {
            S->truncated = true;
            return SYNCQ_OK;
        }
        rc = sq_client_cmd(S->c, &r, err, "%s %s %ld %ld", cmd, key, start,
                           start + PAGE - 1);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            return SYNCQ_OK;
        }
        rc = consider(S, r->element, r->elements, err);
        got = r->elements;
        freeReplyObject(r);
        if (rc != SYNCQ_OK || got < PAGE) {
            return rc;
        }
    }
}

/* The ready lists of every queue (or of the filter's queue). */
static int
scan_ready(struct scan *S, syncq_error *err)
{
    char key[300];
    redisReply *qs = NULL;
    int rc = sq_client_cmd(S->c, &qs, err, "SMEMBERS %s",
                           sq_key(S->c, key, sizeof key, "queues"));

    for (size_t i = 0; rc == SYNCQ_OK && qs != NULL &&
                       qs->type == REDIS_REPLY_ARRAY && i < qs->elements;
         i++) {
        const char *q = qs->element[i]->str;
        if (S->s->queue[0] != '\0' && strcmp(S->s->queue, q) != 0) {
            continue;
        }
        for (int pri = 10; pri >= 0 && rc == SYNCQ_OK; pri--) {
            rc = scan_source(S, "LRANGE",
                             sq_key(S->c, key, sizeof key, "q:%s:%d", q, pri),
                             err);
        }
    }
    freeReplyObject(qs);
    return rc;
}

/* Read the page's records whole, in order. */
static int
read_rows(struct scan *S, json_t *rows, syncq_error *err)
{
    char key[300];
    size_t i;
    json_t *v;

    json_array_foreach(S->page_ids, i, v) {
        sq_key(S->c, key, sizeof key, "t:%s", json_string_value(v));
        sq_conn_append(S->c, "HGETALL %s", key);
    }
    json_array_foreach(S->page_ids, i, v) {
        redisReply *r = NULL;
        int rc = sq_client_read_reply(S->c, &r, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
            json_t *t = sq_record_to_json(json_string_value(v), r->element,
                                          r->elements,
                                          S->c->result_expires_ms);
            if (t != NULL) {
                json_array_append_new(rows, t);
            }
        }
        freeReplyObject(r);
    }
    return SYNCQ_OK;
}

/* Which sources can hold tasks in state `st` ("" any). */
static void
sources_of(const char *st, bool *active, bool *ready, bool *delayed,
           bool *recent, bool *dead)
{
    bool any = st[0] == '\0';

    *active = any || !strcmp(st, "RECEIVED") || !strcmp(st, "STARTED") ||
              !strcmp(st, "PROGRESS");
    *ready = any || !strcmp(st, "PENDING");
    *delayed = *ready || !strcmp(st, "RETRY");
    *recent = any || (sq_state_is_final(st) && strcmp(st, "DEAD") != 0);
    /* the DLQ holds DEAD tasks and FAILURE ones dead-lettered by their
     * retry policy */
    *dead = any || !strcmp(st, "DEAD") || !strcmp(st, "FAILURE");
}

int
sq_search_run(syncq_client *c, const struct sq_search *s, json_t **rows,
              json_t **ids, size_t *total, size_t *scanned, bool *truncated,
              syncq_error *err)
{
    struct scan S;
    char key[300];
    bool active, ready, delayed, recent, dead;
    int rc = SYNCQ_OK;

    memset(&S, 0, sizeof S);
    S.c = c;
    S.s = s;
    S.page_ids = json_array();
    S.all_ids = ids != NULL ? json_array() : NULL;
    if (rows != NULL) {
        *rows = NULL;
    }
    if (ids != NULL) {
        *ids = NULL;
    }
    sources_of(s->state, &active, &ready, &delayed, &recent, &dead);
    if (strlen(s->id_prefix) == 36) {
        /* a whole id: its record alone, not a scan */
        redisReply one, *p1 = &one;
        memset(&one, 0, sizeof one);
        one.type = REDIS_REPLY_STRING;
        one.str = (char *)s->id_prefix;
        one.len = 36;
        rc = consider(&S, &p1, 1, err);
        active = ready = delayed = recent = dead = false;
    }
    if (rc == SYNCQ_OK && active) {
        rc = scan_source(&S, "ZRANGE", sq_key(c, key, sizeof key, "active"),
                         err);
    }
    if (rc == SYNCQ_OK && ready) {
        rc = scan_ready(&S, err);
    }
    if (rc == SYNCQ_OK && delayed) {
        rc = scan_source(&S, "ZRANGE", sq_key(c, key, sizeof key, "delayed"),
                         err);
    }
    if (rc == SYNCQ_OK && recent) {
        rc = scan_source(&S, "LRANGE", sq_key(c, key, sizeof key, "recent"),
                         err);
    }
    if (rc == SYNCQ_OK && dead) {
        rc = scan_source(&S, "ZREVRANGE", sq_key(c, key, sizeof key, "dlq"),
                         err);
    }
    if (rc == SYNCQ_OK && rows != NULL) {
        *rows = json_array();
        rc = read_rows(&S, *rows, err);
        if (rc != SYNCQ_OK) {
            json_decref(*rows);
            *rows = NULL;
        }
    }
    if (rc == SYNCQ_OK && ids != NULL) {
        *ids = S.all_ids;
        S.all_ids = NULL;
    }
    *total = S.total;
    *scanned = S.scanned;
    *truncated = S.truncated;
    json_decref(S.page_ids);
    json_decref(S.all_ids);
    sq_free(S.seen.h);
    return rc;
}
