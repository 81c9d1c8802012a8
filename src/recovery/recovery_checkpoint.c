/* SPDX-License-Identifier: MIT
 *
 * recovery_checkpoint.c: checkpoints of a task in Redis, each with its
 * SHA-256, size, step and time. Entries live newest first in the list
 * {ns}:cp:<id> as envelopes "SQCP1 <seq> <at_ms> <size> <sha256>\n<data>"
 * written by lua/checkpoint_save.lua (fenced by the lease token); a load
 * verifies every candidate and never hands a corrupt one to a task: it is
 * moved to {ns}:cpbad:<id> (lua/checkpoint_bad.lua), logged and counted,
 * and the previous good entry is used.
 *
 * Relies on the broker's connection and script runner and on OpenSSL
 * (EVP) for SHA-256. Never trusts bytes read from Redis: the
 * envelope parser checks every field and length.
 */
#include "recovery/recovery.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <errno.h>
#include <openssl/evp.h>
#include "sq_lazy_crypto.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/recovery.h>

#define MAGIC "SQCP1 "
#define MAGIC_LEN 6
#define HEADER_MAX 160 /* longest header accepted, newline included */

/* A decimal integer of 1..19 digits ending at `stop`; advances *pp. */
static bool
read_num(const char **pp, const char *end, char stop, long long *out)
{
    const char *p = *pp;
    long long v = 0;
    int digits = 0;

    /* the overflow check runs before every digit: the header comes from
     * Redis and may be anything */
    while (p < end && *p >= '0' && *p <= '9') {
        if (v > (9223372036854775807LL - (*p - '0')) / 10) {
            return false;
        }
        v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || p >= end || *p != stop) {
        return false;
    }
    *pp = p + 1;
    *out = v;
    return true;
}

bool
sq_checkpoint_digest(int64_t seq, const void *data, size_t len,
                     char out[65])
{
    static const char hex[] = "0123456789abcdef";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char num[24];
    int k = snprintf(num, sizeof num, "%lld\n", (long long)seq);
    bool ok;

    ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, num, (size_t)k) == 1 &&
         (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1) &&
         EVP_DigestFinal_ex(ctx, d, &n) == 1 && n == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        memset(out, '0', 64);
        out[64] = '\0';
        return false;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
    return true;
}

void
sq_checkpoint_parse(const void *buf, size_t len,
                    struct sq_checkpoint_entry *out)
{
    const char *s = buf;
    const char *end, *p;
    long long seq, at, size;
    char sha[65];

    memset(out, 0, sizeof *out);
    out->why = "malformed header";
    if (buf == NULL || len < MAGIC_LEN || memcmp(s, MAGIC, MAGIC_LEN) != 0) {
        out->why = "not a checkpoint envelope";
        return;
    }
    end = s + (len < HEADER_MAX ? len : HEADER_MAX);
    p = s + MAGIC_LEN;
    if (!read_num(&p, end, ' ', &seq)) {
        return;
    }
    out->seq = seq;
    if (!read_num(&p, end, ' ', &at)) {
        return;
    }
    out->at_ms = at;
    if (!read_num(&p, end, ' ', &size)) {
        return;
    }
    out->size = (size_t)size;
    if (end - p < 65 || p[64] != '\n') {
        return;
    }
    for (int i = 0; i < 64; i++) {
        char ch = p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return;
        }
    }
    memcpy(out->sha256, p, 64);
    out->sha256[64] = '\0';
    p += 65;
    out->data = (const unsigned char *)p;
    out->data_len = len - (size_t)(p - s);
    if (out->data_len != out->size) {
        out->why = out->data_len < out->size ? "truncated" : "size mismatch";
        return;
    }
    if (!sq_checkpoint_digest(out->seq, out->data, out->data_len, sha)) {
        out->why = "checksum could not be computed (out of memory)";
        out->digest_failed = true;
        return;
    }
    if (memcmp(sha, out->sha256, 64) != 0) {
        out->why = "checksum mismatch";
        return;
    }
    out->ok = true;
    out->why = NULL;
}

static int
check_task_id(const char *id, syncq_error *err)
{
    if (id == NULL || id[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "task id is empty");
    }
    if (strlen(id) > 64) {
        return sq_fail(err, SYNCQ_EINVAL, "task id is over 64 bytes");
    }
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "task id contains a space or control character");
        }
    }
    return SYNCQ_OK;
}

