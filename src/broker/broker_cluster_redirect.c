/* SPDX-License-Identifier: MIT
 *
 * broker_cluster_redirect.c: MOVED and ASK replies followed on a side
 * connection, and the cluster errors that mean "try again later"
 * (broker_cluster.h). The connection layer (broker_io.c) hands every
 * reply here with a copy of the command it answers.
 */
#include "broker/broker.h"
#include "broker/broker_cluster.h"
#include "broker/broker_io.h"
#include "broker/broker_script_keys.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* Argument `idx` of the command (0: its name), from hiredis's
 * "*N\r\n$L\r\nNAME\r\n$L\r\nARG\r\n...". */
static bool
cmd_arg(const struct sq_cmd_copy *cmd, int idx, const char **arg, size_t *n)
{
    const char *end = cmd->buf + cmd->len;
    const char *p = memchr(cmd->buf, '\n', cmd->len);

    for (int i = 0;; i++) {
        const char *q;
        if (p == NULL || p + 2 >= end || p[1] != '$') {
            return false;
        }
        q = memchr(p + 1, '\n', (size_t)(end - p - 1));
        if (q == NULL) {
            return false;
        }
        *arg = q + 1;
        *n = (size_t)strtoul(p + 2, NULL, 10);
        if (*arg + *n + 2 > end) {
            return false;
        }
        if (i == idx) {
            return true;
        }
        p = *arg + *n + 1; /* the '\n' ending this argument */
    }
}

static bool
cmd_name(const struct sq_cmd_copy *cmd, const char **name, size_t *n)
{
    return cmd_arg(cmd, 0, name, n);
}

/* Commands that may block: following them on the side connection would
 * block the caller's loop; they become a lost connection instead. */
