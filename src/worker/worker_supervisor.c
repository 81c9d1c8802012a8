/* SPDX-License-Identifier: MIT
 *
 * worker_supervisor.c: the supervisor's event loop (one thread, poll()).
 * Each turn: handle signals (self-pipe), reap children, enforce time
 * limits, settle outcomes fused with the next lease, heartbeat, hand
 * tasks to idle children, then sleep in poll() on the children's pipes,
 * the signal pipe and the wake connection until the next deadline.
 *
 * Shutdown: the first SIGTERM/SIGINT is warm (stop leasing, hand back
 * prefetched tasks, let running tasks finish within SYNCQ_SHUTDOWN_GRACE,
 * ask those still running to stop (checkpoint) shortly before the grace
 * ends, then kill and requeue what is left); a second one
 * or SIGQUIT is cold (kill the children, requeue their tasks if Redis
 * answers, otherwise their leases lapse). SIGHUP reopens the log file.
 * Signal handlers only set flags and write a byte to the self-pipe.
 */
#include "worker/worker_sup.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_logwriter.h"
#include "core/sq_time.h"
#include "worker/worker_ctx.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int sig_fd = -1;
static volatile sig_atomic_t got_term;  /* SIGTERM/SIGINT count */
static volatile sig_atomic_t got_quit;
static volatile sig_atomic_t got_hup;
static volatile sig_atomic_t got_chld;  /* a child exited: reap */
static volatile int stop_waiting;       /* for the startup connect loop */

static void
poke(void)
{
    int saved = errno;

    if (sig_fd >= 0) {
        ssize_t n = write(sig_fd, "x", 1);
        (void)n;
    }
    errno = saved;
}

static void
on_signal(int sig)
{
    if (sig == SIGTERM || sig == SIGINT) {
        got_term++;
        stop_waiting = 1;
    } else if (sig == SIGQUIT) {
        got_quit = 1;
        stop_waiting = 1;
    } else if (sig == SIGHUP) {
        got_hup = 1;
    }
    poke();
}

static void
on_chld(int sig)
{
    (void)sig;
    got_chld = 1;
    poke();
}

static int
install_signals(struct sq_sup *s, syncq_error *err)
{
    struct sigaction sa;

    if (pipe2(s->sigpipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "pipe: %s", strerror(errno));
    }
    sig_fd = s->sigpipe[1];
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    return SYNCQ_OK;
}

static void
drain_sigpipe(struct sq_sup *s)
{
    char buf[64];

    while (read(s->sigpipe[0], buf, sizeof buf) > 0) {
    }
}

/* Open the main connection, waiting (with the client's backoff) while
 * Redis is unreachable; a signal stops the wait. */
static int
connect_broker(struct sq_sup *s, syncq_error *err)
{
    int64_t delay = 100;
    bool logged = false;

    for (;;) {
        int saved = sq_log_level;
        int rc;
        if (logged) {
            /* each attempt is a new client that would log broker.down
             * again: one line per outage is enough (DESIGN contract 10) */
            sq_log_level = SYNCQ_LOG_ERROR - 1;
        }
        rc = syncq_client_open(NULL, s->o->cfg, &s->bc, err);
        sq_log_level = saved;
        if (rc == SYNCQ_OK) {
            if (logged) {
                SQ_WARN("broker.up", "url=%s", syncq_client_url(s->bc));
            }
            sq_broker_check_eviction(s->bc, "worker");
            return SYNCQ_OK;
        }
        if (rc != SYNCQ_ECONN) {
            return rc; /* bad URL, password, config: no point waiting */
        }
        if (!logged) {
            SQ_WARN("worker.waiting_for_broker", "retry_max_ms=%lld",
                    (long long)syncq_config_ms(s->o->cfg,
                                               "SYNCQ_RECONNECT_MAX_DELAY"));
            logged = true;
        }
        for (int64_t waited = 0; waited < delay; waited += 50) {
            if (stop_waiting) {
                return sq_fail(err, SYNCQ_ECONN, "stopped while waiting for "
                               "Redis");
            }
            sq_sleep_ms(50);
        }
        delay = delay * 2 > syncq_config_ms(s->o->cfg,
                                            "SYNCQ_RECONNECT_MAX_DELAY")
                    ? syncq_config_ms(s->o->cfg, "SYNCQ_RECONNECT_MAX_DELAY")
                    : delay * 2;
    }
}

