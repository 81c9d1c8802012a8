/* SPDX-License-Identifier: MIT
 *
 * mon_topology.c: what the monitor makes of the Redis topology in a
 * collection (snapshot broker.topology, from the connection layer and the
 * INFO of the first round trip): replicas in sync against
 * SYNCQ_BROKER_MIN_REPLICAS, and the age of the last failover this
 * monitor followed. Health, /metrics and the alert rules read these, so
 * "in sync" is decided here once.
 */
#include "monitor/mon.h"

#include <math.h>
#include <string.h>

const json_t *
sq_mon_topology(const struct sq_mon_data *d)
{
    return d == NULL ? NULL
                     : json_object_get(json_object_get(d->snap, "broker"),
                                       "topology");
}

int
sq_mon_replicas_in_sync(const json_t *topo)
{
    const json_t *rs = json_object_get(topo, "replicas");
    const json_t *r;
    size_t i;
    int n = 0;

    json_array_foreach(rs, i, r) {
        const char *st = json_string_value(json_object_get(r, "state"));
        json_int_t lag = json_integer_value(json_object_get(r, "lag_s"));
        if (st != NULL && strcmp(st, "online") == 0 && lag >= 0 &&
            lag <= SQ_MON_REPLICA_MAX_LAG_S) {
            n++;
        }
    }
    return n;
}

double
sq_mon_replicas_missing(const struct sq_mon_data *d)
{
    const json_t *t = sq_mon_topology(d);
    json_int_t want = json_integer_value(json_object_get(t, "min_replicas"));
    int have;

    if (t == NULL || json_object_get(t, "replicas") == NULL) {
        return NAN; /* INFO refused (ACL): unknown, not zero */
    }
    have = sq_mon_replicas_in_sync(t);
    return want > have ? (double)(want - have) : 0.0;
}

double
sq_mon_failover_age_s(const struct sq_mon_data *d)
{
    const json_t *t = sq_mon_topology(d);
    json_int_t at = json_integer_value(json_object_get(t, "last_failover_ms"));

    if (t == NULL || at <= 0) {
        return INFINITY;
    }
    return d->now_ms > at ? (double)(d->now_ms - at) / 1000.0 : 0.0;
}
