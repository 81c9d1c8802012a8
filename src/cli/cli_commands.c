/* SPDX-License-Identifier: MIT
 *
 * cli_commands.c: the order of the command table. Each cli_<group>.c
 * defines the rows of its commands (cli.h: struct cli_cmd, with options,
 * help and examples); this list puts the groups in the order `syncq
 * --help` and docs/cli.md show them. A new command is a row in its
 * group's array; a new group is one line here and one in cli.h.
 */
#include "cli/cli.h"

#include <stddef.h>

const struct cli_cmd *const cli_command_groups[] = {
    cli_status_cmds,   cli_task_cmds,          cli_task_args_cmds,
    cli_task_run_cmds,
    cli_worker_cmds,   cli_worker_health_cmds, cli_worker_control_cmds,
    cli_config_cmds,
    cli_up_cmds,       cli_sync_cmds,          cli_demo_cmds,
    cli_recovery_cmds, cli_monitor_cmds,       cli_beat_cmds,
    cli_schedule_cmds, cli_batch_cmds,         cli_fixture_cmds,
    cli_help_cmds,     NULL,
};
