/* SPDX-License-Identifier: MIT
 *
 * it_beat_util.h: helpers shared by the beat integration tests (it_beat_*.c,
 * it_batch_*.c): Redis time, beats as real `syncq beat` processes, and
 * the tasks a schedule created. Static functions in a header so each
 * test stays one file to build.
 */
#ifndef SQ_IT_BEAT_UTIL_H
#define SQ_IT_BEAT_UTIL_H

#include "sq_test.h"

#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The Redis server's clock, epoch ms. */
static inline long long
it_now(void)
{
    redisReply *r = sqt_cmd("TIME");
    long long t = strtoll(r->element[0]->str, NULL, 10) * 1000 +
                  strtoll(r->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(r);
    return t;
}

static inline void
it_sleep_ms(long ms)
{
    usleep((useconds_t)ms * 1000);
}

/* Start `syncq beat --id ID ARGS` logging to $SYNCQ_TEST_DIR/beat-ID.log. */
static inline int
it_beat_start(const char *id, const char *args)
{
    char log[512];

    snprintf(log, sizeof log, "%s/beat-%s.log", sqt_tmpdir(), id);
    return sqt_spawn(log, "beat --id %s --loglevel debug %s", id,
                     args ? args : "");
}

/* SIGTERM and wait (a beat releases its lock); fails the test if it does
 * not exit cleanly within 5 s. */
static inline void
it_beat_stop(int pid)
{
    int st = sqt_kill_wait(pid, SIGTERM, 5000);

    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fail_msg("beat %d did not stop cleanly (status %d)", pid, st);
    }
}

/* Fails the test if any beat log of this test run holds a sanitizer
 * report (an expected non-zero exit must not hide one). */
static inline void
it_logs_clean(void)
{
    char pat[512];
    glob_t g;

    snprintf(pat, sizeof pat, "%s/beat-*.log", sqt_tmpdir());
    if (glob(pat, 0, NULL, &g) != 0) {
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *text = sqt_read_file(g.gl_pathv[i], NULL);
        if (text != NULL && (strstr(text, "Sanitizer") != NULL ||
                             strstr(text, "runtime error:") != NULL)) {
            fail_msg("sanitizer report in %s", g.gl_pathv[i]);
        }
        free(text);
    }
    globfree(&g);
}

/* Which beat id holds the lock ("" if none); buf >= 128 bytes. */
static inline const char *
it_leader(char *buf, size_t cap)
{
    redisReply *r = sqt_cmd("GET {syncq}:beat:lock");

    buf[0] = '\0';
    if (r->type == REDIS_REPLY_STRING) {
        size_t n = strcspn(r->str, "/");
        snprintf(buf, cap, "%.*s", (int)n, r->str);
    }
    freeReplyObject(r);
    return buf;
}

struct it_task {
    char id[40];
    char sched[128];
    long long tick; /* -1 for a manual run */
    long long ct;   /* created (Redis ms) */
};

/* Every task record made by a schedule (any, or `sched`), via SCAN.
 * Returns how many; *out is malloc'ed (free it). */
static inline size_t
it_sched_tasks(const char *sched, struct it_task **out)
{
    size_t n = 0, cap = 256;
    struct it_task *v = malloc(cap * sizeof *v);
    char cursor[32] = "0";
    redisContext *rc = sqt_redis();

    do {
        redisReply *r =
            redisCommand(rc, "SCAN %s MATCH {syncq}:t:* COUNT 1000", cursor);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *key = r->element[1]->element[i]->str;
            redisReply *h = redisCommand(rc, "HMGET %s sched tick ct", key);
            if (h->element[0]->type == REDIS_REPLY_STRING &&
                (sched == NULL || strcmp(h->element[0]->str, sched) == 0)) {
                if (n == cap) {
                    cap *= 2;
                    v = realloc(v, cap * sizeof *v);
                }
                snprintf(v[n].id, sizeof v[n].id, "%s", key + 10);
                snprintf(v[n].sched, sizeof v[n].sched, "%s",
                         h->element[0]->str);
                v[n].tick = h->element[1]->type == REDIS_REPLY_STRING
                                ? strtoll(h->element[1]->str, NULL, 10)
                                : -1;
                v[n].ct = strtoll(h->element[2]->str, NULL, 10);
                n++;
            }
            freeReplyObject(h);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redisFree(rc);
    *out = v;
    return n;
}

static inline int
it_cmp_tick(const void *a, const void *b)
{
    const struct it_task *x = a, *y = b;

    return x->tick < y->tick ? -1 : x->tick > y->tick;
}

/* A schedule hash field as a number (-1 if missing). */
static inline long long
it_sched_field(const char *name, const char *field)
{
    redisReply *r = sqt_cmd("HGET {syncq}:sched:%s %s", name, field);
    long long v = -1;

    if (r->type == REDIS_REPLY_STRING) {
        v = strtoll(r->str, NULL, 10);
    }
    freeReplyObject(r);
    return v;
}

#endif
