/* SPDX-License-Identifier: MIT
 *
 * beat_loop.c: the beat daemon (syncq_beat_run). Each turn of the loop is
 * one beat.lua poll (leader lock + promotion of delayed tasks + lapsed
 * leases + batch waves + due schedules, one round trip), then, for the
 * leader, the plans of the due schedules (beat_schedule.c) fired through
 * schedule_tick.lua, which fences on the lock token, compares-and-sets
 * each schedule's next run and dedupes each tick. The loop sleeps until
 * the earliest of: the next delayed ETA, the next due schedule, the next
 * batch wave, the next lock renewal, the poll interval.
 *
 * Times: "now" is Redis's clock from the poll reply; waits and lock
 * renewals use the monotonic clock, and the two are compared on every
 * poll to detect wall-clock jumps (C20). Never exits the process; returns
 * when *stop is set.
 */
#include "beat/beat_schedule.h"
#include "beat/beat_store.h"
#include "broker/broker.h"
#include "monitor/mon_alerts.h"
#include "monitor/mon_sentry.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"
#include "core/sq_log.h"
#include "core/sq_logwriter.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/version.h>
#include <unistd.h>

#define DUE_MAX 200       /* due schedules per poll */
#define PROMOTE_MAX 1000  /* delayed tasks per poll */
#define REQUEUE_MAX 100   /* lapsed leases per poll */
#define WAVES_MAX 16      /* batch waves per poll */
#define TICK_CALL_MAX 256 /* entries per schedule_tick.lua call */
#define JUMP_TOLERANCE_MS 1500
#define JUMP_MEMORY_MS 600000 /* how long a forward jump is remembered */

/* One schedule_tick.lua entry and what to log about it. */
struct tick_entry {
    char name[SYNCQ_SCHEDULE_NAME_MAX + 1];
    char gen[24];
    int64_t expect; /* -1: "" */
    const char *action;
    int64_t tick; /* -1: "" */
    int64_t next;
    char id[SYNCQ_ID_SIZE];
    char extra[SQ_SCHED_ERR_MAX];
    int64_t late_ms;
};

struct beat {
    syncq_client *c;
    volatile int *stop;
    volatile int *reopen;
    char id[160];
    char token[224];
    char host[128];
    char info[512]; /* status JSON */
    int64_t lock_ttl_ms, poll_ms, follow_ms, dedupe_ms;
    bool promote;
    bool leader;
    int64_t last_renew_mono; /* when the last renew/acquire was sent */
    int64_t started_ms;
    struct sq_jump jump;
    int64_t prev_rtt_ms;  /* round trip of the previous poll */
    int64_t fail_since;   /* monotonic start of failing polls, 0: none */
    int64_t fails;        /* failed polls since then */
    int64_t jump_wall_ms; /* wall time a forward jump landed on, -1 */
    int64_t jump_mono;    /* when it was seen */
    int64_t fired, missed, dups;
    char holder[224];
    /* the current batch of tick entries */
    struct tick_entry *ents;
    size_t nents, capents;
    int64_t now_ms; /* Redis time of the current poll */
    struct sq_alerts *alerts;  /* alert rules evaluated by the leader */
    int64_t next_alert_mono;   /* when the next evaluation is due */
    struct sq_sentry *sentry;  /* SYNCQ_SENTRY_DSN set: failures forwarded
                                  by the leader */
    int64_t next_sentry_mono;
};

/* ---- helpers ----------------------------------------------------------- */

static void
beat_sleep(struct beat *b, int64_t ms)
{
    /* In slices, so a stop request is seen within 50 ms. */
    while (ms > 0 && !*b->stop) {
        int64_t d = ms > 50 ? 50 : ms;
        sq_sleep_ms(d);
        ms -= d;
    }
}

static struct tick_entry *
entry_new(struct beat *b)
{
    struct tick_entry *e;

    if (b->nents == b->capents) {
        size_t nc = b->capents ? b->capents * 2 : 64;
        struct tick_entry *ne = sq_realloc(b->ents, nc * sizeof *ne);
        if (ne == NULL) {
            return NULL;
        }
        b->ents = ne;
        b->capents = nc;
    }
    e = &b->ents[b->nents++];
    memset(e, 0, sizeof *e);
    e->expect = -1;
    e->tick = -1;
    e->next = -1;
    return e;
}

static void
iso(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0) {
        snprintf(buf, cap, "-");
    } else {
        sq_time_format_iso8601_ms(ms, buf, cap);
    }
}

