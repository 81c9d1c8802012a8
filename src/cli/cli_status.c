/* SPDX-License-Identifier: MIT
 *
 * cli_status.c: `syncq status`: one screen of what an operator looks at:
 * broker (URL with the password masked), Redis version, health, task
 * figures (success and error rate, runtime, wait, throughput over 1 min,
 * 5 min and 1 h), queue depths per queue and priority (every priority
 * list, C41), delayed, running and dead-letter counts, workers (state,
 * heartbeat age, running, done, RSS, CPU), running tasks with progress
 * and ETA, unfinished batches, and active alerts.
 *
 * --json keeps the engine's first shape (url, redis_version, namespace,
 * queues {name: {ready, by_priority}}, delayed, active, dead, workers,
 * maxmemory_policy) and adds "monitor": the snapshot of syncq/monitor.h
 * with "health" and "alerts".
 */
#include "cli/cli.h"
#include "cli/cli_monitor.h"
#include "cli/cli_multi.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *
str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "-";
}

static double
num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *
rate(double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "-");
    } else {
        snprintf(buf, cap, "%.2f/s", v);
    }
    return buf;
}

static const char *
bytes(double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "-");
    } else if (v >= 1024.0 * 1024 * 1024) {
        snprintf(buf, cap, "%.1fG", v / (1024.0 * 1024 * 1024));
    } else if (v >= 1024.0 * 1024) {
        snprintf(buf, cap, "%.1fM", v / (1024.0 * 1024));
    } else {
        snprintf(buf, cap, "%.0fK", v / 1024.0);
    }
    return buf;
}

/* The engine's queue table and counts line (kept as they were). */
/* "redis    master h:p (sentinel M, 1 failover seen), TLSv1.3 verified,
 * replicas 127.0.0.1:6381 online lag 0 s, min_replicas 1" */
static void
print_topology(json_t *t)
{
    json_t *reps = json_object_get(t, "replicas");
    const char *sm = json_string_value(json_object_get(t, "sentinel_master"));
    json_t *cl = json_object_get(t, "cluster");
    const char *tls = json_string_value(json_object_get(t, "tls"));
    size_t i;
    json_t *r;

    if (t == NULL) {
        return;
    }
    printf("redis    master %s",
           json_string_value(json_object_get(t, "master")));
    if (sm != NULL) {
        printf(" (sentinel %s, %lld failover(s) seen)", sm,
               (long long)json_integer_value(json_object_get(t, "failovers")));
    }
    if (cl != NULL) {
        printf(" (cluster slot %lld of namespace %s, %lld master(s), "
               "%lld failover(s) seen, %lld slot move(s))",
               (long long)json_integer_value(json_object_get(cl, "slot")),
               json_string_value(json_object_get(cl, "namespace")),
               (long long)json_integer_value(json_object_get(cl, "masters")),
               (long long)json_integer_value(json_object_get(t, "failovers")),
               (long long)json_integer_value(
                   json_object_get(cl, "slot_moves")));
    }
    if (tls != NULL && strcmp(tls, "off") != 0) {
        printf(", %s %s", tls,
               json_is_true(json_object_get(t, "tls_verify"))
                   ? "verified"
                   : "NOT VERIFIED");
    } else {
        printf(", no TLS");
    }
    printf(", replicas %zu", json_array_size(reps));
    json_array_foreach(reps, i, r) {
        printf("%s %s %s lag %lld s", i == 0 ? ":" : ";",
               json_string_value(json_object_get(r, "addr")),
               json_string_value(json_object_get(r, "state")),
               (long long)json_integer_value(json_object_get(r, "lag_s")));
    }
    printf(", min_replicas %lld\n",
           (long long)json_integer_value(json_object_get(t, "min_replicas")));
}

