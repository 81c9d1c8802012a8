/* SPDX-License-Identifier: MIT
 *
 * mon_route.c: request routing and the small parsers of the monitor's
 * HTTP server (mon_route.h). Input is hostile: bounded, no recursion,
 * nothing but fixed buffers.
 */
#include "monitor/mon_route.h"
#include "sq_error.h"
#include "sq_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGS 6

/* A segment of 1..max bytes of [A-Za-z0-9_.:-], not "." or "..". */
static bool
valid_seg(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
              c == ':')) {
            return false;
        }
    }
    return !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

/* An id segment: 1..64 bytes. */
static bool
valid_id(const char *s, size_t n)
{
    return valid_seg(s, n, 64);
}

/* A schedule name segment: 1..200 bytes (SYNCQ_SCHEDULE_NAME_MAX). */
static bool
valid_name(const char *s, size_t n)
{
    return valid_seg(s, n, 200);
}

static const struct sq_route_param p_tasks[] = {
    {"state", "string", "only tasks in this state (PENDING, STARTED, "
                        "SUCCESS, FAILURE, DEAD, ...)"},
    {"queue", "string", "only tasks of this queue"},
    {"name", "string", "only tasks of this name"},
    {"id", "string", "only tasks whose id starts with this (1..64 "
                     "characters)"},
    {"worker", "string", "only tasks this worker holds now or ran last "
                         "(the record keeps it as ran_by)"},
    {"batch", "string", "only tasks of this batch"},
    {"root", "string", "only tasks of this workflow root"},
    {"parent", "string", "only children of this task"},
    {"error", "string", "only tasks whose error class is this (network, "
                        "timeout, ...)"},
    {"since", "string", "only tasks created at or after this ISO 8601 "
                        "time"},
    {"until", "string", "only tasks created before this ISO 8601 time"},
    {"limit", "integer", "at most this many, 1..500 (default 50)"},
    {"offset", "integer", "skip this many matches, 0..1000000"},
    {"total", "integer", "1 (default): count every match; 0: stop once "
                         "the page is full (total is a lower bound)"},
    {NULL, NULL, NULL}};
static const struct sq_route_param p_action[] = {
    {"dry_run", "boolean", "1: only count the tasks it would touch"},
    {NULL, NULL, NULL}};
static const struct sq_route_param p_wait[] = {
    {"timeout", "number", "seconds to wait for a final state, 0..300 "
                          "(default 30); 408 with the current record "
                          "when it runs out"},
    {NULL, NULL, NULL}};
static const struct sq_route_param p_resume[] = {
    {"strategy", "string",
     "auto (default), retry, resume, restart, skip or manual"},
    {"queue", "string", "run in this queue instead of the task's own"},
    {NULL, NULL, NULL}};
static const struct sq_route_param p_dead[] = {
    {"queue", "string", "only dead tasks of this queue"},
    {"name", "string", "only dead tasks of this name"},
    {"limit", "integer", "at most this many, 1..500 (default 50)"},
    {"offset", "integer", "skip this many, 0..1000000"},
    {NULL, NULL, NULL}};

#define W SQ_RF_WRITE
#define H SQ_RF_HIDDEN
#define B SQ_RF_BODY
#define G SQ_RF_PAGE
#define P SQ_RF_PUBLIC
/* Literal paths come before parameter paths of the same shape
 * ("/api/tasks/bulk" before "/api/tasks/{id}"). */
