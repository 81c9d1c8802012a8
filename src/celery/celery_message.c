/* SPDX-License-Identifier: MIT
 *
 * celery_message.c: decode and encode Celery protocol 2 messages in
 * kombu's Redis envelope (celery_message.h; docs/celery-wire.md section
 * 2). jansson parses, OpenSSL's EVP base64 does the body. Every field is
 * checked before use; bad input gets a reason, never a crash.
 */
#include "celery/celery_message.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_hash.h"
#include "sq_id.h"
#include "core/sq_time.h"

#include <openssl/evp.h>
#include "sq_lazy_crypto.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const reject_names[] = {
    "ok",           "too_big",  "not_json", "bad_envelope", "serializer",
    "bad_encoding", "bad_base64", "body_not_json", "bad_body", "bad_header",
};

const char *
sq_celery_reject_name(enum sq_celery_reject r)
{
    if ((size_t)r >= sizeof reject_names / sizeof reject_names[0]) {
        return "bad_envelope";
    }
    return reject_names[r];
}

unsigned char *
sq_celery_unbase64(const char *s, size_t n, size_t *out_len)
{
    unsigned char *buf;
    int got;
    size_t pad = 0;

    /* EVP_DecodeBlock skips surrounding blanks; Celery never sends them,
     * and a length that is not a multiple of 4 is never valid. */
    if (n == 0 || n % 4 != 0 || n > SQ_CELERY_MAX_MESSAGE ||
        isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1])) {
        return NULL;
    }
    buf = sq_malloc(n / 4 * 3 + 1);
    if (buf == NULL) {
        return NULL;
    }
    got = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
    if (got < 0) {
        sq_free(buf);
        return NULL;
    }
    if (s[n - 1] == '=') {
        pad++;
        if (s[n - 2] == '=') {
            pad++;
        }
    }
    if ((size_t)got < pad) {
        sq_free(buf);
        return NULL;
    }
    *out_len = (size_t)got - pad;
    buf[*out_len] = '\0';
    return buf;
}

char *
sq_celery_base64(const char *text, size_t len)
{
    char *out;

    if (len > SQ_CELERY_MAX_MESSAGE) {
        return NULL;
    }
    out = sq_malloc((len + 2) / 3 * 4 + 1);
    if (out == NULL) {
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text,
                    (int)len);
    return out;
}

/* ---- decoding --------------------------------------------------------- */

static enum sq_celery_reject
reject(struct sq_celery_msg *m, enum sq_celery_reject r, const char *what)
{
    snprintf(m->detail, sizeof m->detail, "%s", what);
    return r;
}

/* A string member or NULL (JSON null or absent); false for other types. */
static bool
opt_string(json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (!json_is_string(v)) {
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* An ISO-8601 time header (eta, expires), null/absent -> 0. */
static bool
opt_time(json_t *headers, const char *key, int64_t *out)
{
    const char *s;

    *out = 0;
    if (!opt_string(headers, key, &s)) {
        return false;
    }
    if (s == NULL) {
        return true;
    }
    if (sq_time_parse_iso8601(s, out, NULL) != SYNCQ_OK || *out <= 0) {
        return false;
    }
    return true;
}

/* A time limit in seconds (number or null) -> ms, 0 for null. */
static bool
limit_ms(json_t *v, int64_t *out)
{
    double s;

    *out = 0;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (!json_is_number(v)) {
        return false;
    }
    s = json_number_value(v);
    if (!(s >= 0 && s <= 30.0 * 86400)) {
        return false;
    }
    *out = (int64_t)(s * 1000);
    return true;
}

static enum sq_celery_reject
read_headers(struct sq_celery_msg *m, json_t *h)
{
    json_t *v;

    if (!opt_string(h, "task", &m->task) || m->task == NULL ||
        m->task[0] == '\0') {
        return reject(m, SQ_CELERY_BAD_ENVELOPE, "headers.task missing "
                      "(a protocol 1 message, or not Celery's)");
    }
    if (!opt_string(h, "id", &m->id) || m->id == NULL || m->id[0] == '\0' ||
        strlen(m->id) > 200) {
        m->id = NULL;
        return reject(m, SQ_CELERY_BAD_ENVELOPE,
                      "headers.id missing or over 200 bytes");
    }
    if (!opt_string(h, "root_id", &m->root_id) ||
        !opt_string(h, "parent_id", &m->parent_id) ||
        !opt_string(h, "group", &m->group)) {
        return reject(m, SQ_CELERY_BAD_HEADER,
                      "root_id, parent_id or group is not a string");
    }
    if (!opt_time(h, "eta", &m->eta_ms)) {
        return reject(m, SQ_CELERY_BAD_HEADER, "eta is not an ISO-8601 time");
    }
    if (!opt_time(h, "expires", &m->expires_ms)) {
        return reject(m, SQ_CELERY_BAD_HEADER,
                      "expires is not an ISO-8601 time");
    }
    v = json_object_get(h, "retries");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000000) {
            return reject(m, SQ_CELERY_BAD_HEADER,
                          "retries is not an integer 0..1000000");
        }
        m->retries = (int)json_integer_value(v);
    }
    v = json_object_get(h, "timelimit");
    if (v != NULL && !json_is_null(v)) {
        /* [hard, soft] (celery-wire.md: not [soft, hard]) */
        if (!json_is_array(v) || json_array_size(v) != 2 ||
            !limit_ms(json_array_get(v, 0), &m->time_limit_ms) ||
            !limit_ms(json_array_get(v, 1), &m->soft_time_limit_ms)) {
            return reject(m, SQ_CELERY_BAD_HEADER,
                          "timelimit is not [hard, soft] seconds");
        }
    }
    m->ignore_result = json_is_true(json_object_get(h, "ignore_result"));
    m->redelivered = json_is_true(json_object_get(h, "redelivered"));
    return SQ_CELERY_OK;
}

