/* SPDX-License-Identifier: MIT
 *
 * celery_redis.c: pipelines and MULTI/EXEC transactions on a syncq client
 * for the Celery side, whose keys (kombu's lists and hashes, result keys)
 * live outside syncq's namespace and are written with plain commands, the
 * way kombu and Celery write them. One round trip per pipeline.
 */
#include "celery/celery.h"
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
sq_rcmd_set(struct sq_rcmd *cmd, ...)
{
    va_list ap;
    const char *w;

    memset(cmd, 0, sizeof *cmd);
    va_start(ap, cmd);
    while (cmd->argc < 8 && (w = va_arg(ap, const char *)) != NULL) {
        cmd->argv[cmd->argc] = w;
        cmd->lens[cmd->argc++] = strlen(w);
    }
    va_end(ap);
}

static int
append(syncq_client *c, const struct sq_rcmd *cmd)
{
    const char *argv[8];
    size_t lens[8];

    for (int i = 0; i < cmd->argc; i++) {
        argv[i] = cmd->argv[i];
        lens[i] = cmd->lens[i] != 0 ? cmd->lens[i] : strlen(cmd->argv[i]);
    }
    return sq_conn_append_argv(c, cmd->argc, argv, lens);
}

int
sq_celery_pipeline(syncq_client *c, bool multi, const struct sq_rcmd *cmds,
                   size_t n, redisReply **replies, syncq_error *err)
{
    size_t total = n + (multi ? 2 : 0);
    int rc;

    for (size_t i = 0; i < (multi ? 1 : n); i++) {
        replies[i] = NULL;
    }
    rc = sq_client_ensure(c, false, NULL, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (multi && sq_conn_append(c, "MULTI") != REDIS_OK) {
        goto lost;
    }
    for (size_t i = 0; i < n; i++) {
        if (append(c, &cmds[i]) != REDIS_OK) {
            goto lost;
        }
    }
    if (multi && sq_conn_append(c, "EXEC") != REDIS_OK) {
        goto lost;
    }
    for (size_t i = 0; i < total; i++) {
        redisReply *r = NULL;
        rc = sq_client_read_reply(c, &r, err);
        if (rc != SYNCQ_OK) {
            for (size_t j = 0; j < (multi ? 1 : n); j++) {
                freeReplyObject(replies[j]);
                replies[j] = NULL;
            }
            return rc;
        }
        if (!multi) {
            replies[i] = r;
        } else if (i == total - 1) {
            replies[0] = r; /* EXEC; MULTI and QUEUED replies dropped */
        } else {
            freeReplyObject(r);
        }
    }
    return SYNCQ_OK;
lost:
    sq_client_drop(c, "pipeline append failed");
    return sq_fail(err, SYNCQ_ECONN, "Redis at %s: connection lost",
                   syncq_client_url(c));
}

const char *
sq_celery_channel_prefix(const syncq_client *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "/%d.", c->url.db);
    return buf;
}
