/* SPDX-License-Identifier: MIT
 *
 * cli_monitor.h: terminal rendering shared by `syncq status` and
 * `syncq monitor ...` (progress bars, durations, rates).
 */
#ifndef SQ_CLI_MONITOR_H
#define SQ_CLI_MONITOR_H

#include <jansson.h>
#include <stdint.h>
#include <syncq/client.h>
#include <stdbool.h>
#include <stdio.h>

/* Print one running task (snapshot "running" entry) as a progress line:
 * "name  id  [#####.....]  45%  450/1000  12.3/s  ETA 44s  message".
 * `color`: ANSI colours allowed. */
void cli_mon_task_line(FILE *f, const json_t *t, bool color);

/* Print one batch (snapshot "batches" entry) as a progress line. */
void cli_mon_batch_line(FILE *f, const json_t *b, bool color);

/* Seconds as "44s", "3m05s", "2h10m"; "-" for unknown (< 0 or null). */
const char *cli_mon_eta(const json_t *v, char *buf, size_t cap);

/* A rate or ratio for tables: "12.3/s", "99.0%", "-" for null. */
const char *cli_mon_pct(const json_t *v, char *buf, size_t cap);
const char *cli_mon_ms(const json_t *v, char *buf, size_t cap);

/* Print a task record's progress readably on stdout ("progress
 * 450/1000 (45%), 1025.6/s, message"); nothing when it has none. */
void cli_task_progress_print(const json_t *p);

/* syncq_task_wait (same contract), showing the task's progress on stderr
 * while it waits: redrawn in place on a terminal, a line every 5 s
 * otherwise (cli_task_progress.c). */
int cli_task_wait_progress(syncq_client *c, const char *id,
                           int64_t timeout_ms, json_t **out,
                           syncq_error *err);

#endif