static void
start_warm(struct sq_sup *s, int64_t now)
{
    struct sq_held *h;
    int running = 0;

    s->state = SQ_SUP_WARM;
    sq_sup_wake_disarm(s, "shutdown"); /* its tasks go back */
    s->warm_deadline = now + s->o->shutdown_grace_ms;
    /* Prefetched tasks go back to the front of their queues at once. */
    while ((h = sq_sup_pop_wait(s)) != NULL) {
        sq_sup_op_requeue(s, h, "shutdown");
        s->tasks_requeued++;
        s->nheld--;
        sq_held_free(h);
    }
    /* Running tasks may finish: they are told to stop (and can
     * checkpoint) only near the end of the grace period, 5 s before it
     * or at 80 % of it, whichever is later. */
    {
        int64_t g = s->o->shutdown_grace_ms;
        int64_t margin = g / 5 < 5000 ? g / 5 : 5000;
        s->warm_stop_at = now + g - margin;
        s->warm_stop_sent = false;
    }
    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        if (c->task != NULL) {
            running++;
        } else if (c->pid > 0) {
            sq_pool_close_child(s, c);
        }
    }
    SQ_INFO("worker.shutdown", "mode=warm running=%d grace_ms=%lld", running,
            (long long)s->o->shutdown_grace_ms);
}

static void
start_cold(struct sq_sup *s)
{
    struct sq_held *h;
    int killed = 0;

    s->state = SQ_SUP_COLD;
    sq_sup_wake_disarm(s, "shutdown");
    while ((h = sq_sup_pop_wait(s)) != NULL) {
        sq_sup_op_requeue(s, h, "shutdown");
        s->nheld--;
        sq_held_free(h);
    }
    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        if (c->pid > 0) {
            if (c->task != NULL && c->kill_reason == SQ_KILL_NONE) {
                c->kill_reason = SQ_KILL_SHUTDOWN;
            }
            kill(c->pid, SIGKILL);
            killed++;
        }
    }
    SQ_WARN("worker.shutdown", "mode=cold killed=%d", killed);
}

/* Warm shutdown bookkeeping; true once the loop may end. */
static bool
warm_progress(struct sq_sup *s, int64_t now)
{
    if (!s->warm_stop_sent && now >= s->warm_stop_at) {
        s->warm_stop_sent = true;
        for (int i = 0; i < s->nch; i++) {
            struct sq_child *c = &s->ch[i];
            if (c->pid > 0 && c->task != NULL) {
                c->shutdown_stop = true;
                kill(c->pid, SIGUSR1);
            }
        }
    }
    if (now >= s->warm_deadline) {
        for (int i = 0; i < s->nch; i++) {
            struct sq_child *c = &s->ch[i];
            if (c->pid > 0 && c->task != NULL &&
                c->kill_reason == SQ_KILL_NONE) {
                SQ_WARN("task.killed", "task_id=%s task=%s pid=%d "
                        "reason=shutdown_grace", c->task->id, c->task->name,
                        (int)c->pid);
                c->kill_reason = SQ_KILL_SHUTDOWN;
                kill(c->pid, SIGKILL);
            }
        }
    }
    return sq_pool_live(s) == 0;
}

/* Wait for every child to exit (cold shutdown), at most `ms`. */
static void
reap_all(struct sq_sup *s, int64_t ms)
{
    int64_t end = sq_mono_ms() + ms;

    while (sq_pool_live(s) > 0 && sq_mono_ms() < end) {
        sq_pool_reap(s);
        if (sq_pool_live(s) > 0) {
            sq_sleep_ms(5);
        }
    }
}

