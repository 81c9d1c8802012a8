/* SPDX-License-Identifier: MIT
 *
 * ds_util.c: lenient JSON reads, content hashes, image URL keys, time
 * stamps and the progress sink of the data packs (see ds_util.h). Pure
 * functions: no database, no I/O.
 */
#include "db/ds_util.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_hash.h"
#include <syncq/time.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include "sq_lazy_crypto.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parse a whole decimal integer, allowing surrounding blanks. */
static bool
parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s == '\0') {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s) {
        return false;
    }
    while (*end == ' ' || *end == '\t') {
        end++;
    }
    if (*end != '\0') {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

bool
sq_ds_get_i64(const json_t *obj, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL) {
        return false;
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (isfinite(d) && d == floor(d) && d >= -9.2e18 && d <= 9.2e18) {
            *out = (int64_t)d;
            return true;
        }
        return false;
    }
    if (json_is_string(v)) {
        return parse_i64(json_string_value(v), out);
    }
    return false;
}

bool
sq_ds_get_double(const json_t *obj, const char *key, double *out)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL) {
        return false;
    }
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        double d;
        errno = 0;
        d = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(d)) {
            return false;
        }
        *out = d;
        return true;
    }
    return false;
}

bool
sq_ds_get_bool(const json_t *obj, const char *key, bool *out)
{
    const json_t *v = json_object_get(obj, key);
    const char *s;

    if (v == NULL) {
        return false;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v) != 0;
        return true;
    }
    if (!json_is_string(v)) {
        return false;
    }
    s = json_string_value(v);
    if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 ||
        strcasecmp(s, "yes") == 0) {
        *out = true;
        return true;
    }
    if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0 ||
        strcasecmp(s, "no") == 0) {
        *out = false;
        return true;
    }
    return false;
}

const char *
sq_ds_get_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

int
sq_ds_content_hash(const json_t *rec, char out[65], syncq_error *err)
{
    json_t *copy;
    char *text;

    out[0] = '\0';
    copy = json_copy((json_t *)rec); /* shallow: only top-level keys go */
    if (copy == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory hashing a record");
    }
    if (json_is_object(copy)) {
        json_object_del(copy, "fetched_at");
        json_object_del(copy, "raw_sha256");
    }
    text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                JSON_REAL_PRECISION(17));
    json_decref(copy);
    if (text == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory hashing a record");
    }
    sq_sha256_hex(text, strlen(text), out);
    sq_free(text); /* jansson allocates through sq_malloc */
    return SYNCQ_OK;
}

static int
hash_cb(const char *buf, size_t size, void *data)
{
    return EVP_DigestUpdate(data, buf, size) == 1 ? 0 : -1;
}

/* True when `k` can be written between quotes as it is. */
static bool
plain_key(const char *k)
{
    for (; *k != '\0'; k++) {
        if (*k == '"' || *k == '\\' || (unsigned char)*k < 0x20) {
            return false;
        }
    }
    return true;
}

int
sq_ds_canonical_hash(const json_t *rec, char out[65], syncq_error *err)
{
    const size_t flags =
        JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[32];
    unsigned int dlen = 0;
    const char *key;
    json_t *v;
    bool first = true;
    int bad = 0;

    out[0] = '\0';
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory hashing a record");
    }
    if (!json_is_object(rec)) {
        bad |= json_dump_callback(rec, hash_cb, md, flags);
    } else {
        bad |= hash_cb("{", 1, md);
        json_object_foreach((json_t *)rec, key, v)
        {
            if (strcmp(key, "fetched_at") == 0 ||
                strcmp(key, "raw_sha256") == 0) {
                continue;
            }
            if (!first) {
                bad |= hash_cb(",", 1, md);
            }
            first = false;
            if (plain_key(key)) {
                bad |= hash_cb("\"", 1, md);
                bad |= hash_cb(key, strlen(key), md);
                bad |= hash_cb("\":", 2, md);
            } else {
                json_t *k = json_string(key);
                bad |=
                    k == NULL ? -1 : json_dump_callback(k, hash_cb, md, flags);
                json_decref(k);
                bad |= hash_cb(":", 1, md);
            }
            bad |= json_dump_callback(v, hash_cb, md, flags);
        }
        bad |= hash_cb("}", 1, md);
    }
    if (bad != 0 || EVP_DigestFinal_ex(md, digest, &dlen) != 1) {
        EVP_MD_CTX_free(md);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory hashing a record");
    }
    EVP_MD_CTX_free(md);
    for (unsigned i = 0; i < dlen; i++) {
        static const char hex[] = "0123456789abcdef";
        out[i * 2] = hex[digest[i] >> 4];
        out[i * 2 + 1] = hex[digest[i] & 15];
    }
    out[dlen * 2] = '\0';
    return SYNCQ_OK;
}

