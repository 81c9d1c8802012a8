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

/* Serve tasks from `in_fd`, answer on `out_fd`, until `in_fd` closes.
 * `parent` is the supervisor's pid (checked after PR_SET_PDEATHSIG so a
 * child whose supervisor died during fork exits at once). Never returns. */
void sq_worker_child_main(const struct sq_worker_opts *o, pid_t parent,
                          int in_fd, int out_fd) __attribute__((noreturn));

#endif
