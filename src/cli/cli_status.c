/* SPDX-License-Identifier: MIT
 *
 * cli_status.c: `syncq status`: broker (URL with the password masked),
 * Redis version, queue depths per queue and priority, delayed, active,
 * dead-letter and worker counts on one screen.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: syncq status [--json]\n\n"
    "Broker reachability, Redis version, ready tasks per queue and "
    "priority,\ndelayed (ETA/countdown/retry), active (leased), dead-letter "
    "and live workers.\nExit status 1 when the broker is unreachable.\n";

int cli_status(struct cli *cli);

int
cli_status(struct cli *cli)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    syncq_client *c;
    syncq_error err;
    json_t *st = NULL;
    int opt, rc;

    while ((opt = getopt_long(cli->argc, cli->argv, ":h", opts, NULL)) !=
           -1) {
        if (cli_common_opt(cli, opt, optarg)) {
            continue;
        }
        if (opt == 'h') {
            return cli_help(cli, usage);
        }
        return cli_bad_opt(cli, opt);
    }
    if (optind < cli->argc) {
        return cli_usage(cli, "unexpected argument '%s'", cli->argv[optind]);
    }
    c = cli_client(cli);
    if (c == NULL) {
        return CLI_FAIL;
    }
    rc = syncq_broker_status(c, &st, &err);
    syncq_client_close(c);
    if (rc != SYNCQ_OK) {
        return cli_fail(cli, "%s", err.msg);
    }
    if (cli->json) {
        cli_print_json(st);
    } else {
        const char *qn;
        json_t *q;
        static const int pris[] = {10, 8, 5, 0};
        printf("broker   %s (Redis %s, namespace %s)\n",
               json_string_value(json_object_get(st, "url")),
               json_string_value(json_object_get(st, "redis_version")),
               json_string_value(json_object_get(st, "namespace")));
        printf("\n%-20s %8s %7s %7s %7s %7s %7s\n", "QUEUE", "READY", "P10",
               "P8", "P5", "P0", "OTHER");
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
    return CLI_OK;
}
