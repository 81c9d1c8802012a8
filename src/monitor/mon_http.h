/* SPDX-License-Identifier: MIT
 *
 * mon_http.h: `syncq monitor serve`: the HTTP server (libmicrohttpd) with
 * the dashboard, the JSON API and Prometheus /metrics, plus the loops the
 * serving process runs: alert evaluation, Sentry forwarding, log reopen.
 *
 * The routes (mon_route.c's table) and handlers (mon_api_*.c) include
 * the task API: create tasks, batches and schedules, wait, cancel,
 * resume (docs/api.md), with an OpenAPI document from the same table.
 *
 * Binds to loopback unless told otherwise and refuses any other address
 * without a token. Access is one rule (sq_mon_access): SYNCQ_API_TOKEN
 * reads and writes, SYNCQ_MONITOR_TOKEN reads (and writes when no API
 * token is set); a token comes as a Bearer header or ?token=, and a
 * browser carries a signed session cookie (mon_session.h) made at
 * sign-in (/login) or at a ?token= visit. Pages without access send a
 * browser to /login; every write is logged with the token's name. A token-less loopback server checks the Host
 * header (DNS rebinding) and every POST needs the X-Syncq-Request header,
 * a bearer token or a JSON body (no cross-site form can send them).
 * Request bodies over SYNCQ_API_MAX_BODY are refused (413) before they
 * are read.
 * Figures are cached for SQ_MON_CACHE_MS so a busy dashboard or several
 * Prometheus servers cost Redis one collection a second.
 */
#ifndef SQ_MON_HTTP_H
#define SQ_MON_HTTP_H

#include "monitor/mon_route.h"

#include <signal.h>
#include <stdbool.h>
#include <syncq/config.h>
#include <syncq/error.h>

#define SQ_MON_CACHE_MS 1000

struct sq_mon_serve_opts {
    const char *listen;     /* NULL: SYNCQ_MONITOR_LISTEN */
    const char *token;      /* NULL: SYNCQ_MONITOR_TOKEN ("" none) */
    const char *api_token;  /* NULL: SYNCQ_API_TOKEN ("" none) */
    const char *rules_path; /* NULL: SYNCQ_ALERT_RULES */
    bool no_alerts;         /* do not evaluate alert rules */
    const char *port_file;  /* write "PORT\n" once listening, or NULL */
    int64_t alert_tick_ms;  /* 0: SQ_ALERTS_TICK_MS */
    /* More namespaces to serve besides cfg's (--namespace a,b): their
     * configurations (SYNCQ_NAMESPACE differs), borrowed while serving;
     * requests pick one with ?ns=NS (docs/dashboard.md). */
    const syncq_config *const *more_cfg;
    size_t nmore;
};

/* Check a listen address before serving on it: `listen` (NULL:
 * SYNCQ_MONITOR_LISTEN) must parse and be loopback unless a token is set
 * (`token`, NULL: SYNCQ_MONITOR_TOKEN); with `probe`, it must also be
 * bindable now (a socket is bound and closed again). *out (may be NULL)
 * gets the parsed address.
 * Errors: SYNCQ_EINVAL (bad address, or not loopback without a token),
 *         SYNCQ_EIO (cannot bind: the message names the address and why).
 * Thread-safe. */
int sq_mon_listen_check(const syncq_config *cfg, const char *listen,
                        const char *token, bool probe, struct sq_listen *out,
                        syncq_error *err);

/* Serve until *stop becomes non-zero; reopen the log file whenever *hup
 * is non-zero (then reset it). Starts even while Redis is down (answers
 * unhealthy, reconnects with backoff).
 * Errors: SYNCQ_EINVAL (bad listen address, or not loopback without a
 *         token, or bad alert rules: nothing started), SYNCQ_EIO (cannot
 *         bind: the message names the address), SYNCQ_ENOMEM. */
int sq_mon_serve(const syncq_config *cfg, const struct sq_mon_serve_opts *o,
                 volatile sig_atomic_t *stop, volatile sig_atomic_t *hup,
                 syncq_error *err);

#endif