int
sq_checkpoint_save(syncq_client *c, const char *task_id, const char *token,
                   const void *data, size_t len, int64_t seq,
                   syncq_error *err)
{
    const syncq_config *cfg = syncq_client_config(c);
    int64_t max = syncq_config_int(cfg, "SYNCQ_CHECKPOINT_MAX");
    int64_t hist = syncq_config_int(cfg, "SYNCQ_CHECKPOINT_HISTORY");
    int64_t ttl = syncq_config_ms(cfg, "SYNCQ_CHECKPOINT_TTL");
    char sha[65];
    struct sq_args a;
    redisReply *r = NULL;
    int rc;

    rc = check_task_id(task_id, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (seq < 0) {
        return sq_fail(err, SYNCQ_EINVAL, "checkpoint seq %lld is negative",
                       (long long)seq);
    }
    if (data == NULL && len > 0) {
        return sq_fail(err, SYNCQ_EINVAL, "checkpoint data is NULL");
    }
    if (max > 0 && (uint64_t)len > (uint64_t)max) {
        return sq_fail(err, SYNCQ_ETOOBIG,
                       "checkpoint of task %s is %zu bytes, limit %lld "
                       "(SYNCQ_CHECKPOINT_MAX)",
                       task_id, len, (long long)max);
    }
    if (hist < 1) {
        hist = 3;
    }
    if (ttl <= 0) {
        ttl = 7LL * 86400000;
    }
    if (!sq_checkpoint_digest(seq, data, len, sha)) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory computing the "
                       "checksum of a checkpoint");
    }
    sq_args_init(&a);
    sq_args_add(&a, task_id);
    sq_args_add(&a, token != NULL ? token : "");
    sq_args_addll(&a, (long long)seq);
    sq_args_add(&a, sha);
    sq_args_addll(&a, (long long)hist);
    sq_args_addll(&a, (long long)ttl);
    sq_args_addn(&a, data != NULL ? data : "", len);
    rc = sq_script_call(c, SQ_SCRIPT_CHECKPOINT_SAVE, &a, &r, err);
    sq_args_cleanup(&a);
    if (rc != SYNCQ_OK) {
        sq_error_prefix(err, "checkpoint save");
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        rc = sq_fail(err, SYNCQ_EPROTO, "checkpoint save: unexpected reply");
    } else if (strcmp(r->element[0]->str, "ok") != 0) {
        rc = sq_fail(err, SYNCQ_ELEASE,
                     "checkpoint of task %s not saved: lease token %s is "
                     "stale (the lease was lost or the task ended)",
                     task_id, token != NULL ? token : "");
    }
    freeReplyObject(r);
    return rc;
}

/* Move a corrupt entry out of the history; log and count it. */
static void
quarantine(syncq_client *c, const char *task_id, const redisReply *e,
           const struct sq_checkpoint_entry *ent)
{
    const syncq_config *cfg = syncq_client_config(c);
    struct sq_args a;
    redisReply *r = NULL;
    syncq_error err;
    char seqbuf[24];

    if (ent->data != NULL || ent->seq != 0) {
        snprintf(seqbuf, sizeof seqbuf, "%lld", (long long)ent->seq);
    } else {
        snprintf(seqbuf, sizeof seqbuf, "?");
    }
    SQ_WARN("checkpoint.corrupt", "task=%s seq=%s reason=\"%s\" size=%zu",
            task_id, seqbuf, ent->why ? ent->why : "?", (size_t)e->len);
    sq_args_init(&a);
    sq_args_add(&a, task_id);
    sq_args_addn(&a, e->str, e->len);
    sq_args_addll(&a, (long long)syncq_config_ms(cfg, "SYNCQ_CHECKPOINT_TTL"));
    sq_args_add(&a, seqbuf);
    sq_args_add(&a, ent->why ? ent->why : "?");
    if (sq_script_call(c, SQ_SCRIPT_CHECKPOINT_BAD, &a, &r, &err) ==
        SYNCQ_OK) {
        freeReplyObject(r);
    } else {
        /* Best effort: the entry stays and is skipped again next time. */
        SQ_WARN("checkpoint.quarantine_failed", "task=%s err=\"%s\"",
                task_id, err.msg);
    }
    sq_args_cleanup(&a);
}