static enum sq_celery_reject
read_properties(struct sq_celery_msg *m, json_t *p)
{
    json_t *di, *pri;

    if (p == NULL) {
        return SQ_CELERY_OK; /* the minimum message has none: no ack tag */
    }
    if (!json_is_object(p)) {
        return reject(m, SQ_CELERY_BAD_ENVELOPE, "properties is not an "
                      "object");
    }
    if (!opt_string(p, "delivery_tag", &m->delivery_tag) ||
        (m->delivery_tag != NULL && strlen(m->delivery_tag) > 200)) {
        m->delivery_tag = NULL;
        return reject(m, SQ_CELERY_BAD_ENVELOPE,
                      "properties.delivery_tag is not a short string");
    }
    di = json_object_get(p, "delivery_info");
    if (json_is_object(di)) {
        const char *ex = NULL;
        if (!opt_string(di, "exchange", &ex) ||
            !opt_string(di, "routing_key", &m->routing_key)) {
            return reject(m, SQ_CELERY_BAD_ENVELOPE,
                          "delivery_info exchange/routing_key not strings");
        }
        if (ex != NULL) {
            m->exchange = ex;
        }
        if (json_is_true(json_object_get(di, "redelivered"))) {
            m->redelivered = true;
        }
    }
    pri = json_object_get(p, "priority");
    if (json_is_integer(pri)) {
        json_int_t v = json_integer_value(pri);
        m->priority = v < 0 ? 0 : v > 9 ? 9 : (int)v; /* kombu clamps */
    }
    return SQ_CELERY_OK;
}

static enum sq_celery_reject
read_body(struct sq_celery_msg *m, json_t *props)
{
    json_t *body = json_object_get(m->env, "body");
    const char *enc = NULL;
    unsigned char *bytes = NULL;
    size_t n = 0;
    json_error_t jerr;
    json_t *embed;

    if (!json_is_string(body)) {
        return reject(m, SQ_CELERY_BAD_ENVELOPE, "body is not a string");
    }
    if (props != NULL && !opt_string(props, "body_encoding", &enc)) {
        return reject(m, SQ_CELERY_BAD_ENCODING, "body_encoding is not a "
                      "string");
    }
    if (enc != NULL && strcmp(enc, "base64") == 0) {
        bytes = sq_celery_unbase64(json_string_value(body),
                                   json_string_length(body), &n);
        if (bytes == NULL) {
            return reject(m, SQ_CELERY_BAD_BASE64,
                          "body is not valid base64");
        }
        m->body = json_loadb((const char *)bytes, n, 0, &jerr);
        sq_free(bytes);
    } else if (enc == NULL) {
        /* kombu leaves a text body as it is when no encoding is named */
        m->body = json_loadb(json_string_value(body),
                             json_string_length(body), 0, &jerr);
    } else {
        snprintf(m->detail, sizeof m->detail, "body_encoding '%.40s' is not "
                 "base64", enc);
        return SQ_CELERY_BAD_ENCODING;
    }
    if (m->body == NULL) {
        snprintf(m->detail, sizeof m->detail, "body is not JSON: %.100s",
                 jerr.text);
        return SQ_CELERY_BODY_NOT_JSON;
    }
    if (!json_is_array(m->body) || json_array_size(m->body) != 3) {
        return reject(m, SQ_CELERY_BAD_BODY, "body is not [args, kwargs, "
                      "embed] (three elements)");
    }
    m->args = json_array_get(m->body, 0);
    m->kwargs = json_array_get(m->body, 1);
    embed = json_array_get(m->body, 2);
    if (!json_is_array(m->args) || !json_is_object(m->kwargs) ||
        !(json_is_object(embed) || json_is_null(embed))) {
        m->args = m->kwargs = NULL;
        return reject(m, SQ_CELERY_BAD_BODY, "body is not [array, object, "
                      "object]");
    }
    m->embed = json_is_object(embed) ? embed : NULL;
    return SQ_CELERY_OK;
}

