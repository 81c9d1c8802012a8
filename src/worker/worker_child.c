/* SPDX-License-Identifier: MIT
 *
 * worker_child.c: a worker child process. It reads one TASK frame at a
 * time from the supervisor, runs the task with a context, and answers
 * with a DONE frame holding the outcome already decided by the retry
 * policy. It dies with the supervisor (PR_SET_PDEATHSIG), ignores the
 * terminal's and the service manager's stop signals (the supervisor
 * decides), turns SIGUSR1 into "stop requested", and exits when its pipe
 * closes (recycling, shutdown).
 *
 * The child opens its own Redis connection on first use (never the
 * supervisor's) for progress, checkpoints and sub-tasks. It exits with
 * _exit: it is a forked copy and must not run the parent's atexit
 * handlers or flush the parent's stdio buffers a second time.
 */
#include "worker/worker_child.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_logwriter.h"
#include "worker/worker_ctx.h"
#include "worker/worker_frame.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile sig_atomic_t reopen_flag;
static syncq_client *child_client; /* opened on first use by a task */

static void
on_usr1(int sig)
{
    (void)sig;
    sq_worker_stop_flag = 1;
}

static void
on_hup(int sig)
{
    (void)sig;
    reopen_flag = 1;
}

static void
set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = fn;
    sigaction(sig, &sa, NULL);
}

