/* SPDX-License-Identifier: MIT
 *
 * cli_worker_control.c: `syncq worker control`: remote control of running
 * workers through Redis (broker/broker_control.h), in the spirit of
 * `celery control`: each command goes to one worker (-d) or to every
 * worker heard from in the last minute, and the command waits for each
 * acknowledgement. Also pauses and resumes consumption of a queue.
 */
#include "cli/cli.h"
#include "broker/broker.h"
#include "broker/broker_control.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>

/* The commands as this CLI takes them. */
#define COMMANDS                                                              \
    "ping, pool-grow N, pool-shrink N, add-consumer Q, cancel-consumer Q, "  \
    "time-limit TASK SOFT [HARD], rate-limit TASK RATE, shutdown, pause Q, " \
    "resume Q"

/* "pool-grow" and "pool_grow" are the same command. */
static void
canon(const char *in, char *out, size_t cap)
{
    size_t i = 0;

    for (; in[i] != '\0' && i + 1 < cap; i++) {
        out[i] = in[i] == '-' ? '_' : in[i];
    }
    out[i] = '\0';
}

/* The command object from the operands; NULL after a usage error. */
static json_t *
build(struct cli *cli, const char *name, char **a, int n, int *rc)
{
    json_t *cmd = json_pack("{s:s}", "command", name);
    long v;

    *rc = CLI_OK;
    if (strcmp(name, "pool_grow") == 0 || strcmp(name, "pool_shrink") == 0) {
        if (n != 1 || cli_num_arg(cli, "N", a[0], 1, SQ_CTL_POOL_MAX, &v)) {
            *rc = n != 1 ? cli_usage(cli, "%s takes N (1..%d)", name,
                                     SQ_CTL_POOL_MAX)
                         : CLI_USAGE;
            json_decref(cmd);
            return NULL;
        }
        json_object_set_new(cmd, "n", json_integer(v));
    } else if (strcmp(name, "add_consumer") == 0 ||
               strcmp(name, "cancel_consumer") == 0) {
        if (n != 1) {
            *rc = cli_usage(cli, "%s takes a QUEUE", name);
            json_decref(cmd);
            return NULL;
        }
        json_object_set_new(cmd, "queue", json_string(a[0]));
    } else if (strcmp(name, "time_limit") == 0) {
        long soft, hard = -1;
        if ((n != 2 && n != 3) ||
            cli_num_arg(cli, "SOFT", a[1], 0, 86400 * 7, &soft) ||
            (n == 3 && cli_num_arg(cli, "HARD", a[2], 0, 86400 * 7, &hard))) {
            *rc = (n != 2 && n != 3)
                      ? cli_usage(cli, "time-limit takes TASK SOFT [HARD] "
                                       "(seconds, 0: none)")
                      : CLI_USAGE;
            json_decref(cmd);
            return NULL;
        }
        json_object_set_new(cmd, "task", json_string(a[0]));
        json_object_set_new(cmd, "soft_s", json_integer(soft));
        if (hard >= 0) {
            json_object_set_new(cmd, "hard_s", json_integer(hard));
        }
    } else if (strcmp(name, "rate_limit") == 0) {
        if (n != 2) {
            *rc = cli_usage(cli, "rate-limit takes TASK RATE (10/s, 100/m, "
                                 "1000/h; 0: none)");
            json_decref(cmd);
            return NULL;
        }
        json_object_set_new(cmd, "task", json_string(a[0]));
        json_object_set_new(cmd, "rate", json_string(a[1]));
    } else if (n != 0) {
        *rc = cli_usage(cli, "%s takes no argument", name);
        json_decref(cmd);
        return NULL;
    }
    return cmd;
}

/* Workers heard from in the last minute into a new array. */
static int
live_workers(struct cli *cli, syncq_client *c, json_t **out)
{
    char key[200];
    redisReply *r = NULL;
    syncq_error e;

    *out = json_array();
    if (sq_client_cmd(c, &r, &e, "ZRANGEBYSCORE %s %lld +inf",
                      sq_key(c, key, sizeof key, "workers"),
                      (long long)(sq_now_ms() - 60000)) != SYNCQ_OK) {
        return cli_error(cli, &e, false);
    }
    for (size_t i = 0; i < r->elements; i++) {
        json_array_append_new(*out, json_string(r->element[i]->str));
    }
    freeReplyObject(r);
    return CLI_OK;
}

static int
queue_pause(struct cli *cli, syncq_client *c, bool pause, char **a, int n)
{
    syncq_error e;
    bool changed, known;

    if (n != 1) {
        return cli_usage(cli, "%s takes a QUEUE", pause ? "pause" : "resume");
    }
    if (sq_ctl_queue_pause(c, a[0], pause, &changed, &known, &e) !=
        SYNCQ_OK) {
        return cli_error(cli, &e, true);
    }
    printf("%s: %s%s\n", a[0], pause ? "paused" : "consumed",
           changed ? "" : " (already)");
    if (!known && changed) {
        /* done as asked (a queue may be paused before its first task),
         * but an unknown name is often a typo */
        fprintf(stderr, "syncq: %s: warning: no task was ever sent to queue "
                "'%s' (`syncq status` lists the queues)\n", cli->cmd, a[0]);
    }
    return CLI_OK;
}

