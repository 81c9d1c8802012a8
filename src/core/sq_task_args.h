/* SPDX-License-Identifier: MIT
 *
 * sq_task_args.h: declared task arguments (syncq_arg_def, syncq/task.h),
 * each rule once: the check of args/kwargs against a declaration (the one
 * checker every producer door uses), the check of a declaration itself
 * at registration, and the JSON form of a declaration (what `task
 * describe` prints and what workers publish to Redis) with its parser.
 *
 * Everything here is pure and thread-safe.
 */
#ifndef SQ_TASK_ARGS_H
#define SQ_TASK_ARGS_H

#include <jansson.h>
#include <stddef.h>
#include <syncq/task.h>

/* Longest declared argument name, and most arguments in a declaration. */
#define SQ_ARG_NAME_MAX 64
#define SQ_ARG_COUNT_MAX 64

/* "string", "int", ...; "**kwargs" for SYNCQ_ARG_REST; NULL outside the
 * enum. */
const char *sq_arg_type_name(int type);

/* Check a declaration (at registration): names [a-z0-9_] 1..64 bytes and
 * unique, types known, at most one SYNCQ_ARG_ITEMS (an array), choices
 * only on strings, a range with min <= max, defaults that are valid JSON
 * and pass their own argument's check. Errors: SYNCQ_EINVAL naming the
 * argument. */
int sq_args_decl_check(const syncq_arg_def *decl, syncq_error *err);

/* Check one non-null value against one declared argument (type, choices,
 * element types, range); on a problem write the text without the field
 * name ("must be >= 1 (got -1)") to `msg` and return false. */
bool sq_args_value_ok(const syncq_arg_def *a, const json_t *v, char *msg,
                      size_t cap);

/* The declared argument a batch fills (SYNCQ_ARG_ITEMS), or NULL. */
const syncq_arg_def *sq_args_items(const syncq_arg_def *decl);

/* True when the declaration accepts any other keyword (SYNCQ_ARG_REST). */
bool sq_args_open(const syncq_arg_def *decl);

/* The syncq_task_describe JSON of `def` (new reference; NULL on
 * out-of-memory). */
json_t *sq_args_describe(const syncq_task_def *def);

/* A declaration read back from its JSON form ("args" array of
 * sq_args_describe): `decl` points into `json`, which it keeps a
 * reference to. Release with sq_args_parsed_cleanup. */
struct sq_args_parsed {
    json_t *json;          /* the object parsed (owned reference) */
    syncq_arg_def *decl;   /* ended by a NULL name; owned */
    bool declared;         /* false: the task published no declaration */
};

/* Parse the JSON form (untrusted: from Redis). Errors: SYNCQ_EPROTO (not
 * a declaration: names the field), SYNCQ_ENOMEM. *out zeroed on error. */
int sq_args_parse(const char *text, size_t len, struct sq_args_parsed *out,
                  syncq_error *err);
void sq_args_parsed_cleanup(struct sq_args_parsed *p);

#endif
