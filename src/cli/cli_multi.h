/* SPDX-License-Identifier: MIT
 *
 * cli_multi.h: one command over several namespaces (docs/scaling.md
 * "Several namespaces in one process"). A namespace is one Redis Cluster
 * slot, so a deployment spreads its load over several; `worker`,
 * `status` and `monitor health` serve several at once with
 * `--namespace a,b` (and `worker -Q a:q1,b:q2`): one child process per
 * namespace, each an ordinary single-namespace run, under one parent that
 * is the command (one exit status, one shutdown, one output).
 */
#ifndef SQ_CLI_MULTI_H
#define SQ_CLI_MULTI_H

#include "cli/cli.h"

#include <stdbool.h>

/* The option key of --namespace in the commands that take it. */
#define CLI_OPT_NAMESPACE 60

/* The row of --namespace in a command's options table. */
#define CLI_MULTI_OPT                                                        \
    {"namespace", CLI_OPT_NAMESPACE, false, "NS1,NS2",                      \
     "run for each of these namespaces\n"                                  \
     "(SYNCQ_NAMESPACE), one child process each"}

/* Status/health hook, called before the command opens its client: with
 * one namespace in --namespace it sets SYNCQ_NAMESPACE and returns false
 * (go on); with several it runs the command once per namespace in a
 * child (in order; text under a "== namespace NS" header unless
 * `quiet`, --json as
 * {"namespaces": {NS: document}}), sets *rc to the highest exit status
 * and returns true; a bad list: usage error in *rc, true. In a child it
 * returns false with SYNCQ_NAMESPACE set to the child's namespace. */
bool cli_multi_each(struct cli *cli, bool quiet, int *rc);

/* Worker hook, called once the worker's flags are in the configuration:
 * the namespaces come from --namespace and from "NS:queue" entries of
 * SYNCQ_WORKER_QUEUES (a queue without "NS:" is served in every listed
 * namespace, or SYNCQ_NAMESPACE's). One namespace: SYNCQ_NAMESPACE and
 * SYNCQ_WORKER_QUEUES set, false. Several: one child per namespace,
 * started together, each returning false with its namespace and queues
 * set; the parent forwards TERM, INT, QUIT and HUP to them, stops the
 * others when one exits on its own, and returns true with *rc the
 * highest exit status. */
bool cli_multi_worker(struct cli *cli, int *rc);

/* `monitor serve` hook: one process serves every namespace of
 * --namespace (docs/dashboard.md "Several namespaces"). Without the
 * option: nothing changes, *more NULL. Else SYNCQ_NAMESPACE becomes the
 * first namespace and *more gets a copy of the configuration for each
 * other one (*nmore of them; free with cli_multi_configs_free). Returns
 * CLI_OK, or the usage error of a bad list. */
int cli_multi_configs(struct cli *cli, syncq_config ***more, size_t *nmore);
void cli_multi_configs_free(syncq_config **more, size_t nmore);

/* `proc` ("worker"), or "worker@NS" in the child of namespace NS: the
 * log lines of the children of one worker say whose they are. The
 * returned string is static. */
const char *cli_multi_proc(const char *proc);

#endif