/* ---- planning the due schedules ------------------------------------------ */

/* Queue an "error" entry: the stored schedule cannot be used. */
static void
mark_invalid(struct beat *b, const char *name, int64_t gen, const char *why)
{
    struct tick_entry *e = entry_new(b);
    char q[300];

    if (e == NULL) {
        return;
    }
    snprintf(e->name, sizeof e->name, "%s", name);
    if (gen > 0) {
        snprintf(e->gen, sizeof e->gen, "%lld", (long long)gen);
    } else {
        snprintf(e->gen, sizeof e->gen, "*");
    }
    e->action = "error";
    snprintf(e->extra, sizeof e->extra, "%s", why);
    SQ_WARN("beat.schedule_invalid", "schedule=%s err=%s", name,
            sq_log_quote(why, q, sizeof q));
}

static void
plan_one(void *ud, const char *name, redisReply *r)
{
    struct beat *b = ud;
    struct sq_schedule s;
    struct sq_plan p;
    syncq_error err;
    char gen[24];
    int64_t expect;

    if (r->type != REDIS_REPLY_ARRAY) {
        /* not a hash: the tick script drops it from the index */
        mark_invalid(b, name, 0, r->str ? r->str : "not a schedule");
        return;
    }
    if (r->elements == 0) {
        /* no record (removed meanwhile, or an orphan index entry): the
         * tick script drops the index entry */
        struct tick_entry *e = entry_new(b);
        if (e != NULL) {
            snprintf(e->name, sizeof e->name, "%s", name);
            snprintf(e->gen, sizeof e->gen, "*");
            e->action = "error";
        }
        return;
    }
    sq_schedule_init(&s);
    if (sq_schedule_from_hash(&s, name, r->element, r->elements, &err) !=
            SYNCQ_OK ||
        sq_schedule_compile(&s, &err) != SYNCQ_OK) {
        if (s.error[0] == '\0') {
            mark_invalid(b, name, s.gen, err.msg);
        }
        sq_schedule_cleanup(&s);
        return;
    }
    if (sq_schedule_plan(&s, b->now_ms, b->jump_wall_ms, &p, &err) !=
        SYNCQ_OK) {
        SQ_ERROR("beat.plan_failed", "schedule=%s err=\"%s\"", name, err.msg);
        sq_schedule_cleanup(&s);
        return;
    }
    snprintf(gen, sizeof gen, "%lld", (long long)s.gen);
    expect = s.next_ms;
    if (!p.due) {
        if (s.enabled && s.next_ms >= 0 && s.next_ms > b->now_ms) {
            /* The index said due but the record does not: re-sync the
             * index score (a no-op "skip" of 0 ticks). */
            struct tick_entry *e = entry_new(b);
            if (e != NULL) {
                snprintf(e->name, sizeof e->name, "%s", name);
                snprintf(e->gen, sizeof e->gen, "%s", gen);
                e->expect = s.next_ms;
                e->action = "skip";
                e->next = s.next_ms;
                snprintf(e->extra, sizeof e->extra, "0");
            }
        }
        sq_plan_cleanup(&p);
        sq_schedule_cleanup(&s);
        return;
    }
    if (p.late) {
        char t[40];
        iso(s.next_ms, t, sizeof t);
        SQ_WARN("beat.missed",
                "schedule=%s policy=%s first_missed=%s skipped=%lld%s "
                "fired=%zu late_ms=%lld jumped=%d",
                name, sq_missed_name(s.missed), t, (long long)p.skipped,
                p.skipped_more ? "+" : "", p.nfire,
                (long long)(b->now_ms - s.next_ms),
                b->jump_wall_ms >= 0 && s.next_ms <= b->jump_wall_ms);
    }
    if (p.skipped > 0 || p.nfire == 0) {
        struct tick_entry *e = entry_new(b);
        if (e == NULL) {
            goto out;
        }
        snprintf(e->name, sizeof e->name, "%s", name);
        snprintf(e->gen, sizeof e->gen, "%s", gen);
        e->expect = expect;
        e->action = "skip";
        e->next = p.nfire > 0 ? p.fire[0] : p.next_ms;
        snprintf(e->extra, sizeof e->extra, "%lld", (long long)p.skipped);
        expect = e->next;
    }
    for (size_t i = 0; i < p.nfire; i++) {
        struct tick_entry *e = entry_new(b);
        if (e == NULL) {
            break;
        }
        snprintf(e->name, sizeof e->name, "%s", name);
        snprintf(e->gen, sizeof e->gen, "%s", gen);
        e->expect = expect;
        e->action = "fire";
        e->tick = p.fire[i];
        e->next = i + 1 < p.nfire ? p.fire[i + 1] : p.next_ms;
        e->late_ms = b->now_ms - p.fire[i];
        sq_uuid_new(e->id);
        expect = e->next;
    }
out:
    sq_plan_cleanup(&p);
    sq_schedule_cleanup(&s);
}

