/* SPDX-License-Identifier: MIT
 *
 * mon_api_spec.h: JSON specs of tasks, batches and schedules: the form the
 * HTTP task API takes in request bodies and the Python client hands to
 * libsyncq (syncq/spec.h). One field table per spec drives the checks
 * (one clear error per field: unknown, wrong type, missing) and the
 * OpenAPI schemas. Values are then checked by the library's own create
 * calls (syncq_task_create and friends), never here: a spec is only
 * converted.
 */
#ifndef SQ_MON_API_SPEC_H
#define SQ_MON_API_SPEC_H

#include <jansson.h>
#include <syncq/client.h>
#include <syncq/error.h>

/* The specs, for sq_spec_schema. */
enum sq_spec_kind { SQ_SPEC_TASK, SQ_SPEC_BATCH, SQ_SPEC_SCHEDULE };

/* Create one task from `spec` (borrowed). On success *out is a new
 * {id, duplicate}. Field errors are appended to `errs` (a JSON array of
 * {field, message}) and give SYNCQ_EINVAL with the first in err;
 * library errors give their code with one {message} in errs. Nothing is
 * written on any error. */
int sq_spec_task_create(syncq_client *c, const json_t *spec, json_t *errs,
                        json_t **out, syncq_error *err);

/* Create every task of `list` (a JSON array of task specs, 1..10,000) in
 * one all-or-nothing call: *out a new {ids: [...]}. Field names in errs
 * are prefixed "tasks[i].". */
int sq_spec_tasks_create(syncq_client *c, const json_t *list, json_t *errs,
                         json_t **out, syncq_error *err);

/* Create a batch: *out a new {batch_id, task_ids} (task_ids absent when
 * the batch goes out in waves). */
int sq_spec_batch_create(syncq_client *c, const json_t *spec, json_t *errs,
                         json_t **out, syncq_error *err);

/* Add (with "replace": true, replace) a schedule: *out the stored
 * schedule as syncq_schedule_info gives it. */
int sq_spec_schedule_add(syncq_client *c, const json_t *spec, json_t *errs,
                         json_t **out, syncq_error *err);

/* The JSON Schema of a spec (a new object), from its field table. */
json_t *sq_spec_schema(int kind);

#endif
