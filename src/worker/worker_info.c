/* SPDX-License-Identifier: MIT
 *
 * worker_info.c: what a worker tells the world about itself. The
 * heartbeat info JSON (stored at {ns}:w:<worker> by extend.lua, read by
 * `syncq status` and the monitor; shape in docs/worker.md) and the local
 * liveness file (--status-file), which is rewritten atomically every
 * second and so answers "is the supervisor's loop alive" even while Redis
 * is down (C43).
 */
#include "worker/worker_sup.h"
#include "sq_alloc.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syncq/version.h>
#include <unistd.h>

static const char *
state_name(const struct sq_child *c)
{
    switch (c->state) {
    case SQ_CH_STARTING:
        return "starting";
    case SQ_CH_IDLE:
        return "idle";
    case SQ_CH_BUSY:
        return "busy";
    case SQ_CH_EXITING:
        return "exiting";
    default:
        return "respawning";
    }
}

static const char *
sup_state_name(const struct sq_sup *s)
{
    return s->state == SQ_SUP_RUNNING ? "running"
           : s->state == SQ_SUP_WARM  ? "warm_shutdown"
                                      : "cold_shutdown";
}

static json_t *
iso(int64_t ms)
{
    char buf[40];

    return json_string(sq_time_format_iso8601_ms(ms, buf, sizeof buf));
}

/* Refresh RSS and CPU % of every child and of the supervisor. */
static void
sample_procs(struct sq_sup *s, int64_t now)
{
    long hz = sysconf(_SC_CLK_TCK);

    if (hz <= 0) {
        hz = 100;
    }
    s->sup_rss_kb = sq_proc_rss_kb(0);
    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        long long ticks;
        if (c->pid <= 0) {
            continue;
        }
        c->rss_kb = sq_proc_rss_kb(c->pid);
        ticks = sq_proc_cpu_ticks(c->pid);
        if (ticks >= 0 && c->cpu_prev >= 0 && now > c->cpu_prev_ms) {
            c->cpu_pct = (double)(ticks - c->cpu_prev) * 1000.0 * 100.0 /
                         (double)hz / (double)(now - c->cpu_prev_ms);
        }
        c->cpu_prev = ticks;
        c->cpu_prev_ms = now;
    }
}

