/* SPDX-License-Identifier: MIT
 *
 * worker_pool.c: the supervisor's children. Forks them with a pipe pair
 * each, hands them tasks, reads their outcomes, enforces soft and hard
 * time limits and cancel/lost/shutdown kill deadlines, reaps them, decides
 * what happens to the task of a child that died (crash: requeue counted
 * as a delivery; hard limit: timeout per the retry policy; cancel:
 * REVOKED; shutdown: requeued, not counted), and recycles children after
 * N tasks or past an RSS cap (C27: never a restart loop when the cap is
 * too low for the baseline).
 */
#include "worker/worker_sup.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "worker/worker_child.h"
#include "worker/worker_ctx.h"
#include "worker/worker_frame.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child recycled for memory must have run this many tasks when the cap
 * sits within 10 % of its baseline (C27: no kill after every task). */
#define MEMCAP_MIN_TASKS 10
/* A child that dies this soon after its start without a task counts as
 * a failed start: respawns back off from 1 s up to 30 s. */
#define EARLY_DEATH_MS 1000
#define RESPAWN_MAX_MS 30000

static size_t
frame_limit(const struct sq_sup *s)
{
    size_t l = (size_t)s->o->max_payload * 2 + ((size_t)1 << 20);

    return l > SQ_FRAME_MAX_LIMIT ? SQ_FRAME_MAX_LIMIT : l;
}

int
sq_pool_init(struct sq_sup *s, syncq_error *err)
{
    s->nch = s->o->concurrency;
    s->ch = sq_calloc((size_t)s->nch, sizeof *s->ch);
    if (s->ch == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (int i = 0; i < s->nch; i++) {
        s->ch[i].to_fd = -1;
        s->ch[i].from_fd = -1;
        s->ch[i].respawn_backoff_ms = 1000;
    }
    return SYNCQ_OK;
}

/* Close the supervisor's ends and release buffers of slot `c`. */
static void
slot_clear(struct sq_child *c)
{
    if (c->to_fd >= 0) {
        close(c->to_fd);
    }
    if (c->from_fd >= 0) {
        close(c->from_fd);
    }
    sq_buf_cleanup(&c->rbuf);
    sq_buf_cleanup(&c->wbuf);
    c->to_fd = c->from_fd = -1;
    c->pid = 0;
    c->state = SQ_CH_EMPTY;
    c->roff = c->woff = 0;
    c->eof = false;
}

void
sq_pool_free(struct sq_sup *s)
{
    for (int i = 0; i < s->nch; i++) {
        if (s->ch[i].task != NULL) {
            sq_held_free(s->ch[i].task);
            s->ch[i].task = NULL;
        }
        slot_clear(&s->ch[i]);
    }
    sq_free(s->ch);
    s->ch = NULL;
}

int
sq_pool_live(const struct sq_sup *s)
{
    int n = 0;

    for (int i = 0; i < s->nch; i++) {
        n += s->ch[i].pid > 0;
    }
    return n;
}

int
sq_pool_idle(const struct sq_sup *s)
{
    int n = 0;

    for (int i = 0; i < s->nch; i++) {
        n += s->ch[i].state == SQ_CH_IDLE;
    }
    return n;
}

int
sq_pool_capacity(const struct sq_sup *s)
{
    int usable = 0;
    int cap;

    for (int i = 0; i < s->nch; i++) {
        const struct sq_child *c = &s->ch[i];
        usable += c->state == SQ_CH_STARTING || c->state == SQ_CH_IDLE ||
                  c->state == SQ_CH_BUSY;
    }
    cap = usable * s->o->prefetch - s->nheld;
    return cap > 0 ? cap : 0;
}

struct sq_child *
sq_pool_find_task(struct sq_sup *s, const char *id)
{
    for (int i = 0; i < s->nch; i++) {
        if (s->ch[i].task != NULL && strcmp(s->ch[i].task->id, id) == 0) {
            return &s->ch[i];
        }
    }
    return NULL;
}

static int
set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* In a new child: close every descriptor that belongs to the supervisor
 * or to another child, so EOF on a pipe means what it should. */
void
sq_pool_close_inherited(struct sq_sup *s, struct sq_child *self)
{
    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        if (c == self) {
            continue;
        }
        if (c->to_fd >= 0) {
            close(c->to_fd);
        }
        if (c->from_fd >= 0) {
            close(c->from_fd);
        }
    }
    if (s->bc != NULL && s->bc->rc != NULL) {
        close(s->bc->rc->fd);
    }
    if (s->wake != NULL && s->wake->rc != NULL) {
        close(s->wake->rc->fd);
    }
    close(s->sigpipe[0]);
    close(s->sigpipe[1]);
}

