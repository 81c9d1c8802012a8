/* SPDX-License-Identifier: MIT
 *
 * cli_proc.h: a small process supervisor for `syncq up` and `syncq demo`:
 * starts child processes (this binary with subcommands, redis-server),
 * prefixes their output lines with the process name, restarts a child
 * that dies unexpectedly (with backoff), forwards Ctrl-C as a warm stop
 * and a second one as a cold stop, and waits for everything to exit.
 */
#ifndef SQ_CLI_PROC_H
#define SQ_CLI_PROC_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define CLI_PROC_MAX 16

struct cli_proc {
    char name[32];       /* "worker", "beat", "redis" ... */
    char *argv[64];      /* owned strings; argv[0] is the program */
    int argc;
    pid_t pid;           /* 0 when not running */
    int out_fd;          /* read end of its stdout+stderr pipe, or -1 */
    char line[4096];     /* partial output line */
    size_t line_len;
    bool restart;        /* restart when it dies unexpectedly */
    int restarts;
    long long next_start_ms; /* monotonic; for restart backoff */
    long long started_ms;    /* monotonic time of the last start */
    int exit_status;     /* last wait status */
    bool quiet;          /* drop its output (still logged to logfile) */
    FILE *logfile;       /* copy of its output, or NULL */
};

struct cli_procs {
    struct cli_proc p[CLI_PROC_MAX];
    int n;
    bool color;          /* colour the name prefixes */
    FILE *out;           /* where prefixed lines go (stdout) */
    bool stopping;
    struct cli_proc *failed; /* a child that exited with status 2 (usage):
                                 restarting it cannot help */
};

/* Add a process (argv copied; NULL-terminated list). Returns it. */
struct cli_proc *cli_procs_add(struct cli_procs *ps, const char *name,
                               bool restart, const char *const *argv);

/* Start one process (fork + exec, output piped). 0 or -1 (errno). */
int cli_proc_start(struct cli_procs *ps, struct cli_proc *p);

/* Start every process not running. 0 or -1. */
int cli_procs_start_all(struct cli_procs *ps);

/* Pump output and reap children for up to `timeout_ms`; restarts
 * children that died (unless stopping). Returns the number running. */
int cli_procs_poll(struct cli_procs *ps, int timeout_ms);

/* Send `sig` to every running process (in reverse start order). */
void cli_procs_signal(struct cli_procs *ps, int sig);

/* Stop: SIGTERM in reverse order, wait up to grace_ms, then SIGKILL. */
void cli_procs_stop(struct cli_procs *ps, int grace_ms);

/* Free argv strings and close fds. */
void cli_procs_cleanup(struct cli_procs *ps);

/* Path of the running syncq binary (/proc/self/exe), static buffer. */
const char *cli_self_exe(void);

/* Install SIGINT/SIGTERM/SIGQUIT handlers counting stop requests;
 * cli_stop_requests() returns how many arrived (0, 1: warm, 2+: cold). */
void cli_install_stop_handlers(void);
int cli_stop_requests(void);

#endif