const struct sq_route_def sq_mon_routes[] = {
    {SQ_R_INDEX, "GET", "/", H | G, NULL, "dashboard", NULL, NULL},
    {SQ_R_INDEX, "GET", "/index.html", H | G, NULL, "dashboard", NULL, NULL},
    {SQ_R_STATIC, "GET", "/static/{file}", H | P, NULL, "dashboard asset",
     NULL, NULL},
    {SQ_R_LOGIN, "GET", "/login", H | P, NULL, "sign-in page", NULL, NULL},
    {SQ_R_LOGIN_POST, "POST", "/login", H | P, NULL, "sign in", NULL, NULL},
    {SQ_R_LOGOUT, "POST", "/logout", H | P, NULL, "sign out", NULL, NULL},
    {SQ_R_PAGE, "GET", "/tasks", H | G, NULL, "task browser", NULL, NULL},
    {SQ_R_PAGE, "GET", "/task/{id}", H | G, NULL, "task page", NULL, NULL},
    {SQ_R_PAGE, "GET", "/workers", H | G, NULL, "workers page", NULL, NULL},
    {SQ_R_PAGE, "GET", "/worker/{name}", H | G, NULL, "worker page", NULL,
     NULL},
    {SQ_R_PAGE, "GET", "/queues", H | G, NULL, "queues page", NULL, NULL},
    {SQ_R_PAGE, "GET", "/catalog", H | G, NULL, "catalog page", NULL, NULL},
    {SQ_R_METRICS, "GET", "/metrics", 0, "system",
     "Prometheus text exposition of every figure", NULL, NULL},
    {SQ_R_LIVE, "GET", "/healthz", 0, "system",
     "liveness: the server answers (never waits for Redis)", NULL, NULL},
    {SQ_R_READY, "GET", "/readyz", 0, "system",
     "readiness: Redis answers (503 otherwise)", NULL, NULL},
    {SQ_R_OPENAPI, "GET", "/api/openapi.json", 0, "system",
     "this OpenAPI 3.1 document", NULL, NULL},
    {SQ_R_HEALTH, "GET", "/api/health", 0, "system",
     "system health with its reasons (503 when unhealthy)", NULL, NULL},
    {SQ_R_OVERVIEW, "GET", "/api/overview", 0, "system",
     "every figure, health, alerts and an hour of history", NULL, NULL},
    {SQ_R_QUEUES, "GET", "/api/queues", 0, "system",
     "queue depths by priority", NULL, NULL},
    {SQ_R_WORKERS, "GET", "/api/workers", 0, "system",
     "workers and their load", NULL, NULL},
    {SQ_R_WORKER, "GET", "/api/workers/{name}", 0, "system",
     "one worker: children, load, queues, paused queues", NULL, NULL},
    {SQ_R_WORKER_CONTROL, "POST", "/api/workers/{name}/control", W,
     "system",
     "send a worker a remote-control command; answers with its id (the "
     "acknowledgement comes at /api/control/{id})",
     NULL, "ControlCommand"},
    {SQ_R_CONTROL_ACK, "GET", "/api/control/{id}", 0, "system",
     "a control command's acknowledgement (404 until the worker answers)",
     NULL, NULL},
    {SQ_R_QUEUE_PAUSE, "POST", "/api/queues/{name}/pause", W, "system",
     "pause consumption of a queue: workers stop leasing from it", NULL,
     NULL},
    {SQ_R_QUEUE_RESUME, "POST", "/api/queues/{name}/resume", W, "system",
     "resume consumption of a paused queue", NULL, NULL},
    {SQ_R_SUMMARIES, "GET", "/api/summaries/{kind}", 0, "system",
     "the summaries task packs published under a kind (syncq/summary.h; "
     "\"catalog\": one per 1688 category, the Catalog page)", NULL, NULL},
    {SQ_R_PROGRESS, "GET", "/api/progress", 0, "system",
     "running tasks with their progress, rate and ETA", NULL, NULL},
    {SQ_R_NAMESPACES, "GET", "/api/namespaces", 0, "system",
     "the namespaces this server serves (monitor serve --namespace a,b), "
     "the default first; other requests pick one with ?ns=NS", NULL,
     NULL},
    {SQ_R_ALERTS, "GET", "/api/alerts", 0, "system",
     "alert states and recent transitions", NULL, NULL},
    {SQ_R_TASKS, "GET", "/api/tasks", 0, "tasks", "list and search tasks",
     p_tasks, NULL},
    {SQ_R_TASK_CREATE, "POST", "/api/tasks", W | B, "tasks",
     "create a task (Idempotency-Key honoured)", NULL, "TaskSpec"},
    {SQ_R_TASKS_BULK, "POST", "/api/tasks/bulk", W | B, "tasks",
     "create many tasks: all or none (Idempotency-Key honoured)", NULL,
     "TaskList"},
    {SQ_R_TASK, "GET", "/api/tasks/{id}", 0, "tasks",
     "a task: state, result, error, progress, attempts, checkpoints", NULL,
     NULL},
    {SQ_R_TASK_WAIT, "GET", "/api/tasks/{id}/wait", 0, "tasks",
     "wait for a task to end (long poll)", p_wait, NULL},
    {SQ_R_TASK_CHECKPOINTS, "GET", "/api/tasks/{id}/checkpoints", 0,
     "tasks", "a task's stored checkpoints, newest first", NULL, NULL},
    {SQ_R_TASK_EVENTS, "GET", "/api/tasks/{id}/events", 0, "tasks",
     "a task's events (state changes), oldest first, from the events "
     "stream", NULL, NULL},
    {SQ_R_ACTION, "POST", "/api/actions/{name}", W, "tasks",
     "a bulk action (retry, resume, cancel, purge) on the tasks a filter "
     "selects; with \"expect\" it runs only if the count is still that",
     p_action, "BulkAction"},
    {SQ_R_TASK_CANCEL, "POST", "/api/tasks/{id}/cancel", W, "tasks",
     "cancel (revoke) a task at any stage", NULL, NULL},
    {SQ_R_TASK_RETRY, "POST", "/api/tasks/{id}/retry", W, "tasks",
     "run an ended task again as it is", NULL, NULL},
    {SQ_R_TASK_RESUME, "POST", "/api/tasks/{id}/resume", W, "tasks",
     "resume an ended task with a strategy", p_resume, NULL},
    {SQ_R_WORKFLOW, "GET", "/api/workflows/{id}", 0, "tasks",
     "progress of the task tree under a root task", NULL, NULL},
    {SQ_R_BATCHES, "GET", "/api/batches", 0, "batches",
     "recent batches", NULL, NULL},
    {SQ_R_BATCH_CREATE, "POST", "/api/batches", W | B, "batches",
     "create a batch: items split into chunk tasks (Idempotency-Key "
     "honoured)", NULL, "BatchSpec"},
    {SQ_R_BATCH, "GET", "/api/batches/{id}", 0, "batches",
     "a batch's progress", NULL, NULL},
    {SQ_R_SCHEDULES, "GET", "/api/schedules", 0, "schedules",
     "every schedule with its next run", NULL, NULL},
    {SQ_R_SCHEDULE_CREATE, "POST", "/api/schedules", W | B, "schedules",
     "create (or with replace, replace) a schedule", NULL, "ScheduleSpec"},
    {SQ_R_SCHEDULE, "GET", "/api/schedules/{name}", 0, "schedules",
     "one schedule", NULL, NULL},
    {SQ_R_SCHEDULE_REMOVE, "DELETE", "/api/schedules/{name}", W,
     "schedules", "remove a schedule", NULL, NULL},
    {SQ_R_SCHEDULE_PAUSE, "POST", "/api/schedules/{name}/pause", W,
     "schedules", "pause a schedule", NULL, NULL},
    {SQ_R_SCHEDULE_RESUME, "POST", "/api/schedules/{name}/resume", W,
     "schedules", "resume a paused schedule", NULL, NULL},
    {SQ_R_SCHEDULE_RUN, "POST", "/api/schedules/{name}/run", W,
     "schedules", "run a schedule's task now", NULL, NULL},
    {SQ_R_DEAD, "GET", "/api/dead", 0, "recovery",
     "the dead-letter queue, most recent death first", p_dead, NULL},
    {SQ_R_DEAD_REQUEUE, "POST", "/api/dead/{id}/requeue", W, "recovery",
     "requeue a dead task", NULL, NULL},
};
#undef W
#undef H
#undef B
#undef G
#undef P
const size_t sq_mon_nroutes = sizeof sq_mon_routes / sizeof sq_mon_routes[0];