static void
loop(struct sq_sup *s)
{
    struct pollfd *pfd;
    int maxfd = 2 * s->nch + 3;
    int pfd_nch = s->nch; /* pool size pfd was made for (it may grow) */

    pfd = sq_calloc((size_t)maxfd, sizeof *pfd);
    if (pfd == NULL) {
        SQ_ERROR("worker.oom", "what=\"poll set\"");
        return;
    }
    for (;;) {
        int64_t now = sq_mono_ms();
        int64_t next;
        int n = 0, wake_slot = -1, round_slot = -1, timeout, rc;

        if (got_quit || got_term >= 2) {
            if (s->state != SQ_SUP_COLD) {
                start_cold(s);
            }
            break;
        }
        if ((got_term >= 1 || sq_sup_control_shutdown(s)) &&
            s->state == SQ_SUP_RUNNING) {
            start_warm(s, now);
        }
        if (got_hup) {
            got_hup = 0;
            sq_logwriter_reopen(NULL);
            for (int i = 0; i < s->nch; i++) {
                if (s->ch[i].pid > 0) {
                    kill(s->ch[i].pid, SIGHUP);
                }
            }
            SQ_INFO("worker.log_reopened", "pid=%d", (int)getpid());
        }
        if (got_chld) {
            got_chld = 0; /* cleared first: a later exit sets it again */
            sq_pool_reap(s);
        }
        sq_sup_control_tick(s, now); /* remote control: worker_control.c */
        if (s->nch > pfd_nch) {
            struct pollfd *np = sq_realloc(pfd, (size_t)(2 * s->nch + 3) *
                                                    sizeof *pfd);
            if (np != NULL) {
                pfd = np;
                pfd_nch = s->nch;
            }
        }
        sq_pool_check_timers(s, now);
        if (s->state == SQ_SUP_WARM && warm_progress(s, now)) {
            /* Everything ran down; hand in the last outcomes. */
            if (s->nops == 0 || !s->broker_up ||
                now > s->warm_deadline + 5000) {
                if (s->nops > 0) {
                    sq_sup_flush_ops(s);
                }
                break;
            }
        }
        sq_pool_dispatch(s);
        if (s->state == SQ_SUP_RUNNING && !s->need_lease &&
            now >= s->next_lease_at && !s->brpop_out) {
            s->need_lease = true;
        }
        if ((now >= s->next_hb || s->hb_now) && now >= s->broker_retry_at) {
            /* after a failure the backoff decides, not "due again" */
            sq_sup_heartbeat(s, now);
        }
        sq_sup_broker_round(s, now);
        if (s->nraws > 0 && s->broker_up) {
            sq_sup_raws_flush(s);
        }
        sq_pool_dispatch(s);
        sq_pool_respawn(s, now);
        sq_sup_celery_check(s, now);
        if (now >= s->next_status) {
            sq_sup_status_file(s, now);
        }
        /* Idle: wait for work on the wake lists. */
        if (s->state == SQ_SUP_RUNNING && !s->need_lease &&
            !s->round.active && sq_pool_capacity(s) > 0) {
            sq_sup_wake_arm(s, now);
        }
        /* poll set */
        pfd[n].fd = s->sigpipe[0];
        pfd[n++].events = POLLIN;
        for (int i = 0; i < s->nch; i++) {
            struct sq_child *c = &s->ch[i];
            c->poll_slot = -1;
            if (c->pid <= 0) {
                continue;
            }
            if (c->from_fd >= 0 && !c->eof) {
                c->poll_slot = n;
                pfd[n].fd = c->from_fd;
                pfd[n++].events = POLLIN;
            }
            if (c->to_fd >= 0 && c->woff < c->wbuf.len) {
                pfd[n].fd = c->to_fd;
                pfd[n++].events = POLLOUT;
            }
        }
        if (s->round.active && s->bc->rc != NULL) {
            round_slot = n;
            pfd[n].fd = s->bc->rc->fd;
            pfd[n++].events = POLLIN;
        }
        if (s->brpop_out && s->wake->rc != NULL) {
            wake_slot = n;
            pfd[n].fd = s->wake->rc->fd;
            pfd[n++].events = POLLIN;
        }
        next = sq_pool_next_deadline(s, now);
        next = sq_sup_rl_deadline(s, now, next); /* a rate-limited turn */
        if (s->next_hb < next) {
            next = s->next_hb;
        }
        if (s->next_status < next) {
            next = s->next_status;
        }
        if (s->state == SQ_SUP_WARM && s->warm_deadline < next) {
            next = s->warm_deadline;
        }
        if (s->state == SQ_SUP_WARM && !s->warm_stop_sent &&
            s->warm_stop_at < next) {
            next = s->warm_stop_at;
        }
        if (s->state == SQ_SUP_RUNNING && !s->brpop_out &&
            !s->round.active && sq_pool_capacity(s) > 0) {
            int64_t at = s->need_lease ? now : s->next_lease_at;
            if (!s->broker_up && s->bc->next_try_ms > 0) {
                at = now + 100; /* the client's backoff decides */
            }
            if (at < next) {
                next = at;
            }
        }
        if ((s->nops > s->round.nops || s->nraws > 0) && !s->round.active &&
            s->defer_until_us == 0 && now + 100 < next) {
            /* outcomes waiting for the broker: retry soon */
            next = s->broker_up ? now : now + 100;
            if (s->broker_retry_at > next) {
                next = s->broker_retry_at;
            }
        }
        timeout = next > now ? (int)(next - now) : 0;
        if (timeout > 1000) {
            timeout = 1000;
        }
        {
            struct timespec ts = {timeout / 1000,
                                  (long)(timeout % 1000) * 1000000L};
            if (s->defer_until_us != 0 && !s->round.active) {
                /* a round held back for batching: sub-millisecond wait */
                int64_t us = s->defer_until_us - sq_mono_us();
                if (us < 0) {
                    us = 0;
                }
                if (us < (int64_t)timeout * 1000 || timeout == 0) {
                    ts.tv_sec = 0;
                    ts.tv_nsec = (long)us * 1000L;
                }
            }
            rc = ppoll(pfd, (nfds_t)n, &ts, NULL);
        }
        if (rc < 0 && errno != EINTR) {
            SQ_ERROR("worker.poll", "err=\"%s\"", strerror(errno));
            sq_sleep_ms(10);
            continue;
        }
        if (pfd[0].revents & POLLIN) {
            drain_sigpipe(s);
        }
        if (round_slot >= 0 && pfd[round_slot].revents != 0) {
            sq_sup_round_readable(s);
        }
        if (wake_slot >= 0 && pfd[wake_slot].revents != 0) {
            sq_sup_wake_readable(s);
        }
        for (int i = 0; i < s->nch; i++) {
            struct sq_child *c = &s->ch[i];
            if (c->pid <= 0) {
                continue;
            }
            if (c->to_fd >= 0 && c->woff < c->wbuf.len) {
                sq_pool_flush_writes(s, c);
            }
            /* only a pipe poll found readable: reading the others cost a
             * read() answered EAGAIN each (0.4 a task in a drain); what
             * arrives later wakes the next poll, and a child's death reads
             * its pipe (on_death) */
            if (c->from_fd >= 0 && !c->eof && c->poll_slot >= 0 && rc > 0 &&
                pfd[c->poll_slot].fd == c->from_fd &&
                pfd[c->poll_slot].revents != 0) {
                sq_pool_readable(s, c);
            }
        }
    }
    sq_free(pfd);
}

