/* SPDX-License-Identifier: MIT
 *
 * net_gate.c: limiter slots and host cool-downs (net_gate.h).
 */
#include "net/net_gate.h"
#include "sq_error.h"
#include "sq_rate.h"

#include <stdio.h>
#include <string.h>
#include <syncq/log.h>
#include <syncq/task.h>
#include <syncq/time.h>
#include <unistd.h>

#define PEEK_LEAD_MS 20 /* cool-down re-check, ahead of the slot */
#define LATE_MS 25      /* later than this after its slot: book again */

int
sq_gate_policy_from_config(const syncq_config *cfg, const char *rate_key,
                           const char *conc_key, const char *burst_key,
                           int64_t longest_request_ms,
                           struct syncq_rl_policy *p, syncq_error *err)
{
    struct sq_rate rate;
    int rc;

    memset(p, 0, sizeof *p);
    rc = sq_rate_parse(syncq_config_str(cfg, rate_key), &rate, err);
    if (rc != SYNCQ_OK) {
        sq_error_prefix(err, rate_key);
        return rc;
    }
    p->rate.limit = rate.limit;
    p->rate.period_ms = rate.period_ms;
    p->concurrency = (int)syncq_config_int(cfg, conc_key);
    p->burst = burst_key != NULL ? (int)syncq_config_int(cfg, burst_key) : 1;
    if (p->burst < 1) {
        p->burst = 1;
    }
    /* A slot outlives the longest request it can cover. */
    p->slot_lease_ms = longest_request_ms + 5000;
    return SYNCQ_OK;
}

/* Sleep `ms` in short steps; false if the stop function fired. */
static bool
nap(struct sq_gate *g, int64_t ms)
{
    int64_t end = syncq_mono_ms() + ms;

    for (;;) {
        int64_t left = end - syncq_mono_ms();
        if (g->stop != NULL && g->stop(g->stop_ud)) {
            return false;
        }
        if (left <= 0) {
            return true;
        }
        syncq_sleep_ms(left < 50 ? left : 50);
    }
}

static int
class_of_reason(const char *reason)
{
    return strncmp(reason, "blocked", 7) == 0 ? SYNCQ_ERR_BLOCKED
                                              : SYNCQ_ERR_RATE_LIMITED;
}

/* Not granted: come back after `ms`, with class `cls`. */
static void
refuse(struct sq_gate_pass *p, const char *host, int cls, int64_t ms,
       const char *why)
{
    p->granted = false;
    p->cls = cls;
    p->retry_ms = ms > 0 ? ms : 1;
    snprintf(p->why, sizeof p->why, "host %s %s; retry in %lld ms", host, why,
             (long long)p->retry_ms);
}

/* The cool-down `host` is in now, in ms left (0: none). A limiter that
 * cannot be asked counts as no pause: the slot was granted already. */
static int64_t
cool_left(struct sq_gate *g, const char *host, char reason[64])
{
    int64_t until = 0, inflight = 0;
    syncq_error err;

    reason[0] = '\0';
    if (syncq_rl_peek(g->client, host, &until, reason, &inflight, &err) !=
            SYNCQ_OK ||
        until <= 0) {
        return 0;
    }
    /* Redis time against ours: the machines' clocks are assumed to agree
     * to well within a Retry-After. */
    return until - syncq_now_ms();
}

