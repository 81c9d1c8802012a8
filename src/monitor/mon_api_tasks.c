/* SPDX-License-Identifier: MIT
 *
 * mon_api_tasks.c: the task endpoints that write (create one, many, a
 * batch; cancel; retry and resume; requeue a dead task) and the long poll
 * on a task. Creation goes through the spec module (mon_api_spec.c) and
 * so through the library's own create calls and their checks; a refused
 * request writes nothing. Creates honour an Idempotency-Key
 * (mon_api_idem.c).
 */
#include "monitor/mon_api_http.h"
#include "broker/broker.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "monitor/mon_api_spec.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/recovery.h>

#define WAIT_MAX_S 300
#define WAIT_DEFAULT_S 30

/* POST /api/tasks, /api/tasks/bulk, /api/batches. */
void
sq_api_h_create(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    json_t *body, *errs, *out = NULL;
    syncq_client *c;
    syncq_error e;
    int rc;

    body = sq_api_body(q, r);
    if (body == NULL) {
        return;
    }
    c = sq_api_client(S, r);
    if (c == NULL || sq_api_idem_before(S, q, body, r)) {
        json_decref(body);
        return;
    }
    errs = json_array();
    switch (q->rt->kind) {
    case SQ_R_TASKS_BULK: {
        const json_t *list = json_object_get(body, "tasks");
        if (json_object_size(body) != 1 || list == NULL) {
            json_t *o = json_pack("{s:s,s:s}", "field", "tasks", "message",
                                  "the body is {\"tasks\": [...]}");
            json_array_append_new(errs, o);
            rc = sq_fail(&e, SYNCQ_EINVAL, "tasks: the body is "
                                           "{\"tasks\": [...]}");
        } else {
            rc = sq_spec_tasks_create(c, list, errs, &out, &e);
        }
        break;
    }
    case SQ_R_BATCH_CREATE:
        rc = sq_spec_batch_create(c, body, errs, &out, &e);
        break;
    default:
        rc = sq_spec_task_create(c, body, errs, &out, &e);
        break;
    }
    if (rc != SYNCQ_OK) {
        sq_api_error(r, sq_api_status_of(rc), syncq_code_name(rc), e.msg,
                     errs);
    } else {
        sq_api_json(r, 201, out);
        if (q->rt->kind == SQ_R_TASK_CREATE) {
            snprintf(r->location, sizeof r->location, "/api/tasks/%s",
                     json_string_value(json_object_get(out, "id")));
        }
        S->data_at_ms = 0;
    }
    sq_api_idem_after(S, q, r);
    json_decref(out);
    json_decref(errs);
    json_decref(body);
}

/* GET /api/tasks/{id}/wait: polls without holding the server lock
 * between reads, so other requests go on while this one waits. Runs
 * with the lock held on entry and exit. */
void
sq_api_h_wait(struct sq_api_server *S, const struct sq_api_req *q,
              struct sq_api_reply *r)
{
    const char *ts = sq_api_arg(q, "timeout");
    double timeout_s = WAIT_DEFAULT_S;
    int64_t deadline, pause_ms = 5;
    json_t *t = NULL;
    syncq_error e;

    if (ts != NULL) {
        char *end;
        timeout_s = strtod(ts, &end);
        if (*end != '\0' || !(timeout_s >= 0 && timeout_s <= WAIT_MAX_S)) {
            sq_api_error(r, 400, "EINVAL", "timeout must be 0..300 seconds",
                         NULL);
            return;
        }
    }
    deadline = sq_mono_ms() + (int64_t)llround(timeout_s * 1000);
    for (;;) {
        syncq_client *c = sq_api_client(S, r);
        const char *st;
        if (c == NULL) {
            return;
        }
        if (syncq_task_info(c, q->rt->arg, &t, &e) != SYNCQ_OK) {
            sq_api_syncq_error(r, &e);
            return;
        }
        st = json_string_value(json_object_get(t, "state"));
        if (st != NULL && sq_state_is_final(st)) {
            sq_api_json(r, 200, t);
            break;
        }
        if (sq_mono_ms() >= deadline) {
            /* still running: 408 with the current record */
            json_t *o = json_pack("{s:s,s:s,s:O}", "error", "ETIMEDOUT",
                                  "message", "the task has not ended yet",
                                  "task", t);
            sq_api_json(r, 408, o);
            json_decref(o);
            break;
        }
        json_decref(t);
        t = NULL;
        pthread_mutex_unlock(&S->mu);
        sq_sleep_ms(pause_ms);
        pthread_mutex_lock(&S->mu);
        pause_ms = pause_ms * 2 > 100 ? 100 : pause_ms * 2;
    }
    json_decref(t);
}