/* Does `def`'s path match the segments? 1 match, 0 no, -1 the shape
 * matches but a parameter is malformed. The parameter goes to arg. */
static int
path_match(const char *pat, const char *const *seg, const size_t *len,
           int n, char *arg, size_t cap)
{
    int i = 0;
    int bad = 0;

    arg[0] = '\0';
    while (*pat == '/') {
        const char *end;
        size_t pl;

        pat++;
        if (*pat == '\0') {
            break;
        }
        end = strchr(pat, '/');
        pl = end != NULL ? (size_t)(end - pat) : strlen(pat);
        if (i == n) {
            return 0;
        }
        if (pat[0] == '{') {
            bool ok = pl == 6 && memcmp(pat, "{name}", 6) == 0
                          ? valid_name(seg[i], len[i])
                          : valid_id(seg[i], len[i]);
            if (!ok) {
                bad = 1;
            } else if (len[i] < cap) {
                memcpy(arg, seg[i], len[i]);
                arg[len[i]] = '\0';
            }
        } else if (pl != len[i] || memcmp(pat, seg[i], pl) != 0) {
            return 0;
        }
        i++;
        pat += pl;
    }
    if (i != n) {
        return 0;
    }
    return bad ? -1 : 1;
}

static bool
method_ok(const char *want, const char *method)
{
    if (strcmp(want, method) == 0) {
        return true;
    }
    return strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

/* Split a path into at most MAX_SEGS segments; -1 malformed, -2 too
 * many. */
static int
split_path(const char *path, const char **seg, size_t *len)
{
    const char *p;
    int n = 0;

    if (strlen(path) > 1024) {
        return -1;
    }
    for (p = path; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
            return -1;
        }
    }
    p = path + 1;
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t l = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (l == 0) {
            if (slash == NULL) {
                break; /* trailing slash */
            }
            return -1; /* "//" */
        }
        if ((l == 1 && p[0] == '.') ||
            (l == 2 && p[0] == '.' && p[1] == '.')) {
            return -1;
        }
        if (n == MAX_SEGS) {
            return -2;
        }
        seg[n] = p;
        len[n] = l;
        n++;
        p += l;
        if (*p == '/') {
            p++;
        }
    }
    return n;
}