int
sq_worker_run(const struct sq_worker_opts *o, syncq_error *err)
{
    struct sq_sup sup, *s = &sup;
    static struct sq_worker_opts named; /* o with its claimed name */
    int rc;

    memset(s, 0, sizeof *s);
    s->o = o;
    s->sigpipe[0] = s->sigpipe[1] = -1;
    s->next_eta_wall_ms = -1;
    s->started_wall_ms = sq_now_ms();
    for (size_t i = 0; i < o->nqueues; i++) {
        s->qptr[i] = o->queues[i];
    }
    rc = install_signals(s, err);
    if (rc != SYNCQ_OK) {
        return 1;
    }
    rc = connect_broker(s, err);
    if (rc != SYNCQ_OK) {
        close(s->sigpipe[0]);
        close(s->sigpipe[1]);
        return got_term || got_quit ? 0 : 1;
    }
    s->broker_up = true;
    {
        /* producers without these tasks registered check their arguments
         * against what this worker publishes (syncq/task.h); a failure
         * only leaves them unchecked at the door, so it is logged */
        syncq_error perr;
        if (syncq_registry_publish(s->bc, o->registry, &perr) != SYNCQ_OK) {
            SQ_WARN("worker.publish_failed", "err=\"%s\"", perr.msg);
        }
    }
    if (sq_client_clone(s->bc, &s->wake, err) != SYNCQ_OK) {
        s->wake = NULL; /* idle polling every second still works */
    }
    rc = sq_pool_init(s, err);
    if (rc == SYNCQ_OK && sq_sup_control_init(s) != 0) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (rc == SYNCQ_OK) {
        /* the stable name (worker_control.c): o becomes the copy */
        named = *o;
        rc = sq_sup_claim_name(s, &named, err);
        o = s->o = &named;
    }
    if (rc != SYNCQ_OK) {
        sq_sup_control_free(s);
        syncq_client_close(s->bc);
        syncq_client_close(s->wake);
        return 1;
    }
    {
        char qs[1024] = "";
        size_t off = 0;
        for (size_t i = 0; i < o->nqueues && off < sizeof qs; i++) {
            off += (size_t)snprintf(qs + off, sizeof qs - off, "%s%s",
                                    i ? "," : "", o->queues[i]);
        }
        SQ_INFO("worker.ready", "worker=%s pid=%d queues=%s concurrency=%d "
                "prefetch=%d time_limit_ms=%lld soft_time_limit_ms=%lld "
                "max_tasks_per_child=%lld max_memory_kb=%lld broker=%s "
                "tasks_registered=%zu",
                o->worker_id, (int)getpid(), qs, o->concurrency,
                o->prefetch, (long long)o->time_limit_ms,
                (long long)o->soft_time_limit_ms,
                (long long)o->max_tasks_per_child,
                (long long)o->max_memory_kb, syncq_client_url(s->bc),
                syncq_registry_count(o->registry));
    }
    /* Start-up (config, registry, script texts sent with SCRIPT LOAD)
     * leaves freed heap behind that malloc keeps; give it back before the
     * children are forked so neither they nor the idle supervisor carry
     * it (about 1 MB of RSS each). */
    malloc_trim(0);
    for (int i = 0; i < s->nch; i++) {
        sq_pool_spawn(s, &s->ch[i]);
    }
    sq_sup_celery_start(s);
    s->need_lease = true;
    s->hb_now = true;
    loop(s);
    sq_sup_celery_stop(s);
    if (s->state == SQ_SUP_COLD) {
        reap_all(s, 2000);
    }
    sq_pool_reap(s);
    sq_sup_round_finish(s);
    {
        /* anything still waiting (a late lease reply) goes back too */
        struct sq_held *h;
        while ((h = sq_sup_pop_wait(s)) != NULL) {
            sq_sup_op_requeue(s, h, "shutdown");
            s->nheld--;
            sq_held_free(h);
        }
    }
    sq_sup_flush_ops(s);
    if (s->nops > 0) {
        SQ_ERROR("worker.outcomes_unrecorded", "count=%zu err=\"Redis "
                 "unreachable at exit; their leases lapse and the tasks are "
                 "delivered again\"", s->nops);
    }
    sq_sup_unregister(s);
    sq_sup_release_name(s);
    SQ_INFO("worker.stopped", "worker=%s tasks_done=%lld tasks_failed=%lld "
            "requeued=%lld", o->worker_id, s->tasks_done, s->tasks_failed,
            s->tasks_requeued);
    for (size_t i = 0; i < s->nops; i++) {
        sq_free(s->ops[i].result);
        sq_free(s->ops[i].msg);
    }
    sq_free(s->ops);
    for (size_t i = 0; i < s->nraws; i++) {
        sq_free(s->raws[i].bytes);
    }
    sq_free(s->raws);
    sq_pool_free(s);
    sq_sup_control_free(s);
    syncq_client_close(s->wake);
    syncq_client_close(s->bc); /* frees a reply it was reading in the arena */
    sq_reply_arena_cleanup(&s->replies);
    sig_fd = -1;
    close(s->sigpipe[0]);
    close(s->sigpipe[1]);
    if (o->status_file[0] != '\0') {
        unlink(o->status_file);
    }
    return 0;
}

/* Outcomes settle.lua refused for good (a bad argument, WRONGTYPE: a
 * transient reply never lands here). Nothing is dropped without a word:
 * each outcome is logged with its task, kind and text for an operator
 * (the lease lapses and the task is delivered again). */
void
sq_sup_outcomes_refused(struct sq_sup *s, size_t n, const char *why)
{
    static const char *const kinds[] = {"ok", "fail", "retry", "requeue",
                                        "start", "revoked"};

    for (size_t i = 0; i < n && i < s->nops; i++) {
        const struct sq_pend_op *op = &s->ops[i];
        const char *text = op->kind == SQ_SETTLE_OK ? op->result : op->msg;
        char q[300], t[600];
        SQ_ERROR("worker.outcome_refused",
                 "task_id=%s op=%s err=%s outcome=%s runtime_ms=%lld",
                 op->id, kinds[op->kind], sq_log_quote(why, q, sizeof q),
                 sq_log_quote(text != NULL ? text : "", t, sizeof t),
                 (long long)op->runtime_ms);
        s->outcomes_refused++;
    }
}
