/* SPDX-License-Identifier: MIT
 *
 * broker_lease.c: the worker-side broker operations: lease (lease.lua),
 * settle outcomes (settle.lua), heartbeat (extend.lua), progress
 * (progress.lua), housekeeping (promote.lua) and poison entries
 * (poison.lua). Settle and lease go out pipelined in one round trip so a
 * worker acks and fetches with a single wait.
 */
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_id.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void
sq_lease_reply_cleanup(struct sq_lease_reply *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        json_decref(r->tasks[i].rec);
    }
    sq_free(r->tasks);
    json_decref(r->control);
    json_decref(r->raws);
    memset(r, 0, sizeof *r);
    r->next_eta_ms = -1;
}

static json_t *
string_array(const redisReply *r)
{
    json_t *a = json_array();

    if (a == NULL || r == NULL || r->type != REDIS_REPLY_ARRAY) {
        return a;
    }
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type == REDIS_REPLY_STRING) {
            json_array_append_new(a, json_stringn_nocheck(r->element[i]->str,
                                                          r->element[i]->len));
        }
    }
    return a;
}

/* ---- the lease/settle codec: the one encoder of settle.lua's and
 * lease.lua's arguments and decoder of their replies (their headers
 * define the layout). sq_broker_settle_lease below and the worker's
 * asynchronous round (worker_round.c) both use it. ---- */

static const char *kind_names[] = {"ok",    "fail",    "retry", "requeue",
                                   "start", "revoked", "defer"};

const char *
sq_settle_kind_name(enum sq_settle_kind k)
{
    return (k >= 0 && k <= SQ_SETTLE_DEFER) ? kind_names[k] : "?";
}

void
sq_settle_args_begin(struct sq_args *a, size_t n)
{
    sq_args_addll(a, (long long)n);
}

void
sq_settle_args_add(struct sq_args *a, const struct sq_settle_op *op)
{
    const char *cls = op->err_class != NULL && op->err_class[0] != '\0'
                          ? op->err_class
                          : "internal";

    /* "okp": an ok whose record has no batch, root or rexp (settle.lua) */
    sq_args_add(a, op->kind == SQ_SETTLE_OK && op->plain
                       ? "okp"
                       : kind_names[op->kind]);
    sq_args_add(a, op->id);
    sq_args_add(a, op->token);
    switch (op->kind) {
    case SQ_SETTLE_OK:
        sq_args_add(a, op->result_json != NULL ? op->result_json : "");
        sq_args_addll(a, op->runtime_ms);
        break;
    case SQ_SETTLE_FAIL:
        sq_args_add(a, cls);
        sq_args_add(a, op->err_msg != NULL ? op->err_msg : "");
        sq_args_addll(a, op->runtime_ms);
        sq_args_add(a, op->dead ? "1" : "0");
        break;
    case SQ_SETTLE_RETRY:
    case SQ_SETTLE_DEFER:
        sq_args_add(a, cls);
        sq_args_add(a, op->err_msg != NULL ? op->err_msg : "");
        sq_args_addll(a, op->runtime_ms);
        sq_args_addll(a, op->delay_ms);
        break;
    case SQ_SETTLE_REQUEUE:
        sq_args_add(a, op->reason != NULL ? op->reason : "shutdown");
        break;
    case SQ_SETTLE_START:
        break;
    case SQ_SETTLE_REVOKED:
        sq_args_add(a, op->err_msg != NULL ? op->err_msg : "cancelled");
        sq_args_addll(a, op->runtime_ms);
        break;
    }
}

void
sq_lease_args(struct sq_args *a, const struct sq_lease_req *L)
{
    sq_args_add(a, L->worker);
    sq_args_addll(a, L->lease_ms);
    sq_args_addll(a, L->max_n);
    sq_args_addll(a, L->start_now);
    sq_args_addll(a, (long long)L->nqueues);
    for (size_t i = 0; i < L->nqueues; i++) {
        sq_args_add(a, L->queues[i]);
    }
}

