/* SPDX-License-Identifier: MIT
 *
 * broker_task_args.h: a task's declaration as a producer knows it (this
 * process's registry, else what workers published to Redis), for the
 * door checks of enqueue, batches and schedules. Public side:
 * syncq_task_args_check, syncq_task_describe, syncq_registry_publish
 * (syncq/task.h).
 */
#ifndef SQ_BROKER_TASK_ARGS_H
#define SQ_BROKER_TASK_ARGS_H

#include "core/sq_task_args.h"

#include <syncq/client.h>
#include <syncq/task.h>

/* A looked-up declaration. */
struct sq_decl {
    char name[256];               /* normalised task name */
    const syncq_task_def *def;    /* registered here, or NULL */
    const syncq_arg_def *decl;    /* declared arguments, or NULL */
    bool found;                   /* registered here or published */
    struct sq_args_parsed parsed; /* the published form, when read */
};

/* Find `name`'s declaration: registry, then {ns}:taskargs through `c`
 * (may be NULL). Not found is not an error (d->found false, decl NULL).
 * Errors: SYNCQ_EINVAL (bad name), SYNCQ_ECONN. Always release with
 * sq_decl_cleanup. */
int sq_decl_find(syncq_client *c, const char *name, struct sq_decl *d,
                 syncq_error *err);
void sq_decl_cleanup(struct sq_decl *d);

/* The queue a task not registered in this process was published with by
 * the workers that run it (a producer without the packs routes as one
 * with them), or NULL: unknown, unpublished, Redis unreachable. The
 * string lives as long as the process. Thread-safe. */
const char *sq_decl_queue(syncq_client *c, const char *name);
/* The same from a declaration already looked up (sq_decl_find): the
 * published queue of a task not registered here, or NULL. */
const char *sq_decl_route(const struct sq_decl *d);

/* syncq_task_args_check with parsed args/kwargs (borrowed, may be NULL). */
int sq_task_args_check_json(syncq_client *c, const char *name, json_t *args,
                            json_t *kwargs, json_t **problems,
                            syncq_error *err);

/* The kwarg a batch of `name` puts each chunk's items under: the
 * declared SYNCQ_ARG_ITEMS argument, or "items" for a task with no
 * declaration or one taking any keyword. *max_items: the items
 * argument's element limit (0: none), which bounds the batch size.
 * Errors: SYNCQ_EINVAL (a declared task that takes no items: the message
 * says so), SYNCQ_ECONN. */
int sq_task_items_arg(syncq_client *c, const char *name, char *out,
                      size_t cap, int64_t *max_items, syncq_error *err);

#endif