char *
sq_sup_info_json(struct sq_sup *s, int64_t now)
{
    const struct sq_worker_opts *o = s->o;
    json_t *info, *queues, *children, *alerts;
    int busy = 0;
    char *text;

    sample_procs(s, now);
    queues = json_array();
    {
        const char *qs[SQ_WORKER_MAX_QUEUES]; /* after remote control */
        size_t nq = sq_sup_consumed_queues(s, qs);
        for (size_t i = 0; i < nq; i++) {
            json_array_append_new(queues, json_string(qs[i]));
        }
    }
    children = json_array();
    for (int i = 0; i < s->nch; i++) {
        struct sq_child *c = &s->ch[i];
        json_t *cj;
        if (c->pid <= 0) {
            continue;
        }
        cj = json_pack("{s:i,s:s,s:I,s:f,s:I}", "pid", (int)c->pid, "state",
                       state_name(c), "rss_kb", (json_int_t)c->rss_kb,
                       "cpu_pct", c->cpu_pct, "tasks_done",
                       (json_int_t)c->tasks_done);
        if (c->task != NULL) {
            busy++;
            json_object_set_new(cj, "task_id", json_string(c->task->id));
            json_object_set_new(cj, "task_name", json_string(c->task->name));
            json_object_set_new(cj, "started_at",
                                iso(c->task_start_wall_ms));
        } else {
            json_object_set_new(cj, "task_id", json_null());
            json_object_set_new(cj, "task_name", json_null());
            json_object_set_new(cj, "started_at", json_null());
        }
        json_array_append_new(children, cj);
    }
    alerts = json_array();
    if (s->memcap_alert) {
        json_array_append_new(alerts, json_string("memory_cap_too_low"));
    }
    info = json_pack("{s:s,s:s,s:i,s:o,s:i,s:i,s:o,s:s,s:I,s:I,s:I,s:I,s:I,"
                     "s:I,s:i,s:i,s:i,s:I,s:o,s:o,s:s,s:I,s:I,s:I,s:I,s:I}",
                     "worker", o->worker_id, "hostname", o->hostname, "pid",
                     (int)getpid(), "queues", queues, "concurrency",
                     sq_sup_pool_target(s), "prefetch", o->prefetch, "started_at",
                     iso(s->started_wall_ms), "state", sup_state_name(s),
                     "tasks_done", (json_int_t)s->tasks_done, "tasks_failed",
                     (json_int_t)s->tasks_failed, "tasks_retried",
                     (json_int_t)s->tasks_retried, "tasks_revoked",
                     (json_int_t)s->tasks_revoked, "tasks_lost",
                     (json_int_t)s->tasks_lost, "tasks_requeued",
                     (json_int_t)s->tasks_requeued, "running", busy,
                     "prefetched", s->nwait, "held", s->nheld, "rss_kb",
                     (json_int_t)s->sup_rss_kb, "children", children,
                     "alerts", alerts, "version", SYNCQ_VERSION_STRING,
                     "heartbeat_ms", (json_int_t)o->heartbeat_ms,
                     "loop_at_ms", (json_int_t)sq_now_ms(),
                     "poison_total", (json_int_t)s->poison_total,
                     "time_limit_ms", (json_int_t)o->time_limit_ms,
                     "soft_time_limit_ms",
                     (json_int_t)o->soft_time_limit_ms);
    if (info == NULL) {
        return NULL;
    }
    {
        struct sq_fault_counts fc;
        sq_fault_counts_get(&fc);
        json_object_set_new(info, "broker_errors", json_integer(fc.errors));
        json_object_set_new(info, "broker_reconnects",
                            json_integer(fc.reconnects));
        json_object_set_new(info, "outcomes_refused",
                            json_integer(s->outcomes_refused));
        json_object_set_new(info, "rate_limits", sq_sup_rl_json(s));
    }
    text = json_dumps(info, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(info);
    return text;
}

void
sq_sup_status_file(struct sq_sup *s, int64_t now)
{
    const char *path = s->o->status_file;
    char tmp[1100];
    json_t *st;
    char *text;
    size_t n;
    int busy = 0, fd;
    bool ok;

    s->next_status = now + 1000;
    if (path[0] == '\0') {
        return;
    }
    for (int i = 0; i < s->nch; i++) {
        busy += s->ch[i].task != NULL;
    }
    st = json_pack("{s:s,s:i,s:s,s:I,s:s,s:i,s:i,s:i,s:i,s:I,s:I}", "worker",
                   s->o->worker_id, "pid", (int)getpid(), "state",
                   sup_state_name(s), "loop_at_ms", (json_int_t)sq_now_ms(),
                   "broker", s->broker_up ? "up" : "down", "concurrency",
                   sq_sup_pool_target(s), "children", sq_pool_live(s), "busy",
                   busy, "held", s->nheld, "tasks_done",
                   (json_int_t)s->tasks_done, "pending_outcomes",
                   (json_int_t)s->nops);
    text = st != NULL ? json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER)
                      : NULL;
    json_decref(st);
    if (text == NULL) {
        return;
    }
    n = strlen(text);
    text[n] = '\n'; /* replace the NUL: the file ends with a newline */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        static bool logged;
        if (!logged) {
            SQ_ERROR("worker.status_file", "path=%s err=\"%s\"", path,
                     strerror(errno));
            logged = true;
        }
        sq_free(text);
        return;
    }
    ok = write(fd, text, n + 1) == (ssize_t)(n + 1);
    sq_free(text);
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
    }
}
