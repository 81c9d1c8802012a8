/* SPDX-License-Identifier: MIT
 *
 * mon_search.h: the task browser's search over what Redis keeps (the
 * dashboard's GET /api/tasks and its bulk actions). Sources, in order:
 * leases (RECEIVED, STARTED, PROGRESS), ready lists (PENDING), the
 * delayed set (PENDING with an ETA, RETRY), the recently-finished list
 * (the last SYNCQ_TASKS_RECENT_MAX finished tasks whose records have not
 * expired: SYNCQ_RESULT_EXPIRES) and the dead-letter queue. A state
 * filter reads only the sources that can hold it. Each candidate is
 * checked on a few fields (HMGET, pipelined in pages of 500); only the
 * page's rows are read whole. A task listed twice (finished, resumed,
 * finished again) counts once. A whole id (36 characters) reads that
 * record alone. The scan stops after `scan_max` records
 * and says so (truncated), so one search costs Redis a bounded amount.
 */
#ifndef SQ_MON_SEARCH_H
#define SQ_MON_SEARCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

struct sq_search {
    char state[16];       /* "" any */
    char queue[101];
    char name[201];
    char id_prefix[65];
    char worker[301];
    char batch[65];
    char root[65];
    char parent[65];
    char error[33];       /* error class */
    int64_t since_ms;     /* created at or after; 0 none */
    int64_t until_ms;     /* created before; 0 none */
    size_t offset;        /* rows to skip */
    size_t limit;         /* rows to return (0: count only) */
    size_t scan_max;      /* records examined at most */
    size_t ids_max;       /* with `ids`: keep at most this many ids */
    bool page_only;       /* stop once the page is full (total is then a
                             lower bound): "total=0" */
};

/* Defaults: no filter, offset 0, limit 50, scan_max 200000. */
void sq_search_init(struct sq_search *s);

/* Set filter `key` to `value` (both from a query string or a JSON body).
 * Keys: state queue name id worker batch root parent error since until
 * limit offset total ("1" count every match, the default; "0" stop at
 * the page: cheap for a periodic list). Errors: SYNCQ_EINVAL naming the key and what is wrong
 * (unknown key, unknown state or error class, bad queue name, id not
 * 1..64 of [A-Za-z0-9_.:-], time not ISO 8601, limit not 1..500, offset
 * not 0..1000000). */
int sq_search_set(struct sq_search *s, const char *key, const char *value,
                  syncq_error *err);

/* Run the search. *rows (may be NULL): a new JSON array of the records
 * in offset..offset+limit (as syncq_task_info gives them). *total: the
 * matches found; *scanned: records examined; *truncated: scan_max was
 * reached (total is a lower bound). *ids (may be NULL): a new JSON array
 * of every matching id up to ids_max (bulk actions).
 * Errors: SYNCQ_ECONN, SYNCQ_ENOMEM. */
int sq_search_run(syncq_client *c, const struct sq_search *s, json_t **rows,
                  json_t **ids, size_t *total, size_t *scanned,
                  bool *truncated, syncq_error *err);

/* The filter as a JSON object (echoed in replies). New reference. */
json_t *sq_search_json(const struct sq_search *s);

#endif
