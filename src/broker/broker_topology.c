/* SPDX-License-Identifier: MIT
 *
 * broker_topology.c: what the connection layer knows about the Redis in
 * use (transport, TLS, master, failovers seen, replicas and their lag,
 * the cluster slot and node), as JSON for `syncq status` and the monitor.
 */
#include "broker/broker.h"
#include "broker/broker_cluster.h"
#include "broker/broker_io.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* slaveN:ip=...,port=...,state=online,offset=...,lag=0 of INFO
 * replication into [{addr, state, lag_s}]. */
static json_t *
replicas_of(const char *info)
{
    json_t *a = json_array();
    const char *p = info;

    while (a != NULL && (p = strstr(p, "\nslave")) != NULL) {
        char ip[64] = "", state[32] = "";
        int port = 0;
        long lag = -1;
        const char *colon = strchr(p, ':');
        const char *eol = strchr(p + 1, '\n');
        p++;
        if (colon == NULL || (eol != NULL && colon > eol) ||
            sscanf(colon + 1, "ip=%63[^,],port=%d,state=%31[^,]", ip, &port,
                   state) != 3) {
            continue;
        }
        {
            const char *l = strstr(colon, ",lag=");
            if (l != NULL && (eol == NULL || l < eol)) {
                lag = strtol(l + 5, NULL, 10);
            }
        }
        {
            char addr[96];
            snprintf(addr, sizeof addr, "%s:%d", ip, port);
            json_array_append_new(a, json_pack("{s:s,s:s,s:I}", "addr", addr,
                                               "state", state, "lag_s",
                                               (json_int_t)lag));
        }
    }
    return a;
}

json_t *
sq_conn_topology_info(syncq_client *c, const char *info)
{
    const struct sq_conn *k = c->conn;
    json_t *o;
    char master[300];

    if (k == NULL) {
        return NULL;
    }
    snprintf(master, sizeof master, "%s:%d", k->host, k->port);
    o = json_pack("{s:s,s:s,s:b,s:s,s:i,s:I,s:i}", "transport",
                  c->url.is_unix ? "unix" : k->tls ? "tls" : "tcp", "tls",
                  k->tls && c->rc != NULL ? sq_tls_version(k) : "off",
                  "tls_verify", k->tls && k->tls_verify, "master",
                  c->url.is_unix ? c->url.path : master, "failovers",
                  k->failovers, "last_failover_ms",
                  (json_int_t)k->last_failover_ms, "min_replicas",
                  k->min_replicas);
    if (o == NULL) {
        return NULL;
    }
    if (c->url.sentinel) {
        json_object_set_new(o, "sentinel_master", json_string(c->url.master));
    }
    if (k->cl != NULL) {
        json_object_set_new(o, "cluster", sq_cluster_topology(c));
    }
    if (info != NULL) {
        json_object_set_new(o, "replicas", replicas_of(info));
    }
    return o;
}

json_t *
sq_conn_topology(syncq_client *c)
{
    redisReply *r = NULL;
    json_t *o;

    if (c->conn == NULL) {
        return NULL;
    }
    if (sq_client_cmd(c, &r, NULL, "INFO replication") == SYNCQ_OK &&
        r->type == REDIS_REPLY_STRING) {
        o = sq_conn_topology_info(c, r->str);
    } else {
        o = sq_conn_topology_info(c, NULL);
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    return o;
}