int
sq_settle_parse(const redisReply *r, size_t n, int *status, syncq_error *err)
{
    static const struct {
        const char *word;
        int status;
    } words[] = {{"ok", SQ_SETTLED},
                 {"already", SQ_SETTLE_ALREADY},
                 {"stale", SQ_SETTLE_STALE}};

    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        return sq_fail(err, SYNCQ_EPROTO, "settle: unexpected reply");
    }
    for (size_t i = 0; i < n && status != NULL; i++) {
        const redisReply *e = r->element[i];
        status[i] = SQ_SETTLE_GONE;
        for (size_t w = 0; e->type == REDIS_REPLY_STRING &&
                           w < sizeof words / sizeof words[0];
             w++) {
            if (strcmp(e->str, words[w].word) == 0) {
                status[i] = words[w].status;
            }
        }
    }
    return SYNCQ_OK;
}

/* raws: queue, bytes pairs -> [[queue, bytes], ...]; the bytes may be
 * invalid UTF-8, so they are kept as jansson strings without a check. */
static void
parse_raws(const redisReply *rw, json_t *raws)
{
    if (rw->type != REDIS_REPLY_ARRAY) {
        return;
    }
    for (size_t i = 0; i + 1 < rw->elements; i += 2) {
        if (rw->element[i]->type != REDIS_REPLY_STRING ||
            rw->element[i + 1]->type != REDIS_REPLY_STRING) {
            continue;
        }
        json_array_append_new(
            raws, json_pack("[s#o]", rw->element[i]->str,
                            (int)rw->element[i]->len,
                            json_stringn_nocheck(rw->element[i + 1]->str,
                                                 rw->element[i + 1]->len)));
    }
}
/* What one lease call wrote into every task it leased (lease.lua's
 * reply header): the fields of the i-th task follow from it. */
struct lease_hdr {
    const char *now;    /* Redis time in ms, as text: lt, and st if started */
    const char *worker; /* worker and ran_by */
    long long start_now;
    long long first_token;
};

/* A hiredis string reply over `s` (not copied), for sq_record_to_json. */
static void
str_reply(redisReply *r, const char *s)
{
    memset(r, 0, sizeof *r);
    r->type = REDIS_REPLY_STRING;
    r->str = (char *)s;
    r->len = strlen(s);
}

/* The record of the i-th (from 0) task leased: its fields as lease.lua
 * read them, with the fields the lease wrote laid over them (later pairs
 * win), as lease.lua's header says they were written. Sets its token. */
static json_t *
leased_record(const char *id, const redisReply *rec,
              const struct lease_hdr *h, size_t i, char token[32])
{
    enum { NW = 16 };
    const char *w[NW];
    redisReply wr[NW];
    size_t n = rec->elements, nw = 0;
    long long attempt = 0;
    bool pst = false, started = (long long)i < h->start_now;
    char attempt_s[24];
    redisReply **kv = sq_calloc(n + NW, sizeof *kv);
    json_t *o;

    if (kv == NULL) {
        return NULL;
    }
    for (size_t f = 0; f + 1 < n; f += 2) {
        const redisReply *k = rec->element[f];
        kv[f] = rec->element[f];
        kv[f + 1] = rec->element[f + 1];
        if (k->type != REDIS_REPLY_STRING ||
            rec->element[f + 1]->type != REDIS_REPLY_STRING) {
            continue;
        }
        if (strcmp(k->str, "attempt") == 0) {
            attempt = strtoll(rec->element[f + 1]->str, NULL, 10);
        } else if (strcmp(k->str, "pst") == 0) {
            pst = true;
        }
    }
    snprintf(token, 32, "%lld", h->first_token + (long long)i);
    snprintf(attempt_s, sizeof attempt_s, "%lld", attempt + 1);
    w[nw++] = "state";
    w[nw++] = started ? "STARTED" : "RECEIVED";
    w[nw++] = "lease";
    w[nw++] = token;
    w[nw++] = "worker";
    w[nw++] = h->worker;
    w[nw++] = "ran_by";
    w[nw++] = h->worker;
    w[nw++] = "lt";
    w[nw++] = h->now;
    w[nw++] = "attempt";
    w[nw++] = attempt_s;
    if (started) {
        w[nw++] = "st";
        w[nw++] = h->now;
    }
    if (pst) {
        w[nw++] = "pst";
        w[nw++] = "0";
    }
    n -= n % 2;
    for (size_t f = 0; f < nw; f++) {
        str_reply(&wr[f], w[f]);
        kv[n + f] = &wr[f];
    }
    o = sq_record_to_json_untimed(id, kv, n + nw);
    sq_free(kv);
    return o;
}