int
sq_pool_spawn(struct sq_sup *s, struct sq_child *c)
{
    int down[2], up[2]; /* down: supervisor -> child; up: child -> sup */
    pid_t parent = getpid();
    pid_t pid;

    if (pipe2(down, O_CLOEXEC) != 0) {
        SQ_ERROR("worker.child.spawn_failed", "err=\"pipe: %s\"",
                 strerror(errno));
        return -1;
    }
    if (pipe2(up, O_CLOEXEC) != 0) {
        SQ_ERROR("worker.child.spawn_failed", "err=\"pipe: %s\"",
                 strerror(errno));
        close(down[0]);
        close(down[1]);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        SQ_ERROR("worker.child.spawn_failed", "err=\"fork: %s\"",
                 strerror(errno));
        close(down[0]);
        close(down[1]);
        close(up[0]);
        close(up[1]);
        return -1;
    }
    if (pid == 0) {
        sq_pool_close_inherited(s, c);
        close(down[1]);
        close(up[0]);
        sq_worker_child_main(s->o, parent, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    set_nonblock(down[1]);
    set_nonblock(up[0]);
    c->pid = pid;
    c->to_fd = down[1];
    c->from_fd = up[0];
    c->state = SQ_CH_STARTING;
    sq_buf_init(&c->rbuf, frame_limit(s) + 65536);
    sq_buf_init(&c->wbuf, 0);
    c->roff = c->woff = 0;
    c->eof = false;
    c->task = NULL;
    c->kill_reason = SQ_KILL_NONE;
    c->soft_at = c->hard_at = c->kill_at = 0;
    c->soft_sent = c->cancel = c->lost = c->shutdown_stop = false;
    c->spawned_ms = sq_mono_ms();
    c->respawn_at = 0;
    c->tasks_done = 0;
    c->baseline_kb = -1;
    c->rss_kb = -1;
    c->cpu_prev = -1;
    c->cpu_pct = 0;
    SQ_DEBUG("worker.child.start", "pid=%d slot=%d", (int)pid,
             (int)(c - s->ch));
    return 0;
}

void
sq_pool_respawn(struct sq_sup *s, int64_t now)
{
    if (s->state != SQ_SUP_RUNNING) {
        return;
    }
    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        if (c->state == SQ_CH_EMPTY && c->pid == 0 && now >= c->respawn_at) {
            if (sq_pool_spawn(s, c) != 0) {
                c->respawn_at = now + 1000;
            }
        }
    }
}

/* Write as much of the child's pending bytes as the pipe takes. */
void
sq_pool_flush_writes(struct sq_sup *s, struct sq_child *c)
{
    (void)s;
    while (c->woff < c->wbuf.len && c->to_fd >= 0) {
        ssize_t n = write(c->to_fd, c->wbuf.data + c->woff,
                          c->wbuf.len - c->woff);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            /* EAGAIN: poll for POLLOUT; EPIPE: the child died, the reaper
             * handles its task */
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                c->woff = c->wbuf.len;
            }
            break;
        }
        c->woff += (size_t)n;
    }
    if (c->woff >= c->wbuf.len) {
        sq_buf_reset(&c->wbuf);
        c->woff = 0;
    }
}

/* Give task `h` to idle child `c`. */
static void
give(struct sq_sup *s, struct sq_child *c, struct sq_held *h)
{
    int64_t now = sq_mono_ms();

    if (sq_buf_add(&c->wbuf, h->frame.data, h->frame.len) != 0) {
        /* Out of memory for the frame: hand the task back unharmed. */
        sq_sup_op_requeue(s, h, "shutdown");
        s->nheld--;
        sq_held_free(h);
        return;
    }
    sq_buf_cleanup(&h->frame); /* sent (or buffered): no longer needed */
    c->task = h;
    c->state = SQ_CH_BUSY;
    c->task_start_ms = now;
    c->task_start_wall_ms = sq_now_ms();
    c->soft_at = h->soft_limit_ms > 0 ? now + h->soft_limit_ms : 0;
    c->hard_at = h->time_limit_ms > 0 ? now + h->time_limit_ms : 0;
    if (c->soft_at != 0 && c->hard_at != 0 && c->soft_at >= c->hard_at) {
        c->soft_at = 0; /* the hard limit comes first: no soft stage */
    }
    c->kill_at = 0;
    c->soft_sent = c->cancel = c->lost = c->shutdown_stop = false;
    c->kill_reason = SQ_KILL_NONE;
    if (!h->started) {
        sq_sup_op_start(s, h);
        h->started = true;
    }
    sq_pool_flush_writes(s, c);
    SQ_DEBUG("task.dispatch", "task_id=%s task=%s pid=%d", h->id, h->name,
             (int)c->pid);
}

