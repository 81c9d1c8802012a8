/* SPDX-License-Identifier: MIT
 *
 * broker_fault.h: what a Redis error reply means, and the one backoff of a
 * client after a broker fault (issue 12).
 *
 * An error reply is classified by its first word:
 *   transient  MISCONF READONLY LOADING BUSY TRYAGAIN CLUSTERDOWN
 *              MASTERDOWN NOREPLICAS OOM (and lost connections): the call
 *              becomes SYNCQ_ECONN, so every caller keeps what it wanted
 *              to write and retries; the client holds further calls back
 *              with capped exponential backoff (100 ms doubling to
 *              SYNCQ_RECONNECT_MAX_DELAY) and then reconnects (for
 *              READONLY and MASTERDOWN that is the cure: the new
 *              connection finds the new master);
 *   noscript   NOSCRIPT: the scripts are loaded again (reconnect at once);
 *   auth       NOAUTH WRONGPASS: SYNCQ_EAUTH;
 *   permanent  anything else (a bad argument, a script's own refusal,
 *              WRONGTYPE): SYNCQ_EPROTO; no retry can fix it.
 *
 * An error state is logged once when it starts ("broker.error", with
 * Redis's message) and once when a call succeeds again
 * ("broker.recovered", with the count of errors), never per call.
 * Counters are process-wide, for /metrics. Not thread-safe per client
 * (like the client); the counters are atomic.
 */
#ifndef SQ_BROKER_FAULT_H
#define SQ_BROKER_FAULT_H

#include <hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

enum sq_fault_kind {
    SQ_FAULT_TRANSIENT,  /* reconnect and retry after the backoff */
    SQ_FAULT_NOSCRIPT,   /* reload the scripts */
    SQ_FAULT_AUTH,       /* wrong or missing password */
    SQ_FAULT_PERMANENT   /* no retry fixes it */
};

/* Per-client fault state (a member of struct syncq_client). */
struct sq_fault {
    int errors;            /* error replies in the current error state */
    int64_t since_ms;      /* monotonic start of the state, 0: none */
    char code[16];         /* first word of the first error reply */
};

/* Process-wide counters since start (for /metrics and the info JSON). */
struct sq_fault_counts {
    int64_t errors;        /* every broker error: replies and lost links */
    int64_t transient;     /* error replies classified transient */
    int64_t permanent;     /* error replies classified permanent */
    int64_t reconnects;    /* successful connects after the first */
    int64_t states;        /* error states (outages and error periods) */
};

/* Kind of an error reply `msg` (its text, e.g. "MISCONF Redis is ..."). A
 * script error carrying one of the codes ("... READONLY You can't write")
 * is classified by that code. NULL or "" is permanent. Thread-safe. */
enum sq_fault_kind sq_fault_classify(const char *msg);

/* Copy the code (first word, at most 15 characters) of `msg` into out. */
void sq_fault_code(const char *msg, char out[16]);

/* Handle an error reply `r` of command or script `what` on client `c`:
 * classify, count, log on a change of state, set the backoff, drop the
 * connection where reconnecting is the cure. Returns the error code for
 * the caller (SYNCQ_ECONN transient or NOSCRIPT, SYNCQ_EAUTH,
 * SYNCQ_EPROTO) with err filled. */
int sq_fault_reply(syncq_client *c, const redisReply *r, const char *what,
                   syncq_error *err);

/* The part of sq_fault_reply for a transient reply `msg` met where the
 * connection cannot be dropped yet (the connection layer, broker_io.c,
 * turns READONLY into a lost connection that its caller drops): count,
 * log on a change of state, set c->next_try_ms. Returns the backoff (ms).
 * The caller's drop keeps the backoff. */
int64_t sq_fault_note_transient(syncq_client *c, const char *msg,
                                const char *what);

/* A call completed: end the client's error state (logs
 * "broker.recovered" once). Cheap when there is none. */
void sq_fault_ok(syncq_client *c);

/* A lost connection or failed connect: counted as a broker error. */
void sq_fault_count_conn(void);
/* A reconnect succeeded (after the first connect). */
void sq_fault_count_reconnect(void);

/* Backoff after `failures` consecutive faults: 100 ms doubling, capped
 * at cap_ms (>= 1). */
int64_t sq_fault_backoff_ms(int failures, int64_t cap_ms);

/* Copy the process-wide counters. Thread-safe. */
void sq_fault_counts_get(struct sq_fault_counts *out);

#endif