void
sq_worker_proc_init(pid_t parent, int deathsig, const char *proc,
                    void (*on_usr1_fn)(int), void (*on_term_fn)(int))
{
    sigset_t none;

    /* Die with the supervisor, even if it is SIGKILLed. */
    prctl(PR_SET_PDEATHSIG, deathsig);
    /* Timers to the microsecond: the kernel's default slack (50 us) makes
     * every short sleep of a task (and each poll with a timeout) end up
     * to 50 us late, 5 % of a 1 ms sleep. */
    prctl(PR_SET_TIMERSLACK, 1000UL);
    if (getppid() != parent) {
        _exit(0); /* it died during the fork */
    }
    sq_logwriter_set_proc(proc);
    set_handler(SIGUSR1, on_usr1_fn != NULL ? on_usr1_fn : SIG_IGN);
    set_handler(SIGHUP, on_hup);
    set_handler(SIGINT, on_term_fn != NULL ? on_term_fn : SIG_IGN);
    set_handler(SIGTERM, on_term_fn != NULL ? on_term_fn : SIG_IGN);
    set_handler(SIGQUIT, SIG_IGN);
    set_handler(SIGPIPE, SIG_IGN);
    set_handler(SIGCHLD, SIG_DFL);
    set_handler(SIGALRM, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

void
sq_worker_proc_reopen_log(void)
{
    if (reopen_flag) {
        reopen_flag = 0;
        sq_logwriter_reopen(NULL);
    }
}

/* Write all of buf; false when the supervisor is gone. */
static bool
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Read until one whole frame is in `in` (from offset *off). Returns 1 with
 * the frame, 0 on EOF, -1 on a protocol error. */
static int
read_frame(int fd, struct sq_buf *in, size_t *off, size_t limit,
           struct sq_frame *f, size_t *used)
{
    char chunk[65536];
    syncq_error err;

    for (;;) {
        int rc = sq_frame_parse(in->data != NULL ? in->data + *off : "",
                                in->len - *off, limit, f, used, &err);
        ssize_t n;
        if (rc < 0) {
            SQ_ERROR("worker.child.protocol", "err=\"%s\"", err.msg);
            return -1;
        }
        if (rc == 1) {
            return 1;
        }
        if (*off > 0) {
            /* keep the partial frame at the front */
            memmove(in->data, in->data + *off, in->len - *off);
            in->len -= *off;
            *off = 0;
        }
        n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            sq_worker_proc_reopen_log();
            continue;
        }
        if (n <= 0) {
            return 0;
        }
        if (sq_buf_add(in, chunk, (size_t)n) != 0) {
            SQ_ERROR("worker.child.protocol", "err=\"frame over %zu bytes\"",
                     limit);
            return -1;
        }
    }
}

/* Parse args or kwargs of a TASK frame, the text stored with the task
 * (absent: a new [] or {}). NULL with *invalid set when the text is not
 * JSON, NULL alone when it is JSON of another type. */
static json_t *
frame_json(const struct sq_frame *f, int tag, bool object, bool *invalid)
{
    json_error_t jerr;
    json_t *v;

    if (!sq_frame_has(f, tag)) {
        return object ? json_object() : json_array();
    }
    v = json_loadb(f->f[tag].p, f->f[tag].n, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                   &jerr);
    if (v == NULL) {
        *invalid = true;
    } else if (object ? !json_is_object(v) : !json_is_array(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* Store a failure's detail on the record (error.detail), only while the
 * lease is ours. Best-effort: the detail is diagnostic. */
static void
store_detail(struct syncq_ctx *ctx)
{
    syncq_client *c;
    redisReply *r = NULL;
    char key[256];
    char *s;

    if (ctx->error_detail == NULL || ctx->token == NULL) {
        return;
    }
    c = syncq_ctx_client(ctx);
    if (c == NULL) {
        return;
    }
    s = json_dumps(ctx->error_detail, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        return;
    }
    sq_key(c, key, sizeof key, "t:%s", ctx->id);
    if (sq_client_cmd(c, &r, NULL, "HGET %s lease", key) == SYNCQ_OK) {
        bool ours = r->type == REDIS_REPLY_STRING &&
                    strcmp(r->str, ctx->token) == 0;
        freeReplyObject(r);
        r = NULL;
        if (ours && strlen(s) <= 65536 &&
            sq_client_cmd(c, &r, NULL, "HSET %s err_detail %s", key, s) ==
                SYNCQ_OK) {
            freeReplyObject(r);
        }
    }
    sq_free(s);
}

/* Run the task of frame `f` and build its DONE frame into `out`. */
static void
run_task(const struct sq_worker_opts *o, const struct sq_frame *f,
         struct sq_buf *out)
{
    char id[SYNCQ_ID_SIZE], token[32], name[256], queue[128];
    char batch[80], root[80];
    char *policy = NULL;
    json_t *args, *kwargs;
    struct syncq_ctx ctx;
    struct sq_outcome oc;
    const syncq_task_def *def;
    bool invalid = false;
    int64_t rt = 0;
    size_t start;

    sq_frame_str(f, SQ_F_ID, id, sizeof id);
    sq_frame_str(f, SQ_F_TOKEN, token, sizeof token);
    sq_frame_str(f, SQ_F_NAME, name, sizeof name);
    sq_frame_str(f, SQ_F_QUEUE, queue, sizeof queue);
    sq_frame_str(f, SQ_F_BATCH, batch, sizeof batch);
    sq_frame_str(f, SQ_F_ROOT, root, sizeof root);
    if (sq_frame_has(f, SQ_F_POLICY) && f->f[SQ_F_POLICY].n > 0) {
        policy = sq_strndup(f->f[SQ_F_POLICY].p, f->f[SQ_F_POLICY].n);
    }
    args = frame_json(f, SQ_F_ARGS, false, &invalid);
    kwargs = frame_json(f, SQ_F_KWARGS, true, &invalid);
    def = syncq_registry_find(o->registry, name);
    sq_ctx_init(&ctx, def, id, name, args != NULL ? args : json_null(),
                kwargs != NULL ? kwargs : json_null(), o->cfg);
    ctx.queue = queue;
    ctx.token = token;
    ctx.batch_id = batch[0] != '\0' ? batch : NULL;
    ctx.root_id = root[0] != '\0' ? root : NULL;
    ctx.call_policy = policy;
    ctx.attempt = (int)sq_frame_ll(f, SQ_F_ATTEMPT, 1);
    ctx.retries = (int)sq_frame_ll(f, SQ_F_RETRIES, 0);
    ctx.max_retries = (int)sq_frame_ll(f, SQ_F_MAXR, -1);
    ctx.client_slot = &child_client;
    sq_worker_stop_flag = 0;
    if (def == NULL) {
        syncq_ctx_fail(&ctx, SYNCQ_ERR_NOT_REGISTERED,
                       "task %.200s is not registered in this worker (load "
                       "its plugin with --plugin)",
                       name);
    } else if (invalid) {
        syncq_ctx_fail(&ctx, SYNCQ_ERR_VALIDATION,
                       "stored args/kwargs are not valid JSON");
    } else if (args == NULL || kwargs == NULL) {
        syncq_ctx_fail(&ctx, SYNCQ_ERR_INTERNAL,
                       "task arguments are not a JSON array and object");
    } else {
        SQ_DEBUG("task.start", "task_id=%s task=%s attempt=%d", id, name,
                 ctx.attempt);
        rt = sq_ctx_run(&ctx);
    }
    sq_outcome_from_ctx(&ctx, o->max_payload, &oc, NULL);
    if (oc.kind != SQ_OUT_OK) {
        store_detail(&ctx);
    }
    start = sq_frame_begin(out, SQ_FRAME_DONE);
    sq_frame_adds(out, SQ_F_ID, id);
    sq_frame_adds(out, SQ_F_TOKEN, token);
    sq_frame_adds(out, SQ_F_KIND, oc.kind == SQ_OUT_OK     ? "ok"
                                  : oc.kind == SQ_OUT_RETRY ? "retry"
                                  : oc.kind == SQ_OUT_DEFER ? "defer"
                                                            : "fail");
    if (oc.kind == SQ_OUT_OK) {
        sq_frame_adds(out, SQ_F_RESULT, oc.result_json);
    } else {
        sq_frame_adds(out, SQ_F_CLASS, oc.err_class);
        sq_frame_adds(out, SQ_F_MSG, oc.err_msg);
        sq_frame_addll(out, SQ_F_DELAY, oc.delay_ms);
        sq_frame_adds(out, SQ_F_DEAD, oc.dead ? "1" : "0");
    }
    sq_frame_addll(out, SQ_F_RUNTIME, rt);
    if (ctx.saw_stop || sq_worker_stop_flag) {
        sq_frame_adds(out, SQ_F_STOPPED, "1");
    }
    if (o->max_memory_kb > 0) {
        sq_frame_addll(out, SQ_F_RSS, sq_proc_rss_kb(0));
    }
    if (sq_frame_end(out, start) != 0) {
        /* Cannot happen below the 1 GiB cap (results are checked against
         * SYNCQ_MAX_PAYLOAD); the supervisor treats silence as a death. */
        out->len = start;
    }
    sq_outcome_cleanup(&oc);
    sq_ctx_cleanup(&ctx);
    json_decref(args);
    json_decref(kwargs);
    sq_free(policy);
}

void
sq_worker_child_main(const struct sq_worker_opts *o, pid_t parent, int in_fd,
                     int out_fd)
{
    struct sq_buf in, out;
    size_t off = 0;
    size_t limit = (size_t)o->max_payload * 2 + ((size_t)1 << 20);
    size_t start;

    sq_worker_proc_init(parent, SIGKILL, "worker-child", on_usr1, NULL);
    if (limit > SQ_FRAME_MAX_LIMIT) {
        limit = SQ_FRAME_MAX_LIMIT;
    }
    sq_buf_init(&in, limit + 65536);
    sq_buf_init(&out, 0);
    start = sq_frame_begin(&out, SQ_FRAME_READY);
    sq_frame_addll(&out, SQ_F_PID, (long long)getpid());
    sq_frame_addll(&out, SQ_F_RSS, sq_proc_rss_kb(0));
    sq_frame_end(&out, start);
    if (!write_all(out_fd, out.data, out.len)) {
        _exit(0);
    }
    for (;;) {
        struct sq_frame f;
        size_t used = 0;
        int rc;
        sq_worker_proc_reopen_log();
        rc = read_frame(in_fd, &in, &off, limit, &f, &used);
        if (rc <= 0) {
            break; /* pipe closed: recycled or shutting down */
        }
        if (f.type == SQ_FRAME_TASK) {
            sq_buf_reset(&out);
            run_task(o, &f, &out);
            if (out.len > 0 && !write_all(out_fd, out.data, out.len)) {
                break;
            }
        }
        off += used;
        if (off == in.len) {
            in.len = 0;
            off = 0;
        }
    }
    syncq_client_close(child_client);
    _exit(0);
}