static void
print_broker(const json_t *st)
{
    const char *qn;
    json_t *q;
    static const int pris[] = {10, 8, 5, 0};

    printf("\n%-20s %8s %7s %7s %7s %7s %7s\n", "QUEUE", "READY", "P10", "P8",
           "P5", "P0", "OTHER");
    json_object_foreach(json_object_get(st, "queues"), qn, q) {
        json_t *byp = json_object_get(q, "by_priority");
        long long ready = json_integer_value(json_object_get(q, "ready"));
        long long named = 0;
        printf("%-20s %8lld", qn, ready);
        for (int i = 0; i < 4; i++) {
            char k[8];
            long long v;
            snprintf(k, sizeof k, "%d", pris[i]);
            v = json_integer_value(json_object_get(byp, k));
            named += v;
            printf(" %7lld", v);
        }
        printf(" %7lld\n", ready - named);
    }
    printf("\ndelayed  %lld   active %lld   dead-letter %lld   workers "
           "%lld\n",
           json_integer_value(json_object_get(st, "delayed")),
           json_integer_value(json_object_get(st, "active")),
           json_integer_value(json_object_get(st, "dead")),
           json_integer_value(json_object_get(st, "workers")));
}

/* Per task name: the busiest ten by tasks ended in the last hour. */
static void
print_tasks(const json_t *m)
{
    const json_t *tasks = json_object_get(m, "tasks");
    const json_t *pick[10];
    size_t n = 0, i;
    json_t *x;
    char a[32], b[32], c[32], d[32], e[32];

    json_array_foreach(tasks, i, x) {
        double w = num(x, "throughput_1h");
        size_t k;
        if (isnan(w) || w <= 0) {
            continue;
        }
        /* insertion into the top ten, busiest first */
        for (k = n; k > 0 && num(pick[k - 1], "throughput_1h") < w; k--) {
            if (k < 10) {
                pick[k] = pick[k - 1];
            }
        }
        if (k < 10) {
            pick[k] = x;
            n += n < 10;
        }
    }
    if (n == 0) {
        return;
    }
    printf("\n%-34s %10s %10s %8s %8s %8s\n", "TASK (last hour)", "SPEED/1m",
           "SPEED/5m", "ERR/5m", "MEAN", "P95");
    for (i = 0; i < n; i++) {
        printf("%-34.34s %10s %10s %8s %8s %8s\n", str(pick[i], "name"),
               rate(num(pick[i], "throughput_1m"), a, sizeof a),
               rate(num(pick[i], "throughput_5m"), b, sizeof b),
               cli_mon_pct(json_object_get(pick[i], "error_rate_5m"), c,
                           sizeof c),
               cli_mon_ms(json_object_get(pick[i], "runtime_mean_ms"), d,
                          sizeof d),
               cli_mon_ms(json_object_get(pick[i], "runtime_p95_ms"), e,
                          sizeof e));
    }
    if (json_array_size(tasks) > n) {
        printf("(%zu task names in all: syncq status --json)\n",
               json_array_size(tasks));
    }
}