int
sq_mon_route_parse(const char *method, const char *path, struct sq_route *out)
{
    const char *seg[MAX_SEGS];
    size_t len[MAX_SEGS];
    const struct sq_route_def *path_only = NULL;
    char arg[sizeof out->arg];
    int n, st = 404;

    memset(out, 0, sizeof *out);
    out->kind = SQ_R_NOT_FOUND;
    if (method == NULL || path == NULL || path[0] != '/') {
        return 400;
    }
    n = split_path(path, seg, len);
    if (n == -1) {
        return 400;
    }
    if (n < 0) {
        return 404;
    }
    for (size_t i = 0; i < sq_mon_nroutes; i++) {
        const struct sq_route_def *d = &sq_mon_routes[i];
        int m = path_match(d->path, seg, len, n, arg, sizeof arg);
        if (m < 0 && st == 404) {
            st = 400;
        }
        if (m <= 0) {
            continue;
        }
        if (method_ok(d->method, method)) {
            out->kind = d->kind;
            out->def = d;
            memcpy(out->arg, arg, sizeof arg);
            return 0;
        }
        if (path_only == NULL) {
            path_only = d;
            memcpy(out->arg, arg, sizeof arg);
        }
    }
    if (path_only != NULL) {
        out->kind = path_only->kind;
        out->def = path_only;
        return 405;
    }
    return st;
}

int
sq_mon_listen_parse(const char *s, struct sq_listen *out, syncq_error *err)
{
    const char *colon;
    char host[80];
    size_t hl;
    char *end;
    long port;
    unsigned char buf[16];

    memset(out, 0, sizeof *out);
    if (s == NULL || s[0] == '\0' || strlen(s) > 80) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "listen address must be HOST:PORT (127.0.0.1:5555)");
    }
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':') {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen address '%.80s': expected [IPv6]:PORT", s);
        }
        hl = (size_t)(rb - s - 1);
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        colon = rb + 1;
        out->ipv6 = true;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen address '%.80s' has no :PORT", s);
        }
        hl = (size_t)(colon - s);
        if (hl >= sizeof host) {
            return sq_fail(err, SYNCQ_EINVAL, "listen host too long");
        }
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (memchr(host, ':', hl) != NULL) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen address '%.80s': put IPv6 in brackets", s);
        }
    }
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "listen port '%.16s' is not 0..65535", colon + 1);
    }
    out->port = (int)port;
    if (strcasecmp(host, "localhost") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    if (host[0] == '\0') {
        out->loopback = false; /* all interfaces */
        return SYNCQ_OK;
    }
    if (out->ipv6) {
        if (inet_pton(AF_INET6, host, buf) != 1) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen host '%.64s' is not an IPv6 address", host);
        }
        out->loopback = strcmp(host, "::1") == 0;
    } else {
        if (inet_pton(AF_INET, host, buf) != 1) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen host '%.64s' is not an IPv4 address "
                           "(give an address, not a name)",
                           host);
        }
        out->loopback = buf[0] == 127;
    }
    snprintf(out->host, sizeof out->host, "%s", host);
    return SYNCQ_OK;
}

