/* SPDX-License-Identifier: MIT
 *
 * cli_worker_health.c: `syncq worker health`, the container/systemd
 * health check of one worker, answered from its liveness file
 * (--status-file) alone: no Redis round trip, so a busy worker is never
 * reported dead (all children busy does not slow the file down) and a
 * broker outage is "ready=fail", never "live=fail" (known-failures C43:
 * ping-based probes restarted busy workers and crash-looped them while
 * the broker was down).
 */
#include "cli/cli.h"
#include "core/sq_time.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct health {
    bool live, ready;
    char reason[160];
    json_t *st; /* the file's JSON, or NULL */
};

static json_t *
read_status(const char *path, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *st;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(why, cap, "no status file %s (%s): worker not running?",
                 path, strerror(errno));
        return NULL;
    }
    st = json_loadf(f, 0, &jerr);
    fclose(f);
    if (st == NULL || !json_is_object(st)) {
        json_decref(st);
        snprintf(why, cap, "status file %s is not a worker status (%s)",
                 path, st == NULL ? jerr.text : "not an object");
        return NULL;
    }
    return st;
}

static void
judge(struct health *h, const char *path, int64_t stale_ms)
{
    json_t *pid, *at, *broker;
    int64_t age;

    h->live = h->ready = false;
    h->st = read_status(path, h->reason, sizeof h->reason);
    if (h->st == NULL) {
        return;
    }
    pid = json_object_get(h->st, "pid");
    at = json_object_get(h->st, "loop_at_ms");
    broker = json_object_get(h->st, "broker");
    if (!json_is_integer(pid) || !json_is_integer(at)) {
        snprintf(h->reason, sizeof h->reason,
                 "status file %s lacks pid or loop_at_ms", path);
        return;
    }
    if (kill((pid_t)json_integer_value(pid), 0) != 0 && errno == ESRCH) {
        snprintf(h->reason, sizeof h->reason,
                 "worker pid %lld is gone (status file left behind)",
                 (long long)json_integer_value(pid));
        return;
    }
    age = sq_now_ms() - (int64_t)json_integer_value(at);
    if (age > stale_ms) {
        snprintf(h->reason, sizeof h->reason,
                 "event loop stalled: status written %.1f s ago",
                 (double)age / 1000.0);
        return;
    }
    h->live = true;
    h->ready = json_is_string(broker) &&
               strcmp(json_string_value(broker), "up") == 0;
    snprintf(h->reason, sizeof h->reason, "%s", h->ready ? "" : "broker");
}

static void
print_health(const struct health *h, bool json)
{
    json_int_t busy = json_integer_value(json_object_get(h->st, "busy"));
    json_int_t conc =
        json_integer_value(json_object_get(h->st, "concurrency"));

    if (json) {
        json_t *o = json_pack("{s:b,s:b,s:s}", "live", h->live, "ready",
                              h->ready, "reason", h->reason);
        if (o != NULL && h->st != NULL) {
            json_object_set(o, "status", h->st);
        }
        cli_print_json(o);
        json_decref(o);
        return;
    }
    printf("live=%s ready=%s", h->live ? "ok" : "fail",
           h->ready ? "ok" : "fail");
    if (h->reason[0] != '\0') {
        printf(" reason=\"%s\"", h->reason);
    }
    if (h->st != NULL) {
        const char *w = json_string_value(json_object_get(h->st, "worker"));
        const char *st = json_string_value(json_object_get(h->st, "state"));
        printf(" worker=%s state=%s busy=%lld/%lld", w != NULL ? w : "?",
               st != NULL ? st : "?", (long long)busy, (long long)conc);
    }
    printf("\n");
}

static int
cli_worker_health(struct cli *cli)
{
    const char *path = NULL;
    int64_t stale_ms = 30000;
    bool need_ready = false;
    struct health h;
    syncq_error err;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        switch (ov->key) {
        case 'f':
            path = ov->arg;
            break;
        case 's':
            if (sq_duration_parse_ms(ov->arg, &stale_ms, &err) != SYNCQ_OK ||
                stale_ms < 1000 || stale_ms > 3600000) {
                return cli_usage(cli, "--stale '%s' must be 1s .. 1h", ov->arg);
            }
            break;
        case 'r':
            need_ready = true;
            break;
        }
    }
    if (path == NULL) {
        syncq_config *cfg = cli_config(cli);
        if (cfg == NULL) {
            return CLI_FAIL;
        }
        path = syncq_config_str(cfg, "SYNCQ_WORKER_STATUS_FILE");
    }
    if (path == NULL || path[0] == '\0') {
        return cli_usage(cli, "no status file: pass --status-file PATH (the "
                              "worker's --status-file) or set "
                              "SYNCQ_WORKER_STATUS_FILE");
    }
    judge(&h, path, stale_ms);
    print_health(&h, cli->json);
    json_decref(h.st);
    fflush(stdout);
    return (h.live && (h.ready || !need_ready)) ? CLI_OK : CLI_FAIL;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt worker_health_opts[] = {
    {"status-file", 'f', true, "PATH",
     "the worker's --status-file (default SYNCQ_WORKER_STATUS_FILE)"},
    {"stale", 's', false, "S", "live only if written within S (default 30)"},
    {"ready", 'r', false, NULL, "exit 0 only when ready, not just live"},
    CLI_OPT_END,
};

const struct cli_cmd cli_worker_health_cmds[] = {
    {.path = "worker health",
     .run = cli_worker_health,
     .summary = "live/ready of a worker from its --status-file (no Redis"
                " call)",
     .synopsis = "[--status-file PATH] [--stale S] [--ready]\n"
                 " [--json]",
     .description = "Health of the worker that writes PATH (its"
                    " --status-file, default\n"
                    "SYNCQ_WORKER_STATUS_FILE), read from that file alone:"
                    " no Redis call.\n"
                    "live: the file exists, its worker process exists, and"
                    " its event loop\n"
                    "wrote it within --stale (default 30 s). ready: live and"
                    " connected to\n"
                    "Redis. Prints e.g. `live=ok ready=fail reason=broker"
                    " busy=2/2`.\n"
                    "Exit status 0 when live (with --ready: when ready), 1"
                    " otherwise, so a\n"
                    "liveness probe never restarts a busy worker or one"
                    " waiting for Redis.",
     .opts = worker_health_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
