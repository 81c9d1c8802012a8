/* SPDX-License-Identifier: MIT
 *
 * mon_route.h: the pure parsing parts of the monitor's HTTP server, kept
 * apart so they are unit-tested and fuzzed (fuzz/fuzz_http_route.c):
 * request path -> route, listen address, token check, Host check.
 */
#ifndef SQ_MON_ROUTE_H
#define SQ_MON_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <syncq/error.h>

enum sq_route_kind {
    SQ_R_NOT_FOUND,
    SQ_R_INDEX,       /* GET / */
    SQ_R_STATIC,      /* GET /static/<file> (arg: file) */
    SQ_R_METRICS,     /* GET /metrics */
    SQ_R_LIVE,        /* GET /healthz */
    SQ_R_READY,       /* GET /readyz */
    SQ_R_HEALTH,      /* GET /api/health */
    SQ_R_OVERVIEW,    /* GET /api/overview */
    SQ_R_QUEUES,      /* GET /api/queues */
    SQ_R_WORKERS,     /* GET /api/workers */
    SQ_R_TASKS,       /* GET /api/tasks */
    SQ_R_TASK,        /* GET /api/tasks/<id> */
    SQ_R_TASK_CANCEL, /* POST /api/tasks/<id>/cancel */
    SQ_R_TASK_RETRY,  /* POST /api/tasks/<id>/retry */
    SQ_R_TASK_RESUME, /* POST /api/tasks/<id>/resume */
    SQ_R_BATCHES,     /* GET /api/batches */
    SQ_R_BATCH,       /* GET /api/batches/<id> */
    SQ_R_SCHEDULES,   /* GET /api/schedules */
    SQ_R_ALERTS       /* GET /api/alerts */
};

struct sq_route {
    int kind;       /* enum sq_route_kind */
    char arg[128];  /* task/batch id or static file name */
};

/* Route `method` + decoded `path` (no query). Returns the HTTP status to
 * answer on a mismatch: 0 matched, 404 unknown path, 405 wrong method,
 * 400 malformed path (control bytes, "..", over 1 KiB, bad id). */
int sq_mon_route_parse(const char *method, const char *path,
                       struct sq_route *out);

/* A listen address: "127.0.0.1:5555", "localhost:0", "[::1]:8080",
 * "0.0.0.0:5555", ":5555" (all interfaces). Port 0 picks a free port. */
struct sq_listen {
    char host[64];   /* numeric address ("" for all interfaces) */
    int port;        /* 0..65535 */
    bool ipv6;
    bool loopback;   /* 127.0.0.0/8 or ::1 */
};

/* Errors: SYNCQ_EINVAL with what is wrong. "localhost" becomes
 * 127.0.0.1; other names are refused (give an address). */
int sq_mon_listen_parse(const char *s, struct sq_listen *out,
                        syncq_error *err);

/* True when the request carries `token`: an "Authorization: Bearer <t>"
 * header, a "token" query argument, or a "syncq_token" cookie (each may
 * be NULL). Constant-time in the token length. */
bool sq_mon_token_ok(const char *token, const char *auth_header,
                     const char *query_token, const char *cookie_header);

/* Percent-decode `s` in place (paths and query values), as
 * libmicrohttpd does, except that a string holding %00 is left as it came
 * (decoded, "/api/tasks/%00x" would be cut at the NUL and read as the task
 * list instead of being refused as a bad id). Returns the new length. */
size_t sq_mon_unescape(char *s);

/* A query number ("limit", "offset"): decimal digits only, in lo..hi.
 * False (and *out untouched) for anything else, "" and "+5" included. */
bool sq_mon_query_num(const char *s, long lo, long hi, long *out);

/* True when a Host header names a loopback host (DNS rebinding guard
 * for a token-less loopback server). NULL is refused. */
bool sq_mon_host_is_loopback(const char *host);

#endif