/* Send `cmd` to each worker and print each acknowledgement. */
static int
send_all(struct cli *cli, syncq_client *c, json_t *cmd, json_t *workers,
         int64_t timeout_ms)
{
    size_t i;
    json_t *w, *acks = json_array();
    int rc = CLI_OK;

    json_array_foreach(workers, i, w) {
        const char *name = json_string_value(w);
        char id[37];
        json_t *ack = NULL;
        syncq_error e;
        if (sq_ctl_send(c, name, cmd, "cli", id, &e) != SYNCQ_OK ||
            sq_ctl_ack_wait(c, id, timeout_ms, &ack, &e) != SYNCQ_OK) {
            if (e.code == SYNCQ_EINVAL) {
                json_decref(acks);
                return cli_error(cli, &e, true);
            }
            fprintf(stderr, "syncq: worker control: %s: %s\n", name, e.msg);
            rc = CLI_FAIL;
            continue;
        }
        if (!json_is_true(json_object_get(ack, "ok"))) {
            rc = CLI_FAIL;
        }
        if (!cli->json) {
            printf("%s: %s %s\n", name,
                   json_is_true(json_object_get(ack, "ok")) ? "ok" : "refused",
                   json_string_value(json_object_get(ack, "message")));
        }
        json_array_append_new(acks, ack);
    }
    if (cli->json) {
        cli_print_json(acks);
    }
    json_decref(acks);
    return rc;
}

static int
cli_worker_control(struct cli *cli)
{
    const char *dest = NULL;
    long timeout_s = 5;
    char name[40];
    char **a = cli->argv + cli->optind;
    int n = cli->argc - cli->optind, rc;
    syncq_client *c;
    json_t *cmd, *workers;

    for (const struct cli_optval *ov = cli->opts; ov->key != 0; ov++) {
        if (ov->key == 'd') {
            dest = ov->arg;
        } else if (ov->key == 't' &&
                   cli_num_arg(cli, "--timeout", ov->arg, 1, 300,
                               &timeout_s)) {
            return CLI_USAGE;
        }
    }
    if (n < 1) {
        return cli_usage(cli, "which command? (%s)", COMMANDS);
    }
    canon(a[0], name, sizeof name);
    if (strcmp(name, "pause") == 0 || strcmp(name, "resume") == 0) {
        c = cli_client(cli);
        return c == NULL ? CLI_FAIL
                         : queue_pause(cli, c, name[0] == 'p', a + 1, n - 1);
    }
    cmd = build(cli, name, a + 1, n - 1, &rc);
    if (cmd == NULL) {
        return rc;
    }
    {
        syncq_error e;
        if (sq_ctl_check(cmd, &e) != SYNCQ_OK) {
            json_decref(cmd);
            if (strncmp(e.msg, "command must be one of", 22) == 0) {
                /* the protocol's names have '_': say the CLI's */
                return cli_usage(cli, "unknown command '%.64s' (%s)", a[0],
                                 COMMANDS);
            }
            return cli_error(cli, &e, true);
        }
    }
    c = cli_client(cli); /* bad input is refused before connecting */
    if (c == NULL) {
        json_decref(cmd);
        return CLI_FAIL;
    }
    if (dest != NULL) {
        workers = json_pack("[s]", dest);
    } else {
        rc = live_workers(cli, c, &workers);
        if (rc != CLI_OK) {
            json_decref(cmd);
            return rc;
        }
        if (json_array_size(workers) == 0) {
            json_decref(workers);
            json_decref(cmd);
            return cli_fail(cli, "no worker heard from in the last minute");
        }
    }
    rc = send_all(cli, c, cmd, workers, (int64_t)timeout_s * 1000);
    json_decref(workers);
    json_decref(cmd);
    return rc;
}

static const struct cli_opt control_opts[] = {
    {"destination", 'd', true, "WORKER",
     "only this worker (default: every worker heard\n"
     "from in the last minute)"},
    {"timeout", 't', true, "S", "wait S for each acknowledgement (default 5)"},
    {"json", CLI_OPT_JSON, false, NULL, "print the acknowledgements as JSON"},
    CLI_OPT_END,
};

static const char *const control_examples[] = {
    "syncq worker control pool-grow 2 -d myhost-1",
    "syncq worker control cancel-consumer crawler",
    "syncq worker control time-limit crawler.fetch_products 60 120",
    "syncq worker control rate-limit image_processing.fetch 10/s",
    "syncq worker control pause image_processing",
    NULL,
};

const struct cli_cmd cli_worker_control_cmds[] = {
    {.path = "worker control",
    .run = cli_worker_control,
    .summary = "remote-control running workers (pool, queues, limits,"
               " shutdown)",
    .synopsis = "COMMAND [ARGS] [-d WORKER] [--timeout S] [--json]",
    .description =
        "Send a command to running workers through Redis and print each"
        " worker's\n"
        "acknowledgement (as `celery control`). Commands: ping, pool-grow N,"
        "\n"
        "pool-shrink N, add-consumer QUEUE, cancel-consumer QUEUE,\n"
        "time-limit TASK SOFT [HARD] (seconds, 0: none), rate-limit TASK"
        " RATE\n"
        "(per worker: 10/s, 100/m, 1000/h; 0: none), shutdown (warm).\n"
        "pause QUEUE / resume QUEUE stop and restart leasing from a queue"
        " on\n"
        "every worker (no -d: the pause is kept in Redis); pausing a queue"
        " no task\n"
        "was ever sent to works, with a warning (a typo?).",
    .opts = control_opts,
    .examples = control_examples},
    {.path = NULL},
};
