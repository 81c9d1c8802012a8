/* SPDX-License-Identifier: MIT
 *
 * cli_proc.c: the supervisor behind `syncq up` and `syncq demo`.
 */
#include "cli/cli_proc.h"
#include "core/sq_time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_count;

static void
on_stop(int sig)
{
    (void)sig;
    stop_count++;
}

void
cli_install_stop_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
}

int
cli_stop_requests(void)
{
    return (int)stop_count;
}

const char *
cli_self_exe(void)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);

    if (n <= 0) {
        return "syncq";
    }
    path[n] = '\0';
    return path;
}

struct cli_proc *
cli_procs_add(struct cli_procs *ps, const char *name, bool restart,
              const char *const *argv)
{
    struct cli_proc *p;

    if (ps->n >= CLI_PROC_MAX) {
        return NULL;
    }
    p = &ps->p[ps->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    for (int i = 0; argv[i] != NULL && i < 63; i++) {
        p->argv[i] = strdup(argv[i]);
        p->argc = i + 1;
    }
    p->argv[p->argc] = NULL;
    p->out_fd = -1;
    p->restart = restart;
    return p;
}

int
cli_proc_start(struct cli_procs *ps, struct cli_proc *p)
{
    int fds[2];
    pid_t pid;

    (void)ps;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        /* Die with the supervisor: nothing is left behind by a crash. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* Own process group: a terminal Ctrl-C reaches only the parent,
         * which forwards one SIGTERM (warm stop), not SIGINT + SIGTERM. */
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execv(p->argv[0], p->argv);
        execvp(p->argv[0], p->argv);
        fprintf(stderr, "cannot run %s: %s\n", p->argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    p->pid = pid;
    p->out_fd = fds[0];
    p->line_len = 0;
    p->started_ms = sq_mono_ms();
    return 0;
}

int
cli_procs_start_all(struct cli_procs *ps)
{
    for (int i = 0; i < ps->n; i++) {
        if (ps->p[i].pid == 0 && cli_proc_start(ps, &ps->p[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

static const char *colors[] = {"\033[36m", "\033[33m", "\033[35m",
                               "\033[32m", "\033[34m", "\033[31m"};

static void
emit_line(struct cli_procs *ps, struct cli_proc *p, const char *line,
          size_t n)
{
    int idx = (int)(p - ps->p);

    if (p->logfile != NULL) {
        fprintf(p->logfile, "%.*s\n", (int)n, line);
        fflush(p->logfile);
    }
    if (p->quiet || ps->out == NULL) {
        return;
    }
    if (ps->color) {
        fprintf(ps->out, "%s%-8s|\033[0m %.*s\n", colors[idx % 6], p->name,
                (int)n, line);
    } else {
        fprintf(ps->out, "%-8s| %.*s\n", p->name, (int)n, line);
    }
    fflush(ps->out);
}

/* Read what is available; emit complete lines. Returns 0 on EOF. */
static int
pump(struct cli_procs *ps, struct cli_proc *p)
{
    for (;;) {
        ssize_t r = read(p->out_fd, p->line + p->line_len,
                         sizeof p->line - 1 - p->line_len);
        if (r < 0) {
            return (errno == EAGAIN || errno == EINTR) ? 1 : 0;
        }
        if (r == 0) {
            if (p->line_len > 0) {
                emit_line(ps, p, p->line, p->line_len);
                p->line_len = 0;
            }
            return 0;
        }
        p->line_len += (size_t)r;
        for (;;) {
            char *nl = memchr(p->line, '\n', p->line_len);
            size_t n;
            if (nl == NULL) {
                if (p->line_len == sizeof p->line - 1) {
                    emit_line(ps, p, p->line, p->line_len);
                    p->line_len = 0;
                }
                break;
            }
            n = (size_t)(nl - p->line);
            emit_line(ps, p, p->line, n);
            memmove(p->line, nl + 1, p->line_len - n - 1);
            p->line_len -= n + 1;
        }
    }
}

static void
reap(struct cli_procs *ps)
{
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) {
            return;
        }
        for (int i = 0; i < ps->n; i++) {
            struct cli_proc *p = &ps->p[i];
            char msg[160];
            if (p->pid != pid) {
                continue;
            }
            if (p->out_fd >= 0) {
                while (pump(ps, p) > 0) {
                }
                close(p->out_fd);
                p->out_fd = -1;
            }
            p->pid = 0;
            p->exit_status = st;
            if (WIFSIGNALED(st)) {
                snprintf(msg, sizeof msg, "(exited on signal %d)",
                         WTERMSIG(st));
            } else {
                snprintf(msg, sizeof msg, "(exited with status %d)",
                         WEXITSTATUS(st));
            }
            if (!ps->stopping || WEXITSTATUS(st) != 0 || WIFSIGNALED(st)) {
                emit_line(ps, p, msg, strlen(msg));
            }
            if (WIFEXITED(st) && WEXITSTATUS(st) == 2 && !ps->stopping) {
                /* usage/config error: it will fail the same way again */
                p->restart = false;
                ps->failed = p;
            }
            if (p->restart && !ps->stopping) {
                /* back off 1 s, 2 s, 4 s ... up to 30 s between restarts;
                 * a process that ran a minute was healthy: start over */
                int64_t delay = 1000;
                if (sq_mono_ms() - p->started_ms >= 60000) {
                    p->restarts = 0;
                }
                for (int k = 0; k < p->restarts && delay < 30000; k++) {
                    delay *= 2;
                }
                p->restarts++;
                p->next_start_ms = sq_mono_ms() + (delay > 30000 ? 30000
                                                                 : delay);
            }
        }
    }
}

int
cli_procs_poll(struct cli_procs *ps, int timeout_ms)
{
    struct pollfd pfd[CLI_PROC_MAX];
    int map[CLI_PROC_MAX];
    int n = 0;
    int running = 0;

    for (int i = 0; i < ps->n; i++) {
        if (ps->p[i].out_fd >= 0) {
            pfd[n].fd = ps->p[i].out_fd;
            pfd[n].events = POLLIN;
            map[n++] = i;
        }
    }
    if (poll(pfd, (nfds_t)n, timeout_ms) > 0) {
        for (int k = 0; k < n; k++) {
            if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                struct cli_proc *p = &ps->p[map[k]];
                if (pump(ps, p) == 0 && p->out_fd >= 0) {
                    close(p->out_fd);
                    p->out_fd = -1;
                }
            }
        }
    }
    reap(ps);
    for (int i = 0; i < ps->n; i++) {
        struct cli_proc *p = &ps->p[i];
        if (p->pid == 0 && p->restart && !ps->stopping &&
            p->next_start_ms > 0 && sq_mono_ms() >= p->next_start_ms) {
            char msg[64];
            p->next_start_ms = 0;
            snprintf(msg, sizeof msg, "(restarting, attempt %d)", p->restarts);
            emit_line(ps, p, msg, strlen(msg));
            cli_proc_start(ps, p);
        }
        if (p->pid != 0) {
            running++;
        }
    }
    return running;
}

void
cli_procs_signal(struct cli_procs *ps, int sig)
{
    for (int i = ps->n - 1; i >= 0; i--) {
        if (ps->p[i].pid > 0) {
            kill(ps->p[i].pid, sig);
        }
    }
}

void
cli_procs_stop(struct cli_procs *ps, int grace_ms)
{
    int64_t deadline;

    ps->stopping = true;
    cli_procs_signal(ps, SIGTERM);
    deadline = sq_mono_ms() + grace_ms;
    while (cli_procs_poll(ps, 100) > 0) {
        if (sq_mono_ms() > deadline) {
            cli_procs_signal(ps, SIGKILL);
            deadline = sq_mono_ms() + 5000;
        }
    }
}

void
cli_procs_cleanup(struct cli_procs *ps)
{
    for (int i = 0; i < ps->n; i++) {
        for (int k = 0; k < ps->p[i].argc; k++) {
            free(ps->p[i].argv[k]);
        }
        if (ps->p[i].out_fd >= 0) {
            close(ps->p[i].out_fd);
        }
        if (ps->p[i].logfile != NULL) {
            fclose(ps->p[i].logfile);
        }
    }
    ps->n = 0;
}