enum sq_celery_reject
sq_celery_msg_decode(const char *raw, size_t len, struct sq_celery_msg *m)
{
    json_error_t jerr;
    json_t *headers, *props;
    enum sq_celery_reject r;

    memset(m, 0, sizeof *m);
    m->exchange = "";
    if (len > SQ_CELERY_MAX_MESSAGE) {
        return reject(m, SQ_CELERY_TOO_BIG, "message over 16 MiB");
    }
    m->env = json_loadb(raw, len, 0, &jerr);
    if (m->env == NULL) {
        snprintf(m->detail, sizeof m->detail, "not JSON: %.120s", jerr.text);
        return SQ_CELERY_NOT_JSON;
    }
    if (!json_is_object(m->env)) {
        return reject(m, SQ_CELERY_BAD_ENVELOPE, "not a JSON object");
    }
    headers = json_object_get(m->env, "headers");
    if (!json_is_object(headers)) {
        return reject(m, SQ_CELERY_BAD_ENVELOPE, "headers missing");
    }
    r = read_headers(m, headers);
    if (r != SQ_CELERY_OK) {
        return r;
    }
    props = json_object_get(m->env, "properties");
    r = read_properties(m, props);
    if (r != SQ_CELERY_OK) {
        return r;
    }
    if (!opt_string(m->env, "content-type", &m->content_type)) {
        return reject(m, SQ_CELERY_SERIALIZER, "content-type is not a "
                      "string");
    }
    if (m->content_type != NULL &&
        strcmp(m->content_type, "application/json") != 0) {
        snprintf(m->detail, sizeof m->detail, "content-type '%.60s' (only "
                 "application/json is accepted)", m->content_type);
        return SQ_CELERY_SERIALIZER;
    }
    return read_body(m, props);
}

void
sq_celery_msg_cleanup(struct sq_celery_msg *m)
{
    if (m != NULL) {
        json_decref(m->body);
        json_decref(m->env);
        memset(m, 0, sizeof *m);
    }
}

bool
sq_celery_msg_has_chord(const struct sq_celery_msg *m)
{
    json_t *chord = json_object_get(m->embed, "chord");

    return chord != NULL && !json_is_null(chord);
}

json_t *
sq_celery_envelope_body(json_t *env)
{
    json_t *body = json_object_get(env, "body");
    const char *enc = json_string_value(
        json_object_get(json_object_get(env, "properties"), "body_encoding"));
    unsigned char *bytes;
    size_t n = 0;
    json_t *out;

    if (!json_is_string(body)) {
        return NULL;
    }
    if (enc == NULL) {
        return json_loadb(json_string_value(body), json_string_length(body),
                          JSON_DECODE_ANY, NULL);
    }
    if (strcmp(enc, "base64") != 0) {
        return NULL;
    }
    bytes = sq_celery_unbase64(json_string_value(body),
                               json_string_length(body), &n);
    if (bytes == NULL) {
        return NULL;
    }
    out = json_loadb((const char *)bytes, n, JSON_DECODE_ANY, NULL);
    sq_free(bytes);
    return out;
}

/* ---- encoding --------------------------------------------------------- */

const char *
sq_celery_time_format(int64_t ms, bool with_zone, char *buf, size_t cap)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];

    gmtime_r(&sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%06d%s", base, (int)(ms % 1000) * 1000,
             with_zone ? "+00:00" : "");
    return buf;
}

static json_t *
time_or_null(int64_t ms)
{
    char buf[48];

    return ms > 0 ? json_string(sq_celery_time_format(ms, true, buf,
                                                      sizeof buf))
                  : json_null();
}

