/* SPDX-License-Identifier: MIT
 *
 * cli_stack.h: the one-machine stack shared by `syncq up` and `syncq
 * demo`: an optional private Redis (unix socket under var/, AOF on), a
 * worker pool, the beat and the monitor, as supervised child processes.
 */
#ifndef SQ_CLI_STACK_H
#define SQ_CLI_STACK_H

#include "cli/cli.h"
#include "cli/cli_proc.h"

#include <stdbool.h>

struct cli_stack {
    struct cli_procs procs;
    char var_dir[512];      /* private Redis and data live here */
    char concurrency[16];   /* worker -c ("" = config default) */
    char queues[512];       /* worker -Q ("" = config default) */
    char listen[128];       /* monitor --listen */
    bool beat, monitor, worker;
    bool force_private;     /* always start a private Redis (demo) */
    bool own_redis;         /* a private Redis was started */
    char broker[1200];      /* broker URL used by the children */
    char broker_shown[1200];/* the same, password masked */
    struct cli_proc *redis;
    int first_service;      /* index of the first non-Redis process */
    const char *log_dir;    /* copy each process's output to <dir>/<name>.log */
};

void cli_stack_init(struct cli_stack *st);

/* mkdir -p `path` (mode 0755). 0, or -1 with errno. */
int cli_mkdirs(const char *path);

/* Create st->var_dir (mkdir -p) and put the stack's data under it by
 * exporting, for the children, SYNCQ_DATABASE_URL (<dir>/1688sync.db),
 * SYNCQ_MEDIA_DIR (media/), SYNCQ_RAW_DIR (raw/) and
 * SYNCQ_WORKER_STATUS_FILE (worker.status): all of them when `force`
 * (the demo), else only those not configured (`syncq up`). abs_out
 * (PATH_MAX bytes, may be NULL) gets the directory's absolute path.
 * Returns CLI_OK or CLI_FAIL after printing why. */
int cli_stack_place_data(struct cli *cli, struct cli_stack *st, bool force,
                         char *abs_out);

/* Start Redis if needed (waits until it answers), export
 * SYNCQ_BROKER_URL for the children, then start the services.
 * Returns an exit code (CLI_OK or CLI_FAIL after printing why). */
int cli_stack_start(struct cli *cli, struct cli_stack *st);

/* Start Redis only (for callers that start services themselves). */
int cli_stack_start_redis(struct cli *cli, struct cli_stack *st);

/* Add and start one more service process (this binary + argv). */
struct cli_proc *cli_stack_add_service(struct cli_stack *st, const char *name,
                                       const char *const *args);

void cli_stack_signal_services(struct cli_stack *st, int sig);
bool cli_stack_services_running(const struct cli_stack *st);

/* Stop the services (warm, up to 60 s), then Redis; free everything. */
void cli_stack_stop(struct cli_stack *st);

#endif
