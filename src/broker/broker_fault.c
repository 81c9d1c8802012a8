/* SPDX-License-Identifier: MIT
 *
 * broker_fault.c: classification of Redis error replies and the client's
 * one backoff after a broker fault (see broker_fault.h). Every transient
 * reply drops the connection: a pipelined call may still have replies on
 * their way, and a fresh connection after the backoff is the only state
 * known to be clean (and for READONLY/MASTERDOWN the cure: it finds the
 * new master). Never logs per call: once per change of state.
 */
#include "broker/broker_fault.h"
#include "broker/broker.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <string.h>

static struct sq_fault_counts counts;

static void
add(int64_t *v)
{
    __atomic_add_fetch(v, 1, __ATOMIC_RELAXED);
}

void
sq_fault_code(const char *msg, char out[16])
{
    size_t n = msg != NULL ? strcspn(msg, " \r\n") : 0;

    if (n > 15) {
        n = 15;
    }
    if (n > 0) {
        memcpy(out, msg, n);
    }
    out[n] = '\0';
}

enum sq_fault_kind
sq_fault_classify(const char *msg)
{
    /* Replies a failover, a full disk, a busy script, memory pressure or
     * a cluster resharding produce: all go away without our help. */
    static const char *const transient[] = {
        "MISCONF", "READONLY", "LOADING", "BUSY", "TRYAGAIN",
        "CLUSTERDOWN", "MASTERDOWN", "NOREPLICAS", "OOM",
    };
    char code[16];

    sq_fault_code(msg, code);
    for (size_t i = 0; i < sizeof transient / sizeof *transient; i++) {
        if (strcmp(code, transient[i]) == 0) {
            return SQ_FAULT_TRANSIENT;
        }
    }
    if (strcmp(code, "NOSCRIPT") == 0 ||
        (msg != NULL && strstr(msg, "Function not found") != NULL)) {
        return SQ_FAULT_NOSCRIPT; /* a flushed script cache or library */
    }
    if (strcmp(code, "NOAUTH") == 0 || strcmp(code, "WRONGPASS") == 0 ||
        (msg != NULL && (strstr(msg, "invalid password") != NULL ||
                         strstr(msg, "invalid username-password") != NULL))) {
        return SQ_FAULT_AUTH;
    }
    return SQ_FAULT_PERMANENT;
}

int64_t
sq_fault_backoff_ms(int failures, int64_t cap_ms)
{
    int64_t d = 100;

    for (int i = 1; i < failures && d < cap_ms; i++) {
        d *= 2;
    }
    return d < cap_ms ? d : cap_ms;
}

int64_t
sq_fault_note_transient(syncq_client *c, const char *msg, const char *what)
{
    struct sq_fault *f = &c->fault;
    int64_t wait;

    add(&counts.transient);
    f->errors++;
    wait = sq_fault_backoff_ms(f->errors, c->reconnect_max_ms);
    if (f->since_ms == 0) {
        char q[300];
        f->since_ms = sq_mono_ms();
        sq_fault_code(msg, f->code);
        add(&counts.states);
        SQ_ERROR("broker.error", "url=%s code=%s op=%s err=%s retry_ms=%lld",
                 c->url_shown, f->code, what,
                 sq_log_quote(msg, q, sizeof q), (long long)wait);
    }
    c->next_try_ms = sq_mono_ms() + wait;
    return wait;
}

static int
transient(syncq_client *c, const char *msg, const char *what,
          syncq_error *err)
{
    int64_t wait = sq_fault_note_transient(c, msg, what);

    sq_client_drop(c, c->fault.code); /* keeps c->next_try_ms */
    return sq_fail(err, SYNCQ_ECONN,
                   "Redis at %s answered %.200s (transient: retrying in %lld "
                   "ms)",
                   c->url_shown, msg, (long long)wait);
}

int
sq_fault_reply(syncq_client *c, const redisReply *r, const char *what,
               syncq_error *err)
{
    const char *msg = r != NULL && r->str != NULL ? r->str : "";

    add(&counts.errors);
    switch (sq_fault_classify(msg)) {
    case SQ_FAULT_TRANSIENT:
        return transient(c, msg, what, err);
    case SQ_FAULT_NOSCRIPT:
        /* The script cache was flushed: a new connection loads them all
         * again at once (no backoff, nothing to wait for). */
        sq_client_drop(c, "NOSCRIPT");
        return sq_fail(err, SYNCQ_ECONN,
                       "%s: broker scripts were flushed; reloading them",
                       what);
    case SQ_FAULT_AUTH:
        return sq_fail(err, SYNCQ_EAUTH, "%s: %s", what, msg);
    case SQ_FAULT_PERMANENT:
    default:
        add(&counts.permanent);
        return sq_fail(err, SYNCQ_EPROTO, "%s: %s", what, msg);
    }
}

void
sq_fault_ok(syncq_client *c)
{
    struct sq_fault *f = &c->fault;

    if (f->since_ms == 0) {
        return;
    }
    SQ_WARN("broker.recovered", "url=%s code=%s errors=%d after_ms=%lld",
            c->url_shown, f->code, f->errors,
            (long long)(sq_mono_ms() - f->since_ms));
    memset(f, 0, sizeof *f);
}

void
sq_fault_count_conn(void)
{
    add(&counts.errors);
}

void
sq_fault_count_reconnect(void)
{
    add(&counts.reconnects);
}

void
sq_fault_counts_get(struct sq_fault_counts *out)
{
    out->errors = __atomic_load_n(&counts.errors, __ATOMIC_RELAXED);
    out->transient = __atomic_load_n(&counts.transient, __ATOMIC_RELAXED);
    out->permanent = __atomic_load_n(&counts.permanent, __ATOMIC_RELAXED);
    out->reconnects = __atomic_load_n(&counts.reconnects, __ATOMIC_RELAXED);
    out->states = __atomic_load_n(&counts.states, __ATOMIC_RELAXED);
}
