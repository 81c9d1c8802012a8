/* SPDX-License-Identifier: MIT
 *
 * sq_task.h: the task model, each rule once: the states a task goes
 * through (and which are final), the rules of names, queues and
 * priorities, the names of a task record's fields (short in Redis, long
 * in JSON), the effective settings of a task (definition -> options ->
 * configuration) and the check of a per-call retry policy. The CLI,
 * enqueue, lease and the worker's outcome path all use these; the Lua
 * scripts get the final states from sq_task_lua_states() (prepended to
 * every script by broker_script.c). Record layout: docs/redis-keys.md.
 *
 * Everything here is pure and thread-safe.
 */
#ifndef SQ_TASK_H
#define SQ_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/task.h>

/* ---- states ------------------------------------------------------------ */

enum sq_task_state {
    SQ_STATE_PENDING,
    SQ_STATE_RECEIVED,
    SQ_STATE_STARTED,
    SQ_STATE_PROGRESS,
    SQ_STATE_RETRY,
    SQ_STATE_SUCCESS,
    SQ_STATE_FAILURE,
    SQ_STATE_REVOKED,
    SQ_STATE_EXPIRED,
    SQ_STATE_SKIPPED,
    SQ_STATE_DEAD,
    SQ_STATE__COUNT
};

/* "PENDING" ... "DEAD"; NULL for a value outside the enum. */
const char *sq_task_state_name(enum sq_task_state s);

/* The state named `name` (exact, upper case), or -1 when unknown. */
int sq_task_state_parse(const char *name);

/* Final: nothing more happens to the task without a command (SUCCESS
 * FAILURE REVOKED EXPIRED SKIPPED DEAD). A dead letter is final too: it
 * leaves the dead-letter queue only by resume or purge. */
bool sq_task_state_final(enum sq_task_state s);

/* sq_task_state_final of a state given by name; false for NULL or an
 * unknown name. */
bool sq_state_is_final(const char *state);

/* The Lua prelude line giving the scripts the final states,
 * "local FINAL = {SUCCESS = true, ...}\n", written into buf (cap bytes,
 * NUL-terminated, truncated if short: 256 bytes are enough). Returns its
 * length (as snprintf). */
size_t sq_task_lua_states(char *buf, size_t cap);

/* ---- names, queues, priorities ---------------------------------------- */

#define SQ_TASK_NAME_MAX 200  /* bytes */
#define SQ_QUEUE_NAME_MAX 100 /* bytes */
#define SQ_PRIORITY_DEFAULT 5
#define SQ_MAX_RETRIES_LIMIT 1000

/* syncq_task_name_normalize, syncq_queue_name_check and
 * syncq_priority_parse (syncq/client.h) are defined in sq_task.c. */

/* Refuse text with a control character (below 0x20, or 0x7f); the
 * message names `what` and the byte's offset. Errors: SYNCQ_EINVAL. */
int sq_task_text_check(const char *what, const char *s, syncq_error *err);

/* Check a priority value: 0..10. Errors: SYNCQ_EINVAL. */
int sq_task_priority_check(int priority, syncq_error *err);

/* Check a max_retries value: 0..SQ_MAX_RETRIES_LIMIT (-1, "default", is
 * accepted when `unset_ok`). Errors: SYNCQ_EINVAL. */
int sq_task_max_retries_check(long v, bool unset_ok, syncq_error *err);

/* Check an absolute expiry (epoch ms; 0: none) against `now_ms`: a task
 * that expires before it is created could never run. Every door uses it
 * (the C API's enqueue, the CLI's --expires). Errors: SYNCQ_EINVAL
 * ("expires 2020-01-01T00:00:00Z is not in the future; ..."). */
int sq_task_expires_check(int64_t expires_ms, int64_t now_ms,
                          syncq_error *err);

/* Check how far ahead a task is delayed: a countdown (ms; -1 or 0: none)
 * or an ETA (epoch ms; 0: none) at most SYNCQ_ETA_MAX_MS after `now_ms`.
 * Every door uses it (the C API's enqueue, so the CLI, HTTP and Python;
 * the Celery producer). Errors: SYNCQ_EINVAL ("eta ... is more than 365
 * days ahead (SYNCQ_ETA_MAX_MS)"). */
int sq_task_eta_check(int64_t eta_ms, int64_t countdown_ms, int64_t now_ms,
                      syncq_error *err);

/* Check a per-call retry policy (JSON text, `len` bytes): the whole
 * document, every class and field, as the worker will read it
 * (docs/recovery.md). Errors: SYNCQ_EINVAL naming the class and field. */
int sq_task_policy_check(const char *json, size_t len, syncq_error *err);

/* ---- record fields ----------------------------------------------------- */

/* How a record field is decoded into JSON. */
enum sq_field_kind { SQ_FIELD_STR, SQ_FIELD_INT, SQ_FIELD_TIME, SQ_FIELD_JSON,
                     SQ_FIELD_BOOL };

struct sq_task_field {
    const char *field; /* in the Redis hash: "pri" */
    const char *key;   /* in the JSON record: "priority" */
    enum sq_field_kind kind;
};

/* The field whose Redis name is `field` (len bytes), or NULL when it is
 * internal bookkeeping that JSON does not show. */
const struct sq_task_field *sq_task_field_short(const char *field,
                                                size_t len);

/* The field whose JSON name is `key`, or NULL. */
const struct sq_task_field *sq_task_field_long(const char *key);

/* ---- effective settings ------------------------------------------------ */

/* A task's settings at one level. "Unset" is NULL for strings, -1 for
 * priority and max_retries, 0 for time limits. */
struct sq_task_settings {
    const char *queue;
    int priority;
    int64_t time_limit_ms;
    int64_t soft_time_limit_ms;
    int max_retries;          /* -1 at every level: the retry policy's */
    const char *task_policy;  /* the definition's retry policy (JSON) */
    const char *call_policy;  /* the call's retry policy (JSON) */
};

/* All unset. */
void sq_task_settings_init(struct sq_task_settings *s);

/* The effective settings of a task: each field from `given` (the call's
 * options, or the record written from them) if set, else from the
 * registry definition `def` (may be NULL), else from `config` (may be
 * NULL: the built-in defaults: priority 5, others unset). The retry
 * policies are not overridden but stacked by the worker
 * (sq_retry_policy_for): task_policy comes from `def`, call_policy from
 * `given`. Strings are borrowed from the inputs. */
void sq_task_resolve(const syncq_task_def *def,
                     const struct sq_task_settings *given,
                     const struct sq_task_settings *config,
                     struct sq_task_settings *out);

#endif
