/* SPDX-License-Identifier: MIT
 *
 * bench_chaos.c: the producer and the judge of the fault run (bench/chaos,
 * issue 12).
 *   bench_chaos enqueue N SLEEP_S IDS   N syncq.sleep tasks over queues
 *       chaos1..chaos3, priorities 0..10 in turn, each marking its start
 *       in the list chaos:marks; ids appended to the file IDS. Retries
 *       through outages (a chunk refused with SYNCQ_ECONN is sent again).
 *   bench_chaos report IDS SCHEDULE   one JSON line: tasks not final
 *       (lost), by state, duplicate executions (starts marked beyond one
 *       per task), outcomes recorded twice (two task-succeeded/-failed
 *       events for one id), and for SCHEDULE (an interval schedule) the
 *       ticks fired twice and the ticks missing from its grid.
 * Uses SYNCQ_BROKER_URL. The events stream must hold the whole run
 * (SYNCQ_EVENTS_MAXLEN).
 */
#include "broker/broker.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/syncq.h>

#define CHUNK 1000

static int
enqueue(syncq_client *c, long n, const char *sleep_s, const char *path)
{
    static syncq_task_spec specs[CHUNK];
    static syncq_task_options opts[CHUNK];
    static char ids[CHUNK][SYNCQ_ID_SIZE];
    static const char *const queues[] = {"chaos1", "chaos2", "chaos3"};
    char kw[128];
    FILE *f = fopen(path, "a");

    if (f == NULL) {
        perror(path);
        return 1;
    }
    snprintf(kw, sizeof kw, "{\"seconds\":%s,\"mark\":\"chaos:marks\"}",
             sleep_s);
    for (long done = 0; done < n;) {
        size_t k = n - done < CHUNK ? (size_t)(n - done) : CHUNK;
        size_t made = 0;
        syncq_error err;
        for (size_t i = 0; i < k; i++) {
            syncq_task_options_init(&opts[i]);
            opts[i].queue = queues[(done + (long)i) % 3];
            opts[i].priority = (int)((done + (long)i) % 11);
            specs[i].name = "syncq.sleep";
            specs[i].args_json = NULL;
            specs[i].kwargs_json = kw;
            specs[i].opts = &opts[i];
        }
        if (syncq_task_create_many(c, specs, k, ids, &made, &err) !=
            SYNCQ_OK) {
            /* ids of a partly created call are kept; the rest again */
            for (size_t i = 0; i < made; i++) {
                fprintf(f, "%s\n", ids[i]);
            }
            done += (long)made;
            sq_sleep_ms(200);
            continue;
        }
        for (size_t i = 0; i < k; i++) {
            fprintf(f, "%s\n", ids[i]);
        }
        done += (long)k;
    }
    fclose(f);
    return 0;
}

/* Starts marked beyond the first of each task. */
static void
count_marks(syncq_client *c, json_t *seen, long *dup)
{
    redisReply *r = NULL;

    if (sq_client_cmd(c, &r, NULL, "LRANGE chaos:marks 0 -1") != SYNCQ_OK) {
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        char id[SYNCQ_ID_SIZE];
        size_t n = strcspn(r->element[i]->str, "|");
        snprintf(id, sizeof id, "%.*s", (int)n, r->element[i]->str);
        if (json_object_get(seen, id) != NULL) {
            (*dup)++;
        } else {
            json_object_set_new(seen, id, json_true());
        }
    }
    freeReplyObject(r);
}

static const char *
field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        if (strcmp(kv->element[i]->str, name) == 0) {
            return kv->element[i + 1]->str;
        }
    }
    return NULL;
}