void
sq_pool_dispatch(struct sq_sup *s)
{
    if (s->state != SQ_SUP_RUNNING) {
        return;
    }
    for (int i = 0; i < s->nch && s->wait_head != NULL; i++) {
        struct sq_child *c = &s->ch[i];
        if (c->state == SQ_CH_IDLE) {
            struct sq_held *h = sq_sup_rl_next(s); /* worker_ratelimit.c */
            if (h == NULL) {
                break;
            }
            give(s, c, h);
        }
    }
}

void
sq_pool_close_child(struct sq_sup *s, struct sq_child *c)
{
    (void)s;
    if (c->to_fd >= 0) {
        close(c->to_fd);
        c->to_fd = -1;
    }
    sq_buf_reset(&c->wbuf);
    c->woff = 0;
    if (c->pid > 0) {
        c->state = SQ_CH_EXITING;
    }
}

void
sq_pool_stop_child(struct sq_sup *s, struct sq_child *c, int64_t grace_ms,
                   enum sq_kill_reason why)
{
    int64_t at = sq_mono_ms() + grace_ms;

    (void)s;
    if (c->pid <= 0 || c->task == NULL) {
        return;
    }
    kill(c->pid, SIGUSR1);
    if (grace_ms <= 0) {
        kill(c->pid, SIGKILL);
        if (c->kill_reason == SQ_KILL_NONE) {
            c->kill_reason = why;
        }
        return;
    }
    if (c->kill_at == 0 || at < c->kill_at) {
        c->kill_at = at;
    }
}

/* Decide about recycling after a task: count and memory caps. */
static void
maybe_recycle(struct sq_sup *s, struct sq_child *c, long rss_kb)
{
    const struct sq_worker_opts *o = s->o;
    const char *why = NULL;

    if (o->max_tasks_per_child > 0 && c->tasks_done >= o->max_tasks_per_child) {
        why = "max_tasks";
    } else if (o->max_memory_kb > 0 && rss_kb > o->max_memory_kb) {
        bool low_cap = c->baseline_kb >= 0 &&
                       c->baseline_kb * 10 >= o->max_memory_kb * 9;
        if (low_cap && !s->memcap_alert) {
            SQ_ERROR("worker.memory_cap_too_low",
                     "cap_kb=%lld baseline_kb=%ld alert=memory_cap_too_low "
                     "hint=\"raise --max-memory-per-child above the child "
                     "baseline; recycling at most once per %d tasks\"",
                     (long long)o->max_memory_kb, c->baseline_kb,
                     MEMCAP_MIN_TASKS);
            s->memcap_alert = true;
        }
        if (!low_cap || c->tasks_done >= MEMCAP_MIN_TASKS) {
            why = "max_memory";
        }
    }
    if (why != NULL) {
        SQ_INFO("worker.child.recycle", "pid=%d reason=%s tasks=%ld "
                "rss_kb=%ld", (int)c->pid, why, c->tasks_done, rss_kb);
        sq_pool_close_child(s, c);
    }
}

