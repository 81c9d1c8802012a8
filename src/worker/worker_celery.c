/* SPDX-License-Identifier: MIT
 *
 * worker_celery.c: the worker's side of `syncq worker --celery`. The
 * Celery consumer (src/celery/celery_bridge.h) runs as a process of its
 * own, forked by the supervisor after its children, so a Celery message
 * being decoded never shares a process with a running task or with the
 * supervisor's loop. The supervisor only starts it, replaces it if it
 * dies (after 1 s), stops it when a shutdown begins, and adds the Celery
 * queues to the syncq queues it serves (the bridge creates each task in
 * the syncq queue named like its Celery queue).
 */
#include "worker/worker_sup.h"
#include "worker/worker_child.h"
#include "celery/celery_bridge.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t bridge_pid;
static bool bridge_stopping;
static int64_t respawn_at;
static int64_t next_check;
static struct sq_celery_bridge_opts bopts;
static const char *bqueues[SQ_WORKER_MAX_QUEUES];

int
sq_worker_celery_queues(struct sq_worker_opts *o, syncq_error *err)
{
    char qs[SQ_WORKER_MAX_QUEUES][101];
    const char *wq[SQ_WORKER_MAX_QUEUES];
    size_t n = 0;

    if (!syncq_config_bool(o->cfg, "SYNCQ_CELERY")) {
        return SYNCQ_OK;
    }
    for (size_t i = 0; i < o->nqueues; i++) {
        wq[i] = o->queues[i];
    }
    if (sq_celery_bridge_queues(o->cfg, wq, o->nqueues, qs, &n, err) !=
        SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        bool have = false;
        for (size_t j = 0; j < o->nqueues; j++) {
            have = have || strcmp(o->queues[j], qs[i]) == 0;
        }
        if (have) {
            continue;
        }
        if (o->nqueues == SQ_WORKER_MAX_QUEUES) {
            return sq_fail(err, SYNCQ_EINVAL, "SYNCQ_CELERY_QUEUES: more "
                           "than %d queues with the worker's",
                           SQ_WORKER_MAX_QUEUES);
        }
        snprintf(o->queues[o->nqueues++], sizeof o->queues[0], "%s", qs[i]);
    }
    return SYNCQ_OK;
}

static void
spawn(struct sq_sup *s)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid < 0) {
        SQ_ERROR("celery.spawn_failed", "err=\"fork: %s\"", strerror(errno));
        respawn_at = sq_mono_ms() + 1000;
        return;
    }
    if (pid == 0) {
        sq_pool_close_inherited(s, NULL);
        sq_worker_proc_init(parent, SIGTERM, "worker-celery", NULL,
                            sq_celery_bridge_stop);
        _exit(sq_celery_bridge_main(&bopts));
    }
    bridge_pid = pid;
    SQ_DEBUG("celery.spawned", "pid=%d", (int)pid);
}

void
sq_sup_celery_start(struct sq_sup *s)
{
    const struct sq_worker_opts *o = s->o;

    if (!syncq_config_bool(o->cfg, "SYNCQ_CELERY")) {
        return;
    }
    for (size_t i = 0; i < o->nqueues; i++) {
        bqueues[i] = o->queues[i];
    }
    bopts.cfg = o->cfg;
    bopts.registry = o->registry;
    bopts.worker_id = o->worker_id;
    bopts.hostname = o->hostname;
    bopts.queues = bqueues;
    bopts.nqueues = o->nqueues;
    bopts.concurrency = o->concurrency;
    bopts.reopen_log = sq_worker_proc_reopen_log;
    spawn(s);
}

void
sq_sup_celery_check(struct sq_sup *s, int64_t now)
{
    if (bopts.cfg == NULL || now < next_check) {
        return; /* --celery is off, or checked a moment ago */
    }
    next_check = now + 200;
    if (s->state != SQ_SUP_RUNNING) {
        if (bridge_pid > 0 && !bridge_stopping) {
            kill(bridge_pid, SIGTERM); /* no new messages while draining */
            bridge_stopping = true;
        }
        return;
    }
    if (bridge_pid > 0 && kill(bridge_pid, 0) != 0 && errno == ESRCH) {
        /* reaped by the pool's waitpid(-1): it exited or crashed */
        SQ_WARN("celery.exited", "pid=%d err=\"Celery consumer ended; "
                "starting another in 1 s\"", (int)bridge_pid);
        bridge_pid = 0;
        respawn_at = now + 1000;
    }
    if (bridge_pid == 0 && now >= respawn_at) {
        spawn(s);
    }
}

void
sq_sup_celery_stop(struct sq_sup *s)
{
    int64_t until = sq_mono_ms() + 3000;

    (void)s;
    if (bridge_pid <= 0) {
        return;
    }
    kill(bridge_pid, SIGTERM);
    for (;;) {
        int st;
        pid_t r = waitpid(bridge_pid, &st, WNOHANG);
        if (r == bridge_pid || (r < 0 && errno == ECHILD)) {
            break;
        }
        if (sq_mono_ms() >= until) {
            kill(bridge_pid, SIGKILL);
            waitpid(bridge_pid, &st, 0);
            break;
        }
        sq_sleep_ms(20);
    }
    bridge_pid = 0;
}