/* Constant-time comparison of a candidate of length n with the token. */
static bool
same(const char *token, const char *cand, size_t n)
{
    size_t tl = strlen(token);
    unsigned char diff = (unsigned char)(tl != n);

    for (size_t i = 0; i < tl; i++) {
        unsigned char c = i < n ? (unsigned char)cand[i] : 0;
        diff |= (unsigned char)(c ^ (unsigned char)token[i]);
    }
    return diff == 0;
}

bool
sq_mon_token_ok(const char *token, const char *auth, const char *query,
                const char *cookie)
{
    if (token == NULL || token[0] == '\0') {
        return true;
    }
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *t = auth + 7;
        size_t n;
        while (*t == ' ') {
            t++;
        }
        n = strcspn(t, " \t");
        /* one token word, then only blanks: "Bearer tok extra" is not
         * the token "tok" (RFC 6750 credentials are one b64token) */
        if (t[n + strspn(t + n, " \t")] == '\0' && same(token, t, n)) {
            return true;
        }
    }
    if (query != NULL && same(token, query, strlen(query))) {
        return true;
    }
    if (cookie != NULL) {
        const char *p = cookie;
        while (p != NULL && *p != '\0') {
            while (*p == ' ' || *p == ';') {
                p++;
            }
            if (strncmp(p, "syncq_token=", 12) == 0) {
                const char *v = p + 12;
                if (same(token, v, strcspn(v, ";"))) {
                    return true;
                }
            }
            p = strchr(p, ';');
        }
    }
    return false;
}

int
sq_mon_access(const char *read_token, const char *write_token,
              bool loopback, const char *auth, const char *query,
              const char *cookie, bool *by_token)
{
    bool has_r = read_token[0] != '\0', has_w = write_token[0] != '\0';
    bool dummy;

    if (by_token == NULL) {
        by_token = &dummy;
    }
    *by_token = true;
    if (has_w && sq_mon_token_ok(write_token, auth, query, cookie)) {
        return SQ_ACCESS_WRITE;
    }
    if (has_r && sq_mon_token_ok(read_token, auth, query, cookie)) {
        return has_w ? SQ_ACCESS_READ : SQ_ACCESS_WRITE;
    }
    *by_token = false;
    if (has_r || !loopback) {
        return SQ_ACCESS_NONE;
    }
    return has_w ? SQ_ACCESS_READ : SQ_ACCESS_WRITE;
}

bool
sq_mon_host_is_loopback(const char *host)
{
    char h[80];
    size_t n;

    if (host == NULL || host[0] == '\0' || strlen(host) >= sizeof h) {
        return false;
    }
    if (host[0] == '[') {
        return strncmp(host, "[::1]", 5) == 0 &&
               (host[5] == '\0' || host[5] == ':');
    }
    n = strcspn(host, ":");
    memcpy(h, host, n);
    h[n] = '\0';
    if (strcasecmp(h, "localhost") == 0) {
        return true;
    }
    {
        unsigned char buf[4];
        return inet_pton(AF_INET, h, buf) == 1 && buf[0] == 127;
    }
}

size_t
sq_mon_unescape(char *s)
{
    char *w = s;

    for (const char *r = s; *r != '\0'; r++) {
        if (r[0] == '%' && sq_hexval(r[1]) == 0 && sq_hexval(r[2]) == 0) {
            return strlen(s);
        }
    }
    for (const char *r = s; *r != '\0'; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = sq_hexval(r[1])) >= 0 &&
            (lo = sq_hexval(r[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

bool
sq_mon_query_num(const char *s, long lo, long hi, long *out)
{
    long v = 0;
    size_t n = 0;

    if (s == NULL) {
        return false;
    }
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 12) {
            return false; /* 12 digits: far above any bound, no overflow */
        }
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0 || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}