static bool
is_img_ext(const char *s, size_t n)
{
    static const char *const exts[] = {"jpg", "jpeg", "png", "webp",
                                       "gif", "bmp",  "avif"};

    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        if (strlen(exts[i]) == n && strncasecmp(s, exts[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/* "220x220" or "460x460q100": digits 'x' digits, optional q + digits. */
static bool
is_size_token(const char *s, size_t n)
{
    size_t i = 0;
    size_t d;

    for (d = 0; i < n && isdigit((unsigned char)s[i]); i++, d++) {
    }
    if (d == 0 || i >= n || s[i] != 'x') {
        return false;
    }
    i++;
    for (d = 0; i < n && isdigit((unsigned char)s[i]); i++, d++) {
    }
    if (d == 0) {
        return false;
    }
    if (i < n && s[i] == 'q') {
        i++;
        for (d = 0; i < n && isdigit((unsigned char)s[i]); i++, d++) {
        }
        if (d == 0) {
            return false;
        }
    }
    return i == n;
}

/* Strip a resize suffix from the last path segment seg[0..*len). */
static void
strip_size_suffix(char *seg, size_t *len)
{
    size_t n = *len;
    char *dot = NULL;
    char *prev = NULL;

    /* Taobao form: name.jpg_460x460q100.jpg or name.jpg_.webp */
    for (size_t i = n; i > 0; i--) {
        if (seg[i - 1] == '_') {
            char *u = seg + i - 1;
            char *last_dot = memchr(u, '.', n - (size_t)(u - seg));
            size_t tok = last_dot ? (size_t)(last_dot - (u + 1)) : 0;
            char *ext_start;
            size_t j;
            if (last_dot == NULL ||
                !is_img_ext(last_dot + 1, n - (size_t)(last_dot + 1 - seg)) ||
                (tok != 0 && !is_size_token(u + 1, tok))) {
                break;
            }
            /* The part before '_' must itself end in an image extension. */
            for (j = (size_t)(u - seg); j > 0 && seg[j - 1] != '.'; j--) {
            }
            if (j == 0) {
                break;
            }
            ext_start = seg + j;
            if (!is_img_ext(ext_start, (size_t)(u - ext_start))) {
                break;
            }
            *len = (size_t)(u - seg);
            return;
        }
        if (seg[i - 1] == '/') {
            break;
        }
    }
    /* Dot form: name.220x220.jpg, name.search.jpg, name.summ.jpg */
    for (size_t i = n; i > 0; i--) {
        if (seg[i - 1] == '.') {
            if (dot == NULL) {
                dot = seg + i - 1;
            } else {
                prev = seg + i - 1;
                break;
            }
        }
    }
    if (dot != NULL && prev != NULL &&
        is_img_ext(dot + 1, n - (size_t)(dot + 1 - seg))) {
        size_t tn = (size_t)(dot - prev - 1);
        const char *t = prev + 1;
        if (is_size_token(t, tn) || (tn == 6 && strncmp(t, "search", 6) == 0) ||
            (tn == 4 && strncmp(t, "summ", 4) == 0)) {
            size_t tail = n - (size_t)(dot - seg);
            memmove(prev, dot, tail);
            *len = (size_t)(prev - seg) + tail;
        }
    }
}

int
sq_ds_image_url_key(const char *url, char *out, size_t cap, syncq_error *err)
{
    char buf[4096];
    const char *s = url;
    size_t n;
    char *p;
    char *host;
    char *path;
    char *q;
    size_t hostlen;
    bool alicdn;
    size_t tail_len;
    char tail[4096];
    size_t seglen;
    char *seg;
    int w;

    if (url == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "image URL is missing");
    }
    while (isspace((unsigned char)*s)) {
        s++;
    }
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    if (n == 0) {
        return sq_fail(err, SYNCQ_EINVAL, "image URL is empty");
    }
    if (n >= 2 && s[0] == '/' && s[1] == '/') {
        w = snprintf(buf, sizeof buf, "https:%.*s", (int)n, s);
    } else if (n > 4 &&
               (strncmp(s, "img/", 4) == 0 || strncmp(s, "/img/", 5) == 0)) {
        if (s[0] == '/') {
            s++;
            n--;
        }
        w = snprintf(buf, sizeof buf, "https://cbu01.alicdn.com/%.*s", (int)n,
                     s);
    } else {
        w = snprintf(buf, sizeof buf, "%.*s", (int)n, s);
    }
    if (w < 0 || (size_t)w >= sizeof buf) {
        return sq_fail(err, SYNCQ_EINVAL, "image URL is over %zu bytes",
                       sizeof buf - 1);
    }
    /* Scheme */
    p = strstr(buf, "://");
    if (p == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "image URL '%.80s' is not http(s)",
                       buf);
    }
    for (char *c = buf; c < p; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    if (!((p - buf == 4 && strncmp(buf, "http", 4) == 0) ||
          (p - buf == 5 && strncmp(buf, "https", 5) == 0))) {
        return sq_fail(err, SYNCQ_EINVAL, "image URL '%.80s' is not http(s)",
                       buf);
    }
    host = p + 3;
    hostlen = strcspn(host, "/?#");
    if (hostlen == 0) {
        return sq_fail(err, SYNCQ_EINVAL, "image URL '%.80s' has no host", buf);
    }
    for (size_t i = 0; i < hostlen; i++) {
        host[i] = (char)tolower((unsigned char)host[i]);
    }
    path = host + hostlen;
    /* Drop the fragment. */
    q = strchr(path, '#');
    if (q != NULL) {
        *q = '\0';
    }
    alicdn =
        (hostlen >= 10 && strncmp(host + hostlen - 10, "alicdn.com", 10) == 0 &&
         (hostlen == 10 || host[hostlen - 11] == '.'));
    /* Copy path+query to tail and strip a size suffix from the path. */
    tail_len = strlen(path);
    memcpy(tail, path, tail_len + 1);
    q = strchr(tail, '?');
    seglen = q ? (size_t)(q - tail) : tail_len;
    seg = tail;
    {
        size_t before = seglen;
        strip_size_suffix(seg, &seglen);
        if (seglen != before) {
            memmove(seg + seglen, seg + before, tail_len - before + 1);
            tail_len -= before - seglen;
        }
    }
    if (alicdn) {
        const char *h = host;
        size_t hl = hostlen;
        if (hl == 16 && strncmp(h, "cbu0", 4) == 0 &&
            isdigit((unsigned char)h[4]) &&
            strncmp(h + 5, ".alicdn.com", 11) == 0) {
            h = "cbu01.alicdn.com";
        }
        w = snprintf(out, cap, "https://%.*s%s", (int)hl, h, tail);
    } else {
        w = snprintf(out, cap, "%.*s%.*s%s", (int)(p - buf + 3), buf,
                     (int)hostlen, host, tail);
    }
    if (w < 0 || (size_t)w >= cap) {
        return sq_fail(err, SYNCQ_EINVAL, "image URL is over %zu bytes",
                       cap - 1);
    }
    return SYNCQ_OK;
}

const char *
sq_ds_now_iso(char *buf, size_t cap)
{
    return syncq_time_format_iso8601_ms(syncq_now_ms(), buf, cap);
}

int
sq_progress_report(const struct sq_progress *p, int64_t current, int64_t total,
                   const char *msg)
{
    if (p == NULL || p->fn == NULL) {
        return 0;
    }
    return p->fn(p->ud, current, total, msg);
}

bool
sq_progress_stop(const struct sq_progress *p)
{
    return p != NULL && p->stop != NULL && p->stop(p->ud);
}

/* ---- task arguments -------------------------------------------------- */

const json_t *
sq_task_arg(const json_t *args, const json_t *kwargs, const char *name, int pos)
{
    const json_t *v = json_object_get(kwargs, name);

    if (v == NULL && pos >= 0) {
        v = json_array_get(args, (size_t)pos);
    }
    return json_is_null(v) ? NULL : v;
}

int
sq_task_args_check(const json_t *args, const json_t *kwargs,
                   const char *const *allowed, size_t npos, syncq_error *err)
{
    const char *key;
    const json_t *v;

    if (json_array_size(args) > npos) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%zu positional arguments given, "
                       "at most %zu accepted",
                       json_array_size(args), npos);
    }
    json_object_foreach((json_t *)kwargs, key, v)
    {
        bool ok = false;
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; allowed[i] != NULL; i++) {
            if (strcmp(key, allowed[i]) == 0) {
                ok = true;
            }
            if (used < sizeof list) {
                int w = snprintf(list + used, sizeof list - used, "%s%s",
                                 i ? ", " : "", allowed[i]);
                used += w > 0 ? (size_t)w : 0;
            }
        }
        if (!ok) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "unknown argument '%.60s' "
                           "(accepted: %s)",
                           key, list);
        }
    }
    return SYNCQ_OK;
}

