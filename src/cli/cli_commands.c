/* SPDX-License-Identifier: MIT
 *
 * cli_commands.c: the table of `syncq` commands. A subsystem adds its
 * command here (one line) and implements it in cli_<command>.c.
 */
#include "cli/cli.h"

int cli_task_create(struct cli *cli);
int cli_task_info(struct cli *cli);
int cli_task_list(struct cli *cli);
int cli_task_cancel(struct cli *cli);
int cli_task_wait(struct cli *cli);
int cli_task_run(struct cli *cli);
int cli_worker(struct cli *cli);
int cli_status(struct cli *cli);
int cli_config_show(struct cli *cli);
int cli_config_docs(struct cli *cli);
int cli_version(struct cli *cli);
int cli_fixture_server(struct cli *cli);
int cli_beat(struct cli *cli);
int cli_beat_status(struct cli *cli);
int cli_schedule_add(struct cli *cli);
int cli_schedule_list(struct cli *cli);
int cli_schedule_info(struct cli *cli);
int cli_schedule_remove(struct cli *cli);
int cli_schedule_pause(struct cli *cli);
int cli_schedule_resume(struct cli *cli);
int cli_schedule_run(struct cli *cli);
int cli_schedule_load(struct cli *cli);
int cli_schedule_next(struct cli *cli);
int cli_batch_create(struct cli *cli);
int cli_batch_info(struct cli *cli);
int cli_batch_list(struct cli *cli);
int cli_recovery_checkpoints(struct cli *cli);
int cli_recovery_cleanup(struct cli *cli);
int cli_recovery_resume(struct cli *cli);
int cli_recovery_policy(struct cli *cli);
int cli_recovery_dead_list(struct cli *cli);
int cli_recovery_dead_requeue(struct cli *cli);
int cli_recovery_dead_purge(struct cli *cli);
int cli_up(struct cli *cli);
int cli_worker_health(struct cli *cli);
int cli_sync(struct cli *cli);
int cli_demo(struct cli *cli);
int cli_monitor_health(struct cli *cli);
int cli_monitor_progress(struct cli *cli);
int cli_monitor_alerts(struct cli *cli);
int cli_monitor_serve(struct cli *cli);

const struct cli_cmd cli_commands[] = {
    {"status", cli_status, "broker, queues, workers at a glance"},
    {"task create", cli_task_create, "create a task, print its id"},
    {"task info", cli_task_info, "show one task"},
    {"task list", cli_task_list, "list tasks by state, queue or name"},
    {"task cancel", cli_task_cancel, "cancel (revoke) tasks at any stage"},
    {"task wait", cli_task_wait, "wait for a task to finish"},
    {"task run", cli_task_run, "run a task in-process, print its result"},
    {"worker", cli_worker, "run a worker (supervisor + prefork children)"},
    {"worker health", cli_worker_health,
     "live/ready of a worker from its --status-file (no Redis call)"},
    {"config show", cli_config_show, "every setting, its value and source"},
    {"config docs", cli_config_docs, "settings reference as Markdown"},
    {"up", cli_up, "run worker, beat and monitor for one machine"},
    {"sync", cli_sync, "sync 1688 categories end to end, follow progress"},
    {"demo", cli_demo, "the main job: a whole catalog sync on a private stack"},
    {"recovery checkpoints", cli_recovery_checkpoints,
     "a task's checkpoints: step, size, time, checksum"},
    {"recovery cleanup", cli_recovery_cleanup,
     "delete checkpoints no task will resume from"},
    {"recovery resume", cli_recovery_resume,
     "run a failed task again: auto|retry|resume|restart|skip|manual"},
    {"recovery policy", cli_recovery_policy,
     "retry policy per error class, as the worker applies it"},
    {"recovery dead list", cli_recovery_dead_list,
     "list the dead-letter queue"},
    {"recovery dead requeue", cli_recovery_dead_requeue,
     "put dead tasks back in their queue"},
    {"recovery dead purge", cli_recovery_dead_purge,
     "delete dead-letter records for good"},
    {"monitor health", cli_monitor_health,
     "healthy / degraded / unhealthy with reasons (exit 0/1/2)"},
    {"monitor progress", cli_monitor_progress,
     "progress bars of running tasks and batches (--watch)"},
    {"monitor alerts", cli_monitor_alerts, "active and recent alerts"},
    {"monitor serve", cli_monitor_serve,
     "web dashboard, JSON API and Prometheus /metrics"},
    {"beat", cli_beat, "run the scheduler (leader-elected; fires ticks once)"},
    {"beat status", cli_beat_status, "the beats: which leads, which are "
     "alive"},
    {"schedule add", cli_schedule_add, "add an interval, cron or one-shot "
     "schedule"},
    {"schedule list", cli_schedule_list, "schedules with next and last runs"},
    {"schedule info", cli_schedule_info, "one schedule's definition and "
     "state"},
    {"schedule remove", cli_schedule_remove, "delete schedules"},
    {"schedule pause", cli_schedule_pause, "stop firing a schedule"},
    {"schedule resume", cli_schedule_resume, "fire a paused schedule again"},
    {"schedule run", cli_schedule_run, "create a schedule's task now"},
    {"schedule load", cli_schedule_load, "load a static schedule file"},
    {"schedule next", cli_schedule_next, "check a cron expression, show its "
     "next times"},
    {"batch create", cli_batch_create, "split items into chunk tasks (waves: "
     "--max-in-flight, --rate)"},
    {"batch info", cli_batch_info, "progress of a batch"},
    {"batch list", cli_batch_list, "recent batches with progress"},
    {"fixture-server", cli_fixture_server,
     "serve a deterministic fixture 1688 catalog (dev/test tool)"},
    {"version", cli_version, "print the version"},
    {NULL, NULL, NULL},
};