static json_t *
limit_or_null(int64_t ms)
{
    return ms > 0 ? json_real((double)ms / 1000.0) : json_null();
}

static json_t *
default_embed(void)
{
    return json_pack("{s:n,s:n,s:n,s:n}", "callbacks", "errbacks", "chain",
                     "chord");
}

static int
check_out(const struct sq_celery_out *o, syncq_error *err)
{
    size_t n = o->task != NULL ? strlen(o->task) : 0;

    if (n == 0 || n > 200) {
        return sq_fail(err, SYNCQ_EINVAL, "Celery task name must be 1..200 "
                       "bytes");
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)o->task[i] < 0x20 || o->task[i] == 0x7f) {
            return sq_fail(err, SYNCQ_EINVAL, "Celery task name has a "
                           "control character");
        }
    }
    if (o->id != NULL && (o->id[0] == '\0' || strlen(o->id) > 200)) {
        return sq_fail(err, SYNCQ_EINVAL, "task id must be 1..200 bytes");
    }
    if ((o->args != NULL && !json_is_array(o->args)) ||
        (o->kwargs != NULL && !json_is_object(o->kwargs))) {
        return sq_fail(err, SYNCQ_EINVAL, "args must be a JSON array and "
                       "kwargs a JSON object");
    }
    if (o->priority < 0 || o->priority > 9) {
        return sq_fail(err, SYNCQ_EINVAL, "Celery priority %d out of range "
                       "0..9", o->priority);
    }
    return SYNCQ_OK;
}

/* argsrepr/kwargsrepr are display strings; JSON text serves. */
static json_t *
repr_of(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *r = json_string(s != NULL ? s : "");

    sq_free(s);
    return r;
}

static json_t *
make_headers(const struct sq_celery_out *o, const char *id, json_t *args,
             json_t *kwargs)
{
    return json_pack(
        "{s:s,s:s,s:s,s:n,s:o,s:o,s:n,s:n,s:i,s:[o,o],s:s,s:o,s:o,s:o,s:s,"
        "s:b}",
        "lang", "c", "task", o->task, "id", id, "shadow", "eta",
        time_or_null(o->eta_ms), "expires", time_or_null(o->expires_ms),
        "group", "group_index", "retries", o->retries, "timelimit",
        limit_or_null(o->time_limit_ms), limit_or_null(o->soft_time_limit_ms),
        "root_id", o->root_id != NULL ? o->root_id : id, "parent_id",
        o->parent_id != NULL ? json_string(o->parent_id) : json_null(),
        "argsrepr", repr_of(args), "kwargsrepr", repr_of(kwargs), "origin",
        o->origin != NULL ? o->origin : "syncq", "ignore_result",
        o->ignore_result);
}

