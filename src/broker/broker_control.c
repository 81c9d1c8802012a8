/* SPDX-License-Identifier: MIT
 *
 * broker_control.c: the remote-control protocol (broker_control.h):
 * command checks, sending, acknowledgements, the paused-queue set,
 * worker name claims and name patterns.
 */
#include "broker/broker_control.h"
#include "sq_rate.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_time.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/task.h>

#define CTL_TTL_S 3600
#define ACK_TTL_S 600

static const char *const commands[] = {"ping", "pool_grow", "pool_shrink",
                                       "add_consumer", "cancel_consumer",
                                       "time_limit", "rate_limit",
                                       "shutdown", NULL};

/* A number field in lo..hi (required or not). */
static int
num_field(const json_t *cmd, const char *k, long long lo, long long hi,
          bool required, syncq_error *err)
{
    const json_t *v = json_object_get(cmd, k);

    if (v == NULL && !required) {
        return SYNCQ_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        return sq_fail(err, SYNCQ_EINVAL, "%s must be an integer %lld..%lld",
                       k, lo, hi);
    }
    return SYNCQ_OK;
}

/* rate_limit: a task name and a rate ("10/s"; "0": none). */
static int
rate_fields(const json_t *cmd, syncq_error *err)
{
    const char *t = json_string_value(json_object_get(cmd, "task"));
    const char *rate = json_string_value(json_object_get(cmd, "rate"));
    struct sq_rate r;

    if (t == NULL || t[0] == '\0' || strlen(t) > 200) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "task (a task name, 1..200 bytes) is required");
    }
    if (rate == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "rate is required (\"10/s\", "
                       "\"100/m\", \"1000/h\"; \"0\" for none)");
    }
    if (strcmp(rate, "0") != 0 && sq_rate_parse(rate, &r, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL; /* the message names the rate */
    }
    return SYNCQ_OK;
}

int
sq_ctl_check(const json_t *cmd, syncq_error *err)
{
    const char *name = json_string_value(json_object_get(cmd, "command"));
    const char *q, *t;
    size_t i;

    if (!json_is_object(cmd)) {
        return sq_fail(err, SYNCQ_EINVAL, "a command is a JSON object");
    }
    for (i = 0; name != NULL && commands[i] != NULL; i++) {
        if (strcmp(commands[i], name) == 0) {
            break;
        }
    }
    if (name == NULL || commands[i] == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "command must be one of ping, pool_grow, "
                       "pool_shrink, add_consumer, cancel_consumer, "
                       "time_limit, rate_limit, shutdown");
    }
    if (strcmp(name, "pool_grow") == 0 || strcmp(name, "pool_shrink") == 0) {
        return num_field(cmd, "n", 1, SQ_CTL_POOL_MAX, true, err);
    }
    if (strcmp(name, "add_consumer") == 0 ||
        strcmp(name, "cancel_consumer") == 0) {
        q = json_string_value(json_object_get(cmd, "queue"));
        if (q == NULL) {
            return sq_fail(err, SYNCQ_EINVAL, "queue is required");
        }
        if (syncq_queue_name_check(q, err) != SYNCQ_OK) {
            sq_error_prefix(err, "queue");
            return SYNCQ_EINVAL;
        }
    }
    if (strcmp(name, "rate_limit") == 0) {
        return rate_fields(cmd, err);
    }
    if (strcmp(name, "time_limit") == 0) {
        t = json_string_value(json_object_get(cmd, "task"));
        if (t == NULL || t[0] == '\0' || strlen(t) > 200) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "task (a task name, 1..200 bytes) is required");
        }
        if (json_object_get(cmd, "soft_s") == NULL &&
            json_object_get(cmd, "hard_s") == NULL) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "time_limit needs soft_s or hard_s (seconds, 0 "
                           "for none)");
        }
        if (num_field(cmd, "soft_s", 0, 86400 * 7, false, err) != SYNCQ_OK ||
            num_field(cmd, "hard_s", 0, 86400 * 7, false, err) != SYNCQ_OK) {
            return SYNCQ_EINVAL;
        }
        {
            /* as at enqueue: a soft limit at or past the hard one would
             * never be the one that fires (0 is "none" for either) */
            json_int_t soft = json_integer_value(json_object_get(cmd, "soft_s"));
            json_int_t hard = json_integer_value(json_object_get(cmd, "hard_s"));
            if (soft > 0 && hard > 0 && soft >= hard) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "soft time limit (%llds) must be below the "
                               "time limit (%llds)",
                               (long long)soft, (long long)hard);
            }
        }
    }
    return SYNCQ_OK;
}