void
sq_gate_enter(struct sq_gate *g, const char *host, struct sq_gate_pass *p)
{
    int64_t start = syncq_mono_ms();
    int64_t deadline = start + g->max_wait_ms;
    syncq_error e2;

    memset(p, 0, sizeof *p);
    snprintf(p->holder, sizeof p->holder, "%ld:%llu", (long)getpid(),
             (unsigned long long)++g->seq);
    for (;;) {
        struct syncq_rl_answer a;
        char reason[64];
        int64_t left = deadline - syncq_mono_ms();
        int64_t cool;
        int64_t asked = syncq_mono_ms(), slot_at;
        if (left < 0) {
            left = 0;
        }
        if (syncq_rl_acquire(g->client, host, &g->policy, p->holder,
                             g->ticket, left, &a, &e2) != SYNCQ_OK) {
            p->limiter_down = true;
            p->cls = SYNCQ_ERR_NETWORK;
            snprintf(p->why, sizeof p->why, "rate limiter unavailable: %s",
                     e2.msg);
            break;
        }
        if (a.missed_ms > 0) {
            /* this task came back after the slot it had booked (a busy
             * machine kept it from being leased in time): that slot went
             * unused, like a late wake below */
            syncq_log(SYNCQ_LOG_INFO, "fetch.slot_late",
                      "host=%s late_ms=%lld booked=1", host,
                      (long long)a.missed_ms);
        }
        /* The slot is wait_ms after Redis's clock when the script ran,
         * which is after `asked`: counted from `asked` it is never later
         * than the real slot, so a reply that reached us late (a busy
         * machine) shows as lateness, not as a squeezed gap at the host. */
        slot_at = asked + (a.wait_ms > 0 ? a.wait_ms : 0);
        if (a.status == SYNCQ_RL_OK && a.wait_ms <= 0 &&
            syncq_mono_ms() - slot_at <= LATE_MS) {
            p->granted = true;
            break;
        }
        if (a.status == SYNCQ_RL_OK) {
            /* Another worker's 429 may pause the host during the wait:
             * look again PEEK_LEAD_MS before the slot, so the look's round
             * trip never makes the request late for its slot (a late
             * request squeezes the spacing the server sees). */
            bool woke = true;
            cool = 0;
            if (a.wait_ms > 0) {
                woke = nap(g, slot_at - PEEK_LEAD_MS - syncq_mono_ms());
                cool = woke ? cool_left(g, host, reason) : 0;
                if (woke && cool <= 0) {
                    woke = nap(g, slot_at - syncq_mono_ms());
                }
            }
            if (woke && cool <= 0 &&
                syncq_mono_ms() - slot_at > LATE_MS) {
                /* the look (or a busy machine) made us late: a request
                 * sent now would squeeze the spacing the host sees, so
                 * the slot is given back and a new one asked for. The
                 * slot goes unused: logged, as it costs throughput. */
                syncq_log(SYNCQ_LOG_INFO, "fetch.slot_late",
                          "host=%s late_ms=%lld", host,
                          (long long)(syncq_mono_ms() - slot_at));
                syncq_rl_release(g->client, host, p->holder, &e2);
                if (syncq_mono_ms() >= deadline) {
                    /* late past the wait it accepts (a machine too busy
                     * to keep any slot): the task comes back later */
                    refuse(p, host, SYNCQ_ERR_RATE_LIMITED, 1000,
                           "missed its slots (a busy machine)");
                    break;
                }
                continue;
            }
            if (!woke) {
                syncq_rl_release(g->client, host, p->holder, &e2);
                refuse(p, host, SYNCQ_ERR_RATE_LIMITED, 1000,
                       "wait interrupted");
                break;
            }
            if (cool <= 0) {
                p->granted = true;
                break;
            }
            syncq_rl_release(g->client, host, p->holder, &e2);
            if (cool > deadline - syncq_mono_ms()) {
                char why[128];
                snprintf(why, sizeof why, "is cooling down (%.60s)", reason);
                refuse(p, host, class_of_reason(reason), cool, why);
                break;
            }
            if (!nap(g, cool)) {
                refuse(p, host, SYNCQ_ERR_RATE_LIMITED, 1000,
                       "wait interrupted");
                break;
            }
            continue; /* ask again: the slot was given back */
        } else if (a.status == SYNCQ_RL_LATER) {
            /* Come back well before the booked slot: an early arrival
             * waits in place (at most max_wait), a late one loses the
             * slot, so the lead is most of max_wait. */
            int64_t lead = g->max_wait_ms * 3 / 4 < 2000
                               ? g->max_wait_ms * 3 / 4
                               : 2000;
            refuse(p, host, SYNCQ_ERR_RATE_LIMITED,
                   a.wait_ms > lead ? a.wait_ms - lead : 1,
                   "has a slot booked for this task");
            break;
        } else if (a.status == SYNCQ_RL_COOL) {
            if (a.wait_ms > left) {
                char why[128];
                snprintf(why, sizeof why, "is cooling down (%.60s)", a.reason);
                refuse(p, host, class_of_reason(a.reason), a.wait_ms, why);
                break;
            }
        } else if (a.status == SYNCQ_RL_WAIT || left <= 0) {
            refuse(p, host, SYNCQ_ERR_RATE_LIMITED, a.wait_ms,
                   a.status == SYNCQ_RL_BUSY ? "has its concurrency cap in use"
                                             : "is at its rate limit");
            break;
        }
        if (!nap(g, a.wait_ms < left ? a.wait_ms : left)) {
            refuse(p, host, SYNCQ_ERR_RATE_LIMITED, 1000, "wait interrupted");
            break;
        }
    }
    p->waited_ms = syncq_mono_ms() - start;
}

void
sq_gate_leave(struct sq_gate *g, const char *host,
              const struct sq_gate_pass *p)
{
    syncq_error err;

    if (!p->granted) {
        return;
    }
    if (syncq_rl_release(g->client, host, p->holder, &err) != SYNCQ_OK) {
        /* the slot lapses on its own after the lease */
        syncq_log(SYNCQ_LOG_DEBUG, "fetch.release_failed",
                  "host=%s err=\"%s\"", host, err.msg);
    }
}

void
sq_gate_cool(struct sq_gate *g, const char *host, int64_t ms,
             const char *reason)
{
    syncq_error err;
    int64_t until = 0;

    if (ms <= 0) {
        return;
    }
    if (syncq_rl_cool(g->client, host, ms, reason, &until, &err) !=
        SYNCQ_OK) {
        syncq_log(SYNCQ_LOG_WARN, "crawler.cooldown_failed",
                  "host=%s err=\"%s\"", host, err.msg);
        return;
    }
    syncq_log(SYNCQ_LOG_INFO, "crawler.host_cooldown",
              "host=%s pause_ms=%lld reason=%s", host, (long long)ms, reason);
}
