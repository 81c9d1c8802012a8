/* SPDX-License-Identifier: MIT
 *
 * bench_monitor.c: cost of one monitor collection (what a /metrics scrape
 * or a dashboard refresh costs Redis) on a realistic namespace: 5 queues,
 * 20 task names with counters in the last hour, 10,000 ready tasks,
 * 1,000 delayed, 200 running with progress, 8 workers, 20 batches.
 * Prints the median and p90 of 30 collections (ms), the Redis commands
 * and round trips per collection, and the /metrics text size.
 * Usage (a private Redis):
 *   tests/integration/run-with-redis.sh build-monitor/bench_monitor
 */
#include "broker/broker.h"
#include "sq_buf.h"
#include "core/sq_time.h"
#include "monitor/mon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/syncq.h>

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int
main(void)
{
    syncq_client *c = NULL;
    syncq_error e;
    static const char *queues[] = {"default", "crawler", "image_processing",
                                   "data_sync", "batch_processing"};
    double ms[30];
    struct sq_mon_opts o;
    struct sq_mon_data d;
    struct sq_buf b;
    int commands = 0;

    if (syncq_client_open(getenv("SYNCQ_BROKER_URL"), NULL, &c, &e) !=
        SYNCQ_OK) {
        fprintf(stderr, "bench_monitor: %s\n", e.msg);
        return 1;
    }
    /* 10,000 ready + 1,000 delayed over 5 queues and 20 task names */
    for (int i = 0; i < 11000; i += 1000) {
        syncq_task_spec specs[1000];
        syncq_task_options opts[1000];
        char names[1000][64];
        static char ids[1000][SYNCQ_ID_SIZE];
        for (int k = 0; k < 1000; k++) {
            syncq_task_options_init(&opts[k]);
            opts[k].queue = queues[(i + k) % 5];
            opts[k].priority = (i + k) % 11;
            if (i >= 10000) {
                opts[k].countdown_ms = 3600000;
            }
            snprintf(names[k], sizeof names[k], "%s.task%d",
                     queues[(i + k) % 5], (i + k) % 4);
            specs[k].name = names[k];
            specs[k].args_json = NULL;
            specs[k].kwargs_json = NULL;
            specs[k].opts = &opts[k];
        }
        if (syncq_task_create_many(c, specs, 1000, ids, NULL, &e) !=
            SYNCQ_OK) {
            fprintf(stderr, "bench_monitor: create: %s\n", e.msg);
            return 1;
        }
    }
    /* 8 workers lease 25 each; 200 running, half settle to make counters */
    for (int w = 0; w < 8; w++) {
        char wid[32], info[256];
        struct sq_lease_req req;
        struct sq_lease_reply out;
        json_t *lost = NULL, *ctl = NULL;
        memset(&req, 0, sizeof req);
        snprintf(wid, sizeof wid, "bench-host:%d", 1000 + w);
        req.worker = wid;
        req.lease_ms = 600000;
        req.max_n = 50;
        req.start_now = 50;
        req.queues = queues;
        req.nqueues = 5;
        memset(&out, 0, sizeof out);
        if (sq_broker_settle_lease(c, NULL, 0, NULL, &req, &out, &e) !=
            SYNCQ_OK) {
            fprintf(stderr, "bench_monitor: lease: %s\n", e.msg);
            return 1;
        }
        for (size_t k = 0; k < out.n; k++) {
            if (k % 2 == 0) {
                struct sq_settle_op op;
                int st;
                memset(&op, 0, sizeof op);
                op.kind = k % 8 == 0 ? SQ_SETTLE_FAIL : SQ_SETTLE_OK;
                op.id = out.tasks[k].id;
                op.token = out.tasks[k].token;
                op.result_json = "";
                op.err_class = "network";
                op.err_msg = "reset";
                op.runtime_ms = (int64_t)(k * 37 % 5000);
                sq_broker_settle_lease(c, &op, 1, &st, NULL, NULL, NULL);
            } else {
                sq_broker_progress(c, out.tasks[k].id, out.tasks[k].token,
                                   false, (int64_t)k, 100, "working", NULL,
                                   NULL, NULL);
            }
        }
        snprintf(info, sizeof info,
                 "{\"queues\":[\"default\",\"crawler\"],\"concurrency\":25,"
                 "\"running\":25,\"tasks_done\":100,\"rss_kb\":40000,"
                 "\"loop_at_ms\":%lld}",
                 (long long)sq_now_ms());
        sq_broker_extend(c, wid, 600000, info, 60000, NULL, NULL, 0, &lost,
                         &ctl, NULL);
        json_decref(lost);
        json_decref(ctl);
        sq_lease_reply_cleanup(&out);
    }
    for (int i = 0; i < 20; i++) {
        char bid[SYNCQ_ID_SIZE];
        if (syncq_batch_create(c, "batch_processing.chunk", "[1,2,3,4,5,6]",
                               2, NULL, bid, NULL, &e) != SYNCQ_OK) {
            fprintf(stderr, "bench_monitor: batch: %s\n", e.msg);
            return 1;
        }
    }
    sq_mon_opts_init(&o, syncq_client_config(c));
    sq_buf_init(&b, 0);
    for (int r = 0; r < 30; r++) {
        int64_t t0 = sq_mono_us();
        if (sq_mon_collect(c, &o, &d, &e) != SYNCQ_OK) {
            fprintf(stderr, "bench_monitor: collect: %s\n", e.msg);
            return 1;
        }
        sq_buf_reset(&b);
        sq_mon_metrics_format(&d, NULL, NULL, &b);
        ms[r] = (double)(sq_mono_us() - t0) / 1000.0;
        commands = d.commands;
        sq_mon_data_cleanup(&d);
    }
    qsort(ms, 30, sizeof ms[0], cmp);
    printf("monitor collection + /metrics text: median %.2f ms, p90 %.2f ms "
           "(30 runs); %d Redis commands in 3 pipelined round trips; "
           "metrics text %zu bytes\n",
           ms[15], ms[27], commands, b.len);
    sq_buf_cleanup(&b);
    syncq_client_close(c);
    return 0;
}
