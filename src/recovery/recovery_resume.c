/* SPDX-License-Identifier: MIT
 *
 * recovery_resume.c: resume strategies and the dead-letter queue
 * (syncq/recovery.h). Every change is one call of lua/resume.lua or
 * lua/dead_purge.lua, so a task is never half-moved; this file resolves
 * "auto" (which needs the client-side checksum check of checkpoints),
 * turns refusals into clear messages and pages through the DLQ.
 *
 * Relies on the broker's client, script runner and record decoder. Never
 * deletes or requeues anything without being asked by name or by an
 * explicit "all"/age.
 */
#include "recovery/recovery.h"
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syncq/recovery.h>

#define REQUEUE_CHUNK 100
#define PURGE_CHUNK 1000
#define LIST_PAGE 500

static const char *strategy_names[SYNCQ_RESUME__COUNT] = {
    "auto", "retry", "resume", "restart", "skip", "manual"};

const char *
syncq_resume_strategy_name(int strategy)
{
    if (strategy < 0 || strategy >= SYNCQ_RESUME__COUNT) {
        return "unknown";
    }
    return strategy_names[strategy];
}

int
syncq_resume_strategy_parse(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    for (int i = 0; i < SYNCQ_RESUME__COUNT; i++) {
        if (strcasecmp(name, strategy_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int
check_id(const char *id, syncq_error *err)
{
    if (id == NULL || id[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "task id is empty");
    }
    if (strlen(id) > 64) {
        return sq_fail(err, SYNCQ_EINVAL, "task id is over 64 bytes");
    }
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "task id contains a space or control character");
        }
    }
    return SYNCQ_OK;
}

/* A "who" value for the record: printable, at most 100 bytes. */
static int
check_who(const char *who, syncq_error *err)
{
    if (strlen(who) == 0 || strlen(who) > 100) {
        return sq_fail(err, SYNCQ_EINVAL, "who must be 1..100 bytes");
    }
    for (const unsigned char *p = (const unsigned char *)who; *p; p++) {
        if (*p < ' ' || *p == 0x7f) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "who contains a control character");
        }
    }
    return SYNCQ_OK;
}

/* One resume.lua call for `n` ids. *reply: the flat status array. */
static int
call_resume(syncq_client *c, const char *strategy, const char *who,
            const char *queue, bool only_dead, int64_t seq,
            const char *const *ids, size_t n, redisReply **reply,
            syncq_error *err)
{
    struct sq_args a;
    int rc;

    sq_args_init(&a);
    sq_args_add(&a, strategy);
    sq_args_add(&a, who);
    sq_args_add(&a, queue != NULL ? queue : "");
    sq_args_add(&a, only_dead ? "1" : "0");
    if (seq >= 0) {
        sq_args_addll(&a, (long long)seq);
    } else {
        sq_args_add(&a, "");
    }
    sq_args_addll(&a, (long long)n);
    for (size_t i = 0; i < n; i++) {
        sq_args_add(&a, ids[i]);
    }
    rc = sq_script_call(c, SQ_SCRIPT_RESUME, &a, reply, err);
    sq_args_cleanup(&a);
    if (rc == SYNCQ_OK && ((*reply)->type != REDIS_REPLY_ARRAY ||
                           (*reply)->elements != 2 * n)) {
        freeReplyObject(*reply);
        *reply = NULL;
        rc = sq_fail(err, SYNCQ_EPROTO, "resume.lua: unexpected reply");
    }
    return rc;
}

static const char *
str_at(const redisReply *r, size_t i)
{
    if (i < r->elements && r->element[i]->type == REDIS_REPLY_STRING) {
        return r->element[i]->str;
    }
    return "";
}