/* A number field of a leased record as the JSON record reads it
 * (strtoll: no digits give 0). */
static long long
view_ll(const redisReply *v)
{
    return strtoll(v->str, NULL, 10);
}

/* The fields of a leased record the view keeps: a text, or a number
 * (`num`), at offset `off` of struct sq_leased_view. */
#define VIEW_TEXT(f, m) {f, sizeof f - 1, offsetof(struct sq_leased_view, m), false}
#define VIEW_NUM(f, m) {f, sizeof f - 1, offsetof(struct sq_leased_view, m), true}
static const struct {
    const char *field;
    size_t len;
    size_t off;
    bool num;
} view_fields[] = {
    VIEW_TEXT("name", name),     VIEW_TEXT("queue", queue),
    VIEW_TEXT("args", args),     VIEW_TEXT("kwargs", kwargs),
    VIEW_TEXT("pol", policy),    VIEW_TEXT("batch", batch),
    VIEW_TEXT("root", root),     VIEW_NUM("attempt", attempt),
    VIEW_NUM("retries", retries), VIEW_NUM("maxr", max_retries),
    VIEW_NUM("tl", time_limit_ms), VIEW_NUM("stl", soft_time_limit_ms),
};
#undef VIEW_TEXT
#undef VIEW_NUM

/* Field `k` = `x` of a leased record into the view, if it keeps it. By
 * length first: the worker decodes every field of every task it leases
 * here. */
static void
view_field(struct sq_leased_view *v, const redisReply *k,
           const redisReply *x)
{
    for (size_t i = 0; i < sizeof view_fields / sizeof view_fields[0]; i++) {
        char *at = (char *)v + view_fields[i].off;
        if (k->len != view_fields[i].len ||
            memcmp(k->str, view_fields[i].field, k->len) != 0) {
            continue;
        }
        if (view_fields[i].num) {
            *(long long *)(void *)at = view_ll(x);
        } else {
            ((struct sq_text *)(void *)at)->p = x->str;
            ((struct sq_text *)(void *)at)->n = x->len;
        }
        return;
    }
}

/* The i-th task leased as a worker runs it: the fields take_leased in
 * worker_broker.c reads, straight from the reply (no record). Same
 * values as leased_record's: attempt is the stored one + 1. */
static void
leased_view(const redisReply *rec, const struct lease_hdr *h, size_t i,
            struct sq_leased_view *v, char token[32])
{
    memset(v, 0, sizeof *v);
    v->max_retries = -1;
    for (size_t f = 0; f + 1 < rec->elements; f += 2) {
        const redisReply *k = rec->element[f];
        const redisReply *x = rec->element[f + 1];
        if (k->type == REDIS_REPLY_STRING && x->type == REDIS_REPLY_STRING) {
            view_field(v, k, x);
        }
    }
    v->attempt++;
    snprintf(token, 32, "%lld", h->first_token + (long long)i);
}

/* Whether leased record `rec` lacks the fields settle.lua reads only for
 * a task with a batch, a workflow root or a result TTL of its own (each
 * field missing from a record costs Redis a scan of it: "okp" spares
 * settle the three). These are written when the task is created and
 * never after. */
static bool
record_plain(const redisReply *rec)
{
    for (size_t f = 0; f + 1 < rec->elements; f += 2) {
        const redisReply *k = rec->element[f];
        if (k->type != REDIS_REPLY_STRING) {
            continue;
        }
        if ((k->len == 5 && memcmp(k->str, "batch", 5) == 0) ||
            (k->len == 4 && (memcmp(k->str, "root", 4) == 0 ||
                             memcmp(k->str, "rexp", 4) == 0))) {
            return false;
        }
    }
    return true;
}

/* lease.lua's reply header {now_ms, worker, start_now, first_token}. */
static bool
lease_header(const redisReply *r, struct lease_hdr *h)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        return false;
    }
    for (size_t i = 0; i < 4; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            return false;
        }
    }
    h->now = r->element[0]->str;
    h->worker = r->element[1]->str;
    h->start_now = strtoll(r->element[2]->str, NULL, 10);
    h->first_token = strtoll(r->element[3]->str, NULL, 10);
    return true;
}

/* lease.lua's reply into *out: each task as a JSON record (`records`)
 * or as a view of the reply. */