static void
add_ll_or_empty(struct sq_args *a, int64_t v)
{
    if (v < 0) {
        sq_args_add(a, "");
    } else {
        sq_args_addll(a, v);
    }
}

/* Send entries [lo, hi) in one schedule_tick.lua call and log them. */
static int
send_entries(struct beat *b, size_t lo, size_t hi, syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    int rc;

    sq_args_init(&a);
    sq_args_add(&a, b->token);
    sq_args_addll(&a, b->dedupe_ms);
    sq_args_addll(&a, (long long)(hi - lo));
    for (size_t i = lo; i < hi; i++) {
        struct tick_entry *e = &b->ents[i];
        sq_args_add(&a, e->name);
        sq_args_add(&a, e->gen);
        add_ll_or_empty(&a, e->expect);
        sq_args_add(&a, e->action);
        add_ll_or_empty(&a, e->tick);
        sq_args_addll(&a, e->next);
        sq_args_add(&a, e->id);
        sq_args_add(&a, e->extra);
    }
    rc = sq_script_call(b->c, SQ_SCRIPT_SCHEDULE_TICK, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * (hi - lo)) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO,
                       "schedule_tick: unexpected "
                       "reply");
    }
    for (size_t i = lo; i < hi; i++) {
        struct tick_entry *e = &b->ents[i];
        const char *st = r->element[2 * (i - lo)]->str;
        const char *tid = r->element[2 * (i - lo) + 1]->str;
        char t[40], n[40];
        if (st == NULL) {
            continue;
        }
        iso(e->tick, t, sizeof t);
        iso(e->next, n, sizeof n);
        if (strcmp(st, "fired") == 0) {
            b->fired++;
            SQ_INFO("beat.tick",
                    "schedule=%s tick=%s task_id=%s late_ms=%lld "
                    "next=%s",
                    e->name, t, tid, (long long)e->late_ms, n);
        } else if (strcmp(st, "dup") == 0) {
            b->dups++;
            SQ_WARN("beat.tick_dup", "schedule=%s tick=%s task_id=%s", e->name,
                    t, tid);
        } else if (strcmp(st, "skipped") == 0) {
            b->missed += strtoll(e->extra, NULL, 10);
        } else if (strcmp(st, "notleader") == 0) {
            if (b->leader) {
                SQ_WARN("beat.leader", "leader=false id=%s reason=lock_lost",
                        b->id);
            }
            b->leader = false;
            break;
        } else if (strcmp(st, "marked") != 0) {
            SQ_DEBUG("beat.tick_refused", "schedule=%s tick=%s status=%s",
                     e->name, t, st);
        }
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

static int
process_due(struct beat *b, redisReply *r, size_t from, syncq_error *err)
{
    size_t n = r->elements - from;
    const char **names;
    int rc;

    if (n == 0) {
        return SYNCQ_OK;
    }
    names = sq_calloc(n, sizeof *names);
    if (names == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = r->element[from + i]->str ? r->element[from + i]->str : "";
    }
    b->nents = 0;
    rc = sq_sched_fetch_many(b->c, names, n, plan_one, b, err);
    sq_free(names);
    for (size_t lo = 0; rc == SYNCQ_OK && lo < b->nents && b->leader;
         lo += TICK_CALL_MAX) {
        size_t hi =
            lo + TICK_CALL_MAX < b->nents ? lo + TICK_CALL_MAX : b->nents;
        rc = send_entries(b, lo, hi, err);
    }
    b->nents = 0;
    return rc;
}

/* ---- wall-clock jumps --------------------------------------------------- */

struct rebase_ctx {
    struct beat *b;
    int64_t jump_ms;
    int changed;
};

static void
rebase_one(void *ud, const char *name, redisReply *r)
{
    struct rebase_ctx *rc = ud;
    struct beat *b = rc->b;
    struct sq_schedule s;
    int64_t nn, anchor;

    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        return;
    }
    sq_schedule_init(&s);
    if (sq_schedule_from_hash(&s, name, r->element, r->elements, NULL) ==
            SYNCQ_OK &&
        sq_schedule_compile(&s, NULL) == SYNCQ_OK) {
        nn = sq_schedule_rebase(&s, b->now_ms, rc->jump_ms, &anchor);
        if (nn != s.next_ms) {
            struct sq_args a;
            redisReply *rr = NULL;
            sq_args_init(&a);
            sq_args_add(&a, "renext");
            sq_args_add(&a, b->token);
            sq_args_add(&a, name);
            sq_args_addll(&a, s.gen);
            sq_args_addll(&a, s.next_ms);
            sq_args_addll(&a, nn);
            if (anchor != s.anchor_ms) {
                sq_args_addll(&a, anchor);
            } else {
                sq_args_add(&a, "");
            }
            if (sq_script_call(b->c, SQ_SCRIPT_SCHEDULE_PUT, &a, &rr, NULL) ==
                SYNCQ_OK) {
                char t[40];
                iso(nn, t, sizeof t);
                SQ_INFO("beat.rebase", "schedule=%s next=%s", name, t);
                rc->changed++;
                freeReplyObject(rr);
            }
            sq_args_cleanup(&a);
        }
    }
    sq_schedule_cleanup(&s);
}

