/* SPDX-License-Identifier: MIT
 *
 * broker_sentinel.c: finding the master through Redis Sentinel for
 * sentinel:// and sentinel+tls:// URLs. The sentinels are asked in the
 * order listed; the first that answers SENTINEL get-master-addr-by-name
 * wins (a sentinel that does not know the master is skipped). The caller
 * then checks ROLE on the address (sq_conn_check_role): right after a
 * failover a sentinel may still name the old master for a moment, and
 * the reconnect backoff simply asks again.
 */
#include "broker/broker_io.h"
#include "sq_error.h"
#include "sq_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* Connect to one sentinel (TLS for sentinel+tls, AUTH with
 * sentinel_password) and ask it. SYNCQ_OK with host/port filled, or an
 * error describing this sentinel. */
static int
ask_one(struct sq_conn *k, const struct sq_redis_url *url,
        const struct sq_hostport *s, struct timeval tv, char *host,
        size_t cap, int *port, syncq_error *err)
{
    redisContext *rc = redisConnectWithTimeout(s->host, s->port, tv);
    struct ssl_st *ssl = NULL;
    const char *ask[3] = {"SENTINEL", "get-master-addr-by-name", url->master};
    redisReply *r = NULL;
    int rc2 = SYNCQ_OK;

    if (rc == NULL || rc->err) {
        rc2 = sq_fail(err, SYNCQ_ECONN, "sentinel %s:%d unreachable: %s",
                      s->host, s->port, rc ? rc->errstr : "out of memory");
        goto out;
    }
    redisSetTimeout(rc, tv);
    if (k->tls) {
        rc2 = sq_tls_handshake(k, rc, s->host, s->port, &ssl, err);
        if (rc2 != SYNCQ_OK) {
            goto out;
        }
    }
    if (url->sentinel_pass[0] != '\0') {
        const char *auth[2] = {"AUTH", url->sentinel_pass};
        r = sq_link_command_argv(rc, ssl, 2, auth);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            rc2 = sq_fail(err, r ? SYNCQ_EAUTH : SYNCQ_ECONN,
                          "sentinel %s:%d refused sentinel_password: %s",
                          s->host, s->port, r ? r->str : rc->errstr);
            goto out;
        }
        freeReplyObject(r);
    }
    r = sq_link_command_argv(rc, ssl, 3, ask);
    if (r == NULL) {
        rc2 = sq_fail(err, SYNCQ_ECONN, "sentinel %s:%d: %s", s->host,
                      s->port, rc->errstr);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
               r->element[0]->type != REDIS_REPLY_STRING ||
               r->element[1]->type != REDIS_REPLY_STRING) {
        rc2 = sq_fail(err, SYNCQ_ECONN,
                      "sentinel %s:%d does not know master '%s'%s%s",
                      s->host, s->port, url->master,
                      r->type == REDIS_REPLY_ERROR ? ": " : "",
                      r->type == REDIS_REPLY_ERROR ? r->str : "");
    } else {
        snprintf(host, cap, "%s", r->element[0]->str);
        *port = (int)strtol(r->element[1]->str, NULL, 10);
    }
out:
    if (r != NULL) {
        freeReplyObject(r);
    }
    sq_tls_close(ssl);
    if (rc != NULL) {
        redisFree(rc);
    }
    return rc2;
}

int
sq_sentinel_master(struct sq_conn *k, const struct sq_redis_url *url,
                   int64_t timeout_ms, char *host, size_t cap, int *port,
                   syncq_error *err)
{
    struct timeval tv;
    int rc = SYNCQ_ECONN;

    tv.tv_sec = (time_t)(timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)((timeout_ms % 1000) * 1000);
    for (int i = 0; i < url->nhosts; i++) {
        rc = ask_one(k, url, &url->hosts[i], tv, host, cap, port, err);
        if (rc == SYNCQ_OK || rc == SYNCQ_EAUTH || rc == SYNCQ_EINVAL) {
            return rc;
        }
    }
    if (err != NULL) {
        char last[200];
        snprintf(last, sizeof last, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg,
                 "no sentinel of %d could name master '%s' (last: %s)",
                 url->nhosts, url->master, last);
    }
    return rc;
}
