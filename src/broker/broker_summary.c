/* SPDX-License-Identifier: MIT
 *
 * broker_summary.c: syncq/summary.h, named summaries of task packs in a
 * Redis hash per kind ({ns}:summary:<kind>).
 */
#include "broker/broker.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <stdlib.h>
#include <string.h>
#include <syncq/summary.h>

static int
check_kind(const char *kind, syncq_error *err)
{
    size_t n = kind != NULL ? strlen(kind) : 0;

    if (n == 0 || n > 32 || kind[0] < 'a' || kind[0] > 'z' ||
        strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
        return sq_fail(err, SYNCQ_EINVAL, "summary kind '%.40s': 1..32 of "
                       "a-z 0-9 _, starting with a letter",
                       kind != NULL ? kind : "");
    }
    return SYNCQ_OK;
}

static int
check_key(const char *key, syncq_error *err)
{
    size_t n = key != NULL ? strlen(key) : 0;

    if (n == 0 || n > 128) {
        return sq_fail(err, SYNCQ_EINVAL, "summary key: 1..128 bytes");
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) {
            return sq_fail(err, SYNCQ_EINVAL, "summary key: no control "
                           "characters");
        }
    }
    return SYNCQ_OK;
}

/* The stored text: the object with "published_at"; NULL on ENOMEM. */
static char *
stored_text(const json_t *summary)
{
    json_t *o = json_deep_copy(summary);
    char at[40];
    char *text;

    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "published_at",
                        json_string(sq_time_format_iso8601_ms(
                            sq_now_ms(), at, sizeof at)));
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

/* A new key past the bound: take it back out. */
static int
enforce_bound(syncq_client *c, const char *hkey, const char *key,
              syncq_error *err)
{
    redisReply *r = NULL;
    long long n;
    int rc = sq_client_cmd(c, &r, err, "HLEN %s", hkey);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    n = r->integer;
    freeReplyObject(r);
    if (n <= SYNCQ_SUMMARY_MAX_KEYS) {
        return SYNCQ_OK;
    }
    if (sq_client_cmd(c, &r, err, "HDEL %s %s", hkey, key) == SYNCQ_OK) {
        freeReplyObject(r);
    }
    return sq_fail(err, SYNCQ_ETOOBIG, "summary kind holds %d keys already "
                   "(SYNCQ_SUMMARY_MAX_KEYS)", SYNCQ_SUMMARY_MAX_KEYS);
}

int
syncq_summary_put(syncq_client *c, const char *kind, const char *key,
                  const json_t *summary, syncq_error *err)
{
    char hkey[200], *text;
    redisReply *r = NULL;
    bool added;
    int rc;

    if (check_kind(kind, err) != SYNCQ_OK || check_key(key, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    if (c == NULL || !json_is_object(summary)) {
        return sq_fail(err, SYNCQ_EINVAL, "a summary is a JSON object, "
                       "published through a client");
    }
    text = stored_text(summary);
    if (text == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (strlen(text) > SYNCQ_SUMMARY_MAX_BYTES) {
        rc = sq_fail(err, SYNCQ_ETOOBIG, "summary %s/%s: %zu bytes, over "
                     "%d", kind, key, strlen(text), SYNCQ_SUMMARY_MAX_BYTES);
        free(text);
        return rc;
    }
    sq_key(c, hkey, sizeof hkey, "summary:%s", kind);
    rc = sq_client_cmd(c, &r, err, "HSET %s %s %s", hkey, key, text);
    free(text); /* jansson's allocator */
    if (rc != SYNCQ_OK) {
        return rc;
    }
    added = r->integer == 1;
    freeReplyObject(r);
    return added ? enforce_bound(c, hkey, key, err) : SYNCQ_OK;
}

int
syncq_summary_get(syncq_client *c, const char *kind, json_t **out,
                  syncq_error *err)
{
    char hkey[200];
    redisReply *r = NULL;
    int rc;

    *out = NULL;
    if (check_kind(kind, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    rc = sq_client_cmd(c, &r, err, "HGETALL %s",
                       sq_key(c, hkey, sizeof hkey, "summary:%s", kind));
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *out = json_object();
    for (size_t i = 0; *out != NULL && i + 1 < r->elements; i += 2) {
        json_t *v = json_loadb(r->element[i + 1]->str,
                               r->element[i + 1]->len, 0, NULL);
        if (json_is_object(v) && r->element[i]->str != NULL) {
            json_object_set_new(*out, r->element[i]->str, v);
        } else {
            json_decref(v);
        }
    }
    freeReplyObject(r);
    return *out != NULL ? SYNCQ_OK
                        : sq_fail(err, SYNCQ_ENOMEM, "out of memory");
}

int
syncq_summary_del(syncq_client *c, const char *kind, const char *key,
                  syncq_error *err)
{
    char hkey[200];
    redisReply *r = NULL;
    int rc;

    if (check_kind(kind, err) != SYNCQ_OK || check_key(key, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    rc = sq_client_cmd(c, &r, err, "HDEL %s %s",
                       sq_key(c, hkey, sizeof hkey, "summary:%s", kind), key);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}