/* Walk the events stream: outcomes per task, ticks per schedule. */
static void
scan_events(syncq_client *c, const char *sched, long *twice, long *tick_dup,
            long *tick_missed)
{
    json_t *done = json_object(), *ticks = json_object();
    char from[64] = "-";
    long long first = -1, last = -1, nticks = 0;

    for (;;) {
        redisReply *r = NULL;
        if (sq_client_cmd(c, &r, NULL, "XRANGE {syncq}:events %s + COUNT "
                          "10000", from) != SYNCQ_OK ||
            r->elements == 0) {
            freeReplyObject(r);
            break;
        }
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *kv = r->element[i]->element[1];
            const char *e = field(kv, "e");
            struct sq_event te;
            if (e == NULL) {
                continue;
            }
            /* an entry may be about several tasks (broker_event.c) */
            for (bool more = sq_event_first(kv, &te); more;
                 more = sq_event_next(&te)) {
                if (te.id == NULL || te.e == NULL ||
                    (strcmp(te.e, "task-succeeded") != 0 &&
                     strcmp(te.e, "task-failed") != 0)) {
                    continue;
                }
                if (json_object_get(done, te.id) != NULL) {
                    (*twice)++;
                } else {
                    json_object_set_new(done, te.id, json_true());
                }
            }
            if (!strcmp(e, "schedule-fired") && field(kv, "sched") != NULL &&
                !strcmp(field(kv, "sched"), sched)) {
                const char *t = field(kv, "tick");
                long long tk = t != NULL ? atoll(t) : -1;
                if (t == NULL || json_object_get(ticks, t) != NULL) {
                    *tick_dup += t != NULL;
                    continue;
                }
                json_object_set_new(ticks, t, json_true());
                nticks++;
                first = first < 0 || tk < first ? tk : first;
                last = tk > last ? tk : last;
            }
        }
        snprintf(from, sizeof from, "(%s",
                 r->element[r->elements - 1]->element[0]->str);
        freeReplyObject(r);
    }
    if (nticks > 0) {
        *tick_missed = (long)((last - first) / 1000 + 1 - nticks);
    }
    json_decref(done);
    json_decref(ticks);
}

static int
report(syncq_client *c, const char *path, const char *sched)
{
    json_t *seen = json_object();
    long total = 0, lost = 0, succ = 0, other = 0, dup = 0, twice = 0;
    long tdup = 0, tmiss = 0;
    char line[128];
    FILE *f = fopen(path, "r");

    if (f == NULL || seen == NULL) {
        perror(path);
        return 1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        redisReply *r = NULL;
        line[strcspn(line, "\n")] = '\0';
        total++;
        if (sq_client_cmd(c, &r, NULL, "HGET {syncq}:t:%s state", line) !=
                SYNCQ_OK ||
            r->type != REDIS_REPLY_STRING) {
            lost++;
        } else if (strcmp(r->str, "SUCCESS") == 0) {
            succ++;
        } else if (sq_state_is_final(r->str)) {
            other++;
        } else {
            lost++;
        }
        freeReplyObject(r);
    }
    fclose(f);
    count_marks(c, seen, &dup);
    scan_events(c, sched, &twice, &tdup, &tmiss);
    printf("{\"tasks\":%ld,\"success\":%ld,\"other_final\":%ld,\"lost\":%ld,"
           "\"duplicate_executions\":%ld,\"outcomes_recorded_twice\":%ld,"
           "\"duplicate_ticks\":%ld,\"missed_ticks\":%ld}\n",
           total, succ, other, lost, dup, twice, tdup, tmiss);
    json_decref(seen);
    return 0;
}

int
main(int argc, char **argv)
{
    syncq_client *c = NULL;
    syncq_error err;
    int rc;

    if (argc < 4 || (strcmp(argv[1], "enqueue") && strcmp(argv[1], "report"))) {
        fprintf(stderr, "usage: bench_chaos enqueue N SLEEP_S IDS | report "
                        "IDS SCHEDULE\n");
        return 2;
    }
    if (syncq_client_open(NULL, NULL, &c, &err) != SYNCQ_OK) {
        fprintf(stderr, "bench_chaos: %s\n", err.msg);
        return 1;
    }
    if (!strcmp(argv[1], "enqueue") && argc == 5) {
        rc = enqueue(c, atol(argv[2]), argv[3], argv[4]);
    } else {
        rc = report(c, argv[2], argv[3]);
    }
    syncq_client_close(c);
    return rc;
}