int
sq_checkpoint_load(syncq_client *c, const char *task_id, void **data,
                   size_t *len, int64_t *seq, syncq_error *err)
{
    char key[256];
    redisReply *r = NULL;
    int rc;
    size_t bad = 0;

    *data = NULL;
    *len = 0;
    if (seq != NULL) {
        *seq = -1;
    }
    rc = check_task_id(task_id, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_key(c, key, sizeof key, "cp:%s", task_id);
    rc = sq_client_cmd(c, &r, err, "LRANGE %s 0 -1", key);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "checkpoints of task %s: %s is "
                       "not a list", task_id, key);
    }
    rc = SYNCQ_ENOTFOUND;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        struct sq_checkpoint_entry ent;
        if (e->type != REDIS_REPLY_STRING) {
            continue;
        }
        sq_checkpoint_parse(e->str, e->len, &ent);
        if (ent.digest_failed) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory verifying a "
                         "checkpoint of task %s", task_id);
            break;
        }
        if (!ent.ok) {
            quarantine(c, task_id, e, &ent);
            bad++;
            continue;
        }
        *data = sq_malloc(ent.data_len > 0 ? ent.data_len : 1);
        if (*data == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory loading a "
                         "checkpoint of %zu bytes", ent.data_len);
            break;
        }
        memcpy(*data, ent.data, ent.data_len);
        *len = ent.data_len;
        if (seq != NULL) {
            *seq = ent.seq;
        }
        if (bad > 0) {
            SQ_WARN("checkpoint.fallback", "task=%s seq=%lld skipped=%zu",
                    task_id, (long long)ent.seq, bad);
        }
        rc = SYNCQ_OK;
        break;
    }
    freeReplyObject(r);
    if (rc == SYNCQ_ENOTFOUND) {
        if (bad > 0) {
            rc = sq_fail(err, SYNCQ_ENOTFOUND,
                         "task %s has no good checkpoint (%zu corrupt "
                         "skipped): start from zero",
                         task_id, bad);
        } else {
            rc = sq_fail(err, SYNCQ_ENOTFOUND, "task %s has no checkpoint",
                         task_id);
        }
    }
    return rc;
}

int
sq_checkpoint_delete(syncq_client *c, const char *task_id, syncq_error *err)
{
    char k1[256], k2[256];
    redisReply *r = NULL;
    int rc = check_task_id(task_id, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_key(c, k1, sizeof k1, "cp:%s", task_id);
    sq_key(c, k2, sizeof k2, "cpbad:%s", task_id);
    rc = sq_client_cmd(c, &r, err, "DEL %s %s", k1, k2);
    if (rc == SYNCQ_OK) {
        freeReplyObject(r);
    }
    return rc;
}

/* ---- inspection and cleanup (syncq/recovery.h) ----------------------- */

/* Append the entries of list `key` to `arr`. */
static int
list_entries(syncq_client *c, const char *key, bool quarantined, json_t *arr,
             syncq_error *err)
{
    redisReply *r = NULL;
    int rc = sq_client_cmd(c, &r, err, "LRANGE %s 0 -1", key);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        struct sq_checkpoint_entry ent;
        char at[40];
        json_t *o;
        if (e->type != REDIS_REPLY_STRING) {
            continue;
        }
        sq_checkpoint_parse(e->str, e->len, &ent);
        o = json_pack("{s:I, s:I, s:I, s:s, s:b, s:b}", "seq",
                      (json_int_t)ent.seq, "size", (json_int_t)ent.data_len,
                      "at_ms", (json_int_t)ent.at_ms, "sha256", ent.sha256,
                      "ok", ent.ok, "quarantined", quarantined);
        if (o == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory listing "
                         "checkpoints");
            break;
        }
        if (ent.at_ms > 0) {
            json_object_set_new(o, "at", json_string(sq_time_format_iso8601_ms(
                                             ent.at_ms, at, sizeof at)));
        }
        if (!ent.ok) {
            json_object_set_new(o, "problem", json_string(ent.why));
        }
        if (json_array_append_new(arr, o) != 0) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory listing "
                         "checkpoints");
            break;
        }
    }
    freeReplyObject(r);
    return rc;
}

int
syncq_checkpoint_list(syncq_client *c, const char *id, json_t **out,
                      syncq_error *err)
{
    char k1[256], k2[256];
    json_t *arr;
    int rc;

    *out = NULL;
    rc = check_task_id(id, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    arr = json_array();
    if (arr == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory listing "
                       "checkpoints");
    }
    sq_key(c, k1, sizeof k1, "cp:%s", id);
    sq_key(c, k2, sizeof k2, "cpbad:%s", id);
    rc = list_entries(c, k1, false, arr, err);
    if (rc == SYNCQ_OK) {
        rc = list_entries(c, k2, true, arr, err);
    }
    if (rc != SYNCQ_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return SYNCQ_OK;
}

/* Redis server time in ms (the clock every stored time comes from). */
static int
redis_now_ms(syncq_client *c, int64_t *now, syncq_error *err)
{
    redisReply *r = NULL;
    int rc = sq_client_cmd(c, &r, err, "TIME");

    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return sq_fail(err, SYNCQ_EPROTO, "TIME: unexpected reply");
    }
    *now = strtoll(r->element[0]->str, NULL, 10) * 1000 +
           strtoll(r->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(r);
    return SYNCQ_OK;
}

/* Newest save time among the readable headers of list `key`, or -1. */
static int
newest_at(syncq_client *c, const char *key, int64_t *at, syncq_error *err)
{
    redisReply *r = NULL;
    int rc;

    *at = -1;
    /* The list is short (history + 10 at most) and newest first; read it
     * whole: a damaged head must not hide a younger readable entry. */
    rc = sq_client_cmd(c, &r, err, "LRANGE %s 0 -1", key);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        struct sq_checkpoint_entry ent;
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            continue;
        }
        sq_checkpoint_parse(r->element[i]->str, r->element[i]->len, &ent);
        if (ent.at_ms > *at) {
            *at = ent.at_ms;
        }
    }
    freeReplyObject(r);
    return SYNCQ_OK;
}

