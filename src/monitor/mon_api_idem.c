/* SPDX-License-Identifier: MIT
 *
 * mon_api_idem.c: the Idempotency-Key header of the create endpoints. A
 * request with a key claims {ns}:idem:<sha256 of the key> (SET NX) before
 * it creates anything and stores its reply there afterwards, so a
 * retried request gets the first request's reply (the same task id) and
 * never makes a second task, whichever monitor server it reaches. The
 * entry also holds a hash of the method, path and body: the same key with
 * another request is refused (422).
 *
 * The key maps to the task ids before anything is created: the claim
 * holds a random seed, and the ids of the request's tasks (one, or each
 * of a bulk create, unless the body gives its own task_id) are derived
 * from it. A create whose reply is lost (Redis ran it, the connection
 * dropped; or this server died before storing the reply) therefore
 * cannot be made twice: the retry finds the claim, derives the same ids,
 * and the library answers an existing id as a duplicate, never a second
 * task (enqueue.lua is fenced by the id). The server checks whether the
 * first id exists before it replies an error, and answers 201 when it
 * does. Such a claim lives for SYNCQ_API_IDEMPOTENCY_TTL. A refused
 * request (4xx: nothing was written) releases its claim. A batch create
 * gets its batch id from the seed the same way (its chunk ids derive from
 * the batch id, syncq/batch.h), and the create of a batch id that exists
 * answers that batch: a batch whose reply was lost is made once too.
 * Other writes (none yet) would have no ids: their claim lapses after
 * CLAIM_MS.
 */
#include "monitor/mon_api_http.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_hash.h"
#include "sq_id.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#define KEY_MAX 200      /* bytes of an Idempotency-Key */
#define CLAIM_MS 120000  /* a claim outlives a crashed request this long */

/* The Redis key and the request hash; false when there is no header. */
static bool
idem_keys(struct sq_api_server *S, const struct sq_api_req *q, char *key,
          size_t cap, char rhash[65])
{
    const char *k = sq_api_header(q, "Idempotency-Key");
    char kh[65];
    char *all;

    if (k == NULL) {
        return false;
    }
    sq_sha256_hex(k, strlen(k), kh);
    sq_key(S->c, key, cap, "idem:%s", kh);
    all = sq_asprintf("%s %s\n", q->method, q->rt->def->path);
    if (all == NULL) {
        memset(rhash, '0', 64);
        rhash[64] = '\0';
        return true;
    }
    {
        size_t hl = strlen(all);
        char *buf = sq_malloc(hl + q->body_len + 1);
        if (buf != NULL) {
            memcpy(buf, all, hl);
            if (q->body_len > 0) {
                memcpy(buf + hl, q->body, q->body_len);
            }
            sq_sha256_hex(buf, hl + q->body_len, rhash);
            sq_free(buf);
        } else {
            sq_sha256_hex(all, hl, rhash);
        }
    }
    sq_free(all);
    return true;
}

/* Routes whose tasks (or batch) get their ids from the claim's seed. */
static bool
seeded(const struct sq_api_req *q)
{
    return q->rt->kind == SQ_R_TASK_CREATE ||
           q->rt->kind == SQ_R_TASKS_BULK ||
           q->rt->kind == SQ_R_BATCH_CREATE;
}

/* The i-th task id of a claim (a retry derives the same). */
static void
derive_id(const char *seed, size_t i, char out[SYNCQ_ID_SIZE])
{
    sq_uuid_derive(seed, i, out);
}

/* Give the request's tasks the claim's ids; the count given (0 when the
 * body names ids of its own: they are the caller's fence then). */
static size_t
give_ids(const struct sq_api_req *q, json_t *body, const char *seed)
{
    char id[SYNCQ_ID_SIZE];
    json_t *list, *t;
    size_t i;

    if (q->rt->kind == SQ_R_TASK_CREATE ||
        q->rt->kind == SQ_R_BATCH_CREATE) {
        const char *k = q->rt->kind == SQ_R_TASK_CREATE ? "task_id"
                                                        : "batch_id";
        if (!json_is_object(body) || json_object_get(body, k)) {
            return 0;
        }
        derive_id(seed, 0, id);
        json_object_set_new(body, k, json_string(id));
        return 1;
    }
    list = json_object_get(body, "tasks");
    json_array_foreach(list, i, t) {
        if (!json_is_object(t) || json_object_get(t, "task_id") != NULL) {
            return 0;
        }
    }
    json_array_foreach(list, i, t) {
        derive_id(seed, i, id);
        json_object_set_new(t, "task_id", json_string(id));
    }
    return json_array_size(list);
}

