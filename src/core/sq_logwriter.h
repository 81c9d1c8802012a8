/* SPDX-License-Identifier: MIT
 *
 * sq_logwriter.h: the daemons' and CLI's log handler. One line per event,
 * logfmt (`ts=... level=... proc=worker pid=... event=... k=v`) or JSON
 * lines (`{"ts":...,"level":...,"proc":...,"pid":...,"event":...,k:v}`).
 * Writes to stderr or to a file that sq_logwriter_reopen() reopens (SIGHUP,
 * logrotate). Lines are written with one write(2) so processes sharing a
 * file never interleave within a line.
 */
#ifndef SQ_LOGWRITER_H
#define SQ_LOGWRITER_H

#include <stdbool.h>
#include <syncq/error.h>

/* Install the writer. `proc` ("worker", "beat", "cli", ...) is copied;
 * `path` NULL or "-" means stderr; `json` picks JSON lines.
 * Errors: SYNCQ_EIO when the file cannot be opened (message names it). */
int sq_logwriter_install(const char *proc, const char *path, bool json,
                         syncq_error *err);

/* Reopen the log file (no-op on stderr). Safe to call from the main loop
 * after a signal handler set a flag; never from the handler itself. */
int sq_logwriter_reopen(syncq_error *err);

/* Change the `proc` field (a forked child becomes "worker-child"); an
 * "@ns" suffix of the current one is kept ("worker-child@ns"). */
void sq_logwriter_set_proc(const char *proc);

/* Parse "text|json" (NULL: text). Returns 0 text, 1 json, -1 unknown. */
int sq_logwriter_format_parse(const char *s);

#endif