int
sq_celery_msg_encode(const struct sq_celery_out *o, char **out,
                     char id_out[201], syncq_error *err)
{
    char id[201], tag[37];
    json_t *args = NULL, *kwargs = NULL, *embed = NULL, *body = NULL;
    json_t *env = NULL;
    char *body_text = NULL, *b64 = NULL;
    int rc;

    *out = NULL;
    rc = check_out(o, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (o->id != NULL) {
        snprintf(id, sizeof id, "%s", o->id);
    } else {
        sq_uuid_new(id);
    }
    sq_uuid_new(tag);
    args = o->args != NULL ? json_incref(o->args) : json_array();
    kwargs = o->kwargs != NULL ? json_incref(o->kwargs) : json_object();
    embed = o->embed != NULL ? json_incref(o->embed) : default_embed();
    body = json_pack("[OOO]", args, kwargs, embed);
    body_text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    b64 = body_text != NULL ? sq_celery_base64(body_text, strlen(body_text))
                            : NULL;
    if (b64 != NULL) {
        env = json_pack(
            "{s:s,s:s,s:s,s:o,s:{s:s,s:s,s:i,s:{s:s,s:s},s:i,s:s,s:s}}",
            "body", b64, "content-encoding", "utf-8", "content-type",
            "application/json", "headers",
            make_headers(o, id, args, kwargs), "properties",
            "correlation_id", id, "reply_to", tag, "delivery_mode", 2,
            "delivery_info", "exchange", "", "routing_key",
            o->queue != NULL ? o->queue : "celery", "priority", o->priority,
            "body_encoding", "base64", "delivery_tag", tag);
    }
    *out = env != NULL ? json_dumps(env, JSON_COMPACT) : NULL;
    rc = *out != NULL ? SYNCQ_OK
                      : sq_fail(err, SYNCQ_ENOMEM, "out of memory encoding a "
                                "Celery message");
    if (rc == SYNCQ_OK && id_out != NULL) {
        snprintf(id_out, 201, "%s", id);
    }
    sq_free(b64);
    sq_free(body_text);
    json_decref(env);
    json_decref(body);
    json_decref(embed);
    json_decref(kwargs);
    json_decref(args);
    return rc;
}

char *
sq_celery_envelope(const char *body_text, json_t *headers,
                   const char *exchange, const char *routing_key)
{
    char tag[37];
    char *b64 = sq_celery_base64(body_text, strlen(body_text));
    json_t *env;
    char *out = NULL;

    if (b64 == NULL) {
        return NULL;
    }
    sq_uuid_new(tag);
    env = json_pack("{s:s,s:s,s:s,s:o,s:{s:i,s:{s:s,s:s},s:i,s:s,s:s}}",
                    "body", b64, "content-encoding", "utf-8", "content-type",
                    "application/json", "headers",
                    headers != NULL ? json_incref(headers) : json_object(),
                    "properties",
                    "delivery_mode", 1, "delivery_info", "exchange", exchange,
                    "routing_key", routing_key, "priority", 0,
                    "body_encoding", "base64", "delivery_tag", tag);
    if (env != NULL) {
        out = json_dumps(env, JSON_COMPACT);
        json_decref(env);
    }
    sq_free(b64);
    return out;
}

/* ---- queues, priorities, ids ------------------------------------------ */

const char *
sq_celery_queue_key(const char *queue, int pri, const int *steps,
                    size_t nsteps, char *buf, size_t cap)
{
    int step = 0;

    pri = pri < 0 ? 0 : pri > 9 ? 9 : pri;
    for (size_t i = 0; i < nsteps; i++) {
        if (steps[i] <= pri) {
            step = steps[i];
        }
    }
    if (step == 0) {
        snprintf(buf, cap, "%s", queue);
    } else {
        snprintf(buf, cap, "%s" SQ_CELERY_SEP "%d", queue, step);
    }
    return buf;
}

int
sq_celery_priority_to_syncq(int celery_pri)
{
    celery_pri = celery_pri < 0 ? 0 : celery_pri > 9 ? 9 : celery_pri;
    return 9 - celery_pri;
}

int
sq_celery_priority_from_syncq(int syncq_pri)
{
    syncq_pri = syncq_pri < 0 ? 0 : syncq_pri > 9 ? 9 : syncq_pri;
    return 9 - syncq_pri;
}

int
sq_celery_steps_parse(const char *csv, int steps[10], size_t *n,
                      syncq_error *err)
{
    const char *p = csv;

    *n = 0;
    while (p != NULL && *p != '\0') {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0') || v < 0 || v > 9 ||
            (*n > 0 && v <= steps[*n - 1]) || (*n == 0 && v != 0) ||
            *n == 10) {
            return sq_fail(err, SYNCQ_EINVAL, "SYNCQ_CELERY_PRIORITY_STEPS "
                           "'%.60s': ascending numbers 0..9 starting at 0",
                           csv);
        }
        steps[(*n)++] = (int)v;
        p = *end == ',' ? end + 1 : end;
    }
    if (*n == 0) {
        return sq_fail(err, SYNCQ_EINVAL, "SYNCQ_CELERY_PRIORITY_STEPS is "
                       "empty");
    }
    return SYNCQ_OK;
}

void
sq_celery_syncq_id(const char *celery_id, char out[37])
{
    char hex[41];

    if (strlen(celery_id) == SQ_UUID_LEN && sq_uuid_valid(celery_id)) {
        for (size_t i = 0; i <= SQ_UUID_LEN; i++) {
            out[i] = (char)tolower((unsigned char)celery_id[i]);
        }
        return;
    }
    /* RFC 9562 name-based layout over SHA-1("celery:" id): version 5,
     * variant 10. Deterministic, so a redelivery maps to the same task.
     * Decoded ids are at most 200 bytes. */
    {
        char name[216];
        int n = snprintf(name, sizeof name, "celery:%.200s", celery_id);
        sq_sha1_hex(name, (size_t)n, hex);
    }
    hex[12] = '5';
    hex[16] = "89ab"[(hex[16] >= 'a' ? hex[16] - 'a' + 10 : hex[16] - '0') &
                     3];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
}