bool
sq_api_idem_before(struct sq_api_server *S, const struct sq_api_req *q,
                   json_t *body, struct sq_api_reply *r)
{
    const char *k = sq_api_header(q, "Idempotency-Key");
    char key[256], rhash[65], seed[SYNCQ_ID_SIZE], *claim;
    redisReply *rep = NULL;
    syncq_error e;
    json_t *v;
    int64_t ttl = S->idem_ttl_ms;

    if (k == NULL) {
        return false;
    }
    if (k[0] == '\0' || strlen(k) > KEY_MAX) {
        sq_api_error(r, 400, "EINVAL",
                     "Idempotency-Key must be 1..200 bytes", NULL);
        return true;
    }
    idem_keys(S, q, key, sizeof key, rhash);
    sq_uuid_new(seed);
    claim = sq_asprintf("{\"h\":\"%s\",\"pending\":true,\"seed\":\"%s\"}",
                        rhash, seed);
    if (!seeded(q) && ttl > CLAIM_MS) {
        ttl = CLAIM_MS;
    }
    if (claim == NULL ||
        sq_client_cmd(S->c, &rep, &e, "SET %s %s NX PX %lld", key, claim,
                      (long long)ttl) != SYNCQ_OK) {
        sq_free(claim);
        if (claim == NULL) {
            sq_api_error(r, 500, "ENOMEM", "out of memory", NULL);
        } else {
            sq_api_syncq_error(r, &e);
        }
        return true;
    }
    sq_free(claim);
    if (rep->type == REDIS_REPLY_STATUS) {
        freeReplyObject(rep);
        goto claimed;
    }
    freeReplyObject(rep);
    rep = NULL;
    if (sq_client_cmd(S->c, &rep, &e, "GET %s", key) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return true;
    }
    v = rep->type == REDIS_REPLY_STRING
            ? json_loadb(rep->str, rep->len, 0, NULL)
            : NULL;
    freeReplyObject(rep);
    if (v == NULL) {
        /* expired between the two calls: the client retries */
        sq_api_error(r, 409, "ESTATE", "Idempotency-Key changed hands; "
                                       "retry the request", NULL);
    } else if (strcmp(json_string_value(json_object_get(v, "h")) != NULL
                          ? json_string_value(json_object_get(v, "h"))
                          : "",
                      rhash) != 0) {
        sq_api_error(r, 422, "EINVAL",
                     "Idempotency-Key was used for another request", NULL);
    } else if (json_is_true(json_object_get(v, "pending")) && seeded(q) &&
               sq_uuid_valid(json_string_value(json_object_get(v, "seed")))) {
        /* a retry after a lost reply (or the same request twice at once):
         * the claim's ids make it one task whatever happened before */
        snprintf(seed, sizeof seed, "%s",
                 json_string_value(json_object_get(v, "seed")));
        json_decref(v);
        goto claimed;
    } else if (json_is_true(json_object_get(v, "pending"))) {
        sq_api_error(r, 409, "ESTATE",
                     "a request with this Idempotency-Key is in progress",
                     NULL);
    } else {
        const char *loc = json_string_value(json_object_get(v, "l"));
        sq_api_json(r, (int)json_integer_value(json_object_get(v, "s")),
                    json_object_get(v, "b"));
        if (loc != NULL && strlen(loc) < sizeof r->location) {
            /* the replay answers as the first reply did, headers too */
            snprintf(r->location, sizeof r->location, "%s", loc);
        }
        r->replayed = true;
    }
    json_decref(v);
    return true;
claimed:
    snprintf(r->idem_seed, sizeof r->idem_seed, "%s", seed);
    r->idem_n = seeded(q) ? give_ids(q, body, seed) : 0;
    return false;
}

/* 1 when the claim's first task exists (the create ran), 0 when not, -1
 * when Redis cannot tell. */
static int
created(struct sq_api_server *S, const struct sq_api_req *q,
        const struct sq_api_reply *r)
{
    char id[SYNCQ_ID_SIZE], key[128];
    redisReply *rep = NULL;
    int yes;

    derive_id(r->idem_seed, 0, id);
    if (sq_client_cmd(S->c, &rep, NULL, "EXISTS %s",
                      sq_key(S->c, key, sizeof key,
                             q->rt->kind == SQ_R_BATCH_CREATE ? "b:%s"
                                                              : "t:%s",
                             id)) != SYNCQ_OK) {
        return -1;
    }
    yes = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    return yes;
}