static void
after_backward_jump(struct beat *b, int64_t jump_ms)
{
    struct rebase_ctx rc = {b, jump_ms, 0};
    json_t *names = NULL;
    const char **v = NULL;
    size_t n;

    if (sq_sched_names(b->c, &names, NULL) != SYNCQ_OK) {
        return;
    }
    n = json_array_size(names);
    v = sq_calloc(n + 1, sizeof *v);
    if (v != NULL) {
        for (size_t i = 0; i < n; i++) {
            v[i] = json_string_value(json_array_get(names, i));
        }
        sq_sched_fetch_many(b->c, v, n, rebase_one, &rc, NULL);
    }
    sq_free(v);
    json_decref(names);
}

/* ---- the poll ------------------------------------------------------------ */

struct poll_result {
    int64_t now, promoted, requeued, next_eta, next_due, next_wave;
    int64_t dispatched;
    bool leader;
};

static int64_t
int_el(redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER) {
        return r->integer;
    }
    if (r->type == REDIS_REPLY_STRING) {
        return strtoll(r->str, NULL, 10);
    }
    return -1;
}

static int
poll_once(struct beat *b, const char *mode, bool write_status,
          struct poll_result *pr, redisReply **reply, syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    int rc;

    *reply = NULL;
    sq_args_init(&a);
    sq_args_add(&a, b->id);
    sq_args_add(&a, b->token);
    sq_args_addll(&a, b->lock_ttl_ms);
    sq_args_add(&a, mode);
    sq_args_addll(&a, b->promote ? PROMOTE_MAX : 0);
    sq_args_addll(&a, REQUEUE_MAX);
    sq_args_addll(&a, DUE_MAX);
    sq_args_addll(&a, WAVES_MAX);
    if (write_status) {
        struct sq_fault_counts fc;
        sq_fault_counts_get(&fc);
        snprintf(b->info, sizeof b->info,
                 "{\"id\":\"%s\",\"host\":\"%s\",\"pid\":%d,\"version\":"
                 "\"%s\",\"started_at\":%lld,\"lock_ttl_ms\":%lld,"
                 "\"fired\":%lld,\"missed\":%lld,\"promote\":%s,"
                 "\"broker_errors\":%lld,\"broker_reconnects\":%lld}",
                 b->id, b->host, (int)getpid(), SYNCQ_VERSION_STRING,
                 (long long)b->started_ms, (long long)b->lock_ttl_ms,
                 (long long)b->fired, (long long)b->missed,
                 b->promote ? "true" : "false", (long long)fc.errors,
                 (long long)fc.reconnects);
        sq_args_add(&a, b->info);
    } else {
        sq_args_add(&a, "");
    }
    sq_args_addll(&a, b->lock_ttl_ms);
    rc = sq_script_call(b->c, SQ_SCRIPT_BEAT, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 9) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "beat.lua: unexpected reply");
    }
    pr->now = int_el(r->element[0]);
    pr->leader = int_el(r->element[1]) == 1;
    pr->promoted = int_el(r->element[2]);
    pr->requeued = int_el(r->element[3]);
    pr->next_eta = int_el(r->element[4]);
    pr->next_due = int_el(r->element[5]);
    pr->next_wave = int_el(r->element[6]);
    pr->dispatched = int_el(r->element[7]);
    snprintf(b->holder, sizeof b->holder, "%s",
             r->element[8]->str ? r->element[8]->str : "");
    *reply = r;
    return SYNCQ_OK;
}

