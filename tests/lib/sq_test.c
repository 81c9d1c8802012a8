/* SPDX-License-Identifier: MIT
 *
 * sq_test.c: test helpers (CLI runner, raw Redis, waits).
 */
#include "sq_test.h"
#include "broker/broker.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *
sqt_broker_url(void)
{
    return getenv("SYNCQ_BROKER_URL");
}

syncq_client *
sqt_client(void)
{
    syncq_client *c = NULL;
    syncq_error err;
    int rc = syncq_client_open(sqt_broker_url(), NULL, &c, &err);

    if (rc != SYNCQ_OK) {
        fail_msg("client open: %s", err.msg);
    }
    return c;
}

redisContext *
sqt_redis(void)
{
    const char *sock = getenv("SYNCQ_REDIS_SOCK");
    redisContext *rc;

    if (sock == NULL) {
        fail_msg("SYNCQ_REDIS_SOCK unset: run under run-with-redis.sh");
    }
    rc = redisConnectUnix(sock);
    if (rc == NULL || rc->err) {
        fail_msg("redis connect %s: %s", sock, rc ? rc->errstr : "oom");
    }
    return rc;
}

redisReply *
sqt_cmd(const char *fmt, ...)
{
    redisContext *rc = sqt_redis();
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    redisFree(rc);
    if (r == NULL) {
        fail_msg("redis command failed: %s", fmt);
    }
    return r;
}

long long
sqt_cmd_int(const char *fmt, ...)
{
    redisContext *rc = sqt_redis();
    va_list ap;
    redisReply *r;
    long long v;

    va_start(ap, fmt);
    r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    redisFree(rc);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        fail_msg("expected integer reply for %s (type %d: %s)", fmt,
                 r ? r->type : -1, r && r->str ? r->str : "");
    }
    v = r->integer;
    freeReplyObject(r);
    return v;
}

void
sqt_flush(void)
{
    freeReplyObject(sqt_cmd("FLUSHALL"));
}

int
sqt_redisctl(const char *action)
{
    const char *ctl = getenv("SQ_REDISCTL");
    char cmd[1024];
    int st;

    if (ctl == NULL) {
        fail_msg("SQ_REDISCTL unset");
    }
    snprintf(cmd, sizeof cmd, "'%s' %s", ctl, action);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Split `line` into argv on spaces, honouring '...' groups. */
static char **
split_args(char *line, int *argc)
{
    char **argv = calloc(256, sizeof *argv);
    int n = 0;
    char *p = line;

    while (*p != '\0' && n < 254) {
        char *w;
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        w = p;
        if (*p == '\'') {
            w = ++p;
            while (*p != '\0' && *p != '\'') {
                p++;
            }
        } else {
            while (*p != '\0' && *p != ' ') {
                p++;
            }
        }
        if (*p != '\0') {
            *p++ = '\0';
        }
        argv[n++] = w;
    }
    argv[n] = NULL;
    *argc = n;
    return argv;
}

static char *
slurp_fd_len(int fd, size_t *len_out)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);

    for (;;) {
        ssize_t r;
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    if (len_out != NULL) {
        *len_out = len;
    }
    return buf;
}

static char *
slurp_fd(int fd)
{
    return slurp_fd_len(fd, NULL);
}

static char **
build_argv(char *line, const char *bin)
{
    int argc;
    char **args = split_args(line, &argc);
    char **argv = calloc((size_t)argc + 2, sizeof *argv);

    argv[0] = (char *)bin;
    for (int i = 0; i < argc; i++) {
        argv[i + 1] = args[i];
    }
    free(args);
    return argv;
}

