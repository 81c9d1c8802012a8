/* SPDX-License-Identifier: MIT
 *
 * broker_control.h: worker remote control and queue pause, through
 * Redis (Celery's `control` in syncq's terms). One place for the
 * protocol, used by the sender (the monitor's API, `syncq worker
 * control`) and by the worker (worker_control.c).
 *
 * Keys (docs/redis-keys.md): {ns}:wctl:<worker> a list of command JSON
 * (LPUSH by the sender, RPOP by the worker; expires 1 h after the last
 * push so a dead worker's commands do not pile up); {ns}:ctlack:<id> the
 * worker's acknowledgement JSON (expires after 10 min); {ns}:paused the
 * set of paused queue names; {ns}:wname:<name> a worker name's claim
 * (stable names, sq_ctl_claim_name).
 *
 * A command: {"id", "command", "by", "at" (ms), and per command: "n"
 * (pool_grow, pool_shrink: 1..256), "queue" (add_consumer,
 * cancel_consumer), "task" + "soft_s"/"hard_s" (time_limit: seconds,
 * 0 = none), "task" + "rate" (rate_limit: "10/s", "100/m", "1000/h";
 * "0" = none)}. Commands: ping, pool_grow, pool_shrink, add_consumer,
 * cancel_consumer, time_limit, rate_limit, shutdown.
 * An ack: {"id", "worker", "command", "ok", "message", "at" (ISO 8601),
 * "concurrency", "queues", "rate_limits" ({task: rate})}.
 */
#ifndef SQ_BROKER_CONTROL_H
#define SQ_BROKER_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

#define SQ_CTL_POOL_MAX 256 /* children a pool may grow to */

/* Check a command object (borrowed): known command, its fields present
 * and in range. Errors: SYNCQ_EINVAL naming the field. */
int sq_ctl_check(const json_t *cmd, syncq_error *err);

/* Send `cmd` (borrowed; checked with sq_ctl_check) to worker `worker`,
 * adding "id", "by" (NULL: "api") and "at". The worker must be known
 * (in the workers set): SYNCQ_ENOTFOUND otherwise. id_out gets the
 * command's id (37 bytes).
 * Errors: SYNCQ_EINVAL, SYNCQ_ENOTFOUND, SYNCQ_ECONN. */
int sq_ctl_send(syncq_client *c, const char *worker, const json_t *cmd,
                const char *by, char id_out[37], syncq_error *err);

/* The acknowledgement of command `id`: *out a new object, or NULL while
 * the worker has not answered yet (SYNCQ_OK either way).
 * Errors: SYNCQ_EINVAL (bad id), SYNCQ_ECONN. */
int sq_ctl_ack_get(syncq_client *c, const char *id, json_t **out,
                   syncq_error *err);

/* Wait up to timeout_ms for the ack of `id` (polls every 50 ms).
 * Errors: SYNCQ_ETIMEDOUT (no ack: *out NULL), SYNCQ_ECONN. */
int sq_ctl_ack_wait(syncq_client *c, const char *id, int64_t timeout_ms,
                    json_t **out, syncq_error *err);

/* Pause (true) or resume consumption of `queue`; *changed (may be NULL)
 * tells whether it was not already so; *known (may be NULL) whether any
 * task was ever sent to the queue ({ns}:queues): a queue may be paused
 * before its first task, but an unknown name is often a typo.
 * Errors: SYNCQ_EINVAL (bad queue name), SYNCQ_ECONN. */
int sq_ctl_queue_pause(syncq_client *c, const char *queue, bool pause,
                       bool *changed, bool *known, syncq_error *err);

/* The paused queues: a new JSON array of names, sorted.
 * Errors: SYNCQ_ECONN. */
int sq_ctl_paused(syncq_client *c, json_t **out, syncq_error *err);

/* Claim worker name `name` for this process (pid on host): true when it
 * was free, expired (ttl_ms), or held by a process of this host that no
 * longer runs. Errors: SYNCQ_ECONN. */
int sq_ctl_claim_name(syncq_client *c, const char *name, const char *host,
                      int pid, int64_t ttl_ms, bool *claimed,
                      syncq_error *err);

/* Keep a claimed name (call well inside ttl_ms): its expiry renewed
 * while it holds this process's claim; claimed again when it is gone (it
 * expired while Redis was unreachable longer than ttl_ms, or Redis lost
 * it in a restart), so the next worker of the host does not take it.
 * *held false: another process holds it now (it claimed the name in
 * between); the caller stops renewing. Errors: SYNCQ_ECONN. */
int sq_ctl_renew_name(syncq_client *c, const char *name, const char *host,
                      int pid, int64_t ttl_ms, bool *held, syncq_error *err);

/* Expand a worker name pattern: %h the host name, %n its first label,
 * %d the rest (domain), %i `index`, %% a percent sign (Celery's -n).
 * Errors: SYNCQ_EINVAL (unknown % sequence, result over cap-1 bytes or
 * empty, a space or brace in it). */
int sq_ctl_name_expand(const char *pattern, const char *host, int index,
                       char *out, size_t cap, syncq_error *err);

#endif