static int
worker_known(syncq_client *c, const char *worker, syncq_error *err)
{
    char key[400];
    redisReply *r = NULL;
    int rc;

    if (worker == NULL || worker[0] == '\0' || strlen(worker) > 300 ||
        strpbrk(worker, " \t\r\n{}") != NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "worker name must be 1..300 characters without "
                       "spaces or braces");
    }
    rc = sq_client_cmd(c, &r, err, "ZSCORE %s %s",
                       sq_key(c, key, sizeof key, "workers"), worker);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = r->type == REDIS_REPLY_NIL
             ? sq_fail(err, SYNCQ_ENOTFOUND,
                       "no worker '%.200s' (see syncq status)", worker)
             : SYNCQ_OK;
    freeReplyObject(r);
    return rc;
}

int
sq_ctl_send(syncq_client *c, const char *worker, const json_t *cmd,
            const char *by, char id_out[37], syncq_error *err)
{
    char key[400];
    json_t *m;
    char *text;
    redisReply *r = NULL;
    int rc;

    id_out[0] = '\0';
    rc = sq_ctl_check(cmd, err);
    if (rc == SYNCQ_OK) {
        rc = worker_known(c, worker, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_uuid_new(id_out);
    m = json_deep_copy(cmd);
    json_object_set_new(m, "id", json_string(id_out));
    json_object_set_new(m, "by", json_string(by != NULL ? by : "api"));
    json_object_set_new(m, "at", json_integer(sq_now_ms()));
    text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (text == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    sq_key(c, key, sizeof key, "wctl:%s", worker);
    rc = sq_client_cmd(c, &r, err, "LPUSH %s %s", key, text);
    free(text); /* jansson's allocator */
    freeReplyObject(r);
    r = NULL;
    if (rc == SYNCQ_OK) {
        rc = sq_client_cmd(c, &r, err, "EXPIRE %s %d", key, CTL_TTL_S);
        freeReplyObject(r);
    }
    return rc;
}

int
sq_ctl_ack_get(syncq_client *c, const char *id, json_t **out,
               syncq_error *err)
{
    char key[200];
    redisReply *r = NULL;
    int rc;

    *out = NULL;
    if (id == NULL || !sq_uuid_valid(id)) {
        return sq_fail(err, SYNCQ_EINVAL, "command id must be a UUID");
    }
    rc = sq_client_cmd(c, &r, err, "GET %s",
                       sq_key(c, key, sizeof key, "ctlack:%s", id));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type == REDIS_REPLY_STRING) {
        *out = json_loadb(r->str, r->len, 0, NULL);
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

int
sq_ctl_ack_wait(syncq_client *c, const char *id, int64_t timeout_ms,
                json_t **out, syncq_error *err)
{
    int64_t end = sq_mono_ms() + timeout_ms;

    for (;;) {
        int rc = sq_ctl_ack_get(c, id, out, err);
        if (rc != SYNCQ_OK || *out != NULL) {
            return rc;
        }
        if (sq_mono_ms() >= end) {
            return sq_fail(err, SYNCQ_ETIMEDOUT,
                           "no acknowledgement within %lld ms (is the "
                           "worker running?)",
                           (long long)timeout_ms);
        }
        sq_sleep_ms(50);
    }
}

int
sq_ctl_queue_pause(syncq_client *c, const char *queue, bool pause,
                   bool *changed, bool *known, syncq_error *err)
{
    char key[200];
    redisReply *r = NULL;
    int rc;

    if (syncq_queue_name_check(queue, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    rc = sq_client_cmd(c, &r, err, "%s %s %s", pause ? "SADD" : "SREM",
                       sq_key(c, key, sizeof key, "paused"), queue);
    if (rc == SYNCQ_OK && changed != NULL) {
        *changed = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    }
    freeReplyObject(r);
    if (rc == SYNCQ_OK && known != NULL) {
        r = NULL;
        rc = sq_client_cmd(c, &r, err, "SISMEMBER %s %s",
                           sq_key(c, key, sizeof key, "queues"), queue);
        *known = rc == SYNCQ_OK && r->type == REDIS_REPLY_INTEGER &&
                 r->integer == 1;
        freeReplyObject(r);
    }
    return rc;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
sq_ctl_paused(syncq_client *c, json_t **out, syncq_error *err)
{
    char key[200];
    redisReply *r = NULL;
    const char **names;
    int rc;

    *out = NULL;
    rc = sq_client_cmd(c, &r, err, "SMEMBERS %s",
                       sq_key(c, key, sizeof key, "paused"));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *out = json_array();
    names = sq_calloc(r->elements + 1, sizeof *names);
    for (size_t i = 0; names != NULL && i < r->elements; i++) {
        names[i] = r->element[i]->str != NULL ? r->element[i]->str : "";
    }
    if (names != NULL) {
        qsort(names, r->elements, sizeof *names, cmp_str);
        for (size_t i = 0; i < r->elements; i++) {
            json_array_append_new(*out, json_string(names[i]));
        }
    }
    sq_free(names);
    freeReplyObject(r);
    return SYNCQ_OK;
}

/* A name's claim key and the value this process holds it with. */
static void
claim_of(syncq_client *c, const char *name, const char *host, int pid,
         char key[400], char val[320])
{
    sq_key(c, key, 400, "wname:%s", name);
    snprintf(val, 320, "%s %d", host, pid);
}

int
sq_ctl_claim_name(syncq_client *c, const char *name, const char *host,
                  int pid, int64_t ttl_ms, bool *claimed, syncq_error *err)
{
    char key[400], val[320];
    redisReply *r = NULL;
    int rc;

    *claimed = false;
    claim_of(c, name, host, pid, key, val);
    rc = sq_client_cmd(c, &r, err, "SET %s %s NX PX %lld", key, val,
                       (long long)ttl_ms);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *claimed = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    r = NULL;
    if (*claimed) {
        return SYNCQ_OK;
    }
    /* held: by a process of this host that is gone (a crash, a restart
     * faster than the claim's expiry)? then it is ours */
    rc = sq_client_cmd(c, &r, err, "GET %s", key);
    if (rc == SYNCQ_OK && r->type == REDIS_REPLY_STRING) {
        const char *sp = strrchr(r->str, ' ');
        size_t hl = sp != NULL ? (size_t)(sp - r->str) : 0;
        long other = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
        if (sp != NULL && hl == strlen(host) &&
            memcmp(r->str, host, hl) == 0 && other > 0 &&
            (other == pid || (kill((pid_t)other, 0) != 0 && errno == ESRCH))) {
            redisReply *s = NULL;
            rc = sq_client_cmd(c, &s, err, "SET %s %s PX %lld", key, val,
                               (long long)ttl_ms);
            freeReplyObject(s);
            *claimed = rc == SYNCQ_OK;
        }
    }
    freeReplyObject(r);
    return rc;
}

int
sq_ctl_renew_name(syncq_client *c, const char *name, const char *host,
                  int pid, int64_t ttl_ms, bool *held, syncq_error *err)
{
    char key[400], val[320];
    redisReply *r = NULL;
    int rc;

    *held = true;
    claim_of(c, name, host, pid, key, val);
    rc = sq_client_cmd(c, &r, err, "GET %s", key);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type == REDIS_REPLY_STRING) {
        *held = strcmp(r->str, val) == 0;
        freeReplyObject(r);
        r = NULL;
        rc = *held ? sq_client_cmd(c, &r, err, "PEXPIRE %s %lld", key,
                                   (long long)ttl_ms)
                   : SYNCQ_OK;
        freeReplyObject(r);
        return rc;
    }
    freeReplyObject(r);
    return sq_ctl_claim_name(c, name, host, pid, ttl_ms, held, err);
}

int
sq_ctl_name_expand(const char *p, const char *host, int index, char *out,
                   size_t cap, syncq_error *err)
{
    size_t w = 0;
    const char *dot = strchr(host, '.');
    size_t first = dot != NULL ? (size_t)(dot - host) : strlen(host);

    for (; *p != '\0'; p++) {
        char piece[300];
        size_t n;
        if (*p != '%') {
            piece[0] = *p;
            piece[1] = '\0';
        } else if (p[1] == 'h') {
            snprintf(piece, sizeof piece, "%s", host);
        } else if (p[1] == 'n') {
            snprintf(piece, sizeof piece, "%.*s", (int)first, host);
        } else if (p[1] == 'd') {
            snprintf(piece, sizeof piece, "%s", dot != NULL ? dot + 1 : "");
        } else if (p[1] == 'i') {
            snprintf(piece, sizeof piece, "%d", index);
        } else if (p[1] == '%') {
            snprintf(piece, sizeof piece, "%%");
        } else {
            return sq_fail(err, SYNCQ_EINVAL,
                           "worker name '%.60s': unknown %%%c (use %%h host, "
                           "%%n short host, %%d domain, %%i index, %%%%)",
                           p, p[1] != '\0' ? p[1] : ' ');
        }
        if (*p == '%') {
            p++;
        }
        n = strlen(piece);
        if (w + n >= cap) {
            return sq_fail(err, SYNCQ_EINVAL, "worker name over %zu bytes",
                           cap - 1);
        }
        memcpy(out + w, piece, n);
        w += n;
    }
    out[w] = '\0';
    if (w == 0 || strpbrk(out, " \t\r\n{}") != NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "worker name '%.60s' must be 1..%zu characters "
                       "without spaces or braces",
                       out, cap - 1);
    }
    return SYNCQ_OK;
}
