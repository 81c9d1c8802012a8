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
    SQ_R_OPENAPI,     /* GET /api/openapi.json */
    SQ_R_PROGRESS,    /* GET /api/progress */
    SQ_R_TASK_CREATE, /* POST /api/tasks */
    SQ_R_TASKS_BULK,  /* POST /api/tasks/bulk */
    SQ_R_TASK_WAIT,   /* GET /api/tasks/<id>/wait */
    SQ_R_TASK_CHECKPOINTS, /* GET /api/tasks/<id>/checkpoints */
    SQ_R_BATCH_CREATE,     /* POST /api/batches */
    SQ_R_SCHEDULE_CREATE,  /* POST /api/schedules */
    SQ_R_SCHEDULE,         /* GET /api/schedules/<name> */
    SQ_R_SCHEDULE_REMOVE,  /* DELETE /api/schedules/<name> */
    SQ_R_SCHEDULE_PAUSE,   /* POST /api/schedules/<name>/pause */
    SQ_R_SCHEDULE_RESUME,  /* POST /api/schedules/<name>/resume */
    SQ_R_SCHEDULE_RUN,     /* POST /api/schedules/<name>/run */
    SQ_R_DEAD,             /* GET /api/dead */
    SQ_R_DEAD_REQUEUE,     /* POST /api/dead/<id>/requeue */
    SQ_R_WORKFLOW,         /* GET /api/workflows/<id> */
    SQ_R_PAGE,             /* GET a dashboard page (/tasks, /task/<id>,
                              /workers, /worker/<name>, /queues,
                              /catalog) */
    SQ_R_LOGIN,            /* GET /login: the sign-in page */
    SQ_R_LOGIN_POST,       /* POST /login: sign in (form body) */
    SQ_R_LOGOUT,           /* POST /logout */
    SQ_R_TASK_EVENTS,      /* GET /api/tasks/<id>/events */
    SQ_R_ACTION,           /* POST /api/actions/<name>: bulk action */
    SQ_R_WORKER,           /* GET /api/workers/<name> */
    SQ_R_WORKER_CONTROL,   /* POST /api/workers/<name>/control */
    SQ_R_CONTROL_ACK,      /* GET /api/control/<id>: a command's ack */
    SQ_R_QUEUE_PAUSE,      /* POST /api/queues/<name>/pause */
    SQ_R_QUEUE_RESUME,     /* POST /api/queues/<name>/resume */
    SQ_R_SUMMARIES,        /* GET /api/summaries/<kind> (syncq/summary.h) */
    SQ_R_NAMESPACES,       /* GET /api/namespaces */
    SQ_R_ALERTS            /* GET /api/alerts (keep last: fuzz checks the
                              range) */
};

/* Flags of a route. */
#define SQ_RF_WRITE 1u  /* changes state: needs write access */
#define SQ_RF_HIDDEN 2u /* not an API endpoint (dashboard files) */
#define SQ_RF_BODY 4u   /* takes a JSON request body */
#define SQ_RF_PAGE 8u   /* a browser page: sends to the sign-in page
                           instead of answering 401 */
#define SQ_RF_PUBLIC 16u /* needs no token (sign-in page and assets) */

/* A query parameter of a route (for the OpenAPI document). */
struct sq_route_param {
    const char *name;
    const char *type; /* JSON Schema type: string, integer, number */
    const char *doc;
};

/* One row of the route table: the router matches requests against it and
 * the OpenAPI document (mon_api_openapi.c) is generated from it. Path
 * parameters are "{id}" (1..64 bytes of [A-Za-z0-9_.:-]), "{name}" (the
 * same characters, 1..200 bytes: schedule names) and "{file}" (as id). */
struct sq_route_def {
    int kind;                /* enum sq_route_kind */
    const char *method;      /* GET (HEAD too), POST or DELETE */
    const char *path;        /* "/api/tasks/{id}/cancel" */
    unsigned flags;          /* SQ_RF_* */
    const char *tag;         /* OpenAPI tag: tasks, schedules, ... */
    const char *summary;     /* one line */
    const struct sq_route_param *query; /* ends with a NULL name; or NULL */
    const char *body;        /* component schema of the body, or NULL */
};

/* The route table, in matching order, and its length. */
extern const struct sq_route_def sq_mon_routes[];
extern const size_t sq_mon_nroutes;

struct sq_route {
    int kind;       /* enum sq_route_kind */
    char arg[256];  /* task/batch id, schedule name or static file name */
    const struct sq_route_def *def; /* matched row (NULL if none) */
};

/* Route `method` + decoded `path` (no query) through sq_mon_routes.
 * Returns the HTTP status to answer on a mismatch: 0 matched, 404 unknown
 * path, 405 wrong method (kind and def are the path's row), 400 malformed
 * path (control bytes, "..", over 1 KiB, bad id or name). */
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
 * header (the token is its only word: trailing blanks are allowed, a
 * second word refuses it), a "token" query argument, or a "syncq_token"
 * cookie (each may be NULL). Constant-time in the token length. */
bool sq_mon_token_ok(const char *token, const char *auth_header,
                     const char *query_token, const char *cookie_header);

/* What a request may do. */
enum sq_access { SQ_ACCESS_NONE, SQ_ACCESS_READ, SQ_ACCESS_WRITE };

/* The access a request gets (one rule for the dashboard and the task
 * API). `read_token` is SYNCQ_MONITOR_TOKEN, `write_token`
 * SYNCQ_API_TOKEN ("" when unset; never NULL). A request carrying the
 * write token may write; one carrying the read token may read, and write
 * too when no write token is set (the one-token setup of old). Without a
 * token: nothing when a read token is set; else reads on a loopback
 * server, and writes too when no write token is set either (a server off
 * loopback without any token never starts: sq_mon_listen_check).
 * *by_token (may be NULL) tells whether a token granted it. */
int sq_mon_access(const char *read_token, const char *write_token,
                  bool loopback, const char *auth_header,
                  const char *query_token, const char *cookie_header,
                  bool *by_token);

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