/* The reply of a create that ran (for this request or an earlier try of
 * it): its tasks are the claim's, new to the caller. */
static void
created_reply(const struct sq_api_req *q, struct sq_api_reply *r)
{
    char id[SYNCQ_ID_SIZE];
    json_t *out;

    if (q->rt->kind == SQ_R_TASK_CREATE) {
        derive_id(r->idem_seed, 0, id);
        out = json_pack("{s:s,s:b}", "id", id, "duplicate", 0);
        snprintf(r->location, sizeof r->location, "/api/tasks/%s", id);
    } else {
        json_t *ids = json_array();
        for (size_t i = 0; i < r->idem_n; i++) {
            derive_id(r->idem_seed, i, id);
            json_array_append_new(ids, json_string(id));
        }
        out = json_pack("{s:o}", "ids", ids);
    }
    sq_api_json(r, 201, out);
    json_decref(out);
}

/* A single create answered "duplicate" for the claim's own id: an
 * earlier try of this request made it. */
static bool
own_duplicate(const struct sq_api_req *q, const struct sq_api_reply *r)
{
    const char *k = q->rt->kind == SQ_R_BATCH_CREATE ? "batch_id" : "id";
    char id[SYNCQ_ID_SIZE];
    json_t *b;
    bool own;

    if ((q->rt->kind != SQ_R_TASK_CREATE &&
         q->rt->kind != SQ_R_BATCH_CREATE) ||
        r->idem_n == 0 || r->status != 201) {
        return false;
    }
    derive_id(r->idem_seed, 0, id);
    b = json_loadb(r->body, r->len, 0, NULL);
    own = json_is_true(json_object_get(b, "duplicate")) &&
          strcmp(json_string_value(json_object_get(b, k)) != NULL
                     ? json_string_value(json_object_get(b, k))
                     : "",
                 id) == 0;
    json_decref(b);
    return own;
}

/* A batch an earlier try of this request made: the same reply as that
 * try's, "duplicate" false (the caller's request made it). */
static void
own_batch_reply(struct sq_api_reply *r)
{
    json_t *b = json_loadb(r->body, r->len, 0, NULL);

    if (b != NULL) {
        json_object_set_new(b, "duplicate", json_false());
        sq_api_json(r, 201, b);
        json_decref(b);
    }
}

void
sq_api_idem_after(struct sq_api_server *S, const struct sq_api_req *q,
                  struct sq_api_reply *r)
{
    char key[256], rhash[65];
    redisReply *rep = NULL;
    json_t *body, *v;
    char *text;

    if (r->replayed || S->c == NULL ||
        !idem_keys(S, q, key, sizeof key, rhash)) {
        return;
    }
    if (r->status >= 300 && r->idem_n > 0) {
        /* the create may have run before the error (a lost reply) */
        int ran = created(S, q, r);
        if (ran == 1 && q->rt->kind != SQ_R_BATCH_CREATE) {
            created_reply(q, r);
        } else if (ran != 0 || r->status >= 500) {
            /* unknown, or a batch that exists (its reply needs its chunk
             * ids): the claim stays, a retry gets the same batch id and
             * its answer */
            return;
        }
    }
    if (r->status >= 300) {
        /* refused: release the claim so nothing stays written */
        if (sq_client_cmd(S->c, &rep, NULL, "DEL %s", key) == SYNCQ_OK) {
            freeReplyObject(rep);
        }
        return;
    }
    if (own_duplicate(q, r)) {
        if (q->rt->kind == SQ_R_BATCH_CREATE) {
            own_batch_reply(r);
        } else {
            created_reply(q, r);
        }
    }
    body = json_loadb(r->body, r->len, 0, NULL);
    v = json_pack("{s:s,s:i,s:o*}", "h", rhash, "s", r->status, "b", body);
    if (v != NULL && r->location[0] != '\0') {
        json_object_set_new(v, "l", json_string(r->location));
    }
    text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
    if (text != NULL &&
        sq_client_cmd(S->c, &rep, NULL, "SET %s %s PX %lld", key, text,
                      (long long)S->idem_ttl_ms) == SYNCQ_OK) {
        freeReplyObject(rep);
    }
    sq_free(text);
    json_decref(v);
}
