/* SPDX-License-Identifier: MIT
 *
 * cli_demo_pg.h: the private PostgreSQL of `syncq demo --database
 * postgresql` (cli_demo_pg.c): a cluster under <var>/pg on a unix socket
 * only, created on first use and kept between runs.
 */
#ifndef SQ_CLI_DEMO_PG_H
#define SQ_CLI_DEMO_PG_H

#include <stddef.h>

/* Create (first run) and start the cluster of `var_abs` (an absolute
 * path) and its database "syncq"; url (cap bytes) gets its libpq URL.
 * Returns 0, or -1 with the reason (one line) in why. Not thread-safe. */
int cli_demo_pg_start(const char *var_abs, char *url, size_t cap, char *why,
                      size_t why_cap);

/* Stop the cluster of `var_abs` (pg_ctl stop -m fast; waits). */
void cli_demo_pg_stop(const char *var_abs);

#endif