static void
print_monitor(const json_t *m, bool color)
{
    const json_t *sys = json_object_get(m, "system");
    const json_t *life = json_object_get(sys, "lifetime");
    const json_t *tp = json_object_get(sys, "throughput");
    const json_t *h = json_object_get(m, "health");
    char a[32], b[32], c[32], d[32], e[32], f[32];
    size_t i;
    json_t *x;

    printf("\nhealth   %s", str(h, "status"));
    json_array_foreach(json_object_get(h, "reasons"), i, x) {
        printf("%s%s", i == 0 ? ": " : "; ", str(x, "message"));
    }
    printf("\ntasks    succeeded %lld  failed %lld  retried %lld  dead %lld"
           "  success %s  error %s (5 min)\n",
           (long long)json_integer_value(json_object_get(life, "succeeded")),
           (long long)json_integer_value(json_object_get(life, "failed")),
           (long long)json_integer_value(json_object_get(life, "retried")),
           (long long)json_integer_value(json_object_get(life, "dead")),
           cli_mon_pct(json_object_get(sys, "success_rate_lifetime"), a,
                       sizeof a),
           cli_mon_pct(json_object_get(sys, "error_rate"), b, sizeof b));
    printf("speed    %s (1 min)  %s (5 min)  %s (1 h)   runtime mean %s p95 "
           "%s   wait mean %s\n",
           rate(num(tp, "1m"), a, sizeof a), rate(num(tp, "5m"), b, sizeof b),
           rate(num(tp, "1h"), c, sizeof c),
           cli_mon_ms(json_object_get(sys, "runtime_mean_ms_lifetime"), d,
                      sizeof d),
           cli_mon_ms(json_object_get(sys, "runtime_p95_ms"), e, sizeof e),
           cli_mon_ms(json_object_get(sys, "wait_mean_ms"), f, sizeof f));

    printf("\n%-20s %8s %8s %8s %6s %10s %8s %8s\n", "QUEUE", "READY",
           "DELAYED", "RUNNING", "DEAD", "SPEED/5m", "ERR/5m", "WAIT");
    json_array_foreach(json_object_get(m, "queues"), i, x) {
        printf("%-20.20s %8lld %8lld %8lld %6lld %10s %8s %8s\n",
               str(x, "name"),
               (long long)json_integer_value(json_object_get(x, "ready")),
               (long long)json_integer_value(json_object_get(x, "delayed")),
               (long long)json_integer_value(json_object_get(x, "running")),
               (long long)json_integer_value(
                   json_object_get(x, "dead_letter")),
               rate(num(x, "throughput_5m"), a, sizeof a),
               cli_mon_pct(json_object_get(x, "error_rate_5m"), b, sizeof b),
               cli_mon_ms(json_object_get(x, "wait_mean_ms"), c, sizeof c));
    }

    print_tasks(m);

    printf("\n%-32s %-8s %9s %7s %7s %7s %7s %6s\n", "WORKER", "STATE",
           "HEARTBEAT", "RUNNING", "OK", "FAILED", "RSS", "CPU");
    if (json_array_size(json_object_get(m, "workers")) == 0) {
        printf("(no worker heard from in the last hour)\n");
    }
    json_array_foreach(json_object_get(m, "workers"), i, x) {
        double cpu = num(x, "cpu_percent");
        char hb[32];
        snprintf(hb, sizeof hb, "%.1fs ago", num(x, "heartbeat_age_ms") /
                                                 1000.0);
        snprintf(c, sizeof c, isnan(cpu) ? "-" : "%.0f%%", cpu);
        printf("%-32.32s %-8s %9s %7lld %7lld %7lld %7s %6s\n", str(x, "id"),
               json_is_true(json_object_get(x, "live")) ||
                       strcmp(str(x, "state"), "alive") != 0
                   ? str(x, "state")
                   : "stalled",
               hb, (long long)json_integer_value(json_object_get(x, "running")),
               (long long)json_integer_value(json_object_get(x, "done")),
               (long long)json_integer_value(json_object_get(x, "failed")),
               bytes(num(x, "rss_bytes"), a, sizeof a), c);
    }

    if (json_array_size(json_object_get(m, "running")) > 0) {
        size_t n = json_array_size(json_object_get(m, "running"));
        printf("\nRUNNING (%zu%s)\n", n,
               json_is_true(json_object_get(m, "running_truncated"))
                   ? "+, first shown"
                   : "");
        json_array_foreach(json_object_get(m, "running"), i, x) {
            if (i >= 10) {
                printf("... and %zu more (syncq monitor progress)\n", n - 10);
                break;
            }
            cli_mon_task_line(stdout, x, color);
        }
    }
    {
        int shown = 0;
        json_array_foreach(json_object_get(m, "batches"), i, x) {
            if (json_is_true(json_object_get(x, "finished")) || shown >= 5) {
                continue;
            }
            if (shown++ == 0) {
                printf("\nBATCHES\n");
            }
            cli_mon_batch_line(stdout, x, color);
        }
    }
    {
        int shown = 0;
        json_array_foreach(json_object_get(json_object_get(m, "alerts"),
                                           "alerts"),
                           i, x) {
            const char *s = str(x, "state");
            if (strcmp(s, "firing") != 0 && strcmp(s, "pending") != 0) {
                continue;
            }
            if (shown++ == 0) {
                printf("\nALERTS\n");
            }
            printf("%-8s %-9s %-24s %s\n", s, str(x, "severity"),
                   str(x, "name"), str(x, "summary"));
        }
    }
}

