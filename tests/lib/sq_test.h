/* SPDX-License-Identifier: MIT
 *
 * sq_test.h: helpers shared by unit and integration tests.
 * Include <cmocka.h> prerequisites through this header.
 */
#ifndef SQ_TEST_H
#define SQ_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <cmocka.h>

#include <hiredis.h>
#include <jansson.h>
#include <syncq/syncq.h>

/* The broker URL of the private test Redis (SYNCQ_BROKER_URL), or NULL
 * outside run-with-redis.sh. */
const char *sqt_broker_url(void);

/* Open a client on the test broker; fails the test on error. */
syncq_client *sqt_client(void);

/* A raw hiredis connection to the test Redis (fails the test on error). */
redisContext *sqt_redis(void);

/* Run a Redis command (printf-style like redisCommand) on a fresh
 * connection and return the reply (caller frees with freeReplyObject). */
redisReply *sqt_cmd(const char *fmt, ...);

/* Integer reply of a command (fails the test if not an integer). */
long long sqt_cmd_int(const char *fmt, ...);

/* FLUSHALL the test Redis. */
void sqt_flush(void);

/* Control the private Redis: "start", "stop", "kill", "restart", "pause",
 * "resume" (tests/integration/redisctl.sh). Returns its exit status. */
int sqt_redisctl(const char *action);

/* Output of a command run by sqt_run. */
struct sqt_out {
    int status;   /* exit status, or 128+signal */
    char *out;    /* stdout (owned, NUL-terminated) */
    char *err;    /* stderr (owned) */
};

/* Run the syncq CLI ($SYNCQ_BIN) with printf-formatted arguments split on
 * spaces outside single quotes ('...' groups one argument; no escapes).
 * Optional stdin text `in` (NULL: /dev/null). */
struct sqt_out sqt_cli(const char *in, const char *fmt, ...);
void sqt_out_free(struct sqt_out *o);

/* Start the syncq CLI in the background with the same argument syntax;
 * returns its pid (the process group is its own). Its stdout/stderr go to
 * `logpath` (NULL: $SYNCQ_TEST_DIR/bg-<pid>.log). The pid is recorded so
 * run-with-redis.sh kills it if the test does not. */
int sqt_spawn(const char *logpath, const char *fmt, ...);

/* Send `sig` to pid and wait for it to exit (up to timeout_ms). Returns
 * the wait status, or -1 on timeout. */
int sqt_kill_wait(int pid, int sig, int timeout_ms);

/* Wait until fn(ud) returns true, polling every 10 ms, up to timeout_ms.
 * Returns true if it did. */
bool sqt_wait_until(bool (*fn)(void *ud), void *ud, int timeout_ms);

/* State of task `id` (static buffer), "" if unknown. */
const char *sqt_task_state(syncq_client *c, const char *id);

/* Events named `e` ("task-succeeded", ...) about task `id` in the events
 * stream of the default namespace ({syncq}:events). */
int sqt_task_events(const char *id, const char *e);

/* Path of a file in tests/fixtures, or $SYNCQ_FIXTURES (static buffer). */
const char *sqt_fixture(const char *rel);

/* Read a whole file (owned, NUL-terminated); *len may be NULL. */
char *sqt_read_file(const char *path, size_t *len);

/* Temp dir for this test ($SYNCQ_TEST_DIR or a new mkdtemp dir). */
const char *sqt_tmpdir(void);

/* Register the 1688 packs (packs/) into the default registry, as the
 * syncq binary does at start-up (libsyncq alone has no tasks). Once per
 * process; fails the test if a pack cannot register. */
void sqt_register_packs(void);

#endif