/* A refusal status of resume.lua as an error with advice. */
static int
refusal(const char *status, const char *id, const char *state,
        const char *worker, int strategy, syncq_error *err)
{
    if (strcmp(status, "unknown") == 0) {
        return sq_fail(err, SYNCQ_ENOTFOUND,
                       "no task %s (unknown id, or its record expired)", id);
    }
    if (strcmp(status, "running") == 0) {
        return sq_fail(err, SYNCQ_ESTATE,
                       "task %s is running (%s%s%s): wait for it to end, or "
                       "cancel it first (syncq task cancel %s)",
                       id, state, worker[0] ? " on worker " : "", worker, id);
    }
    if (strcmp(status, "succeeded") == 0) {
        /* the verb of the strategy asked for: a retry (HTTP .../retry)
         * is refused as a retry, not as a resume */
        return sq_fail(err, SYNCQ_ESTATE,
                       "task %s already succeeded; there is nothing to "
                       "%s (create a new task to run it again)",
                       id, strategy == SYNCQ_RESUME_RETRY     ? "retry"
                           : strategy == SYNCQ_RESUME_RESTART ? "restart"
                           : strategy == SYNCQ_RESUME_SKIP    ? "skip"
                           : strategy == SYNCQ_RESUME_MANUAL  ? "park"
                                                              : "resume");
    }
    if (strcmp(status, "skipped") == 0) {
        return sq_fail(err, SYNCQ_ESTATE,
                       "task %s was already skipped (marked done); create a "
                       "new task to run it",
                       id);
    }
    if (strcmp(status, "waiting") == 0) {
        return sq_fail(err, SYNCQ_ESTATE,
                       "task %s is already waiting to run (%s); strategy %s "
                       "would run it twice: use skip or manual to stop it, "
                       "or syncq task cancel",
                       id, state, syncq_resume_strategy_name(strategy));
    }
    if (strcmp(status, "not_dead") == 0) {
        return sq_fail(err, SYNCQ_ESTATE,
                       "task %s is not in the dead-letter queue (state %s); "
                       "use syncq recovery resume for other states",
                       id, state);
    }
    if (strcmp(status, "poison") == 0) {
        return sq_fail(err, SYNCQ_ESTATE,
                       "task %s is a poison entry (the queue held bytes that "
                       "were not a task): it cannot run; inspect it with "
                       "syncq task info %s and remove it with syncq "
                       "recovery dead purge %s",
                       id, id, id);
    }
    return sq_fail(err, SYNCQ_EPROTO, "resume.lua: unknown status %s",
                   status);
}

