/* SPDX-License-Identifier: MIT
 *
 * crawler_sign.c: Open Platform request parameters, form encoding and the
 * _aop_signature HMAC (see crawler_sign.h). The fixture server verifies
 * signatures with the same functions, so a test of one proves the other
 * only together with the fixed test vector in test_crawler_sign.c, which
 * was computed independently (Python hmac, as the official SDK does).
 */
#include "crawler/crawler_sign.h"
#include "core/sq_alloc.h"
#include "core/sq_buf.h"
#include "core/sq_error.h"
#include "core/sq_hash.h"
#include "core/sq_url.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sq_aop_params_init(struct sq_aop_params *ps)
{
    memset(ps, 0, sizeof *ps);
}

void
sq_aop_params_cleanup(struct sq_aop_params *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        sq_free(ps->p[i].key);
        sq_free(ps->p[i].value);
    }
    memset(ps, 0, sizeof *ps);
}

int
sq_aop_params_set(struct sq_aop_params *ps, const char *key, const char *value,
                  syncq_error *err)
{
    char *k, *v;

    if (key == NULL || key[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "request parameter without a name");
    }
    v = sq_strdup(value != NULL ? value : "");
    if (v == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->p[i].key, key) == 0) {
            sq_free(ps->p[i].value);
            ps->p[i].value = v;
            return SYNCQ_OK;
        }
    }
    if (ps->n >= SQ_AOP_MAX_PARAMS) {
        sq_free(v);
        return sq_fail(err, SYNCQ_EINVAL, "more than %d request parameters",
                       SQ_AOP_MAX_PARAMS);
    }
    k = sq_strdup(key);
    if (k == NULL) {
        sq_free(v);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    ps->p[ps->n].key = k;
    ps->p[ps->n].value = v;
    ps->n++;
    return SYNCQ_OK;
}

const char *
sq_aop_params_get(const struct sq_aop_params *ps, const char *key)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->p[i].key, key) == 0) {
            return ps->p[i].value;
        }
    }
    return NULL;
}

int
sq_aop_sign_path(const char *ns, const char *api, const char *app_key,
                 char *out, size_t cap, syncq_error *err)
{
    int n;

    if (ns == NULL || api == NULL || app_key == NULL || ns[0] == '\0' ||
        api[0] == '\0' || app_key[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL,
                       "gateway path needs a namespace, "
                       "an API name and an app key "
                       "(SYNCQ_1688_APP_KEY)");
    }
    if (strchr(ns, '/') != NULL || strchr(api, '/') != NULL ||
        strchr(app_key, '/') != NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "gateway path parts must not "
                       "contain '/'");
    }
    n = snprintf(out, cap, "param2/1/%s/%s/%s", ns, api, app_key);
    if (n < 0 || (size_t)n >= cap) {
        return sq_fail(err, SYNCQ_EINVAL, "gateway path too long");
    }
    return SYNCQ_OK;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sq_aop_sign(const char *sign_path, const struct sq_aop_params *ps,
            const char *secret, char out[41], syncq_error *err)
{
    char *kv[SQ_AOP_MAX_PARAMS];
    size_t n = 0;
    struct sq_buf msg;
    int rc = SYNCQ_OK;

    out[0] = '\0';
    if (secret == NULL || secret[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL,
                       "signing needs the app secret "
                       "(SYNCQ_1688_APP_SECRET)");
    }
    if (sign_path == NULL || sign_path[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "signing needs the API path");
    }
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->p[i].key, "_aop_signature") == 0) {
            continue;
        }
        kv[n] = sq_asprintf("%s%s", ps->p[i].key, ps->p[i].value);
        if (kv[n] == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory signing");
            goto done;
        }
        n++;
    }
    /* Byte-wise order of UTF-8 equals code-point order, as the SDK's
     * Python sort of the k+v strings. */
    qsort(kv, n, sizeof *kv, cmp_str);
    sq_buf_init(&msg, 0);
    if (sq_buf_adds(&msg, sign_path) != 0) {
        rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory signing");
    }
    for (size_t i = 0; i < n && rc == SYNCQ_OK; i++) {
        if (sq_buf_adds(&msg, kv[i]) != 0) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory signing");
        }
    }
    if (rc == SYNCQ_OK) {
        sq_hmac_sha1_hex_upper(secret, strlen(secret), msg.data, msg.len, out);
    }
    sq_buf_cleanup(&msg);
done:
    for (size_t i = 0; i < n; i++) {
        sq_free(kv[i]);
    }
    return rc;
}

/* RFC 3986 unreserved characters pass; everything else is %XX. */
static int
encode_into(struct sq_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char e[3];
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
            *p == '~') {
            if (sq_buf_add(b, p, 1) != 0) {
                return -1;
            }
            continue;
        }
        e[0] = '%';
        e[1] = hex[*p >> 4];
        e[2] = hex[*p & 15];
        if (sq_buf_add(b, e, 3) != 0) {
            return -1;
        }
    }
    return 0;
}

char *
sq_aop_form_encode(const struct sq_aop_params *ps)
{
    struct sq_buf b;

    sq_buf_init(&b, 0);
    if (sq_buf_add(&b, "", 0) != 0) {
        return NULL;
    }
    for (size_t i = 0; i < ps->n; i++) {
        if ((i > 0 && sq_buf_add(&b, "&", 1) != 0) ||
            encode_into(&b, ps->p[i].key) != 0 || sq_buf_add(&b, "=", 1) != 0 ||
            encode_into(&b, ps->p[i].value) != 0) {
            sq_buf_cleanup(&b);
            return NULL;
        }
    }
    return sq_buf_steal(&b);
}

/* Percent-decode s[0..n) into a new string; NULL on a bad escape or
 * out of memory (*bad tells which). */
static char *
decode_part(const char *s, size_t n, bool *bad)
{
    char *out = sq_malloc(n + 1);
    size_t j = 0;

    *bad = false;
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? sq_hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? sq_hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                sq_free(out);
                *bad = true;
                return NULL;
            }
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

int
sq_aop_form_decode(const char *body, size_t len, struct sq_aop_params *ps,
                   syncq_error *err)
{
    size_t i = 0;

    while (i < len) {
        size_t end = i, eq;
        char *k, *v;
        bool bad = false;
        int rc;
        while (end < len && body[end] != '&') {
            end++;
        }
        if (end == i) {
            i++;
            continue;
        }
        eq = i;
        while (eq < end && body[eq] != '=') {
            eq++;
        }
        k = decode_part(body + i, eq - i, &bad);
        v = k == NULL ? NULL
                      : decode_part(body + (eq < end ? eq + 1 : end),
                                    eq < end ? end - eq - 1 : 0, &bad);
        if (k == NULL || v == NULL) {
            sq_free(k);
            sq_free(v);
            return bad ? sq_fail(err, SYNCQ_EINVAL,
                                 "bad %%-escape in form "
                                 "body")
                       : sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        rc = sq_aop_params_set(ps, k, v, err);
        sq_free(k);
        sq_free(v);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        i = end + 1;
    }
    return SYNCQ_OK;
}