/* A DONE frame from child `c`: queue its outcome. */
static void
on_done(struct sq_sup *s, struct sq_child *c, const struct sq_frame *f)
{
    struct sq_held *h = c->task;
    char kind[8], cls[32], id[SYNCQ_ID_SIZE];
    char *msg;
    int64_t rt = sq_frame_ll(f, SQ_F_RUNTIME, 0);
    bool stopped = sq_frame_has(f, SQ_F_STOPPED);
    long rss = (long)sq_frame_ll(f, SQ_F_RSS, -1);

    sq_frame_str(f, SQ_F_ID, id, sizeof id);
    if (h == NULL || strcmp(id, h->id) != 0) {
        SQ_ERROR("worker.child.protocol", "pid=%d err=\"outcome for a task "
                 "it was not running\" task_id=%s", (int)c->pid, id);
        c->kill_reason = SQ_KILL_PROTOCOL;
        kill(c->pid, SIGKILL);
        return;
    }
    sq_frame_str(f, SQ_F_KIND, kind, sizeof kind);
    sq_frame_str(f, SQ_F_CLASS, cls, sizeof cls);
    msg = sq_strndup(f->f[SQ_F_MSG].p != NULL ? f->f[SQ_F_MSG].p : "",
                     f->f[SQ_F_MSG].n);
    if (c->cancel && (strcmp(kind, "ok") != 0 || stopped)) {
        sq_sup_op_revoked(s, h, "cancelled; the task stopped when asked",
                          rt);
        s->tasks_revoked++;
    } else if (c->shutdown_stop && strcmp(kind, "ok") != 0) {
        /* Interrupted by a warm shutdown: not the task's fault. */
        sq_sup_op_requeue(s, h, "shutdown");
        s->tasks_requeued++;
    } else if (strcmp(kind, "ok") == 0) {
        sq_sup_op_ok(s, h, f->f[SQ_F_RESULT].p, f->f[SQ_F_RESULT].n, rt);
        s->tasks_done++;
    } else if (strcmp(kind, "retry") == 0 || strcmp(kind, "defer") == 0) {
        /* a deferral is a retry that does not count (syncq_ctx_defer) */
        bool defer = kind[0] == 'd';
        sq_sup_op_fail(s, h, defer ? SQ_SETTLE_DEFER : SQ_SETTLE_RETRY, cls,
                       msg, rt, sq_frame_ll(f, SQ_F_DELAY, 0), false);
        s->tasks_retried++;
        SQ_INFO(defer ? "task.defer" : "task.retry",
                "task_id=%s task=%s class=%s delay_ms=%lld", h->id, h->name,
                cls, (long long)sq_frame_ll(f, SQ_F_DELAY, 0));
    } else {
        char q[600];
        bool dead = sq_frame_ll(f, SQ_F_DEAD, 0) == 1;
        sq_sup_op_fail(s, h, SQ_SETTLE_FAIL, cls, msg, rt, 0, dead);
        s->tasks_failed++;
        SQ_WARN("task.failed", "task_id=%s task=%s class=%s dead=%d msg=%s",
                h->id, h->name, cls, dead,
                sq_log_quote(msg != NULL ? msg : "", q, sizeof q));
    }
    sq_free(msg);
    s->nheld--;
    sq_held_free(h);
    c->task = NULL;
    c->tasks_done++;
    c->soft_at = c->hard_at = c->kill_at = 0;
    c->cancel = c->lost = false;
    if (rss > 0) {
        c->rss_kb = rss;
    }
    if (c->state == SQ_CH_BUSY) {
        c->state = SQ_CH_IDLE;
    }
    if (s->state != SQ_SUP_RUNNING) {
        sq_pool_close_child(s, c);
        return;
    }
    maybe_recycle(s, c, rss);
}

static void
on_frame(struct sq_sup *s, struct sq_child *c, const struct sq_frame *f)
{
    if (f->type == SQ_FRAME_READY) {
        c->baseline_kb = (long)sq_frame_ll(f, SQ_F_RSS, -1);
        c->rss_kb = c->baseline_kb;
        if (c->state == SQ_CH_STARTING) {
            c->state = SQ_CH_IDLE;
        }
        if (s->o->max_memory_kb > 0 && c->baseline_kb >= 0 &&
            c->baseline_kb * 10 >= s->o->max_memory_kb * 9 &&
            !s->memcap_alert) {
            SQ_ERROR("worker.memory_cap_too_low",
                     "cap_kb=%lld baseline_kb=%ld alert=memory_cap_too_low "
                     "hint=\"the cap is within 10%% of a fresh child's RSS; "
                     "children are recycled at most once per %d tasks\"",
                     (long long)s->o->max_memory_kb, c->baseline_kb,
                     MEMCAP_MIN_TASKS);
            s->memcap_alert = true;
        }
        if (s->state != SQ_SUP_RUNNING) {
            sq_pool_close_child(s, c);
        }
        return;
    }
    if (f->type == SQ_FRAME_DONE) {
        on_done(s, c, f);
        return;
    }
    SQ_ERROR("worker.child.protocol", "pid=%d err=\"unexpected frame "
             "type\"", (int)c->pid);
    c->kill_reason = SQ_KILL_PROTOCOL;
    kill(c->pid, SIGKILL);
}