/* Current state and worker of a task (for the pre-check and messages). */
static int
peek_state(syncq_client *c, const char *id, char state[16],
           char worker[128], bool *is_poison, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    int rc;

    state[0] = '\0';
    worker[0] = '\0';
    sq_key(c, key, sizeof key, "t:%s", id);
    rc = sq_client_cmd(c, &r, err, "HMGET %s state worker name", key);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    snprintf(state, 16, "%s", str_at(r, 0));
    snprintf(worker, 128, "%s", str_at(r, 1));
    if (is_poison != NULL) {
        *is_poison = strcmp(str_at(r, 2), "(poison)") == 0;
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

static bool
is_running(const char *state)
{
    return strcmp(state, "RECEIVED") == 0 || strcmp(state, "STARTED") == 0 ||
           strcmp(state, "PROGRESS") == 0;
}

int
syncq_task_resume(syncq_client *c, const char *id, int strategy,
                  const syncq_resume_options *opts, syncq_resume_result *out,
                  syncq_error *err)
{
    const char *who = opts != NULL && opts->who != NULL ? opts->who : "api";
    const char *queue = opts != NULL ? opts->queue : NULL;
    char state[16], worker[128];
    int64_t seq = -1;
    redisReply *r = NULL;
    bool poison = false, runs;
    int rc;

    if (out != NULL) {
        out->strategy = strategy;
        out->prev_state[0] = '\0';
        out->checkpoint_seq = -1;
    }
    rc = check_id(id, err);
    if (rc == SYNCQ_OK) {
        rc = check_who(who, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (strategy < 0 || strategy >= SYNCQ_RESUME__COUNT) {
        return sq_fail(err, SYNCQ_EINVAL, "unknown resume strategy %d (auto, "
                       "retry, resume, restart, skip, manual)", strategy);
    }
    if (queue != NULL && syncq_queue_name_check(queue, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    /* Refuse early what the script would refuse (it checks again,
     * atomically), before the checkpoint check below touches anything. */
    rc = peek_state(c, id, state, worker, &poison, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    runs = strategy != SYNCQ_RESUME_SKIP && strategy != SYNCQ_RESUME_MANUAL;
    if (state[0] == '\0') {
        return refusal("unknown", id, state, worker, strategy, err);
    }
    if (is_running(state)) {
        return refusal("running", id, state, worker, strategy, err);
    }
    if (strcmp(state, "SUCCESS") == 0) {
        return refusal("succeeded", id, state, worker, strategy, err);
    }
    if (strcmp(state, "SKIPPED") == 0) {
        return refusal("skipped", id, state, worker, strategy, err);
    }
    if (runs && (strcmp(state, "PENDING") == 0 ||
                 strcmp(state, "RETRY") == 0)) {
        return refusal("waiting", id, state, worker, strategy, err);
    }
    if (runs && poison) {
        return refusal("poison", id, state, worker, strategy, err);
    }
    if (strategy == SYNCQ_RESUME_AUTO || strategy == SYNCQ_RESUME_RESUME) {
        void *data = NULL;
        size_t len = 0;
        syncq_error lerr;
        rc = sq_checkpoint_load(c, id, &data, &len, &seq, &lerr);
        sq_free(data);
        if (rc == SYNCQ_ENOTFOUND) {
            if (strategy == SYNCQ_RESUME_RESUME) {
                return sq_fail(err, SYNCQ_ENOTFOUND,
                               "task %s has no good checkpoint to resume "
                               "from; use --strategy retry (run as it was) "
                               "or restart (from zero)",
                               id);
            }
            strategy = SYNCQ_RESUME_RETRY;
            seq = -1;
        } else if (rc != SYNCQ_OK) {
            if (err != NULL) {
                *err = lerr;
            }
            return rc;
        } else {
            strategy = SYNCQ_RESUME_RESUME;
        }
    }
    rc = call_resume(c, strategy_names[strategy], who, queue, false, seq,
                     &id, 1, &r, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (out != NULL) {
        out->strategy = strategy;
        snprintf(out->prev_state, sizeof out->prev_state, "%s",
                 str_at(r, 1));
        out->checkpoint_seq = strategy == SYNCQ_RESUME_RESUME ? seq : -1;
    }
    if (strcmp(str_at(r, 0), "ok") != 0) {
        rc = refusal(str_at(r, 0), id, str_at(r, 1), worker, strategy, err);
    } else {
        SQ_INFO("task.resume", "id=%s strategy=%s from=%s by=%s seq=%lld",
                id, strategy_names[strategy], str_at(r, 1), who,
                (long long)seq);
    }
    freeReplyObject(r);
    return rc;
}

/* ---- dead letters ----------------------------------------------------- */

int
syncq_dead_requeue(syncq_client *c, const char *id, const char *queue,
                   const char *who, syncq_error *err)
{
    redisReply *r = NULL;
    int rc;

    if (who == NULL) {
        who = "api";
    }
    rc = check_id(id, err);
    if (rc == SYNCQ_OK) {
        rc = check_who(who, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (queue != NULL && syncq_queue_name_check(queue, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    rc = call_resume(c, "retry", who, queue, true, -1, &id, 1, &r, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (strcmp(str_at(r, 0), "ok") != 0) {
        rc = refusal(str_at(r, 0), id, str_at(r, 1), "", SYNCQ_RESUME_RETRY,
                     err);
    }
    freeReplyObject(r);
    return rc;
}

int
syncq_dead_requeue_all(syncq_client *c, const char *queue, const char *who,
                       size_t *requeued, size_t *left, syncq_error *err)
{
    char key[256];
    size_t done = 0, kept = 0, budget;
    long long offset = 0;
    redisReply *r = NULL;
    int rc;

    if (requeued != NULL) {
        *requeued = 0;
    }
    if (left != NULL) {
        *left = 0;
    }
    if (who == NULL) {
        who = "api";
    }
    rc = check_who(who, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (queue != NULL && syncq_queue_name_check(queue, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    sq_key(c, key, sizeof key, "dlq");
    rc = sq_client_cmd(c, &r, err, "ZCARD %s", key);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    /* Work through what is dead now; tasks dying meanwhile join the end
     * and may be taken too, but the loop never chases them forever. */
    budget = (size_t)(r->type == REDIS_REPLY_INTEGER ? r->integer : 0) +
             REQUEUE_CHUNK;
    freeReplyObject(r);
    while (done + kept < budget) {
        const char *ids[REQUEUE_CHUNK];
        redisReply *page = NULL, *res = NULL;
        size_t n;
        rc = sq_client_cmd(c, &page, err, "ZRANGE %s %lld %lld", key, offset,
                           offset + REQUEUE_CHUNK - 1);
        if (rc != SYNCQ_OK) {
            break;
        }
        n = page->type == REDIS_REPLY_ARRAY ? page->elements : 0;
        for (size_t i = 0; i < n; i++) {
            ids[i] = str_at(page, i);
        }
        if (n == 0) {
            freeReplyObject(page);
            break;
        }
        rc = call_resume(c, "retry", who, queue, true, -1, ids, n, &res,
                         err);
        freeReplyObject(page);
        if (rc != SYNCQ_OK) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(str_at(res, 2 * i), "ok") == 0) {
                done++;
            } else {
                /* a poison entry (stays), or an id whose record is gone
                 * or not dead: step over it */
                kept++;
                offset++;
            }
        }
        freeReplyObject(res);
    }
    if (requeued != NULL) {
        *requeued = done;
    }
    if (left != NULL) {
        redisReply *z = NULL;
        if (sq_client_cmd(c, &z, NULL, "ZCARD %s", key) == SYNCQ_OK) {
            *left = z->type == REDIS_REPLY_INTEGER ? (size_t)z->integer : 0;
            freeReplyObject(z);
        }
    }
    if (done > 0) {
        SQ_INFO("dead.requeue", "requeued=%zu kept=%zu by=%s", done, kept,
                who);
    }
    return rc;
}

static int
call_purge(syncq_client *c, struct sq_args *a, long long *purged,
           long long *skipped, syncq_error *err)
{
    redisReply *r = NULL;
    int rc = sq_script_call(c, SQ_SCRIPT_DEAD_PURGE, a, &r, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "dead_purge.lua: unexpected reply");
    }
    *purged = r->element[0]->integer;
    *skipped = r->element[1]->integer;
    freeReplyObject(r);
    return SYNCQ_OK;
}

int
syncq_dead_purge(syncq_client *c, int64_t older_than_ms, size_t *purged,
                 syncq_error *err)
{
    size_t total = 0;
    int rc = SYNCQ_OK;

    if (purged != NULL) {
        *purged = 0;
    }
    if (older_than_ms < 0) {
        return sq_fail(err, SYNCQ_EINVAL, "older-than must not be negative");
    }
    for (;;) {
        struct sq_args a;
        long long n = 0, skipped = 0;
        sq_args_init(&a);
        sq_args_add(&a, "older");
        sq_args_addll(&a, (long long)older_than_ms);
        sq_args_addll(&a, PURGE_CHUNK);
        rc = call_purge(c, &a, &n, &skipped, err);
        sq_args_cleanup(&a);
        if (rc != SYNCQ_OK) {
            break;
        }
        total += (size_t)n;
        if (n < PURGE_CHUNK) {
            break;
        }
    }
    if (purged != NULL) {
        *purged = total;
    }
    if (total > 0) {
        SQ_INFO("dead.purge", "purged=%zu older_than_ms=%lld", total,
                (long long)older_than_ms);
    }
    return rc;
}

int
syncq_dead_delete(syncq_client *c, const char *id, syncq_error *err)
{
    struct sq_args a;
    long long n = 0, skipped = 0;
    int rc = check_id(id, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_args_init(&a);
    sq_args_add(&a, "ids");
    sq_args_add(&a, "1");
    sq_args_add(&a, id);
    rc = call_purge(c, &a, &n, &skipped, err);
    sq_args_cleanup(&a);
    if (rc == SYNCQ_OK && n == 0) {
        char state[16], worker[128];
        rc = peek_state(c, id, state, worker, NULL, err);
        if (rc == SYNCQ_OK && state[0] == '\0') {
            rc = sq_fail(err, SYNCQ_ENOTFOUND, "no task %s (unknown id, or "
                         "its record expired)", id);
        } else if (rc == SYNCQ_OK) {
            rc = sq_fail(err, SYNCQ_ESTATE, "task %s is not in the "
                         "dead-letter queue (state %s); only dead records "
                         "are purged", id, state);
        }
    }
    return rc;
}

/* Does record `t` pass filter `f`? */
static bool
dead_matches(json_t *t, const syncq_dead_filter *f)
{
    const char *q = json_string_value(json_object_get(t, "queue"));
    const char *nm = json_string_value(json_object_get(t, "name"));
    const char *why = json_string_value(json_object_get(t, "dead_reason"));

    if (f == NULL) {
        return true;
    }
    if (f->queue != NULL && (q == NULL || strcmp(q, f->queue) != 0)) {
        return false;
    }
    if (f->name != NULL && (nm == NULL || strcmp(nm, f->name) != 0)) {
        return false;
    }
    if (f->reason != NULL) {
        size_t n = strlen(f->reason);
        if (why == NULL) {
            return false;
        }
        if (n > 0 && f->reason[n - 1] == ':') {
            return strncmp(why, f->reason, n) == 0;
        }
        return strcmp(why, f->reason) == 0;
    }
    return true;
}

int
syncq_dead_list(syncq_client *c, const syncq_dead_filter *f, json_t **out,
                size_t *total, syncq_error *err)
{
    size_t limit = f != NULL && f->limit > 0 ? f->limit : 100;
    size_t offset = f != NULL ? f->offset : 0;
    size_t skipped = 0;
    char key[256];
    json_t *arr;
    int rc = SYNCQ_OK;

    *out = NULL;
    if (total != NULL) {
        *total = 0;
    }
    arr = json_array();
    if (arr == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory listing dead tasks");
    }
    sq_key(c, key, sizeof key, "dlq");
    for (long start = 0; json_array_size(arr) < limit; start += LIST_PAGE) {
        redisReply *ids = NULL;
        rc = sq_client_cmd(c, &ids, err, "ZREVRANGE %s %ld %ld", key, start,
                           start + LIST_PAGE - 1);
        if (rc != SYNCQ_OK) {
            break;
        }
        if (ids->type != REDIS_REPLY_ARRAY || ids->elements == 0) {
            freeReplyObject(ids);
            break;
        }
        for (size_t i = 0; i < ids->elements; i++) {
            char tk[256];
            sq_key(c, tk, sizeof tk, "t:%s", str_at(ids, i));
            sq_conn_append(c, "HGETALL %s", tk);
        }
        for (size_t i = 0; i < ids->elements; i++) {
            redisReply *h = NULL;
            json_t *t;
            /* every pipelined reply is read, even after an error, so the
             * connection stays in step */
            int rrc = sq_client_read_reply(c, &h, rc == SYNCQ_OK ? err
                                                                 : NULL);
            if (rrc != SYNCQ_OK) {
                rc = rc == SYNCQ_OK ? rrc : rc;
                break; /* connection dropped: nothing left to read */
            }
            if (rc != SYNCQ_OK || h->type != REDIS_REPLY_ARRAY ||
                h->elements == 0) {
                freeReplyObject(h); /* purged meanwhile, or draining */
                continue;
            }
            t = sq_record_to_json(str_at(ids, i), h->element, h->elements,
                                  c->result_expires_ms);
            freeReplyObject(h);
            if (t == NULL) {
                rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory listing "
                             "dead tasks");
                continue;
            }
            if (!dead_matches(t, f) || json_array_size(arr) >= limit) {
                json_decref(t);
                continue;
            }
            if (skipped < offset) {
                skipped++;
                json_decref(t);
                continue;
            }
            json_array_append_new(arr, t);
        }
        freeReplyObject(ids);
        if (rc != SYNCQ_OK) {
            break;
        }
    }
    if (rc == SYNCQ_OK && total != NULL) {
        redisReply *z = NULL;
        rc = sq_client_cmd(c, &z, err, "ZCARD %s", key);
        if (rc == SYNCQ_OK) {
            *total = z->type == REDIS_REPLY_INTEGER ? (size_t)z->integer : 0;
            freeReplyObject(z);
        }
    }
    if (rc != SYNCQ_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return SYNCQ_OK;
}