/* Copy `s` into `out` with Redis glob metacharacters escaped. */
static void
glob_escape(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    for (; *s != '\0' && n + 2 < cap; s++) {
        if (strchr("*?[]\\", *s) != NULL) {
            out[n++] = '\\';
        }
        out[n++] = *s;
    }
    out[n] = '\0';
}

/* Should the checkpoints under `key` (task `id`) go? */
static int
cleanup_one(syncq_client *c, const char *key, const char *id, int64_t cutoff,
            bool *gone, syncq_error *err)
{
    char tk[256];
    redisReply *r = NULL;
    int64_t at;
    bool remove;
    int rc;

    *gone = false;
    sq_key(c, tk, sizeof tk, "t:%s", id);
    rc = sq_client_cmd(c, &r, err, "HGET %s state", tk);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    remove = r->type == REDIS_REPLY_STRING &&
             (strcmp(r->str, "SUCCESS") == 0 ||
              strcmp(r->str, "SKIPPED") == 0);
    freeReplyObject(r);
    if (!remove) {
        rc = newest_at(c, key, &at, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        remove = at < cutoff; /* unreadable everywhere (-1) counts old */
    }
    if (remove) {
        char bad[256];
        /* the quarantine list goes with its history */
        sq_key(c, bad, sizeof bad, "cpbad:%s", id);
        rc = sq_client_cmd(c, &r, err, "DEL %s %s", key, bad);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        *gone = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
        freeReplyObject(r);
    }
    return SYNCQ_OK;
}

int
syncq_checkpoint_cleanup(syncq_client *c, int64_t older_than_ms,
                         size_t *removed, syncq_error *err)
{
    static const char *const kinds[] = {"cp:", "cpbad:"};
    char esc[160], pattern[200];
    int64_t now = 0;
    size_t count = 0;
    int rc;

    if (removed != NULL) {
        *removed = 0;
    }
    if (older_than_ms < 0) {
        return sq_fail(err, SYNCQ_EINVAL, "older-than must not be negative");
    }
    rc = redis_now_ms(c, &now, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    glob_escape(c->prefix, esc, sizeof esc);
    for (size_t k = 0; k < 2 && rc == SYNCQ_OK; k++) {
        char cursor[32] = "0";
        size_t plen = strlen(c->prefix) + strlen(kinds[k]);
        snprintf(pattern, sizeof pattern, "%s%s*", esc, kinds[k]);
        do {
            redisReply *r = NULL;
            rc = sq_client_cmd(c, &r, err, "SCAN %s MATCH %s COUNT 500",
                               cursor, pattern);
            if (rc != SYNCQ_OK) {
                break;
            }
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                r->element[0]->type != REDIS_REPLY_STRING) {
                freeReplyObject(r);
                rc = sq_fail(err, SYNCQ_EPROTO, "SCAN: unexpected reply");
                break;
            }
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            for (size_t i = 0; i < r->element[1]->elements; i++) {
                const redisReply *key = r->element[1]->element[i];
                bool gone = false;
                if (key->type != REDIS_REPLY_STRING || key->len <= plen) {
                    continue;
                }
                rc = cleanup_one(c, key->str, key->str + plen,
                                 now - older_than_ms, &gone, err);
                if (rc != SYNCQ_OK) {
                    break;
                }
                if (gone) {
                    count++; /* second pass: quarantine lists left alone */
                }
            }
            freeReplyObject(r);
        } while (rc == SYNCQ_OK && strcmp(cursor, "0") != 0);
    }
    if (removed != NULL) {
        *removed = count;
    }
    if (count > 0) {
        SQ_INFO("checkpoint.cleanup", "removed=%zu older_than_ms=%lld", count,
                (long long)older_than_ms);
    }
    return rc;
}