static void
release_lock(struct beat *b)
{
    struct sq_args a;
    redisReply *r = NULL;

    sq_args_init(&a);
    sq_args_add(&a, "release");
    sq_args_add(&a, b->token);
    sq_args_add(&a, "0");
    sq_args_add(&a, b->id);
    if (sq_script_call(b->c, SQ_SCRIPT_BEAT_LOCK, &a, &r, NULL) == SYNCQ_OK) {
        freeReplyObject(r);
    }
    sq_args_cleanup(&a);
}

static int64_t
min_wait(int64_t w, int64_t at, int64_t now)
{
    if (at >= 0 && at - now < w) {
        return at - now;
    }
    return w;
}

/* A poll failed (the leader-lock call among others): one line when the
 * failures start, the count when they end (issue 12 item 6). */
static void
poll_failed(struct beat *b, const syncq_error *err)
{
    if (b->fails++ == 0) {
        char q[300];
        b->fail_since = sq_mono_ms();
        SQ_WARN("beat.poll_failed", "err_code=%s err=%s leader=%s",
                syncq_code_name(err->code),
                sq_log_quote(err->msg, q, sizeof q),
                b->leader ? "true" : "false");
    }
}

static void
poll_ok(struct beat *b)
{
    if (b->fails > 0) {
        SQ_INFO("beat.poll_ok", "failed_polls=%lld after_ms=%lld",
                (long long)b->fails,
                (long long)(sq_mono_ms() - b->fail_since));
        b->fails = 0;
    }
}

/* Wall-clock jumps: Redis's clock was read while the poll ran, somewhere
 * between sending it (mono) and its reply (after). Compare with the
 * monotonic clock after the reply and widen the tolerance by both polls'
 * round trips: a stall (CLIENT PAUSE, a slow fork) is not a jump. */
static void
check_jump(struct beat *b, int64_t now_ms, int64_t mono, int64_t after)
{
    int64_t rtt = after - mono;
    int64_t jump = sq_jump_check(&b->jump, now_ms, after,
                                 JUMP_TOLERANCE_MS + rtt + b->prev_rtt_ms);

    b->prev_rtt_ms = rtt;
    if (jump == 0) {
        return;
    }
    SQ_WARN("beat.clock_jump", "jump_ms=%lld rtt_ms=%lld leader=%s",
            (long long)jump, (long long)rtt, b->leader ? "true" : "false");
    if (jump > 0) {
        b->jump_wall_ms = now_ms;
        b->jump_mono = after;
    } else {
        b->jump_wall_ms = -1; /* the clock is back below it */
        if (b->leader) {
            after_backward_jump(b, jump);
        }
    }
}

