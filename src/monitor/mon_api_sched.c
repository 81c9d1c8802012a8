/* SPDX-License-Identifier: MIT
 *
 * mon_api_sched.c: the schedule endpoints: list, create (spec in
 * mon_api_spec.c, checked by syncq_schedule_add), read, remove, pause,
 * resume and run now, all through syncq/schedule.h.
 */
#include "monitor/mon_api_http.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "monitor/mon_api_spec.h"

#include <string.h>
#include <syncq/schedule.h>

void
sq_api_h_schedules(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r)
{
    syncq_client *c;
    syncq_error e;
    json_t *a = NULL, *o, *body, *errs;

    if (q->rt->kind == SQ_R_SCHEDULES) {
        c = sq_api_client(S, r);
        if (c == NULL) {
            return;
        }
        if (syncq_schedule_list(c, &a, &e) != SYNCQ_OK) {
            sq_api_syncq_error(r, &e);
            return;
        }
        o = json_object();
        json_object_set_new(o, "schedules", a);
        sq_api_json(r, 200, o);
        json_decref(o);
        return;
    }
    body = sq_api_body(q, r);
    if (body == NULL) {
        return;
    }
    c = sq_api_client(S, r);
    if (c == NULL) {
        json_decref(body);
        return;
    }
    errs = json_array();
    if (sq_spec_schedule_add(c, body, errs, &o, &e) != SYNCQ_OK) {
        sq_api_error(r, sq_api_status_of(e.code), syncq_code_name(e.code),
                     e.msg, errs);
    } else {
        SQ_INFO("monitor.schedule_add", "schedule=%s",
                json_string_value(json_object_get(body, "name")));
        sq_api_json(r, 201, o);
        json_decref(o);
    }
    json_decref(errs);
    json_decref(body);
}

/* One schedule: GET, DELETE, and POST .../pause|resume|run. */
void
sq_api_h_schedule(struct sq_api_server *S, const struct sq_api_req *q,
                  struct sq_api_reply *r)
{
    const char *name = q->rt->arg;
    syncq_client *c = sq_api_client(S, r);
    char id[SYNCQ_ID_SIZE] = "";
    syncq_error e;
    json_t *o = NULL;
    int rc;

    if (c == NULL) {
        return;
    }
    switch (q->rt->kind) {
    case SQ_R_SCHEDULE_REMOVE:
        rc = syncq_schedule_remove(c, name, &e);
        if (rc == SYNCQ_OK) {
            o = json_pack("{s:s,s:b}", "name", name, "removed", 1);
        }
        break;
    case SQ_R_SCHEDULE_PAUSE:
        rc = syncq_schedule_pause(c, name, &e);
        break;
    case SQ_R_SCHEDULE_RESUME:
        rc = syncq_schedule_resume(c, name, &e);
        break;
    case SQ_R_SCHEDULE_RUN:
        rc = syncq_schedule_run(c, name, id, &e);
        if (rc == SYNCQ_OK) {
            o = json_pack("{s:s,s:s}", "name", name, "task_id", id);
        }
        break;
    default:
        rc = SYNCQ_OK;
        break;
    }
    if (rc == SYNCQ_OK && o == NULL) {
        rc = syncq_schedule_info(c, name, &o, &e);
    }
    if (rc != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    if (q->rt->kind != SQ_R_SCHEDULE) {
        SQ_INFO("monitor.schedule", "schedule=%s op=%s", name,
                q->rt->kind == SQ_R_SCHEDULE_REMOVE
                    ? "remove"
                    : q->rt->def->path + strlen("/api/schedules/{name}/"));
        S->data_at_ms = 0;
    }
    sq_api_json(r, 200, o);
    json_decref(o);
}
