/* SPDX-License-Identifier: MIT
 *
 * broker_status.c: the broker overview behind `syncq status`: queue
 * depths per priority (every priority list counted, C41), delayed,
 * active, dead-letter, workers, Redis version and eviction policy.
 */
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_error.h"
#include "core/sq_log.h"

#include <stdio.h>
#include <string.h>

int
syncq_broker_status(syncq_client *c, json_t **out, syncq_error *err)
{
    char key[256];
    redisReply *qs = NULL;
    redisReply *r = NULL;
    json_t *o, *queues;
    int rc;
    const char *ns_end;

    *out = NULL;
    rc = sq_client_cmd(c, &qs, err, "SMEMBERS %s",
                       sq_key(c, key, sizeof key, "queues"));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    o = json_object();
    queues = json_object();
    json_object_set_new(o, "url", json_string(c->url_shown));
    json_object_set_new(o, "redis_version", json_string(c->redis_version));
    json_object_set_new(o, "topology", sq_conn_topology(c));
    ns_end = strchr(c->prefix + 1, '}');
    json_object_set_new(o, "namespace",
                        json_stringn(c->prefix + 1,
                                     ns_end ? (size_t)(ns_end - c->prefix - 1)
                                            : 0));
    /* Pipeline LLEN of every priority list of every queue. */
    for (size_t i = 0; i < qs->elements; i++) {
        for (int p = 10; p >= 0; p--) {
            sq_conn_append(c, "LLEN %s",
                               sq_key(c, key, sizeof key, "q:%s:%d",
                                      qs->element[i]->str, p));
        }
    }
    for (size_t i = 0; i < qs->elements && rc == SYNCQ_OK; i++) {
        json_t *q = json_object();
        json_t *byp = json_object();
        long long total = 0;
        for (int p = 10; p >= 0; p--) {
            rc = sq_client_read_reply(c, &r, err);
            if (rc != SYNCQ_OK) {
                break;
            }
            if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
                char pk[8];
                snprintf(pk, sizeof pk, "%d", p);
                json_object_set_new(byp, pk, json_integer(r->integer));
                total += r->integer;
            }
            freeReplyObject(r);
            r = NULL;
        }
        json_object_set_new(q, "ready", json_integer(total));
        json_object_set_new(q, "by_priority", byp);
        json_object_set_new(queues, qs->element[i]->str, q);
    }
    freeReplyObject(qs);
    if (rc != SYNCQ_OK) {
        json_decref(queues);
        json_decref(o);
        return rc;
    }
    json_object_set_new(o, "queues", queues);
    {
        static const struct {
            const char *key;
            const char *cmd;
        } counts[] = {{"delayed", "ZCARD"}, {"active", "ZCARD"},
                      {"dlq", "ZCARD"}};
        static const char *names[] = {"delayed", "active", "dead"};
        for (size_t i = 0; i < 3; i++) {
            rc = sq_client_cmd(c, &r, err, "%s %s", counts[i].cmd,
                               sq_key(c, key, sizeof key, "%s",
                                      counts[i].key));
            if (rc != SYNCQ_OK) {
                json_decref(o);
                return rc;
            }
            json_object_set_new(o, names[i], json_integer(r->integer));
            freeReplyObject(r);
        }
    }
    /* Workers alive: heartbeat keys that still exist. */
    rc = sq_client_cmd(c, &r, err, "ZRANGE %s 0 -1",
                       sq_key(c, key, sizeof key, "workers"));
    if (rc == SYNCQ_OK) {
        long long alive = 0;
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *e = NULL;
            if (sq_client_cmd(c, &e, NULL, "EXISTS %s",
                              sq_key(c, key, sizeof key, "w:%s",
                                     r->element[i]->str)) == SYNCQ_OK) {
                alive += e->integer;
                freeReplyObject(e);
            }
        }
        json_object_set_new(o, "workers", json_integer(alive));
        freeReplyObject(r);
    }
    if (sq_client_cmd(c, &r, NULL, "CONFIG GET maxmemory-policy") ==
            SYNCQ_OK &&
        r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        json_object_set_new(o, "maxmemory_policy",
                            json_string(r->element[1]->str));
    }
    freeReplyObject(r);
    *out = o;
    return SYNCQ_OK;
}

bool
sq_info_field(const char *info, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = info;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            size_t n = strcspn(p + nl + 1, "\r\n");
            if (n >= cap) {
                n = cap - 1;
            }
            memcpy(out, p + nl + 1, n);
            out[n] = '\0';
            return true;
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return false;
}

bool
sq_eviction_safe(const char *policy)
{
    /* noeviction and volatile-* never touch keys without a TTL (queues,
     * delayed sets, running tasks); allkeys-* may drop any of them */
    return policy == NULL || policy[0] == '\0' ||
           strcmp(policy, "noeviction") == 0 ||
           strncmp(policy, "volatile-", 9) == 0;
}

int
sq_broker_check_eviction(syncq_client *c, const char *who)
{
    redisReply *r = NULL;
    char policy[64] = "";

    if (sq_client_cmd(c, &r, NULL, "INFO memory") != SYNCQ_OK) {
        return 0;
    }
    if (r->type == REDIS_REPLY_STRING) {
        sq_info_field(r->str, "maxmemory_policy", policy, sizeof policy);
    }
    freeReplyObject(r);
    if (sq_eviction_safe(policy)) {
        return 0;
    }
    SQ_WARN("broker.eviction_unsafe",
            "who=%s maxmemory_policy=%s hint=\"Redis may evict queued and "
            "running tasks: set maxmemory-policy noeviction (or volatile-*)\"",
            who, policy);
    return 1;
}