void
sq_api_h_cancel(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    static const char *names[] = {"revoked", "requested", "final"};
    syncq_client *c = sq_api_client(S, r);
    const char *id = q->rt->arg;
    syncq_error e;
    int outcome = -1;
    char state[16] = "";
    const char *oc;
    json_t *o;

    if (c == NULL) {
        return;
    }
    if (syncq_task_revoke(c, id, "monitor", &outcome, state, &e) !=
        SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    oc = outcome >= 0 && outcome <= 2 ? names[outcome] : "unknown";
    SQ_INFO("monitor.cancel", "task=%s outcome=%s", id, oc);
    o = json_pack("{s:s,s:s,s:s}", "id", id, "outcome", oc, "state", state);
    sq_api_json(r, 200, o);
    json_decref(o);
    S->data_at_ms = 0;
}

/* POST /api/tasks/{id}/retry (strategy retry) and .../resume (strategy
 * from ?strategy= or the body's "strategy", default auto). */
void
sq_api_h_resume(struct sq_api_server *S, const struct sq_api_req *q,
                struct sq_api_reply *r)
{
    syncq_resume_result res;
    syncq_resume_options ro;
    const char *s = sq_api_arg(q, "strategy");
    int strategy = SYNCQ_RESUME_RETRY;
    syncq_client *c;
    syncq_error e;
    json_t *o, *body = NULL;

    memset(&ro, 0, sizeof ro);
    ro.who = "monitor";
    ro.queue = sq_api_arg(q, "queue");
    if (q->rt->kind == SQ_R_TASK_RESUME) {
        if (q->body_len > 0) {
            body = sq_api_body(q, r);
            if (body == NULL) {
                return;
            }
            if (json_string_value(json_object_get(body, "strategy"))) {
                s = json_string_value(json_object_get(body, "strategy"));
            }
            if (json_string_value(json_object_get(body, "queue"))) {
                ro.queue = json_string_value(json_object_get(body, "queue"));
            }
        }
        strategy = s != NULL ? syncq_resume_strategy_parse(s)
                             : SYNCQ_RESUME_AUTO;
        if (strategy < 0) {
            sq_api_error(r, 400, "EINVAL",
                         "strategy must be auto, retry, resume, restart, "
                         "skip or manual",
                         NULL);
            json_decref(body);
            return;
        }
    }
    c = sq_api_client(S, r);
    if (c == NULL ||
        syncq_task_resume(c, q->rt->arg, strategy, &ro, &res, &e) !=
            SYNCQ_OK) {
        if (c != NULL) {
            sq_api_syncq_error(r, &e);
        }
        json_decref(body);
        return;
    }
    json_decref(body);
    SQ_INFO("monitor.resume", "task=%s strategy=%s prev_state=%s",
            q->rt->arg, syncq_resume_strategy_name(res.strategy),
            res.prev_state);
    o = json_pack("{s:s,s:s,s:s}", "id", q->rt->arg, "strategy",
                  syncq_resume_strategy_name(res.strategy), "prev_state",
                  res.prev_state);
    if (res.checkpoint_seq >= 0) {
        json_object_set_new(o, "checkpoint_seq",
                            json_integer(res.checkpoint_seq));
    }
    sq_api_json(r, 200, o);
    json_decref(o);
    S->data_at_ms = 0;
}

void
sq_api_h_requeue(struct sq_api_server *S, const struct sq_api_req *q,
                 struct sq_api_reply *r)
{
    syncq_client *c = sq_api_client(S, r);
    syncq_error e;
    json_t *o;

    if (c == NULL) {
        return;
    }
    if (syncq_dead_requeue(c, q->rt->arg, sq_api_arg(q, "queue"), "monitor",
                           &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    o = json_pack("{s:s,s:s}", "id", q->rt->arg, "state", "PENDING");
    sq_api_json(r, 200, o);
    json_decref(o);
    S->data_at_ms = 0;
}