void
sq_pool_readable(struct sq_sup *s, struct sq_child *c)
{
    char chunk[65536];
    syncq_error err;

    while (c->from_fd >= 0 && !c->eof) {
        ssize_t n = read(c->from_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            break; /* EAGAIN */
        }
        if (n == 0) {
            c->eof = true;
            break;
        }
        if (sq_buf_add(&c->rbuf, chunk, (size_t)n) != 0) {
            SQ_ERROR("worker.child.protocol", "pid=%d err=\"frame too "
                     "large\"", (int)c->pid);
            c->kill_reason = SQ_KILL_PROTOCOL;
            kill(c->pid, SIGKILL);
            c->eof = true;
            break;
        }
        if ((size_t)n < sizeof chunk) {
            break;
        }
    }
    for (;;) {
        struct sq_frame f;
        size_t used = 0;
        int rc;
        if (c->rbuf.len == c->roff) {
            break;
        }
        rc = sq_frame_parse(c->rbuf.data + c->roff, c->rbuf.len - c->roff,
                            frame_limit(s), &f, &used, &err);
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            SQ_ERROR("worker.child.protocol", "pid=%d err=\"%s\"",
                     (int)c->pid, err.msg);
            c->kill_reason = SQ_KILL_PROTOCOL;
            kill(c->pid, SIGKILL);
            c->roff = c->rbuf.len;
            break;
        }
        on_frame(s, c, &f);
        c->roff += used;
    }
    if (c->roff == c->rbuf.len) {
        sq_buf_reset(&c->rbuf);
        c->roff = 0;
    } else if (c->roff > 0 && c->roff * 2 > c->rbuf.len) {
        memmove(c->rbuf.data, c->rbuf.data + c->roff,
                c->rbuf.len - c->roff);
        c->rbuf.len -= c->roff;
        c->roff = 0;
    }
}

/* Describe a wait status for logs ("signal 9 (Killed)", "exit 1"). */
static const char *
status_text(int st, char *buf, size_t cap)
{
    if (WIFSIGNALED(st)) {
        snprintf(buf, cap, "signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    } else if (WIFEXITED(st)) {
        snprintf(buf, cap, "exit %d", WEXITSTATUS(st));
    } else {
        snprintf(buf, cap, "status %d", st);
    }
    return buf;
}

/* The child of slot `c` is gone: settle its task by why it died. */
static void
on_death(struct sq_sup *s, struct sq_child *c, int st)
{
    struct sq_held *h;
    char how[96], q[128];
    int64_t now = sq_mono_ms();
    int64_t rt;

    /* Outcomes written before it died still count. */
    c->eof = false;
    if (c->from_fd >= 0) {
        sq_pool_readable(s, c);
    }
    h = c->task;
    status_text(st, how, sizeof how);
    rt = h != NULL ? now - c->task_start_ms : 0;
    if (h != NULL) {
        switch (c->kill_reason) {
        case SQ_KILL_TIMEOUT: {
            char msg[200];
            snprintf(msg, sizeof msg, "hard time limit of %lld ms exceeded; "
                     "the child was killed", (long long)h->time_limit_ms);
            sq_sup_fail_by_policy(s, h, SYNCQ_ERR_TIMEOUT, msg, rt);
            s->tasks_failed++;
            break;
        }
        case SQ_KILL_CANCEL:
            sq_sup_op_revoked(s, h, "cancelled; the child was killed after "
                              "the grace period", rt);
            s->tasks_revoked++;
            break;
        case SQ_KILL_SHUTDOWN:
            sq_sup_op_requeue(s, h, "shutdown");
            s->tasks_requeued++;
            break;
        case SQ_KILL_LOST:
            /* The lease is someone else's now: nothing to settle. */
            break;
        case SQ_KILL_PROTOCOL:
        case SQ_KILL_NONE:
        default: {
            /* A crash (segfault, OOM kill, exit): one lost delivery. The
             * broker dead-letters it after SYNCQ_MAX_DELIVERIES. */
            struct sq_outcome oc;
            sq_outcome_for_failure(s->o->cfg, h->def, h->policy,
                                   h->max_retries, h->retries,
                                   SYNCQ_ERR_WORKER_LOST, how, 0, &oc);
            SQ_ERROR("worker.child.died", "pid=%d how=%s task_id=%s task=%s "
                     "runtime_ms=%lld",
                     (int)c->pid, sq_log_quote(how, q, sizeof q), h->id,
                     h->name, (long long)rt);
            if (oc.kind == SQ_OUT_FAIL && !oc.dead) {
                /* the policy says worker_lost is final for this task */
                char msg[200];
                snprintf(msg, sizeof msg, "worker child died (%s)", how);
                sq_sup_op_fail(s, h, SQ_SETTLE_FAIL, "worker_lost", msg, rt,
                               0, false);
                s->tasks_failed++;
            } else {
                sq_sup_op_requeue(s, h, "worker_lost");
                s->tasks_lost++;
            }
            break;
        }
        }
        s->nheld--;
        sq_held_free(h);
        c->task = NULL;
    } else if (c->state != SQ_CH_EXITING && s->state == SQ_SUP_RUNNING) {
        SQ_WARN("worker.child.died", "pid=%d how=%s task_id=-",
                (int)c->pid, sq_log_quote(how, q, sizeof q));
    } else {
        SQ_DEBUG("worker.child.exit", "pid=%d how=%s", (int)c->pid,
                 sq_log_quote(how, q, sizeof q));
    }
    /* Respawn at once after a crash during a task or a recycle; back off
     * when children die on their own right after starting. */
    if (h == NULL && c->state != SQ_CH_EXITING &&
        now - c->spawned_ms < EARLY_DEATH_MS) {
        c->respawn_at = now + c->respawn_backoff_ms;
        c->respawn_backoff_ms = c->respawn_backoff_ms * 2 > RESPAWN_MAX_MS
                                    ? RESPAWN_MAX_MS
                                    : c->respawn_backoff_ms * 2;
        SQ_ERROR("worker.child.start_failed", "how=%s retry_in_ms=%lld",
                 sq_log_quote(how, q, sizeof q),
                 (long long)(c->respawn_at - now));
    } else {
        c->respawn_at = now;
        if (c->tasks_done > 0) {
            c->respawn_backoff_ms = 1000;
        }
    }
    slot_clear(c);
}

void
sq_pool_reap(struct sq_sup *s)
{
    for (;;) {
        int st = 0;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) {
            break;
        }
        for (int i = 0; i < s->nch; i++) {
            if (s->ch[i].pid == pid) {
                on_death(s, &s->ch[i], st);
                break;
            }
        }
    }
}