struct sqt_out
sqt_cli(const char *in, const char *fmt, ...)
{
    struct sqt_out o = {-1, NULL, NULL};
    const char *bin = getenv("SYNCQ_BIN");
    char line[65536];
    va_list ap;
    char outp[512], errp[512];
    int ofd, efd;
    pid_t pid;
    int st;
    char **argv;

    if (bin == NULL) {
        fail_msg("SYNCQ_BIN unset");
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    snprintf(outp, sizeof outp, "%s/cli-out.XXXXXX", sqt_tmpdir());
    snprintf(errp, sizeof errp, "%s/cli-err.XXXXXX", sqt_tmpdir());
    ofd = mkstemp(outp);
    efd = mkstemp(errp);
    argv = build_argv(line, bin);
    pid = fork();
    if (pid == 0) {
        int infd;
        if (in != NULL) {
            int pfd[2];
            if (pipe(pfd) == 0) {
                if (fork() == 0) {
                    close(pfd[0]);
                    ssize_t w = write(pfd[1], in, strlen(in));
                    (void)w;
                    _exit(0);
                }
                close(pfd[1]);
                infd = pfd[0];
            } else {
                infd = open("/dev/null", O_RDONLY);
            }
        } else {
            infd = open("/dev/null", O_RDONLY);
        }
        dup2(infd, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        execv(bin, argv);
        _exit(127);
    }
    free(argv);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    o.out = slurp_fd(ofd);
    o.err = slurp_fd(efd);
    close(ofd);
    close(efd);
    unlink(outp);
    unlink(errp);
    return o;
}

void
sqt_out_free(struct sqt_out *o)
{
    free(o->out);
    free(o->err);
    o->out = o->err = NULL;
}

int
sqt_spawn(const char *logpath, const char *fmt, ...)
{
    const char *bin = getenv("SYNCQ_BIN");
    char line[65536];
    va_list ap;
    char **argv;
    pid_t pid;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    argv = build_argv(line, bin);
    pid = fork();
    if (pid == 0) {
        char lp[512];
        int fd;
        setpgid(0, 0);
        if (logpath == NULL) {
            snprintf(lp, sizeof lp, "%s/bg-%d.log", sqt_tmpdir(),
                     (int)getpid());
            logpath = lp;
        }
        fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        fd = open("/dev/null", O_RDONLY);
        dup2(fd, 0);
        execv(bin, argv);
        _exit(127);
    }
    free(argv);
    {
        char pp[512];
        FILE *f;
        snprintf(pp, sizeof pp, "%s/pids", sqt_tmpdir());
        f = fopen(pp, "a");
        if (f != NULL) {
            fprintf(f, "%d\n", (int)pid);
            fclose(f);
        }
    }
    return (int)pid;
}

int
sqt_kill_wait(int pid, int sig, int timeout_ms)
{
    int st;
    int waited = 0;

    kill(pid, sig);
    while (waited < timeout_ms) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            return st;
        }
        if (r < 0 && errno == ECHILD) {
            return 0;
        }
        usleep(10000);
        waited += 10;
    }
    return -1;
}

bool
sqt_wait_until(bool (*fn)(void *ud), void *ud, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (fn(ud)) {
            return true;
        }
        usleep(10000);
    }
    return fn(ud);
}

const char *
sqt_task_state(syncq_client *c, const char *id)
{
    static char state[32];
    json_t *t = NULL;

    state[0] = '\0';
    if (syncq_task_info(c, id, &t, NULL) == SYNCQ_OK) {
        const char *s = json_string_value(json_object_get(t, "state"));
        snprintf(state, sizeof state, "%s", s ? s : "");
        json_decref(t);
    }
    return state;
}

int
sqt_task_events(const char *id, const char *e)
{
    redisReply *x = sqt_cmd("XRANGE {syncq}:events - +");
    int n = 0;

    for (size_t i = 0; x != NULL && i < x->elements; i++) {
        /* an entry may be about several tasks (broker_event.c) */
        struct sq_event te;
        for (bool more = sq_event_first(x->element[i]->element[1], &te); more;
             more = sq_event_next(&te)) {
            n += te.e != NULL && te.id != NULL && strcmp(te.e, e) == 0 &&
                 strcmp(te.id, id) == 0;
        }
    }
    freeReplyObject(x);
    return n;
}

const char *
sqt_fixture(const char *rel)
{
    static char path[4096];
    const char *base = getenv("SYNCQ_FIXTURES");

    snprintf(path, sizeof path, "%s/%s",
             base ? base : "tests/fixtures", rel);
    return path;
}

char *
sqt_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    char *s;

    if (fd < 0) {
        return NULL;
    }
    s = slurp_fd_len(fd, len); /* binary-safe: the real byte count */
    close(fd);
    return s;
}

static char unit_dir[512];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Unit tests (no run-with-redis.sh dir) remove their temp dir at exit. */
static void
remove_unit_dir(void)
{
    if (unit_dir[0] != '\0' && strcmp(unit_dir, "/tmp") != 0) {
        nftw(unit_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

const char *
sqt_tmpdir(void)
{
    const char *d = getenv("SYNCQ_TEST_DIR");

    if (d != NULL) {
        return d;
    }
    if (unit_dir[0] == '\0') {
        snprintf(unit_dir, sizeof unit_dir, "/tmp/syncq-unit.XXXXXX");
        if (mkdtemp(unit_dir) == NULL) {
            snprintf(unit_dir, sizeof unit_dir, "/tmp");
        } else {
            atexit(remove_unit_dir);
        }
    }
    return unit_dir;
}