static int
cli_status(struct cli *cli)
{
    syncq_client *c;
    syncq_error err;
    json_t *st = NULL;
    json_t *snap = NULL;
    int rc;
    bool brief = false;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == 'b') {
            brief = true;
            continue;
        }
    }
    if (cli_multi_each(cli, false, &rc)) { /* several namespaces: the parent */
        return rc;
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_broker_status(c, &st, &err);
    if (rc == SYNCQ_OK && !brief) {
        json_t *h = NULL, *al = NULL;
        syncq_error e2;
        rc = syncq_monitor_snapshot(c, &snap, &err);
        if (rc == SYNCQ_OK &&
            syncq_monitor_health(c, NULL, &h, NULL, &e2) == SYNCQ_OK) {
            json_object_set_new(snap, "health", h);
        }
        if (rc == SYNCQ_OK &&
            syncq_monitor_alerts(c, 10, &al, &e2) == SYNCQ_OK) {
            json_object_set_new(snap, "alerts", al);
        }
    }
    if (rc != SYNCQ_OK) {
        json_decref(st);
        json_decref(snap);
        return cli_fail(cli, "%s", err.msg);
    }
    if (cli->json) {
        if (snap != NULL) {
            json_object_set(st, "monitor", snap);
        }
        cli_print_json(st);
    } else {
        printf("broker   %s (Redis %s, namespace %s)\n",
               json_string_value(json_object_get(st, "url")),
               json_string_value(json_object_get(st, "redis_version")),
               json_string_value(json_object_get(st, "namespace")));
        print_topology(json_object_get(st, "topology"));
        if (snap != NULL) {
            print_monitor(snap, cli_color());
        }
        print_broker(st);
        {
            const char *pol =
                json_string_value(json_object_get(st, "maxmemory_policy"));
            if (pol != NULL && strncmp(pol, "allkeys", 7) == 0) {
                printf("\nwarning: Redis maxmemory-policy is %s: it may evict "
                       "queued tasks and results;\n         use noeviction "
                       "(or volatile-*)\n",
                       pol);
            }
        }
    }
    json_decref(st);
    json_decref(snap);
    return CLI_OK;
}

/* ---- the table rows ---------------------------------------------------- */

static const struct cli_opt status_opts[] = {
    {"brief", 'b', true, NULL, "only the broker and queue tables"},
    CLI_MULTI_OPT,
    CLI_OPT_END,
};

const struct cli_cmd cli_status_cmds[] = {
    {.path = "status",
     .run = cli_status,
     .summary = "broker, queues, workers at a glance",
     .synopsis = "[--json] [--brief]",
     .description = "One screen: broker and Redis, health, task figures"
                    " (success and error\n"
                    "rate, mean and p95 runtime, mean wait, throughput over"
                    " 1 min / 5 min /\n"
                    "1 h), ready tasks per queue and priority, delayed,"
                    " running and\n"
                    "dead-letter counts, workers, running tasks with"
                    " progress and ETA,\n"
                    "batches and active alerts. --brief prints only the"
                    " broker and queue\n"
                    "tables. Exit status 1 when the broker is unreachable.",
     .opts = status_opts,
     .flags = CLI_CMD_NO_ARGS},
    {.path = NULL},
};