void
sq_pool_check_timers(struct sq_sup *s, int64_t now)
{
    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        if (c->pid <= 0 || c->task == NULL ||
            c->kill_reason != SQ_KILL_NONE) {
            continue;
        }
        if (c->hard_at != 0 && now >= c->hard_at) {
            SQ_ERROR("task.time_limit", "task_id=%s task=%s pid=%d "
                     "limit_ms=%lld", c->task->id, c->task->name,
                     (int)c->pid, (long long)c->task->time_limit_ms);
            c->kill_reason = SQ_KILL_TIMEOUT;
            kill(c->pid, SIGKILL);
            continue;
        }
        if (c->soft_at != 0 && now >= c->soft_at && !c->soft_sent) {
            SQ_WARN("task.soft_time_limit", "task_id=%s task=%s pid=%d "
                    "limit_ms=%lld", c->task->id, c->task->name,
                    (int)c->pid, (long long)c->task->soft_limit_ms);
            kill(c->pid, SIGUSR1);
            c->soft_sent = true;
        }
        if (c->kill_at != 0 && now >= c->kill_at) {
            c->kill_reason = c->cancel          ? SQ_KILL_CANCEL
                             : c->lost          ? SQ_KILL_LOST
                             : c->shutdown_stop ? SQ_KILL_SHUTDOWN
                                                : SQ_KILL_CANCEL;
            SQ_WARN("task.killed", "task_id=%s task=%s pid=%d reason=%s",
                    c->task->id, c->task->name, (int)c->pid,
                    c->cancel ? "cancel" : c->lost ? "lease_lost"
                                                   : "shutdown");
            kill(c->pid, SIGKILL);
        }
    }
}

int64_t
sq_pool_next_deadline(struct sq_sup *s, int64_t now)
{
    int64_t next = now + 1000;

    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        if (c->state == SQ_CH_EMPTY && c->respawn_at > 0 &&
            c->respawn_at < next) {
            next = c->respawn_at;
        }
        if (c->task == NULL || c->kill_reason != SQ_KILL_NONE) {
            continue;
        }
        if (c->hard_at != 0 && c->hard_at < next) {
            next = c->hard_at;
        }
        if (c->soft_at != 0 && !c->soft_sent && c->soft_at < next) {
            next = c->soft_at;
        }
        if (c->kill_at != 0 && c->kill_at < next) {
            next = c->kill_at;
        }
    }
    return next;
}
