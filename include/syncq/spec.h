/* SPDX-License-Identifier: MIT
 *
 * syncq/spec.h: creating tasks, batches and schedules from JSON specs:
 * the form the HTTP task API (`POST /api/tasks`, docs/api.md) takes in
 * request bodies, offered to bindings in other languages (the Python
 * client, python/syncq) so they only convert values and never speak the
 * broker protocol themselves.
 *
 * A spec is a JSON object whose fields are listed in docs/api.md (and in
 * the OpenAPI document the monitor serves at /api/openapi.json):
 *   task:     {name, args, kwargs, queue, priority, countdown, eta,
 *              expires, max_retries, retry_policy, unique_key, unique_ttl,
 *              time_limit, soft_time_limit, result_expires, task_id}
 *   batch:    {task, items, batch_size, kwargs, queue, priority,
 *              max_retries, on_complete, on_complete_queue, max_in_flight,
 *              rate, fail_fast}
 *   schedule: {name, task, type (cron|interval|once), cron, interval, at,
 *              timezone, args, kwargs, queue, priority, enabled, missed,
 *              catch_up_cap, grace, start, end, expires, max_retries,
 *              replace}
 * Durations are seconds (numbers), times ISO 8601 strings. Unknown
 * fields and wrong types are refused; values are checked by the same
 * calls as the C API (syncq_task_create, syncq_batch_create,
 * syncq_schedule_add), so every producer gets the same rules.
 *
 * Every call: `out` (may be NULL) receives a new JSON text (free with
 * syncq_free); NULL on error. On any error nothing is written to Redis.
 * Errors: SYNCQ_EINVAL (not JSON, or the first bad field: "priority:
 *         must be ..."), and the errors of the underlying C call.
 * Thread-safety: as syncq_client (one thread at a time per client).
 */
#ifndef SYNCQ_SPEC_H
#define SYNCQ_SPEC_H

#include <jansson.h>
#include <syncq/client.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Create one task. *out: {"id": "...", "duplicate": false} (duplicate
 * true when unique_key was held and id is the first task's). */
SYNCQ_API int syncq_task_create_json(syncq_client *c, const char *spec_json,
                                     char **out, syncq_error *err);

/* Create a JSON array of 1..10,000 task specs, all or none
 * (syncq_task_create_many). *out: {"ids": [...]} in spec order. Field
 * names in messages are prefixed "tasks[i].". */
SYNCQ_API int syncq_task_create_many_json(syncq_client *c,
                                          const char *specs_json, char **out,
                                          syncq_error *err);

/* Create a batch (syncq_batch_create; syncq_batch_submit when a wave
 * field is set). *out: {"batch_id": "...", "task_ids": [...],
 * "duplicate": false} (no task_ids for a batch in waves; duplicate true
 * when the spec's "batch_id" named a batch that exists: it is answered,
 * not made again). */
SYNCQ_API int syncq_batch_create_json(syncq_client *c, const char *spec_json,
                                      char **out, syncq_error *err);

/* Add a schedule (syncq_schedule_add; "replace": true replaces one of
 * the same name). *out: the stored schedule (syncq_schedule_info). */
SYNCQ_API int syncq_schedule_add_json(syncq_client *c, const char *spec_json,
                                      char **out, syncq_error *err);

/* Compact JSON text of `v` (borrowed): new string (free with syncq_free),
 * NULL when v is NULL or on out-of-memory. For bindings that receive
 * json_t results (syncq_task_info, syncq_monitor_health, ...). */
SYNCQ_API char *syncq_json_text(const json_t *v);

/* Release a json_t a syncq call returned (jansson's json_decref, which
 * is an inline function bindings cannot call). NULL is a no-op. */
SYNCQ_API void syncq_json_release(json_t *v);

#ifdef __cplusplus
}
#endif
#endif
