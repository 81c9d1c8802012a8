/* SPDX-License-Identifier: MIT
 *
 * cli_task_live.c: `task info` and `task list` show a leased task whose
 * worker is down (two heartbeats missed) as `recovering`: its lease runs
 * out and it is requeued. Liveness is the monitor's one rule
 * (sq_mon_mark_recovering, from the snapshot's workers); this file only
 * picks the tasks it applies to.
 */
#include "cli/cli.h"
#include "monitor/mon.h"

#include <string.h>
#include <syncq/monitor.h>

void
cli_task_mark_recovering(syncq_client *c, json_t *tasks)
{
    json_t *held = json_array();
    json_t *snap = NULL;
    size_t i;
    json_t *t;

    json_array_foreach(tasks, i, t)
    {
        const char *st = json_string_value(json_object_get(t, "state"));
        if (json_is_string(json_object_get(t, "worker")) && st != NULL &&
            (strcmp(st, "RECEIVED") == 0 || strcmp(st, "STARTED") == 0 ||
             strcmp(st, "PROGRESS") == 0)) {
            json_array_append(held, t); /* the same object: marked in place */
        }
    }
    if (json_array_size(held) > 0 &&
        syncq_monitor_snapshot(c, &snap, NULL) == SYNCQ_OK) {
        sq_mon_mark_recovering(held, json_object_get(snap, "workers"));
    }
    json_decref(snap);
    json_decref(held);
}
