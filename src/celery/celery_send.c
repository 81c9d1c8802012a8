/* SPDX-License-Identifier: MIT
 *
 * celery_send.c: syncq/celery.h, the producer side of the Celery wire:
 * publish a protocol 2 message a Python `celery worker` runs, read and
 * wait for a Celery result. The message itself is built by the codec
 * (celery_message.c); this file checks the options and does the Redis
 * round trips as Celery's producer does (docs/celery-wire.md section 3).
 */
#include "celery/celery.h"
#include "celery/celery_message.h"
#include "broker/broker.h"
#include "broker/broker_task_args.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_task.h"
#include "core/sq_time.h"

#include <syncq/celery.h>

#include <stdio.h>
#include <string.h>

#define DEFAULT_QUEUE "celery"

/* Options a Celery message cannot carry are refused, not dropped. */
static int
check_opts(const syncq_task_options *o, syncq_error *err)
{
    if (o->max_retries >= 0 || o->unique_key != NULL ||
        o->retry_policy_json != NULL || o->batch_id != NULL ||
        o->result_expires_ms > 0 || o->unique_ttl_ms > 0) {
        return sq_fail(err, SYNCQ_EINVAL, "a Celery message cannot carry "
                       "max_retries, unique keys, retry policies, batches or "
                       "result expiry (the Python task decides them)");
    }
    if (o->countdown_ms >= 0 && o->eta_ms > 0) {
        return sq_fail(err, SYNCQ_EINVAL, "give a countdown or an eta, not "
                       "both");
    }
    if (sq_task_eta_check(o->eta_ms, o->countdown_ms, sq_now_ms(), err) !=
        SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    if (o->expires_ms > 0 && o->expires_in_ms > 0) {
        return sq_fail(err, SYNCQ_EINVAL, "give expires or expires_in, not "
                       "both");
    }
    if (o->priority > 10) {
        return sq_fail(err, SYNCQ_EINVAL, "priority %d out of range 0..10",
                       o->priority);
    }
    if (o->task_id != NULL && !sq_uuid_valid(o->task_id)) {
        return sq_fail(err, SYNCQ_EINVAL, "task id '%.60s' is not a UUID",
                       o->task_id);
    }
    if (o->queue != NULL && syncq_queue_name_check(o->queue, err) !=
                                SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    return SYNCQ_OK;
}

static int
load_json(const char *what, const char *text, bool array, json_t **out,
          syncq_error *err)
{
    json_error_t jerr;

    *out = NULL;
    if (text == NULL) {
        return SYNCQ_OK;
    }
    *out = json_loads(text, 0, &jerr);
    if (*out == NULL || (array ? !json_is_array(*out)
                               : !json_is_object(*out))) {
        json_decref(*out);
        *out = NULL;
        return sq_fail(err, SYNCQ_EINVAL, "%s must be a JSON %s", what,
                       array ? "array" : "object");
    }
    return SYNCQ_OK;
}

/* A name syncq can run (one syncq_task_name_normalize accepts) is
 * checked against its declaration, as every syncq producer is: a syncq
 * worker --celery would dead-letter the message (celery_bad_task), and
 * the seed's Python tasks take the arguments syncq declares. A Python
 * name syncq does not know has no declaration and passes. */
static int
check_declared(syncq_client *c, const char *name, json_t *args,
               json_t *kwargs, syncq_error *err)
{
    char norm[256];

    if (syncq_task_name_normalize(name, norm, sizeof norm, NULL) !=
        SYNCQ_OK) {
        return SYNCQ_OK;
    }
    return sq_task_args_check_json(c, norm, args, kwargs, NULL, err);
}

/* LPUSH to the priority-step list after kombu's binding SADD. */
static int
publish(syncq_client *c, const char *queue, int celery_pri,
        const int *steps, size_t nsteps, const char *msg, syncq_error *err)
{
    static const int kombu_steps[] = {0, 3, 6, 9};
    char key[160], bkey[160], row[400];
    struct sq_rcmd cmd[2];
    redisReply *r[2] = {NULL, NULL};
    int rc;

    if (steps == NULL) {
        steps = kombu_steps;
        nsteps = 4;
    }
    sq_celery_queue_key(queue, celery_pri, steps, nsteps, key, sizeof key);
    snprintf(bkey, sizeof bkey, "_kombu.binding.%s", queue);
    snprintf(row, sizeof row, "%s" SQ_CELERY_SEP SQ_CELERY_SEP "%s", queue,
             queue);
    sq_rcmd_set(&cmd[0], "SADD", bkey, row, NULL);
    sq_rcmd_set(&cmd[1], "LPUSH", key, msg, NULL);
    rc = sq_celery_pipeline(c, false, cmd, 2, r, err);
    if (rc == SYNCQ_OK && r[1]->type == REDIS_REPLY_ERROR) {
        rc = sq_fail(err, SYNCQ_EPROTO, "LPUSH %s: %s", queue, r[1]->str);
    }
    freeReplyObject(r[0]);
    freeReplyObject(r[1]);
    return rc;
}

int
sq_celery_publish_out(syncq_client *c, const struct sq_celery_out *out,
                      const int *steps, size_t nsteps, char id_out[201],
                      syncq_error *err)
{
    const char *queue = out->queue != NULL ? out->queue : DEFAULT_QUEUE;
    char *msg = NULL;
    int rc = sq_celery_msg_encode(out, &msg, id_out, err);

    if (rc == SYNCQ_OK && (int64_t)strlen(msg) > c->max_payload) {
        rc = sq_fail(err, SYNCQ_ETOOBIG, "Celery message is %zu bytes, "
                     "limit %lld (SYNCQ_MAX_PAYLOAD)", strlen(msg),
                     (long long)c->max_payload);
    }
    if (rc == SYNCQ_OK) {
        rc = publish(c, queue, out->priority, steps, nsteps, msg, err);
    }
    sq_free(msg);
    return rc;
}

int
syncq_celery_send(syncq_client *c, const char *name, const char *args_json,
                  const char *kwargs_json, const syncq_task_options *opts,
                  char id_out[SYNCQ_ID_SIZE], syncq_error *err)
{
    syncq_task_options defaults;
    struct sq_celery_out out;
    char id[201];
    int64_t now = sq_now_ms();
    int rc;

    if (opts == NULL) {
        syncq_task_options_init(&defaults);
        opts = &defaults;
    }
    rc = check_opts(opts, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    memset(&out, 0, sizeof out);
    out.task = name;
    out.id = opts->task_id;
    out.queue = opts->queue != NULL ? opts->queue : DEFAULT_QUEUE;
    out.priority = opts->priority >= 0
                       ? sq_celery_priority_from_syncq(opts->priority)
                       : 0;
    out.eta_ms = opts->eta_ms > 0 ? opts->eta_ms
                 : opts->countdown_ms >= 0 ? now + opts->countdown_ms
                                           : 0;
    out.expires_ms = opts->expires_ms > 0      ? opts->expires_ms
                     : opts->expires_in_ms > 0 ? now + opts->expires_in_ms
                                               : 0;
    out.time_limit_ms = opts->time_limit_ms;
    out.soft_time_limit_ms = opts->soft_time_limit_ms;
    out.parent_id = opts->parent_id;
    out.root_id = opts->root_id;
    rc = load_json("args", args_json, true, &out.args, err);
    if (rc == SYNCQ_OK) {
        rc = load_json("kwargs", kwargs_json, false, &out.kwargs, err);
    }
    if (rc == SYNCQ_OK) {
        rc = check_declared(c, name, out.args, out.kwargs, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_celery_publish_out(c, &out, NULL, 0, id, err);
    }
    if (rc == SYNCQ_OK) {
        snprintf(id_out, SYNCQ_ID_SIZE, "%s", id);
    }
    json_decref(out.args);
    json_decref(out.kwargs);
    return rc;
}

int
syncq_celery_result(syncq_client *c, const char *id, json_t **out,
                    syncq_error *err)
{
    char key[256];
    struct sq_rcmd cmd;
    redisReply *r = NULL;
    int rc;

    *out = NULL;
    if (id == NULL || id[0] == '\0' || strlen(id) > 200) {
        return sq_fail(err, SYNCQ_EINVAL, "task id must be 1..200 bytes");
    }
    snprintf(key, sizeof key, "celery-task-meta-%s", id);
    sq_rcmd_set(&cmd, "GET", key, NULL);
    rc = sq_celery_pipeline(c, false, &cmd, 1, &r, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type == REDIS_REPLY_STRING) {
        rc = sq_celery_meta_parse(id, r->str, r->len, out, err);
    } else if (r->type == REDIS_REPLY_NIL) {
        rc = sq_fail(err, SYNCQ_ENOTFOUND, "no task %.60s (nor a Celery "
                     "result of that id)", id);
    } else {
        rc = sq_fail(err, SYNCQ_EPROTO, "GET %s: unexpected reply", key);
    }
    freeReplyObject(r);
    return rc;
}

int
syncq_celery_info(syncq_client *c, const char *id, json_t **out,
                  syncq_error *err)
{
    int rc = syncq_task_info(c, id, out, err);

    if (rc == SYNCQ_ENOTFOUND || rc == SYNCQ_EINVAL) {
        int rc2 = syncq_celery_result(c, id, out, err);
        if (rc2 != SYNCQ_ENOTFOUND || rc == SYNCQ_ENOTFOUND) {
            rc = rc2; /* a Celery id need not be a UUID */
        }
    }
    return rc;
}

int
syncq_celery_wait(syncq_client *c, const char *id, int64_t timeout_ms,
                  json_t **out, syncq_error *err)
{
    int64_t start = sq_mono_ms(), pause = 5;
    json_t *last = NULL;
    int rc;

    for (;;) {
        json_t *t = NULL;
        rc = syncq_celery_result(c, id, &t, err);
        if (rc == SYNCQ_OK) {
            json_decref(last);
            last = t;
            if (sq_celery_status_ready(json_string_value(
                    json_object_get(t, "state")))) {
                break;
            }
        } else if (rc != SYNCQ_ENOTFOUND && rc != SYNCQ_ECONN) {
            break;
        }
        if (timeout_ms >= 0 && sq_mono_ms() - start >= timeout_ms) {
            if (rc != SYNCQ_ECONN) {
                rc = sq_fail(err, SYNCQ_ETIMEDOUT, "Celery task %.60s not "
                             "ready after %lld ms", id,
                             (long long)timeout_ms);
            }
            if (last == NULL) {
                last = json_pack("{s:s,s:s,s:s}", "id", id, "state",
                                 "PENDING", "origin", "celery");
            }
            break;
        }
        sq_sleep_ms(pause);
        pause = pause * 2 > 200 ? 200 : pause * 2;
    }
    if (out != NULL) {
        *out = last;
    } else {
        json_decref(last);
    }
    return rc;
}
