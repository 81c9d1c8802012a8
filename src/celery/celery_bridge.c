/* SPDX-License-Identifier: MIT
 *
 * celery_bridge.c: the Celery consumer process of `syncq worker --celery`
 * (celery_bridge.h): settings, connections and the poll() loop. Four
 * connections: commands; BRPOP over kombu's lists (only while fewer than
 * the window's messages are held, which is kombu's prefetch limit);
 * XREAD of syncq's events stream; SUBSCRIBE to the pidbox channel. Timers:
 * worker-heartbeat every 2 s, restore_visible at start and then every
 * min(visibility timeout / 2, 100 s), the in-flight sweep every 10 s.
 * SIGTERM/SIGINT (sq_celery_bridge_stop, installed by the worker) stop it
 * after the message in hand; it also stops when the worker that forked it
 * goes away.
 */
#include "celery/celery_bridge_int.h"
#include "celery/celery_message.h"
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HEARTBEAT_MS 2000
#define SWEEP_MS 10000
#define RESTORE_LIMIT 10
#define BATCH_MAX 256 /* messages handled per round */

static volatile sig_atomic_t stop_flag;

void
sq_celery_bridge_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int
sq_celery_bridge_queues(const syncq_config *cfg,
                        const char *const *worker_queues, size_t nwq,
                        char (*out)[101], size_t *n, syncq_error *err)
{
    const char *csv = syncq_config_str(cfg, "SYNCQ_CELERY_QUEUES");
    int steps[10];
    size_t nsteps;

    *n = 0;
    if (sq_celery_steps_parse(syncq_config_str(cfg,
                                               "SYNCQ_CELERY_PRIORITY_STEPS"),
                              steps, &nsteps, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    if (csv == NULL || csv[0] == '\0') {
        for (size_t i = 0; i < nwq && i < SQ_KOMBU_MAX_QUEUES; i++) {
            snprintf(out[(*n)++], 101, "%s", worker_queues[i]);
        }
        return SYNCQ_OK;
    }
    for (const char *p = csv; *p != '\0';) {
        size_t len = strcspn(p, ",");
        char q[101];
        if (len == 0 || len >= sizeof q || *n == SQ_KOMBU_MAX_QUEUES) {
            return sq_fail(err, SYNCQ_EINVAL, "SYNCQ_CELERY_QUEUES '%.100s':"
                           " empty or over-long name, or over %d queues",
                           csv, SQ_KOMBU_MAX_QUEUES);
        }
        memcpy(q, p, len);
        q[len] = '\0';
        if (syncq_queue_name_check(q, err) != SYNCQ_OK) {
            sq_error_prefix(err, "SYNCQ_CELERY_QUEUES");
            return SYNCQ_EINVAL;
        }
        snprintf(out[(*n)++], 101, "%s", q);
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    return SYNCQ_OK;
}

/* Celery node name: the worker's --hostname when it has an '@', else
 * syncq-<pid>@<host> (unique per process, as Celery wants). */
static void
node_name(const struct sq_celery_bridge_opts *o, char out[256])
{
    const char *hn = syncq_config_str(o->cfg, "SYNCQ_WORKER_HOSTNAME");

    if (hn != NULL && strchr(hn, '@') != NULL) {
        snprintf(out, 256, "%s", hn);
    } else if (hn != NULL && hn[0] != '\0') {
        snprintf(out, 256, "syncq@%.200s", hn);
    } else {
        snprintf(out, 256, "syncq-%d@%.200s", (int)getppid(), o->hostname);
    }
}

static int
setup(struct sq_bridge *b, const struct sq_celery_bridge_opts *o,
      syncq_error *err)
{
    const syncq_config *cfg = o->cfg;
    int64_t vt = syncq_config_ms(cfg, "SYNCQ_CELERY_VISIBILITY_TIMEOUT");
    int rc;

    memset(b, 0, sizeof *b);
    b->o = o;
    rc = sq_celery_bridge_queues(cfg, o->queues, o->nqueues, b->k.queues,
                                 &b->k.nqueues, err);
    if (rc == SYNCQ_OK) {
        rc = sq_celery_steps_parse(
            syncq_config_str(cfg, "SYNCQ_CELERY_PRIORITY_STEPS"), b->k.steps,
            &b->k.nsteps, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    b->k.visibility_ms = vt;
    b->restore_every_ms = vt / 2 < 100000 ? vt / 2 : 100000;
    if (b->restore_every_ms < 1000) {
        b->restore_every_ms = 1000;
    }
    b->task_events = syncq_config_bool(cfg, "SYNCQ_CELERY_EVENTS");
    b->track_started = syncq_config_bool(cfg, "SYNCQ_CELERY_TRACK_STARTED");
    b->window = o->concurrency *
                (int)syncq_config_int(cfg, "SYNCQ_CELERY_PREFETCH_MULTIPLIER");
    b->result_expires_ms = syncq_config_ms(cfg, "SYNCQ_RESULT_EXPIRES");
    b->own = json_object();
    b->totals = json_object();
    b->limits = json_object();
    b->cancelled = json_object();
    node_name(o, b->node.name);
    b->node.pid = (int)getppid();
    rc = syncq_client_open(NULL, cfg, &b->c, err);
    if (rc == SYNCQ_OK) {
        rc = sq_client_clone(b->c, &b->pop, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_client_clone(b->c, &b->xr, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_client_clone(b->c, &b->sub, err);
    }
    if (rc == SYNCQ_OK) {
        sq_celery_channel_prefix(b->c, b->node.prefix, sizeof b->node.prefix);
    }
    return rc;
}

static void
teardown(struct sq_bridge *b)
{
    syncq_client_close(b->sub);
    syncq_client_close(b->xr);
    syncq_client_close(b->pop);
    syncq_client_close(b->c);
    for (size_t i = 0; i < b->npend; i++) {
        sq_free(b->pend[i].raw);
    }
    sq_free(b->pend);
    json_decref(b->own);
    json_decref(b->totals);
    json_decref(b->limits);
    json_decref(b->cancelled);
}

/* Send one command on an asynchronous connection (no wait for the
 * reply). False when the connection is down (retried next turn). */
static bool
async_send(syncq_client *c, int argc, const char **argv, const size_t *lens)
{
    int done = 0;

    if (sq_client_ensure(c, false, NULL, NULL) != SYNCQ_OK) {
        return false;
    }
    if (sq_conn_append_argv(c, argc, argv, lens) != REDIS_OK) {
        sq_client_drop(c, "append failed");
        return false;
    }
    while (!done) {
        if (sq_conn_buffer_write(c, &done) != REDIS_OK) {
            sq_client_drop(c, "write failed");
            return false;
        }
    }
    return true;
}

/* Read what arrived: 1 with *r set, 0 nothing complete yet, -1 lost. */
static int
async_read(syncq_client *c, bool readable, redisReply **r)
{
    void *rep = NULL;

    *r = NULL;
    if (c->rc == NULL) {
        return -1;
    }
    if (readable && sq_conn_buffer_read(c) != REDIS_OK) {
        sq_client_drop(c, "read failed");
        return -1;
    }
    if (sq_conn_reply_from_reader(c, &rep) != REDIS_OK) {
        sq_client_drop(c, "bad reply");
        return -1;
    }
    *r = rep;
    return rep != NULL ? 1 : 0;
}

/* BRPOP over kombu's keys of the queues not cancelled (remote
 * control); nothing while every one is. */
static void
arm_pop(struct sq_bridge *b)
{
    char keys[SQ_KOMBU_MAX_QUEUES * 10][160];
    const char *argv[SQ_KOMBU_MAX_QUEUES * 10 + 2];
    size_t n = sq_kombu_keys(&b->k, keys, SQ_KOMBU_MAX_QUEUES * 10);
    size_t k = 0;

    argv[0] = "BRPOP";
    for (size_t i = 0; i < n; i++) {
        char q[101];
        if (sq_kombu_queue_of(&b->k, keys[i], q) &&
            json_object_get(b->cancelled, q) == NULL) {
            argv[1 + k++] = keys[i];
        }
    }
    if (k == 0) {
        return;
    }
    argv[1 + k] = "1";
    b->pop_out = async_send(b->pop, (int)k + 2, argv, NULL);
}

static void
arm_xread(struct sq_bridge *b)
{
    char key[200];
    const char *argv[] = {"XREAD", "COUNT", "256", "BLOCK", "1000",
                          "STREAMS", key, b->last_event};

    snprintf(key, sizeof key, "%sevents", b->c->prefix);
    b->xr_out = async_send(b->xr, 8, argv, NULL);
}

static void
arm_sub(struct sq_bridge *b)
{
    char ch[64];
    const char *argv[] = {"SUBSCRIBE", ch};

    sq_celery_pidbox_channel(&b->node, ch, sizeof ch);
    b->subscribed = async_send(b->sub, 2, argv, NULL);
}

/* After BRPOP delivered one message from `key`, take up to `more` of
 * the same list at once (RPOP key count): the same messages in the same
 * order a BRPOP each would give, in one round trip. */
static redisReply *
pop_more(struct sq_bridge *b, const char *key, int more)
{
    struct sq_rcmd cmd;
    char n[16];
    redisReply *r = NULL;

    if (more <= 0) {
        return NULL;
    }
    snprintf(n, sizeof n, "%d", more);
    sq_rcmd_set(&cmd, "RPOP", key, n, NULL);
    if (sq_celery_pipeline(b->c, false, &cmd, 1, &r, NULL) != SYNCQ_OK) {
        return NULL; /* nothing was taken */
    }
    return r;
}

static void
on_pop(struct sq_bridge *b, bool readable)
{
    redisReply *r = NULL, *more = NULL;
    int got = async_read(b->pop, readable, &r);
    const char *raws[BATCH_MAX];
    size_t lens[BATCH_MAX], n = 0;
    char queue[101];

    if (got == 0) {
        return;
    }
    b->pop_out = false;
    if (got < 0) {
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING &&
        sq_kombu_queue_of(&b->k, r->element[0]->str, queue)) {
        int room = b->window - b->held - 1;
        raws[n] = r->element[1]->str;
        lens[n++] = r->element[1]->len;
        more = pop_more(b, r->element[0]->str,
                        room < BATCH_MAX - 1 ? room : BATCH_MAX - 1);
        for (size_t i = 0; more != NULL && more->type == REDIS_REPLY_ARRAY &&
                           i < more->elements && n < BATCH_MAX;
             i++) {
            if (more->element[i]->type == REDIS_REPLY_STRING) {
                raws[n] = more->element[i]->str;
                lens[n++] = more->element[i]->len;
            }
        }
        sq_kombu_rotate(&b->k, queue);
        sq_bridge_messages(b, queue, raws, lens, n);
    }
    freeReplyObject(more);
    freeReplyObject(r);
}

static void
on_xread(struct sq_bridge *b, bool readable)
{
    redisReply *r = NULL;
    int got = async_read(b->xr, readable, &r);

    if (got == 0) {
        return;
    }
    b->xr_out = false;
    if (got > 0) {
        sq_bridge_events(b, r);
        freeReplyObject(r);
    }
}

static void
on_sub(struct sq_bridge *b, bool readable)
{
    redisReply *r = NULL;
    int got;

    while ((got = async_read(b->sub, readable, &r)) > 0) {
        readable = false;
        /* ["message", channel, payload] */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[0]->str, "message") == 0 &&
            r->element[2]->type == REDIS_REPLY_STRING) {
            sq_bridge_control(b, r->element[2]->str, r->element[2]->len);
        }
        freeReplyObject(r);
    }
    if (got < 0) {
        b->subscribed = false;
    }
}

static int
fd_of(syncq_client *c)
{
    return c->rc != NULL ? c->rc->fd : -1;
}

static void
timers(struct sq_bridge *b, int64_t now)
{
    if (now >= b->next_hb) {
        b->node.active = b->held;
        sq_celery_worker_event(b->c, &b->node, "worker-heartbeat", NULL);
        b->next_hb = now + HEARTBEAT_MS;
        sq_bridge_pending_retry(b);
    }
    if (now >= b->next_restore) {
        int n = 0;
        sq_kombu_restore(b->c, &b->k, RESTORE_LIMIT, &n, NULL);
        b->next_restore = now + b->restore_every_ms;
    }
    if (now >= b->next_sweep) {
        sq_bridge_sweep(b);
        b->next_sweep = now + SWEEP_MS;
    }
}

static void
loop(struct sq_bridge *b)
{
    while (!stop_flag || b->pop_out) {
        struct pollfd p[3];
        int64_t now = sq_mono_ms();
        int np = 0, ip = -1, ix = -1, is = -1;
        if (b->o->reopen_log != NULL) {
            b->o->reopen_log();
        }
        if (getppid() == 1) {
            break; /* the worker is gone */
        }
        timers(b, now);
        if (!stop_flag && !b->pop_out && b->held < b->window &&
            b->npend == 0) {
            arm_pop(b);
        }
        if (!b->xr_out) {
            arm_xread(b);
        }
        if (!b->subscribed) {
            arm_sub(b);
        }
        if (b->pop_out && fd_of(b->pop) < 0) {
            b->pop_out = false; /* lost with its connection */
        }
        if (b->xr_out && fd_of(b->xr) < 0) {
            b->xr_out = false;
        }
        if (b->pop_out && fd_of(b->pop) >= 0) {
            ip = np;
            p[np++] = (struct pollfd){fd_of(b->pop), POLLIN, 0};
        }
        if (b->xr_out && fd_of(b->xr) >= 0) {
            ix = np;
            p[np++] = (struct pollfd){fd_of(b->xr), POLLIN, 0};
        }
        if (b->subscribed && fd_of(b->sub) >= 0) {
            is = np;
            p[np++] = (struct pollfd){fd_of(b->sub), POLLIN, 0};
        }
        if (poll(p, (nfds_t)np, 250) < 0 && errno != EINTR) {
            sq_sleep_ms(100);
            continue;
        }
        if (ip >= 0 && (p[ip].revents != 0)) {
            on_pop(b, true);
        }
        if (ix >= 0 && (p[ix].revents != 0)) {
            on_xread(b, true);
        }
        if (is >= 0 && (p[is].revents != 0)) {
            on_sub(b, true);
        }
        if (np == 0) {
            sq_sleep_ms(250); /* Redis away: the clients back off */
        }
    }
}

int
sq_celery_bridge_main(const struct sq_celery_bridge_opts *o)
{
    struct sq_bridge b;
    syncq_error err;
    char qs[400] = "";
    size_t off = 0;

    if (setup(&b, o, &err) != SYNCQ_OK) {
        char q[300];
        SQ_ERROR("celery.start_failed", "err=%s",
                 sq_log_quote(err.msg, q, sizeof q));
        teardown(&b);
        return 1;
    }
    for (size_t i = 0; i < b.k.nqueues && off < sizeof qs; i++) {
        off += (size_t)snprintf(qs + off, sizeof qs - off, "%s%s",
                                i ? "," : "", b.k.queues[i]);
    }
    SQ_INFO("celery.ready", "node=%s queues=%s window=%d events=%s "
            "visibility_timeout_ms=%lld", b.node.name, qs, b.window,
            b.task_events ? "on" : "off", (long long)b.k.visibility_ms);
    sq_bridge_events_start(&b);
    sq_celery_worker_event(b.c, &b.node, "worker-online", NULL);
    loop(&b);
    /* messages taken while Redis was away are only in memory: try for a
     * few seconds more before giving up on them */
    for (int i = 0; i < 25 && b.npend > 0; i++) {
        sq_bridge_pending_retry(&b);
        if (b.npend > 0) {
            sq_sleep_ms(200);
        }
    }
    if (b.npend > 0) {
        SQ_ERROR("celery.messages_lost", "count=%zu err=\"Redis unreachable "
                 "at exit; those registered in unacked come back after the "
                 "visibility timeout\"", b.npend);
    }
    sq_celery_worker_event(b.c, &b.node, "worker-offline", NULL);
    SQ_INFO("celery.stopped", "node=%s adopted=%lld poisoned=%lld "
            "held=%d", b.node.name, b.adopted, b.poisoned, b.held);
    teardown(&b);
    return 0;
}