/* One turn: poll, react, and return how long to sleep (ms). */
static int64_t
turn(struct beat *b)
{
    int64_t mono = sq_mono_ms();
    bool renew = !b->leader || mono - b->last_renew_mono >= b->lock_ttl_ms / 3;
    struct poll_result pr;
    redisReply *r = NULL;
    syncq_error err;
    int64_t wait;
    bool was = b->leader;
    int rc;

    memset(&pr, 0, sizeof pr);
    rc = poll_once(b, renew ? "renew" : "check", renew, &pr, &r, &err);
    if (rc != SYNCQ_OK) {
        poll_failed(b, &err);
        if (b->leader && mono - b->last_renew_mono >= b->lock_ttl_ms) {
            /* Cannot prove the lock is ours any more. */
            b->leader = false;
            SQ_WARN("beat.leader", "leader=false id=%s reason=\"%s\"", b->id,
                    err.msg);
        }
        return rc == SYNCQ_ECONN ? 200 : 1000;
    }
    poll_ok(b);
    b->leader = pr.leader;
    if (pr.leader && renew) {
        b->last_renew_mono = mono;
    }
    if (pr.leader != was) {
        char q[260];
        SQ_INFO("beat.leader", "leader=%s id=%s holder=%s",
                pr.leader ? "true" : "false", b->id,
                sq_log_quote(b->holder, q, sizeof q));
    }
    b->now_ms = pr.now;
    check_jump(b, pr.now, mono, sq_mono_ms());
    if (b->jump_wall_ms >= 0 && mono - b->jump_mono > JUMP_MEMORY_MS) {
        b->jump_wall_ms = -1;
    }
    if (pr.promoted > 0 || pr.requeued > 0 || pr.dispatched > 0) {
        SQ_DEBUG("beat.housekeeping",
                 "promoted=%lld requeued=%lld "
                 "chunks_dispatched=%lld",
                 (long long)pr.promoted, (long long)pr.requeued,
                 (long long)pr.dispatched);
    }
    if (!b->leader) {
        freeReplyObject(r);
        return b->follow_ms;
    }
    if (r->elements > 9 && process_due(b, r, 9, &err) != SYNCQ_OK) {
        SQ_WARN("beat.tick_failed", "err_code=%s err=\"%s\"",
                syncq_code_name(err.code), err.msg);
        freeReplyObject(r);
        return 200;
    }
    if (r->elements - 9 >= DUE_MAX || pr.promoted >= PROMOTE_MAX ||
        pr.requeued >= REQUEUE_MAX) {
        freeReplyObject(r);
        return 0; /* more work waiting: go again at once */
    }
    freeReplyObject(r);
    wait = b->poll_ms;
    wait = min_wait(wait, pr.next_eta, pr.now);
    wait = min_wait(wait, pr.next_due, pr.now);
    wait = min_wait(wait, pr.next_wave, pr.now);
    wait = min_wait(wait, b->last_renew_mono + b->lock_ttl_ms / 3, mono);
    if (wait < 1) {
        wait = 1;
    }
    return wait;
}