static int
lease_parse(const redisReply *r, struct sq_lease_reply *out, bool records,
            syncq_error *err)
{
    struct lease_hdr h;
    size_t n;

    memset(out, 0, sizeof *out);
    out->next_eta_ms = -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 4 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        !lease_header(r->element[3], &h)) {
        return sq_fail(err, SYNCQ_EPROTO, "lease: unexpected reply");
    }
    out->next_eta_ms = r->element[0]->integer;
    out->control = string_array(r->element[1]);
    out->raws = json_array();
    if (out->control == NULL || out->raws == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    parse_raws(r->element[2], out->raws);
    n = (r->elements - 4) / 2;
    if (n == 0) {
        return SYNCQ_OK;
    }
    out->tasks = sq_calloc(n, sizeof *out->tasks);
    if (out->tasks == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *id = r->element[4 + 2 * i];
        const redisReply *rec = r->element[5 + 2 * i];
        struct sq_leased *L = &out->tasks[out->n];
        if (id->type != REDIS_REPLY_STRING || rec->type != REDIS_REPLY_ARRAY) {
            continue;
        }
        {
            /* as snprintf "%s" would, without its cost per task */
            size_t idn = strnlen(id->str, sizeof L->id - 1);
            memcpy(L->id, id->str, idn);
            L->id[idn] = '\0';
        }
        L->plain = record_plain(rec);
        if (!records) {
            leased_view(rec, &h, i, &L->v, L->token);
            out->n++;
            continue;
        }
        L->rec = leased_record(L->id, rec, &h, i, L->token);
        if (L->rec == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        out->n++;
    }
    return SYNCQ_OK;
}

int
sq_lease_parse(const syncq_client *c, const redisReply *r,
               struct sq_lease_reply *out, syncq_error *err)
{
    (void)c; /* records without times: no result TTL to apply */
    return lease_parse(r, out, true, err);
}

int
sq_lease_parse_view(const redisReply *r, struct sq_lease_reply *out,
                    syncq_error *err)
{
    return lease_parse(r, out, false, err);
}

int
sq_broker_settle_lease(syncq_client *c, const struct sq_settle_op *ops,
                       size_t n, int *status,
                       const struct sq_lease_req *lease,
                       struct sq_lease_reply *out, syncq_error *err)
{
    struct sq_args sa, la;
    redisReply *r = NULL;
    int rc = SYNCQ_OK;
    int pending = 0;

    if (out != NULL) {
        memset(out, 0, sizeof *out);
        out->next_eta_ms = -1;
    }
    sq_args_init(&sa);
    sq_args_init(&la);
    if (n > 0) {
        sq_settle_args_begin(&sa, n);
        for (size_t i = 0; i < n; i++) {
            sq_settle_args_add(&sa, &ops[i]);
        }
        rc = sq_script_append(c, SQ_SCRIPT_SETTLE, &sa, err);
        if (rc == SYNCQ_OK) {
            pending++;
        }
    }
    if (rc == SYNCQ_OK && lease != NULL) {
        sq_lease_args(&la, lease);
        rc = sq_script_append(c, SQ_SCRIPT_LEASE, &la, err);
        if (rc == SYNCQ_OK) {
            pending++;
        }
    }
    sq_args_cleanup(&sa);
    sq_args_cleanup(&la);
    if (rc != SYNCQ_OK) {
        if (pending > 0) {
            sq_client_drop(c, "pipeline aborted");
        }
        return rc;
    }
    if (n > 0) {
        rc = sq_client_read_reply(c, &r, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        rc = sq_script_reply_check(c, SQ_SCRIPT_SETTLE, r, err);
        if (rc == SYNCQ_OK) {
            rc = sq_settle_parse(r, n, status, err);
        }
        freeReplyObject(r);
        r = NULL;
        if (rc != SYNCQ_OK) {
            if (lease != NULL) {
                sq_client_drop(c, "settle failed with a lease pending");
            }
            return rc;
        }
    }
    if (lease != NULL) {
        rc = sq_client_read_reply(c, &r, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        rc = sq_script_reply_check(c, SQ_SCRIPT_LEASE, r, err);
        if (rc == SYNCQ_OK) {
            rc = sq_lease_parse(c, r, out, err);
        }
        freeReplyObject(r);
        if (rc != SYNCQ_OK) {
            sq_lease_reply_cleanup(out);
        }
    }
    return rc;
}

int
sq_broker_extend(syncq_client *c, const char *worker, int64_t lease_ms,
                 const char *info_json, int64_t ttl_ms,
                 const char *const *ids, const char *const *tokens, size_t n,
                 json_t **lost, json_t **control, syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    int rc;

    if (lost != NULL) {
        *lost = NULL;
    }
    if (control != NULL) {
        *control = NULL;
    }
    sq_args_init(&a);
    sq_args_add(&a, worker);
    sq_args_addll(&a, lease_ms);
    sq_args_add(&a, info_json != NULL ? info_json : "{}");
    sq_args_addll(&a, ttl_ms);
    sq_args_addll(&a, (long long)n);
    for (size_t i = 0; i < n; i++) {
        sq_args_add(&a, ids[i]);
        sq_args_add(&a, tokens[i]);
    }
    rc = sq_script_call(c, SQ_SCRIPT_EXTEND, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "extend: unexpected reply");
    }
    if (lost != NULL) {
        *lost = string_array(r->element[0]);
    }
    if (control != NULL) {
        *control = string_array(r->element[1]);
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

int
sq_broker_progress(syncq_client *c, const char *id, const char *token,
                   bool inc, int64_t current, int64_t total,
                   const char *message, int *status_out, int64_t *current_out,
                   syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    int rc;
    char tok[32];

    if (status_out != NULL) {
        *status_out = 0;
    }
    if (token == NULL) {
        /* Unfenced local run: use the record's current token, if any. */
        redisReply *t = NULL;
        char key[256];
        rc = sq_client_cmd(c, &t, err, "HGET %s lease",
                           sq_key(c, key, sizeof key, "t:%s", id));
        if (rc != SYNCQ_OK) {
            return rc;
        }
        snprintf(tok, sizeof tok, "%s",
                 t->type == REDIS_REPLY_STRING ? t->str : "");
        freeReplyObject(t);
        token = tok;
    }
    sq_args_init(&a);
    sq_args_add(&a, id);
    sq_args_add(&a, token);
    sq_args_add(&a, inc ? "inc" : "set");
    sq_args_addll(&a, current);
    sq_args_addll(&a, total);
    sq_args_add(&a, message != NULL ? message : "");
    rc = sq_script_call(c, SQ_SCRIPT_PROGRESS, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        const char *s = r->element[0]->str;
        if (status_out != NULL) {
            *status_out = !strcmp(s, "ok") ? 0 : !strcmp(s, "stale") ? 1 : 2;
        }
        if (current_out != NULL) {
            *current_out = r->element[1]->integer;
        }
    } else {
        rc = sq_fail(err, SYNCQ_EPROTO, "progress: unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

int
sq_broker_promote(syncq_client *c, int max_promote, int max_requeue,
                  int64_t *promoted, int64_t *requeued, int64_t *next_eta_ms,
                  syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    int rc;

    sq_args_init(&a);
    sq_args_addll(&a, max_promote);
    sq_args_addll(&a, max_requeue);
    rc = sq_script_call(c, SQ_SCRIPT_PROMOTE, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "promote: unexpected reply");
    }
    if (promoted != NULL) {
        *promoted = r->element[0]->integer;
    }
    if (requeued != NULL) {
        *requeued = r->element[1]->integer;
    }
    if (next_eta_ms != NULL) {
        *next_eta_ms = r->element[2]->integer;
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

int
sq_broker_poison(syncq_client *c, const char *queue, const char *raw,
                 size_t raw_len, const char *reason,
                 char id_out[SYNCQ_ID_SIZE], syncq_error *err)
{
    struct sq_args a;
    redisReply *r = NULL;
    char id[SYNCQ_ID_SIZE];
    int rc;

    sq_uuid_new(id);
    sq_args_init(&a);
    sq_args_add(&a, id);
    sq_args_add(&a, queue);
    sq_args_addn(&a, raw, raw_len > 65536 ? 65536 : raw_len);
    sq_args_add(&a, reason);
    rc = sq_script_call(c, SQ_SCRIPT_POISON, &a, &r, err);
    sq_args_cleanup(&a);
    freeReplyObject(r);
    if (rc == SYNCQ_OK && id_out != NULL) {
        memcpy(id_out, id, SYNCQ_ID_SIZE);
    }
    return rc;
}