int
sq_task_arg_bool(const json_t *args, const json_t *kwargs, const char *name,
                 int pos, bool def, bool *out, syncq_error *err)
{
    const json_t *v = sq_task_arg(args, kwargs, name, pos);
    json_t *wrap;
    bool b;

    *out = def;
    if (v == NULL) {
        return SYNCQ_OK;
    }
    wrap = json_pack("{sO}", "v", (json_t *)v);
    if (wrap == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (!sq_ds_get_bool(wrap, "v", &b)) {
        json_decref(wrap);
        return sq_fail(err, SYNCQ_EINVAL,
                       "argument %s: expected true or "
                       "false",
                       name);
    }
    json_decref(wrap);
    *out = b;
    return SYNCQ_OK;
}

int
sq_task_arg_int(const json_t *args, const json_t *kwargs, const char *name,
                int pos, int64_t def, int64_t min, int64_t max, int64_t *out,
                syncq_error *err)
{
    const json_t *v = sq_task_arg(args, kwargs, name, pos);
    json_t *wrap;
    int64_t n;

    *out = def;
    if (v == NULL) {
        return SYNCQ_OK;
    }
    wrap = json_pack("{sO}", "v", (json_t *)v);
    if (wrap == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (!sq_ds_get_i64(wrap, "v", &n)) {
        json_decref(wrap);
        return sq_fail(err, SYNCQ_EINVAL, "argument %s: expected an integer",
                       name);
    }
    json_decref(wrap);
    if (n < min || n > max) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "argument %s: %lld out of range "
                       "%lld..%lld",
                       name, (long long)n, (long long)min, (long long)max);
    }
    *out = n;
    return SYNCQ_OK;
}

int
sq_task_arg_str(const json_t *args, const json_t *kwargs, const char *name,
                int pos, const char *def, const char **out, syncq_error *err)
{
    const json_t *v = sq_task_arg(args, kwargs, name, pos);

    *out = def;
    if (v == NULL) {
        return SYNCQ_OK;
    }
    if (!json_is_string(v)) {
        return sq_fail(err, SYNCQ_EINVAL, "argument %s: expected a string",
                       name);
    }
    *out = json_string_value(v);
    return SYNCQ_OK;
}