int
syncq_beat_run(const char *url, const syncq_config *cfg,
               const syncq_beat_options *opts, volatile int *stop,
               syncq_error *err)
{
    static volatile int never;
    struct beat b;
    const char *file = NULL;
    unsigned char rnd[12];
    int rc;

    memset(&b, 0, sizeof b);
    b.jump_wall_ms = -1;
    b.stop = stop != NULL ? stop : &never;
    b.reopen = opts != NULL ? opts->reopen_logs : NULL;
    rc = syncq_client_open(url, cfg, &b.c, err);
    while (rc == SYNCQ_ECONN && !*b.stop) {
        /* Redis may come up after us: keep trying (logged by the client
         * once per outage). */
        sq_sleep_ms(1000);
        rc = syncq_client_open(url, cfg, &b.c, err);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_broker_check_eviction(b.c, "beat");
    cfg = syncq_client_config(b.c);
    b.lock_ttl_ms = (opts && opts->lock_ttl_ms > 0)
                        ? opts->lock_ttl_ms
                        : syncq_config_ms(cfg, "SYNCQ_BEAT_LOCK_TTL");
    if (b.lock_ttl_ms < 300) {
        syncq_client_close(b.c);
        return sq_fail(err, SYNCQ_EINVAL,
                       "lock TTL must be at least 300 "
                       "ms");
    }
    b.poll_ms = (opts && opts->poll_ms > 0) ? opts->poll_ms : 100;
    b.follow_ms = b.lock_ttl_ms / 3 < 1000 ? b.lock_ttl_ms / 3 : 1000;
    b.dedupe_ms = b.lock_ttl_ms * 10 > 120000 ? b.lock_ttl_ms * 10 : 120000;
    b.promote = !(opts && opts->no_promote);
    if (gethostname(b.host, sizeof b.host) != 0) {
        snprintf(b.host, sizeof b.host, "unknown");
    }
    b.host[sizeof b.host - 1] = '\0';
    for (char *p = b.host; *p; p++) {
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) {
            *p = '_';
        }
    }
    if (opts != NULL && opts->id != NULL) {
        if (sq_schedule_name_check(opts->id, err) != SYNCQ_OK) {
            syncq_client_close(b.c);
            sq_error_prefix(err, "beat id");
            return SYNCQ_EINVAL;
        }
        snprintf(b.id, sizeof b.id, "%s", opts->id);
    } else {
        snprintf(b.id, sizeof b.id, "%s:%d", b.host, (int)getpid());
    }
    sq_random_bytes(rnd, sizeof rnd);
    {
        size_t n = (size_t)snprintf(b.token, sizeof b.token, "%s/", b.id);
        for (size_t i = 0; i < sizeof rnd && n + 3 < sizeof b.token; i++) {
            n += (size_t)snprintf(b.token + n, sizeof b.token - n, "%02x",
                                  rnd[i]);
        }
    }
    file = opts != NULL && opts->schedule_file != NULL
               ? opts->schedule_file
               : syncq_config_str(cfg, "SYNCQ_BEAT_SCHEDULE_FILE");
    if (file != NULL && file[0] != '\0') {
        json_t *report = NULL;
        rc = syncq_schedule_load_file(b.c, file, true, &report, err);
        while (rc == SYNCQ_ECONN && !*b.stop) {
            sq_sleep_ms(1000);
            rc = syncq_schedule_load_file(b.c, file, true, &report, err);
        }
        if (rc != SYNCQ_OK) {
            syncq_client_close(b.c);
            return rc;
        }
        SQ_INFO("beat.schedule_file",
                "path=%s created=%zu updated=%zu "
                "unchanged=%zu removed=%zu",
                file, json_array_size(json_object_get(report, "created")),
                json_array_size(json_object_get(report, "updated")),
                json_array_size(json_object_get(report, "unchanged")),
                json_array_size(json_object_get(report, "removed")));
        json_decref(report);
    }
    b.started_ms = sq_now_ms();
    SQ_INFO("beat.start",
            "id=%s lock_ttl_ms=%lld poll_ms=%lld promote=%s "
            "url=%s version=%s",
            b.id, (long long)b.lock_ttl_ms, (long long)b.poll_ms,
            b.promote ? "true" : "false", syncq_client_url(b.c),
            SYNCQ_VERSION_STRING);
    {
        /* The leader also evaluates the alert rules (as `monitor serve`
         * does; evaluators agree through Redis, so running both is safe).
         * A bad rules file must not stop the scheduler: log it, go on. */
        syncq_error aerr;
        if (sq_alerts_new(cfg, NULL, &b.alerts, &aerr) != SYNCQ_OK) {
            SQ_ERROR("beat.alerts_disabled", "err=\"%s\"", aerr.msg);
            b.alerts = NULL;
        }
        /* ... and forwards task failures and worker crashes to Sentry, so
         * a deployment without `monitor serve` still reports them (both
         * read the events through one consumer group: no duplicates). */
        if (syncq_config_str(cfg, "SYNCQ_SENTRY_DSN")[0] != '\0' &&
            sq_sentry_new(syncq_config_str(cfg, "SYNCQ_SENTRY_DSN"), 0, 0,
                          &b.sentry, &aerr) != SYNCQ_OK) {
            SQ_ERROR("beat.sentry_disabled", "err=\"%s\"", aerr.msg);
            b.sentry = NULL;
        }
    }
    while (!*b.stop) {
        int64_t wait;
        if (b.reopen != NULL && *b.reopen) {
            *b.reopen = 0;
            sq_logwriter_reopen(NULL);
        }
        wait = turn(&b);
        if (b.alerts != NULL && b.leader &&
            sq_mono_ms() >= b.next_alert_mono) {
            syncq_error aerr;
            b.next_alert_mono = sq_mono_ms() + SQ_ALERTS_TICK_MS;
            if (sq_alerts_tick(b.alerts, b.c, NULL, NULL, &aerr) !=
                    SYNCQ_OK &&
                aerr.code != SYNCQ_ECONN) {
                SQ_WARN("beat.alerts", "err=\"%s\"", aerr.msg);
            }
        }
        if (b.sentry != NULL && b.leader &&
            sq_mono_ms() >= b.next_sentry_mono) {
            char consumer[200];
            b.next_sentry_mono = sq_mono_ms() + 1000;
            snprintf(consumer, sizeof consumer, "beat:%s", b.id);
            sq_sentry_forward(b.sentry, b.c, consumer, NULL, NULL);
        }
        beat_sleep(&b, wait);
    }
    sq_sentry_free(b.sentry, 2000);
    if (b.alerts != NULL) {
        sq_alerts_flush(b.alerts, 2000);
        sq_alerts_free(b.alerts);
    }
    if (b.leader) {
        release_lock(&b);
    }
    SQ_INFO("beat.stop", "id=%s leader=%s fired=%lld missed=%lld", b.id,
            b.leader ? "true" : "false", (long long)b.fired,
            (long long)b.missed);
    sq_free(b.ents);
    syncq_client_close(b.c);
    return SYNCQ_OK;
}
