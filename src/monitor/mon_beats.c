/* SPDX-License-Identifier: MIT
 *
 * mon_beats.c: the beats in a collection. Each beat writes its status
 * record (id, leader, ticks fired and missed, its broker errors and
 * reconnects: src/beat/beat_loop.c) with every poll; the monitor reads
 * them with the public syncq_beat_status, so /metrics exports the beats'
 * fault counters beside the workers' (issue 12).
 */
#include "monitor/mon.h"

#include <syncq/schedule.h>

json_t *
sq_mon_beats(syncq_client *c, int *commands)
{
    json_t *beats = NULL;

    if (syncq_beat_status(c, &beats, NULL) != SYNCQ_OK) {
        /* the queue figures matter more: a collection without beats */
        return json_array();
    }
    *commands += 1 + (int)json_array_size(beats); /* ZREVRANGE + HMGETs */
    return beats;
}