static bool
blocking(const struct sq_cmd_copy *cmd)
{
    static const char *const names[] = {
        "BRPOP",    "BLPOP",    "BRPOPLPUSH", "BLMOVE", "BLMPOP",
        "BZPOPMIN", "BZPOPMAX", "BZMPOP",     "XREAD",  "XREADGROUP",
        "WAIT",
    };
    const char *name;
    size_t n;

    if (!cmd_name(cmd, &name, &n)) {
        return true; /* unknown: do not follow */
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/* EVALSHA, EVAL, FCALL and their read-only forms. */
static bool
is_script(const struct sq_cmd_copy *cmd)
{
    const char *name;
    size_t n;

    return cmd != NULL && cmd_name(cmd, &name, &n) && n >= 4 &&
           (strncasecmp(name, "EVAL", 4) == 0 ||
            strncasecmp(name, "FCALL", 5) == 0);
}

/* A script of ours that declares every key it touches (EVAL sends the
 * source: not recognised, so not followed). */
static bool
script_ask_safe(const syncq_client *c, const struct sq_cmd_copy *cmd)
{
    const char *name;
    size_t n;
    int id;

    if (!cmd_arg(cmd, 1, &name, &n)) {
        return false;
    }
    id = sq_script_named(c, name, n);
    return id >= 0 && sq_script_ask_safe((enum sq_script_id)id);
}

/* The reply becomes a lost connection: the caller drops it (and resends
 * when the command did not run and may be resent). With `backoff`, a
 * transient fault too (logged once, the one backoff, broker_fault.h):
 * msg's first word is its code. */
static int
lose(syncq_client *c, redisReply **reply, bool not_run, bool backoff,
     const char *fmt, ...)
{
    char msg[sizeof c->rc->errstr];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (backoff) {
        sq_fault_note_transient(c, msg, "reply");
    }
    freeReplyObject(*reply);
    *reply = NULL;
    c->conn->not_run = not_run;
    c->rc->err = REDIS_ERR_IO;
    snprintf(c->rc->errstr, sizeof c->rc->errstr, "%s", msg);
    return REDIS_ERR;
}

/* The function library on a side link (FCALL is followed as it is):
 * loaded unless that node has it already. */
static int
side_library(redisContext *rc, struct ssl_st *ssl)
{
    size_t len;
    const char *lib = sq_script_library(&len);
    const char *argv[3] = {"FUNCTION", "LOAD", lib};
    size_t lens[3] = {8, 4, len};
    void *r = NULL;
    int bad;

    if (lib == NULL || redisAppendCommandArgv(rc, 3, argv, lens) != REDIS_OK ||
        sq_link_get_reply(rc, ssl, &r) != REDIS_OK || r == NULL) {
        return REDIS_ERR;
    }
    bad = ((redisReply *)r)->type == REDIS_REPLY_ERROR &&
          strstr(((redisReply *)r)->str, "already exists") == NULL;
    freeReplyObject(r);
    return bad ? REDIS_ERR : REDIS_OK;
}

/* The side connection to host:port, with every script loaded (a followed
 * EVALSHA must not meet NOSCRIPT: its fallback would be redirected too). */
static int
side_open(syncq_client *c, const char *host, int port, char *why,
          size_t cap)
{
    struct sq_cluster *cl = c->conn->cl;
    syncq_error e;
    int bad = 0;

    if (cl->side != NULL &&
        (cl->side_port != port || strcmp(cl->side_host, host) != 0)) {
        sq_cluster_link_close(&cl->side, &cl->side_ssl);
    }
    if (cl->side != NULL) {
        return REDIS_OK;
    }
    if (sq_cluster_link_open(c, host, port, &cl->side, &cl->side_ssl, &e) !=
        SYNCQ_OK) {
        snprintf(why, cap, "%s", e.msg);
        return REDIS_ERR;
    }
    if (c->conn->min_replicas > 0) {
        int64_t ms = c->timeout_ms + c->conn->min_replicas_timeout_ms;
        struct timeval tv = {(time_t)(ms / 1000),
                             (suseconds_t)((ms % 1000) * 1000)};
        redisSetTimeout(cl->side, tv);
    }
    if (c->fcall && side_library(cl->side, cl->side_ssl) != REDIS_OK) {
        bad = 1;
    }
    for (int i = 0; i < SQ_SCRIPT__COUNT; i++) {
        char *src = sq_script_source((enum sq_script_id)i);
        const char *argv[3] = {"SCRIPT", "LOAD", src};
        size_t lens[3] = {6, 4, src != NULL ? strlen(src) : 0};
        if (src == NULL ||
            redisAppendCommandArgv(cl->side, 3, argv, lens) != REDIS_OK) {
            bad = 1;
        }
        sq_free(src);
    }
    for (int i = 0; !bad && i < SQ_SCRIPT__COUNT; i++) {
        void *r = NULL;
        if (sq_link_get_reply(cl->side, cl->side_ssl, &r) != REDIS_OK) {
            bad = 1;
        } else {
            bad = ((redisReply *)r)->type == REDIS_REPLY_ERROR;
            freeReplyObject(r);
        }
    }
    if (bad) {
        snprintf(why, cap, "%s:%d: loading the scripts failed: %s", host,
                 port, cl->side->errstr[0] ? cl->side->errstr : "error");
        sq_cluster_link_close(&cl->side, &cl->side_ssl);
        return REDIS_ERR;
    }
    snprintf(cl->side_host, sizeof cl->side_host, "%s", host);
    cl->side_port = port;
    return REDIS_OK;
}

/* One reply of the side connection into *out. */
static int
side_reply(struct sq_cluster *cl, redisReply **out, char *why, size_t cap)
{
    void *r = NULL;

    if (sq_link_get_reply(cl->side, cl->side_ssl, &r) != REDIS_OK ||
        r == NULL) {
        snprintf(why, cap, "%s:%d: %s", cl->side_host, cl->side_port,
                 cl->side->errstr[0] ? cl->side->errstr : "connection lost");
        sq_cluster_link_close(&cl->side, &cl->side_ssl);
        return REDIS_ERR;
    }
    *out = r;
    return REDIS_OK;
}

/* Send `cmd` (after ASKING when `asking`, followed by its WAIT when it
 * is durable) to host:port; its reply into *out. */
static int
side_call(syncq_client *c, const char *host, int port, bool asking,
          const struct sq_cmd_copy *cmd, redisReply **out, char *why,
          size_t cap)
{
    struct sq_cluster *cl = c->conn->cl;
    bool durable = cmd->durable && c->conn->min_replicas > 0;
    redisReply *r = NULL;

    *out = NULL;
    if (side_open(c, host, port, why, cap) != REDIS_OK) {
        return REDIS_ERR;
    }
    if ((asking && redisAppendCommand(cl->side, "ASKING") != REDIS_OK) ||
        redisAppendFormattedCommand(cl->side, cmd->buf, cmd->len) !=
            REDIS_OK ||
        (durable && redisAppendCommand(cl->side, "WAIT %d %lld",
                                       c->conn->min_replicas,
                                       (long long)c->conn
                                           ->min_replicas_timeout_ms) !=
                        REDIS_OK)) {
        snprintf(why, cap, "out of memory");
        return REDIS_ERR;
    }
    if (asking) {
        if (side_reply(cl, &r, why, cap) != REDIS_OK) {
            return REDIS_ERR;
        }
        freeReplyObject(r); /* +OK; an error shows in the next reply */
    }
    if (side_reply(cl, out, why, cap) != REDIS_OK) {
        return REDIS_ERR;
    }
    if (durable) {
        if (side_reply(cl, &r, why, cap) != REDIS_OK) {
            freeReplyObject(*out);
            *out = NULL;
            return REDIS_ERR;
        }
        if ((*out)->type != REDIS_REPLY_ERROR &&
            (r->type != REDIS_REPLY_INTEGER ||
             r->integer < c->conn->min_replicas)) {
            snprintf(why, cap, "not acknowledged: %lld of %d replica(s) "
                     "confirmed (SYNCQ_BROKER_MIN_REPLICAS)",
                     r->type == REDIS_REPLY_INTEGER ? r->integer : -1LL,
                     c->conn->min_replicas);
            freeReplyObject(r);
            freeReplyObject(*out);
            *out = NULL;
            return REDIS_ERR;
        }
        freeReplyObject(r);
    }
    return REDIS_OK;
}

/* MOVED <slot> <host:port> or ASK <slot> <host:port>. */
static int
redirect(syncq_client *c, redisReply **reply, const struct sq_cmd_copy *cmd)
{
    struct sq_cluster *cl = c->conn->cl;
    bool ask = (*reply)->str[0] == 'A';
    const char *kind = ask ? "ASK" : "MOVED";
    char addr[300], why[200];
    redisReply *out = NULL;
    char *colon;
    int slot, port;

    if (sscanf((*reply)->str + (ask ? 4 : 6), "%d %299s", &slot, addr) != 2 ||
        (colon = strrchr(addr, ':')) == NULL) {
        return REDIS_OK; /* not a redirect we understand: an error */
    }
    *colon = '\0';
    port = (int)strtol(colon + 1, NULL, 10);
    if (ask) {
        cl->asked++;
    } else {
        cl->moved++;
        if (slot == cl->slot) {
            snprintf(cl->hint_host, sizeof cl->hint_host, "%s", addr);
            cl->hint_port = port;
            cl->switch_pending = true;
        }
    }
    SQ_DEBUG("broker.redirect", "kind=%s slot=%d addr=%s:%d", kind, slot,
             addr, port);
    if (ask && is_script(cmd) && !script_ask_safe(c, cmd)) {
        /* A script that derives keys as it runs: on the target, a key
         * not migrated yet would look missing (and a key created there
         * would clash with the source's, BUSYKEY). It waits, with the
         * backoff, for the migration to end (MOVED). A script that
         * declares all its keys follows ASK like a plain command: the
         * target runs it only when every declared key has arrived, or
         * answers TRYAGAIN (broker_script_keys.c). */
        return lose(c, reply, true, true, "TRYAGAIN slot %d is being "
                    "migrated to %s:%d: scripts wait for the end of the "
                    "migration", slot, addr, port);
    }
    if (cmd == NULL || blocking(cmd)) {
        return lose(c, reply, true, ask, "%s slot %d is on %s:%d "
                    "(a blocking command is not followed)", kind, slot,
                    addr, port);
    }
    if (side_call(c, addr, port, ask, cmd, &out, why, sizeof why) !=
        REDIS_OK) {
        return lose(c, reply, false, true, "TRYAGAIN following %s of slot "
                    "%d: %s", kind, slot, why);
    }
    if (out->type == REDIS_REPLY_ERROR &&
        strncmp(out->str, "TRYAGAIN", 8) == 0) {
        /* the target lacks some of a declared script's keys: not run */
        freeReplyObject(out);
        return lose(c, reply, true, true, "TRYAGAIN slot %d is being "
                    "migrated to %s:%d: not every key of the script is "
                    "there yet", slot, addr, port);
    }
    if (out->type == REDIS_REPLY_ERROR &&
        (strncmp(out->str, "MOVED ", 6) == 0 ||
         strncmp(out->str, "ASK ", 4) == 0)) {
        snprintf(why, sizeof why, "%.120s", out->str);
        freeReplyObject(out);
        return lose(c, reply, true, true, "TRYAGAIN slot %d redirected "
                    "twice (%s): the slot map is changing", slot, why);
    }
    freeReplyObject(*reply);
    *reply = out;
    return REDIS_OK;
}

int
sq_cluster_check_reply(syncq_client *c, redisReply **reply,
                       const struct sq_cmd_copy *cmd)
{
    struct sq_cluster *cl = c->conn != NULL ? c->conn->cl : NULL;
    const redisReply *r = *reply;

    if (cl == NULL || r == NULL || r->type != REDIS_REPLY_ERROR) {
        return REDIS_OK;
    }
    if (strncmp(r->str, "MOVED ", 6) == 0 || strncmp(r->str, "ASK ", 4) == 0) {
        return redirect(c, reply, cmd);
    }
    /* A script that met a key of its slot already migrated (its declared
     * key was still here), or a cluster without quorum: the script
     * stopped there; it is retried after the backoff on a fresh map. */
    if (strstr(r->str, "non local key") != NULL ||
        strstr(r->str, "keys that do not hash to the same slot") != NULL) {
        return lose(c, reply, false, true, "TRYAGAIN slot %d is being "
                    "migrated (%.120s)", cl->slot, r->str);
    }
    if (strstr(r->str, "cluster is down") != NULL &&
        strncmp(r->str, "CLUSTERDOWN", 11) != 0) { /* a script's */
        return lose(c, reply, false, true, "CLUSTERDOWN %.160s", r->str);
    }
    return REDIS_OK;
}
