/* SPDX-License-Identifier: MIT
 *
 * broker_batch_check.c: the door check of a batch, before anything is
 * written (syncq_batch_check, syncq/batch.h). A batch of a task that
 * declares its arguments puts each chunk under the task's declared items
 * argument (image URLs under `urls`, offer ids under `items`); a task
 * that takes no items is refused with that reason; the completion task
 * must take the batch summary. Argument rules themselves are
 * core/sq_task_args.c's; this file only builds what a chunk and the
 * completion task will receive and asks the one checker.
 */
#include "broker/broker.h"
#include "broker/broker_batch.h"
#include "broker/broker_task_args.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <stdio.h>
#include <string.h>

/* Append one {"field", "error"} problem. */
static int
problem(json_t *list, const char *field, const char *msg)
{
    json_t *o = json_pack("{s:s,s:s}", "field", field, "error", msg);

    if (o == NULL || json_array_append_new(list, o) != 0) {
        return SYNCQ_ENOMEM;
    }
    return SYNCQ_OK;
}

/* Append every problem of `more` (stolen; may be NULL). */
static void
extend(json_t *list, json_t *more)
{
    if (more != NULL) {
        json_array_extend(list, more);
        json_decref(more);
    }
}

/* Items past the first chunk, checked element by element against the
 * items argument (the first chunk's were checked with its kwargs). One
 * problem: the first bad item, by its index in the whole list. */
static void
check_items(const syncq_arg_def *a, json_t *items, size_t from, json_t *list)
{
    syncq_arg_def one;
    char msg[256], text[300];

    if (a == NULL || a->item_type <= 0) {
        return;
    }
    memset(&one, 0, sizeof one);
    one.name = a->name;
    one.type = a->item_type;
    for (size_t i = from; i < json_array_size(items); i++) {
        json_t *v = json_array_get(items, i);
        if (!sq_args_value_ok(&one, v, msg, sizeof msg)) {
            snprintf(text, sizeof text, "item %zu %s", i, msg);
            problem(list, a->name, text);
            return;
        }
    }
}

/* The completion task must accept the batch summary lib_batch.lua sends
 * ({batch_id, total, succeeded, failed}). */
static int
check_completion(syncq_client *c, const char *cb_name, json_t *list,
                 syncq_error *err)
{
    json_t *kw = json_pack("{s:s,s:i,s:i,s:i}", "batch_id",
                           "00000000-0000-4000-8000-000000000000", "total", 0,
                           "succeeded", 0, "failed", 0);
    syncq_error cerr;
    char text[400];
    int rc;

    if (kw == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_task_args_check_json(c, cb_name, NULL, kw, NULL, &cerr);
    json_decref(kw);
    if (rc == SYNCQ_EINVAL) {
        snprintf(text, sizeof text, "%s cannot be a batch's completion task: "
                 "it must take the batch summary (batch_id, total, "
                 "succeeded, failed): %s", cb_name, cerr.msg);
        return problem(list, "on_complete", text);
    }
    if (rc != SYNCQ_OK && err != NULL) {
        *err = cerr;
    }
    return rc;
}

/* Every check after the items argument is known; problems into `list`. */
static int
check_all(syncq_client *c, const struct sq_decl *d, json_t *items,
          size_t batch_size, const syncq_batch_options *opts,
          const char *items_key, json_t *list, syncq_error *err)
{
    const syncq_arg_def *ia = sq_args_items(d->decl);
    json_t *extra = NULL, *more = NULL, *kw = NULL;
    char cb_name[256] = "", cb_id[SYNCQ_ID_SIZE], *text = NULL;
    const char *cb_queue = NULL;
    size_t first = json_array_size(items) < batch_size ? json_array_size(items)
                                                        : batch_size;
    syncq_error e;
    int rc;

    if (ia != NULL && ia->max != 0 && ia->max != INT64_MAX &&
        (int64_t)batch_size > ia->max) {
        char msg[200];
        snprintf(msg, sizeof msg, "must be <= %lld, the most items one %s "
                 "takes in %s (got %zu)", (long long)ia->max, d->name,
                 ia->name, batch_size);
        problem(list, "batch_size", msg);
    }
    rc = sq_batch_extra_and_completion(c, opts, items_key, &extra, cb_name,
                                       &cb_queue, cb_id, &e);
    if (rc == SYNCQ_EINVAL) {
        return problem(list, "kwargs", e.msg);
    }
    if (rc != SYNCQ_OK) {
        if (err != NULL) {
            *err = e;
        }
        return rc;
    }
    if (first > 0) {
        text = sq_batch_chunk_kwargs(items, 0, first, extra, items_key);
        kw = text != NULL ? json_loads(text, 0, NULL) : NULL;
        sq_free(text);
        if (kw == NULL) {
            json_decref(extra);
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        syncq_args_check(d->decl, NULL, kw, &more, NULL);
        extend(list, more);
        json_decref(kw);
        check_items(ia, items, first, list);
    }
    json_decref(extra);
    return cb_name[0] != '\0' ? check_completion(c, cb_name, list, err)
                              : SYNCQ_OK;
}

int
sq_batch_check(syncq_client *c, const char *task_name, json_t *items,
               size_t batch_size, const syncq_batch_options *opts,
               char items_key[SQ_ARG_NAME_MAX + 1], json_t **problems,
               syncq_error *err)
{
    struct sq_decl d;
    json_t *list = json_array();
    int64_t max_items;
    syncq_error e = {SYNCQ_ENOMEM, 0, "out of memory"};
    int rc;

    if (problems != NULL) {
        *problems = NULL;
    }
    if (list == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    rc = sq_task_items_arg(c, task_name, items_key, SQ_ARG_NAME_MAX + 1,
                           &max_items, &e);
    if (rc == SYNCQ_EINVAL) {
        rc = problem(list, "task", e.msg);
    } else if (rc == SYNCQ_OK) {
        rc = sq_decl_find(c, task_name, &d, &e);
        if (rc == SYNCQ_OK) {
            rc = check_all(c, &d, items, batch_size, opts, items_key, list,
                           &e);
        }
        sq_decl_cleanup(&d);
    }
    if (rc != SYNCQ_OK) {
        json_decref(list);
        if (err != NULL) {
            *err = e;
        }
        return rc;
    }
    if (json_array_size(list) == 0) {
        json_decref(list);
        return SYNCQ_OK;
    }
    {
        json_t *p = json_array_get(list, 0);
        sq_fail(err, SYNCQ_EINVAL, "%s: %s%s",
                json_string_value(json_object_get(p, "field")),
                json_string_value(json_object_get(p, "error")),
                json_array_size(list) > 1 ? " (and more)" : "");
    }
    if (problems != NULL) {
        *problems = list;
    } else {
        json_decref(list);
    }
    return SYNCQ_EINVAL;
}

int
syncq_batch_check(syncq_client *c, const char *task_name, json_t *items,
                  size_t batch_size, const syncq_batch_options *opts,
                  json_t **problems, syncq_error *err)
{
    char key[SQ_ARG_NAME_MAX + 1];

    if (problems != NULL) {
        *problems = NULL;
    }
    if (items == NULL || !json_is_array(items)) {
        return sq_fail(err, SYNCQ_EINVAL, "batch items must be a JSON array");
    }
    if (batch_size == 0 || batch_size > 100000) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "batch size %zu out of range 1..100000", batch_size);
    }
    return sq_batch_check(c, task_name, items, batch_size, opts, key,
                          problems, err);
}
