/* SPDX-License-Identifier: MIT
 *
 * mon_api_idem.c: the Idempotency-Key header of the create endpoints. A
 * request with a key claims {ns}:idem:<sha256 of the key> (SET NX with
 * SYNCQ_API_IDEMPOTENCY_TTL) before it creates anything and stores its
 * reply there afterwards, so a retried request gets the first request's
 * reply (the same task id) and never makes a second task, whichever
 * monitor server it reaches. The entry also holds a hash of the method,
 * path and body: the same key with another request is refused (422).
 * A request that fails releases its claim, so it writes nothing; the
 * claim of a server that died mid-request lapses after CLAIM_MS.
 */
#include "monitor/mon_api_http.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_hash.h"

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

bool
sq_api_idem_before(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r)
{
    const char *k = sq_api_header(q, "Idempotency-Key");
    char key[256], rhash[65], *claim;
    redisReply *rep = NULL;
    syncq_error e;
    json_t *v;

    if (k == NULL) {
        return false;
    }
    if (k[0] == '\0' || strlen(k) > KEY_MAX) {
        sq_api_error(r, 400, "EINVAL",
                     "Idempotency-Key must be 1..200 bytes", NULL);
        return true;
    }
    idem_keys(S, q, key, sizeof key, rhash);
    claim = sq_asprintf("{\"h\":\"%s\",\"pending\":true}", rhash);
    if (claim == NULL ||
        sq_client_cmd(S->c, &rep, &e, "SET %s %s NX PX %lld", key, claim,
                      (long long)(S->idem_ttl_ms < CLAIM_MS ? S->idem_ttl_ms
                                                            : CLAIM_MS)) !=
            SYNCQ_OK) {
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
        return false; /* claimed: go on */
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
    } else if (json_is_true(json_object_get(v, "pending"))) {
        sq_api_error(r, 409, "ESTATE",
                     "a request with this Idempotency-Key is in progress",
                     NULL);
    } else {
        sq_api_json(r, (int)json_integer_value(json_object_get(v, "s")),
                    json_object_get(v, "b"));
        r->replayed = true;
    }
    json_decref(v);
    return true;
}

void
sq_api_idem_after(struct sq_api_server *S, const struct sq_api_req *q,
                  const struct sq_api_reply *r)
{
    char key[256], rhash[65];
    redisReply *rep = NULL;
    json_t *body, *v;
    char *text;

    if (r->replayed || S->c == NULL ||
        !idem_keys(S, q, key, sizeof key, rhash)) {
        return;
    }
    if (r->status >= 300) {
        /* refused: release the claim so nothing stays written */
        if (sq_client_cmd(S->c, &rep, NULL, "DEL %s", key) == SYNCQ_OK) {
            freeReplyObject(rep);
        }
        return;
    }
    body = json_loadb(r->body, r->len, 0, NULL);
    v = json_pack("{s:s,s:i,s:o*}", "h", rhash, "s", r->status, "b", body);
    text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
    if (text != NULL &&
        sq_client_cmd(S->c, &rep, NULL, "SET %s %s PX %lld", key, text,
                      (long long)S->idem_ttl_ms) == SYNCQ_OK) {
        freeReplyObject(rep);
    }
    sq_free(text);
    json_decref(v);
}
