/* SPDX-License-Identifier: MIT
 *
 * worker_child.h: the entry point of a forked worker child
 * (worker_child.c). The supervisor forks, closes in the child every
 * descriptor that is not the child's own (other children's pipes, Redis
 * sockets), and calls sq_worker_child_main.
 */
#ifndef SQ_WORKER_CHILD_H
#define SQ_WORKER_CHILD_H

#include <sys/types.h>

#include "worker/worker.h"

/* The set-up every process the supervisor forks does first (a pool
 * child, the Celery consumer), after closing the descriptors it
 * inherited (sq_pool_close_inherited): die with the supervisor
 * (PR_SET_PDEATHSIG `deathsig`; _exit(0) at once if `parent` already
 * died during the fork), log as `proc`, an empty signal mask, SIGHUP
 * asks for a log reopen (sq_worker_proc_reopen_log), SIGQUIT and SIGPIPE
 * ignored, SIGCHLD and SIGALRM default, SIGUSR1 -> `on_usr1` and
 * SIGTERM/SIGINT -> `on_term` (NULL: ignored; the supervisor decides).
 * Handlers restart interrupted calls (SA_RESTART). */
void sq_worker_proc_init(pid_t parent, int deathsig, const char *proc,
                         void (*on_usr1)(int), void (*on_term)(int));

/* Reopen the log file when a SIGHUP asked for it since the last call
 * (call it from the process's loop). */
void sq_worker_proc_reopen_log(void);

/* Serve tasks from `in_fd`, answer on `out_fd`, until `in_fd` closes.
 * `parent` is the supervisor's pid (checked after PR_SET_PDEATHSIG so a
 * child whose supervisor died during fork exits at once). Never returns. */
void sq_worker_child_main(const struct sq_worker_opts *o, pid_t parent,
                          int in_fd, int out_fd) __attribute__((noreturn));

#endif
